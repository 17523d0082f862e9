// joblib-cpp: the options of joblib::parallel and their scoped defaults (parallel_config).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/parallel/cpu_count.hpp"
#include "joblib/parallel/stop_token.hpp"

JOBLIB_BEGIN_NAMESPACE

/// Where the tasks of a parallel call run.
enum class backend {
  threads,     ///< the process-wide work-stealing pool (default)
  sequential,  ///< one after the other in the calling thread (debugging, profiling)
  /// Worker processes forked at the call: a task that crashes, aborts or hangs costs that task,
  /// not the call (see parallel_options::timeout, retries, max_nbytes). Results travel back
  /// serialized, so they must be serializable (joblib::serializable) and default-constructible.
  processes,
  /// Every rank of an MPI job (<joblib/mpi.hpp>, target joblib::mpi, a joblib::mpi::session
  /// alive): every rank makes the call with the same tasks; rank 0 hands out batches of task
  /// indices, each rank runs its batches on n_jobs threads, and every rank gets every result
  /// (see parallel_options::results_on_root_only). Results travel serialized, as with
  /// processes. List calls only. Without a session of several ranks (no mpirun), and for a call
  /// made inside a task, the thread backend runs the call.
  mpi,
};

/// Progress of a parallel call, given to parallel_options::on_progress from the calling
/// thread (never concurrently for one call).
struct progress_info {
  std::size_t completed = 0;                ///< tasks finished so far
  std::optional<std::size_t> total{};       ///< number of tasks, once the input is exhausted
  std::chrono::duration<double> elapsed{};  ///< since the call started
};

/// Batch size of a parallel call: `auto_batch` lets the call adapt it to measured task times.
inline constexpr std::size_t auto_batch = 0;

/// Options of joblib::parallel. Fields keep joblib's names; unset optional fields take the
/// scoped defaults of parallel_config, then the library defaults. (joblib's return_as is not
/// an option: parallel(...)(tasks) returns a std::vector, parallel(...).generator(tasks) and
/// .generator_unordered(tasks) a joblib::generator.)
///
///   joblib::parallel({.n_jobs = 4, .verbose = 10})(tasks);
struct parallel_options {
  /// Workers: -1 all CPUs, -2 all but one (and so on), n > 0 exactly n (capped to the pool's
  /// cpu_count() threads), 1 runs sequentially in the caller. 0 is an error.
  std::optional<int> n_jobs{};
  std::optional<joblib::backend> backend{};
  /// Tasks per batch; auto_batch (0) adapts to measured batch durations. A negative number
  /// converted to std::size_t (a value above PTRDIFF_MAX) is joblib::invalid_argument at the
  /// call, not a batch of 2^64 - 1 tasks.
  std::optional<std::size_t> batch_size{};
  /// Batches dispatched ahead of consumption for generators; default 2 * n_jobs. Checked as
  /// batch_size is.
  std::optional<std::size_t> pre_dispatch{};
  /// joblib's verbosity: 0 silent; > 0 joblib's progress lines through joblib::log (stderr by
  /// default), more often for higher values (every batch from 11 on).
  std::optional<int> verbose{};
  /// Draw a progress bar on stderr when stderr is a terminal.
  std::optional<bool> progress{};
  /// Called from the calling thread as tasks complete.
  std::function<void(const progress_info&)> on_progress{};
  /// Per-task time limit. Threads: a task that runs longer makes the call throw
  /// joblib::timeout_error when it returns (threads cannot be killed); tasks not yet started
  /// are cancelled. Processes: the worker running an overdue task is killed at the deadline.
  std::optional<std::chrono::duration<double>> timeout{};
  /// Cancels the call: tasks not yet started are skipped and the call throws
  /// joblib::cancelled_error (a generator ends its iteration by throwing it).
  joblib::stop_token stop{};
  /// Processes: times a task that threw or crashed is run again, each time on a worker process
  /// forked after the failure, before its failure counts (default 0). Timeouts are not retried.
  std::optional<unsigned> retries{};
  /// Processes: arrays of at least this many bytes in a result come back through shared memory,
  /// mapped by the caller, instead of through the worker's socket (default 1 MiB, as joblib's).
  std::optional<std::size_t> max_nbytes{};
  /// Processes: the folder of that shared memory (an unnamed O_TMPFILE file there); default an
  /// anonymous memfd. Either way nothing named is left behind, whatever is killed when.
  std::optional<std::filesystem::path> temp_folder{};
  /// Processes: a worker exits after this many tasks and a fresh one is forked (loky's
  /// max_tasks_per_child); default no limit.
  std::optional<std::size_t> max_tasks_per_worker{};
  /// MPI: results only on rank 0; the other ranks' calls return an empty vector (for results
  /// too large to copy to every rank). Default false: every rank gets them all.
  std::optional<bool> results_on_root_only{};
};

