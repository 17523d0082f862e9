#include "joblib/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <iterator>
#include <memory>
#include <numeric>
#include <ranges>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "catch.hpp"
#include "log_capture.hpp"
#include "stderr_capture.hpp"
#include "test_support.hpp"

using joblib::delayed;
using joblib::parallel;

namespace {
int square(int i) { return i * i; }

auto square_calls(int n) { return std::views::iota(0, n) | std::views::transform(delayed(square)); }

std::vector<int> expected_squares(int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(i * i);
  return out;
}
}  // namespace

TEST_CASE("results equal a plain loop for every n_jobs, as a list and through generators") {
  const int n_jobs = GENERATE(1, 2, -1, -2, 64);
  const int n = GENERATE(1, 7, 1000);
  const auto expected = expected_squares(n);
  SECTION("list") {
    std::vector<int> got = parallel({.n_jobs = n_jobs})(square_calls(n));
    CHECK(got == expected);
  }
  SECTION("generator keeps input order") {
    std::vector<int> got;
    for (int x : parallel({.n_jobs = n_jobs}).generator(square_calls(n))) {
      got.push_back(x);
    }
    CHECK(got == expected);
  }
  SECTION("generator_unordered yields each result once") {
    std::vector<int> got;
    for (int x : parallel({.n_jobs = n_jobs}).generator_unordered(square_calls(n))) {
      got.push_back(x);
    }
    std::sort(got.begin(), got.end());
    CHECK(got == expected);
  }
}

TEST_CASE("a list result is a std::vector; a generator is a move-only input range") {
  auto calls = square_calls(10);
  using list = decltype(parallel({.n_jobs = 2})(calls));
  STATIC_REQUIRE(std::is_same_v<list, std::vector<int>>);
  using gen = decltype(parallel({.n_jobs = 2}).generator(calls));
  STATIC_REQUIRE(std::is_same_v<gen, joblib::generator<int>>);
  STATIC_REQUIRE(std::is_same_v<decltype(parallel().generator_unordered(calls)), gen>);
  STATIC_REQUIRE(std::ranges::input_range<gen>);
  STATIC_REQUIRE_FALSE(std::ranges::forward_range<gen>);
  STATIC_REQUIRE(std::is_move_constructible_v<gen>);
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<gen>);
  STATIC_REQUIRE(std::is_void_v<decltype(parallel()(std::views::iota(0, 3) |
                                                    std::views::transform(delayed([](int) {}))))>);

  auto r = parallel({.n_jobs = 2})(calls);
  CHECK(r.back() == 81);
  std::ranges::sort(r, std::greater<>());
  CHECK(r.front() == 81);
  const auto& constant = r;
  CHECK(std::accumulate(constant.begin(), constant.end(), 0) == 285);

  // Generators can be moved, and used with range algorithms.
  auto g = parallel({.n_jobs = 2}).generator(square_calls(5));
  auto moved = std::move(g);
  std::vector<int> got;
  std::ranges::copy(moved, std::back_inserter(got));
  CHECK(got == expected_squares(5));
}

TEST_CASE("a vector of delayed calls and a backend choice") {
  std::vector<joblib::deferred_call<int (*)(int), int>> calls;
  for (int i = 0; i < 50; ++i) calls.push_back(delayed(&square)(i));
  auto threads = parallel({.n_jobs = 2, .backend = joblib::backend::threads})(calls);
  auto sequential = parallel({.n_jobs = 4, .backend = joblib::backend::sequential})(calls);
  CHECK(threads == expected_squares(50));
  CHECK(sequential == expected_squares(50));
  CHECK(threads.size() == 50);
  CHECK(threads[7] == 49);
}

TEST_CASE("delayed copies its arguments and can be called again") {
  std::string text = "abc";
  auto call = delayed([](const std::string& s, int k) { return s + std::to_string(k); })(text, 1);
  text = "changed";
  CHECK(call() == "abc1");
  CHECK(call() == "abc1");
  CHECK(std::get<0>(call.arguments()) == "abc");
}

TEST_CASE("input of unknown length, in every mode") {
  const int n_jobs = GENERATE(1, 2, -1);
  const int mode = GENERATE(0, 1, 2);  // list, generator, generator_unordered
  test::counting_calls calls(500, [](int i) { return 3 * i; });
  std::vector<int> got;
  if (mode == 0) {
    got = parallel({.n_jobs = n_jobs})(calls);
  } else if (mode == 1) {
    for (int x : parallel({.n_jobs = n_jobs}).generator(calls)) got.push_back(x);
  } else {
    for (int x : parallel({.n_jobs = n_jobs}).generator_unordered(calls)) got.push_back(x);
    std::sort(got.begin(), got.end());
  }
  REQUIRE(got.size() == 500);
  for (int i = 0; i < 500; ++i) CHECK(got[static_cast<std::size_t>(i)] == 3 * i);
}

