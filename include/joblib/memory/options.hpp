// joblib-cpp: the options of joblib::memory and of its cached functions, the metadata stored
// with every entry, and the memory's counters.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/memory/store.hpp"
#include "joblib/persist.hpp"

JOBLIB_BEGIN_NAMESPACE

/// What is known about a cache entry (stored as the entry file's attributes).
struct entry_metadata {
  std::string function;                             ///< the name given to cache()
  std::string args_id;                              ///< the key, 32 hex digits
  std::string input_args;                           ///< like joblib: "f(10, 20)", truncated
  std::chrono::duration<double> duration{};         ///< time the computation took
  std::chrono::system_clock::time_point created{};  ///< when the entry was stored
  std::uint64_t bytes = 0;                          ///< size of the entry file
};

/// Validation callback of cache_options: false turns a found entry into a miss.
using entry_validator = std::function<bool(const entry_metadata&)>;

/// A validator that accepts entries younger than `max_age` (joblib's cache_validation_callback
/// expires_after).
///
///   auto f = mem.cache("f", f_impl, {.validate = joblib::expires_after(std::chrono::hours{1})});
inline entry_validator expires_after(std::chrono::system_clock::duration max_age) {
  return [max_age](const entry_metadata& m) {
    return std::chrono::system_clock::now() - m.created < max_age;
  };
}

/// Options of a memory (an aggregate: use designated initializers). A negative age_limit, or
/// a bytes_limit or items_limit of 2^63 or more (a negative number converted), makes the
/// memory's constructor throw joblib::invalid_argument.
struct memory_options {
  /// 0 silent; >= 1 "[Memory] Calling f(...)" and timing lines; >= 2 also loads.
  int verbose = 0;
  std::optional<std::uint64_t> bytes_limit{};       ///< total bytes of entry files
  std::optional<std::uint64_t> items_limit{};       ///< number of entries
  std::optional<std::chrono::seconds> age_limit{};  ///< since last use
  int compress = 0;                                 ///< dump_options::compress of results
  /// load_options::mmap of results, on every call: a miss reads back what it stored.
  mmap_mode mmap = mmap_mode::none;
  bool durable = false;  ///< fsync entries (survive power loss)
  /// How long a call waits for another process computing the same entry before computing it
  /// itself (at worst twice, never wrong).
  std::chrono::milliseconds lock_timeout = std::chrono::minutes(5);
  /// Throw when the cache cannot be written (disk full, read-only or uncreatable location,
  /// lock file trouble) instead of returning computed results uncached with a warning.
  bool strict = false;

  /// The three limits as one cache_limits (what filesystem_store::evict takes).
  cache_limits limits() const { return {bytes_limit, items_limit, age_limit}; }
};

/// Options of one cached function (an aggregate: use designated initializers).
struct cache_options {
  std::vector<std::size_t> ignore{};  ///< argument positions (0-based) left out of the key
  std::string version{};              ///< changing it invalidates every entry
  std::optional<mmap_mode> mmap{};    ///< overrides memory_options::mmap
  entry_validator validate{};         ///< e.g. joblib::expires_after(...)
  std::optional<int> verbose{};       ///< overrides memory_options::verbose
};

/// Counters of a memory, shared by all its cached functions (and copies).
struct memory_stats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t stores = 0;
  std::uint64_t evictions = 0;
  std::uint64_t corrupt_entries = 0;  ///< entries that failed to load and were removed
  std::uint64_t store_failures = 0;   ///< results computed but not stored (see strict)
  std::uint64_t bytes_on_disk = 0;    ///< entry files under the location, now
  std::uint64_t entries_on_disk = 0;
};

JOBLIB_END_NAMESPACE
