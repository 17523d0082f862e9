#include <joblib/serialize.hpp>

#include <array>
#include <chrono>
#include <complex>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "catch.hpp"
#include "test_types.hpp"

using sertest::bytes_of;
using sertest::round_trip;

namespace {

enum class color : std::uint8_t { red = 1, green = 2 };

struct point {
  double x{};
  double y{};
  bool operator==(const point&) const = default;
};

struct record {
  double value{};
  int count{};
  std::string name;
  std::vector<double> samples;
  std::map<std::string, point> named;
  std::optional<color> tint;
  bool operator==(const record&) const = default;
};

class pose {
 public:
  double t{};
  std::string frame;
  bool operator==(const pose&) const = default;
};
JOBLIB_FIELDS(pose, t, frame);

class sample {
 public:
  sample() = default;
  sample(int id, std::vector<float> v) : id_(id), values_(std::move(v)) {}
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id_, values_);
  }
  bool operator==(const sample&) const = default;

 private:
  int id_ = 0;
  std::vector<float> values_;
};

struct wide {
  int f0{}, f1{}, f2{}, f3{}, f4{}, f5{}, f6{}, f7{}, f8{}, f9{};
  int f10{}, f11{}, f12{}, f13{}, f14{}, f15{}, f16{}, f17{}, f18{}, f19{};
  int f20{}, f21{}, f22{}, f23{}, f24{}, f25{}, f26{}, f27{}, f28{}, f29{};
  int f30{}, f31{}, f32{}, f33{};
  bool operator==(const wide&) const = default;
};

}  // namespace

TEST_CASE("arithmetic types, enums, bool and byte round-trip bit for bit") {
  CHECK(round_trip(std::int8_t{-5}) == -5);
  CHECK(round_trip(std::uint16_t{65535}) == 65535);
  CHECK(round_trip(std::int64_t{-1234567890123}) == -1234567890123);
  CHECK(round_trip(3.25f) == 3.25f);
  CHECK(round_trip(true) == true);
  CHECK(round_trip('x') == 'x');
  CHECK(round_trip(std::byte{0xab}) == std::byte{0xab});
  CHECK(round_trip(color::green) == color::green);
  CHECK(round_trip(1.0L / 3) == 1.0L / 3);
  CHECK(std::signbit(round_trip(-0.0)));
  CHECK(std::isnan(round_trip(std::numeric_limits<double>::quiet_NaN())));
  CHECK(bytes_of(std::int32_t{0x01020304}) ==
        std::vector<std::byte>{std::byte{4}, std::byte{3}, std::byte{2}, std::byte{1}});
}

TEST_CASE("strings, paths, json and chrono round-trip") {
  CHECK(round_trip(std::string("hello\0world", 11)) == std::string("hello\0world", 11));
  CHECK(round_trip(std::string()).empty());
  CHECK(round_trip(std::filesystem::path("a/b/c.txt")) == std::filesystem::path("a/b/c.txt"));
  const nlohmann::json j = {{"a", 1}, {"b", {1.5, "x", nullptr}}};
  CHECK(round_trip(j) == j);
  CHECK(round_trip(std::chrono::milliseconds(1500)) == std::chrono::milliseconds(1500));
  const auto now = std::chrono::system_clock::now();
  CHECK(round_trip(now) == now);
  CHECK(round_trip(std::complex<double>(1, -2)) == std::complex<double>(1, -2));
  // string_view is written exactly like string.
  CHECK(bytes_of(std::string_view("abc")) == bytes_of(std::string("abc")));
}

