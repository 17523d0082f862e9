// joblib-cpp internals: which function each cache name stands for in this process, so that two
// different functions cached under one name are reported (joblib warns of name collisions).
// Their entries are kept apart by the key when their argument or result types differ; when
// the types are equal only the name tells them apart, and it does not.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "joblib/config.hpp"
#include "joblib/log.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

// One object per type: its address names the type without RTTI.
template <class F>
inline constexpr char function_type_tag = 0;

// What tells two callables apart: their types, and for function pointers (one type for many
// functions) their addresses too. Lambdas of one type are one function, whatever they capture.
struct function_identity {
  const void* type = nullptr;
  std::string address;
  bool operator==(const function_identity&) const = default;
};

template <class F>
function_identity identify(const F& fn) {
  function_identity id{&function_type_tag<F>, {}};
  if constexpr (std::is_pointer_v<F>) {
    id.address.assign(reinterpret_cast<const char*>(&fn), sizeof fn);
  }
  return id;
}

// Records that `id` is cached as `name` (with `version`) in `location`, and warns through
// joblib::log, once per name, when another function was recorded there before.
inline void note_cached_function(const std::filesystem::path& location, const std::string& name,
                                 const std::string& version, function_identity id) {
  struct registry {
    std::mutex mutex;
    std::unordered_map<std::string, std::pair<function_identity, bool>> seen;  // bool: warned
  };
  static registry functions;
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(location, ec);
  const std::string key =
      (ec ? location : absolute).lexically_normal().string() + '\0' + name + '\0' + version;
  {
    std::lock_guard lock(functions.mutex);
    auto [it, fresh] = functions.seen.try_emplace(key, id, false);
    if (fresh || it->second.second || it->second.first == id) return;
    it->second.second = true;
  }
  log(log_level::warning,
      "[Memory] possible name collision: different functions are cached as '" + name + "'" +
          (version.empty() ? std::string() : " (version '" + version + "')") + " in " +
          location.string() +
          "; calls with equal argument and result types share their entries. Give each "
          "function its own name or cache_options::version.");
}

}  // namespace detail
JOBLIB_END_NAMESPACE
