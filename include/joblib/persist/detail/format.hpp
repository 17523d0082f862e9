// joblib-cpp internals: the fixed-size parts of the container format (docs/FORMAT.md,
// "Container format"): the 64-byte superblock, the 32-byte trailer, little-endian field
// access and overflow-checked arithmetic (the index itself: index.hpp and validate.hpp).
//
// Every number taken from a file goes through these helpers, which throw joblib::format_error
// naming the file and offset; nothing here trusts the input.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/persist/detail/checksum.hpp"
#include "joblib/persist/detail/chunk_codec.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

static_assert(std::endian::native == std::endian::little,
              "joblib containers are little-endian; big-endian hosts need byte swaps here");

/// First 8 bytes of every container. 0x89 and CR LF SUB catch 7-bit and newline-mangling
/// transfers (the PNG trick); it can be neither a pickle (0x80) nor a .npy (0x93 "NUMPY").
inline constexpr std::array<unsigned char, 8> container_magic{0x89, 'J',  'B',  'L',
                                                              '\r', '\n', 0x1a, '\n'};
/// Last 8 bytes of every container.
inline constexpr std::array<unsigned char, 8> trailer_magic{'J', 'B', 'L', 'I', 'N', 'D', 'E', 'X'};

/// The version written. Format 2 stores the index as CBOR; format 1 (JSON index) is still read.
inline constexpr std::uint16_t format_major = 2;
inline constexpr std::uint16_t format_minor = 0;
inline constexpr std::uint16_t oldest_readable_major = 1;
inline constexpr std::size_t superblock_size = 64;
inline constexpr std::size_t trailer_size = 32;
/// Alignment of every blob, and of raw (mappable) arrays of at least page_align_threshold bytes.
inline constexpr std::uint64_t blob_alignment = 64;
inline constexpr std::uint64_t page_alignment = 4096;
inline constexpr std::uint64_t page_align_threshold = 64 * 1024;
/// Limits that keep a hostile index from costing unbounded memory or time.
inline constexpr std::uint64_t max_index_size = std::uint64_t{1} << 30;
inline constexpr std::uint64_t max_chunk_size = std::uint64_t{1} << 30;
/// A value stream may decompress to at most this many times its stored size; a writer stores a
/// stream raw when zstd does better. It bounds what a hostile stream can make a reader allocate.
inline constexpr std::uint64_t max_value_stream_ratio = 256;
/// An array's buffer is allocated before its chunks are checked only while it stays below
/// max(unverified_allocation_limit, max_unverified_ratio x its stored bytes); a larger one is
/// allocated once every chunk's checksum and frame header held (highly compressed data, where
/// that first pass reads little).
inline constexpr std::uint64_t max_unverified_ratio = 64;
inline constexpr std::uint64_t unverified_allocation_limit = std::uint64_t{64} << 20;
/// Writers never leave a gap of this many bytes between blobs (alignment pads less): a larger
/// gap (a sparse hole a reader would scan for nothing) is refused from the index alone.
inline constexpr std::uint64_t max_padding = page_alignment - 1;

/// Superblock flag: a raw array was opened with mmap_mode::r_plus, so its stripe checksums no
/// longer describe its bytes and readers skip them.
inline constexpr std::uint32_t flag_raw_modified = 1;

template <class U>
U load_le(const std::byte* p) noexcept {
  U v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class U>
void store_le(std::byte* p, U v) noexcept {
  std::memcpy(p, &v, sizeof v);
}

/// a + b, throwing on overflow.
inline std::uint64_t checked_add(std::uint64_t a, std::uint64_t b,
                                 const std::filesystem::path& path, std::uint64_t offset) {
  std::uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw format_error(path, offset, "size overflow");
  return r;
}

/// a * b, throwing on overflow.
inline std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b,
                                 const std::filesystem::path& path, std::uint64_t offset) {
  std::uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw format_error(path, offset, "size overflow");
  return r;
}

/// The decoded superblock.
struct superblock {
  std::uint16_t major = format_major;
  std::uint16_t minor = format_minor;
  std::uint32_t flags = 0;
};