TEST_CASE("empty input") {
  CHECK(parallel({.n_jobs = 2})(square_calls(0)).empty());
  int seen = 0;
  for (int x : parallel({.n_jobs = 2}).generator(square_calls(0))) {
    seen += x + 1;
  }
  CHECK(seen == 0);
  test::counting_calls none(0, [](int i) { return i; });
  CHECK(parallel({.n_jobs = 2})(none).empty());
}

TEST_CASE("void tasks run once each") {
  std::vector<std::atomic<int>> hits(300);
  parallel({.n_jobs = -1})(std::views::iota(0, 300) | std::views::transform(delayed([&](int i) {
                             hits[static_cast<std::size_t>(i)]++;
                           })));
  for (auto& h : hits) CHECK(h.load() == 1);
}

TEST_CASE("move-only results") {
  auto make = [](int i) { return std::make_unique<int>(i); };
  auto list =
      parallel({.n_jobs = 2})(std::views::iota(0, 100) | std::views::transform(delayed(make)));
  REQUIRE(list.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(*list[static_cast<std::size_t>(i)] == i);
  int sum = 0;
  for (auto& p : parallel({.n_jobs = 2})
                     .generator(std::views::iota(0, 100) | std::views::transform(delayed(make)))) {
    sum += *p;
  }
  CHECK(sum == 4950);
}

TEST_CASE("bool results are not packed racily") {
  auto even = [](int i) { return i % 2 == 0; };
  auto got =
      parallel({.n_jobs = -1})(std::views::iota(0, 10000) | std::views::transform(delayed(even)));
  for (int i = 0; i < 10000; ++i) CHECK(got[static_cast<std::size_t>(i)] == (i % 2 == 0));
}

TEST_CASE("the first exception is rethrown with its type and later tasks are cancelled") {
  const int n_jobs = GENERATE(1, 2, -1);
  const int bad = GENERATE(0, 500, 999);
  std::atomic<int> ran{0};
  auto task = [&](int i) {
    ++ran;
    if (i == bad) throw std::out_of_range("task " + std::to_string(i));
    return i;
  };
  try {
    parallel({.n_jobs = n_jobs, .batch_size = 1})(std::views::iota(0, 1000) |
                                                  std::views::transform(delayed(task)));
    FAIL("no exception");
  } catch (const std::out_of_range& e) {
    CHECK(std::string(e.what()) == "task " + std::to_string(bad));
  }
  if (bad == 0 && n_jobs == 1) CHECK(ran.load() == 1);
  if (bad == 0) CHECK(ran.load() < 1000);
  // The pool stays usable.
  CHECK(parallel({.n_jobs = n_jobs})(square_calls(100)) == expected_squares(100));
}

TEST_CASE("a generator rethrows a task's exception while iterating") {
  auto task = [](int i) {
    if (i == 50) throw std::invalid_argument("fifty");
    return i;
  };
  auto gen = parallel({.n_jobs = 2})
                 .generator(std::views::iota(0, 100) | std::views::transform(delayed(task)));
  std::vector<int> seen;
  REQUIRE_THROWS_AS(
      [&] {
        for (int x : gen) seen.push_back(x);
      }(),
      std::invalid_argument);
  CHECK(seen.size() <= 50);
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == static_cast<int>(i));
}

TEST_CASE("an exception thrown by the input range itself propagates") {
  const int n_jobs = GENERATE(1, 2);
  test::counting_calls calls(
      100, [](int i) { return i; }, /*throw_at=*/37);
  REQUIRE_THROWS_WITH(parallel({.n_jobs = n_jobs})(calls), "input broke");
}

TEST_CASE("stop_token cancels the tasks not yet started") {
  joblib::stop_source stop;
  std::atomic<int> ran{0};
  auto task = [&](int i) {
    if (++ran == 10) stop.request_stop();
    return i;
  };
  REQUIRE_THROWS_AS(parallel({.n_jobs = 2, .batch_size = 1, .stop = stop.get_token()})(
                        std::views::iota(0, 100000) | std::views::transform(delayed(task))),
                    joblib::cancelled_error);
  CHECK(ran.load() < 1000);
}

