// The container writer/reader on their own (no value serialization): array nodes go through
// put()/get() and the value stream is an opaque byte string.
#include "joblib/persist/detail/reader.hpp"
#include "joblib/persist/detail/writer.hpp"

#include <atomic>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "file_bytes.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace joblib::detail;

namespace {

std::vector<double> smooth(std::size_t n) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i + 1);
  return v;
}

const std::string stream_text = "opaque value stream; opaque value stream; opaque value stream";

// Writes one container holding `arrays` (f64, 1-d) and the opaque stream. No Catch2
// assertions inside: it also runs on several threads at once (Catch2 v2 is not thread-safe).
void write_container(const fs::path& path, const std::vector<std::vector<double>>& arrays,
                     write_settings settings) {
  container_writer w(path, settings);
  std::vector<std::vector<std::uint64_t>> shapes;
  for (const auto& a : arrays) shapes.push_back({a.size()});
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    if (w.put(array_out{dtype::f64, shapes[i], std::as_bytes(std::span(arrays[i]))}) != i) {
      throw std::logic_error("array ids are not sequential");
    }
  }
  w.finish("test<f64>", std::as_bytes(std::span(stream_text)), {{"author", "tests"}});
}

std::vector<double> as_doubles(const loaded_array& a) {
  std::vector<double> v(a.bytes.size() / sizeof(double));
  if (!v.empty()) std::memcpy(v.data(), a.bytes.data(), a.bytes.size());
  return v;
}

// The index of a container file, as a DOM.
nlohmann::json index_of(const std::vector<char>& file) {
  const auto* end = reinterpret_cast<const std::byte*>(file.data()) + file.size();
  const auto offset = load_le<std::uint64_t>(end - trailer_size);
  const auto size = load_le<std::uint64_t>(end - trailer_size + 8);
  const auto* first = reinterpret_cast<const std::uint8_t*>(file.data()) + offset;
  return nlohmann::json::from_cbor(first, first + size);
}

// `file` with its index replaced by `index` (the last blob before the trailer) and format
// version `major`, all checksums recomputed: what a careful forger or a format 1 writer makes.
std::vector<char> with_index(std::vector<char> file, const std::vector<std::uint8_t>& index,
                             std::uint16_t major) {
  auto* b = reinterpret_cast<std::byte*>(file.data());
  const auto offset = load_le<std::uint64_t>(b + file.size() - trailer_size);
  file.resize(offset);
  file.insert(file.end(), index.begin(), index.end());
  file.resize(file.size() + trailer_size);
  b = reinterpret_cast<std::byte*>(file.data());
  store_le<std::uint16_t>(b + 8, major);
  store_le<std::uint64_t>(b + 56, checksum64(std::span<const std::byte>(b, 56)));
  trailer t;
  t.index_offset = offset;
  t.index_size = index.size();
  t.index_checksum = checksum64(std::span<const std::byte>(b + offset, index.size()));
  const auto tr = encode_trailer(t);
  std::memcpy(b + file.size() - trailer_size, tr.data(), tr.size());
  return file;
}

std::vector<std::uint8_t> as_json_text(const nlohmann::json& j) {
  const std::string text = j.dump();
  return {text.begin(), text.end()};
}

}  // namespace

