"""The package against docs/FORMAT.md, without C++: a round trip for every node kind and
format version the spec lists, the signature parser, CBOR, shuffle, and every check a reader
must make (with the offsets the errors name)."""

import datetime
import os
import pathlib
import re
import struct

import cbor2
import numpy as np
import pytest
import zstandard

import joblib_cpp
from helpers import rewrite_index, same
from joblib_cpp import _cbor
from joblib_cpp._container import shuffle, unshuffle
from joblib_cpp._signature import parse

FORMAT_MD = pathlib.Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md"
UTC = datetime.timezone.utc
td = datetime.timedelta

# (signature, value): one Python round trip per node kind of FORMAT.md's encodings table.
ROUND_TRIP = [
    ("bool", True), ("i8", -128), ("i16", -2), ("i32", 2**31 - 1), ("i64", -2**63),
    ("u8", 255), ("u16", 65535), ("u32", 2**32 - 1), ("u64", 2**64 - 1),
    ("f32", 0.5), ("f64", -0.0), ("f80", 1.0 / 3), ("f128", -2.5e-300), ("char", b"c"),
    ("byte", 200), ("enum<u8>", 3), ("str", "π\x00x"), ("path", pathlib.PurePosixPath("a/b")),
    ("json", {"k": [1, None, True]}), ("monostate", None),
    ("vector<f64>", np.array([1.5, 2.5])), ("vector<str>", ["a", "b"]),
    ("vector<bool>", [True, False]), ("vector<byte>", np.array([1, 2], dtype=np.uint8)),
    ("vector<complex<f32>>", np.array([1 + 2j], dtype=np.complex64)),
    ("deque<i32>", [1, 2]), ("list<str>", ["z"]), ("array<i16,2>", np.array([1, 2], np.int16)),
    ("array<str,2>", ["x", "y"]), ("set<i32>", {3, 1}), ("multiset<i32>", [1, 1, 2]),
    ("map<str,f64>", {"a": 1.0}), ("multimap<i32,i32>", [(1, 2), (1, 3)]),
    ("unordered_set<str>", {"b", "a"}), ("unordered_multiset<i64>", [5, 5]),
    ("unordered_map<i32,str>", {2: "b", 1: "a"}), ("unordered_multimap<i32,i32>", [(1, 1), (1, 2)]),
    ("pair<str,i64>", ("k", 1)), ("tuple<i32,str>", (1, "a")), ("tuple<>", ()),
    ("optional<i32>", None), ("optional<str>", "x"), ("ptr<i32>", 4),
    ("variant<i32,str>", "v"), ("variant<i32,str>", 7),
    ("duration<i64,1/1000>", td(milliseconds=1500)), ("duration<f64,1/1>", td(seconds=0.25)),
    ("duration<i32,60/1>", td(minutes=-3)),
    ("time_point<system_clock,duration<i64,1/1000000000>>",
     datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)),
    ("time_point<steady_clock,duration<i64,1/1000000>>", td(seconds=5)),
    ("time_point<file_clock,duration<i64,1/1000000000>>", td(days=-3, microseconds=7)),
    ("time_point<clock,duration<u32,1/1>>", td(seconds=3)),
    ("complex<f64>", 1 - 1j), ("complex<f32>", 0.5 + 0j),
    ("struct{f64,i32,str}", (1.5, 2, "p")),
    ("ndarray<f32>", np.arange(6, dtype=np.float32).reshape(1, 2, 3)),
    ("ndarray<bool>", np.array([[True], [False]])), ("ndarray<i64>", np.array(5)),
    ("ndarray<char>", np.array([b"a", b"b"], dtype="S1")),
]
# A signature's names: what a round-trip case covers.
def kinds_of(sig):
    yield sig.kind
    if sig.clock:
        yield sig.clock
    for a in sig.args:
        yield from kinds_of(a)


