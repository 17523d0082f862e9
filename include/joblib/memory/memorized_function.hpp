// joblib-cpp: a cached function (joblib's MemorizedFunc) and the handles its calls return.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <any>
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
#include <system_error>
#include <type_traits>
#include <utility>

#include "joblib/config.hpp"
#include "joblib/detail/os/file_lock.hpp"
#include "joblib/errors.hpp"
#include "joblib/hash.hpp"
#include "joblib/log.hpp"
#include "joblib/memory/detail/call_params.hpp"
#include "joblib/memory/detail/function_registry.hpp"
#include "joblib/memory/detail/metadata.hpp"
#include "joblib/memory/detail/state.hpp"
#include "joblib/memory/filesystem_store.hpp"
#include "joblib/memory/options.hpp"
#include "joblib/memory/store.hpp"
#include "joblib/persist.hpp"
#include "joblib/serialize.hpp"

JOBLIB_BEGIN_NAMESPACE

template <cache_store Store = filesystem_store>
class basic_memory;

/// What call_and_shelve() returns: a handle to a result kept in the cache, loaded by get()
/// (joblib's MemorizedResult). Without a location, or when the result could not be stored,
/// it holds the value itself (joblib's NotMemorizedResult). Copies share the result;
/// every member may be called from many threads at once.
template <class R, cache_store Store = filesystem_store>
class memorized_result {
 public:
  /// The result: loaded from its cache entry, or the value held.
  ///
  /// Throws joblib::error when the entry was cleared or evicted meanwhile, or the held value
  /// was cleared (or, for a type that cannot be copied, handed out by an earlier get()), and
  /// the loading errors of joblib::load when the entry is damaged.
  detail::stored_t<R> get() const {
    if (held_) return take_held();
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec)) {
      throw error("joblib: cache entry " + args_id_ + " of " + function_ + " is not in the cache");
    }
    return load<detail::stored_t<R>>(path_, {.mmap = mmap_, .follow_symlinks = false});
  }
  /// Removes the entry from the cache, or drops the value held.
  void clear() const {
    if (held_) {
      std::lock_guard lock(held_->mutex);
      held_->value.reset();
    } else {
      state_->store.remove(path_);
    }
  }
  /// The entry's key, 32 hex digits (joblib's args_id); empty without a location.
  const std::string& args_id() const noexcept { return args_id_; }
  /// The entry's file; empty when the value is held.
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  template <class F, cache_store S>
  friend class memorized_function;

  struct held_value {
    std::mutex mutex;
    std::optional<detail::stored_t<R>> value;
  };

  memorized_result(std::shared_ptr<detail::memory_state<Store>> state, std::string function,
                   std::string args_id, std::filesystem::path path, mmap_mode mmap)
      : state_(std::move(state)),
        function_(std::move(function)),
        args_id_(std::move(args_id)),
        path_(std::move(path)),
        mmap_(mmap) {}
  memorized_result(std::string function, std::string args_id, detail::stored_t<R> value)
      : function_(std::move(function)),
        args_id_(std::move(args_id)),
        mmap_(mmap_mode::none),
        held_(std::make_shared<held_value>()) {
    held_->value.emplace(std::move(value));
  }

  detail::stored_t<R> take_held() const {
    std::lock_guard lock(held_->mutex);
    if (!held_->value) {
      throw error("joblib: the result of a call of " + function_ +
                  " was cleared (or, not being copyable, already handed out by get())");
    }
    if constexpr (std::is_copy_constructible_v<detail::stored_t<R>>) {
      return *held_->value;
    } else {
      detail::stored_t<R> value = std::move(*held_->value);
      held_->value.reset();
      return value;
    }
  }

  std::shared_ptr<detail::memory_state<Store>> state_;
  std::string function_;
  std::string args_id_;
  std::filesystem::path path_;
  mmap_mode mmap_;
  std::shared_ptr<held_value> held_;  // null: the result is in the cache
};

/// A result computed by memorized_function::call(), with the metadata stored beside it.
template <class R>
struct call_result {
  detail::stored_t<R> value;
  entry_metadata metadata;
};

