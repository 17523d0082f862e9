// joblib::memory hit/miss latency. Python joblib.Memory on the same cases: memory_anchor.py.
// Run: build/release/benchmarks/memory/joblib_bench_memory  (see docs/BENCHMARKS.md)
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <joblib/memory.hpp>
#include <map>
#include <numeric>
#include <utility>
#include <string>

namespace {
namespace fs = std::filesystem;

fs::path fresh(const std::string& name) {
  const auto dir = fs::temp_directory_path() /
                   ("joblib_bench_memory_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

int add(int a, int b) { return a + b; }

void hit_small(benchmark::State& state) {
  const auto dir = fresh("hit");
  joblib::memory mem{dir};
  auto f = mem.cache("add", add);
  f(1, 2);
  for (auto _ : state) benchmark::DoNotOptimize(f(1, 2));
  fs::remove_all(dir);
}

void miss_store_small(benchmark::State& state) {
  const auto dir = fresh("miss");
  joblib::memory mem{dir};
  auto f = mem.cache("add", add);
  int i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(f(++i, 2));
  fs::remove_all(dir);
}

void hit_100MB_argument(benchmark::State& state) {
  const auto dir = fresh("big_arg");
  joblib::memory mem{dir};
  joblib::ndarray<double> big({100'000'000 / 8});
  std::iota(big.flat().begin(), big.flat().end(), 0.0);
  auto total = mem.cache("total", [](const joblib::ndarray<double>& x) {
    return std::accumulate(x.flat().begin(), x.flat().end(), 0.0);
  });
  total(big);
  for (auto _ : state) benchmark::DoNotOptimize(total(big));
  fs::remove_all(dir);
}

void hit_400MB_result_mmap(benchmark::State& state) {
  const auto dir = fresh("big_result");
  joblib::memory mem{dir, {.mmap = joblib::mmap_mode::r}};
  auto make = mem.cache("make", [](int n) {
    joblib::ndarray<double> a({static_cast<std::size_t>(n)});
    std::iota(a.flat().begin(), a.flat().end(), 0.0);
    return joblib::ndarray<const double>(std::move(a));  // mmap_mode::r results are read-only
  });
  make(50'000'000);
  for (auto _ : state) benchmark::DoNotOptimize(make(50'000'000).size());
  fs::remove_all(dir);
}

// A cache directory holding `entries` entries of add(i, 0) under one function, created once
// per process and size (a million take minutes) and shared by every run of the benchmark;
// removed at exit.
const fs::path& populated(int entries) {
  struct directories {
    std::map<int, fs::path> by_size;
    ~directories() {
      for (const auto& [n, dir] : by_size) fs::remove_all(dir);
    }
  };
  static directories dirs;
  auto [it, fresh_size] = dirs.by_size.try_emplace(entries);
  if (fresh_size) {
    it->second = fresh("many_" + std::to_string(entries));
    joblib::memory mem{it->second};
    auto f = mem.cache("add", add);
    for (int i = 0; i < entries; ++i) f(i, 0);
    // Measure a cache at rest: without this the kernel writes back gigabytes of new files
    // during the timed hits and takes the CPU from them.
    ::sync();
  }
  return it->second;
}

// Hit latency with `entries` entries stored under one function, visiting them in turn.
void hit_with_entries(benchmark::State& state) {
  const auto entries = static_cast<int>(state.range(0));
  joblib::memory mem{populated(entries)};
  auto f = mem.cache("add", add);
  int i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(f(i++ % entries, 0));
}
}  // namespace

BENCHMARK(hit_small)->Unit(benchmark::kMicrosecond);
BENCHMARK(miss_store_small)->Unit(benchmark::kMicrosecond);
BENCHMARK(hit_100MB_argument)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(hit_400MB_result_mmap)->Unit(benchmark::kMicrosecond)->UseRealTime();

// hit_with_entries runs for 1k and 100k entries, and for 1M when JOBLIB_BENCH_MILLION=1:
// creating a million entries takes a minute and ~5 GB of disk (one block per entry).
int main(int argc, char** argv) {
  auto* entries = benchmark::RegisterBenchmark("hit_with_entries", hit_with_entries);
  entries->Arg(1000)->Arg(100000)->Unit(benchmark::kMicrosecond);
  const char* million = std::getenv("JOBLIB_BENCH_MILLION");
  if (million != nullptr && std::string(million) == "1") entries->Arg(1000000);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
