// joblib-cpp internals: one call of joblib::parallel.
//
// `Runners` (pool tasks, plus the calling thread for lists) take batches from the dispenser
// (dispenser.hpp) until the input is exhausted, the call fails or is cancelled, or, for
// generators, `window` batches wait to be consumed. n_jobs limits how many runners exist, so a
// call never uses more threads than asked, and never creates any.
//
// A list's caller is one of its n_jobs runners. A generator's consumer is not: it sleeps until
// results arrive and hands them out as they come, so a slow task never holds back the others'
// results (a consumer that computed could not yield while its own task ran). Only a consumer
// that is itself a pool worker (a generator inside a task) runs tasks while it waits, as every
// waiting worker must.
//
// Results: a list is written straight into its final std::vector when the input is sized and
// the result type is default-constructible (distinct slots: not std::vector<bool>); otherwise
// each batch delivers its results as a vector, and the batches are concatenated in order (a
// list) or handed to the consumer (generators: in input order, or in completion order).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/parallel/detail/dispenser.hpp"
#include "joblib/parallel/detail/first_exception.hpp"
#include "joblib/parallel/detail/progress.hpp"
#include "joblib/parallel/detail/runner_task.hpp"
#include "joblib/parallel/options.hpp"
#include "joblib/parallel/outcome.hpp"
#include "joblib/parallel/stop_token.hpp"
#include "joblib/parallel/thread_pool.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// A vector that keeps its first N elements inline (no allocation for the few runners of a
/// typical call); just what parallel_call needs.
template <class T, std::size_t N>
class small_vector {
 public:
  void push_back(T value) {
    if (size_ < N) {
      inline_[size_] = value;
    } else {
      overflow_.push_back(value);
    }
    ++size_;
  }
  T& operator[](std::size_t i) { return i < N ? inline_[i] : overflow_[i - N]; }
  std::size_t size() const noexcept { return size_; }
  void clear() noexcept {
    size_ = 0;
    overflow_.clear();
  }
  // Removes the elements for which pred is true, keeping the order of the rest.
  template <class Pred>
  friend void erase_if(small_vector& v, Pred pred) {
    small_vector kept;
    for (std::size_t i = 0; i < v.size_; ++i) {
      if (!pred(v[i])) kept.push_back(v[i]);
    }
    v = std::move(kept);
  }

 private:
  T inline_[N]{};
  std::size_t size_ = 0;
  std::vector<T> overflow_;
};

/// How a call hands its results to the caller.
enum class delivery {
  list,              ///< every result, in input order, once all tasks finished
  in_order,          ///< a generator in input order
  completion_order,  ///< a generator in completion order
};

/// Resolved settings of one call.
struct call_settings {
  unsigned n_jobs = 1;
  std::size_t fixed_batch = 0;  // 0: auto
  std::size_t window = 0;       // generators: batches in flight or unconsumed; 0: none
  delivery mode = delivery::list;
};

template <class V>
class parallel_call final : runner_host {
 public:
  using result_type = task_result_t<V>;
  static constexpr bool is_void = std::is_void_v<result_type>;
  // Results of one batch (generators, and lists that cannot be written in place).
  using batch_results =
      std::conditional_t<is_void, std::monostate,
                         std::vector<std::conditional_t<is_void, int, result_type>>>;

  /// Writing results straight into a preallocated vector needs distinct, default-constructible
  /// slots (std::vector<bool> packs bits, so it is excluded).
  static constexpr bool direct_list = [] {
    if constexpr (is_void) {
      return false;
    } else {
      return dispenser<V>::indexable && std::is_default_constructible_v<result_type> &&
             std::is_move_assignable_v<result_type> && !std::is_same_v<result_type, bool>;
    }
  }();