/// A function whose calls are cached (joblib's MemorizedFunc), made by basic_memory::cache().
/// Copies are cheap and share the cache; every member may be called from many threads at once.
///
/// Arguments are converted to the function's parameter types before they are hashed, except
/// for parameters taken by non-const reference: the function gets the caller's object (and
/// may modify it, as in Python) and the key is computed from its value before the call.
/// Arguments listed in cache_options::ignore are not hashed and need not be serializable.
template <class F, cache_store Store = filesystem_store>
class memorized_function {
  static_assert(!detail::takes_rvalue_reference<F>(),
                "joblib: a cached function cannot take a parameter by rvalue reference (T&&): "
                "take it by value or by reference");

 public:
  /// Calls the function, or loads the stored result of an earlier call with equal arguments.
  /// With an mmap mode, a computed result is stored and read back, so that every call returns
  /// a mapping. Throws what the function throws (nothing is stored then); a damaged entry is
  /// never an error (it is recomputed), but I/O errors while storing a new result are
  /// (with memory_options::strict), and a writable ndarray result with mmap_mode::r is
  /// joblib::invalid_argument, as is an argument that is not serializable and not ignored
  /// (for a generic lambda; other functions are checked by cache()).
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const {
    if (!state_) return std::invoke(*fn_, std::forward<Args>(args)...);
    return detail::with_params<F, true>(
        [this](auto&&... p) -> decltype(auto) {
          using R = detail::result_of_t<F, std::remove_reference_t<decltype(p)>...>;
          if constexpr (std::is_void_v<R>) {
            this->template cached_call<R>(p...);
          } else {
            return this->template cached_call<R>(p...);
          }
        },
        std::forward<Args>(args)...);
  }

  /// Computes the result unless it is stored, and returns a handle to it instead of the
  /// value (see memorized_result). A stored result is found and checked (its key, type and
  /// validate callback) but not loaded: get() loads it, as joblib does. Without a location it
  /// computes and holds the value.
  template <class... Args>
  auto call_and_shelve(Args&&... args) const {
    return detail::with_params<F, true>([this](auto&&... p) { return this->shelve(p...); },
                                        std::forward<Args>(args)...);
  }

  /// True when a valid result for these arguments is stored.
  template <class... Args>
  bool check_call_in_cache(const Args&... args) const {
    return detail::with_params<F, false>([this](auto&&... p) { return this->in_cache(p...); },
                                         args...);
  }

  /// Computes the result even when it is stored, stores it, and returns it with its metadata;
  /// without a location, the result with empty metadata (joblib's `(output, {})`).
  template <class... Args>
  auto call(Args&&... args) const {
    return detail::with_params<F, true>([this](auto&&... p) { return this->force(p...); },
                                        std::forward<Args>(args)...);
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
    return detail::with_params<F, false>([this](auto&&... p) { return this->raw_key(p...); },
                                         args...);
  }

  /// The name given to cache().
  const std::string& name() const noexcept { return name_; }

 private:
  template <class... Args>
  auto shelve(Args&... args) const {
    using R = detail::result_of_t<F, Args...>;
    using result = memorized_result<R, Store>;
    if (!state_) return result(name_, {}, compute<R>(args...));
    check_result_type<R>();
    const digest k = raw_key(args...);
    const std::string id = k.hex();
    const auto path = state_->store.entry_path(name_, id);
    // A stored entry is found and checked, not loaded: get() loads it (joblib loads lazily).
    if (const auto entry = find_entry<R>(k, path)) {
      note_hit(k, path, *entry);
    } else {
      computed<R> done = compute_and_store<R>(id, path, args...);
      if (!done.stored) return result(name_, id, std::move(done.result.value));
    }
    return result(state_, name_, id, path, mmap());
  }

  template <class... Args>
  bool in_cache(const Args&... args) const {
    if (!state_) return false;
    const auto path = state_->store.entry_path(name_, raw_key(args...).hex());
    if (!options_.validate) {
      struct ::stat info {};
      return ::lstat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
    }
    try {
      auto entry = container_file::open_if_exists(path, entry_options());
      return entry && options_.validate(detail::read_metadata(*entry));
    } catch (const std::exception&) {
      return false;
    }
  }

  template <class... Args>
  auto force(Args&... args) const {
    using R = detail::result_of_t<F, Args...>;
    if (!state_) return call_result<R>{compute<R>(args...), {}};
    check_result_type<R>();
    const std::string id = raw_key(args...).hex();
    return compute_store_and_read_back<R>(id, state_->store.entry_path(name_, id), args...).result;
  }

