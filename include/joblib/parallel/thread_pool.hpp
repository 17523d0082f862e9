// joblib-cpp: the work-stealing thread pool under joblib::parallel, usable directly.
//
// Each worker owns a Chase-Lev deque: tasks spawned by a worker go to the bottom of its own
// deque (LIFO, cache-warm), idle workers steal from the top of others' (FIFO). Tasks submitted
// by threads outside the pool go through one shared injection queue, never into a worker's
// deque. Idle workers sleep on an event count after a short spin, so an idle pool burns no
// CPU. Waiting helps: a thread that waits for a task group runs other tasks meanwhile, so
// nested parallelism at any depth uses the same threads and cannot deadlock.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/parallel/cpu_count.hpp"
#include "joblib/parallel/detail/event_count.hpp"
#include "joblib/parallel/detail/first_exception.hpp"
#include "joblib/parallel/detail/spin.hpp"
#include "joblib/parallel/detail/task.hpp"
#include "joblib/parallel/detail/work_stealing_deque.hpp"

JOBLIB_BEGIN_NAMESPACE
class thread_pool;

namespace detail {

/// Which pool (if any) the calling thread works for, and its slot there.
struct current_worker {
  const void* pool = nullptr;
  unsigned index = 0;
};
inline thread_local current_worker current_worker_of_this_thread{};

/// The pool's scheduling primitives, for the library's own schedulers (joblib::parallel,
/// task_group) and tests: they are not part of thread_pool's public interface.
struct pool_access {
  /// Queues `task` (the calling worker's deque, or the injection queue from outside).
  static void spawn(thread_pool& pool, task_base* task);
  /// Takes `task` back if it is still the newest this thread queued; it will then never run.
  static bool take_back(thread_pool& pool, task_base* task);
  /// Returns once done() holds, running queued tasks meanwhile; see thread_pool::wait_until.
  template <class Done>
  static void wait_until(thread_pool& pool, Done&& done);
  /// Returns once done() holds, sleeping meanwhile (never from a worker of `pool`).
  template <class Done>
  static void wait_without_helping(thread_pool& pool, Done&& done);
  /// Wakes every thread sleeping in wait_until() to re-check its condition.
  static void notify_waiters(thread_pool& pool) noexcept;
};

}  // namespace detail

/// A work-stealing thread pool.
///
///   joblib::thread_pool pool(4);
///   auto answer = pool.submit([] { return 42; });            // std::future<int>
///   for (int i = 0; i < 100; ++i) pool.run([i] { work(i); });
///   pool.wait();                                              // helps, rethrows first error
///   pool.parallel_for(0, 1000, [](int i) { work(i); });
///
/// The scheduling primitives that joblib::parallel and task_group build on (queueing a task,
/// taking it back, waiting while helping) are private: detail::pool_access reaches them.
///
/// Thread safety: every member may be called from any thread, including from tasks running
/// in the pool. The destructor waits for queued tasks to finish; it must not run inside one.
class thread_pool {
 public:
  /// Starts `threads` workers; 0 means cpu_count(). A thread that waits on a job runs tasks
  /// too, so the pool's own jobs (parallel_for, joblib::parallel lists) use the waiting thread
  /// and one worker fewer; a generator's consumer waits without computing, so its tasks get
  /// every worker.
  explicit thread_pool(unsigned threads = 0)
      : size_(threads ? threads : std::max(1u, cpu_count())), slots_(size_) {
    workers_.reserve(size_);
    for (unsigned i = 0; i < size_; ++i) {
      workers_.emplace_back([this, i] { worker_loop(i); });
    }
  }

  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  ~thread_pool() {
    stop_.store(true, std::memory_order_seq_cst);
    sleep_.notify_all();
    for (auto& worker : workers_) worker.join();
    // Tasks injected after the workers left (by tasks of the last moment) run here.
    while (detail::task_base* task = pop_injected()) task->run_and_delete();
  }

  /// The process-wide pool used by joblib::parallel, created on first use with the default
  /// size. It lives until the process exits. A worker process of the process backend starts
  /// without one (its parent's pool threads do not exist there) and creates its own on first
  /// use.
  static thread_pool& global() {
    std::atomic<thread_pool*>& slot = global_slot();
    if (thread_pool* pool = slot.load(std::memory_order_acquire)) return *pool;
    auto* created = new thread_pool();  // never destroyed: safe at exit
    thread_pool* expected = nullptr;
    if (!slot.compare_exchange_strong(expected, created, std::memory_order_acq_rel)) {
      delete created;  // another thread won the race
      return *expected;
    }
    return *created;
  }

