#!/usr/bin/python3
"""Regenerates every benchmark table of docs/BENCHMARKS.md and docs/benchmarks/*.md on this
machine, in one run: ours beside Python joblib (Debian's python3-joblib), oneTBB, OpenMP and
the zstd / xxhsum command-line tools, as ratios measured side by side, plus the machine
paragraph and two plots (PNG, gnuplot).

    /usr/bin/python3 benchmarks/report.py --build build/release [--only parallel,cli] [--runs 3]

It builds nothing: --build names a configured and built release tree (`bash
benchmarks/run_all.sh` does setup, build and this). Each table lives between
`<!-- report:NAME begin -->` and `<!-- report:NAME end -->` in the docs and is replaced in place;
everything outside the markers is hand-written prose and is left alone. Pieces (--only):

    hash       joblib::hash vs raw XXH3 vs Python joblib.hash  -> docs/benchmarks/serialize.md
    serialize  value stream write/read throughput               -> docs/benchmarks/serialize.md
    parallel   vs oneTBB, OpenMP, Python joblib.Parallel; task-size sweep plot -> BENCHMARKS.md
    processes  backend::processes vs threads, loky, memcpy      -> docs/BENCHMARKS.md
    mpi        backend::mpi vs threads, mpi4py.futures; the coordinator's rate
                                                  -> docs/BENCHMARKS.md, docs/SCALING.md
    memory     vs Python joblib.Memory                          -> docs/BENCHMARKS.md
    persist    vs numpy and Python joblib.dump/load             -> docs/benchmarks/persist.md
    cli        vs the zstd and xxhsum CLIs; level sweep plot    -> docs/benchmarks/cli.md
"""
import argparse
import datetime
import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import joblib

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PLOTS = DOCS / "benchmarks"
PY = "/usr/bin/python3"  # Debian's python3, which has python3-joblib and numpy
PIECES = ("hash", "serialize", "parallel", "processes", "mpi", "memory", "persist", "cli")

# The level sweep (plot b) runs on smaller arrays than the 400 MB tables: zstd -19 and zlib -9
# run at a few MB/s here. Levels at or above SLOW_LEVEL are timed once, the others take medians.
SWEEP_LEVELS = (-5, -1, 1, 3, 6, 9, 19)
ZLIB_LEVELS = (1, 3, 6, 9)
SLOW_LEVEL = 9


# ---- running things -----------------------------------------------------------------------

def log(msg):
    print(f"[report {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd):
    """Runs cmd (a list) from the repository root and returns its stdout; stderr passes through."""
    log(" ".join(str(c) for c in cmd))
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True, text=True,
                          stdout=subprocess.PIPE).stdout


def first_json(text):
    """The first JSON object in text (the anchors print JSON, some followed by a table)."""
    return json.JSONDecoder().raw_decode(text[text.index("{"):])[0]


def gbench(binary, runs, *extra):
    """Runs a Google Benchmark binary; returns {name: median entry}, names without /real_time."""
    out = first_json(run([binary, "--benchmark_format=json", f"--benchmark_repetitions={runs}",
                          "--benchmark_report_aggregates_only=true", *extra]))
    # With one repetition there are no aggregates: the single run is the median.
    return {b["run_name"].replace("/real_time", ""): b for b in out["benchmarks"]
            if b.get("aggregate_name", "median") == "median"}


def seconds(entry):
    """An entry's real time in seconds."""
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[entry["time_unit"]]
    return entry["real_time"] * scale


def median_time(fn, runs):
    """Median wall time of fn() over runs calls, in seconds."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def command_time(cmd, runs):
    """Median wall time of a command line (process start included), output discarded (xxhsum
    writes progress to stderr)."""
    log(" ".join(cmd) + f"  (x{runs})")
    return median_time(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL), runs)


# ---- formatting -----------------------------------------------------------------------------

def num(x, digits=1):
    """1,234.5 style."""
    return f"{x:,.{digits}f}"


def times(x, digits=2):
    """A ratio: 1.23×."""
    return f"{x:.{digits}f}×"


def table(header, rows):
    """A Markdown table; header is a list of (title, align) with align one of l/r."""
    lines = ["| " + " | ".join(t for t, _ in header) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for _, a in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def stamp(runs):
    """The first line of every generated block: when, how many runs, how loaded the machine was."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    runs_text = f"medians of {runs} runs" if runs > 1 else "a single run"
    return f"*Generated by `benchmarks/report.py`, {runs_text}, finished {now} with a " \
           f"1-minute load average of {os.getloadavg()[0]:.2f}.*"


def replace_block(doc, name, text):
    """Replaces what lies between the doc's report:name markers with text."""
    path = DOCS / doc
    begin, end = f"<!-- report:{name} begin -->", f"<!-- report:{name} end -->"
    src = path.read_text()
    if begin not in src or end not in src:
        sys.exit(f"report.py: {path} has no {begin} ... {end} markers")
    head, rest = src.split(begin, 1)
    tail = rest.split(end, 1)[1]
    path.write_text(f"{head}{begin}\n{text.strip()}\n{end}{tail}")
    log(f"wrote {name} into {path.relative_to(ROOT)}")


# ---- the machine paragraph ------------------------------------------------------------------

def package_version(name):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], check=True, text=True,
                              capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "not installed"


