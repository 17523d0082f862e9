// joblib::parallel and joblib::thread_pool next to oneTBB and OpenMP on the same work.
// Run: build/release/benchmarks/parallel/joblib_bench_parallel  (see docs/BENCHMARKS.md)
#include <benchmark/benchmark.h>
#include <omp.h>
#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_group.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <joblib/parallel.hpp>
#include <ranges>
#include <thread>
#include <vector>

namespace {

const int threads = static_cast<int>(joblib::cpu_count());

// ---- tiny tasks: x * x over 10M ints, results returned --------------------------------------
constexpr int tiny_n = 10'000'000;
int square(int x) { return x * x; }

void tiny_joblib(benchmark::State& state) {
  for (auto _ : state) {
    auto r = joblib::parallel({.n_jobs = -1})(std::views::iota(0, tiny_n) |
                                              std::views::transform(joblib::delayed(square)));
    benchmark::DoNotOptimize(r.data());
  }
  state.SetItemsProcessed(state.iterations() * tiny_n);
}
void tiny_tbb(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<int> out(tiny_n);
    tbb::parallel_for(tbb::blocked_range<int>(0, tiny_n), [&](const tbb::blocked_range<int>& r) {
      for (int i = r.begin(); i < r.end(); ++i) out[static_cast<std::size_t>(i)] = square(i);
    });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * tiny_n);
}
void tiny_omp(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<int> out(tiny_n);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < tiny_n; ++i) out[static_cast<std::size_t>(i)] = square(i);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * tiny_n);
}
void tiny_sequential(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<int> out(tiny_n);
    for (int i = 0; i < tiny_n; ++i) out[static_cast<std::size_t>(i)] = square(i);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * tiny_n);
}

// ---- busy work of a given cost ------------------------------------------------------------------
// `units` rounds of a dependent floating-point chain: ~1 ns each, never optimised away.
double burn(std::int64_t units) {
  double x = 1.0;
  for (std::int64_t i = 0; i < units; ++i) x = x * 1.0000001 + 1e-9;
  return x;
}
std::int64_t units_per_10us() {
  static const std::int64_t units = [] {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(burn(1'000'000));
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    return static_cast<std::int64_t>(1'000'000 * 10'000.0 / ns);
  }();
  return units;
}

// ---- medium tasks: 20k tasks of ~10 us -------------------------------------------------------
constexpr int medium_n = 20'000;
void medium_sequential(benchmark::State& state) {
  const auto units = units_per_10us();
  for (auto _ : state) {
    double sum = 0;
    for (int i = 0; i < medium_n; ++i) sum += burn(units);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * medium_n);
}
void medium_joblib(benchmark::State& state) {
  const auto units = units_per_10us();
  for (auto _ : state) {
    auto r = joblib::parallel({.n_jobs = -1})(
        std::views::iota(0, medium_n) |
        std::views::transform(joblib::delayed([units](int) { return burn(units); })));
    benchmark::DoNotOptimize(r.data());
  }
  state.SetItemsProcessed(state.iterations() * medium_n);
}
void medium_tbb(benchmark::State& state) {
  const auto units = units_per_10us();
  for (auto _ : state) {
    std::vector<double> out(medium_n);
    tbb::parallel_for(0, medium_n, [&](int i) { out[static_cast<std::size_t>(i)] = burn(units); });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * medium_n);
}

// ---- imbalanced: cost grows linearly / exponentially with the index --------------------------
constexpr int imbalanced_n = 2'000;
std::int64_t linear_cost(int i) { return units_per_10us() * i / 100; }  // 0 .. 200 us
std::int64_t exponential_cost(int i) {
  return static_cast<std::int64_t>(static_cast<double>(units_per_10us()) / 10 *
                                   std::exp(static_cast<double>(i) / imbalanced_n * 9.0));
}
template <std::int64_t (*Cost)(int)>
void imbalanced_joblib(benchmark::State& state) {
  for (auto _ : state) {
    auto r = joblib::parallel({.n_jobs = -1})(
        std::views::iota(0, imbalanced_n) |
        std::views::transform(joblib::delayed([](int i) { return burn(Cost(i)); })));
    benchmark::DoNotOptimize(r.data());
  }
}
template <std::int64_t (*Cost)(int)>
void imbalanced_tbb(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<double> out(imbalanced_n);
    tbb::parallel_for(0, imbalanced_n,
                      [&](int i) { out[static_cast<std::size_t>(i)] = burn(Cost(i)); });
    benchmark::DoNotOptimize(out.data());
  }
}
template <std::int64_t (*Cost)(int)>
void imbalanced_sequential(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<double> out(imbalanced_n);
    for (int i = 0; i < imbalanced_n; ++i) out[static_cast<std::size_t>(i)] = burn(Cost(i));
    benchmark::DoNotOptimize(out.data());
  }
}