@pytest.mark.parametrize("compress", [0, 3])
@pytest.mark.parametrize("signature,value", ROUND_TRIP, ids=[s for s, _ in ROUND_TRIP])
def test_round_trip(tmp_path, signature, value, compress):
    path = tmp_path / "v.jl"
    joblib_cpp.dump(value, path, compress=compress, type=signature)
    assert joblib_cpp.inspect(path)["type"] == signature
    got = joblib_cpp.load(path, type=signature)
    if isinstance(value, set):
        assert got == value
    elif signature.startswith("unordered_multi"):
        assert sorted(got) == sorted(value)
    elif signature == "vector<byte>":
        assert same(got, value)
    else:
        assert same(got, value), (got, value)
    joblib_cpp.verify(path)


def _format_kinds():
    """The signature names in FORMAT.md's encodings table (second column)."""
    text = FORMAT_MD.read_text()
    table = text.split("Encodings, by type", 1)[1].split("\n\n", 2)[1]
    names = set()
    for line in table.splitlines()[2:]:
        cols = line.split("|")
        for token in re.findall(r"`([^`]+)`", cols[2]):
            m = re.match(r"([a-z_0-9]+)(<.*>|\{.*\})?$", token)
            if m and token != "representation":
                names.add(m.group(1))
    return names


def test_every_node_kind_of_format_md_has_a_round_trip_case():
    in_spec = _format_kinds()
    assert {"bool", "vector", "ndarray", "struct", "time_point", "variant"} <= in_spec
    covered = set()
    for signature, _ in ROUND_TRIP:
        covered |= set(kinds_of(parse(signature)))
    # u16/u32 stand between `u8` … `u64` in the table; the table's other names are all kinds.
    assert in_spec - covered == set()


def test_every_dtype_of_format_md_has_an_ndarray_round_trip(tmp_path):
    text = FORMAT_MD.read_text()
    dtypes = re.search(r"`dtype`: `([a-z0-9 ]+)`", text).group(1).split()
    assert len(dtypes) == 14
    for i, name in enumerate(dtypes):
        dt = joblib_cpp._signature.NUMPY_DTYPES[name]
        raw = bytes((j * 37 + i) % 2 if name == "bool" else (j * 37 + i) % 256
                    for j in range(dt.itemsize * 12))
        value = np.frombuffer(raw, dtype=dt).reshape(2, 3, 2)
        for compress in (0, 5):
            path = tmp_path / f"{name}.jl"
            joblib_cpp.dump(value, path, compress=compress)
            assert same(joblib_cpp.load(path), value), name


def _as_format_1(path):
    rewrite_index(path, lambda ix: ix.__setitem__("version", [1, 0]), major=1, as_json=True)


def test_every_format_version_of_format_md_has_a_round_trip_case(tmp_path):
    versions = re.findall(r"^- \*\*(\d+)\.(\d+)\*\*", FORMAT_MD.read_text(), re.M)
    assert ("2", "0") in versions
    writers = {("2", "0"): lambda p: None, ("1", "0"): _as_format_1}
    assert set(versions) == set(writers)
    value = {"a": np.arange(100000, dtype=np.int64), "b": np.arange(3, dtype=np.int64)}
    for v in versions:
        for compress in (0, 3):
            path = tmp_path / f"v{v[0]}_{compress}.jl"
            joblib_cpp.dump(value, path, compress=compress)
            writers[v](path)
            with open(path, "rb") as f:
                assert struct.unpack("<H", f.read(10)[8:])[0] == int(v[0])
            assert same(joblib_cpp.load(path), value)
            joblib_cpp.verify(path)


