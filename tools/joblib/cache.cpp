// joblib cache ls|stats|prune|clear DIR: a joblib::memory cache directory from the shell. DIR
// is the location given to joblib::memory (the entries are in DIR/joblib/); the cache folder
// DIR/joblib itself is accepted too. Listing reads only the store's layout (and one entry's
// attributes per function, for its name); prune and clear call the library (reduce_size,
// filesystem_store::clear) so that they follow the same rules as a program using the cache.
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "joblib/memory.hpp"

namespace joblib_tool {
namespace {

bool is_real_directory(const std::filesystem::path& p) {
  struct stat info {};
  return ::lstat(p.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// The location of the cache at `dir`: `dir` itself when it holds a cache folder, its parent
// when `dir` is the cache folder; nothing when there is no cache there (nothing is created).
std::optional<std::filesystem::path> cache_location(const std::filesystem::path& dir) {
  const auto folder = std::string(joblib::filesystem_store::cache_folder);
  if (is_real_directory(dir / folder)) return dir;
  const std::filesystem::path clean = dir.lexically_normal();
  const std::filesystem::path name =
      clean.has_filename() ? clean.filename() : clean.parent_path().filename();
  if (name == folder && is_real_directory(dir) && std::filesystem::exists(dir / "CACHEDIR.TAG")) {
    const auto parent = (clean.has_filename() ? clean : clean.parent_path()).parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
  }
  return std::nullopt;
}

// Resolves DIR for a command, or reports that there is no cache there.
std::optional<std::filesystem::path> resolve(const std::string& command,
                                             const std::filesystem::path& dir) {
  auto location = cache_location(dir);
  if (!location) {
    report_error(command, "no joblib cache at " + dir.string() + " (expected a folder " +
                              (dir / std::string(joblib::filesystem_store::cache_folder)).string() +
                              " as joblib::memory creates)");
  }
  return location;
}

struct function_summary {
  std::string folder;
  std::string name;  // the name given to cache(), from an entry's attributes
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::chrono::system_clock::time_point oldest = std::chrono::system_clock::time_point::max();
  std::chrono::system_clock::time_point newest = std::chrono::system_clock::time_point::min();
  std::filesystem::path newest_entry;
};

std::vector<function_summary> summarize(const joblib::filesystem_store& store) {
  std::map<std::string, function_summary> by_folder;
  for (const auto& e : store.scan()) {
    function_summary& f = by_folder[e.function];
    f.folder = e.function;
    ++f.entries;
    f.bytes += e.bytes;
    f.oldest = std::min(f.oldest, e.last_used);
    if (e.last_used >= f.newest) {
      f.newest = e.last_used;
      f.newest_entry = e.path;
    }
  }
  std::vector<function_summary> out;
  for (auto& [folder, f] : by_folder) {
    f.name = folder;
    try {  // an entry removed meanwhile, or a damaged one, just leaves the folder's name
      joblib::container_file entry(f.newest_entry, {.follow_symlinks = false});
      if (const auto name = entry.text_attribute("function"); name && !name->empty()) {
        f.name = std::string(*name);
      }
    } catch (const std::exception&) {
    }
    out.push_back(std::move(f));
  }
  return out;
}

nlohmann::json time_json(std::chrono::system_clock::time_point t) { return format_time(t); }

command add_ls(CLI::App& cache) {
  struct options {
    std::filesystem::path dir;
    bool json = false;
  };
  auto o = std::make_shared<options>();
  CLI::App* app = cache.add_subcommand(
      "ls", "List the cached functions: entries, bytes, oldest and newest use");
  app->footer(
      "Times are UTC; an entry's last use is its file's modification time, which a cache hit "
      "refreshes. Exit status 1 when DIR holds no cache (nothing is created).");
  app->add_option("DIR", o->dir, "the cache location (given to joblib::memory)")->required();
  app->add_flag("--json", o->json,
                "print JSON: [{function, folder, entries, bytes, "
                "oldest_use, newest_use}]");
  return {"cache ls", app, [o] {
            const auto location = resolve("cache ls", o->dir);
            if (!location) return exit_failed;
            const joblib::filesystem_store store(*location);
            const auto functions = summarize(store);
            if (o->json) {
              nlohmann::json out = nlohmann::json::array();
              for (const auto& f : functions) {
                out.push_back({{"function", f.name},
                               {"folder", f.folder},
                               {"entries", f.entries},
                               {"bytes", f.bytes},
                               {"oldest_use", time_json(f.oldest)},
                               {"newest_use", time_json(f.newest)}});
              }
              std::cout << out.dump(2) << '\n';
              return exit_ok;
            }
            std::size_t width = 8;
            for (const auto& f : functions) width = std::max(width, f.name.size());
            std::cout << std::left << std::setw(static_cast<int>(width)) << "FUNCTION" << std::right
                      << std::setw(9) << "ENTRIES" << std::setw(12) << "BYTES"
                      << "  OLDEST USE            NEWEST USE\n";
            for (const auto& f : functions) {
              std::cout << std::left << std::setw(static_cast<int>(width)) << f.name << std::right
                        << std::setw(9) << f.entries << std::setw(12) << format_bytes(f.bytes)
                        << "  " << format_time(f.oldest) << "  " << format_time(f.newest) << '\n';
            }
            return exit_ok;
          }};
}

command add_stats(CLI::App& cache) {
  struct options {
    std::filesystem::path dir;
    bool json = false;
  };
  auto o = std::make_shared<options>();
  CLI::App* app = cache.add_subcommand(
      "stats", "Totals of the whole cache: functions, entries, bytes, oldest and newest use.");
  app->add_option("DIR", o->dir, "the cache location (given to joblib::memory)")->required();
  app->add_flag("--json", o->json,
                "print JSON: {location, functions, entries, bytes, oldest_use, newest_use}");
  return {"cache stats", app, [o] {
            const auto location = resolve("cache stats", o->dir);
            if (!location) return exit_failed;
            const joblib::filesystem_store store(*location);
            std::uint64_t entries = 0;
            std::uint64_t bytes = 0;
            std::vector<std::string> folders;
            auto oldest = std::chrono::system_clock::time_point::max();
            auto newest = std::chrono::system_clock::time_point::min();
            for (const auto& e : store.scan()) {
              ++entries;
              bytes += e.bytes;
              oldest = std::min(oldest, e.last_used);
              newest = std::max(newest, e.last_used);
              if (std::find(folders.begin(), folders.end(), e.function) == folders.end()) {
                folders.push_back(e.function);
              }
            }
            const nlohmann::json none = nullptr;
            if (o->json) {
              std::cout << nlohmann::json{{"location", location->string()},
                                          {"functions", folders.size()},
                                          {"entries", entries},
                                          {"bytes", bytes},
                                          {"oldest_use", entries ? time_json(oldest) : none},
                                          {"newest_use", entries ? time_json(newest) : none}}
                               .dump(2)
                        << '\n';
              return exit_ok;
            }
            std::cout << "location:   " << location->string() << '\n'
                      << "functions:  " << folders.size() << '\n'
                      << "entries:    " << entries << '\n'
                      << "bytes:      " << bytes << " (" << format_bytes(bytes) << ")\n";
            if (entries > 0) {
              std::cout << "oldest use: " << format_time(oldest) << '\n'
                        << "newest use: " << format_time(newest) << '\n';
            }
            return exit_ok;
          }};
}

// Refuses "-1": CLI11 would read it into an unsigned limit as 2^64 - 1.
const CLI::Validator non_negative(
    [](std::string& text) {
      return text.find('-') == std::string::npos ? std::string()
                                                 : std::string("must not be negative");
    },
    "", "NON-NEGATIVE");

command add_prune(CLI::App& cache) {
  struct options {
    std::filesystem::path dir;
    std::uint64_t max_size = 0;
    std::uint64_t max_items = 0;
    std::uint64_t max_age = 0;  // seconds
  };
  auto o = std::make_shared<options>();
  CLI::App* app = cache.add_subcommand(
      "prune", "Remove least recently used entries until the given limits hold");
  app->footer(
      "Follows joblib::memory::reduce_size (the library does the work): entries unused for "
      "longer than --max-age go first, then the least recently used until --max-items and "
      "--max-size hold; temporary files of writers that died are swept. Safe while programs "
      "use the cache: entries written meanwhile and writes in progress are left alone, and "
      "files the cache did not create are never removed.");
  app->add_option("DIR", o->dir, "the cache location (given to joblib::memory)")->required();
  CLI::Option* size =
      app->add_option("--max-size", o->max_size,
                      "total bytes of entry files: 500M, 10G, 1T (K, M, G, T are powers of 1024)")
          ->check(non_negative)
          ->transform(CLI::AsSizeValue(false))
          ->type_name("SIZE");
  CLI::Option* items =
      app->add_option("--max-items", o->max_items, "number of entries")->check(non_negative);
  CLI::Option* age =
      app->add_option("--max-age", o->max_age,
                      "time since an entry's last use: 45s, 90m, 12h, 30d, 2w (seconds without "
                      "a unit)")
          ->check(non_negative)
          ->transform(CLI::AsNumberWithUnit(
              std::map<std::string, std::uint64_t>{
                  {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800}},
              CLI::AsNumberWithUnit::CASE_SENSITIVE, "UNIT"))
          ->type_name("DURATION");
  return {"cache prune", app, [o, size, items, age] {
            if (size->count() == 0 && items->count() == 0 && age->count() == 0) {
              report_error("cache prune",
                           "give at least one of --max-size, --max-items, --max-age");
              return exit_usage;
            }
            const auto location = resolve("cache prune", o->dir);
            if (!location) return exit_failed;
            const joblib::memory mem(*location, {.strict = true});
            joblib::cache_limits limits;
            if (size->count() != 0) limits.bytes_limit = o->max_size;
            if (items->count() != 0) limits.items_limit = o->max_items;
            if (age->count() != 0) {
              limits.age_limit = std::chrono::seconds(static_cast<std::int64_t>(
                  std::min<std::uint64_t>(o->max_age, std::uint64_t{1} << 62)));
            }
            const joblib::eviction_result r = mem.reduce_size(limits);
            std::cout << "removed " << r.removed_entries << " entries ("
                      << format_bytes(r.removed_bytes) << "); " << r.remaining_entries
                      << " remain (" << format_bytes(r.remaining_bytes) << ")\n";
            return exit_ok;
          }};
}

command add_clear(CLI::App& cache) {
  struct options {
    std::filesystem::path dir;
    std::string function;
  };
  auto o = std::make_shared<options>();
  CLI::App* app = cache.add_subcommand("clear", "Remove every entry, or one function's");
  app->footer(
      "Only what the cache created is removed: other files in the cache folder, and the "
      "folders holding them, stay.");
  app->add_option("DIR", o->dir, "the cache location (given to joblib::memory)")->required();
  CLI::Option* function = app->add_option(
      "--function", o->function,
      "the function's name as given to memory::cache() (or its folder, as cache ls shows)");
  return {"cache clear", app, [o, function] {
            const auto location = resolve("cache clear", o->dir);
            if (!location) return exit_failed;
            const joblib::memory mem(*location, {.strict = true});
            const std::uint64_t removed =
                function->count() != 0 ? mem.store()->clear(o->function) : mem.store()->clear_all();
            std::cout << "removed " << removed << " entries\n";
            return exit_ok;
          }};
}

}  // namespace

std::vector<command> add_cache(CLI::App& parent) {
  CLI::App* cache =
      parent.add_subcommand("cache", "Look into, prune or clear a joblib::memory cache directory.");
  cache->require_subcommand(1);
  return {add_ls(*cache), add_stats(*cache), add_prune(*cache), add_clear(*cache)};
}

}  // namespace joblib_tool
