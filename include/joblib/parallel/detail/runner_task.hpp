// joblib-cpp internals: the task that lets a pool thread join a parallel call (a "runner"),
// and the per-thread cache that recycles runner memory where it was allocated.
//
// A runner is shared by the pool (which runs it) and the calling thread (which may revoke
// it): once nothing is left to hand out, the caller revokes the runners no worker has
// started, so it need not wait for a busy pool to get around to them. A revoked runner exits
// without touching its host, which may be gone by then; that is why runners live on the heap
// with a reference for each side rather than inside the call.
//
// Recycling: a runner is typically allocated by the caller and finished by a thief on another
// thread. Freeing it there starves the caller's malloc cache (the slow path was a fifth of a
// small nested call), so the caller keeps its reference in a per-thread cache instead of
// dropping it, and reuses the runner once the pool has let go of it.
#pragma once

#include <atomic>
#include <cstddef>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/parallel/detail/task.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// What a runner works for (a parallel call).
class runner_host {
 public:
  /// Runs batches until none is left, then counts the runner finished: after that the host
  /// may be destroyed at any moment, so this is the runner's last touch of it.
  virtual void run_as_runner() noexcept = 0;

 protected:
  ~runner_host() = default;
};

/// A spawned runner; obtain one with runner_task::make, give the caller's side back with
/// retire().
class runner_task final : public task_base {
 public:
  /// A runner for `host` holding two references: the pool's and the caller's.
  static runner_task* make(runner_host* host);

  void run_and_delete() noexcept override {
    int expected = pending;
    if (status_.compare_exchange_strong(expected, running, std::memory_order_acq_rel)) {
      host_->run_as_runner();
    }
    release();
  }

  /// Caller side: true when the runner had not started and now never will.
  bool revoke() noexcept {
    int expected = pending;
    return status_.compare_exchange_strong(expected, revoked, std::memory_order_acq_rel);
  }

  /// Caller side, after the pool gave it back unstarted (thread_pool::take_back): drops the
  /// pool's reference, which nothing will release otherwise.
  void taken_back() noexcept { release(); }

  /// Whether a pool thread has taken it (run or found it revoked).
  bool started() const noexcept { return status_.load(std::memory_order_acquire) != pending; }

  /// The caller is done with it: its reference goes to this thread's cache for reuse.
  void retire() noexcept;

  runner_task(const runner_task&) = delete;
  runner_task& operator=(const runner_task&) = delete;

 private:
  friend class runner_cache;
  static constexpr int pending = 0, running = 1, revoked = 2;

  explicit runner_task(runner_host* host) noexcept : host_(host) {}
  ~runner_task() = default;

  void release() noexcept {
    if (references_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  // Only the cache's reference is left: the pool is done with it.
  bool reusable() const noexcept { return references_.load(std::memory_order_acquire) == 1; }
  void reset(runner_host* host) noexcept {
    host_ = host;
    status_.store(pending, std::memory_order_relaxed);
    references_.store(2, std::memory_order_relaxed);  // published by the pool's spawn
  }

  runner_host* host_;
  std::atomic<int> status_{pending};
  std::atomic<int> references_{2};
};

/// The calling thread's retired runners (its references), reused once the pool let go.
class runner_cache {
 public:
  static runner_cache& local() {
    thread_local runner_cache cache;
    return cache;
  }

  runner_cache() = default;
  runner_cache(const runner_cache&) = delete;
  runner_cache& operator=(const runner_cache&) = delete;
  ~runner_cache() {
    for (runner_task* r : parked_) r->release();  // the pool deletes those it still holds
  }

  runner_task* take(runner_host* host) {
    for (std::size_t i = 0; i < parked_.size(); ++i) {
      runner_task* r = parked_[i];
      if (r->reusable()) {
        parked_[i] = parked_.back();
        parked_.pop_back();
        r->reset(host);
        return r;
      }
    }
    return new runner_task(host);
  }

  void park(runner_task* r) noexcept {
    try {
      if (parked_.size() >= capacity) {
        parked_.front()->release();
        parked_.front() = parked_.back();
        parked_.pop_back();
      }
      parked_.push_back(r);
    } catch (...) {  // no memory to remember it: just let go
      r->release();
    }
  }

 private:
  static constexpr std::size_t capacity = 16;
  std::vector<runner_task*> parked_;
};

inline runner_task* runner_task::make(runner_host* host) {
  return runner_cache::local().take(host);
}

inline void runner_task::retire() noexcept { runner_cache::local().park(this); }

}  // namespace detail
JOBLIB_END_NAMESPACE
