# Resolves joblib's third-party dependencies into one set of imported target names, whatever
# the platform ships:
#
#   Threads::Threads               always (the only one joblib::parallel needs)
#   nlohmann_json::nlohmann_json   nlohmann/json's own config package
#   zstd::libzstd                  upstream >= 1.5.6 and vcpkg export it; Debian 12 exports only
#                                  zstd::libzstd_shared/_static, so we alias one of those; with no
#                                  config package at all we fall back to find_library
#   xxHash::xxhash                 vcpkg exports it; Debian ships only libxxhash.pc, so we build it
#                                  from pkg-config hints + find_path/find_library
#
# Used in two modes: by our own CMakeLists.txt (missing packages are fatal) and, installed
# next to joblib-config.cmake, by consumers (set JOBLIB_DEPENDENCIES_AS_CONFIG first; a missing
# package then sets joblib_FOUND to FALSE with a message, as find_dependency does).
#
# Set JOBLIB_DEPENDENCIES_PARALLEL_ONLY to resolve Threads alone (find_package(joblib
# COMPONENTS parallel) does), so that a consumer of <joblib/parallel.hpp> needs nothing else.
# No include_guard: a second find_package(joblib) with more components must resolve more.

if(JOBLIB_DEPENDENCIES_AS_CONFIG)
  include(CMakeFindDependencyMacro)
endif()

# find_dependency in config mode, find_package(REQUIRED) otherwise.
macro(_joblib_require_package)
  if(JOBLIB_DEPENDENCIES_AS_CONFIG)
    find_dependency(${ARGV})
  else()
    find_package(${ARGV} REQUIRED)
  endif()
endmacro()

macro(_joblib_missing what)
  if(JOBLIB_DEPENDENCIES_AS_CONFIG)
    set(joblib_FOUND FALSE)
    set(joblib_NOT_FOUND_MESSAGE "joblib needs ${what}")
    return()
  else()
    message(FATAL_ERROR "joblib needs ${what}")
  endif()
endmacro()

# Imports <target> from a library without a CMake package: pkg-config's hints (when it is
# there), then find_path(<header>) and find_library(<names>); missing means _joblib_missing.
macro(_joblib_import_from_pkg_config target module header names what)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(_JOBLIB_PC_${module} QUIET ${module})
  endif()
  find_path(_JOBLIB_${module}_INCLUDE_DIR ${header} HINTS ${_JOBLIB_PC_${module}_INCLUDE_DIRS})
  find_library(_JOBLIB_${module}_LIBRARY NAMES ${names} HINTS ${_JOBLIB_PC_${module}_LIBRARY_DIRS})
  if(NOT _JOBLIB_${module}_INCLUDE_DIR OR NOT _JOBLIB_${module}_LIBRARY)
    _joblib_missing("${what}")
  endif()
  add_library(${target} UNKNOWN IMPORTED)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${_JOBLIB_${module}_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${_JOBLIB_${module}_INCLUDE_DIR}")
endmacro()

set(THREADS_PREFER_PTHREAD_FLAG ON)
_joblib_require_package(Threads)

if(NOT JOBLIB_DEPENDENCIES_PARALLEL_ONLY)
  _joblib_require_package(nlohmann_json 3.9 CONFIG)

  # zstd -> zstd::libzstd
  if(NOT TARGET zstd::libzstd)
    find_package(zstd CONFIG QUIET)
  endif()
  if(NOT TARGET zstd::libzstd)
    if(TARGET zstd::libzstd_shared)
      add_library(zstd::libzstd INTERFACE IMPORTED)
      target_link_libraries(zstd::libzstd INTERFACE zstd::libzstd_shared)
    elseif(TARGET zstd::libzstd_static)
      add_library(zstd::libzstd INTERFACE IMPORTED)
      target_link_libraries(zstd::libzstd INTERFACE zstd::libzstd_static)
    else()
      _joblib_import_from_pkg_config(zstd::libzstd libzstd zstd.h "zstd;libzstd"
        "zstd (Debian: libzstd-dev)")
    endif()
  endif()

  # xxHash -> xxHash::xxhash
  if(NOT TARGET xxHash::xxhash)
    find_package(xxHash CONFIG QUIET)
  endif()
  if(NOT TARGET xxHash::xxhash)
    _joblib_import_from_pkg_config(xxHash::xxhash libxxhash xxhash.h xxhash
      "xxHash >= 0.8 (Debian: libxxhash-dev)")
  endif()

  # Checksums of data that is hot in cache (every stripe of a dump or load) run 4x faster with
  # the AVX2/AVX-512 kernels that xxHash picks at run time. Debian's and upstream's x86-64
  # libxxhash export them as XXH3_64bits_dispatch; other builds may not, so probe the library
  # and tell the headers (JOBLIB_XXH3_DISPATCH) only when a program links against it.
  if(CMAKE_CXX_COMPILER_LOADED AND NOT DEFINED JOBLIB_XXH3_DISPATCH)
    include(CheckCXXSourceCompiles)
    set(CMAKE_REQUIRED_LIBRARIES xxHash::xxhash)
    set(CMAKE_REQUIRED_QUIET ON)
    check_cxx_source_compiles([=[
      #include <cstddef>
      #include <cstdint>
      extern "C" std::uint64_t XXH3_64bits_dispatch(const void*, std::size_t);
      int main() { return static_cast<int>(XXH3_64bits_dispatch("", 0) & 1); }
    ]=] JOBLIB_XXH3_DISPATCH)
    unset(CMAKE_REQUIRED_LIBRARIES)
    unset(CMAKE_REQUIRED_QUIET)
  endif()
endif()