  parallel_call(V& tasks, const parallel_options& options, call_settings settings,
                thread_pool* pool)
      : settings_(settings),
        pool_(pool),
        spawnable_(pool ? std::min(settings.n_jobs, pool->size()) -
                              (settings.mode == delivery::list ? 1u : 0u)
                        : 0),
        dispenser_(tasks, settings.fixed_batch, std::max(1u, runner_count())),
        timeout_(options.timeout),
        stop_(options.stop),
        caller_(std::this_thread::get_id()),
        reporter_(options, settings.n_jobs,
                  settings.window ? settings.window : 2 * std::size_t{settings.n_jobs}) {
    report_wakeups_ = reporter_.active();
  }

  parallel_call(const parallel_call&) = delete;
  parallel_call& operator=(const parallel_call&) = delete;
  ~parallel_call() { revoke_pending_runners(); }  // normally done already; never leave one behind

  // --- lists --------------------------------------------------------------------------------

  /// Runs every task; returns the results in input order or rethrows the first failure.
  auto run_list() {
    if constexpr (direct_list) out_.resize(*dispenser_.total());
    active_.fetch_add(1, std::memory_order_relaxed);  // the caller is a runner too
    spawn_runners(spawnable_);
    runner_loop();
    finish_runner(/*notify=*/false);
    revoke_pending_runners();
    if (pool_) {
      pool_access::wait_until(*pool_, [this] {
        report_if_caller();
        return active_.load(std::memory_order_acquire) == 0;
      });
    }
    errors_.rethrow_and_reset();
    reporter_.finish(completed_.load(std::memory_order_relaxed));
    if constexpr (is_void) {
      return;
    } else if constexpr (direct_list) {
      return std::move(out_);
    } else {
      std::vector<result_type> all;
      all.reserve(completed_.load(std::memory_order_relaxed));
      for (auto& [first, values] : ordered_) {
        for (auto&& value : values) all.push_back(std::move(value));
      }
      return all;
    }
  }

  // --- generators ---------------------------------------------------------------------------

  /// Starts a generator's runners (the first pre_dispatch batches), before anything is
  /// consumed.
  void start() { top_up_runners(); }

  /// Next result of a generator, waiting until one is ready; an empty optional at the end.
  /// Rethrows the first failure.
  std::optional<result_type> next_result() {
    for (;;) {
      {
        std::unique_lock lock(results_mutex_);
        if (position_ < current_.size()) return std::move(current_[position_++]);
        if (take_ready_batch()) continue;
        if (errors_.has_error()) {
          lock.unlock();
          cancel_and_wait();
          errors_.rethrow_and_reset();
        }
        if (finished()) {
          lock.unlock();
          reporter_.finish(completed_.load(std::memory_order_relaxed));
          return std::nullopt;
        }
      }
      top_up_runners();
      if (!pool_ || spawnable_ == 0) {
        // Sequential: the consumer runs the next batch itself.
        active_.fetch_add(1, std::memory_order_relaxed);
        run_one_batch();
        finish_runner();
        continue;
      }
      wait_as_consumer([this] {
        report_if_caller();
        return has_news();
      });
    }
  }

  /// Stops handing out batches and waits for running ones (a dropped generator).
  void cancel_and_wait() noexcept {
    cancelled_.store(true, std::memory_order_release);
    revoke_pending_runners();
    if (pool_) wait_as_consumer([this] { return active_.load(std::memory_order_acquire) == 0; });
  }

 private:
  using batch = typename dispenser<V>::batch;

  // Threads taking batches: a list's caller and spawnable_ pool tasks, or a generator's
  // spawnable_ pool tasks.
  unsigned runner_count() const noexcept {
    return spawnable_ + (settings_.mode == delivery::list ? 1u : 0u);
  }

  // A generator's consumer waits for results without computing, unless it is a pool worker.
  template <class Done>
  void wait_as_consumer(Done&& done) {
    if (pool_->in_worker()) {
      pool_access::wait_until(*pool_, std::forward<Done>(done));
    } else {
      pool_access::wait_without_helping(*pool_, std::forward<Done>(done));
    }
  }

  bool window_full() const {
    return settings_.window != 0 && dispensed_batches_.load(std::memory_order_acquire) -
                                            consumed_batches_.load(std::memory_order_acquire) >=
                                        settings_.window;
  }

