"""The C++ fuzz corpus (fuzz/corpus/*) and deterministic mutations of it and of files the
package writes: every file loads or raises FormatError, in a process whose address space is
capped, so a file that made the reader allocate what its size cannot justify fails here."""

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CAP = 1536 << 20  # address space of the child: numpy and zstd need ~400 MiB of it

CHILD = r"""
import json, os, random, resource, sys, tempfile, traceback
resource.setrlimit(resource.RLIMIT_AS, (%(cap)d, %(cap)d))
sys.path.insert(0, %(pkg)r)
import numpy as np
import joblib_cpp

seeds = [open(p, "rb").read() for p in sys.argv[1:]]
work = tempfile.mkdtemp()
own = os.path.join(work, "own.jl")
joblib_cpp.dump({"a": np.arange(3000.0), "b": np.arange(5.0)}, own, compress=3)
seeds.append(open(own, "rb").read())
joblib_cpp.dump(([1, 2], "text", {"k": (1.5, b"x")}), own, type="tuple<vector<i32>,str,map<str,tuple<f64,vector<u8>>>>")
seeds.append(open(own, "rb").read())

rng = random.Random(16)
cases = []
for data in seeds:
    cases.append(data)
    for n in range(0, len(data), max(1, len(data) // 25)):
        cases.append(data[:n])
    for _ in range(80):
        b = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 8))):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        cases.append(bytes(b))
stats = {"loaded": 0, "format_error": 0}
path = os.path.join(work, "case.jl")
for i, data in enumerate(cases):
    with open(path, "wb") as f:
        f.write(data)
    for fn in (joblib_cpp.load, joblib_cpp.verify):
        try:
            fn(path)
            stats["loaded"] += 1
        except joblib_cpp.FormatError:
            stats["format_error"] += 1
        except Exception:
            print("case", i, fn.__name__, "raised:", file=sys.stderr)
            traceback.print_exc()
            sys.exit(1)
print(json.dumps(stats))
"""


def test_fuzz_corpus_loads_or_raises_format_error_under_a_memory_cap():
    corpus = sorted(p for p in (ROOT / "fuzz" / "corpus").glob("*/*") if p.is_file())
    assert len(corpus) >= 8
    code = CHILD % {"cap": CAP, "pkg": str(ROOT / "python")}
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", code, *map(str, corpus)], capture_output=True,
                       text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    stats = json.loads(r.stdout.strip().splitlines()[-1])
    assert stats["format_error"] > 1000 and stats["loaded"] >= 4  # the two own seeds load


def test_the_memory_cap_catches_a_large_allocation():
    """The cap is real: the same child setup cannot allocate 2 GiB."""
    code = (f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({CAP}, {CAP}))\n"
            "import numpy as np\nnp.ones(2 << 30, dtype=np.uint8)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "MemoryError" in r.stderr
