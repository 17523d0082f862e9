#include "joblib/detail/os/atomic_file.hpp"

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"
#include "file_bytes.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using joblib::detail::atomic_file;

namespace {
std::span<const std::byte> as_bytes(const std::string& s) { return std::as_bytes(std::span(s)); }
}  // namespace

TEST_CASE("atomic_file publishes only on commit and leaves no temp file behind") {
  const test::temp_dir dir("atomic_commit");
  const auto target = dir / "out.bin";
  test::write_all(target, {'o', 'l', 'd'});
  {
    atomic_file f(target, /*durable=*/true);
    f.write(as_bytes("new"));
    f.write(std::vector<std::byte>(61));
    REQUIRE(f.size() == 64);
    REQUIRE(test::read_all(target) == std::vector<char>{'o', 'l', 'd'});
    f.commit();
  }
  auto bytes = test::read_all(target);
  REQUIRE(bytes.size() == 64);
  REQUIRE(std::string(bytes.data(), 3) == "new");
  REQUIRE(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
}

TEST_CASE("atomic_file abandoned by an exception keeps the old file and removes the temp") {
  const test::temp_dir dir("atomic_abandon");
  const auto target = dir / "out.bin";
  test::write_all(target, {'o', 'l', 'd'});
  try {
    atomic_file f(target);
    f.write(as_bytes("partial"));
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  REQUIRE(test::read_all(target) == std::vector<char>{'o', 'l', 'd'});
  REQUIRE(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
}

TEST_CASE("atomic_file in a missing directory throws filesystem_error") {
  REQUIRE_THROWS_AS(atomic_file(fs::path("/nonexistent_joblib_dir/x.bin")), fs::filesystem_error);
}

TEST_CASE("atomic_file replacing a large file leaves exactly the new one") {
  // Large enough for the exchange-and-release-in-background path.
  const test::temp_dir dir("atomic_replace_large");
  const auto target = dir / "out.bin";
  const std::string big(std::size_t{65} << 20, 'o');
  {
    atomic_file f(target);
    f.write(as_bytes(big));
    f.commit();
  }
  for (char c : {'a', 'b'}) {
    atomic_file f(target);
    f.reserve(big.size());
    f.write(as_bytes(std::string(3, c)));
    f.write(as_bytes(big.substr(3)));
    f.commit();
    const auto bytes = test::read_all(target);
    REQUIRE(bytes.size() == big.size());
    REQUIRE(std::string(bytes.data(), 4) == std::string(3, c) + "o");
    REQUIRE(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
  }
}

TEST_CASE("atomic_file over a directory fails and leaves the directory in place") {
  const test::temp_dir dir("atomic_over_dir");
  const auto target = dir / "taken";
  fs::create_directory(target);
  test::write_all(target / "inside", {'x'});
  for (bool durable : {false, true}) {
    atomic_file f(target, durable);
    f.write(as_bytes("new"));
    REQUIRE_THROWS_AS(f.commit(), fs::filesystem_error);
  }
  REQUIRE(fs::is_directory(target));
  REQUIRE(test::read_all(target / "inside") == std::vector<char>{'x'});
  REQUIRE(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
}
