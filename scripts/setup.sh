#!/usr/bin/env bash
# joblib-cpp setup for a fresh Debian 12 machine: installs the Debian packages the project
# needs (as root: apt-get update + install; otherwise it lists what to install and stops),
# then configures and builds the given CMake presets (default: dev).
#
#   bash scripts/setup.sh [--benchmarks] [--anchors] [--fuzz] [--no-build] [preset...]
#
#   The default packages include Debian's python3 with numpy, zstandard, xxhash, cbor2 (the
#   tests compare our CBOR with it), pytest, setuptools and pip: the dev preset's CTest runs
#   the Python package's tests with /usr/bin/python3.
#
#   --benchmarks  what the release preset's benchmark programs build against (Google
#                 Benchmark, oneTBB)
#   --anchors     what benchmarks/report.py measures them beside (Python joblib, numpy,
#                 mpi4py, the zstd and xxhsum CLIs, gnuplot for the plots)
#   --fuzz        clang's sanitizer and libFuzzer runtime for the fuzz preset
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ clang-16 libc++-16-dev libc++abi-16-dev cmake ninja-build pkg-config ccache git
          catch2 libzstd-dev libxxhash-dev nlohmann-json3-dev
          # joblib::mpi (backend::mpi) and its tests under mpiexec (JOBLIB_MPI_TESTS, dev preset)
          libopenmpi-dev openmpi-bin
          # the command-line tool `joblib` (tools/joblib, JOBLIB_BUILD_TOOLS) parses with CLI11
          libcli11-dev
          # the Python package python/joblib_cpp and its tests (JOBLIB_PYTHON_TESTS, dev preset)
          python3 python3-numpy python3-zstandard python3-xxhash python3-cbor2 python3-pytest
          python3-setuptools python3-pip)
presets=()
for arg in "$@"; do
  case $arg in
    --benchmarks) packages+=(libbenchmark-dev libtbb-dev) ;;
    --anchors) packages+=(python3 python3-joblib python3-numpy python3-mpi4py zstd xxhash
                          gnuplot-nox) ;;
    --fuzz) packages+=(libclang-rt-16-dev) ;;
    --no-build) presets=(none) ;;
    -*) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
    *) presets+=("$arg") ;;
  esac
done
[[ ${#presets[@]} -gt 0 ]] || presets=(dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) == 0 ]]; then
    echo "setup.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "setup.sh: these Debian packages are missing; install them and run again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

for preset in "${presets[@]}"; do
  [[ $preset == none ]] && continue
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
done
