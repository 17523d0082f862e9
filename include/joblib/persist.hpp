// joblib-cpp: persistence. joblib::dump / joblib::load store any serializable value in one
// container file: arrays as separate aligned blobs (raw and memory-mappable, or chunked, byte-
// shuffled and zstd-compressed in parallel), everything else as one value stream, all of it
// checksummed with XXH3, plus an index (CBOR) that tools read with joblib::inspect.
// docs/FORMAT.md specifies the file; loading never runs code and checks every size it reads.
// The same container also lives in memory (dumps / loads) or in a stream (dump / load with a
// std::ostream / std::istream), byte for byte what dump writes to a file. NumPy's .npy files
// are read and written by save_npy / load_npy (persist/npy.hpp, included here).
//
//   joblib::dump(model, "model.jl", {.compress = 3});
//   auto m = joblib::load<model_t>("model.jl");
//   auto big = joblib::load<joblib::ndarray<const double>>("big.jl", {.mmap =
//   joblib::mmap_mode::r});
//   std::vector<std::byte> bytes = joblib::dumps(model);
//   auto again = joblib::loads<model_t>(bytes);
#pragma once

#include <zstd.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/persist/detail/reader.hpp"
#include "joblib/persist/detail/sink.hpp"
#include "joblib/persist/detail/stream_input.hpp"
#include "joblib/persist/detail/writer.hpp"
#include "joblib/persist/npy.hpp"
#include "joblib/persist/options.hpp"
#include "joblib/serialize.hpp"

JOBLIB_BEGIN_NAMESPACE

namespace detail {

/// Checks `o` for every dump entry point (file, bytes, stream) before anything is written.
inline write_settings to_write_settings(const dump_options& o) {
  if (o.compress < ZSTD_minCLevel() || o.compress > ZSTD_maxCLevel()) {
    throw invalid_argument("joblib::dump: compress = " + std::to_string(o.compress) +
                           " is not a zstd level (" + std::to_string(ZSTD_minCLevel()) + " .. " +
                           std::to_string(ZSTD_maxCLevel()) + ", 0 for none)");
  }
  if (!o.attributes.is_object() && !o.attributes.is_null()) {
    throw invalid_argument("joblib::dump: attributes must be a JSON object");
  }
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
  s.links = o.follow_symlinks ? symlinks::follow : symlinks::refuse;
  return s;
}

/// What stands for the path in errors about input in memory or from a stream.
inline constexpr std::string_view memory_input_name = "<memory>";
inline constexpr std::string_view stream_input_name = "<stream>";

/// Settings for a container in memory: refuses mmap modes, naming the entry point `who`.
inline read_settings to_memory_read_settings(const load_options& o, std::string_view who) {
  if (o.mmap != mmap_mode::none) {
    throw invalid_argument(std::string(who) +
                           ": mmap needs a file (mmap_mode::r, r_plus and c map one); bytes "
                           "and streams load with mmap_mode::none");
  }
  return to_read_settings(o);
}

/// Writes `value` through `writer` (every dump entry point); returns the container's size.
template <class T>
std::uint64_t write_container(const T& value, container_writer& writer,
                              const dump_options& options) {
  std::vector<std::byte> stream;
  write_value(value, stream, &writer);
  return writer.finish(type_signature<T>(), stream, options.attributes);
}

/// Reads the value `reader` holds as a T (every load entry point).
template <class T>
T read_container(container_reader& reader, mmap_mode mmap) {
  if (mmap == mmap_mode::r && contains_writable_ndarray<T>()) {
    throw invalid_argument(read_only_misuse_message);
  }
  const std::string_view expected = joblib::type_signature<T>();
  if (reader.type_signature() != expected) {
    throw type_mismatch_error(std::string(expected), reader.type_signature(),
                              reader.path().string());
  }
  T value{};
  read_value(value, reader.value_stream(), &reader);
  return value;
}

/// inspect()'s answer for an opened container.
inline nlohmann::json describe(container_reader& reader) {
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
      (c.codec == chunk_codec::zstd ? any_zstd : any_raw) = true;
    }
    arrays[i]["stored_size"] = stored;
    arrays[i]["codec"] = !any_zstd ? "raw" : any_raw ? "zstd+raw" : "zstd";
  }
  return index;
}

}  // namespace detail

