"""The container format (docs/FORMAT.md, "Container format"): opening, validating, verifying
and reading blobs. Mirrors include/joblib/persist/detail/{format,index,validate,reader}.hpp;
every number taken from a file is checked before it is used, and every length against the
bytes the file has before anything is allocated.
"""

from __future__ import annotations

import json
import os
import stat
import struct

import numpy as np
import xxhash
import zstandard

from . import _cbor
from ._errors import ChecksumError, FormatError
from ._signature import ITEM_SIZES, NUMPY_DTYPES

MAGIC = b"\x89JBL\r\n\x1a\n"
TRAILER_MAGIC = b"JBLINDEX"
FORMAT_MAJOR, FORMAT_MINOR = 2, 0
OLDEST_MAJOR = 1
SUPERBLOCK_SIZE = 64
TRAILER_SIZE = 32
BLOB_ALIGNMENT = 64
PAGE_ALIGNMENT = 4096
PAGE_ALIGN_THRESHOLD = 64 * 1024
MAX_INDEX_SIZE = 1 << 30
MAX_CHUNK_SIZE = 1 << 30
MAX_ZSTD_RATIO = 32768
MAX_VALUE_STREAM_RATIO = 256
MAX_UNVERIFIED_RATIO = 64
UNVERIFIED_ALLOCATION_LIMIT = 64 << 20
MAX_PADDING = PAGE_ALIGNMENT - 1
MAX_NDIM = 32
MAX_INDEX_DEPTH = 64
FLAG_RAW_MODIFIED = 1
U64_MAX = (1 << 64) - 1


def checksum64(data) -> int:
    """XXH3-64 with seed 0, as every checksum of the format."""
    return xxhash.xxh3_64_intdigest(data)


