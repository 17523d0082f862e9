// joblib-cpp internals: run fn(index, worker) for index in [0, count) on a few threads.
//
// This is the seam where the library's thread pool plugs in for chunk (de)compression once it
// exists; until then (and for users of persistence who never touch the pool) it is a plain
// std::thread fan-out: the caller plus n_threads - 1 helpers pull indices from one atomic
// counter, so uneven chunks balance themselves.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "joblib/config.hpp"

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
/// fn stops the hand-out of further indices and is rethrown here after all threads joined.
template <class Fn>
void run_chunks_in_parallel(std::size_t count, std::size_t n_threads, Fn&& fn) {
  if (count == 0) return;
  const std::size_t workers = effective_chunk_workers(n_threads, count);
  if (workers == 1) {
    for (std::size_t i = 0; i < count; ++i) fn(i, std::size_t{0});
    return;
  }
  // relaxed suffices: each index is claimed exactly once by fetch_add's atomicity, and the
  // results are published to the caller by thread::join, which synchronizes.
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto work = [&](std::size_t worker) {
    for (;;) {
      if (failed.load(std::memory_order_relaxed)) return;
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= count) return;
      try {
        fn(i, worker);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
        return;
      }
    }
  };
  std::vector<std::thread> helpers;
  helpers.reserve(workers - 1);
  try {
    for (std::size_t w = 1; w < workers; ++w) helpers.emplace_back(work, w);
  } catch (...) {
    // Could not start a thread: the threads that did start and the caller finish the work.
  }
  work(0);
  for (auto& t : helpers) t.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace detail
JOBLIB_END_NAMESPACE