/// Layout: magic[8] | u16 major | u16 minor | u32 flags | reserved (zero) to 56 | u64 XXH3 of
/// bytes [0, 56).
inline std::array<std::byte, superblock_size> encode_superblock(const superblock& sb) noexcept {
  std::array<std::byte, superblock_size> out{};
  std::memcpy(out.data(), container_magic.data(), container_magic.size());
  store_le<std::uint16_t>(out.data() + 8, sb.major);
  store_le<std::uint16_t>(out.data() + 10, sb.minor);
  store_le<std::uint32_t>(out.data() + 12, sb.flags);
  store_le<std::uint64_t>(out.data() + 56, checksum64(std::span(out).first(56)));
  return out;
}

/// Decodes and checks the superblock at the start of `file`.
inline superblock decode_superblock(std::span<const std::byte> file,
                                    const std::filesystem::path& path) {
  if (file.size() < container_magic.size() ||
      std::memcmp(file.data(), container_magic.data(), container_magic.size()) != 0) {
    std::string what = "not a joblib-cpp container (bad magic)";
    if (!file.empty() && static_cast<unsigned char>(file[0]) == 0x80) {
      what += "; this looks like a Python pickle (e.g. a Python joblib file)";
    } else if (file.size() >= 6 && std::memcmp(file.data(), "\x93NUMPY", 6) == 0) {
      what += "; this looks like a NumPy .npy file";
    }
    throw format_error(path, 0, what);
  }
  if (file.size() < superblock_size + trailer_size) {
    throw format_error(path, file.size(), "truncated container (shorter than header + trailer)");
  }
  superblock sb;
  sb.major = load_le<std::uint16_t>(file.data() + 8);
  sb.minor = load_le<std::uint16_t>(file.data() + 10);
  sb.flags = load_le<std::uint32_t>(file.data() + 12);
  // The version is checked before the checksum so a file from a future major version says so
  // even if that version changed the superblock layout.
  if (sb.major < oldest_readable_major || sb.major > format_major) {
    throw format_error(path, 8,
                       "unsupported container format version " + std::to_string(sb.major) + "." +
                           std::to_string(sb.minor) + " (this reader supports " +
                           std::to_string(oldest_readable_major) + ".x to " +
                           std::to_string(format_major) + ".x)");
  }
  const auto stored = load_le<std::uint64_t>(file.data() + 56);
  if (stored != checksum64(file.first(56)))
    throw checksum_error(path, 0, "superblock checksum mismatch");
  for (std::size_t i = 16; i < 56; ++i) {
    if (file[i] != std::byte{0}) throw format_error(path, i, "nonzero reserved superblock byte");
  }
  if ((sb.flags & ~flag_raw_modified) != 0)
    throw format_error(path, 12, "unknown superblock flags");
  return sb;
}

/// The decoded trailer: where the index is.
struct trailer {
  std::uint64_t index_offset = 0;
  std::uint64_t index_size = 0;
  std::uint64_t index_checksum = 0;
};

/// Layout: u64 index offset | u64 index size | u64 XXH3 of the index | magic[8].
inline std::array<std::byte, trailer_size> encode_trailer(const trailer& t) noexcept {
  std::array<std::byte, trailer_size> out{};
  store_le<std::uint64_t>(out.data(), t.index_offset);
  store_le<std::uint64_t>(out.data() + 8, t.index_size);
  store_le<std::uint64_t>(out.data() + 16, t.index_checksum);
  std::memcpy(out.data() + 24, trailer_magic.data(), trailer_magic.size());
  return out;
}

/// Decodes the trailer at the end of `file` and checks that the index lies between the
/// superblock and the trailer.
inline trailer decode_trailer(std::span<const std::byte> file, const std::filesystem::path& path) {
  const std::uint64_t at = file.size() - trailer_size;
  const std::byte* p = file.data() + at;
  if (std::memcmp(p + 24, trailer_magic.data(), trailer_magic.size()) != 0) {
    throw format_error(path, at + 24, "bad trailer magic (truncated or damaged file)");
  }
  trailer t;
  t.index_offset = load_le<std::uint64_t>(p);
  t.index_size = load_le<std::uint64_t>(p + 8);
  t.index_checksum = load_le<std::uint64_t>(p + 16);
  if (t.index_offset < superblock_size || t.index_offset > at ||
      t.index_size > at - t.index_offset || t.index_size > max_index_size || t.index_size == 0) {
    throw format_error(path, at, "trailer points outside the file");
  }
  return t;
}

/// Name of a codec in the index.
constexpr std::string_view codec_name(chunk_codec c) noexcept {
  return c == chunk_codec::zstd ? "zstd" : "raw";
}

}  // namespace detail
JOBLIB_END_NAMESPACE
