// joblib-cpp internals: opening a file that must be a regular file, without ever blocking.
//
// open() of a FIFO for reading waits for a writer, forever; a lock timeout cannot help because
// the open never returns. Every file the library opens for reading or locking goes through
// open_regular_file: O_NONBLOCK for the open itself (a FIFO then opens at once), fstat to check
// that it is a regular file, then O_NONBLOCK is cleared again. Where a path may be planted by
// someone else (inside a shared cache), symbolic links at the last component are refused
// (O_NOFOLLOW), so that nothing is read, touched or created outside the cache through them.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "joblib/config.hpp"
#include "joblib/detail/os/errno.hpp"
#include "joblib/errors.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// What a path's last component may be.
enum class symlinks { follow, refuse };

/// An open descriptor and what fstat said about it.
struct opened_file {
  int fd = -1;
  struct ::stat info {};
};

/// The name of a file type that is not a regular file, for messages.
inline const char* file_type_name(mode_t mode) noexcept {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

/// Opens `path` with `flags` (O_RDONLY or O_RDWR, possibly O_CREAT with `mode`) as described
/// in the header comment. Returns an empty opened_file (fd -1) when the path does not exist
/// and O_CREAT was not given. Throws joblib::format_error(path, 0, ...) when it exists but is
/// not a regular file (or is a refused symbolic link), std::filesystem::filesystem_error for
/// other failures.
inline opened_file open_regular_file(const std::filesystem::path& path, int flags, symlinks links,
                                     mode_t mode = 0644) {
  flags |= O_NONBLOCK | O_CLOEXEC | (links == symlinks::refuse ? O_NOFOLLOW : 0);
  opened_file f;
  f.fd = ::open(path.c_str(), flags, mode);
  if (f.fd < 0) {
    if (errno == ENOENT && (flags & O_CREAT) == 0) return {};
    if (errno == ELOOP && links == symlinks::refuse) {
      throw format_error(path, 0, "is a symbolic link, which is not followed here");
    }
    throw_errno("cannot open", path);
  }
  if (::fstat(f.fd, &f.info) != 0) {
    const int error = errno;
    ::close(f.fd);
    throw_errno("cannot stat", path, error);
  }
  if (!S_ISREG(f.info.st_mode)) {
    ::close(f.fd);
    throw format_error(
        path, 0, std::string("is ") + file_type_name(f.info.st_mode) + ", not a regular file");
  }
  // Regular files never block; clear the flag anyway so that no later read can see EAGAIN.
  // F_SETFL changes only the status flags (O_APPEND, O_NONBLOCK, ...), none of which we set
  // besides O_NONBLOCK, so the flags we opened with, less O_NONBLOCK, need no F_GETFL first
  // (a syscall is a tenth of a small cache hit on a virtual machine).
  if (::fcntl(f.fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    const int error = errno;
    ::close(f.fd);
    throw_errno("cannot clear O_NONBLOCK on", path, error);
  }
  return f;
}

}  // namespace detail
JOBLIB_END_NAMESPACE
