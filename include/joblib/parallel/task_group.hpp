// joblib-cpp: task_group, a set of tasks to wait for together (like tbb::task_group).
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <utility>

#include "joblib/config.hpp"
#include "joblib/parallel/detail/first_exception.hpp"
#include "joblib/parallel/detail/task.hpp"
#include "joblib/parallel/thread_pool.hpp"

JOBLIB_BEGIN_NAMESPACE

/// A set of tasks to wait for together, on a thread_pool (the global one by default), like
/// tbb::task_group. wait() helps run tasks, so groups nest freely inside tasks.
///
///   joblib::task_group group;
///   group.run([&] { left = fib(n - 1); });
///   right = fib(n - 2);
///   group.wait();
///
/// Thread safety: run() may be called from any thread, including from the group's own tasks;
/// wait() by one thread at a time. The destructor waits (and drops a pending exception).
class task_group {
 public:
  explicit task_group(thread_pool& pool = thread_pool::global()) : pool_(pool) {}
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  ~task_group() {
    detail::pool_access::wait_until(
        pool_, [this] { return pending_.load(std::memory_order_acquire) == 0; });
  }

  /// Queues f() in the pool as part of this group.
  template <class F>
  void run(F&& f) {
    pending_.fetch_add(1, std::memory_order_relaxed);
    detail::pool_access::spawn(
        pool_, detail::make_task([this, fn = std::forward<F>(f)]() mutable noexcept {
          if (!error_.has_error()) {
            try {
              fn();
            } catch (...) {
              error_.capture(std::current_exception());
            }
          }
          // Copy the pool first: once pending_ reaches 0 the group may be destroyed.
          thread_pool& pool = pool_;
          if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            detail::pool_access::notify_waiters(pool);
          }
        }));
  }

  /// Waits for every task of the group, running tasks meanwhile; rethrows the first exception
  /// one of them threw (tasks not yet started when it was thrown are skipped).
  void wait() {
    detail::pool_access::wait_until(
        pool_, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    error_.rethrow_and_reset();
  }

 private:
  thread_pool& pool_;
  std::atomic<std::size_t> pending_{0};
  detail::first_exception error_;
};

JOBLIB_END_NAMESPACE