  template <class... Args>
  digest raw_key(const Args&... args) const {
    using R = detail::result_of_t<F, Args...>;
    hasher h;
    h.update(std::string_view("joblib-cpp cache key v2"));
    h.update(std::string_view(name_));
    h.update(std::string_view(options_.version));
    h.update(type_signature<detail::stored_t<R>>());
    // The signature is part of the key, ignored parameters included, so that functions of
    // different signatures cached under one name never share entries: every position gives
    // its type (in its value's encoding when hashed). Arguments that cannot be hashed are
    // left out at compile time (they must be ignored, and have no type signature).
    std::size_t position = 0;
    (
        [&] {
          h.update(position);
          const bool left_out = ignored(position);
          h.update(left_out);
          if constexpr (serializable<Args>) {
            if (left_out) {
              h.update(type_signature<Args>());
            } else {
              h.update(args);
            }
          } else if (left_out) {
            h.update(std::string_view("?"));
          } else {
            throw invalid_argument(unhashable(position));
          }
          ++position;
        }(),
        ...);
    return h.finish();
  }

  bool ignored(std::size_t position) const {
    return std::find(options_.ignore.begin(), options_.ignore.end(), position) !=
           options_.ignore.end();
  }

  std::string unhashable(std::size_t position) const {
    return "joblib::memory: argument " + std::to_string(position) + " of " + name_ +
           " is not serializable, so it cannot be part of the cache key: list it in "
           "cache_options::ignore (or make its type serializable)";
  }

  // "f(1, ...)" for the metadata and verbose lines: ignored arguments show as "...".
  template <class... Args>
  std::string describe(const Args&... args) const {
    return detail::format_call(
        name_, [this](std::size_t position) { return ignored(position); }, args...);
  }