TEST_CASE("standard containers round-trip") {
  CHECK(round_trip(std::vector<double>{1, 2, 3}) == std::vector<double>{1, 2, 3});
  CHECK(round_trip(std::vector<std::string>{"a", "bc"}) == std::vector<std::string>{"a", "bc"});
  CHECK(round_trip(std::vector<bool>{true, false, true}) == std::vector<bool>{true, false, true});
  CHECK(round_trip(std::array<float, 3>{1, 2, 3}) == std::array<float, 3>{1, 2, 3});
  CHECK(round_trip(std::array<std::string, 2>{"x", "y"}) == std::array<std::string, 2>{"x", "y"});
  CHECK(round_trip(std::deque<int>{1, 2}) == std::deque<int>{1, 2});
  CHECK(round_trip(std::list<std::string>{"a"}) == std::list<std::string>{"a"});
  CHECK(round_trip(std::set<int>{3, 1, 2}) == std::set<int>{1, 2, 3});
  CHECK(round_trip(std::multiset<int>{1, 1, 2}) == std::multiset<int>{1, 1, 2});
  const std::map<std::string, std::vector<double>> m{{"a", {1.0}}, {"b", {}}};
  CHECK(round_trip(m) == m);
  const std::multimap<int, std::string> mm{{1, "a"}, {1, "b"}, {0, "c"}};
  CHECK(round_trip(mm) == mm);
  const std::unordered_map<std::string, int> um{{"x", 1}, {"y", 2}, {"z", 3}};
  CHECK(round_trip(um) == um);
  const std::unordered_set<std::int64_t> us{5, 7, 9};
  CHECK(round_trip(us) == us);
  CHECK(round_trip(std::vector<std::complex<float>>{{1, 2}}) ==
        std::vector<std::complex<float>>{{1, 2}});
  CHECK(round_trip(std::vector<std::byte>{std::byte{1}}) == std::vector<std::byte>{std::byte{1}});
  int c_array[3] = {4, 5, 6};
  int back[3] = {};
  const auto bytes = bytes_of(c_array);
  joblib::detail::read_value(back, std::span<const std::byte>(bytes), nullptr);
  CHECK(back[2] == 6);
}

TEST_CASE("pair, tuple, optional, variant, monostate and smart pointers round-trip") {
  CHECK(round_trip(std::pair<int, std::string>{1, "a"}) == std::pair<int, std::string>{1, "a"});
  CHECK(round_trip(std::tuple<int, double, std::string>{1, 2.5, "x"}) ==
        std::tuple<int, double, std::string>{1, 2.5, "x"});
  CHECK(round_trip(std::tuple<>{}) == std::tuple<>{});
  CHECK(round_trip(std::optional<int>{}) == std::nullopt);
  CHECK(round_trip(std::optional<int>{7}) == 7);
  using var = std::variant<std::monostate, int, std::string>;
  CHECK(round_trip(var{std::string("s")}) == var{std::string("s")});
  CHECK(round_trip(var{}) == var{});
  CHECK(round_trip(std::unique_ptr<int>{}) == nullptr);
  CHECK(*round_trip(std::make_unique<std::string>("p")) == "p");
  CHECK(*round_trip(std::make_shared<std::vector<int>>(3, 1)) == std::vector<int>(3, 1));
}

TEST_CASE("user types: aggregates, JOBLIB_FIELDS, member serialize, nested") {
  const record r{1.5, 2, "abc", {1, 2}, {{"p", {1, 2}}}, color::red};
  CHECK(round_trip(r) == r);
  CHECK(round_trip(pose{2.5, "map"}) == pose{2.5, "map"});
  CHECK(round_trip(sample(3, {1.f, 2.f})) == sample(3, {1.f, 2.f}));
  const std::vector<sample> v{sample(1, {}), sample(2, {3.f})};
  CHECK(round_trip(v) == v);
  wide w;
  w.f0 = 1;
  w.f33 = 34;
  CHECK(round_trip(w) == w);
  STATIC_REQUIRE(joblib::detail::aggregate_field_count<wide> == 34);
}

TEST_CASE("serializable concept") {
  STATIC_REQUIRE(joblib::serializable<std::map<std::string, std::vector<double>>>);
  STATIC_REQUIRE(joblib::serializable<record>);
  STATIC_REQUIRE(joblib::serializable<sample>);
  STATIC_REQUIRE(joblib::serializable<std::span<const double>>);
  STATIC_REQUIRE_FALSE(joblib::serializable<int*>);
  STATIC_REQUIRE_FALSE(joblib::serializable<std::vector<int*>>);
  STATIC_REQUIRE_FALSE(joblib::serializable<std::tuple<int, void*>>);
}

TEST_CASE("unordered containers encode canonically, whatever the insertion order") {
  std::unordered_map<std::string, double> a, b;
  for (int i = 0; i < 100; ++i) a[std::to_string(i)] = i;
  for (int i = 99; i >= 0; --i) b[std::to_string(i)] = i;
  b.rehash(1000);
  CHECK(bytes_of(a) == bytes_of(b));
  std::unordered_multiset<int> c{1, 2, 2, 3}, d{3, 2, 1, 2};
  CHECK(bytes_of(c) == bytes_of(d));
}