# --- dump's inferred subset ------------------------------------------------------------------
@pytest.mark.parametrize("value,signature", [
    (1, "i64"), (1.0, "f64"), (True, "bool"), ("s", "str"), (b"b", "vector<u8>"),
    (1j, "complex<f64>"), ([1, 2], "vector<i64>"), ([1.0], "vector<f64>"),
    ([[1], [2]], "vector<vector<i64>>"), ((1, "a"), "tuple<i64,str>"),
    ({"k": [1.0]}, "map<str,vector<f64>>"), ({1, 2}, "set<i64>"),
    (np.zeros((2, 2), np.float32), "ndarray<f32>"), (np.int16(3), "i16"),
    (td(seconds=1), "duration<i64,1/1000000>"),
    (datetime.datetime(2020, 1, 1, tzinfo=UTC), "time_point<system_clock,duration<i64,1/1000000000>>"),
])
def test_signature_of(value, signature):
    assert joblib_cpp.signature_of(value) == signature


@pytest.mark.parametrize("value", [None, [], [1, "a"], {1: 2}, object(), {"a": 1, "b": "x"},
                                   datetime.datetime(2020, 1, 1)])
def test_dump_refuses_values_without_a_clean_counterpart(tmp_path, value):
    with pytest.raises(TypeError):
        joblib_cpp.dump(value, tmp_path / "x.jl")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("signature,value,error", [
    ("i8", 128, OverflowError), ("u64", -1, OverflowError), ("vector<i32>", [2**40], ValueError),
    ("vector<i32>", [1.5], TypeError), ("array<f64,3>", [1.0], ValueError),
    ("duration<i64,1/1>", td(milliseconds=1), ValueError), ("bool", 1, TypeError),
    ("str", b"x", TypeError), ("variant<i32,str>", 1.5, TypeError),
])
def test_dump_refuses_values_that_do_not_fit(tmp_path, signature, value, error):
    with pytest.raises(error):
        joblib_cpp.dump(value, tmp_path / "x.jl", type=signature)


