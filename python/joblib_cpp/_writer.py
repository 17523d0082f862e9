"""Writing a container (format 2.0) the way include/joblib/persist/detail/writer.hpp does:
superblock, array blobs (raw with stripe checksums, or chunked and zstd-compressed with a
byte shuffle), the value stream, the CBOR index and the trailer, in a temporary file renamed
over the target."""

from __future__ import annotations

import os
import secrets
import struct

import zstandard

from . import _cbor
from ._container import (BLOB_ALIGNMENT, FORMAT_MAJOR, FORMAT_MINOR, MAGIC,
                         MAX_VALUE_STREAM_RATIO, PAGE_ALIGN_THRESHOLD, PAGE_ALIGNMENT,
                         TRAILER_MAGIC, checksum64, shuffle)
from ._encode import Encoder, infer
from ._signature import ITEM_SIZES, parse

CHUNK_SIZE = 1 << 20
STRIPE_SIZE = 1 << 20


class _Out:
    def __init__(self, f):
        self.f = f
        self.size = 0

    def write(self, b):
        self.f.write(b)
        self.size += len(b)

    def align(self, alignment):
        rem = self.size % alignment
        if rem:
            self.write(bytes(alignment - rem))


class _Writer:
    def __init__(self, out: _Out, level: int):
        self.out = out
        self.level = level
        self.arrays = []
        self.cctx = zstandard.ZstdCompressor(level=level) if level else None

    def _compress(self, data: bytes):
        """(codec, stored bytes): zstd when it shrinks the data, else raw."""
        if not self.level or not data:
            return 0, data
        z = self.cctx.compress(data)  # one frame declaring its content size
        return (1, z) if len(z) < len(data) else (0, data)

    def put(self, arr, dtype_name):
        raw = arr.tobytes()
        nbytes = len(raw)
        node = {"dtype": dtype_name, "shape": list(arr.shape), "nbytes": nbytes}
        if self.level == 0 or nbytes == 0:
            self.out.align(PAGE_ALIGNMENT if nbytes >= PAGE_ALIGN_THRESHOLD else BLOB_ALIGNMENT)
            node.update(layout="raw", offset=self.out.size, stripe_size=STRIPE_SIZE,
                        xxh3=[checksum64(raw[i:i + STRIPE_SIZE])
                              for i in range(0, nbytes, STRIPE_SIZE)])
            self.out.write(raw)
        else:
            item = ITEM_SIZES[dtype_name]
            chunk = max(item, CHUNK_SIZE // item * item)
            shuf = item if item > 1 else 1
            self.out.align(BLOB_ALIGNMENT)
            rows = []
            for begin in range(0, nbytes, chunk):
                part = raw[begin:begin + chunk]
                codec, stored = self._compress(shuffle(part, shuf) if shuf > 1 else part)
                if codec == 0:
                    stored = part  # raw chunks keep the original (unshuffled) bytes
                rows.append([self.out.size, len(stored), codec, checksum64(stored)])
                self.out.write(stored)
            node.update(layout="chunked", chunk_size=chunk, shuffle=shuf, chunks=rows)
        self.arrays.append(node)
        return len(self.arrays) - 1

    def finish(self, signature, stream, attributes):
        self.out.align(BLOB_ALIGNMENT)
        codec, stored = self._compress(stream)
        if codec == 1 and len(stream) // MAX_VALUE_STREAM_RATIO > len(stored):
            codec, stored = 0, stream
        value = {"offset": self.out.size, "stored_size": len(stored), "size": len(stream),
                 "codec": "zstd" if codec else "raw", "xxh3": checksum64(stored)}
        self.out.write(stored)
        index = {"format": "joblib-cpp container", "version": [FORMAT_MAJOR, FORMAT_MINOR],
                 "type": signature, "attributes": attributes, "value": value,
                 "arrays": self.arrays}
        self.out.align(BLOB_ALIGNMENT)
        encoded = _cbor.dumps(index)
        offset = self.out.size
        self.out.write(encoded)
        self.out.write(struct.pack("<QQQ", offset, len(encoded), checksum64(encoded)) +
                       TRAILER_MAGIC)


def superblock(major=FORMAT_MAJOR, minor=FORMAT_MINOR, flags=0) -> bytes:
    head = MAGIC + struct.pack("<HHI", major, minor, flags) + bytes(40)
    return head + struct.pack("<Q", checksum64(head))


def dump(value, path, compress=0, type=None, attributes=None):
    """Writes ``value`` to ``path`` as a joblib-cpp container that C++ reads with
    ``joblib::load<T>``; see the package docstring."""
    if isinstance(compress, bool):
        compress = 3 if compress else 0
    if not isinstance(compress, int) or not 0 <= compress <= 22:
        raise ValueError("compress must be a zstd level in 0..22 (0: no compression)")
    signature = type if type is not None else infer(value)
    sig = parse(signature)
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            out = _Out(f)
            out.write(superblock())
            writer = _Writer(out, compress)
            stream = bytearray()
            Encoder(writer.put).encode(sig, value, stream)
            writer.finish(str(sig), bytes(stream), dict(attributes or {}))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return out.size
