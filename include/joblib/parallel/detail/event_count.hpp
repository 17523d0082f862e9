// joblib-cpp internals: an event count, the two-phase sleep primitive of the thread pool.
//
// A thread that found nothing to do announces itself (prepare_wait), checks once more for
// work or for the condition it waits on, and only then sleeps (commit_wait), or backs out
// (cancel_wait). A thread that makes work or a condition available calls notify_*(), which is
// nearly free when nobody sleeps. This is how idle workers sleep without spinning and without
// missing a wake-up.
#pragma once

#include <atomic>
#include <cstdint>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

class event_count {
 public:
  using key = std::uint32_t;

  /// Registers the caller as a (future) sleeper and returns the epoch to sleep on.
  key prepare_wait() noexcept {
    // seq_cst RMW: either a notifier's RMW on waiters_ comes later in its modification order
    // and sees us, or it came earlier and we synchronise with it, so the re-check that follows
    // sees the work it published.
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    return epoch_.load(std::memory_order_seq_cst);
  }

  /// Backs out of a prepare_wait() whose re-check found work.
  void cancel_wait() noexcept { waiters_.fetch_sub(1, std::memory_order_seq_cst); }

  /// Sleeps until a notification after prepare_wait() returned `k`.
  void commit_wait(key k) noexcept {
    epoch_.wait(k, std::memory_order_seq_cst);
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
  }

  /// Wakes one sleeper, if any. Call after publishing the work.
  void notify_one() noexcept {
    if (has_waiters()) {
      epoch_.fetch_add(1, std::memory_order_seq_cst);
      epoch_.notify_one();
    }
  }

  /// notify_one() for a publication made by a seq_cst read-modify-write: then a seq_cst load
  /// of the waiter count is ordered like the RMW of has_waiters() (all of them sit in the
  /// single total order of seq_cst operations), and is cheaper on a shared cache line.
  void notify_one_after_seq_cst_publish() noexcept {
    if (waiters_.load(std::memory_order_seq_cst) != 0) {
      epoch_.fetch_add(1, std::memory_order_seq_cst);
      epoch_.notify_one();
    }
  }

  /// Wakes every sleeper, if any. Call after publishing the change they wait for.
  void notify_all() noexcept {
    if (has_waiters()) {
      epoch_.fetch_add(1, std::memory_order_seq_cst);
      epoch_.notify_all();
    }
  }

 private:
  bool has_waiters() noexcept {
    // An RMW, not a load: it always reads the latest value of waiters_ and orders the
    // publication before it against a sleeper's prepare_wait() (see there).
    return waiters_.fetch_add(0, std::memory_order_seq_cst) != 0;
  }

  alignas(64) std::atomic<key> epoch_{0};
  alignas(64) std::atomic<std::uint32_t> waiters_{0};
};

}  // namespace detail
JOBLIB_END_NAMESPACE