def machine(build):
    """One paragraph: CPUs, RAM, kernel, compiler and the baselines' package versions."""
    lscpu = subprocess.run(["lscpu"], text=True, capture_output=True).stdout
    model = re.search(r"Model name:\s*(.+)", lscpu)
    hypervisor = re.search(r"Hypervisor vendor:\s*(.+)", lscpu)
    ram_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cache = (build / "CMakeCache.txt").read_text()
    cxx = re.search(r"CMAKE_CXX_COMPILER:\w+=(.+)", cache).group(1)
    build_type = re.search(r"CMAKE_BUILD_TYPE:\w+=(.*)", cache).group(1)
    compiler = subprocess.run([cxx, "--version"], text=True, capture_output=True).stdout
    distro = re.search(r'PRETTY_NAME="(.+)"', Path("/etc/os-release").read_text())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    packages = ", ".join(f"{p} {package_version(p)}" for p in
                         ("libtbb-dev", "python3-joblib", "python3-numpy", "zstd", "xxhash",
                          "libzstd-dev", "libxxhash-dev", "libbenchmark-dev"))
    return (f"**Machine** (generated {now}): {os.cpu_count()} CPUs "
            f"({model.group(1).strip() if model else 'unknown model'}"
            f"{', ' + hypervisor.group(1).strip() + ' guest' if hypervisor else ''}), "
            f"{ram_gib:.0f} GiB RAM, {distro.group(1) if distro else 'Linux'}, "
            f"kernel {os.uname().release}, {compiler.splitlines()[0]} ({build_type} build, "
            f"`{build.relative_to(ROOT) if build.is_relative_to(ROOT) else build}`), "
            f"Python {sys.version.split()[0]}; Debian packages: {packages}.")


# ---- pieces ---------------------------------------------------------------------------------

def piece_hash(build, runs, _tmp):
    out = first_json(run(["bash", "benchmarks/hash/run_hash_bench.sh", "--json", "--runs", runs,
                          build]))
    g, py = out["gbps"], out["python_gbps"]
    lib, inline = g["raw_xxh3_128_library"], g["raw_xxh3_128_inline"]
    names = {
        "raw_xxh3_128_library": "raw `XXH3_128bits`, Debian libxxhash.so",
        "raw_xxh3_128_inline": "raw `XXH3_128bits`, inlined (`XXH_INLINE_ALL`, as joblib uses it)",
        "joblib_hash_vector": "`joblib::hash(std::vector<double>)`",
        "joblib_hash_ndarray":
            "`joblib::hash(joblib::ndarray<double>)` (10000 × 5000 view of the same buffer)",
    }

    def pct(x):
        return f"{100 * x:.0f} %"

    rows = [[label, f"{g[k]:.1f}", pct(g[k] / lib), pct(g[k] / inline), times(g[k] / py, 1)]
            for k, label in names.items()]
    rows.append(["Python `joblib.hash(numpy array)`", f"{py:.2f}", pct(py / lib), pct(py / inline),
                 "1×"])
    big = table([("400 MB of `double`", "l"), ("GB/s", "r"), ("vs libxxhash `XXH3_128bits`", "r"),
                 ("vs inlined `XXH3_128bits`", "r"), ("vs Python `joblib.hash`", "r")], rows)
    small = table([("small arguments", "l"), ("time", "r")], [
        ["`joblib::hash(42, 3.14, s)` (s an existing `std::string(\"abc\")`)",
         f"{out['ns']['joblib_hash_small_args']:.1f} ns"],
        ["`joblib::hash(42, 3.14, std::string(\"abc\"))` (string built each time)",
         f"{out['ns']['joblib_hash_small_args_new_string']:.1f} ns"]])
    replace_block("benchmarks/serialize.md", "hash", f"{stamp(runs)}\n\n{big}\n\n{small}")


def piece_serialize(build, runs, _tmp):
    med = gbench(build / "benchmarks/serialize/joblib_bench_serialize", runs)
    names = {
        "write_value_stream": "`write_value` into a reused buffer",
        "write_value_stream_fresh_buffer": "`write_value` into a fresh `std::vector<std::byte>`",
        "read_value_stream": "`read_value` into a reused vector",
        "read_value_stream_fresh_vector":
            "`read_value` into a fresh vector (allocates 48 MB of structs)",
    }
    rows = [[label, f"{seconds(med[k]) * 1e3:.1f} ms", f"{med[k]['bytes_per_second'] / 1e9:.2f}"]
            for k, label in names.items()]
    replace_block("benchmarks/serialize.md", "serialize",
                  f"{stamp(runs)}\n\n"
                  + table([("operation", "l"), ("time", "r"), ("GB/s", "r")], rows))


