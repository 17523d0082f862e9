#include "joblib/memory.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <joblib/parallel.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

// Collects what the library logs for the duration of a test.
class log_capture {
 public:
  log_capture() {
    previous_ = joblib::set_log_handler([this](joblib::log_level level, std::string_view m) {
      std::lock_guard lock(mutex_);
      lines_.push_back({level, std::string(m)});
    });
  }
  ~log_capture() { joblib::set_log_handler(previous_); }
  std::size_t count(joblib::log_level level, const std::string& needle) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [l, text] : lines_) n += l == level && text.find(needle) != std::string::npos;
    return n;
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<joblib::log_level, std::string>> lines_;
  joblib::log_handler previous_;
};

struct counter {
  std::atomic<int> calls{0};
};

struct multiplier {
  int factor;
  int scale(int x) const { return x * factor; }
};
}  // namespace

TEST_CASE("a function called twice with equal arguments runs once") {
  const test::temp_dir dir("twice");
  joblib::memory mem{dir};
  counter c;
  auto add = mem.cache("add", [&](int a, int b) {
    ++c.calls;
    return a + b;
  });
  CHECK(add(1, 2) == 3);
  CHECK(add(1, 2) == 3);
  CHECK(c.calls == 1);
  CHECK(add(2, 1) == 3);
  CHECK(c.calls == 2);

  SECTION("functors and member functions through a lambda") {
    struct square {
      counter* c;
      double operator()(double x) const {
        ++c->calls;
        return x * x;
      }
    };
    auto f = mem.cache("square", square{&c});
    CHECK(f(3.0) == 9.0);
    CHECK(f(3.0) == 9.0);
    CHECK(c.calls == 3);
    const multiplier m{4};
    auto g = mem.cache("scale", [&](int x) {
      ++c.calls;
      return m.scale(x);
    });
    CHECK(g(5) == 20);
    CHECK(g(5) == 20);
    CHECK(c.calls == 4);
  }
  SECTION("a copy shares the cache") {
    auto copy = add;
    CHECK(copy(1, 2) == 3);
    CHECK(c.calls == 2);
  }
  const auto stats = mem.stats();
  CHECK(stats.stores >= 2);
  CHECK(stats.hits >= 1);
  fs::remove_all(dir);
}

TEST_CASE("a memory without location always recomputes") {
  joblib::memory off;
  CHECK(off.location().empty());
  counter c;
  auto f = off.cache("f", [&](int x) {
    ++c.calls;
    return x;
  });
  f(1);
  f(1);
  CHECK(c.calls == 2);
  CHECK_FALSE(f.check_call_in_cache(1));
  CHECK(off.stats().hits == 0);
}

TEST_CASE("location, strings, containers and void results") {
  const test::temp_dir dir("types");
  joblib::memory mem{dir};
  CHECK(mem.location() == dir);
  counter c;
  auto join = mem.cache("join", [&](const std::vector<std::string>& parts, const std::string& sep) {
    ++c.calls;
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
    return out;
  });
  const std::vector<std::string> parts{"a", "b", "c"};
  CHECK(join(parts, "-") == "a-b-c");
  CHECK(join(parts, "-") == "a-b-c");
  CHECK(join(parts, "+") == "a+b+c");
  CHECK(c.calls == 2);

  auto side_effect = mem.cache("side_effect", [&](int) { ++c.calls; });
  side_effect(1);
  side_effect(1);
  CHECK(c.calls == 3);
  CHECK(side_effect.check_call_in_cache(1));
  fs::remove_all(dir);
}

TEST_CASE("ignored arguments are left out of the key") {
  const test::temp_dir dir("ignore");
  joblib::memory mem{dir};
  counter c;
  auto f = mem.cache("f",
                     [&](int x, bool debug) {
                       ++c.calls;
                       return debug ? x : x;
                     },
                     {.ignore = {1}});
  f(1, true);
  f(1, false);
  CHECK(c.calls == 1);
  f(2, false);
  CHECK(c.calls == 2);
  fs::remove_all(dir);
}

TEST_CASE("check_call_in_cache, clear of one call and of the function") {
  const test::temp_dir dir("check");
  joblib::memory mem{dir};
  auto f = mem.cache("f", [](int x) { return x * 2; });
  CHECK_FALSE(f.check_call_in_cache(1));
  f(1);
  f(2);
  CHECK(f.check_call_in_cache(1));
  CHECK(f.clear(1));
  CHECK_FALSE(f.check_call_in_cache(1));
  CHECK(f.check_call_in_cache(2));
  f.clear();
  CHECK_FALSE(f.check_call_in_cache(2));
  f(3);
  mem.clear();
  CHECK_FALSE(f.check_call_in_cache(3));
  CHECK(fs::exists(dir / "joblib" / "CACHEDIR.TAG"));
  fs::remove_all(dir);
}

