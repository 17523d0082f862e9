// joblib-cpp internals: spinning while work may arrive within microseconds, and a spin lock
// for critical sections of a few dozen instructions.
#pragma once

#include <atomic>
#include <thread>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// One round of waiting for work that may arrive within microseconds: a few CPU pause
/// instructions first (no system call: sched_yield in a tight loop spends its time in the
/// scheduler), then yielding the core for later rounds.
inline void spin_pause(int round) noexcept {
  if (round < 16) {
#if defined(__x86_64__) || defined(__i386__)
    for (int i = 0; i < 16; ++i) __builtin_ia32_pause();
#elif defined(__aarch64__)
    for (int i = 0; i < 16; ++i) asm volatile("yield");
#else
    std::this_thread::yield();
#endif
  } else {
    std::this_thread::yield();
  }
}

/// A lock for critical sections of a few dozen instructions (the injection queue): waiting
/// spins, then yields, instead of sleeping in the kernel. With std::mutex a producer that met
/// a worker inside the section slept and woke through futex calls, which cost more than the
/// section itself.
class spin_mutex {
 public:
  void lock() noexcept {
    for (int round = 0; !try_lock(); ++round) spin_pause(round);
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace detail
JOBLIB_END_NAMESPACE
