// joblib-cpp: joblib.Parallel and joblib.delayed for C++.
//
//   #include <joblib/parallel.hpp>
//   auto squares = joblib::parallel({.n_jobs = 4})(
//       std::views::iota(0, 100) | std::views::transform(joblib::delayed([](int i) { return i * i;
//       })));
//
// This header and everything it includes need only the standard library and Threads (link
// joblib::parallel): no zstd, xxHash or json.
#pragma once

#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/parallel/cpu_count.hpp"
#include "joblib/parallel/delayed.hpp"
#include "joblib/parallel/detail/parallel_call.hpp"
#include "joblib/parallel/options.hpp"
#include "joblib/parallel/result.hpp"
#include "joblib/parallel/thread_pool.hpp"
#include "joblib/version.hpp"

JOBLIB_BEGIN_NAMESPACE

/// joblib's Parallel: `joblib::parallel(options)(tasks)` runs every call of `tasks` (any input
/// range of nullary callables, typically joblib::delayed(f)(args...)) on the process-wide
/// work-stealing pool and returns a parallel_result<R> (or nothing when the calls return void):
/// every result in input order for return_as::list, a lazy range for the generator modes.
///
/// Like joblib, n_jobs left unset means 1 (sequential, in the caller) unless a
/// parallel_config scope sets it. A parallel call inside a task (nested parallelism) runs on
/// the same threads and never deadlocks: waiting threads run queued tasks.
///
/// Throws: the first exception a task threw, with its own type (pending tasks are
/// cancelled); joblib::timeout_error; joblib::cancelled_error when `stop` is requested;
/// std::invalid_argument for n_jobs == 0; and whatever the input range itself throws.
///
/// Thread safety: any number of threads may run parallel calls at once, on the one pool.
class parallel {
 public:
  /// Captures the options; scoped defaults (parallel_config) are applied at the call.
  parallel(parallel_options options = {})
      : options_(std::move(options)) {}  // NOLINT: implicit on purpose

  template <std::ranges::input_range Range>
  requires std::is_invocable_v<std::ranges::range_reference_t<Range>>
  auto operator()(Range&& tasks) const {
    using view = std::remove_reference_t<Range>;
    using result = detail::task_result_t<view>;
    // Copy the options only when a parallel_config scope has to be merged in.
    std::optional<parallel_options> merged;
    if (const parallel_options* scoped = detail::current_parallel_config()) {
      merged = parallel_config::merge(options_, *scoped);
    }
    const parallel_options& options = merged ? *merged : options_;
    const detail::call_settings settings = settings_for(options);
    thread_pool* pool = settings.n_jobs > 1 ? &thread_pool::global() : nullptr;

    if constexpr (std::is_void_v<result>) {
      detail::parallel_call<view> call(tasks, options, settings, pool);
      call.run_list();
    } else {
      if (settings.mode == return_as::list) {
        detail::parallel_call<view> call(tasks, options, settings, pool);
        return parallel_result<result>(call.run_list());
      }
      using owned = std::views::all_t<Range>;
      std::unique_ptr<detail::result_stream<result>> stream =
          std::make_unique<detail::generator_stream<owned>>(
              std::views::all(std::forward<Range>(tasks)), options, settings, pool);
      return parallel_result<result>(std::move(stream));
    }
  }

  /// The options of this call, before scoped defaults are applied.
  const parallel_options& options() const noexcept { return options_; }

 private:
  static detail::call_settings settings_for(const parallel_options& options) {
    detail::call_settings settings;
    settings.n_jobs = effective_n_jobs(options.n_jobs.value_or(1));
    if (options.backend.value_or(backend::threads) == backend::sequential) settings.n_jobs = 1;
    settings.fixed_batch = options.batch_size.value_or(auto_batch);
    settings.mode = options.return_as;
    if (settings.mode != return_as::list) {
      settings.window =
          std::max<std::size_t>(1, options.pre_dispatch.value_or(2 * std::size_t{settings.n_jobs}));
    }
    return settings;
  }

  parallel_options options_;
};

JOBLIB_END_NAMESPACE
