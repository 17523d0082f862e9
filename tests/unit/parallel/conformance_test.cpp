// Behaviours of Python joblib's Parallel that users rely on (joblib's test_parallel), checked
// through structure rather than timing: rendezvous between tasks prove concurrency, logs of
// production and consumption prove laziness.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <iterator>
#include <mutex>
#include <optional>
#include <ranges>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "joblib/parallel.hpp"

using joblib::delayed;
using joblib::parallel;

namespace {

using namespace std::chrono_literals;

/// Waits until `ready()` or until `limit` passed; true when ready() held.
template <class Ready>
bool wait_for(Ready ready, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

/// A lazy producer of deferred calls, like a Python generator: begin() and ++ produce the next
/// call (and log "P<i>"), as std::generator or views::istream do; the calls log "C<i>" when
/// they run.
class producer {
 public:
  producer(int n, std::vector<std::string>& log) : n_(n), log_(log) {}

  struct call {
    std::vector<std::string>* log;
    int i;
    int operator()() const {
      log->push_back("C" + std::to_string(i));
      return i;
    }
  };
  class iterator {
   public:
    using value_type = call;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(producer* owner) : owner_(owner) {}
    call operator*() const { return call{&owner_->log_, owner_->current_}; }
    iterator& operator++() {
      owner_->produce();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.owner_->done();
    }

   private:
    producer* owner_ = nullptr;
  };
  iterator begin() {
    produce();
    return iterator(this);
  }
  std::default_sentinel_t end() { return {}; }
  bool done() const { return current_ >= n_; }

 private:
  void produce() {
    ++current_;
    if (current_ < n_) log_.push_back("P" + std::to_string(current_));
  }
  int n_;
  int current_ = -1;
  std::vector<std::string>& log_;
};

}  // namespace

TEST_CASE("a generator runs n_jobs tasks at once, none of them on the consumer") {
  const auto consumer = std::this_thread::get_id();
  const bool unordered = GENERATE(false, true);
  // Tasks 0 and 1 each wait for the other to start: they meet only if two workers run them.
  std::atomic<int> started{0};
  std::atomic<bool> on_consumer{false};
  std::atomic<bool> met{true};
  auto task = [&](int i) {
    if (std::this_thread::get_id() == consumer) on_consumer = true;
    if (i < 2) {
      ++started;
      if (!wait_for([&] { return started.load() >= 2; })) met = false;
    }
    return i;
  };
  auto calls = std::views::iota(0, 20) | std::views::transform(delayed(task));
  const joblib::parallel_options options{.n_jobs = 2, .batch_size = 1};
  std::set<int> seen;
  if (unordered) {
    for (int x : parallel(options).generator_unordered(calls)) seen.insert(x);
  } else {
    for (int x : parallel(options).generator(calls)) seen.insert(x);
  }
  CHECK(seen.size() == 20);
  CHECK(met.load());
  CHECK_FALSE(on_consumer.load());
}

TEST_CASE("generator_unordered yields fast results while a slow task still runs") {
  // Task 0 runs until the consumer has received five other results (or 5 s pass).
  std::atomic<int> received{0};
  std::atomic<bool> slow_task_waited_out{false};
  auto task = [&](int i) {
    if (i == 0 && !wait_for([&] { return received.load() >= 5; })) slow_task_waited_out = true;
    return i;
  };
  std::vector<int> order;
  for (int x :
       parallel({.n_jobs = 2, .batch_size = 1})
           .generator_unordered(std::views::iota(0, 12) | std::views::transform(delayed(task)))) {
    order.push_back(x);
    ++received;
  }
  REQUIRE(order.size() == 12);
  CHECK_FALSE(slow_task_waited_out.load());
  CHECK(order.front() != 0);
}

TEST_CASE("a generator dispatches at the call, at most pre_dispatch batches ahead") {
  std::atomic<int> started{0};
  auto task = [&](int i) {
    ++started;
    return i;
  };
  auto gen = parallel({.n_jobs = 2, .batch_size = 1, .pre_dispatch = 3})
                 .generator(std::views::iota(0, 50) | std::views::transform(delayed(task)));
  // Nothing consumed yet: the first three tasks run anyway, and no more.
  REQUIRE(wait_for([&] { return started.load() == 3; }));
  std::this_thread::sleep_for(50ms);
  CHECK(started.load() == 3);
  int expected = 0;
  for (int x : gen) CHECK(x == expected++);
  CHECK(expected == 50);
}

TEST_CASE("n_jobs = 1 produces a call only when the batch that runs it is taken") {
  std::vector<std::string> log;
  SECTION("batch_size 1: P0 C0 P1 C1 ...") {
    producer calls(4, log);
    const auto r = parallel({.n_jobs = 1, .batch_size = 1})(calls);
    CHECK(r == std::vector<int>{0, 1, 2, 3});
    CHECK(log == std::vector<std::string>{"P0", "C0", "P1", "C1", "P2", "C2", "P3", "C3"});
  }
  SECTION("batch_size 4: four produced, four consumed") {
    producer calls(8, log);
    (void)parallel({.n_jobs = 1, .batch_size = 4})(calls);
    CHECK(log == std::vector<std::string>{"P0", "P1", "P2", "P3", "C0", "C1", "C2", "C3", "P4",
                                          "P5", "P6", "P7", "C4", "C5", "C6", "C7"});
  }
  SECTION("a sequential generator interleaves with its consumer") {
    producer calls(3, log);
    for (int x : parallel({.n_jobs = 1, .batch_size = 1}).generator(calls)) {
      log.push_back("G" + std::to_string(x));
    }
    CHECK(log == std::vector<std::string>{"P0", "C0", "G0", "P1", "C1", "G1", "P2", "C2", "G2"});
  }
}

TEST_CASE("effective_n_jobs(std::nullopt) follows parallel_config, else 1") {
  CHECK(joblib::effective_n_jobs(std::nullopt) == 1);
  CHECK(joblib::effective_n_jobs(std::optional<int>{3}) == 3);
  {
    joblib::parallel_config config({.n_jobs = -1});
    CHECK(joblib::effective_n_jobs(std::nullopt) == joblib::cpu_count());
    joblib::parallel_config inner({.n_jobs = 2});
    CHECK(joblib::effective_n_jobs(std::nullopt) == 2);
  }
  CHECK(joblib::effective_n_jobs(std::nullopt) == 1);
  CHECK_THROWS_AS(joblib::effective_n_jobs(std::optional<int>{0}), joblib::invalid_argument);
}

TEST_CASE("a negative batch_size or pre_dispatch is invalid_argument, not 2^64 - 1") {
  auto calls = std::views::iota(0, 10) | std::views::transform(delayed([](int i) { return i; }));
  CHECK_THROWS_AS(parallel({.n_jobs = 2, .batch_size = -1})(calls), joblib::invalid_argument);
  CHECK_THROWS_WITH(parallel({.n_jobs = 1, .batch_size = -3})(calls),
                    Catch::Contains("batch_size = -3 is negative"));
  CHECK_THROWS_AS(parallel({.n_jobs = 2, .pre_dispatch = -1}).generator(calls),
                  joblib::invalid_argument);
  CHECK(parallel({.n_jobs = 2, .batch_size = joblib::auto_batch})(calls).size() == 10);
}
