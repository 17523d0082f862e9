#include "joblib/persist/detail/chunk_codec.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <vector>

#include "catch.hpp"

using joblib::detail::chunk_codec;
using joblib::detail::chunk_worker;

TEST_CASE("chunk_worker compresses smooth data and stores random data raw") {
  std::vector<double> smooth(1 << 16);
  for (std::size_t i = 0; i < smooth.size(); ++i) smooth[i] = static_cast<double>(i + 1);
  const auto in = std::as_bytes(std::span(smooth));
  chunk_worker w;
  for (int level : {-5, 1, 3, 19}) {
    for (std::size_t shuffle : {1u, 8u}) {
      REQUIRE(w.encode(in, level, shuffle) == chunk_codec::zstd);
      REQUIRE(w.stored().size() < in.size() / 2);
      std::vector<std::byte> stored(w.stored().begin(), w.stored().end());
      std::vector<double> back(smooth.size());
      w.decode(stored, chunk_codec::zstd, shuffle, std::as_writable_bytes(std::span(back)), "x", 0);
      REQUIRE(back == smooth);
    }
  }
  std::mt19937_64 rng(1);
  std::vector<std::uint64_t> noise(1 << 14);
  for (auto& x : noise) x = rng();
  const auto rin = std::as_bytes(std::span(noise));
  REQUIRE(w.encode(rin, 3, 8) == chunk_codec::raw);
  REQUIRE(w.stored().data() == rin.data());
  REQUIRE(w.encode(rin, 0, 8) == chunk_codec::raw);
}

TEST_CASE("chunk_worker's sample probe skips random chunks but not mostly compressible ones") {
  std::mt19937_64 rng(7);
  // 1 MiB of random bits: the probe says incompressible, the chunk is stored raw.
  std::vector<std::uint64_t> chunk(1 << 17);
  for (auto& x : chunk) x = rng();
  chunk_worker w;
  REQUIRE(w.encode(std::as_bytes(std::span(chunk)), 1, 8) == chunk_codec::raw);

  // Random only where the first and last samples fall, zeros in between (a partly filled
  // buffer): the middle sample compresses, so the whole chunk is compressed.
  std::fill(chunk.begin() + 2048, chunk.end() - 2048, 0);
  REQUIRE(w.encode(std::as_bytes(std::span(chunk)), 1, 8) == chunk_codec::zstd);
  REQUIRE(w.stored().size() < chunk.size() * 8 / 10);

  // Byte-wise a uniform histogram (an arange of bytes), yet LZ-compressible: entropy alone
  // would call it random; trial compression does not.
  std::vector<unsigned char> ramp(1 << 20);
  for (std::size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<unsigned char>(i);
  REQUIRE(w.encode(std::as_bytes(std::span(ramp)), 1, 1) == chunk_codec::zstd);
  std::vector<unsigned char> back(ramp.size());
  std::vector<std::byte> stored(w.stored().begin(), w.stored().end());
  w.decode(stored, chunk_codec::zstd, 1, std::as_writable_bytes(std::span(back)), "x", 0);
  REQUIRE(back == ramp);
}

TEST_CASE("chunk_worker::decode rejects wrong sizes and garbage") {
  std::vector<std::byte> data(4096, std::byte{7});
  chunk_worker w;
  REQUIRE(w.encode(data, 3, 1) == chunk_codec::zstd);
  std::vector<std::byte> stored(w.stored().begin(), w.stored().end());
  std::vector<std::byte> small(100), exact(4096);
  REQUIRE_THROWS_AS(w.decode(stored, chunk_codec::zstd, 1, small, "x", 0), joblib::format_error);
  std::vector<std::byte> garbage(stored.size(), std::byte{0x55});
  REQUIRE_THROWS_AS(w.decode(garbage, chunk_codec::zstd, 1, exact, "x", 0), joblib::format_error);
  REQUIRE_THROWS_AS(w.decode(stored, chunk_codec::raw, 1, exact, "x", 0), joblib::format_error);
  REQUIRE_THROWS_AS(w.decode(stored, static_cast<chunk_codec>(9), 1, exact, "x", 0),
                    joblib::format_error);
}