  // Takes the next batch; false when there is none to take now.
  bool next_batch(batch& b) {
    if (errors_.has_error() || cancelled_.load(std::memory_order_acquire)) return false;
    if (stop_.stop_requested()) {
      errors_.capture(std::make_exception_ptr(cancelled_error("joblib: parallel call cancelled")));
      return false;
    }
    // A generator's window is checked and a batch taken as one step: two runners that both saw
    // the last free place would otherwise both take a batch and overrun pre_dispatch.
    std::unique_lock<std::mutex> window_lock;
    if (settings_.window != 0) window_lock = std::unique_lock(window_mutex_);
    if (window_full()) return false;
    try {
      if (!dispenser_.take(b)) return false;
    } catch (...) {
      errors_.capture(std::current_exception());  // the input range itself threw
      return false;
    }
    dispensed_batches_.fetch_add(1, std::memory_order_acq_rel);
    return true;
  }

  // Runs the tasks of `b`; false when one failed (the failure is recorded).
  bool execute(batch& b, batch_results& values) {
    try {
      for (std::size_t k = 0; k < b.count; ++k) {
        if (stop_.stop_possible() && stop_.stop_requested()) {
          errors_.capture(
              std::make_exception_ptr(cancelled_error("joblib: parallel call cancelled")));
          return false;
        }
        const auto started =
            timeout_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
        if constexpr (is_void) {
          dispenser_.run(b, k);
        } else if constexpr (direct_list) {
          if (settings_.mode == delivery::list) {
            out_[b.first + k] = dispenser_.run(b, k);
          } else {
            values.push_back(dispenser_.run(b, k));
          }
        } else {
          values.push_back(dispenser_.run(b, k));
        }
        if (timeout_) check_timeout(started, b.first + k);
      }
    } catch (...) {
      errors_.capture(std::current_exception());
      return false;
    }
    return true;
  }

