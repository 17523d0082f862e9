// Example 6, nested parallelism: groups of items, an inner parallel per group inside an outer
// parallel. Inner calls run on the same pool: no oversubscription, no deadlock.
// Usage: nested_parallel [--quick]
#include <cstdio>
#include <joblib/parallel.hpp>
#include <mutex>
#include <numeric>
#include <ranges>
#include <set>
#include <string_view>
#include <thread>

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const int groups = quick ? 8 : 64;
  const int items = quick ? 100 : 10'000;
  std::mutex mutex;
  std::set<std::thread::id> threads;

  auto process_item = [&](int group, int item) {
    {
      std::lock_guard lock(mutex);
      threads.insert(std::this_thread::get_id());
    }
    return static_cast<long>(group) * item;
  };
  auto process_group = [&](int group) {
    auto inner = joblib::parallel({.n_jobs = -1})(
        std::views::iota(0, items) | std::views::transform([&](int item) {
          return joblib::delayed(process_item)(group, item);
        }));
    return std::accumulate(inner.begin(), inner.end(), 0L);
  };
  auto totals = joblib::parallel({.n_jobs = -1})(
      std::views::iota(0, groups) | std::views::transform(joblib::delayed(process_group)));
  const long total = std::accumulate(totals.begin(), totals.end(), 0L);
  std::printf("%d groups x %d items: total %ld\n", groups, items, total);
  std::printf("threads used: %zu (pool: %u workers + the caller; cpu_count() = %u)\n",
              threads.size(), joblib::thread_pool::global().size(), joblib::cpu_count());
  const long expected =
      static_cast<long>(groups) * (groups - 1) / 2 * (static_cast<long>(items) * (items - 1) / 2);
  return total == expected && threads.size() <= joblib::thread_pool::global().size() + 1 ? 0 : 1;
}
