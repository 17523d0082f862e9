"""The value stream (docs/FORMAT.md, "Value stream"), decoded and encoded by walking a parsed
type signature. Decoding checks every length prefix against the bytes that remain (as
decode.hpp does) before anything is built, so a hostile stream costs at most a bounded
multiple of its size.
"""

from __future__ import annotations

import datetime
import json
import math
import pathlib
import struct
from fractions import Fraction

import numpy as np

from ._errors import FormatError
from ._signature import DTYPE_CODES, ITEM_SIZES, NUMPY_DTYPES, SCALARS, Sig

MAX_EMPTY_ELEMENTS = 1 << 24  # encode.hpp: max_empty_elements
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_HASHABLE_FALLBACK = (TypeError,)


class _StreamError(Exception):
    def __init__(self, pos, reason):
        super().__init__(reason)
        self.pos, self.reason = pos, reason


# --- decoding ------------------------------------------------------------------------------
class Decoder:
    """Decodes one value stream. ``arrays(id, at)`` returns external array blobs."""

    def __init__(self, stream, arrays, read_only=False):
        self.data = memoryview(stream).cast("B") if not isinstance(stream, bytes) else \
            memoryview(stream)
        self.pos = 0
        self.arrays = arrays
        self.handed_out = set()
        self.empty_budget = MAX_EMPTY_ELEMENTS
        self.read_only = read_only

    def fail(self, reason, pos=None):
        raise _StreamError(self.pos if pos is None else pos, reason)

    def remaining(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n > self.remaining():
            self.fail(f"truncated value stream (need {n} bytes, {self.remaining()} left)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt, size):
        return struct.unpack(fmt, self.take(size))[0]

    def count(self, min_size):
        at = self.pos
        n = self.unpack("<Q", 8)
        if min_size == 0:
            ok = n <= self.remaining() + MAX_EMPTY_ELEMENTS and n <= self.empty_budget
            self.empty_budget -= n if ok else 0
        else:
            ok = n <= self.remaining() // min_size
        if not ok:
            self.fail(f"length {n} exceeds the remaining input ({self.remaining()} bytes)", at)
        return n

    def value(self, sig: Sig, depth=0):
        k = sig.kind
        if sig.array_dtype() is not None:
            return self.array_node(sig)
        if k in SCALARS:
            return self.scalar(k)
        if k == "enum":
            return self.scalar(sig.args[0].kind)
        if k in ("str", "path", "json"):
            at = self.pos
            raw = bytes(self.take(self.count(1)))
            text = raw.decode("utf-8", errors="surrogateescape")
            if k == "path":
                return pathlib.PurePosixPath(text)
            if k == "json":
                try:
                    return json.loads(text)
                except (ValueError, RecursionError) as e:
                    self.fail(f"bad JSON value: {e}", at)
            return text
        if k == "monostate":
            return None
        if k in ("vector", "deque", "list", "multiset", "unordered_multiset"):
            e = sig.args[0]
            return [self.value(e, depth + 1) for _ in range(self.count(e.min_size()))]
        if k in ("set", "unordered_set"):
            e = sig.args[0]
            items = [self.value(e, depth + 1) for _ in range(self.count(e.min_size()))]
            try:
                return set(items)
            except _HASHABLE_FALLBACK:
                return items
        if k == "array":
            e = sig.args[0]
            m = e.min_size()
            if (m and sig.n > self.remaining() // m) or (not m and sig.n > self.empty_budget):
                self.fail(f"array of {sig.n} elements exceeds the remaining input")
            if not m:
                self.empty_budget -= sig.n
            return [self.value(e, depth + 1) for _ in range(sig.n)]
        if k in ("map", "multimap", "unordered_map", "unordered_multimap"):
            key, val = sig.args
            n = self.count(key.min_size() + val.min_size())
            pairs = [(self.value(key, depth + 1), self.value(val, depth + 1)) for _ in range(n)]
            if k in ("multimap", "unordered_multimap"):
                return pairs
            try:
                return dict(pairs)
            except _HASHABLE_FALLBACK:
                return pairs
        if k in ("pair", "tuple", "struct"):
            return tuple(self.value(a, depth + 1) for a in sig.args)
        if k in ("optional", "ptr"):
            at = self.pos
            flag = self.unpack("<B", 1)
            if flag > 1:
                self.fail(f"bad presence byte {flag}", at)
            return self.value(sig.args[0], depth + 1) if flag else None
        if k == "variant":
            at = self.pos
            index = self.unpack("<I", 4)
            if index >= len(sig.args):
                self.fail(f"variant index {index} out of range", at)
            return self.value(sig.args[index], depth + 1)
        if k == "duration":
            at = self.pos
            return self.duration(sig, self.scalar(sig.args[0].kind), at)
        if k == "time_point":
            at = self.pos
            d = sig.args[0]
            delta = self.duration(d, self.scalar(d.args[0].kind), at)
            if sig.clock != "system_clock":
                return delta
            try:
                return EPOCH + delta
            except OverflowError:
                self.fail("time point outside datetime's range", at)
        if k == "complex":
            t = sig.args[0].kind
            return complex(self.scalar(t), self.scalar(t))
        self.fail(f"cannot decode {sig}")  # not reached: the parser knows every kind

    def scalar(self, k):
        fmt, size = SCALARS[k]
        if k == "bool":
            at = self.pos
            b = self.unpack("<B", 1)
            if b > 1:
                self.fail(f"bad bool byte {b}", at)
            return b == 1
        if k == "f80":
            return _f80_to_float(bytes(self.take(10)))
        if k == "f128":
            return _f128_to_float(bytes(self.take(16)))
        return self.unpack(fmt, size)

    def duration(self, sig, count, at):
        num, den = sig.ratio
        try:
            if isinstance(count, float):
                if not math.isfinite(count):
                    self.fail("a duration that is not finite", at)
                return datetime.timedelta(seconds=count * num / den)
            micro = Fraction(count * num * 1_000_000, den)
            return datetime.timedelta(microseconds=round(micro))
        except OverflowError:
            self.fail("duration outside datetime.timedelta's range", at)

    def array_node(self, sig):
        want = sig.array_dtype()
        at = self.pos
        tag = self.unpack("<B", 1)
        if tag == 0:
            code = self.unpack("<B", 1)
            if code != DTYPE_CODES[want]:
                self.fail(f"array dtype {code} is not the expected {want}", at)
            ndim = self.unpack("<B", 1)
            if ndim > 32 or (sig.kind != "ndarray" and ndim != 1):
                self.fail(f"array has {ndim} dimensions", at)
            shape = struct.unpack(f"<{ndim}Q", self.take(8 * ndim))
            count = 1
            for d in shape:
                count *= d
                if count >= 1 << 64:
                    self.fail("array shape overflows")
            if count > self.remaining() // ITEM_SIZES[want]:
                self.fail("array data exceeds the remaining input")
            raw = self.take(count * ITEM_SIZES[want])
            arr = np.frombuffer(raw, dtype=NUMPY_DTYPES[want]).copy().reshape(shape)
            if want == "bool" and arr.size and arr.view(np.uint8).max() > 1:
                self.fail("bad bool in a bool array", at)
            arr.flags.writeable = not self.read_only
        elif tag == 1:
            i = self.unpack("<Q", 8)
            if i in self.handed_out:
                self.fail(f"the value stream names array {i} twice", at)
            self.handed_out.add(i)
            arr = self.arrays(i, at)
            name = _dtype_name_of(arr)
            if name != want:
                self.fail(f"array blob has dtype {name}, expected {want}", at)
            if sig.kind != "ndarray" and arr.ndim != 1:
                self.fail("array blob has the wrong number of dimensions", at)
        else:
            self.fail(f"bad array tag {tag}", at)
        if sig.kind == "array" and arr.shape[0] != sig.n:
            self.fail(f"array has {arr.shape[0]} elements, expected {sig.n}", at)
        return arr


def _dtype_name_of(arr):
    for name, dt in NUMPY_DTYPES.items():
        if arr.dtype == dt:
            return name
    return "?"


def _f80_to_float(b: bytes) -> float:
    mant = int.from_bytes(b[:8], "little")
    se = int.from_bytes(b[8:10], "little")
    sign = -1.0 if se & 0x8000 else 1.0
    exp = se & 0x7FFF
    if exp == 0x7FFF:
        return sign * math.inf if (mant << 1) & ((1 << 64) - 1) == 0 else math.nan
    if exp == 0:
        return sign * math.ldexp(mant, -16382 - 63)
    try:
        return sign * math.ldexp(mant, exp - 16383 - 63)
    except OverflowError:
        return sign * math.inf


def _f128_to_float(b: bytes) -> float:
    v = int.from_bytes(b, "little")
    sign = -1.0 if v >> 127 else 1.0
    exp = (v >> 112) & 0x7FFF
    mant = v & ((1 << 112) - 1)
    if exp == 0x7FFF:
        return sign * math.inf if mant == 0 else math.nan
    if exp == 0:
        return sign * math.ldexp(mant, -16382 - 112)
    try:
        return sign * math.ldexp(mant | (1 << 112), exp - 16383 - 112)
    except OverflowError:
        return sign * math.inf


def decode(stream, sig: Sig, arrays, path, offset, read_only=False):
    """Decodes a whole value stream; errors become FormatError(path, offset, ...) with the
    position in the stream in the message. ``read_only``: inline arrays are made read-only
    too (mmap_mode "r")."""
    dec = Decoder(stream, arrays, read_only)
    try:
        value = dec.value(sig)
        if dec.pos != len(dec.data):
            dec.fail(f"{dec.remaining()} trailing bytes after the value")
    except _StreamError as e:
        raise FormatError(path, offset, f"value stream byte {e.pos}: {e.reason}") from None
    except RecursionError:
        raise FormatError(path, offset, "value nested too deeply") from None
    return value
