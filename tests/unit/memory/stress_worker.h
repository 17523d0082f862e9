// Shared by the stress worker and the test that checks its results: the cached function.
#pragma once

#include <cstddef>
#include <vector>

namespace stress {
/// The value every process must see for key k: 2000 doubles, distinct for each k.
inline std::vector<double> expected(int k) {
  std::vector<double> v(2000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = k * 1000.0 + static_cast<double>(i);
  return v;
}
constexpr int keys = 40;
constexpr unsigned long long bytes_limit = 200'000;  // ~12 entries of ~16 KB
}  // namespace stress
