"""C++ writes, Python reads (every type kind, raw / compressed / mapped); Python writes, C++
reads (tests/interop/check_python_files.cpp); and the cache C++ wrote, listed from Python."""

import datetime
import os
import pathlib
import struct
import subprocess

import numpy as np
import pytest

import joblib_cpp
from helpers import same
from joblib_cpp._signature import NUMPY_DTYPES

UTC = datetime.timezone.utc


def expected(j):
    """The Python value write_samples' tagged JSON stands for (the package's mapping)."""
    if isinstance(j, list):
        return [expected(x) for x in j]
    if not isinstance(j, dict):
        return j
    (tag, v), = j.items()
    if tag == "ndarray":
        dt = NUMPY_DTYPES[v["dtype"]]
        return np.frombuffer(bytes.fromhex(v["hex"]), dtype=dt).reshape(v["shape"])
    if tag == "bytes":
        return bytes.fromhex(v)
    if tag == "str_hex":
        return bytes.fromhex(v).decode("utf-8")
    if tag == "float_hex":
        return struct.unpack("<d", bytes.fromhex(v))[0]
    if tag == "path":
        return pathlib.PurePosixPath(v)
    if tag == "json":
        return v
    if tag == "complex":
        return complex(expected(v[0]), expected(v[1]))
    if tag == "timedelta_us":
        return datetime.timedelta(microseconds=v)
    if tag == "datetime_us":
        return datetime.datetime(1970, 1, 1, tzinfo=UTC) + datetime.timedelta(microseconds=v)
    if tag == "tuple":
        return tuple(expected(x) for x in v)
    if tag == "set":
        return set(expected(x) for x in v)
    if tag in ("sorted_list",):
        return sorted(expected(x) for x in v)
    if tag == "dict":
        return {expected(k): expected(x) for k, x in v}
    if tag == "pairs":
        return [(expected(k), expected(x)) for k, x in v]
    if tag == "sorted_pairs":
        return sorted((expected(k), expected(x)) for k, x in v)
    raise AssertionError(f"unknown tag {tag}")


def normalized(value, tag_json):
    """Unordered multisets and multimaps come in encoding order: compare them sorted."""
    if isinstance(tag_json, dict) and next(iter(tag_json)) in ("sorted_list", "sorted_pairs"):
        return sorted(value)
    return value


def check_sample(folder, entry, mmap_mode):
    got = joblib_cpp.load(os.path.join(folder, entry["file"]), mmap_mode=mmap_mode,
                          type=entry["type"])
    want = expected(entry["expect"])
    got = normalized(got, entry["expect"])
    if isinstance(got, np.ndarray):
        got = np.asarray(got)  # memmap views compare as plain arrays
    return same(got, want) or (isinstance(want, set) and got == want)


@pytest.mark.parametrize("mmap_mode", [None, "r", "c"])
def test_every_cpp_sample_loads_as_expected(samples, mmap_mode):
    folder, manifest = samples
    assert len(manifest) > 100
    bad = [e["file"] for e in manifest if not check_sample(folder, e, mmap_mode)]
    assert bad == []


def test_samples_cover_every_dtype_and_shape(samples):
    _, manifest = samples
    types = {e["type"] for e in manifest}
    for dtype in NUMPY_DTYPES:
        element = {"c64": "complex<f32>", "c128": "complex<f64>"}.get(dtype, dtype)
        assert f"ndarray<{element}>" in types
    ndims = {len(e["expect"]["ndarray"]["shape"]) for e in manifest
             if isinstance(e["expect"], dict) and "ndarray" in e["expect"]}
    assert {0, 1, 3} <= ndims


def _is_memmap_backed(a):
    while a is not None:
        if isinstance(a, np.memmap):
            return True
        a = a.base if isinstance(a, np.ndarray) else None
    return False


def test_mmap_modes_view_raw_arrays_in_place(samples):
    folder, _ = samples
    path = os.path.join(folder, "ndarray_f64_large_raw.jl")
    index = joblib_cpp.inspect(path)
    assert index["arrays"][0]["layout"] == "raw" and index["arrays"][0]["offset"] % 4096 == 0
    r = joblib_cpp.load(path, mmap_mode="r")
    assert _is_memmap_backed(r) and not r.flags.writeable
    with pytest.raises(ValueError):
        r[0, 0] = 1.0
    c = joblib_cpp.load(path, mmap_mode="c")
    assert _is_memmap_backed(c) and c.flags.writeable
    c[0, 0] = 123.0  # private: the file keeps its bytes
    plain = joblib_cpp.load(path)
    assert not _is_memmap_backed(plain) and plain[0, 0] == -3.0
    joblib_cpp.verify(path)
    # Compressed arrays are decompressed into memory whatever the mode.
    z = joblib_cpp.load(os.path.join(folder, "ndarray_u32_chunks.jl"), mmap_mode="r")
    assert not _is_memmap_backed(z)
    # With "r" every array is read-only whatever its layout (as in C++); with "c" writable.
    assert not z.flags.writeable
    small = joblib_cpp.load(os.path.join(folder, "vector_i32.jl"), mmap_mode="r")  # inline
    assert not small.flags.writeable
    assert joblib_cpp.load(os.path.join(folder, "vector_i32.jl"), mmap_mode="c").flags.writeable
    assert joblib_cpp.load(os.path.join(folder, "ndarray_u32_chunks.jl")).flags.writeable


