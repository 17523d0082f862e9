// joblib-cpp internals: system call failures as std::filesystem::filesystem_error.
#pragma once

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// Throws std::filesystem::filesystem_error("joblib: <what>", path) for the error number
/// `error` (errno by default): the one way the library reports a failed system call.
[[noreturn]] inline void throw_errno(const std::string& what, const std::filesystem::path& path,
                                     int error = errno) {
  throw std::filesystem::filesystem_error("joblib: " + what, path,
                                          std::error_code(error, std::generic_category()));
}

}  // namespace detail
JOBLIB_END_NAMESPACE