  void check_timeout(std::chrono::steady_clock::time_point started, std::size_t index) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    if (took > *timeout_) throw timeout_error(timeout_message(index, took, *timeout_));
  }

  // Whether this call's batches deliver their results (everything but in-place lists).
  bool delivers_batches() const noexcept {
    return !is_void && !(direct_list && settings_.mode == delivery::list);
  }

  bool run_one_batch() {
    batch b;
    if (!next_batch(b)) return false;
    batch_results values{};
    if constexpr (!is_void) {
      if (delivers_batches()) values.reserve(b.count);
    }
    // Clock reads cost tens of ns on some VMs: only time batches that can teach something.
    const auto started =
        b.adaptive ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    const bool ok = execute(b, values);
    if (ok && b.adaptive) dispenser_.adapt(b.count, std::chrono::steady_clock::now() - started);
    if constexpr (!is_void) {
      if (ok && delivers_batches()) deliver(b.first, std::move(values));
    }
    if (ok) completed_.fetch_add(b.count, std::memory_order_acq_rel);
    if (settings_.window != 0 || report_wakeups_) pool_notify();
    report_if_caller();
    return ok;
  }

  void runner_loop() noexcept {
    while (run_one_batch()) {
    }
  }

  // A pool thread that took one of our runners (see runner_task.hpp).
  void run_as_runner() noexcept override {
    runner_loop();
    finish_runner();
  }

  void spawn_runners(unsigned count) {
    // Drop the caller's references to runners that started (generators top up repeatedly).
    erase_if(runners_, [](runner_task* r) {
      if (!r->started()) return false;
      r->retire();
      return true;
    });
    for (unsigned i = 0; i < count; ++i) {
      runner_task* runner = runner_task::make(this);
      runners_.push_back(runner);
      active_.fetch_add(1, std::memory_order_relaxed);
      pool_access::spawn(*pool_, runner);
    }
  }

  // Withdraws runners that have not started; each withdrawn one counts as finished. Newest
  // first, so that each can be taken back from the bottom of this thread's deque.
  void revoke_pending_runners() noexcept {
    for (std::size_t i = runners_.size(); i-- > 0;) {
      runner_task* runner = runners_[i];
      if (pool_access::take_back(*pool_, runner)) {
        runner->taken_back();
        finish_runner(/*notify=*/false);
      } else if (runner->revoke()) {
        finish_runner(/*notify=*/false);
      }
      runner->retire();
    }
    runners_.clear();
  }

  // `notify` is false when the calling thread itself retires a runner: nobody else waits.
  void finish_runner(bool notify = true) noexcept {
    // Read pool_ first: once active_ reaches 0 the caller may return and destroy *this.
    thread_pool* pool = pool_;
    if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1 && pool && notify) {
      pool_access::notify_waiters(*pool);
    }
  }

  void pool_notify() noexcept {
    if (pool_) pool_access::notify_waiters(*pool_);
  }

  void report_if_caller() {
    if (!report_wakeups_ || std::this_thread::get_id() != caller_) return;
    reporter_.report(completed_.load(std::memory_order_acquire), dispenser_.total(),
                     dispensed_batches_.load(std::memory_order_relaxed));
  }

  // --- batches of results -------------------------------------------------------------------

  void deliver(std::size_t first, batch_results values) {
    std::lock_guard lock(results_mutex_);
    if (settings_.mode == delivery::completion_order) {
      unordered_.push_back(std::move(values));
    } else {
      ordered_.emplace(first, std::move(values));
    }
  }

  // With results_mutex_ held: makes the next batch current; false when none is ready.
  bool take_ready_batch() {
    if constexpr (is_void) {
      return false;
    } else {
      if (settings_.mode == delivery::completion_order) {
        if (unordered_.empty()) return false;
        current_ = std::move(unordered_.front());
        unordered_.erase(unordered_.begin());
      } else {
        auto it = ordered_.find(next_index_);
        if (it == ordered_.end()) return false;
        current_ = std::move(it->second);
        ordered_.erase(it);
        next_index_ += current_.size();
      }
      position_ = 0;
      consumed_batches_.fetch_add(1, std::memory_order_acq_rel);
      return true;
    }
  }

  bool has_news() {
    if (errors_.has_error()) return true;
    if (active_.load(std::memory_order_acquire) == 0) return true;
    std::lock_guard lock(results_mutex_);
    if (settings_.mode == delivery::completion_order) return !unordered_.empty();
    return ordered_.find(next_index_) != ordered_.end();
  }

  // Every task ran and every result was taken (with results_mutex_ held).
  bool finished() const {
    return dispenser_.exhausted() && active_.load(std::memory_order_acquire) == 0 &&
           ordered_.empty() && unordered_.empty() &&
           dispensed_batches_.load(std::memory_order_acquire) ==
               consumed_batches_.load(std::memory_order_acquire);
  }

  void top_up_runners() {
    if (!pool_ || dispenser_.exhausted() || window_full()) return;
    const unsigned running = static_cast<unsigned>(active_.load(std::memory_order_acquire));
    if (running < spawnable_) spawn_runners(spawnable_ - running);
  }

  call_settings settings_;
  thread_pool* pool_;
  unsigned spawnable_;  // runners on the pool: never more than the pool has threads
  dispenser<V> dispenser_;
  std::optional<std::chrono::duration<double>> timeout_;
  stop_token stop_;
  std::thread::id caller_;
  progress_reporter reporter_;
  bool report_wakeups_ = false;

  std::atomic<std::size_t> active_{0};
  std::atomic<std::size_t> completed_{0};
  std::atomic<std::size_t> dispensed_batches_{0};
  std::atomic<std::size_t> consumed_batches_{0};
  std::atomic<bool> cancelled_{false};
  small_vector<runner_task*, 4> runners_;  // the caller's references; calling thread only
  first_exception errors_;

  std::conditional_t<direct_list, std::vector<result_type>, std::monostate> out_{};
  std::mutex results_mutex_;
  std::mutex window_mutex_;  // generators: see next_batch
  std::map<std::size_t, batch_results> ordered_;
  std::vector<batch_results> unordered_;
  batch_results current_{};
  std::size_t position_ = 0;
  std::size_t next_index_ = 0;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