TEST_CASE("container round trip: raw and chunked arrays, all level classes, all read modes") {
  auto previous = joblib::set_log_handler([](joblib::log_level, std::string_view) {});
  const test::temp_dir dir("container_rt");
  const std::vector<std::vector<double>> arrays{smooth(300000), {}, smooth(3), smooth(70000)};
  for (int level : {0, -3, 1, 3, 9}) {
    for (bool shuffle : {true, false}) {
      const auto path = dir / ("c" + std::to_string(level) + (shuffle ? "s" : "n") + ".jl");
      write_settings ws;
      ws.level = level;
      ws.shuffle = shuffle;
      ws.chunk_size = 64 * 1024;  // several chunks even for small test arrays
      ws.threads = 2;
      write_container(path, arrays, ws);
      for (std::optional<map_access> m :
           {std::optional<map_access>{}, std::optional{map_access::read_only},
            std::optional{map_access::copy_on_write}}) {
        container_reader r(path, read_settings{m, true, 2});
        REQUIRE(r.type_signature() == "test<f64>");
        REQUIRE(r.index()["attributes"]["author"] == "tests");
        const auto vs = r.value_stream();
        REQUIRE(std::string(reinterpret_cast<const char*>(vs.data()), vs.size()) == stream_text);
        for (std::size_t i = 0; i < arrays.size(); ++i) {
          const auto a = r.get(i);
          REQUIRE(a.type == dtype::f64);
          REQUIRE(a.shape == std::vector<std::uint64_t>{arrays[i].size()});
          REQUIRE(as_doubles(a) == arrays[i]);
          REQUIRE(reinterpret_cast<std::uintptr_t>(a.bytes.data()) % 64 == 0);
          REQUIRE(a.read_only == (m == map_access::read_only));
        }
        REQUIRE_THROWS_AS(r.get(arrays.size()), joblib::format_error);
      }
    }
  }
  joblib::set_log_handler(std::move(previous));
}

TEST_CASE("random data is stored raw in chunked arrays and costs at most 1% more") {
  const test::temp_dir dir("container_random");
  // Random bit patterns (uniform doubles in [0, 1) would still compress their exponents).
  std::mt19937_64 rng(7);
  std::vector<double> noise(1 << 18);
  for (auto& x : noise) {
    const std::uint64_t bits = rng();
    std::memcpy(&x, &bits, sizeof x);
  }
  write_settings ws;
  ws.level = 3;
  write_container(dir / "r.jl", {noise}, ws);
  ws.level = 0;
  write_container(dir / "raw.jl", {noise}, ws);
  const auto compressed = fs::file_size(dir / "r.jl");
  const auto raw = fs::file_size(dir / "raw.jl");
  REQUIRE(compressed <= raw + raw / 100);
  container_reader r(dir / "r.jl", {});
  for (const auto& c : r.arrays()[0].chunks) REQUIRE(c.codec == chunk_codec::raw);
  const auto back = r.get(0);
  REQUIRE(std::memcmp(back.bytes.data(), noise.data(), back.bytes.size()) == 0);
}

TEST_CASE("mmap modes: r is read-only, r+ writes through, c is copy-on-write") {
  const test::temp_dir dir("container_mmap");
  const auto path = dir / "m.jl";
  write_container(path, {smooth(100000)}, {});
  {
    container_reader r(path, read_settings{map_access::read_only, true, 1});
    const auto a = r.get(0);
    REQUIRE(a.read_only);
  }
  {
    container_reader c(path, read_settings{map_access::copy_on_write, true, 1});
    auto a = c.get(0);
    REQUIRE_FALSE(a.read_only);
    double x = -1;
    std::memcpy(a.bytes.data(), &x, sizeof x);
    container_reader again(path, {});
    REQUIRE(as_doubles(again.get(0))[0] == 1.0);
  }
  {
    loaded_array kept;
    {
      container_reader rp(path, read_settings{map_access::read_write, true, 1});
      kept = rp.get(0);
    }
    // The view outlives the reader: the mapping stays alive through keep_alive.
    double x = -2;
    std::memcpy(kept.bytes.data() + 8, &x, sizeof x);
  }
  container_reader after(path, {});
  REQUIRE((after.header().flags & flag_raw_modified) != 0);
  const auto v = as_doubles(after.get(0));
  REQUIRE(v[1] == -2.0);  // written through, and the stale stripe checksums are not enforced
  REQUIRE(v[2] == 3.0);
}

TEST_CASE("a compressed array read in an mmap mode is decompressed and reported") {
  const test::temp_dir dir("container_warn");
  write_settings ws;
  ws.level = 1;
  write_container(dir / "z.jl", {smooth(100000)}, ws);
  std::vector<std::string> seen;
  auto previous = joblib::set_log_handler([&](joblib::log_level level, std::string_view m) {
    if (level == joblib::log_level::warning) seen.emplace_back(m);
  });
  container_reader r(dir / "z.jl", read_settings{map_access::read_only, true, 1});
  const auto a = r.get(0);
  joblib::set_log_handler(std::move(previous));
  REQUIRE(as_doubles(a) == smooth(100000));
  REQUIRE(seen.size() == 1);
  REQUIRE(seen[0].find("cannot be memory-mapped") != std::string::npos);
}