// ---- tiny tasks returning long into a fresh vector: 10M, both sides allocate the result -------
long tiny_long(int x) { return static_cast<long>(x) * 3 + 1; }
void tiny_long_joblib(benchmark::State& state) {
  for (auto _ : state) {
    auto r = joblib::parallel({.n_jobs = -1})(std::views::iota(0, tiny_n) |
                                              std::views::transform(joblib::delayed(tiny_long)));
    benchmark::DoNotOptimize(r.data());
  }
  state.SetItemsProcessed(state.iterations() * tiny_n);
}
void tiny_long_tbb(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<long> out(tiny_n);
    tbb::parallel_for(tbb::blocked_range<int>(0, tiny_n), [&](const tbb::blocked_range<int>& r) {
      for (int i = r.begin(); i < r.end(); ++i) out[static_cast<std::size_t>(i)] = tiny_long(i);
    });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * tiny_n);
}

// ---- an ordinary inlined body: 20k tasks of a 2,000-step sqrt chain (~13 us) ------------------
// Unlike burn() (a separate function), the compiler inlines this body into each scheduler's
// loop: what users write, and where a scheduler's loop can cost the body its registers.
constexpr int inlined_n = 20'000;
inline double sqrt_chain(int k, int steps) {
  double x = k;
  for (int s = 0; s < steps; ++s) x = std::sqrt(x + k);
  return x;
}
void inlined_sequential(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<double> out(inlined_n);
    for (int i = 0; i < inlined_n; ++i) out[static_cast<std::size_t>(i)] = sqrt_chain(i, 2000);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * inlined_n);
}
void inlined_joblib(benchmark::State& state) {
  for (auto _ : state) {
    auto r = joblib::parallel({.n_jobs = -1})(
        std::views::iota(0, inlined_n) |
        std::views::transform(joblib::delayed([](int k) { return sqrt_chain(k, 2000); })));
    benchmark::DoNotOptimize(r.data());
  }
  state.SetItemsProcessed(state.iterations() * inlined_n);
}
void inlined_tbb(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<double> out(inlined_n);
    tbb::parallel_for(0, inlined_n,
                      [&](int i) { out[static_cast<std::size_t>(i)] = sqrt_chain(i, 2000); });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * inlined_n);
}

// ---- imbalanced, inlined: work(i, i * 5) over 4,000 tasks (0 .. 20,000 sqrt steps) -----------
constexpr int skewed_n = 4'000;
void skewed_sequential(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<double> out(skewed_n);
    for (int i = 0; i < skewed_n; ++i) out[static_cast<std::size_t>(i)] = sqrt_chain(i, i * 5);
    benchmark::DoNotOptimize(out.data());
  }
}
void skewed_joblib(benchmark::State& state) {
  for (auto _ : state) {
    auto r = joblib::parallel({.n_jobs = -1})(
        std::views::iota(0, skewed_n) |
        std::views::transform(joblib::delayed([](int i) { return sqrt_chain(i, i * 5); })));
    benchmark::DoNotOptimize(r.data());
  }
}
void skewed_tbb(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<double> out(skewed_n);
    tbb::parallel_for(0, skewed_n,
                      [&](int i) { out[static_cast<std::size_t>(i)] = sqrt_chain(i, i * 5); });
    benchmark::DoNotOptimize(out.data());
  }
}

