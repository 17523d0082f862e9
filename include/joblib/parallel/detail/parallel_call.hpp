// joblib-cpp internals: one call of joblib::parallel.
//
// Tasks are handed out in batches by a dispenser: an atomic cursor for random-access sized
// ranges (no lock, no copy of the calls), a locked iterator for any other input range (the
// calls of a batch are copied out under the lock). `runners` (pool tasks, plus the calling
// thread in list mode) take batches until the input is exhausted, the call fails or is
// cancelled, or, for generators, pre_dispatch batches wait to be consumed. n_jobs limits how
// many runners exist, so a call never uses more threads than asked, and never creates any.
//
// Auto batching: each runner times its batch and moves the shared batch size toward the
// count that would take `target_batch_time` (EWMA with weight 1/2, at most doubling per
// step); for sized inputs a batch is also capped at remaining / (2 * runners), so batches
// shrink toward the tail and the last tasks spread over every runner (guided scheduling).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/parallel/detail/progress.hpp"
#include "joblib/parallel/detail/runner_task.hpp"
#include "joblib/parallel/options.hpp"
#include "joblib/parallel/result.hpp"
#include "joblib/parallel/thread_pool.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

template <class V>
using task_result_t = std::remove_cvref_t<std::invoke_result_t<std::ranges::range_reference_t<V>>>;

template <class V>
inline constexpr bool indexable_tasks_v =
    std::ranges::random_access_range<V>&& std::ranges::sized_range<V>;

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

/// Resolved settings of one call.
struct call_settings {
  unsigned n_jobs = 1;
  std::size_t fixed_batch = 0;  // 0: auto
  std::size_t window = 0;       // generator modes: batches in flight or unconsumed; 0: none
  return_as mode = return_as::list;
};

inline constexpr std::chrono::microseconds target_batch_time{50};

template <class V>
class parallel_call final : runner_host {
 public:
  using result_type = task_result_t<V>;
  static constexpr bool indexable = indexable_tasks_v<V>;
  static constexpr bool is_void = std::is_void_v<result_type>;
  // Results of one batch (generators and lists that cannot be written in place).
  using chunk = std::conditional_t<is_void, std::monostate,
                                   std::vector<std::conditional_t<is_void, int, result_type>>>;

  /// Writing results straight into a preallocated vector needs distinct, default-constructible
  /// slots (std::vector<bool> packs bits, so it is excluded).
  static constexpr bool direct_list = [] {
    if constexpr (is_void) {
      return false;
    } else {
      return indexable && std::is_default_constructible_v<result_type> &&
             std::is_move_assignable_v<result_type> && !std::is_same_v<result_type, bool>;
    }
  }();

  parallel_call(V& tasks, const parallel_options& options, call_settings settings,
                thread_pool* pool)
      : tasks_(tasks),
        iterator_(std::ranges::begin(tasks_)),
        settings_(settings),
        pool_(pool),
        timeout_(options.timeout),
        stop_(options.stop),
        caller_(std::this_thread::get_id()),
        reporter_(options, settings.n_jobs,
                  settings.window ? settings.window : 2 * std::size_t{settings.n_jobs}) {
    if constexpr (indexable) total_.store(std::ranges::size(tasks_), std::memory_order_relaxed);
    // Runners beside the caller: never more than the pool has threads.
    spawnable_ = pool_ ? std::min<unsigned>(settings.n_jobs - 1, pool_->size()) : 0;
    report_wakeups_ = reporter_.active();
  }

  parallel_call(const parallel_call&) = delete;
  parallel_call& operator=(const parallel_call&) = delete;
  ~parallel_call() { revoke_pending_runners(); }  // normally done already; never leave one behind

  // --- list mode ----------------------------------------------------------------------------

  /// Runs every task; returns the results in input order or rethrows the first failure.
  auto run_list() {
    if (write_in_place()) {
      if constexpr (direct_list) out_.resize(std::ranges::size(tasks_));
    }
    active_.fetch_add(1, std::memory_order_relaxed);  // the caller is a runner too
    spawn_runners(spawnable_);
    runner_loop();
    finish_runner(/*notify=*/false);
    revoke_pending_runners();
    if (pool_) {
      pool_->wait_until([this] {
        report_if_caller();
        return active_.load(std::memory_order_acquire) == 0;
      });
    }
    if (failed_.load(std::memory_order_acquire)) std::rethrow_exception(error_);
    reporter_.finish(completed_.load(std::memory_order_relaxed));
    if constexpr (is_void) {
      return;
    } else {
      if constexpr (direct_list) return std::move(out_);
      std::vector<result_type> all;
      all.reserve(completed_.load(std::memory_order_relaxed));
      for (auto& [first, values] : ordered_) {
        for (auto&& value : values) all.push_back(std::move(value));
      }
      return all;
    }
  }

