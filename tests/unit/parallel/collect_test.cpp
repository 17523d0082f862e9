#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "catch.hpp"
#include "joblib/parallel.hpp"
#include "test_support.hpp"

using joblib::delayed;
using joblib::failure_kind;
using joblib::outcome;
using joblib::parallel;

namespace ns {
struct my_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace ns

namespace {

// square(i), except that the tasks listed in `failing` throw std::runtime_error("task <i>").
auto failing_squares(int n, std::vector<int> failing) {
  auto f = [failing = std::move(failing)](int i) {
    for (int bad : failing) {
      if (i == bad) throw std::runtime_error("task " + std::to_string(i));
    }
    return i * i;
  };
  return std::views::iota(0, n) | std::views::transform(delayed(f));
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

TEST_CASE("collect returns one outcome per task, equal to the list call when nothing fails") {
  const int n_jobs = GENERATE(1, 2, -1);
  auto calls =
      std::views::iota(0, 500) | std::views::transform(delayed([](int i) { return 3 * i; }));
  using result = decltype(parallel({.n_jobs = n_jobs}).collect(calls));
  STATIC_REQUIRE(std::is_same_v<result, std::vector<outcome<int>>>);
  const auto outcomes = parallel({.n_jobs = n_jobs}).collect(calls);
  const auto values = parallel({.n_jobs = n_jobs})(calls);
  REQUIRE(outcomes.size() == values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    REQUIRE(outcomes[i].ok());
    CHECK(outcomes[i].value() == values[i]);
  }
  CHECK(
      parallel({.n_jobs = n_jobs})
          .collect(std::views::iota(0, 0) | std::views::transform(delayed([](int i) { return i; })))
          .empty());
}

TEST_CASE("collect runs every task past failures at the first, a middle and the last task") {
  const int n_jobs = GENERATE(1, 2, -1);
  const auto batch_size = GENERATE(std::size_t{0}, std::size_t{1}, std::size_t{7});
  const int n = 100;
  const std::vector<int> failing{0, 50, 99};
  const auto outcomes =
      parallel({.n_jobs = n_jobs, .batch_size = batch_size}).collect(failing_squares(n, failing));
  REQUIRE(outcomes.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto& o = outcomes[static_cast<std::size_t>(i)];
    if (i == 0 || i == 50 || i == 99) {
      REQUIRE_FALSE(o.ok());
      CHECK(o.failure().index == static_cast<std::size_t>(i));
      CHECK(o.failure().kind == failure_kind::exception);
      CHECK(o.failure().type == "std::runtime_error");
      CHECK(o.failure().what == "task " + std::to_string(i));
      CHECK(o.failure().signal == 0);
      CHECK_THROWS_MATCHES(o.value(), std::runtime_error,
                           Catch::Message("task " + std::to_string(i)));
    } else {
      REQUIRE(o.ok());
      CHECK(o.value() == i * i);
    }
  }
}

TEST_CASE("collect keeps the task's own exception object and names its dynamic type") {
  const int n_jobs = GENERATE(1, 2);
  auto task = [](int i) -> int {
    if (i == 1) throw ns::my_error("mine");
    if (i == 2) throw 42;
    if (i == 3) throw joblib::invalid_argument("joblib: bad");
    return i;
  };
  const auto outcomes = parallel({.n_jobs = n_jobs})
                            .collect(std::views::iota(0, 5) | std::views::transform(delayed(task)));
  REQUIRE(outcomes.size() == 5);
  CHECK(outcomes[0].value() == 0);
  CHECK(outcomes[4].value() == 4);

  CHECK(outcomes[1].failure().type == "ns::my_error");
  CHECK(outcomes[1].failure().what == "mine");
  CHECK_THROWS_AS(outcomes[1].value(), ns::my_error);  // the original type, not a task_error

  CHECK(outcomes[2].failure().type == "int");
  CHECK(outcomes[2].failure().what.empty());
  try {
    outcomes[2].failure().rethrow();
    FAIL("rethrow() returned");
  } catch (int value) {
    CHECK(value == 42);
  }

  CHECK(outcomes[3].failure().type.find("joblib::") == 0);
  CHECK(outcomes[3].failure().type.ends_with("::invalid_argument"));
  CHECK_THROWS_AS(outcomes[3].value(), joblib::invalid_argument);
}

TEST_CASE("collect of void tasks gives outcome<void>") {
  const int n_jobs = GENERATE(1, 2);
  std::atomic<int> ran{0};
  auto task = [&ran](int i) {
    ++ran;
    if (i % 10 == 3) throw std::logic_error("odd " + std::to_string(i));
  };
  auto outcomes = parallel({.n_jobs = n_jobs})
                      .collect(std::views::iota(0, 40) | std::views::transform(delayed(task)));
  STATIC_REQUIRE(std::is_same_v<decltype(outcomes), std::vector<outcome<void>>>);
  CHECK(ran.load() == 40);
  REQUIRE(outcomes.size() == 40);
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (i % 10 == 3) {
      REQUIRE_FALSE(outcomes[i].ok());
      CHECK(outcomes[i].failure().index == i);
      CHECK(outcomes[i].failure().type == "std::logic_error");
      CHECK_THROWS_AS(outcomes[i].value(), std::logic_error);
    } else {
      CHECK(outcomes[i].ok());
    }
  }
}

TEST_CASE("collect takes input ranges that are not random-access, indexed by position") {
  const int n_jobs = GENERATE(1, 2);
  SECTION("a single-pass range of unknown length") {
    test::counting_calls calls(60, [](int i) {
      if (i == 0 || i == 31 || i == 59) throw std::out_of_range("at " + std::to_string(i));
      return i + 1;
    });
    const auto outcomes = parallel({.n_jobs = n_jobs}).collect(calls);
    REQUIRE(outcomes.size() == 60);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      if (i == 0 || i == 31 || i == 59) {
        REQUIRE_FALSE(outcomes[i].ok());
        CHECK(outcomes[i].failure().index == i);
        CHECK(outcomes[i].failure().what == "at " + std::to_string(i));
      } else {
        CHECK(outcomes[i].value() == static_cast<int>(i) + 1);
      }
    }
  }
  SECTION("a std::list of std::function, read as an lvalue") {
    std::list<std::function<std::string()>> calls;
    for (int i = 0; i < 20; ++i) {
      calls.emplace_back([i]() -> std::string {
        if (i == 7) throw std::runtime_error("seven");
        return std::to_string(i);
      });
    }
    const auto outcomes = parallel({.n_jobs = n_jobs}).collect(calls);
    REQUIRE(outcomes.size() == 20);
    CHECK(outcomes[6].value() == "6");
    CHECK(outcomes[7].failure().index == 7);
    CHECK(outcomes[7].failure().what == "seven");
    CHECK(outcomes[19].value() == "19");
  }
  SECTION("an exception of the input range itself still propagates") {
    test::counting_calls calls(
        100, [](int i) { return i; }, /*throw_at=*/37);
    REQUIRE_THROWS_WITH(parallel({.n_jobs = n_jobs}).collect(calls), "input broke");
  }
}

TEST_CASE("collect reads a random-access range in place and keeps move-only results") {
  // Lvalue tasks are called in place, not copies: their state changes.
  std::vector<std::function<int()>> calls;
  std::vector<int> hits(10, 0);
  for (int i = 0; i < 10; ++i) {
    calls.emplace_back([&hits, i] {
      ++hits[static_cast<std::size_t>(i)];
      return i;
    });
  }
  const auto outcomes = parallel({.n_jobs = 2}).collect(calls);
  CHECK(outcomes[9].value() == 9);
  CHECK(hits == std::vector<int>(10, 1));

  auto owned =
      parallel({.n_jobs = 2})
          .collect(std::views::iota(0, 10) |
                   std::views::transform(delayed([](int i) { return std::make_unique<int>(i); })));
  std::unique_ptr<int> p = std::move(owned[4]).value();
  CHECK(*p == 4);
}

TEST_CASE("collect turns an overdue task into a timeout failure and keeps the others") {
  const int n_jobs = GENERATE(1, 2);
  auto task = [](int i) {
    if (i == 2) std::this_thread::sleep_for(std::chrono::milliseconds(150));
    return i;
  };
  auto calls = std::views::iota(0, 6) | std::views::transform(delayed(task));
  const auto outcomes =
      parallel({.n_jobs = n_jobs, .timeout = std::chrono::milliseconds(40)}).collect(calls);
  REQUIRE(outcomes.size() == 6);
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (i == 2) continue;
    REQUIRE(outcomes[i].ok());
    CHECK(outcomes[i].value() == static_cast<int>(i));
  }
  REQUIRE_FALSE(outcomes[2].ok());
  const joblib::task_failure& late = outcomes[2].failure();
  CHECK(late.kind == failure_kind::timeout);
  CHECK(late.index == 2);
  CHECK(late.type.empty());
  CHECK(starts_with(late.what, "joblib: task 2 ran for "));
  CHECK(late.what.find("longer than the timeout of 0.040000 s") != std::string::npos);
  CHECK_THROWS_MATCHES(outcomes[2].value(), joblib::timeout_error, Catch::Message(late.what));

