#include "joblib/detail/os/mapped_file.hpp"

#include <cstring>
#include <filesystem>

#include "catch.hpp"
#include "file_bytes.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using joblib::detail::map_access;
using joblib::detail::mapped_file;

TEST_CASE("mapped_file maps read-only, shared read-write and copy-on-write") {
  const test::temp_dir dir("mapped");
  const auto path = dir / "f.bin";
  test::write_all(path, {'a', 'b', 'c', 'd'});
  {
    auto m = mapped_file::open(path, map_access::read_only);
    REQUIRE(m->size() == 4);
    REQUIRE(static_cast<char>(m->bytes()[2]) == 'c');
    std::byte buf[2];
    m->pread_exact(1, buf);
    REQUIRE(static_cast<char>(buf[0]) == 'b');
  }
  {
    auto m = mapped_file::open(path, map_access::copy_on_write);
    m->bytes()[0] = std::byte{'X'};
    REQUIRE(static_cast<char>(m->bytes()[0]) == 'X');
  }
  REQUIRE(test::read_all(path)[0] == 'a');
  {
    auto m = mapped_file::open(path, map_access::read_write);
    m->bytes()[0] = std::byte{'Y'};
  }
  REQUIRE(test::read_all(path)[0] == 'Y');
}

TEST_CASE("mapped_file rejects directories, empty and missing files") {
  const test::temp_dir dir("mapped_bad");
  REQUIRE_THROWS_AS(mapped_file::open(dir, map_access::read_only), joblib::format_error);
  test::write_all(dir / "empty", {});
  REQUIRE_THROWS_AS(mapped_file::open(dir / "empty", map_access::read_only), joblib::format_error);
  REQUIRE_THROWS_AS(mapped_file::open(dir / "missing", map_access::read_only),
                    fs::filesystem_error);
}
