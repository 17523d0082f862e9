// .npy files: save_npy / load_npy round trips for every dtype, the header save_npy writes, the
// mmap modes, refused layouts and dtypes, hostile headers within bounded memory, and (where
// JOBLIB_TEST_PYTHON3 is set: presets with JOBLIB_PYTHON_TESTS) numpy's side in both directions.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "child_process.hpp"
#include "file_bytes.hpp"
#include "joblib/persist.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

// Element i of a test array, as npy_numpy.py's values() computes it.
template <class E>
E expected_value(std::size_t i) {
  if constexpr (std::is_same_v<E, bool>) {
    return i % 3 == 0;
  } else if constexpr (std::is_same_v<E, char>) {
    return static_cast<char>('a' + i % 26);
  } else if constexpr (std::is_same_v<E, std::complex<float>> ||
                       std::is_same_v<E, std::complex<double>>) {
    using R = typename E::value_type;
    return E(static_cast<R>(static_cast<double>(i) * 0.5),
             static_cast<R>(-static_cast<double>(i) * 0.25));
  } else if constexpr (std::is_floating_point_v<E>) {
    return static_cast<E>(static_cast<double>(i) * 0.5 - 3.25);
  } else if constexpr (std::is_signed_v<E>) {
    return static_cast<E>(static_cast<long long>(i) * 7 - 40);
  } else {
    return static_cast<E>(i * 7 + 1);
  }
}

template <class E>
joblib::ndarray<E> test_array(std::vector<std::size_t> shape = {3, 4}) {
  joblib::ndarray<E> a(std::move(shape));
  for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = expected_value<E>(i);
  return a;
}

std::string text_of(const fs::path& p) {
  const auto bytes = test::read_all(p);
  return {bytes.begin(), bytes.end()};
}

void write_text(const fs::path& p, const std::string& text) {
  test::write_all(p, std::vector<char>(text.begin(), text.end()));
}

