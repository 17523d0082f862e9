// Writes one joblib container per type kind into the folder given as argv[1], plus
// expected.json: for each file its type signature and the value it holds, in a tagged JSON form
// that python/tests/test_interop.py turns into the Python objects joblib_cpp.load must return
// (the mapping of the package docstring). Also writes a joblib::memory cache under
// <folder>/cache for the Python Cache tests.
#include <joblib/joblib.hpp>

#include <array>
#include <chrono>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

namespace {

using json = nlohmann::json;

struct point {  // a user aggregate: signature struct{f64,i32,str}
  double x;
  std::int32_t y;
  std::string name;
};

enum class color : std::uint8_t { red = 1, green = 2 };

std::string hex(const void* data, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

// --- the expected value of each C++ type, as tagged JSON ------------------------------------
// Declared first so that each template finds the others whatever their order below.
template <class T>
requires std::is_integral_v<T> json ex(T v);
template <class T>
json ex(const std::complex<T>& v);
template <class R, class P>
json ex(std::chrono::duration<R, P> d);
template <class D>
json ex(std::chrono::time_point<std::chrono::system_clock, D> t);
template <class D>
json ex(std::chrono::time_point<std::chrono::steady_clock, D> t);
template <class T>
json ex(const std::optional<T>& v);
template <class T>
json ex(const std::unique_ptr<T>& v);
template <class... T>
json ex(const std::variant<T...>& v);
template <class A, class B>
json ex(const std::pair<A, B>& v);
template <class... T>
json ex(const std::tuple<T...>& v);
template <class E>
json ex(const joblib::ndarray<E>& a);
template <class T>
json ex(const std::vector<T>& v);
template <class T, std::size_t N>
json ex(const std::array<T, N>& v);
template <class T>
json ex(const std::deque<T>& v);
template <class T>
json ex(const std::list<T>& v);
template <class T>
json ex(const std::set<T>& v);
template <class T>
json ex(const std::unordered_set<T>& v);
template <class T>
json ex(const std::multiset<T>& v);
template <class T>
json ex(const std::unordered_multiset<T>& v);
template <class K, class V>
json ex(const std::map<K, V>& m);
template <class K, class V>
json ex(const std::unordered_map<K, V>& m);
template <class K, class V>
json ex(const std::multimap<K, V>& m);
template <class K, class V>
json ex(const std::unordered_multimap<K, V>& m);
json ex(bool v) { return v; }
json ex(char v) { return {{"bytes", hex(&v, 1)}}; }
json ex(std::byte v) { return static_cast<int>(v); }
json ex(color v) { return static_cast<int>(v); }
json ex(std::monostate) { return nullptr; }
json ex(const std::string& v) { return {{"str_hex", hex(v.data(), v.size())}}; }
json ex(const std::filesystem::path& v) { return {{"path", v.generic_string()}}; }
template <class T>
requires std::is_integral_v<T> json ex(T v) { return v; }
json ex(double v) { return {{"float_hex", hex(&v, sizeof v)}}; }
json ex(float v) { return ex(static_cast<double>(v)); }
json ex(long double v) { return ex(static_cast<double>(v)); }
template <class T>
json ex(const std::complex<T>& v) {
  return {{"complex", {ex(v.real()), ex(v.imag())}}};
}
template <class R, class P>
json ex(std::chrono::duration<R, P> d) {
  return {{"timedelta_us", std::chrono::round<std::chrono::microseconds>(d).count()}};
}
template <class D>
json ex(std::chrono::time_point<std::chrono::system_clock, D> t) {
  return {
      {"datetime_us", std::chrono::round<std::chrono::microseconds>(t.time_since_epoch()).count()}};
}
template <class D>
json ex(std::chrono::time_point<std::chrono::steady_clock, D> t) {
  return ex(t.time_since_epoch());
}
json ex(const point& p) { return {{"tuple", {ex(p.x), ex(p.y), ex(p.name)}}}; }

template <class T>
json ex(const std::optional<T>& v) {
  return v ? ex(*v) : json(nullptr);
}
template <class T>
json ex(const std::unique_ptr<T>& v) {
  return v ? ex(*v) : json(nullptr);
}
template <class... T>
json ex(const std::variant<T...>& v) {
  return std::visit([](const auto& a) { return ex(a); }, v);
}
template <class A, class B>
json ex(const std::pair<A, B>& v) {
  return {{"tuple", {ex(v.first), ex(v.second)}}};
}
template <class... T>
json ex(const std::tuple<T...>& v) {
  json items = json::array();
  std::apply([&](const auto&... a) { (items.push_back(ex(a)), ...); }, v);
  return {{"tuple", items}};
}

// Array nodes: dtype, shape, and the little-endian bytes.
template <class E>
json ndarray_json(std::string_view dtype, const std::vector<std::size_t>& shape, const E* data,
                  std::size_t count) {
  return {{"ndarray", {{"dtype", dtype}, {"shape", shape}, {"hex", hex(data, count * sizeof(E))}}}};
}
template <class E>
std::string_view dtype_name() {
  if constexpr (std::is_same_v<E, bool>)
    return "bool";
  else if constexpr (std::is_same_v<E, char>)
    return "char";
  else if constexpr (std::is_same_v<E, std::byte>)
    return "u8";
  else if constexpr (std::is_same_v<E, std::complex<float>>)
    return "c64";
  else if constexpr (std::is_same_v<E, std::complex<double>>)
    return "c128";
  else if constexpr (std::is_same_v<E, float>)
    return "f32";
  else if constexpr (std::is_same_v<E, double>)
    return "f64";
  else if constexpr (std::is_signed_v<E>)
    return sizeof(E) == 1 ? "i8" : sizeof(E) == 2 ? "i16" : sizeof(E) == 4 ? "i32" : "i64";
  else
    return sizeof(E) == 1 ? "u8" : sizeof(E) == 2 ? "u16" : sizeof(E) == 4 ? "u32" : "u64";
}
template <class E>
concept element = (std::is_arithmetic_v<E> && !std::is_same_v<E, bool> &&
                   !std::is_same_v<E, long double>) ||
                  std::is_same_v<E, std::byte> || std::is_same_v<E, std::complex<float>> ||
                  std::is_same_v<E, std::complex<double>>;

template <class E>
json ex(const joblib::ndarray<E>& a) {
  return ndarray_json(dtype_name<std::remove_const_t<E>>(),
                      std::vector<std::size_t>(a.shape().begin(), a.shape().end()), a.data(),
                      a.size());
}
template <class T>
json ex(const std::vector<T>& v) {
  if constexpr (element<T>) {
    return ndarray_json(dtype_name<T>(), {v.size()}, v.data(), v.size());
  } else {
    json items = json::array();
    for (const auto& e : v) items.push_back(ex(static_cast<T>(e)));
    return items;
  }
}
template <class T, std::size_t N>
json ex(const std::array<T, N>& v) {
  if constexpr (element<T>) {
    return ndarray_json(dtype_name<T>(), {N}, v.data(), N);
  } else {
    json items = json::array();
    for (const auto& e : v) items.push_back(ex(e));
    return items;
  }
}
template <class C>
json list_json(const C& c) {
  json items = json::array();
  for (const auto& e : c) items.push_back(ex(e));
  return items;
}
template <class T>
json ex(const std::deque<T>& v) {
  return list_json(v);
}
template <class T>
json ex(const std::list<T>& v) {
  return list_json(v);
}
template <class T>
json ex(const std::set<T>& v) {
  return {{"set", list_json(v)}};
}
template <class T>
json ex(const std::unordered_set<T>& v) {
  return {{"set", list_json(v)}};
}
template <class T>
json ex(const std::multiset<T>& v) {
  return {{"sorted_list", list_json(v)}};
}
template <class T>
json ex(const std::unordered_multiset<T>& v) {
  return {{"sorted_list", list_json(v)}};
}
template <class M>
json pairs_json(const M& m) {
  json items = json::array();
  for (const auto& [k, v] : m) items.push_back({ex(k), ex(v)});
  return items;
}
template <class K, class V>
json ex(const std::map<K, V>& m) {
  return {{"dict", pairs_json(m)}};
}
template <class K, class V>
json ex(const std::unordered_map<K, V>& m) {
  return {{"dict", pairs_json(m)}};
}
template <class K, class V>
json ex(const std::multimap<K, V>& m) {
  return {{"pairs", pairs_json(m)}};
}
template <class K, class V>
json ex(const std::unordered_multimap<K, V>& m) {
  return {{"sorted_pairs", pairs_json(m)}};
}
json ex(const json& j) { return {{"json", j}}; }

// --- writing -------------------------------------------------------------------------------
std::filesystem::path out_dir;
json manifest = json::array();

template <class T>
void sample(const std::string& name, const T& value, joblib::dump_options options = {}) {
  const std::string file = name + ".jl";
  joblib::dump(value, out_dir / file, options);
  const bool mmap_able = options.compress == 0;
  manifest.push_back({{"file", file},
                      {"type", std::string(joblib::type_signature<T>())},
                      {"raw_arrays", mmap_able},
                      {"expect", ex(value)}});
}

template <class E>
joblib::ndarray<E> make_ndarray(std::vector<std::size_t> shape) {
  joblib::ndarray<E> a(std::move(shape));
  for (std::size_t i = 0; i < a.size(); ++i) {
    if constexpr (std::is_same_v<E, bool>)
      a.data()[i] = i % 3 == 0;
    else if constexpr (std::is_same_v<E, char>)
      a.data()[i] = static_cast<char>('a' + i % 26);
    else if constexpr (std::is_same_v<E, std::complex<float>> ||
                       std::is_same_v<E, std::complex<double>>)
      a.data()[i] =
          E(static_cast<typename E::value_type>(i) * 0.5f, -static_cast<typename E::value_type>(i));
    else if constexpr (std::is_floating_point_v<E>)
      a.data()[i] = static_cast<E>(i) * E(0.25) - E(3);
    else
      a.data()[i] = static_cast<E>(i * 7 + 1);
  }
  return a;
}

template <class E>
void ndarray_samples(const std::string& dtype) {
  sample("ndarray_" + dtype + "_0d", make_ndarray<E>({}));
  sample("ndarray_" + dtype + "_1d", make_ndarray<E>({5}));
  sample("ndarray_" + dtype + "_3d", make_ndarray<E>({2, 3, 4}));
  sample("ndarray_" + dtype + "_3d_zstd", make_ndarray<E>({20, 30, 40}), {.compress = 3});
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::cerr << "usage: write_samples OUT_DIR\n";
    return 2;
  }
  out_dir = argv[1];
  std::filesystem::create_directories(out_dir);

  // Scalars of every fixed-width type, char, byte, enum, long double.
  sample("bool", true);
  sample("i8", std::int8_t{-5});
  sample("i16", std::int16_t{-300});
  sample("i32", std::int32_t{-70000});
  sample("i64", std::int64_t{-5'000'000'000});
  sample("u8", std::uint8_t{200});
  sample("u16", std::uint16_t{60000});
  sample("u32", std::uint32_t{4'000'000'000u});
  sample("u64", std::uint64_t{18'000'000'000'000'000'000u});
  sample("f32", 1.25f);
  sample("f64", -0.1);
  sample("f64_negative_zero", -0.0);
  sample("char", 'z');
  sample("byte", std::byte{0xAB});
  sample("enum", color::green);
  sample("long_double", 1.5L);
  // Strings, paths, JSON, monostate.
  sample("str", std::string("h\xc3\xa9llo w\xc3\xb6rld"));
  sample("str_with_nul", std::string("a\0b", 3));
  sample("path", std::filesystem::path("dir/file.txt"));
  sample("json", json{{"a", 1}, {"b", {true, nullptr, "x"}}});
  sample("monostate", std::monostate{});
  // Sequences: array nodes (inline and external), and element by element.
  sample("vector_i32", std::vector<std::int32_t>{1, -2, 3});
  std::vector<double> big(1000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<double>(i) / 8;
  sample("vector_f64_external", big);
  sample("vector_f64_zstd", big, {.compress = 3});
  sample("vector_str", std::vector<std::string>{"a", "", "ccc"});
  sample("vector_bool", std::vector<bool>{true, false, true});
  sample("vector_byte", std::vector<std::byte>{std::byte{0}, std::byte{255}});
  sample("vector_char", std::vector<char>{'x', 'y'});
  sample("vector_c128", std::vector<std::complex<double>>{{1, 2}, {-3, 0.5}});
  sample("vector_c64", std::vector<std::complex<float>>{{1, 2}});
  sample("vector_of_vectors", std::vector<std::vector<std::int64_t>>{{1, 2}, {}, {3}});
  sample("deque_i32", std::deque<std::int32_t>{4, 5});
  sample("list_str", std::list<std::string>{"x", "y"});
  sample("array_f32", std::array<float, 3>{1, 2, 3});
  sample("array_str", std::array<std::string, 2>{"p", "q"});
  // Sets and maps, ordered and unordered.
  sample("set_i32", std::set<std::int32_t>{3, 1, 2});
  sample("multiset_i32", std::multiset<std::int32_t>{2, 1, 2});
  sample("unordered_set_str", std::unordered_set<std::string>{"b", "a"});
  sample("unordered_multiset_i64", std::unordered_multiset<std::int64_t>{7, 7, 1});
  sample("map_str_f64", std::map<std::string, double>{{"a", 1.0}, {"b", -2.5}});
  sample("map_i32_str", std::map<std::int32_t, std::string>{{2, "two"}, {1, "one"}});
  sample("multimap_i32", std::multimap<std::int32_t, std::int32_t>{{1, 10}, {1, 11}, {0, 5}});
  sample("unordered_map_str_vector",
         std::unordered_map<std::string, std::vector<double>>{{"x", {1, 2}}, {"y", {}}});
  sample("unordered_multimap",
         std::unordered_multimap<std::int32_t, std::string>{{1, "a"}, {1, "b"}});
  // Optional, pointer, variant, tuple, pair.
  sample("optional_empty", std::optional<std::int32_t>{});
  sample("optional_full", std::optional<std::string>{"here"});
  sample("ptr", std::make_unique<std::int32_t>(9));
  sample("variant_str", std::variant<std::int32_t, std::string>{"alt"});
  sample("variant_i32", std::variant<std::int32_t, std::string>{12});
  sample("tuple", std::tuple<std::int32_t, double, std::string>{1, 2.5, "t"});
  sample("tuple_empty", std::tuple<>{});
  sample("pair", std::pair<std::string, std::int64_t>{"k", 3});
  // Chrono.
  sample("duration_ms", std::chrono::milliseconds{1500});
  sample("duration_ns", std::chrono::nanoseconds{2'000'003'000});
  sample("duration_double_s", std::chrono::duration<double>{0.25});
  sample("duration_minutes", std::chrono::minutes{-3});
  sample("time_point_system", std::chrono::system_clock::time_point{
                                  std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                      std::chrono::microseconds{1'700'000'000'123'456})});
  sample("time_point_system_s",
         std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>{
             std::chrono::seconds{86400}});
  sample("time_point_steady", std::chrono::steady_clock::time_point{
                                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::milliseconds{42})});
  // Complex, user aggregates.
  sample("complex_f64", std::complex<double>{1.5, -2});
  sample("complex_f32", std::complex<float>{0.5f, 4});
  sample("struct", point{1.5, -7, "p"});
  sample("vector_struct", std::vector<point>{{1, 2, "a"}, {3, 4, "b"}});
  sample("nested", std::map<std::string, std::tuple<std::optional<point>, std::vector<float>>>{
                       {"k", {point{0, 1, "z"}, std::vector<float>(100, 0.5f)}}});
  // ndarrays of every dtype, 0-d, 1-d and 3-d, raw and compressed.
  ndarray_samples<bool>("bool");
  ndarray_samples<std::int8_t>("i8");
  ndarray_samples<std::int16_t>("i16");
  ndarray_samples<std::int32_t>("i32");
  ndarray_samples<std::int64_t>("i64");
  ndarray_samples<std::uint8_t>("u8");
  ndarray_samples<std::uint16_t>("u16");
  ndarray_samples<std::uint32_t>("u32");
  ndarray_samples<std::uint64_t>("u64");
  ndarray_samples<float>("f32");
  ndarray_samples<double>("f64");
  ndarray_samples<std::complex<float>>("c64");
  ndarray_samples<std::complex<double>>("c128");
  ndarray_samples<char>("char");
  // Large: a page-aligned mappable raw array (several stripes), and a chunked one with many
  // small chunks (shuffled, some incompressible and stored raw).
  sample("ndarray_f64_large_raw", make_ndarray<double>({300, 1000}));
  joblib::ndarray<std::uint32_t> noisy({200000});
  std::uint64_t state = 88172645463325252u;  // xorshift64: incompressible second half
  for (std::size_t i = 0; i < noisy.size(); ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    noisy.data()[i] =
        i < 100000 ? static_cast<std::uint32_t>(i) : static_cast<std::uint32_t>(state >> 32);
  }
  sample("ndarray_u32_chunks", noisy, {.compress = 3, .chunk_size = 65536});
  sample("ndarray_u32_chunks_unshuffled", noisy,
         {.compress = 1, .shuffle = false, .chunk_size = 100000});

  // A cache with two functions.
  {
    joblib::memory mem{out_dir / "cache"};
    auto square = mem.cache("square", [](std::int64_t x) { return x * x; });
    auto label = mem.cache("label", [](const std::string& s, std::int32_t n) {
      return std::vector<std::string>(static_cast<std::size_t>(n), s);
    });
    square(3);
    square(4);
    label("ab", 2);
  }

  std::ofstream(out_dir / "expected.json") << manifest.dump(1) << '\n';
  std::cout << "wrote " << manifest.size() << " samples to " << out_dir << '\n';
  return 0;
} catch (const std::exception& e) {
  std::cerr << "write_samples: " << e.what() << '\n';
  return 1;
}