def piece_parallel(build, runs, tmp):
    med = gbench(build / "benchmarks/parallel/joblib_bench_parallel", runs,
                 "--benchmark_min_time=0.3")
    anchor = first_json(run([PY, "benchmarks/parallel/joblib_anchor.py"]))

    def ips(k):  # items per second
        return med[k]["items_per_second"]

    def mps(k):
        return f"{ips(k) / 1e6:.1f} M/s"

    def ms(k):
        return seconds(med[k]) * 1e3

    def spawn(k):
        return med[k]["ns_per_spawn"]

    def speedup(k, case="medium"):  # of a loop over its sequential run
        return seconds(med[f"{case}_sequential"]) / seconds(med[k])

    # Python's best backend: the fastest of the *_tasks_per_s figures joblib_anchor.py prints.
    backends = {k[:-len("_tasks_per_s")]: v for k, v in anchor.items()
                if k.endswith("_tasks_per_s") and not k.startswith("best")}
    best = max(backends, key=backends.get)
    rows = [
        ["tiny tasks: `x * x` over 10M ints via `delayed`, results returned", mps("tiny_joblib"),
         mps("tiny_tbb"), mps("tiny_omp"), times(ips("tiny_joblib") / ips("tiny_tbb")), "≥ 0.3×"],
        [f"tiny tasks vs Python joblib's best backend ({best}, "
         f"{backends[best] / 1e3:.0f} k tasks/s)", mps("tiny_joblib"), "", "",
         f"{ips('tiny_joblib') / backends[best]:.0f}× Python", "≥ 100×"],
        ["medium tasks (20k × 10 µs): speedup over sequential", times(speedup("medium_joblib")),
         times(speedup("medium_tbb")), "",
         times(speedup("medium_joblib") / speedup("medium_tbb")), "≥ 0.97×"],
        ["inlined body (20k × 2,000-step `sqrt` chain): speedup over sequential",
         times(speedup("inlined_joblib", "inlined")), times(speedup("inlined_tbb", "inlined")), "",
         times(speedup("inlined_joblib", "inlined") / speedup("inlined_tbb", "inlined")),
         "≥ 0.97×"],
        ["tiny tasks returning `long` into a fresh vector (10M)", mps("tiny_long_joblib"),
         mps("tiny_long_tbb"), "", times(ips("tiny_long_joblib") / ips("tiny_long_tbb")),
         "≥ 0.5×"],
    ]
    for shape, what in (("linear", "cost linear in index (2000 tasks, 0-200 µs)"),
                        ("exponential", "cost exponential in index")):
        j, t = ms(f"imbalanced_{shape}_joblib"), ms(f"imbalanced_{shape}_tbb")
        rows.append([f"imbalanced, {what}", f"{j:.0f} ms", f"{t:.0f} ms", "",
                     f"{j / t:.2f}× time", "≤ 1.10×"])
    j, t = ms("skewed_joblib"), ms("skewed_tbb")
    rows.append(["imbalanced, inlined `work(i, i * 5)` (4,000 tasks)", f"{j:.0f} ms",
                 f"{t:.0f} ms", "", f"{j / t:.2f}× time", "≤ 1.10×"])
    for mode in ("generator", "generator_unordered"):
        g, lst = ms(f"sleepy_{mode}"), ms("sleepy_list")
        rows.append([f"`.{mode}()` vs list, 20 × 50 ms tasks at n_jobs = 2",
                     f"{g:.0f} ms vs {lst:.0f} ms", "", "", f"{g / lst:.2f}× list time",
                     "≤ 1.1×"])
    flat = ips("flat_tbb_task_group")
    rows += [
        ["flat submission of 1M tiny tasks (`thread_pool::run` vs `tbb::task_group::run`)",
         mps("flat_joblib_pool"), mps("flat_tbb_task_group"), "",
         times(ips("flat_joblib_pool") / flat), "≥ 1×"],
        ["same through `joblib::task_group`", mps("flat_joblib_task_group"), "", "",
         times(ips("flat_joblib_task_group") / flat), ""],
        ["nested: fib(30), one nested `parallel` call per node",
         f"{spawn('nested_fib_joblib_parallel'):.0f} ns/spawn",
         f"{spawn('nested_fib_tbb'):.0f} ns/spawn", "",
         f"{spawn('nested_fib_joblib_parallel') / spawn('nested_fib_tbb'):.1f}× time", "≤ 3×"],
        ["nested: fib(30) with `joblib::task_group`",
         f"{spawn('nested_fib_joblib_task_group'):.0f} ns/spawn",
         f"{spawn('nested_fib_tbb'):.0f} ns/spawn", "",
         f"{spawn('nested_fib_joblib_task_group') / spawn('nested_fib_tbb'):.1f}× time", ""],
    ]
    main = table([("case", "l"), ("joblib-cpp", "r"), ("oneTBB", "r"), ("OpenMP", "r"),
                  ("ours / oneTBB", "r"), ("goal", "l")], rows)

    # Task-size sweep: speedup over sequential of the same tasks, per task size.
    sizes = sorted({int(k.split("/")[1]) for k in med if k.startswith("sweep_sequential/")})
    impls = (("joblib", "joblib-cpp"), ("tbb", "oneTBB"), ("omp", "OpenMP"))
    sweep = {(i, s): seconds(med[f"sweep_sequential/{s}"]) / seconds(med[f"sweep_{i}/{s}"])
             for i, _ in impls for s in sizes}
    sweep_rows = [[f"{s / 1000:g} µs", f"{20_000_000 // s:,}",
                   f"{seconds(med[f'sweep_sequential/{s}']) * 1e3:.1f} ms"]
                  + [times(sweep[i, s]) for i, _ in impls]
                  + [times(sweep["joblib", s] / sweep["tbb", s])] for s in sizes]
    sweep_table = table([("task size (nominal)", "l"), ("tasks", "r"), ("sequential", "r")]
                        + [(f"{label} speedup", "r") for _, label in impls]
                        + [("ours / oneTBB", "r")], sweep_rows)
    data = tmp / "sweep.dat"
    data.write_text("".join(f"{s / 1000} " + " ".join(f"{sweep[i, s]}" for i, _ in impls) + "\n"
                            for s in sizes))
    png = PLOTS / "parallel_speedup.png"
    gnuplot(f"""
set output '{png}'
set title "Speedup over sequential vs task size ({os.cpu_count()} CPUs, 20 ms of work per loop)"
set logscale x
set xlabel "task size (µs of spin work, nominal)"
set ylabel "speedup over sequential"
set yrange [0:{os.cpu_count() + 0.5}]
set key bottom right
plot {os.cpu_count()} with lines dashtype 2 lc "gray" title "ideal", \\
     '{data}' using 1:2 with linespoints lw 2 title "joblib-cpp", \\
     '' using 1:3 with linespoints lw 2 title "oneTBB", \\
     '' using 1:4 with linespoints lw 2 title "OpenMP"
""")
    replace_block("BENCHMARKS.md", "parallel", f"{stamp(runs)}\n\n{main}")
    replace_block("BENCHMARKS.md", "parallel-sweep",
                  f"{stamp(runs)}\n\n{sweep_table}\n\n![speedup vs task size]"
                  f"(benchmarks/{png.name})")


