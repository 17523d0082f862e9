// joblib-cpp: where joblib::memory keeps its entries on disk.
//
// Layout under the cache root (the `location` given to joblib::memory):
//
//   <root>/CACHEDIR.TAG                       marks the tree as a cache for backup tools
//   <root>/.gitignore                         "*": never committed by accident
//   <root>/<function>/<k0k1>/<key>.jlc      one container file per entry (result + metadata)
//   <root>/<function>/.lock                 record locks: one byte per entry being computed
//   <root>/<function>/<k0k1>/.<key>.jlc.<pid>.<random>.tmp   a write in progress
//
// One fan-out level of 256 folders (the first two hex digits of the key) keeps folders small
// (a million entries make ~4000 files a folder, which ext4/xfs index by name) while a young
// cache creates at most 256 folders: creating a folder per new entry, as a second level would
// for the first tens of thousands of entries, costs more than the entry itself. Entries are
// ordered for eviction by modification time, which a cache hit refreshes (LRU, like ccache).
#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/memory/store.hpp"

JOBLIB_BEGIN_NAMESPACE

/// The default Store of joblib::basic_memory: one file per entry in a fan-out tree.
///
/// Thread safety: every member is safe to call from many threads and processes at once;
/// operations on the file system are individually atomic (rename, unlink), and a concurrent
/// removal of an entry simply makes it a miss.
class filesystem_store {
 public:
  /// File name suffix of entry files.
  static constexpr std::string_view entry_suffix = ".jlc";

  /// A store rooted at `root`; creates the root, CACHEDIR.TAG and .gitignore when missing.
  /// Throws std::filesystem::filesystem_error when the root cannot be created.
  explicit filesystem_store(std::filesystem::path root) : root_(std::move(root)) {
    std::filesystem::create_directories(root_);
    write_if_missing(
        root_ / "CACHEDIR.TAG",
        "Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by joblib-cpp.\n"
        "# For information about cache directory tags see https://bford.info/cachedir/\n");
    write_if_missing(root_ / ".gitignore",
                     "# Created by joblib-cpp: a cache, never committed.\n*\n");
  }

  /// The cache root.
  const std::filesystem::path& root() const noexcept { return root_; }

  /// Folder of one function's entries. Function names become safe folder names: characters
  /// other than [A-Za-z0-9_.-] turn into '_', and a name that had to change gets a short hash
  /// of the original appended so that distinct names stay distinct.
  std::filesystem::path function_dir(std::string_view function) const {
    return root_ / folder_name(function);
  }

  /// The entry file for `key_hex` (lowercase hex, at least 2 characters) of `function`.
  std::filesystem::path entry_path(std::string_view function, std::string_view key_hex) const {
    return file_in_fan_out_dir(function, key_hex, entry_suffix);
  }

  /// The lock file of `function`: a process computing an entry locks one byte of it, at an
  /// offset taken from the entry's key (see detail/file_lock.hpp).
  std::filesystem::path lock_path(std::string_view function) const {
    return function_dir(function) / ".lock";
  }

  /// Creates the folders an entry of `key_hex` goes into.
  void prepare(std::string_view function, std::string_view key_hex) const {
    std::filesystem::create_directories(fan_out_dir(function, key_hex));
  }

  /// Marks an entry as just used (LRU order). A vanished entry is ignored. `open_fd`, when
  /// the caller has the entry open, saves a path lookup (futimens instead of utimensat).
  void touch(const std::filesystem::path& entry, int open_fd = -1) const noexcept {
    if (open_fd >= 0 && ::futimens(open_fd, nullptr) == 0) return;
    std::error_code ignored;
    std::filesystem::last_write_time(entry, std::filesystem::file_time_type::clock::now(), ignored);
  }

