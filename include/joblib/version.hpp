// joblib-cpp: library version, kept in step with project(VERSION) in CMakeLists.txt
// (tests/unit/foundation checks that they agree).
#pragma once

#include "joblib/config.hpp"

#define JOBLIB_VERSION_MAJOR 0
#define JOBLIB_VERSION_MINOR 1
#define JOBLIB_VERSION_PATCH 0
// MAJOR * 10000 + MINOR * 100 + PATCH, for preprocessor comparisons.
#define JOBLIB_VERSION \
  (JOBLIB_VERSION_MAJOR * 10000 + JOBLIB_VERSION_MINOR * 100 + JOBLIB_VERSION_PATCH)

JOBLIB_BEGIN_NAMESPACE

/// The library version as "MAJOR.MINOR.PATCH". Example: `std::puts(joblib::version_string);`
inline constexpr const char* version_string = "0.1.0";

/// The library version as numbers, for run-time checks.
struct version_info {
  int major;
  int minor;
  int patch;
};
inline constexpr version_info version{JOBLIB_VERSION_MAJOR, JOBLIB_VERSION_MINOR,
                                      JOBLIB_VERSION_PATCH};

JOBLIB_END_NAMESPACE
