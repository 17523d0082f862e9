"""mpi4py.futures (Debian's python3-mpi4py) on the jobs of mpi_bench.cpp, for the ratios in
docs/BENCHMARKS.md ("MPI"). Rank 0 is the master, which hands out chunks and computes nothing;
ranks 1..N-1 are the workers:

    mpirun --oversubscribe -np N /usr/bin/python3 -m mpi4py.futures \\
        benchmarks/mpi/mpi4py_anchor.py [--runs 3] [--chunk-ms 10]

Every case is `executor.map(f, range(n), chunksize=c)` on one MPIPoolExecutor: tiny tasks
(100,000 returning i * 2, 4 chunks per worker) and tasks spinning on time.perf_counter for
10 µs, 100 µs and 1 ms (1.5 s of work each). mpi4py.futures keeps one chunk in flight per
worker and both sides poll with a sleep that grows to 1 ms, so short chunks leave workers idle:
a chunk is --chunk-ms of work (10 ms by default, better than 1-5 ms here), and there are at
least 4 chunks per worker so that the last ones spread. Prints JSON: medians, with each case's
chunksize."""
import argparse
import json
import statistics
import time

from mpi4py import MPI
from mpi4py.futures import MPIPoolExecutor

TINY_N = 100_000
TINY_CALLS = 5  # tiny-task calls per repetition (a call lasts tens of ms): their median
BUSY = (("10us", 10e-6, 150_000), ("100us", 100e-6, 15_000), ("1ms", 1e-3, 1_500))


def twice(i):
    return i * 2


def spin(i, seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    return i


def spin_10us(i):
    return spin(i, 10e-6)


def spin_100us(i):
    return spin(i, 100e-6)


def spin_1ms(i):
    return spin(i, 1e-3)


TASKS = {"10us": spin_10us, "100us": spin_100us, "1ms": spin_1ms}


def chunksize(n, task_s, workers, chunk_s):
    return max(1, min(round(chunk_s / task_s), n // (4 * workers)))


def timed(executor, f, n, chunk):
    t0 = time.perf_counter()
    results = list(executor.map(f, range(n), chunksize=chunk))
    wall = time.perf_counter() - t0
    assert len(results) == n and results[-1] == f(n - 1)
    return wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--chunk-ms", type=float, default=10.0)
    args = ap.parse_args()
    workers = MPI.COMM_WORLD.Get_size() - 1
    chunk_s = args.chunk_ms * 1e-3
    tiny_chunk = TINY_N // (4 * workers)  # the best of 1,000-50,000 here
    busy_chunks = {name: chunksize(n, task_s, workers, chunk_s) for name, task_s, n in BUSY}
    with MPIPoolExecutor() as executor:
        timed(executor, twice, TINY_N, tiny_chunk)  # warm-up: workers started, connections up
        tiny, busy = [], {name: [] for name, _, _ in BUSY}
        for _ in range(args.runs):  # the cases of one repetition see the same load
            tiny += [timed(executor, twice, TINY_N, tiny_chunk) for _ in range(TINY_CALLS)]
            for name, _, n in BUSY:
                busy[name].append(timed(executor, TASKS[name], n, busy_chunks[name]))
    out = {"backend": "mpi4py.futures", "ranks": workers + 1, "workers": workers,
           "runs": args.runs, "chunk_ms": args.chunk_ms}
    wall = statistics.median(tiny)
    out["tiny"] = {"n": TINY_N, "chunksize": tiny_chunk, "wall_s": wall,
                   "tasks_per_s": TINY_N / wall}
    out["busy"] = {}
    for name, task_s, n in BUSY:
        wall = statistics.median(busy[name])
        out["busy"][name] = {"n": n, "task_s": task_s, "chunksize": busy_chunks[name],
                             "work_s": n * task_s, "wall_s": wall,
                             "efficiency": n * task_s / (workers * wall)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
