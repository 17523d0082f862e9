#include "joblib/memory/detail/single_flight.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using joblib::detail::single_flight;

TEST_CASE("concurrent calls with one key compute once and all see the value") {
  single_flight<int, std::string> flights;
  std::atomic<int> computations{0};
  std::atomic<bool> release{false};
  std::atomic<int> arrived{0};
  std::vector<std::string> results(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      ++arrived;
      results[t] = flights.run(7, [&] {
        ++computations;
        while (!release.load()) std::this_thread::yield();
        return std::string("seven");
      });
    });
  }
  // Let the followers pile up behind the leader before it finishes.
  while (flights.in_flight() == 0 || arrived.load() < 8) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release = true;
  for (auto& thread : threads) thread.join();
  CHECK(computations.load() >= 1);
  CHECK(computations.load() < 8);
  for (const auto& r : results) CHECK(r == "seven");
  CHECK(flights.in_flight() == 0);
}

TEST_CASE("the leader's exception reaches every waiter, and the key can run again") {
  single_flight<int, int> flights;
  std::atomic<bool> release{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      try {
        flights.run(1, [&]() -> int {
          while (!release.load()) std::this_thread::yield();
          throw std::out_of_range("boom");
        });
      } catch (const std::out_of_range&) {
        ++failures;
      }
    });
  }
  while (flights.in_flight() == 0) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  release = true;
  for (auto& thread : threads) thread.join();
  CHECK(failures.load() == 4);
  CHECK(flights.run(1, [] { return 5; }) == 5);
}

TEST_CASE("different keys do not wait for each other") {
  single_flight<int, int> flights;
  std::atomic<bool> inner_done{false};
  // While key 1 is being computed, the computation itself runs key 2 through the same table.
  const int outer = flights.run(1, [&] {
    const int inner = flights.run(2, [] { return 20; });
    inner_done = true;
    return inner + 1;
  });
  CHECK(inner_done.load());
  CHECK(outer == 21);
}
