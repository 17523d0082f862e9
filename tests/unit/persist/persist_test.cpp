// joblib::dump / load / inspect through the public API (value stream + containers together).
#include "joblib/persist.hpp"

#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <complex>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <ranges>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "catch.hpp"
#include "file_bytes.hpp"
#include "joblib/hash.hpp"
#include "joblib/ndarray.hpp"
#include "joblib/parallel.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

// The joblib docs example {"arrays": [ndarray 1000x1000], "params": {"alpha": 0.1}} as a struct.
struct model {
  std::vector<joblib::ndarray<double>> arrays;
  std::map<std::string, double> params;
};

joblib::ndarray<double> ramp(std::size_t rows, std::size_t cols) {
  joblib::ndarray<double> a({rows, cols});
  auto flat = a.flat();
  for (std::size_t i = 0; i < flat.size(); ++i) flat[i] = static_cast<double>(i) * 0.5;
  return a;
}

template <class T>
bool same(const joblib::ndarray<T>& a, const joblib::ndarray<double>& b) {
  if (!std::equal(a.shape().begin(), a.shape().end(), b.shape().begin(), b.shape().end())) {
    return false;
  }
  const auto fa = a.flat();
  const auto fb = b.flat();
  return std::equal(fa.begin(), fa.end(), fb.begin(), fb.end());
}

const joblib::dump_options level_classes[] = {
    {.compress = 0}, {.compress = -5}, {.compress = 1}, {.compress = 3}, {.compress = 19}};

}  // namespace

TEST_CASE("dump/load round trips scalars, strings, vectors and maps at every level class") {
  // Loading compressed arrays with mmap warns; keep the test output clean.
  auto previous = joblib::set_log_handler([](joblib::log_level, std::string_view) {});
  const test::temp_dir dir("api_basic");
  const auto f = dir / "v.jl";
  for (const auto& opt : level_classes) {
    joblib::dump(3.25, f, opt);
    REQUIRE(joblib::load<double>(f) == 3.25);
    joblib::dump(std::string("hello"), f, opt);
    REQUIRE(joblib::load<std::string>(f) == "hello");
    std::vector<double> v(100000);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
    joblib::dump(v, f, opt);
    REQUIRE(joblib::load<std::vector<double>>(f) == v);
    REQUIRE(joblib::load<std::vector<double>>(f, {.mmap = joblib::mmap_mode::r}) == v);
    const std::vector<std::int32_t> empty;
    joblib::dump(empty, f, opt);
    REQUIRE(joblib::load<std::vector<std::int32_t>>(f).empty());
    const std::vector<std::complex<float>> c{{1, 2}, {3, 4}};
    joblib::dump(c, f, opt);
    REQUIRE(joblib::load<std::vector<std::complex<float>>>(f) == c);
    const std::map<std::string, std::vector<std::string>> m{{"a", {"x", "y"}}, {"b", {}}};
    joblib::dump(m, f, opt);
    REQUIRE(joblib::load<std::map<std::string, std::vector<std::string>>>(f) == m);
  }
  joblib::set_log_handler(std::move(previous));
}

TEST_CASE("the joblib example round trips as a struct and as a map of variants") {
  const test::temp_dir dir("api_example");
  const auto f = dir / "model.jl";
  model m{{ramp(1000, 1000)}, {{"alpha", 0.1}}};
  for (const auto& opt : level_classes) {
    joblib::dump(m, f, opt);
    const auto back = joblib::load<model>(f);
    REQUIRE(back.params == m.params);
    REQUIRE(back.arrays.size() == 1);
    REQUIRE(same(back.arrays[0], m.arrays[0]));
  }
  using entry = std::variant<std::vector<joblib::ndarray<double>>, std::map<std::string, double>>;
  std::map<std::string, entry> dict{{"arrays", std::vector{ramp(1000, 1000)}},
                                    {"params", std::map<std::string, double>{{"alpha", 0.1}}}};
  joblib::dump(dict, f, {.compress = 3});
  auto back = joblib::load<std::map<std::string, entry>>(f);
  REQUIRE(std::get<1>(back.at("params")).at("alpha") == 0.1);
  REQUIRE(same(std::get<0>(back.at("arrays"))[0], ramp(1000, 1000)));
}

