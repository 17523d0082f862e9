// Where users rely on Python joblib's behaviour (issue 12): joblib::memory does what
// joblib.Memory does, or says in README.md ("From Python joblib") why it differs.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <joblib/memory.hpp>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "file_bytes.hpp"
#include "log_capture.hpp"
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

TEST_CASE("memory{} is a drop-in: every member works and nothing is cached (Memory(None))") {
  joblib::memory off;
  int calls = 0;
  auto f = off.cache("f", [&](int x) {
    ++calls;
    return std::vector<double>(3, x);
  });
  CHECK(f(1) == std::vector<double>(3, 1.0));

  // call_and_shelve computes now and holds the value (joblib's NotMemorizedResult).
  const auto shelved = f.call_and_shelve(2);
  CHECK(calls == 2);
  CHECK(shelved.get() == std::vector<double>(3, 2.0));
  CHECK(shelved.get() == std::vector<double>(3, 2.0));
  CHECK(calls == 2);
  CHECK(shelved.path().empty());
  const auto copy = shelved;
  shelved.clear();
  CHECK_THROWS_AS(copy.get(), joblib::error);  // joblib: KeyError("No value stored.")

  // call returns the value and empty metadata, as joblib's (output, {}).
  const auto result = f.call(3);
  CHECK(calls == 3);
  CHECK(result.value == std::vector<double>(3, 3.0));
  CHECK(result.metadata.function.empty());
  CHECK(result.metadata.bytes == 0);

  CHECK_FALSE(f.check_call_in_cache(3));
  CHECK_FALSE(f.clear(3));
  CHECK_NOTHROW(f.clear());
  CHECK_NOTHROW(off.clear());
  CHECK(off.reduce_size({.items_limit = 0}).removed_entries == 0);
  CHECK(off.stats().misses == 0);
  CHECK(off.eval(
            "g", [](int x) { return x + 1; }, 1) == 2);

  auto nothing = off.cache("nothing", [&](int) { ++calls; });
  nothing.call_and_shelve(1).get();
  CHECK(calls == 4);

  // A result that cannot be copied is handed out once.
  auto owner = off.cache("owner", [](int x) { return std::make_unique<int>(x); });
  const auto held = owner.call_and_shelve(5);
  CHECK(*held.get() == 5);
  CHECK_THROWS_AS(held.get(), joblib::error);
}

TEST_CASE("call_and_shelve hands out the value when it cannot be stored") {
  const test::temp_dir dir("conf_shelve_unstored");
  joblib::memory mem{dir.path()};
  auto f = mem.cache("f", [](int x) { return 2 * x; });
  // A folder holding a user's file where the entry goes: the result cannot be stored.
  const fs::path entry = mem.store()->entry_path("f", f.key(1).hex());
  fs::create_directories(entry);
  std::ofstream(entry / "mine") << "user data";
  const auto shelved = f.call_and_shelve(1);
  CHECK(shelved.get() == 2);
  CHECK(shelved.args_id() == f.key(1).hex());
  CHECK(mem.stats().store_failures == 1);
}

TEST_CASE("call_and_shelve does not load a stored result: get() does") {
  // joblib's test_call_and_shelve_lazily_load_stored_result
  const test::temp_dir dir("conf_shelve_lazy");
  joblib::memory mem{dir.path()};
  int calls = 0;
  auto f = mem.cache("f", [&](int x) {
    ++calls;
    return std::vector<double>(4096, x);
  });
  f(1);
  const fs::path entry = mem.store()->entry_path("f", f.key(1).hex());
  // Damage the stored array (not the index, which says what the entry is).
  auto bytes = test::read_all(entry);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
  test::write_all(entry, bytes);

  const auto shelved = f.call_and_shelve(1);
  CHECK(calls == 1);  // found, not loaded: the damage is not seen yet
  CHECK(mem.stats().corrupt_entries == 0);
  CHECK_THROWS_AS(shelved.get(), joblib::format_error);  // get() loads
  f(1);  // a call loads, sees the damage and recomputes
  CHECK(calls == 2);
  CHECK(mem.stats().corrupt_entries == 1);
  CHECK(f.call_and_shelve(1).get() == std::vector<double>(4096, 1.0));
  CHECK(calls == 2);
}

namespace {
joblib::ndarray<const double> ramp(std::size_t n) {
  joblib::ndarray<double> a({n});
  for (std::size_t i = 0; i < n; ++i) a(i) = static_cast<double>(i);
  return joblib::ndarray<const double>(std::move(a));
}
}  // namespace

