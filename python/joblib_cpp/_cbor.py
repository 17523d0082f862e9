"""A small CBOR (RFC 8949) decoder and encoder for the container index.

Our own rather than cbor2: the decoder must bound what a hostile index costs (nesting at most
64 deep like the C++ reader, every length checked against the bytes that remain before
anything is allocated, duplicate map keys refused) and the encoder must write what
nlohmann::json::to_cbor writes (shortest integer heads, map keys sorted, doubles that are
exact as float32 written as float32), so that Python and C++ writers produce the same index.
"""

from __future__ import annotations

import math
import struct

MAX_DEPTH = 64


class CborError(Exception):
    """Malformed CBOR; ``offset`` is relative to the start of the item."""

    def __init__(self, offset: int, reason: str):
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


def loads(data: bytes):
    """Decodes exactly one CBOR data item from ``data`` (nothing may follow it)."""
    dec = _Decoder(memoryview(data))
    value = dec.item(0)
    if dec.pos != len(data):
        raise CborError(dec.pos, f"{len(data) - dec.pos} bytes after the CBOR item")
    return value


class _Decoder:
    def __init__(self, data: memoryview):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if n > len(self.data) - self.pos:
            raise CborError(self.pos, f"truncated CBOR (need {n} bytes, "
                                      f"{len(self.data) - self.pos} left)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def head(self):
        at = self.pos
        first = self.take(1)[0]
        major, info = first >> 5, first & 31
        if info < 24:
            arg = info
        elif info == 24:
            arg = self.take(1)[0]
        elif info == 25:
            arg = struct.unpack("<H", bytes(self.take(2))[::-1])[0]
        elif info == 26:
            arg = struct.unpack("<I", bytes(self.take(4))[::-1])[0]
        elif info == 27:
            arg = struct.unpack("<Q", bytes(self.take(8))[::-1])[0]
        elif info == 31:
            raise CborError(at, "indefinite-length CBOR items are not used by the index")
        else:
            raise CborError(at, f"reserved CBOR additional information {info}")
        return at, major, info, arg

    def item(self, depth: int):
        if depth > MAX_DEPTH:
            raise CborError(self.pos, "index nested too deeply")
        at, major, info, arg = self.head()
        if major == 0:
            return arg
        if major == 1:
            return -1 - arg
        if major == 2:
            return bytes(self.take(arg))
        if major == 3:
            raw = self.take(arg)
            try:
                return str(raw, "utf-8")
            except UnicodeDecodeError:
                raise CborError(at, "CBOR text string is not UTF-8") from None
        if major == 4:
            # Every item takes at least one byte: check before building the list.
            if arg > len(self.data) - self.pos:
                raise CborError(at, f"CBOR array of {arg} items exceeds the remaining input")
            return [self.item(depth + 1) for _ in range(arg)]
        if major == 5:
            if arg > (len(self.data) - self.pos) // 2:
                raise CborError(at, f"CBOR map of {arg} pairs exceeds the remaining input")
            out = {}
            for _ in range(arg):
                key_at = self.pos
                key = self.item(depth + 1)
                if not isinstance(key, (str, int)):
                    raise CborError(key_at, "CBOR map key is not a string or integer")
                if key in out:
                    raise CborError(key_at, f"duplicate key {key!r}")
                out[key] = self.item(depth + 1)
            return out
        if major == 6:
            raise CborError(at, "CBOR tags are not used by the index")
        # major 7: simple values and floats
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            return struct.unpack(">e", struct.pack(">H", arg))[0]
        if info == 26:
            return struct.unpack(">f", struct.pack(">I", arg))[0]
        if info == 27:
            return struct.unpack(">d", struct.pack(">Q", arg))[0]
        raise CborError(at, f"unsupported CBOR simple value {info}")


def dumps(value) -> bytes:
    """Encodes ``value`` (dict with str keys, list, tuple, str, bytes, int, float, bool,
    None) as nlohmann::json::to_cbor does for the same JSON value."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _head(major: int, arg: int, out: bytearray) -> None:
    if arg < 24:
        out.append(major << 5 | arg)
    elif arg < 1 << 8:
        out += bytes((major << 5 | 24, arg))
    elif arg < 1 << 16:
        out.append(major << 5 | 25)
        out += struct.pack(">H", arg)
    elif arg < 1 << 32:
        out.append(major << 5 | 26)
        out += struct.pack(">I", arg)
    elif arg < 1 << 64:
        out.append(major << 5 | 27)
        out += struct.pack(">Q", arg)
    else:
        raise OverflowError("integer does not fit in 64 bits")


def _encode(v, out: bytearray) -> None:
    if v is None:
        out.append(0xF6)
    elif v is True:
        out.append(0xF5)
    elif v is False:
        out.append(0xF4)
    elif isinstance(v, int):
        if v >= 0:
            _head(0, v, out)
        else:
            _head(1, -1 - v, out)
    elif isinstance(v, float):
        # nlohmann writes NaN and infinities as half floats, a double as float32 when exact.
        if math.isnan(v):
            out += b"\xf9\x7e\x00"
        elif math.isinf(v):
            out += b"\xf9\x7c\x00" if v > 0 else b"\xf9\xfc\x00"
        elif (abs(v) <= 3.4028234663852886e38 and
              struct.unpack("<f", struct.pack("<f", v))[0] == v):
            out.append(0xFA)
            out += struct.pack(">f", v)
        else:
            out.append(0xFB)
            out += struct.pack(">d", v)
    elif isinstance(v, str):
        raw = v.encode("utf-8")
        _head(3, len(raw), out)
        out += raw
    elif isinstance(v, (bytes, bytearray)):
        _head(2, len(v), out)
        out += v
    elif isinstance(v, (list, tuple)):
        _head(4, len(v), out)
        for x in v:
            _encode(x, out)
    elif isinstance(v, dict):
        _head(5, len(v), out)
        # nlohmann's objects are std::maps: keys in byte order.
        for k in sorted(v, key=lambda s: s.encode("utf-8")):
            if not isinstance(k, str):
                raise TypeError("index keys must be strings")
            _encode(k, out)
            _encode(v[k], out)
    else:
        raise TypeError(f"cannot encode {type(v).__name__} in the index")
