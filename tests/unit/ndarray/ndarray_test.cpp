#include <joblib/ndarray.hpp>

#include <complex>
#include <cstdint>
#include <memory>
#include <stdexcept>
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
  CHECK(a.writable());
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
  CHECK_THROWS_AS(a.reshape({4}), std::invalid_argument);
  CHECK_THROWS_AS(joblib::ndarray<int>({2, 2}, v), std::invalid_argument);
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

TEST_CASE("views of external buffers, read-only views refuse mutable access") {
  auto buffer = std::make_shared<std::vector<float>>(6, 1.5f);
  auto v = joblib::ndarray<float>::view(std::span<float>(*buffer), {3, 2}, buffer, true);
  CHECK_FALSE(v.owns_data());
  v(2, 1) = 9.f;
  CHECK((*buffer)[5] == 9.f);
  auto ro = joblib::ndarray<float>::view(std::span<float>(*buffer), {6}, buffer, false);
  CHECK_FALSE(ro.writable());
  CHECK(std::as_const(ro)(5) == 9.f);
  CHECK_THROWS_AS(ro(0) = 1.f, joblib::error);
  CHECK_THROWS_AS(ro.flat(), joblib::error);
  CHECK_THROWS_AS(ro.data(), joblib::error);
  CHECK_THROWS_AS(joblib::ndarray<float>::view(std::span<float>(*buffer), {4}),
                  std::invalid_argument);
  auto copy = ro;  // copies own their data and may be written
  copy(0) = 2.f;
  CHECK((*buffer)[0] == 1.5f);
}

TEST_CASE("bounds checks in checked builds") {
  joblib::ndarray<std::complex<double>> a({2, 2});
#if JOBLIB_CHECKED
  CHECK_THROWS_AS(a(2, 0), std::out_of_range);
  CHECK_THROWS_AS(a(0, 2), std::out_of_range);
  CHECK_THROWS_AS(a(0), std::out_of_range);
#endif
  a(1, 1) = {1, 2};
  CHECK(a.flat()[3] == std::complex<double>(1, 2));
}