namespace {
// Loads everything in the file; any problem must surface as format_error (or checksum_error).
void load_everything(const fs::path& path) {
  container_reader r(path, {});
  (void)r.value_stream();
  for (std::size_t i = 0; i < r.arrays().size(); ++i) (void)r.get(i);
}
}  // namespace

TEST_CASE("every flipped bit and every truncation is reported as format_error") {
  const test::temp_dir dir("container_flip");
  const auto good = dir / "good.jl";
  write_settings ws;
  ws.level = 3;
  ws.chunk_size = 4096;
  {
    container_writer w(good, ws);
    const auto a = smooth(3000);
    const std::uint64_t shape[] = {3000};
    w.put(array_out{dtype::f64, shape, std::as_bytes(std::span(a))});
    ws.level = 0;
    w.finish("t", std::as_bytes(std::span(stream_text)), {});
  }
  {  // one raw array too, so stripes are covered
    write_settings raw;
    raw.stripe_size = 1024;
    write_container(dir / "raw.jl", {smooth(2000)}, raw);
  }
  for (const char* name : {"good.jl", "raw.jl"}) {
    const auto original = test::read_all(dir / name);
    REQUIRE_NOTHROW(load_everything(dir / name));
    const auto bad = dir / "bad.jl";
    // Every byte, one bit each (cycling through bit positions).
    for (std::size_t i = 0; i < original.size(); ++i) {
      auto copy = original;
      copy[i] = static_cast<char>(copy[i] ^ (1 << (i % 8)));
      test::write_all(bad, copy);
      INFO("file " << name << " byte " << i);
      REQUIRE_THROWS_AS(load_everything(bad), joblib::format_error);
    }
    for (std::size_t len = 0; len < original.size(); len += 1 + len / 7) {
      test::write_all(bad, std::vector<char>(original.begin(), original.begin() + len));
      INFO("file " << name << " truncated to " << len);
      REQUIRE_THROWS_AS(load_everything(bad), joblib::format_error);
    }
  }
}

