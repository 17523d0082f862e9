# cmake -DINCLUDE_DIR=<include/> -DHEADERS=<a,b,...> -P check_layering.cmake
#
# Checks that HEADERS (the targets' header sets, relative to INCLUDE_DIR) are exactly the
# headers under INCLUDE_DIR, and that every `#include "joblib/..."` respects the layering:
#
#   joblib/parallel.hpp, joblib/parallel/**   only the foundation (config, errors, version,
#                                              log) and the parallel pillar itself; the
#                                              process backend (parallel/detail/process/**)
#                                              also the serialization core and ndarray;
#                                              so does what backends in other processes
#                                              share (parallel/detail/remote/**)
#   joblib/mpi.hpp, joblib/mpi/**              the foundation, the parallel pillar, the
#                                              serialization core and itself
#   joblib/serialize/**                        nothing of parallel, persist or memory
#   joblib/persist/**                          nothing of memory
#   joblib/memory/**                           persist only through joblib/persist.hpp
#   joblib/detail/os/**                        only config, errors and detail/os
cmake_minimum_required(VERSION 3.25)
string(REPLACE "," ";" listed "${HEADERS}")
file(GLOB_RECURSE present RELATIVE "${INCLUDE_DIR}" "${INCLUDE_DIR}/*.hpp" "${INCLUDE_DIR}/*.h")
set(problems "")
foreach(header IN LISTS present)
  if(NOT header IN_LIST listed)
    string(APPEND problems "${header} is in include/ but in no target's FILE_SET HEADERS\n")
  endif()
endforeach()
foreach(header IN LISTS listed)
  if(NOT header IN_LIST present)
    string(APPEND problems "${header} is listed in a FILE_SET but does not exist\n")
  endif()
endforeach()

set(foundation "^joblib/(config|errors|version|log)\\.hpp$")
foreach(header IN LISTS present)
  file(STRINGS "${INCLUDE_DIR}/${header}" lines REGEX "^#include [\"<]joblib/")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^#include [\"<]([^\">]+)[\">].*" "\\1" target "${line}")
    set(bad "")
    if(header MATCHES "^joblib/mpi(\\.hpp|/)")
      if(NOT target MATCHES "${foundation}" AND NOT target MATCHES "^joblib/parallel(\\.hpp|/)"
         AND NOT target MATCHES "^joblib/serialize/" AND NOT target MATCHES "^joblib/mpi/")
        set(bad "the MPI backend may include only the foundation, the parallel pillar, the serialization core and itself")
      endif()
    elseif(header MATCHES "^joblib/parallel/detail/(process|remote)/")
      if(NOT target MATCHES "${foundation}" AND NOT target MATCHES "^joblib/parallel/"
         AND NOT target MATCHES "^joblib/serialize/" AND NOT target MATCHES "^joblib/ndarray\\.hpp$")
        set(bad "the process backend may include only the foundation, the parallel pillar and the serialization core")
      endif()
    elseif(header MATCHES "^joblib/parallel(\\.hpp|/)")
      if(NOT target MATCHES "${foundation}" AND NOT target MATCHES "^joblib/parallel/")
        set(bad "the parallel pillar may include only the foundation and itself")
      endif()
    elseif(header MATCHES "^joblib/serialize/")
      if(target MATCHES "^joblib/(parallel|persist|memory)")
        set(bad "serialize never includes parallel, persist or memory")
      endif()
    elseif(header MATCHES "^joblib/persist/")
      if(target MATCHES "^joblib/memory")
        set(bad "persist never includes memory")
      endif()
    elseif(header MATCHES "^joblib/memory/")
      if(target MATCHES "^joblib/persist/")
        set(bad "memory uses persist through joblib/persist.hpp only")
      endif()
    elseif(header MATCHES "^joblib/detail/os/")
      if(NOT target MATCHES "^joblib/(config|errors)\\.hpp$" AND NOT target MATCHES "^joblib/detail/os/")
        set(bad "detail/os includes only config, errors and detail/os")
      endif()
    endif()
    if(bad)
      string(APPEND problems "${header} includes ${target}: ${bad}\n")
    endif()
  endforeach()
endforeach()
if(problems)
  message(FATAL_ERROR "include layering:\n${problems}")
endif()
list(LENGTH present count)
message(STATUS "include layering holds for ${count} headers")
