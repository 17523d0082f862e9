// joblib-cpp internals: the boundary between the serialization core and a container.
//
// Contiguous arithmetic data (std::vector<double>, std::span, std::array<float, N>, ndarray)
// is an *array node*: the value writer does not copy it into the value stream but hands it to
// an array_sink, which stores it as a separate aligned blob and returns an id; the stream keeps
// only that id. On load the value reader asks an array_source for the blob by id and either
// copies it (std::vector) or, for ndarray, views it in place, keeping the owner (an mmap, a
// decompressed buffer) alive through loaded_array::keep_alive.
//
// Without a sink/source (nullptr) arrays are written inline in the stream, so a value stream
// is self-contained when used on its own.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// Most dimensions an array may have (in the value stream and in a container's index).
inline constexpr std::size_t max_ndim = 32;

/// Element type of an array node; the numeric values are part of the on-disk format.
enum class dtype : std::uint8_t {
  boolean = 1,
  i8 = 2,
  i16 = 3,
  i32 = 4,
  i64 = 5,
  u8 = 6,
  u16 = 7,
  u32 = 8,
  u64 = 9,
  f32 = 10,
  f64 = 11,
  c64 = 12,    // std::complex<float>
  c128 = 13,   // std::complex<double>
  char8 = 14,  // char (distinct from i8/u8 in signatures; stored as one byte)
};

/// Size in bytes of one element, or 0 for a value that is not a known dtype.
constexpr std::size_t dtype_size(dtype t) noexcept {
  switch (t) {
    case dtype::boolean:
    case dtype::i8:
    case dtype::u8:
    case dtype::char8:
      return 1;
    case dtype::i16:
    case dtype::u16:
      return 2;
    case dtype::i32:
    case dtype::u32:
    case dtype::f32:
      return 4;
    case dtype::i64:
    case dtype::u64:
    case dtype::f64:
    case dtype::c64:
      return 8;
    case dtype::c128:
      return 16;
  }
  return 0;
}

/// Short name used in signatures, the index and tools ("f64", "c128", ...).
constexpr std::string_view dtype_name(dtype t) noexcept {
  switch (t) {
    case dtype::boolean:
      return "bool";
    case dtype::i8:
      return "i8";
    case dtype::i16:
      return "i16";
    case dtype::i32:
      return "i32";
    case dtype::i64:
      return "i64";
    case dtype::u8:
      return "u8";
    case dtype::u16:
      return "u16";
    case dtype::u32:
      return "u32";
    case dtype::u64:
      return "u64";
    case dtype::f32:
      return "f32";
    case dtype::f64:
      return "f64";
    case dtype::c64:
      return "c64";
    case dtype::c128:
      return "c128";
    case dtype::char8:
      return "char";
  }
  return "?";
}

/// True for the byte value of a known dtype (input from a file is checked with this).
constexpr bool is_valid_dtype(std::uint8_t raw) noexcept {
  return raw >= static_cast<std::uint8_t>(dtype::boolean) &&
         raw <= static_cast<std::uint8_t>(dtype::char8);
}

/// An array node being written: element type, shape (row-major) and its bytes.
/// bytes.size() == product(shape) * dtype_size(type).
struct array_out {
  dtype type;
  std::span<const std::uint64_t> shape;
  std::span<const std::byte> bytes;
};

/// Where a value writer puts array nodes (implemented by the container writer).
class array_sink {
 public:
  /// Stores the array (or queues it) and returns the id the value stream records for it.
  /// The bytes stay valid until the whole value has been written.
  virtual std::uint64_t put(const array_out& array) = 0;

 protected:
  ~array_sink() = default;
};

/// An array node being read back. `bytes` is suitably aligned for the element type and stays
/// valid as long as `keep_alive` (the mapping or buffer that holds it) lives. `owned` says the
/// buffer was made for this array alone (not a view of a mapping). `read_only` is true for
/// every array of a source opened read-only (mmap_mode::r): only a read-only ndarray<const T>
/// may then hold it. `borrowed` bytes (the caller's input to joblib::loads) are valid only
/// while the value is being read, need not be aligned and must not be written: the reader
/// copies them.
struct loaded_array {
  dtype type{};
  std::vector<std::uint64_t> shape;
  std::span<std::byte> bytes;
  std::shared_ptr<void> keep_alive;
  bool owned = false;
  bool read_only = false;
  bool borrowed = false;
};

/// Where a value reader gets array nodes from (implemented by the container reader).
/// get() throws joblib::format_error for an unknown id or a blob that fails its checks.
class array_source {
 public:
  virtual loaded_array get(std::uint64_t id) = 0;

 protected:
  ~array_source() = default;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
