// joblib-cpp internals: an entry's metadata as stored in its container's attributes, and the
// texts of joblib's verbose lines ("f(10, 20)", "0.1s, 0.0min").
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "joblib/config.hpp"
#include "joblib/memory/options.hpp"
#include "joblib/serialize.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

inline std::string format_time(double seconds) {
  char text[64];
  std::snprintf(text, sizeof text, "%.1fs, %.1fmin", seconds, seconds / 60.0);
  return text;
}

// "f(10, 20)" from the arguments' summaries; arguments that `ignored(position)` leaves out of
// the key (and those that cannot be summarized: they must be ignored) show as "...".
template <class Ignored, class... Args>
std::string format_call(const std::string& name, const Ignored& ignored, const Args&... args) {
  std::string text = name + "(";
  std::size_t position = 0;
  (
      [&] {
        if (position > 0) text += ", ";
        if constexpr (serializable<Args>) {
          text += ignored(position) ? std::string("...") : summarize(args, 60);
        } else {
          text += "...";
        }
        ++position;
      }(),
      ...);
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

// The metadata of an opened entry (its attributes and size).
inline entry_metadata read_metadata(container_file& entry) {
  return from_json(entry.attributes(), entry.size());
}

}  // namespace detail
JOBLIB_END_NAMESPACE
