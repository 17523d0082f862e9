"""Python joblib.Memory on the cases of memory_bench.cpp, for side-by-side ratios.
Run with Debian's python3 (python3-joblib, python3-numpy); prints JSON (microseconds)."""
import json, os, shutil, tempfile, time
import numpy as np
from joblib import Memory

def per_call(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6

tmp = tempfile.mkdtemp(prefix="jlmem")
mem = Memory(os.path.join(tmp, "cache"), verbose=0)

@mem.cache
def add(a, b):
    return a + b

add(1, 2)
out = {"hit_small_us": per_call(lambda: add(1, 2), 2000)}
i = [1000]
def miss():
    i[0] += 1
    add(i[0], 2)
out["miss_store_small_us"] = per_call(miss, 300)

big = np.arange(100_000_000 // 8, dtype=np.float64)
@mem.cache
def total(x):
    return float(x.sum())
total(big)
out["hit_100MB_argument_us"] = per_call(lambda: total(big), 3)

mem_mmap = Memory(os.path.join(tmp, "cache_mmap"), verbose=0, mmap_mode="r")
@mem_mmap.cache
def make(n):
    return np.arange(n, dtype=np.float64)
make(50_000_000)
out["hit_400MB_result_mmap_us"] = per_call(lambda: make(50_000_000), 20)
shutil.rmtree(tmp)
print(json.dumps(out, indent=1))
