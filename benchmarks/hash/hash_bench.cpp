// joblib::hash throughput against raw XXH3-128 on the same buffer, in the same process.
//
//   cmake --preset release -B build/release && cmake --build build/release --target
//   joblib_bench_hash build/release/benchmarks/hash/joblib_bench_hash --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <joblib/hash.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

std::uint64_t raw_library_xxh3_128(const void* p, std::size_t n);

namespace {

constexpr std::size_t big_bytes = 400'000'000;

const std::vector<double>& big_vector() {
  static const std::vector<double> v = [] {
    std::vector<double> x(big_bytes / sizeof(double));
    std::uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (auto& d : x) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      d = static_cast<double>(s >> 11) * 0x1.0p-53;
    }
    return x;
  }();
  return v;
}

void raw_xxh3_128_library(benchmark::State& state) {
  const auto& v = big_vector();
  for (auto _ : state) benchmark::DoNotOptimize(raw_library_xxh3_128(v.data(), v.size() * 8));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * v.size() * 8));
}

void raw_xxh3_128_inline(benchmark::State& state) {
  const auto& v = big_vector();
  for (auto _ : state) benchmark::DoNotOptimize(XXH3_128bits(v.data(), v.size() * 8));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * v.size() * 8));
}

void joblib_hash_vector(benchmark::State& state) {
  const auto& v = big_vector();
  for (auto _ : state) benchmark::DoNotOptimize(joblib::hash(v));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * v.size() * 8));
}

void joblib_hash_ndarray(benchmark::State& state) {
  auto& v = const_cast<std::vector<double>&>(big_vector());
  // A view of the same buffer, shaped 10000 x 5000.
  const auto a = joblib::ndarray<double>::view(std::span<double>(v), {10'000, v.size() / 10'000});
  for (auto _ : state) benchmark::DoNotOptimize(joblib::hash(a));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * v.size() * 8));
}

void joblib_hash_small_args(benchmark::State& state) {
  const std::string s("abc");
  for (auto _ : state) benchmark::DoNotOptimize(joblib::hash(42, 3.14, s));
}

void joblib_hash_small_args_new_string(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(joblib::hash(42, 3.14, std::string("abc")));
}

}  // namespace

BENCHMARK(raw_xxh3_128_library)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(raw_xxh3_128_inline)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(joblib_hash_vector)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(joblib_hash_ndarray)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(joblib_hash_small_args);
BENCHMARK(joblib_hash_small_args_new_string);

BENCHMARK_MAIN();
