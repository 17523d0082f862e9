// joblib-cpp internals: byte shuffle / unshuffle by item size (the Blosc "shuffle" filter).
//
// Shuffling groups byte j of every item together: for smooth numeric data the high-order bytes
// become long runs that zstd compresses far better. The fixed-size kernels are plain loops over
// unsigned char with a compile-time item size, which GCC and Clang auto-vectorize.
#pragma once

#include <cstddef>
#include <cstring>
#include <span>
#include <type_traits>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

// Byte j of item i sits at i * size + j in the interleaved layout and at j * n + i in the
// shuffled one (n items); Shuffle copies from the interleaved layout to the shuffled one,
// otherwise back. Size (when not 0) is `size` at compile time, which lets GCC and Clang
// vectorise the strided loops. Blocks of 256 items keep every plane's write position in cache
// lines that the inner loop revisits, instead of striding all planes through memory at once
// (that pays only for the vectorised kernels).
template <bool Shuffle, std::size_t Size>
void reorder_items(const unsigned char* in, unsigned char* out, std::size_t n,
                   std::size_t size) noexcept {
  if constexpr (Size != 0) size = Size;
  constexpr std::size_t block = 256;
  std::size_t i0 = 0;
  for (; Size != 0 && i0 + block <= n; i0 += block) {
    for (std::size_t j = 0; j < size; ++j) {
      const unsigned char* src = Shuffle ? in + i0 * size + j : in + j * n + i0;
      unsigned char* dst = Shuffle ? out + j * n + i0 : out + i0 * size + j;
      for (std::size_t i = 0; i < block; ++i) {
        if constexpr (Shuffle) {
          dst[i] = src[i * size];
        } else {
          dst[i * size] = src[i];
        }
      }
    }
  }
  for (std::size_t j = 0; j < size; ++j) {
    for (std::size_t i = i0; i < n; ++i) {
      if constexpr (Shuffle) {
        out[j * n + i] = in[i * size + j];
      } else {
        out[i * size + j] = in[j * n + i];
      }
    }
  }
}

// Shared body of byte_shuffle / byte_unshuffle: fixed-size kernels for the common item sizes,
// the generic loop otherwise, trailing bytes copied.
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
  switch (item_size) {
    case 2:
      reorder_items<Shuffle, 2>(src, dst, n, item_size);
      break;
    case 4:
      reorder_items<Shuffle, 4>(src, dst, n, item_size);
      break;
    case 8:
      reorder_items<Shuffle, 8>(src, dst, n, item_size);
      break;
    case 16:
      reorder_items<Shuffle, 16>(src, dst, n, item_size);
      break;
    default:
      reorder_items<Shuffle, 0>(src, dst, n, item_size);
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
