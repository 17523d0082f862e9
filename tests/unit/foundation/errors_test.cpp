#include "joblib/errors.hpp"

#include <csignal>
#include <string>

#include "catch.hpp"

namespace {
bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}
}  // namespace

TEST_CASE("every library exception derives from joblib::error and std::runtime_error") {
  REQUIRE_THROWS_AS(throw joblib::format_error("x"), joblib::error);
  REQUIRE_THROWS_AS(throw joblib::checksum_error("x"), joblib::format_error);
  REQUIRE_THROWS_AS(throw joblib::type_mismatch_error("a", "b"), joblib::error);
  REQUIRE_THROWS_AS(throw joblib::timeout_error("x"), joblib::error);
  REQUIRE_THROWS_AS(throw joblib::cancelled_error("x"), joblib::error);
  REQUIRE_THROWS_AS(throw joblib::task_error(0, "t", "x"), joblib::error);
  REQUIRE_THROWS_AS(throw joblib::worker_crashed_error(0, 9, -1), joblib::error);
  REQUIRE_THROWS_AS(throw joblib::error("x"), std::runtime_error);
}

TEST_CASE("format_error names the file and the offset") {
  const joblib::format_error e("data/model.jl", 4096, "bad magic");
  CHECK(e.path() == std::filesystem::path("data/model.jl"));
  REQUIRE(e.offset().has_value());
  CHECK(*e.offset() == 4096);
  CHECK(e.reason() == "bad magic");
  CHECK(contains(e.what(), "data/model.jl"));
  CHECK(contains(e.what(), "4096"));
  CHECK(contains(e.what(), "bad magic"));
}

TEST_CASE("format_error without a file keeps the offset, or neither") {
  const joblib::format_error at(17, "truncated");
  CHECK(at.path().empty());
  CHECK(at.offset() == std::optional<std::uint64_t>(17));
  CHECK(contains(at.what(), "17"));

  const joblib::format_error plain("unsupported option");
  CHECK_FALSE(plain.offset().has_value());
  CHECK(contains(plain.what(), "unsupported option"));
}

TEST_CASE("checksum_error keeps the location of its base") {
  try {
    throw joblib::checksum_error("f.jl", 128, "chunk 3 checksum mismatch");
  } catch (const joblib::format_error& e) {
    CHECK(e.path() == std::filesystem::path("f.jl"));
    CHECK(e.offset() == std::optional<std::uint64_t>(128));
  }
}

TEST_CASE("type_mismatch_error names both signatures") {
  const joblib::type_mismatch_error e("vector<f64>", "vector<i32>", "x.jl");
  CHECK(e.expected() == "vector<f64>");
  CHECK(e.found() == "vector<i32>");
  CHECK(contains(e.what(), "vector<f64>"));
  CHECK(contains(e.what(), "vector<i32>"));
  CHECK(contains(e.what(), "x.jl"));
}

TEST_CASE("task_error names the task, the original type and its message") {
  const joblib::task_error e(7, "my::oops", "it broke");
  CHECK(e.index() == 7);
  CHECK(e.type() == "my::oops");
  CHECK(e.original_what() == "it broke");
  CHECK(std::string(e.what()) == "joblib: task 7 threw my::oops: it broke");

  // A thrown value that is no std::exception has no message.
  const joblib::task_error number(3, "int", "");
  CHECK(number.original_what().empty());
  CHECK(std::string(number.what()) == "joblib: task 3 threw int");
}

TEST_CASE("worker_crashed_error names the task and the signal or the exit status") {
  const joblib::worker_crashed_error killed(7, SIGSEGV, -1);
  CHECK(killed.index() == 7);
  CHECK(killed.signal() == SIGSEGV);
  CHECK(killed.exit_status() == -1);
  CHECK(std::string(killed.what()) ==
        "joblib: task 7 crashed its worker process: killed by signal " + std::to_string(SIGSEGV) +
            " (SIGSEGV: Segmentation fault)");
  CHECK(contains(joblib::worker_crashed_error(0, SIGABRT, -1).what(), "(SIGABRT: Abort"));

  const joblib::worker_crashed_error exited(12, 0, 3);
  CHECK(exited.signal() == 0);
  CHECK(exited.exit_status() == 3);
  CHECK(std::string(exited.what()) == "joblib: task 12 crashed its worker process: exit status 3");

  // A signal number without a name is still reported.
  CHECK(std::string(joblib::worker_crashed_error(1, 200, -1).what()) ==
        "joblib: task 1 crashed its worker process: killed by signal 200");
}
