// joblib-cpp internals (backends whose tasks run in other processes): a batch of tasks run
// here, its results as bytes, and those bytes back into the caller's results.
//
// A distributed backend (MPI) hands out task indices; the executor that gets a batch runs it
// on its own threads and sends back the serialization core's bytes of the batch's values, or
// the first exception a task threw (exception_transport.hpp). The process backend encodes its
// results the same way, value by value, with large arrays in shared memory.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <ranges>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/parallel/detail/dispenser.hpp"
#include "joblib/parallel/detail/exception_transport.hpp"
#include "joblib/parallel/detail/parallel_call.hpp"
#include "joblib/parallel/options.hpp"
#include "joblib/parallel/thread_pool.hpp"
#include "joblib/serialize/detail/decode.hpp"
#include "joblib/serialize/detail/encode.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// Whether tasks returning R can run in another process: R travels back serialized, so it must
/// be serializable, readable back (not a span or string_view) and default-constructible.
template <class R>
inline constexpr bool transportable_result = std::is_void_v<R> ||
                                             (check_serializable<R, true>() &&
                                              std::is_default_constructible_v<R> &&
                                              std::is_move_constructible_v<R>);

/// The task of a batch that failed first, and its exception as it travels.
struct failed_task {
  std::size_t index = 0;
  transported_exception exception;
};

/// Runs tasks [first, first + count) of `tasks` on `threads` threads of the global pool (in
/// the calling thread alone when threads == 1), with the thread backend's batching and
/// timeout. Appends their values' bytes to `out` (arrays inline), or returns the task whose
/// exception stopped the batch: the one with the lowest index among those that threw.
template <class V>
std::optional<failed_task> run_encoded_batch(V& tasks, std::size_t first, std::size_t count,
                                             unsigned threads, const parallel_options& options,
                                             std::vector<std::byte>& out) {
  using result_type = task_result_t<V>;
  std::mutex failure_mutex;
  std::optional<std::size_t> failed_index;
  std::exception_ptr failure;
  auto calls = std::views::iota(first, first + count) | std::views::transform([&](std::size_t i) {
                 return [&, i]() -> result_type {
                   try {
                     return std::invoke(tasks[static_cast<std::ranges::range_difference_t<V>>(i)]);
                   } catch (...) {
                     const std::lock_guard lock(failure_mutex);
                     if (!failed_index || i < *failed_index) {
                       failed_index = i;
                       failure = std::current_exception();
                     }
                     throw;
                   }
                 };
               });
  using view = decltype(calls);
  parallel_options local;
  local.timeout = options.timeout;
  call_settings settings;
  settings.n_jobs = threads;
  settings.fixed_batch = 0;
  thread_pool* pool = threads > 1 ? &thread_pool::global() : nullptr;
  try {
    parallel_call<view> call(calls, local, settings, pool);
    if constexpr (std::is_void_v<result_type>) {
      call.run_list();
    } else {
      const std::vector<result_type> values = call.run_list();
      value_writer writer(out, nullptr);
      for (const result_type& v : values) encode(writer, v);
    }
  } catch (...) {
    const std::lock_guard lock(failure_mutex);
    // A failure no task recorded (the batch's own timeout_error, an encoding error) counts as
    // the batch's first task's.
    return failed_task{failed_index.value_or(first),
                       describe_exception(failure ? failure : std::current_exception())};
  }
  return std::nullopt;
}

/// Decodes the values of tasks [first, first + count) from `bytes` into results[first...].
template <class R>
void store_encoded_batch(std::vector<R>& results, std::size_t first, std::size_t count,
                         std::span<const std::byte> bytes) {
  value_reader reader(bytes, nullptr);
  for (std::size_t k = 0; k < count; ++k) {
    if constexpr (std::is_same_v<R, bool>) {
      bool v = false;
      decode(reader, v);
      results[first + k] = v;
    } else {
      decode(reader, results[first + k]);
    }
  }
  reader.expect_end();
}

}  // namespace detail
JOBLIB_END_NAMESPACE
