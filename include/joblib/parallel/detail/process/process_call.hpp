// joblib-cpp internals (process backend): one call of joblib::parallel on worker processes.
//
// The calling thread is the dispatcher. It forks up to n_jobs workers at the call (each holds
// the task range copy-on-write), hands each worker batches of task *indices* through its
// socket (two batches in flight, so a worker never waits for the next one), and waits in
// poll() for results, worker deaths and deadlines. Workers run their batches and send the
// values of consecutive tasks back in one message (the serialization core's bytes; large
// arrays in shared memory, see shared_arrays.hpp), or a task's exception on its own.
//
// What goes wrong costs one task:
// - an exception comes back as a transported_exception and is rebuilt with its type;
// - a worker that dies (signal, abort, exit) is reaped; the task it was running is named in a
//   worker_crashed_error and its other tasks are handed to the other workers;
// - with a timeout, a worker whose task is overdue is killed at the deadline;
// - with retries, a task that threw or crashed runs again on a worker forked after the failure
//   (the worker that threw is retired, a crashed one is gone);
// - in collect mode each failure becomes that task's outcome and the call goes on; otherwise the
//   first failure kills every worker and is thrown.
//
// Batch sizes adapt as the thread backend's do, but aim at `target_batch_time` (a round trip
// through a socket costs tens of microseconds, a thread hand-off less than one).
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/parallel/detail/dispenser.hpp"
#include "joblib/parallel/detail/exception_transport.hpp"
#include "joblib/parallel/detail/process/channel.hpp"
#include "joblib/parallel/detail/process/shared_arrays.hpp"
#include "joblib/parallel/detail/process/worker_process.hpp"
#include "joblib/parallel/detail/progress.hpp"
#include "joblib/parallel/detail/remote/encoded_batch.hpp"
#include "joblib/parallel/options.hpp"
#include "joblib/parallel/outcome.hpp"
#include "joblib/serialize/detail/decode.hpp"
#include "joblib/serialize/detail/encode.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail::process {

/// What auto batching aims a batch at on worker processes.
inline constexpr std::chrono::milliseconds target_batch_time{2};

/// How the results of a process call are handed out.
enum class process_delivery { list, collect, in_order, completion_order };

/// Resolved settings of one process call.
struct process_settings {
  unsigned workers = 1;
  std::size_t fixed_batch = 0;  // 0: auto
  std::size_t window = 0;       // generators: batches dispatched ahead of the consumer
  process_delivery mode = process_delivery::list;
  std::optional<std::chrono::duration<double>> timeout;
  unsigned retries = 0;
  std::size_t max_tasks_per_worker = 0;  // 0: no limit
  std::size_t max_nbytes = std::size_t{1} << 20;
  std::filesystem::path temp_folder;
};

/// One parallel call on worker processes over an indexable range of calls `V`.
template <class V>
class process_call {
 public:
  using result_type = task_result_t<V>;
  static constexpr bool is_void = std::is_void_v<result_type>;
  using value_type = std::conditional_t<is_void, std::monostate, result_type>;

  process_call(V& tasks, const parallel_options& options, process_settings settings)
      : tasks_(tasks),
        total_(static_cast<std::size_t>(std::ranges::size(tasks))),
        settings_(std::move(settings)),
        stop_(options.stop),
        reporter_(options, settings_.workers,
                  settings_.window ? settings_.window : 2 * std::size_t{settings_.workers},
                  "ProcessBackend") {
    if (settings_.mode == process_delivery::list) {
      if constexpr (!is_void) {
        if constexpr (!std::is_same_v<result_type, bool>) {
          // Fresh pages (see whole_pages), written before the forks and kept out of them.
          results_.reserve(total_);
          discard_pages(results_.data(), total_ * sizeof(result_type));
          results_.resize(total_);
          results_private_.emplace(results_.data(), total_ * sizeof(result_type));
        } else {
          results_.resize(total_);
        }
      }
    } else if (settings_.mode == process_delivery::collect) {
      outcomes_.resize(total_);
    }
    batch_size_ = settings_.fixed_batch ? static_cast<double>(settings_.fixed_batch) : 1.0;
  }

  process_call(const process_call&) = delete;
  process_call& operator=(const process_call&) = delete;
  ~process_call() { kill_all(); }

  /// Runs every task; the results in input order, or throws the first failure.
  auto run_list() {
    start();
    while (completed_ < total_) step();
    shut_down();
    reporter_.finish(completed_);
    results_private_.reset();
    if constexpr (!is_void) return std::move(results_);
  }

