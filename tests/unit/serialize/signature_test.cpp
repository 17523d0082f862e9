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
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include "catch.hpp"

namespace {
struct triple {
  double a{};
  int b{};
  std::string c;
};
class with_member {
 public:
  template <class Archive>
  void serialize(Archive& ar) {
    ar(x_);
    ar(y_);
  }

 private:
  float x_ = 0;
  std::vector<std::int64_t> y_;
};
}  // namespace

TEST_CASE("type signatures are fixed strings, independent of the compiler") {
  using joblib::type_signature;
  STATIC_REQUIRE(type_signature<std::vector<double>>() == "vector<f64>");
  STATIC_REQUIRE(type_signature<std::map<std::string, std::tuple<std::int32_t, float>>>() ==
                 "map<str,tuple<i32,f32>>");
  STATIC_REQUIRE(type_signature<triple>() == "struct{f64,i32,str}");
  STATIC_REQUIRE(type_signature<const std::int64_t>() == "i64");
  STATIC_REQUIRE(type_signature<std::uint8_t>() == "u8");
  STATIC_REQUIRE(type_signature<char>() == "char");
  STATIC_REQUIRE(type_signature<bool>() == "bool");
  STATIC_REQUIRE(type_signature<std::byte>() == "byte");
  STATIC_REQUIRE(type_signature<std::vector<std::byte>>() == "vector<byte>");
  STATIC_REQUIRE(type_signature<std::string_view>() == "str");
  STATIC_REQUIRE(type_signature<std::span<const double>>() == "vector<f64>");
  STATIC_REQUIRE(type_signature<std::array<float, 4>>() == "array<f32,4>");
  STATIC_REQUIRE(type_signature<int[3]>() == "array<i32,3>");
  STATIC_REQUIRE(type_signature<std::deque<std::list<bool>>>() == "deque<list<bool>>");
  STATIC_REQUIRE(type_signature<std::set<std::string>>() == "set<str>");
  STATIC_REQUIRE(type_signature<std::unordered_map<std::string, double>>() ==
                 "unordered_map<str,f64>");
  STATIC_REQUIRE(type_signature<std::pair<int, double>>() == "pair<i32,f64>");
  STATIC_REQUIRE(type_signature<std::tuple<>>() == "tuple<>");
  STATIC_REQUIRE(type_signature<std::optional<std::string>>() == "optional<str>");
  STATIC_REQUIRE(type_signature<std::variant<std::monostate, int>>() == "variant<monostate,i32>");
  STATIC_REQUIRE(type_signature<std::unique_ptr<int>>() == "ptr<i32>");
  STATIC_REQUIRE(type_signature<std::shared_ptr<const int>>() == "ptr<i32>");
  STATIC_REQUIRE(type_signature<std::chrono::milliseconds>() == "duration<i64,1/1000>");
  // system_clock's own duration is the standard library's choice (nanoseconds in libstdc++,
  // microseconds in libc++), and the signature says which.
  STATIC_REQUIRE(
      type_signature<
          std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>>() ==
      "time_point<system_clock,duration<i64,1/1000000000>>");
  STATIC_REQUIRE(type_signature<std::filesystem::path>() == "path");
  STATIC_REQUIRE(type_signature<std::complex<float>>() == "complex<f32>");
  STATIC_REQUIRE(type_signature<std::vector<std::complex<double>>>() == "vector<complex<f64>>");
  STATIC_REQUIRE(type_signature<nlohmann::json>() == "json");
  STATIC_REQUIRE(type_signature<joblib::ndarray<double>>() == "ndarray<f64>");
  enum class e16 : std::int16_t {};
  STATIC_REQUIRE(type_signature<e16>() == "enum<i16>");
}

TEST_CASE("a member serialize() type gets its signature from its fields at run time") {
  CHECK(joblib::type_signature<with_member>() == "struct{f32,vector<i64>}");
  CHECK(joblib::type_signature<std::vector<with_member>>() == "vector<struct{f32,vector<i64>}>");
}
