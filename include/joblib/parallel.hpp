// joblib-cpp: joblib.Parallel and joblib.delayed for C++.
//
//   #include <joblib/parallel.hpp>
//   auto square = [](int i) { return i * i; };
//   std::vector<int> squares = joblib::parallel({.n_jobs = 4})(
//       std::views::iota(0, 100) | std::views::transform(joblib::delayed(square)));
//
// This header and everything it includes need only the standard library and Threads (link
// joblib::parallel): no zstd, xxHash or json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/parallel/cpu_count.hpp"
#include "joblib/parallel/delayed.hpp"
#include "joblib/parallel/detail/collect.hpp"
#include "joblib/parallel/detail/parallel_call.hpp"
#include "joblib/parallel/detail/process/process_call.hpp"
#include "joblib/parallel/detail/remote/distributed_backend.hpp"
#include "joblib/parallel/detail/remote/encoded_batch.hpp"
#include "joblib/parallel/generator.hpp"
#include "joblib/parallel/options.hpp"
#include "joblib/parallel/outcome.hpp"
#include "joblib/parallel/task_group.hpp"
#include "joblib/parallel/thread_pool.hpp"
#include "joblib/version.hpp"

JOBLIB_BEGIN_NAMESPACE

/// joblib's Parallel: `joblib::parallel(options)(tasks)` runs every call of `tasks` (any input
/// range of nullary callables, typically joblib::delayed(f)(args...)) on the process-wide
/// work-stealing pool and returns their results in input order as a std::vector<R> (nothing
/// when the calls return void). `.generator(tasks)` and `.generator_unordered(tasks)` return
/// a joblib::generator<R> instead, which yields results as they are ready, in input order or
/// in completion order (joblib's return_as="generator" / "generator_unordered").
/// `.collect(tasks)` runs every task whatever fails and returns one joblib::outcome per task.
///
/// Like joblib, n_jobs left unset means 1 (sequential, in the caller) unless a
/// parallel_config scope sets it. A parallel call inside a task (nested parallelism) runs on
/// the same threads and never deadlocks: waiting threads run queued tasks.
///
/// Throws: the first exception a task threw, with its own type (pending tasks are
/// cancelled); joblib::timeout_error; joblib::cancelled_error when `stop` is requested;
/// joblib::invalid_argument for n_jobs == 0 or a negative batch_size or pre_dispatch; and whatever
/// the input range itself throws.
///
/// Thread safety: any number of threads may run parallel calls at once, on the one pool.
///
///   std::vector<double> r = joblib::parallel({.n_jobs = -1})(
///       std::views::iota(0, 100) | std::views::transform(joblib::delayed(simulate)));
///   for (double x : joblib::parallel({.n_jobs = -1}).generator_unordered(calls)) show(x);
class parallel {
 public:
  /// Captures the options; scoped defaults (parallel_config) are applied at the call.
  parallel(parallel_options options = {})
      : options_(std::move(options)) {}  // NOLINT: implicit on purpose

  /// Runs every task; returns std::vector<R> in input order (void for void tasks).
  template <std::ranges::input_range Range>
  requires std::is_invocable_v<std::ranges::range_reference_t<Range>>
  auto operator()(Range&& tasks) const {
    using view = std::remove_reference_t<Range>;
    std::optional<parallel_options> merged;
    const parallel_options& options = resolved(merged);
    if (options.backend == backend::processes) {
      if constexpr (detail::transportable_result<detail::task_result_t<view>>) {
        return run_in_processes<false>(tasks, options);
      } else {
        throw_not_transportable<detail::task_result_t<view>>("processes");
      }
    }
    if (detail::distributed_backend* ranks = distributed_backend_for(options)) {
      if constexpr (detail::transportable_result<detail::task_result_t<view>>) {
        return run_on_ranks(tasks, options, *ranks);
      } else {
        throw_not_transportable<detail::task_result_t<view>>("mpi");
      }
    }
    const detail::call_settings settings = settings_for(options, detail::delivery::list);
    detail::parallel_call<view> call(tasks, options, settings, pool_for(settings));
    return call.run_list();
  }

