// joblib-cpp internals: the dispenser of a parallel call, which hands out its tasks in batches
// and sizes those batches.
//
// Random-access sized ranges are handed out through an atomic cursor (no lock, the calls are
// read in place); any other input range through a locked iterator (the calls of a batch are
// copied out under the lock, so ranges of unknown length work, read once, in order). The
// iterator is advanced past a call only when the next one is wanted: over a lazy producer,
// producing call i+1 waits until a batch asks for it, as in joblib (P0 C0 P1 C1 ... with
// n_jobs = 1 and batch_size = 1).
//
// Auto batching: each runner times its batch and the dispenser moves the shared batch size
// toward the count that would take `target_batch_time` (EWMA with weight 1/2, at most
// doubling per step). For sized inputs a batch is also capped at remaining / (2 * runners), so
// batches shrink toward the tail and the last tasks spread over every runner (guided
// scheduling); a batch sized by that rule is not timed, since it teaches nothing.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <ranges>
#include <type_traits>
#include <variant>
#include <vector>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

template <class V>
using task_result_t = std::remove_cvref_t<std::invoke_result_t<std::ranges::range_reference_t<V>>>;

template <class V>
inline constexpr bool indexable_tasks_v =
    std::ranges::random_access_range<V>&& std::ranges::sized_range<V>;

/// What a batch of tasks takes, auto batching aims for.
inline constexpr std::chrono::microseconds target_batch_time{50};

/// Hands out the tasks of a range `V` in batches; see the header comment. take() may be called
/// from many threads at once.
template <class V>
class dispenser {
 public:
  static constexpr bool indexable = indexable_tasks_v<V>;

  /// A run of consecutive tasks [first, first + count).
  struct batch {
    std::size_t first = 0;
    std::size_t count = 0;
    bool adaptive = false;  // time it to adapt the batch size
    // Copies of the calls for input ranges; indexable ranges are read in place.
    std::conditional_t<indexable, std::monostate, std::vector<std::ranges::range_value_t<V>>>
        calls{};
  };

  /// `fixed_batch` 0 adapts the size; `runners` is how many threads take batches.
  dispenser(V& tasks, std::size_t fixed_batch, unsigned runners)
      : tasks_(tasks),
        iterator_(std::ranges::begin(tasks_)),
        fixed_batch_(fixed_batch),
        runners_(runners) {
    if constexpr (indexable) total_.store(std::ranges::size(tasks_), std::memory_order_relaxed);
  }

  dispenser(const dispenser&) = delete;
  dispenser& operator=(const dispenser&) = delete;

  /// Takes the next batch; false once the input is exhausted. Throws what reading the input
  /// range throws (input ranges only).
  bool take(batch& b) {
    const std::size_t want = next_size(b.adaptive);
    if constexpr (indexable) {
      const std::size_t total = total_.load(std::memory_order_relaxed);
      // relaxed: fetch_add hands each index out once; the calls themselves are not written.
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
      auto end = std::ranges::end(tasks_);
      while (b.calls.size() < want) {
        if (read_current_) {
          ++iterator_;
          read_current_ = false;
        }
        if (iterator_ == end) {
          total_.store(next_index_ + b.calls.size(), std::memory_order_relaxed);
          exhausted_.store(true, std::memory_order_release);
          break;
        }
        b.calls.emplace_back(*iterator_);
        read_current_ = true;
      }
      if (b.calls.empty()) return false;
      b.first = next_index_;
      b.count = b.calls.size();
      next_index_ += b.count;
    }
    return true;
  }

  /// Runs task k of batch `b` and returns its result by value (a result must not refer into
  /// the call object, which may be a temporary).
  decltype(auto) run(batch& b, std::size_t k) {
    if constexpr (indexable) {
      return std::invoke(iterator_[static_cast<std::ranges::range_difference_t<V>>(b.first + k)]);
    } else {
      return std::invoke(b.calls[k]);
    }
  }

  /// Moves the batch size toward what takes target_batch_time, from a batch of `count` tasks
  /// that took `took`.
  void adapt(std::size_t count, std::chrono::steady_clock::duration took) {
    if (fixed_batch_ != 0) return;
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

  /// True once every task was handed out.
  bool exhausted() const noexcept { return exhausted_.load(std::memory_order_acquire); }

  /// The number of tasks: known from the start for sized inputs, else once exhausted.
  std::optional<std::size_t> total() const noexcept {
    if (indexable || exhausted()) return total_.load(std::memory_order_relaxed);
    return std::nullopt;
  }

 private:
  // The size of the next batch; `adaptive` tells whether timing it can teach anything (not
  // for a fixed size, nor when the tail rule decided the size).
  std::size_t next_size(bool& adaptive) const {
    if (fixed_batch_ != 0) {
      adaptive = false;
      return fixed_batch_;
    }
    std::size_t size = std::max<std::size_t>(1, batch_size_.load(std::memory_order_relaxed));
    adaptive = true;
    if constexpr (indexable) {
      const std::size_t total = total_.load(std::memory_order_relaxed);
      const std::size_t taken = cursor_.load(std::memory_order_relaxed);
      const std::size_t remaining = taken < total ? total - taken : 0;
      const std::size_t tail = std::max<std::size_t>(1, remaining / (2 * runners_));
      // In the tail the split is fixed by what remains, so timing a batch teaches nothing
      // (and a clock read costs tens of ns on VMs: most of a small nested call's budget).
      if (tail <= size) {
        size = tail;
        adaptive = false;
      }
    }
    return size;
  }

  V& tasks_;
  std::ranges::iterator_t<V> iterator_;  // indexable: begin; input: the next unread call
  std::size_t fixed_batch_;
  unsigned runners_;
  std::atomic<std::size_t> batch_size_{1};
  std::atomic<std::size_t> cursor_{0};
  std::atomic<std::size_t> total_{0};
  std::atomic<bool> exhausted_{false};
  std::mutex input_mutex_;
  // Input ranges, guarded by input_mutex_: the index of the next call, and whether *iterator_
  // was already taken (the iterator moves on only when the next call is wanted).
  std::size_t next_index_ = 0;
  bool read_current_ = false;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
