#!/usr/bin/env bash
# Runs every benchmark of docs/BENCHMARKS.md and its Python / CLI anchors in one session, on
# this machine, printing each tool's own output (the tables in docs/ are made from it).
#   bash benchmarks/run_all.sh            # about 10 minutes on 2 cores
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --benchmarks release
bin=build/release/benchmarks
py=/usr/bin/python3   # Debian's python3, which has python3-joblib and numpy
echo "=== machine"; nproc; lscpu | grep -E 'Model name' || true; uptime
echo "=== hashing and value stream"
bash benchmarks/hash/run_hash_bench.sh build/release
"$bin/serialize/joblib_bench_serialize" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
echo "=== parallel"
"$bin/parallel/joblib_bench_parallel" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_min_time=0.3
"$py" benchmarks/parallel/joblib_anchor.py
echo "=== memory"
"$bin/memory/joblib_bench_memory" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
"$py" benchmarks/memory/memory_anchor.py
echo "=== dump / load"
"$py" benchmarks/persist/run_persist_bench.py --bench "$bin/persist/joblib_bench_persist" --runs 5
