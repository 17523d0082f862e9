// joblib-cpp internals: write a file atomically (temp file in the target directory + rename).
//
// The bytes go to "<dir>/.<name>.<pid>.<random>.tmp" opened with O_EXCL; commit() optionally
// fsyncs the file, renames it over the final name (atomic on POSIX) and optionally fsyncs the
// directory. Until commit() the final name is untouched, so a crash or an exception mid-write
// never leaves a partial file there nor damages an older file at that name; the destructor
// removes an uncommitted temp file. Concurrent writers to one path each have their own temp
// file and the last rename wins: readers always see one complete file.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// Throws std::filesystem::filesystem_error for the current errno.
[[noreturn]] inline void throw_errno(const std::string& what, const std::filesystem::path& path) {
  throw std::filesystem::filesystem_error("joblib: " + what, path,
                                          std::error_code(errno, std::generic_category()));
}

/// A file being written under a temporary name; see the header comment.
class atomic_file {
 public:
  /// Creates the temp file next to `target`. Throws std::filesystem::filesystem_error.
  explicit atomic_file(std::filesystem::path target, bool durable = false)
      : target_(std::move(target)), durable_(durable) {
    if (target_.filename().empty()) {
      throw std::filesystem::filesystem_error("joblib: not a file name", target_,
                                              std::make_error_code(std::errc::is_a_directory));
    }
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
      const std::uint64_t r = (std::uint64_t{rd()} << 32) ^ rd();
      temp_ = target_;
      // Built with += (not a chain of +): GCC 12 at -O3 reports a bogus -Wrestrict on the
      // chained form (GCC bug 105329).
      std::string name = ".";
      name += target_.filename().string();
      name += '.';
      name += std::to_string(::getpid());
      name += '.';
      name += std::to_string(r);
      name += ".tmp";
      temp_.replace_filename(name);
      fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) return;
      if (errno != EEXIST) throw_errno("cannot create temporary file", temp_);
    }
    throw_errno("cannot create temporary file", temp_);
  }

  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  /// Removes the temp file unless commit() succeeded.
  ~atomic_file() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
  }

  /// Appends `bytes` (retrying short writes and EINTR).
  void write(std::span<const std::byte> bytes) {
    const auto* p = reinterpret_cast<const char*>(bytes.data());
    std::size_t left = bytes.size();
    while (left != 0) {
      // Linux caps one write at ~2 GiB; larger requests are simply short writes.
      const ::ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("cannot write", temp_);
      }
      p += n;
      left -= static_cast<std::size_t>(n);
      size_ += static_cast<std::uint64_t>(n);
    }
  }

  /// Appends `count` zero bytes (alignment padding).
  void write_zeros(std::size_t count) {
    static constexpr std::byte zeros[4096]{};
    while (count != 0) {
      const std::size_t n = count < sizeof zeros ? count : sizeof zeros;
      write(std::span<const std::byte>(zeros, n));
      count -= n;
    }
  }

  /// Pads with zeros up to the next multiple of `alignment` (a power of two).
  void align_to(std::uint64_t alignment) {
    const std::uint64_t rem = size_ & (alignment - 1);
    if (rem != 0) write_zeros(static_cast<std::size_t>(alignment - rem));
  }

  /// Bytes written so far (the offset of the next write).
  std::uint64_t size() const noexcept { return size_; }

  /// The temporary file's path.
  const std::filesystem::path& temp_path() const noexcept { return temp_; }

  /// Makes the file visible under the target name (fsync first when durable).
  void commit() {
    if (durable_ && ::fsync(fd_) != 0) throw_errno("cannot fsync", temp_);
    if (::close(fd_) != 0) {
      fd_ = -1;
      throw_errno("cannot close", temp_);
    }
    fd_ = -1;
    // Replacing a large file frees its page cache when its last reference goes, which the
    // kernel does inside rename() (~65 ms per 400 MB here, more while it is under writeback).
    // Holding a descriptor on the old file moves that work to a short-lived background thread
    // that closes it, off the caller's path.
    int old_fd = ::open(target_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (old_fd >= 0) {
      struct ::stat st {};
      if (::fstat(old_fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (64 << 20)) {
        ::close(old_fd);
        old_fd = -1;
      }
    }
    if (::rename(temp_.c_str(), target_.c_str()) != 0) {
      const int saved = errno;
      if (old_fd >= 0) ::close(old_fd);
      errno = saved;
      throw_errno("cannot rename into", target_);
    }
    committed_ = true;
    if (old_fd >= 0) release_in_background(old_fd);
    if (durable_) {
      // The rename is durable only once the directory entry is on disk.
      auto dir = target_.parent_path();
      if (dir.empty()) dir = ".";
      const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
      }
    }
  }

 private:
  static void release_in_background(int fd) noexcept {
    try {
      std::thread([fd] { ::close(fd); }).detach();
    } catch (...) {
      ::close(fd);  // no thread available: pay the cost here
    }
  }

  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool durable_ = false;
  bool committed_ = false;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