TEST_CASE("load<T> of another type throws type_mismatch_error naming both signatures") {
  const test::temp_dir dir("api_mismatch");
  joblib::dump(std::vector<double>{1, 2}, dir / "v.jl");
  try {
    (void)joblib::load<std::vector<float>>(dir / "v.jl");
    FAIL("no throw");
  } catch (const joblib::type_mismatch_error& e) {
    REQUIRE(e.expected() == joblib::type_signature<std::vector<float>>());
    REQUIRE(e.found() == joblib::type_signature<std::vector<double>>());
  }
}

TEST_CASE("mmap modes: r gives ndarray<const T> over the file, r+ writes through, c is private") {
  const test::temp_dir dir("api_mmap");
  const auto f = dir / "a.jl";
  joblib::dump(ramp(300, 200), f);
  {
    auto a = joblib::load<joblib::ndarray<const double>>(f, {.mmap = joblib::mmap_mode::r});
    REQUIRE_FALSE(a.owns_data());
    REQUIRE(same(a, ramp(300, 200)));
    // The ordinary accessors read the mapping.
    REQUIRE(a(299, 199) == ramp(300, 200)(299, 199));
    REQUIRE(a.flat()[1] == 0.5);
  }
  {
    auto a = joblib::load<joblib::ndarray<double>>(f, {.mmap = joblib::mmap_mode::c});
    REQUIRE_FALSE(a.owns_data());
    a.flat()[0] = -1;
    a(0, 1) = -2;
    REQUIRE(joblib::load<joblib::ndarray<double>>(f).flat()[0] == 0.0);
  }
  {
    auto a = joblib::load<joblib::ndarray<double>>(f, {.mmap = joblib::mmap_mode::r_plus});
    a.flat()[1] = 42;
  }
  REQUIRE(joblib::load<joblib::ndarray<double>>(f).flat()[1] == 42.0);
  REQUIRE(joblib::load<joblib::ndarray<const double>>(f).owns_data());
}

TEST_CASE("a writable ndarray<T> with mmap_mode::r is refused at load, naming the fix") {
  const test::temp_dir dir("api_mmap_refused");
  const auto f = dir / "a.jl";
  joblib::dump(ramp(4, 4), f);
  try {
    (void)joblib::load<joblib::ndarray<double>>(f, {.mmap = joblib::mmap_mode::r});
    FAIL("no throw");
  } catch (const joblib::invalid_argument& e) {
    REQUIRE(std::string(e.what()).find("ndarray<const T>") != std::string::npos);
  }
  // Refused before the file is opened: the same holds for a path that does not exist.
  REQUIRE_THROWS_AS(joblib::load<std::vector<joblib::ndarray<float>>>(
                        dir / "missing.jl", {.mmap = joblib::mmap_mode::r}),
                    joblib::invalid_argument);
  // Types without a writable array load as usual, and read-only arrays nest.
  REQUIRE(joblib::load<joblib::ndarray<const double>>(f, {.mmap = joblib::mmap_mode::r})(3, 3) ==
          7.5);
  joblib::dump(std::pair{std::string("x"), ramp(2, 2)}, dir / "p.jl");
  auto p = joblib::load<std::pair<std::string, joblib::ndarray<const double>>>(
      dir / "p.jl", {.mmap = joblib::mmap_mode::r});
  REQUIRE(p.second(1, 1) == 1.5);
}

TEST_CASE("inspect returns type, arrays and user attributes") {
  const test::temp_dir dir("api_inspect");
  const auto f = dir / "m.jl";
  joblib::dump(model{{ramp(10, 20)}, {{"alpha", 0.1}}}, f,
               {.compress = 3, .attributes = {{"author", "me"}, {"version", 2}}});
  const auto info = joblib::inspect(f);
  REQUIRE(info["type"] == std::string(joblib::type_signature<model>()));
  REQUIRE(info["attributes"]["author"] == "me");
  REQUIRE(info["arrays"].size() == 1);
  REQUIRE(info["arrays"][0]["dtype"] == "f64");
  REQUIRE(info["arrays"][0]["shape"] == nlohmann::json::array({10, 20}));
  REQUIRE(info["arrays"][0]["layout"] == "chunked");
  REQUIRE(info["file_size"] == fs::file_size(f));
  REQUIRE_THROWS_AS(joblib::dump(1.0, f, {.attributes = 3}), joblib::invalid_argument);
  REQUIRE_THROWS_AS(joblib::dump(1.0, f, {.compress = 23}), joblib::invalid_argument);
}

