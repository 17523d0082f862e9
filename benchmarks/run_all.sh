#!/usr/bin/env bash
# Installs what the benchmarks need, builds the release preset, then runs every benchmark of
# docs/BENCHMARKS.md beside its anchors (Python joblib, oneTBB, OpenMP, numpy, the zstd and
# xxhsum CLIs) in one session and regenerates the tables and plots of docs/BENCHMARKS.md and
# docs/benchmarks/*.md (benchmarks/report.py; arguments are passed on to it).
#   bash benchmarks/run_all.sh                      # about 20 minutes on 2 cores
#   bash benchmarks/run_all.sh --only parallel,cli --runs 5
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --benchmarks --anchors release
/usr/bin/python3 benchmarks/report.py --build build/release "$@"
