// libFuzzer target, structure-aware: each input is a recipe for a container that this target
// builds with every checksum right (superblock, arrays, chunks, value stream, index), so that
// mutations reach what lies behind the checksums: value streams that name an array many
// times, arrays and streams whose declared sizes exceed what they store, zstd frames that
// declare other sizes, garbage behind valid frames. Loading the file as one of a few types
// must succeed or throw joblib::format_error, within the fuzzer's memory limits
// (scripts/fuzz.sh: -malloc_limit_mb, -rss_limit_mb): a small file never makes the reader
// allocate much.
//
// Recipe (bytes, read in order; missing bytes read as 0):
//   u8 type selector | u8 array count (0..7) | arrays... | u8 stream mode | stream bytes (rest)
//   array: u8 dtype | u8 flags (bit 0 chunked, bit 1 real frames, bit 2 lie about size)
//          | u16 elements | raw: u8 fill byte | chunked: u8 chunk count, then per chunk
//          u8 fill byte, u8 garbage length / 8
//   stream mode: 0 raw, 1 zstd, 2 zstd declaring 256x more than it holds
//
//   cmake --preset fuzz && cmake --build build/fuzz --target joblib_fuzz_container_builder
//   build/fuzz/fuzz/joblib_fuzz_container_builder fuzz/corpus/container_builder
#include <unistd.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "joblib/persist.hpp"

