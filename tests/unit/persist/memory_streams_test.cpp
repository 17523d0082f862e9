// joblib::dumps / loads and dump / load through std::ostream / std::istream: the container
// of a file, byte for byte, in memory and in streams, with every check a file gets (joblib's
// test_in_memory_persistence and test_file_handle_persistence).
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <ios>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

#include "catch.hpp"
#include "child_process.hpp"
#include "file_bytes.hpp"
#include "joblib/ndarray.hpp"
#include "joblib/persist.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

struct particle {
  std::string name;
  std::vector<double> position;
  std::map<std::string, int> tags;
  joblib::ndarray<float> field;
};

using nested = std::map<std::string, std::vector<std::optional<std::tuple<int, std::string>>>>;

joblib::ndarray<double> ramp(std::size_t rows, std::size_t cols) {
  joblib::ndarray<double> a({rows, cols});
  auto flat = a.flat();
  for (std::size_t i = 0; i < flat.size(); ++i) flat[i] = static_cast<double>(i % 1000) * 0.25;
  return a;
}

template <class T, class U>
bool same(const joblib::ndarray<T>& a, const joblib::ndarray<U>& b) {
  const auto fa = a.flat();
  const auto fb = b.flat();
  return std::ranges::equal(a.shape(), b.shape()) && std::ranges::equal(fa, fb);
}

particle make_particle() {
  joblib::ndarray<float> field({4, 50});
  for (std::size_t i = 0; i < field.size(); ++i) field.flat()[i] = static_cast<float>(i) / 7;
  return {"p", std::vector<double>(100, 1.5), {{"a", 1}, {"b", 2}}, std::move(field)};
}

bool equal(const particle& a, const particle& b) {
  return a.name == b.name && a.position == b.position && a.tags == b.tags && same(a.field, b.field);
}

std::vector<std::byte> as_bytes(const std::string& s) {
  const auto b = std::as_bytes(std::span(s));
  return {b.begin(), b.end()};
}

std::vector<std::byte> file_bytes(const fs::path& p) {
  return as_bytes([&] {
    const auto chars = test::read_all(p);
    return std::string(chars.begin(), chars.end());
  }());
}

const joblib::dump_options option_classes[] = {
    {.compress = 0},
    {.compress = -5},
    {.compress = 1, .chunk_size = 4096},
    {.compress = 3},
    {.compress = 19, .shuffle = false},
    {.compress = 3, .chunk_size = 1000, .threads = 1, .attributes = {{"run", 7}}},
};

// A stream buffer that takes `limit` bytes and then refuses more, as a full disk does.
class full_after : public std::streambuf {
 public:
  explicit full_after(std::size_t limit) : limit_(limit) {}
  std::size_t written() const noexcept { return written_; }

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    if (written_ == limit_) return traits_type::eof();
    ++written_;
    return c;
  }
  std::streamsize xsputn(const char*, std::streamsize n) override {
    const auto k = std::min<std::streamsize>(n, static_cast<std::streamsize>(limit_ - written_));
    written_ += static_cast<std::size_t>(k);
    return k;
  }

 private:
  std::size_t limit_;
  std::size_t written_ = 0;
};

// A stream buffer serving `bytes`, that throws once they are used up when `throws` (a
// connection reset) or simply ends; it claims to hold far more than it does.
class serving : public std::streambuf {
 public:
  serving(std::span<const std::byte> bytes, bool throws) : throws_(throws) {
    auto* p = const_cast<char*>(reinterpret_cast<const char*>(bytes.data()));
    setg(p, p, p + bytes.size());
  }

 protected:
  int_type underflow() override {
    if (throws_) throw std::runtime_error("connection reset");
    return traits_type::eof();
  }
  std::streamsize showmanyc() override { return std::streamsize{1} << 60; }
  pos_type seekoff(off_type, std::ios_base::seekdir, std::ios_base::openmode) override {
    return pos_type(off_type{1} << 60);
  }

 private:
  bool throws_;
};

}  // namespace

