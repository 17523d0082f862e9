// joblib-cpp: where joblib::memory keeps its entries on disk.
//
// Everything lives in a folder of its own inside the `location` given to joblib::memory, as
// Python joblib's `location/joblib/` does, so that the cache never mistakes a user's file for
// one of its own:
//
//   <location>/joblib/CACHEDIR.TAG                       marks the tree as a cache (backups)
//   <location>/joblib/.gitignore                         "*": never committed by accident
//   <location>/joblib/<function>/<k0k1>/<key>.jlc       one container file per entry
//   <location>/joblib/<function>/.lock                  record locks: a byte per entry computed
//   <location>/joblib/<function>/<k0k1>/.<key>.jlc.<pid>.<random>.tmp   a write in progress
//
// The store removes only what it recognises by layout and name (a 32-digit lowercase hex key
// in the folder of its first two digits, our temporaries, our lock file) and removes folders
// with rmdir only, which fails on a folder that still holds anything else: a user's file inside
// the cache folder survives clear(), eviction and sweeps. Symbolic links are never followed:
// entries are opened and touched with O_NOFOLLOW, marker and lock files are created with it.
//
// One fan-out level of 256 folders (the first two hex digits of the key) keeps folders small
// (a million entries make ~4000 files a folder, which ext4/xfs index by name) while a young
// cache creates at most 256 folders: creating a folder per new entry, as a second level would
// for the first tens of thousands of entries, costs more than the entry itself. Entries are
// ordered for eviction by modification time, which a cache hit refreshes (LRU, like ccache).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/detail/os/errno.hpp"
#include "joblib/memory/store.hpp"

JOBLIB_BEGIN_NAMESPACE

/// The default Store of joblib::basic_memory: one file per entry in a fan-out tree under
/// `<location>/joblib/` (see the header comment).
///
/// Thread safety: every member is safe to call from many threads and processes at once;
/// operations on the file system are individually atomic (rename, unlink, mkdir, rmdir), and a
/// concurrent removal of an entry, of its folder or of the whole cache simply makes a miss.
class filesystem_store {
 public:
  /// File name suffix of entry files.
  static constexpr std::string_view entry_suffix = ".jlc";
  /// The folder inside the location that holds the cache.
  static constexpr std::string_view cache_folder = "joblib";

  /// A store in `<location>/joblib`; creates both (and CACHEDIR.TAG and .gitignore, best
  /// effort) when missing. Throws std::filesystem::filesystem_error when the cache folder
  /// neither exists nor can be created. A read-only location whose cache folder exists is
  /// fine: entries can be read, and writes fail where they are attempted.
  explicit filesystem_store(std::filesystem::path location)
      : location_(std::move(location)), root_(location_ / cache_folder) {
    std::error_code ec;
    std::filesystem::create_directories(location_, ec);
    if (::mkdir(root_.c_str(), 0777) != 0 && errno != EEXIST) {
      const int error = errno;
      if (!is_directory(root_)) detail::throw_errno("cannot create the cache folder", root_, error);
    }
    if (!is_directory(root_)) {
      errno = ENOTDIR;
      detail::throw_errno("cannot use as the cache folder", root_);
    }
    write_if_missing(
        root_ / "CACHEDIR.TAG",
        "Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by joblib-cpp.\n"
        "# For information about cache directory tags see https://bford.info/cachedir/\n");
    write_if_missing(root_ / ".gitignore",
                     "# Created by joblib-cpp: a cache, never committed.\n*\n");
  }

  /// The location given to the constructor.
  const std::filesystem::path& location() const noexcept { return location_; }
  /// The cache folder, `<location>/joblib`.
  const std::filesystem::path& root() const noexcept { return root_; }

  /// Folder of one function's entries. Function names become safe folder names: characters
  /// other than [A-Za-z0-9_.-] turn into '_', and a name that had to change gets a short hash
  /// of the original appended so that distinct names stay distinct.
  std::filesystem::path function_dir(std::string_view function) const {
    return root_ / folder_name(function);
  }

  /// The entry file for `key_hex` (32 lowercase hex digits) of `function`.
  std::filesystem::path entry_path(std::string_view function, std::string_view key_hex) const {
    return file_in_fan_out_dir(function, key_hex, entry_suffix);
  }

  /// The lock file of `function`: a process computing an entry locks one byte of it, at an
  /// offset taken from the entry's key (see detail/os/file_lock.hpp).
  std::filesystem::path lock_path(std::string_view function) const {
    return function_dir(function) / ".lock";
  }