  /// Runs every task; one outcome per task, in input order.
  std::vector<outcome<result_type>> run_collect() {
    start();
    while (completed_ < total_) step();
    shut_down();
    reporter_.finish(completed_);
    std::vector<outcome<result_type>> out;
    out.reserve(total_);
    for (auto& o : outcomes_) out.push_back(std::move(*o));
    return out;
  }

  /// Forks the first workers and dispatches (generators, at their creation).
  void start() {
    started_ = true;
    top_up();
  }

  /// A generator's next result; an empty optional at the end. Throws the first failure.
  std::optional<value_type> next_result() {
    if (!started_) start();
    for (;;) {
      if (settings_.mode == process_delivery::completion_order && !unordered_.empty()) {
        value_type v = std::move(unordered_.front());
        unordered_.pop_front();
        ++consumed_;
        return v;
      }
      if (settings_.mode == process_delivery::in_order) {
        auto it = ordered_.find(next_yield_);
        if (it != ordered_.end()) {
          value_type v = std::move(it->second);
          ordered_.erase(it);
          ++next_yield_;
          ++consumed_;
          return v;
        }
      }
      if (completed_ == total_) {
        shut_down();
        reporter_.finish(completed_);
        return std::nullopt;
      }
      step();
    }
  }

  /// Kills the workers (a dropped generator, a failed call).
  void kill_all() noexcept {
    for (auto& w : workers_) ::kill(w->handle.pid, SIGKILL);
    for (auto& w : workers_) reap(w->handle.pid);
    workers_.clear();
  }

 private:
  using clock = std::chrono::steady_clock;

  struct assigned_batch {
    std::size_t first = 0;
    std::size_t count = 0;
    std::size_t received = 0;  // tasks of the batch finished so far
    clock::time_point started{};
  };

  struct worker {
    shared_status status;
    worker_handle handle;
    message_reader reader;
    std::deque<assigned_batch> batches;  // at most two
    std::uint64_t serial = 0;            // fork order: retries go to workers forked later
    std::size_t tasks_given = 0;
    bool retiring = false;  // gets no more batches; exits when its batches are done
  };

  struct retry {
    std::size_t index;
    std::uint64_t after_serial;  // run on a worker whose serial is greater
  };

  // --- the worker's side --------------------------------------------------------------------

  // The body of a worker process: runs the batches it is sent until told to stop.
  int worker_main(int socket, worker_status& status) {
    message_writer out(socket);
    shared_array_sink sink(settings_.max_nbytes, settings_.temp_folder);
    std::vector<std::byte> stream;   // the values of the message being built
    std::vector<std::byte> payload;  // reused for every message
    // Appends the message's values to `stream`, growing it geometrically: one writer per
    // message, not one sizing pass and resize per value (tiny tasks spent a third of their
    // time there).
    std::optional<value_writer> writer;
    std::size_t tasks_run = 0;
    // Completion order: each result goes out as soon as it exists.
    const bool flush_each = settings_.mode == process_delivery::completion_order;
    const bool timed = settings_.timeout.has_value();
    while (const auto c = read_command(socket)) {
      if (c->count == 0) break;
      std::size_t pending_first = c->first;
      std::size_t pending = 0;
      auto send_values = [&] {
        if (pending == 0) return true;
        writer.reset();  // trims `stream` to what was written
        unique_fd shared;
        sink.finish(stream, payload, shared);
        stream.clear();
        const bool ok =
            out.add(message_type::values, pending_first, pending, payload, shared.get());
        pending_first += pending;
        pending = 0;
        return ok;
      };
      for (std::size_t i = c->first; i < c->first + c->count; ++i) {
        if (timed) status.started_ns.store(now_ns(), std::memory_order_relaxed);
        status.running.store(i + 1, std::memory_order_release);
        try {
          if constexpr (is_void) {
            std::invoke(tasks_[static_cast<std::ranges::range_difference_t<V>>(i)]);
          } else {
            const result_type value =
                std::invoke(tasks_[static_cast<std::ranges::range_difference_t<V>>(i)]);
            if (!writer) writer.emplace(stream, &sink);
            const std::size_t mark = writer->position();
            try {
              encode(*writer, value);
            } catch (...) {
              writer.reset();  // a value that cannot be encoded leaves nothing behind
              stream.resize(mark);
              throw;
            }
          }
          ++pending;
        } catch (...) {
          const transported_exception t = describe_exception(std::current_exception());
          if (!send_values()) return 1;
          payload.clear();
          write_value(t, payload, nullptr);
          if (!out.add(message_type::exception, i, 1, payload)) return 1;
          pending_first = i + 1;
        }
        if (flush_each && (!send_values() || !out.flush())) return 1;
        // Long batches go out in pieces of a few pages (see message_writer).
        if (writer && writer->position() >= message_writer::flush_threshold && !send_values()) {
          return 1;
        }
      }
      if (!send_values() || !out.flush()) return 1;
      tasks_run += c->count;
      if (settings_.max_tasks_per_worker != 0 && tasks_run >= settings_.max_tasks_per_worker) break;
    }
    return 0;
  }

