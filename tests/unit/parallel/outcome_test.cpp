#include "joblib/parallel/outcome.hpp"

#include <csignal>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "catch.hpp"

using joblib::failure_kind;
using joblib::outcome;
using joblib::task_failure;

namespace {
task_failure thrown_failure(std::size_t index) {
  return joblib::detail::exception_failure(
      index, std::make_exception_ptr(std::out_of_range("no such key")), "std::out_of_range",
      "no such key");
}
}  // namespace

TEST_CASE("outcome is a value type fit for std::vector") {
  STATIC_REQUIRE(std::is_copy_constructible_v<outcome<int>>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<outcome<std::string>>);
  STATIC_REQUIRE(std::is_copy_assignable_v<outcome<std::vector<int>>>);
  STATIC_REQUIRE(std::is_move_constructible_v<outcome<std::unique_ptr<int>>>);
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<outcome<std::unique_ptr<int>>>);
  STATIC_REQUIRE(std::is_copy_constructible_v<outcome<void>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<outcome<int>, bool>);  // explicit operator bool

  std::vector<outcome<std::unique_ptr<int>>> v;
  v.emplace_back(std::make_unique<int>(5));
  v.emplace_back(thrown_failure(1));
  v.push_back(outcome<std::unique_ptr<int>>::success(std::make_unique<int>(6)));
  std::vector moved = std::move(v);
  REQUIRE(moved.size() == 3);
  CHECK(*moved[0].value() == 5);
  CHECK_FALSE(moved[1].ok());
  CHECK(*moved[2].value() == 6);
  std::unique_ptr<int> taken = std::move(moved[2]).value();
  CHECK(*taken == 6);

  std::vector<outcome<std::string>> strings{outcome<std::string>("a"), thrown_failure(1)};
  const auto copy = strings;
  CHECK(copy[0].value() == "a");
  CHECK(copy[1].failure().index == 1);
}

TEST_CASE("a successful outcome gives its value and has no failure") {
  outcome<int> o = 42;
  CHECK(o.ok());
  CHECK(static_cast<bool>(o));
  CHECK(o.value() == 42);
  o.value() = 43;
  CHECK(std::as_const(o).value() == 43);
  CHECK_THROWS_AS(o.failure(), joblib::invalid_argument);

  const outcome<void> done = outcome<void>::success();
  CHECK(done.ok());
  CHECK_NOTHROW(done.value());
  CHECK_THROWS_AS(done.failure(), joblib::invalid_argument);
}

TEST_CASE("a failed outcome rethrows the task's own exception from value()") {
  const outcome<int> o = thrown_failure(4);
  CHECK_FALSE(o.ok());
  CHECK_FALSE(static_cast<bool>(o));
  const task_failure& f = o.failure();
  CHECK(f.index == 4);
  CHECK(f.kind == failure_kind::exception);
  CHECK(f.type == "std::out_of_range");
  CHECK(f.what == "no such key");
  CHECK(f.signal == 0);
  CHECK_THROWS_MATCHES(o.value(), std::out_of_range, Catch::Message("no such key"));
  CHECK_THROWS_AS(f.rethrow(), std::out_of_range);
  CHECK_THROWS_AS(outcome<int>(thrown_failure(4)).value(), std::out_of_range);  // rvalue

  const outcome<void> v = thrown_failure(2);
  CHECK_FALSE(v.ok());
  CHECK(v.failure().index == 2);
  CHECK_THROWS_AS(v.value(), std::out_of_range);
}

TEST_CASE("crash and timeout failures describe themselves and rethrow joblib errors") {
  const task_failure crash = joblib::detail::crash_failure(7, SIGSEGV, -1);
  CHECK(crash.kind == failure_kind::crash);
  CHECK(crash.index == 7);
  CHECK(crash.type.empty());
  CHECK(crash.signal == SIGSEGV);
  CHECK(crash.exit_status == -1);
  CHECK(crash.what.find("task 7 crashed its worker process: killed by signal") !=
        std::string::npos);
  try {
    crash.rethrow();
  } catch (const joblib::worker_crashed_error& e) {
    CHECK(e.index() == 7);
    CHECK(e.signal() == SIGSEGV);
    CHECK(std::string(e.what()) == crash.what);
  }

  const task_failure exited = joblib::detail::crash_failure(3, 0, 3);
  CHECK(exited.signal == 0);
  CHECK(exited.exit_status == 3);

  const task_failure late = joblib::detail::timeout_failure(5, "joblib: task 5 ran too long");
  CHECK(late.kind == failure_kind::timeout);
  CHECK(late.what == "joblib: task 5 ran too long");
  CHECK_THROWS_MATCHES(outcome<int>(late).value(), joblib::timeout_error,
                       Catch::Message("joblib: task 5 ran too long"));
}

TEST_CASE("a failure built by hand rethrows what its fields describe") {
  CHECK_THROWS_MATCHES(
      (task_failure{.index = 3, .kind = failure_kind::exception, .type = "ns::e", .what = "x"})
          .rethrow(),
      joblib::task_error, Catch::Message("joblib: task 3 threw ns::e: x"));
  try {
    task_failure{.index = 1, .kind = failure_kind::crash, .signal = 0, .exit_status = 2}.rethrow();
  } catch (const joblib::worker_crashed_error& e) {
    CHECK(e.exit_status() == 2);
  }
  CHECK_THROWS_AS((task_failure{.index = 1, .kind = failure_kind::timeout}).rethrow(),
                  joblib::timeout_error);
}
