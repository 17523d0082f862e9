"""numpy's side of the .npy round trips in npy_test.cpp (run with Debian's /usr/bin/python3).

    npy_numpy.py write DIR   numpy writes one file per dtype (and format version) into DIR
    npy_numpy.py check DIR   numpy reads the files save_npy wrote into DIR and checks them

Both sides compute the expected elements with the same formula (value(kind, i) below and
expected_value in npy_test.cpp), so neither needs the other's data to compare.
"""
import pathlib
import sys

import numpy as np

# name -> numpy dtype; the C++ test uses the same names.
DTYPES = {
    "bool": "|b1", "char": "|S1",
    "i8": "|i1", "i16": "<i2", "i32": "<i4", "i64": "<i8",
    "u8": "|u1", "u16": "<u2", "u32": "<u4", "u64": "<u8",
    "f32": "<f4", "f64": "<f8", "c64": "<c8", "c128": "<c16",
}
SHAPE = (3, 4)


def values(name, n):
    """The elements of a test array of `n` elements (flat, C order)."""
    i = np.arange(n)
    kind = np.dtype(DTYPES[name]).kind
    if kind == "b":
        return i % 3 == 0
    if kind == "S":
        return np.array([bytes([ord("a") + k % 26]) for k in range(n)], dtype="S1")
    if kind == "i":
        return i * 7 - 40
    if kind == "u":
        return i * 7 + 1
    if kind == "f":
        return i * 0.5 - 3.25
    return i * 0.5 - 1j * (i * 0.25)


def array(name, shape=SHAPE):
    n = int(np.prod(shape))
    return values(name, n).astype(DTYPES[name]).reshape(shape)


def write(out):
    for name in DTYPES:
        np.save(out / f"{name}.npy", array(name))
    # Every format version (numpy writes 2.0 and 3.0 only when asked).
    for version in [(1, 0), (2, 0), (3, 0)]:
        with open(out / f"f64_v{version[0]}.npy", "wb") as f:
            np.lib.format.write_array(f, array("f64"), version=version)
    np.save(out / "f64_0d.npy", np.array(2.5))
    np.save(out / "f64_empty.npy", np.zeros((0, 5)))
    np.save(out / "i64_extremes.npy", np.array([-(2**63), -1, 0, 2**63 - 1], dtype="<i8"))
    np.save(out / "u64_extremes.npy", np.array([0, 2**64 - 1], dtype="<u8"))
    np.save(out / "f64_fortran.npy", np.asfortranarray(array("f64")))
    np.save(out / "f64_big_endian.npy", array("f64").astype(">f8"))
    np.save(out / "f64_column.npy", np.asfortranarray(array("f64", (5, 1))))


def check(out):
    failures = []
    for name, dtype in DTYPES.items():
        for mmap in [None, "r"]:
            got = np.load(out / f"{name}.npy", mmap_mode=mmap)
            want = array(name)
            if got.dtype != np.dtype(dtype) or got.shape != want.shape or not np.array_equal(got, want):
                failures.append(f"{name} (mmap_mode={mmap}): got {got.dtype} {got.shape} {got!r}")
    got = np.load(out / "f64_0d.npy")
    if got.shape != () or got != 2.5:
        failures.append(f"f64_0d: {got!r}")
    got = np.load(out / "f64_empty.npy")
    if got.shape != (0, 5) or got.dtype != np.float64:
        failures.append(f"f64_empty: {got.shape} {got.dtype}")
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    command, folder = sys.argv[1], pathlib.Path(sys.argv[2])
    sys.exit(write(folder) or 0 if command == "write" else check(folder))