  /// touch() only when the entry was last used (or written) more than `precision` ago: LRU
  /// order to that precision without writing an inode on every hit of a hot entry (each write
  /// is a journal transaction, and with a million entries in turn it tripled a hit).
  void touch_if_older(const std::filesystem::path& entry, int open_fd,
                      std::chrono::seconds precision) const noexcept {
    struct stat info {};
    const int got = open_fd >= 0 ? ::fstat(open_fd, &info) : ::stat(entry.c_str(), &info);
    if (got == 0) {
      // system_clock counts microseconds in libc++ (nanoseconds in libstdc++): cast.
      const auto used = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::seconds(info.st_mtim.tv_sec) +
              std::chrono::nanoseconds(info.st_mtim.tv_nsec)));
      if (std::chrono::system_clock::now() - used < precision) return;
    }
    touch(entry, open_fd);
  }

  /// Removes one entry; true when it existed.
  bool remove(const std::filesystem::path& entry) const noexcept {
    std::error_code ignored;
    return std::filesystem::remove(entry, ignored);
  }

  /// Removes every entry of `function`. Returns the number of entry files removed.
  std::uint64_t clear(std::string_view function) const {
    const auto dir = function_dir(function);
    std::uint64_t removed = 0;
    for (const auto& entry : scan_dir(dir, std::string(function))) removed += remove(entry.path);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return removed;
  }

  /// Removes every entry of every function (CACHEDIR.TAG and .gitignore stay).
  std::uint64_t clear_all() const {
    std::uint64_t removed = 0;
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(root_, ec)) {
      if (!item.is_directory(ec)) continue;
      for (const auto& entry : scan_dir(item.path(), item.path().filename().string())) {
        removed += remove(entry.path);
      }
      std::filesystem::remove_all(item.path(), ec);
    }
    return removed;
  }

  /// Every entry file under the root (or under one function when given).
  std::vector<cache_entry_info> scan(std::optional<std::string_view> function = {}) const {
    if (function) return scan_dir(function_dir(*function), std::string(*function));
    std::vector<cache_entry_info> all;
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(root_, ec)) {
      if (!item.is_directory(ec)) continue;
      auto part = scan_dir(item.path(), item.path().filename().string());
      all.insert(all.end(), std::make_move_iterator(part.begin()),
                 std::make_move_iterator(part.end()));
    }
    return all;
  }

  /// Enforces `limits` over the whole store: first removes entries unused for longer than
  /// age_limit, then the least recently used ones until both the item and byte limits hold.
  eviction_result evict(const cache_limits& limits) const {
    auto entries = scan();
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.last_used < b.last_used; });
    eviction_result result;
    std::uint64_t bytes = 0;
    for (const auto& e : entries) bytes += e.bytes;
    std::uint64_t count = entries.size();
    const auto now = std::filesystem::file_time_type::clock::now();
    for (const auto& e : entries) {
      const bool too_old = limits.age_limit && now - e.last_used > *limits.age_limit;
      const bool too_many = limits.items_limit && count > *limits.items_limit;
      const bool too_big = limits.bytes_limit && bytes > *limits.bytes_limit;
      if (!too_old && !too_many && !too_big) break;  // the rest is younger: all limits hold
      remove(e.path);  // already gone (another process evicted it) counts the same
      ++result.removed_entries;
      result.removed_bytes += e.bytes;
      --count;
      bytes -= e.bytes;
    }
    result.remaining_entries = count;
    result.remaining_bytes = bytes;
    return result;
  }

  /// Removes temporary files of writes that cannot finish: their writer process is gone, or
  /// they are older than `max_age` (a writer on another host, or a reused pid). Temporary
  /// files are joblib::dump's "." + name + "." + pid + "." + random + ".tmp". Returns the
  /// number removed.
  std::uint64_t sweep_temporaries(std::chrono::seconds max_age = std::chrono::hours(1)) const {
    std::uint64_t removed = 0;
    std::error_code ec;
    const auto now = std::filesystem::file_time_type::clock::now();
    for (auto it = std::filesystem::recursive_directory_iterator(root_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      const auto pid = temporary_writer_pid(name);
      if (!pid) continue;
      std::error_code time_ec;
      const auto written = std::filesystem::last_write_time(it->path(), time_ec);
      const bool old = !time_ec && now - written > max_age;
      if (old || !process_alive(*pid)) {
        std::error_code remove_ec;
        removed += std::filesystem::remove(it->path(), remove_ec);
      }
    }
    return removed;
  }

 private:
  static void write_if_missing(const std::filesystem::path& file, std::string_view text) {
    if (std::filesystem::exists(file)) return;
    std::ofstream out(file, std::ios::binary);
    out << text;
  }

  static std::string folder_name(std::string_view function) {
    std::string safe;
    bool changed = function.empty();
    for (const char c : function) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || (c == '.' && !safe.empty());
      safe.push_back(ok ? c : '_');
      changed |= !ok;
    }
    if (safe.size() > 100) {
      safe.resize(100);
      changed = true;
    }
    if (changed) {
      // FNV-1a: a short, stable tag that keeps e.g. "a/b" and "a:b" apart.
      std::uint64_t h = 1469598103934665603ULL;
      for (const char c : function) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
      static constexpr char digits[] = "0123456789abcdef";
      safe.push_back('-');
      for (int shift = 60; shift >= 32; shift -= 4) safe.push_back(digits[(h >> shift) & 15]);
    }
    return safe;
  }

  // "<root>/<function>/<2 hex>/<key><suffix>" built as one string: each path::operator/
  // re-parses the components, which was a tenth of a small cache hit.
  std::filesystem::path file_in_fan_out_dir(std::string_view function, std::string_view key_hex,
                                            std::string_view suffix) const {
    std::string p = root_.native();
    if (!p.empty() && p.back() != '/') p += '/';
    p += folder_name(function);
    p += '/';
    p += key_hex.substr(0, 2);
    p += '/';
    p += key_hex;
    p += suffix;
    return std::filesystem::path(std::move(p));
  }

  std::filesystem::path fan_out_dir(std::string_view function, std::string_view key_hex) const {
    return function_dir(function) / std::string(key_hex.substr(0, 2));
  }

  std::vector<cache_entry_info> scan_dir(const std::filesystem::path& dir,
                                         const std::string& function) const {
    std::vector<cache_entry_info> found;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      const auto& path = it->path();
      if (path.extension() != entry_suffix) continue;
      struct stat info {};
      if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;  // raced away
      std::error_code time_ec;
      const auto used = std::filesystem::last_write_time(path, time_ec);
      if (time_ec) continue;
      found.push_back({path, function, static_cast<std::uint64_t>(info.st_size), used});
    }
    return found;
  }

  // The writer's pid of a temporary file ".<name>.<pid>.<random>.tmp"; nothing otherwise.
  static std::optional<long> temporary_writer_pid(std::string_view name) {
    constexpr std::string_view suffix = ".tmp";
    if (name.size() < 8 || name.front() != '.' || !name.ends_with(suffix)) return std::nullopt;
    name.remove_suffix(suffix.size());
    const auto random_dot = name.rfind('.');
    if (random_dot == std::string_view::npos || random_dot == 0) return std::nullopt;
    const auto pid_dot = name.rfind('.', random_dot - 1);
    if (pid_dot == std::string_view::npos) return std::nullopt;
    const std::string_view digits = name.substr(pid_dot + 1, random_dot - pid_dot - 1);
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    return std::stol(std::string(digits));
  }

  static bool process_alive(long pid) {
    if (pid == static_cast<long>(::getpid())) return true;
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
  }

  std::filesystem::path root_;
};

JOBLIB_END_NAMESPACE
