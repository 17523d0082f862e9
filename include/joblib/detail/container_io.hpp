// joblib-cpp internals: the container writer (an array_sink) and reader (an array_source).
//
// The writer streams: the superblock first, then each array node as put() receives it (raw and
// stripe-checksummed, or chunked and compressed in parallel), then the value stream, then the
// index (CBOR) and the trailer; everything goes to an atomic_file renamed into place at the end.
// The reader maps the file, checks superblock, trailer, index checksum and the whole layout
// (every blob inside the file, no overlaps, zero padding) before handing out anything.
#pragma once

#include <sys/mman.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/detail/array_node.hpp"
#include "joblib/detail/atomic_file.hpp"
#include "joblib/detail/chunk_codec.hpp"
#include "joblib/detail/container_format.hpp"
#include "joblib/detail/container_index.hpp"
#include "joblib/detail/mapped_file.hpp"
#include "joblib/detail/run_chunks_in_parallel.hpp"
#include "joblib/errors.hpp"
#include "joblib/log.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// How the writer stores things (the public dump_options, resolved).
struct write_settings {
  int level = 0;        // 0: raw arrays, raw value stream; else zstd level
  bool shuffle = true;  // byte-shuffle chunks by item size when > 1
  std::size_t chunk_size = std::size_t{1} << 20;
  std::size_t stripe_size = std::size_t{1} << 20;  // checksum stripes of raw arrays
  std::size_t threads = 0;                         // 0: all hardware threads
  bool durable = false;                            // fsync file and directory
};

/// Buffer aligned to 64 bytes without zero-filling (it is about to be overwritten). Large
/// buffers are 2 MiB-aligned and advised for transparent huge pages, as numpy does for its
/// arrays: faulting in 400 MB as 4 KiB pages costs more than reading the file itself.
inline std::shared_ptr<std::byte> allocate_aligned(std::size_t n) {
  constexpr std::size_t huge = std::size_t{2} << 20;
  if (n >= 4 * huge) {
    const std::size_t rounded = (n + huge - 1) / huge * huge;
    auto* p = static_cast<std::byte*>(std::aligned_alloc(huge, rounded));
    if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing but speed
#endif
    return std::shared_ptr<std::byte>(p, [](std::byte* q) { std::free(q); });
  }
  auto* p = static_cast<std::byte*>(::operator new (n == 0 ? 1 : n, std::align_val_t{64}));
  return std::shared_ptr<std::byte>(
      p, [](std::byte* q) { ::operator delete (q, std::align_val_t{64}); });
}

/// Writes one container; use put() (through write_value) then finish().
class container_writer final : public array_sink {
 public:
  container_writer(const std::filesystem::path& path, write_settings settings)
      : path_(path), settings_(settings), file_(path, settings.durable) {
    if (settings_.chunk_size == 0 || settings_.chunk_size > max_chunk_size) {
      throw format_error("dump: chunk_size must be in [1, 2^30]");
    }
    if (settings_.stripe_size == 0) settings_.stripe_size = std::size_t{1} << 20;
    const auto sb = encode_superblock(superblock{});
    file_.write(sb);
  }

  std::uint64_t put(const array_out& array) override {
    const std::size_t item = dtype_size(array.type);
    if (item == 0) throw format_error("dump: unknown dtype");
    if (array.shape.size() > max_ndim) throw format_error("dump: too many dimensions");
    std::uint64_t count = 1;
    for (auto d : array.shape) {
      if (__builtin_mul_overflow(count, d, &count)) throw format_error("dump: shape overflows");
    }
    std::uint64_t nbytes;
    if (__builtin_mul_overflow(count, std::uint64_t{item}, &nbytes) ||
        nbytes != array.bytes.size()) {
      throw format_error("dump: array bytes do not match shape and dtype");
    }
    nlohmann::json node;
    node["dtype"] = std::string(dtype_name(array.type));
    node["shape"] = std::vector<std::uint64_t>(array.shape.begin(), array.shape.end());
    node["nbytes"] = nbytes;
    if (settings_.level == 0 || nbytes == 0) {
      put_raw(array.bytes, node);
    } else {
      put_chunked(array.bytes, item, node);
    }
    arrays_.push_back(std::move(node));
    return arrays_.size() - 1;
  }

