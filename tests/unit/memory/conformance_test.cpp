// Where users rely on Python joblib's behaviour (issue 12): joblib::memory does what
// joblib.Memory does, or says in README.md ("From Python joblib") why it differs.
#include <chrono>
#include <filesystem>
#include <joblib/memory.hpp>

#include "catch.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST_CASE("nonsensical limits are refused (joblib raises ValueError)") {
  const test::temp_dir dir("conf_limits");
  joblib::memory mem{dir.path()};
  auto f = mem.cache("f", [](int x) { return x; });
  f(1);
  f(2);
  // joblib: "age_limit has to be a positive timedelta"; this used to delete every entry.
  CHECK_THROWS_AS(mem.reduce_size({.age_limit = -1s}), joblib::invalid_argument);
  // A negative number given to an unsigned limit arrives as 2^64 - 1: refused, not "no limit".
  CHECK_THROWS_AS(mem.reduce_size({.bytes_limit = -1}), joblib::invalid_argument);
  CHECK_THROWS_AS(mem.reduce_size({.items_limit = -5}), joblib::invalid_argument);
  CHECK(mem.stats().entries_on_disk == 2);
  CHECK(mem.reduce_size({.age_limit = 0s}).remaining_entries == 0);  // zero is a limit

  // The same limits given to a memory are refused when it is made.
  CHECK_THROWS_AS(joblib::memory(dir.path(), {.age_limit = -1s}), joblib::invalid_argument);
  CHECK_THROWS_AS(joblib::memory(dir.path(), {.bytes_limit = -1}), joblib::invalid_argument);
  CHECK_THROWS_AS(joblib::memory(dir.path(), {.items_limit = -1}), joblib::invalid_argument);
  CHECK_NOTHROW(joblib::memory(dir.path(), {.bytes_limit = 0, .items_limit = 0, .age_limit = 0s}));
  // Without a location there is nothing to reduce, but misuse is still misuse.
  CHECK_THROWS_AS(joblib::memory{}.reduce_size({.age_limit = -1s}), joblib::invalid_argument);
}