TEST_CASE("dropping a generator early cancels the rest") {
  std::atomic<int> ran{0};
  auto task = [&](int i) {
    ++ran;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    return i;
  };
  {
    auto gen = parallel({.n_jobs = 2, .batch_size = 1, .pre_dispatch = 4})
                   .generator(std::views::iota(0, 10000) | std::views::transform(delayed(task)));
    int taken = 0;
    for (int x : gen) {
      CHECK(x == taken);
      if (++taken == 5) break;
    }
  }  // destroyed here: waits for running tasks, starts no more
  const int after_drop = ran.load();
  CHECK(after_drop < 100);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(ran.load() == after_drop);
}

TEST_CASE("a task longer than the timeout raises timeout_error") {
  auto task = [](int i) {
    if (i == 3) std::this_thread::sleep_for(std::chrono::milliseconds(120));
    return i;
  };
  REQUIRE_THROWS_AS(parallel({.n_jobs = 2, .timeout = std::chrono::milliseconds(30)})(
                        std::views::iota(0, 8) | std::views::transform(delayed(task))),
                    joblib::timeout_error);
  // Fast tasks under a generous timeout are fine.
  CHECK(parallel({.n_jobs = 2, .timeout = std::chrono::seconds(10)})(square_calls(20)) ==
        expected_squares(20));
}

TEST_CASE("nested parallel, three levels deep, n_jobs=-1 at each level, no new threads") {
  std::mutex mutex;
  std::set<std::thread::id> threads;
  auto leaf = [&](int k) {
    std::lock_guard lock(mutex);
    threads.insert(std::this_thread::get_id());
    return k;
  };
  auto middle = [&](int j) {
    auto r =
        parallel({.n_jobs = -1})(std::views::iota(0, 8) | std::views::transform(delayed(leaf)));
    return j * 100 + std::accumulate(r.begin(), r.end(), 0);
  };
  auto outer = [&](int i) {
    auto r =
        parallel({.n_jobs = -1})(std::views::iota(0, 8) | std::views::transform(delayed(middle)));
    return std::accumulate(r.begin(), r.end(), 0) + i;
  };
  auto top =
      parallel({.n_jobs = -1})(std::views::iota(0, 8) | std::views::transform(delayed(outer)));
  // middle(j) = 100 j + 28; outer(i) = 2800 + 224 + i
  for (int i = 0; i < 8; ++i) CHECK(top[static_cast<std::size_t>(i)] == 3024 + i);
  CHECK(threads.size() <= joblib::thread_pool::global().size() + 1);
}

TEST_CASE("recursive divide and conquer through nested parallel") {
  struct fib {
    long operator()(int n) const {
      if (n < 12) return n < 2 ? n : (*this)(n - 1) + (*this)(n - 2);
      auto parts = parallel({.n_jobs = 2})(
          std::views::iota(1, 3) |
          std::views::transform(delayed([n](int k) { return fib{}(n - k); })));
      return parts[0] + parts[1];
    }
  };
  CHECK(fib{}(22) == 17711);
}

TEST_CASE("one million tiny tasks") {
  auto got = parallel({.n_jobs = -1})(std::views::iota(0, 1'000'000) |
                                      std::views::transform(delayed([](int i) { return i ^ 1; })));
  REQUIRE(got.size() == 1'000'000);
  bool all = true;
  for (int i = 0; i < 1'000'000; ++i) all &= got[static_cast<std::size_t>(i)] == (i ^ 1);
  CHECK(all);
}

