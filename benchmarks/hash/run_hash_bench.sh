#!/usr/bin/env bash
# Side-by-side hashing figures in one run: joblib::hash and raw XXH3-128 (C++ binary), then
# Python joblib.hash (Debian python3-joblib) on a 400 MB float64 array, then the ratios.
#
#   bash benchmarks/hash/run_hash_bench.sh [--json] [--runs N] [build-dir]  # default build/release
#
# --json prints one JSON object (GB/s, ns, Python's GB/s) instead of the table: what
# benchmarks/report.py reads. --runs: repetitions (medians), default 3.
set -euo pipefail
cd "$(dirname "$0")/../.."
format=table runs=3 build=build/release
while [[ $# -gt 0 ]]; do
  case $1 in
    --json) format=json ;;
    --runs) runs=$2; shift ;;
    *) build=$1 ;;
  esac
  shift
done
cmake --build "$build" --target joblib_bench_hash >/dev/null
json=$(mktemp)
# The C++ side's own output goes to stderr in --json mode, so that stdout is one JSON object.
console=1
[[ $format == json ]] && console=2
"$build/benchmarks/hash/joblib_bench_hash" --benchmark_repetitions="$runs" \
  --benchmark_report_aggregates_only=true --benchmark_out="$json" --benchmark_out_format=json \
  >&"$console"
/usr/bin/python3 - "$json" "$format" "$runs" <<'PY'
import json, statistics, sys, time
import numpy as np
import joblib
data = json.load(open(sys.argv[1]))
fmt, n_runs = sys.argv[2], int(sys.argv[3])
# With one repetition Google Benchmark reports no aggregates: the single run is the median.
med = {b["run_name"].replace("/real_time", ""): b for b in data["benchmarks"]
       if b.get("aggregate_name", "median") == "median"}
def gbps(name): return med[name]["bytes_per_second"] / 1e9
a = np.random.default_rng(0).random(50_000_000)  # 400 MB float64
joblib.hash(a)
runs = []
for _ in range(n_runs):
    t0 = time.perf_counter(); joblib.hash(a); runs.append(time.perf_counter() - t0)
py = 0.4 / statistics.median(runs)
if fmt == "json":
    big = ("raw_xxh3_128_library", "raw_xxh3_128_inline", "joblib_hash_vector", "joblib_hash_ndarray")
    small = ("joblib_hash_small_args", "joblib_hash_small_args_new_string")
    print(json.dumps({"gbps": {name: gbps(name) for name in big}, "python_gbps": py,
                      "ns": {name: med[name]["real_time"] for name in small}}, indent=1))
    sys.exit()
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
