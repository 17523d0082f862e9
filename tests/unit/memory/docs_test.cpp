// The README's description of the cache's safety is what users rely on: it must say what the
// code does (the lock mechanism, where the cache lives, what clear() removes).
#include <fstream>
#include <iterator>
#include <string>

#include "catch.hpp"

namespace {
std::string readme_safety() {
  std::ifstream in(std::string(JOBLIB_TEST_SOURCE_DIR) + "/README.md");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto begin = text.find("- **Safety**");
  REQUIRE(begin != std::string::npos);
  // One line, single spaces: the paragraph is wrapped anywhere.
  std::string paragraph;
  for (char c : text.substr(begin, text.find("\n- **", begin + 1) - begin)) {
    if (c == '\n' || c == ' ') {
      if (paragraph.empty() || paragraph.back() != ' ') paragraph += ' ';
    } else {
      paragraph += c;
    }
  }
  return paragraph;
}
}  // namespace

TEST_CASE("README's Safety paragraph describes the locks, the cache folder and clear()") {
  const std::string safety = readme_safety();
  CHECK(safety.find("F_OFD_SETLK") != std::string::npos);  // what file_lock.hpp uses
  CHECK(safety.find("flock") == std::string::npos);        // what it no longer uses
  CHECK(safety.find("`location/joblib/`") != std::string::npos);
  CHECK(safety.find("only what it created") != std::string::npos);
  CHECK(safety.find("O_NOFOLLOW") != std::string::npos);
  CHECK(safety.find("store_failures") != std::string::npos);
}