def _is_uint(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= U64_MAX


class Chunk:
    __slots__ = ("offset", "stored_size", "raw_size", "codec", "checksum")

    def __init__(self, offset, stored_size, raw_size, codec, checksum):
        self.offset, self.stored_size, self.raw_size = offset, stored_size, raw_size
        self.codec, self.checksum = codec, checksum  # codec: 0 raw, 1 zstd


class ArrayEntry:
    __slots__ = ("dtype", "shape", "nbytes", "chunked", "offset", "stripe_size", "stripe_sums",
                 "chunk_size", "shuffle", "chunks")


class Container:
    """One opened container: validated index, the file's bytes (a read-only or copy-on-write
    mapping), and the blobs on demand. ``mmap_mode`` None copies arrays out of the mapping
    (checking their checksums); "r" and "c" view raw arrays in place."""

    def __init__(self, path, mmap_mode=None, verify=True):
        if mmap_mode not in (None, "r", "c"):
            raise ValueError(f"mmap_mode must be None, 'r' or 'c', not {mmap_mode!r}")
        self.path = os.fspath(path)
        self.mmap_mode = mmap_mode
        self.verify = verify
        info = os.stat(self.path)  # FileNotFoundError and friends: OSError, as for open()
        if not stat.S_ISREG(info.st_mode):
            raise FormatError(self.path, 0, "not a regular file")
        if info.st_size == 0:
            raise FormatError(self.path, 0, "not a joblib-cpp container (empty file)")
        self.buf = np.memmap(self.path, dtype=np.uint8, mode="c" if mmap_mode == "c" else "r")
        self.size = len(self.buf)
        self._open()

    # --- helpers ---------------------------------------------------------------------------
    def fail(self, offset, reason, cls=FormatError):
        raise cls(self.path, offset, reason)

    def bytes_at(self, offset: int, size: int) -> memoryview:
        """The file's bytes [offset, offset + size) in place (the range was validated)."""
        return memoryview(self.buf[offset:offset + size])

    # --- opening -------------------------------------------------------------------------------
    def _open(self):
        head = bytes(self.buf[:SUPERBLOCK_SIZE])
        if not head.startswith(MAGIC):
            why = "not a joblib-cpp container (bad magic)"
            if head[:1] == b"\x80":
                why += "; this looks like a Python pickle (e.g. a Python joblib file)"
            elif head.startswith(b"\x93NUMPY"):
                why += "; this looks like a NumPy .npy file"
            self.fail(0, why)
        if self.size < SUPERBLOCK_SIZE + TRAILER_SIZE:
            self.fail(self.size, "truncated container (shorter than header + trailer)")
        major, minor, flags = struct.unpack_from("<HHI", head, 8)
        if major < OLDEST_MAJOR or major > FORMAT_MAJOR:
            self.fail(8, f"unsupported container format version {major}.{minor} (this reader "
                         f"supports {OLDEST_MAJOR}.x to {FORMAT_MAJOR}.x)")
        if struct.unpack_from("<Q", head, 56)[0] != checksum64(head[:56]):
            self.fail(0, "superblock checksum mismatch", ChecksumError)
        for i in range(16, 56):
            if head[i] != 0:
                self.fail(i, "nonzero reserved superblock byte")
        if flags & ~FLAG_RAW_MODIFIED:
            self.fail(12, "unknown superblock flags")
        self.major, self.minor, self.flags = major, minor, flags

        at = self.size - TRAILER_SIZE
        tr = bytes(self.buf[at:])
        if tr[24:] != TRAILER_MAGIC:
            self.fail(at + 24, "bad trailer magic (truncated or damaged file)")
        index_offset, index_size, index_sum = struct.unpack_from("<QQQ", tr, 0)
        if (index_offset < SUPERBLOCK_SIZE or index_offset > at or index_size > at - index_offset
                or index_size > MAX_INDEX_SIZE or index_size == 0):
            self.fail(at, "trailer points outside the file")
        index_bytes = bytes(self.buf[index_offset:index_offset + index_size])
        if checksum64(index_bytes) != index_sum:
            self.fail(index_offset, "index checksum mismatch", ChecksumError)
        self.index_offset, self.index_size = index_offset, index_size
        self.index = self._parse_index(index_bytes)
        self._validate()
        if self.verify:
            self.check_padding()

    def _parse_index(self, raw: bytes) -> dict:
        at = self.index_offset
        if self.major >= 2:
            try:
                index = _cbor.loads(raw)
            except _cbor.CborError as e:
                self.fail(at + e.offset, f"index: malformed CBOR: {e.reason}")
        else:
            _check_json_depth(raw, self, at)

            def pairs(items):
                out = {}
                for k, v in items:
                    if k in out:
                        self.fail(at, f"index: duplicate key '{k}'")
                    out[k] = v
                return out

            def bad_constant(name):
                self.fail(at, f"index: malformed JSON ({name})")

            try:
                index = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs,
                                   parse_constant=bad_constant)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
                self.fail(at, f"index: malformed JSON: {e}")
        if not isinstance(index, dict):
            self.fail(at, "index: the index is not an object")
        return index

    # --- the index ---------------------------------------------------------------------------
    def _validate(self):
        at = self.index_offset
        ix = self.index

        def get(obj, key, kind, required=True):
            if key not in obj:
                if required:
                    self.fail(at, f"index: missing '{key}'")
                return None
            v = obj[key]
            ok = {"uint": _is_uint, "str": lambda x: isinstance(x, str),
                  "dict": lambda x: isinstance(x, dict),
                  "list": lambda x: isinstance(x, list)}[kind](v)
            if not ok:
                self.fail(at, f"index: wrong kind of value for '{key}'")
            return v

        def uint_list(obj, key, limit=None):
            v = get(obj, key, "list")
            if not all(_is_uint(x) for x in v):
                self.fail(at, f"index: wrong kind of value in a list ('{key}')")
            if limit is not None and len(v) > limit:
                self.fail(at, f"index: too many entries in '{key}'")
            return v

        # Known keys with a value of the wrong kind are refused even where optional.
        if "format" in ix:
            get(ix, "format", "str")
        version = uint_list(ix, "version")
        if len(version) > 2:
            self.fail(at, "index: 'version' has more than two numbers")
        self.type = get(ix, "type", "str")
        attributes = get(ix, "attributes", "dict")
        self.attributes = attributes
        value = get(ix, "value", "dict")
        arrays = get(ix, "arrays", "list")
        if len(version) != 2 or version[0] != self.major:
            self.fail(at, "index: version mismatch")

        for key in ("offset", "stored_size", "size", "xxh3"):
            get(value, key, "uint")
        codec = get(value, "codec", "str")
        if codec not in ("raw", "zstd"):
            self.fail(at, f"index: unknown value stream codec '{codec}'")
        self.value = Chunk(value["offset"], value["stored_size"], value["size"],
                           0 if codec == "raw" else 1, value["xxh3"])
        v = self.value
        if (v.codec == 0 and v.raw_size != v.stored_size) or \
                (v.codec == 1 and v.raw_size // MAX_VALUE_STREAM_RATIO > v.stored_size):
            self.fail(at, "index: value stream sizes are inconsistent (a zstd stream expands "
                          f"at most {MAX_VALUE_STREAM_RATIO}x)")
        self.regions = []
        self._check_range(v.offset, v.stored_size, "value stream")

        self.arrays = []
        for node in arrays:
            if not isinstance(node, dict):
                self.fail(at, "index: wrong kind of value in a list (an array node)")
            self.arrays.append(self._validate_array(node, get, uint_list))

        self.regions.append((0, SUPERBLOCK_SIZE))
        self.regions.append((self.index_offset, self.index_offset + self.index_size))
        self.regions.append((self.size - TRAILER_SIZE, self.size))
        self.regions.sort()
        end = 0
        for begin, stop in self.regions:
            if begin < end:
                self.fail(begin, "overlapping blobs")
            if begin - end > MAX_PADDING:
                self.fail(end, f"a gap of {begin - end} bytes between blobs (writers pad less "
                               f"than {MAX_PADDING + 1})")
            end = stop

    def _check_range(self, offset, size, what):
        limit = self.index_offset
        if offset < SUPERBLOCK_SIZE or offset > limit or size > limit - offset:
            self.fail(self.index_offset, f"index: {what} lies outside the data area")
        if size:
            self.regions.append((offset, offset + size))

    def _validate_array(self, node, get, uint_list) -> ArrayEntry:
        at = self.index_offset
        dtype = get(node, "dtype", "str")
        shape = uint_list(node, "shape", MAX_NDIM)
        nbytes = get(node, "nbytes", "uint")
        layout = get(node, "layout", "str")
        for key in ("offset", "stripe_size", "chunk_size", "shuffle"):
            get(node, key, "uint", required=False)
        if "xxh3" in node:
            uint_list(node, "xxh3")
        if "chunks" in node:
            rows = get(node, "chunks", "list")
            for row in rows:
                if not isinstance(row, list) or len(row) != 4 or not all(map(_is_uint, row)):
                    self.fail(at, "index: bad chunk table row")
        if dtype not in ITEM_SIZES:
            self.fail(at, f"index: unknown dtype '{dtype}'")
        item = ITEM_SIZES[dtype]
        count = 1
        for d in shape:
            count *= d
            if count > U64_MAX:
                self.fail(at, "size overflow")
        if count * item > U64_MAX:
            self.fail(at, "size overflow")
        if count * item != nbytes:
            self.fail(at, "index: nbytes does not match shape")
        if nbytes > (U64_MAX >> 1):
            self.fail(at, "index: array too large")
        a = ArrayEntry()
        a.dtype, a.shape, a.nbytes = dtype, tuple(shape), nbytes
        a.offset = a.stripe_size = a.chunk_size = 0
        a.shuffle = 1
        a.stripe_sums, a.chunks = [], []
        if layout == "raw":
            for key in ("offset", "stripe_size", "xxh3"):
                if key not in node:
                    self.fail(at, f"index: missing '{key}'")
            a.chunked = False
            a.offset, a.stripe_size = node["offset"], node["stripe_size"]
            if a.stripe_size == 0 or a.stripe_size > MAX_CHUNK_SIZE:
                self.fail(at, "index: bad stripe size")
            if a.offset % BLOB_ALIGNMENT and nbytes:
                self.fail(at, "index: misaligned array")
            if len(node["xxh3"]) != -(-nbytes // a.stripe_size):
                self.fail(at, "index: stripe count")
            a.stripe_sums = node["xxh3"]
            self._check_range(a.offset, nbytes, "array")
        elif layout == "chunked":
            for key in ("chunk_size", "shuffle", "chunks"):
                if key not in node:
                    self.fail(at, f"index: missing '{key}'")
            a.chunked = True
            a.chunk_size = node["chunk_size"]
            if a.chunk_size == 0 or a.chunk_size > MAX_CHUNK_SIZE or a.chunk_size % item:
                self.fail(at, "index: bad chunk size")
            if node["shuffle"] not in (1, item):
                self.fail(at, "index: bad shuffle")
            a.shuffle = node["shuffle"]
            rows = node["chunks"]
            if len(rows) != -(-nbytes // a.chunk_size):
                self.fail(at, "index: chunk count")
            left = nbytes
            for offset, stored, codec, checksum in rows:
                if codec not in (0, 1):
                    self.fail(at, f"index: unknown codec {codec}")
                raw = min(left, a.chunk_size)
                left -= raw
                if (codec == 0 and stored != raw) or \
                        (codec == 1 and raw // MAX_ZSTD_RATIO > stored):
                    self.fail(at, "index: chunk sizes are inconsistent")
                self._check_range(offset, stored, "chunk")
                a.chunks.append(Chunk(offset, stored, raw, codec, checksum))
        else:
            self.fail(at, f"index: unknown layout '{layout}'")
        return a

    def check_padding(self):
        """Every byte outside the regions is zero."""
        end = 0
        for begin, stop in self.regions:
            if begin > end:
                gap = self.buf[end:begin]
                nonzero = np.flatnonzero(gap)
                if nonzero.size:
                    self.fail(end + int(nonzero[0]), "nonzero padding byte")
            end = stop

    # --- blobs ---------------------------------------------------------------------------------
    def decode_stored(self, stored, codec, raw_size, offset, shuffle=1):
        """The raw bytes of a stored chunk or value stream (checksum already checked)."""
        if codec == 0:
            if len(stored) != raw_size:
                self.fail(offset, "raw chunk size mismatch")
            return stored
        self.check_frame(stored, raw_size, offset)
        try:
            dobj = zstandard.ZstdDecompressor().decompressobj()
            out = dobj.decompress(stored)
        except zstandard.ZstdError as e:
            self.fail(offset, f"zstd: {e}")
        if not dobj.eof or dobj.unused_data or len(out) != raw_size:
            self.fail(offset, "zstd frame decodes to a wrong size")
        if shuffle > 1:
            out = unshuffle(out, shuffle)
        return out

    def check_frame(self, stored, raw_size, offset):
        """A zstd frame must declare exactly the expected size (before any allocation)."""
        try:
            declared = zstandard.frame_content_size(stored)
        except zstandard.ZstdError:
            declared = -2
        if declared != raw_size:
            self.fail(offset, "zstd frame does not declare the expected size")

    def value_stream(self):
        v = self.value
        stored = self.bytes_at(v.offset, v.stored_size)
        if self.verify and checksum64(stored) != v.checksum:
            self.fail(v.offset, "value stream checksum mismatch", ChecksumError)
        out = self.decode_stored(stored, v.codec, v.raw_size, v.offset)
        return memoryview(out) if not isinstance(out, memoryview) else out

    def array(self, i: int, at: int):
        """Array blob ``i`` as a numpy array of its dtype and shape; ``at`` is the offset
        reported when the id is bad."""
        if i >= len(self.arrays):
            self.fail(at, f"value stream names array {i} but the index has {len(self.arrays)}")
        a = self.arrays[i]
        dt = NUMPY_DTYPES[a.dtype]
        if a.nbytes == 0:
            out = np.empty(a.shape, dtype=dt)
            out.flags.writeable = self.mmap_mode != "r"
            return out
        if not a.chunked:
            if self.mmap_mode is not None:
                flat = self.buf[a.offset:a.offset + a.nbytes]  # a view of the mapping
            else:
                flat = np.array(self.buf[a.offset:a.offset + a.nbytes])  # a copy
                if self.verify and not (self.flags & FLAG_RAW_MODIFIED):
                    self._check_stripes(a, flat)
        else:
            flat = self._load_chunked(a)
        if a.dtype == "bool" and flat.max() > 1:
            self.fail(a.offset if not a.chunked else a.chunks[0].offset,
                      "bad bool in a bool array")
        out = flat.view(dt).reshape(a.shape)
        if self.mmap_mode == "r":
            out.flags.writeable = False  # "r": every array read-only, whatever its layout
        return out

    def _check_stripes(self, a, data):
        for k, expected in enumerate(a.stripe_sums):
            begin = k * a.stripe_size
            part = data[begin:begin + a.stripe_size]
            if checksum64(memoryview(part)) != expected:
                self.fail(a.offset + begin, "array stripe checksum mismatch", ChecksumError)

    def _load_chunked(self, a):
        stored_total = 0
        for c in a.chunks:
            if c.codec == 1:
                self.check_frame(self.bytes_at(c.offset, c.stored_size), c.raw_size, c.offset)
            stored_total += c.stored_size
        checked = False
        if self.verify and a.nbytes > max(UNVERIFIED_ALLOCATION_LIMIT,
                                          stored_total * MAX_UNVERIFIED_RATIO):
            for c in a.chunks:
                self._check_chunk(c)
            checked = True
        out = np.empty(a.nbytes, dtype=np.uint8)
        for i, c in enumerate(a.chunks):
            if self.verify and not checked:
                self._check_chunk(c)
            raw = self.decode_stored(self.bytes_at(c.offset, c.stored_size), c.codec,
                                     c.raw_size, c.offset, a.shuffle)
            begin = i * a.chunk_size
            out[begin:begin + c.raw_size] = np.frombuffer(raw, dtype=np.uint8)
        return out

    def _check_chunk(self, c):
        if checksum64(self.bytes_at(c.offset, c.stored_size)) != c.checksum:
            self.fail(c.offset, "chunk checksum mismatch", ChecksumError)

    def verify_all(self):
        """Every checksum and frame of every blob (the superblock, trailer, index and padding
        were checked when opening)."""
        self.value_stream()
        for a in self.arrays:
            if not a.chunked:
                if not (self.flags & FLAG_RAW_MODIFIED):
                    self._check_stripes(a, self.buf[a.offset:a.offset + a.nbytes])
            else:
                for c in a.chunks:
                    self._check_chunk(c)
                    if c.codec == 1:
                        self.check_frame(self.bytes_at(c.offset, c.stored_size), c.raw_size,
                                         c.offset)


def unshuffle(data, item: int) -> bytes:
    """Inverse of the byte shuffle (FORMAT.md): byte j of item i was stored at j * n + i."""
    raw = np.frombuffer(data, dtype=np.uint8)
    n = len(raw) // item
    out = np.empty_like(raw)
    out[:n * item] = raw[:n * item].reshape(item, n).T.reshape(-1)
    out[n * item:] = raw[n * item:]
    return out.tobytes()


def shuffle(data, item: int) -> bytes:
    """The byte shuffle: byte j of item i goes to j * n + i; a tail of < item bytes stays."""
    raw = np.frombuffer(data, dtype=np.uint8)
    n = len(raw) // item
    out = np.empty_like(raw)
    out[:n * item] = raw[:n * item].reshape(n, item).T.reshape(-1)
    out[n * item:] = raw[n * item:]
    return out.tobytes()


def _check_json_depth(raw: bytes, container, at: int) -> None:
    """Format 1 indexes are JSON: refuse nesting deeper than the C++ reader does before
    Python's recursive parser sees it."""
    depth = 0
    in_string = escaped = False
    for b in raw:
        if in_string:
            if escaped:
                escaped = False
            elif b == 0x5C:
                escaped = True
            elif b == 0x22:
                in_string = False
        elif b == 0x22:
            in_string = True
        elif b in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_INDEX_DEPTH:
                container.fail(at, "index: index nested too deeply")
        elif b in (0x5D, 0x7D):
            depth -= 1