// ---- generators: 20 tasks of 50 ms (sleeps) on n_jobs = 2, as a list and as generators ---------
constexpr int sleepy_n = 20;
int sleepy(int i) {
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return i;
}
auto sleepy_calls() {
  return std::views::iota(0, sleepy_n) | std::views::transform(joblib::delayed(sleepy));
}
void sleepy_list(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(joblib::parallel({.n_jobs = 2})(sleepy_calls()));
}
void sleepy_generator(benchmark::State& state) {
  for (auto _ : state) {
    long sum = 0;
    for (int x : joblib::parallel({.n_jobs = 2}).generator(sleepy_calls())) sum += x;
    benchmark::DoNotOptimize(sum);
  }
}
void sleepy_generator_unordered(benchmark::State& state) {
  for (auto _ : state) {
    long sum = 0;
    for (int x : joblib::parallel({.n_jobs = 2}).generator_unordered(sleepy_calls())) sum += x;
    benchmark::DoNotOptimize(sum);
  }
}

// ---- flat submission of 1M tiny tasks ----------------------------------------------------------
constexpr int flat_n = 1'000'000;
void flat_joblib_pool(benchmark::State& state) {
  auto& pool = joblib::thread_pool::global();
  std::atomic<long> sum{0};
  for (auto _ : state) {
    for (int i = 0; i < flat_n; ++i)
      pool.run([&sum, i] { sum.fetch_add(i, std::memory_order_relaxed); });
    pool.wait();
  }
  state.SetItemsProcessed(state.iterations() * flat_n);
}
void flat_joblib_task_group(benchmark::State& state) {
  std::atomic<long> sum{0};
  for (auto _ : state) {
    joblib::task_group group;
    for (int i = 0; i < flat_n; ++i)
      group.run([&sum, i] { sum.fetch_add(i, std::memory_order_relaxed); });
    group.wait();
  }
  state.SetItemsProcessed(state.iterations() * flat_n);
}
void flat_tbb_task_group(benchmark::State& state) {
  std::atomic<long> sum{0};
  for (auto _ : state) {
    tbb::task_group group;
    for (int i = 0; i < flat_n; ++i)
      group.run([&sum, i] { sum.fetch_add(i, std::memory_order_relaxed); });
    group.wait();
  }
  state.SetItemsProcessed(state.iterations() * flat_n);
}

