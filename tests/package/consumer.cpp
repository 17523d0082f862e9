// A consumer of the whole library, built by tests/package against an installed or fetched joblib.
#include <cstdio>
#include <filesystem>
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
  const auto back = joblib::load<std::vector<int>>(dir / "r.jl");
  std::printf("joblib %s: %d %s\n", joblib::version_string, back[9],
              joblib::hash(back).hex().c_str());
  std::filesystem::remove_all(dir);
  if (back[9] != 18) return 1;
  std::puts("joblib consumer OK");
  return 0;
}
