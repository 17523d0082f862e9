// joblib-cpp internals: the state a memory shares with its copies and cached functions:
// store, options, single-flight table, LRU refresh bookkeeping, counters and the amortised
// enforcement of limits.
#pragma once

#include <algorithm>
#include <any>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/hash.hpp"
#include "joblib/log.hpp"
#include "joblib/memory/detail/single_flight.hpp"
#include "joblib/memory/options.hpp"
#include "joblib/memory/store.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

template <class R>
using stored_t = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

/// State shared by a memory, its copies and every function it caches.
template <class Store>
struct memory_state {
  memory_state(std::filesystem::path location, memory_options opts)
      : store(std::move(location)), options(std::move(opts)) {}

  Store store;
  memory_options options;
  // Threads computing one key wait for the first. Its value reaches them through the entry it
  // stored; only when storing failed does the flight carry the value itself (else null).
  single_flight<digest, std::shared_ptr<const std::any>> flights;

  // LRU order is the entries' mtime, refreshed on hits. Refreshing is a syscall that costs as
  // much as the rest of a small hit, so each entry is refreshed at most once per second by
  // this process (far finer than any eviction decision needs).
  std::mutex touch_mutex;
  std::unordered_map<digest, std::chrono::steady_clock::time_point> last_touch;

  // Refreshes an entry's last use on a hit. This process looks at an entry at most once a
  // second, and the store rewrites its time only when older than lru_precision().
  void touch(const digest& key, const std::filesystem::path& path, int open_fd) {
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(touch_mutex);
      auto [it, fresh] = last_touch.try_emplace(key, now);
      if (!fresh) {
        if (now - it->second < std::chrono::seconds(1)) return;
        it->second = now;
      }
      if (last_touch.size() > 100'000) last_touch.clear();  // bounded memory
    }
    store.touch_if_older(path, open_fd, lru_precision());
  }

  // A minute, or less when age_limit needs it: an entry in use must never look older than
  // age_limit.
  std::chrono::seconds lru_precision() const {
    std::chrono::seconds precision{60};
    if (options.age_limit) precision = std::min(precision, *options.age_limit / 4);
    return precision;
  }
  std::atomic<std::uint64_t> hits{0}, misses{0}, stores{0}, evictions{0}, corrupt{0},
      store_failures{0};

  // A result that could not be stored (disk full, read-only or vanished location): counted,
  // and reported through the log once per kind of error and memory, so that a read-only cache
  // does not print a line per call.
  std::mutex failure_mutex;
  std::vector<int> reported_errors;

  void note_store_failure(const std::string& function, const std::system_error& e) {
    store_failures.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(failure_mutex);
      const int code = e.code().value();
      if (std::find(reported_errors.begin(), reported_errors.end(), code) !=
          reported_errors.end()) {
        return;
      }
      reported_errors.push_back(code);
    }
    log(log_level::warning, "[Memory] could not store a result of " + function + " (" + e.what() +
                                "); the result is returned uncached (this error is "
                                "reported once; memory_stats::store_failures counts them)");
  }

  // Amortised limit enforcement: a full scan once enough was stored since the last one.
  std::mutex limits_mutex;
  std::uint64_t bytes_since_scan = 0;
  std::uint64_t stores_since_scan = 0;
  std::chrono::steady_clock::time_point last_scan{};
  bool scanned_once = false;

  void note_store(std::uint64_t bytes) {
    if (!options.limits().any()) return;
    bool scan = false;
    {
      std::lock_guard lock(limits_mutex);
      bytes_since_scan += bytes;
      ++stores_since_scan;
      const auto now = std::chrono::steady_clock::now();
      scan = !scanned_once ||
             (options.bytes_limit && bytes_since_scan * 10 >= *options.bytes_limit) ||
             (options.items_limit && stores_since_scan * 10 >= *options.items_limit) ||
             (options.age_limit && now - last_scan >= *options.age_limit / 2);
      if (scan) {
        scanned_once = true;
        bytes_since_scan = 0;
        stores_since_scan = 0;
        last_scan = now;
      }
    }
    if (scan) enforce(options.limits());
  }

  eviction_result enforce(const cache_limits& l) {
    store.sweep_temporaries();
    const auto result = store.evict(l);
    evictions.fetch_add(result.removed_entries, std::memory_order_relaxed);
    return result;
  }
};

// The decayed parameter types of a callable with one signature (function, function pointer,

}  // namespace detail
JOBLIB_END_NAMESPACE
