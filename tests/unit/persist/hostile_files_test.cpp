// Hostile files: what an attacker (or a broken disk) can put in front of joblib::load must
// give a typed error at once, within bounded memory: never a hang, an unbounded allocation or
// a bad_alloc. The files are built piece by piece with valid checksums, so that every check
// behind the checksums is reached. The same bytes in memory (joblib::loads, what the process
// backends receive) get the same checks.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "child_process.hpp"
#include "file_bytes.hpp"
#include "joblib/persist.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace joblib::detail;

namespace {

// Memory a load of these small files may use beyond what the process already has.
constexpr std::size_t load_budget = std::size_t{64} << 20;

struct blob {
  std::uint64_t offset;
  std::vector<std::byte> bytes;
};

// A container file from its parts: superblock, `blobs` at their offsets (zero padding between,
// left as holes past the end of the data), `index` as CBOR right after the last blob (64-byte
// aligned), trailer. Every checksum is right.
void write_container_file(const fs::path& path, const std::vector<blob>& blobs,
                          nlohmann::json index) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  auto put = [&](std::uint64_t offset, std::span<const std::byte> bytes) {
    REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) ==
            static_cast<ssize_t>(bytes.size()));
  };
  const auto sb = encode_superblock(superblock{});
  put(0, sb);
  std::uint64_t end = superblock_size;
  for (const blob& b : blobs) {
    put(b.offset, b.bytes);
    end = std::max<std::uint64_t>(end, b.offset + b.bytes.size());
  }
  end = (end + 63) / 64 * 64;
  const std::vector<std::uint8_t> cbor = nlohmann::json::to_cbor(index);
  const auto index_bytes = std::as_bytes(std::span(cbor));
  put(end, index_bytes);
  trailer t;
  t.index_offset = end;
  t.index_size = index_bytes.size();
  t.index_checksum = checksum64(index_bytes);
  const auto tr = encode_trailer(t);
  put(end + index_bytes.size(), tr);
  ::close(fd);
}

nlohmann::json index_for(const std::string& type, const nlohmann::json& value,
                         nlohmann::json arrays) {
  return {{"format", "joblib-cpp container"},
          {"version", {format_major, format_minor}},
          {"type", type},
          {"attributes", nlohmann::json::object()},
          {"value", value},
          {"arrays", std::move(arrays)}};
}

nlohmann::json raw_value(std::uint64_t offset, std::span<const std::byte> stream) {
  return {{"offset", offset},
          {"stored_size", stream.size()},
          {"size", stream.size()},
          {"codec", "raw"},
          {"xxh3", checksum64(stream)}};
}

// One zstd frame of `size` zero bytes that declares its size (streamed from a small buffer).
std::vector<std::byte> zstd_frame_of_zeros(std::uint64_t size) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  REQUIRE(ZSTD_CCtx_setPledgedSrcSize(cctx, size) == 0);
  const std::vector<std::byte> zeros(std::size_t{1} << 20);
  std::vector<std::byte> out;
  std::vector<std::byte> buffer(ZSTD_CStreamOutSize());
  std::uint64_t left = size;
  for (;;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, zeros.size()));
    left -= n;
    ZSTD_inBuffer in{zeros.data(), n, 0};
    const ZSTD_EndDirective mode = left == 0 ? ZSTD_e_end : ZSTD_e_continue;
    std::size_t pending = 0;
    do {
      ZSTD_outBuffer o{buffer.data(), buffer.size(), 0};
      pending = ZSTD_compressStream2(cctx, &o, &in, mode);
      REQUIRE_FALSE(ZSTD_isError(pending));
      out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(o.pos));
    } while (mode == ZSTD_e_end ? pending != 0 : in.pos < in.size);
    if (left == 0) break;
  }
  ZSTD_freeCCtx(cctx);
  return out;
}

std::vector<std::byte> bytes_of(const fs::path& path) {
  const std::vector<char> chars = test::read_all(path);
  const auto bytes = std::as_bytes(std::span(chars));
  return {bytes.begin(), bytes.end()};
}

// Loads `path` in a child whose memory is capped: as a file, or from its bytes with loads.
template <class T>
int load_in_limited_child(const fs::path& path, bool from_memory = false) {
  return test::in_child([&] {
    const std::vector<std::byte> bytes = from_memory ? bytes_of(path) : std::vector<std::byte>{};
    if (test::address_space_limits_work) test::limit_address_space(load_budget);
    try {
      if (from_memory) {
        (void)joblib::loads<T>(bytes, {.threads = 1});
      } else {
        (void)joblib::load<T>(path, {.threads = 1});
      }
      return 1;  // loaded: the test wanted a format_error
    } catch (const joblib::format_error&) {
      return 0;
    }
  });
}

}  // namespace

