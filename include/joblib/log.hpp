// joblib-cpp: a tiny process-wide logging hook for warnings and verbose messages.
//
// joblib (Python) reports through `warnings.warn` and prints verbose progress lines; here both go
// through one replaceable handler so that applications can route them into their own logging.
// This header is deliberately light (no zstd, xxHash or json) so every pillar can use it.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE

/// Severity of a library message.
enum class log_level { debug, info, warning, error };

/// Lower-case name of a level ("debug", "info", "warning", "error").
constexpr std::string_view log_level_name(log_level level) noexcept {
  switch (level) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warning:
      return "warning";
    case log_level::error:
      return "error";
  }
  return "?";
}

/// Receives every message the library emits: its level and text (no trailing newline).
using log_handler = std::function<void(log_level, std::string_view)>;

namespace detail {

// The handler is held through a shared_ptr swapped under a mutex: a message in flight keeps
// the handler it started with alive even if another thread replaces it meanwhile, and the
// handler itself runs outside the lock (so it may log or call set_log_handler without deadlock).
struct log_state {
  std::mutex mutex;
  std::shared_ptr<const log_handler> handler;
};

inline log_state& global_log_state() {
  static log_state state;
  return state;
}

// Info messages are joblib's verbose lines ("[Parallel(n_jobs=2)]: Done ...", "[Memory]
// Calling ..."), printed as joblib prints them; warnings and errors say who speaks.
inline void default_log_handler(log_level level, std::string_view message) {
  // One fprintf call per line so concurrent messages do not interleave within a line.
  if (level == log_level::info) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
  } else {
    std::fprintf(stderr, "[joblib] %s: %.*s\n", std::string(log_level_name(level)).c_str(),
                 static_cast<int>(message.size()), message.data());
  }
}

}  // namespace detail

/// Replaces the process-wide log handler; an empty function restores the default, which
/// prints info messages (joblib's verbose lines of parallel and memory) as they are and
/// "[joblib] <level>: <message>" for the other levels, to stderr. Returns the previous handler
/// (empty when it was the default).
///
/// Thread safety: may be called from any thread, concurrently with logging.
///
///   std::vector<std::string> seen;
///   joblib::set_log_handler([&](joblib::log_level, std::string_view m) { seen.emplace_back(m); });
inline log_handler set_log_handler(log_handler handler) {
  auto next = handler ? std::make_shared<const log_handler>(std::move(handler)) : nullptr;
  auto& state = detail::global_log_state();
  std::shared_ptr<const log_handler> previous;
  {
    std::lock_guard lock(state.mutex);
    previous = std::exchange(state.handler, std::move(next));
  }
  return previous ? *previous : log_handler{};
}

/// Emits `message` at `level` through the current handler.
///
/// Thread safety: may be called from any thread; the handler may be called concurrently from
/// several threads and must be thread-safe itself.
///
///   joblib::log(joblib::log_level::warning, "compressed array copied into memory");
inline void log(log_level level, std::string_view message) {
  auto& state = detail::global_log_state();
  std::shared_ptr<const log_handler> handler;
  {
    std::lock_guard lock(state.mutex);
    handler = state.handler;
  }
  if (handler) {
    (*handler)(level, message);
  } else {
    detail::default_log_handler(level, message);
  }
}

JOBLIB_END_NAMESPACE
