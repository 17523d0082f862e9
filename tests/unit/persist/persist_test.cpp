// joblib::dump / load / inspect through the public API (value stream + containers together).
#include "joblib/persist.hpp"

#include <algorithm>
#include <atomic>
#include <complex>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "catch.hpp"
#include "joblib/ndarray.hpp"
#include "test_util.hpp"

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

bool same(const joblib::ndarray<double>& a, const joblib::ndarray<double>& b) {
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
  const auto dir = persist_test::fresh_dir("api_basic");
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
  const auto dir = persist_test::fresh_dir("api_example");
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
  const auto dir = persist_test::fresh_dir("api_mismatch");
  joblib::dump(std::vector<double>{1, 2}, dir / "v.jl");
  try {
    (void)joblib::load<std::vector<float>>(dir / "v.jl");
    FAIL("no throw");
  } catch (const joblib::type_mismatch_error& e) {
    REQUIRE(e.expected() == joblib::type_signature<std::vector<float>>());
    REQUIRE(e.found() == joblib::type_signature<std::vector<double>>());
  }
}

TEST_CASE("mmap modes through load<ndarray>: r views read-only, r+ writes through, c is private") {
  const auto dir = persist_test::fresh_dir("api_mmap");
  const auto f = dir / "a.jl";
  joblib::dump(ramp(300, 200), f);
  {
    auto a = joblib::load<joblib::ndarray<double>>(f, {.mmap = joblib::mmap_mode::r});
    REQUIRE_FALSE(a.owns_data());
    REQUIRE_FALSE(a.writable());
    REQUIRE(same(a, ramp(300, 200)));
  }
  {
    auto a = joblib::load<joblib::ndarray<double>>(f, {.mmap = joblib::mmap_mode::c});
    REQUIRE(a.writable());
    a.flat()[0] = -1;
    REQUIRE(joblib::load<joblib::ndarray<double>>(f).flat()[0] == 0.0);
  }
  {
    auto a = joblib::load<joblib::ndarray<double>>(f, {.mmap = joblib::mmap_mode::r_plus});
    a.flat()[1] = 42;
  }
  REQUIRE(joblib::load<joblib::ndarray<double>>(f).flat()[1] == 42.0);
  const auto owned = joblib::load<joblib::ndarray<double>>(f);
  REQUIRE(owned.writable());
}

TEST_CASE("inspect returns type, arrays and user attributes") {
  const auto dir = persist_test::fresh_dir("api_inspect");
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
  REQUIRE_THROWS_AS(joblib::dump(1.0, f, {.attributes = 3}), joblib::format_error);
  REQUIRE_THROWS_AS(joblib::dump(1.0, f, {.compress = 23}), joblib::format_error);
}

TEST_CASE("dumps from several threads to one path leave one complete file") {
  const auto dir = persist_test::fresh_dir("api_concurrent");
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
  const auto dir = persist_test::fresh_dir("api_flip");
  const auto f = dir / "m.jl";
  joblib::dump(model{{ramp(20, 20)}, {{"alpha", 0.1}, {"beta", 2}}}, f, {.compress = 1});
  const auto original = persist_test::read_all(f);
  for (std::size_t i = 0; i < original.size(); i += 3) {
    auto copy = original;
    copy[i] = static_cast<char>(copy[i] ^ 0x10);
    persist_test::write_all(dir / "bad.jl", copy);
    INFO("byte " << i);
    REQUIRE_THROWS_AS(joblib::load<model>(dir / "bad.jl"), joblib::format_error);
  }
}