  /// In a child process made by fork(): forgets the parent's global pool (its threads were not
  /// copied, and its locks may be held forever), so that global() makes a fresh one. The old
  /// pool is leaked on purpose: destroying it would join threads that do not exist.
  static void forget_global_after_fork() noexcept {
    global_slot().store(nullptr, std::memory_order_relaxed);
  }

  /// Number of worker threads.
  unsigned size() const noexcept { return size_; }

  /// True when the calling thread is one of this pool's workers.
  bool in_worker() const noexcept { return detail::current_worker_of_this_thread.pool == this; }

  /// Runs `f()` in the pool and returns its result through a future. An exception thrown by
  /// `f` is stored in the future.
  template <class F>
  auto submit(F&& f) -> std::future<std::invoke_result_t<std::decay_t<F>&>> {
    using result = std::invoke_result_t<std::decay_t<F>&>;
    std::packaged_task<result()> job(std::forward<F>(f));
    auto future = job.get_future();
    spawn(detail::make_task([job = std::move(job)]() mutable noexcept { job(); }));
    return future;
  }

  /// Runs `f()` in the pool without a future; wait() waits for every such task. The first
  /// exception thrown by one of them is rethrown by wait().
  template <class F>
  void run(F&& f) {
    pending_.fetch_add(1, std::memory_order_relaxed);
    spawn(detail::make_task([this, fn = std::forward<F>(f)]() mutable noexcept {
      try {
        fn();
      } catch (...) {
        errors_.capture(std::current_exception());
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) notify_waiters();
    }));
  }

  /// Waits until every task given to run() has finished, running tasks meanwhile. Rethrows the
  /// first exception one of them threw.
  void wait() {
    wait_until([this] { return pending_.load(std::memory_order_acquire) == 0; });
    errors_.rethrow_and_reset();
  }

  /// Calls f(i) for every i in [first, last) on the pool and the calling thread, in batches that
  /// shrink toward the end (guided scheduling). `f` may also take a second argument, the
  /// worker slot in [0, max_workers): no two threads use one slot at once, so it can index
  /// per-worker scratch state. At most `max_workers` threads take part, the caller included,
  /// and never more than the pool has threads (0: that many). Rethrows the first exception;
  /// remaining batches are skipped after one.
  template <class Index, class F>
  void parallel_for(Index first, Index last, F&& f, unsigned max_workers = 0) {
    if (!(first < last)) return;
    const std::uint64_t count = static_cast<std::uint64_t>(last - first);
    const std::uint64_t allowed = max_workers != 0 ? std::min(max_workers, size_) : size_;
    const std::uint64_t runners = std::min<std::uint64_t>(allowed, count);
    std::atomic<std::uint64_t> cursor{0};
    std::atomic<std::uint64_t> active{runners};
    detail::first_exception error;
    auto runner = [&](unsigned worker) noexcept {
      thread_pool* pool = this;  // read before active drops: the closure lives on our stack
      try {
        for (;;) {
          if (error.has_error()) break;
          const std::uint64_t seen = cursor.load(std::memory_order_relaxed);
          if (seen >= count) break;
          const std::uint64_t batch = std::max<std::uint64_t>(1, (count - seen) / (4 * runners));
          // relaxed: fetch_add hands each index out once; the results reach the caller
          // through `active`'s acq_rel decrement and its acquire load in wait_until.
          const std::uint64_t begin = cursor.fetch_add(batch, std::memory_order_relaxed);
          if (begin >= count) break;
          const std::uint64_t end = std::min(count, begin + batch);
          for (std::uint64_t i = begin; i < end; ++i) {
            const Index index = static_cast<Index>(first + static_cast<Index>(i));
            if constexpr (std::is_invocable_v<F&, Index, unsigned>) {
              f(index, worker);
            } else {
              f(index);
            }
          }
        }
      } catch (...) {
        error.capture(std::current_exception());
      }
      if (active.fetch_sub(1, std::memory_order_acq_rel) == 1) pool->notify_waiters();
    };
    for (std::uint64_t r = 1; r < runners; ++r) {
      const auto worker = static_cast<unsigned>(r);
      spawn(detail::make_task([&runner, worker]() noexcept { runner(worker); }));
    }
    runner(0);
    wait_until([&] { return active.load(std::memory_order_acquire) == 0; });
    error.rethrow_and_reset();
  }

