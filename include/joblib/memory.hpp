// joblib-cpp: joblib.Memory for C++, transparent on-disk memoization of function calls.
//
//   joblib::memory mem{"./cachedir", {.bytes_limit = 1 << 30}};
//   auto slow_sum = mem.cache("slow_sum", [](int a, int b) { sleep(2); return a + b; });
//   slow_sum(1, 2);   // computed, stored
//   slow_sum(1, 2);   // loaded from ./cachedir
//
// An entry is one container file (joblib::dump's format) holding the result, with its
// metadata as the container's attributes, published by one atomic rename. Its key is the
// XXH3-128 of the function name, the user's version string, the return type's signature and
// every argument not ignored (signature + canonical bytes), so a changed argument or return
// type can never load a stale result. Reads take no lock; anything that fails to load is a
// miss (counted, logged, removed, recomputed). Identical calls compute once: threads of one
// process through a single-flight table, processes through a lock file per entry that a
// killed holder cannot wedge. Size, item and age limits are enforced after stores (LRU).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/detail/file_lock.hpp"
#include "joblib/detail/single_flight.hpp"
#include "joblib/errors.hpp"
#include "joblib/hash.hpp"
#include "joblib/log.hpp"
#include "joblib/memory/filesystem_store.hpp"
#include "joblib/persist.hpp"
#include "joblib/serialize.hpp"

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

/// Options of a memory (an aggregate: use designated initializers).
struct memory_options {
  /// 0 silent; >= 1 "[Memory] Calling f(...)" and timing lines; >= 2 also loads.
  int verbose = 0;
  std::optional<std::uint64_t> bytes_limit{};       ///< total bytes of entry files
  std::optional<std::uint64_t> items_limit{};       ///< number of entries
  std::optional<std::chrono::seconds> age_limit{};  ///< since last use
  int compress = 0;                                 ///< dump_options::compress of results
  mmap_mode mmap = mmap_mode::none;                 ///< load_options::mmap of results
  bool durable = false;                             ///< fsync entries (survive power loss)
  /// How long a call waits for another process computing the same entry before computing it
  /// itself (at worst twice, never wrong).
  std::chrono::milliseconds lock_timeout = std::chrono::minutes(5);
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
  std::uint64_t bytes_on_disk = 0;    ///< entry files under the location, now
  std::uint64_t entries_on_disk = 0;
};

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
  single_flight<digest, bool> flights;

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
  std::atomic<std::uint64_t> hits{0}, misses{0}, stores{0}, evictions{0}, corrupt{0};

  // Amortised limit enforcement: a full scan once enough was stored since the last one.
  std::mutex limits_mutex;
  std::uint64_t bytes_since_scan = 0;
  std::uint64_t stores_since_scan = 0;
  std::chrono::steady_clock::time_point last_scan{};
  bool scanned_once = false;

  bool has_limits() const {
    return options.bytes_limit || options.items_limit || options.age_limit;
  }

  cache_limits limits() const {
    return {options.bytes_limit, options.items_limit, options.age_limit};
  }

  void note_store(std::uint64_t bytes) {
    if (!has_limits()) return;
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
    if (scan) enforce(limits());
  }

  eviction_result enforce(const cache_limits& l) {
    store.sweep_temporaries();
    const auto result = store.evict(l);
    evictions.fetch_add(result.removed_entries, std::memory_order_relaxed);
    return result;
  }
};

// The decayed parameter types of a callable with one signature (function, function pointer,
// lambda or functor with a non-template operator()); unknown for generic lambdas.
template <class Signature>
struct signature_params {
  static constexpr bool known = false;
};
template <class R, class... A>
struct signature_params<R (*)(A...)> {
  static constexpr bool known = true;
  using types = std::tuple<std::remove_cvref_t<A>...>;
};
template <class R, class... A>
struct signature_params<R (*)(A...) noexcept> : signature_params<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature_params<R (C::*)(A...)> : signature_params<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature_params<R (C::*)(A...) const> : signature_params<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature_params<R (C::*)(A...) noexcept> : signature_params<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature_params<R (C::*)(A...) const noexcept> : signature_params<R (*)(A...)> {};