def piece_processes(build, runs, _tmp):
    # Repetitions interleaved at random: both sides of a ratio see the same machine load.
    raw = gbench(build / "benchmarks/processes/joblib_bench_processes", runs,
                 "--benchmark_enable_random_interleaving=true")
    med = {k.split("/")[0]: v for k, v in raw.items()}  # without /iterations:N
    loky = first_json(run([PY, "benchmarks/processes/joblib_anchor.py", "--runs", runs]))

    def ms(k):
        return seconds(med[k]) * 1e3

    def ips(k):
        return med[k]["items_per_second"]

    def per_s(x):
        return f"{x / 1e6:.2f} M/s" if x >= 1e6 else f"{x / 1e3:.0f} k/s"

    def rel(ours, theirs):  # of two times
        return f"{theirs / ours:.1f}× faster" if theirs >= ours else f"{ours / theirs:.1f}× slower"

    rows = []
    # 2,000 x 1 ms at n_jobs = 2; the sequential time is 2,000 ms by construction.
    for kind, what, goal in (("busy", "spinning on `steady_clock`", "≥ 0.95×"),
                             ("sleep", "sleeping", "")):
        p, t = ms(f"{kind}_1ms_processes"), ms(f"{kind}_1ms_threads")
        rows.append([f"2,000 tasks of 1 ms {what}, n_jobs = 2: wall time (efficiency)",
                     f"{p:,.0f} ms ({2000 / (2 * p):.2f})",
                     f"threads: {t:,.0f} ms ({2000 / (2 * t):.2f})",
                     f"{t / p:.2f}× threads' efficiency", goal])
    tiny = ips("tiny_processes")
    rows += [
        [f"{loky['tiny_n'] // 1_000_000}M tiny tasks (`i * 2` as `long`), auto batching, "
         "n_jobs = 2: throughput", per_s(tiny),
         f"loky, warm executor: {per_s(loky['tiny_warm_tasks_per_s'])}",
         f"{tiny / loky['tiny_warm_tasks_per_s']:.0f}× loky", "≥ 100×"],
        ["same, against loky's first call (it spawns its workers)", per_s(tiny),
         f"loky, cold: {per_s(loky['tiny_cold_tasks_per_s'])}",
         f"{tiny / loky['tiny_cold_tasks_per_s']:.0f}× loky", ""],
        ["same, against the thread backend", per_s(tiny),
         f"threads: {per_s(ips('tiny_threads'))}",
         f"{tiny / ips('tiny_threads'):.3f}× threads", ""],
    ]
    empty = ms("empty_call_processes")
    rows += [
        ["empty call (2 tasks returning 0, n_jobs = 2): fork + collect", f"{empty:.1f} ms",
         f"loky, warm: {loky['empty_warm_ms']:.1f} ms", rel(empty, loky["empty_warm_ms"]),
         "report"],
        ["same, against loky's first call", f"{empty:.1f} ms",
         f"loky, cold: {loky['empty_cold_ms']:,.0f} ms", rel(empty, loky["empty_cold_ms"]), ""],
        ["same, against two bare `fork` + `_exit` + `waitpid`", f"{empty:.1f} ms",
         f"bare forks: {ms('raw_forks'):.1f} ms", f"{empty / ms('raw_forks'):.2f}× time", ""],
        ["empty call, parent with 4 GiB resident (4 KiB pages)",
         f"{ms('empty_call_processes_4GiB'):.0f} ms",
         f"bare forks: {ms('raw_forks_4GiB'):.0f} ms",
         f"{ms('empty_call_processes_4GiB') / ms('raw_forks_4GiB'):.2f}× time", "report"],
    ]
    # A 400 MB ndarray<double> result of one task (n_jobs = 1) against memcpy into fresh memory.
    mc, fixed, body = ms("result_memcpy"), ms("empty_call_processes_1job"), ms("result_task_body")
    total = ms("result_processes_copy_touch")

    def vs_memcpy(t):
        return f"{t / mc:.2f}× memcpy"

    rows += [
        ["400 MB result, shared memory: the task copies the parent's array into an `ndarray`, "
         "the caller reads every page", f"{total:,.0f} ms", f"memcpy: {mc:,.0f} ms",
         vs_memcpy(total), ""],
        [f"same, less the fixed cost of a 1-task call ({fixed:.1f} ms)",
         f"{total - fixed:,.0f} ms", f"memcpy: {mc:,.0f} ms", vs_memcpy(total - fixed),
         "≤ 1.5×"],
        [f"same, less the task's own work too (building the `ndarray` in the caller: "
         f"{body:,.0f} ms): the transport", f"{total - fixed - body:,.0f} ms",
         f"memcpy: {mc:,.0f} ms", vs_memcpy(total - fixed - body), "≤ 1.5×"],
        ["400 MB result, shared memory: the task returns a view of the parent's array (copies "
         "nothing), the caller reads every page", f"{ms('result_processes_view_touch'):,.0f} ms",
         f"memcpy: {mc:,.0f} ms", vs_memcpy(ms("result_processes_view_touch")), ""],
        ["400 MB result (copy), the caller does not read it",
         f"{ms('result_processes_copy'):,.0f} ms", f"memcpy: {mc:,.0f} ms",
         vs_memcpy(ms("result_processes_copy")), ""],
        ["400 MB result (copy, read) through the socket (`max_nbytes` = SIZE_MAX)",
         f"{ms('result_socket_copy_touch'):,.0f} ms", f"memcpy: {mc:,.0f} ms",
         f"{vs_memcpy(ms('result_socket_copy_touch'))}; "
         f"{ms('result_socket_copy_touch') / total:.1f}× shared memory's time", ""],
        ["memcpy of 400 MB into memory touched before (the baseline without its page faults)",
         "", f"{ms('result_memcpy_reused'):,.0f} ms",
         f"{ms('result_memcpy_reused') / mc:.2f}× memcpy", ""],
    ]
    replace_block("BENCHMARKS.md", "processes", f"{stamp(runs)}\n\n" + table(
        [("case", "l"), ("joblib-cpp, backend::processes", "r"), ("anchor", "r"),
         ("ratio", "r"), ("goal", "l")], rows))


def per_second(x):
    """A rate: 1.23 M/s or 456 k/s."""
    return f"{x / 1e6:.2f} M/s" if x >= 1e6 else f"{x / 1e3:.0f} k/s"


def mpirun(np, *cmd):
    """An Open MPI job of np processes here, more processes than CPUs allowed."""
    as_root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    return ["mpirun", "--oversubscribe", *as_root, "-np", np, *cmd]


def median_json(outs):
    """The median of every number over several runs' JSON objects (the same keys in each)."""
    first = outs[0]
    if isinstance(first, dict):
        return {k: median_json([o[k] for o in outs]) for k in first}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return statistics.median(outs)
    return first


