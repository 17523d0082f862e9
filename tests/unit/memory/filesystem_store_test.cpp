#include "joblib/memory/filesystem_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "catch.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using joblib::cache_limits;
using joblib::filesystem_store;

namespace {

void write_file(const fs::path& path, std::size_t bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << std::string(bytes, 'x');
}

// Makes `path` look last used `age` ago.
void age_by(const fs::path& path, std::chrono::seconds age) {
  fs::last_write_time(path, fs::file_time_type::clock::now() - age);
}

std::string key(int i) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex(32, '0');
  for (int pos = 31; pos >= 0 && i > 0; --pos, i /= 16) hex[pos] = digits[i % 16];
  std::swap(hex[0], hex[31]);  // spread keys over the fan-out folders
  return hex;
}
}  // namespace

TEST_CASE("a store keeps to its own folder of the location, marked as a cache, never committed") {
  const test::temp_dir location("store_root");
  filesystem_store store(location);
  CHECK(store.location() == location.path());
  const fs::path root = location / "joblib";
  CHECK(store.root() == root);
  std::ifstream tag(root / "CACHEDIR.TAG");
  std::string first_line;
  std::getline(tag, first_line);
  CHECK(first_line == "Signature: 8a477f597d28d172789f06886806bc55");
  std::ifstream ignore(root / ".gitignore");
  std::string content((std::istreambuf_iterator<char>(ignore)), std::istreambuf_iterator<char>());
  CHECK(content.find("\n*\n") != std::string::npos);
}

TEST_CASE("entries fan out by key under a safe folder per function") {
  const test::temp_dir location("store_layout");
  filesystem_store store(location);
  const fs::path root = location / "joblib";
  const auto path = store.entry_path("expensive", "abcdef0123456789abcdef0123456789");
  CHECK(path == root / "expensive" / "ab" / "abcdef0123456789abcdef0123456789.jlc");
  CHECK(store.lock_path("expensive") == store.function_dir("expensive") / ".lock");

  // Unsafe names become distinct safe folder names.
  const auto a = store.function_dir("ns::f");
  const auto b = store.function_dir("ns/f");
  const auto c = store.function_dir("../f");
  CHECK(a != b);
  CHECK(a.parent_path() == root);
  CHECK(b.parent_path() == root);
  CHECK(c.parent_path() == root);
  CHECK(a.filename().string().find(':') == std::string::npos);
  CHECK(store.function_dir("").parent_path() == root);
  CHECK(store.function_dir("").filename() != "");
}

TEST_CASE("scan, clear one function, clear all") {
  const test::temp_dir location("store_clear");
  filesystem_store store(location);
  const fs::path root = store.root();
  for (int i = 0; i < 5; ++i) write_file(store.entry_path("f", key(i)), 10);
  for (int i = 0; i < 3; ++i) write_file(store.entry_path("g", key(i)), 20);
  write_file(store.lock_path("f"), 0);  // not an entry
  CHECK(store.scan().size() == 8);
  CHECK(store.scan("f").size() == 5);
  CHECK(store.scan("g").front().bytes == 20);
  CHECK(store.clear("f") == 5);
  CHECK(store.scan().size() == 3);
  CHECK(store.clear_all() == 3);
  CHECK(store.scan().empty());
  CHECK(fs::exists(root / "CACHEDIR.TAG"));
}

TEST_CASE("eviction keeps the most recently used entries within every limit") {
  const test::temp_dir root("store_evict");
  filesystem_store store(root);
  // Entry i was last used (10 - i) minutes ago: entry 9 is the most recent.
  for (int i = 0; i < 10; ++i) {
    const auto path = store.entry_path("f", key(i));
    write_file(path, 100);
    age_by(path, std::chrono::minutes(10 - i));
  }
  auto survivors = [&] {
    std::set<std::string> names;
    for (const auto& e : store.scan()) names.insert(e.path.stem().string());
    return names;
  };

  SECTION("items") {
    const auto r = store.evict({.items_limit = 4});
    CHECK(r.removed_entries == 6);
    CHECK(r.remaining_entries == 4);
    CHECK(survivors() == std::set<std::string>{key(6), key(7), key(8), key(9)});
  }
  SECTION("bytes") {
    const auto r = store.evict({.bytes_limit = 350});
    CHECK(r.remaining_bytes == 300);
    CHECK(survivors() == std::set<std::string>{key(7), key(8), key(9)});
  }
  SECTION("age") {
    const auto r = store.evict({.age_limit = std::chrono::seconds(150)});
    CHECK(r.removed_entries == 8);  // entries used 3..10 minutes ago
    CHECK(survivors() == std::set<std::string>{key(8), key(9)});
  }
  SECTION("a hit refreshes an entry") {
    store.touch(store.entry_path("f", key(0)));
    store.evict({.items_limit = 2});
    CHECK(survivors() == std::set<std::string>{key(0), key(9)});
  }
  SECTION("a hit refreshes an entry through its open descriptor") {
    const int fd = ::open(store.entry_path("f", key(1)).c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    store.touch("/nonexistent-joblib-path", fd);  // the descriptor wins over the path
    ::close(fd);
    store.evict({.items_limit = 2});
    CHECK(survivors() == std::set<std::string>{key(1), key(9)});
  }
  SECTION("no limit removes nothing") {
    CHECK(store.evict({}).removed_entries == 0);
    CHECK(survivors().size() == 10);
  }
  fs::remove_all(root);
}

TEST_CASE("sweeping removes temporaries of dead writers and old ones only") {
  const test::temp_dir root("store_sweep");
  filesystem_store store(root);
  const auto entry = store.entry_path("f", key(1));
  auto temporary = [&](const std::string& pid, const std::string& random) {
    return entry.parent_path() /
           ("." + entry.filename().string() + "." + pid + "." + random + ".tmp");
  };
  const auto mine = temporary(std::to_string(::getpid()), "17");
  // pid_max on Linux is at most 2^22: this pid cannot be alive.
  const auto dead = temporary("99999999", "18");
  const auto old = temporary(std::to_string(::getpid()), "19");
  write_file(entry, 5);
  write_file(mine, 5);
  write_file(dead, 5);
  write_file(old, 5);
  age_by(old, std::chrono::hours(2));
  CHECK(store.sweep_temporaries() == 2);
  CHECK(fs::exists(entry));
  CHECK(fs::exists(mine));
  CHECK_FALSE(fs::exists(dead));
  CHECK_FALSE(fs::exists(old));
  fs::remove_all(root);
}

TEST_CASE("touch_if_older rewrites the time of use only when it is older than the precision") {
  const test::temp_dir root("store_touch_precision");
  filesystem_store store(root);
  const auto path = store.entry_path("f", key(1));
  write_file(path, 10);
  const auto recent = fs::file_time_type::clock::now() - std::chrono::seconds(10);
  fs::last_write_time(path, recent);
  store.touch_if_older(path, -1, std::chrono::seconds(60));
  CHECK(fs::last_write_time(path) == recent);

  const auto old = fs::file_time_type::clock::now() - std::chrono::seconds(120);
  fs::last_write_time(path, old);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  store.touch_if_older(path, fd, std::chrono::seconds(60));
  ::close(fd);
  CHECK(fs::last_write_time(path) > fs::file_time_type::clock::now() - std::chrono::seconds(5));
  fs::remove_all(root);
}
