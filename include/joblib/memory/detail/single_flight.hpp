// joblib-cpp internals: single flight. Threads of one process that ask for the same key at the
// same time run the computation once: the first caller (the leader) runs it, the others wait
// for its outcome (value or exception) instead of computing again.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// A table of computations in flight, keyed by Key (hashable with Hash).
///
///   single_flight<digest, int> flights;
///   int v = flights.run(key, [&] { return compute(); });   // thread-safe
///
/// Thread safety: every member may be called concurrently. The computation runs without the
/// table's lock held, so it may itself use the table for other keys.
template <class Key, class Value, class Hash = std::hash<Key>>
class single_flight {
 public:
  /// Runs `compute` unless a call with the same key is already running, in which case it waits
  /// for that call and returns a copy of its value (or rethrows its exception). `compute` must
  /// return Value. Waiters are released once the leader finishes; a later call runs again.
  template <class Compute>
  Value run(const Key& key, Compute&& compute) {
    std::unique_lock lock(mutex_);
    if (auto it = flights_.find(key); it != flights_.end()) {
      std::shared_ptr<flight> current = it->second;
      done_.wait(lock, [&] { return current->finished; });
      if (current->error) std::rethrow_exception(current->error);
      return *current->value;
    }
    auto mine = std::make_shared<flight>();
    flights_.emplace(key, mine);
    lock.unlock();

    std::optional<Value> result;
    std::exception_ptr error;
    try {
      result.emplace(std::forward<Compute>(compute)());
    } catch (...) {
      error = std::current_exception();
    }

    lock.lock();
    mine->value = result;
    mine->error = error;
    mine->finished = true;
    flights_.erase(key);
    lock.unlock();
    done_.notify_all();
    if (error) std::rethrow_exception(error);
    return std::move(*result);
  }

  /// Number of keys being computed right now (for tests and statistics).
  std::size_t in_flight() const {
    std::lock_guard lock(mutex_);
    return flights_.size();
  }

 private:
  struct flight {
    std::optional<Value> value;
    std::exception_ptr error;
    bool finished = false;
  };

  mutable std::mutex mutex_;
  std::condition_variable done_;
  std::unordered_map<Key, std::shared_ptr<flight>, Hash> flights_;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
