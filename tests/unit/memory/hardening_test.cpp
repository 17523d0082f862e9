// The cache under trouble: user files beside and inside it, entries replaced by other things,
// links planted in it, a full disk, a read-only or missing location. It must only ever remove
// what it created, never hang, never return a wrong value, and degrade to computing uncached
// (with one warning) rather than throw, unless strict.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <joblib/memory.hpp>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "child_process.hpp"
#include "log_capture.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int twice(int x) { return 2 * x; }

// In a child: 0 when a strict memory at `location` makes call(function) throw
// std::filesystem::filesystem_error, `otherwise` when it returns.
template <class F, class Arg>
int strict_throws(const fs::path& location, F function, Arg arg, int otherwise) {
  joblib::memory strict{location, {.strict = true}};
  auto call = strict.cache("f", function);
  try {
    call(arg);
    return otherwise;
  } catch (const fs::filesystem_error&) {
    return 0;
  }
}

}  // namespace

TEST_CASE("the cache removes only what it created: user files beside and inside it survive") {
  const test::temp_dir dir("hard_user_files");
  // Beside the cache folder, in the location the user gave.
  write_text(dir / "photos" / "holiday.jpg", "jpeg");
  write_text(dir / "results" / "experiment.jlc", "mine");
  joblib::memory mem{dir.path()};
  auto f = mem.cache("f", twice);
  f(1);
  f(2);
  // Inside the cache folder: things that look a little like ours.
  const fs::path cache = dir / "joblib";
  const fs::path entry = mem.store()->entry_path("f", f.key(1).hex());
  const std::vector<fs::path> user_files = {
      cache / "photos" / "holiday.jpg",
      cache / "f" / "notes.txt",
      cache / "f" / "ab" / "abcd.jlc",                                     // not a key
      cache / "f" / "zz" / (f.key(1).hex() + ".jlc"),                      // not its fan-out folder
      entry.parent_path() / (f.key(1).hex() + ".jlc.bak"),                 // not our name
      cache / "results" / "00" / "0123456789abcdef0123456789abcdeg.jlc"};  // 'g' is no hex
  for (const auto& file : user_files) write_text(file, "user data");

  CHECK(mem.stats().entries_on_disk == 2);
  const auto evicted = mem.reduce_size({.items_limit = 0});
  CHECK(evicted.removed_entries == 2);
  f(3);
  f.clear();
  f(4);
  mem.clear();
  CHECK_FALSE(f.check_call_in_cache(4));
  CHECK(read_text(dir / "photos" / "holiday.jpg") == "jpeg");
  CHECK(read_text(dir / "results" / "experiment.jlc") == "mine");
  for (const auto& file : user_files) CHECK(read_text(file) == "user data");
  CHECK(fs::exists(cache / "CACHEDIR.TAG"));
}

TEST_CASE("an entry replaced by a FIFO, a directory or another call's entry is recomputed") {
  const test::temp_dir dir("hard_replaced");
  test::log_capture log;
  joblib::memory mem{dir.path()};
  std::atomic<int> calls{0};
  auto f = mem.cache("f", [&](int x) {
    ++calls;
    return 2 * x;
  });
  const fs::path one = mem.store()->entry_path("f", f.key(1).hex());
  const fs::path two = mem.store()->entry_path("f", f.key(2).hex());
  f(1);
  f(2);

  SECTION("a FIFO: never waited for") {
    fs::remove(one);
    REQUIRE(::mkfifo(one.c_str(), 0644) == 0);
    CHECK(f(1) == 2);
    CHECK(calls == 3);
    CHECK(mem.stats().corrupt_entries == 1);
    CHECK(f(1) == 2);  // stored again, a regular file now
    CHECK(calls == 3);
  }
  SECTION("a non-empty directory: the value is returned, not stored") {
    fs::remove(one);
    write_text(one / "inside", "x");
    CHECK(f(1) == 2);
    CHECK(f(1) == 2);
    CHECK(mem.stats().store_failures >= 1);
    CHECK(log.count(joblib::log_level::warning) >= 1);
    CHECK(read_text(one / "inside") == "x");
    joblib::memory strict{dir.path(), {.strict = true}};
    auto g = strict.cache("f", [](int x) { return 2 * x; });
    CHECK_THROWS_AS(g(1), fs::filesystem_error);
  }
  SECTION("the intact entry of another call under this call's name") {
    fs::copy_file(two, one, fs::copy_options::overwrite_existing);
    CHECK(f(1) == 2);  // not 4: the stored key is compared on every hit
    CHECK(calls == 3);
    CHECK(mem.stats().corrupt_entries == 1);
  }
}