  /// Starts the tasks and returns a generator of their results in input order.
  template <std::ranges::input_range Range>
  requires std::is_invocable_v<std::ranges::range_reference_t<Range>>
  auto generator(Range&& tasks) const {
    return make_generator(std::forward<Range>(tasks), detail::delivery::in_order);
  }

  /// Starts the tasks and returns a generator of their results in completion order.
  template <std::ranges::input_range Range>
  requires std::is_invocable_v<std::ranges::range_reference_t<Range>>
  auto generator_unordered(Range&& tasks) const {
    return make_generator(std::forward<Range>(tasks), detail::delivery::completion_order);
  }

  /// Runs every task like operator() but does not stop at the first failure: returns one
  /// joblib::outcome<R> per task, in input order (outcome<void> for void tasks), holding its
  /// value or its task_failure (index, kind, exception type, what). With the thread and
  /// sequential backends a failure is an exception the task threw (outcome::value() rethrows
  /// it) or, with `timeout` set, a task that ran longer (its value is discarded).
  ///
  /// Throws: joblib::cancelled_error when `stop` is requested (as operator() does);
  /// joblib::invalid_argument for invalid options; whatever the input range itself throws.
  ///
  ///   auto outcomes = joblib::parallel({.n_jobs = 4}).collect(calls);
  ///   for (const auto& o : outcomes) {
  ///     if (!o) std::cerr << "task " << o.failure().index << ": " << o.failure().what << '\n';
  ///   }
  template <std::ranges::input_range Range>
  requires std::is_invocable_v<std::ranges::range_reference_t<Range>>
  auto collect(Range&& tasks) const {
    using view = std::remove_reference_t<Range>;
    std::optional<parallel_options> merged;
    const parallel_options& options = resolved(merged);
    if (options.backend == backend::processes) {
      // Crashes and overdue tasks (killed at their deadline) become failures too.
      if constexpr (detail::transportable_result<detail::task_result_t<view>>) {
        return run_in_processes<true>(tasks, options);
      } else {
        throw_not_transportable<detail::task_result_t<view>>("processes");
      }
    }
    if (distributed_backend_for(options)) throw_list_calls_only("collect");
    const detail::call_settings settings = settings_for(options, detail::delivery::list);
    return detail::collect_on_threads<view>(tasks, options, settings, pool_for(settings));
  }

  /// The options of this call, before scoped defaults are applied.
  const parallel_options& options() const noexcept { return options_; }

 private:
  /// A generator's result stream: owns the task range (or a view of it), the options and the
  /// call; destroying it cancels the call.
  template <class View>
  class stream final : public detail::result_stream<detail::task_result_t<View>> {
   public:
    stream(View tasks, parallel_options options, detail::call_settings settings, thread_pool* pool)
        : tasks_(std::move(tasks)),
          options_(std::move(options)),
          call_(tasks_, options_, settings, pool) {
      call_.start();
    }
    ~stream() override { call_.cancel_and_wait(); }
    std::optional<detail::task_result_t<View>> next() override { return call_.next_result(); }

   private:
    View tasks_;
    parallel_options options_;  // the call keeps pointers into it (on_progress)
    detail::parallel_call<View> call_;
  };

  /// A generator's result stream on worker processes: owns the calls (a copy of them when the
  /// range cannot be indexed: the workers find their tasks by index), the options and the call.
  template <class View>
  class process_stream final : public detail::result_stream<detail::task_result_t<View>> {
   public:
    process_stream(View tasks, parallel_options options, detail::process::process_settings settings)
        : tasks_(std::move(tasks)),
          options_(std::move(options)),
          call_(tasks_, options_, std::move(settings)) {
      call_.start();
    }
    std::optional<detail::task_result_t<View>> next() override { return call_.next_result(); }

   private:
    View tasks_;
    parallel_options options_;
    detail::process::process_call<View> call_;
  };