// A .npy file of `version` whose header dict is `dict` (padded as numpy does), then `data`.
std::string npy_file(const std::string& dict, const std::string& data, unsigned version = 1) {
  const std::size_t prefix = version == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(version);
  out += '\0';
  for (std::size_t i = 0; i < prefix - 8; ++i)
    out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

std::string doubles(std::initializer_list<double> values) {
  std::string out;
  for (const double v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

// Loads `path` as ndarray<double> in a child whose address space is capped at 64 MiB more than
// it has: 0 when it threw format_error, else 1 (loaded) or test::child_bad_alloc / ...
int load_in_limited_child(const fs::path& path) {
  return test::in_child([&] {
    if (test::address_space_limits_work) test::limit_address_space(std::size_t{64} << 20);
    try {
      (void)joblib::load_npy<double>(path);
      return 1;
    } catch (const joblib::format_error&) {
      return 0;
    }
  });
}

}  // namespace

TEMPLATE_TEST_CASE("save_npy and load_npy round-trip every element type", "[npy]", bool, char,
                   std::int8_t, std::int16_t, std::int32_t, std::int64_t, std::uint8_t,
                   std::uint16_t, std::uint32_t, std::uint64_t, long, unsigned long long, float,
                   double, std::complex<float>, std::complex<double>) {
  const test::temp_dir dir("npy_roundtrip");
  for (const std::vector<std::size_t>& shape :
       {std::vector<std::size_t>{3, 4}, {7}, {}, {0}, {2, 0, 3}, {2, 1, 3, 1}}) {
    const auto a = test_array<TestType>(shape);
    joblib::save_npy(a, dir / "a.npy");
    const auto b = joblib::load_npy<TestType>(dir / "a.npy");
    REQUIRE(b == a);
    REQUIRE(b.ndim() == shape.size());
    const auto c = joblib::load_npy<const TestType>(dir / "a.npy", {.mmap = joblib::mmap_mode::r});
    REQUIRE(c == a);
  }
}

TEST_CASE("save_npy writes numpy's 1.0 header, 64-byte aligned") {
  const test::temp_dir dir("npy_header");
  joblib::save_npy(test_array<double>({2, 3}), dir / "a.npy");
  const std::string text = text_of(dir / "a.npy");
  REQUIRE(text.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_size = static_cast<unsigned char>(text[8]) |
                                  static_cast<std::size_t>(static_cast<unsigned char>(text[9]))
                                      << 8;
  REQUIRE((10 + header_size) % 64 == 0);
  REQUIRE(text.size() == 10 + header_size + 6 * sizeof(double));
  const std::string header = text.substr(10, header_size);
  REQUIRE(header.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"));
  REQUIRE(header.back() == '\n');
  REQUIRE(header.find_first_not_of(' ', 59) == header_size - 1);

  joblib::save_npy(test_array<std::int32_t>({5}), dir / "b.npy");
  REQUIRE(
      text_of(dir / "b.npy").find("{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }") ==
      10);
  joblib::save_npy(joblib::ndarray<bool>(std::vector<std::size_t>{}), dir / "c.npy");
  REQUIRE(text_of(dir / "c.npy").find("{'descr': '|b1', 'fortran_order': False, 'shape': (), }") ==
          10);
  joblib::save_npy(test_array<char>({2}), dir / "d.npy");
  REQUIRE(text_of(dir / "d.npy").find("'descr': '|S1'") != std::string::npos);
}

TEST_CASE("save_npy publishes atomically and leaves no temporary file") {
  const test::temp_dir dir("npy_atomic");
  joblib::save_npy(test_array<double>(), dir / "a.npy");
  joblib::save_npy(test_array<float>({2}), dir / "a.npy");  // replaces it
  REQUIRE(joblib::load_npy<float>(dir / "a.npy") == test_array<float>({2}));
  REQUIRE_THROWS_AS(joblib::save_npy(test_array<double>(), dir / "missing" / "a.npy"),
                    fs::filesystem_error);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++files;
  REQUIRE(files == 1);
}

TEST_CASE("load_npy's mmap modes: r views read-only, c privately, r_plus writes through") {
  const test::temp_dir dir("npy_mmap");
  const fs::path path = dir / "a.npy";
  joblib::save_npy(test_array<double>(), path);

  const auto r = joblib::load_npy<const double>(path, {.mmap = joblib::mmap_mode::r});
  REQUIRE_FALSE(r.owns_data());
  REQUIRE(r(2, 3) == expected_value<double>(11));
  REQUIRE_THROWS_AS(joblib::load_npy<double>(path, {.mmap = joblib::mmap_mode::r}),
                    joblib::invalid_argument);

  auto c = joblib::load_npy<double>(path, {.mmap = joblib::mmap_mode::c});
  REQUIRE_FALSE(c.owns_data());
  c(0, 0) = 100.0;
  REQUIRE(joblib::load_npy<double>(path)(0, 0) == expected_value<double>(0));

  {
    auto rw = joblib::load_npy<double>(path, {.mmap = joblib::mmap_mode::r_plus});
    rw(1, 1) = 42.0;
  }
  REQUIRE(joblib::load_npy<double>(path)(1, 1) == 42.0);

  const auto copy = joblib::load_npy<double>(path);
  REQUIRE(copy.owns_data());
  REQUIRE(joblib::load_npy<const double>(path).owns_data());
}

TEST_CASE("load_npy of another dtype is a type_mismatch_error naming both") {
  const test::temp_dir dir("npy_mismatch");
  joblib::save_npy(test_array<double>(), dir / "a.npy");
  try {
    (void)joblib::load_npy<float>(dir / "a.npy");
    FAIL("loaded");
  } catch (const joblib::type_mismatch_error& e) {
    REQUIRE(e.expected() == "'<f4'");
    REQUIRE(e.found() == "'<f8'");
    REQUIRE_THAT(e.what(), Catch::Contains("a.npy"));
  }
  REQUIRE_THROWS_AS(joblib::load_npy<std::int64_t>(dir / "a.npy"), joblib::type_mismatch_error);
  joblib::save_npy(test_array<std::int32_t>(), dir / "i.npy");
  REQUIRE_THROWS_AS(joblib::load_npy<std::uint32_t>(dir / "i.npy"), joblib::type_mismatch_error);
  joblib::save_npy(test_array<char>(), dir / "c.npy");
  REQUIRE_THROWS_AS(joblib::load_npy<std::int8_t>(dir / "c.npy"), joblib::type_mismatch_error);
}

TEST_CASE("load_npy reads format versions 2.0 and 3.0, and 1-byte dtypes in any byte order") {
  const test::temp_dir dir("npy_versions");
  for (const unsigned version : {1u, 2u, 3u}) {
    write_text(dir / "v.npy", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                       doubles({1.5, -2.0}), version));
    const auto a = joblib::load_npy<double>(dir / "v.npy");
    REQUIRE(a.size() == 2);
    REQUIRE(a(1) == -2.0);
  }
  // Keys in another order, double quotes, Python 2 longs, no trailing comma.
  write_text(dir / "w.npy",
             npy_file(R"({"shape": (1L, 2L), "fortran_order": False, "descr": "<f8"})",
                      doubles({3.0, 4.0})));
  REQUIRE(joblib::load_npy<double>(dir / "w.npy")(0, 1) == 4.0);
  write_text(dir / "u.npy",
             npy_file("{'descr': '<u1', 'fortran_order': False, 'shape': (1,), }", "\x07"));
  REQUIRE(joblib::load_npy<std::uint8_t>(dir / "u.npy")(0) == 7);
  // Trailing bytes (np.save called twice on one stream) are ignored, as numpy does.
  write_text(dir / "t.npy",
             npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", doubles({9.0})) +
                 "more");
  REQUIRE(joblib::load_npy<double>(dir / "t.npy")(0) == 9.0);
}

TEST_CASE("Fortran-order and big-endian files are format_errors naming file and offset") {
  const test::temp_dir dir("npy_layouts");
  write_text(dir / "f.npy", npy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }",
                                     doubles({1, 2, 3, 4})));
  REQUIRE_THROWS_WITH(joblib::load_npy<double>(dir / "f.npy"),
                      Catch::Contains("f.npy at offset 44") && Catch::Contains("Fortran-order") &&
                          Catch::Contains("ascontiguousarray"));
  // A column (one extent above 1) is laid out alike in both orders: read.
  write_text(dir / "col.npy", npy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 1), }",
                                       doubles({1, 2})));
  REQUIRE(joblib::load_npy<double>(dir / "col.npy")(1, 0) == 2.0);

  write_text(dir / "b.npy",
             npy_file("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", doubles({1})));
  REQUIRE_THROWS_WITH(joblib::load_npy<double>(dir / "b.npy"),
                      Catch::Contains("b.npy at offset 20") && Catch::Contains("big-endian") &&
                          Catch::Contains("astype('<f8')"));
  REQUIRE_THROWS_AS(joblib::load_npy<double>(dir / "b.npy", {.mmap = joblib::mmap_mode::c}),
                    joblib::format_error);
  write_text(
      dir / "s.npy",
      npy_file("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", doubles({1})));
  REQUIRE_THROWS_WITH(joblib::load_npy<double>(dir / "s.npy"), Catch::Contains("structured"));
}