 private:
  friend struct detail::pool_access;

  /// Queues a task: on the calling worker's own deque, or on the injection queue from outside.
  void spawn(detail::task_base* task) {
    if (detail::current_worker_of_this_thread.pool == this) {
      slots_[detail::current_worker_of_this_thread.index].deque.push(task);
    } else {
      {
        std::lock_guard lock(injection_mutex_);
        injected_.push_back(task);
      }
      injected_count_.fetch_add(1, std::memory_order_seq_cst);
      // The seq_cst RMW above published the task: a seq_cst load of the waiter count suffices.
      sleep_.notify_one_after_seq_cst_publish();
      return;
    }
    sleep_.notify_one();
  }

  /// Takes `task` back when it is still the newest task this thread queued (the bottom of its
  /// own deque, or the back of the injection queue from outside the pool): it will then never
  /// run. Withdrawing work nobody started this way leaves no stale task queued.
  bool take_back(detail::task_base* task) {
    if (detail::current_worker_of_this_thread.pool == this) {
      return slots_[detail::current_worker_of_this_thread.index].deque.take_if(task);
    }
    std::lock_guard lock(injection_mutex_);
    if (injected_.empty() || injected_.back() != task) return false;
    injected_.pop_back();
    injected_count_.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }

  /// Runs one queued task if there is one; true when it did.
  bool try_run_one() {
    if (detail::task_base* task = find_task(true)) {
      task->run_and_delete();
      return true;
    }
    return false;
  }

