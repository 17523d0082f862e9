"""Python joblib.Parallel on tiny tasks (x * x), best of its backends, for the ratio in
docs/BENCHMARKS.md. Run with Debian's python3 (python3-joblib). Prints JSON."""
import json, time
from joblib import Parallel, delayed

def sq(x):
    return x * x

out = {}
n = 100_000
for backend in ("threading", "loky", "multiprocessing"):
    try:
        Parallel(n_jobs=-1, backend=backend)(delayed(sq)(k) for k in range(1000))
        t0 = time.perf_counter()
        Parallel(n_jobs=-1, backend=backend)(delayed(sq)(k) for k in range(n))
        out[f"{backend}_tasks_per_s"] = n / (time.perf_counter() - t0)
    except Exception as e:  # a backend missing on this machine
        out[f"{backend}_error"] = str(e)
out["best_tasks_per_s"] = max(v for k, v in out.items() if k.endswith("_per_s"))
print(json.dumps(out, indent=1))
