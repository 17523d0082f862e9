// joblib-cpp internals: run fn(index, worker) for index in [0, count) on a few threads.
//
// The caller plus n_threads - 1 tasks on the library's process-wide pool pull indices from one
// atomic counter, so uneven chunks balance themselves. Waiting helps run pool tasks, so a dump
// inside a parallel task (or a chunk task that nests another fan-out) cannot deadlock, and no
// thread is created per call.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>

#include "joblib/config.hpp"
#include "joblib/parallel/thread_pool.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// Number of workers for `requested` threads (0 = all hardware threads) and `count` tasks.
inline std::size_t effective_chunk_workers(std::size_t requested, std::size_t count) noexcept {
  std::size_t n = requested;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  return std::max<std::size_t>(1, std::min(n, count));
}

/// Calls fn(index, worker) once for every index in [0, count), worker in [0, workers) being the
/// calling thread's slot (for per-worker scratch state; one slot is never used by two threads
/// at once). workers = effective_chunk_workers(n_threads, count). The first exception thrown by
/// fn stops the hand-out of further indices and is rethrown here once every helper returned.
template <class Fn>
void run_chunks_in_parallel(std::size_t count, std::size_t n_threads, Fn&& fn) {
  if (count == 0) return;
  const std::size_t workers = effective_chunk_workers(n_threads, count);
  if (workers == 1) {
    for (std::size_t i = 0; i < count; ++i) fn(i, std::size_t{0});
    return;
  }
  // relaxed suffices: each index is claimed exactly once by fetch_add's atomicity, and the
  // results are published to the caller by the task group's wait, which synchronizes.
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&](std::size_t worker) {
    while (!failed.load(std::memory_order_relaxed)) {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= count) return;
      try {
        fn(i, worker);
      } catch (...) {
        failed.store(true, std::memory_order_relaxed);  // stop handing out indices
        throw;
      }
    }
  };
  // The helpers run on the library's pool; the group's destructor waits for them even when
  // the caller's share throws, and wait() rethrows the first helper exception.
  task_group helpers(thread_pool::global());
  for (std::size_t w = 1; w < workers; ++w) helpers.run([&work, w] { work(w); });
  work(0);
  helpers.wait();
}

}  // namespace detail
JOBLIB_END_NAMESPACE
