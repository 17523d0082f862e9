// The baseline: Debian's libxxhash, called through its exported symbol (this TU does not
// define XXH_INLINE_ALL, so XXH3_128bits is the shared library's function).
#include <xxhash.h>

#include <cstddef>
#include <cstdint>

std::uint64_t raw_library_xxh3_128(const void* p, std::size_t n) {
  const XXH128_hash_t h = XXH3_128bits(p, n);
  return h.low64 ^ h.high64;
}
