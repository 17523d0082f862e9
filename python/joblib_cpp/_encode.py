"""Encoding Python values into a value stream, driven by a type signature, and inferring the
signature of the values that map cleanly (``joblib_cpp.dump``'s subset)."""

from __future__ import annotations

import datetime
import json
import math
import os
import struct
from fractions import Fraction

import numpy as np

from ._signature import DTYPE_CODES, NUMPY_DTYPES, SCALARS, Sig, parse

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
INLINE_LIMIT = 256  # encode.hpp: smaller vectors/arrays stay in the stream


def infer(value) -> str:
    """The type signature ``dump`` uses for ``value`` (see the README's mapping table);
    raises TypeError for values outside the subset."""
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, np.generic):
        return _numpy_name(value.dtype)
    if isinstance(value, int):
        return "i64"
    if isinstance(value, float):
        return "f64"
    if isinstance(value, complex):
        return "complex<f64>"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (bytes, bytearray)):
        return "vector<u8>"
    if isinstance(value, np.ndarray):
        return f"ndarray<{_numpy_name(value.dtype)}>"
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise TypeError("dump: a naive datetime has no defined epoch; give it a tzinfo")
        return "time_point<system_clock,duration<i64,1/1000000000>>"
    if isinstance(value, datetime.timedelta):
        return "duration<i64,1/1000000>"
    if isinstance(value, tuple):
        return "tuple<" + ",".join(infer(v) for v in value) + ">"
    if isinstance(value, list):
        return f"vector<{_common(value, 'list')}>"
    if isinstance(value, (set, frozenset)):
        return f"set<{_common(value, 'set')}>"
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("dump: only dicts with str keys map cleanly (map<str,T>)")
        return f"map<str,{_common(value.values(), 'dict')}>"
    raise TypeError(f"dump: {type(value).__name__} has no C++ counterpart; pass type=")


def _common(items, what) -> str:
    sigs = {infer(v) for v in items}
    if len(sigs) != 1:
        raise TypeError(f"dump: a {what} needs exactly one element type to become a C++ "
                        f"container (found {sorted(sigs) or 'none: it is empty'}); pass type=")
    return sigs.pop()


def _numpy_name(dt) -> str:
    """The element signature of a numpy dtype (complex64 is ``complex<f32>``)."""
    name = _dtype_name(dt)
    return {"c64": "complex<f32>", "c128": "complex<f64>"}.get(name, name)


def _dtype_name(dt) -> str:
    dt = np.dtype(dt)
    for name, ours in NUMPY_DTYPES.items():
        if dt == ours or dt == ours.newbyteorder("="):
            return name
    if dt.kind == "S" and dt.itemsize == 1:
        return "char"
    raise TypeError(f"dump: numpy dtype {dt} has no array-node dtype")


