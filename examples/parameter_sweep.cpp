// Example 4, a parameter sweep with caching: simulate(p1, p2, seed) over a 3 x 3 x 10 grid
// through parallel(n_jobs=-1) with a cached function; the second run is all cache hits.
// Usage: parameter_sweep [--quick]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <joblib/memory.hpp>
#include <joblib/parallel.hpp>
#include <random>
#include <ranges>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const auto dir = std::filesystem::temp_directory_path() / "joblib_example_sweep";
  std::filesystem::remove_all(dir);
  joblib::memory mem{dir};

  // A toy simulation: the mean of a noisy damped oscillation.
  auto simulate = mem.cache("simulate", [quick](double p1, double p2, int seed) {
    std::mt19937 rng(static_cast<unsigned>(seed));
    std::normal_distribution<double> noise(0.0, 0.1);
    double sum = 0;
    for (int t = 0; t < 10'000; ++t)
      sum += std::exp(-p1 * t * 1e-3) * std::cos(p2 * t * 1e-2) + noise(rng);
    if (!quick) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return sum / 10'000;
  });

  std::vector<std::tuple<double, double, int>> grid;
  for (double p1 : {0.1, 0.5, 1.0})
    for (double p2 : {1.0, 2.0, 3.0})
      for (int seed = 0; seed < 10; ++seed) grid.emplace_back(p1, p2, seed);

  auto run = [&] {
    const auto start = std::chrono::steady_clock::now();
    auto results = joblib::parallel({.n_jobs = -1})(
        grid | std::views::transform([&](const auto& g) {
          return joblib::delayed(simulate)(std::get<0>(g), std::get<1>(g), std::get<2>(g));
        }));
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    return std::pair{std::move(results), took.count()};
  };
  const auto [first, first_time] = run();
  const auto hits_before = mem.stats().hits;
  const auto [second, second_time] = run();
  const auto hits = mem.stats().hits - hits_before;
  std::printf("%zu simulations: first run %.3f s, second run %.3f s with %ju cache hits\n",
              grid.size(), first_time, second_time, static_cast<std::uintmax_t>(hits));
  std::filesystem::remove_all(dir);
  return first == second && hits == grid.size() ? 0 : 1;
}
