// joblib-cpp: joblib.Memory for C++, transparent on-disk memoization of function calls.
//
//   joblib::memory mem{"./cachedir", {.bytes_limit = 1 << 30}};
//   auto slow_sum = mem.cache("slow_sum", [](int a, int b) { sleep(2); return a + b; });
//   slow_sum(1, 2);   // computed, stored
//   slow_sum(1, 2);   // loaded from ./cachedir
//
// An entry is one container file (joblib::dump's format) holding the result, with its
// metadata as the container's attributes, published by one atomic rename. Its key is the
// XXH3-128 of the function name, the user's version string, the return type's signature, the
// type of every parameter and every argument not ignored (canonical bytes), so a changed
// argument or return type can never load a stale result, and functions of different
// signatures cached under one name never share entries (alike ones are reported once). Reads take
// no lock; anything that fails to load is a miss (counted, logged, removed, recomputed). Identical
// calls compute once: threads of one process through a single-flight table, processes through a
// byte-range lock per entry (in one lock file per function) that the kernel releases when its
// holder dies. Size, item and age limits are enforced after stores (LRU).
//
// Parts: memory/options.hpp (options, metadata, stats), memory/store.hpp (the Store concept),
// memory/filesystem_store.hpp (the default Store), memory/memorized_function.hpp (a cached
// function and its results).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/log.hpp"
#include "joblib/memory/detail/state.hpp"
#include "joblib/memory/filesystem_store.hpp"
#include "joblib/memory/memorized_function.hpp"
#include "joblib/memory/options.hpp"
#include "joblib/memory/store.hpp"

JOBLIB_BEGIN_NAMESPACE

/// joblib's Memory: a cache directory for function results.
///
///   joblib::memory off;                                   // no location: calls pass through
///   joblib::memory mem{"./cachedir", {.verbose = 1, .bytes_limit = 1 << 30}};
///   auto f = mem.cache("expensive", expensive, {.ignore = {2}, .version = "2"});
///
/// Thread safety: a memory and its cached functions may be used from many threads and many
/// processes at once (several processes may share one location).
template <cache_store Store>
class basic_memory {
 public:
  /// Caching off: cache() returns functions that always call through (joblib's Memory(None)).
  basic_memory() = default;

  /// A cache in `location` (created when missing; the entries go into `location/joblib/`).
  /// When it cannot be created the memory says so through joblib::log and runs uncached
  /// (calls pass through), or, with memory_options::strict, throws
  /// std::filesystem::filesystem_error. Throws joblib::invalid_argument for a nonsensical
  /// limit (see reduce_size()).
  explicit basic_memory(std::filesystem::path location, memory_options options = {}) {
    check_limits(options.limits());
    try {
      state_ = std::make_shared<detail::memory_state<Store>>(location, options);
    } catch (const std::filesystem::filesystem_error& e) {
      if (options.strict) throw;
      log(log_level::warning, std::string("[Memory] cannot use ") + location.string() +
                                  " as a cache location (" + e.what() + "); caching is off");
    }
  }

  /// Wraps `fn` so that its results are cached under `name` (one folder per name).
  ///
  /// Arguments at the positions in options.ignore are left out of the key and need not be
  /// serializable (a log stream, a progress callback). Throws joblib::invalid_argument when
  /// `fn` has one signature and a parameter that is not serializable is not ignored, or
  /// ignore lists a position `fn` does not have (for a generic lambda the call checks).
  ///
  ///   auto fit = mem.cache("fit", [](const data& d, std::ostream* log) { ... }, {.ignore = {1}});
  template <class F>
  memorized_function<std::decay_t<F>, Store> cache(std::string name, F&& fn,
                                                   cache_options options = {}) const {
    return memorized_function<std::decay_t<F>, Store>(state_, std::move(name), std::forward<F>(fn),
                                                      std::move(options));
  }

  /// Calls `fn(args...)` through the cache in one step (joblib's Memory.eval).
  template <class F, class... Args>
  decltype(auto) eval(std::string name, F&& fn, Args&&... args) const {
    return cache(std::move(name), std::forward<F>(fn))(std::forward<Args>(args)...);
  }

  /// Removes every entry of every function.
  void clear() const {
    if (state_) state_->store.clear_all();
  }

  /// Enforces `limits` now (unset fields fall back to the memory's own limits); removes the
  /// least recently used entries first and sweeps temporaries of dead writers. Without a
  /// location it does nothing.
  ///
  /// Throws joblib::invalid_argument for a negative age_limit (joblib's ValueError) and for a
  /// bytes_limit or items_limit of 2^63 or more: a negative number converted to the unsigned
  /// type (`.bytes_limit = -1`), which would otherwise silently mean "no limit". Zero limits
  /// are valid (they empty the cache).
  ///
  ///   mem.reduce_size({.bytes_limit = 1 << 30, .age_limit = std::chrono::hours{24 * 7}});
  eviction_result reduce_size(const cache_limits& limits = {}) const {
    check_limits(limits);
    if (!state_) return {};
    return state_->enforce(limits.or_else(state_->options.limits()));
  }

  /// The location given at construction (the entries are in its `joblib/` folder); empty
  /// when caching is off.
  std::filesystem::path location() const {
    return state_ ? state_->store.location() : std::filesystem::path{};
  }

  /// Counters since this memory (or the one it was copied from) was made, plus what is on disk.
  memory_stats stats() const {
    memory_stats s;
    if (!state_) return s;
    s.hits = state_->hits.load();
    s.misses = state_->misses.load();
    s.stores = state_->stores.load();
    s.evictions = state_->evictions.load();
    s.corrupt_entries = state_->corrupt.load();
    s.store_failures = state_->store_failures.load();
    for (const auto& e : state_->store.scan()) {
      s.bytes_on_disk += e.bytes;
      ++s.entries_on_disk;
    }
    return s;
  }

  /// The store (for tools and tests).
  const Store* store() const noexcept { return state_ ? &state_->store : nullptr; }

 private:
  static void check_limits(const cache_limits& limits) {
    constexpr std::uint64_t negative = std::uint64_t{1} << 63;
    if (limits.age_limit && *limits.age_limit < std::chrono::seconds::zero()) {
      throw invalid_argument("joblib::memory: age_limit must not be negative (it is " +
                             std::to_string(limits.age_limit->count()) + " s)");
    }
    if ((limits.bytes_limit && *limits.bytes_limit >= negative) ||
        (limits.items_limit && *limits.items_limit >= negative)) {
      throw invalid_argument(
          "joblib::memory: bytes_limit and items_limit must be below 2^63 (a negative number "
          "converted to unsigned?); leave a limit unset for none");
    }
  }

  std::shared_ptr<detail::memory_state<Store>> state_;
};

/// The usual memory: entries as files under a directory.
using memory = basic_memory<>;

JOBLIB_END_NAMESPACE