// ---- nested: fib(30) with a spawn at every level ------------------------------------------------
constexpr int fib_n = 30;
long fib_sequential(int n) { return n < 2 ? n : fib_sequential(n - 1) + fib_sequential(n - 2); }
long fib_joblib_parallel(int n) {
  if (n < 2) return n;
  auto parts = joblib::parallel({.n_jobs = 2})(
      std::views::iota(1, 3) |
      std::views::transform(joblib::delayed([n](int k) { return fib_joblib_parallel(n - k); })));
  return parts[0] + parts[1];
}
long fib_joblib_task_group(int n) {
  if (n < 2) return n;
  long a = 0;
  joblib::task_group group;
  group.run([&] { a = fib_joblib_task_group(n - 1); });
  const long b = fib_joblib_task_group(n - 2);
  group.wait();
  return a + b;
}
long fib_tbb(int n) {
  if (n < 2) return n;
  long a = 0;
  tbb::task_group group;
  group.run([&] { a = fib_tbb(n - 1); });
  const long b = fib_tbb(n - 2);
  group.wait();
  return a + b;
}
// Spawns in fib(n): one per internal node = fib(n+1) - 1.
const double fib_spawns = static_cast<double>(fib_sequential(fib_n + 1) - 1);
void nested_fib_joblib_parallel(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(fib_joblib_parallel(fib_n));
  state.counters["ns_per_spawn"] =
      benchmark::Counter(fib_spawns * 1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
void nested_fib_joblib_task_group(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(fib_joblib_task_group(fib_n));
  state.counters["ns_per_spawn"] =
      benchmark::Counter(fib_spawns * 1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
void nested_fib_tbb(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(fib_tbb(fib_n));
  state.counters["ns_per_spawn"] =
      benchmark::Counter(fib_spawns * 1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// ---- task-size sweep: the same total work (~20 ms) cut into tasks of 10 ns .. 1 ms --------------
// state.range(0) is the task size in ns; report.py plots speedup over sequential against it.
constexpr std::int64_t sweep_total_ns = 20'000'000;
struct sweep_shape {
  int tasks;
  std::int64_t units;
};
sweep_shape sweep_shape_of(const benchmark::State& state) {
  const std::int64_t task_ns = state.range(0);
  return {static_cast<int>(sweep_total_ns / task_ns), units_per_10us() * task_ns / 10'000};
}
void sweep_sequential(benchmark::State& state) {
  const auto [tasks, units] = sweep_shape_of(state);
  for (auto _ : state) {
    std::vector<double> out(static_cast<std::size_t>(tasks));
    for (int i = 0; i < tasks; ++i) out[static_cast<std::size_t>(i)] = burn(units);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * tasks);
}
void sweep_joblib(benchmark::State& state) {
  const auto [tasks, units] = sweep_shape_of(state);
  for (auto _ : state) {
    auto r = joblib::parallel({.n_jobs = -1})(
        std::views::iota(0, tasks) |
        std::views::transform(joblib::delayed([units](int) { return burn(units); })));
    benchmark::DoNotOptimize(r.data());
  }
  state.SetItemsProcessed(state.iterations() * tasks);
}
void sweep_tbb(benchmark::State& state) {
  const auto [tasks, units] = sweep_shape_of(state);
  for (auto _ : state) {
    std::vector<double> out(static_cast<std::size_t>(tasks));
    tbb::parallel_for(0, tasks, [&](int i) { out[static_cast<std::size_t>(i)] = burn(units); });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * tasks);
}
void sweep_omp(benchmark::State& state) {
  const auto [tasks, units] = sweep_shape_of(state);
  for (auto _ : state) {
    std::vector<double> out(static_cast<std::size_t>(tasks));
#pragma omp parallel for schedule(static)
    for (int i = 0; i < tasks; ++i) out[static_cast<std::size_t>(i)] = burn(units);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * tasks);
}

}  // namespace

BENCHMARK(tiny_sequential)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(tiny_joblib)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(tiny_tbb)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(tiny_omp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(medium_sequential)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(medium_joblib)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(medium_tbb)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(imbalanced_sequential<linear_cost>)
    ->Name("imbalanced_linear_sequential")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(imbalanced_joblib<linear_cost>)
    ->Name("imbalanced_linear_joblib")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(imbalanced_tbb<linear_cost>)
    ->Name("imbalanced_linear_tbb")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(imbalanced_sequential<exponential_cost>)
    ->Name("imbalanced_exponential_sequential")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(imbalanced_joblib<exponential_cost>)
    ->Name("imbalanced_exponential_joblib")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(imbalanced_tbb<exponential_cost>)
    ->Name("imbalanced_exponential_tbb")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(tiny_long_joblib)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(tiny_long_tbb)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(inlined_sequential)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(inlined_joblib)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(inlined_tbb)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(skewed_sequential)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(skewed_joblib)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(skewed_tbb)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(sleepy_list)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(sleepy_generator)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(sleepy_generator_unordered)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(flat_joblib_pool)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(flat_joblib_task_group)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(flat_tbb_task_group)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(nested_fib_joblib_parallel)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(nested_fib_joblib_task_group)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(nested_fib_tbb)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(sweep_sequential)
    ->RangeMultiplier(10)
    ->Range(10, 1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(sweep_joblib)
    ->RangeMultiplier(10)
    ->Range(10, 1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(sweep_tbb)
    ->RangeMultiplier(10)
    ->Range(10, 1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(sweep_omp)
    ->RangeMultiplier(10)
    ->Range(10, 1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