TEST_CASE("a FIFO, a directory or a device is refused at once, never waited for") {
  const test::temp_dir dir("hostile_fifo");
  const fs::path fifo = dir / "pipe.jl";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  const auto started = std::chrono::steady_clock::now();
  REQUIRE_THROWS_WITH(joblib::load<int>(fifo), Catch::Contains("a FIFO"));
  REQUIRE_THROWS_AS(joblib::inspect(fifo), joblib::format_error);
  REQUIRE_THROWS_AS(joblib::load<int>(fifo, {.mmap = joblib::mmap_mode::r}), joblib::format_error);
  REQUIRE_THROWS_WITH(joblib::load<int>(dir.path()), Catch::Contains("a directory"));
  REQUIRE_THROWS_WITH(joblib::load<int>("/dev/null"), Catch::Contains("a character device"));
  REQUIRE(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}

TEST_CASE("symbolic links are followed by default and refused on request") {
  const test::temp_dir dir("hostile_link");
  joblib::dump(7, dir / "real.jl");
  fs::create_symlink(dir / "real.jl", dir / "link.jl");
  REQUIRE(joblib::load<int>(dir / "link.jl") == 7);
  REQUIRE_THROWS_WITH(joblib::load<int>(dir / "link.jl", {.follow_symlinks = false}),
                      Catch::Contains("symbolic link"));
}

TEST_CASE("an array named twice by the value stream is refused, within bounded memory") {
  const test::temp_dir dir("hostile_repeat");
  const fs::path path = dir / "bomb.jl";
  {
    // One 1 MiB array, compressed to a few hundred bytes, named 3000 times: decoding it for
    // every name took 3 GB.
    container_writer writer(path, write_settings{.level = 3});
    const std::vector<double> zeros(std::size_t{1} << 17);
    const std::uint64_t shape[1] = {zeros.size()};
    const auto id = writer.put({dtype::f64, shape, std::as_bytes(std::span(zeros))});
    std::vector<std::byte> stream;
    value_writer w(stream, nullptr);
    write_u64(w, 3000);
    for (int i = 0; i < 3000; ++i) {
      write_u8(w, array_external);
      write_u64(w, id);
    }
    w.finish();
    writer.finish(joblib::type_signature<std::vector<std::vector<double>>>(), stream, {});
  }
  REQUIRE(fs::file_size(path) < 64 * 1024);
  REQUIRE_THROWS_WITH(joblib::load<std::vector<std::vector<double>>>(path),
                      Catch::Contains("names array 0 twice"));
  REQUIRE(load_in_limited_child<std::vector<std::vector<double>>>(path) == 0);
  REQUIRE_THROWS_WITH(
      joblib::loads<std::vector<std::vector<double>>>(bytes_of(path)),
      Catch::Contains("<memory> at offset") && Catch::Contains("names array 0 twice"));
  REQUIRE(load_in_limited_child<std::vector<std::vector<double>>>(path, true) == 0);
}

TEST_CASE("a value stream claiming far more than it stores is refused before allocating") {
  const test::temp_dir dir("hostile_stream");
  const fs::path path = dir / "stream.jl";
  // 2 GiB of zeros in one zstd frame of about 64 KiB: the index claims what the frame does.
  const auto frame = zstd_frame_of_zeros(std::size_t{2} << 30);
  write_container_file(path, {{64, frame}},
                       index_for("vector<str>",
                                 {{"offset", 64},
                                  {"stored_size", frame.size()},
                                  {"size", std::uint64_t{2} << 30},
                                  {"codec", "zstd"},
                                  {"xxh3", checksum64(frame)}},
                                 nlohmann::json::array()));
  const auto started = std::chrono::steady_clock::now();
  REQUIRE_THROWS_WITH(joblib::load<std::vector<std::string>>(path),
                      Catch::Contains("expands at most"));
  REQUIRE_THROWS_WITH(joblib::loads<std::vector<std::string>>(bytes_of(path)),
                      Catch::Contains("expands at most"));
  REQUIRE(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
  REQUIRE(load_in_limited_child<std::vector<std::string>>(path) == 0);
  REQUIRE(load_in_limited_child<std::vector<std::string>>(path, true) == 0);

  // Within the ratio, a frame that does not declare the size of the index is refused before
  // the buffer exists.
  const auto small = zstd_frame_of_zeros(4096);
  write_container_file(path, {{64, small}},
                       index_for("vector<str>",
                                 {{"offset", 64},
                                  {"stored_size", small.size()},
                                  {"size", small.size() * 100},
                                  {"codec", "zstd"},
                                  {"xxh3", checksum64(small)}},
                                 nlohmann::json::array()));
  REQUIRE_THROWS_WITH(joblib::load<std::vector<std::string>>(path),
                      Catch::Contains("does not declare the expected size"));
  REQUIRE_THROWS_WITH(joblib::loads<std::vector<std::string>>(bytes_of(path)),
                      Catch::Contains("does not declare the expected size"));
}

TEST_CASE("a 3 MiB file claiming a 100 GiB array gives format_error, not bad_alloc") {
  const test::temp_dir dir("hostile_huge");
  const fs::path path = dir / "huge.jl";
  const std::uint64_t chunk = std::uint64_t{64} << 20;
  const std::uint64_t chunks = 1600;  // 100 GiB
  auto build = [&](const std::vector<std::byte>& stored) {
    std::vector<blob> blobs;
    nlohmann::json table = nlohmann::json::array();
    std::uint64_t offset = 64;
    for (std::uint64_t i = 0; i < chunks; ++i) {
      blobs.push_back({offset, stored});
      table.push_back({offset, stored.size(), 1, checksum64(stored)});
      offset += stored.size();
    }
    std::vector<std::byte> stream;
    value_writer w(stream, nullptr);
    write_u8(w, array_external);
    write_u64(w, 0);
    w.finish();
    blobs.push_back({offset, stream});
    // Arrays spelled json::array(): nlohmann reads a one-element braced list as an array with
    // GCC but as the element itself with Clang.
    const nlohmann::json array = {
        {"dtype", "f64"},           {"shape", nlohmann::json::array({chunk * chunks / 8})},
        {"nbytes", chunk * chunks}, {"layout", "chunked"},
        {"chunk_size", chunk},      {"shuffle", 1},
        {"chunks", table}};
    write_container_file(
        path, blobs,
        index_for("ndarray<f64>", raw_value(offset, stream), nlohmann::json::array({array})));
  };

  // Chunks that are no zstd frame of the declared size: refused before allocating.
  build(std::vector<std::byte>(2100, std::byte{0x55}));
  REQUIRE(fs::file_size(path) < (std::uint64_t{4} << 20));
  REQUIRE_THROWS_WITH(joblib::load<joblib::ndarray<double>>(path),
                      Catch::Contains("does not declare the expected size"));
  REQUIRE(load_in_limited_child<joblib::ndarray<double>>(path) == 0);
  REQUIRE_THROWS_WITH(joblib::loads<joblib::ndarray<double>>(bytes_of(path)),
                      Catch::Contains("does not declare the expected size"));
  REQUIRE(load_in_limited_child<joblib::ndarray<double>>(path, true) == 0);

  // Valid frames and checksums (100 GiB of zeros, really): more than the process can get is
  // still a format_error naming the file, never a bad_alloc escaping.
  build(zstd_frame_of_zeros(chunk));
  REQUIRE(fs::file_size(path) < (std::uint64_t{4} << 20));
  REQUIRE(load_in_limited_child<joblib::ndarray<double>>(path) == 0);
  REQUIRE(load_in_limited_child<joblib::ndarray<double>>(path, true) == 0);
}

TEST_CASE("a sparse hole between blobs is refused from the index alone") {
  const test::temp_dir dir("hostile_sparse");
  const fs::path path = dir / "sparse.jl";
  std::vector<std::byte> stream;
  value_writer w(stream, nullptr);
  write_u64(w, 0);
  w.finish();
  // The value stream 1 GiB into the file: the gap before it is a hole, never written.
  const std::uint64_t offset = std::uint64_t{1} << 30;
  write_container_file(
      path, {{offset, stream}},
      index_for("vector<str>", raw_value(offset, stream), nlohmann::json::array()));
  const auto started = std::chrono::steady_clock::now();
  REQUIRE_THROWS_WITH(joblib::load<std::vector<std::string>>(path), Catch::Contains("a gap of"));
  REQUIRE_THROWS_AS(joblib::inspect(path), joblib::format_error);
  REQUIRE(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));

  // In memory a gap is zeros, not a hole, and still refused: 8 KiB, twice a writer's padding.
  const std::uint64_t near = 64 + 8192;
  write_container_file(path, {{near, stream}},
                       index_for("vector<str>", raw_value(near, stream), nlohmann::json::array()));
  REQUIRE_THROWS_WITH(joblib::loads<std::vector<std::string>>(bytes_of(path)),
                      Catch::Contains("a gap of"));
  REQUIRE_THROWS_AS(joblib::inspect(bytes_of(path)), joblib::format_error);
}
