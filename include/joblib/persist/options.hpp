// joblib-cpp: the options of joblib::dump and joblib::load (and of load_npy): mmap_mode,
// dump_options, load_options. Included by <joblib/persist.hpp>; on its own for code that only
// passes options around.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE

/// How load() treats raw arrays, as numpy's / joblib's mmap_mode: `none` copies them into
/// memory; `r` views a read-only shared mapping of the file (no copy, nothing read at load);
/// `r_plus` views a writable shared mapping (writes reach the file); `c` views a copy-on-write
/// mapping (writes stay in this process). Only types that can view memory (ndarray) use the
/// mapping; others (std::vector) are copied from it. Compressed arrays are always decompressed
/// into memory, which is reported through joblib::log at log_level::warning.
///
/// With `r` the data is read-only, and the type says so: load into ndarray<const T>. Asking
/// for a writable ndarray<T> with `r` is refused (joblib::invalid_argument) rather than
/// handing out an array whose writes would fault.
enum class mmap_mode { none, r, r_plus, c };

/// Options of joblib::dump (an aggregate: use designated initializers).
struct dump_options {
  /// 0: no compression (arrays stay memory-mappable); 1..22: zstd level (1-3 are fast);
  /// negative: zstd's fast levels (-1 ... -131072, faster the lower). joblib's default is 0
  /// as well. Other values are joblib::invalid_argument.
  int compress = 0;
  /// Byte-shuffle compressed array chunks by item size (helps numeric data; items of 1 byte
  /// are never shuffled).
  bool shuffle = true;
  /// Uncompressed size of one compressed chunk (rounded down to whole items), 1 B .. 1 GiB.
  std::size_t chunk_size = std::size_t{1} << 20;
  /// Threads that compress chunks (and checksum raw arrays while they are written); 0: every
  /// CPU this process may use (joblib::cpu_count()).
  std::size_t threads = 0;
  /// A JSON object stored with the value (see inspect()).
  nlohmann::json attributes = nlohmann::json::object();
  /// fsync the file and its directory before returning (survives power loss; slower). Without
  /// it a dump is still atomic against crashes of the process (readers see the old file or
  /// the new one, never a mix), but after a power loss the new file may be empty. Files only:
  /// dumps and stream dumps ignore it.
  bool durable = false;
};

/// Options of joblib::load (an aggregate: use designated initializers).
struct load_options {
  /// See mmap_mode. Mapping needs a file: loads and stream loads accept only `none`.
  mmap_mode mmap = mmap_mode::none;
  /// Verify every checksum (and that padding is zero) before using the bytes. Raw arrays in
  /// mmap modes are not read at load, so their stripe checksums are not checked there.
  bool verify = true;
  /// Threads that decompress chunks and read raw arrays; 0: every CPU this process may use.
  std::size_t threads = 0;
  /// Open `file` through a symbolic link at its last component. False refuses one
  /// (joblib::format_error), as joblib::memory does for its entries. Files only.
  bool follow_symlinks = true;
};

JOBLIB_END_NAMESPACE
