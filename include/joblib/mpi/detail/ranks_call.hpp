// joblib-cpp internals (MPI backend): one parallel call on every rank.
//
// Every rank holds the same task range. Rank 0 coordinates: it sends each other rank batches
// of task indices (two in flight, so that a rank never waits for its next one), receives their
// results as the serialization core's bytes, sizes batches from their measured durations, and
// runs batches of its own between messages. Each rank runs a batch on its own n_jobs threads.
// The first failure stops the handing out; once every batch sent is back, rank 0 tells the
// ranks the call is over and broadcasts the outcome: the failure, rethrown on every rank, or
// the results (to every rank, unless they stay on rank 0).
//
// No rank spins while it waits: a rank with nothing to run polls with a growing sleep
// (messages.hpp), and rank 0 only waits when it has no batch of its own to run.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/mpi/detail/messages.hpp"
#include "joblib/parallel/cpu_count.hpp"
#include "joblib/parallel/detail/exception_transport.hpp"
#include "joblib/parallel/detail/progress.hpp"
#include "joblib/parallel/detail/remote/distributed_backend.hpp"
#include "joblib/parallel/options.hpp"
#include "joblib/serialize/detail/decode.hpp"
#include "joblib/serialize/detail/encode.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace mpi::detail {

using joblib::detail::distributed_call;
using joblib::detail::failed_task;

/// What auto batching aims a batch at: long enough that a rank's round trip to rank 0 is a
/// small part of it, and that rank 0 serves every rank in a fraction of it (see SCALING.md).
inline std::chrono::duration<double> target_batch_time(int ranks) {
  return std::chrono::duration<double>(std::max(2e-3, 20e-6 * ranks));
}

/// Rank 0 to a rank: run tasks [first, first + count), drop the batches not started yet (the
/// call failed), or the call is over.
struct command {
  enum kind_t : std::uint64_t { run = 0, drop = 1, over = 2 };
  std::uint64_t size = sizeof(command);  // messages.hpp's size prefix
  std::uint64_t kind = run;
  std::uint64_t first = 0;
  std::uint64_t count = 0;
};

/// Above this many bytes a result is sent by rendezvous: it moves only while the sender is in
/// an MPI call, so the sender waits for it instead of computing (rank 0 would wait meanwhile).
inline constexpr std::size_t eager_result_bytes = 64 * 1024;

/// A rank to rank 0, before the batch's bytes: its values, or the failure of one of its tasks.
struct result_header {
  std::uint64_t size = 0;  // messages.hpp's size prefix: the header and the bytes
  std::uint64_t first = 0;
  std::uint64_t count = 0;
  std::uint64_t failed = 0;        // 1: the bytes are a transported_exception; 2: dropped
  std::uint64_t failed_index = 0;  // the task that threw, when failed
};

/// How the call ended, as rank 0 broadcasts it.
struct call_outcome {
  std::uint64_t state = 0;  // 0 done, 1 a task failed, 2 cancelled
  std::uint64_t failed_index = 0;
  std::uint64_t failed_rank = 0;
  std::uint64_t batches = 0;  // batches of results broadcast (0 when they stay on rank 0)
};

class ranks_call {
 public:
  ranks_call(MPI_Comm comm, int rank, int ranks, distributed_call& call)
      : comm_(comm), rank_(rank), ranks_(ranks), call_(call), options_(*call.options) {}

  void run() {
    if (rank_ == 0) {
      coordinate();
    } else {
      work();
    }
    conclude();
  }

 private:
  using clock = std::chrono::steady_clock;

  struct in_flight {
    std::size_t first = 0;
    std::size_t count = 0;
    clock::time_point started{};  // sent, or when the batch before it on its rank came back
  };

  struct batch_bytes {
    std::size_t first = 0;
    std::size_t count = 0;
    std::vector<std::byte> bytes;  // result_header, then the values
  };

  // --- every rank ---------------------------------------------------------------------------

  unsigned threads() const { return effective_n_jobs(options_.n_jobs.value_or(1)); }