  /// Writes the value stream, the index and the trailer, then renames the file into place.
  /// Returns the file's size.
  std::uint64_t finish(std::string_view type_signature, std::span<const std::byte> value_stream,
                       const nlohmann::json& attributes) {
    nlohmann::json index;
    index["format"] = "joblib-cpp container";
    index["version"] = {format_major, format_minor};
    index["type"] = std::string(type_signature);
    index["attributes"] = attributes.is_null() ? nlohmann::json::object() : attributes;
    index["value"] = put_value_stream(value_stream);
    index["arrays"] = std::move(arrays_);
    file_.align_to(blob_alignment);
    const std::vector<std::uint8_t> encoded = nlohmann::json::to_cbor(index);
    const auto bytes = std::as_bytes(std::span(encoded));
    trailer t;
    t.index_offset = file_.size();
    t.index_size = bytes.size();
    t.index_checksum = checksum64(bytes);
    file_.write(bytes);
    const auto tr = encode_trailer(t);
    file_.write(tr);
    file_.commit();
    return file_.size();
  }

 private:
  void put_raw(std::span<const std::byte> bytes, nlohmann::json& node) {
    file_.align_to(bytes.size() >= page_align_threshold ? page_alignment : blob_alignment);
    const std::uint64_t offset = file_.size();
    file_.reserve(bytes.size());
    const std::size_t stripe = settings_.stripe_size;
    const std::size_t stripes = (bytes.size() + stripe - 1) / stripe;
    std::vector<std::uint64_t> sums(stripes);
    // Two tasks: this thread writes while another checksums the same (read-only) bytes, so
    // with two cores the checksums cost no wall time.
    run_chunks_in_parallel(2, settings_.threads, [&](std::size_t task, std::size_t) {
      if (task == 0) {
        file_.write(bytes);
      } else {
        for (std::size_t s = 0; s < stripes; ++s) {
          const std::size_t begin = s * stripe;
          sums[s] = checksum64(bytes.subspan(begin, std::min(stripe, bytes.size() - begin)));
        }
      }
    });
    node["layout"] = "raw";
    node["offset"] = offset;
    node["stripe_size"] = stripe;
    node["xxh3"] = std::move(sums);
  }

  void put_chunked(std::span<const std::byte> bytes, std::size_t item, nlohmann::json& node) {
    // Chunks hold whole items so that shuffling never splits one.
    const std::size_t chunk = std::max(item, settings_.chunk_size / item * item);
    const std::size_t shuffle_item = settings_.shuffle && item > 1 ? item : 1;
    const std::size_t chunks = (bytes.size() + chunk - 1) / chunk;
    const std::size_t workers = effective_chunk_workers(settings_.threads, chunks);
    if (workers_.size() < workers) workers_.resize(workers);
    // Chunks are compressed a window at a time in parallel; while window k+1 is being
    // compressed, a writer thread appends window k in order (two slot sets alternate). The
    // window bounds the memory held by compressed chunks waiting to be written.
    const std::size_t window = workers * 4;
    struct slot {
      chunk_codec codec = chunk_codec::raw;
      std::vector<std::byte> stored;
      std::uint64_t sum = 0;
    };
    std::vector<slot> slots[2];
    slots[0].resize(std::min(window, chunks));
    slots[1].resize(std::min(window, chunks));
    file_.align_to(blob_alignment);
    nlohmann::json table = nlohmann::json::array();
    auto compress = [&](std::size_t first, std::vector<slot>& into) {
      const std::size_t n = std::min(window, chunks - first);
      run_chunks_in_parallel(n, workers, [&](std::size_t i, std::size_t w) {
        const std::size_t begin = (first + i) * chunk;
        const auto in = bytes.subspan(begin, std::min(chunk, bytes.size() - begin));
        auto& s = into[i];
        s.codec = workers_[w].encode(in, settings_.level, shuffle_item);
        const auto stored = workers_[w].stored();
        s.sum = checksum64(stored);
        // Raw chunks are written straight from the caller's bytes: no copy.
        if (s.codec == chunk_codec::zstd) s.stored.assign(stored.begin(), stored.end());
      });
    };
    auto write = [&](std::size_t first, const std::vector<slot>& from) {
      const std::size_t n = std::min(window, chunks - first);
      std::uint64_t window_bytes = 0;
      for (std::size_t i = 0; i < n; ++i) {
        window_bytes += from[i].codec == chunk_codec::zstd
                            ? from[i].stored.size()
                            : std::min(chunk, bytes.size() - (first + i) * chunk);
      }
      file_.reserve(window_bytes);
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t begin = (first + i) * chunk;
        const auto in = bytes.subspan(begin, std::min(chunk, bytes.size() - begin));
        const auto& s = from[i];
        const std::span<const std::byte> out =
            s.codec == chunk_codec::zstd ? std::span<const std::byte>(s.stored) : in;
        table.push_back({file_.size(), out.size(), static_cast<int>(s.codec), s.sum});
        file_.write(out);
      }
    };
    compress(0, slots[0]);
    for (std::size_t k = 0, first = 0; first < chunks; ++k, first += window) {
      const std::size_t next = first + window;
      if (next >= chunks) {
        write(first, slots[k % 2]);
        break;
      }
      // Two tasks on the fan-out: one writes window k, the other compresses window k+1 (on all
      // workers; the writer mostly waits in the kernel, so the cores stay busy compressing).
      run_chunks_in_parallel(2, 2, [&](std::size_t task, std::size_t) {
        if (task == 0)
          write(first, slots[k % 2]);
        else
          compress(next, slots[(k + 1) % 2]);
      });
    }
    node["layout"] = "chunked";
    node["chunk_size"] = chunk;
    node["shuffle"] = shuffle_item;
    node["chunks"] = std::move(table);
  }

  nlohmann::json put_value_stream(std::span<const std::byte> stream) {
    file_.align_to(blob_alignment);
    chunk_worker worker;
    const chunk_codec codec = worker.encode(stream, settings_.level, 1);
    const auto stored = worker.stored();
    nlohmann::json v;
    v["offset"] = file_.size();
    v["stored_size"] = stored.size();
    v["size"] = stream.size();
    v["codec"] = std::string(codec_name(codec));
    v["xxh3"] = checksum64(stored);
    file_.write(stored);
    return v;
  }

  std::filesystem::path path_;
  write_settings settings_;
  atomic_file file_;
  nlohmann::json arrays_ = nlohmann::json::array();
  std::vector<chunk_worker> workers_;
};

