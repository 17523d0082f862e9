// joblib-cpp internals: the container reader, an array_source.
//
// It reads one span of bytes: a mapped file (or a small one read whole), or a container held
// in memory (joblib::loads, a stream read whole). It checks superblock, trailer and index
// checksum, validates the index (validate.hpp) and, when verifying, that every byte outside
// the blobs is zero padding, all before handing out anything. Arrays are then served by id:
// views of the mapping in mmap modes, raw arrays of in-memory input lent in place for the
// value reader to copy, or buffers filled by parallel preads / decompression on the library's
// pool; each blob is checked against its checksums first.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/detail/os/aligned_buffer.hpp"
#include "joblib/detail/os/mapped_file.hpp"
#include "joblib/errors.hpp"
#include "joblib/log.hpp"
#include "joblib/parallel/thread_pool.hpp"
#include "joblib/persist/detail/checksum.hpp"
#include "joblib/persist/detail/chunk_codec.hpp"
#include "joblib/persist/detail/format.hpp"
#include "joblib/persist/detail/index.hpp"
#include "joblib/persist/detail/validate.hpp"
#include "joblib/serialize/detail/array_node.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// How the reader opens a file (the public load_options, resolved).
struct read_settings {
  std::optional<map_access> mapping;  // nullopt: arrays are copied into memory
  bool verify = true;                 // check checksums and padding
  std::size_t threads = 0;            // 0: every CPU
  symlinks links = symlinks::follow;  // the cache refuses symbolic links
};

/// Reads one container; see the header comment. get() may be called from one thread at a time.
class container_reader final : public array_source {
 public:
  container_reader(const std::filesystem::path& path, read_settings settings)
      : container_reader(
            mapped_file::open(path, access(settings), may_copy(settings), settings.links), path,
            settings) {}

  /// Like the constructor, but nullptr when `path` does not exist (no exception thrown).
  static std::unique_ptr<container_reader> open_if_exists(const std::filesystem::path& path,
                                                          read_settings settings) {
    auto file =
        mapped_file::open_if_exists(path, access(settings), may_copy(settings), settings.links);
    if (!file) return nullptr;
    return std::unique_ptr<container_reader>(new container_reader(std::move(file), path, settings));
  }

  container_reader(std::shared_ptr<mapped_file> file, const std::filesystem::path& path,
                   read_settings settings)
      : path_(path), settings_(settings), file_(std::move(file)), bytes_(file_->bytes()) {
    open();
  }

  /// Reads a container held in memory; `bytes` must outlive the reader and what it hands out
  /// (arrays are lent, see get()). `name` stands for the path in errors ("<memory>"). Mapping
  /// needs a file: settings.mapping must be empty.
  container_reader(std::span<const std::byte> bytes, std::string_view name, read_settings settings)
      : path_(name), settings_(settings), bytes_(bytes) {
    if (settings_.mapping) throw invalid_argument("joblib: mmap needs a file");
    open();
  }