  // Runs a batch here: a message for rank 0, header first.
  std::vector<std::byte> run_batch(std::size_t first, std::size_t count) {
    std::vector<std::byte> bytes(sizeof(result_header));
    result_header h{0, first, count, 0, 0};
    if (std::optional<failed_task> f = call_.run(first, count, bytes)) {
      bytes.resize(sizeof(result_header));
      joblib::detail::write_value(f->exception, bytes, nullptr);
      h.failed = 1;
      h.failed_index = f->index;
    }
    h.size = bytes.size();
    std::memcpy(bytes.data(), &h, sizeof h);
    return bytes;
  }

  void store(std::size_t first, std::size_t count, std::span<const std::byte> values) {
    if (call_.store) call_.store(first, count, values);  // void tasks have no values
  }

  static result_header header_of(const std::vector<std::byte>& bytes) {
    result_header h;
    if (bytes.size() < sizeof h)
      throw error("joblib: a truncated result message of the MPI backend");
    std::memcpy(&h, bytes.data(), sizeof h);
    return h;
  }

  static std::span<const std::byte> body_of(const std::vector<std::byte>& bytes) {
    return std::span(bytes).subspan(sizeof(result_header));
  }

  // --- ranks other than 0 -------------------------------------------------------------------

  void work() {
    std::deque<command> queue;
    bool over = false;
    backoff wait;
    received message;
    for (;;) {
      while (try_receive(comm_, 0, command_tag, message)) {
        command c;
        if (message.bytes.size() != sizeof c)
          throw error("joblib: a malformed MPI backend command");
        std::memcpy(&c, message.bytes.data(), sizeof c);
        if (c.kind == command::over) {
          over = true;
        } else if (c.kind == command::drop) {
          for (const command& dropped : queue) {
            send_result({sizeof(result_header), dropped.first, dropped.count, 2, 0});
          }
          queue.clear();
        } else {
          queue.push_back(c);
        }
      }
      outbox_.progress();
      if (!queue.empty()) {
        const command c = queue.front();
        queue.pop_front();
        std::vector<std::byte> result =
            run_batch(static_cast<std::size_t>(c.first), static_cast<std::size_t>(c.count));
        const bool large = result.size() > eager_result_bytes;
        outbox_.send(comm_, 0, result_tag, std::move(result));
        if (large) outbox_.wait_all();
        wait.reset();
        continue;
      }
      if (over) break;
      wait.pause();
    }
    outbox_.wait_all();
  }

  void send_result(const result_header& h) {
    std::vector<std::byte> bytes(sizeof h);
    std::memcpy(bytes.data(), &h, sizeof h);
    outbox_.send(comm_, 0, result_tag, std::move(bytes));
  }

  // --- rank 0 -------------------------------------------------------------------------------

  void coordinate() {
    flights_.resize(static_cast<std::size_t>(ranks_));
    target_ = target_batch_time(ranks_);
    batch_size_ =
        options_.batch_size.value_or(0) != 0 ? static_cast<double>(*options_.batch_size) : 1.0;
    reporter_.emplace(options_, threads() * static_cast<unsigned>(ranks_),
                      2 * static_cast<std::size_t>(ranks_), "MPIBackend");
    // One batch for every rank before any gets a second.
    for (std::size_t depth = 1; depth <= 2; ++depth) {
      for (int r = 1; r < ranks_; ++r) top_up(r, depth);
    }
    backoff wait;
    received message;
    for (;;) {
      bool busy = false;
      while (try_receive(comm_, MPI_ANY_SOURCE, result_tag, message)) {
        received_batch(message.source, std::move(message.bytes));
        busy = true;
      }
      outbox_.progress();
      if (!stopping() && options_.stop.stop_possible() && options_.stop.stop_requested()) {
        cancelled_ = true;
        drop_queued();
      }
      if (reporter_->active()) reporter_->report(completed_, call_.total, batches_);
      if (!busy) {
        // Rank 0's own share, between messages.
        if (std::optional<in_flight> own = take_batch()) {
          flights_[0].push_back(*own);
          received_batch(0, run_batch(own->first, own->count));
          busy = true;
        }
      }
      if (nothing_in_flight() && (stopping() || next_ == call_.total)) break;
      if (busy) {
        wait.reset();
      } else {
        wait.pause();
      }
    }
    for (int r = 1; r < ranks_; ++r) send_command(r, {sizeof(command), command::over, 0, 0});
    outbox_.wait_all();
    if (!stopping()) reporter_->finish(completed_);
  }