class Encoder:
    """Appends a value's encoding to ``out``; array nodes go to ``sink(array, dtype_name)``
    (which returns the blob id) when given, as the C++ writer does."""

    def __init__(self, sink=None):
        self.sink = sink

    def encode(self, sig: Sig, v, out: bytearray) -> None:
        k = sig.kind
        if sig.array_dtype() is not None:
            return self.array_node(sig, v, out)
        if k in SCALARS or k == "enum":
            return self.scalar(sig.args[0].kind if k == "enum" else k, v, out)
        if k in ("str", "path", "json"):
            if k == "path":
                if not isinstance(v, (str, os.PathLike)):
                    raise TypeError(f"dump: {sig} needs a str or path, not {type(v).__name__}")
                text = os.fspath(v)
            elif k == "json":
                text = json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            else:
                if not isinstance(v, str):
                    raise TypeError(f"dump: str needs a str, not {type(v).__name__}")
                text = v
            raw = text.encode("utf-8", errors="surrogateescape")
            out += struct.pack("<Q", len(raw)) + raw
            return None
        if k == "monostate":
            if v is not None:
                raise TypeError("dump: monostate needs None")
            return None
        if k in ("vector", "deque", "list", "array"):
            items = self._sequence(v, sig)
            if k == "array":
                if len(items) != sig.n:
                    raise ValueError(f"dump: {sig} needs {sig.n} elements, not {len(items)}")
            else:
                out += struct.pack("<Q", len(items))
            for x in items:
                self.encode(sig.args[0], x, out)
            return None
        if k in ("set", "multiset"):
            items = sorted(self._sequence(v, sig, sets=True))
            out += struct.pack("<Q", len(items))
            for x in items:
                self.encode(sig.args[0], x, out)
            return None
        if k in ("map", "multimap"):
            pairs = list(v.items()) if isinstance(v, dict) else list(v)
            pairs.sort(key=lambda p: p[0])
            out += struct.pack("<Q", len(pairs))
            for key, val in pairs:
                self.encode(sig.args[0], key, out)
                self.encode(sig.args[1], val, out)
            return None
        if k in ("unordered_set", "unordered_multiset", "unordered_map", "unordered_multimap"):
            # Each element's encoding, sorted bytewise (memcmp, shorter first on a tie).
            parts = []
            if k.endswith("set"):
                for x in self._sequence(v, sig, sets=True):
                    b = bytearray()
                    self.encode(sig.args[0], x, b)
                    parts.append(bytes(b))
            else:
                for key, val in (v.items() if isinstance(v, dict) else v):
                    b = bytearray()
                    self.encode(sig.args[0], key, b)
                    self.encode(sig.args[1], val, b)
                    parts.append(bytes(b))
            parts.sort()
            out += struct.pack("<Q", len(parts))
            for b in parts:
                out += b
            return None
        if k in ("pair", "tuple", "struct"):
            if not isinstance(v, (tuple, list)) or len(v) != len(sig.args):
                raise TypeError(f"dump: {sig} needs a tuple of {len(sig.args)} values")
            for a, x in zip(sig.args, v):
                self.encode(a, x, out)
            return None
        if k in ("optional", "ptr"):
            if v is None:
                out.append(0)
            else:
                out.append(1)
                self.encode(sig.args[0], v, out)
            return None
        if k == "variant":
            # The first alternative the value encodes as (type-strict encoders decide).
            for i, alt in enumerate(sig.args):
                b = bytearray()
                try:
                    Encoder(None).encode(alt, v, b)
                except (TypeError, ValueError, OverflowError):
                    continue
                out += struct.pack("<I", i)
                self.encode(alt, v, out)
                return None
            raise TypeError(f"dump: {type(v).__name__} fits no alternative of {sig}")
        if k == "duration":
            return self.scalar(sig.args[0].kind, self._count(sig, v), out)
        if k == "time_point":
            d = sig.args[0]
            if sig.clock == "system_clock":
                if not isinstance(v, datetime.datetime) or v.tzinfo is None:
                    raise TypeError("dump: a system_clock time_point needs an aware datetime")
                v = v - EPOCH
            return self.scalar(d.args[0].kind, self._count(d, v), out)
        if k == "complex":
            if not isinstance(v, (complex, float, int, np.number)) or isinstance(v, bool):
                raise TypeError(f"dump: {sig} needs a complex number")
            c = complex(v)
            self.scalar(sig.args[0].kind, c.real, out)
            self.scalar(sig.args[0].kind, c.imag, out)
            return None
        raise TypeError(f"dump: cannot encode {sig}")

    @staticmethod
    def _sequence(v, sig, sets=False):
        ok = (list, tuple) + ((set, frozenset) if sets else ())
        if not isinstance(v, ok):
            raise TypeError(f"dump: {sig} needs a list, not {type(v).__name__}")
        return list(v)

    @staticmethod
    def _count(sig, v):
        if not isinstance(v, datetime.timedelta):
            raise TypeError(f"dump: {sig} needs a datetime.timedelta")
        num, den = sig.ratio
        micro = Fraction(v.days * 86_400_000_000 + v.seconds * 1_000_000 + v.microseconds)
        count = micro * den / (num * 1_000_000)
        if sig.args[0].kind in ("f32", "f64"):
            return float(count)
        if count.denominator != 1:
            raise ValueError(f"dump: {v} is not a whole number of {sig}'s ticks")
        return int(count)

    @staticmethod
    def scalar(k, v, out):
        if k == "bool":
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError(f"dump: bool needs a bool, not {type(v).__name__}")
            out.append(1 if v else 0)
            return
        if k == "char":
            if isinstance(v, str):
                v = v.encode("latin-1")
            if not isinstance(v, (bytes, np.bytes_)) or len(v) != 1:
                raise TypeError("dump: char needs a bytes object of length 1")
            out += bytes(v)
            return
        if k in ("f32", "f64"):
            if not isinstance(v, (float, int, np.floating, np.integer)) or \
                    isinstance(v, (bool, np.bool_)):
                raise TypeError(f"dump: {k} needs a float, not {type(v).__name__}")
            out += struct.pack(SCALARS[k][0], float(v))
            return
        if k in ("f80", "f128"):
            if not isinstance(v, (float, int, np.floating, np.integer)) or \
                    isinstance(v, (bool, np.bool_)):
                raise TypeError(f"dump: {k} needs a float, not {type(v).__name__}")
            out += _long_double(float(v), k)
            return
        if not isinstance(v, (int, np.integer)) or isinstance(v, (bool, np.bool_)):
            raise TypeError(f"dump: {k} needs an int, not {type(v).__name__}")
        try:
            out += struct.pack(SCALARS[k][0], int(v))
        except struct.error:
            raise OverflowError(f"dump: {v} does not fit {k}") from None

    def array_node(self, sig, v, out):
        name = sig.array_dtype()
        dt = NUMPY_DTYPES[name]
        if isinstance(v, (bytes, bytearray)) and name in ("u8", "i8", "char"):
            arr = np.frombuffer(bytes(v), dtype=dt)
        else:
            natural = np.asarray(v)
            if natural.dtype == object:
                raise TypeError(f"dump: {sig} needs numbers of one kind")
            if name == "char":
                if natural.dtype.kind != "S" or natural.dtype.itemsize != 1:
                    raise TypeError(f"dump: {sig} needs bytes or a numpy 'S1' array")
                arr = natural
            else:
                if natural.dtype.kind not in "biufc" or \
                        (natural.dtype.kind == "c" and dt.kind != "c") or \
                        (natural.dtype.kind == "f" and dt.kind in "biu") or \
                        (natural.dtype.kind != "b" and dt.kind == "b"):
                    raise TypeError(f"dump: {natural.dtype} values do not fit {sig}")
                with np.errstate(all="ignore"):
                    arr = natural.astype(dt)
                    back = arr.astype(natural.dtype)
                same = (back == natural) | ((back != back) & (natural != natural))
                if not np.all(same):
                    raise ValueError(f"dump: values do not fit {name} exactly")
        arr = np.asarray(arr, dtype=dt, order="C")  # (ascontiguousarray makes 0-d arrays 1-d)
        if sig.kind == "ndarray":
            if arr.ndim > 32:
                raise ValueError("dump: more than 32 dimensions")
        elif arr.ndim != 1:
            raise ValueError(f"dump: {sig} needs a one-dimensional sequence")
        elif sig.kind == "array" and arr.shape[0] != sig.n:
            raise ValueError(f"dump: {sig} needs {sig.n} elements")
        if self.sink is not None and (sig.kind == "ndarray" or arr.nbytes >= INLINE_LIMIT):
            out.append(1)
            out += struct.pack("<Q", self.sink(arr, name))
        else:
            out += bytes((0, DTYPE_CODES[name], arr.ndim))
            out += struct.pack(f"<{arr.ndim}Q", *arr.shape)
            out += arr.tobytes()


