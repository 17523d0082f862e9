#include "joblib/persist/detail/byte_shuffle.hpp"

#include <cstddef>
#include <vector>

#include "catch.hpp"

using joblib::detail::byte_shuffle;
using joblib::detail::byte_unshuffle;

TEST_CASE("byte_shuffle groups byte j of every item and byte_unshuffle inverts it") {
  for (std::size_t item : {1u, 2u, 3u, 4u, 8u, 16u}) {
    for (std::size_t size : {0u, 1u, 7u, 64u, 1000u, 4099u}) {
      std::vector<std::byte> in(size), mid(size), out(size);
      for (std::size_t i = 0; i < size; ++i) in[i] = static_cast<std::byte>((i * 131 + 7) & 0xff);
      byte_shuffle(in, mid, item);
      const std::size_t n = item == 0 ? 0 : size / item;
      if (item > 1 && size >= item) {
        for (std::size_t i = 0; i < n; ++i) {
          for (std::size_t j = 0; j < item; ++j) REQUIRE(mid[j * n + i] == in[i * item + j]);
        }
        for (std::size_t k = n * item; k < size; ++k) REQUIRE(mid[k] == in[k]);
      } else {
        REQUIRE(mid == in);
      }
      byte_unshuffle(mid, out, item);
      REQUIRE(out == in);
    }
  }
}