  // The call failed or was cancelled: batches not started yet need not run.
  void drop_queued() {
    for (int r = 1; r < ranks_; ++r) send_command(r, {sizeof(command), command::drop, 0, 0});
  }

  bool stopping() const noexcept { return failure_.has_value() || cancelled_; }

  bool nothing_in_flight() const noexcept {
    return std::all_of(flights_.begin(), flights_.end(),
                       [](const std::deque<in_flight>& f) { return f.empty(); });
  }

  std::optional<in_flight> take_batch() {
    if (stopping() || next_ == call_.total) return std::nullopt;
    std::size_t size = options_.batch_size.value_or(0);
    if (size == 0) {
      size = static_cast<std::size_t>(batch_size_);
      // Guided: the last tasks spread over every rank.
      const std::size_t remaining = call_.total - next_;
      size = std::max<std::size_t>(
          1, std::min(size, remaining / (2 * static_cast<std::size_t>(ranks_))));
    }
    in_flight b{next_, std::min(size, call_.total - next_), clock::now()};
    next_ += b.count;
    ++batches_;
    return b;
  }

  // Keeps two batches in flight on rank r.
  // Gives rank r batches until it has `depth` in flight. A second one is a prefetch (the rank
  // never waits for its next batch) given only while every rank can still get one of its own:
  // a few long tasks must not queue behind each other on one rank while another idles.
  void top_up(int r, std::size_t depth = 2) {
    auto& flights = flights_[static_cast<std::size_t>(r)];
    while (flights.size() < depth) {
      if (!flights.empty() && call_.total - next_ < static_cast<std::size_t>(ranks_)) return;
      std::optional<in_flight> b = take_batch();
      if (!b) return;
      flights.push_back(*b);
      send_command(r, {sizeof(command), command::run, b->first, b->count});
    }
  }

  void send_command(int r, command c) {
    std::vector<std::byte> bytes(sizeof c);
    std::memcpy(bytes.data(), &c, sizeof c);
    outbox_.send(comm_, r, command_tag, std::move(bytes));
  }

  void received_batch(int r, std::vector<std::byte> bytes) {
    const result_header h = header_of(bytes);
    auto& flights = flights_[static_cast<std::size_t>(r)];
    if (flights.empty() || flights.front().first != h.first || flights.front().count != h.count) {
      throw error("joblib: rank " + std::to_string(r) +
                  " sent results of tasks it was not given (do all ranks run the same program?)");
    }
    const in_flight b = flights.front();
    flights.pop_front();
    const auto now = clock::now();
    if (!flights.empty()) flights.front().started = now;  // it waited behind this one
    if (h.failed == 2) {
      // Dropped after the call failed: nothing ran.
    } else if (h.failed != 0) {
      if (!failure_) {
        failure_ = std::move(bytes);
        failed_rank_ = r;
        drop_queued();
      }
    } else {
      adapt_batch_size(b, now);
      completed_ += b.count;
      store(b.first, b.count, body_of(bytes));
      if (!call_.results_on_root_only && !call_.void_results) {
        kept_.push_back({b.first, b.count, std::move(bytes)});
      }
    }
    if (r != 0) top_up(r);
  }

  // Auto batching: move the batch size toward what takes target_batch_time, as rank 0 sees it:
  // from when the batch could start until its result is here, the round trip and rank 0's
  // own delays included (a rank whose results come back late gets smaller batches, so the
  // call does not end waiting for one large batch).
  void adapt_batch_size(const in_flight& b, clock::time_point now) {
    if (options_.batch_size.value_or(0) != 0) return;
    const double took = std::chrono::duration<double>(now - b.started).count();
    const double ideal =
        took > 0 ? static_cast<double>(b.count) * target_.count() / took : 2 * batch_size_;
    batch_size_ = std::clamp((batch_size_ + ideal) / 2, 1.0, 2 * batch_size_);
  }

