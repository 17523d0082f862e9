// Example 1, basic caching (joblib's "Memory" tutorial): an expensive function is computed
// once and then loaded; clear() of one function and of the whole memory; a size limit.
// Usage: basic_caching [--quick]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <joblib/memory.hpp>
#include <string_view>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const auto cost = quick ? std::chrono::milliseconds(50) : std::chrono::milliseconds(2000);
  const auto dir = std::filesystem::temp_directory_path() / "joblib_example_caching";
  std::filesystem::remove_all(dir);

  joblib::memory mem{dir, {.verbose = 1, .bytes_limit = 10 << 20}};
  std::printf("cache location: %s\n", mem.location().string().c_str());

  auto expensive = mem.cache("expensive", [cost](int a, int b) {
    std::this_thread::sleep_for(cost);  // stands for a long computation
    return std::vector<double>(1000, a * 1.0 + b);
  });
  for (int round = 1; round <= 2; ++round) {
    const auto start = std::chrono::steady_clock::now();
    const auto result = expensive(10, 20);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("call %d: result[0] = %.0f in %.3f s (%s)\n", round, result[0], took.count(),
                round == 1 ? "computed" : "loaded from the cache");
  }

  expensive.clear();  // forget this function's results
  std::printf("after expensive.clear(): in cache = %s\n",
              expensive.check_call_in_cache(10, 20) ? "yes" : "no");
  expensive(1, 2);
  mem.clear();  // forget everything
  const auto stats = mem.stats();
  std::printf("after mem.clear(): %ju entries on disk; %ju hits, %ju misses so far\n",
              static_cast<std::uintmax_t>(stats.entries_on_disk),
              static_cast<std::uintmax_t>(stats.hits), static_cast<std::uintmax_t>(stats.misses));

  // A size limit: only the most recently used results stay.
  auto big = mem.cache("big", [](int i) { return std::vector<double>(100'000, i); });
  for (int i = 0; i < 30; ++i) big(i);
  mem.reduce_size({.bytes_limit = 4 << 20});
  std::printf("after 30 results of 800 KB and reduce_size(4 MB): %ju entries, %ju bytes\n",
              static_cast<std::uintmax_t>(mem.stats().entries_on_disk),
              static_cast<std::uintmax_t>(mem.stats().bytes_on_disk));
  std::filesystem::remove_all(dir);
  return 0;
}
