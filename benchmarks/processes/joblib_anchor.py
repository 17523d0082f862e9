"""Python joblib's loky backend (worker processes) on the jobs of processes_bench.cpp, for the
ratios in docs/BENCHMARKS.md ("Processes"). Run with Debian's python3 (python3-joblib):

    /usr/bin/python3 benchmarks/processes/joblib_anchor.py [--runs 3]

Prints JSON: tiny-task throughput (1M tasks returning i * 2, auto batching, n_jobs = 2) with a
warm executor and on the first (cold) call, and the time of an empty call (2 tasks returning 0)
warm and cold. loky keeps its executor between calls (get_reusable_executor): "cold" shuts it
down first, so the call spawns its workers as a fresh interpreter's first call does."""
import argparse
import json
import statistics
import time

from joblib import Parallel, delayed
from joblib.externals.loky import get_reusable_executor

TINY_N = 1_000_000


def twice(i):
    return i * 2


def zero(_):
    return 0


def call(n, f):
    return Parallel(n_jobs=2, backend="loky")(delayed(f)(i) for i in range(n))


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def cold(fn):
    """fn's time on a fresh executor (its workers spawned inside the timing)."""
    get_reusable_executor().shutdown(wait=True)
    return timed(fn)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    runs = ap.parse_args().runs
    out = {"tiny_n": TINY_N}
    # Cold first: this is the interpreter's first parallel call.
    out["tiny_cold_s"] = statistics.median(cold(lambda: call(TINY_N, twice)) for _ in range(runs))
    call(1000, twice)  # warm the executor
    out["tiny_warm_s"] = statistics.median(timed(lambda: call(TINY_N, twice)) for _ in range(runs))
    out["tiny_warm_tasks_per_s"] = TINY_N / out["tiny_warm_s"]
    out["tiny_cold_tasks_per_s"] = TINY_N / out["tiny_cold_s"]
    call(2, zero)
    out["empty_warm_ms"] = 1e3 * statistics.median(timed(lambda: call(2, zero))
                                                   for _ in range(max(runs, 20)))
    out["empty_cold_ms"] = 1e3 * statistics.median(cold(lambda: call(2, zero))
                                                   for _ in range(max(runs, 5)))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
