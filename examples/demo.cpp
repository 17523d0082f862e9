// The README's demo: a short tour of joblib-cpp's three pillars. Run it with
// `bash scripts/demo.sh` (add --quick for the short version the tests run).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <joblib/joblib.hpp>
#include <numeric>
#include <ranges>
#include <string_view>
#include <thread>
#include <vector>

namespace {
using seconds = std::chrono::duration<double>;

double time_it(auto&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return seconds(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const auto pause = std::chrono::milliseconds(quick ? 20 : 1000);
  std::printf("joblib-cpp %s demo\n\n", joblib::version_string);
  const auto dir = std::filesystem::temp_directory_path() / "joblib_demo";
  std::filesystem::remove_all(dir);

  // 1. Memory: an expensive function computed once, then loaded from disk.
  joblib::memory mem{dir / "cache"};
  auto expensive = mem.cache("expensive", [pause](int a, int b) {
    std::this_thread::sleep_for(pause);
    return std::vector<double>(1000, a * 1.0 + b);
  });
  const double first = time_it([&] { expensive(10, 20); });
  const double second = time_it([&] { expensive(10, 20); });
  std::printf("[memory]   first call %.3f s (computed), second call %.6f s (from %s)\n", first,
              second, mem.location().string().c_str());

  // 2. Parallel: joblib.Parallel(n_jobs=-1)(delayed(f)(i) for i in range(n)).
  const int n = 16;
  auto slow_square = [pause](int i) {
    std::this_thread::sleep_for(pause / 4);
    return i * i;
  };
  std::vector<int> squares;
  const double sequential = time_it([&] {
    squares = joblib::parallel({.n_jobs = 1})(std::views::iota(0, n) |
                                              std::views::transform(joblib::delayed(slow_square)));
  });
  const double parallel = time_it([&] {
    squares = joblib::parallel({.n_jobs = -1})(std::views::iota(0, n) |
                                               std::views::transform(joblib::delayed(slow_square)));
  });
  std::printf("[parallel] %d tasks: n_jobs=1 %.3f s, n_jobs=-1 (%u CPUs) %.3f s, sum %d\n", n,
              sequential, joblib::cpu_count(), parallel,
              std::accumulate(squares.begin(), squares.end(), 0));

  // 3. Persistence: dump and load a struct of arrays, then memory-map a big array.
  struct model {
    std::vector<joblib::ndarray<double>> arrays;
    std::map<std::string, double> params;
  };
  model m{{joblib::ndarray<double>({100, 100})}, {{"alpha", 0.1}}};
  std::iota(m.arrays[0].flat().begin(), m.arrays[0].flat().end(), 0.0);
  joblib::dump(m, dir / "model.jl", {.compress = 3});
  const auto back = joblib::load<model>(dir / "model.jl");
  std::printf("[persist]  model.jl: %ju bytes, alpha=%.1f, arrays[0](99, 99)=%.0f\n",
              static_cast<std::uintmax_t>(std::filesystem::file_size(dir / "model.jl")),
              back.params.at("alpha"), back.arrays[0](99, 99));

  joblib::ndarray<double> big({quick ? 1000u : 10'000'000u});
  std::iota(big.flat().begin(), big.flat().end(), 0.0);
  joblib::dump(big, dir / "big.jl");
  joblib::ndarray<const double> view;  // mmap_mode::r data is read-only, in the type
  const double map_time = time_it([&] {
    view =
        joblib::load<joblib::ndarray<const double>>(dir / "big.jl", {.mmap = joblib::mmap_mode::r});
  });
  std::printf("[persist]  big.jl (%zu doubles) memory-mapped in %.6f s, last = %.0f\n", view.size(),
              map_time, view(view.size() - 1));

  // 4. All together: a parameter sweep, cached, in parallel; the second run is all hits.
  auto simulate = mem.cache("simulate", [](double p, int seed) { return p * 100 + seed; });
  auto sweep = [&] {
    return joblib::parallel({.n_jobs = -1})(
        std::views::iota(0, 20) | std::views::transform([&](int i) {
          return joblib::delayed(simulate)(0.1 * (i % 4), i / 4);
        }));
  };
  sweep();
  const auto hits_before = mem.stats().hits;
  sweep();
  std::printf("[together] second sweep: %ju of 20 results loaded from the cache\n",
              static_cast<std::uintmax_t>(mem.stats().hits - hits_before));
  std::filesystem::remove_all(dir);
  return 0;
}