/// A container file opened for reading: superblock, trailer and index checked, nothing
/// loaded yet. `joblib::load<T>(file, options)` is `container_file(file, options).load<T>()`;
/// open one yourself to look at the stored type or attributes before (or instead of) loading.
///
///   joblib::container_file f("model.jl");
///   if (f.type_signature() == joblib::type_signature<model_t>()) auto m = f.load<model_t>();
///
/// Thread safety: one thread at a time per object; any number of objects may read one file.
class container_file {
 public:
  /// Opens `file`. Throws std::filesystem::filesystem_error when it cannot be opened and
  /// joblib::format_error / checksum_error when it is not a valid container.
  explicit container_file(const std::filesystem::path& file, load_options options = {})
      : options_(options),
        reader_(
            std::make_unique<detail::container_reader>(file, detail::to_read_settings(options))) {}

  /// Like the constructor, but an empty optional when `file` does not exist.
  static std::optional<container_file> open_if_exists(const std::filesystem::path& file,
                                                      load_options options = {}) {
    auto reader = detail::container_reader::open_if_exists(file, detail::to_read_settings(options));
    if (!reader) return std::nullopt;
    return container_file(options, std::move(reader));
  }

  /// The stored value's type signature (see joblib::type_signature).
  std::string_view type_signature() const noexcept { return reader_->type_signature(); }

  /// The attributes given to dump (dump_options::attributes); an empty object if none.
  nlohmann::json attributes() {
    return reader_->index().value("attributes", nlohmann::json::object());
  }

  /// One top-level attribute whose value is a string, without parsing the whole index (the
  /// cheap way to check an attribute on a hot path); empty when there is no such string.
  std::optional<std::string_view> text_attribute(std::string_view name) const noexcept {
    return reader_->text_attribute(name);
  }

  /// The file's size in bytes.
  std::uint64_t size() const noexcept { return reader_->file_size(); }

  /// The open file descriptor (valid while this object lives).
  int native_handle() const noexcept { return reader_->fd(); }

  /// The file's path.
  const std::filesystem::path& path() const noexcept { return reader_->path(); }

  /// Reads the stored value as a T, as joblib::load does (same checks, same exceptions).
  template <class T>
  T load() {
    return detail::read_container<T>(*reader_, options_.mmap);
  }

 private:
  container_file(load_options options, std::unique_ptr<detail::container_reader> reader)
      : options_(options), reader_(std::move(reader)) {}

  load_options options_;
  std::unique_ptr<detail::container_reader> reader_;
};

/// Writes `value` to `file` (a temp file in the same directory, renamed into place when
/// complete: a failure never leaves a partial file under `file` nor damages an older one).
/// Returns the size of the file written, in bytes.
///
/// Throws std::filesystem::filesystem_error on I/O errors, joblib::invalid_argument for invalid
/// options (a compress level zstd does not have, attributes not an object, chunk_size out of
/// range) or a value that cannot be encoded, and whatever serializing `value` throws.
/// Thread safety: concurrent dumps (even to the same path: the last rename wins) are safe.
///
///   joblib::dump(std::vector<double>(1000, 1.0), "v.jl", {.compress = 3});
template <class T>
std::uint64_t dump(const T& value, const std::filesystem::path& file, dump_options options = {}) {
  detail::container_writer writer(file, detail::to_write_settings(options));
  return detail::write_container(value, writer, options);
}

/// Writes `value` as a container to `out`, from its current position: the bytes dump() would
/// write to a file, and what load(std::istream&) reads back. The container is written as it
/// is produced (arrays are not gathered in memory first). Returns the number of bytes written.
///
/// Throws std::ios_base::failure when `out` is not good at the start or fails while being
/// written or flushed (badbit or failbit; the stream then holds part of a container), what
/// dump() throws for invalid options (checked before anything is written) or values, and
/// whatever serializing `value` throws. `options.durable` does not apply. Thread safety: one
/// thread at a time per stream (the library writes to it from its own pool threads, one at a
/// time, while the call runs).
///
///   std::ofstream out("model.jl", std::ios::binary);
///   joblib::dump(model, out, {.compress = 3});
template <class T>
std::uint64_t dump(const T& value, std::ostream& out, dump_options options = {}) {
  const detail::write_settings settings = detail::to_write_settings(options);
  detail::ostream_sink sink(out);
  detail::container_writer writer(sink, settings);
  return detail::write_container(value, writer, options);
}