  // --- generator modes ----------------------------------------------------------------------

  /// Next result of a generator, waiting (and helping the pool) until one is ready.
  std::optional<result_type> next_result() {
    for (;;) {
      {
        std::unique_lock lock(results_mutex_);
        if (position_ < current_.size()) return std::move(current_[position_++]);
        if (take_ready_chunk()) continue;
        if (failed_.load(std::memory_order_acquire)) {
          lock.unlock();
          cancel_and_wait();
          std::rethrow_exception(error_);
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
      pool_->wait_until([this] {
        report_if_caller();
        return has_news();
      });
    }
  }

  /// Stops handing out batches and waits for running ones (a dropped generator).
  void cancel_and_wait() noexcept {
    cancelled_.store(true, std::memory_order_release);
    revoke_pending_runners();
    if (pool_) {
      pool_->wait_until([this] { return active_.load(std::memory_order_acquire) == 0; });
    }
  }

 private:
  struct batch {
    std::size_t first = 0;
    std::size_t count = 0;
    bool adaptive = false;  // time it to adapt the batch size
    // Copies of the calls for input ranges; indexable ranges are read in place.
    std::conditional_t<indexable, std::monostate, std::vector<std::ranges::range_value_t<V>>>
        calls{};
  };

  // --- dispensing ---------------------------------------------------------------------------

  // The size of the next batch; `adaptive` tells whether timing it can teach anything (not
  // for a fixed size, nor when the tail rule decided the size).
  std::size_t next_batch_size(bool& adaptive) const {
    if (settings_.fixed_batch) {
      adaptive = false;
      return settings_.fixed_batch;
    }
    std::size_t size = std::max<std::size_t>(1, batch_size_.load(std::memory_order_relaxed));
    adaptive = true;
    if constexpr (indexable) {
      const std::size_t total = total_.load(std::memory_order_relaxed);
      const std::size_t taken = cursor_.load(std::memory_order_relaxed);
      const std::size_t remaining = taken < total ? total - taken : 0;
      const std::size_t tail = std::max<std::size_t>(1, remaining / (2 * (spawnable_ + 1)));
      // In the tail the split is fixed by what remains, so timing a batch teaches nothing
      // (and a clock read costs tens of ns on VMs: most of a small nested call's budget).
      if (tail <= size) {
        size = tail;
        adaptive = false;
      }
    }
    return size;
  }

  bool window_full() const {
    return settings_.window != 0 && dispensed_batches_.load(std::memory_order_acquire) -
                                            consumed_batches_.load(std::memory_order_acquire) >=
                                        settings_.window;
  }

  // Takes the next batch; false when there is none to take now.
  bool next_batch(batch& b) {
    if (failed_.load(std::memory_order_acquire) || cancelled_.load(std::memory_order_acquire)) {
      return false;
    }
    if (stop_.stop_requested()) {
      fail(std::make_exception_ptr(cancelled_error("joblib: parallel call cancelled")));
      return false;
    }
    if (window_full()) return false;
    const std::size_t want = next_batch_size(b.adaptive);
    if constexpr (indexable) {
      const std::size_t total = total_.load(std::memory_order_relaxed);
      const std::size_t first = cursor_.fetch_add(want, std::memory_order_relaxed);
      if (first >= total) {
        exhausted_.store(true, std::memory_order_release);
        return false;
      }
      b.first = first;
      b.count = std::min(want, total - first);
      if (first + b.count >= total) exhausted_.store(true, std::memory_order_release);
    } else {
      std::lock_guard lock(input_mutex_);
      if (exhausted_.load(std::memory_order_relaxed)) return false;
      b.calls.clear();
      try {
        auto end = std::ranges::end(tasks_);
        while (b.calls.size() < want && iterator_ != end) {
          b.calls.emplace_back(*iterator_);
          ++iterator_;
        }
        if (iterator_ == end) {
          total_.store(input_index_ + b.calls.size(), std::memory_order_relaxed);
          exhausted_.store(true, std::memory_order_release);
        }
      } catch (...) {
        fail(std::current_exception());  // the input range itself threw
        return false;
      }
      if (b.calls.empty()) return false;
      b.first = input_index_;
      b.count = b.calls.size();
      input_index_ += b.count;
    }
    dispensed_batches_.fetch_add(1, std::memory_order_acq_rel);
    return true;
  }

  // --- running ------------------------------------------------------------------------------

  // By value: a call's result must not refer into the (temporary) call object.
  auto call(batch& b, std::size_t k) -> std::conditional_t<is_void, void, result_type> {
    if constexpr (indexable) {
      return std::invoke(iterator_[static_cast<std::ranges::range_difference_t<V>>(b.first + k)]);
    } else {
      return std::invoke(b.calls[k]);
    }
  }

  // Runs the tasks of `b`; false when one failed (the failure is recorded).
  bool execute(batch& b, chunk& values) {
    try {
      for (std::size_t k = 0; k < b.count; ++k) {
        if (stop_.stop_possible() && stop_.stop_requested()) {
          fail(std::make_exception_ptr(cancelled_error("joblib: parallel call cancelled")));
          return false;
        }
        const auto started =
            timeout_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
        if constexpr (is_void) {
          call(b, k);
        } else if constexpr (direct_list) {
          if (write_in_place()) {
            out_[b.first + k] = call(b, k);
          } else {
            values.push_back(call(b, k));
          }
        } else {
          values.push_back(call(b, k));
        }
        if (timeout_) check_timeout(started, b.first + k);
      }
    } catch (...) {
      fail(std::current_exception());
      return false;
    }
    return true;
  }

  void check_timeout(std::chrono::steady_clock::time_point started, std::size_t index) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    if (took > *timeout_) {
      throw timeout_error("joblib: task " + std::to_string(index) + " ran for " +
                          std::to_string(took.count()) + " s, longer than the timeout of " +
                          std::to_string(timeout_->count()) + " s");
    }
  }

  bool run_one_batch() {
    batch b;
    if (!next_batch(b)) return false;
    chunk values{};
    if constexpr (!is_void) {
      if (!write_in_place()) values.reserve(b.count);
    }
    // Clock reads cost tens of ns on some VMs: only time batches that can teach something.
    const auto started =
        b.adaptive ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    const bool ok = execute(b, values);
    if (ok && b.adaptive) adapt_batch_size(b.count, std::chrono::steady_clock::now() - started);
    if constexpr (!is_void) {
      if (ok && !write_in_place()) deliver(b.first, std::move(values));
    }
    if (ok) completed_.fetch_add(b.count, std::memory_order_acq_rel);
    if (settings_.window != 0 || report_wakeups_) pool_notify();
    report_if_caller();
    return ok;
  }

  // List mode with a preallocated result vector (generators always deliver chunks).
  bool write_in_place() const noexcept {
    if constexpr (direct_list) {
      return settings_.mode == return_as::list;
    } else {
      return false;
    }
  }

  void runner_loop() noexcept {
    while (run_one_batch()) {
    }
  }

  void adapt_batch_size(std::size_t count, std::chrono::steady_clock::duration took) {
    if (settings_.fixed_batch) return;
    const double per_task =
        std::chrono::duration<double>(took).count() / static_cast<double>(count);
    const double target = std::chrono::duration<double>(target_batch_time).count();
    const std::size_t old = batch_size_.load(std::memory_order_relaxed);
    const double ideal = per_task > 0 ? target / per_task : 2.0 * static_cast<double>(old);
    const double smoothed = 0.5 * static_cast<double>(old) + 0.5 * ideal;
    const double capped = std::min(smoothed, 2.0 * static_cast<double>(old));
    batch_size_.store(std::max<std::size_t>(1, static_cast<std::size_t>(capped)),
                      std::memory_order_relaxed);
  }

  void fail(std::exception_ptr error) noexcept {
    std::lock_guard lock(error_mutex_);
    if (!failed_.load(std::memory_order_relaxed)) {
      error_ = std::move(error);
      failed_.store(true, std::memory_order_release);
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
      pool_->spawn(runner);
    }
  }

  // Withdraws runners that have not started; each withdrawn one counts as finished. Newest
  // first, so that each can be taken back from the bottom of this thread's deque.
  void revoke_pending_runners() noexcept {
    for (std::size_t i = runners_.size(); i-- > 0;) {
      runner_task* runner = runners_[i];
      if (pool_->take_back(runner)) {
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
      pool->notify_waiters();
    }
  }

  void pool_notify() noexcept {
    if (pool_) pool_->notify_waiters();
  }

  void report_if_caller() {
    if (!report_wakeups_ || std::this_thread::get_id() != caller_) return;
    std::optional<std::size_t> total;
    // Sized inputs know their total from the start; others once they are exhausted.
    if (indexable || exhausted_.load(std::memory_order_acquire)) {
      total = total_.load(std::memory_order_relaxed);
    }
    reporter_.report(completed_.load(std::memory_order_acquire), total,
                     dispensed_batches_.load(std::memory_order_relaxed));
  }

  // --- generator bookkeeping ----------------------------------------------------------------

  void deliver(std::size_t first, chunk values) {
    std::lock_guard lock(results_mutex_);
    if (settings_.mode == return_as::generator_unordered) {
      unordered_.push_back(std::move(values));
    } else {
      ordered_.emplace(first, std::move(values));
    }
  }

  // With results_mutex_ held: makes the next chunk current; false when none is ready.
  bool take_ready_chunk() {
    if constexpr (is_void) {
      return false;
    } else {
      if (settings_.mode == return_as::generator_unordered) {
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
    if (failed_.load(std::memory_order_acquire)) return true;
    if (active_.load(std::memory_order_acquire) == 0) return true;
    std::lock_guard lock(results_mutex_);
    if (settings_.mode == return_as::generator_unordered) return !unordered_.empty();
    return ordered_.find(next_index_) != ordered_.end();
  }

  // Every task ran and every result was taken (with results_mutex_ held).
  bool finished() const {
    return exhausted_.load(std::memory_order_acquire) &&
           active_.load(std::memory_order_acquire) == 0 && ordered_.empty() && unordered_.empty() &&
           dispensed_batches_.load(std::memory_order_acquire) ==
               consumed_batches_.load(std::memory_order_acquire);
  }

  void top_up_runners() {
    if (!pool_ || exhausted_.load(std::memory_order_acquire) || window_full()) return;
    const unsigned running = static_cast<unsigned>(active_.load(std::memory_order_acquire));
    if (running < spawnable_) spawn_runners(spawnable_ - running);
  }

  V& tasks_;
  std::ranges::iterator_t<V> iterator_;  // indexable: begin; input: the next unread call
  call_settings settings_;
  thread_pool* pool_;
  unsigned spawnable_ = 0;
  std::optional<std::chrono::duration<double>> timeout_;
  std::stop_token stop_;
  std::thread::id caller_;
  progress_reporter reporter_;
  bool report_wakeups_ = false;

  std::atomic<std::size_t> cursor_{0};
  std::atomic<std::size_t> total_{0};
  std::atomic<bool> exhausted_{false};
  std::size_t input_index_ = 0;  // guarded by input_mutex_
  std::mutex input_mutex_;

  std::atomic<std::size_t> batch_size_{1};
  std::atomic<std::size_t> active_{0};
  std::atomic<std::size_t> completed_{0};
  std::atomic<std::size_t> dispensed_batches_{0};
  std::atomic<std::size_t> consumed_batches_{0};
  std::atomic<bool> cancelled_{false};
  small_vector<runner_task*, 4> runners_;  // the caller's references; calling thread only

  std::atomic<bool> failed_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;

  std::conditional_t<direct_list, std::vector<result_type>, std::monostate> out_{};
  std::mutex results_mutex_;
  std::map<std::size_t, chunk> ordered_;
  std::vector<chunk> unordered_;
  chunk current_{};
  std::size_t position_ = 0;
  std::size_t next_index_ = 0;
};

/// A generator's result stream: owns the task range (or a view of it) and the call.
template <class View>
class generator_stream final : public result_stream<task_result_t<View>> {
 public:
  generator_stream(View tasks, parallel_options options, call_settings settings, thread_pool* pool)
      : tasks_(std::move(tasks)),
        options_(std::move(options)),
        call_(tasks_, options_, settings, pool) {}
  ~generator_stream() override { call_.cancel_and_wait(); }
  std::optional<task_result_t<View>> next() override { return call_.next_result(); }

 private:
  View tasks_;
  parallel_options options_;  // the call keeps pointers into it (on_progress)
  parallel_call<View> call_;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