  template <class Range>
  auto make_generator(Range&& tasks, detail::delivery mode) const {
    using owned = std::views::all_t<Range>;
    using result = detail::task_result_t<owned>;
    static_assert(!std::is_void_v<result>,
                  "joblib: a generator yields the tasks' results; tasks that return void run "
                  "with parallel(options)(tasks)");
    std::optional<parallel_options> merged;
    parallel_options options = resolved(merged);
    if (options.backend == backend::processes) {
      if constexpr (detail::transportable_result<result>) {
        const auto process_mode = mode == detail::delivery::in_order
                                      ? detail::process::process_delivery::in_order
                                      : detail::process::process_delivery::completion_order;
        auto settings = process_settings_for(options, process_mode);
        if constexpr (detail::indexable_tasks_v<owned>) {
          return joblib::generator<result>(
              std::make_unique<process_stream<owned>>(std::views::all(std::forward<Range>(tasks)),
                                                      std::move(options), std::move(settings)));
        } else {
          using calls = std::vector<std::ranges::range_value_t<owned>>;
          return joblib::generator<result>(
              std::make_unique<process_stream<std::ranges::owning_view<calls>>>(
                  std::ranges::owning_view<calls>(copy_calls(tasks)), std::move(options),
                  std::move(settings)));
        }
      } else {
        throw_not_transportable<result>("processes");
      }
    }
    if (distributed_backend_for(options)) throw_list_calls_only("a generator");
    const detail::call_settings settings = settings_for(options, mode);
    thread_pool* pool = pool_for(settings);
    return joblib::generator<result>(std::make_unique<stream<owned>>(
        std::views::all(std::forward<Range>(tasks)), std::move(options), settings, pool));
  }

  // The options with a parallel_config scope merged in; copied only when there is one.
  const parallel_options& resolved(std::optional<parallel_options>& merged) const {
    if (const parallel_options* scoped = detail::current_parallel_config()) {
      merged = parallel_config::merge(options_, *scoped);
      return *merged;
    }
    return options_;
  }

  static detail::call_settings settings_for(const parallel_options& options,
                                            detail::delivery mode) {
    detail::call_settings settings;
    settings.n_jobs = effective_n_jobs(options.n_jobs.value_or(1));
    if (options.backend.value_or(backend::threads) == backend::sequential) settings.n_jobs = 1;
    settings.fixed_batch = checked_count(options.batch_size.value_or(auto_batch), "batch_size");
    settings.mode = mode;
    if (mode != detail::delivery::list) {
      settings.window = std::max<std::size_t>(
          1, checked_count(options.pre_dispatch.value_or(2 * std::size_t{settings.n_jobs}),
                           "pre_dispatch"));
    }
    return settings;
  }

  // A count above PTRDIFF_MAX can only be a negative number converted to std::size_t.
  static std::size_t checked_count(std::size_t value, const char* name) {
    if (value > static_cast<std::size_t>(PTRDIFF_MAX)) {
      throw invalid_argument(std::string("joblib: ") + name + " = " +
                             std::to_string(static_cast<std::ptrdiff_t>(value)) +
                             " is negative (0 is joblib::auto_batch for batch_size; counts are "
                             "positive)");
    }
    return value;
  }

  // The process backend finds a task by its index: a range that cannot be indexed is copied
  // into a vector first (its calls, not their results).
  template <class Range>
  static auto copy_calls(Range& tasks) {
    std::vector<std::ranges::range_value_t<Range>> calls;
    if constexpr (std::ranges::sized_range<Range>) calls.reserve(std::ranges::size(tasks));
    for (auto&& call : tasks) calls.push_back(std::forward<decltype(call)>(call));
    return calls;
  }

  template <class Range, class Run>
  static decltype(auto) with_indexable(Range& tasks, Run&& run) {
    if constexpr (detail::indexable_tasks_v<Range>) {
      return run(tasks);
    } else {
      auto calls = copy_calls(tasks);
      return run(calls);
    }
  }

