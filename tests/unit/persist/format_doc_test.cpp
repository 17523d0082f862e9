// docs/FORMAT.md is the specification other readers follow: its version numbers must be the
// ones the writer uses.
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include "catch.hpp"
#include "joblib/persist/detail/format.hpp"

namespace {
std::string format_md() {
  std::ifstream in(std::string(JOBLIB_TEST_DOCS_DIR) + "/FORMAT.md");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST_CASE("docs/FORMAT.md states the container format version the writer writes") {
  const std::string doc = format_md();
  REQUIRE_FALSE(doc.empty());
  const std::string major = std::to_string(joblib::detail::format_major);
  const std::string minor = std::to_string(joblib::detail::format_minor);
  std::smatch m;
  REQUIRE(std::regex_search(doc, m, std::regex(R"(## Container format\s+Version (\d+)\.(\d+)\.)")));
  CHECK(m[1] == major);
  CHECK(m[2] == minor);
  REQUIRE(std::regex_search(doc, m, std::regex(R"(\| 8 \| 2 \| major version \((\d+);)")));
  CHECK(m[1] == major);
  REQUIRE(std::regex_search(doc, m, std::regex(R"(\| 10 \| 2 \| minor version \((\d+)\))")));
  CHECK(m[1] == minor);
  REQUIRE(std::regex_search(doc, m, std::regex(R"("version": \[(\d+), (\d+)\])")));
  CHECK(m[1] == major);
  CHECK(m[2] == minor);
  CHECK(doc.find("- **" + major + "." + minor + "** (written now)") != std::string::npos);
}
