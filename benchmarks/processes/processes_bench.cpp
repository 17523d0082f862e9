// joblib::parallel on backend::processes next to the thread backend and a plain memcpy, on the
// cases of the process-backend issue (docs/BENCHMARKS.md, "Processes"); Python joblib's loky
// backend runs the same jobs in joblib_anchor.py.
// Run: build/release/benchmarks/processes/joblib_bench_processes
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <joblib/ndarray.hpp>
#include <joblib/parallel.hpp>
#include <limits>
#include <memory>
#include <ranges>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

joblib::parallel_options on(joblib::backend b, int n_jobs) {
  return {.n_jobs = n_jobs, .backend = b};
}

// ---- 2,000 tasks of 1 ms at n_jobs = 2 -----------------------------------------------------
// Busy: spins on steady_clock for 1 ms (uses the CPU, as real work does). Sleepy: sleeps 1 ms.
// The sequential time is 2,000 ms by construction, so efficiency = 2,000 ms / (2 x wall).
constexpr int ms_n = 2'000;

long spin_1ms(int i) {
  const auto end = clock_type::now() + std::chrono::milliseconds(1);
  while (clock_type::now() < end) {
  }
  return i;
}
long sleep_1ms(int i) {
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return i;
}

template <long (*Task)(int), joblib::backend Backend>
void ms_tasks(benchmark::State& state) {
  for (auto _ : state) {
    auto r = joblib::parallel(on(Backend, 2))(std::views::iota(0, ms_n) |
                                              std::views::transform(joblib::delayed(Task)));
    benchmark::DoNotOptimize(r.data());
  }
  state.SetItemsProcessed(state.iterations() * ms_n);
}

// ---- tiny tasks through auto batching: 1M tasks returning i * 2 as long -----------------------
// The same job as joblib_anchor.py gives loky.
constexpr int tiny_n = 1'000'000;
long twice(int i) { return static_cast<long>(i) * 2; }

template <joblib::backend Backend>
void tiny(benchmark::State& state) {
  for (auto _ : state) {
    auto r = joblib::parallel(on(Backend, 2))(std::views::iota(0, tiny_n) |
                                              std::views::transform(joblib::delayed(twice)));
    benchmark::DoNotOptimize(r.data());
  }
  state.SetItemsProcessed(state.iterations() * tiny_n);
}

// ---- the fixed cost of a call: 2 tasks returning 0 at n_jobs = 2 ------------------------------
// For processes: two forks, two round trips, two exits reaped. With a 4 GiB resident parent the
// forks copy its page tables (and the children tear theirs down).
int zero(int) { return 0; }

template <joblib::backend Backend, int NJobs>
void empty_call(benchmark::State& state) {
  for (auto _ : state) {
    auto r = joblib::parallel(on(Backend, NJobs))(std::views::iota(0, NJobs) |
                                                  std::views::transform(joblib::delayed(zero)));
    benchmark::DoNotOptimize(r.data());
  }
}

constexpr std::size_t resident_bytes = std::size_t{4} << 30;

// The machine's floor: two bare fork() + _exit(0) + waitpid(), no socket, no message.
void raw_forks() {
  pid_t pids[2];
  for (pid_t& pid : pids) {
    pid = ::fork();
    if (pid == 0) ::_exit(0);
  }
  for (pid_t pid : pids) ::waitpid(pid, nullptr, 0);
}

// 4 GiB of private anonymous memory (4 KiB pages, as malloc's), populated and every page written
// before timing; unmapped when the run ends.
class resident_memory {
 public:
  resident_memory() {
    void* p = ::mmap(nullptr, resident_bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) std::abort();
    data_ = static_cast<char*>(p);
    std::memset(data_, 1, resident_bytes);
    benchmark::DoNotOptimize(data_);
  }
  resident_memory(const resident_memory&) = delete;
  resident_memory& operator=(const resident_memory&) = delete;
  ~resident_memory() { ::munmap(data_, resident_bytes); }

 private:
  char* data_;
};

template <bool Raw, bool Resident>
void fork_cost(benchmark::State& state) {
  std::unique_ptr<resident_memory> resident(Resident ? new resident_memory : nullptr);
  for (auto _ : state) {
    if constexpr (Raw) {
      raw_forks();
    } else {
      auto r = joblib::parallel(on(joblib::backend::processes, 2))(
          std::views::iota(0, 2) | std::views::transform(joblib::delayed(zero)));
      benchmark::DoNotOptimize(r.data());
    }
  }
}

// ---- a 400 MB ndarray<double> result ----------------------------------------------------------
// The parent holds 400 MB of doubles; one task (n_jobs = 1) builds an ndarray from them (the
// task sees them copy-on-write, through its capture) and returns it. Every case takes the
// time until the caller holds a usable result; the result is freed outside the timing.
constexpr std::size_t big_n = 400'000'000 / sizeof(double);

// Made by each case that needs it and freed when the case ends: a parent that kept 400 MB
// resident would make every later fork of the other cases copy its page tables too (the 4 GiB
// case measures that on purpose).
std::vector<double> big_source() {
  std::vector<double> v(big_n);
  for (std::size_t i = 0; i < big_n; ++i) v[i] = static_cast<double>(i) * 0.5;
  return v;
}

// Reads one double per 4 KiB page: the caller's first touch of a mapped result (what the memcpy
// baseline pays in its destination's page faults).
double touch_pages(const double* p, std::size_t n) {
  double sum = 0;
  for (std::size_t i = 0; i < n; i += 4096 / sizeof(double)) sum += p[i];
  return sum;
}