  /// Returns once `done()` is true, running queued tasks while it is false (unless `help` is
  /// false) and sleeping when there are none. Whoever makes `done()` true must then call
  /// notify_waiters(). A worker of this pool must help: it may be the thread that the tasks
  /// it waits for need.
  ///
  /// Helping nests: a task run while waiting may wait in turn. Past `max_help_depth` nested
  /// waits on one thread, a waiter runs only tasks from its own deque (its own, more deeply
  /// nested children) and otherwise polls, so that stealing unrelated old tasks cannot grow
  /// the stack without bound (fib-style recursion from a thread outside the pool did).
  template <class Done>
  void wait_until(Done&& done, bool help = true) {
    struct depth_guard {
      depth_guard() { ++help_depth(); }
      ~depth_guard() { --help_depth(); }
    } guard;
    const bool may_steal = help_depth() <= max_help_depth;
    int idle_rounds = 0;
    while (!done()) {
      if (help) {
        if (detail::task_base* task = find_task(may_steal)) {
          task->run_and_delete();
          idle_rounds = 0;
          continue;
        }
      }
      if (++idle_rounds < 32) {
        detail::spin_pause(idle_rounds);
        continue;
      }
      if (help && !may_steal) {  // a deep waiter: poll instead of sleeping on the event count
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      const auto key = sleep_.prepare_wait();
      if (done() || (help && has_visible_work())) {
        sleep_.cancel_wait();
        idle_rounds = 0;
        continue;
      }
      sleep_.commit_wait(key);
      idle_rounds = 0;
    }
  }

  /// Nested waits on one thread beyond which waiting stops stealing (see wait_until).
  static std::atomic<thread_pool*>& global_slot() noexcept {
    static std::atomic<thread_pool*> slot{nullptr};
    return slot;
  }

  static constexpr int max_help_depth = 32;

  /// Wakes every thread sleeping in wait_until() (and idle workers) to re-check.
  void notify_waiters() noexcept { sleep_.notify_all(); }

  struct alignas(64) slot {
    detail::work_stealing_deque<detail::task_base> deque;
  };

  void worker_loop(unsigned index) {
    detail::current_worker_of_this_thread = detail::current_worker{this, index};
    for (;;) {
      if (try_run_one()) continue;
      bool ran = false;
      for (int spin = 0; spin < 64 && !ran; ++spin) {
        ran = try_run_one();
        if (!ran) detail::spin_pause(spin);
      }
      if (ran) continue;
      const auto key = sleep_.prepare_wait();
      if (has_visible_work()) {
        sleep_.cancel_wait();
        continue;
      }
      if (stop_.load(std::memory_order_seq_cst)) {
        sleep_.cancel_wait();
        break;
      }
      sleep_.commit_wait(key);
    }
    detail::current_worker_of_this_thread = detail::current_worker{};
  }

  static int& help_depth() noexcept {
    static thread_local int depth = 0;
    return depth;
  }

  // Own deque first (newest, cache-warm), then steal (oldest), then the injection queue.
  detail::task_base* find_task(bool may_steal) {
    const bool worker = detail::current_worker_of_this_thread.pool == this;
    if (worker) {
      if (auto* task = slots_[detail::current_worker_of_this_thread.index].deque.take()) {
        return task;
      }
    }
    if (!may_steal) return nullptr;
    if (auto* task = steal_from_workers()) return task;
    if (injected_count_.load(std::memory_order_acquire) != 0) return pop_injected(worker);
    return nullptr;
  }

  detail::task_base* steal_from_workers() {
    // xorshift: a cheap per-thread random start spreads thieves over victims.
    static thread_local std::uint64_t seed =
        0x9e3779b97f4a7c15ULL ^ reinterpret_cast<std::uintptr_t>(&seed);
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    const unsigned start = static_cast<unsigned>(seed % size_);
    for (unsigned k = 0; k < size_; ++k) {
      const unsigned victim = (start + k) % size_;
      if (detail::current_worker_of_this_thread.pool == this &&
          victim == detail::current_worker_of_this_thread.index)
        continue;
      if (auto* task = slots_[victim].deque.steal()) return task;
    }
    return nullptr;
  }

  // Takes the oldest injected task. A worker takes a few more onto its own deque, where
  // taking is cheaper than this lock and where other workers can steal them.
  detail::task_base* pop_injected(bool worker = false) {
    detail::task_base* extra[injection_batch];
    std::size_t extras = 0;
    detail::task_base* task = nullptr;
    {
      std::lock_guard lock(injection_mutex_);
      if (injected_.empty()) return nullptr;
      task = injected_.front();
      injected_.pop_front();
      if (worker) {
        const std::size_t share = injected_.size() / (2 * size_);
        while (extras < injection_batch && extras < share) {
          extra[extras++] = injected_.front();
          injected_.pop_front();
        }
      }
      injected_count_.fetch_sub(1 + extras, std::memory_order_relaxed);
    }
    if (extras != 0) {
      // Newest pushed first: the owner, taking from the bottom, runs them oldest first.
      auto& own = slots_[detail::current_worker_of_this_thread.index].deque;
      for (std::size_t i = extras; i > 0; --i) own.push(extra[i - 1]);
    }
    return task;
  }
  static constexpr std::size_t injection_batch = 32;

  bool has_visible_work() const {
    if (injected_count_.load(std::memory_order_seq_cst) != 0) return true;
    for (const auto& s : slots_) {
      if (!s.deque.empty()) return true;
    }
    return false;
  }

  const unsigned size_;
  std::vector<slot> slots_;
  std::vector<std::thread> workers_;
  detail::event_count sleep_;
  std::atomic<bool> stop_{false};

  detail::spin_mutex injection_mutex_;
  std::deque<detail::task_base*> injected_;
  std::atomic<std::size_t> injected_count_{0};

  std::atomic<std::size_t> pending_{0};  // tasks of run() not yet finished
  detail::first_exception errors_;
};

namespace detail {
inline void pool_access::spawn(thread_pool& pool, task_base* task) { pool.spawn(task); }
inline bool pool_access::take_back(thread_pool& pool, task_base* task) {
  return pool.take_back(task);
}
template <class Done>
void pool_access::wait_until(thread_pool& pool, Done&& done) {
  pool.wait_until(std::forward<Done>(done));
}
template <class Done>
void pool_access::wait_without_helping(thread_pool& pool, Done&& done) {
  pool.wait_until(std::forward<Done>(done), /*help=*/false);
}
inline void pool_access::notify_waiters(thread_pool& pool) noexcept { pool.notify_waiters(); }
}  // namespace detail

JOBLIB_END_NAMESPACE