def test_cpp_chunked_arrays_use_many_chunks_and_shuffle(samples):
    folder, _ = samples
    node = joblib_cpp.inspect(os.path.join(folder, "ndarray_u32_chunks.jl"))["arrays"][0]
    assert node["layout"] == "chunked" and node["shuffle"] == 4 and len(node["chunks"]) > 10
    assert {row[2] for row in node["chunks"]} == {0, 1}  # some stored raw, some zstd
    node = joblib_cpp.inspect(os.path.join(folder, "ndarray_u32_chunks_unshuffled.jl"))
    assert node["arrays"][0]["shuffle"] == 1


def test_every_cpp_sample_verifies_and_inspects(samples):
    folder, manifest = samples
    for e in manifest:
        path = os.path.join(folder, e["file"])
        assert joblib_cpp.verify(path) is None
        index = joblib_cpp.inspect(path)
        assert index["type"] == e["type"] and index["version"] == [2, 0]


def test_python_dump_is_byte_identical_to_cpp(samples, tmp_path):
    """Uncompressed, the Python writer writes exactly the C++ writer's bytes."""
    folder, manifest = samples
    by_file = {e["file"]: e for e in manifest}
    names = ["vector_f64_external.jl", "map_str_f64.jl", "tuple.jl", "ndarray_f64_large_raw.jl",
             "ndarray_i16_3d.jl", "set_i32.jl", "unordered_set_str.jl", "struct.jl", "str.jl"]
    for name in names:
        e = by_file[name]
        value = joblib_cpp.load(os.path.join(folder, name))
        out = tmp_path / name
        joblib_cpp.dump(value, out, type=e["type"])
        assert out.read_bytes() == (pathlib.Path(folder) / name).read_bytes(), name


def test_python_files_load_in_cpp(scratch, checker):
    out = os.path.join(scratch, "from_python")
    os.makedirs(out, exist_ok=True)
    d = lambda name, value, **kw: joblib_cpp.dump(value, os.path.join(out, name + ".jl"), **kw)
    d("i64", -42)
    d("f64", 2.5)
    d("bool", True)
    d("str", "héllo")
    d("bytes", b"\x00\x01\xff")
    d("complex", 1 - 2j)
    d("list_f64", [i / 2 for i in range(100)])
    d("list_i64", [1, 2, 3])
    d("list_str", ["a", "bc"])
    d("list_bool", [True, False])
    d("tuple", (1, "x", 2.5))
    d("dict", {"b": [2.0, 3.0], "a": [1.0]})
    d("nested", [(1, "a"), (2, "b")])
    d("set", {3, 1, 2})
    d("timedelta", datetime.timedelta(seconds=1.5))
    d("datetime", datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    d("ndarray_f32_3d", a)
    d("ndarray_f32_3d_zstd", a, compress=3)
    d("ndarray_f32_3d_mmap", a)
    d("ndarray_i16_0d", np.array(0, dtype=np.int16))
    d("ndarray_f64_chunks", np.arange(330000) * 0.5, compress=3)
    d("ndarray_bool", np.array([True, False, True]))
    d("typed_unordered_map", {"y": 2, "x": 1}, type="unordered_map<str,i32>")
    d("typed_optional_empty", None, type="optional<i32>")
    d("typed_optional", 5, type="optional<i32>")
    d("typed_variant", "s", type="variant<i32,str>")
    d("typed_struct", (1.5, 2, "p"), type="struct{f64,i32,str}")
    d("typed_vector_byte", b"\x01\x02", type="vector<byte>")
    d("typed_deque", [7, 8], type="deque<i32>")
    d("typed_array", [1.0, 2.0, 3.0], type="array<f64,3>")
    d("typed_duration_ns", datetime.timedelta(seconds=123.456789), type="duration<i64,1/1000000000>")
    assert len(joblib_cpp.inspect(os.path.join(out, "ndarray_f64_chunks.jl"))["arrays"][0]
               ["chunks"]) == 3
    r = subprocess.run([checker, out], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "31 of 31 match" in r.stdout
    # And the checker does fail on a wrong value.
    d("i64", -41)
    r = subprocess.run([checker, out], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "i64:" in r.stderr


def test_cache_written_by_cpp(samples):
    folder, _ = samples
    cache = joblib_cpp.Cache(os.path.join(folder, "cache"))
    assert cache.functions() == ["label", "square"]
    squares = cache.entries("square")
    assert sorted(e.input_args for e in squares) == ["square(3)", "square(4)"]
    assert sorted(e.load() for e in squares) == [9, 16]
    for e in cache.entries():
        assert e.error is None and len(e.key) == 32 and e.size == os.path.getsize(e.path)
        assert e.created is not None and abs(e.created - e.last_used).total_seconds() < 600
        assert e.duration >= 0
    (label,) = cache.entries("label")
    assert label.load() == ["ab", "ab"] and label.input_args.startswith("label(")
    summary = cache.summary()
    assert summary["square"]["entries"] == 2
    assert summary["square"]["bytes"] == sum(e.size for e in squares)
    assert joblib_cpp.Cache(os.path.join(folder, "no_such_cache")).entries() == []