TEST_CASE("foreign files, directories and future versions are rejected clearly") {
  const test::temp_dir dir("container_foreign");
  REQUIRE_THROWS_AS(container_reader(dir, {}), joblib::format_error);
  test::write_all(dir / "pickle", {'\x80', '\x04', '\x95', 'x', 'y', 'z'});
  try {
    container_reader r(dir / "pickle", {});
    FAIL("no throw");
  } catch (const joblib::format_error& e) {
    REQUIRE(std::string(e.what()).find("pickle") != std::string::npos);
    REQUIRE(e.path() == dir / "pickle");
  }
  std::vector<char> npy{'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  npy.resize(200, ' ');
  test::write_all(dir / "a.npy", npy);
  REQUIRE_THROWS_WITH(container_reader(dir / "a.npy", {}), Catch::Contains(".npy"));

  write_container(dir / "v.jl", {smooth(10)}, {});
  auto bytes = test::read_all(dir / "v.jl");
  bytes[8] = 3;  // major version 3
  test::write_all(dir / "v.jl", bytes);
  REQUIRE_THROWS_WITH(container_reader(dir / "v.jl", {}),
                      Catch::Contains("unsupported container format version 3"));
}

TEST_CASE("a write that fails half way leaves the previous file intact and no temp file") {
  const test::temp_dir dir("container_halfway");
  const auto path = dir / "x.jl";
  write_container(path, {smooth(1000)}, {});
  const auto before = test::read_all(path);
  try {
    container_writer w(path, {});
    const auto big = smooth(200000);
    const std::uint64_t shape[] = {200000};
    w.put(array_out{dtype::f64, shape, std::as_bytes(std::span(big))});
    throw std::runtime_error("serialization failed half way");
  } catch (const std::runtime_error&) {
  }
  REQUIRE(test::read_all(path) == before);
  REQUIRE(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
  REQUIRE_NOTHROW(load_everything(path));
}

TEST_CASE("concurrent writers to one path leave one complete file") {
  const test::temp_dir dir("container_concurrent");
  const auto path = dir / "x.jl";
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        write_settings ws;
        ws.level = t % 2 == 0 ? 0 : 1;
        ws.threads = 1;
        write_container(path, {smooth(50000 + static_cast<std::size_t>(t))}, ws);
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(failures.load() == 0);
  container_reader r(path, {});
  const auto n = r.arrays()[0].shape[0];
  REQUIRE(n >= 50000);
  REQUIRE(n < 50004);
  REQUIRE(as_doubles(r.get(0)) == smooth(n));
  REQUIRE(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
}

TEST_CASE("writer rejects arrays whose bytes do not match shape and dtype") {
  const test::temp_dir dir("container_badput");
  container_writer w(dir / "x.jl", {});
  const std::vector<double> v(10);
  const std::uint64_t shape[] = {11};
  REQUIRE_THROWS_AS(w.put(array_out{dtype::f64, shape, std::as_bytes(std::span(v))}),
                    joblib::invalid_argument);
  const std::uint64_t huge[] = {std::uint64_t{1} << 62, 8};
  REQUIRE_THROWS_AS(w.put(array_out{dtype::f64, huge, std::as_bytes(std::span(v))}),
                    joblib::invalid_argument);
}

TEST_CASE("0-d arrays and huge shapes with size 0 round trip") {
  const test::temp_dir dir("container_shapes");
  const auto path = dir / "x.jl";
  const double scalar = 4.5;
  {
    container_writer w(path, {});
    w.put(array_out{dtype::f64, {}, std::as_bytes(std::span(&scalar, 1))});
    const std::uint64_t empty_shape[] = {std::uint64_t{1} << 40, 0, std::uint64_t{1} << 40};
    w.put(array_out{dtype::c128, empty_shape, {}});
    w.finish("t", {}, {});
  }
  for (std::optional<map_access> m :
       {std::optional<map_access>{}, std::optional{map_access::read_only}}) {
    container_reader r(path, read_settings{m, true, 0});
    const auto a = r.get(0);
    REQUIRE(a.shape.empty());
    REQUIRE(as_doubles(a) == std::vector<double>{4.5});
    const auto b = r.get(1);
    REQUIRE(b.type == dtype::c128);
    REQUIRE(b.shape ==
            std::vector<std::uint64_t>{std::uint64_t{1} << 40, 0, std::uint64_t{1} << 40});
    REQUIRE(b.bytes.empty());
    REQUIRE(r.value_stream().empty());
  }
}

TEST_CASE("format 1 files (JSON index) are still read") {
  const test::temp_dir dir("container_v1");
  write_container(dir / "v2.jl", {smooth(1000), smooth(5)}, {});
  const auto v2 = test::read_all(dir / "v2.jl");
  REQUIRE(static_cast<int>(v2[8]) == 2);
  auto index = index_of(v2);
  REQUIRE(index["version"] == nlohmann::json::array({2, 0}));
  index["version"] = {1, 0};
  test::write_all(dir / "v1.jl", with_index(v2, as_json_text(index), 1));
  container_reader r(dir / "v1.jl", {});
  REQUIRE(r.header().major == 1);
  REQUIRE(r.type_signature() == "test<f64>");
  REQUIRE(r.index()["attributes"]["author"] == "tests");
  REQUIRE(as_doubles(r.get(0)) == smooth(1000));
  REQUIRE(as_doubles(r.get(1)) == smooth(5));
}

TEST_CASE("hostile indexes with valid checksums are rejected with format_error") {
  const test::temp_dir dir("container_hostile_index");
  write_container(dir / "good.jl", {smooth(1000)}, {});
  const auto good = test::read_all(dir / "good.jl");
  const nlohmann::json index = index_of(good);

  auto rejects = [&](const std::vector<std::uint8_t>& bytes, std::uint16_t major,
                     const std::string& why) {
    test::write_all(dir / "bad.jl", with_index(good, bytes, major));
    try {
      container_reader r(dir / "bad.jl", {});
      FAIL("accepted: " << why);
    } catch (const joblib::format_error& e) {
      INFO(e.what());
      REQUIRE(std::string(e.what()).find(why) != std::string::npos);
      REQUIRE(e.offset() == load_le<std::uint64_t>(reinterpret_cast<const std::byte*>(good.data()) +
                                                   good.size() - trailer_size));
    }
  };
  auto edited = [&](auto&& edit) {
    nlohmann::json j = index;
    edit(j);
    return nlohmann::json::to_cbor(j);
  };

  rejects(edited([](auto& j) { j["value"]["offset"] = "64"; }), 2, "for 'offset' (a string)");
  rejects(edited([](auto& j) { j["value"]["offset"] = -64; }), 2, "a negative integer");
  rejects(edited([](auto& j) { j["value"].erase("xxh3"); }), 2, "missing 'xxh3'");
  rejects(edited([](auto& j) { j.erase("type"); }), 2, "missing 'type'");
  rejects(edited([](auto& j) { j["attributes"] = 1; }), 2, "for 'attributes'");
  rejects(edited([](auto& j) { j["arrays"][0]["shape"] = {1, "x"}; }), 2, "in a list (a string)");
  rejects(edited([](auto& j) { j["arrays"][0]["layout"] = "striped"; }), 2, "unknown layout");
  rejects(edited([](auto& j) { j["arrays"][0]["shape"] = std::vector<int>(40, 1); }), 2,
          "too many dimensions");
  rejects(edited([](auto& j) { j["version"] = {1, 0}; }), 2, "version mismatch");
  rejects(edited([](auto& j) { j["version"] = {2, 0, 0}; }), 2, "more than two numbers");
  rejects(nlohmann::json::to_cbor(nlohmann::json::array({1, 2})), 2, "not an object");
  rejects(nlohmann::json::to_cbor(42), 2, "not an object");

  nlohmann::json deep = 1;
  for (int i = 0; i < 200; ++i) deep = nlohmann::json::array({deep});
  rejects(edited([&](auto& j) { j["attributes"]["deep"] = deep; }), 2, "nested too deeply");
  rejects(edited([&](auto& j) { j["unknown"] = deep; }), 2, "nested too deeply");

  auto trailing = nlohmann::json::to_cbor(index);
  trailing.push_back(0);
  rejects(trailing, 2, "malformed index");
  auto cut = nlohmann::json::to_cbor(index);
  cut.resize(cut.size() / 2);
  rejects(cut, 2, "malformed index");

  // A JSON text index under format 2, and a duplicated key in a format 1 (JSON) index.
  rejects(as_json_text(index), 2, "malformed index");
  rejects(as_json_text(index), 1, "version mismatch");
  nlohmann::json v1 = index;
  v1["version"] = {1, 0};
  std::string text = v1.dump();
  text.insert(1, "\"type\":\"x\",");
  rejects(std::vector<std::uint8_t>(text.begin(), text.end()), 1, "duplicate key 'type'");

  // A chunk table row that is not four numbers.
  write_container(dir / "chunked.jl", {smooth(100000)}, write_settings{.level = 1});
  const auto chunked = test::read_all(dir / "chunked.jl");
  nlohmann::json ci = index_of(chunked);
  ci["arrays"][0]["chunks"][0].push_back(7);
  test::write_all(dir / "bad.jl", with_index(chunked, nlohmann::json::to_cbor(ci), 2));
  REQUIRE_THROWS_WITH(container_reader(dir / "bad.jl", {}), Catch::Contains("bad chunk table row"));

  // Unknown keys anywhere are skipped: a later minor version may add them.
  nlohmann::json extended = index;
  extended["comment"] = {{"nested", {1, 2, {{"x", nullptr}}}}};
  extended["value"]["hint"] = 3.5;
  extended["arrays"][0]["tags"] = {"a", "b"};
  test::write_all(dir / "ok.jl", with_index(good, nlohmann::json::to_cbor(extended), 2));
  container_reader r(dir / "ok.jl", {});
  REQUIRE(as_doubles(r.get(0)) == smooth(1000));
  REQUIRE(r.index()["comment"]["nested"][0] == 1);
}
