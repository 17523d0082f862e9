// Example 9, troubleshooting: the "this should print only once" check of a cached function,
// a task that exceeds its timeout, and an exception thrown by a task, caught with its type.
// Usage: troubleshooting [--quick]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <joblib/memory.hpp>
#include <joblib/parallel.hpp>
#include <ranges>
#include <stdexcept>
#include <thread>

int main() {
  const auto dir = std::filesystem::temp_directory_path() / "joblib_example_troubleshooting";
  std::filesystem::remove_all(dir);
  joblib::memory mem{dir};
  int prints = 0;
  auto f = mem.cache("f", [&](int x) {
    std::puts("this should print only once");
    ++prints;
    return x;
  });
  f(1);
  f(1);
  std::printf("printed %d time(s): the second call was served from the cache\n", prints);

  auto slow = [](int i) {
    if (i == 3) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return i;
  };
  try {
    joblib::parallel({.n_jobs = 2, .timeout = std::chrono::milliseconds(50)})(
        std::views::iota(0, 8) | std::views::transform(joblib::delayed(slow)));
  } catch (const joblib::timeout_error& e) {
    std::printf("timeout_error: %s\n", e.what());
  }

  auto fragile = [](int i) {
    if (i == 5) throw std::out_of_range("item 5 is out of range");
    return i;
  };
  bool caught = false;
  try {
    joblib::parallel({.n_jobs = 2})(std::views::iota(0, 10) |
                                    std::views::transform(joblib::delayed(fragile)));
  } catch (const std::out_of_range& e) {  // the task's own exception type
    std::printf("std::out_of_range from a task: %s\n", e.what());
    caught = true;
  }
  std::filesystem::remove_all(dir);
  return prints == 1 && caught ? 0 : 1;
}
