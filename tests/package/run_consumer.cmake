# cmake -DMODE=find_package|fetchcontent -DJOBLIB_SOURCE_DIR=... -DJOBLIB_BINARY_DIR=...
#       -DWORK_DIR=... -DGENERATOR=... -DCXX=... -P run_consumer.cmake
#
# find_package: installs joblib from JOBLIB_BINARY_DIR into WORK_DIR/prefix, checks that only
# headers, the CMake package, the license and the command-line tool (bin/joblib, when
# JOBLIB_BUILD_TOOLS) were installed, then builds and runs the consumer
# in tests/package/find_package against that prefix.
# fetchcontent: builds and runs tests/package/fetchcontent, which pulls joblib in through
# FetchContent with SOURCE_DIR and asserts itself that none of our targets leaked into it.
cmake_minimum_required(VERSION 3.25)
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    string(JOIN " " command ${ARGV})
    message(FATAL_ERROR "failed (${result}): ${command}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(consumer_args "")
if(MODE STREQUAL "find_package")
  set(prefix "${WORK_DIR}/prefix")
  run("${CMAKE_COMMAND}" --install "${JOBLIB_BINARY_DIR}" --prefix "${prefix}")
  file(GLOB_RECURSE installed RELATIVE "${prefix}" "${prefix}/*")
  foreach(file IN LISTS installed)
    if(NOT file MATCHES "^include/joblib/.*\\.hpp$"
       AND NOT file MATCHES "^share/joblib/cmake/[A-Za-z-]+\\.cmake$"
       AND NOT file STREQUAL "share/doc/joblib/LICENSE"
       AND NOT file STREQUAL "bin/joblib")
      message(FATAL_ERROR "unexpected file installed: ${file}")
    endif()
  endforeach()
  foreach(required IN ITEMS include/joblib/joblib.hpp share/joblib/cmake/joblib-config.cmake
          share/joblib/cmake/joblib-config-version.cmake share/joblib/cmake/joblibDependencies.cmake)
    if(NOT EXISTS "${prefix}/${required}")
      message(FATAL_ERROR "not installed: ${required}")
    endif()
  endforeach()
  if(EXISTS "${prefix}/bin/joblib")
    run("${prefix}/bin/joblib" --version)  # the installed tool runs
  endif()
  list(APPEND consumer_args "-DCMAKE_PREFIX_PATH=${prefix}")
elseif(MODE STREQUAL "fetchcontent")
  list(APPEND consumer_args "-DJOBLIB_SOURCE_DIR=${JOBLIB_SOURCE_DIR}")
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()

set(build "${WORK_DIR}/build")
run("${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}/${MODE}" -B "${build}" -G "${GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${CXX}" -DCMAKE_BUILD_TYPE=Release ${consumer_args})
run("${CMAKE_COMMAND}" --build "${build}")
set(apps consumer parallel_consumer)
if(EXISTS "${build}/mpi_consumer")
  list(APPEND apps mpi_consumer)
elseif(EXISTS "${JOBLIB_BINARY_DIR}/tests/mpi")
  message(FATAL_ERROR "joblib was built with MPI, but the consumer found no joblib::mpi")
endif()
foreach(app IN LISTS apps)
  run("${build}/${app}")
  if(NOT run_output MATCHES "joblib consumer OK")
    message(FATAL_ERROR "${app} printed:\n${run_output}")
  endif()
endforeach()
# Our tests, examples and benchmarks must not have been configured into the consumer build.
file(GLOB_RECURSE leaked "${build}/*joblib_test_*" "${build}/*joblib_catch_main*"
  "${build}/*joblib_header_check*" "${build}/*joblib_example*" "${build}/*joblib_bench*")
if(leaked)
  message(FATAL_ERROR "joblib's own targets leaked into the consumer build: ${leaked}")
endif()
message(STATUS "${MODE} consumer OK")