  // The list call's timeout_error says the same thing.
  try {
    parallel({.n_jobs = n_jobs, .timeout = std::chrono::milliseconds(40)})(calls);
    FAIL("no timeout_error");
  } catch (const joblib::timeout_error& e) {
    CHECK(starts_with(e.what(), "joblib: task 2 ran for "));
    CHECK(std::string(e.what()).find("longer than the timeout of 0.040000 s") != std::string::npos);
  }

  // Void tasks too.
  const auto voids = parallel({.n_jobs = n_jobs, .timeout = std::chrono::milliseconds(40)})
                         .collect(std::views::iota(0, 3) | std::views::transform(delayed([](int i) {
                                    if (i == 1)
                                      std::this_thread::sleep_for(std::chrono::milliseconds(150));
                                  })));
  CHECK(voids[0].ok());
  CHECK(voids[1].failure().kind == failure_kind::timeout);
  CHECK(voids[2].ok());
}

TEST_CASE("collect is still cancelled as a whole by stop") {
  const int n_jobs = GENERATE(1, 2);
  joblib::stop_source stop;
  std::atomic<int> ran{0};
  auto task = [&](int i) {
    if (++ran == 10) stop.request_stop();
    if (i % 2 == 0) throw std::runtime_error("even");
    return i;
  };
  REQUIRE_THROWS_AS(
      parallel({.n_jobs = n_jobs, .batch_size = 1, .stop = stop.get_token()})
          .collect(std::views::iota(0, 100000) | std::views::transform(delayed(task))),
      joblib::cancelled_error);
  CHECK(ran.load() < 1000);
}

TEST_CASE("collect honours parallel_config and checks its options") {
  joblib::parallel_config config({.n_jobs = 2});
  const auto outcomes = parallel().collect(failing_squares(20, {5}));
  CHECK(outcomes[4].value() == 16);
  CHECK_FALSE(outcomes[5].ok());
  CHECK_THROWS_AS(parallel({.n_jobs = 0}).collect(failing_squares(3, {})),
                  joblib::invalid_argument);
}
