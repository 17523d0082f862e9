// Example 2, basic parallel (joblib's "Parallel" tutorial): squares of 0..99, sequentially
// and with parallel({.n_jobs = 4}); the threads and sequential backends; batch_size and
// pre_dispatch. Usage: basic_parallel [--quick]
#include <chrono>
#include <cstdio>
#include <joblib/parallel.hpp>
#include <ranges>
#include <string_view>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const auto cost = std::chrono::microseconds(quick ? 100 : 10'000);
  auto square = [cost](int i) {
    std::this_thread::sleep_for(cost);  // stands for real work
    return i * i;
  };
  auto calls = std::views::iota(0, 100) | std::views::transform(joblib::delayed(square));

  auto timed = [&](const char* label, joblib::parallel_options options) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<int> result = joblib::parallel(std::move(options))(calls);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("%-40s %.3f s  squares[99] = %d\n", label, took.count(), result[99]);
  };
  std::vector<int> sequential;
  for (int i = 0; i < 100; ++i) sequential.push_back(square(i));
  std::printf("plain loop: squares[99] = %d\n", sequential[99]);
  timed("n_jobs=1 (in the caller)", {.n_jobs = 1});
  timed("n_jobs=4, backend threads", {.n_jobs = 4, .backend = joblib::backend::threads});
  timed("n_jobs=4, backend sequential", {.n_jobs = 4, .backend = joblib::backend::sequential});
  timed("n_jobs=4, batch_size=10", {.n_jobs = 4, .batch_size = 10});
  timed("n_jobs=-1 (all CPUs)", {.n_jobs = -1});

  int sum = 0;
  for (int x : joblib::parallel({.n_jobs = -1}).generator(calls)) {
    sum += x;  // results arrive in order while later tasks still run
  }
  std::printf("sum through a generator: %d\n", sum);
  return sum == 328350 ? 0 : 1;
}
