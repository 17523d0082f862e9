// joblib-cpp internals: large, aligned, uninitialised buffers for array data.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

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

}  // namespace detail
JOBLIB_END_NAMESPACE