  // What cache() can check for a function with one signature (generic lambdas are checked at
  // each call): every parameter that is not serializable is ignored, and every ignored
  // position exists (joblib raises ValueError for an ignored name the function lacks).
  void check_parameters() const {
    using traits = detail::callable_params<F>;
    if constexpr (traits::known) {
      using params = typename traits::params;
      constexpr std::size_t arity = std::tuple_size_v<params>;
      for (const std::size_t position : options_.ignore) {
        if (position >= arity) {
          throw invalid_argument("joblib::memory::cache: ignore lists argument " +
                                 std::to_string(position) + " of " + name_ + ", which takes " +
                                 std::to_string(arity));
        }
      }
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
              if constexpr (!serializable<std::remove_cvref_t<std::tuple_element_t<I, params>>>) {
                if (!ignored(I)) throw invalid_argument(unhashable(I));
              }
            }(),
            ...);
      }
      (std::make_index_sequence<arity>{});
    }
  }

  template <cache_store S>
  friend class basic_memory;

  memorized_function(std::shared_ptr<detail::memory_state<Store>> state, std::string name, F fn,
                     cache_options options)
      : state_(std::move(state)),
        name_(std::move(name)),
        fn_(std::make_shared<const F>(std::move(fn))),
        options_(std::move(options)) {
    check_parameters();
    if (state_) {
      detail::note_cached_function(state_->store.location(), name_, options_.version,
                                   detail::identify(*fn_));
    }
  }

  int verbose() const { return options_.verbose.value_or(state_->options.verbose); }
  mmap_mode mmap() const { return options_.mmap.value_or(state_->options.mmap); }

  template <class R, class... Args>
  detail::stored_t<R> cached_call(Args&... args) const {
    using stored = detail::stored_t<R>;
    check_result_type<R>();
    const digest k = raw_key(args...);
    const std::string id = k.hex();
    const auto path = state_->store.entry_path(name_, id);
    if (auto hit = try_load<R>(k, path, args...)) return std::move(*hit);

    // Miss: one thread of this process computes; the others then load what it stored, or take
    // a copy of its value when storing failed.
    std::optional<stored> mine;
    const std::shared_ptr<const std::any> carried =
        state_->flights.run(k, [&]() -> std::shared_ptr<const std::any> {
          if (auto hit = try_load<R>(k, path, args...)) {
            mine = std::move(*hit);
            return nullptr;
          }
          // Held until the entry is stored: another process waits for it, then loads.
          const std::optional<detail::file_lock> lock = lock_entry(k, id);
          if (lock) {
            if (auto hit = try_load<R>(k, path, args...)) {
              mine = std::move(*hit);
              return nullptr;
            }
          }
          computed<R> done = compute_store_and_read_back<R>(id, path, args...);
          mine = std::move(done.result.value);
          if constexpr (std::is_copy_constructible_v<stored>) {
            if (!done.stored) return std::make_shared<const std::any>(*mine);
          }
          return nullptr;
        });
    if (mine) return std::move(*mine);
    if (carried) {
      if (const stored* value = std::any_cast<stored>(carried.get())) return *value;
    }
    if (auto hit = try_load<R>(k, path, args...)) return std::move(*hit);
    // Evicted meanwhile.
    return std::move(compute_store_and_read_back<R>(id, path, args...).result.value);
  }

  // Across processes: waits for a process computing this entry (a dead one frees its lock).
  // Trouble with the lock file (its folder removed by a clear() elsewhere, something else
  // planted under its name, a read-only cache) means computing without it: at worst twice,
  // never wrong (unless strict).
  std::optional<detail::file_lock> lock_entry(const digest& key, const std::string& id) const {
    try {
      state_->store.prepare(name_, id);
      return detail::file_lock::acquire(state_->store.lock_path(name_), key.low,
                                        state_->options.lock_timeout);
    } catch (const std::filesystem::filesystem_error&) {
      if (state_->options.strict) throw;
    } catch (const format_error&) {
      if (state_->options.strict) throw;
    }
    return std::nullopt;
  }

  template <class R>
  struct computed {
    call_result<R> result;
    bool stored = false;
  };

  template <class R, class... Args>
  computed<R> compute_and_store(const std::string& id, const std::filesystem::path& path,
                                Args&... args) const {
    state_->misses.fetch_add(1, std::memory_order_relaxed);
    const int level = verbose();
    if (level >= 1) {
      joblib::log(log_level::info, std::string(80, '_') + "\n[Memory] Calling " + name_ + "...\n" +
                                       describe(args...));
    }
    const auto started = std::chrono::steady_clock::now();
    computed<R> done{{compute<R>(args...), {}}};
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;

    entry_metadata& m = done.result.metadata;
    m.function = name_;
    m.args_id = id;
    m.input_args = describe(args...);
    m.duration = took;
    m.created = std::chrono::system_clock::now();
    done.stored = store_entry(done.result.value, id, path,
                              {.compress = state_->options.compress,
                               .attributes = detail::to_json(m),
                               .durable = state_->options.durable},
                              m.bytes);
    if (done.stored) {
      state_->stores.fetch_add(1, std::memory_order_relaxed);
      state_->note_store(m.bytes);
    }
    if (level >= 1) {
      const std::string msg = name_ + " - " + detail::format_time(took.count());
      joblib::log(log_level::info, std::string(msg.size() < 80 ? 80 - msg.size() : 0, '_') + msg);
    }
    return done;
  }

  // compute_and_store for a caller that gets the value. With an mmap mode the value is read
  // back from the entry just stored, so that a miss returns what hits return (a mapping, not
  // the computed copy), as joblib does. When it was not stored, or is gone or replaced
  // before it is read, the computed value stands.
  template <class R, class... Args>
  computed<R> compute_store_and_read_back(const std::string& id, const std::filesystem::path& path,
                                          Args&... args) const {
    computed<R> done = compute_and_store<R>(id, path, args...);
    if (!done.stored || mmap() == mmap_mode::none || std::is_void_v<R>) return done;
    try {
      auto entry = container_file::open_if_exists(path, entry_options());
      if (entry && entry->text_attribute("args_id") == std::string_view(id)) {
        done.result.value = entry->template load<detail::stored_t<R>>();
      }
    } catch (const invalid_argument&) {
      throw;                           // misuse, as on a hit
    } catch (const std::exception&) {  // the computed value stands
    }
    return done;
  }

  // mmap_mode::r hands out read-only mappings: a result type holding a writable ndarray is
  // refused before anything is computed or stored (every hit would be refused).
  template <class R>
  void check_result_type() const {
    if (mmap() == mmap_mode::r && detail::contains_writable_ndarray<detail::stored_t<R>>()) {
      throw invalid_argument(detail::read_only_misuse_message);
    }
  }

  // Writes one entry (its size into `bytes`); false when the cache cannot take it (disk
  // full, read-only, the entry's name taken by a folder): counted and reported once, and the
  // caller returns the value uncached, unless strict. A folder removed meanwhile (a clear() in
  // another process) is recreated and the write retried.
  template <class V>
  bool store_entry(const V& value, const std::string& id, const std::filesystem::path& path,
                   const dump_options& how, std::uint64_t& bytes) const {
    for (int attempt = 0;; ++attempt) {
      try {
        if (attempt > 0) state_->store.prepare(name_, id);
        bytes = dump(value, path, how);
        return true;
      } catch (const std::filesystem::filesystem_error& e) {
        if (e.code() == std::errc::no_such_file_or_directory && attempt < 3) continue;
        if (state_->options.strict) throw;
        state_->note_store_failure(name_, e);
        return false;
      }
    }
  }

  template <class R, class... Args>
  detail::stored_t<R> compute(Args&... args) const {
    if constexpr (std::is_void_v<R>) {
      std::invoke(*fn_, args...);
      return {};
    } else {
      return std::invoke(*fn_, args...);
    }
  }

  // The entry stored for `key`, opened and checked (its key, its type, the validate
  // callback) but not loaded; nothing on a miss. A damaged, mistyped or rejected entry is a
  // miss: removed (and, unless rejected, counted and logged).
  template <class R>
  std::optional<container_file> find_entry(const digest& key,
                                           const std::filesystem::path& path) const {
    try {  // no exists() first: a missing file is one failed open
      auto entry = container_file::open_if_exists(path, entry_options());
      if (!entry) return std::nullopt;  // not stored yet, or evicted
      // The key is checked, not only the checksums: an entry file copied over another's name
      // is intact, but it is the result of another call.
      if (entry->text_attribute("args_id") != std::string_view(key.hex())) {
        throw format_error(path, 0, "the entry holds the result of another call (its args_id)");
      }
      const std::string_view expected = type_signature<detail::stored_t<R>>();
      if (entry->type_signature() != expected) {
        throw type_mismatch_error(std::string(expected), std::string(entry->type_signature()),
                                  path.string());
      }
      if (options_.validate && !options_.validate(detail::read_metadata(*entry))) {
        state_->store.remove(path);
        return std::nullopt;
      }
      return entry;
    } catch (const std::exception& e) {  // I/O, format, checksum, type mismatch, bad_alloc
      discard(path, e.what());
    }
    return std::nullopt;
  }

  // The stored result, or nothing on a miss (as find_entry, and a value that fails to load
  // is a damaged entry too).
  template <class R, class... Args>
  std::optional<detail::stored_t<R>> try_load(const digest& key, const std::filesystem::path& path,
                                              const Args&... args) const {
    auto entry = find_entry<R>(key, path);
    if (!entry) return std::nullopt;
    try {
      detail::stored_t<R> value = entry->template load<detail::stored_t<R>>();
      note_hit(key, path, *entry);
      if (verbose() >= 2) {
        joblib::log(log_level::info, "[Memory]: Loading " + describe(args...));
      }
      return value;
    } catch (const invalid_argument&) {
      throw;  // the caller's misuse (a writable ndarray with mmap_mode::r), not a bad entry
    } catch (const std::exception& e) {  // I/O, format, checksum, bad_alloc
      discard(path, e.what());
    }
    return std::nullopt;
  }

  void note_hit(const digest& key, const std::filesystem::path& path,
                const container_file& entry) const {
    state_->hits.fetch_add(1, std::memory_order_relaxed);
    state_->touch(key, path, entry.native_handle());
  }

  // Entries are opened without following symbolic links: a link planted in a shared cache
  // must not make a hit read (or refresh the time of) a file outside it.
  load_options entry_options() const { return {.mmap = mmap(), .follow_symlinks = false}; }

  void discard(const std::filesystem::path& path, const std::string& why) const {
    state_->corrupt.fetch_add(1, std::memory_order_relaxed);
    joblib::log(log_level::warning, "[Memory] removing unusable cache entry " + path.string() +
                                        " (" + why + "); recomputing");
    state_->store.remove(path);
  }

  std::shared_ptr<detail::memory_state<Store>> state_;  // null: caching off
  std::string name_;
  std::shared_ptr<const F> fn_;
  cache_options options_;
};

JOBLIB_END_NAMESPACE
