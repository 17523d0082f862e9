// joblib-cpp internals (MPI backend): byte messages of any size, and waiting without spinning.
//
// MPI counts are int: a message above 2^31 - 1 bytes goes as a first part that starts with the
// whole message's size, then further parts on their own tag (one sender's parts arrive in the
// order they were sent). Sends are non-blocking and keep their buffer until MPI is done with
// it, so an executor starts its next batch while its last results travel.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace mpi::detail {

/// Throws joblib::error naming the MPI call that failed and MPI's reason.
inline void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw error(std::string("joblib: ") + call + " failed: " + std::string(text, length));
}

/// The largest part one MPI message carries. INT_MAX in use; tests lower it to split messages
/// of a few megabytes the way messages of gigabytes are.
inline std::size_t& max_part_bytes() noexcept {
  static std::size_t bytes = INT_MAX;
  return bytes;
}

/// Tags of the backend's messages (on the session's own communicator).
enum tag : int { command_tag = 1, result_tag = 2, part_tag = 3 };

/// A message's first 8 bytes: its whole size, parts included.
inline std::uint64_t message_size(const std::vector<std::byte>& first_part) {
  std::uint64_t size = 0;
  if (first_part.size() >= sizeof size) std::memcpy(&size, first_part.data(), sizeof size);
  return size;
}

/// Messages sent and not yet completed, each with its buffer.
class outbox {
 public:
  outbox() = default;
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;
  ~outbox() {
    try {
      wait_all();
    } catch (...) {
      // An MPI failure while unwinding: the job is lost anyway.
    }
  }

  /// Sends `bytes`, whose first 8 bytes hold bytes.size(), to `dest`.
  void send(MPI_Comm comm, int dest, int tag, std::vector<std::byte> bytes) {
    const std::size_t limit = max_part_bytes();
    sending& s = pending_.emplace_back();
    s.bytes = std::move(bytes);
    for (std::size_t offset = 0; offset == 0 || offset < s.bytes.size(); offset += limit) {
      const auto n = static_cast<int>(std::min(limit, s.bytes.size() - offset));
      MPI_Request& r = s.requests.emplace_back();
      check(MPI_Isend(s.bytes.data() + offset, n, MPI_BYTE, dest, offset == 0 ? tag : part_tag,
                      comm, &r),
            "MPI_Isend");
    }
    progress();
  }

  /// Releases the buffers of completed sends.
  void progress() {
    while (!pending_.empty()) {
      int done = 0;
      sending& s = pending_.front();
      check(MPI_Testall(static_cast<int>(s.requests.size()), s.requests.data(), &done,
                        MPI_STATUSES_IGNORE),
            "MPI_Testall");
      if (!done) return;
      pending_.pop_front();
    }
  }

  void wait_all() {
    for (sending& s : pending_) {
      check(
          MPI_Waitall(static_cast<int>(s.requests.size()), s.requests.data(), MPI_STATUSES_IGNORE),
          "MPI_Waitall");
    }
    pending_.clear();
  }

 private:
  struct sending {
    std::vector<std::byte> bytes;
    std::vector<MPI_Request> requests;
  };
  std::deque<sending> pending_;
};

/// A message that arrived: who sent it and its bytes.
struct received {
  int source = -1;
  std::vector<std::byte> bytes;
};

/// Receives a message on `tag` from `source` (or MPI_ANY_SOURCE) if one has arrived, with its
/// further parts.
inline bool try_receive(MPI_Comm comm, int source, int tag, received& out) {
  int arrived = 0;
  MPI_Message message;
  MPI_Status status;
  check(MPI_Improbe(source, tag, comm, &arrived, &message, &status), "MPI_Improbe");
  if (!arrived) {
    // Open MPI's probe looks at what it has already received before it polls the transport:
    // a message that just landed shows on a second look, not one wait later.
    check(MPI_Improbe(source, tag, comm, &arrived, &message, &status), "MPI_Improbe");
    if (!arrived) return false;
  }
  int count = 0;
  check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
  out.source = status.MPI_SOURCE;
  out.bytes.resize(static_cast<std::size_t>(count));
  check(MPI_Mrecv(out.bytes.data(), count, MPI_BYTE, &message, MPI_STATUS_IGNORE), "MPI_Mrecv");
  const std::uint64_t size = message_size(out.bytes);
  if (size < out.bytes.size() || (size > out.bytes.size() && out.bytes.size() < max_part_bytes())) {
    throw error("joblib: a message of the MPI backend from rank " + std::to_string(out.source) +
                " does not match its size (" + std::to_string(size) + " bytes, " +
                std::to_string(out.bytes.size()) + " in its first part)");
  }
  std::size_t offset = out.bytes.size();
  out.bytes.resize(size);
  while (offset < size) {
    const auto n = static_cast<int>(std::min(max_part_bytes(), size - offset));
    check(MPI_Recv(out.bytes.data() + offset, n, MPI_BYTE, out.source, part_tag, comm,
                   MPI_STATUS_IGNORE),
          "MPI_Recv");
    offset += static_cast<std::size_t>(n);
  }
  return true;
}

/// Broadcasts `size` bytes at `data` from `root`, in parts MPI counts can hold; every rank
/// knows the size.
inline void broadcast(MPI_Comm comm, int root, std::byte* data, std::size_t size) {
  for (std::size_t offset = 0; offset < size; offset += max_part_bytes()) {
    const auto n = static_cast<int>(std::min(max_part_bytes(), size - offset));
    check(MPI_Bcast(data + offset, n, MPI_BYTE, root, comm), "MPI_Bcast");
  }
}

/// Broadcasts `bytes` from `root`, its size first (the other ranks' vectors are resized).
inline void broadcast(MPI_Comm comm, int root, std::vector<std::byte>& bytes) {
  std::uint64_t size = bytes.size();
  check(MPI_Bcast(&size, 1, MPI_UINT64_T, root, comm), "MPI_Bcast");
  bytes.resize(size);
  broadcast(comm, root, bytes.data(), bytes.size());
}

/// Waits for a message without keeping a core busy: yields first, then sleeps for doubling
/// times up to 250 µs (a few thousand wake-ups a second, about 1 % of a core, and a message
/// waits at most that long). reset() after each message.
class backoff {
 public:
  void pause() {
    if (idle_rounds_ < 64) {
      ++idle_rounds_;
      std::this_thread::yield();
      return;
    }
    std::this_thread::sleep_for(sleep_);
    sleep_ = std::min(sleep_ * 2, std::chrono::microseconds(250));
  }
  void reset() noexcept {
    idle_rounds_ = 0;
    sleep_ = std::chrono::microseconds(10);
  }

 private:
  int idle_rounds_ = 0;
  std::chrono::microseconds sleep_{10};
};

}  // namespace mpi::detail
JOBLIB_END_NAMESPACE
