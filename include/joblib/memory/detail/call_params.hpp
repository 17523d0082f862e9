// joblib-cpp internals: a cached callable's parameter and result types, so that arguments are
// converted to the parameter types before hashing (f(1, "a") and f(1, std::string("a")) share
// an entry) and non-const reference parameters get the caller's object.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

// The parameter types (as declared: references kept) and result type of a callable with one
// signature (function, function pointer, lambda or functor with a non-template operator());
// unknown for generic lambdas and for member function pointers (their object comes first).
template <class Signature>
struct signature_params {
  static constexpr bool known = false;
};
template <class R, class... A>
struct signature_params<R (*)(A...)> {
  static constexpr bool known = true;
  using result = R;
  using params = std::tuple<A...>;
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
struct callable_params
    : std::conditional_t<std::is_member_function_pointer_v<F>, signature_params<void>,
                         signature_params<std::decay_t<F>>> {};
template <class F>
struct callable_params<F, std::void_t<decltype(&F::operator())>>
    : signature_params<decltype(&F::operator())> {};

// Whether F declares a parameter T&& (which the cache cannot pass: it holds the arguments).
template <class F>
constexpr bool takes_rvalue_reference() {
  if constexpr (callable_params<F>::known) {
    return []<class... A>(std::type_identity<std::tuple<A...>>) {
      return (std::is_rvalue_reference_v<A> || ...);
    }(std::type_identity<typename callable_params<F>::params>{});
  } else {
    return false;
  }
}

// The result of F called with lvalues of Args: from F's signature when it has one, so that
// members that do not call it (key, check_call_in_cache) need not bind its references.
template <class F, class... Args>
struct result_of {
  using type = std::invoke_result_t<const F&, Args&...>;
};
template <class F, class... Args>
requires callable_params<F>::known struct result_of<F, Args...> {
  using type = typename callable_params<F>::result;
};
template <class F, class... Args>
using result_of_t = typename result_of<F, Args...>::type;

// An argument for a parameter of type P. A non-const lvalue reference parameter gets the
// caller's object itself when the call runs the function (which may modify it, as a Python
// function may modify a list it is given). Otherwise the argument as P's decayed type: itself
// when it is one (no copy), converted otherwise, so that f(1, "a") and f(1, std::string("a"))
// share a cache entry.
template <class P, bool Invokes, class A>
decltype(auto) as_param(A&& arg) {
  using D = std::remove_cvref_t<P>;
  if constexpr (Invokes && std::is_lvalue_reference_v<P> &&
                !std::is_const_v<std::remove_reference_t<P>>) {
    static_assert(std::is_lvalue_reference_v<A> && !std::is_const_v<std::remove_reference_t<A>>,
                  "joblib: a parameter taken by non-const reference needs a non-const lvalue "
                  "argument (the function may modify it)");
    return static_cast<P>(arg);
  } else if constexpr (std::is_same_v<std::remove_cvref_t<A>, D>) {
    return static_cast<const D&>(arg);
  } else {
    return static_cast<D>(std::forward<A>(arg));
  }
}

// Calls body(args...) with each argument made F's parameter (as_param) when F has a known
// signature of the same arity, else with the arguments as given. Invokes: whether body calls
// F (else non-const reference parameters are only read, and take const arguments too).
template <class F, bool Invokes, class Body, class... Args>
decltype(auto) with_params(Body&& body, Args&&... args) {
  using traits = callable_params<F>;
  if constexpr (traits::known) {
    if constexpr (std::tuple_size_v<typename traits::params> == sizeof...(Args)) {
      return [&]<std::size_t... I>(std::index_sequence<I...>)->decltype(auto) {
        return body(as_param<std::tuple_element_t<I, typename traits::params>, Invokes>(
            std::forward<Args>(args))...);
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