TEST_CASE("array nodes go to the sink and come back from the source") {
  sertest::memory_store store;
  const std::vector<double> big(100, 1.5);  // 800 bytes: external
  const std::vector<double> small{1, 2};    // 16 bytes: inline
  const std::tuple<std::vector<double>, std::vector<double>> value{big, small};
  std::vector<std::byte> out;
  joblib::detail::write_value(value, out, &store);
  REQUIRE(store.blobs.size() == 1);
  CHECK(store.blobs[0].type == joblib::detail::dtype::f64);
  CHECK(store.blobs[0].shape == std::vector<std::uint64_t>{100});
  CHECK(out.size() < 100);  // the stream only keeps the id
  std::tuple<std::vector<double>, std::vector<double>> back;
  joblib::detail::read_value(back, std::span<const std::byte>(out), &store);
  CHECK(back == value);
  // Without a source, an external node is an error, not a crash.
  CHECK_THROWS_AS(joblib::detail::read_value(back, std::span<const std::byte>(out), nullptr),
                  joblib::format_error);
}

TEST_CASE("an ndarray read from a source views the blob in place") {
  sertest::memory_store store;
  joblib::ndarray<float> a({2, 3});
  a(1, 2) = 7.f;
  std::vector<std::byte> out;
  joblib::detail::write_value(a, out, &store);
  REQUIRE(store.blobs.size() == 1);
  CHECK(store.blobs[0].shape == std::vector<std::uint64_t>{2, 3});
  joblib::ndarray<float> back;
  joblib::detail::read_value(back, std::span<const std::byte>(out), &store);
  CHECK(back == a);
  CHECK_FALSE(back.owns_data());
  CHECK(static_cast<const void*>(std::as_const(back).data()) == store.blobs[0].bytes.get());
  // A copy owns its data.
  joblib::ndarray<float> copy = back;
  CHECK(copy.owns_data());
  copy(0, 0) = 1.f;
  CHECK(copy(0, 0) == 1.f);
  CHECK(back(0, 0) == 0.f);
  // A read-only source fills only the read-only form, in place.
  store.read_only = true;
  joblib::ndarray<float> refused;
  CHECK_THROWS_AS(joblib::detail::read_value(refused, std::span<const std::byte>(out), &store),
                  joblib::invalid_argument);
  joblib::ndarray<const float> viewed;
  joblib::detail::read_value(viewed, std::span<const std::byte>(out), &store);
  CHECK(viewed == a);
  CHECK(static_cast<const void*>(viewed.data()) == store.blobs[0].bytes.get());
  // Wrong dtype from the source: format_error.
  joblib::ndarray<double> wrong;
  CHECK_THROWS_AS(joblib::detail::read_value(wrong, std::span<const std::byte>(out), &store),
                  joblib::format_error);
}

TEST_CASE("ndarray and std::array round-trip inline with their shapes") {
  joblib::ndarray<std::int16_t> a({2, 2, 2});
  a(1, 1, 1) = -3;
  CHECK(round_trip(a) == a);
  joblib::ndarray<std::complex<double>> c({2});
  c(1) = {1, 2};
  CHECK(round_trip(c) == c);
  // a std::array<float, 3> written cannot be read as std::array<float, 4>
  const auto bytes = bytes_of(std::array<float, 3>{1, 2, 3});
  std::array<float, 4> four{};
  CHECK_THROWS_AS(joblib::detail::read_value(four, std::span<const std::byte>(bytes), nullptr),
                  joblib::format_error);
  // but as a vector<float> (same encoding) it can
  std::vector<float> v;
  joblib::detail::read_value(v, std::span<const std::byte>(bytes), nullptr);
  CHECK(v == std::vector<float>{1, 2, 3});
}

TEST_CASE("ndarray<bool> is an array node of dtype bool; bad bytes are rejected") {
  joblib::ndarray<bool> a({3});
  a(1) = true;
  auto bytes = bytes_of(a);
  CHECK(round_trip(a) == a);
  CHECK(joblib::type_signature<joblib::ndarray<bool>>() == "ndarray<bool>");
  bytes.back() = std::byte{2};
  joblib::ndarray<bool> back;
  CHECK_THROWS_AS(joblib::detail::read_value(back, std::span<const std::byte>(bytes), nullptr),
                  joblib::format_error);
}
