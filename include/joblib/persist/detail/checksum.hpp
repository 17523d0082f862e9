// joblib-cpp internals: XXH3-64 checksums of container blobs.
//
// Checksums of data hot in cache (every stripe of a dump or load) run 4x faster with the
// AVX2/AVX-512 kernels libxxhash picks at run time than with the inlined, baseline-ISA XXH3,
// so they go through the library's dispatcher when CMake found it (JOBLIB_XXH3_DISPATCH).
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cstddef>
#include <cstdint>
#include <span>

#include "joblib/config.hpp"
#include "joblib/detail/xxhash.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

#if JOBLIB_XXH3_DISPATCH
// libxxhash's run-time dispatched XXH3 (AVX2/AVX-512 where the CPU has them). Declared here
// rather than through <xxh_x86dispatch.h>, which clashes with XXH_INLINE_ALL; CMake defines
// JOBLIB_XXH3_DISPATCH only after linking a probe against this very symbol.
extern "C" XXH64_hash_t XXH3_64bits_dispatch(const void* input, std::size_t length);
#endif

#if JOBLIB_XXH3_DISPATCH && defined(__x86_64__)
// The library's AVX-512 kernel returns with the upper halves of the vector registers dirty,
// and every SSE instruction after that pays a state transition: the inlined XXH3 of
// joblib::hash ran 5x slower after one checksum. vzeroupper clears that state (on CPUs with
// AVX only: elsewhere the kernel is SSE2 and the instruction does not exist).
__attribute__((target("avx"))) inline void clear_upper_vector_state() noexcept {
  _mm256_zeroupper();
}
inline std::uint64_t dispatched_xxh3(const void* data, std::size_t size) noexcept {
  static const bool avx = __builtin_cpu_supports("avx");
  const std::uint64_t h = XXH3_64bits_dispatch(data, size);
  if (avx) clear_upper_vector_state();
  return h;
}
#elif JOBLIB_XXH3_DISPATCH
inline std::uint64_t dispatched_xxh3(const void* data, std::size_t size) noexcept {
  return XXH3_64bits_dispatch(data, size);
}
#endif

/// XXH3-64 (seed 0) of `bytes`.
inline std::uint64_t checksum64(std::span<const std::byte> bytes) noexcept {
#if JOBLIB_XXH3_DISPATCH
  // Worth a call into the library only for blocks that take longer than the call.
  if (bytes.size() >= 4096) return dispatched_xxh3(bytes.data(), bytes.size());
#endif
  return XXH3_64bits(bytes.data(), bytes.size());
}

}  // namespace detail
JOBLIB_END_NAMESPACE