def piece_mpi(build, runs, _tmp):
    bench = build / "benchmarks/mpi/joblib_bench_mpi"
    if not bench.exists() or not shutil.which("mpirun"):
        log(f"{bench} or mpirun missing (no MPI when the build was configured?): mpi skipped")
        return
    anchor = [PY, "-m", "mpi4py.futures", "benchmarks/mpi/mpi4py_anchor.py"]
    jobs = {"ours2": mpirun(2, bench), "ours3": mpirun(3, bench),
            "threads2": [bench, "--threads-backend", "--threads", 2],
            "py2": mpirun(2, *anchor), "py3": mpirun(3, *anchor)}
    # Rounds of one run of each job, so that both sides of a ratio see the same load; medians.
    outs = {k: [] for k in jobs}
    for _ in range(runs):
        for k, cmd in jobs.items():
            outs[k].append(first_json(run([*cmd, "--runs", 1])))
    m = {k: median_json(v) for k, v in outs.items()}
    ours, ours3, threads, py2, py3 = (m[k] for k in ("ours2", "ours3", "threads2", "py2", "py3"))
    cpus = os.cpu_count()

    def eff(o, case):  # per computing worker, or per CPU where there are more workers than CPUs
        b = o["busy"][case]
        return b["work_s"] / (min(o["workers"], cpus) * b["wall_s"])

    def eff_cell(o, case, chunk=False):
        b = o["busy"][case]
        extra = f", chunksize {b['chunksize']:,}" if chunk else ""
        return f"{eff(o, case):.2f} ({b['wall_s'] * 1e3:,.0f} ms{extra})"

    def tasks_per_s(o):
        return o["tiny"]["tasks_per_s"]

    labels = {"10us": "10 µs", "100us": "100 µs", "1ms": "1 ms"}
    py_np, py = max(((2, py2), (3, py3)), key=lambda x: tasks_per_s(x[1]))
    rows = [
        [f"{ours['tiny']['n']:,} tiny tasks (`i * 2`), auto batching: throughput, 2 ranks × "
         "1 thread vs mpi4py's better of -np 2 and -np 3", per_second(tasks_per_s(ours)),
         f"mpi4py -np {py_np}: {per_second(tasks_per_s(py))} "
         f"(chunksize {py['tiny']['chunksize']:,})",
         f"{tasks_per_s(ours) / tasks_per_s(py):.1f}× mpi4py", "≥ 20×"],
        ["same, 3 processes each (ours: 3 computing ranks; mpi4py: master + 2 workers)",
         per_second(tasks_per_s(ours3)), f"mpi4py -np 3: {per_second(tasks_per_s(py3))}",
         f"{tasks_per_s(ours3) / tasks_per_s(py3):.1f}× mpi4py", ""],
    ]
    for case in ("1ms", "100us", "10us"):
        rows.append([f"{ours['busy'][case]['n']:,} tasks of {labels[case]} (spinning): "
                     "efficiency (wall time), 2 computing workers each (ours -np 2, mpi4py "
                     "-np 3)", eff_cell(ours, case), f"mpi4py: {eff_cell(py3, case, True)}",
                     f"{eff(ours, case) / eff(py3, case):.2f}× mpi4py",
                     "≥ 1×" if case == "1ms" else ""])
    rows += [
        [f"1 ms tasks, 3 processes each (ours -np 3: 3 computing ranks on {cpus} CPUs; "
         "efficiency per CPU)", eff_cell(ours3, "1ms"), f"mpi4py: {eff_cell(py3, '1ms')}",
         f"{eff(ours3, '1ms') / eff(py3, '1ms'):.2f}× mpi4py", ""],
        ["1 ms tasks, against mpi4py -np 2 (master + 1 worker)", eff_cell(ours, "1ms"),
         f"mpi4py: {eff_cell(py2, '1ms', True)}",
         f"{eff(ours, '1ms') / eff(py2, '1ms'):.2f}× mpi4py", ""],
    ]
    for case in ("10us", "100us", "1ms"):
        rows.append([f"{ours['busy'][case]['n']:,} tasks of {labels[case]}: efficiency (wall "
                     "time), 2 ranks × 1 thread vs the thread backend at n_jobs = 2",
                     eff_cell(ours, case), f"threads: {eff_cell(threads, case)}",
                     f"{eff(ours, case) / eff(threads, case):.2f}× threads", "≥ 0.9×"])
    rows.append(["tiny tasks: throughput, 2 ranks × 1 thread vs the thread backend at "
                 "n_jobs = 2", per_second(tasks_per_s(ours)),
                 f"threads: {per_second(tasks_per_s(threads))}",
                 f"{tasks_per_s(ours) / tasks_per_s(threads):.2f}× threads", ""])
    main = table([("case", "l"), ("joblib-cpp, backend::mpi", "r"), ("anchor", "r"),
                  ("ratio", "r"), ("goal", "l")], rows)
    coordinator = coordinator_table(ours, ours3)
    replace_block("BENCHMARKS.md", "mpi", f"{stamp(runs)}\n\n{main}\n\n{coordinator}")
    replace_block("SCALING.md", "scaling",
                  f"{stamp(runs)}\n\n{coordinator}\n\n{scaling_table(ours)}")


def broadcast_us(c):
    """What the final broadcast (one MPI_Bcast per batch) adds per batch, in µs."""
    return c["batch_size_1_all_ranks"]["us_per_batch"] - c["batch_size_1"]["us_per_batch"]


def coordinator_table(o2, o3):
    """Rank 0's figures with batches of one empty task, at -np 2 and -np 3."""
    def row(label, f):
        return [label, f(o2["coordinator"]), f(o3["coordinator"])]

    one, sixteen = "batch_size_1", "batch_size_16"
    rows = [
        row(f"{o2['coordinator'][one]['n']:,} empty tasks, batch_size = 1, results on rank 0: "
            "batches/s", lambda c: per_second(c[one]["batches_per_s"])),
        row("same: wall time per batch", lambda c: f"{c[one]['us_per_batch']:.2f} µs"),
        row("same: rank 0's CPU time per batch (served, or run by itself)",
            lambda c: f"{c[one]['rank0_cpu_us_per_batch']:.2f} µs"),
        row("same: batches rank 0 ran itself",
            lambda c: f"{100 * c[one]['rank0_task_share']:.0f} %"),
        row("same: batches served to the other ranks, per second",
            lambda c: per_second(c[one]["served_batches_per_s"])),
        row("batch_size = 16: wall time per batch (share rank 0 ran itself)",
            lambda c: f"{c[sixteen]['us_per_batch']:.2f} µs "
                      f"({100 * c[sixteen]['rank0_task_share']:.0f} %)"),
        row("batch_size = 1, results to every rank: wall time per batch",
            lambda c: f"{c['batch_size_1_all_ranks']['us_per_batch']:.2f} µs"),
        row("the final broadcast's part of that (one `MPI_Bcast` per batch)",
            lambda c: f"{broadcast_us(c):.2f} µs"),
        ["raw MPI round trip, rank 0 → rank r → rank 0 (24 B, `MPI_Send` / `MPI_Recv`, the "
         "slowest r)", f"{o2['round_trip_us']:.2f} µs", f"{o3['round_trip_us']:.2f} µs"],
    ]
    return table([("coordinator (backend::mpi, 1 thread per rank)", "l"), ("-np 2", "r"),
                  ("-np 3", "r")], rows)


