// joblib-cpp internals: an exclusive lock between processes, held on a lock file.
//
// Built on flock(2): the kernel drops the lock when its holder's descriptor closes, including
// when the holder is killed (SIGKILL, OOM), so a dead process can never wedge the others and
// no stale-lock heuristics (pid files, timestamps) are needed.
//
// The lock file is removed by its holder on release, so lock files do not pile up. That opens
// the classic race (a waiter opens the file, the holder unlinks it, the waiter then locks an
// orphaned inode); it is closed by checking, after locking, that the path still names the
// inode we locked, and starting over when it does not.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// An acquired lock; releasing it (destructor or release()) removes the lock file.
/// Move-only. Not for sharing between threads of one process: flock locks belong to an open
/// file description, so two threads of one process must coordinate in memory first
/// (joblib::memory does, with its single-flight table).
class file_lock {
 public:
  file_lock() = default;
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;
  file_lock(file_lock&& other) noexcept
      : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
  file_lock& operator=(file_lock&& other) noexcept {
    if (this != &other) {
      release();
      path_ = std::move(other.path_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~file_lock() { release(); }

  /// Tries once, without blocking. Returns an empty optional when another process (or another
  /// open file description in this one) holds the lock.
  /// Throws std::filesystem::filesystem_error when the lock file cannot be created.
  static std::optional<file_lock> try_acquire(const std::filesystem::path& path) {
    for (;;) {
      const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) {
        throw std::filesystem::filesystem_error("joblib: cannot create lock file", path,
                                                std::error_code(errno, std::generic_category()));
      }
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        ::close(fd);
        if (error == EWOULDBLOCK || error == EINTR) return std::nullopt;
        throw std::filesystem::filesystem_error("joblib: cannot lock", path,
                                                std::error_code(error, std::generic_category()));
      }
      if (names_same_file(path, fd)) return file_lock(path, fd);
      // The previous holder removed the file between our open() and flock(): start over.
      ::close(fd);
    }
  }

  /// Waits for the lock, polling with a growing pause (1 ms up to 50 ms), for at most
  /// `timeout`. Returns an empty optional on timeout; callers then proceed without the lock
  /// (joblib::memory computes the value itself: at worst twice, never wrong).
  static std::optional<file_lock> acquire(const std::filesystem::path& path,
                                          std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
      if (auto lock = try_acquire(path)) return lock;
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
  }

  /// True while this object holds a lock.
  bool owns_lock() const noexcept { return fd_ >= 0; }
  const std::filesystem::path& path() const noexcept { return path_; }

  /// Removes the lock file, then unlocks. Unlink comes first so that a waiter that locks the
  /// old inode afterwards sees it is orphaned and retries (see names_same_file).
  void release() noexcept {
    if (fd_ < 0) return;
    ::unlink(path_.c_str());
    ::close(fd_);  // closing the last descriptor drops the flock
    fd_ = -1;
  }

 private:
  file_lock(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}

  static bool names_same_file(const std::filesystem::path& path, int fd) noexcept {
    struct stat by_fd {};
    struct stat by_path {};
    if (::fstat(fd, &by_fd) != 0 || ::stat(path.c_str(), &by_path) != 0) return false;
    return by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
  }

  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
