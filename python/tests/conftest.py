"""Shared fixtures: the C++ programs (paths from CTest's environment) and a scratch folder.

Under CTest (JOBLIB_INTEROP_REQUIRED=1) a missing program is a failure, not a skip; run alone
(`python3 -m pytest python/tests`) the interop tests are skipped and the others run."""

import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


def _program(var):
    path = os.environ.get(var)
    if path and os.path.exists(path):
        return path
    if os.environ.get("JOBLIB_INTEROP_REQUIRED"):
        pytest.fail(f"{var} is not set to a built program")
    pytest.skip(f"{var} not set (run through CTest to test against C++)")


@pytest.fixture(scope="session")
def scratch(tmp_path_factory):
    base = os.environ.get("JOBLIB_INTEROP_SCRATCH")
    if not base:
        return str(tmp_path_factory.mktemp("interop"))
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    return base


@pytest.fixture(scope="session")
def samples(scratch):
    """The folder write_samples filled, and its manifest."""
    program = _program("JOBLIB_WRITE_SAMPLES")
    out = os.path.join(scratch, "samples")
    subprocess.run([program, out], check=True, capture_output=True, timeout=60)
    import json
    with open(os.path.join(out, "expected.json")) as f:
        return out, json.load(f)


@pytest.fixture(scope="session")
def checker():
    return _program("JOBLIB_CHECK_PYTHON_FILES")
