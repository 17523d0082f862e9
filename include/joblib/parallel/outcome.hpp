// joblib-cpp: the outcome of one task of joblib::parallel(options).collect(tasks): its value,
// or what went wrong (an exception, a crashed worker process, a timeout).
//
//   auto outcomes = joblib::parallel({.n_jobs = 4}).collect(tasks);
//   for (const auto& o : outcomes) {
//     if (o) use(o.value());
//     else std::cerr << "task " << o.failure().index << ": " << o.failure().what << '\n';
//   }
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"

JOBLIB_BEGIN_NAMESPACE

/// What went wrong with a task.
enum class failure_kind {
  exception,  ///< the task threw
  crash,      ///< the worker process running it died (process backend)
  timeout,    ///< it ran longer than parallel_options::timeout
};

/// A task that did not return a value: which one, and why. An aggregate.
struct task_failure {
  /// Position of the task in the input.
  std::size_t index = 0;
  failure_kind kind = failure_kind::exception;
  /// The exception's demangled dynamic type ("std::runtime_error", "my::oops", "int"); "" for
  /// a crash or a timeout.
  std::string type{};
  /// The exception's what() ("" for a thrown value that is no std::exception), or the message
  /// of the worker_crashed_error / timeout_error that describes a crash or a timeout.
  std::string what{};
  /// A crash by a signal: that signal; else 0.
  int signal = 0;
  /// A crash by exit(): its status; else -1.
  int exit_status = -1;
  /// What value() and rethrow() throw: the task's own exception (thread backend), the one
  /// rebuilt in the caller (process backend), or a joblib::worker_crashed_error /
  /// joblib::timeout_error. May be null in a failure built by hand: rethrow() then throws what
  /// the other fields describe.
  std::exception_ptr exception{};

  /// Throws the failure: `exception` when set; otherwise a joblib::task_error (exception), a
  /// joblib::worker_crashed_error (crash) or a joblib::timeout_error (timeout) built from the
  /// fields.
  [[noreturn]] void rethrow() const {
    if (exception) std::rethrow_exception(exception);
    switch (kind) {
      case failure_kind::crash:
        throw worker_crashed_error(index, signal, exit_status);
      case failure_kind::timeout:
        throw timeout_error(what.empty() ? "joblib: task " + std::to_string(index) + " timed out"
                                         : what);
      case failure_kind::exception:
        break;
    }
    throw task_error(index, type, what);
  }
};

namespace detail {
[[noreturn]] inline void throw_no_failure() {
  throw invalid_argument("joblib: outcome::failure() of a task that succeeded (check ok() first)");
}
}  // namespace detail

/// The result of one task of a collect() call: its value (ok()) or its task_failure. Copyable
/// when R is, movable, and fit for std::vector; outcome<void> holds no value.
///
/// Thread safety: as for any value type (const access from many threads is safe).
///
///   joblib::outcome<int> o = outcomes[3];
///   int x = o ? o.value() : -1;
///   if (!o) o.failure().rethrow();
template <class R>
class outcome {
  static_assert(!std::is_reference_v<R> && !std::is_const_v<R>,
                "joblib::outcome holds a task's result by value");

 public:
  using value_type = R;

  /// A task that returned `value`.
  outcome(R value) requires(!std::is_same_v<R, task_failure>)  // NOLINT: implicit on purpose
      : state_(std::in_place_index<0>, std::move(value)) {}
  /// A task that failed.
  outcome(task_failure failure)  // NOLINT: implicit on purpose
      : state_(std::in_place_index<1>, std::move(failure)) {}

  /// A task that returned `value` (also for outcome<task_failure>).
  static outcome success(R value) { return outcome(std::in_place_index<0>, std::move(value)); }
  /// A task that failed.
  static outcome failed(task_failure failure) {
    return outcome(std::in_place_index<1>, std::move(failure));
  }

  /// Whether the task returned a value.
  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// The task's value; rethrows its failure (failure().rethrow()) when it has none.
  R& value() & {
    if (!ok()) failure().rethrow();
    return *std::get_if<0>(&state_);
  }
  const R& value() const& {
    if (!ok()) failure().rethrow();
    return *std::get_if<0>(&state_);
  }
  R&& value() && {
    if (!ok()) failure().rethrow();
    return std::move(*std::get_if<0>(&state_));
  }

  /// What went wrong; throws joblib::invalid_argument when the task succeeded.
  const task_failure& failure() const {
    if (ok()) detail::throw_no_failure();
    return *std::get_if<1>(&state_);
  }

 private:
  template <std::size_t I, class T>
  outcome(std::in_place_index_t<I> which, T&& state) : state_(which, std::forward<T>(state)) {}

  std::variant<R, task_failure> state_;
};

/// The outcome of a task that returns nothing: success, or its task_failure.
template <>
class outcome<void> {
 public:
  using value_type = void;

  /// A task that returned.
  outcome() = default;
  /// A task that failed.
  outcome(task_failure failure)  // NOLINT: implicit on purpose
      : failure_(std::move(failure)) {}

  /// A task that returned.
  static outcome success() { return {}; }
  /// A task that failed.
  static outcome failed(task_failure failure) { return outcome(std::move(failure)); }

  /// Whether the task returned.
  bool ok() const noexcept { return !failure_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }

  /// Returns when the task did; rethrows its failure otherwise.
  void value() const {
    if (!ok()) failure_->rethrow();
  }

  /// What went wrong; throws joblib::invalid_argument when the task succeeded.
  const task_failure& failure() const {
    if (ok()) detail::throw_no_failure();
    return *failure_;
  }

 private:
  std::optional<task_failure> failure_;
};

namespace detail {

/// Failure of task `index` that threw `exception` of type `type` (demangled) with `what`.
inline task_failure exception_failure(std::size_t index, std::exception_ptr exception,
                                      std::string type, std::string what) {
  task_failure f;
  f.index = index;
  f.kind = failure_kind::exception;
  f.type = std::move(type);
  f.what = std::move(what);
  f.exception = std::move(exception);
  return f;
}

/// Failure of task `index` whose worker process died (signal, or exit status when signal is 0).
inline task_failure crash_failure(std::size_t index, int signal, int exit_status) {
  worker_crashed_error error(index, signal, exit_status);
  task_failure f;
  f.index = index;
  f.kind = failure_kind::crash;
  f.what = error.what();
  f.signal = signal;
  f.exit_status = exit_status;
  f.exception = std::make_exception_ptr(std::move(error));
  return f;
}

/// The message of the timeout_error of task `index`, which ran for `took`, past `limit`.
inline std::string timeout_message(std::size_t index, std::chrono::duration<double> took,
                                   std::chrono::duration<double> limit) {
  return "joblib: task " + std::to_string(index) + " ran for " + std::to_string(took.count()) +
         " s, longer than the timeout of " + std::to_string(limit.count()) + " s";
}

/// Failure of task `index` that ran past its timeout; `message` is the timeout_error's.
inline task_failure timeout_failure(std::size_t index, std::string message) {
  task_failure f;
  f.index = index;
  f.kind = failure_kind::timeout;
  f.exception = std::make_exception_ptr(timeout_error(message));
  f.what = std::move(message);
  return f;
}

}  // namespace detail

JOBLIB_END_NAMESPACE