def _long_double(v: float, k: str) -> bytes:
    """A double as x87 extended (f80, 10 bytes) or IEEE binary128 (f128, 16 bytes): exact."""
    sign = 1 if math.copysign(1.0, v) < 0 else 0
    if math.isnan(v) or math.isinf(v):
        exp = 0x7FFF
        quiet = 1 << (62 if k == "f80" else 111)  # the quiet-NaN bit
        mant = (1 << 63 if k == "f80" else 0) | (quiet if math.isnan(v) else 0)
    elif v == 0:
        exp = mant = 0
    else:
        m, e = math.frexp(abs(v))  # abs(v) = m * 2**e, 0.5 <= m < 1
        exp = e - 1 + 16383
        if k == "f80":
            mant = int(m * (1 << 64))  # explicit integer bit; exact (53 significant bits)
        else:
            mant = int(m * (1 << 113)) - (1 << 112)  # implicit leading bit dropped
    if k == "f80":
        return mant.to_bytes(8, "little") + (sign << 15 | exp).to_bytes(2, "little")
    return ((sign << 127) | (exp << 112) | mant).to_bytes(16, "little")


def encode(value, signature: str, sink=None) -> bytes:
    out = bytearray()
    Encoder(sink).encode(parse(signature), value, out)
    return bytes(out)


