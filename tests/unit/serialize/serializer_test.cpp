// joblib::serializer<T>: types the user cannot edit become hashable, dumpable and loadable.
#include <joblib/hash.hpp>
#include <joblib/serialize.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "catch.hpp"

namespace thirdparty {
// A class with private state, reachable only through its constructor and accessors.
class money {
 public:
  money() = default;
  money(std::string currency, std::int64_t cents) : currency_(std::move(currency)), cents_(cents) {}
  const std::string& currency() const { return currency_; }
  std::int64_t cents() const { return cents_; }
  friend bool operator==(const money&, const money&) = default;

 private:
  std::string currency_;
  std::int64_t cents_ = 0;
};

// A large buffer type: its serializer hands out a view, so hashing copies nothing.
class samples {
 public:
  samples() = default;
  explicit samples(std::vector<double> v) : values_(std::move(v)) {}
  std::span<const double> view() const { return values_; }
  friend bool operator==(const samples&, const samples&) = default;

 private:
  std::vector<double> values_;
};

template <class T>
struct tagged {
  T value{};
  friend bool operator==(const tagged&, const tagged&) = default;
};
}  // namespace thirdparty

template <>
struct joblib::serializer<thirdparty::money> {
  using representation = std::pair<std::string, std::int64_t>;
  static representation to(const thirdparty::money& m) { return {m.currency(), m.cents()}; }
  static thirdparty::money from(representation r) { return {std::move(r.first), r.second}; }
};

template <>
struct joblib::serializer<thirdparty::samples> {
  using representation = std::vector<double>;
  static std::span<const double> to(const thirdparty::samples& s) { return s.view(); }
  static thirdparty::samples from(representation r) { return thirdparty::samples(std::move(r)); }
};

// A partial specialization, constrained through the second parameter; it takes precedence over
// reflecting the aggregate.
template <class T>
struct joblib::serializer<thirdparty::tagged<T>, std::enable_if_t<std::is_arithmetic_v<T>>> {
  using representation = std::tuple<std::string, T>;
  static representation to(const thirdparty::tagged<T>& t) { return {"tagged", t.value}; }
  static thirdparty::tagged<T> from(const representation& r) { return {std::get<1>(r)}; }
};

namespace {
// A member serialize() needs a default constructor: its signature is read from one.
class no_default {
 public:
  explicit no_default(int x) : x_(x) {}
  template <class Archive>
  void serialize(Archive& ar) {
    ar(x_);
  }

 private:
  int x_;
};

template <class T>
T round_trip(const T& value) {
  std::vector<std::byte> stream;
  joblib::detail::write_value(value, stream, nullptr);
  T back{};
  joblib::detail::read_value(back, std::span<const std::byte>(stream), nullptr);
  return back;
}
}  // namespace

static_assert(joblib::serializable<thirdparty::money>);
static_assert(joblib::serializable<std::vector<thirdparty::money>>);
static_assert(!joblib::serializable<no_default>);
static_assert(joblib::type_signature<thirdparty::money>() == "pair<str,i64>");
static_assert(joblib::type_signature<thirdparty::samples>() == "vector<f64>");
static_assert(joblib::type_signature<thirdparty::tagged<float>>() == "tuple<str,f32>");

TEST_CASE("a serializer specialization encodes a type as its representation") {
  const thirdparty::money m("EUR", 1250);
  CHECK(joblib::hash(m) == joblib::hash(std::pair<std::string, std::int64_t>("EUR", 1250)));
  CHECK(joblib::hash(m) != joblib::hash(thirdparty::money("EUR", 1251)));
  CHECK(round_trip(m) == m);
  const std::vector<thirdparty::money> wallet{m, {"USD", 7}};
  CHECK(round_trip(wallet) == wallet);
  CHECK(joblib::detail::summarize(m) == "('EUR', 1250)");
}

TEST_CASE("to() may return a view encoded like the representation") {
  const thirdparty::samples s(std::vector<double>(1000, 0.25));
  CHECK(joblib::hash(s) == joblib::hash(std::vector<double>(1000, 0.25)));
  CHECK(round_trip(s) == s);
}

TEST_CASE("partial specializations and precedence over reflection") {
  const thirdparty::tagged<float> t{2.5f};
  CHECK(round_trip(t) == t);
  CHECK(joblib::hash(t) == joblib::hash(std::tuple<std::string, float>("tagged", 2.5f)));
  // Without a specialization (non-arithmetic T) the aggregate is reflected as usual.
  CHECK(joblib::type_signature<thirdparty::tagged<std::string>>() == "struct{str}");
}
