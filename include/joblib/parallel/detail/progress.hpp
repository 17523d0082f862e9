// joblib-cpp internals: progress reporting of a parallel call, from the calling thread:
// joblib's verbose lines (through joblib::log, like memory's), a progress bar on a terminal,
// and the on_progress callback.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "joblib/config.hpp"
#include "joblib/log.hpp"
#include "joblib/parallel/options.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// joblib's short_format_time: " %5.1fs" up to a minute, "%4.1fmin" beyond.
inline std::string short_format_time(double seconds) {
  char text[32];
  if (seconds > 60) {
    std::snprintf(text, sizeof text, "%4.1fmin", seconds / 60.0);
  } else {
    std::snprintf(text, sizeof text, " %5.1fs", seconds);
  }
  return text;
}

/// joblib's _verbosity_filter: true to skip the message for dispatch `index`; messages thin
/// out as the square of the index, less so for higher verbosity.
inline bool verbosity_filter(std::size_t index, int verbose) {
  if (verbose <= 0) return true;
  if (verbose > 10 || index == 0) return false;
  const double scale = 0.5 * (11 - verbose) * (11 - verbose);
  return static_cast<long>(std::sqrt(static_cast<double>(index) / scale)) ==
         static_cast<long>(std::sqrt(static_cast<double>(index + 1) / scale));
}

/// Formats and emits progress for one call. Not thread-safe: used by the calling thread only.
class progress_reporter {
 public:
  /// `backend` names the backend in joblib's first verbose line (default: ThreadingBackend, or
  /// SequentialBackend for one job).
  progress_reporter(const parallel_options& options, unsigned n_jobs, std::size_t pre_dispatch,
                    std::string_view backend = {})
      : verbose_(options.verbose.value_or(0)),
        bar_(options.progress.value_or(false) && ::isatty(STDERR_FILENO)),
        on_progress_(options.on_progress ? &options.on_progress : nullptr),
        n_jobs_(n_jobs),
        pre_dispatch_(pre_dispatch),
        start_(active() ? std::chrono::steady_clock::now()
                        : std::chrono::steady_clock::time_point{}) {
    if (verbose_ > 0) {
      if (backend.empty()) backend = n_jobs > 1 ? "ThreadingBackend" : "SequentialBackend";
      print("Using backend " + std::string(backend) + " with " + std::to_string(n_jobs) +
            " concurrent workers.");
    }
  }

  /// Whether report() does anything (so callers can skip wake-ups when it does not).
  bool active() const noexcept { return verbose_ > 0 || bar_ || on_progress_ != nullptr; }

  /// Reports `completed` tasks out of `total` (unknown while the input is not exhausted),
  /// after `batches` batches were dispatched.
  void report(std::size_t completed, std::optional<std::size_t> total, std::size_t batches) {
    if (completed == last_completed_ && total == last_total_) return;
    const double elapsed = seconds();
    if (on_progress_) {
      (*on_progress_)(progress_info{completed, total, std::chrono::duration<double>(elapsed)});
    }
    if (bar_) draw_bar(completed, total, elapsed, false);
    if (verbose_ > 0 && !(total && completed == *total))
      verbose_line(completed, total, batches, elapsed);
    last_completed_ = completed;
    last_total_ = total;
  }

  /// The closing report ("Done N out of N | elapsed: ... finished").
  void finish(std::size_t completed) {
    if (!active()) return;
    const double elapsed = seconds();
    if (on_progress_ && (completed != last_completed_ || !last_total_)) {
      (*on_progress_)(progress_info{completed, completed, std::chrono::duration<double>(elapsed)});
    }
    if (bar_) draw_bar(completed, completed, elapsed, true);
    if (verbose_ > 0) {
      print(format_done(completed) + " out of " + format_done_count(completed) +
            " | elapsed: " + short_format_time(elapsed) + " finished");
    }
    last_completed_ = completed;
    last_total_ = completed;
  }

 private:
  static std::string format_done(std::size_t n) {
    char text[48];
    std::snprintf(text, sizeof text, "Done %3zu", n);
    return text;
  }
  static std::string format_done_count(std::size_t n) {
    char text[32];
    std::snprintf(text, sizeof text, "%3zu", n);
    return text;
  }

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  void verbose_line(std::size_t completed, std::optional<std::size_t> total, std::size_t batches,
                    double elapsed) {
    if (!total) {
      if (verbosity_filter(batches, verbose_)) return;
      print(format_done(completed) + " tasks      | elapsed: " + short_format_time(elapsed));
      return;
    }
    // joblib prints when the count of remaining tasks crosses a multiple of `frequency`; our
    // batches complete several tasks at once, so look for a crossing since the last report
    // (any `frequency` consecutive indices hold one, so the loop is short).
    const std::size_t n = *total;
    const std::size_t frequency = n / static_cast<std::size_t>(verbose_) + 1;
    bool due = !printed_first_;  // joblib always shows the first report
    for (std::size_t index = std::max<std::size_t>(last_completed_ + 1, 1);
         !due && index <= completed; ++index) {
      const long cursor =
          static_cast<long>(n) - static_cast<long>(index) + 1 - static_cast<long>(pre_dispatch_);
      const bool is_last_item = index + 1 == n;
      if (!is_last_item && cursor % static_cast<long>(frequency) == 0) due = true;
    }
    if (!due) return;
    printed_first_ = true;
    const double remaining =
        elapsed / static_cast<double>(completed) * static_cast<double>(n - completed);
    print(format_done(completed) + " out of " + format_done_count(n) + " | elapsed: " +
          short_format_time(elapsed) + " remaining: " + short_format_time(remaining));
  }

  void draw_bar(std::size_t completed, std::optional<std::size_t> total, double elapsed,
                bool final) {
    const auto now = std::chrono::steady_clock::now();
    if (!final && now - last_bar_ < std::chrono::milliseconds(100)) return;
    last_bar_ = now;
    constexpr int width = 30;
    std::string line = "\r[";
    if (total && *total > 0) {
      const int filled =
          static_cast<int>(width * static_cast<double>(completed) / static_cast<double>(*total));
      line += std::string(static_cast<std::size_t>(filled), '#');
      line += std::string(static_cast<std::size_t>(width - filled), '.');
      line += "] " + std::to_string(completed) + "/" + std::to_string(*total);
    } else {
      line += std::string(width, '?') + "] " + std::to_string(completed);
    }
    line += " |" + short_format_time(elapsed);
    if (final) line += "\n";
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }

  void print(const std::string& message) const {
    log(log_level::info, "[Parallel(n_jobs=" + std::to_string(n_jobs_) + ")]: " + message);
  }

  int verbose_;
  bool bar_;
  const std::function<void(const progress_info&)>* on_progress_;  // the call's options outlive us
  unsigned n_jobs_;
  std::size_t pre_dispatch_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_bar_{};
  std::size_t last_completed_ = 0;
  std::optional<std::size_t> last_total_{};
  bool printed_first_ = false;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
