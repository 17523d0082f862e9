// joblib-cpp internals: parallel(options).collect(tasks) on the thread and sequential
// backends.
//
// collect runs an ordinary list call (parallel_call) over the tasks wrapped one by one: each
// wrapper knows its task's position in the input and turns whatever the task does into a
// joblib::outcome (its value, or the exception it threw, or a timeout), so no task ever fails
// the call and every task runs. Only `stop` still ends the call (cancelled_error), as it does a
// list call; an exception from the input range itself also propagates.
//
// Random-access sized inputs are wrapped by index (iota | transform, read in place, as the
// dispenser reads them); any other input range through a counting input view whose calls own a
// copy of each task, as the dispenser would copy them anyway.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/parallel/detail/dispenser.hpp"
#include "joblib/parallel/detail/exception_transport.hpp"
#include "joblib/parallel/detail/parallel_call.hpp"
#include "joblib/parallel/options.hpp"
#include "joblib/parallel/outcome.hpp"
#include "joblib/parallel/stop_token.hpp"
#include "joblib/parallel/thread_pool.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// What every wrapped task of one collect call shares.
struct collect_context {
  std::optional<std::chrono::duration<double>> timeout{};
  stop_token stop{};
};

/// The failure of task `index` from the exception being handled (call inside a catch block).
inline task_failure current_exception_failure(std::size_t index) {
  std::exception_ptr exception = std::current_exception();
  std::string type = current_exception_type_name();
  std::string what;
  try {
    throw;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  return exception_failure(index, std::move(exception), std::move(type), std::move(what));
}

/// Task `index` wrapped for collect: calling it runs the task and returns its outcome<R>.
/// `Stored` is the task itself (a copy) or a reference to it; `Invoked` how it is called
/// (as the dispenser would call it).
template <class Stored, class Invoked, class R>
struct collecting_call {
  Stored call;
  std::size_t index = 0;
  const collect_context* context = nullptr;

  outcome<R> operator()() {
    const auto started = context->timeout ? std::chrono::steady_clock::now()
                                          : std::chrono::steady_clock::time_point{};
    try {
      if constexpr (std::is_void_v<R>) {
        std::invoke(static_cast<Invoked>(call));
        if (auto late = overdue(started)) return outcome<R>::failed(std::move(*late));
        return outcome<R>::success();
      } else {
        R value = std::invoke(static_cast<Invoked>(call));
        if (auto late = overdue(started)) return outcome<R>::failed(std::move(*late));  // dropped
        return outcome<R>::success(std::move(value));
      }
    } catch (const cancelled_error&) {
      // A nested call stopped by the same request: the whole call is being cancelled.
      if (context->stop.stop_possible() && context->stop.stop_requested()) throw;
      return outcome<R>::failed(current_exception_failure(index));
    } catch (...) {
      return outcome<R>::failed(current_exception_failure(index));
    }
  }

 private:
  // A timeout failure when the task ran longer than the timeout (the same message as the
  // timeout_error of a list call).
  std::optional<task_failure> overdue(std::chrono::steady_clock::time_point started) const {
    if (!context->timeout) return std::nullopt;
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    if (took <= *context->timeout) return std::nullopt;
    return timeout_failure(index, timeout_message(index, took, *context->timeout));
  }
};

/// The collecting calls of a random-access sized range, read in place by index.
template <class V>
auto indexed_collecting_calls(V& tasks, const collect_context* context) {
  using reference = std::ranges::range_reference_t<V>;
  // A reference is kept as a reference (the task is read in place); a prvalue is kept.
  using stored =
      std::conditional_t<std::is_reference_v<reference>, reference, std::remove_cv_t<reference>>;
  using call = collecting_call<stored, stored&&, task_result_t<V>>;
  using difference = std::ranges::range_difference_t<V>;
  return std::views::iota(std::size_t{0}, static_cast<std::size_t>(std::ranges::size(tasks))) |
         std::views::transform([first = std::ranges::begin(tasks), context](std::size_t i) {
           return call{first[static_cast<difference>(i)], i, context};
         });
}

/// The collecting calls of any other input range: read once, in order, counted; each call
/// owns a copy of its task (the dispenser copies the calls of such ranges too).
template <class V>
class counted_collecting_calls {
 public:
  using call = collecting_call<std::ranges::range_value_t<V>, std::ranges::range_value_t<V>&,
                               task_result_t<V>>;

  counted_collecting_calls(V& tasks, const collect_context* context)
      : tasks_(&tasks), context_(context) {}

  class iterator {
   public:
    using value_type = call;
    using difference_type = std::ptrdiff_t;

    iterator() = default;
    iterator(std::ranges::iterator_t<V> it, const collect_context* context)
        : it_(std::move(it)), context_(context) {}

    call operator*() const { return call{*it_, index_, context_}; }
    iterator& operator++() {
      ++it_;
      ++index_;
      return *this;
    }
    void operator++(int) { ++*this; }

    friend bool operator==(const iterator& it, const std::ranges::sentinel_t<V>& end) {
      return it.it_ == end;
    }

   private:
    std::ranges::iterator_t<V> it_{};
    std::size_t index_ = 0;
    const collect_context* context_ = nullptr;
  };

  iterator begin() { return iterator(std::ranges::begin(*tasks_), context_); }
  std::ranges::sentinel_t<V> end() { return std::ranges::end(*tasks_); }

 private:
  V* tasks_;
  const collect_context* context_;
};

/// parallel(options).collect(tasks) on the thread pool (or sequentially): one outcome per
/// task, in input order. `settings` and `pool` as for a list call of the same options.
template <class V>
auto collect_on_threads(V& tasks, const parallel_options& options, call_settings settings,
                        thread_pool* pool) {
  const collect_context context{options.timeout, options.stop};
  // Each wrapped task measures itself: an overdue task is a failure, not the call's error.
  parallel_options call_options = options;
  call_options.timeout.reset();
  if constexpr (indexable_tasks_v<V>) {
    auto calls = indexed_collecting_calls(tasks, &context);
    parallel_call<decltype(calls)> call(calls, call_options, settings, pool);
    return call.run_list();
  } else {
    counted_collecting_calls<V> calls(tasks, &context);
    parallel_call<counted_collecting_calls<V>> call(calls, call_options, settings, pool);
    return call.run_list();
  }
}

}  // namespace detail
JOBLIB_END_NAMESPACE