TEST_CASE("malformed and hostile .npy headers are format_errors within bounded memory") {
  const test::temp_dir dir("npy_hostile");
  const std::string ok_dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  struct hostile {
    const char* name;
    std::string bytes;
    const char* message;
  };
  std::string huge_v2("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12);
  huge_v2 += "{'descr'";
  std::string bad_version = npy_file(ok_dict, doubles({1, 2}));
  bad_version[6] = 4;
  std::string truncated_header = npy_file(ok_dict, "");
  truncated_header.resize(40);
  const std::vector<hostile> cases = {
      {"empty", "", "truncated"},
      {"not npy", "PK\x03\x04 a zip file", "not a .npy file"},
      {"short prefix", std::string("\x93NUMPY\x01", 7), "truncated"},
      {"version 4", bad_version, "unsupported .npy format version 4.0"},
      {"header length 4 GiB", huge_v2, "more than the 65535"},
      {"header beyond the file", truncated_header, "truncated"},
      {"2^40 elements, 16 bytes stored",
       npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }",
                doubles({1, 2})),
       "truncated file or hostile header"},
      {"overflowing product",
       npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }",
                doubles({1})),
       "overflows"},
      {"extent of 2^63",
       npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (9223372036854775808,), }", ""),
       "2^63"},
      {"a 40-digit extent",
       npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': "
                "(1000000000000000000000000000000000000000,), }",
                ""),
       "2^63"},
      {"negative extent",
       npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", ""),
       "non-negative integer"},
      {"65 dimensions",
       npy_file(
           "{'descr': '<f8', 'fortran_order': False, 'shape': (" +
               [] {
                 std::string s;
                 for (int i = 0; i < 65; ++i) s += "1, ";
                 return s;
               }() +
               "), }",
           doubles({1})),
       "more than 64 dimensions"},
      {"missing shape", npy_file("{'descr': '<f8', 'fortran_order': False, }", ""),
       "lacks 'shape'"},
      {"duplicate key",
       npy_file("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
                doubles({1})),
       "appears twice"},
      {"unknown key",
       npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", doubles({1})),
       "unknown key 'x'"},
      {"unterminated string", npy_file("{'descr': '<f8", ""), "ends too early"},
      {"not a dict", npy_file("[1, 2]", ""), "not a dict"},
      {"text after the dict", npy_file(ok_dict + " junk", doubles({1, 2})),
       "after the header dict"},
      {"fortran_order not a bool",
       npy_file("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }", doubles({1})),
       "True or False"},
      {"truncated data", npy_file(ok_dict, doubles({1}) + "abc"), "truncated"},
  };
  for (const hostile& h : cases) {
    INFO(h.name);
    const fs::path path = dir / "h.npy";
    write_text(path, h.bytes);
    REQUIRE_THROWS_WITH(joblib::load_npy<double>(path),
                        Catch::Contains(h.message) && Catch::Contains("h.npy at offset"));
    REQUIRE_THROWS_AS(joblib::load_npy<const double>(path, {.mmap = joblib::mmap_mode::r}),
                      joblib::format_error);
    REQUIRE(load_in_limited_child(path) == 0);
  }

  write_text(dir / "bool.npy", npy_file("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
                                        std::string("\x01\x00\x02", 3)));
  REQUIRE_THROWS_WITH(joblib::load_npy<bool>(dir / "bool.npy"),
                      Catch::Contains("offset 130") && Catch::Contains("neither 0 nor 1"));
  REQUIRE_THROWS_AS(joblib::load_npy<const bool>(dir / "bool.npy", {.mmap = joblib::mmap_mode::r}),
                    joblib::format_error);
  REQUIRE_THROWS_AS(joblib::load_npy<double>(dir / "absent.npy"), fs::filesystem_error);
  REQUIRE_THROWS_WITH(joblib::load_npy<double>(dir.path()), Catch::Contains("a directory"));
}

