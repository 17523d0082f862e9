// joblib-cpp internals (process backend): forking a worker process and what it may do.
//
// A worker is fork()ed from the calling thread at the call, so it holds a copy-on-write copy
// of everything the caller had: the task range, the captured data. What fork cannot copy are
// the caller's other threads, so the child must never wait for them: it forgets the global
// thread pool (a nested parallel call makes a fresh one), flushes nothing it did not write
// and leaves through _exit(), which runs no atexit handler and no static destructor. Before
// forking, the caller flushes its stdio buffers so that the child does not print them again.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <span>
#include <utility>

#include "joblib/config.hpp"
#include "joblib/parallel/detail/process/channel.hpp"
#include "joblib/parallel/detail/process/shared_arrays.hpp"
#include "joblib/parallel/thread_pool.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail::process {

/// What a worker is doing, in memory it shares with its caller: the task it runs and since
/// when. Written without a system call before each task, so that a worker that dies with
/// results still in its buffer is blamed for the right task, and an overdue task is seen
/// without asking the worker.
struct worker_status {
  std::atomic<std::uint64_t> running{0};    // index + 1 of the task it runs; 0: none yet
  std::atomic<std::int64_t> started_ns{0};  // steady_clock time the task started
};

/// A worker_status page shared (MAP_SHARED) between a caller and the worker it forks.
class shared_status {
 public:
  shared_status() {
    void* p = ::mmap(nullptr, sizeof(worker_status), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_system("cannot map a worker status page");
    status_ = new (p) worker_status();
  }
  shared_status(const shared_status&) = delete;
  shared_status& operator=(const shared_status&) = delete;
  ~shared_status() { ::munmap(status_, sizeof(worker_status)); }
  worker_status& get() const noexcept { return *status_; }

 private:
  worker_status* status_;
};

/// The pages that lie wholly inside [data, data + bytes): other objects may share the pages
/// at either end.
inline std::pair<void*, std::size_t> whole_pages(const void* data, std::size_t bytes) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) / page * page;
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) / page * page;
  if (end <= begin) return {nullptr, 0};
  return {reinterpret_cast<void*>(begin), end - begin};
}

/// Gives back the whole pages of storage nothing lives in yet (a vector's fresh capacity), so
/// that writing it faults in zero pages, huge ones where transparent huge pages are allowed on
/// request (a few faults for megabytes instead of one per 4 KiB). Pages this process had when
/// it last forked stay write-protected after the children are gone: the first write to each
/// would take a copy-on-write fault and a TLB shootdown across CPUs, several times dearer on a
/// VM.
inline void discard_pages(const void* data, std::size_t bytes) noexcept {
  const auto [begin, size] = whole_pages(data, bytes);
  if (size == 0) return;
  ::madvise(begin, size, MADV_DONTNEED);
  if (size >= (std::size_t{2} << 20)) ::madvise(begin, size, MADV_HUGEPAGE);
}

/// Keeps the whole pages of a buffer out of forked children (MADV_DONTFORK) while it lives.
/// The caller writes task results into such a buffer while its workers live; a page it shares
/// copy-on-write with them would cost a fault and a copy at the caller's first write to it.
/// Undone on destruction, so the buffer forks normally afterwards (the caller may fork again
/// with the results captured).
class fork_excluded_pages {
 public:
  fork_excluded_pages(const void* data, std::size_t bytes) {
    const auto [begin, size] = whole_pages(data, bytes);
    if (size != 0 && ::madvise(begin, size, MADV_DONTFORK) == 0) {
      begin_ = begin;
      size_ = size;
    }
  }
  fork_excluded_pages(const fork_excluded_pages&) = delete;
  fork_excluded_pages& operator=(const fork_excluded_pages&) = delete;
  ~fork_excluded_pages() {
    if (size_ != 0) ::madvise(begin_, size_, MADV_DOFORK);
  }

 private:
  void* begin_ = nullptr;
  std::size_t size_ = 0;
};

/// A running worker as the caller sees it.
struct worker_handle {
  pid_t pid = -1;
  unique_fd socket;  // the caller's end, non-blocking
};

/// In a worker process, its end of the socket to its caller; -1 elsewhere. A worker that
/// forks workers of its own (a nested process call) closes it in them, so that its caller sees
/// the end of the stream when the worker dies, not when its last descendant does.
inline int& socket_to_caller() noexcept {
  static int fd = -1;
  return fd;
}

/// Flushes what this process buffered for stdout/stderr, so that a forked child does not
/// write it a second time when it flushes its own output.
inline void flush_before_fork() {
  std::cout.flush();
  std::cerr.flush();
  std::clog.flush();
  std::fflush(nullptr);
}

/// Forks a worker that runs `body(socket)` and exits with its return value. In the child,
/// `inherited` (the caller's ends of the other workers' sockets) are closed first, so that a
/// worker's end of stream means its caller is gone, never that a sibling still holds it.
template <class Body>
worker_handle fork_worker(std::span<const int> inherited, Body&& body) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    throw_system("cannot create a worker socket");
  }
  const pid_t parent = ::getpid();
  flush_before_fork();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(pair[0]);
    ::close(pair[1]);
    throw_system("cannot fork a worker process", error);
  }
  if (pid == 0) {
    // The child. Die with the caller (SIGKILL when it exits or is killed), even if it died
    // between fork() and prctl().
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    ::close(pair[0]);
    for (int fd : inherited) ::close(fd);
    if (socket_to_caller() >= 0) ::close(socket_to_caller());
    socket_to_caller() = pair[1];
    thread_pool::forget_global_after_fork();
    int status = 1;
    try {
      status = body(pair[1]);
    } catch (...) {
      // The worker loop itself failed (the caller went away mid-message): nothing to report to.
    }
    flush_before_fork();  // the task's own output
    ::_exit(status);
  }
  ::close(pair[1]);
  const int flags = ::fcntl(pair[0], F_GETFL);
  ::fcntl(pair[0], F_SETFL, flags | O_NONBLOCK);
  return worker_handle{pid, unique_fd(pair[0])};
}

/// How a reaped worker ended.
struct exit_info {
  int signal = 0;        // the signal that killed it, or 0
  int exit_status = -1;  // its exit status, or -1 when a signal killed it
};

/// Waits for `pid` to end and says how it did. A SIGCHLD set to SIG_IGN by the program reaps
/// children automatically: then nothing is known (signal 0, exit status -1).
inline exit_info reap(pid_t pid) noexcept {
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid) break;
    if (r < 0 && errno == EINTR) continue;
    return {};
  }
  if (WIFSIGNALED(status)) return {WTERMSIG(status), -1};
  if (WIFEXITED(status)) return {0, WEXITSTATUS(status)};
  return {};
}

}  // namespace detail::process
JOBLIB_END_NAMESPACE
