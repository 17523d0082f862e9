// Example: crash isolation with backend::processes. A parameter sweep where a few parameters
// make the "solver" segfault, abort or hang: on threads any of them would take the whole
// program down (or hang it); on worker processes each costs its own task, the workers are
// replaced and the sweep finishes. collect() returns one outcome per task, so the report lists
// every failure instead of stopping at the first. Usage: crash_isolation [--quick]
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <joblib/parallel.hpp>
#include <ranges>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

namespace {

// Stands for a numerical code with bugs it does not know about.
double solve(int parameter) {
  if (parameter == 13) std::raise(SIGSEGV);  // a wild pointer
  if (parameter == 42) std::abort();         // a failed assert
  if (parameter == 77) {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));  // never converges
  }
  if (parameter == 90) throw std::domain_error("negative pressure");
  return parameter * 0.5;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const int n = quick ? 100 : 1000;
  const auto grid = std::views::iota(0, n) | std::views::transform(joblib::delayed(solve));

  const auto outcomes = joblib::parallel({.n_jobs = 2,
                                          .backend = joblib::backend::processes,
                                          .timeout = std::chrono::seconds(quick ? 1 : 5)})
                            .collect(grid);

  double sum = 0;
  int failed = 0;
  for (const auto& o : outcomes) {
    if (o.ok()) {
      sum += o.value();
      continue;
    }
    ++failed;
    const joblib::task_failure& f = o.failure();
    std::printf("parameter %zu failed: %s\n", f.index, f.what.c_str());
  }
  std::printf("%d of %d parameters solved, sum %.1f; %d failed\n", n - failed, n, sum, failed);

  // Without collect() the first failure is thrown, naming its task.
  try {
    joblib::parallel({.n_jobs = 2, .backend = joblib::backend::processes})(
        std::views::iota(10, 20) | std::views::transform(joblib::delayed(solve)));
  } catch (const joblib::worker_crashed_error& e) {
    std::printf("caught: %s\n", e.what());
  }
  // Four failures (13, 42, 77, 90) and the right sum of the rest: anything else is a bug.
  const double expected = (n * (n - 1) / 2 - 13 - 42 - 77 - 90) * 0.5;
  return failed == 4 && sum == expected ? EXIT_SUCCESS : EXIT_FAILURE;
}
