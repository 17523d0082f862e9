// Value-stream write and read of std::vector<struct{double, int, std::string}>, 1M elements.
// Throughput is bytes of value stream per second.
//
//   build/release/benchmarks/serialize/joblib_bench_serialize
#include <benchmark/benchmark.h>

#include <joblib/serialize.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

struct item {
  double value{};
  int count{};
  std::string name;
};

const std::vector<item>& items() {
  static const std::vector<item> v = [] {
    std::vector<item> x(1'000'000);
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = item{static_cast<double>(i) * 0.5, static_cast<int>(i), "item-" + std::to_string(i)};
    }
    return x;
  }();
  return v;
}

void write_value_stream(benchmark::State& state) {
  const auto& v = items();
  std::vector<std::byte> out;
  for (auto _ : state) {
    out.clear();
    joblib::detail::write_value(v, out, nullptr);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
  state.counters["stream_MB"] = static_cast<double>(out.size()) / 1e6;
}

void write_value_stream_fresh_buffer(benchmark::State& state) {
  const auto& v = items();
  std::size_t n = 0;
  for (auto _ : state) {
    std::vector<std::byte> out;
    joblib::detail::write_value(v, out, nullptr);
    n = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void read_value_stream(benchmark::State& state) {
  std::vector<std::byte> bytes;
  joblib::detail::write_value(items(), bytes, nullptr);
  std::vector<item> back;
  for (auto _ : state) {
    joblib::detail::read_value(back, std::span<const std::byte>(bytes), nullptr);
    benchmark::DoNotOptimize(back.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

void read_value_stream_fresh_vector(benchmark::State& state) {
  std::vector<std::byte> bytes;
  joblib::detail::write_value(items(), bytes, nullptr);
  for (auto _ : state) {
    std::vector<item> back;
    joblib::detail::read_value(back, std::span<const std::byte>(bytes), nullptr);
    benchmark::DoNotOptimize(back.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

}  // namespace

BENCHMARK(write_value_stream)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(write_value_stream_fresh_buffer)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(read_value_stream)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(read_value_stream_fresh_vector)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