def test_dump_is_atomic(tmp_path):
    path = tmp_path / "x.jl"
    joblib_cpp.dump([1.0], path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        joblib_cpp.dump([1.0, "half a list"], path, type="vector<f64>")
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["x.jl"]


def test_dump_layout_alignment_and_compression(tmp_path):
    path = tmp_path / "x.jl"
    big = np.arange(70000, dtype=np.float64)
    joblib_cpp.dump((big, np.arange(3.0)), path, type="tuple<vector<f64>,vector<f64>>")
    arrays = joblib_cpp.inspect(path)["arrays"]
    assert len(arrays) == 1 and arrays[0]["offset"] % 4096 == 0  # the small vector is inline
    assert len(arrays[0]["xxh3"]) == 1
    joblib_cpp.dump(np.zeros(300000), path, compress=1)
    node = joblib_cpp.inspect(path)["arrays"][0]
    assert node["layout"] == "chunked" and len(node["chunks"]) == 3 and node["shuffle"] == 8
    for offset, stored, codec, _ in node["chunks"]:
        with open(path, "rb") as f:
            f.seek(offset)
            frame = f.read(stored)
        assert codec == 1 and zstandard.frame_content_size(frame) > 0


# --- the pieces ----------------------------------------------------------------------------
def test_signature_parser():
    s = "map<str,tuple<optional<struct{f64,array<i32,3>}>,duration<i64,-1/1000>>>"
    assert str(parse(s)) == s
    for bad in ["", "vector", "vector<>", "vector<i32", "map<i32>", "array<i32,x>", "float",
                "duration<str,1/1>", "time_point<moon_clock,duration<i64,1/1>>",
                "struct{i32", "i32,", "vector<" * 100 + "i32" + ">" * 100]:
        with pytest.raises(ValueError):
            parse(bad)


def test_cbor_matches_cbor2():
    values = [{"b": 1, "a": [1, 2**64 - 1, -5, "x", b"y", 1.5, 1e300, None, True, False]},
              {"nested": {"k": [[], {}]}}, 0, 23, 24, 255, 256, 65536, 2**32, "ü" * 30]
    for v in values:
        raw = _cbor.dumps(v)
        assert cbor2.loads(raw) == v
        assert _cbor.loads(cbor2.dumps(v)) == v
    assert _cbor.dumps({"b": 0, "a": 0}).index(b"a") < _cbor.dumps({"b": 0, "a": 0}).index(b"b")
    for bad in [b"\x9f\xff", b"\xa2\x61a\x00\x61a\x00", b"\x9b" + b"\xff" * 8, b"\x81" * 100 + b"\x00",
                b"\x01\x02", b"\xc1\x00", b"\x62\xff\xfe"]:
        with pytest.raises(_cbor.CborError):
            _cbor.loads(bad)


def test_shuffle_follows_format_md():
    data = bytes(range(23))  # 5 items of 4 bytes and a tail of 3
    s = shuffle(data, 4)
    n = 5
    for i in range(n):
        for j in range(4):
            assert s[j * n + i] == data[i * 4 + j]
    assert s[20:] == data[20:]
    assert unshuffle(s, 4) == data


# --- hostile and damaged files ---------------------------------------------------------------
@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "s.jl"
    joblib_cpp.dump({"a": np.arange(1000, dtype=np.float64), "b": np.arange(7.0)}, path)
    return path


def test_every_truncation_is_a_format_error(sample, tmp_path):
    data = sample.read_bytes()
    cut = tmp_path / "cut.jl"
    for n in list(range(0, 200, 7)) + list(range(len(data) - 200, len(data))):
        cut.write_bytes(data[:n])
        with pytest.raises(joblib_cpp.FormatError) as e:
            joblib_cpp.load(cut)
        assert str(cut) in str(e.value)


def test_every_flipped_byte_is_detected(sample, tmp_path):
    data = bytearray(sample.read_bytes())
    bad = tmp_path / "bad.jl"
    for i in range(0, len(data), 7):
        data[i] ^= 0x10
        bad.write_bytes(data)
        data[i] ^= 0x10
        with pytest.raises(joblib_cpp.FormatError) as e:
            joblib_cpp.verify(bad)
        assert e.value.offset <= i + 4096 and f"at offset {e.value.offset}" in str(e.value)


def test_checksum_errors_name_the_offset(sample, tmp_path):
    index = joblib_cpp.inspect(sample)
    node = index["arrays"][0]
    data = bytearray(sample.read_bytes())
    data[node["offset"] + 100] ^= 1
    bad = tmp_path / "bad.jl"
    bad.write_bytes(data)
    with pytest.raises(joblib_cpp.ChecksumError) as e:
        joblib_cpp.verify(bad)
    assert e.value.offset == node["offset"]
    with pytest.raises(joblib_cpp.ChecksumError):
        joblib_cpp.load(bad)
    assert joblib_cpp.load(bad, mmap_mode="r")["a"][12] != 12.0  # mapping does not check
    data = bytearray(sample.read_bytes())
    data[20] = 1  # a reserved superblock byte, checksum fixed
    data[56:64] = struct.pack("<Q", joblib_cpp._container.checksum64(bytes(data[:56])))
    bad.write_bytes(data)
    with pytest.raises(joblib_cpp.FormatError, match="reserved"):
        joblib_cpp.load(bad)


def test_nonzero_padding_is_refused(sample, tmp_path):
    data = bytearray(sample.read_bytes())
    index = joblib_cpp.inspect(sample)
    pad = index["value"]["offset"] - 1  # the array ends before: padding up to 64
    assert data[pad] == 0
    data[pad] = 7
    bad = tmp_path / "bad.jl"
    bad.write_bytes(data)
    with pytest.raises(joblib_cpp.FormatError, match="padding") as e:
        joblib_cpp.load(bad)
    assert e.value.offset == pad


@pytest.mark.parametrize("change,match", [
    (lambda ix: ix["arrays"][0].__setitem__("nbytes", 2**62), "nbytes"),
    (lambda ix: ix["arrays"][0].__setitem__("shape", [2**40, 2**40]), "nbytes|overflow"),
    (lambda ix: ix["arrays"][0].__setitem__("offset", 2**63), "outside"),
    (lambda ix: ix["arrays"][0].__setitem__("dtype", "f16"), "dtype"),
    (lambda ix: ix["arrays"][0].__setitem__("layout", "sparse"), "layout"),
    (lambda ix: ix["arrays"][0].__setitem__("xxh3", []), "stripe"),
    (lambda ix: ix["arrays"].append(dict(ix["arrays"][0])), "overlapping"),
    (lambda ix: ix["value"].__setitem__("size", 2**40), "inconsistent"),
    (lambda ix: ix["value"].__setitem__("codec", "lz4"), "codec"),
    (lambda ix: ix.__setitem__("version", [3, 0]), "version"),
    (lambda ix: ix.pop("type"), "missing"),
    (lambda ix: ix.__setitem__("type", "map<str,vector<i32>>"), "dtype"),
    (lambda ix: ix.__setitem__("type", "vector<" * 70 + "i32" + ">" * 70), "deeply"),
    (lambda ix: ix.__setitem__("type", "array<monostate,99999999999>"), "exceeds"),
    (lambda ix: ix["arrays"][0].__setitem__("offset", 1.5), "wrong kind"),
])
def test_hostile_indexes_are_format_errors(sample, change, match):
    rewrite_index(sample, change)
    with pytest.raises(joblib_cpp.FormatError, match=match):
        joblib_cpp.load(sample)


def test_zero_size_elements_have_a_budget(monkeypatch):
    from joblib_cpp import _value
    from joblib_cpp._value import decode
    monkeypatch.setattr(_value, "MAX_EMPTY_ELEMENTS", 2**12)  # 2**24 builds 16 M Nones: slow
    # 1000 vectors of 2**24 monostates each: every count alone is allowed, their sum is not.
    stream = struct.pack("<Q", 1000) + struct.pack("<Q", 2**12) * 1000
    with pytest.raises(joblib_cpp.FormatError, match="exceeds"):
        decode(stream, parse("vector<vector<monostate>>"), None, "<memory>", 0)
    with pytest.raises(joblib_cpp.FormatError, match="exceeds"):
        decode(b"", parse("array<monostate,99999999999>"), None, "<memory>", 0)
    assert decode(struct.pack("<Q", 3), parse("vector<monostate>"), None, "<memory>", 0) == \
        [None] * 3


def test_array_ids_are_checked(tmp_path):
    path = tmp_path / "a.jl"
    joblib_cpp.dump(np.zeros(3), path)  # zero bytes: without its node the blob is padding
    rewrite_index(path, lambda ix: ix.__setitem__("arrays", []))
    with pytest.raises(joblib_cpp.FormatError, match="names array 0 but the index has 0"):
        joblib_cpp.load(path)
    # A stream that names one blob twice (the second id patched, its checksum fixed).
    joblib_cpp.dump((np.zeros(3), np.zeros(3)), path, type="tuple<ndarray<f64>,ndarray<f64>>")
    ix = joblib_cpp.inspect(path)
    data = bytearray(path.read_bytes())
    v = ix["value"]
    assert data[v["offset"]:v["offset"] + v["size"]] == b"\x01" + bytes(8) + b"\x01\x01" + bytes(7)
    data[v["offset"] + 10] = 0
    path.write_bytes(data)
    from joblib_cpp._container import checksum64
    new_sum = checksum64(bytes(data[v["offset"]:v["offset"] + v["size"]]))
    rewrite_index(path, lambda ix: ix["value"].__setitem__("xxh3", new_sum))
    with pytest.raises(joblib_cpp.FormatError, match="names array 0 twice"):
        joblib_cpp.load(path)


def test_hostile_chunks(tmp_path):
    path = tmp_path / "z.jl"
    joblib_cpp.dump(np.zeros(1000), path, compress=3)
    rewrite_index(path, lambda ix: ix["arrays"][0]["chunks"][0].__setitem__(1, 1))
    with pytest.raises(joblib_cpp.FormatError):
        joblib_cpp.load(path)
    joblib_cpp.dump(np.zeros(1000), path, compress=3)
    rewrite_index(path, lambda ix: ix["arrays"][0].update(nbytes=8 * 2**30, shape=[2**30]))
    with pytest.raises(joblib_cpp.FormatError, match="chunk"):
        joblib_cpp.load(path)


def test_frames_without_content_size_are_refused(tmp_path, monkeypatch):
    from joblib_cpp import _writer
    original = zstandard.ZstdCompressor
    monkeypatch.setattr(_writer.zstandard, "ZstdCompressor",
                        lambda level: original(level=level, write_content_size=False))
    path = tmp_path / "z.jl"
    joblib_cpp.dump(np.zeros(1000), path, compress=3)
    with pytest.raises(joblib_cpp.FormatError, match="declare"):
        joblib_cpp.load(path)
    with pytest.raises(joblib_cpp.FormatError, match="declare"):
        joblib_cpp.verify(path)


def test_other_files(tmp_path):
    p = tmp_path / "f"
    for content, match in [(b"\x80\x04K\x01.", "pickle"), (b"\x93NUMPY\x01\x00", "npy"),
                           (b"", "empty"), (b"hello", "magic")]:
        p.write_bytes(content)
        with pytest.raises(joblib_cpp.FormatError, match=match):
            joblib_cpp.load(p)
    with pytest.raises(joblib_cpp.FormatError, match="regular"):
        joblib_cpp.load(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(joblib_cpp.FormatError, match="regular"):
        joblib_cpp.load(tmp_path / "fifo")
    with pytest.raises(FileNotFoundError):
        joblib_cpp.load(tmp_path / "missing")
    with pytest.raises(ValueError):
        joblib_cpp.load(p, mmap_mode="w+")


def test_type_mismatch(sample):
    with pytest.raises(joblib_cpp.TypeMismatchError, match="map<str,ndarray<f64>>"):
        joblib_cpp.load(sample, type="vector<f64>")
    assert issubclass(joblib_cpp.TypeMismatchError, ValueError)
    assert issubclass(joblib_cpp.ChecksumError, joblib_cpp.FormatError)


def test_verify_and_inspect(sample):
    assert joblib_cpp.verify(sample) is None
    ix = joblib_cpp.inspect(sample)
    assert ix["format"] == "joblib-cpp container" and ix["version"] == [2, 0]
    assert ix["type"] == "map<str,ndarray<f64>>" and ix["attributes"] == {}
    assert ix["value"]["codec"] == "raw" and len(ix["arrays"]) == 2  # ndarrays: always blobs


def test_cache_api_on_a_python_made_cache(tmp_path):
    entry = tmp_path / "joblib" / "f" / "ab" / ("ab" + "0" * 30 + ".jlc")
    entry.parent.mkdir(parents=True)
    joblib_cpp.dump([1.0, 2.0], entry, attributes={"function": "f", "input_args": "f(1)",
                                                  "created": 1.7e9, "duration": 0.5})
    (entry.parent / "notes.txt").write_text("not an entry")
    (tmp_path / "joblib" / "f" / "ab" / ("cd" + "0" * 30 + ".jlc")).write_text("wrong folder")
    os.symlink(tmp_path / "joblib" / "f", tmp_path / "joblib" / "link")  # links: not followed
    cache = joblib_cpp.Cache(tmp_path)
    (e,) = cache.entries()
    assert (e.function, e.input_args, e.duration) == ("f", "f(1)", 0.5)
    assert e.created == datetime.datetime.fromtimestamp(1.7e9, UTC)
    assert same(e.load(), np.array([1.0, 2.0])) and cache.functions() == ["f"]
    entry.write_bytes(b"damaged")
    (e,) = cache.entries()
    assert isinstance(e.error, joblib_cpp.FormatError) and e.function == "f"
