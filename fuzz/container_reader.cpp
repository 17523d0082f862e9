// libFuzzer target: whole container files. Each input is read from memory (as joblib::loads
// does) and written to a temp file and opened with every read mode; the reader must either
// load everything or throw joblib::format_error (checksum_error included), never crash, hang,
// read out of bounds or allocate without limit.
// Checksums are also turned off in half of the runs so that mutated payloads reach the
// decompressor, and a second copy of each input gets its superblock and index checksums
// recomputed, so that mutations of the JSON index reach the index validation.
//
//   cmake --preset fuzz && cmake --build build/fuzz --target joblib_fuzz_container_reader
//   build/fuzz/fuzz/joblib_fuzz_container_reader fuzz/corpus/container_reader -max_total_time=60
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "joblib/persist/detail/reader.hpp"
#include "joblib/persist/detail/writer.hpp"

namespace {

const std::filesystem::path& scratch_file() {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("joblib_fuzz_container_" + std::to_string(::getpid()) + ".jl");
  return path;
}

// Recomputes the superblock checksum and, when the trailer points inside the input, the index
// checksum, so that the reader gets past both.
std::vector<std::uint8_t> fix_checksums(const std::uint8_t* data, std::size_t size) {
  using namespace joblib::detail;
  std::vector<std::uint8_t> v(data, data + size);
  if (size < superblock_size + trailer_size) return v;
  auto* b = reinterpret_cast<std::byte*>(v.data());
  store_le<std::uint64_t>(b + 56, checksum64(std::span<const std::byte>(b, 56)));
  const std::byte* t = b + size - trailer_size;
  const auto offset = load_le<std::uint64_t>(t);
  const auto length = load_le<std::uint64_t>(t + 8);
  if (offset <= size - trailer_size && length <= size - trailer_size - offset) {
    store_le<std::uint64_t>(b + size - trailer_size + 16,
                            checksum64(std::span<const std::byte>(b + offset, length)));
  }
  return v;
}

// Asks for everything the reader can hand out.
void read_everything(joblib::detail::container_reader& reader) {
  (void)reader.value_stream();
  for (std::size_t i = 0; i < reader.arrays().size(); ++i) (void)reader.get(i);
}

void run_reader(const std::uint8_t* data, std::size_t size) {
  using namespace joblib::detail;
  for (const bool verify : {true, false}) {
    try {
      // libFuzzer's input is a heap block of exactly `size` bytes: ASan sees any read past it.
      const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
      container_reader reader(bytes, "<memory>", read_settings{{}, verify, 1});
      read_everything(reader);
    } catch (const joblib::format_error&) {
    }
  }
  const auto& path = scratch_file();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return;
    if (size != 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  for (const bool verify : {true, false}) {
    for (const std::optional<map_access> mode :
         {std::optional<map_access>{}, std::optional{map_access::copy_on_write}}) {
      try {
        container_reader reader(path, read_settings{mode, verify, 1});
        read_everything(reader);
      } catch (const joblib::format_error&) {
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    joblib::set_log_handler([](joblib::log_level, std::string_view) {});
    return true;
  }();
  (void)quiet;
  run_reader(data, size);
  const auto fixed = fix_checksums(data, size);
  run_reader(fixed.data(), fixed.size());
  return 0;
}
