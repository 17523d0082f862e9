// joblib-cpp internals: a cached callable's parameter types, so that arguments are converted
// to them before hashing (f(1, "a") and f(1, std::string("a")) share an entry).
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

// The decayed parameter types of a callable with one signature (function, function pointer,
// lambda or functor with a non-template operator()); unknown for generic lambdas.
template <class Signature>
struct signature_params {
  static constexpr bool known = false;
};
template <class R, class... A>
struct signature_params<R (*)(A...)> {
  static constexpr bool known = true;
  using types = std::tuple<std::remove_cvref_t<A>...>;
};
template <class R, class... A>
struct signature_params<R (*)(A...) noexcept> : signature_params<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature_params<R (C::*)(A...)> : signature_params<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature_params<R (C::*)(A...) const> : signature_params<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature_params<R (C::*)(A...) noexcept> : signature_params<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature_params<R (C::*)(A...) const noexcept> : signature_params<R (*)(A...)> {};

template <class F, class = void>
struct callable_params : signature_params<std::decay_t<F>> {};
template <class F>
struct callable_params<F, std::void_t<decltype(&F::operator())>>
    : signature_params<decltype(&F::operator())> {};

// An argument as the function's parameter type: itself when it already is one (no copy),
// converted otherwise, so that f(1, "a") and f(1, std::string("a")) share a cache entry.
template <class P, class A>
decltype(auto) as_param(const A& arg) {
  if constexpr (std::is_same_v<std::remove_cvref_t<A>, P>) {
    return (arg);
  } else {
    return P(arg);
  }
}

// Calls body(args...) with each argument converted to F's parameter type when F has a known
// signature of the same arity, else with the arguments as given.
template <class F, class Body, class... Args>
decltype(auto) with_params(Body&& body, const Args&... args) {
  using traits = callable_params<F>;
  if constexpr (traits::known) {
    if constexpr (std::tuple_size_v<typename traits::types> == sizeof...(Args)) {
      return [&]<std::size_t... I>(std::index_sequence<I...>)->decltype(auto) {
        return body(as_param<std::tuple_element_t<I, typename traits::types>>(args)...);
      }
      (std::index_sequence_for<Args...>{});
    } else {
      return body(args...);
    }
  } else {
    return body(args...);
  }
}

}  // namespace detail
JOBLIB_END_NAMESPACE
