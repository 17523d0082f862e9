"""Test helpers: rewriting a container's index (to make format 1 files and hostile files
whose checksums still hold) and comparing decoded values."""

import json
import math
import struct

import numpy as np

from joblib_cpp import _cbor
from joblib_cpp._container import checksum64


def rewrite_index(path, change, major=None, as_json=False):
    """Rewrites the container at ``path``: change(index_dict) edits the index in place; the
    index is re-encoded (as JSON text when as_json), checksummed and the trailer updated; the
    superblock gets ``major`` when given. Nothing else moves."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    offset, size, _ = struct.unpack_from("<QQQ", data, len(data) - 32)
    index = _cbor.loads(bytes(data[offset:offset + size]))
    change(index)
    raw = json.dumps(index).encode() if as_json else _cbor.dumps(index)
    body = data[:offset] + raw
    if major is not None:
        body[8:10] = struct.pack("<H", major)
        body[56:64] = struct.pack("<Q", checksum64(bytes(body[:56])))
    body += struct.pack("<QQQ", offset, len(raw), checksum64(raw)) + b"JBLINDEX"
    with open(path, "wb") as f:
        f.write(body)


def same(a, b):
    """Deep equality that tells int from bool, float bits apart (-0.0 vs 0.0, NaN == NaN) and
    compares numpy arrays by dtype, shape and bytes."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and a.tobytes() == b.tobytes())
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b
