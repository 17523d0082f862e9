"""Exceptions. Everything a file can cause is a ValueError subclass naming file and offset."""

from __future__ import annotations


class FormatError(ValueError):
    """The file is not a valid joblib-cpp container (truncated, damaged or hostile).

    Attributes: ``path`` (the file, or ``"<memory>"``), ``offset`` (byte offset in the file
    where the problem was found) and ``reason``.
    """

    def __init__(self, path, offset: int, reason: str):
        self.path = str(path)
        self.offset = int(offset)
        self.reason = reason
        super().__init__(f"joblib_cpp: {self.path} at offset {self.offset}: {reason}")


class ChecksumError(FormatError):
    """A checksum (superblock, index, value stream, stripe or chunk) does not match."""


class TypeMismatchError(FormatError):
    """The stored type signature is not the one the caller asked for."""
