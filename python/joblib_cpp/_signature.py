"""Type signatures (docs/FORMAT.md, "Value stream"): parsing and what each one decodes to.

A signature such as ``map<str,tuple<i32,vector<f64>>>`` is parsed into a tree of ``Sig``
nodes. The value decoder and encoder walk that tree: the value stream carries no type tags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_DEPTH = 64  # like the index: a hostile signature cannot exhaust Python's stack

SCALARS = {
    # name: (struct format, size)
    "bool": ("<?", 1), "i8": ("<b", 1), "i16": ("<h", 2), "i32": ("<i", 4), "i64": ("<q", 8),
    "u8": ("<B", 1), "u16": ("<H", 2), "u32": ("<I", 4), "u64": ("<Q", 8),
    "f32": ("<f", 4), "f64": ("<d", 8), "char": ("<c", 1), "byte": ("<B", 1),
    "f80": (None, 10), "f128": (None, 16),
}
OTHER_LEAVES = {"str", "path", "json", "monostate"}
ONE_ARG = {"vector", "deque", "list", "ndarray", "set", "multiset", "unordered_set",
           "unordered_multiset", "optional", "ptr", "complex", "enum"}
TWO_ARGS = {"map", "multimap", "unordered_map", "unordered_multimap", "pair"}
CLOCKS = {"system_clock", "steady_clock", "file_clock", "clock"}

# Array-node dtypes: the numbers of include/joblib/serialize/detail/array_node.hpp.
DTYPE_CODES = {"bool": 1, "i8": 2, "i16": 3, "i32": 4, "i64": 5, "u8": 6, "u16": 7, "u32": 8,
               "u64": 9, "f32": 10, "f64": 11, "c64": 12, "c128": 13, "char": 14}
DTYPE_NAMES = {v: k for k, v in DTYPE_CODES.items()}
NUMPY_DTYPES = {"bool": np.dtype(np.bool_), "i8": np.dtype("<i1"), "i16": np.dtype("<i2"),
                "i32": np.dtype("<i4"), "i64": np.dtype("<i8"), "u8": np.dtype("<u1"),
                "u16": np.dtype("<u2"), "u32": np.dtype("<u4"), "u64": np.dtype("<u8"),
                "f32": np.dtype("<f4"), "f64": np.dtype("<f8"), "c64": np.dtype("<c8"),
                "c128": np.dtype("<c16"), "char": np.dtype("S1")}
ITEM_SIZES = {k: v.itemsize for k, v in NUMPY_DTYPES.items()}


class SignatureError(ValueError):
    pass


@dataclass
class Sig:
    """One node of a parsed signature: ``kind`` is the name before ``<`` (``struct`` for
    ``struct{...}``), ``args`` the nested signatures, ``n`` the N of ``array<T,N>``,
    ``ratio`` the (num, den) of a duration, ``clock`` a time_point's clock."""

    kind: str
    args: list = field(default_factory=list)
    n: int = 0
    ratio: tuple = (1, 1)
    clock: str = ""

    def __str__(self) -> str:
        k = self.kind
        if k == "struct":
            return "struct{" + ",".join(map(str, self.args)) + "}"
        if k == "array":
            return f"array<{self.args[0]},{self.n}>"
        if k == "duration":
            return f"duration<{self.args[0]},{self.ratio[0]}/{self.ratio[1]}>"
        if k == "time_point":
            return f"time_point<{self.clock},{self.args[0]}>"
        if self.args or k in ("tuple", "variant"):
            return k + "<" + ",".join(map(str, self.args)) + ">"
        return k

    # --- what the node is ----------------------------------------------------------------
    def element_dtype(self):
        """The array-node dtype name of this node as an element, or None (see FORMAT.md:
        arithmetic other than bool and long double, byte, complex<f32>, complex<f64>)."""
        if self.kind in DTYPE_CODES and self.kind != "bool":
            return self.kind
        if self.kind == "byte":
            return "u8"
        if self.kind == "complex" and self.args[0].kind in ("f32", "f64"):
            return "c64" if self.args[0].kind == "f32" else "c128"
        return None

    def array_dtype(self):
        """The dtype when this node is an array node (vector<E>, array<E,N>, ndarray<E>)."""
        if self.kind in ("vector", "array"):
            return self.args[0].element_dtype()
        if self.kind == "ndarray":
            e = self.args[0]
            return "bool" if e.kind == "bool" else e.element_dtype()
        return None

    def min_size(self) -> int:
        """Smallest encoding of this type, as min_encoded_size in decode.hpp."""
        k = self.kind
        if self.array_dtype() is not None:
            return 3
        if k in SCALARS:
            return SCALARS[k][1]
        if k in ("optional", "ptr"):
            return 1
        if k == "enum":
            return self.args[0].min_size()
        if k in ("str", "path", "json", "vector", "deque", "list", "set", "multiset",
                 "unordered_set", "unordered_multiset", "map", "multimap", "unordered_map",
                 "unordered_multimap"):
            return 8
        if k == "array":
            return self.n * self.args[0].min_size()
        if k in ("pair", "tuple", "struct"):
            return sum(a.min_size() for a in self.args)
        if k == "variant":
            return 4
        if k == "duration":
            return self.args[0].min_size()
        if k == "time_point":
            return self.args[0].min_size()
        if k == "complex":
            return 2 * self.args[0].min_size()
        return 0  # monostate


