// Measures joblib::dump / joblib::load on 400 MB float64 arrays ("smooth" = cumsum of ones,
// "random" = uniform [0, 1)) and prints one JSON object; run_persist_bench.py runs it beside
// numpy and Python joblib and prints the comparison. Each figure is the median of --runs runs.
//
//   joblib_bench_persist [--dir DIR] [--runs N] [--mb 400]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "../support/median_seconds.hpp"
#include "joblib/ndarray.hpp"
#include "joblib/persist.hpp"

namespace fs = std::filesystem;

using bench::median_seconds;

int main(int argc, char** argv) {
  fs::path dir = fs::temp_directory_path() / "joblib_bench_persist";
  int runs = 5;
  std::size_t mb = 400;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--dir")
      dir = argv[i + 1];
    else if (a == "--runs")
      runs = std::atoi(argv[i + 1]);
    else if (a == "--mb")
      mb = static_cast<std::size_t>(std::atoll(argv[i + 1]));
  }
  fs::create_directories(dir);
  joblib::set_log_handler([](joblib::log_level, std::string_view) {});
  const std::size_t n = mb * 1000 * 1000 / 8;
  const double total_mb = static_cast<double>(n * 8) / 1e6;
  std::vector<double> smooth(n), random(n), bits(n);
  for (std::size_t i = 0; i < n; ++i) smooth[i] = static_cast<double>(i + 1);
  std::mt19937_64 rng(1);
  for (auto& x : random) x = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // uniform [0, 1)
  // Random 64-bit patterns: truly incompressible (uniform [0, 1) doubles are not: their
  // exponent bytes repeat, and shuffle + zstd save ~16 %).
  for (auto& x : bits) {
    const std::uint64_t r = rng();
    std::memcpy(&x, &r, sizeof x);
  }

  nlohmann::json out;
  out["mb"] = total_mb;
  out["runs"] = runs;
  const fs::path f = dir / "a.jl";
  auto mbps = [&](double s) { return total_mb / s; };

  for (const auto& [name, data] : {std::pair<const char*, std::vector<double>*>{"smooth", &smooth},
                                   {"random", &random},
                                   {"bits", &bits}}) {
    // Dumped as an ndarray view of the vector (no copy), loaded as an owning ndarray: the
    // closest match of numpy arrays.
    const auto v = joblib::ndarray<double>::view(std::span<double>(*data), {data->size()});
    using array = joblib::ndarray<double>;
    for (int level : {0, 1, 3}) {
      const std::string key = std::string(name) + "_" + std::to_string(level);
      const double d = median_seconds(runs, [&] { joblib::dump(v, f, {.compress = level}); });
      out["dump_" + key + "_MBps"] = mbps(d);
      out["dump_" + key + "_s"] = d;
      out["ratio_" + key] = total_mb * 1e6 / static_cast<double>(fs::file_size(f));
      const double l = median_seconds(runs, [&] {
        auto back = joblib::load<array>(f);
        if (back.size() != v.size()) std::abort();
      });
      out["load_" + key + "_MBps"] = mbps(l);

      if (level == 0) {
        const double m = median_seconds(runs * 4, [&] {
          auto view =
              joblib::load<joblib::ndarray<const double>>(f, {.mmap = joblib::mmap_mode::r});
          if (view.size() != v.size()) std::abort();
        });
        out["load_mmap_" + key + "_ms"] = m * 1e3;
        const double nv = median_seconds(runs, [&] {
          auto back = joblib::load<array>(f, {.verify = false});
          if (back.size() != v.size()) std::abort();
        });
        out["load_noverify_" + key + "_MBps"] = mbps(nv);
      }
      if (std::string(name) == "smooth" && level != 0) {
        for (std::size_t threads : {1u, 2u}) {
          const std::string tk = key + "_threads" + std::to_string(threads);
          const double dt = median_seconds(
              runs, [&] { joblib::dump(v, f, {.compress = level, .threads = threads}); });
          out["dump_" + tk + "_MBps"] = mbps(dt);
          const double lt = median_seconds(runs, [&] {
            auto back = joblib::load<array>(f, {.threads = threads});
            if (back.size() != v.size()) std::abort();
          });
          out["load_" + tk + "_MBps"] = mbps(lt);
        }
        const double nv = median_seconds(runs, [&] {
          auto back = joblib::load<array>(f, {.verify = false});
          if (back.size() != v.size()) std::abort();
        });
        out["load_noverify_" + key + "_MBps"] = mbps(nv);
      }
    }
    // Cost of the dump-side checksums: XXH3 over the whole array, single thread.
    const double c = median_seconds(runs, [&] {
      volatile auto h = joblib::detail::checksum64(std::as_bytes(v.flat()));
      (void)h;
    });
    out["xxh3_" + std::string(name) + "_ms"] = c * 1e3;
  }
  fs::remove(f);
  std::cout << out.dump(1) << "\n";
}
