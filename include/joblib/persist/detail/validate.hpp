// joblib-cpp internals: the validation of a container's index, as a pure function.
//
// validate_index() turns the parsed index (index_model) into the checked description a reader
// uses (container_layout): every key required, every dtype, codec and layout known, every
// size consistent with its shape and codec, every blob inside the data area between the
// superblock and the index. It reads nothing but its arguments, so a fuzzer can drive it
// alone; check_padding() then proves, from the file's bytes, that blobs do not overlap and
// that every byte between them is zero.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/persist/detail/chunk_codec.hpp"
#include "joblib/persist/detail/format.hpp"
#include "joblib/persist/detail/index.hpp"
#include "joblib/serialize/detail/array_node.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// One chunk of a chunked array (or the value stream, stored the same way), as validated.
struct chunk_entry {
  std::uint64_t offset = 0;
  std::uint64_t stored_size = 0;
  std::uint64_t raw_size = 0;
  chunk_codec codec = chunk_codec::raw;
  std::uint64_t checksum = 0;
};

/// One array node, as validated.
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

/// A byte range [begin, end) of the file that belongs to one blob.
struct file_region {
  std::uint64_t begin;
  std::uint64_t end;
};

/// A validated index: what a reader may trust.
struct container_layout {
  std::string type;  // the stored type signature
  chunk_entry value;
  std::vector<array_entry> arrays;
  bool has_raw_arrays = false;       // any raw array with bytes (mmap r_plus marks the file)
  std::vector<file_region> regions;  // every blob, superblock, index, trailer; sorted, disjoint
  std::vector<std::pair<std::string, std::string>> text_attributes;  // top-level strings
};

class index_validator {
 public:
  index_validator(const superblock& sb, const trailer& t, std::uint64_t file_size,
                  const std::filesystem::path& path)
      : superblock_(sb), trailer_(t), file_size_(file_size), path_(path) {}

  container_layout run(const index_model& m) {
    const std::uint64_t at = trailer_.index_offset;
    require(m.seen,
            {index_key::version, index_key::type, index_key::attributes, index_key::value,
             index_key::arrays},
            at);
    if (m.version.size() != 2 || m.version[0] != superblock_.major) fail(at, "version mismatch");
    layout_.type = m.type;
    layout_.text_attributes = m.text_attributes;

    const index_value& v = m.value;
    require(v.seen,
            {index_key::offset, index_key::stored_size, index_key::size, index_key::xxh3,
             index_key::codec},
            at);
    chunk_entry& value = layout_.value;
    value.offset = v.offset;
    value.stored_size = v.stored_size;
    value.raw_size = v.size;
    value.checksum = v.xxh3;
    if (v.codec == "raw")
      value.codec = chunk_codec::raw;
    else if (v.codec == "zstd")
      value.codec = chunk_codec::zstd;
    else
      fail(at, "unknown value stream codec '" + v.codec + "'");
    if ((value.codec == chunk_codec::raw && value.raw_size != value.stored_size) ||
        (value.codec == chunk_codec::zstd &&
         value.raw_size / max_value_stream_ratio > value.stored_size)) {
      fail(at, "value stream sizes are inconsistent (a zstd stream expands at most " +
                   std::to_string(max_value_stream_ratio) + "x)");
    }
    check_range(value.offset, value.stored_size, at, "value stream");

    layout_.arrays.reserve(m.arrays.size());
    for (const auto& node : m.arrays) layout_.arrays.push_back(validate_array(node, at));

    layout_.regions.push_back({0, superblock_size});
    layout_.regions.push_back({trailer_.index_offset, trailer_.index_offset + trailer_.index_size});
    layout_.regions.push_back({file_size_ - trailer_size, file_size_});
    check_regions();
    return std::move(layout_);
  }

 private:
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

  // Sorts the regions and checks, from the index alone, that they neither overlap nor leave a
  // gap larger than a writer's padding (a sparse hole would cost a reader a scan of nothing).
  void check_regions() {
    auto& regions = layout_.regions;
    std::sort(regions.begin(), regions.end(),
              [](const file_region& a, const file_region& b) { return a.begin < b.begin; });
    std::uint64_t end = 0;
    for (const auto& reg : regions) {
      if (reg.begin < end) throw format_error(path_, reg.begin, "overlapping blobs");
      if (reg.begin - end > max_padding) {
        throw format_error(path_, end,
                           "a gap of " + std::to_string(reg.begin - end) +
                               " bytes between blobs (writers pad less than " +
                               std::to_string(max_padding + 1) + ")");
      }
      end = reg.end;
    }
  }

  // Blobs live between the superblock and the index.
  void check_range(std::uint64_t offset, std::uint64_t size, std::uint64_t at, const char* what) {
    const std::uint64_t limit = trailer_.index_offset;
    if (offset < superblock_size || offset > limit || size > limit - offset) {
      throw format_error(path_, at, std::string(what) + " lies outside the data area");
    }
    if (size != 0) layout_.regions.push_back({offset, offset + size});
  }

  array_entry validate_array(const index_array& node, std::uint64_t at) {
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
      check_range(a.offset, a.nbytes, at, "array");
      layout_.has_raw_arrays = layout_.has_raw_arrays || a.nbytes != 0;
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
        check_range(c.offset, c.stored_size, at, "chunk");
        a.chunks.push_back(c);
      }
    } else {
      fail(at, "unknown layout '" + node.layout + "'");
    }
    return a;
  }

  superblock superblock_;
  trailer trailer_;
  std::uint64_t file_size_;
  const std::filesystem::path& path_;
  container_layout layout_;
};

/// Validates a parsed index against the superblock and trailer of a file of `file_size` bytes.
/// Throws format_error(path, offset, ...) naming the first problem.
inline container_layout validate_index(const index_model& model, const superblock& sb,
                                       const trailer& t, std::uint64_t file_size,
                                       const std::filesystem::path& path) {
  return index_validator(sb, t, file_size, path).run(model);
}

/// Every byte of the file belongs to exactly one region or is zero padding: a flipped bit
/// anywhere is then caught by a checksum or by this scan. `regions` are a validated layout's
/// (sorted, disjoint, with small gaps). Throws format_error.
inline void check_padding(std::span<const std::byte> file, std::span<const file_region> regions,
                          const std::filesystem::path& path) {
  std::uint64_t end = 0;
  for (const auto& reg : regions) {
    for (std::uint64_t i = end; i < reg.begin; ++i) {
      if (file[i] != std::byte{0}) throw format_error(path, i, "nonzero padding byte");
    }
    end = reg.end;
  }
}

}  // namespace detail
JOBLIB_END_NAMESPACE