TEST_CASE("with an mmap mode every call returns a mapping: the first call too (as joblib)") {
  const test::temp_dir dir("conf_mmap");
  joblib::memory mem{dir.path(), {.mmap = joblib::mmap_mode::r}};
  int calls = 0;
  auto f = mem.cache("ramp", [&](std::size_t n) {
    ++calls;
    return ramp(n);
  });
  const auto miss = f(std::size_t{1000});
  const auto hit = f(std::size_t{1000});
  CHECK(calls == 1);
  CHECK_FALSE(miss.owns_data());  // read back from the entry, not the computed copy
  CHECK_FALSE(hit.owns_data());
  CHECK(miss == ramp(1000));
  CHECK(hit == ramp(1000));

  SECTION("after a damaged entry is recomputed") {
    std::ofstream(mem.store()->entry_path("ramp", f.key(std::size_t{1000}).hex()),
                  std::ios::binary | std::ios::trunc)
        << "not an entry";
    const auto again = f(std::size_t{1000});
    CHECK(calls == 2);
    CHECK_FALSE(again.owns_data());
    CHECK(again == ramp(1000));
  }
  SECTION("call() returns the mapping of what it stored") {
    const auto forced = f.call(std::size_t{1000});
    CHECK(calls == 2);
    CHECK_FALSE(forced.value.owns_data());
    CHECK(forced.value == ramp(1000));
  }
  SECTION("arrays inside other types") {
    auto pair = mem.cache("pair", [](int n) { return std::pair{n, ramp(std::size_t(n))}; });
    CHECK_FALSE(pair(10).second.owns_data());
    CHECK_FALSE(pair(10).second.owns_data());
  }
  SECTION("the cache option, and a writable copy-on-write mapping") {
    joblib::memory plain{dir.path()};
    auto cow = plain.cache("cow", [](int n) { return joblib::ndarray<double>({std::size_t(n)}); },
                           {.mmap = joblib::mmap_mode::c});
    auto first = cow(8);
    CHECK_FALSE(first.owns_data());
    first(0) = 1.0;           // writes stay in this process
    CHECK(cow(8)(0) == 0.0);  // the entry is unchanged
  }
  SECTION("a writable array with mmap_mode::r is refused before anything is computed") {
    auto writable = mem.cache("writable", [&](int n) {
      ++calls;
      return joblib::ndarray<double>({std::size_t(n)});
    });
    CHECK_THROWS_AS(writable(3), joblib::invalid_argument);
    CHECK_THROWS_AS(writable.call_and_shelve(3), joblib::invalid_argument);
    CHECK_THROWS_AS(writable.call(3), joblib::invalid_argument);
    CHECK(calls == 1);
    CHECK_FALSE(writable.check_call_in_cache(3));
  }
}

TEST_CASE("ignored arguments need not be serializable") {
  const test::temp_dir dir("conf_ignore_any");
  joblib::memory mem{dir.path()};
  int calls = 0;
  auto f = mem.cache("f",
                     [&](int x, std::ostream* log) {
                       ++calls;
                       *log << "computing " << x << "\n";
                       return 2 * x;
                     },
                     {.ignore = {1}});
  std::ostringstream first, second;
  CHECK(f(2, &first) == 4);
  CHECK(f(2, &second) == 4);  // the stream is not part of the key
  CHECK(calls == 1);
  CHECK(first.str() == "computing 2\n");
  CHECK(second.str().empty());
  CHECK(f.check_call_in_cache(2, &second));
  CHECK(f.key(2, &first) == f.key(2, &second));
  CHECK(f.call_and_shelve(3, &first).get() == 6);
  CHECK(f.call(2, &first).metadata.input_args == "f(2, ...)");  // not summarized either

  SECTION("a parameter that cannot be hashed must be ignored: cache() says so") {
    const auto unhashable = [](int x, std::ostream*) { return x; };
    CHECK_THROWS_AS(mem.cache("g", unhashable), joblib::invalid_argument);
    CHECK_THROWS_WITH(mem.cache("g", unhashable, {.ignore = {0}}),
                      Catch::Contains("argument 1 of g is not serializable"));
    CHECK_THROWS_AS(joblib::memory{}.cache("g", unhashable), joblib::invalid_argument);
  }
  SECTION("ignore naming an argument the function does not have (joblib: ValueError)") {
    CHECK_THROWS_AS(mem.cache("h", [](int x) { return x; }, {.ignore = {1}}),
                    joblib::invalid_argument);
  }
  SECTION("generic lambdas are checked at the call") {
    auto generic = mem.cache("generic", [](auto x, auto*) { return x; }, {.ignore = {1}});
    CHECK(generic(5, &first) == 5);
    auto unlisted = mem.cache("unlisted", [](auto x, auto*) { return x; });
    CHECK_THROWS_AS(unlisted(5, &first), joblib::invalid_argument);
  }
}