# Ranks the scaling table projects to (docs/SCALING.md).
SCALING_RANKS = (64, 1024, 10_000)


def scaling_table(o2):
    """On paper, for 1 ms tasks on 1 thread per rank, from two figures measured at -np 2: rank
    0's CPU time per batch c and the final broadcast's cost per batch and tree step b. With R
    ranks and batches of duration B, rank 0 serves R / B batches per second, which keeps it busy
    R c / B of its time, and a rank's reply can wait up to R c behind the others'; the final
    broadcast takes R log2(R) b / B seconds per second of computing (docs/SCALING.md)."""
    c = o2["coordinator"]["batch_size_1"]["rank0_cpu_us_per_batch"] * 1e-6
    b = broadcast_us(o2["coordinator"]) * 1e-6
    task = 1e-3

    def duration(seconds):  # a batch duration and its tasks of 1 ms
        tasks = max(1, round(seconds / task))
        return f"{seconds * 1e3:,.1f} ms ({tasks:,} task{'s' if tasks > 1 else ''})"

    rows = []
    for r in SCALING_RANKS:
        target = max(2e-3, 20e-6 * r)  # target_batch_time(R), ranks_call.hpp
        steps = (r - 1).bit_length()  # ⌈log2 R⌉
        rows.append([f"{r:,}", duration(target), f"{r / target:,.0f}",
                     f"{100 * r * c / target:.1f} %", f"{r * steps * b / target:.2f} s",
                     duration(max(task, 10 * r * c)), duration(max(task, 9 * r * steps * b)),
                     f"{r * 8 / task / 1e6:,.1f} MB/s / {r * 1e6 / task / 1e9:,.0f} GB/s"])
    return (f"On paper, from c = {c * 1e6:.2f} µs (rank 0's CPU time per batch) and "
            f"b = {b * 1e6:.2f} µs (the final broadcast per batch, one tree step) at -np 2 "
            "above; 1 ms tasks, 1 thread per rank:\n\n" + table(
                [("ranks R", "r"), ("B = target_batch_time(R)", "r"),
                 ("batches/s into rank 0 (R / B)", "r"), ("rank 0 serving (R c / B)", "r"),
                 ("final broadcast per second computed (R ⌈log2 R⌉ b / B)", "r"),
                 ("B for 90 %: replies (R c ≤ B / 10)", "r"),
                 ("B for 90 %: with the final broadcast (≤ 1/9 of computing)", "r"),
                 ("results into rank 0, 8 B / 1 MB per task", "r")], rows))


def piece_memory(build, runs, _tmp):
    med = gbench(build / "benchmarks/memory/joblib_bench_memory", runs)
    py = first_json(run([PY, "benchmarks/memory/memory_anchor.py"]))

    def us(k):
        return seconds(med[k]) * 1e6

    # Python's figure may be missing (theirs None) if memory_anchor.py stops printing a case.
    def row(case, ours, theirs, unit, goal):
        scale = {"µs": 1, "ms": 1e-3}[unit]
        digits = 1 if unit == "ms" or ours < 100 else 0
        theirs_txt = "n/a" if theirs is None else f"{theirs * scale:.{digits}f} {unit}"
        if theirs is None:
            ratio = "n/a"
        elif theirs >= ours:
            ratio = f"{theirs / ours:.1f}× faster"
        else:
            ratio = f"{ours / theirs:.1f}× slower"
        return [case, f"{ours * scale:.{digits}f} {unit}", theirs_txt, ratio, goal]

    rows = [
        row("hit, small arguments and result (`add(1, 2)`)", us("hit_small"),
            py.get("hit_small_us"), "µs", "≤ 10 µs and ≥ 10×"),
        row("miss + store of a small result", us("miss_store_small"),
            py.get("miss_store_small_us"), "µs", "≥ 5×"),
        row("hit with a 100 MB `ndarray<double>` argument", us("hit_100MB_argument"),
            py.get("hit_100MB_argument_us"), "ms", "≤ 1/8 of joblib"),
        row("hit returning a 400 MB array with `mmap_mode::r`", us("hit_400MB_result_mmap"),
            py.get("hit_400MB_result_mmap_us"), "µs", "< 1 ms"),
    ]
    # 1M entries only when memory_bench.cpp ran them (JOBLIB_BENCH_MILLION=1).
    few = us("hit_with_entries/1000")
    for entries, label in ((100_000, "100k"), (1_000_000, "1M")):
        if f"hit_with_entries/{entries}" in med:
            many = us(f"hit_with_entries/{entries}")
            rows.append([f"hit latency, {label} entries vs 1k entries under one function",
                         f"{many:.1f} µs vs {few:.1f} µs", "", times(many / few),
                         "≤ 2× (at 1M)"])
    replace_block("BENCHMARKS.md", "memory", f"{stamp(runs)}\n\n" + table(
        [("case", "l"), ("joblib-cpp", "r"), ("Python joblib", "r"), ("ratio", "r"),
         ("goal", "l")], rows))