/// How the reader opens a file (the public load_options, resolved).
struct read_settings {
  std::optional<map_access> mapping;  // nullopt: arrays are copied into memory
  bool verify = true;                 // check checksums and padding
  std::size_t threads = 0;            // 0: all hardware threads
};

/// One chunk of a chunked array (or the value stream, stored the same way), as validated from
/// the index.
struct chunk_entry {
  std::uint64_t offset = 0;
  std::uint64_t stored_size = 0;
  std::uint64_t raw_size = 0;
  chunk_codec codec = chunk_codec::raw;
  std::uint64_t checksum = 0;
};

/// One array node, as validated from the index.
struct array_entry {
  dtype type{};
  std::vector<std::uint64_t> shape;
  std::uint64_t nbytes = 0;
  bool chunked = false;
  std::uint64_t offset = 0;  // raw
  std::uint64_t stripe_size = 0;
  std::vector<std::uint64_t> stripe_sums;
  std::uint64_t chunk_size = 0;  // chunked
  std::size_t shuffle = 1;
  std::vector<chunk_entry> chunks;
};

/// Reads one container; see the header comment. get() may be called from one thread at a time.
class container_reader final : public array_source {
 public:
  container_reader(const std::filesystem::path& path, read_settings settings)
      : container_reader(mapped_file::open(path, access(settings), may_copy(settings)), path,
                         settings) {}

  /// Like the constructor, but nullptr when `path` does not exist (no exception thrown).
  static std::unique_ptr<container_reader> open_if_exists(const std::filesystem::path& path,
                                                          read_settings settings) {
    auto file = mapped_file::open_if_exists(path, access(settings), may_copy(settings));
    if (!file) return nullptr;
    return std::unique_ptr<container_reader>(new container_reader(std::move(file), path, settings));
  }

  container_reader(std::shared_ptr<mapped_file> file, const std::filesystem::path& path,
                   read_settings settings)
      : path_(path), settings_(settings), file_(std::move(file)) {
    const std::span<const std::byte> bytes = file_->bytes();
    superblock_ = decode_superblock(bytes, path_);
    const trailer t = decode_trailer(bytes, path_);
    const auto index_bytes = bytes.subspan(t.index_offset, t.index_size);
    if (checksum64(index_bytes) != t.index_checksum) {
      throw checksum_error(path_, t.index_offset, "index checksum mismatch");
    }
    index_bytes_ = index_bytes;
    index_offset_ = t.index_offset;
    validate(t, parse_index_model(index_bytes, encoding(), path_, t.index_offset));
    if (settings_.mapping == map_access::read_write && has_raw_arrays_ &&
        (superblock_.flags & flag_raw_modified) == 0) {
      // Writes through this mapping would make the stripe checksums stale: say so in the file
      // before handing out a writable view, so later verified loads do not report corruption.
      superblock_.flags |= flag_raw_modified;
      const auto sb = encode_superblock(superblock_);
      std::memcpy(file_->bytes().data(), sb.data(), sb.size());
    }
  }