TEST_CASE("dumps/loads round trip scalars, strings, containers, structs and arrays") {
  auto previous = joblib::set_log_handler([](joblib::log_level, std::string_view) {});
  const nested n{{"x", {std::nullopt, std::tuple{1, std::string("one")}}}, {"y", {}}};
  for (const auto& opt : option_classes) {
    CAPTURE(opt.compress, opt.chunk_size);
    REQUIRE(joblib::loads<double>(joblib::dumps(3.25, opt)) == 3.25);
    REQUIRE(joblib::loads<std::string>(joblib::dumps(std::string("hello"), opt)) == "hello");
    REQUIRE(joblib::loads<std::vector<int>>(joblib::dumps(std::vector<int>{}, opt)).empty());
    std::vector<double> v(50000);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
    REQUIRE(joblib::loads<std::vector<double>>(joblib::dumps(v, opt)) == v);
    REQUIRE(joblib::loads<nested>(joblib::dumps(n, opt)) == n);
    REQUIRE(equal(joblib::loads<particle>(joblib::dumps(make_particle(), opt)), make_particle()));
    const auto a = ramp(300, 200);  // 480 KB: a page-aligned raw blob, or many chunks
    REQUIRE(same(joblib::loads<joblib::ndarray<double>>(joblib::dumps(a, opt)), a));
    REQUIRE(same(joblib::loads<joblib::ndarray<const double>>(joblib::dumps(a, opt)), a));
    using many = std::variant<std::vector<joblib::ndarray<double>>, std::vector<std::string>>;
    const many m = std::vector{ramp(3, 3), ramp(0, 4), ramp(100, 1)};
    const auto back = std::get<0>(joblib::loads<many>(joblib::dumps(m, opt)));
    REQUIRE(back.size() == 3);
    REQUIRE(same(back[2], ramp(100, 1)));
    REQUIRE(back[1].size() == 0);
  }
  joblib::set_log_handler(std::move(previous));
}

TEST_CASE("dump/load through std::stringstream and through std::ofstream/std::ifstream") {
  const test::temp_dir dir("streams_round_trip");
  for (const auto& opt : option_classes) {
    CAPTURE(opt.compress, opt.chunk_size);
    std::stringstream s;
    const std::uint64_t size = joblib::dump(make_particle(), s, opt);
    REQUIRE(size == s.str().size());
    REQUIRE(equal(joblib::load<particle>(s), make_particle()));
    REQUIRE(s.eof());

    const auto f = dir / "p.jl";
    {
      std::ofstream out(f, std::ios::binary);
      REQUIRE(joblib::dump(ramp(300, 200), out, opt) > 0);
    }
    std::ifstream in(f, std::ios::binary);
    in.exceptions(std::ios::failbit | std::ios::badbit);  // reading to the end trips neither
    REQUIRE(same(joblib::load<joblib::ndarray<double>>(in), ramp(300, 200)));
    // What a stream dump wrote is a container file like any other.
    REQUIRE(same(joblib::load<joblib::ndarray<double>>(f), ramp(300, 200)));
  }
}

TEST_CASE("dumps and stream dumps are byte-identical to the file dump writes") {
  const test::temp_dir dir("streams_identical");
  const auto f = dir / "x.jl";
  for (const auto& opt : option_classes) {
    CAPTURE(opt.compress, opt.chunk_size);
    auto check = [&](const auto& value) {
      const std::uint64_t size = joblib::dump(value, f, opt);
      const auto bytes = joblib::dumps(value, opt);
      REQUIRE(bytes == file_bytes(f));
      REQUIRE(bytes.size() == size);
      std::ostringstream s;
      REQUIRE(joblib::dump(value, s, opt) == size);
      REQUIRE(as_bytes(s.str()) == bytes);
      // And the file's bytes load from memory, the bytes load as a file.
      REQUIRE(joblib::inspect(bytes) == joblib::inspect(f));
    };
    check(42);
    check(std::string("text"));
    check(make_particle());
    check(ramp(300, 200));
    check(std::vector<joblib::ndarray<double>>{ramp(2, 2), ramp(64, 1), ramp(0, 3)});
  }
}

TEST_CASE("loads copies arrays once, from any alignment, into results that outlive the bytes") {
  const auto a = ramp(300, 200);
  for (const int level : {0, 3}) {
    const auto bytes = joblib::dumps(a, {.compress = level});
    for (std::size_t shift : {0, 1, 3}) {
      CAPTURE(level, shift);
      auto moved = std::make_unique<std::vector<std::byte>>(bytes.size() + shift);
      std::copy(bytes.begin(), bytes.end(), moved->begin() + static_cast<std::ptrdiff_t>(shift));
      const std::span<const std::byte> input(moved->data() + shift, bytes.size());
      auto loaded = joblib::loads<joblib::ndarray<double>>(input);
      auto constant = joblib::loads<joblib::ndarray<const double>>(input);
      auto vector = joblib::loads<std::vector<double>>(
          joblib::dumps(std::vector<double>(a.flat().begin(), a.flat().end())));
      moved.reset();  // the input is gone; the results own their data
      REQUIRE(loaded.owns_data());
      REQUIRE(constant.owns_data());
      REQUIRE(same(loaded, a));
      REQUIRE(same(constant, a));
      REQUIRE(std::ranges::equal(vector, a.flat()));
      loaded.flat()[0] = -1;  // writable, and not shared with anything
      REQUIRE(constant.flat()[0] == a.flat()[0]);
    }
  }
}