template <class F, class = void>
struct callable_params : signature_params<std::decay_t<F>> {};
template <class F>
struct callable_params<F, std::void_t<decltype(&F::operator())>>
    : signature_params<decltype(&F::operator())> {};

// An argument as the function's parameter type: itself when it already is one (no copy),
// converted otherwise, so that f(1, "a") and f(1, std::string("a")) share a cache entry.
template <class P, class A>
decltype(auto) as_param(const A& arg) {
  if constexpr (std::is_same_v<std::remove_cvref_t<A>, P>) {
    return (arg);
  } else {
    return P(arg);
  }
}

// Calls body(args...) with each argument converted to F's parameter type when F has a known
// signature of the same arity, else with the arguments as given.
template <class F, class Body, class... Args>
decltype(auto) with_params(Body&& body, const Args&... args) {
  using traits = callable_params<F>;
  if constexpr (traits::known) {
    if constexpr (std::tuple_size_v<typename traits::types> == sizeof...(Args)) {
      return [&]<std::size_t... I>(std::index_sequence<I...>)->decltype(auto) {
        return body(as_param<std::tuple_element_t<I, typename traits::types>>(args)...);
      }
      (std::index_sequence_for<Args...>{});
    } else {
      return body(args...);
    }
  } else {
    return body(args...);
  }
}

inline std::string format_time(double seconds) {
  char text[64];
  std::snprintf(text, sizeof text, "%.1fs, %.1fmin", seconds, seconds / 60.0);
  return text;
}

// "f(10, 20)" from the arguments' summaries.
template <class... Args>
std::string format_call(const std::string& name, const Args&... args) {
  std::string text = name + "(";
  bool first = true;
  ((text += (first ? "" : ", "), text += summarize(args, 60), first = false), ...);
  return text + ")";
}

inline nlohmann::json to_json(const entry_metadata& m) {
  return {{"function", m.function},
          {"args_id", m.args_id},
          {"input_args", m.input_args},
          {"duration", m.duration.count()},
          {"created", std::chrono::duration<double>(m.created.time_since_epoch()).count()}};
}

inline entry_metadata from_json(const nlohmann::json& j, std::uint64_t bytes) {
  entry_metadata m;
  if (!j.is_object()) return m;
  m.function = j.value("function", "");
  m.args_id = j.value("args_id", "");
  m.input_args = j.value("input_args", "");
  m.duration = std::chrono::duration<double>(j.value("duration", 0.0));
  m.created = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(j.value("created", 0.0))));
  m.bytes = bytes;
  return m;
}

}  // namespace detail

template <class Store = filesystem_store>
class basic_memory;

/// A result kept in the cache by call_and_shelve(): a handle to load it later.
template <class R, class Store = filesystem_store>
class memorized_result {
 public:
  /// Loads the result. Throws joblib::error when the entry was cleared or evicted meanwhile
  /// (and the loading errors of joblib::load when it is damaged).
  detail::stored_t<R> get() const {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec)) {
      throw error("joblib: cache entry " + args_id_ + " of " + function_ + " is not in the cache");
    }
    return load<detail::stored_t<R>>(path_, {.mmap = mmap_});
  }
  /// Removes the entry from the cache.
  void clear() const { state_->store.remove(path_); }
  /// The entry's key, 32 hex digits (joblib's args_id).
  const std::string& args_id() const noexcept { return args_id_; }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  template <class F, class S>
  friend class memorized_function;
  memorized_result(std::shared_ptr<detail::memory_state<Store>> state, std::string function,
                   std::string args_id, std::filesystem::path path, mmap_mode mmap)
      : state_(std::move(state)),
        function_(std::move(function)),
        args_id_(std::move(args_id)),
        path_(std::move(path)),
        mmap_(mmap) {}
  std::shared_ptr<detail::memory_state<Store>> state_;
  std::string function_;
  std::string args_id_;
  std::filesystem::path path_;
  mmap_mode mmap_;
};

/// A result computed by memorized_function::call(), with the metadata stored beside it.
template <class R>
struct call_result {
  detail::stored_t<R> value;
  entry_metadata metadata;
};