TEST_CASE("load_npy refuses a symbolic link when asked to") {
  const test::temp_dir dir("npy_link");
  joblib::save_npy(test_array<double>(), dir / "a.npy");
  fs::create_symlink(dir / "a.npy", dir / "link.npy");
  REQUIRE(joblib::load_npy<double>(dir / "link.npy") == test_array<double>());
  REQUIRE_THROWS_WITH(joblib::load_npy<double>(dir / "link.npy", {.follow_symlinks = false}),
                      Catch::Contains("symbolic link"));
}

#ifdef JOBLIB_TEST_PYTHON3
namespace {

int run_numpy(const char* command, const fs::path& dir, bool quiet = false) {
  const std::string line = std::string(JOBLIB_TEST_PYTHON3) + " " + JOBLIB_TEST_NPY_SCRIPT + " " +
                           command + " '" + dir.string() + "'" + (quiet ? " 2>/dev/null" : "");
  const int status = std::system(line.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

template <class E>
void check_numpy_file(const fs::path& path) {
  INFO(path);
  REQUIRE(joblib::load_npy<E>(path) == test_array<E>());
  REQUIRE(joblib::load_npy<const E>(path, {.mmap = joblib::mmap_mode::r}) == test_array<E>());
}

template <class E>
void save_for_numpy(const fs::path& dir, const char* name) {
  joblib::save_npy(test_array<E>(), dir / (std::string(name) + ".npy"));
}

}  // namespace

TEST_CASE("numpy writes, load_npy reads: every dtype and format version", "[npy][python]") {
  const test::temp_dir dir("npy_from_numpy");
  REQUIRE(run_numpy("write", dir) == 0);
  check_numpy_file<bool>(dir / "bool.npy");
  check_numpy_file<char>(dir / "char.npy");
  check_numpy_file<std::int8_t>(dir / "i8.npy");
  check_numpy_file<std::int16_t>(dir / "i16.npy");
  check_numpy_file<std::int32_t>(dir / "i32.npy");
  check_numpy_file<std::int64_t>(dir / "i64.npy");
  check_numpy_file<std::uint8_t>(dir / "u8.npy");
  check_numpy_file<std::uint16_t>(dir / "u16.npy");
  check_numpy_file<std::uint32_t>(dir / "u32.npy");
  check_numpy_file<std::uint64_t>(dir / "u64.npy");
  check_numpy_file<float>(dir / "f32.npy");
  check_numpy_file<double>(dir / "f64.npy");
  check_numpy_file<std::complex<float>>(dir / "c64.npy");
  check_numpy_file<std::complex<double>>(dir / "c128.npy");
  for (const char* v : {"f64_v1.npy", "f64_v2.npy", "f64_v3.npy"})
    check_numpy_file<double>(dir / v);

  const auto zero_d = joblib::load_npy<double>(dir / "f64_0d.npy");
  REQUIRE(zero_d.ndim() == 0);
  REQUIRE(zero_d.flat()[0] == 2.5);
  const auto empty =
      joblib::load_npy<const double>(dir / "f64_empty.npy", {.mmap = joblib::mmap_mode::r});
  REQUIRE(std::vector<std::size_t>(empty.shape().begin(), empty.shape().end()) ==
          std::vector<std::size_t>{0, 5});
  const auto i64 = joblib::load_npy<std::int64_t>(dir / "i64_extremes.npy");
  REQUIRE(std::vector<std::int64_t>(i64.flat().begin(), i64.flat().end()) ==
          std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), -1, 0,
                                    std::numeric_limits<std::int64_t>::max()});
  REQUIRE(joblib::load_npy<std::uint64_t>(dir / "u64_extremes.npy")(1) ==
          std::numeric_limits<std::uint64_t>::max());
  REQUIRE_THROWS_WITH(joblib::load_npy<double>(dir / "f64_fortran.npy"),
                      Catch::Contains("Fortran-order"));
  REQUIRE_THROWS_WITH(joblib::load_npy<double>(dir / "f64_big_endian.npy"),
                      Catch::Contains("big-endian"));
  REQUIRE(joblib::load_npy<double>(dir / "f64_column.npy").size() == 5);
}