TEST_CASE("load(std::istream&) reads from the stream's position to its end") {
  std::stringstream s;
  s << "header:";
  joblib::dump(std::vector<int>{1, 2, 3}, s);
  std::string word;
  std::getline(s, word, ':');
  REQUIRE(word == "header");
  REQUIRE(joblib::load<std::vector<int>>(s) == std::vector<int>{1, 2, 3});
  REQUIRE(s.eof());
  REQUIRE_FALSE(s.fail());

  // One container per stream: another one behind the first is not a container.
  std::stringstream two;
  joblib::dump(1, two);
  joblib::dump(2, two);
  REQUIRE_THROWS_AS(joblib::load<int>(two), joblib::format_error);

  // Several MiB arrive in many steps.
  std::stringstream big;
  joblib::dump(ramp(1000, 1000), big);
  REQUIRE(same(joblib::load<joblib::ndarray<double>>(big), ramp(1000, 1000)));
}

TEST_CASE("mmap modes are refused for bytes and streams: mmap needs a file") {
  const auto bytes = joblib::dumps(ramp(4, 4));
  for (const auto mode : {joblib::mmap_mode::r, joblib::mmap_mode::r_plus, joblib::mmap_mode::c}) {
    REQUIRE_THROWS_AS(joblib::loads<joblib::ndarray<const double>>(bytes, {.mmap = mode}),
                      joblib::invalid_argument);
    REQUIRE_THROWS_WITH(joblib::loads<joblib::ndarray<const double>>(bytes, {.mmap = mode}),
                        Catch::Contains("mmap needs a file"));
    std::stringstream s;
    joblib::dump(ramp(4, 4), s);
    REQUIRE_THROWS_WITH(joblib::load<joblib::ndarray<const double>>(s, {.mmap = mode}),
                        Catch::Contains("mmap needs a file"));
    REQUIRE(s.tellg() == 0);  // refused before reading anything
  }
}

TEST_CASE("compress levels outside zstd's range are refused by every dump entry point") {
  const test::temp_dir dir("streams_levels");
  for (const int level : {INT_MIN, -131073, ZSTD_minCLevel() - 1, ZSTD_maxCLevel() + 1, INT_MAX}) {
    CAPTURE(level);
    REQUIRE_THROWS_AS(joblib::dump(1.0, dir / "x.jl", {.compress = level}),
                      joblib::invalid_argument);
    REQUIRE_THROWS_AS(joblib::dumps(ramp(2, 2), {.compress = level}), joblib::invalid_argument);
    std::ostringstream s;
    REQUIRE_THROWS_AS(joblib::dump(ramp(2, 2), s, {.compress = level}), joblib::invalid_argument);
    REQUIRE(s.str().empty());  // refused before anything was written
  }
  REQUIRE(fs::is_empty(dir.path()));
  for (const int level : {ZSTD_minCLevel(), -1, 1, ZSTD_maxCLevel()}) {
    CAPTURE(level);
    REQUIRE(
        same(joblib::loads<joblib::ndarray<double>>(joblib::dumps(ramp(8, 8), {.compress = level})),
             ramp(8, 8)));
  }
  std::ostringstream s;
  REQUIRE_THROWS_AS(joblib::dump(1, s, {.chunk_size = 0}), joblib::invalid_argument);
  REQUIRE(s.str().empty());
}

TEST_CASE("every truncation of a container in memory is a format_error naming <memory>") {
  for (const int level : {0, 3}) {
    const auto bytes = joblib::dumps(make_particle(), {.compress = level, .chunk_size = 256});
    CAPTURE(level, bytes.size());
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      CAPTURE(n);
      try {
        (void)joblib::loads<particle>(std::span(bytes).first(n), {.threads = 1});
        FAIL("a truncated container loaded");
      } catch (const joblib::format_error& e) {
        REQUIRE(e.path() == "<memory>");
        REQUIRE(e.offset().has_value());
      }
    }
    // The same through a stream that ends early.
    for (std::size_t n = 0; n < bytes.size(); n += 61) {
      CAPTURE(n);
      std::stringstream s(std::string(reinterpret_cast<const char*>(bytes.data()), n));
      REQUIRE_THROWS_WITH(joblib::load<particle>(s), Catch::Contains("<stream> at offset"));
    }
  }
}

TEST_CASE("every single-byte corruption of a container in memory is reported, never a crash") {
  for (const int level : {0, 3}) {
    const auto original = joblib::dumps(make_particle(), {.compress = level, .chunk_size = 256});
    CAPTURE(level, original.size());
    for (std::size_t i = 0; i < original.size(); ++i) {
      for (const unsigned char mask : {0x01, 0x80, 0xff}) {
        auto bytes = original;
        bytes[i] ^= std::byte{mask};
        CAPTURE(i, int{mask});
        try {
          (void)joblib::loads<particle>(bytes, {.threads = 1});
          FAIL("a corrupted container loaded");
        } catch (const joblib::format_error& e) {
          REQUIRE(e.path() == "<memory>");
        }
        // Without checksums a damaged payload may load; the bounds still hold.
        try {
          (void)joblib::loads<particle>(bytes, {.verify = false, .threads = 1});
        } catch (const joblib::format_error&) {
        }
      }
    }
  }
}