def parse(text: str) -> Sig:
    """Parses a type signature; raises SignatureError (a ValueError) when malformed."""
    if not isinstance(text, str):
        raise SignatureError("the type signature is not a string")
    p = _Parser(text)
    sig = p.sig(0)
    if p.pos != len(text):
        raise SignatureError(f"unexpected {text[p.pos:p.pos + 10]!r} at {p.pos} in {text!r}")
    return sig


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def fail(self, what: str):
        raise SignatureError(f"bad type signature {self.text[:200]!r} at {self.pos}: {what}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, c: str) -> None:
        if self.peek() != c:
            self.fail(f"expected {c!r}")
        self.pos += 1

    def ident(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or
                                              self.text[self.pos] == "_"):
            self.pos += 1
        if start == self.pos:
            self.fail("expected a name")
        return self.text[start:self.pos]

    def number(self, signed: bool) -> int:
        start = self.pos
        if signed and self.peek() == "-":
            self.pos += 1
        digits = self.pos
        while self.peek().isdigit() and self.peek().isascii():
            self.pos += 1
        if digits == self.pos or self.pos - digits > 20:
            self.fail("expected a number")
        return int(self.text[start:self.pos])

    def sig_list(self, depth: int, close: str) -> list:
        out = []
        if self.peek() == close:
            self.pos += 1
            return out
        while True:
            out.append(self.sig(depth + 1))
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect(close)
            return out

    def sig(self, depth: int) -> Sig:
        if depth > MAX_DEPTH:
            self.fail("nested too deeply")
        name = self.ident()
        if name == "struct":
            self.expect("{")
            return Sig("struct", self.sig_list(depth, "}"))
        if self.peek() != "<":
            if name in SCALARS or name in OTHER_LEAVES:
                return Sig(name)
            self.fail(f"unknown type {name!r}")
        self.pos += 1
        if name in ("tuple", "variant"):
            args = self.sig_list(depth, ">")
            if name == "variant" and not args:
                self.fail("variant of no alternatives")
            return Sig(name, args)
        if name == "array":
            elem = self.sig(depth + 1)
            self.expect(",")
            n = self.number(False)
            self.expect(">")
            return Sig("array", [elem], n=n)
        if name == "duration":
            rep = self.sig(depth + 1)
            if rep.kind not in SCALARS or rep.kind in ("bool", "char", "byte"):
                self.fail("a duration's count must be a number")
            self.expect(",")
            num = self.number(True)
            self.expect("/")
            den = self.number(True)
            self.expect(">")
            if num == 0 or den == 0:
                self.fail("zero in a duration's period")
            return Sig("duration", [rep], ratio=(num, den))
        if name == "time_point":
            clock = self.ident()
            if clock not in CLOCKS:
                self.fail(f"unknown clock {clock!r}")
            self.expect(",")
            d = self.sig(depth + 1)
            if d.kind != "duration":
                self.fail("a time_point needs a duration")
            self.expect(">")
            return Sig("time_point", [d], clock=clock)
        if name in ONE_ARG or name in TWO_ARGS:
            args = self.sig_list(depth, ">")
            want = 1 if name in ONE_ARG else 2
            if len(args) != want:
                self.fail(f"{name} takes {want} type(s)")
            if name == "enum" and (args[0].kind not in SCALARS or
                                   args[0].kind in ("f32", "f64", "f80", "f128", "byte")):
                self.fail("an enum's underlying type must be an integer")
            if name == "complex" and args[0].kind not in ("f32", "f64", "f80", "f128"):
                self.fail("complex of a non-floating type")
            if name == "ndarray" and args[0].kind != "bool" and args[0].element_dtype() is None:
                self.fail("ndarray of a non-arithmetic type")
            return Sig(name, args)
        self.fail(f"unknown template {name!r}")
