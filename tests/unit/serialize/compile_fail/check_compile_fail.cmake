# Runs the compiler on SOURCE and checks that it fails with joblib's static_assert message
# naming the offending type, and without a cascade of follow-up errors.
execute_process(
  COMMAND "${COMPILER}" -std=c++20 -fsyntax-only -I "${INCLUDE_DIR}" "${SOURCE}"
  RESULT_VARIABLE result
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
set(all "${out}${err}")
if(result EQUAL 0)
  message(FATAL_ERROR "compiled, but must not:\n${all}")
endif()
if(NOT all MATCHES "joblib: this type is not serializable")
  message(FATAL_ERROR "joblib's message is missing:\n${all}")
endif()
if(NOT all MATCHES "not_serializable_widget")
  message(FATAL_ERROR "the diagnostics do not name the type:\n${all}")
endif()
string(REGEX MATCHALL "error:" errors "${all}")
list(LENGTH errors n)
if(n GREATER 2)
  message(FATAL_ERROR "${n} errors, expected one clear message:\n${all}")
endif()
message(STATUS "failed as expected with ${n} error(s)")
