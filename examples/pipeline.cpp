// Example 8, a real-world pipeline: several data files are loaded and standardised in
// parallel (cached: a rerun skips them), then a PCA-like analysis runs in parallel
// (covariance matrix by rows, then power iteration for the leading component), and the
// results are dumped. Usage: pipeline [--quick]
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <joblib/joblib.hpp>
#include <numeric>
#include <random>
#include <ranges>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const std::size_t files = 4, rows = quick ? 500 : 50'000, cols = 16;
  const auto dir = fs::temp_directory_path() / "joblib_example_pipeline";
  fs::remove_all(dir);
  fs::create_directories(dir);

  // The input: files of rows x cols samples whose first two columns are correlated.
  for (std::size_t f = 0; f < files; ++f) {
    std::mt19937_64 rng(f);
    std::normal_distribution<double> normal;
    joblib::ndarray<double> data({rows, cols});
    for (std::size_t r = 0; r < rows; ++r) {
      const double common = normal(rng);
      for (std::size_t c = 0; c < cols; ++c) data(r, c) = (c < 2 ? 3 * common : 0) + normal(rng);
    }
    joblib::dump(data, dir / ("part" + std::to_string(f) + ".jl"), {.compress = 1});
  }

  joblib::memory mem{dir / "cache"};
  // Stage 1, cached: load one file and standardise its columns.
  auto preprocess = mem.cache("preprocess", [](const std::string& path) {
    auto data = joblib::load<joblib::ndarray<double>>(path);
    const std::size_t n = data.shape()[0];
    for (std::size_t c = 0; c < cols; ++c) {
      double mean = 0, var = 0;
      for (std::size_t r = 0; r < n; ++r) mean += data(r, c);
      mean /= static_cast<double>(n);
      for (std::size_t r = 0; r < n; ++r) var += (data(r, c) - mean) * (data(r, c) - mean);
      const double sd = std::sqrt(var / static_cast<double>(n));
      for (std::size_t r = 0; r < n; ++r) data(r, c) = (data(r, c) - mean) / sd;
    }
    return data;
  });
  std::vector<std::string> paths;
  for (std::size_t f = 0; f < files; ++f)
    paths.push_back((dir / ("part" + std::to_string(f) + ".jl")).string());
  auto parts =
      joblib::parallel({.n_jobs = -1})(paths | std::views::transform(joblib::delayed(preprocess)));

  // Stage 2, parallel over rows of the covariance matrix.
  auto covariance_row = [&](std::size_t i) {
    std::vector<double> row(cols, 0.0);
    std::size_t n = 0;
    for (const auto& part : parts) {
      for (std::size_t r = 0; r < part.shape()[0]; ++r) {
        for (std::size_t j = 0; j < cols; ++j) row[j] += part(r, i) * part(r, j);
      }
      n += part.shape()[0];
    }
    for (double& x : row) x /= static_cast<double>(n);
    return row;
  };
  auto cov =
      joblib::parallel({.n_jobs = -1})(std::views::iota(std::size_t{0}, cols) |
                                       std::views::transform(joblib::delayed(covariance_row)));

  // Power iteration for the leading eigenvector.
  std::vector<double> v(cols, 1.0);
  double eigenvalue = 0;
  for (int it = 0; it < 100; ++it) {
    std::vector<double> w(cols, 0.0);
    for (std::size_t i = 0; i < cols; ++i)
      for (std::size_t j = 0; j < cols; ++j) w[i] += cov[i][j] * v[j];
    eigenvalue = std::sqrt(std::inner_product(w.begin(), w.end(), w.begin(), 0.0));
    for (std::size_t i = 0; i < cols; ++i) v[i] = w[i] / eigenvalue;
  }
  std::printf("leading component: eigenvalue %.3f, loadings %.3f %.3f %.3f ...\n", eigenvalue, v[0],
              v[1], v[2]);
  struct result {
    std::vector<double> component;
    double eigenvalue;
  };
  joblib::dump(result{v, eigenvalue}, dir / "pca.jl");
  std::printf("results dumped to %s (%s)\n", (dir / "pca.jl").string().c_str(),
              joblib::inspect(dir / "pca.jl")["type"].get<std::string>().c_str());

  // A rerun of stage 1 is served from the cache.
  joblib::parallel({.n_jobs = -1})(paths | std::views::transform(joblib::delayed(preprocess)));
  std::printf("rerun of stage 1: %ju cache hits of %zu files\n",
              static_cast<std::uintmax_t>(mem.stats().hits), files);
  const bool ok = eigenvalue > 1.5 && std::abs(std::abs(v[0]) - std::abs(v[1])) < 0.05 &&
                  mem.stats().hits == files;
  fs::remove_all(dir);
  return ok ? 0 : 1;
}