  // A list call (or with `Collect`, a collect call) on worker processes.
  template <bool Collect, class Range>
  static auto run_in_processes(Range& tasks, const parallel_options& options) {
    return with_indexable(tasks, [&](auto& indexable) {
      detail::process::process_call<std::remove_reference_t<decltype(indexable)>> call(
          indexable, options,
          process_settings_for(options, Collect ? detail::process::process_delivery::collect
                                                : detail::process::process_delivery::list));
      if constexpr (Collect) {
        return call.run_collect();
      } else {
        return call.run_list();
      }
    });
  }

  // A list call on every rank of a distributed backend.
  template <class Range>
  static auto run_on_ranks(Range& tasks, const parallel_options& options,
                           detail::distributed_backend& ranks) {
    return with_indexable(tasks, [&](auto& indexable) {
      using view = std::remove_reference_t<decltype(indexable)>;
      using result = detail::task_result_t<view>;
      const unsigned threads = effective_n_jobs(options.n_jobs.value_or(1));
      detail::distributed_call call;
      call.total = static_cast<std::size_t>(std::ranges::size(indexable));
      call.signature = std::hash<std::string_view>{}(typeid(view).name());
      call.options = &options;
      call.results_on_root_only = options.results_on_root_only.value_or(false);
      call.void_results = std::is_void_v<result>;
      call.run = [&](std::size_t first, std::size_t count, std::vector<std::byte>& out) {
        return detail::run_encoded_batch(indexable, first, count, threads, options, out);
      };
      if constexpr (std::is_void_v<result>) {
        ranks.run(call);
      } else {
        std::vector<result> results;
        call.store = [&](std::size_t first, std::size_t count, std::span<const std::byte> bytes) {
          if (results.empty()) results.resize(call.total);
          detail::store_encoded_batch(results, first, count, bytes);
        };
        ranks.run(call);
        return results;
      }
    });
  }

  // The distributed backend that runs this call on every rank, if backend::mpi asks for one
  // and a session of several ranks takes it (otherwise the thread backend runs it).
  static detail::distributed_backend* distributed_backend_for(const parallel_options& options) {
    if (options.backend != backend::mpi) return nullptr;
    detail::distributed_backend* ranks = detail::installed_distributed_backend().load();
    return ranks != nullptr && ranks->takes_call_here() ? ranks : nullptr;
  }

  [[noreturn]] static void throw_list_calls_only(const char* what) {
    throw invalid_argument(std::string("joblib: backend::mpi runs list calls only, not ") + what +
                           " (every rank would have to consume it in step)");
  }

  template <class R>
  [[noreturn]] static void throw_not_transportable(const char* backend_name) {
    throw invalid_argument(
        std::string("joblib: backend::") + backend_name +
        " brings task results back serialized, and " + detail::demangle(typeid(R).name()) +
        " is not (it must be joblib::serializable, readable back - not a std::span or "
        "std::string_view - and default-constructible)");
  }

  static detail::process::process_settings process_settings_for(
      const parallel_options& options, detail::process::process_delivery mode) {
    detail::process::process_settings s;
    s.workers = effective_n_jobs(options.n_jobs.value_or(1));
    s.fixed_batch = checked_count(options.batch_size.value_or(auto_batch), "batch_size");
    s.mode = mode;
    if (mode == detail::process::process_delivery::in_order ||
        mode == detail::process::process_delivery::completion_order) {
      s.window = std::max<std::size_t>(
          1,
          checked_count(options.pre_dispatch.value_or(2 * std::size_t{s.workers}), "pre_dispatch"));
    }
    s.timeout = options.timeout;
    s.retries = options.retries.value_or(0);
    s.max_tasks_per_worker = options.max_tasks_per_worker.value_or(0);
    if (options.max_nbytes) s.max_nbytes = *options.max_nbytes;
    if (options.temp_folder) s.temp_folder = *options.temp_folder;
    return s;
  }

  static thread_pool* pool_for(const detail::call_settings& settings) {
    return settings.n_jobs > 1 ? &thread_pool::global() : nullptr;
  }

  parallel_options options_;
};

JOBLIB_END_NAMESPACE
