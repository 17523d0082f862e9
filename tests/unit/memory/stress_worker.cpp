// One process of the multi-process cache stress tests: 4 threads call a cached function with
// overlapping keys over a shared cache directory and check every value they get. With a
// fourth argument `clear`, the process instead removes the cache over and over (mem.clear(),
// and every other round the whole cache folder, as `rm -rf` would) while the others work.
// usage: joblib_memory_stress_worker <cache dir> <seed> <rounds> [clear]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <joblib/memory.hpp>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "stress_worker.h"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) return 2;
  joblib::memory mem{argv[1], {.bytes_limit = stress::bytes_limit}};
  if (argc == 5) {
    for (int i = 0; i < std::atoi(argv[3]); ++i) {
      if (i % 2 == 0) {
        mem.clear();
      } else {
        std::error_code ignored;
        std::filesystem::remove_all(std::filesystem::path(argv[1]) / "joblib", ignored);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return 0;
  }
  auto f = mem.cache("stress", [](int k) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    return stress::expected(k);
  });
  const int seed = std::atoi(argv[2]);
  const int rounds = std::atoi(argv[3]);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      unsigned state = static_cast<unsigned>(seed * 31 + t);
      for (int i = 0; i < rounds; ++i) {
        state = state * 1103515245u + 12345u;
        const int k = static_cast<int>((state >> 8) % stress::keys);
        if (f(k) != stress::expected(k)) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (wrong.load() != 0) {
    std::fprintf(stderr, "worker %d: %d wrong values\n", seed, wrong.load());
    return 1;
  }
  return 0;
}
