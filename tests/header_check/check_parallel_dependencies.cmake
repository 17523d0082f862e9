# cmake -DCOMPILER=... -DINCLUDE_DIR=... -DSOURCE=... -P check_parallel_dependencies.cmake
# Lists every header SOURCE reaches and fails if one belongs to zstd, xxHash or nlohmann/json.
cmake_minimum_required(VERSION 3.25)
execute_process(
  COMMAND "${COMPILER}" -std=c++20 -M -I "${INCLUDE_DIR}" "${SOURCE}"
  OUTPUT_VARIABLE dependencies ERROR_VARIABLE errors RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "preprocessing ${SOURCE} failed:\n${errors}")
endif()
if(NOT dependencies MATCHES "joblib/config\\.hpp")
  message(FATAL_ERROR "dependency list looks wrong (no joblib/config.hpp):\n${dependencies}")
endif()
string(TOLOWER "${dependencies}" lowered)
foreach(forbidden IN ITEMS "/zstd[a-z_]*\\.h" "/xxhash\\.h" "/xxh3\\.h" "/nlohmann/")
  if(lowered MATCHES "${forbidden}")
    message(FATAL_ERROR "the parallel headers reach a header matching ${forbidden}:\n${dependencies}")
  endif()
endforeach()
message(STATUS "parallel headers reach no zstd/xxHash/json header")
