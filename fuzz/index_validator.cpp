// libFuzzer target: the container index on its own, through the pure validator
// (persist/detail/validate.hpp). Each input is taken as the index bytes (CBOR) of a file whose
// superblock and trailer are valid and whose data area is large enough for any offset, so
// every mutation reaches the SAX parser and the validation rules, with no checksum or file
// I/O in the way. Both must either accept the index or throw joblib::format_error.
//
//   cmake --preset fuzz && cmake --build build/fuzz --target joblib_fuzz_index_validator
//   build/fuzz/fuzz/joblib_fuzz_index_validator fuzz/corpus/index_validator -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <span>

#include "joblib/persist/detail/index.hpp"
#include "joblib/persist/detail/validate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joblib::detail;
  const std::uint64_t data_area = std::uint64_t{1} << 40;  // any blob offset may be in the file
  trailer t;
  t.index_offset = superblock_size + data_area;
  t.index_size = size;
  const std::uint64_t file_size = t.index_offset + size + trailer_size;
  const superblock sb;  // format 2: CBOR
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const index_model model = parse_index_model(bytes, index_encoding::cbor, "index", 0);
    const container_layout layout = validate_index(model, sb, t, file_size, "index");
    (void)layout;
  } catch (const joblib::format_error&) {
  }
  return 0;
}
