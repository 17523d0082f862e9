#!/usr/bin/python3
"""Side-by-side persistence benchmark: numpy tofile/fromfile (the page-cache limit), Python
joblib.dump/load (Debian's python3-joblib) and joblib-cpp's dump/load, on 400 MB float64 arrays
"smooth" (cumsum of ones) and "random" (uniform [0, 1)), plus "bits" (random 64-bit patterns,
ours only), in one run, medians of --runs runs.

    /usr/bin/python3 benchmarks/persist/run_persist_bench.py \
        --bench build/release/benchmarks/persist/joblib_bench_persist --runs 5

Prints the raw JSON of both sides and a Markdown table with the ratios the issue asks for.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

import numpy as np
import joblib


def median(fn, runs):
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def python_side(mb, runs, tmp):
    n = mb * 1_000_000 // 8
    arrays = {
        "smooth": np.cumsum(np.ones(n, dtype=np.float64)),
        "random": np.random.default_rng(1).random(n),
    }
    out = {"joblib": joblib.__version__, "numpy": np.__version__}
    f = os.path.join(tmp, "a.bin")
    for name, a in arrays.items():
        total = a.nbytes / 1e6
        out[f"tofile_{name}_MBps"] = total / median(lambda: a.tofile(f), runs)
        out[f"fromfile_{name}_MBps"] = total / median(lambda: np.fromfile(f), runs)
        os.remove(f)
        g = os.path.join(tmp, f"{name}.pkl")
        for comp in (0, 3):
            key = f"{name}_{comp}"
            r = runs if comp == 0 else max(1, runs // 2)  # zlib is slow: fewer runs
            out[f"joblib_dump_{key}_MBps"] = total / median(lambda: joblib.dump(a, g, compress=comp), r)
            out[f"joblib_ratio_{key}"] = a.nbytes / os.path.getsize(g)
            out[f"joblib_load_{key}_MBps"] = total / median(lambda: joblib.load(g), r)
            if comp == 0:
                out[f"joblib_load_mmap_{key}_ms"] = 1e3 * median(lambda: joblib.load(g, mmap_mode="r"), runs * 4)
            os.remove(g)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="path of joblib_bench_persist")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mb", type=int, default=400)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="jlpersist", dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        py = python_side(args.mb, args.runs, tmp)
        cpp = json.loads(subprocess.run(
            [args.bench, "--dir", tmp, "--runs", str(args.runs), "--mb", str(args.mb)],
            check=True, capture_output=True, text=True).stdout)
    print(json.dumps({"python": py, "cpp": cpp}, indent=1))

    rows = []
    def row(what, ours, theirs, unit, goal):
        ratio = ours / theirs if theirs else float("nan")
        rows.append(f"| {what} | {ours:,.1f} {unit} | {theirs:,.1f} {unit} | {ratio:.2f}x | {goal} |")
    for name in ("smooth", "random"):
        row(f"{name}: dump, no compression vs joblib compress=0", cpp[f"dump_{name}_0_MBps"], py[f"joblib_dump_{name}_0_MBps"], "MB/s", ">= 1x")
        row(f"{name}: dump, no compression vs numpy tofile", cpp[f"dump_{name}_0_MBps"], py[f"tofile_{name}_MBps"], "MB/s", ">= 0.8x")
        row(f"{name}: load vs joblib.load compress=0", cpp[f"load_{name}_0_MBps"], py[f"joblib_load_{name}_0_MBps"], "MB/s", ">= 1x")
        row(f"{name}: load vs numpy fromfile", cpp[f"load_{name}_0_MBps"], py[f"fromfile_{name}_MBps"], "MB/s", ">= 0.8x")
        row(f"{name}: load (verify off) vs numpy fromfile", cpp[f"load_noverify_{name}_0_MBps"], py[f"fromfile_{name}_MBps"], "MB/s", "(checksum cost)")
        row(f"{name}: load mmap r (ms, lower is better)", cpp[f"load_mmap_{name}_0_ms"], py[f"joblib_load_mmap_{name}_0_ms"], "ms", "< 1 ms")
        for lvl in (1, 3):
            row(f"{name}: dump compress={lvl} vs joblib compress=3", cpp[f"dump_{name}_{lvl}_MBps"], py[f"joblib_dump_{name}_3_MBps"], "MB/s", ">= 10x (smooth)")
            row(f"{name}: ratio compress={lvl} vs joblib compress=3", cpp[f"ratio_{name}_{lvl}"], py[f"joblib_ratio_{name}_3"], "x", ">= 1x")
            row(f"{name}: load compress={lvl} vs joblib compress=3", cpp[f"load_{name}_{lvl}_MBps"], py[f"joblib_load_{name}_3_MBps"], "MB/s", ">= 5x (smooth)")
    for name in ("smooth", "random"):
        row(f"{name}: load compress=0, verify on vs off", cpp[f"load_{name}_0_MBps"], cpp[f"load_noverify_{name}_0_MBps"], "MB/s", ">= 0.95x")
    for lvl in (1, 3):
        row(f"random: dump time compress={lvl} / compress=0 (lower is better)", cpp[f"dump_random_{lvl}_s"], cpp["dump_random_0_s"], "s", "<= 1.2x")
        row(f"random: file size compress={lvl} / raw", 1 / cpp[f"ratio_random_{lvl}"], 1 / cpp["ratio_random_0"], "", "<= 1.01x")
        row(f"bits: dump time compress={lvl} / compress=0 (lower is better)", cpp[f"dump_bits_{lvl}_s"], cpp["dump_bits_0_s"], "s", "<= 1.2x")
        row(f"bits: file size compress={lvl} / raw", 1 / cpp[f"ratio_bits_{lvl}"], 1 / cpp["ratio_bits_0"], "", "<= 1.01x")
        row(f"smooth: dump compress={lvl}, 2 threads vs 1", cpp[f"dump_smooth_{lvl}_threads2_MBps"], cpp[f"dump_smooth_{lvl}_threads1_MBps"], "MB/s", ">= 1.6x")
        row(f"smooth: load compress={lvl}, 2 threads vs 1", cpp[f"load_smooth_{lvl}_threads2_MBps"], cpp[f"load_smooth_{lvl}_threads1_MBps"], "MB/s", ">= 1.6x")
        row(f"smooth: load compress={lvl}, verify on vs off", cpp[f"load_smooth_{lvl}_MBps"], cpp[f"load_noverify_smooth_{lvl}_MBps"], "MB/s", ">= 0.95x")
    print("\n| measure | joblib-cpp | baseline | ratio | goal |\n|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    sys.exit(main())
