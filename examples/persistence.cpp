// Example 3, persistence (joblib.dump / joblib.load): a struct {arrays: [1000x1000 random],
// params: {alpha: 0.1}} dumped compressed and loaded back, then a large array loaded with
// mmap_mode::r (no copy, no read at load). Usage: persistence [--quick]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <joblib/persist.hpp>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

struct experiment {
  std::vector<joblib::ndarray<double>> arrays;
  std::map<std::string, double> params;
};

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const std::size_t side = quick ? 100 : 1000;
  const auto dir = std::filesystem::temp_directory_path() / "joblib_example_persistence";
  std::filesystem::create_directories(dir);

  experiment e{{joblib::ndarray<double>({side, side})}, {{"alpha", 0.1}}};
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> uniform;
  for (double& x : e.arrays[0].flat()) x = uniform(rng);

  joblib::dump(e, dir / "experiment.jl", {.compress = 3});
  const auto back = joblib::load<experiment>(dir / "experiment.jl");
  std::printf("dumped %zux%zu random array + params: %ju bytes; alpha = %.1f, equal = %s\n", side,
              side, static_cast<std::uintmax_t>(std::filesystem::file_size(dir / "experiment.jl")),
              back.params.at("alpha"), back.arrays[0] == e.arrays[0] ? "yes" : "no");
  std::printf("index: %s\n", joblib::inspect(dir / "experiment.jl")["type"].dump().c_str());

  const std::size_t n = quick ? 1'000'000 : 50'000'000;  // 400 MB in the real example
  joblib::ndarray<double> large({n});
  for (std::size_t i = 0; i < n; ++i) large.flat()[i] = static_cast<double>(i);
  joblib::dump(large, dir / "large.jl");
  const auto start = std::chrono::steady_clock::now();
  const auto mapped =
      joblib::load<joblib::ndarray<const double>>(dir / "large.jl", {.mmap = joblib::mmap_mode::r});
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  std::printf("mmap_mode::r load of %zu doubles: %.3f ms; mapped[n-1] = %.0f\n", mapped.size(),
              took.count(), mapped.flat()[n - 1]);
  std::filesystem::remove_all(dir);
  return back.arrays[0] == e.arrays[0] && mapped.flat()[n - 1] == static_cast<double>(n - 1) ? 0
                                                                                             : 1;
}
