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
      find_package(PkgConfig QUIET)
      if(PKG_CONFIG_FOUND)
        pkg_check_modules(_JOBLIB_PC_ZSTD QUIET libzstd)
      endif()
      find_path(JOBLIB_ZSTD_INCLUDE_DIR zstd.h HINTS ${_JOBLIB_PC_ZSTD_INCLUDE_DIRS})
      find_library(JOBLIB_ZSTD_LIBRARY NAMES zstd libzstd HINTS ${_JOBLIB_PC_ZSTD_LIBRARY_DIRS})
      if(NOT JOBLIB_ZSTD_INCLUDE_DIR OR NOT JOBLIB_ZSTD_LIBRARY)
        _joblib_missing("zstd (Debian: libzstd-dev)")
      endif()
      add_library(zstd::libzstd UNKNOWN IMPORTED)
      set_target_properties(zstd::libzstd PROPERTIES
        IMPORTED_LOCATION "${JOBLIB_ZSTD_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${JOBLIB_ZSTD_INCLUDE_DIR}")
    endif()
  endif()

  # xxHash -> xxHash::xxhash
  if(NOT TARGET xxHash::xxhash)
    find_package(xxHash CONFIG QUIET)
  endif()
  if(NOT TARGET xxHash::xxhash)
    find_package(PkgConfig QUIET)
    if(PKG_CONFIG_FOUND)
      pkg_check_modules(_JOBLIB_PC_XXHASH QUIET libxxhash)
    endif()
    find_path(JOBLIB_XXHASH_INCLUDE_DIR xxhash.h HINTS ${_JOBLIB_PC_XXHASH_INCLUDE_DIRS})
    find_library(JOBLIB_XXHASH_LIBRARY NAMES xxhash HINTS ${_JOBLIB_PC_XXHASH_LIBRARY_DIRS})
    if(NOT JOBLIB_XXHASH_INCLUDE_DIR OR NOT JOBLIB_XXHASH_LIBRARY)
      _joblib_missing("xxHash >= 0.8 (Debian: libxxhash-dev)")
    endif()
    add_library(xxHash::xxhash UNKNOWN IMPORTED)
    set_target_properties(xxHash::xxhash PROPERTIES
      IMPORTED_LOCATION "${JOBLIB_XXHASH_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${JOBLIB_XXHASH_INCLUDE_DIR}")
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
  if(JOBLIB_XXH3_DISPATCH)
    get_target_property(_joblib_xxh_defs xxHash::xxhash INTERFACE_COMPILE_DEFINITIONS)
    if(NOT "JOBLIB_XXH3_DISPATCH=1" IN_LIST _joblib_xxh_defs)
      set_property(TARGET xxHash::xxhash APPEND PROPERTY
        INTERFACE_COMPILE_DEFINITIONS JOBLIB_XXH3_DISPATCH=1)
    endif()
  endif()
endif()
