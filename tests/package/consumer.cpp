// A consumer of the whole library, built by tests/package against an installed or fetched joblib.
// It runs the everyday programs of the README as a new user would write them.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <joblib/joblib.hpp>
#include <ranges>
#include <vector>

int main() {
  const auto dir = std::filesystem::temp_directory_path() / "joblib_consumer_check";
  std::filesystem::remove_all(dir);
  joblib::memory mem{dir / "cache"};
  auto twice = mem.cache("twice", [](int x) { return 2 * x; });
  auto r = joblib::parallel({.n_jobs = 2})(std::views::iota(0, 10) |
                                           std::views::transform(joblib::delayed(twice)));
  joblib::dump(r, dir / "r.jl", {.compress = 1});
  std::ranges::sort(r, std::greater<>());
  const auto back = joblib::load<std::vector<int>>(dir / "r.jl");
  std::printf("joblib %s: %d %s\n", joblib::version_string, back[9],
              joblib::hash(back).hex().c_str());

  joblib::ndarray<double> big({100});
  for (std::size_t i = 0; i < big.size(); ++i) big(i) = static_cast<double>(i);
  joblib::dump(big, dir / "big.jl");
  auto a = joblib::load<joblib::ndarray<const double>>(dir / "big.jl",
                                                        {.mmap = joblib::mmap_mode::r});
  const double x = a(7);
  std::filesystem::remove_all(dir);
  if (back[9] != 18 || r.front() != 18 || x != 7.0) return 1;
  std::puts("joblib consumer OK");
  return 0;
}