def piece_persist(build, runs, _tmp):
    out = run([PY, "benchmarks/persist/run_persist_bench.py", "--bench",
               build / "benchmarks/persist/joblib_bench_persist", "--runs", runs])
    # run_persist_bench.py prints its JSON, then the Markdown table: the table goes in as is.
    rows = [line for line in out.splitlines() if line.startswith("|")]
    replace_block("benchmarks/persist.md", "persist", f"{stamp(runs)}\n\n" + "\n".join(rows))


def zstd_level(level):
    """zstd's command-line flag for a level: negative levels are --fast=N."""
    return f"--fast={-level}" if level < 0 else f"-{level}"


def write_arrays(tmp, mb):
    """The 'smooth' (cumsum of ones) and 'random' (uniform [0, 1)) float64 arrays of
    run_persist_bench.py, written raw with numpy's tofile; returns {name: (array, path)}."""
    n = mb * 1_000_000 // 8
    arrays = {"smooth": np.cumsum(np.ones(n, dtype=np.float64)),
              "random": np.random.default_rng(1).random(n)}
    out = {}
    for name, a in arrays.items():
        path = tmp / f"{name}_{mb}MB.raw"
        a.tofile(path)
        out[name] = (a, path)
    return out


def zstd_cli(path, level, threads, runs, tmp):
    """zstd CLI compress (file to file) and decompress (to /dev/null) throughput in MB/s, and
    the compression ratio."""
    mb = path.stat().st_size / 1e6
    packed = tmp / "cli.zst"
    c = command_time(["zstd", "-q", "-f", zstd_level(level), f"-T{threads}", str(path), "-o",
                      str(packed)], runs)
    ratio = path.stat().st_size / packed.stat().st_size
    d = command_time(["zstd", "-q", "-d", "-f", str(packed), "-o", "/dev/null"], runs)
    packed.unlink()
    return {"dump_MBps": mb / c, "load_MBps": mb / d, "ratio": ratio}


def ours_cli(build, paths, runs, tmp, *grid):
    """Runs joblib_bench_cli on the raw files; returns its JSON."""
    return first_json(run([build / "benchmarks/cli/joblib_bench_cli", "--dir", tmp, "--runs", runs,
                           *grid, *paths]))


def piece_cli(build, runs, tmp, sweep_mb):
    arrays = write_arrays(tmp, 400)
    paths = [p for _, p in arrays.values()]
    ours = ours_cli(build, paths, runs, tmp, "--levels", "1,3", "--threads", "1,0",
                    "--shuffle", "1,0", "--hash")
    ours_by_case = {(d["input"].split("_")[0], d["level"], d["threads"], d["shuffle"]): d
                    for d in ours["dumps"]}
    # One case per array, level and thread count (1, or 0 = all): the zstd CLI's figures and
    # ours with the byte shuffle on and off.
    cases = []
    for name, (_, path) in arrays.items():
        for level in (1, 3):
            for threads in (1, 0):
                cases.append({"array": name, "level": level, "threads": threads,
                              "zstd": zstd_cli(path, level, threads, runs, tmp),
                              "ours": {shuffle: ours_by_case[name, level, threads, shuffle]
                                       for shuffle in (True, False)}})

    def versus(o, z, key, digits=0):  # "ours / zstd" and their ratio
        return [f"{num(o[key], digits)} / {num(z[key], digits)}", times(o[key] / z[key], 1)]

    rows = [[c["array"], c["level"], "1" if c["threads"] == 1 else f"all ({os.cpu_count()})",
             "on" if shuffle else "off", *versus(o, c["zstd"], "dump_MBps"),
             f"{num(o['ratio'])} / {num(c['zstd']['ratio'])}",
             *versus(o, c["zstd"], "load_MBps")]
            for c in cases for shuffle, o in c["ours"].items()]
    compress = table([("array", "l"), ("level", "r"), ("threads", "l"), ("our shuffle", "l"),
                      ("dump MB/s: ours / zstd", "r"), ("ours / zstd", "r"),
                      ("compression ratio: ours / zstd", "r"),
                      ("load MB/s: ours / zstd -d", "r"), ("ours / zstd -d", "r")], rows)

    # Hashing: xxhsum -H2 (XXH128) over the file vs joblib::hash of the same array.
    hash_rows, summary_hash = [], []
    for name, (_, path) in arrays.items():
        mb = path.stat().st_size / 1e6
        xxh = mb / command_time(["xxhsum", "-H2", str(path)], runs)
        mine = ours["inputs"][path.stem]
        hash_rows.append([name, "`xxhsum -H2 FILE`",
                          "process start, reading the file from the page cache, XXH128",
                          num(xxh, 0), "1×"])
        for key, tool, includes in (
                ("hash_memory_MBps", "`joblib::hash(array)`",
                 "hashing the array already in memory (XXH3-128)"),
                ("hash_file_MBps", "read FILE + `joblib::hash`",
                 "read(2) of the whole file from the page cache into a reused buffer, then "
                 "hashing")):
            hash_rows.append([name, tool, includes, num(mine[key], 0), times(mine[key] / xxh, 1)])
            summary_hash.append([f"{name}: {tool} vs `xxhsum -H2 FILE` (MB/s)",
                                 f"{num(mine[key], 0)} / {num(xxh, 0)}", times(mine[key] / xxh, 1)])
    hashes = table([("array", "l"), ("tool", "l"), ("includes", "l"), ("MB/s", "r"),
                    ("vs xxhsum", "r")], hash_rows)
    for path in paths:
        path.unlink()
    replace_block("benchmarks/cli.md", "cli", f"{stamp(runs)}\n\n{compress}")
    replace_block("benchmarks/cli.md", "cli-hash", f"{stamp(runs)}\n\n{hashes}")

    # The headline ratios in docs/BENCHMARKS.md: all threads on both sides, our shuffle on.
    summary = []
    for c in (c for c in cases if c["threads"] == 0):
        o, z = c["ours"][True], c["zstd"]
        summary.append([f"{c['array']}: dump compress={c['level']} vs `zstd -{c['level']} -T0` "
                        "(MB/s)", *versus(o, z, "dump_MBps")])
        summary.append([f"{c['array']}: load vs `zstd -d`, level {c['level']} files (MB/s)",
                        *versus(o, z, "load_MBps")])
    replace_block("BENCHMARKS.md", "cli", f"{stamp(runs)}\n\n" + table(
        [("400 MB float64", "l"), ("ours / CLI", "r"), ("ratio", "r")], summary + summary_hash))
    level_sweep(build, runs, tmp, sweep_mb)


