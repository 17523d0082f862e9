#include "joblib/version.hpp"

#include <string>

#include "catch.hpp"

TEST_CASE("version macros, constants and the CMake project version agree") {
  CHECK(joblib::version.major == JOBLIB_VERSION_MAJOR);
  CHECK(joblib::version.minor == JOBLIB_VERSION_MINOR);
  CHECK(joblib::version.patch == JOBLIB_VERSION_PATCH);
  const std::string expected = std::to_string(JOBLIB_VERSION_MAJOR) + "." +
                               std::to_string(JOBLIB_VERSION_MINOR) + "." +
                               std::to_string(JOBLIB_VERSION_PATCH);
  CHECK(std::string(joblib::version_string) == expected);
  CHECK(expected == JOBLIB_TEST_PROJECT_VERSION);
  CHECK(JOBLIB_VERSION == JOBLIB_VERSION_MAJOR * 10000 + JOBLIB_VERSION_MINOR * 100 +
                              JOBLIB_VERSION_PATCH);
}

TEST_CASE("the library lives in a versioned inline namespace") {
  // joblib::v0::version and joblib::version name the same object.
  CHECK(&joblib::JOBLIB_ABI_NAMESPACE::version == &joblib::version);
}
