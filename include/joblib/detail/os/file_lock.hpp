// joblib-cpp internals: exclusive locks between processes, one per key, in one shared file.
//
// A lock is a one-byte record lock (fcntl F_OFD_SETLK) at an offset derived from the key, in
// a lock file that is never removed. Open-file-description locks belong to the descriptor, not
// to the process, so two opens in one process exclude each other like two processes do, and
// the kernel drops a lock when its holder's descriptor closes, including when the holder is
// killed (SIGKILL, OOM): a dead process can never wedge the others, and no stale-lock
// heuristics (pid files, timestamps) are needed.
//
// Why not a lock file per key: creating and unlinking a file on every cache miss made ext4
// skip each recently freed inode when allocating the next one, and a run of misses slowed
// down quadratically (1.2 ms per miss after a few thousand). One file per folder creates
// nothing per lock.
#pragma once

#include <fcntl.h>
#include <unistd.h>
#ifndef F_OFD_SETLK
#include <sys/file.h>
#endif

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "joblib/config.hpp"
#include "joblib/detail/os/errno.hpp"
#include "joblib/detail/os/open_file.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// An acquired lock on one key of a lock file; released by the destructor or release().
/// Move-only. Not for sharing between threads: coordinate threads in memory first
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

  /// Tries once, without blocking, to lock `key` in the lock file `path` (created when
  /// missing). Returns an empty optional when another holder has that key.
  /// Throws std::filesystem::filesystem_error when the lock file cannot be opened or locked,
  /// joblib::format_error when something other than a regular file (a symbolic link, a FIFO)
  /// stands under its name.
  static std::optional<file_lock> try_acquire(const std::filesystem::path& path,
                                              std::uint64_t key) {
    // Never through a symbolic link (nothing is created outside the cache) and never blocking
    // on a FIFO planted under the lock file's name.
    const int fd = open_regular_file(path, O_RDWR | O_CREAT, symlinks::refuse).fd;
    if (lock_byte(fd, key)) return file_lock(path, fd);
    const int error = errno;
    ::close(fd);
    if (error == EAGAIN || error == EACCES || error == EINTR) return std::nullopt;
    throw_errno("cannot lock", path, error);
  }

  /// Waits for the lock, polling with a growing pause (1 ms up to 50 ms), for at most
  /// `timeout`. Returns an empty optional on timeout; callers then proceed without the lock
  /// (joblib::memory computes the value itself: at worst twice, never wrong).
  static std::optional<file_lock> acquire(const std::filesystem::path& path, std::uint64_t key,
                                          std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
      if (auto lock = try_acquire(path, key)) return lock;
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
  }

  /// True while this object holds a lock.
  bool owns_lock() const noexcept { return fd_ >= 0; }
  const std::filesystem::path& path() const noexcept { return path_; }

  /// Unlocks (closing the descriptor drops the record lock).
  void release() noexcept {
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
  }

 private:
  file_lock(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}

  // Locks the byte at an offset taken from `key` (62 bits: any offset is lockable, however
  // short the file). Where OFD locks are missing, flock() locks the whole file: every key
  // then waits for every other, which is slower but still correct.
  static bool lock_byte(int fd, std::uint64_t key) noexcept {
#ifdef F_OFD_SETLK
    struct ::flock range {};
    range.l_type = F_WRLCK;
    range.l_whence = SEEK_SET;
    range.l_start = static_cast<::off_t>(key >> 2);
    range.l_len = 1;
    range.l_pid = 0;  // required by F_OFD_* commands
    return ::fcntl(fd, F_OFD_SETLK, &range) == 0;
#else
    (void)key;
    return ::flock(fd, LOCK_EX | LOCK_NB) == 0;
#endif
  }

  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