  /// The validated index as a DOM, attributes included (parsed on first use).
  const nlohmann::json& index() {
    if (!index_dom_) index_dom_ = parse_index_dom(index_bytes_, encoding(), path_, index_offset_);
    return *index_dom_;
  }
  /// The stored type signature.
  const std::string& type_signature() const noexcept { return type_; }
  /// A top-level attribute whose value is a string (read without building the index DOM).
  std::optional<std::string_view> text_attribute(std::string_view name) const noexcept {
    for (const auto& [key, value] : text_attributes_) {
      if (key == name) return value;
    }
    return std::nullopt;
  }
  /// The superblock as read.
  const superblock& header() const noexcept { return superblock_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  /// The container's size in bytes.
  std::uint64_t file_size() const noexcept { return bytes_.size(); }
  /// The open file's descriptor (valid while the reader lives); -1 for input in memory.
  int fd() const noexcept { return file_ ? file_->fd() : -1; }

  /// The value stream, checksum-verified and decompressed. Each call starts a new reading of
  /// the value: the arrays may be asked for again.
  std::span<const std::byte> value_stream() {
    const std::span<const std::byte> stored = bytes_.subspan(value_.offset, value_.stored_size);
    if (settings_.verify && checksum64(stored) != value_.checksum) {
      throw checksum_error(path_, value_.offset, "value stream checksum mismatch");
    }
    handed_out_.assign(arrays_.size(), false);
    if (value_.codec == chunk_codec::raw) return stored;
    // The frame must declare the size the index does before anything is allocated, and the
    // buffer is not zero-filled: the decompressor writes every byte of it.
    check_stored_chunk(stored, value_.codec, value_.raw_size, path_, value_.offset);
    value_buffer_ = allocate_declared(value_.raw_size, value_.offset);
    const std::span<std::byte> out(value_buffer_.get(), value_.raw_size);
    chunk_worker worker;
    worker.decode(stored, value_.codec, 1, out, path_, value_.offset);
    return out;
  }

  loaded_array get(std::uint64_t id) override {
    if (id >= arrays_.size()) {
      throw format_error(path_, value_.offset,
                         "value stream names array " + std::to_string(id) + " but the index has " +
                             std::to_string(arrays_.size()));
    }
    if (handed_out_[id]) {
      // Our writers store every array node once. Naming one blob twice would make a small
      // file decode the same (possibly huge) array over and over: refused.
      throw format_error(path_, value_.offset,
                         "the value stream names array " + std::to_string(id) + " twice");
    }
    handed_out_[id] = true;
    const array_entry& a = arrays_[id];
    loaded_array out;
    out.type = a.type;
    out.shape = a.shape;
    // mmap_mode::r makes every array read-only, mapped or not, so that what a type may hold
    // does not depend on how the file happens to store it.
    out.read_only = settings_.mapping == map_access::read_only;
    if (a.nbytes == 0) {
      out.keep_alive = file_;
      return out;
    }
    if (!a.chunked && settings_.mapping) {
      out.bytes = file_->bytes().subspan(a.offset, a.nbytes);
      out.keep_alive = file_;
      return out;
    }
    if (!a.chunked && !file_) {
      // Input in memory lives only as long as the load: the array is checked in place and lent
      // to the value reader, which copies it once into its destination.
      load_raw(a, {});
      out.bytes = std::span(const_cast<std::byte*>(bytes_.data()) + a.offset, a.nbytes);
      out.borrowed = true;
      return out;
    }
    const bool checked_early = a.chunked && check_chunks_before_allocating(a);
    auto buffer = allocate_declared(a.nbytes, a.chunked ? a.chunks.front().offset : a.offset);
    const std::span<std::byte> dst(buffer.get(), a.nbytes);
    if (!a.chunked) {
      load_raw(a, dst);
    } else {
      if (settings_.mapping) {
        log(log_level::warning, path_.string() + ": array " + std::to_string(id) +
                                    " is compressed and cannot be memory-mapped; it was "
                                    "decompressed into memory instead");
      }
      load_chunked(a, dst, checked_early);
    }
    out.bytes = dst;
    out.keep_alive = std::move(buffer);
    out.owned = true;
    return out;
  }

  /// The validated array table (for inspect and tests).
  const std::vector<array_entry>& arrays() const noexcept { return arrays_; }

 private:
  // Checks everything but the blobs' own bytes (see the header comment).
  void open() {
    superblock_ = decode_superblock(bytes_, path_);
    const trailer t = decode_trailer(bytes_, path_);
    const auto index_bytes = bytes_.subspan(t.index_offset, t.index_size);
    if (checksum64(index_bytes) != t.index_checksum) {
      throw checksum_error(path_, t.index_offset, "index checksum mismatch");
    }
    index_bytes_ = index_bytes;
    index_offset_ = t.index_offset;
    container_layout layout =
        validate_index(parse_index_model(index_bytes, encoding(), path_, t.index_offset),
                       superblock_, t, bytes_.size(), path_);
    if (settings_.verify) check_padding(bytes_, layout.regions, path_);
    type_ = std::move(layout.type);
    value_ = layout.value;
    arrays_ = std::move(layout.arrays);
    text_attributes_ = std::move(layout.text_attributes);
    handed_out_.assign(arrays_.size(), false);
    if (settings_.mapping == map_access::read_write && layout.has_raw_arrays &&
        (superblock_.flags & flag_raw_modified) == 0) {
      // Writes through this mapping would make the stripe checksums stale: say so in the file
      // before handing out a writable view, so later verified loads do not report corruption.
      superblock_.flags |= flag_raw_modified;
      const auto sb = encode_superblock(superblock_);
      std::memcpy(file_->bytes().data(), sb.data(), sb.size());
    }
  }

  // A raw array, stripe by stripe on the pool: read from the file into `dst` with pread (no
  // mapping page faults), or for input in memory (`dst` empty) looked at in place; each stripe
  // is checksummed while it is hot in cache.
  void load_raw(const array_entry& a, std::span<std::byte> dst) {
    const bool check = settings_.verify && (superblock_.flags & flag_raw_modified) == 0;
    if (!file_ && !check) return;
    const std::size_t stripe = a.stripe_size;
    const std::size_t stripes = a.stripe_sums.size();
    thread_pool::global().parallel_for(
        std::size_t{0}, stripes,
        [&](std::size_t s) {
          const std::size_t begin = s * stripe;
          const std::size_t size = std::min<std::size_t>(stripe, a.nbytes - begin);
          std::span<const std::byte> part = bytes_.subspan(a.offset + begin, size);
          if (file_) {
            file_->pread_exact(a.offset + begin, dst.subspan(begin, size));
            part = dst.subspan(begin, size);
          }
          if (check && checksum64(part) != a.stripe_sums[s]) {
            throw checksum_error(path_, a.offset + begin, "array stripe checksum mismatch");
          }
        },
        static_cast<unsigned>(codec_threads(settings_.threads, stripes)));
  }

  // A buffer for `size` bytes the file declares at `offset`. More than this process can get
  // (the file declares what no memory holds) is a format_error naming the file, like every
  // other problem a file can cause, rather than a bad_alloc from deep inside a load.
  std::shared_ptr<std::byte> allocate_declared(std::uint64_t size, std::uint64_t offset) {
    try {
      return allocate_aligned(static_cast<std::size_t>(size));
    } catch (const std::bad_alloc&) {
      throw format_error(path_, offset,
                         "declares " + std::to_string(size) +
                             " bytes of data, more memory than this process can allocate");
    }
  }

  // Every chunk's frame header declares its size (cheap: a header each); and when the array
  // would take more memory than max(unverified_allocation_limit, max_unverified_ratio x its
  // stored bytes), every chunk's checksum holds too, all before the array's buffer exists.
  // Returns whether the checksums were checked (they are then not checked again).
  bool check_chunks_before_allocating(const array_entry& a) {
    const std::span<const std::byte> file = bytes_;
    std::uint64_t stored = 0;
    for (const chunk_entry& c : a.chunks) {
      check_stored_chunk(file.subspan(c.offset, c.stored_size), c.codec, c.raw_size, path_,
                         c.offset);
      stored += c.stored_size;
    }
    const std::uint64_t allowed =
        std::max(unverified_allocation_limit, stored * max_unverified_ratio);
    if (!settings_.verify || a.nbytes <= allowed) return false;
    for (const chunk_entry& c : a.chunks) {
      if (checksum64(file.subspan(c.offset, c.stored_size)) != c.checksum) {
        throw checksum_error(path_, c.offset, "chunk checksum mismatch");
      }
    }
    return true;
  }

  void load_chunked(const array_entry& a, std::span<std::byte> dst, bool checksums_checked) {
    const std::size_t workers = codec_threads(settings_.threads, a.chunks.size());
    std::vector<chunk_worker> state(workers);
    const std::span<const std::byte> file = bytes_;
    thread_pool::global().parallel_for(
        std::size_t{0}, a.chunks.size(),
        [&](std::size_t i, unsigned w) {
          const chunk_entry& c = a.chunks[i];
          const auto stored = file.subspan(c.offset, c.stored_size);
          // Checksum before decompression: the decompressor only ever sees bytes we wrote.
          if (settings_.verify && !checksums_checked && checksum64(stored) != c.checksum) {
            throw checksum_error(path_, c.offset, "chunk checksum mismatch");
          }
          state[w].decode(stored, c.codec, a.shuffle, dst.subspan(i * a.chunk_size, c.raw_size),
                          path_, c.offset);
        },
        static_cast<unsigned>(workers));
  }

  static map_access access(const read_settings& s) noexcept {
    return s.mapping.value_or(map_access::read_only);
  }
  // Arrays are copied out anyway, so a small file may be read instead of mapped.
  static bool may_copy(const read_settings& s) noexcept { return !s.mapping.has_value(); }

  index_encoding encoding() const noexcept {
    return superblock_.major >= 2 ? index_encoding::cbor : index_encoding::json;
  }

  std::filesystem::path path_;
  read_settings settings_;
  std::shared_ptr<mapped_file> file_;  // null for input in memory
  std::span<const std::byte> bytes_;   // the whole container: file_'s bytes or the input
  superblock superblock_;
  std::span<const std::byte> index_bytes_;  // inside bytes_
  std::uint64_t index_offset_ = 0;
  std::optional<nlohmann::json> index_dom_;
  std::string type_;
  chunk_entry value_;
  std::vector<array_entry> arrays_;
  std::shared_ptr<std::byte> value_buffer_;
  std::vector<bool> handed_out_;  // which arrays this reading of the value already took
  std::vector<std::pair<std::string, std::string>> text_attributes_;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