TEST_CASE("compress levels outside zstd's range are refused; dump returns the file size") {
  const test::temp_dir dir("api_levels");
  const auto f = dir / "x.jl";
  for (int level : {ZSTD_minCLevel() - 1, ZSTD_maxCLevel() + 1, std::numeric_limits<int>::min(),
                    std::numeric_limits<int>::max()}) {
    CAPTURE(level);
    REQUIRE_THROWS_AS(joblib::dump(1.0, f, {.compress = level}), joblib::invalid_argument);
  }
  REQUIRE_FALSE(fs::exists(f));  // refused before anything was written
  for (int level : {ZSTD_minCLevel(), -1, 0, 1, ZSTD_maxCLevel()}) {
    const std::uint64_t size = joblib::dump(ramp(8, 8), f, {.compress = level});
    REQUIRE(size == fs::file_size(f));
    REQUIRE(same(joblib::load<joblib::ndarray<double>>(f), ramp(8, 8)));
  }
}

TEST_CASE("everyday programs: a parallel list result dumps and hashes, a mapped array reads") {
  const test::temp_dir dir("api_everyday");
  auto sq = [](int i) { return i * i; };
  auto r = joblib::parallel({.n_jobs = 2})(std::views::iota(0, 10) |
                                           std::views::transform(joblib::delayed(sq)));
  joblib::dump(r, dir / "r.jl");
  REQUIRE(r.back() == 81);
  REQUIRE(joblib::hash(r) == joblib::hash(std::vector<int>{0, 1, 4, 9, 16, 25, 36, 49, 64, 81}));
  REQUIRE(joblib::load<std::vector<int>>(dir / "r.jl") == r);
  joblib::dump(ramp(10, 1), dir / "big.jl");
  auto a =
      joblib::load<joblib::ndarray<const double>>(dir / "big.jl", {.mmap = joblib::mmap_mode::r});
  double x = a(7, 0);
  REQUIRE(x == 3.5);
}

TEST_CASE("container_file: the stored type and attributes before loading") {
  const test::temp_dir dir("api_container_file");
  const auto f = dir / "m.jl";
  joblib::dump(std::vector<int>{1, 2, 3}, f, {.attributes = {{"run", 7}}});
  joblib::container_file file(f);
  REQUIRE(file.type_signature() == joblib::type_signature<std::vector<int>>());
  REQUIRE(file.attributes()["run"] == 7);
  REQUIRE(file.size() == fs::file_size(f));
  REQUIRE(file.native_handle() >= 0);
  REQUIRE(file.path() == f);
  REQUIRE_THROWS_AS(file.load<std::vector<float>>(), joblib::type_mismatch_error);
  REQUIRE(file.load<std::vector<int>>() == std::vector<int>{1, 2, 3});
  REQUIRE_FALSE(joblib::container_file::open_if_exists(dir / "missing.jl").has_value());
  REQUIRE_THROWS_AS(joblib::container_file(dir / "missing.jl"), fs::filesystem_error);
  auto maybe = joblib::container_file::open_if_exists(f);
  REQUIRE(maybe.has_value());
  REQUIRE(maybe->load<std::vector<int>>().size() == 3);
}

TEST_CASE("dumps from several threads to one path leave one complete file") {
  const test::temp_dir dir("api_concurrent");
  const auto f = dir / "x.jl";
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        joblib::dump(std::vector<double>(20000, t), f, {.compress = t % 2, .threads = 1});
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(failures.load() == 0);
  const auto v = joblib::load<std::vector<double>>(f);
  REQUIRE(v.size() == 20000);
  REQUIRE(std::all_of(v.begin(), v.end(), [&](double x) { return x == v[0]; }));
  REQUIRE(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
}

TEST_CASE("bit flips in a dumped file are reported, never crash") {
  const test::temp_dir dir("api_flip");
  const auto f = dir / "m.jl";
  joblib::dump(model{{ramp(20, 20)}, {{"alpha", 0.1}, {"beta", 2}}}, f, {.compress = 1});
  const auto original = test::read_all(f);
  for (std::size_t i = 0; i < original.size(); i += 3) {
    auto copy = original;
    copy[i] = static_cast<char>(copy[i] ^ 0x10);
    test::write_all(dir / "bad.jl", copy);
    INFO("byte " << i);
    REQUIRE_THROWS_AS(joblib::load<model>(dir / "bad.jl"), joblib::format_error);
  }
}
