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
#include "joblib/parallel/detail/work_stealing_deque.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// A unit of work in the pool. run() executes it exactly once and then deletes it.
struct task_base {
  virtual void run_and_delete() noexcept = 0;

 protected:
  ~task_base() = default;
};

template <class F>
struct task_impl final : task_base {
  explicit task_impl(F&& f) : fn(std::move(f)) {}
  void run_and_delete() noexcept override {
    std::unique_ptr<task_impl> self(this);
    fn();  // F is noexcept by construction (wrappers catch and record exceptions)
  }
  F fn;
};

template <class F>
task_base* make_task(F&& f) {
  return new task_impl<std::decay_t<F>>(std::forward<F>(f));
}

/// First exception of a group of tasks; later ones are dropped, as in joblib.
class first_exception {
 public:
  void capture(std::exception_ptr e) noexcept {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = std::move(e);
    has_error_.store(true, std::memory_order_release);
  }
  bool has_error() const noexcept { return has_error_.load(std::memory_order_acquire); }
  void rethrow_and_reset() {
    std::exception_ptr e;
    {
      std::lock_guard lock(mutex_);
      e = std::exchange(error_, nullptr);
      has_error_.store(false, std::memory_order_relaxed);
    }
    if (e) std::rethrow_exception(e);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
  std::atomic<bool> has_error_{false};
};

/// One round of waiting for work that may arrive within microseconds: a few CPU pause
/// instructions first (no system call: sched_yield in a tight loop spends its time in the
/// scheduler), then yielding the core for later rounds.
inline void spin_pause(int round) noexcept {
  if (round < 16) {
#if defined(__x86_64__) || defined(__i386__)
    for (int i = 0; i < 16; ++i) __builtin_ia32_pause();
#elif defined(__aarch64__)
    for (int i = 0; i < 16; ++i) asm volatile("yield");
#else
    std::this_thread::yield();
#endif
  } else {
    std::this_thread::yield();
  }
}

/// A lock for critical sections of a few dozen instructions (the injection queue): waiting
/// spins, then yields, instead of sleeping in the kernel. With std::mutex a producer that met
/// a worker inside the section slept and woke through futex calls, which cost more than the
/// section itself.
class spin_mutex {
 public:
  void lock() noexcept {
    for (int round = 0; !try_lock(); ++round) spin_pause(round);
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

/// Which pool (if any) the calling thread works for, and its slot there.
struct current_worker {
  const void* pool = nullptr;
  unsigned index = 0;
};
inline thread_local current_worker current_worker_of_this_thread{};

}  // namespace detail

/// A work-stealing thread pool.
///
///   joblib::thread_pool pool(4);
///   auto answer = pool.submit([] { return 42; });            // std::future<int>
///   for (int i = 0; i < 100; ++i) pool.run([i] { work(i); });
///   pool.wait();                                              // helps, rethrows first error
///   pool.parallel_for(0, 1000, [](int i) { work(i); });
///
/// Thread safety: every member may be called from any thread, including from tasks running
/// in the pool. The destructor waits for queued tasks to finish; it must not run inside one.
class thread_pool {
 public:
  /// Starts `threads` workers; 0 means one fewer than cpu_count() (the thread that waits on a
  /// job runs tasks too), and at least one.
  explicit thread_pool(unsigned threads = 0)
      : size_(threads ? threads : std::max(1u, cpu_count() - 1)), slots_(size_) {
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
  /// size. It lives until the process exits.
  static thread_pool& global() {
    static thread_pool* const pool = new thread_pool();  // never destroyed: safe at exit
    return *pool;
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

  /// Calls f(i) for every i in [first, last) on the pool and the calling thread, in chunks that
  /// shrink toward the end (guided scheduling). Rethrows the first exception; remaining chunks
  /// are skipped after one.
  template <class Index, class F>
  void parallel_for(Index first, Index last, F&& f) {
    if (!(first < last)) return;
    const std::uint64_t count = static_cast<std::uint64_t>(last - first);
    std::atomic<std::uint64_t> cursor{0};
    const std::uint64_t runners = std::min<std::uint64_t>(size_ + 1, count);
    std::atomic<std::uint64_t> active{runners};
    detail::first_exception error;
    auto runner = [&]() noexcept {
      thread_pool* pool = this;  // read before active drops: the closure lives on our stack
      try {
        for (;;) {
          if (error.has_error()) break;
          const std::uint64_t seen = cursor.load(std::memory_order_relaxed);
          if (seen >= count) break;
          const std::uint64_t chunk = std::max<std::uint64_t>(1, (count - seen) / (4 * runners));
          const std::uint64_t begin = cursor.fetch_add(chunk, std::memory_order_relaxed);
          if (begin >= count) break;
          const std::uint64_t end = std::min(count, begin + chunk);
          for (std::uint64_t i = begin; i < end; ++i) f(static_cast<Index>(first + i));
        }
      } catch (...) {
        error.capture(std::current_exception());
      }
      if (active.fetch_sub(1, std::memory_order_acq_rel) == 1) pool->notify_waiters();
    };
    for (std::uint64_t r = 1; r < runners; ++r)
      spawn(detail::make_task([&runner]() noexcept { runner(); }));
    runner();
    wait_until([&] { return active.load(std::memory_order_acquire) == 0; });
    error.rethrow_and_reset();
  }

  // --- building blocks for joblib::parallel and task_group ---------------------------------

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

  /// Returns once `done()` is true, running queued tasks while it is false and sleeping when
  /// there are none. Whoever makes `done()` true must then call notify_waiters().
  ///
  /// Helping nests: a task run while waiting may wait in turn. Past `max_help_depth` nested
  /// waits on one thread, a waiter runs only tasks from its own deque (its own, more deeply
  /// nested children) and otherwise polls, so that stealing unrelated old tasks cannot grow
  /// the stack without bound (fib-style recursion from a thread outside the pool did).
  template <class Done>
  void wait_until(Done&& done) {
    struct depth_guard {
      depth_guard() { ++help_depth(); }
      ~depth_guard() { --help_depth(); }
    } guard;
    const bool may_steal = help_depth() <= max_help_depth;
    int idle_rounds = 0;
    while (!done()) {
      if (detail::task_base* task = find_task(may_steal)) {
        task->run_and_delete();
        idle_rounds = 0;
        continue;
      }
      if (++idle_rounds < 32) {
        detail::spin_pause(idle_rounds);
        continue;
      }
      if (!may_steal) {  // a deep waiter: poll instead of sleeping on the shared event count
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      const auto key = sleep_.prepare_wait();
      if (done() || has_visible_work()) {
        sleep_.cancel_wait();
        idle_rounds = 0;
        continue;
      }
      sleep_.commit_wait(key);
      idle_rounds = 0;
    }
  }

  /// Nested waits on one thread beyond which waiting stops stealing (see wait_until).
  static constexpr int max_help_depth = 32;

  /// Wakes every thread sleeping in wait_until() (and idle workers) to re-check.
  void notify_waiters() noexcept { sleep_.notify_all(); }

 private:
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

/// A set of tasks to wait for together, on a thread_pool (the global one by default), like
/// tbb::task_group. wait() helps run tasks, so groups nest freely inside tasks.
///
///   joblib::task_group group;
///   group.run([&] { left = fib(n - 1); });
///   right = fib(n - 2);
///   group.wait();
///
/// Thread safety: run() may be called from any thread, including from the group's own tasks;
/// wait() by one thread at a time. The destructor waits (and drops a pending exception).
class task_group {
 public:
  explicit task_group(thread_pool& pool = thread_pool::global()) : pool_(pool) {}
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  ~task_group() {
    pool_.wait_until([this] { return pending_.load(std::memory_order_acquire) == 0; });
  }

  /// Queues f() in the pool as part of this group.
  template <class F>
  void run(F&& f) {
    pending_.fetch_add(1, std::memory_order_relaxed);
    pool_.spawn(detail::make_task([this, fn = std::forward<F>(f)]() mutable noexcept {
      if (!error_.has_error()) {
        try {
          fn();
        } catch (...) {
          error_.capture(std::current_exception());
        }
      }
      // Copy the pool first: once pending_ reaches 0 the group may be destroyed.
      thread_pool& pool = pool_;
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pool.notify_waiters();
    }));
  }

  /// Waits for every task of the group, running tasks meanwhile; rethrows the first exception
  /// one of them threw (tasks not yet started when it was thrown are skipped).
  void wait() {
    pool_.wait_until([this] { return pending_.load(std::memory_order_acquire) == 0; });
    error_.rethrow_and_reset();
  }

 private:
  thread_pool& pool_;
  std::atomic<std::size_t> pending_{0};
  detail::first_exception error_;
};

JOBLIB_END_NAMESPACE