TEST_CASE("call_and_shelve, get, clear, get throws") {
  const test::temp_dir dir("shelve");
  joblib::memory mem{dir};
  counter c;
  auto f = mem.cache("f", [&](int x) {
    ++c.calls;
    return std::vector<double>(3, x);
  });
  auto shelved = f.call_and_shelve(7);
  CHECK(shelved.args_id() == f.key(7).hex());
  CHECK(shelved.args_id().size() == 32);
  CHECK(shelved.get() == std::vector<double>(3, 7.0));
  CHECK(c.calls == 1);
  f.call_and_shelve(7);
  CHECK(c.calls == 1);
  shelved.clear();
  REQUIRE_THROWS_AS(shelved.get(), joblib::error);
  fs::remove_all(dir);
}

TEST_CASE("call recomputes and returns the metadata") {
  const test::temp_dir dir("call");
  joblib::memory mem{dir};
  counter c;
  auto f = mem.cache("slow", [&](int x, std::string s) {
    ++c.calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return s + std::to_string(x);
  });
  f(1, "a");
  const auto result = f.call(1, "a");
  CHECK(c.calls == 2);
  CHECK(result.value == "a1");
  CHECK(result.metadata.function == "slow");
  CHECK(result.metadata.args_id == f.key(1, std::string("a")).hex());
  CHECK(result.metadata.input_args == "slow(1, 'a')");
  CHECK(result.metadata.duration >= std::chrono::milliseconds(15));
  CHECK(result.metadata.bytes > 0);
  CHECK(std::chrono::system_clock::now() - result.metadata.created < std::chrono::minutes(1));
  const auto attributes =
      joblib::inspect(dir / "joblib" / "slow" / result.metadata.args_id.substr(0, 2) /
                      (result.metadata.args_id + ".jlc"))["attributes"];
  CHECK(attributes["input_args"] == "slow(1, 'a')");
  fs::remove_all(dir);
}

TEST_CASE("a changed version, argument type or return type recomputes") {
  const test::temp_dir dir("version");
  joblib::memory mem{dir};
  counter c;
  auto v1 = mem.cache("f",
                      [&](int x) {
                        ++c.calls;
                        return x;
                      },
                      {.version = "1"});
  auto v2 = mem.cache("f",
                      [&](int x) {
                        ++c.calls;
                        return x;
                      },
                      {.version = "2"});
  v1(1);
  v1(1);
  v2(1);
  CHECK(c.calls == 2);
  auto wider = mem.cache("f",
                         [&](long x) {
                           ++c.calls;
                           return x;
                         },
                         {.version = "1"});
  wider(1L);
  CHECK(c.calls == 3);
  auto as_double = mem.cache("f",
                             [&](int x) {
                               ++c.calls;
                               return double(x);
                             },
                             {.version = "1"});
  as_double(1);
  CHECK(c.calls == 4);
  fs::remove_all(dir);
}

