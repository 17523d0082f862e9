// Example 7, progress monitoring: joblib's verbose=10 lines on stderr, a progress bar (when
// stderr is a terminal) and an on_progress callback. Usage: progress_monitoring [--quick]
#include <chrono>
#include <cstdio>
#include <joblib/parallel.hpp>
#include <ranges>
#include <string_view>
#include <thread>

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const auto cost = std::chrono::milliseconds(quick ? 1 : 20);
  auto work = [cost](int i) {
    std::this_thread::sleep_for(cost);
    return i;
  };
  auto calls = std::views::iota(0, 100) | std::views::transform(joblib::delayed(work));

  std::puts("verbose = 10 (joblib's format, on stderr):");
  joblib::parallel({.n_jobs = 2, .verbose = 10})(calls);

  std::puts("progress bar (drawn only when stderr is a terminal):");
  joblib::parallel({.n_jobs = 2, .progress = true})(calls);

  std::size_t last = 0;
  joblib::parallel({.n_jobs = 2, .on_progress = [&](const joblib::progress_info& p) {
                      if (p.completed >= last + 25 || (p.total && p.completed == *p.total)) {
                        std::printf("on_progress: %zu done after %.2f s\n", p.completed,
                                    p.elapsed.count());
                        last = p.completed;
                      }
                    }})(calls);
  return last == 100 ? 0 : 1;
}
