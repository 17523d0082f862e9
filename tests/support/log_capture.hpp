// Test helper: collects what the library logs (joblib::log) while it lives, then puts the
// previous handler back.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "joblib/log.hpp"

namespace test {

/// Installs a log handler that records every message; the destructor restores the previous
/// handler. Thread-safe: the library may log from several threads.
///
///   test::log_capture log;
///   run_something();
///   CHECK(log.contains("removing unusable cache entry"));
class log_capture {
 public:
  struct message {
    joblib::log_level level;
    std::string text;
  };

  log_capture()
      : previous_(joblib::set_log_handler([this](joblib::log_level level, std::string_view text) {
          std::lock_guard lock(mutex_);
          messages_.push_back({level, std::string(text)});
        })) {}
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;
  ~log_capture() { joblib::set_log_handler(std::move(previous_)); }

  /// Every message so far.
  std::vector<message> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  /// All message texts, one per line.
  std::string text() const {
    std::string all;
    for (const auto& m : messages()) all += m.text + "\n";
    return all;
  }
  /// Whether some message contains `part`.
  bool contains(std::string_view part) const { return text().find(part) != std::string::npos; }
  /// How many messages have this level.
  std::size_t count(joblib::log_level level) const {
    std::size_t n = 0;
    for (const auto& m : messages()) n += m.level == level;
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<message> messages_;
  joblib::log_handler previous_;
};

}  // namespace test