namespace {

using namespace joblib::detail;

class recipe {
 public:
  recipe(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::span<const std::byte> rest() {
    const auto r =
        std::as_bytes(std::span(data_ + std::min(pos_, size_), size_ - std::min(pos_, size_)));
    pos_ = size_;
    return r;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

std::vector<std::byte> zstd_frame(std::span<const std::byte> raw) {
  std::vector<std::byte> out(ZSTD_compressBound(raw.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 1);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

// Appends `bytes` 64-aligned to `file`; returns the offset.
std::uint64_t append(std::vector<std::byte>& file, std::span<const std::byte> bytes) {
  file.resize((file.size() + 63) / 64 * 64);
  const std::uint64_t offset = file.size();
  file.insert(file.end(), bytes.begin(), bytes.end());
  return offset;
}

std::vector<std::byte> build(recipe& r, std::uint8_t& selector) {
  selector = r.u8();
  std::vector<std::byte> file(superblock_size);
  nlohmann::json arrays = nlohmann::json::array();
  const int count = r.u8() % 8;
  for (int a = 0; a < count; ++a) {
    std::uint8_t raw_type = r.u8() % 14 + 1;
    const auto type = static_cast<dtype>(raw_type);
    const std::uint8_t flags = r.u8();
    const std::uint64_t item = dtype_size(type);
    const std::uint64_t elements = r.u16();  // at most 1 MiB of items
    const std::uint64_t nbytes = elements * item;
    nlohmann::json node = {{"dtype", std::string(dtype_name(type))},
                           {"shape", nlohmann::json::array({elements})},
                           {"nbytes", nbytes}};
    if ((flags & 1) == 0) {
      // Raw: the array's bytes are in the file (a fill pattern), its stripes checksummed.
      const std::vector<std::byte> bytes(nbytes, static_cast<std::byte>(r.u8()));
      const std::uint64_t stripe = 1 << 16;
      nlohmann::json sums = nlohmann::json::array();
      for (std::uint64_t s = 0; s < nbytes; s += stripe) {
        sums.push_back(checksum64(std::span(bytes).subspan(s, std::min(stripe, nbytes - s))));
      }
      node.update({{"layout", "raw"},
                   {"offset", append(file, bytes)},
                   {"stripe_size", stripe},
                   {"xxh3", sums}});
    } else {
      const std::uint64_t chunks = std::max<std::uint64_t>(1, r.u8() % 16);
      std::uint64_t chunk = (nbytes + chunks - 1) / chunks;
      chunk = std::max<std::uint64_t>(item, (chunk + item - 1) / item * item);
      nlohmann::json table = nlohmann::json::array();
      for (std::uint64_t begin = 0; begin < nbytes; begin += chunk) {
        const std::uint64_t raw_size = std::min(chunk, nbytes - begin);
        const auto fill = static_cast<std::byte>(r.u8());
        std::vector<std::byte> stored;
        if ((flags & 2) != 0) {
          // A real frame, of this chunk's size or (flag 4) of another.
          const std::uint64_t framed = (flags & 4) != 0 ? raw_size / 2 + 1 : raw_size;
          stored = zstd_frame(std::vector<std::byte>(framed, fill));
        }
        stored.resize(stored.size() + std::size_t{r.u8()} * 8, fill);  // garbage after it
        if (stored.empty()) stored.push_back(fill);
        const std::uint64_t offset = append(file, stored);
        table.push_back({offset, stored.size(), 1, checksum64(stored)});
      }
      node.update(
          {{"layout", "chunked"}, {"chunk_size", chunk}, {"shuffle", 1}, {"chunks", table}});
    }
    arrays.push_back(std::move(node));
  }
  const std::uint8_t mode = r.u8() % 3;
  const auto stream = r.rest();
  nlohmann::json value;
  if (mode == 0) {
    value = {{"offset", append(file, stream)},
             {"stored_size", stream.size()},
             {"size", stream.size()},
             {"codec", "raw"},
             {"xxh3", checksum64(stream)}};
  } else {
    const auto frame = zstd_frame(stream);
    value = {{"offset", append(file, frame)},
             {"stored_size", frame.size()},
             {"size", mode == 1 ? stream.size() : stream.size() * 256 + 1},
             {"codec", "zstd"},
             {"xxh3", checksum64(frame)}};
  }
  static const char* const types[] = {"vector<vector<f64>>", "ndarray<f64>", "map<str,vector<f32>>",
                                      "vector<str>"};
  const nlohmann::json index = {{"format", "joblib-cpp container"},
                                {"version", {format_major, format_minor}},
                                {"type", types[selector % 4]},
                                {"attributes", nlohmann::json::object()},
                                {"value", value},
                                {"arrays", arrays}};
  const std::vector<std::uint8_t> cbor = nlohmann::json::to_cbor(index);
  const auto index_bytes = std::as_bytes(std::span(cbor));
  trailer t;
  t.index_offset = append(file, index_bytes);
  t.index_size = index_bytes.size();
  t.index_checksum = checksum64(index_bytes);
  const auto sb = encode_superblock(superblock{});
  std::copy(sb.begin(), sb.end(), file.begin());
  const auto tr = encode_trailer(t);
  file.insert(file.end(), tr.begin(), tr.end());
  return file;
}

template <class T>
void load_as(const std::filesystem::path& path, bool mapped) {
  try {
    (void)joblib::load<T>(
        path, {.mmap = mapped ? joblib::mmap_mode::c : joblib::mmap_mode::none, .threads = 1});
  } catch (const joblib::format_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("joblib_fuzz_builder_" + std::to_string(::getpid()) + ".jl");
  static const bool quiet = [] {
    joblib::set_log_handler([](joblib::log_level, std::string_view) {});
    return true;
  }();
  (void)quiet;
  recipe r(data, size);
  std::uint8_t selector = 0;
  const std::vector<std::byte> file = build(r, selector);
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return 0;
    std::fwrite(file.data(), 1, file.size(), f);
    std::fclose(f);
  }
  const bool mapped = (selector & 4) != 0;
  switch (selector % 4) {
    case 0:
      load_as<std::vector<std::vector<double>>>(path, mapped);
      break;
    case 1:
      load_as<joblib::ndarray<double>>(path, mapped);
      break;
    case 2:
      load_as<std::map<std::string, std::vector<float>>>(path, mapped);
      break;
    default:
      load_as<std::vector<std::string>>(path, mapped);
      break;
  }
  return 0;
}
