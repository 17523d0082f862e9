// libFuzzer target for the value-stream reader (joblib::detail::read_value).
//
// The first input byte picks the type to decode, the rest is the stream. The reader must
// either succeed or throw joblib::format_error: any other exception, crash, out-of-bounds read
// (ASan), undefined behaviour (UBSan), leak or oversized allocation (-rss_limit_mb /
// -malloc_limit_mb) is a bug. Decoded values are re-encoded and read back, which must succeed
// and hash equal to the original.
//
//   cmake --preset fuzz -B build/fuzz && cmake --build build/fuzz --target joblib_fuzz_value_reader
//   build/fuzz/fuzz/joblib_fuzz_value_reader -max_total_time=60 fuzz/corpus/value_reader
//
// Built with -DJOBLIB_FUZZ_MAKE_SEEDS and run with a directory argument, it writes the seed
// corpus (fuzz/corpus/value_reader/) instead.
#include <joblib/hash.hpp>
#include <joblib/serialize.hpp>

#include <array>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

namespace {

struct record {
  double value{};
  int count{};
  std::string name;
  std::optional<std::vector<float>> extra;
  std::variant<std::monostate, std::int64_t, std::string> tag;
};

using type0 = std::vector<record>;
using type1 = std::map<std::string, std::vector<double>>;
using type2 =
    std::tuple<bool, std::unordered_map<std::int32_t, std::string>, std::set<std::uint16_t>>;
using type3 = joblib::ndarray<const double>;  // what a read-only source (mmap_mode::r) fills
using type4 = std::vector<std::unique_ptr<std::pair<std::string, nlohmann::json>>>;
using type5 = std::tuple<std::array<std::int8_t, 4>, std::vector<std::vector<std::complex<float>>>,
                         std::shared_ptr<std::string>>;

/// A container stand-in: blob 0 is a 2x2 f64 array, blob 1 a 3-element f32 array.
class fixed_source final : public joblib::detail::array_source {
 public:
  joblib::detail::loaded_array get(std::uint64_t id) override {
    joblib::detail::loaded_array l;
    if (id == 0) {
      l.type = joblib::detail::dtype::f64;
      l.shape = {2, 2};
      l.bytes = std::as_writable_bytes(std::span(f64_));
    } else if (id == 1) {
      l.type = joblib::detail::dtype::f32;
      l.shape = {3};
      l.bytes = std::as_writable_bytes(std::span(f32_));
    } else {
      throw joblib::format_error(0, "unknown array id");
    }
    l.read_only = true;  // as mmap_mode::r: only the read-only ndarray may hold it
    return l;
  }

 private:
  double f64_[4] = {1, 2, 3, 4};
  float f32_[3] = {1, 2, 3};
};

template <class T>
void check(std::span<const std::byte> in, joblib::detail::array_source* source) {
  T value{};
  try {
    joblib::detail::read_value(value, in, source);
  } catch (const joblib::format_error&) {
    return;
  }
  std::vector<std::byte> again;
  joblib::detail::write_value(value, again, nullptr);
  T back{};
  joblib::detail::read_value(back, std::span<const std::byte>(again), nullptr);
  (void)joblib::detail::summarize(back, 100);
  // The hash archive walks the same value (canonical ordering of unordered containers).
  if (joblib::hash(back) != joblib::hash(value)) __builtin_trap();
}

}  // namespace

// The fuzz build compiles UBSan in recoverable mode, where a report alone would not fail the
// run: make every report fatal (a sanitizer hook, hence the reserved name).
extern "C" const char* __ubsan_default_options() { return "halt_on_error=1:print_stacktrace=1"; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto in = std::as_bytes(std::span(data + 1, size - 1));
  fixed_source source;
  switch (data[0] % 6) {
    case 0:
      check<type0>(in, &source);
      break;
    case 1:
      check<type1>(in, &source);
      break;
    case 2:
      check<type2>(in, &source);
      break;
    case 3:
      check<type3>(in, &source);
      break;
    case 4:
      check<type4>(in, &source);
      break;
    default:
      check<type5>(in, &source);
      break;
  }
  return 0;
}

#ifdef JOBLIB_FUZZ_MAKE_SEEDS
#include <fstream>
#include <iostream>

template <class T>
static void seed(const std::string& dir, int selector, const std::string& name, const T& v) {
  std::vector<std::byte> bytes;
  joblib::detail::write_value(v, bytes, nullptr);
  std::ofstream f(dir + "/" + name, std::ios::binary);
  const char sel = static_cast<char>(selector);
  f.write(&sel, 1);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  type0 t0(2);
  t0[0] = record{1.5, 2, "abc", std::vector<float>{1, 2}, std::string("t")};
  t0[1].tag = std::int64_t{7};
  seed(dir, 0, "records", t0);
  seed(dir, 1, "map_of_vectors", type1{{"a", {1, 2, 3}}, {"b", std::vector<double>(40, 0.5)}});
  seed(dir, 2, "tuple_unordered", type2{true, {{1, "x"}, {2, "y"}}, {3, 4}});
  type3 nd({2, 3});
  seed(dir, 3, "ndarray", nd);
  type4 t4;
  t4.push_back(std::make_unique<std::pair<std::string, nlohmann::json>>(
      "k", nlohmann::json{{"a", {1, 2}}, {"b", nullptr}}));
  t4.push_back(nullptr);
  seed(dir, 4, "json_pointers", t4);
  seed(dir, 5, "arrays_complex",
       type5{{1, 2, 3, 4}, {{{1, 2}}, {}}, std::make_shared<std::string>("s")});
  // An external array node (tag 1, id 0) read through the source.
  {
    std::ofstream f(dir + "/external_ndarray", std::ios::binary);
    const unsigned char bytes[] = {3, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    f.write(reinterpret_cast<const char*>(bytes), sizeof bytes);
  }
  return 0;
}
#endif