  // --- every rank, together -----------------------------------------------------------------

  // Rank 0 broadcasts the outcome; every rank throws the failure or stores the results.
  void conclude() {
    call_outcome outcome;
    std::vector<std::byte> failure;
    if (rank_ == 0) {
      if (failure_) {
        const result_header h = header_of(*failure_);
        outcome = {1, h.failed_index, static_cast<std::uint64_t>(failed_rank_), 0};
        const auto body = body_of(*failure_);
        failure.assign(body.begin(), body.end());
      } else if (cancelled_) {
        outcome.state = 2;
      } else {
        outcome.batches = kept_.size();
      }
    }
    check(MPI_Bcast(&outcome, sizeof outcome, MPI_BYTE, 0, comm_), "MPI_Bcast");
    if (outcome.state == 1) {
      broadcast(comm_, 0, failure);
      joblib::detail::transported_exception t;
      joblib::detail::read_value(t, failure, nullptr);
      std::rethrow_exception(
          joblib::detail::rebuild_exception(t, static_cast<std::size_t>(outcome.failed_index),
                                            "on MPI rank " + std::to_string(outcome.failed_rank)));
    }
    if (outcome.state == 2)
      throw cancelled_error("joblib: parallel call cancelled (on MPI rank 0)");
    share_results(static_cast<std::size_t>(outcome.batches));
  }

  // Every batch's values from rank 0 to the other ranks, in input order: a table of the
  // batches (first task, count, bytes), then one broadcast per batch, from where rank 0 keeps
  // it, into one buffer the other ranks reuse. Concatenating batches into fewer broadcasts
  // would cost a copy into fresh memory on every rank, and first touches of fresh pages cost
  // more than the broadcasts saved.
  void share_results(std::size_t batches) {
    if (batches == 0) return;
    std::vector<std::uint64_t> table(3 * batches);
    if (rank_ == 0) {
      std::sort(kept_.begin(), kept_.end(),
                [](const batch_bytes& a, const batch_bytes& b) { return a.first < b.first; });
      for (std::size_t i = 0; i < batches; ++i) {
        table[3 * i] = kept_[i].first;
        table[3 * i + 1] = kept_[i].count;
        table[3 * i + 2] = kept_[i].bytes.size() - sizeof(result_header);
      }
    }
    broadcast(comm_, 0, reinterpret_cast<std::byte*>(table.data()),
              table.size() * sizeof(std::uint64_t));
    std::vector<std::byte> buffer;
    for (std::size_t i = 0; i < batches; ++i) {
      const auto size = static_cast<std::size_t>(table[3 * i + 2]);
      std::byte* data = nullptr;
      if (rank_ == 0) {
        data = kept_[i].bytes.data() + sizeof(result_header);
      } else {
        if (buffer.size() < size) buffer.resize(size);
        data = buffer.data();
      }
      broadcast(comm_, 0, data, size);
      if (rank_ == 0) {
        kept_[i].bytes = {};  // sent: free it now
      } else {
        store(static_cast<std::size_t>(table[3 * i]), static_cast<std::size_t>(table[3 * i + 1]),
              std::span<const std::byte>(data, size));
      }
    }
  }

  MPI_Comm comm_;
  int rank_;
  int ranks_;
  distributed_call& call_;
  const parallel_options& options_;
  outbox outbox_;

  // Rank 0's state.
  std::vector<std::deque<in_flight>> flights_;  // per rank, rank 0's own included
  std::chrono::duration<double> target_{};
  double batch_size_ = 1;
  std::size_t next_ = 0;
  std::size_t completed_ = 0;
  std::size_t batches_ = 0;
  std::optional<std::vector<std::byte>> failure_;  // the first failed batch's message
  int failed_rank_ = 0;
  bool cancelled_ = false;
  std::vector<batch_bytes> kept_;  // results to broadcast
  std::optional<joblib::detail::progress_reporter> reporter_;
};

}  // namespace mpi::detail
JOBLIB_END_NAMESPACE