/// A function whose calls are cached (joblib's MemorizedFunc), made by basic_memory::cache().
/// Copies are cheap and share the cache; every member may be called from many threads at once.
template <class F, class Store = filesystem_store>
class memorized_function {
 public:
  /// Calls the function, or loads the stored result of an earlier call with equal arguments.
  /// Throws what the function throws (nothing is stored then); a damaged entry is never an
  /// error (it is recomputed), but I/O errors while storing a new result are.
  template <class... Args>
  decltype(auto) operator()(const Args&... args) const {
    using R = std::invoke_result_t<const F&, const Args&...>;
    if (!state_) return std::invoke(*fn_, args...);
    return detail::with_params<F>(
        [this](const auto&... p) -> decltype(auto) {
          if constexpr (std::is_void_v<R>) {
            cached_call<R>(p...);
          } else {
            return cached_call<R>(p...);
          }
        },
        args...);
  }

  /// Computes (or loads) the result and returns a handle to it instead of the value.
  template <class... Args>
  auto call_and_shelve(const Args&... args) const {
    return detail::with_params<F>([this](const auto&... p) { return shelve(p...); }, args...);
  }

  /// True when a valid result for these arguments is stored.
  template <class... Args>
  bool check_call_in_cache(const Args&... args) const {
    return detail::with_params<F>([this](const auto&... p) { return in_cache(p...); }, args...);
  }

  /// Computes the result even when it is stored, stores it, and returns it with its metadata.
  template <class... Args>
  auto call(const Args&... args) const {
    return detail::with_params<F>([this](const auto&... p) { return force(p...); }, args...);
  }

  /// Removes every stored result of this function.
  void clear() const {
    if (state_) state_->store.clear(name_);
  }

  /// Removes the stored result of one call; true when there was one.
  template <class Arg, class... Args>
  bool clear(const Arg& arg, const Args&... args) const {
    return state_ && state_->store.remove(state_->store.entry_path(name_, key(arg, args...).hex()));
  }

  /// The key of a call, as stored (joblib's args_id).
  template <class... Args>
  digest key(const Args&... args) const {
    return detail::with_params<F>([this](const auto&... p) { return raw_key(p...); }, args...);
  }

  /// The name given to cache().
  const std::string& name() const noexcept { return name_; }

 private:
  template <class... Args>
  auto shelve(const Args&... args) const {
    using R = std::invoke_result_t<const F&, const Args&...>;
    require_cache("call_and_shelve");
    const digest k = raw_key(args...);
    const std::string id = k.hex();
    const auto path = state_->store.entry_path(name_, id);
    if (!try_load<R>(k, path, args...)) compute_and_store<R>(id, path, args...);
    return memorized_result<R, Store>(state_, name_, id, path, mmap());
  }

  template <class... Args>
  bool in_cache(const Args&... args) const {
    if (!state_) return false;
    const auto path = state_->store.entry_path(name_, raw_key(args...).hex());
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return false;
    if (!options_.validate) return true;
    try {
      return options_.validate(metadata_of(path));
    } catch (const std::exception&) {
      return false;
    }
  }

  template <class... Args>
  auto force(const Args&... args) const {
    using R = std::invoke_result_t<const F&, const Args&...>;
    require_cache("call");
    const std::string id = raw_key(args...).hex();
    return compute_and_store<R>(id, state_->store.entry_path(name_, id), args...);
  }

  template <class... Args>
  digest raw_key(const Args&... args) const {
    using R = std::invoke_result_t<const F&, const Args&...>;
    hasher h;
    h.update(std::string_view("joblib-cpp cache key v1"));
    h.update(std::string_view(name_));
    h.update(std::string_view(options_.version));
    h.update(type_signature<detail::stored_t<R>>());
    std::size_t position = 0;
    (
        [&] {
          if (std::find(options_.ignore.begin(), options_.ignore.end(), position) ==
              options_.ignore.end()) {
            h.update(position);
            h.update(args);
          }
          ++position;
        }(),
        ...);
    return h.finish();
  }

  template <class S>
  friend class basic_memory;

  memorized_function(std::shared_ptr<detail::memory_state<Store>> state, std::string name, F fn,
                     cache_options options)
      : state_(std::move(state)),
        name_(std::move(name)),
        fn_(std::make_shared<const F>(std::move(fn))),
        options_(std::move(options)) {}

  int verbose() const { return options_.verbose.value_or(state_->options.verbose); }
  mmap_mode mmap() const { return options_.mmap.value_or(state_->options.mmap); }