/// Returns the container dump() would write to a file for the same value and options, byte
/// for byte, built in memory (no temporary file): what joblib::loads reads, and what travels
/// between processes. Array data is copied once into the result (compressed when asked).
///
/// Throws what dump() throws, except I/O errors (there is no I/O); `options.durable` does not
/// apply. Thread safety: concurrent calls are safe.
///
///   std::vector<std::byte> bytes = joblib::dumps(std::vector<double>(1000, 1.0));
template <class T>
std::vector<std::byte> dumps(const T& value, dump_options options = {}) {
  const detail::write_settings settings = detail::to_write_settings(options);
  std::vector<std::byte> out;
  detail::vector_sink sink(out);
  detail::container_writer writer(sink, settings);
  detail::write_container(value, writer, options);
  return out;
}

/// Reads a value of type T from `file`.
///
/// Throws joblib::type_mismatch_error when the file holds another type (naming both type
/// signatures), joblib::format_error / joblib::checksum_error for anything malformed (naming
/// the file and offset), std::filesystem::filesystem_error when the file cannot be opened, and
/// joblib::invalid_argument for a writable ndarray<T> with mmap_mode::r (use ndarray<const T>).
/// Thread safety: concurrent loads are safe.
///
///   auto v = joblib::load<std::vector<double>>("v.jl");
///   auto a = joblib::load<joblib::ndarray<const double>>("a.jl", {.mmap = joblib::mmap_mode::r});
template <class T>
T load(const std::filesystem::path& file, load_options options = {}) {
  if (options.mmap == mmap_mode::r && detail::contains_writable_ndarray<T>()) {
    throw invalid_argument(detail::read_only_misuse_message);  // before touching the file
  }
  return container_file(file, options).template load<T>();
}

/// Reads a value of type T from a container held in memory (what dumps returns, or the bytes
/// of a container file), with every check load() makes of a file: checksums, and sizes
/// bounded by the input, so that hostile bytes give a joblib::format_error naming "<memory>"
/// and the offset, never a crash or an unbounded allocation. Arrays are read straight from
/// `bytes` into the result (one copy); `bytes` need not be aligned and is not needed once
/// loads returns.
///
/// Throws joblib::invalid_argument for an mmap mode other than none ("mmap needs a file"),
/// and otherwise what load() throws, without the I/O errors. Thread safety: concurrent loads,
/// even of the same bytes, are safe.
///
///   auto v = joblib::loads<std::vector<double>>(bytes);
template <class T>
T loads(std::span<const std::byte> bytes, load_options options = {}) {
  detail::container_reader reader(bytes, detail::memory_input_name,
                                  detail::to_memory_read_settings(options, "joblib::loads"));
  return detail::read_container<T>(reader, options.mmap);
}

/// Reads a value of type T from `in`, from its current position to its end (a container's
/// index is at its end, so one stream holds one container; eofbit is set afterwards). The
/// stream is read in bounded steps into memory, never trusting a size the stream claims, then
/// loaded as loads() does; errors name "<stream>" and the offset from where reading started.
///
/// Throws joblib::invalid_argument for an mmap mode other than none (before reading),
/// std::ios_base::failure when `in` is not good at the start, whatever the stream buffer
/// throws (badbit is set), and what loads() throws (a stream that ends early is a truncated
/// container: joblib::format_error). Thread safety: one thread at a time per stream.
///
///   std::ifstream in("model.jl", std::ios::binary);
///   auto m = joblib::load<model_t>(in);
template <class T>
T load(std::istream& in, load_options options = {}) {
  const detail::read_settings settings = detail::to_memory_read_settings(options, "joblib::load");
  const detail::stream_bytes bytes = detail::read_stream(in);
  detail::container_reader reader(bytes.view(), detail::stream_input_name, settings);
  return detail::read_container<T>(reader, options.mmap);
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
  return detail::describe(reader);
}

/// inspect() for a container held in memory ("file_size" is then its size); errors name
/// "<memory>".
///
///   std::cout << joblib::inspect(joblib::dumps(model))["type"];
inline nlohmann::json inspect(std::span<const std::byte> bytes) {
  detail::container_reader reader(bytes, detail::memory_input_name, detail::read_settings{});
  return detail::describe(reader);
}

JOBLIB_END_NAMESPACE
