// joblib-cpp: persistence. joblib::dump / joblib::load store any serializable value in one
// container file: arrays as separate aligned blobs (raw and memory-mappable, or chunked, byte-
// shuffled and zstd-compressed in parallel), everything else as one value stream, all of it
// checksummed with XXH3, plus a JSON index that tools can read with joblib::inspect.
// docs/FORMAT.md specifies the file; loading never runs code and checks every size it reads.
//
//   joblib::dump(model, "model.jl", {.compress = 3});
//   auto m = joblib::load<model_t>("model.jl");
//   auto big = joblib::load<joblib::ndarray<double>>("big.jl", {.mmap = joblib::mmap_mode::r});
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/detail/container_io.hpp"
#include "joblib/errors.hpp"
#include "joblib/log.hpp"
#include "joblib/serialize.hpp"

JOBLIB_BEGIN_NAMESPACE

/// How load() treats raw arrays, as numpy's / joblib's mmap_mode: `none` copies them into
/// memory; `r` views a read-only shared mapping of the file (no copy, nothing read at load);
/// `r_plus` views a writable shared mapping (writes reach the file); `c` views a copy-on-write
/// mapping (writes stay in this process). Only types that can view memory (ndarray) use the
/// mapping; others (std::vector) are copied from it. Compressed arrays are always decompressed
/// into memory, which is reported through joblib::log at log_level::warning.
enum class mmap_mode { none, r, r_plus, c };

/// Options of joblib::dump (an aggregate: use designated initializers).
struct dump_options {
  /// 0: no compression (arrays stay memory-mappable); 1..22: zstd level (1-3 are fast);
  /// negative: zstd's fast levels (-1 fastest ... -131072). joblib's default is 0 as well.
  int compress = 0;
  /// Byte-shuffle compressed array chunks by item size (helps numeric data; items of 1 byte
  /// are never shuffled).
  bool shuffle = true;
  /// Uncompressed size of one compressed chunk (rounded down to whole items), 1 B .. 1 GiB.
  std::size_t chunk_size = std::size_t{1} << 20;
  /// Threads that compress chunks (and checksum raw arrays while they are written); 0: one
  /// per hardware thread.
  std::size_t threads = 0;
  /// A JSON object stored with the value (see inspect()).
  nlohmann::json attributes = nlohmann::json::object();
  /// fsync the file and its directory before returning (survives power loss; slower). Without
  /// it a dump is still atomic against crashes of the process (readers see the old file or
  /// the new one, never a mix), but after a power loss the new file may be empty.
  bool durable = false;
};

/// Options of joblib::load (an aggregate: use designated initializers).
struct load_options {
  /// See mmap_mode.
  mmap_mode mmap = mmap_mode::none;
  /// Verify every checksum (and that padding is zero) before using the bytes. Raw arrays in
  /// mmap modes are not read at load, so their stripe checksums are not checked there.
  bool verify = true;
  /// Threads that decompress chunks and read raw arrays; 0: one per hardware thread.
  std::size_t threads = 0;
};

namespace detail {

inline write_settings to_write_settings(const dump_options& o) {
  write_settings s;
  s.level = o.compress;
  s.shuffle = o.shuffle;
  s.chunk_size = o.chunk_size;
  s.threads = o.threads;
  s.durable = o.durable;
  return s;
}

inline read_settings to_read_settings(const load_options& o) {
  read_settings s;
  switch (o.mmap) {
    case mmap_mode::none:
      break;
    case mmap_mode::r:
      s.mapping = map_access::read_only;
      break;
    case mmap_mode::r_plus:
      s.mapping = map_access::read_write;
      break;
    case mmap_mode::c:
      s.mapping = map_access::copy_on_write;
      break;
  }
  s.verify = o.verify;
  s.threads = o.threads;
  return s;
}

/// joblib::dump, returning the size of the file it wrote (joblib::memory records it).
template <class T>
std::uint64_t dump_and_measure(const T& value, const std::filesystem::path& file,
                               const dump_options& options) {
  if (options.compress > 22) throw format_error("dump: compress must be at most 22");
  if (!options.attributes.is_object() && !options.attributes.is_null()) {
    throw format_error("dump: attributes must be a JSON object");
  }
  container_writer writer(file, to_write_settings(options));
  std::vector<std::byte> stream;
  write_value(value, stream, &writer);
  return writer.finish(type_signature<T>(), stream, options.attributes);
}
}  // namespace detail

/// Writes `value` to `file` (a temp file in the same directory, renamed into place when
/// complete: a failure never leaves a partial file under `file` nor damages an older one).
///
/// Throws std::filesystem::filesystem_error on I/O errors, joblib::format_error for invalid
/// options (compress > 22, attributes not an object, chunk_size out of range), and whatever
/// serializing `value` throws.
/// Thread safety: concurrent dumps (even to the same path: the last rename wins) are safe.
///
///   joblib::dump(std::vector<double>(1000, 1.0), "v.jl", {.compress = 3});
template <class T>
void dump(const T& value, const std::filesystem::path& file, dump_options options = {}) {
  detail::dump_and_measure(value, file, options);
}

/// Reads a value of type T from `file`.
///
/// Throws joblib::type_mismatch_error when the file holds another type (naming both type
/// signatures), joblib::format_error / joblib::checksum_error for anything malformed (naming
/// the file and offset), std::filesystem::filesystem_error when the file cannot be opened.
/// Thread safety: concurrent loads are safe.
///
///   auto v = joblib::load<std::vector<double>>("v.jl");
///   auto a = joblib::load<joblib::ndarray<double>>("a.jl", {.mmap = joblib::mmap_mode::r});
template <class T>
T load(const std::filesystem::path& file, load_options options = {}) {
  detail::container_reader reader(file, detail::to_read_settings(options));
  const std::string_view expected = type_signature<T>();
  if (reader.type_signature() != expected) {
    throw type_mismatch_error(std::string(expected), reader.type_signature(), file.string());
  }
  T value{};
  detail::read_value(value, reader.value_stream(), &reader);
  return value;
}

/// The index of a container, for tools: {"format", "version", "type", "attributes", "value",
/// "arrays": [{"dtype", "shape", "nbytes", "layout", "codec", "stored_size", ...}],
/// "file_size"}. Checks the superblock, trailer, index checksum and layout (not the data).
///
/// Throws as load() does. Thread safety: safe.
///
///   std::cout << joblib::inspect("model.jl").dump(2);
inline nlohmann::json inspect(const std::filesystem::path& file) {
  detail::container_reader reader(file, detail::read_settings{});
  nlohmann::json index = reader.index();
  index["file_size"] = reader.file_size();
  auto& arrays = index["arrays"];
  for (std::size_t i = 0; i < reader.arrays().size(); ++i) {
    const auto& a = reader.arrays()[i];
    std::uint64_t stored = a.chunked ? 0 : a.nbytes;
    bool any_zstd = false;
    bool any_raw = false;
    for (const auto& c : a.chunks) {
      stored += c.stored_size;
      (c.codec == detail::chunk_codec::zstd ? any_zstd : any_raw) = true;
    }
    arrays[i]["stored_size"] = stored;
    arrays[i]["codec"] = !any_zstd ? "raw" : any_raw ? "zstd+raw" : "zstd";
  }
  return index;
}

JOBLIB_END_NAMESPACE
