"""A joblib::memory cache on disk (include/joblib/memory/filesystem_store.hpp):

    <location>/joblib/<function folder>/<k0k1>/<key>.jlc   one container per entry

An entry's container holds the function's result; its attributes (memory/detail/metadata.hpp)
hold ``function``, ``args_id``, ``input_args``, ``duration`` (seconds) and ``created``
(seconds since the Unix epoch). The entry file's modification time is its last use (LRU).
"""

from __future__ import annotations

import datetime
import os
import re
import stat

_KEY = re.compile(r"[0-9a-f]{32}\.jlc")
_HEX2 = re.compile(r"[0-9a-f]{2}")


class CacheEntry:
    """One cached call. ``function`` (the name given to cache()), ``key`` (32 hex digits),
    ``path``, ``size`` (bytes), ``last_used`` and ``created`` (aware UTC datetimes; created
    is None when the entry does not record it), ``input_args`` (e.g. ``"f(10, 20)"``),
    ``duration`` (seconds the computation took)."""

    def __init__(self, path, folder, info):
        self.path = path
        self.key = os.path.basename(path)[:32]
        self.size = info.st_size
        self.last_used = datetime.datetime.fromtimestamp(info.st_mtime, datetime.timezone.utc)
        self.function = folder
        self.input_args = ""
        self.duration = 0.0
        self.created = None
        self.args_id = ""
        self.error = None
        try:
            from ._container import Container
            attrs = Container(path).attributes
        except (ValueError, OSError) as e:  # a damaged or vanished entry is listed as such
            self.error = e
            return
        if isinstance(attrs.get("function"), str):
            self.function = attrs["function"]
        if isinstance(attrs.get("input_args"), str):
            self.input_args = attrs["input_args"]
        if isinstance(attrs.get("args_id"), str):
            self.args_id = attrs["args_id"]
        if isinstance(attrs.get("duration"), (int, float)) and \
                not isinstance(attrs.get("duration"), bool):
            self.duration = float(attrs["duration"])
        created = attrs.get("created")
        if isinstance(created, (int, float)) and not isinstance(created, bool):
            try:
                self.created = datetime.datetime.fromtimestamp(created, datetime.timezone.utc)
            except (OverflowError, OSError, ValueError):
                pass

    def load(self, mmap_mode=None):
        """The cached result (see joblib_cpp.load)."""
        from . import load
        return load(self.path, mmap_mode)

    def __repr__(self):
        return (f"CacheEntry({self.input_args or self.function!r}, key={self.key}, "
                f"size={self.size})")


class Cache:
    """The cache of ``joblib::memory(location)``: read-only access (nothing is written or
    touched, so listing does not change the LRU order)."""

    def __init__(self, location):
        self.location = os.fspath(location)
        self.root = os.path.join(self.location, "joblib")

    @staticmethod
    def _subfolders(folder):
        """Real subfolders (not links); a folder removed meanwhile (a concurrent clear) has
        none."""
        try:
            names = sorted(os.listdir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return []
        out = []
        for n in names:
            try:
                if stat.S_ISDIR(os.lstat(os.path.join(folder, n)).st_mode):
                    out.append(n)
            except FileNotFoundError:
                pass
        return out

    def functions(self):
        """Names of the functions that have entries (the names given to cache())."""
        return sorted({e.function for e in self.entries()})

    def entries(self, function=None):
        """Every entry (of ``function`` only when given), oldest use first."""
        out = []
        for folder in self._subfolders(self.root):
            fdir = os.path.join(self.root, folder)
            for fan in self._subfolders(fdir):
                ddir = os.path.join(fdir, fan)
                if not _HEX2.fullmatch(fan):
                    continue
                try:
                    names = sorted(os.listdir(ddir))
                except (FileNotFoundError, NotADirectoryError):
                    continue
                for name in names:
                    if not _KEY.fullmatch(name) or name[:2] != fan:
                        continue
                    path = os.path.join(ddir, name)
                    try:
                        info = os.lstat(path)
                    except FileNotFoundError:
                        continue
                    if stat.S_ISREG(info.st_mode):
                        entry = CacheEntry(path, folder, info)
                        if function is None or entry.function == function:
                            out.append(entry)
        out.sort(key=lambda e: e.last_used)
        return out

    def summary(self):
        """Per function: {"entries": n, "bytes": total, "oldest_use": .., "newest_use": ..}."""
        out = {}
        for e in self.entries():
            s = out.setdefault(e.function, {"entries": 0, "bytes": 0, "oldest_use": e.last_used,
                                            "newest_use": e.last_used})
            s["entries"] += 1
            s["bytes"] += e.size
            s["oldest_use"] = min(s["oldest_use"], e.last_used)
            s["newest_use"] = max(s["newest_use"], e.last_used)
        return out