  // --- the caller's side --------------------------------------------------------------------

  bool work_left() const noexcept {
    return next_index_ < total_ || !requeued_.empty() || !retries_.empty();
  }

  // Forks workers while there is work no live worker will take, then dispatches.
  void top_up() {
    make_way_for_retries();
    std::size_t usable = 0;
    for (auto& w : workers_) usable += w->retiring ? 0 : 1;
    while (usable < worker_limit() && work_left()) {
      spawn();
      ++usable;
    }
    dispatch();
  }

  std::size_t worker_limit() const noexcept {
    return std::min<std::size_t>(settings_.workers, total_);
  }

  // A retry runs on a worker forked after its failure. When every worker is at least as old
  // as that failure and no more may be forked (a worker failed a second time after the first
  // failure's fresh worker came), the oldest retires after its batches, to be replaced by one.
  void make_way_for_retries() {
    if (retries_.empty()) return;
    std::uint64_t newest_failure = 0;
    for (const auto& r : retries_) newest_failure = std::max(newest_failure, r.after_serial);
    worker* oldest = nullptr;
    std::size_t usable = 0;
    for (auto& w : workers_) {
      if (w->retiring) continue;
      ++usable;
      if (w->serial > newest_failure) return;  // it takes the retries
      if (oldest == nullptr || w->serial < oldest->serial) oldest = w.get();
    }
    if (usable >= worker_limit() && oldest != nullptr) oldest->retiring = true;
  }

  void spawn() {
    std::vector<int> inherited;
    inherited.reserve(workers_.size());
    for (auto& w : workers_) inherited.push_back(w->handle.socket.get());
    auto w = std::make_unique<worker>();
    w->serial = ++forks_;
    worker_status& status = w->status.get();
    w->handle =
        fork_worker(inherited, [this, &status](int socket) { return worker_main(socket, status); });
    workers_.push_back(std::move(w));
  }

  // A generator hands out new tasks only this far ahead of its consumer. Retries and requeued
  // tasks lie behind that horizon and always go: the consumer may be waiting for them.
  bool window_full() const noexcept {
    if (settings_.window == 0) return false;
    const auto per_batch = static_cast<std::size_t>(std::max(1.0, batch_size_));
    return next_index_ - consumed_ >= settings_.window * per_batch;
  }

  // Hands batches to workers with room for them: first one to each idle worker, then a
  // second to each (so that few tasks spread over every worker instead of queueing on one).
  void dispatch() {
    for (std::size_t depth = 1; depth <= 2; ++depth) {
      for (auto& w : workers_) {
        if (w->retiring || w->batches.size() >= depth) continue;
        auto b = take_work(*w);
        if (b) send_batch(*w, *b);
      }
    }
  }

  std::optional<assigned_batch> take_work(const worker& w) {
    std::size_t quota = SIZE_MAX;
    if (settings_.max_tasks_per_worker != 0) {
      if (w.tasks_given >= settings_.max_tasks_per_worker) return std::nullopt;
      quota = settings_.max_tasks_per_worker - w.tasks_given;
    }
    for (auto it = retries_.begin(); it != retries_.end(); ++it) {
      if (w.serial > it->after_serial) {
        assigned_batch b{it->index, 1};
        retries_.erase(it);
        return b;
      }
    }
    const std::size_t size = std::min(quota, next_batch_size());
    if (!requeued_.empty()) {
      auto& r = requeued_.front();
      assigned_batch b{r.first, std::min(size, r.count)};
      r.first += b.count;
      r.count -= b.count;
      if (r.count == 0) requeued_.pop_front();
      return b;
    }
    if (next_index_ < total_ && !window_full()) {
      assigned_batch b{next_index_, std::min(size, total_ - next_index_)};
      next_index_ += b.count;
      return b;
    }
    return std::nullopt;
  }

