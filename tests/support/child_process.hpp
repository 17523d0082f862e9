// Test helpers: run a piece of a test in a forked child (for limits and identities that must
// not touch the test process), cap its address space, drop root.
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <fstream>
#include <new>
#include <string>

namespace test {

/// Exit statuses of in_child beyond fn's own.
inline constexpr int child_bad_alloc = 101;
inline constexpr int child_other_exception = 102;

/// Runs fn() in a forked child and returns what it returned (its exit status, 0..100), or
/// child_bad_alloc / child_other_exception when it threw, or 128 + the signal that killed it.
/// The child only runs fn and leaves with _exit: no atexit handlers, no flushing of the
/// parent's buffers. Keep fn to the calling thread (the child has no other threads).
template <class Fn>
int in_child(Fn&& fn) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    int status = child_other_exception;
    try {
      status = fn();
    } catch (const std::bad_alloc&) {
      status = child_bad_alloc;
    } catch (...) {
      status = child_other_exception;
    }
    ::_exit(status);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// Caps this process's address space (RLIMIT_AS) at its current size plus `extra` bytes, so
/// that any allocation beyond fails. For a child: in_child([] { limit_address_space(...); }).
inline void limit_address_space(std::size_t extra) {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  statm >> pages;
  const auto now = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE));
  const rlimit limit{now + extra, now + extra};
  ::setrlimit(RLIMIT_AS, &limit);
}

/// Memory sanitizers reserve and map memory their own way: address-space limits do not
/// apply to them.
inline constexpr bool address_space_limits_work =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    false;
#else
    true;
#endif
#else
    true;
#endif

/// In a child: when running as root, becomes `nobody` (uid/gid 65534), so that file
/// permissions apply; true when permissions now apply.
inline bool drop_root() {
  if (::geteuid() != 0) return true;
  return ::setgid(65534) == 0 && ::setuid(65534) == 0;
}

}  // namespace test
