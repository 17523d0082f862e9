// A consumer of the parallel pillar alone, linked against joblib::parallel (Threads only).
#include <cstdio>
#include <joblib/parallel.hpp>
#include <ranges>

int main() {
  auto r = joblib::parallel({.n_jobs = -1})(
      std::views::iota(0, 100) |
      std::views::transform(joblib::delayed([](int i) { return i * i; })));
  std::printf("joblib %s (parallel component): %d\n", joblib::version_string, r[99]);
  if (r[99] != 9801) return 1;
  std::puts("joblib consumer OK");
  return 0;
}
