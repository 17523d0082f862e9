// joblib-cpp: joblib::delayed, deferred function calls for joblib::parallel.
#pragma once

#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE

/// A function call to be made later: a decayed copy of the function and of each argument.
/// Calling it (operator()) makes the call; it can be called more than once.
template <class F, class... Args>
class deferred_call {
 public:
  template <class G, class... As>
  explicit deferred_call(G&& fn, As&&... args)
      : fn_(std::forward<G>(fn)), args_(std::forward<As>(args)...) {}

  /// Calls the function with the stored arguments (as lvalues, so the call can be repeated).
  decltype(auto) operator()() { return std::apply(fn_, args_); }
  decltype(auto) operator()() const { return std::apply(fn_, args_); }

  /// The stored function and arguments.
  const F& function() const noexcept { return fn_; }
  const std::tuple<Args...>& arguments() const noexcept { return args_; }

 private:
  F fn_;
  std::tuple<Args...> args_;
};

/// The callable returned by joblib::delayed(f): calling it with arguments records a
/// deferred_call instead of calling f.
template <class F>
class delayed_function {
 public:
  explicit delayed_function(F fn) : fn_(std::move(fn)) {}

  template <class... Args>
  deferred_call<F, std::decay_t<Args>...> operator()(Args&&... args) const {
    return deferred_call<F, std::decay_t<Args>...>(fn_, std::forward<Args>(args)...);
  }

 private:
  F fn_;
};

/// joblib's delayed: `joblib::delayed(f)(args...)` captures a call to f for
/// joblib::parallel; `std::views::transform(joblib::delayed(f))` turns a range of arguments
/// into a range of calls. Arguments are copied (decayed); pass std::ref to share one.
///
///   auto calls = std::views::iota(0, 10) | std::views::transform(joblib::delayed(square));
template <class F>
delayed_function<std::decay_t<F>> delayed(F&& fn) {
  return delayed_function<std::decay_t<F>>(std::forward<F>(fn));
}

JOBLIB_END_NAMESPACE