TEST_CASE("links planted in a shared cache are not followed") {
  const test::temp_dir dir("hard_links");
  const test::temp_dir outside("hard_links_outside");
  write_text(outside / "precious.txt", "precious");
  const auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(24);
  fs::last_write_time(outside / "precious.txt", old_time);

  // A dangling link as CACHEDIR.TAG, before the memory exists.
  fs::create_directories(dir / "joblib");
  fs::create_symlink(outside / "tag", dir / "joblib" / "CACHEDIR.TAG");
  joblib::memory mem{dir.path()};
  CHECK_FALSE(fs::exists(outside / "tag"));

  auto f = mem.cache("f", twice);
  // A dangling link as the lock file: the call computes without the lock, creates nothing.
  fs::create_directories(mem.store()->function_dir("f"));
  fs::create_symlink(outside / "lock", mem.store()->lock_path("f"));
  CHECK(f(1) == 2);
  CHECK_FALSE(fs::exists(outside / "lock"));

  // An entry replaced by a link to a user file: neither read nor touched.
  const fs::path entry = mem.store()->entry_path("f", f.key(1).hex());
  fs::remove(entry);
  fs::create_symlink(outside / "precious.txt", entry);
  CHECK(f(1) == 2);
  CHECK(read_text(outside / "precious.txt") == "precious");
  CHECK(fs::last_write_time(outside / "precious.txt") == old_time);
  mem.clear();
  CHECK(read_text(outside / "precious.txt") == "precious");
}

TEST_CASE("a full disk: every caller gets the value, one warning, no temporary left") {
  const test::temp_dir dir("hard_full");
  joblib::memory mem{dir.path()};
  auto big =
      mem.cache("big", [](int n) { return std::vector<double>(static_cast<std::size_t>(n), 1.5); });
  big(10);  // the folders exist
  const int status = test::in_child([&] {
    // Writes past 64 KiB fail (EFBIG) as on a full disk; the signal that would kill us is off.
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{64 * 1024, 64 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    test::log_capture log;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        if (big(100000) != std::vector<double>(100000, 1.5)) ++wrong;
      });
    }
    for (auto& thread : threads) thread.join();
    if (wrong != 0) return 1;
    if (mem.stats().store_failures < 1) return 2;
    if (log.count(joblib::log_level::warning) != 1) return 3;  // reported once
    for (const auto& item : fs::recursive_directory_iterator(dir.path())) {
      if (item.path().extension() == ".tmp") return 4;
    }
    return strict_throws(
        dir.path(), [](int n) { return std::vector<double>(static_cast<std::size_t>(n), 1.5); },
        200000, 5);
  });
  CHECK(status == 0);
}

TEST_CASE("a read-only cache: hits work, misses compute and warn, eviction counts nothing") {
  const test::temp_dir dir("hard_readonly");
  joblib::memory writer{dir.path()};
  auto f = writer.cache("f", twice);
  for (int i = 0; i < 4; ++i) f(i);
  const int status = test::in_child([&] {
    // Everything readable and nothing writable, whatever the umask was (a root umask of 077
    // made the entries unreadable for nobody); then permissions apply to root too, by
    // becoming nobody.
    for (const auto& item : fs::recursive_directory_iterator(dir.path())) {
      ::chmod(item.path().c_str(), item.is_directory() ? 0555 : 0444);
    }
    ::chmod(dir.path().c_str(), 0555);
    if (!test::drop_root()) return 10;
    test::log_capture log;
    joblib::memory mem{dir.path()};
    auto g = mem.cache("f", twice);
    if (g(2) != 4 || mem.stats().hits != 1) return 1;  // a hit
    if (g(9) != 18 || g(9) != 18) return 2;            // misses compute
    if (mem.stats().store_failures != 2) return 3;
    if (log.count(joblib::log_level::warning) != 1) return 4;
    const auto evicted = mem.reduce_size({.items_limit = 0});
    if (evicted.removed_entries != 0 || evicted.remaining_entries != 4) return 5;
    return strict_throws(dir.path(), twice, 10, 6);
  });
  CHECK(status == 0);
}

TEST_CASE("a location that cannot be created: a warning and no caching, or strict throws") {
  const test::temp_dir dir("hard_nolocation");
  write_text(dir / "file", "a file, not a folder");
  test::log_capture log;
  joblib::memory mem{dir / "file" / "cache"};
  CHECK(mem.location().empty());
  CHECK(log.contains("caching is off"));
  int calls = 0;
  auto f = mem.cache("f", [&](int x) {
    ++calls;
    return x;
  });
  CHECK(f(1) == 1);
  CHECK(f(1) == 1);
  CHECK(calls == 2);
  CHECK_THROWS_AS(joblib::memory(dir / "file" / "cache", {.strict = true}), fs::filesystem_error);
}
