// Loads the containers python/tests/test_interop.py wrote with joblib_cpp.dump (folder argv[1])
// with joblib::load<T> and compares each with the value that test dumped. Exit code 0 when all
// match; otherwise every mismatch is printed and the exit code is 1.
#include <joblib/joblib.hpp>

#include <array>
#include <chrono>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

namespace {

struct point {  // struct{f64,i32,str}
  double x;
  std::int32_t y;
  std::string name;
  bool operator==(const point&) const = default;
};

std::filesystem::path dir;
int failures = 0;
int checked = 0;

template <class T>
bool same(const T& a, const T& b) {
  return a == b;
}
template <class E>
bool same(const joblib::ndarray<E>& a, const joblib::ndarray<E>& b) {
  return std::ranges::equal(a.shape(), b.shape()) &&
         std::equal(a.data(), a.data() + a.size(), b.data());
}

template <class T>
void check(const std::string& name, const T& expected, joblib::load_options options = {}) {
  ++checked;
  try {
    const T got = joblib::load<T>(dir / (name + ".jl"), options);
    if (!same(got, expected)) {
      std::cerr << name << ": loaded value differs from the expected one\n";
      ++failures;
    }
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << '\n';
    ++failures;
  }
}

template <class E>
joblib::ndarray<E> iota_ndarray(std::vector<std::size_t> shape, E scale) {
  joblib::ndarray<E> a(std::move(shape));
  for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = static_cast<E>(i) * scale;
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: check_python_files DIR\n";
    return 2;
  }
  dir = argv[1];
  using namespace std::chrono;
  // Inferred types (joblib_cpp.dump without type=).
  check("i64", std::int64_t{-42});
  check("f64", 2.5);
  check("bool", true);
  check("str", std::string("h\xc3\xa9llo"));
  check("bytes", std::vector<std::uint8_t>{0, 1, 255});
  check("complex", std::complex<double>{1, -2});
  std::vector<double> halves(100);
  for (std::size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<double>(i) / 2;
  check("list_f64", halves);
  check("list_i64", std::vector<std::int64_t>{1, 2, 3});
  check("list_str", std::vector<std::string>{"a", "bc"});
  check("list_bool", std::vector<bool>{true, false});
  check("tuple", std::tuple<std::int64_t, std::string, double>{1, "x", 2.5});
  check("dict", std::map<std::string, std::vector<double>>{{"a", {1.0}}, {"b", {2.0, 3.0}}});
  check("nested", std::vector<std::tuple<std::int64_t, std::string>>{{1, "a"}, {2, "b"}});
  check("set", std::set<std::int64_t>{1, 2, 3});
  check("timedelta", microseconds{1'500'000});
  check("datetime", system_clock::time_point{duration_cast<system_clock::duration>(
                        microseconds{1'704'164'645'678'901})});
  check("ndarray_f32_3d", iota_ndarray<float>({2, 3, 4}, 1.0f));
  check("ndarray_f32_3d_zstd", iota_ndarray<float>({2, 3, 4}, 1.0f));
  check("ndarray_f32_3d_mmap", iota_ndarray<float>({2, 3, 4}, 1.0f),
        {.mmap = joblib::mmap_mode::c});
  check("ndarray_i16_0d", iota_ndarray<std::int16_t>({}, 1) /* one element, 0 */);
  check("ndarray_f64_chunks", iota_ndarray<double>({330000}, 0.5));
  joblib::ndarray<bool> flags({3});
  flags.data()[0] = true;
  flags.data()[1] = false;
  flags.data()[2] = true;
  check("ndarray_bool", flags);
  // Explicit types (type=...).
  check("typed_unordered_map", std::unordered_map<std::string, std::int32_t>{{"x", 1}, {"y", 2}});
  check("typed_optional_empty", std::optional<std::int32_t>{});
  check("typed_optional", std::optional<std::int32_t>{5});
  check("typed_variant", std::variant<std::int32_t, std::string>{"s"});
  check("typed_struct", point{1.5, 2, "p"});
  check("typed_vector_byte", std::vector<std::byte>{std::byte{1}, std::byte{2}});
  check("typed_deque", std::deque<std::int32_t>{7, 8});
  check("typed_array", std::array<double, 3>{1, 2, 3});
  check("typed_duration_ns", nanoseconds{123'456'789'000});
  std::cout << "check_python_files: " << checked - failures << " of " << checked << " match\n";
  return failures == 0 ? 0 : 1;
}