  std::size_t next_batch_size() const noexcept {
    if (settings_.fixed_batch) return settings_.fixed_batch;
    auto size = static_cast<std::size_t>(batch_size_);
    // Guided scheduling: the last tasks spread over every worker.
    const std::size_t remaining = total_ - next_index_;
    size = std::min(size, remaining / (2 * std::size_t{settings_.workers}));
    return std::max<std::size_t>(1, size);
  }

  void send_batch(worker& w, assigned_batch b) {
    const command c{b.first, b.count};
    const auto now = clock::now();
    b.started = now;
    w.tasks_given += b.count;
    ++dispatched_batches_;
    w.batches.push_back(b);
    // A dead worker's socket fails here or shows up in poll(): either way step() reaps it.
    send_all(w.handle.socket.get(), std::span(reinterpret_cast<const std::byte*>(&c), sizeof c));
  }

  // Waits for something to happen and handles it.
  void step() {
    check_stop();
    top_up();  // a generator's consumer may have made room in the window since the last step
    // Unfinished tasks are always in some worker's batches after top_up(); were none there,
    // the poll below would wait forever.
    if (std::ranges::none_of(workers_, [](const auto& w) { return !w->batches.empty(); })) {
      kill_all();
      throw std::logic_error("joblib: process backend bug: tasks are left but no worker has any");
    }
    std::vector<pollfd> fds;
    fds.reserve(workers_.size());
    for (auto& w : workers_) fds.push_back({w->handle.socket.get(), POLLIN, 0});
    const int wait_ms = poll_timeout();
    const int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno != EINTR) throw_system("poll on worker sockets failed");
    std::vector<worker*> gone;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      worker& w = *workers_[i];
      const bool open = w.reader.receive(w.handle.socket.get());
      handle_messages(w);
      if (!open) gone.push_back(&w);
    }
    for (worker* w : gone) worker_ended(*w);
    enforce_timeouts();
    retire_idle();
    report();
  }

  int poll_timeout() const {
    long ms = -1;
    if (settings_.timeout) {
      const auto now = clock::now();
      for (auto& w : workers_) {
        const auto started = running_since(*w);
        if (!started) {
          // Between two tasks, or about to start its first: look again soon, since starting
          // a task sends no message that would end the poll.
          if (!w->batches.empty()) ms = ms < 0 ? 10 : std::min(ms, 10L);
          continue;
        }
        const auto due = *started + std::chrono::duration_cast<clock::duration>(*settings_.timeout);
        const long left = std::chrono::ceil<std::chrono::milliseconds>(due - now).count();
        ms = ms < 0 ? std::max(0L, left) : std::min(ms, std::max(0L, left));
      }
    }
    if (stop_.stop_possible() || reporter_.active()) ms = ms < 0 ? 50 : std::min(ms, 50L);
    return static_cast<int>(ms);
  }

  void check_stop() {
    if (stop_.stop_possible() && stop_.stop_requested()) {
      kill_all();
      throw cancelled_error("joblib: parallel call cancelled");
    }
  }

  void handle_messages(worker& w) {
    while (auto m = w.reader.next()) {
      unique_fd shared(m->fd);
      if (w.batches.empty()) throw_system("a worker sent a result it was not asked for", EPROTO);
      assigned_batch& b = w.batches.front();
      const std::size_t expected = b.first + b.received;
      const std::size_t count = static_cast<std::size_t>(m->header.count);
      if (m->header.index != expected || count == 0 || count > b.count - b.received) {
        throw_system("a worker's result does not match its batch", EPROTO);
      }
      if (m->header.type == message_type::values) {
        receive_values(m->payload, shared.get(), expected, count);
      } else {
        transported_exception t;
        read_value(t, m->payload, nullptr);
        std::exception_ptr rebuilt = rebuild_exception(t, expected);
        failed(expected, exception_failure(expected, std::move(rebuilt), t.type, t.what), &w);
      }
      b.received += count;
      if (b.received == b.count) batch_done(w);
    }
  }

  void receive_values(std::span<const std::byte> payload, int shared_fd, std::size_t first,
                      std::size_t count) {
    if constexpr (is_void) {
      for (std::size_t k = 0; k < count; ++k) succeeded(first + k, std::monostate{});
    } else {
      shared_array_source source(payload, shared_fd);
      value_reader reader(source.stream(), &source);
      for (std::size_t k = 0; k < count; ++k) {
        if constexpr (!std::is_same_v<result_type, bool>) {
          if (settings_.mode == process_delivery::list) {
            decode(reader, results_[first + k]);  // straight into the caller's vector
            ++completed_;
            continue;
          }
        }
        value_type v{};
        decode(reader, v);
        succeeded(first + k, std::move(v));
      }
      reader.expect_end();
    }
  }

  // Auto batching: move the batch size toward what takes target_batch_time.
  void batch_done(worker& w) {
    const assigned_batch b = w.batches.front();
    w.batches.pop_front();
    const auto now = clock::now();
    if (!settings_.fixed_batch) {
      const double took = std::chrono::duration<double>(now - b.started).count();
      const double target = std::chrono::duration<double>(target_batch_time).count();
      const double ideal =
          took > 0 ? static_cast<double>(b.count) * target / took : 2 * batch_size_;
      batch_size_ = std::clamp((batch_size_ + ideal) / 2, 1.0, 2 * batch_size_);
    }
    if (!w.batches.empty()) w.batches.front().started = now;
  }

  void succeeded(std::size_t index, value_type&& v) {
    ++completed_;
    switch (settings_.mode) {
      case process_delivery::list:
        if constexpr (!is_void) results_[index] = std::move(v);
        break;
      case process_delivery::collect:
        if constexpr (is_void) {
          outcomes_[index].emplace();
        } else {
          outcomes_[index].emplace(std::move(v));
        }
        break;
      case process_delivery::in_order:
        ordered_.emplace(index, std::move(v));
        break;
      case process_delivery::completion_order:
        unordered_.push_back(std::move(v));
        break;
    }
  }

  // A task failed. `w` is the worker it ran on (nullptr when that worker is gone).
  void failed(std::size_t index, task_failure f, worker* w) {
    if (f.kind != failure_kind::timeout && ++attempts_[index] <= settings_.retries) {
      retries_.push_back({index, forks_});
      if (w != nullptr) w->retiring = true;  // its state may be what failed
      return;
    }
    if (settings_.mode == process_delivery::collect) {
      ++completed_;
      outcomes_[index].emplace(std::move(f));
      return;
    }
    kill_all();
    f.rethrow();
  }

  // A worker's socket reached its end: the worker exited or died.
  void worker_ended(worker& w) {
    const exit_info how = reap(w.handle.pid);
    std::unique_ptr<worker> owned = detach(w);
    lost(*owned, how, std::nullopt);
  }

  // The task a worker runs and has not finished, if any.
  std::optional<std::size_t> running_task(const worker& w) const noexcept {
    const std::uint64_t running = w.status.get().running.load(std::memory_order_acquire);
    if (running == 0) return std::nullopt;
    const std::size_t index = static_cast<std::size_t>(running - 1);
    for (const auto& b : w.batches) {
      if (index >= b.first + b.received && index < b.first + b.count) return index;
    }
    return std::nullopt;
  }

  // When the task a worker runs started, if it runs one.
  std::optional<clock::time_point> running_since(const worker& w) const noexcept {
    if (!running_task(w)) return std::nullopt;
    return clock::time_point(
        std::chrono::nanoseconds(w.status.get().started_ns.load(std::memory_order_relaxed)));
  }

  static std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
        .count();
  }

  // Hands the unfinished tasks of a dead or killed worker to the others and reports the one it
  // was running: `overdue` when it was killed for it, else the one its status page names (the
  // results of tasks it finished but had not sent yet are lost: those tasks run again).
  void lost(worker& w, exit_info how, std::optional<std::size_t> overdue,
            std::chrono::duration<double> ran = {}) {
    if (w.batches.empty()) return;  // it exited after its work (retired, max_tasks_per_worker)
    std::optional<std::size_t> blamed = overdue ? overdue : running_task(w);
    if (!blamed) blamed = w.batches.front().first + w.batches.front().received;
    for (const auto& b : w.batches) {
      const std::size_t first = b.first + b.received;
      const std::size_t end = b.first + b.count;
      if (*blamed >= first && *blamed < end) {
        if (*blamed > first) requeue(first, *blamed - first);
        if (end > *blamed + 1) requeue(*blamed + 1, end - *blamed - 1);
      } else if (end > first) {
        requeue(first, end - first);
      }
    }
    w.batches.clear();
    const std::size_t index = *blamed;
    failed(index,
           overdue ? timeout_failure(index, timeout_message(index, ran, *settings_.timeout) +
                                                "; its worker process was killed")
                   : crash_failure(index, how.signal, how.exit_status),
           nullptr);
  }

  void requeue_unfinished(worker& w) {
    for (const auto& b : w.batches) {
      if (b.count > b.received) requeue(b.first + b.received, b.count - b.received);
    }
    w.batches.clear();
  }

  void requeue(std::size_t first, std::size_t count) { requeued_.push_back({first, count}); }

  std::unique_ptr<worker> detach(worker& w) {
    auto it = std::find_if(workers_.begin(), workers_.end(),
                           [&](const std::unique_ptr<worker>& p) { return p.get() == &w; });
    std::unique_ptr<worker> owned = std::move(*it);
    workers_.erase(it);
    return owned;
  }

  void enforce_timeouts() {
    if (!settings_.timeout) return;
    const auto now = clock::now();
    const auto limit = std::chrono::duration_cast<clock::duration>(*settings_.timeout);
    for (std::size_t i = 0; i < workers_.size();) {
      worker& w = *workers_[i];
      const auto started = running_since(w);
      if (!started || now - *started <= limit) {
        ++i;
        continue;
      }
      const std::size_t overdue = *running_task(w);
      const std::chrono::duration<double> ran = now - *started;
      ::kill(w.handle.pid, SIGKILL);
      const exit_info how = reap(w.handle.pid);
      // Results it sent before the kill still count.
      while (w.reader.receive(w.handle.socket.get())) handle_messages(w);
      handle_messages(w);
      std::unique_ptr<worker> owned = detach(w);
      if (running_task(*owned) == overdue) {
        lost(*owned, how, overdue, ran);
      } else {
        requeue_unfinished(*owned);  // it finished at the deadline: nothing to blame
      }
    }
  }

  // Tells retiring workers without work, and workers that reached max_tasks_per_worker, to exit.
  void retire_idle() {
    for (std::size_t i = 0; i < workers_.size();) {
      worker& w = *workers_[i];
      const bool spent =
          settings_.max_tasks_per_worker != 0 && w.tasks_given >= settings_.max_tasks_per_worker;
      if ((w.retiring || spent) && w.batches.empty()) {
        std::unique_ptr<worker> owned = detach(w);
        stop_worker(*owned);
      } else {
        ++i;
      }
    }
  }

  // Asks a worker to exit (a worker that reached its quota exits by itself) and reaps it.
  static void stop_worker(worker& w) noexcept {
    const command exit_command{0, 0};
    try {
      send_all(w.handle.socket.get(),
               std::span(reinterpret_cast<const std::byte*>(&exit_command), sizeof exit_command));
    } catch (...) {
      ::kill(w.handle.pid, SIGKILL);
    }
    reap(w.handle.pid);
  }

  // Every task finished: the workers exit after flushing their output.
  void shut_down() noexcept {
    for (auto& w : workers_) stop_worker(*w);
    workers_.clear();
  }

  void report() {
    if (reporter_.active()) reporter_.report(completed_, total_, dispatched_batches_);
  }

  V& tasks_;
  std::size_t total_;
  process_settings settings_;
  stop_token stop_;
  progress_reporter reporter_;
  bool started_ = false;

  std::vector<std::unique_ptr<worker>> workers_;
  std::uint64_t forks_ = 0;
  std::size_t next_index_ = 0;
  std::deque<assigned_batch> requeued_;
  std::deque<retry> retries_;
  std::unordered_map<std::size_t, unsigned> attempts_;
  double batch_size_ = 1;

  std::size_t completed_ = 0;           // tasks with a result or a final failure
  std::size_t consumed_ = 0;            // tasks whose result the consumer took
  std::size_t dispatched_batches_ = 0;  // for progress lines

  std::conditional_t<is_void, std::monostate, std::vector<value_type>> results_{};
  std::optional<fork_excluded_pages> results_private_;
  std::vector<std::optional<outcome<result_type>>> outcomes_;
  std::map<std::size_t, value_type> ordered_;
  std::deque<value_type> unordered_;
  std::size_t next_yield_ = 0;
};

}  // namespace detail::process
JOBLIB_END_NAMESPACE