// What the page faults of the baseline cost: the same memcpy into memory touched before.
void result_memcpy_reused(benchmark::State& state) {
  const std::vector<double> source = big_source();
  std::unique_ptr<double[]> copy(new double[big_n]);
  std::memset(copy.get(), 0, big_n * sizeof(double));
  for (auto _ : state) {
    std::memcpy(copy.get(), source.data(), big_n * sizeof(double));
    benchmark::DoNotOptimize(copy.get());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(big_n * sizeof(double)));
}

// The baseline: memcpy into freshly allocated memory (first touch, page faults included).
void result_memcpy(benchmark::State& state) {
  const std::vector<double> source = big_source();
  for (auto _ : state) {
    std::unique_ptr<double[]> copy(new double[big_n]);  // uninitialized: fresh pages
    std::memcpy(copy.get(), source.data(), big_n * sizeof(double));
    benchmark::DoNotOptimize(copy.get());
    state.PauseTiming();
    copy.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(big_n * sizeof(double)));
}

// The task's own work, in the parent: ndarray(shape, values) of the source (no process).
void result_task_body(benchmark::State& state) {
  const std::vector<double> source = big_source();
  for (auto _ : state) {
    auto a = std::make_unique<joblib::ndarray<double>>(std::vector<std::size_t>{big_n},
                                                       std::span<const double>(source));
    benchmark::DoNotOptimize(a->data());
    state.PauseTiming();
    a.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(big_n * sizeof(double)));
}

// Copy: the task returns ndarray(shape, values) of the parent's data, as a user would write it.
// View: the task returns a view of the parent's data, so the task itself copies nothing and the
// time is the transport's (writing the shared-memory file, mapping it).
// Touch: the caller reads one double per page of the result (its mapping's page faults).
enum class body { copy, view };

// Shared: the default max_nbytes (1 MiB: the array goes through shared memory); otherwise
// max_nbytes is SIZE_MAX and the array goes through the socket inside the message.
template <body Body, bool Touch, bool Shared>
void result_processes(benchmark::State& state) {
  const std::size_t max_nbytes =
      Shared ? std::size_t{1} << 20 : std::numeric_limits<std::size_t>::max();
  const std::vector<double> source = big_source();
  for (auto _ : state) {
    auto task = [&source] {
      if constexpr (Body == body::copy) {
        return joblib::ndarray<double>({big_n}, std::span<const double>(source));
      } else {
        return joblib::ndarray<double>::view(
            std::span<double>(const_cast<double*>(source.data()), source.size()), {big_n}, nullptr);
      }
    };
    auto r = std::make_unique<std::vector<joblib::ndarray<double>>>(joblib::parallel(
        {.n_jobs = 1, .backend = joblib::backend::processes, .max_nbytes = max_nbytes})(
        std::views::iota(0, 1) | std::views::transform([&](int) { return task; })));
    if constexpr (Touch) {
      benchmark::DoNotOptimize(touch_pages((*r)[0].data(), (*r)[0].size()));
    }
    benchmark::DoNotOptimize((*r)[0].data());
    state.PauseTiming();
    r.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(big_n * sizeof(double)));
}

}  // namespace

#define JOBLIB_BENCH(...) BENCHMARK(__VA_ARGS__)->Unit(benchmark::kMillisecond)->UseRealTime()

JOBLIB_BENCH(ms_tasks<spin_1ms, joblib::backend::threads>)->Name("busy_1ms_threads");
JOBLIB_BENCH(ms_tasks<spin_1ms, joblib::backend::processes>)->Name("busy_1ms_processes");
JOBLIB_BENCH(ms_tasks<sleep_1ms, joblib::backend::threads>)->Name("sleep_1ms_threads");
JOBLIB_BENCH(ms_tasks<sleep_1ms, joblib::backend::processes>)->Name("sleep_1ms_processes");
JOBLIB_BENCH(tiny<joblib::backend::threads>)->Name("tiny_threads");
JOBLIB_BENCH(tiny<joblib::backend::processes>)->Name("tiny_processes");
JOBLIB_BENCH(empty_call<joblib::backend::threads, 2>)->Name("empty_call_threads");
JOBLIB_BENCH(empty_call<joblib::backend::processes, 2>)->Name("empty_call_processes");
JOBLIB_BENCH(empty_call<joblib::backend::processes, 1>)->Name("empty_call_processes_1job");
JOBLIB_BENCH(fork_cost<false, true>)->Name("empty_call_processes_4GiB")->Iterations(5);
JOBLIB_BENCH(fork_cost<true, false>)->Name("raw_forks");
JOBLIB_BENCH(fork_cost<true, true>)->Name("raw_forks_4GiB")->Iterations(5);
JOBLIB_BENCH(result_memcpy);
JOBLIB_BENCH(result_memcpy_reused);
JOBLIB_BENCH(result_task_body);
JOBLIB_BENCH(result_processes<body::copy, true, true>)->Name("result_processes_copy_touch");
JOBLIB_BENCH(result_processes<body::copy, false, true>)->Name("result_processes_copy");
JOBLIB_BENCH(result_processes<body::view, true, true>)->Name("result_processes_view_touch");
JOBLIB_BENCH(result_processes<body::copy, true, false>)->Name("result_socket_copy_touch");

BENCHMARK_MAIN();