namespace detail {
inline parallel_options*& current_parallel_config() {
  static thread_local parallel_options* config = nullptr;
  return config;
}
}  // namespace detail

/// Scoped defaults for parallel calls made by this thread, like joblib's parallel_config
/// context manager. Fields set here fill the fields a call leaves unset; scopes nest (inner
/// wins). Thread-local: tasks running on pool threads do not inherit it.
///
///   {
///     joblib::parallel_config config({.n_jobs = 2, .verbose = 5});
///     joblib::parallel()(tasks);   // runs with n_jobs = 2, verbose = 5
///   }
class parallel_config {
 public:
  explicit parallel_config(parallel_options defaults)
      : options_(std::move(defaults)), previous_(detail::current_parallel_config()) {
    if (previous_) options_ = merge(options_, *previous_);
    detail::current_parallel_config() = &options_;
  }
  parallel_config(const parallel_config&) = delete;
  parallel_config& operator=(const parallel_config&) = delete;
  ~parallel_config() { detail::current_parallel_config() = previous_; }

  /// The options in force for this thread (this scope merged with the enclosing ones).
  const parallel_options& options() const noexcept { return options_; }

  /// `call` with unset fields filled from `defaults`.
  static parallel_options merge(parallel_options call, const parallel_options& defaults) {
    if (!call.n_jobs) call.n_jobs = defaults.n_jobs;
    if (!call.backend) call.backend = defaults.backend;
    if (!call.batch_size) call.batch_size = defaults.batch_size;
    if (!call.pre_dispatch) call.pre_dispatch = defaults.pre_dispatch;
    if (!call.verbose) call.verbose = defaults.verbose;
    if (!call.progress) call.progress = defaults.progress;
    if (!call.on_progress) call.on_progress = defaults.on_progress;
    if (!call.timeout) call.timeout = defaults.timeout;
    if (!call.stop.stop_possible()) call.stop = defaults.stop;
    if (!call.retries) call.retries = defaults.retries;
    if (!call.max_nbytes) call.max_nbytes = defaults.max_nbytes;
    if (!call.temp_folder) call.temp_folder = defaults.temp_folder;
    if (!call.max_tasks_per_worker) call.max_tasks_per_worker = defaults.max_tasks_per_worker;
    if (!call.results_on_root_only) call.results_on_root_only = defaults.results_on_root_only;
    return call;
  }

 private:
  parallel_options options_;
  parallel_options* previous_;
};

/// The number of workers `n_jobs` means on this machine: -1 is cpu_count(), -2 one fewer, and
/// so on (at least 1); a positive n is n. Throws joblib::invalid_argument for 0.
///
///   joblib::effective_n_jobs(-1) == joblib::cpu_count()
inline unsigned effective_n_jobs(int n_jobs = -1) {
  if (n_jobs == 0) {
    throw invalid_argument("joblib: n_jobs == 0 has no meaning (use 1 for sequential)");
  }
  if (n_jobs > 0) return static_cast<unsigned>(n_jobs);
  const long n = static_cast<long>(cpu_count()) + 1 + n_jobs;
  return n < 1 ? 1u : static_cast<unsigned>(n);
}

/// joblib's effective_n_jobs(None): what a parallel call leaving n_jobs unset uses, the n_jobs
/// of this thread's parallel_config scope, else 1. A set value means what it means above.
///
///   joblib::effective_n_jobs(std::nullopt) == 1   // outside any parallel_config
inline unsigned effective_n_jobs(std::optional<int> n_jobs) {
  if (!n_jobs) {
    const parallel_options* scoped = detail::current_parallel_config();
    n_jobs = scoped && scoped->n_jobs ? *scoped->n_jobs : 1;
  }
  return effective_n_jobs(*n_jobs);
}

JOBLIB_END_NAMESPACE
