#include <joblib/hash.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "catch.hpp"

namespace {
struct point {
  double x{};
  double y{};
};
}  // namespace

TEST_CASE("equal values give equal digests") {
  CHECK(joblib::hash(42, 3.14, std::string("abc")) == joblib::hash(42, 3.14, std::string("abc")));
  CHECK(joblib::hash(std::vector<double>{1, 2, 3}) == joblib::hash(std::vector<double>{1, 2, 3}));
  CHECK(joblib::hash(point{1, 2}) == joblib::hash(point{1, 2}));
}

TEST_CASE("different values, types and shapes give different digests") {
  CHECK(joblib::hash(std::vector<int>{1, 2}) != joblib::hash(std::vector<long>{1, 2}));
  CHECK(joblib::hash(1) != joblib::hash(2));
  CHECK(joblib::hash(1) != joblib::hash(1u));
  CHECK(joblib::hash(1.0f) != joblib::hash(1.0));
  CHECK(joblib::hash(std::string("ab"), std::string("c")) !=
        joblib::hash(std::string("a"), std::string("bc")));
  CHECK(joblib::hash(std::vector<std::string>{"ab", "c"}) !=
        joblib::hash(std::vector<std::string>{"a", "bc"}));
  joblib::ndarray<double> a({2, 3});
  for (std::size_t i = 0; i < a.size(); ++i) a.flat()[i] = static_cast<double>(i);
  const auto b = a.reshape({3, 2});
  CHECK(joblib::hash(a) != joblib::hash(b));
  CHECK(joblib::hash(a) == joblib::hash(b.reshape({2, 3})));
  CHECK(joblib::hash(std::set<int>{1, 2}) != joblib::hash(std::vector<int>{1, 2}));
  CHECK(joblib::hash(std::optional<int>{}) != joblib::hash(std::optional<int>{0}));
}

TEST_CASE("empty values hash (no null-pointer copies) and differ from non-empty ones") {
  CHECK(joblib::hash(std::vector<double>{}) == joblib::hash(std::vector<double>{}));
  CHECK(joblib::hash(std::vector<double>{}) != joblib::hash(std::vector<double>{0.0}));
  CHECK(joblib::hash(std::string()) != joblib::hash(std::vector<char>{}));
  CHECK(joblib::hash(joblib::ndarray<float>()) != joblib::hash(joblib::ndarray<float>({0, 3})));
}

TEST_CASE("hash(a, b) is the hash of the tuple of the arguments") {
  CHECK(joblib::hash(1, 2) == joblib::hash(std::tuple{1, 2}));
  CHECK(joblib::hash() == joblib::hash(std::tuple<>{}));
  CHECK(joblib::hash(1) != joblib::hash(std::tuple{1}));
}

TEST_CASE("vectors and spans of the same data hash equal (same signature and encoding)") {
  const std::vector<double> v{1, 2, 3};
  CHECK(joblib::hash(v) == joblib::hash(std::span<const double>(v)));
  CHECK(joblib::hash(std::string("x")) == joblib::hash(std::string_view("x")));
}

TEST_CASE("unordered containers hash the same regardless of insertion order") {
  std::unordered_map<std::string, double> a, b;
  for (int i = 0; i < 50; ++i) a.emplace(std::to_string(i), i * 0.5);
  for (int i = 49; i >= 0; --i) b.emplace(std::to_string(i), i * 0.5);
  CHECK(joblib::hash(a) == joblib::hash(b));
  std::unordered_set<int> c{1, 2, 3}, d{3, 2, 1};
  CHECK(joblib::hash(c) == joblib::hash(d));
  b["0"] = 1;
  CHECK(joblib::hash(a) != joblib::hash(b));
}

TEST_CASE("maps built in any order hash equal") {
  std::map<std::string, double> a, b;
  a["x"] = 1;
  a["y"] = 2;
  b["y"] = 2;
  b["x"] = 1;
  CHECK(joblib::hash(a) == joblib::hash(b));
}

TEST_CASE("floating point is hashed bit for bit") {
  CHECK(joblib::hash(0.0) != joblib::hash(-0.0));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(joblib::hash(nan) == joblib::hash(nan));
}

TEST_CASE("pinned digests: the canonical encoding never changes") {
  // Reproducible with xxhsum -H2 over the bytes described in docs/FORMAT.md ("Hashing").
  CHECK(joblib::hash(42, 3.14, std::string("abc")).hex() == "a863f95b995e3cc875d4ba40afe55f6c");
  CHECK(joblib::hash(std::vector<std::int32_t>{1, 2}).hex() == "ef24b6eb7212c0bc62717a5008b0ac27");
  CHECK(joblib::hash(std::map<std::string, double>{{"a", 1.0}, {"b", -2.5}}).hex() ==
        "d16ae4e38e25088a6a3d9b051befc69f");
  CHECK(joblib::hash(point{1.0, 2.0}).hex() == "a186f1112bb865c5709da7c6eeadce48");
}

TEST_CASE("a large array is hashed exactly as its encoding, in one block") {
  std::vector<double> v(1 << 16);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i) * 0.25;
  // Same bytes fed through the incremental API piece by piece.
  joblib::hasher h;
  const std::string_view sig = "vector<f64>";
  const std::uint64_t len = sig.size();
  h.update_bytes(std::as_bytes(std::span(&len, 1)));
  h.update_bytes(std::as_bytes(std::span(sig)));
  const std::uint8_t head[3] = {0, 11, 1};
  h.update_bytes(std::as_bytes(std::span(head)));
  const std::uint64_t n = v.size();
  h.update_bytes(std::as_bytes(std::span(&n, 1)));
  for (std::size_t i = 0; i < v.size(); i += 1000) {
    const auto part = std::span(v).subspan(i, std::min<std::size_t>(1000, v.size() - i));
    h.update_bytes(std::as_bytes(part));
  }
  CHECK(h.finish() == joblib::hash(v));
}

TEST_CASE("hasher: update(v) feeds what hash(v) hashes; finish() can be called repeatedly") {
  joblib::hasher h;
  h.update(std::string("f"));
  CHECK(h.finish() == joblib::hash(std::string("f")));
  CHECK(h.finish() == h.finish());
  h.update(std::vector<int>(1000, 7));  // crosses the internal buffer
  const auto d1 = h.finish();
  joblib::hasher copy = h;
  CHECK(copy.finish() == d1);
  h.update(1);
  CHECK(h.finish() != d1);
  CHECK(copy.finish() == d1);
}

TEST_CASE("digest: hex, ordering, std::hash") {
  const joblib::digest d{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  CHECK(d.hex() == "fedcba98765432100123456789abcdef");
  CHECK(joblib::digest{1, 0} < joblib::digest{0, 1});
  std::unordered_map<joblib::digest, int> m;
  m[joblib::hash(1)] = 1;
  m[joblib::hash(2)] = 2;
  CHECK(m.at(joblib::hash(1)) == 1);
  CHECK(m.size() == 2);
}