def level_sweep(build, runs, tmp, mb):
    """Dump throughput and compression ratio vs level: ours (shuffle on, all threads), the zstd
    CLI (-T0) and Python joblib (zlib, one thread) on mb-MB arrays; a table and plot (b)."""
    arrays = write_arrays(tmp, mb)
    fast_runs = min(runs, 3)
    results = {}  # (tool, array, level) -> {"dump_MBps", "ratio"}
    for name, (a, path) in arrays.items():
        for level in SWEEP_LEVELS:
            r = 1 if level >= SLOW_LEVEL else fast_runs
            mine = ours_cli(build, [path], r, tmp, "--levels", f"{level}", "--threads", "0")
            results["ours", name, level] = mine["dumps"][0]
            results["zstd", name, level] = zstd_cli(path, level, 0, r, tmp)
        pkl = tmp / "sweep.pkl"
        for level in ZLIB_LEVELS:
            r = 1 if level >= SLOW_LEVEL else fast_runs
            log(f"joblib.dump({name}, compress={level})  (x{r})")
            t = median_time(lambda: joblib.dump(a, pkl, compress=level), r)
            results["zlib", name, level] = {"dump_MBps": a.nbytes / 1e6 / t,
                                            "ratio": a.nbytes / pkl.stat().st_size}
        pkl.unlink()
        path.unlink()

    tools = (("ours", "joblib-cpp"), ("zstd", "zstd CLI"), ("zlib", "Python joblib (zlib)"))

    def cell(key):  # "MB/s (ratio×)", empty where a tool has no such level
        r = results.get(key)
        return f"{num(r['dump_MBps'], 0)} ({num(r['ratio'])}×)" if r else ""

    rows = [[f"{level}"] + [cell((tool, name, level)) for name in arrays for tool, _ in tools]
            for level in sorted(set(SWEEP_LEVELS) | set(ZLIB_LEVELS))]
    header = [("level", "r")] + [(f"{name}: {label}", "r") for name in arrays
                                 for _, label in tools]
    data = {}
    for tool, _ in tools:
        for name in arrays:
            f = tmp / f"{tool}_{name}.dat"
            f.write_text("".join(f"{lvl} {v['dump_MBps']} {v['ratio']}\n"
                                 for (t, n, lvl), v in sorted(results.items())
                                 if t == tool and n == name))
            data[tool, name] = f
    png = PLOTS / "compression_levels.png"
    plots = []  # throughput panels (top row), then ratio panels (bottom row)
    for column, what, label in ((2, "dump_MBps", "dump throughput, MB/s"),
                                (3, "ratio", "compression ratio")):
        for name in arrays:
            values = [v[what] for (_, n, _), v in results.items() if n == name]
            # A log axis where the figures span a decade or more ("smooth"), linear otherwise.
            log_y = max(values) >= 10 * min(values)
            scale = "set logscale y" if log_y else "unset logscale y"
            ylabel = f"{label}{' (log scale)' if log_y else ''}"
            series = ", ".join(f"'{data[tool, name]}' using 1:{column} with linespoints lw 2 "
                               f"title '{title}'" for tool, title in tools)
            key = "top right" if column == 2 else "center right"  # where the lines are not
            plots.append(f'{scale}\nset key {key}\nset title "{name} ({mb} MB float64)"\n'
                         f'set ylabel "{ylabel}"\nplot {series}')
    gnuplot(f"""
set output '{png}'
set multiplot layout 2,2
set xlabel "compression level"
{chr(10).join(plots)}
unset multiplot
""", size="1200,900")
    replace_block("benchmarks/cli.md", "cli-levels",
                  f"{stamp(fast_runs)} Levels ≥ {SLOW_LEVEL} were timed once.\n\n"
                  f"Dump MB/s (compression ratio) on {mb} MB arrays:\n\n"
                  + table(header, rows) + f"\n\n![throughput vs compression level]({png.name})")


def gnuplot(script, size="900,600"):
    """Renders a PNG with gnuplot (Debian gnuplot-nox); warns and goes on if it is missing."""
    if not shutil.which("gnuplot"):
        log("gnuplot not found (apt-get install gnuplot-nox): plot skipped")
        return
    subprocess.run(["gnuplot"], input=f"set terminal pngcairo size {size}\n{script}", text=True,
                   check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=Path, default=ROOT / "build/release",
                    help="build tree with the benchmark binaries (default build/release)")
    ap.add_argument("--only", default=",".join(PIECES),
                    help=f"comma-separated pieces to run (default all: {','.join(PIECES)})")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure, medians (default 3)")
    ap.add_argument("--sweep-mb", type=int, default=40,
                    help="array size of the compression-level sweep (default 40 MB)")
    args = ap.parse_args()
    build = args.build.resolve()
    only = [p for p in args.only.split(",") if p]
    unknown = set(only) - set(PIECES)
    if unknown:
        ap.error(f"unknown pieces {sorted(unknown)}; choose from {','.join(PIECES)}")

    start = time.perf_counter()
    paragraph = machine(build)
    for doc in ("BENCHMARKS.md", "SCALING.md", "benchmarks/serialize.md",
                "benchmarks/persist.md", "benchmarks/cli.md"):
        replace_block(doc, "machine", paragraph)
    with tempfile.TemporaryDirectory(prefix="jlreport",
                                     dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        pieces = {"hash": piece_hash, "serialize": piece_serialize, "parallel": piece_parallel,
                  "processes": piece_processes, "mpi": piece_mpi, "memory": piece_memory,
                  "persist": piece_persist,
                  "cli": functools.partial(piece_cli, sweep_mb=args.sweep_mb)}
        for piece in PIECES:  # in this order, whatever the order of --only
            if piece in only:
                log(f"=== {piece}")
                pieces[piece](build, args.runs, Path(tmp))
    log(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