  /// The validated index as a DOM, attributes included (parsed on first use).
  const nlohmann::json& index() {
    if (!index_dom_) index_dom_ = parse_index_dom(index_bytes_, encoding(), path_, index_offset_);
    return *index_dom_;
  }
  /// The stored type signature.
  const std::string& type_signature() const noexcept { return type_; }
  /// The superblock as read.
  const superblock& header() const noexcept { return superblock_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  std::uint64_t file_size() const noexcept { return file_->size(); }
  /// The open file's descriptor (valid while the reader lives).
  int fd() const noexcept { return file_->fd(); }

  /// The value stream, checksum-verified and decompressed.
  std::span<const std::byte> value_stream() {
    const std::span<const std::byte> stored =
        std::span<const std::byte>(file_->bytes()).subspan(value_.offset, value_.stored_size);
    if (settings_.verify && checksum64(stored) != value_.checksum) {
      throw checksum_error(path_, value_.offset, "value stream checksum mismatch");
    }
    if (value_.codec == chunk_codec::raw) return stored;
    value_buffer_.resize(value_.raw_size);
    chunk_worker worker;
    worker.decode(stored, value_.codec, 1, value_buffer_, path_, value_.offset);
    return value_buffer_;
  }

  loaded_array get(std::uint64_t id) override {
    if (id >= arrays_.size()) {
      throw format_error(path_, value_.offset,
                         "value stream names array " + std::to_string(id) + " but the index has " +
                             std::to_string(arrays_.size()));
    }
    const array_entry& a = arrays_[id];
    loaded_array out;
    out.type = a.type;
    out.shape = a.shape;
    if (a.nbytes == 0) {
      out.keep_alive = file_;
      out.writable = settings_.mapping != map_access::read_only;
      return out;
    }
    if (!a.chunked && settings_.mapping) {
      out.bytes = file_->bytes().subspan(a.offset, a.nbytes);
      out.keep_alive = file_;
      out.writable = *settings_.mapping != map_access::read_only;
      out.is_mapping = true;
      return out;
    }
    auto buffer = allocate_aligned(a.nbytes);
    const std::span<std::byte> dst(buffer.get(), a.nbytes);
    if (!a.chunked) {
      load_raw(a, dst);
    } else {
      if (settings_.mapping) {
        log(log_level::warning, path_.string() + ": array " + std::to_string(id) +
                                    " is compressed and cannot be memory-mapped; it was "
                                    "decompressed into memory instead");
      }
      load_chunked(a, dst);
    }
    out.bytes = dst;
    out.keep_alive = std::move(buffer);
    out.writable = true;
    return out;
  }

  /// The validated array table (for inspect and tests).
  const std::vector<array_entry>& arrays() const noexcept { return arrays_; }

 private:
  struct region {
    std::uint64_t begin;
    std::uint64_t end;
  };

  void load_raw(const array_entry& a, std::span<std::byte> dst) {
    const bool check = settings_.verify && (superblock_.flags & flag_raw_modified) == 0;
    const std::size_t stripe = a.stripe_size;
    const std::size_t stripes = a.stripe_sums.size();
    // Each task reads one stripe with pread (no mapping page faults) and checksums it while it
    // is hot in cache; stripes spread over the threads.
    run_chunks_in_parallel(stripes, settings_.threads, [&](std::size_t s, std::size_t) {
      const std::size_t begin = s * stripe;
      const auto part = dst.subspan(begin, std::min<std::size_t>(stripe, dst.size() - begin));
      file_->pread_exact(a.offset + begin, part);
      if (check && checksum64(part) != a.stripe_sums[s]) {
        throw checksum_error(path_, a.offset + begin, "array stripe checksum mismatch");
      }
    });
  }

  void load_chunked(const array_entry& a, std::span<std::byte> dst) {
    const std::size_t workers = effective_chunk_workers(settings_.threads, a.chunks.size());
    std::vector<chunk_worker> state(workers);
    const std::span<const std::byte> file = file_->bytes();
    run_chunks_in_parallel(a.chunks.size(), workers, [&](std::size_t i, std::size_t w) {
      const chunk_entry& c = a.chunks[i];
      const auto stored = file.subspan(c.offset, c.stored_size);
      // Checksum before decompression: the decompressor only ever sees bytes we wrote.
      if (settings_.verify && checksum64(stored) != c.checksum) {
        throw checksum_error(path_, c.offset, "chunk checksum mismatch");
      }
      state[w].decode(stored, c.codec, a.shuffle, dst.subspan(i * a.chunk_size, c.raw_size), path_,
                      c.offset);
    });
  }

  void check_range(std::uint64_t offset, std::uint64_t size, std::uint64_t limit, std::uint64_t at,
                   const char* what) {
    if (offset < superblock_size || offset > limit || size > limit - offset) {
      throw format_error(path_, at, std::string(what) + " lies outside the data area");
    }
    if (size != 0) regions_.push_back({offset, offset + size});
  }

  static map_access access(const read_settings& s) noexcept {
    return s.mapping.value_or(map_access::read_only);
  }
  // Arrays are copied out anyway, so a small file may be read instead of mapped.
  static bool may_copy(const read_settings& s) noexcept { return !s.mapping.has_value(); }

  index_encoding encoding() const noexcept {
    return superblock_.major >= 2 ? index_encoding::cbor : index_encoding::json;
  }

  [[noreturn]] void fail(std::uint64_t at, const std::string& what) const {
    throw format_error(path_, at, "index: " + what);
  }

  // Throws unless every key in `required` was present in an object whose keys are `seen`.
  void require(std::uint32_t seen, std::initializer_list<index_key> required,
               std::uint64_t at) const {
    for (index_key k : required) {
      if ((seen & key_bit(k)) == 0) fail(at, "missing '" + index_key_name(k) + "'");
    }
  }

  chunk_codec parse_codec(std::uint64_t raw, std::uint64_t at) const {
    if (raw == 0) return chunk_codec::raw;
    if (raw == 1) return chunk_codec::zstd;
    fail(at, "unknown codec " + std::to_string(raw));
  }

  void validate(const trailer& t, const index_model& m) {
    const std::uint64_t at = t.index_offset;
    const std::uint64_t limit = t.index_offset;  // blobs live between superblock and index
    require(m.seen,
            {index_key::version, index_key::type, index_key::attributes, index_key::value,
             index_key::arrays},
            at);
    if (m.version.size() != 2 || m.version[0] != superblock_.major) fail(at, "version mismatch");
    type_ = m.type;

    const index_value& v = m.value;
    require(v.seen,
            {index_key::offset, index_key::stored_size, index_key::size, index_key::xxh3,
             index_key::codec},
            at);
    value_.offset = v.offset;
    value_.stored_size = v.stored_size;
    value_.raw_size = v.size;
    value_.checksum = v.xxh3;
    if (v.codec == "raw")
      value_.codec = chunk_codec::raw;
    else if (v.codec == "zstd")
      value_.codec = chunk_codec::zstd;
    else
      fail(at, "unknown value stream codec '" + v.codec + "'");
    if ((value_.codec == chunk_codec::raw && value_.raw_size != value_.stored_size) ||
        (value_.codec == chunk_codec::zstd &&
         value_.raw_size / max_zstd_ratio > value_.stored_size)) {
      fail(at, "value stream sizes are inconsistent");
    }
    check_range(value_.offset, value_.stored_size, limit, at, "value stream");

    arrays_.reserve(m.arrays.size());
    for (const auto& node : m.arrays) arrays_.push_back(validate_array(node, limit, at));

    if (settings_.verify) check_layout(t);
  }

  array_entry validate_array(const index_array& node, std::uint64_t limit, std::uint64_t at) {
    require(node.seen, {index_key::dtype, index_key::shape, index_key::nbytes, index_key::layout},
            at);
    array_entry a;
    bool known = false;
    for (std::uint8_t raw = 1; is_valid_dtype(raw); ++raw) {
      if (dtype_name(static_cast<dtype>(raw)) == node.dtype) {
        a.type = static_cast<dtype>(raw);
        known = true;
      }
    }
    if (!known) fail(at, "unknown dtype '" + node.dtype + "'");
    const std::uint64_t item = dtype_size(a.type);
    std::uint64_t count = 1;
    for (const std::uint64_t d : node.shape) count = checked_mul(count, d, path_, at);
    a.shape = node.shape;
    a.nbytes = node.nbytes;
    if (checked_mul(count, item, path_, at) != a.nbytes) fail(at, "nbytes does not match shape");
    if (a.nbytes > std::numeric_limits<std::size_t>::max() / 2) fail(at, "array too large");
    if (node.layout == "raw") {
      require(node.seen, {index_key::offset, index_key::stripe_size, index_key::xxh3}, at);
      a.offset = node.offset;
      a.stripe_size = node.stripe_size;
      if (a.stripe_size == 0 || a.stripe_size > max_chunk_size) fail(at, "bad stripe size");
      if (a.offset % blob_alignment != 0 && a.nbytes != 0) fail(at, "misaligned array");
      if (node.stripe_sums.size() != (a.nbytes + a.stripe_size - 1) / a.stripe_size) {
        fail(at, "stripe count");
      }
      a.stripe_sums = node.stripe_sums;
      check_range(a.offset, a.nbytes, limit, at, "array");
      has_raw_arrays_ = has_raw_arrays_ || a.nbytes != 0;
    } else if (node.layout == "chunked") {
      require(node.seen, {index_key::chunk_size, index_key::shuffle, index_key::chunks}, at);
      a.chunked = true;
      a.chunk_size = node.chunk_size;
      if (a.chunk_size == 0 || a.chunk_size > max_chunk_size || a.chunk_size % item != 0) {
        fail(at, "bad chunk size");
      }
      if (node.shuffle != 1 && node.shuffle != item) fail(at, "bad shuffle");
      a.shuffle = static_cast<std::size_t>(node.shuffle);
      if (node.chunk_table.size() != (a.nbytes + a.chunk_size - 1) / a.chunk_size) {
        fail(at, "chunk count");
      }
      std::uint64_t left = a.nbytes;
      a.chunks.reserve(node.chunk_table.size());
      for (const auto& row : node.chunk_table) {
        chunk_entry c;
        c.offset = row[0];
        c.stored_size = row[1];
        c.codec = parse_codec(row[2], at);
        c.checksum = row[3];
        c.raw_size = std::min(left, a.chunk_size);
        left -= c.raw_size;
        if ((c.codec == chunk_codec::raw && c.stored_size != c.raw_size) ||
            (c.codec == chunk_codec::zstd && c.raw_size / max_zstd_ratio > c.stored_size)) {
          fail(at, "chunk sizes are inconsistent");
        }
        check_range(c.offset, c.stored_size, limit, at, "chunk");
        a.chunks.push_back(c);
      }
    } else {
      fail(at, "unknown layout '" + node.layout + "'");
    }
    return a;
  }

  // Every byte of the file belongs to exactly one region or is zero padding: a flipped bit
  // anywhere is then caught by a checksum or by this scan.
  void check_layout(const trailer& t) {
    regions_.push_back({0, superblock_size});
    regions_.push_back({t.index_offset, t.index_offset + t.index_size});
    regions_.push_back({file_->size() - trailer_size, file_->size()});
    std::sort(regions_.begin(), regions_.end(),
              [](const region& a, const region& b) { return a.begin < b.begin; });
    const std::span<const std::byte> bytes = file_->bytes();
    std::uint64_t end = 0;
    for (const auto& reg : regions_) {
      if (reg.begin < end) throw format_error(path_, reg.begin, "overlapping blobs");
      for (std::uint64_t i = end; i < reg.begin; ++i) {
        if (bytes[i] != std::byte{0}) throw format_error(path_, i, "nonzero padding byte");
      }
      end = reg.end;
    }
    if (end != file_->size()) throw format_error(path_, end, "data after the trailer");
    regions_.clear();
    regions_.shrink_to_fit();
  }

  std::filesystem::path path_;
  read_settings settings_;
  std::shared_ptr<mapped_file> file_;
  superblock superblock_;
  std::span<const std::byte> index_bytes_;  // inside file_
  std::uint64_t index_offset_ = 0;
  std::optional<nlohmann::json> index_dom_;
  std::string type_;
  chunk_entry value_;
  std::vector<array_entry> arrays_;
  std::vector<region> regions_;
  std::vector<std::byte> value_buffer_;
  bool has_raw_arrays_ = false;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
