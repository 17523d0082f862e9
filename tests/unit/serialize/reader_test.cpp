#include <joblib/serialize.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "catch.hpp"
#include "test_types.hpp"

using sertest::bytes_of;

namespace {
struct item {
  double value{};
  int count{};
  std::string name;
  std::optional<std::vector<float>> extra;
};
using sample_type = std::map<std::string, std::vector<item>>;

template <class T>
void read(T& v, const std::vector<std::byte>& bytes) {
  joblib::detail::read_value(v, std::span<const std::byte>(bytes), nullptr);
}

std::vector<std::byte> u64(std::uint64_t v) {
  std::vector<std::byte> b(8);
  std::memcpy(b.data(), &v, 8);
  return b;
}
}  // namespace

TEST_CASE("every truncation of a stream throws format_error") {
  sample_type value;
  value["a"] = {item{1.5, 2, "xyz", std::vector<float>{1, 2, 3}}, item{}};
  value["bb"] = {};
  const auto bytes = bytes_of(value);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::vector<std::byte> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    sample_type back;
    CHECK_THROWS_AS(read(back, cut), joblib::format_error);
  }
  sample_type back;
  read(back, bytes);
  CHECK(back.size() == 2);
}

TEST_CASE("trailing bytes are an error") {
  auto bytes = bytes_of(std::int32_t{5});
  bytes.push_back(std::byte{0});
  std::int32_t v = 0;
  try {
    read(v, bytes);
    FAIL("no exception");
  } catch (const joblib::format_error& e) {
    CHECK(e.offset() == 4u);
    CHECK_THAT(e.reason(), Catch::Contains("trailing"));
  }
}

TEST_CASE("a length prefix the input cannot justify throws before allocating") {
  const auto huge = u64(std::uint64_t{1} << 60);
  std::vector<std::string> strings;
  CHECK_THROWS_AS(read(strings, huge), joblib::format_error);
  std::string s;
  CHECK_THROWS_AS(read(s, huge), joblib::format_error);
  std::map<int, int> m;
  CHECK_THROWS_AS(read(m, huge), joblib::format_error);
  std::vector<std::monostate> empties;  // zero-size elements: capped count
  CHECK_THROWS_AS(read(empties, huge), joblib::format_error);
  // an inline array whose shape claims 2^60 doubles
  std::vector<std::byte> arr{std::byte{0}, std::byte{11}, std::byte{1}};
  const auto n = u64(std::uint64_t{1} << 60);
  arr.insert(arr.end(), n.begin(), n.end());
  std::vector<double> d;
  CHECK_THROWS_AS(read(d, arr), joblib::format_error);
  // a shape whose product overflows
  std::vector<std::byte> over{std::byte{0}, std::byte{11}, std::byte{2}};
  const auto big = u64(std::uint64_t{1} << 40);
  over.insert(over.end(), big.begin(), big.end());
  over.insert(over.end(), big.begin(), big.end());
  joblib::ndarray<double> nd;
  CHECK_THROWS_AS(read(nd, over), joblib::format_error);
}

TEST_CASE("bad tags throw format_error") {
  bool b = false;
  CHECK_THROWS_AS(read(b, {std::byte{2}}), joblib::format_error);
  std::optional<int> o;
  CHECK_THROWS_AS(read(o, {std::byte{7}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}}),
                  joblib::format_error);
  std::variant<int, float> v;
  auto idx = bytes_of(std::uint32_t{2});
  idx.resize(8);
  CHECK_THROWS_AS(read(v, idx), joblib::format_error);
  std::vector<double> d;
  CHECK_THROWS_AS(read(d, {std::byte{9}}), joblib::format_error);  // array tag
  auto wrong_dtype = bytes_of(std::vector<float>{1, 2});
  CHECK_THROWS_AS(read(d, wrong_dtype), joblib::format_error);
  nlohmann::json j;
  CHECK_THROWS_AS(read(j, bytes_of(std::string("{not json"))), joblib::format_error);
}

TEST_CASE("format_error carries the offset of the problem") {
  auto bytes = bytes_of(std::pair<std::int32_t, bool>{1, true});
  bytes[4] = std::byte{5};
  std::pair<std::int32_t, bool> v;
  try {
    read(v, bytes);
    FAIL("no exception");
  } catch (const joblib::format_error& e) {
    CHECK(e.offset() == 5u);
  }
}

TEST_CASE("an ndarray with a zero extent and a huge one is empty, not an error") {
  // Found by the fuzzer: ndarray's own size check once threw std::length_error here.
  std::vector<std::byte> bytes{std::byte{0}, std::byte{11}, std::byte{2}};
  const auto huge = u64(std::uint64_t{1} << 62);
  const auto zero = u64(0);
  bytes.insert(bytes.end(), huge.begin(), huge.end());
  bytes.insert(bytes.end(), zero.begin(), zero.end());
  joblib::ndarray<double> a;
  read(a, bytes);
  CHECK(a.size() == 0);
  CHECK(a.ndim() == 2);
}
