# Build settings for joblib's own targets (tests, examples, benchmarks, fuzzers), never for
# consumers: they reach our targets through the private `joblib_developer` interface target.
include_guard(GLOBAL)

option(JOBLIB_WARNINGS_AS_ERRORS "Treat warnings as errors in joblib's own targets" OFF)
set(JOBLIB_SANITIZE "" CACHE STRING
  "Sanitizers for joblib's own targets: empty, 'address,undefined' or 'thread'")

add_library(joblib_developer INTERFACE)
target_compile_options(joblib_developer INTERFACE -Wall -Wextra -Wpedantic)
if(JOBLIB_WARNINGS_AS_ERRORS)
  target_compile_options(joblib_developer INTERFACE -Werror)
endif()
if(JOBLIB_SANITIZE)
  target_compile_options(joblib_developer INTERFACE
    -fsanitize=${JOBLIB_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(joblib_developer INTERFACE -fsanitize=${JOBLIB_SANITIZE})
  # The sanitizer presets build at -Og: instrumented -O2 took 8x longer to compile. GCC does
  # not inline at -Og what xxHash marks always_inline, and fails; make those plain static.
  target_compile_definitions(joblib_developer INTERFACE XXH_NO_INLINE_HINTS=1)
  # GCC's -Wmaybe-uninitialized is unreliable with sanitizer instrumentation when optimising (the GCC
  # manual says so; it fires inside libstdc++'s std::function): keep it off there only.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(joblib_developer INTERFACE -Wno-maybe-uninitialized)
  endif()
endif()
# GCC 12 at -O3 reports -Wrestrict and -Warray-bounds false positives inside libstdc++'s
# std::string and std::vector (GCC bugs 105329 and 105651: "literal" + std::string&&, growing a
# brace-initialised vector). Our Release builds (the release and demo presets) would fail under
# -Werror; only there, and only with GCC 12, those two warnings are off.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(joblib_developer INTERFACE
    $<$<CONFIG:Release>:-Wno-restrict -Wno-array-bounds>)
endif()
