"""Read and write joblib-cpp containers and caches from Python, without pickle.

The file format is docs/FORMAT.md of joblib-cpp; this package follows it and nothing else.

- ``load(path, mmap_mode=None)``: the stored value as Python objects (table below).
- ``inspect(path)``: the container's index as a dict.
- ``verify(path)``: checks every checksum; returns None or raises ``ChecksumError`` /
  ``FormatError`` naming the file and the byte offset.
- ``dump(value, path, compress=0, type=None)``: writes a container C++ loads with
  ``joblib::load<T>``.
- ``Cache(location)``: the entries of a ``joblib::memory`` cache.

Decoding is driven by the stored type signature:

============================================  ====================================
C++ (signature)                               Python
============================================  ====================================
bool                                          bool
i8 ... u64, enum<U>, byte                     int
f32, f64 (f80, f128: rounded to a double)     float
char                                          bytes of length 1
str / path / json                             str / pathlib.PurePosixPath / parsed JSON
monostate                                     None
vector<E>, array<E,N>, ndarray<E>             numpy.ndarray (E arithmetic, byte, complex)
  (E: arithmetic but bool, byte, complex)
vector/deque/list/array<T> of other T         list
set, unordered_set                            set (a list when elements are unhashable)
multiset, unordered_multiset                  list
map, unordered_map                            dict (a list of pairs for unhashable keys)
multimap, unordered_multimap                  list of (key, value) tuples
pair, tuple, struct{...}                      tuple (the format stores no field names)
optional, ptr                                 None or the value
variant                                       the held alternative's value
complex<T>                                    complex
duration<R,num/den>                           datetime.timedelta (rounded to 1 us)
time_point<system_clock,D>                    datetime.datetime in UTC (rounded to 1 us)
time_point<other clocks,D>                    datetime.timedelta since the clock's epoch
============================================  ====================================

Errors caused by a file are ``FormatError`` (a ``ValueError``) or its subclasses
``ChecksumError`` and ``TypeMismatchError``; the message names the file and the byte offset.
"""

from __future__ import annotations

from ._cache import Cache, CacheEntry
from ._container import Container
from ._errors import ChecksumError, FormatError, TypeMismatchError
from ._signature import SignatureError, parse
from ._value import decode
from ._writer import dump

__all__ = ["load", "inspect", "verify", "dump", "signature_of", "Cache", "CacheEntry",
           "FormatError", "ChecksumError", "TypeMismatchError"]
__version__ = "0.1.0"


def load(path, mmap_mode=None, type=None):
    """Loads the value stored in the container at ``path``.

    ``mmap_mode``: None reads every array into memory (checking stripe checksums); ``"r"``
    maps the file read-only and returns raw (uncompressed) arrays as read-only views of the
    mapping (numpy.memmap, zero-copy), and every other array read-only too, as C++ does;
    ``"c"`` maps it copy-on-write (writable views whose changes stay private). Compressed
    arrays are always decompressed into memory.
    ``type``: the expected type signature (e.g. ``"vector<f64>"``); a file storing another
    type raises ``TypeMismatchError``, as ``joblib::load<T>`` throws type_mismatch_error.

    Raises FormatError / ChecksumError (ValueError subclasses) for damaged or hostile files,
    OSError when the file cannot be opened.
    """
    c = Container(path, mmap_mode)
    return _load_value(c, type)


def _load_value(c: Container, expected=None):
    if expected is not None and expected != c.type:
        raise TypeMismatchError(c.path, c.index_offset,
                                f"stored type {c.type} is not the expected {expected}")
    try:
        sig = parse(c.type)
    except SignatureError as e:
        raise FormatError(c.path, c.index_offset, f"index: {e}") from None
    return decode(c.value_stream(), sig, c.array, c.path, c.value.offset,
                  read_only=c.mmap_mode == "r")


def inspect(path) -> dict:
    """The container's index (format, version, type, attributes, value, arrays) as a dict,
    after the superblock, trailer and index checksums and the index itself were checked."""
    return Container(path).index


def signature_of(value) -> str:
    """The type signature ``dump`` writes for ``value`` (raises TypeError when the value
    has no clean C++ counterpart)."""
    from ._encode import infer
    return infer(value)


def verify(path) -> None:
    """Checks every checksum (superblock, index, value stream, raw array stripes, chunks),
    that every zstd frame declares its size, that padding is zero and that the value stream
    decodes as its type signature says. Returns None; raises ChecksumError or FormatError
    naming the file and offset of the first problem."""
    c = Container(path)
    c.verify_all()
    _load_value(c)
