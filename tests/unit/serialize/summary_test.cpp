#include <joblib/serialize.hpp>

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "catch.hpp"

namespace {
struct point {
  double x{};
  int y{};
};
}  // namespace

TEST_CASE("summaries read like Python reprs") {
  using joblib::detail::summarize;
  CHECK(summarize(42) == "42");
  CHECK(summarize(3.5) == "3.5");
  CHECK(summarize(1.0) == "1.0");
  CHECK(summarize(true) == "True");
  CHECK(summarize(std::string("it's")) == "'it\\'s'");
  CHECK(summarize(std::vector<int>{1, 2, 3}) == "[1, 2, 3]");
  CHECK(summarize(std::map<std::string, double>{{"a", 1.5}}) == "{'a': 1.5}");
  CHECK(summarize(std::tuple<int, std::string>{1, "x"}) == "(1, 'x')");
  CHECK(summarize(std::optional<int>{}) == "None");
  CHECK(summarize(point{1.5, 2}) == "{1.5, 2}");
  joblib::ndarray<double> a({2, 2});
  CHECK(summarize(a) == "array([0.0, 0.0, 0.0, 0.0], shape=(2, 2))");
}

TEST_CASE("summaries of big values are truncated cheaply") {
  const std::vector<double> big(50'000'000 / 8, 1.25);
  const std::string s = joblib::detail::summarize(big, 40);
  CHECK(s.size() == 40);
  CHECK(s.ends_with("..."));
  CHECK(s.starts_with("[1.25, 1.25"));
  CHECK(joblib::detail::summarize(std::string(1000, 'x'), 10) == "'xxxxxx...");
}
