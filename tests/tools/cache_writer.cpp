// A process that keeps adding entries to a cache, for the test of `joblib cache prune` run
// meanwhile: cache_writer DIR MILLISECONDS. Every call stores a new entry (8 KiB) through a
// strict joblib::memory, so that any store that fails (a temporary file or folder removed
// under the writer by prune) throws; exits 0 when every result was right and every store
// succeeded, 1 otherwise. Prints the number of entries it stored.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "joblib/memory.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: cache_writer DIR MILLISECONDS\n");
    return 2;
  }
  try {
    const joblib::memory mem(argv[1], {.strict = true});
    auto f = mem.cache("writer", [](int i) { return std::vector<double>(1024, i); });
    const auto end =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(std::atoi(argv[2]));
    int i = 0;
    for (; std::chrono::steady_clock::now() < end; ++i) {
      if (f(i) != std::vector<double>(1024, i)) {
        std::fprintf(stderr, "cache_writer: wrong result for %d\n", i);
        return 1;
      }
    }
    const auto stats = mem.stats();
    if (stats.store_failures != 0 || stats.corrupt_entries != 0) {
      std::fprintf(stderr, "cache_writer: %llu store failures, %llu corrupt entries\n",
                   static_cast<unsigned long long>(stats.store_failures),
                   static_cast<unsigned long long>(stats.corrupt_entries));
      return 1;
    }
    std::printf("%d\n", i);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cache_writer: %s\n", e.what());
    return 1;
  }
}