TEST_CASE("a parameter taken by non-const reference gets the caller's object") {
  const test::temp_dir dir("conf_mutable_ref");
  joblib::memory mem{dir.path()};
  int calls = 0;
  auto count = mem.cache("count", [&](std::map<int, int>& histogram, int key) {
    ++calls;
    ++histogram[key];
    return histogram.size();
  });
  std::map<int, int> h{{1, 1}};
  CHECK(count(h, 2) == 2);
  CHECK(h == std::map<int, int>{{1, 1}, {2, 1}});  // modified, as a Python function may
  // The key is the value before the call: the same map again is a hit (and not modified).
  std::map<int, int> same{{1, 1}};
  CHECK(count(same, 2) == 2);
  CHECK(calls == 1);
  CHECK(same == std::map<int, int>{{1, 1}});
  CHECK(count(h, 2) == 2);  // a new value, a new key
  CHECK(calls == 2);
  CHECK(h.at(2) == 2);
  // Members that do not call the function take const objects and temporaries.
  const std::map<int, int> original{{1, 1}};
  CHECK(count.check_call_in_cache(original, 2));
  CHECK(count.check_call_in_cache(std::map<int, int>{{1, 1}}, 2));
  CHECK(count.key(original, 2) == count.key(same, 2));
  CHECK(count.clear(original, 2));

  std::map<int, int> shelved;
  CHECK(count.call_and_shelve(shelved, 7).get() == 1);
  CHECK(shelved.at(7) == 1);
  std::map<int, int> forced;
  CHECK(count.call(forced, 8).value == 1);
  CHECK(forced.at(8) == 1);

  joblib::memory off;
  std::vector<int> v{1, 2};
  auto append = off.cache("append", [](std::vector<int>& to, int x) {
    to.push_back(x);
    return to.size();
  });
  CHECK(append(v, 3) == 3);
  CHECK(v.back() == 3);
  CHECK(append.call_and_shelve(v, 4).get() == 4);
  CHECK(off.eval(
            "append", [](std::vector<int>& to) { return to.size(); }, v) == 4);
}

namespace {
int plus_one(int x) { return x + 1; }
int plus_two(int x) { return x + 2; }
}  // namespace

TEST_CASE("functions cached under one name: signatures kept apart, a warning when alike") {
  const test::temp_dir dir("conf_collision");
  joblib::memory mem{dir.path()};

  SECTION("different signatures never share entries") {
    auto a = mem.cache("f", [](int x, bool) { return x; }, {.ignore = {1}});
    auto b = mem.cache("f", [](int x, std::string) { return 10 * x; }, {.ignore = {1}});
    auto c = mem.cache("f", [](int x) { return 100 * x; });
    auto d = mem.cache("f", [](long x) { return 1000 * x; });
    CHECK(a(1, true) == 1);
    CHECK(b(1, "s") == 10);
    CHECK(c(1) == 100);
    CHECK(d(1L) == 1000);
    CHECK(a(1, false) == 1);  // still one entry per function
  }
  SECTION("equal signatures: one warning per name, as joblib warns of name collisions") {
    test::log_capture log;
    const auto inc = [](int x) { return x + 1; };
    mem.cache("g", inc);
    mem.cache("g", inc);  // the same function again
    mem.cache("p", plus_one);
    mem.cache("p", plus_one);
    mem.cache("v", inc, {.version = "1"});
    mem.cache("v", [](int x) { return x + 2; }, {.version = "2"});  // versions keep them apart
    joblib::memory{}.cache("g", [](int x) { return x + 3; });       // no cache, no collision
    CHECK(log.count(joblib::log_level::warning) == 0);

    mem.cache("g", [](int x) { return x + 2; });
    CHECK(log.count(joblib::log_level::warning) == 1);
    CHECK(log.contains("name collision"));
    CHECK(log.contains("'g'"));
    mem.cache("g", [](int x) { return x + 3; });  // reported once
    CHECK(log.count(joblib::log_level::warning) == 1);

    mem.cache("p", plus_two);  // one type, another function
    CHECK(log.count(joblib::log_level::warning) == 2);
    joblib::memory same_place{dir.path()};  // another memory on the same location
    same_place.cache("v", [](int x) { return x + 4; }, {.version = "1"});
    CHECK(log.count(joblib::log_level::warning) == 3);
  }
}
