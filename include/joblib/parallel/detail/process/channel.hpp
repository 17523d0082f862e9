// joblib-cpp internals (process backend): the socket between the caller and one worker
// process, and the messages on it.
//
// One AF_UNIX stream socket pair per worker. The caller writes commands: a batch of task
// indices [first, first + count), or count 0 to ask the worker to exit. The worker writes
// messages: the values of consecutive tasks, or one task's exception. A message that has
// arrays in shared memory carries that memory's file descriptor (SCM_RIGHTS), so no file of
// ours ever has a name that could outlive a killed process.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail::process {

/// A batch of tasks for a worker; count 0 asks it to exit.
struct command {
  std::uint64_t first = 0;
  std::uint64_t count = 0;
};

enum class message_type : std::uint32_t {
  values = 1,     ///< results of tasks [index, index + count), encoded one after the other
  exception = 2,  ///< task `index` threw; the payload is an encoded transported_exception
};

/// Fixed header before each message's payload.
struct message_header {
  message_type type{};
  std::uint32_t has_fd = 0;  ///< a file descriptor (the shared-memory arrays) came with it
  std::uint64_t index = 0;   ///< first task of the message
  std::uint64_t count = 0;   ///< tasks in the message (values), 1 (exception)
  std::uint64_t length = 0;  ///< payload bytes
};

/// A received message: the header, its payload (valid until the next receive) and the
/// descriptor that came with it (owned by the receiver of this value: close it).
struct message {
  message_header header;
  std::span<const std::byte> payload;
  int fd = -1;
};

[[noreturn]] inline void throw_system(const char* what, int error = errno) {
  throw std::system_error(error, std::generic_category(), std::string("joblib: ") + what);
}

/// Writes all of `bytes`, retrying after signals; false when the peer is gone (EPIPE,
/// ECONNRESET: the worker died, or the caller did). MSG_NOSIGNAL: never SIGPIPE.
inline bool send_all(int fd, std::span<const std::byte> bytes, int fd_to_pass = -1) {
  while (!bytes.empty()) {
    iovec io{const_cast<std::byte*>(bytes.data()), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &io;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (fd_to_pass >= 0) {
      std::memset(control, 0, sizeof control);
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
    }
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) return false;
      throw_system("cannot write to a worker socket");
    }
    fd_to_pass = -1;  // it travelled with the first byte
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

/// The worker's side: collects messages and writes them in as few system calls as it can.
class message_writer {
 public:
  explicit message_writer(int fd) noexcept : fd_(fd) {}

  /// Queues a message; one with a descriptor is sent at once, with what was queued before it.
  /// False when the caller is gone.
  bool add(message_type type, std::uint64_t index, std::uint64_t count,
           std::span<const std::byte> payload, int fd_to_pass = -1) {
    const message_header h{type, fd_to_pass >= 0 ? 1u : 0u, index, count, payload.size()};
    if (fd_to_pass >= 0 && !flush()) return false;
    const auto* p = reinterpret_cast<const std::byte*>(&h);
    buffer_.insert(buffer_.end(), p, p + sizeof h);
    buffer_.insert(buffer_.end(), payload.begin(), payload.end());
    if (fd_to_pass >= 0) {
      const bool ok = send_all(fd_, buffer_, fd_to_pass);
      buffer_.clear();
      return ok;
    }
    return buffer_.size() < flush_threshold || flush();
  }

  /// Bytes queued before they are sent. Small enough that the buffers of a worker (and the
  /// caller's receive buffer) stay a few pages: each page a fresh worker touches first costs a
  /// page fault.
  static constexpr std::size_t flush_threshold = 64 * 1024;

  /// Sends what is queued; false when the caller is gone.
  bool flush() {
    const bool ok = send_all(fd_, buffer_);
    buffer_.clear();
    return ok;
  }

 private:
  int fd_;
  std::vector<std::byte> buffer_;
};

/// Reads a command, blocking; an empty optional when the caller closed the socket (or died).
inline std::optional<command> read_command(int fd) {
  command c;
  auto* p = reinterpret_cast<char*>(&c);
  std::size_t got = 0;
  while (got < sizeof c) {
    const ssize_t n = ::recv(fd, p + got, sizeof c - got, 0);
    if (n == 0) return std::nullopt;
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    got += static_cast<std::size_t>(n);
  }
  return c;
}

/// The caller's side of one worker socket (non-blocking): receives bytes and descriptors as
/// they come and cuts them into messages.
class message_reader {
 public:
  message_reader() = default;
  message_reader(const message_reader&) = delete;
  message_reader& operator=(const message_reader&) = delete;
  ~message_reader() {
    for (int fd : fds_) ::close(fd);
  }

  /// Reads what the socket has, as far as the buffer holds it (the rest waits for the next
  /// call, so the buffer stays the size of the largest message). False at end of stream (the
  /// worker exited or died).
  bool receive(int fd) {
    compact();
    if (buffer_.size() - end_ < min_read) buffer_.resize(end_ + min_read);
    while (end_ < buffer_.size()) {
      iovec io{buffer_.data() + end_, buffer_.size() - end_};
      msghdr msg{};
      msg.msg_iov = &io;
      msg.msg_iovlen = 1;
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds)];
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
        if (errno == ECONNRESET) return false;
        throw_system("cannot read from a worker socket");
      }
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
          const std::size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
          for (std::size_t i = 0; i < k; ++i) {
            int passed;
            std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            fds_.push_back(passed);
          }
        }
      }
      if (n == 0) return false;
      end_ += static_cast<std::size_t>(n);
    }
    return true;
  }

  /// The next complete message, if one has arrived. Its payload stays valid until the next
  /// call of receive() or next().
  std::optional<message> next() {
    compact();
    if (end_ - begin_ < sizeof(message_header)) return std::nullopt;
    message m;
    std::memcpy(&m.header, buffer_.data() + begin_, sizeof m.header);
    if (m.header.length > end_ - begin_ - sizeof m.header) {
      // Make room for the whole payload at once rather than doubling through it.
      const std::size_t need = begin_ + sizeof m.header + m.header.length;
      if (buffer_.size() < need) buffer_.resize(need);
      return std::nullopt;
    }
    m.payload =
        std::span<const std::byte>(buffer_.data() + begin_ + sizeof m.header, m.header.length);
    if (m.header.has_fd != 0) {
      if (fds_.empty()) throw_system("a worker message lost its descriptor", EPROTO);
      m.fd = fds_.front();
      fds_.pop_front();
    }
    begin_ += sizeof m.header + m.header.length;
    return m;
  }

 private:
  static constexpr std::size_t min_read = 64 * 1024;
  static constexpr std::size_t max_fds = 8;

  // Moves the unread bytes to the front once the read ones are the larger part.
  void compact() {
    if (begin_ == 0) return;
    if (begin_ == end_) {
      begin_ = end_ = 0;
    } else if (begin_ >= end_ - begin_) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
  }

  std::vector<std::byte> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::deque<int> fds_;
};

}  // namespace detail::process
JOBLIB_END_NAMESPACE
