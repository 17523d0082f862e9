# cmake -DPYTHON=... -DSOURCE=<python/> -DTARGET=<folder> -P pip_install.cmake
# Installs the package with pip into TARGET and imports it from there (not from the source).
# pip builds in the tree it is given (build/, *.egg-info): give it a copy, so the source tree
# stays as it is (it may be read-only).
file(REMOVE_RECURSE "${TARGET}" "${TARGET}_src")
file(COPY "${SOURCE}/" DESTINATION "${TARGET}_src"
  PATTERN "__pycache__" EXCLUDE PATTERN "build" EXCLUDE PATTERN "*.egg-info" EXCLUDE)
execute_process(
  COMMAND "${PYTHON}" -m pip install --no-deps --no-build-isolation --no-index
          --disable-pip-version-check --quiet --target "${TARGET}" "${TARGET}_src"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pip install failed (${rc})")
endif()
execute_process(
  COMMAND "${PYTHON}" -I -c
    "import sys; sys.path.insert(0, sys.argv[1]); import joblib_cpp, os; \
assert os.path.dirname(joblib_cpp.__file__) == os.path.join(sys.argv[1], 'joblib_cpp'), joblib_cpp.__file__; \
print('imported', joblib_cpp.__file__, joblib_cpp.__version__)"
    "${TARGET}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the installed package does not import (${rc})")
endif()
