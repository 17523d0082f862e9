// joblib-cpp internals: a whole file opened and memory-mapped read-only, read-write shared
// (writes reach the file) or copy-on-write (writes stay private to the process).
//
// Held through std::shared_ptr: every ndarray viewing the mapping keeps it alive through
// loaded_array::keep_alive, so the mapping lives exactly as long as its last view.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <system_error>

#include "joblib/config.hpp"
#include "joblib/detail/os/errno.hpp"
#include "joblib/detail/os/open_file.hpp"
#include "joblib/errors.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// How a file is mapped; mirrors numpy's mmap modes.
enum class map_access {
  read_only,      // 'r': PROT_READ, MAP_SHARED
  read_write,     // 'r+': PROT_READ|PROT_WRITE, MAP_SHARED (writes go to the file)
  copy_on_write,  // 'c': PROT_READ|PROT_WRITE, MAP_PRIVATE (writes stay in memory)
};

/// An open, mapped regular file. Not copyable; share it through std::shared_ptr.
class mapped_file {
 public:
  /// Opens and maps `path`. Throws std::filesystem::filesystem_error when it cannot be opened
  /// and joblib::format_error when it is not a regular file (a FIFO, a device: never waited
  /// for, see open_file.hpp), is empty, or is a symbolic link and `links` refuses them.
  ///
  /// With `may_copy` (the caller needs no mapping: mmap_mode::none), a small read-only file is
  /// read into memory instead: for a few KiB, mmap + page fault + munmap cost several times
  /// more than one read (it was a third of a small cache hit).
  static std::shared_ptr<mapped_file> open(const std::filesystem::path& path, map_access access,
                                           bool may_copy = false,
                                           symlinks links = symlinks::follow) {
    auto file = open_if_exists(path, access, may_copy, links);
    if (!file) {
      errno = ENOENT;
      throw_errno("cannot open", path);
    }
    return file;
  }

  /// Like open(), but nullptr when `path` does not exist: a cache miss asks up to three
  /// times, and a thrown exception cost more than the rest of the question.
  static std::shared_ptr<mapped_file> open_if_exists(const std::filesystem::path& path,
                                                     map_access access, bool may_copy = false,
                                                     symlinks links = symlinks::follow) {
    const opened_file f =
        open_regular_file(path, access == map_access::read_write ? O_RDWR : O_RDONLY, links);
    if (f.fd < 0) return nullptr;
    return std::shared_ptr<mapped_file>(
        new mapped_file(path, access, f.fd, static_cast<std::uint64_t>(f.info.st_size), may_copy));
  }

  /// Files up to this size are read rather than mapped when the caller allows it.
  static constexpr std::uint64_t copy_limit = 256 * 1024;

  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  ~mapped_file() { release(); }

  /// The whole file.
  std::span<std::byte> bytes() const noexcept { return {static_cast<std::byte*>(data_), size_}; }
  std::uint64_t size() const noexcept { return size_; }
  map_access access() const noexcept { return access_; }
  /// The open descriptor (read-only or read-write), e.g. for pread.
  int fd() const noexcept { return fd_; }
  const std::filesystem::path& path() const noexcept { return path_; }

  /// Reads [offset, offset + out.size()) with pread (no page faults on the mapping); the range
  /// must lie in the file. Throws std::filesystem::filesystem_error on I/O errors.
  void pread_exact(std::uint64_t offset, std::span<std::byte> out) const {
    auto* p = reinterpret_cast<char*>(out.data());
    std::size_t left = out.size();
    while (left != 0) {
      const ::ssize_t n = ::pread(fd_, p, left, static_cast<::off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("cannot read", path_);
      }
      if (n == 0) throw format_error(path_, offset, "unexpected end of file");
      p += n;
      left -= static_cast<std::size_t>(n);
      offset += static_cast<std::uint64_t>(n);
    }
  }

 private:
  mapped_file(const std::filesystem::path& path, map_access access, int fd, std::uint64_t size,
              bool may_copy)
      : path_(path), access_(access), fd_(fd), size_(size) {
    try {
      load(may_copy && access == map_access::read_only);
    } catch (...) {  // no destructor runs for a half-built object
      release();
      throw;
    }
  }

  void load(bool may_copy) {
    if (size_ == 0) throw format_error(path_, 0, "empty file (not a joblib container)");
    if (may_copy && size_ <= copy_limit) {
      allocate_copy(size_);
      pread_exact(0, bytes());
      return;
    }
    const int prot = access_ == map_access::read_only ? PROT_READ : PROT_READ | PROT_WRITE;
    const int share = access_ == map_access::copy_on_write ? MAP_PRIVATE : MAP_SHARED;
    void* p = ::mmap(nullptr, size_, prot, share, fd_, 0);
    if (p == MAP_FAILED) throw_errno("cannot map", path_);
    data_ = p;
  }

  void allocate_copy(std::size_t n) {
    data_ = ::operator new (n, std::align_val_t{64});
    copied_ = true;
  }

  void release_copy() noexcept {
    ::operator delete (data_, std::align_val_t{64});
    data_ = nullptr;
    copied_ = false;
  }

  void release() noexcept {
    if (copied_) {
      release_copy();
    } else if (data_ != nullptr) {
      ::munmap(data_, size_);
      data_ = nullptr;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::filesystem::path path_;
  map_access access_;
  int fd_ = -1;
  void* data_ = nullptr;
  std::size_t size_ = 0;
  bool copied_ = false;  // data_ is a heap copy, not a mapping
};

}  // namespace detail
JOBLIB_END_NAMESPACE