TEST_CASE("save_npy writes, numpy reads: every dtype", "[npy][python]") {
  const test::temp_dir dir("npy_to_numpy");
  save_for_numpy<bool>(dir, "bool");
  save_for_numpy<char>(dir, "char");
  save_for_numpy<std::int8_t>(dir, "i8");
  save_for_numpy<std::int16_t>(dir, "i16");
  save_for_numpy<std::int32_t>(dir, "i32");
  save_for_numpy<std::int64_t>(dir, "i64");
  save_for_numpy<std::uint8_t>(dir, "u8");
  save_for_numpy<std::uint16_t>(dir, "u16");
  save_for_numpy<std::uint32_t>(dir, "u32");
  save_for_numpy<std::uint64_t>(dir, "u64");
  save_for_numpy<float>(dir, "f32");
  save_for_numpy<double>(dir, "f64");
  save_for_numpy<std::complex<float>>(dir, "c64");
  save_for_numpy<std::complex<double>>(dir, "c128");
  joblib::ndarray<double> zero_d(std::vector<std::size_t>{});
  zero_d.flat()[0] = 2.5;
  joblib::save_npy(zero_d, dir / "f64_0d.npy");
  joblib::save_npy(joblib::ndarray<double>({0, 5}), dir / "f64_empty.npy");
  REQUIRE(run_numpy("check", dir) == 0);
  // The check must fail when a file is wrong (so that it proves something).
  joblib::save_npy(test_array<float>(), dir / "f64.npy");
  REQUIRE(run_numpy("check", dir, true) == 1);
}
#endif
