#!/usr/bin/env bash
# Side-by-side hashing figures in one run: joblib::hash and raw XXH3-128 (C++ binary), then
# Python joblib.hash (Debian python3-joblib) on a 400 MB float64 array, then the ratios.
#
#   bash benchmarks/hash/run_hash_bench.sh [build-dir]     # default build/release
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
cmake --build "$build" --target joblib_bench_hash >/dev/null
json=$(mktemp)
"$build/benchmarks/hash/joblib_bench_hash" --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_out="$json" --benchmark_out_format=json
/usr/bin/python3 - "$json" <<'PY'
import json, sys, time
import numpy as np
import joblib
data = json.load(open(sys.argv[1]))
med = {b["run_name"].replace("/real_time", ""): b for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
def gbps(name): return med[name]["bytes_per_second"] / 1e9
a = np.random.default_rng(0).random(50_000_000)  # 400 MB float64
joblib.hash(a)
runs = []
for _ in range(3):
    t0 = time.perf_counter(); joblib.hash(a); runs.append(time.perf_counter() - t0)
py = 0.4 / sorted(runs)[1]
raw = gbps("raw_xxh3_128_library")
raw_inline = gbps("raw_xxh3_128_inline")
print()
print(f"{'':32} {'GB/s':>8} {'vs libxxhash':>13} {'vs inline XXH3':>15} {'vs joblib.hash':>15}")
for name in ("raw_xxh3_128_library", "raw_xxh3_128_inline", "joblib_hash_vector", "joblib_hash_ndarray"):
    g = gbps(name)
    print(f"{name:32} {g:8.2f} {g / raw:12.0%} {g / raw_inline:14.0%} {g / py:14.1f}x")
print(f"{'python joblib.hash (400 MB)':32} {py:8.2f} {py / raw:12.0%} {py / raw_inline:14.0%} {1:14.1f}x")
for name in ("joblib_hash_small_args", "joblib_hash_small_args_new_string"):
    print(f"{name:32} {med[name]['real_time']:8.1f} ns")
PY
rm -f "$json"