TEST_CASE("n_jobs limits the concurrency of a call") {
  std::atomic<int> now{0};
  std::atomic<int> peak{0};
  auto task = [&](int) {
    const int c = ++now;
    int p = peak.load();
    while (c > p && !peak.compare_exchange_weak(p, c)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    --now;
    return 0;
  };
  parallel({.n_jobs = 2, .batch_size = 1})(std::views::iota(0, 40) |
                                           std::views::transform(delayed(task)));
  CHECK(peak.load() <= 2);
  CHECK(peak.load() >= 1);
}

TEST_CASE("n_jobs == 0 is an error, effective_n_jobs and cpu_count") {
  REQUIRE_THROWS_AS(parallel({.n_jobs = 0})(square_calls(3)), joblib::invalid_argument);
  REQUIRE_THROWS_AS(joblib::effective_n_jobs(0), joblib::invalid_argument);
  const unsigned cpus = joblib::cpu_count();
  CHECK(cpus >= 1);
  CHECK(joblib::effective_n_jobs(-1) == cpus);
  CHECK(joblib::effective_n_jobs(-2) == std::max(1u, cpus - 1));
  CHECK(joblib::effective_n_jobs(-1000) == 1);
  CHECK(joblib::effective_n_jobs(7) == 7);
}

TEST_CASE("parallel_config sets scoped, nested, thread-local defaults") {
  auto threads_used = [](joblib::parallel p) {
    std::mutex m;
    std::set<std::thread::id> ids;
    p(std::views::iota(0, 64) | std::views::transform(delayed([&](int) {
        std::this_thread::sleep_for(std::chrono::microseconds(300));
        std::lock_guard lock(m);
        ids.insert(std::this_thread::get_id());
      })));
    return ids.size();
  };
  CHECK(threads_used(parallel({.batch_size = 1})) == 1);  // unset n_jobs: sequential
  {
    joblib::parallel_config outer({.n_jobs = 3, .verbose = 0});
    CHECK(outer.options().n_jobs == 3);
    {
      joblib::parallel_config inner({.n_jobs = 1});
      CHECK(inner.options().n_jobs == 1);
      CHECK(inner.options().verbose == 0);  // inherited from the outer scope
      CHECK(threads_used(parallel({.batch_size = 1})) == 1);
    }
    CHECK(threads_used(parallel({.batch_size = 1})) > 1);
    CHECK(threads_used(parallel({.n_jobs = 1, .batch_size = 1})) == 1);  // the call wins
  }
  CHECK(threads_used(parallel({.batch_size = 1})) == 1);
}

TEST_CASE("verbose lines follow joblib's format") {
  test::stderr_capture capture;
  // Tasks long enough that the calling thread reports while the call runs.
  parallel({.n_jobs = 2, .batch_size = 1, .verbose = 10})(
      std::views::iota(0, 100) | std::views::transform(delayed([](int i) {
        std::this_thread::sleep_for(std::chrono::microseconds(500));
        return i;
      })));
  const std::string text = capture.text();
  CHECK(text.find(
            "[Parallel(n_jobs=2)]: Using backend ThreadingBackend with 2 concurrent workers.") !=
        std::string::npos);
  const std::regex progress(
      R"(\[Parallel\(n_jobs=2\)\]: Done +\d+ out of 100 \| elapsed: +\d+\.\ds remaining: +\d+\.\ds)");
  CHECK(std::regex_search(text, progress));
  CHECK(text.find("[Parallel(n_jobs=2)]: Done 100 out of 100 | elapsed:") != std::string::npos);
  CHECK(text.find("finished") != std::string::npos);
  // Fixed-width counters, as in joblib: "Done   1 out of 100".
  CHECK(joblib::detail::short_format_time(0.1) == "   0.1s");
  CHECK(joblib::detail::short_format_time(90) == " 1.5min");
}

TEST_CASE("verbose lines go through joblib::log, like memory's") {
  test::log_capture log;
  parallel({.n_jobs = 2, .verbose = 5})(square_calls(50));
  CHECK(log.contains("[Parallel(n_jobs=2)]: Using backend ThreadingBackend with 2 concurrent"));
  CHECK(log.contains("[Parallel(n_jobs=2)]: Done  50 out of  50 | elapsed:"));
  CHECK(log.count(joblib::log_level::info) == log.messages().size());
}

TEST_CASE("verbose 0 prints nothing and the progress bar stays off when stderr is no terminal") {
  test::stderr_capture capture;
  parallel({.n_jobs = 2, .progress = true})(square_calls(100));
  CHECK(capture.text().empty());
}

TEST_CASE("on_progress sees monotonic progress and the final total") {
  std::vector<std::size_t> seen;
  std::optional<std::size_t> last_total;
  parallel({.n_jobs = 2, .batch_size = 3, .on_progress = [&](const joblib::progress_info& p) {
              seen.push_back(p.completed);
              last_total = p.total;
            }})(square_calls(200));
  REQUIRE_FALSE(seen.empty());
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  CHECK(seen.back() == 200);
  CHECK(last_total == std::optional<std::size_t>(200));
}

TEST_CASE("many threads run many small parallel calls at once") {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 300; ++round) {
        const int n = (round * 7 + t) % 40;
        auto got =
            parallel({.n_jobs = (round % 3) - 1 == 0 ? 2 : (round % 3) - 1})(square_calls(n));
        if (got != expected_squares(n)) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(wrong.load() == 0);
}
