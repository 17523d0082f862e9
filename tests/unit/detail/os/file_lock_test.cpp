#include "joblib/detail/os/file_lock.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "catch.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using joblib::detail::file_lock;

namespace {}  // namespace

TEST_CASE("file_lock excludes a second holder of the same key until released") {
  const test::temp_dir dir("lock_basic");
  const fs::path path = dir / ".lock";
  {
    auto first = file_lock::try_acquire(path, 42);
    REQUIRE(first.has_value());
    CHECK(first->owns_lock());
    CHECK(fs::exists(path));
    // A second open in the same process is a second holder (OFD locks, not process locks).
    CHECK_FALSE(file_lock::try_acquire(path, 42).has_value());
    CHECK_FALSE(file_lock::acquire(path, 42, std::chrono::milliseconds(20)).has_value());
    // Other keys are independent, including ones that share the lock file.
    auto other = file_lock::try_acquire(path, 43 << 2);
    CHECK(other.has_value());
  }
  CHECK(fs::exists(path));  // the lock file stays: nothing is created or removed per lock
  CHECK(fs::file_size(path) == 0);
  auto again = file_lock::try_acquire(path, 42);
  CHECK(again.has_value());
  fs::remove_all(dir);
}

TEST_CASE("file_lock moves and releases explicitly") {
  const test::temp_dir dir("lock_move");
  const fs::path path = dir / "a.lock";
  auto lock = file_lock::try_acquire(path, 7);
  REQUIRE(lock);
  file_lock moved = std::move(*lock);
  CHECK_FALSE(lock->owns_lock());
  CHECK(moved.owns_lock());
  CHECK(moved.path() == path);
  CHECK_FALSE(file_lock::try_acquire(path, 7).has_value());
  moved.release();
  CHECK_FALSE(moved.owns_lock());
  CHECK(file_lock::try_acquire(path, 7).has_value());
  fs::remove_all(dir);
}

TEST_CASE("a lock held by a killed process is free at once") {
  const test::temp_dir dir("lock_kill");
  const fs::path path = dir / "entry.lock";
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto held = file_lock::try_acquire(path, 99);
    const char byte = held ? '1' : '0';
    (void)!::write(ready[1], &byte, 1);
    for (;;) ::pause();  // killed by the parent while holding the lock
  }
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  REQUIRE(byte == '1');
  CHECK_FALSE(file_lock::try_acquire(path, 99).has_value());
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  // The dead holder's lock is gone with it.
  CHECK(file_lock::acquire(path, 99, std::chrono::seconds(5)).has_value());
  ::close(ready[0]);
  ::close(ready[1]);
  fs::remove_all(dir);
}

TEST_CASE("file_lock reports a lock file it cannot create") {
  REQUIRE_THROWS_AS(file_lock::try_acquire("/nonexistent-dir-joblib/x.lock", 1),
                    fs::filesystem_error);
}
