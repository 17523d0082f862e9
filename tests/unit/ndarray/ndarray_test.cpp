#include <joblib/ndarray.hpp>

#include <complex>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "catch.hpp"

TEST_CASE("a new ndarray is zero-filled, row-major, with its shape") {
  joblib::ndarray<double> a({2, 3});
  CHECK(a.ndim() == 2);
  CHECK(a.size() == 6);
  CHECK(a.shape()[0] == 2);
  CHECK(a.shape()[1] == 3);
  for (double x : a.flat()) CHECK(x == 0.0);
  a(1, 2) = 5;
  a(0, 1) = 1;
  CHECK(a.flat()[5] == 5);  // row-major: (1, 2) -> 1 * 3 + 2
  CHECK(a.flat()[1] == 1);
  CHECK(a.owns_data());
  joblib::ndarray<float> empty;
  CHECK(empty.size() == 0);
  CHECK(empty.ndim() == 1);
}

TEST_CASE("ndarray from values, equality, reshape") {
  const std::vector<int> v{1, 2, 3, 4, 5, 6};
  joblib::ndarray<int> a({2, 3}, v);
  CHECK(a(1, 0) == 4);
  auto b = a.reshape({3, 2});
  CHECK(b(1, 0) == 3);
  CHECK(a != b);  // same elements, other shape
  CHECK(b.reshape({2, 3}) == a);
  CHECK_THROWS_AS(a.reshape({4}), joblib::invalid_argument);
  CHECK_THROWS_AS(joblib::ndarray<int>({2, 2}, v), joblib::invalid_argument);
  CHECK_THROWS_AS(joblib::ndarray<double>({std::size_t{1} << 62, 8}), joblib::invalid_argument);
}

TEST_CASE("copies are deep; moves keep the storage") {
  joblib::ndarray<std::int64_t> a({3});
  a(0) = 7;
  auto b = a;
  b(0) = 8;
  CHECK(a(0) == 7);
  const auto* p = std::as_const(a).data();
  auto c = std::move(a);
  CHECK(std::as_const(c).data() == p);
  CHECK(c(0) == 7);
}

TEST_CASE("views of external buffers") {
  auto buffer = std::make_shared<std::vector<float>>(6, 1.5f);
  auto v = joblib::ndarray<float>::view(std::span<float>(*buffer), {3, 2}, buffer);
  CHECK_FALSE(v.owns_data());
  v(2, 1) = 9.f;
  CHECK((*buffer)[5] == 9.f);
  CHECK_THROWS_AS(joblib::ndarray<float>::view(std::span<float>(*buffer), {4}),
                  joblib::invalid_argument);
  auto copy = v;  // copies of ndarray<T> own their data
  CHECK(copy.owns_data());
  copy(0, 0) = 2.f;
  CHECK((*buffer)[0] == 1.5f);
}

// Element access of the read-only form gives const references: writes do not compile.
template <class A>
concept element_assignable = requires(A a) {
  a(0) = 1.0;
};
template <class A>
concept data_writable = requires(A a) {
  *a.data() = 1.0;
};
static_assert(element_assignable<joblib::ndarray<double>>);
static_assert(!element_assignable<joblib::ndarray<const double>>);
static_assert(!data_writable<joblib::ndarray<const double>>);
static_assert(std::is_same_v<decltype(std::declval<joblib::ndarray<const double>&>().flat()),
                             std::span<const double>>);
static_assert(joblib::ndarray<const double>::is_read_only);
static_assert(std::is_same_v<joblib::ndarray<const float>::value_type, float>);

TEST_CASE("ndarray<const T> reads through the ordinary accessors and shares on copy") {
  auto buffer = std::make_shared<const std::vector<double>>(std::vector<double>{1, 2, 3, 4, 5, 6});
  auto ro = joblib::ndarray<const double>::view(std::span<const double>(*buffer), {2, 3}, buffer);
  CHECK(ro(1, 2) == 6.0);
  CHECK(ro.flat()[1] == 2.0);
  CHECK(ro.data()[3] == 4.0);
  CHECK(ro.shape()[1] == 3);
  const auto copy = ro;  // immutable: copies share the storage
  CHECK(copy.data() == ro.data());
  CHECK(copy == ro);
  const auto reshaped = ro.reshape({3, 2});
  CHECK(reshaped.data() == ro.data());
  CHECK(reshaped(2, 1) == 6.0);
}

TEST_CASE("ndarray<T> converts to ndarray<const T>: moved without a copy, or copied") {
  joblib::ndarray<int> a({4});
  a(2) = 7;
  const int* storage = std::as_const(a).data();
  joblib::ndarray<const int> copied(a);  // the elements, at this moment
  a(2) = 8;
  CHECK(copied(2) == 7);
  CHECK(copied.data() != storage);
  joblib::ndarray<const int> moved = std::move(a);
  CHECK(moved.data() == storage);
  CHECK(moved(2) == 8);
  CHECK(moved == joblib::ndarray<int>({4}, std::vector<int>{0, 0, 8, 0}));
  CHECK(a.size() == 0);  // NOLINT(bugprone-use-after-move): moved-from is empty
}

TEST_CASE("bounds checks in checked builds") {
  joblib::ndarray<std::complex<double>> a({2, 2});
#if JOBLIB_CHECKED
  CHECK_THROWS_AS(a(2, 0), joblib::invalid_argument);
  CHECK_THROWS_AS(a(0, 2), joblib::invalid_argument);
  CHECK_THROWS_AS(a(0), joblib::invalid_argument);
#endif
  a(1, 1) = {1, 2};
  CHECK(a.flat()[3] == std::complex<double>(1, 2));
}
