// joblib-cpp internals: byte shuffle / unshuffle by item size (the Blosc "shuffle" filter).
//
// Shuffling groups byte j of every item together: for smooth numeric data the high-order bytes
// become long runs that zstd compresses far better. The fixed-size kernels are plain loops over
// unsigned char with a compile-time item size, which GCC and Clang auto-vectorize.
#pragma once

#include <cstddef>
#include <cstring>
#include <span>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

template <std::size_t ItemSize>
inline void shuffle_fixed(const unsigned char* in, unsigned char* out, std::size_t n) {
  // Blocking by 256 items keeps every output stream's write position in cache lines that the
  // inner loop revisits, instead of striding ItemSize streams through all of memory at once.
  constexpr std::size_t block = 256;
  std::size_t i0 = 0;
  for (; i0 + block <= n; i0 += block) {
    for (std::size_t j = 0; j < ItemSize; ++j) {
      unsigned char* dst = out + j * n + i0;
      const unsigned char* src = in + i0 * ItemSize + j;
      for (std::size_t i = 0; i < block; ++i) dst[i] = src[i * ItemSize];
    }
  }
  for (std::size_t j = 0; j < ItemSize; ++j) {
    for (std::size_t i = i0; i < n; ++i) out[j * n + i] = in[i * ItemSize + j];
  }
}

template <std::size_t ItemSize>
inline void unshuffle_fixed(const unsigned char* in, unsigned char* out, std::size_t n) {
  constexpr std::size_t block = 256;
  std::size_t i0 = 0;
  for (; i0 + block <= n; i0 += block) {
    for (std::size_t j = 0; j < ItemSize; ++j) {
      const unsigned char* src = in + j * n + i0;
      unsigned char* dst = out + i0 * ItemSize + j;
      for (std::size_t i = 0; i < block; ++i) dst[i * ItemSize] = src[i];
    }
  }
  for (std::size_t j = 0; j < ItemSize; ++j) {
    for (std::size_t i = i0; i < n; ++i) out[i * ItemSize + j] = in[j * n + i];
  }
}

inline void shuffle_generic(const unsigned char* in, unsigned char* out, std::size_t n,
                            std::size_t item_size) {
  for (std::size_t j = 0; j < item_size; ++j) {
    for (std::size_t i = 0; i < n; ++i) out[j * n + i] = in[i * item_size + j];
  }
}

inline void unshuffle_generic(const unsigned char* in, unsigned char* out, std::size_t n,
                              std::size_t item_size) {
  for (std::size_t j = 0; j < item_size; ++j) {
    for (std::size_t i = 0; i < n; ++i) out[i * item_size + j] = in[j * n + i];
  }
}

// Shared body of byte_shuffle / byte_unshuffle: fixed-size kernels for the common item sizes
// (so the compiler vectorises them), the generic loop otherwise, trailing bytes copied.
template <bool Shuffle>
void reorder_bytes(std::span<const std::byte> in, std::span<std::byte> out,
                   std::size_t item_size) noexcept {
  const auto* src = reinterpret_cast<const unsigned char*>(in.data());
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  if (item_size <= 1 || in.size() < item_size) {
    if (!in.empty()) std::memcpy(dst, src, in.size());
    return;
  }
  const std::size_t n = in.size() / item_size;
  auto fixed = [&]<std::size_t Size>() {
    if constexpr (Shuffle) {
      shuffle_fixed<Size>(src, dst, n);
    } else {
      unshuffle_fixed<Size>(src, dst, n);
    }
  };
  switch (item_size) {
    case 2:
      fixed.template operator()<2>();
      break;
    case 4:
      fixed.template operator()<4>();
      break;
    case 8:
      fixed.template operator()<8>();
      break;
    case 16:
      fixed.template operator()<16>();
      break;
    default:
      if constexpr (Shuffle) {
        shuffle_generic(src, dst, n, item_size);
      } else {
        unshuffle_generic(src, dst, n, item_size);
      }
      break;
  }
  const std::size_t tail = in.size() - n * item_size;
  if (tail != 0) std::memcpy(dst + n * item_size, src + n * item_size, tail);
}

/// Byte-shuffles `in` into `out` (same size, not overlapping) by `item_size`: byte j of item i
/// goes to out[j * n + i], n = in.size() / item_size. Trailing bytes that do not form a whole
/// item are copied unchanged. item_size <= 1 copies.
inline void byte_shuffle(std::span<const std::byte> in, std::span<std::byte> out,
                         std::size_t item_size) noexcept {
  reorder_bytes<true>(in, out, item_size);
}

/// Inverse of byte_shuffle with the same item_size.
inline void byte_unshuffle(std::span<const std::byte> in, std::span<std::byte> out,
                           std::size_t item_size) noexcept {
  reorder_bytes<false>(in, out, item_size);
}

}  // namespace detail
JOBLIB_END_NAMESPACE