TEST_CASE("foreign and damaged bytes say what they are, as files do") {
  REQUIRE_THROWS_WITH(joblib::loads<int>({}), Catch::Contains("<memory> at offset 0"));
  const auto pickle = as_bytes("\x80\x04\x95 pickled");
  REQUIRE_THROWS_WITH(joblib::loads<int>(pickle), Catch::Contains("Python pickle"));
  const auto npy = as_bytes(std::string("\x93NUMPY\x01\x00", 8) + std::string(120, ' '));
  REQUIRE_THROWS_WITH(joblib::loads<int>(npy), Catch::Contains(".npy"));
  auto future = joblib::dumps(1);
  future[8] = std::byte{9};  // major version 9
  REQUIRE_THROWS_WITH(joblib::loads<int>(future), Catch::Contains("version 9"));
  REQUIRE_THROWS_AS(joblib::inspect(future), joblib::format_error);
  try {
    (void)joblib::loads<std::vector<float>>(joblib::dumps(std::vector<double>{1, 2}));
    FAIL("no throw");
  } catch (const joblib::type_mismatch_error& e) {
    REQUIRE(std::string(e.what()).find("<memory>") != std::string::npos);
  }
  const auto info = joblib::inspect(joblib::dumps(ramp(10, 20), {.compress = 3}));
  REQUIRE(info["arrays"][0]["layout"] == "chunked");
  REQUIRE(info["type"] == std::string(joblib::type_signature<joblib::ndarray<double>>()));
}

TEST_CASE("a stream that fails midway is reported") {
  const auto bytes = joblib::dumps(make_particle());
  SECTION("dump: a stream that stops taking bytes is std::ios_base::failure") {
    for (const std::size_t limit : {std::size_t{0}, std::size_t{100}, bytes.size() - 1}) {
      CAPTURE(limit);
      full_after buffer(limit);
      std::ostream out(&buffer);
      REQUIRE_THROWS_AS(joblib::dump(make_particle(), out), std::ios_base::failure);
      REQUIRE(out.bad());
      // With exceptions enabled the stream throws its own failure: the same type.
      full_after again(limit);
      std::ostream strict(&again);
      strict.exceptions(std::ios::badbit);
      REQUIRE_THROWS_AS(joblib::dump(make_particle(), strict), std::ios_base::failure);
    }
    full_after roomy(bytes.size());
    std::ostream out(&roomy);
    REQUIRE(joblib::dump(make_particle(), out) == bytes.size());
  }
  SECTION("dump: a stream already failed is refused before any work") {
    std::ostringstream out;
    out.setstate(std::ios::failbit);
    REQUIRE_THROWS_WITH(joblib::dump(1, out), Catch::Contains("not writable"));
  }
  SECTION("load: the stream buffer's exception goes on and the stream is marked bad") {
    serving buffer{std::span(bytes).first(bytes.size() / 2), /*throws=*/true};
    std::istream in(&buffer);
    REQUIRE_THROWS_WITH(joblib::load<particle>(in), "connection reset");
    REQUIRE(in.bad());
  }
  SECTION("load: a stream that ends early is a truncated container") {
    serving buffer{std::span(bytes).first(bytes.size() - 1), /*throws=*/false};
    std::istream in(&buffer);
    REQUIRE_THROWS_WITH(joblib::load<particle>(in), Catch::Contains("<stream> at offset"));
  }
  SECTION("load: a stream already failed is std::ios_base::failure") {
    std::istringstream in(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    in.setstate(std::ios::badbit);
    REQUIRE_THROWS_AS(joblib::load<particle>(in), std::ios_base::failure);
  }
}

TEST_CASE("a stream claiming a huge size makes no huge allocation") {
  const auto bytes = joblib::dumps(make_particle());
  const int status = test::in_child([&] {
    if (test::address_space_limits_work) test::limit_address_space(std::size_t{64} << 20);
    serving buffer(bytes, /*throws=*/false);
    std::istream in(&buffer);
    return equal(joblib::load<particle>(in, {.threads = 1}), make_particle()) ? 0 : 1;
  });
  REQUIRE(status == 0);
}

TEST_CASE("loads of the same bytes from several threads") {
  const auto bytes = joblib::dumps(ramp(300, 200), {.compress = 1});
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ok[static_cast<std::size_t>(t)] =
          same(joblib::loads<joblib::ndarray<double>>(bytes), ramp(300, 200)) ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(std::ranges::count(ok, 1) == 4);
}
