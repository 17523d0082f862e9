// joblib-cpp internals: the Chase-Lev work-stealing deque, after Lê, Pop, Cohen and Zappa
// Nardelli, "Correct and Efficient Work-Stealing for Weak Memory Models" (PPoPP 2013).
//
// One owner thread pushes and takes at the bottom (LIFO, cache-warm); any thread steals from
// the top (FIFO, the oldest and usually largest pieces of work). The paper places two
// seq_cst fences; we express the same orderings with seq_cst operations on `bottom_`/`top_`
// instead, because ThreadSanitizer does not model std::atomic_thread_fence and would report
// false races. On x86-64 both forms compile to the same instructions (an xchg or mfence in
// take(), plain loads elsewhere).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// Unbounded single-owner, multi-thief deque of pointers. T* values are never dereferenced.
template <class T>
class work_stealing_deque {
 public:
  explicit work_stealing_deque(std::size_t capacity = 256) {
    std::size_t size = 1;
    while (size < capacity) size *= 2;
    arrays_.push_back(std::make_unique<ring>(size));
    array_.store(arrays_.back().get(), std::memory_order_relaxed);
  }
  work_stealing_deque(const work_stealing_deque&) = delete;
  work_stealing_deque& operator=(const work_stealing_deque&) = delete;

  /// Owner only. Adds `item` at the bottom, growing the ring when full.
  void push(T* item) {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);
    // acquire: pairs with the CAS of thieves so that a slot they emptied can be reused.
    const std::int64_t t = top_.load(std::memory_order_acquire);
    ring* a = array_.load(std::memory_order_relaxed);
    if (b - t > static_cast<std::int64_t>(a->mask)) a = grow(a, t, b);
    a->put(b, item);
    // release: a thief that sees the new bottom also sees the item in its slot.
    bottom_.store(b + 1, std::memory_order_release);
  }

  /// Owner only. Removes the bottom item; nullptr when empty or when a thief won the last one.
  T* take() {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    ring* a = array_.load(std::memory_order_relaxed);
    // seq_cst store then seq_cst load of top_ (the paper's fence): a concurrent thief either
    // sees the decremented bottom, or we see its incremented top; never neither.
    bottom_.store(b, std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    if (t > b) {  // empty: restore
      bottom_.store(b + 1, std::memory_order_relaxed);
      return nullptr;
    }
    T* item = a->get(b);
    if (t == b) {
      // The last item: race the thieves for it through top_.
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
        item = nullptr;
      }
      bottom_.store(b + 1, std::memory_order_relaxed);
    }
    return item;
  }

  /// Owner only. Removes the bottom item if it is `item`; false when it is not, or when a
  /// thief won it.
  bool take_if(const T* item) {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);
    const std::int64_t t = top_.load(std::memory_order_acquire);
    if (b <= t || array_.load(std::memory_order_relaxed)->get(b - 1) != item) return false;
    return take() == item;  // only thieves move meanwhile, and only the top
  }

  /// Any thread. Removes the top item; nullptr when empty or when another thread won it.
  T* steal() {
    // seq_cst loads in this order (the paper's fence between them): if we read an old top we
    // cannot read a bottom older than the owner's matching take().
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    const std::int64_t b = bottom_.load(std::memory_order_seq_cst);
    if (t >= b) return nullptr;
    // acquire: the ring published by grow() is fully initialised when we read its slots.
    ring* a = array_.load(std::memory_order_acquire);
    T* item = a->get(t);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      return nullptr;  // lost the race to the owner or another thief
    }
    return item;
  }

  /// Any thread; a snapshot that may be stale by the time it returns.
  bool empty() const noexcept {
    const std::int64_t t = top_.load(std::memory_order_seq_cst);
    const std::int64_t b = bottom_.load(std::memory_order_seq_cst);
    return b <= t;
  }

 private:
  // Slots are atomics accessed relaxed: a thief may read a slot the owner is overwriting after
  // a wrap-around; the CAS on top_ then fails and the value read is discarded.
  struct ring {
    explicit ring(std::size_t size) : mask(size - 1), slots(new std::atomic<T*>[size]) {}
    T* get(std::int64_t i) const noexcept {
      return slots[static_cast<std::size_t>(i) & mask].load(std::memory_order_relaxed);
    }
    void put(std::int64_t i, T* item) noexcept {
      slots[static_cast<std::size_t>(i) & mask].store(item, std::memory_order_relaxed);
    }
    std::size_t mask;
    std::unique_ptr<std::atomic<T*>[]> slots;
  };

  ring* grow(ring* old, std::int64_t t, std::int64_t b) {
    auto bigger = std::make_unique<ring>((old->mask + 1) * 2);
    for (std::int64_t i = t; i < b; ++i) bigger->put(i, old->get(i));
    ring* fresh = bigger.get();
    // Old rings stay alive until the deque dies: a thief may still be reading one.
    arrays_.push_back(std::move(bigger));
    array_.store(fresh, std::memory_order_release);
    return fresh;
  }

  alignas(64) std::atomic<std::int64_t> top_{0};
  alignas(64) std::atomic<std::int64_t> bottom_{0};
  alignas(64) std::atomic<ring*> array_{nullptr};
  std::vector<std::unique_ptr<ring>> arrays_;  // owner only
};

}  // namespace detail
JOBLIB_END_NAMESPACE