  /// Creates the folders an entry of `key_hex` goes into. A folder created or removed by
  /// someone else at the same moment is no error (a concurrent clear() is retried past).
  /// Throws std::filesystem::filesystem_error when they cannot be created.
  void prepare(std::string_view function, std::string_view key_hex) const {
    const std::filesystem::path dirs[] = {
        root_, function_dir(function), function_dir(function) / std::string(key_hex.substr(0, 2))};
    for (int attempt = 0;; ++attempt) {
      int failed = 0;
      for (const auto& dir : dirs) {
        if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
          failed = errno;
          break;
        }
      }
      if (failed == 0) return;
      // ENOENT: a parent was removed between two mkdir calls (clear() ran); start over.
      if (failed != ENOENT || attempt == 8) {
        detail::throw_errno("cannot create the folders of", dirs[2], failed);
      }
    }
  }

  /// Marks an entry as just used (LRU order), through `open_fd` when the caller has it open,
  /// else by path without following a symbolic link. A vanished entry is ignored.
  void touch(const std::filesystem::path& entry, int open_fd = -1) const noexcept {
    if (open_fd >= 0) {
      ::futimens(open_fd, nullptr);
    } else {
      ::utimensat(AT_FDCWD, entry.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
    }
  }

  /// touch() only when the entry was last used (or written) more than `precision` ago: LRU
  /// order to that precision without writing an inode on every hit of a hot entry (each write
  /// is a journal transaction, and with a million entries in turn it tripled a hit).
  void touch_if_older(const std::filesystem::path& entry, int open_fd,
                      std::chrono::seconds precision) const noexcept {
    struct stat info {};
    const int got = open_fd >= 0 ? ::fstat(open_fd, &info) : ::lstat(entry.c_str(), &info);
    if (got == 0 && std::chrono::system_clock::now() - modified(info) < precision) return;
    touch(entry, open_fd);
  }

  /// Removes one entry (never a folder, never through a link); true when it was removed.
  bool remove(const std::filesystem::path& entry) const noexcept {
    return ::unlink(entry.c_str()) == 0;
  }

  /// Removes every entry of `function` (and its temporaries, lock file and then-empty
  /// folders). Returns the number of entry files removed.
  std::uint64_t clear(std::string_view function) const {
    return clear_function_dir(function_dir(function));
  }

  /// Removes every entry of every function; CACHEDIR.TAG, .gitignore and anything the store
  /// did not create stay.
  std::uint64_t clear_all() const {
    std::uint64_t removed = 0;
    for_each_subfolder(
        root_, [&](const std::string& name) { removed += clear_function_dir(root_ / name); });
    return removed;
  }

  /// Every entry file in the cache (or of one function when given).
  std::vector<cache_entry_info> scan(std::optional<std::string_view> function = {}) const {
    std::vector<cache_entry_info> found;
    auto scan_function = [&](const std::filesystem::path& dir, const std::string& name) {
      for_each_file(
          dir, [&](const std::filesystem::path& file, file_kind kind, const struct stat& info) {
            if (kind != file_kind::entry) return;
            found.push_back({file, name, static_cast<std::uint64_t>(info.st_size), modified(info)});
          });
    };
    if (function) {
      scan_function(function_dir(*function), std::string(*function));
    } else {
      for_each_subfolder(root_,
                         [&](const std::string& name) { scan_function(root_ / name, name); });
    }
    return found;
  }

  /// Enforces `limits` over the whole store: first removes entries unused for longer than
  /// age_limit, then the least recently used ones until both the item and byte limits hold.
  /// Counts only what was actually removed (an entry that cannot be removed, on a read-only
  /// file system say, remains).
  eviction_result evict(const cache_limits& limits) const {
    auto entries = scan();
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.last_used < b.last_used; });
    eviction_result result;
    std::uint64_t bytes = 0;
    for (const auto& e : entries) bytes += e.bytes;
    std::uint64_t count = entries.size();
    const auto now = std::chrono::system_clock::now();
    for (const auto& e : entries) {
      const bool too_old = limits.age_limit && now - e.last_used > *limits.age_limit;
      const bool too_many = limits.items_limit && count > *limits.items_limit;
      const bool too_big = limits.bytes_limit && bytes > *limits.bytes_limit;
      if (!too_old && !too_many && !too_big) break;  // the rest is younger: all limits hold
      const bool removed = remove(e.path);
      // Already gone (another process evicted it) leaves the cache as smaller as removing it.
      if (!removed && errno != ENOENT) continue;
      if (removed) {
        ++result.removed_entries;
        result.removed_bytes += e.bytes;
      }
      --count;
      bytes -= e.bytes;
    }
    result.remaining_entries = count;
    result.remaining_bytes = bytes;
    return result;
  }

  /// Removes temporary files of writes that cannot finish: their writer process is gone, or
  /// they are older than `max_age` (a writer on another host, or a reused pid). Returns the
  /// number removed.
  std::uint64_t sweep_temporaries(std::chrono::seconds max_age = std::chrono::hours(1)) const {
    std::uint64_t removed = 0;
    const auto now = std::chrono::system_clock::now();
    for_each_subfolder(root_, [&](const std::string& name) {
      for_each_file(root_ / name, [&](const std::filesystem::path& file, file_kind kind,
                                      const struct stat& info) {
        if (kind != file_kind::temporary) return;
        const auto written = modified(info);
        const auto pid = temporary_writer_pid(file.filename().native());
        if (now - written > max_age || (pid && !process_alive(*pid))) removed += remove(file);
      });
    });
    return removed;
  }

  /// Whether `name` is an entry file name of the folder `fan_out` ("<32 hex>.jlc", the first
  /// two digits being the folder's name).
  static bool is_entry_name(std::string_view name, std::string_view fan_out) noexcept {
    return name.size() == 32 + entry_suffix.size() && name.ends_with(entry_suffix) &&
           is_hex(name.substr(0, 32)) && name.substr(0, 2) == fan_out;
  }

 private:
  enum class file_kind { entry, temporary };

  static bool is_hex(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  }

  static bool is_directory(const std::filesystem::path& p) noexcept {
    struct stat info {};
    return ::lstat(p.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
  }

  // Calls fn(name) for every real folder (not a link) directly in `dir`.
  template <class Fn>
  static void for_each_subfolder(const std::filesystem::path& dir, Fn&& fn) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
      const std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && is_directory(dir / name))) {
        names.emplace_back(name);
      }
    }
    ::closedir(d);
    for (const auto& name : names) fn(name);
  }

  // Calls fn(path, kind, lstat) for every regular file of the store's own naming in the
  // fan-out folders of one function folder: entries and temporaries.
  template <class Fn>
  static void for_each_file(const std::filesystem::path& function_folder, Fn&& fn) {
    for_each_subfolder(function_folder, [&](const std::string& fan_out) {
      if (fan_out.size() != 2 || !is_hex(fan_out)) return;
      const std::filesystem::path dir = function_folder / fan_out;
      DIR* d = ::opendir(dir.c_str());
      if (d == nullptr) return;
      std::vector<std::pair<std::filesystem::path, file_kind>> files;
      while (const dirent* e = ::readdir(d)) {
        const std::string_view name = e->d_name;
        if (is_entry_name(name, fan_out)) {
          files.emplace_back(dir / name, file_kind::entry);
        } else if (temporary_writer_pid(name) && is_entry_name(temporary_target(name), fan_out)) {
          files.emplace_back(dir / name, file_kind::temporary);
        }
      }
      ::closedir(d);
      for (const auto& [path, kind] : files) {
        struct stat info {};
        if (::lstat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode)) fn(path, kind, info);
      }
    });
  }

  // Removes what the store created in one function folder: entries and temporaries in the
  // fan-out folders, then those folders, the lock file and the function folder, each with
  // rmdir/unlink, so that anything else in there stays (with the folders holding it).
  std::uint64_t clear_function_dir(const std::filesystem::path& dir) const {
    std::uint64_t removed = 0;
    for_each_file(dir, [&](const std::filesystem::path& file, file_kind kind, const struct stat&) {
      const bool gone = remove(file);
      if (kind == file_kind::entry) removed += gone;
    });
    for_each_subfolder(dir, [&](const std::string& fan_out) {
      if (fan_out.size() == 2 && is_hex(fan_out)) ::rmdir((dir / fan_out).c_str());
    });
    const std::filesystem::path lock = dir / ".lock";
    struct stat info {};
    if (::lstat(lock.c_str(), &info) == 0 && S_ISREG(info.st_mode)) ::unlink(lock.c_str());
    ::rmdir(dir.c_str());
    return removed;
  }

  // Creates a marker file unless something (anything: a link included) has its name; best
  // effort (a read-only location keeps working without it).
  static void write_if_missing(const std::filesystem::path& file, std::string_view text) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return;
    const ::ssize_t written = ::write(fd, text.data(), text.size());
    ::close(fd);
    if (written != static_cast<::ssize_t>(text.size())) ::unlink(file.c_str());
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

  // The entry file name a temporary ".<key>.jlc.<pid>.<random>.tmp" is being written for.
  static std::string_view temporary_target(std::string_view name) {
    constexpr std::size_t entry_name = 32 + entry_suffix.size();
    return name.size() > 1 + entry_name ? name.substr(1, entry_name) : std::string_view{};
  }

  static std::chrono::system_clock::time_point modified(const struct stat& info) {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(info.st_mtim.tv_sec) +
            std::chrono::nanoseconds(info.st_mtim.tv_nsec)));
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

  std::filesystem::path location_;
  std::filesystem::path root_;
};

JOBLIB_END_NAMESPACE
