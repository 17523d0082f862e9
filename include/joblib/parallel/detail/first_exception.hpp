// joblib-cpp internals: the first exception of a group of tasks (a parallel call, a task
// group, a parallel_for), kept to be rethrown by whoever waits for the group.
#pragma once

#include <atomic>
#include <exception>
#include <mutex>
#include <utility>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// First exception of a group of tasks; later ones are dropped, as in joblib.
class first_exception {
 public:
  void capture(std::exception_ptr e) noexcept {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = std::move(e);
    has_error_.store(true, std::memory_order_release);
  }
  bool has_error() const noexcept { return has_error_.load(std::memory_order_acquire); }
  void rethrow_and_reset() {
    std::exception_ptr e;
    {
      std::lock_guard lock(mutex_);
      e = std::exchange(error_, nullptr);
      has_error_.store(false, std::memory_order_relaxed);
    }
    if (e) std::rethrow_exception(e);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
  std::atomic<bool> has_error_{false};
};

}  // namespace detail
JOBLIB_END_NAMESPACE