  void require_cache(const char* what) const {
    if (!state_) throw error(std::string("joblib: ") + what + " needs a memory with a location");
  }

  template <class R, class... Args>
  detail::stored_t<R> cached_call(const Args&... args) const {
    const digest k = raw_key(args...);
    const std::string id = k.hex();
    const auto path = state_->store.entry_path(name_, id);
    if (auto hit = try_load<R>(k, path, args...)) return std::move(*hit);

    // Miss: one thread of this process computes; the others then load what it stored.
    std::optional<detail::stored_t<R>> mine;
    state_->flights.run(k, [&] {
      if (auto hit = try_load<R>(k, path, args...)) {
        mine = std::move(*hit);
        return true;
      }
      state_->store.prepare(name_, id);
      // Across processes: wait for a process computing this entry; a dead one frees the lock.
      auto lock = detail::file_lock::acquire(state_->store.lock_path(name_), k.low,
                                             state_->options.lock_timeout);
      if (lock) {
        if (auto hit = try_load<R>(k, path, args...)) {
          mine = std::move(*hit);
          return true;
        }
      }
      mine = std::move(compute_and_store<R>(id, path, args...).value);
      return true;
    });
    if (mine) return std::move(*mine);
    if (auto hit = try_load<R>(k, path, args...)) return std::move(*hit);
    return std::move(compute_and_store<R>(id, path, args...).value);  // the leader's store failed
  }

  template <class R, class... Args>
  call_result<R> compute_and_store(const std::string& id, const std::filesystem::path& path,
                                   const Args&... args) const {
    state_->misses.fetch_add(1, std::memory_order_relaxed);
    const int level = verbose();
    if (level >= 1) {
      joblib::log(log_level::info, std::string(80, '_') + "\n[Memory] Calling " + name_ + "...\n" +
                                       detail::format_call(name_, args...));
    }
    const auto started = std::chrono::steady_clock::now();
    call_result<R> result{compute<R>(args...), {}};
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;

    entry_metadata& m = result.metadata;
    m.function = name_;
    m.args_id = id;
    m.input_args = detail::format_call(name_, args...);
    m.duration = took;
    m.created = std::chrono::system_clock::now();
    const dump_options how{.compress = state_->options.compress,
                           .attributes = detail::to_json(m),
                           .durable = state_->options.durable};
    try {
      m.bytes = detail::dump_and_measure(result.value, path, how);
    } catch (const std::filesystem::filesystem_error& e) {
      if (e.code() != std::errc::no_such_file_or_directory) throw;
      state_->store.prepare(name_, id);  // the entry's folder is new (or was cleared)
      m.bytes = detail::dump_and_measure(result.value, path, how);
    }
    state_->stores.fetch_add(1, std::memory_order_relaxed);
    state_->note_store(m.bytes);
    if (level >= 1) {
      const std::string msg = name_ + " - " + detail::format_time(took.count());
      joblib::log(log_level::info, std::string(msg.size() < 80 ? 80 - msg.size() : 0, '_') + msg);
    }
    return result;
  }

  template <class R, class... Args>
  detail::stored_t<R> compute(const Args&... args) const {
    if constexpr (std::is_void_v<R>) {
      std::invoke(*fn_, args...);
      return {};
    } else {
      return std::invoke(*fn_, args...);
    }
  }

  // The stored result, or nothing on a miss. A damaged, mistyped or rejected entry is a miss:
  // counted, logged, removed.
  template <class R, class... Args>
  std::optional<detail::stored_t<R>> try_load(const digest& key, const std::filesystem::path& path,
                                              const Args&... args) const {
    using stored = detail::stored_t<R>;
    try {  // no exists() first: a missing file is one failed open
      const auto opened = detail::container_reader::open_if_exists(
          path, detail::to_read_settings({.mmap = mmap()}));
      if (!opened) return std::nullopt;  // not stored yet, or evicted
      detail::container_reader& reader = *opened;
      const std::string_view expected = type_signature<stored>();
      if (reader.type_signature() != expected) {
        throw type_mismatch_error(std::string(expected), reader.type_signature(), path.string());
      }
      if (options_.validate) {
        const auto attributes = reader.index().value("attributes", nlohmann::json::object());
        if (!options_.validate(detail::from_json(attributes, reader.file_size()))) {
          state_->store.remove(path);
          return std::nullopt;
        }
      }
      stored value{};
      detail::read_value(value, reader.value_stream(), &reader);
      state_->hits.fetch_add(1, std::memory_order_relaxed);
      state_->touch(key, path, reader.fd());
      if (verbose() >= 2) {
        joblib::log(log_level::info, "[Memory]: Loading " + detail::format_call(name_, args...));
      }
      return value;
    } catch (const std::exception& e) {  // I/O, format, checksum, type mismatch, bad_alloc
      discard(path, e.what());
    }
    return std::nullopt;
  }

