// joblib-cpp: what joblib::basic_memory needs from the place it keeps entries (a Store), and
// the types a store reports with. filesystem_store is the one the library ships.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE

/// Limits on a cache's size, enforced by joblib::memory after stores and on reduce_size().
/// An unset limit does not constrain. Entries go least recently used first.
struct cache_limits {
  std::optional<std::uint64_t> bytes_limit{};       ///< total bytes of entry files
  std::optional<std::uint64_t> items_limit{};       ///< number of entries
  std::optional<std::chrono::seconds> age_limit{};  ///< since the last use of an entry

  /// True when any limit is set.
  bool any() const noexcept { return bytes_limit || items_limit || age_limit; }
  /// These limits, with the unset ones taken from `defaults`.
  cache_limits or_else(const cache_limits& defaults) const {
    return {bytes_limit ? bytes_limit : defaults.bytes_limit,
            items_limit ? items_limit : defaults.items_limit,
            age_limit ? age_limit : defaults.age_limit};
  }
};

/// One entry file found by filesystem_store::scan().
struct cache_entry_info {
  std::filesystem::path path;
  std::string function;  ///< the function folder the entry belongs to
  std::uint64_t bytes = 0;
  std::chrono::system_clock::time_point last_used;  ///< its modification time (LRU order)
};

/// What eviction removed.
struct eviction_result {
  std::uint64_t removed_entries = 0;
  std::uint64_t removed_bytes = 0;
  std::uint64_t remaining_entries = 0;
  std::uint64_t remaining_bytes = 0;
};

/// A Store for joblib::basic_memory<Store>: where entries live and how they are found, locked,
/// refreshed, listed and evicted. Entries are container files (joblib::dump's format) at the
/// paths the store hands out; the memory writes and reads them itself. Every member must be
/// safe to call from many threads and processes at once, and a concurrent removal of an entry
/// must look like a miss, never an error.
template <class Store>
concept cache_store = std::constructible_from<Store, std::filesystem::path> &&
    requires(const Store& store, std::string_view name, const std::filesystem::path& entry,
             const cache_limits& limits) {
  /// The location given at construction, and the folder in it that the store owns.
  { store.location() } -> std::convertible_to<std::filesystem::path>;
  { store.root() } -> std::convertible_to<std::filesystem::path>;
  /// The file of entry `key_hex` (32 lowercase hex digits) of function `name`.
  { store.entry_path(name, name) } -> std::convertible_to<std::filesystem::path>;
  /// A file whose byte-range locks serialize the computation of one entry across processes.
  { store.lock_path(name) } -> std::convertible_to<std::filesystem::path>;
  /// Creates what entry_path(name, key_hex) needs to exist before a file is written there.
  store.prepare(name, name);
  /// Refreshes an entry's last use (LRU) when older than the given precision; may use an open fd.
  store.touch_if_older(entry, int{}, std::chrono::seconds{});
  /// Removes one entry (true when it existed), every entry of a function, every entry.
  { store.remove(entry) } -> std::same_as<bool>;
  { store.clear(name) } -> std::same_as<std::uint64_t>;
  { store.clear_all() } -> std::same_as<std::uint64_t>;
  /// Every entry, for statistics and eviction.
  { store.scan() } -> std::same_as<std::vector<cache_entry_info>>;
  /// Removes entries until `limits` hold (least recently used first).
  { store.evict(limits) } -> std::same_as<eviction_result>;
  /// Removes temporary files of writers that died; returns how many.
  { store.sweep_temporaries() } -> std::same_as<std::uint64_t>;
};

JOBLIB_END_NAMESPACE