TEST_CASE("a damaged or deleted entry gives one warning and a recompute") {
  const test::temp_dir dir("damaged");
  joblib::memory mem{dir};
  counter c;
  auto f = mem.cache("f", [&](int x) {
    ++c.calls;
    return std::vector<int>(100, x);
  });
  f(1);
  const auto entry = mem.store()->scan().at(0).path;

  SECTION("garbage over the entry") {
    {
      std::ofstream out(entry, std::ios::binary | std::ios::trunc);
      out << "this is not a joblib container";
    }
    log_capture log;
    CHECK(f(1) == std::vector<int>(100, 1));
    CHECK(c.calls == 2);
    CHECK(log.count(joblib::log_level::warning, "unusable cache entry") == 1);
    CHECK(mem.stats().corrupt_entries == 1);
    CHECK(f(1) == std::vector<int>(100, 1));  // the recomputed entry is good
    CHECK(c.calls == 2);
  }
  SECTION("a flipped bit in the payload") {
    std::fstream io(entry, std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(static_cast<std::streamoff>(fs::file_size(entry) / 2));
    char byte = 0;
    io.read(&byte, 1);
    io.seekp(static_cast<std::streamoff>(fs::file_size(entry) / 2));
    byte = static_cast<char>(byte ^ 0x10);
    io.write(&byte, 1);
    io.close();
    log_capture log;
    CHECK(f(1) == std::vector<int>(100, 1));
    CHECK(c.calls == 2);
  }
  SECTION("the entry file deleted") {
    fs::remove(entry);
    CHECK(f(1) == std::vector<int>(100, 1));
    CHECK(c.calls == 2);
    CHECK(mem.stats().corrupt_entries == 0);
  }
  fs::remove_all(dir);
}

TEST_CASE("mmap_mode::r results are read-only arrays; a writable one is refused") {
  const test::temp_dir dir("memory_mmap");
  joblib::memory mem{dir.path(), {.mmap = joblib::mmap_mode::r}};
  auto make = [](std::size_t n) {
    joblib::ndarray<double> a({n});
    for (std::size_t i = 0; i < n; ++i) a(i) = static_cast<double>(i);
    return joblib::ndarray<const double>(std::move(a));
  };
  auto cached = mem.cache("ramp", make);
  const auto first = cached(std::size_t{100000});
  const auto second = cached(std::size_t{100000});
  CHECK(first(99999) == 99999.0);
  CHECK(second(99999) == 99999.0);
  CHECK_FALSE(first.owns_data());  // views of the entry file, from the first call on
  CHECK_FALSE(second.owns_data());
  CHECK(mem.stats().hits == 1);

  auto writable = mem.cache(
      "writable", [](int n) { return joblib::ndarray<double>({static_cast<std::size_t>(n)}); });
  CHECK_THROWS_AS(writable(3), joblib::invalid_argument);  // misuse, refused before computing
  CHECK(mem.stats().corrupt_entries == 0);
}

TEST_CASE("expires_after expires entries") {
  const test::temp_dir dir("expire");
  joblib::memory mem{dir};
  counter c;
  auto f = mem.cache("f",
                     [&](int x) {
                       ++c.calls;
                       return x;
                     },
                     {.validate = joblib::expires_after(std::chrono::milliseconds(600))});
  f(1);
  f(1);
  CHECK(c.calls == 1);
  CHECK(f.check_call_in_cache(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  CHECK_FALSE(f.check_call_in_cache(1));
  f(1);
  CHECK(c.calls == 2);
  fs::remove_all(dir);
}

TEST_CASE("reduce_size keeps the most recently used entries") {
  const test::temp_dir dir("reduce");
  joblib::memory mem{dir};
  auto f = mem.cache("f", [](int x) { return std::vector<double>(1000, x); });
  for (int i = 0; i < 6; ++i) f(i);
  // Age the entries so that entry i was used (6 - i) minutes ago, then use entry 0 again.
  for (const auto& e : mem.store()->scan()) {
    const std::string input = joblib::inspect(e.path)["attributes"]["input_args"];
    const int i = std::stoi(input.substr(2));
    fs::last_write_time(e.path, fs::file_time_type::clock::now() - std::chrono::minutes(6 - i));
  }
  f(0);  // a hit refreshes it
  SECTION("items") {
    mem.reduce_size({.items_limit = 3});
    CHECK(f.check_call_in_cache(0));
    CHECK(f.check_call_in_cache(5));
    CHECK(f.check_call_in_cache(4));
    CHECK_FALSE(f.check_call_in_cache(3));
    CHECK_FALSE(f.check_call_in_cache(1));
  }
  SECTION("bytes") {
    const auto one = mem.store()->scan().at(0).bytes;
    mem.reduce_size({.bytes_limit = 2 * one + one / 2});
    CHECK(mem.stats().entries_on_disk == 2);
    CHECK(f.check_call_in_cache(0));
    CHECK(f.check_call_in_cache(5));
  }
  SECTION("age") {
    const auto result = mem.reduce_size({.age_limit = std::chrono::seconds(150)});
    CHECK(result.removed_entries == 3);  // used 3, 4 and 5 minutes ago
    CHECK(f.check_call_in_cache(0));
    CHECK(f.check_call_in_cache(4));
    CHECK(f.check_call_in_cache(5));
  }
  CHECK(mem.stats().evictions >= 2);
  fs::remove_all(dir);
}

TEST_CASE("limits are enforced automatically after stores") {
  const test::temp_dir dir("auto_limits");
  joblib::memory mem{dir, {.items_limit = 10}};
  auto f = mem.cache("f", [](int x) { return x; });
  for (int i = 0; i < 100; ++i) f(i);
  CHECK(mem.stats().entries_on_disk <= 11);
  CHECK(f.check_call_in_cache(99));
  fs::remove_all(dir);
}

TEST_CASE("verbose messages follow joblib's, through the log hook") {
  const test::temp_dir dir("verbose");
  joblib::memory mem{dir, {.verbose = 2}};
  auto f = mem.cache("expensive", [](int a, int b) { return a * b; });
  log_capture log;
  f(10, 20);
  f(10, 20);
  CHECK(log.count(joblib::log_level::info, "[Memory] Calling expensive...\nexpensive(10, 20)") ==
        1);
  CHECK(log.count(joblib::log_level::info, "expensive - 0.0s, 0.0min") == 1);
  CHECK(log.count(joblib::log_level::info, "[Memory]: Loading expensive(10, 20)") == 1);
  fs::remove_all(dir);
}

TEST_CASE("threads calling the same function with the same arguments compute once") {
  const test::temp_dir dir("single_flight");
  joblib::memory mem{dir};
  counter c;
  auto f = mem.cache("slow", [&](int x) {
    ++c.calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return x * 3;
  });
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      if (f(5) != 15) ++wrong;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(wrong == 0);
  CHECK(c.calls == 1);
  fs::remove_all(dir);
}

TEST_CASE("memorized functions inside joblib::parallel tasks, and eval") {
  const test::temp_dir dir("parallel");
  joblib::memory mem{dir};
  counter c;
  auto f = mem.cache("square", [&](int x) {
    ++c.calls;
    return x * x;
  });
  auto run = [&] {
    return joblib::parallel({.n_jobs = 2})(std::views::iota(0, 50) |
                                           std::views::transform(joblib::delayed(f)));
  };
  auto first = run();
  auto second = run();
  CHECK(first == second);
  CHECK(first[7] == 49);
  CHECK(c.calls == 50);
  CHECK(mem.eval(
            "twice", [](int x) { return 2 * x; }, 21) == 42);
  fs::remove_all(dir);
}