  void discard(const std::filesystem::path& path, const std::string& why) const {
    state_->corrupt.fetch_add(1, std::memory_order_relaxed);
    joblib::log(log_level::warning, "[Memory] removing unusable cache entry " + path.string() +
                                        " (" + why + "); recomputing");
    state_->store.remove(path);
  }

  entry_metadata metadata_of(const std::filesystem::path& path) const {
    const auto index = inspect(path);
    return detail::from_json(index.value("attributes", nlohmann::json::object()),
                             index.value("file_size", std::uint64_t{0}));
  }

  std::shared_ptr<detail::memory_state<Store>> state_;  // null: caching off
  std::string name_;
  std::shared_ptr<const F> fn_;
  cache_options options_;
};

/// joblib's Memory: a cache directory for function results.
///
///   joblib::memory off;                                   // no location: calls pass through
///   joblib::memory mem{"./cachedir", {.verbose = 1, .bytes_limit = 1 << 30}};
///   auto f = mem.cache("expensive", expensive, {.ignore = {2}, .version = "2"});
///
/// Thread safety: a memory and its cached functions may be used from many threads and many
/// processes at once (several processes may share one location).
template <class Store>
class basic_memory {
 public:
  /// Caching off: cache() returns functions that always call through (joblib's Memory(None)).
  basic_memory() = default;

  /// A cache at `location` (created when missing). Throws std::filesystem::filesystem_error
  /// when it cannot be created.
  explicit basic_memory(std::filesystem::path location, memory_options options = {})
      : state_(std::make_shared<detail::memory_state<Store>>(std::move(location),
                                                             std::move(options))) {}

  /// Wraps `fn` so that its results are cached under `name` (one folder per name).
  template <class F>
  memorized_function<std::decay_t<F>, Store> cache(std::string name, F&& fn,
                                                   cache_options options = {}) const {
    return memorized_function<std::decay_t<F>, Store>(state_, std::move(name), std::forward<F>(fn),
                                                      std::move(options));
  }

  /// Calls `fn(args...)` through the cache in one step (joblib's Memory.eval).
  template <class F, class... Args>
  decltype(auto) eval(std::string name, F&& fn, const Args&... args) const {
    return cache(std::move(name), std::forward<F>(fn))(args...);
  }

  /// Removes every entry of every function.
  void clear() const {
    if (state_) state_->store.clear_all();
  }

  /// Enforces `limits` now (unset fields fall back to the memory's own limits); removes the
  /// least recently used entries first and sweeps temporaries of dead writers.
  eviction_result reduce_size(cache_limits limits = {}) const {
    if (!state_) return {};
    if (!limits.bytes_limit) limits.bytes_limit = state_->options.bytes_limit;
    if (!limits.items_limit) limits.items_limit = state_->options.items_limit;
    if (!limits.age_limit) limits.age_limit = state_->options.age_limit;
    return state_->enforce(limits);
  }

  /// The cache directory; empty when caching is off.
  std::filesystem::path location() const {
    return state_ ? state_->store.root() : std::filesystem::path{};
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
    for (const auto& e : state_->store.scan()) {
      s.bytes_on_disk += e.bytes;
      ++s.entries_on_disk;
    }
    return s;
  }

  /// The store (for tools and tests).
  const Store* store() const noexcept { return state_ ? &state_->store : nullptr; }

 private:
  std::shared_ptr<detail::memory_state<Store>> state_;
};

/// The usual memory: entries as files under a directory.
using memory = basic_memory<>;

JOBLIB_END_NAMESPACE
