#include "joblib/parallel/detail/exception_transport.hpp"

#include <cerrno>
#include <csignal>
#include <exception>
#include <filesystem>
#include <functional>
#include <ios>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <typeinfo>
#include <variant>

#include "catch.hpp"

namespace ns {
struct my_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace ns

namespace {

using joblib::detail::describe_exception;
using joblib::detail::rebuild_exception;
using joblib::detail::transported_exception;

const std::string suffix = " [task 7, in a worker process]";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}
bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// `e` thrown in a "worker", described and rebuilt for task 7.
template <class E>
std::exception_ptr across(const E& e) {
  const transported_exception t = describe_exception(std::make_exception_ptr(e));
  return rebuild_exception(t, 7);
}

// The exception in `p`: exactly an E (not a base, not a derived type), so `catch (const E&)`
// catches it.
template <class E, class Check>
void expect_exactly(std::exception_ptr p, Check check) {
  REQUIRE(p);
  try {
    std::rethrow_exception(p);
  } catch (const std::exception& x) {
    INFO("caught " << joblib::detail::demangle(typeid(x).name()) << ": " << x.what());
    REQUIRE(typeid(x) == typeid(E));
    check(dynamic_cast<const E&>(x));
    return;
  } catch (...) {
    FAIL("caught a non-std::exception");
  }
}

// A std or joblib exception whose message is its own: same type, original message first,
// then the task.
template <class E>
void expect_same_with_task(const E& original) {
  expect_exactly<E>(across(original), [&](const E& e) {
    CHECK(std::string(e.what()) == std::string(original.what()) + suffix);
  });
}

}  // namespace

TEST_CASE("standard exception types with a message keep their type, message and name the task") {
  expect_same_with_task(std::runtime_error("runtime"));
  expect_same_with_task(std::logic_error("logic"));
  expect_same_with_task(std::invalid_argument("bad argument"));
  expect_same_with_task(std::domain_error("domain"));
  expect_same_with_task(std::length_error("length"));
  expect_same_with_task(std::out_of_range("range"));
  expect_same_with_task(std::range_error("range error"));
  expect_same_with_task(std::overflow_error("overflow"));
  expect_same_with_task(std::underflow_error("underflow"));
}

TEST_CASE("standard exception types without a message of their own keep their type") {
  const auto same_type = [](auto original) {
    using E = decltype(original);
    expect_exactly<E>(across(original), [](const E&) {});
  };
  same_type(std::exception());
  same_type(std::bad_alloc());
  same_type(std::bad_array_new_length());
  same_type(std::bad_cast());
  same_type(std::bad_typeid());
  same_type(std::bad_optional_access());
  same_type(std::bad_variant_access());
  same_type(std::bad_function_call());
  same_type(std::bad_weak_ptr());
  same_type(std::bad_exception());
}

TEST_CASE("system_error keeps its code (generic and system categories) and its message") {
  const std::system_error generic(std::make_error_code(std::errc::no_such_file_or_directory),
                                  "opening x");
  expect_exactly<std::system_error>(across(generic), [&](const std::system_error& e) {
    CHECK(e.code() == generic.code());
    CHECK(&e.code().category() == &std::generic_category());
    CHECK(std::string(e.what()) == std::string(generic.what()) + suffix);
  });
  const std::system_error system(EACCES, std::system_category(), "reading y");
  expect_exactly<std::system_error>(across(system), [&](const std::system_error& e) {
    CHECK(e.code() == system.code());
    CHECK(&e.code().category() == &std::system_category());
    CHECK(starts_with(e.what(), system.what()));
    CHECK(contains(e.what(), suffix));
  });
}

TEST_CASE("filesystem_error keeps its code and both paths; its text comes first") {
  const std::filesystem::filesystem_error original(
      "cannot copy", "from/a.txt", "to/b.txt", std::make_error_code(std::errc::permission_denied));
  expect_exactly<std::filesystem::filesystem_error>(
      across(original), [&](const std::filesystem::filesystem_error& e) {
        CHECK(e.code() == original.code());
        CHECK(e.path1() == original.path1());
        CHECK(e.path2() == original.path2());
        CHECK(contains(e.what(), "cannot copy" + suffix));
        CHECK(contains(e.what(), "from/a.txt"));
        CHECK(contains(e.what(), "to/b.txt"));
        // Not "filesystem error: filesystem error: ...".
        CHECK_FALSE(contains(std::string(e.what()).substr(1), std::string(original.what())));
      });
  const std::filesystem::filesystem_error one_path(
      "cannot open", "only.txt", std::make_error_code(std::errc::no_such_file_or_directory));
  expect_exactly<std::filesystem::filesystem_error>(
      across(one_path), [&](const std::filesystem::filesystem_error& e) {
        CHECK(e.path1() == "only.txt");
        CHECK(e.path2().empty());
        CHECK(contains(e.what(), "cannot open" + suffix));
      });
}

TEST_CASE("ios_base::failure keeps its type, code and text") {
  const std::ios_base::failure original("stream broke", std::io_errc::stream);
  expect_exactly<std::ios_base::failure>(across(original), [&](const std::ios_base::failure& e) {
    CHECK(e.code() == original.code());
    CHECK(contains(e.what(), "stream broke" + suffix));
  });
}

TEST_CASE("every joblib error keeps its type and state and names the task") {
  expect_same_with_task(joblib::error("joblib: plain"));
  expect_same_with_task(joblib::invalid_argument("joblib: n_jobs == 0"));
  expect_same_with_task(joblib::timeout_error("joblib: inner timeout"));
  expect_same_with_task(joblib::cancelled_error("joblib: inner cancelled"));

  const joblib::type_mismatch_error mismatch("vector<f64>", "vector<i32>", "x.jl");
  expect_exactly<joblib::type_mismatch_error>(
      across(mismatch), [&](const joblib::type_mismatch_error& e) {
        CHECK(e.expected() == "vector<f64>");
        CHECK(e.found() == "vector<i32>");
        CHECK(std::string(e.what()) == std::string(mismatch.what()) + suffix);
      });
}

TEST_CASE("format_error and checksum_error keep path, offset and reason") {
  const joblib::format_error with_file("data/x.jl", 4096, "bad magic");
  expect_exactly<joblib::format_error>(across(with_file), [&](const joblib::format_error& e) {
    CHECK(e.path() == std::filesystem::path("data/x.jl"));
    CHECK(e.offset() == std::optional<std::uint64_t>(4096));
    CHECK(e.reason() == "bad magic");
    CHECK(std::string(e.what()) == std::string(with_file.what()) + suffix);
  });
  const joblib::format_error at_offset(17, "truncated");
  expect_exactly<joblib::format_error>(across(at_offset), [&](const joblib::format_error& e) {
    CHECK(e.path().empty());
    CHECK(e.offset() == std::optional<std::uint64_t>(17));
    CHECK(e.reason() == "truncated");
    CHECK(std::string(e.what()) == std::string(at_offset.what()) + suffix);
  });
  const joblib::format_error plain("unsupported");
  expect_exactly<joblib::format_error>(across(plain), [&](const joblib::format_error& e) {
    CHECK_FALSE(e.offset().has_value());
    CHECK(e.reason() == "unsupported");
  });
  const joblib::checksum_error checksum("c.jl", 128, "chunk 3");
  expect_exactly<joblib::checksum_error>(across(checksum), [&](const joblib::checksum_error& e) {
    CHECK(e.path() == std::filesystem::path("c.jl"));
    CHECK(e.offset() == std::optional<std::uint64_t>(128));
    CHECK(e.reason() == "chunk 3");
    CHECK(std::string(e.what()) == std::string(checksum.what()) + suffix);
  });
}

TEST_CASE("task_error and worker_crashed_error from a nested call keep their fields") {
  const joblib::task_error inner(3, "ns::my_error", "boom");
  expect_exactly<joblib::task_error>(across(inner), [&](const joblib::task_error& e) {
    CHECK(e.index() == 3);
    CHECK(e.type() == "ns::my_error");
    CHECK(e.original_what() == "boom");
    CHECK(std::string(e.what()) == std::string(inner.what()) + suffix);
  });
  const joblib::worker_crashed_error killed(4, SIGSEGV, -1);
  expect_exactly<joblib::worker_crashed_error>(
      across(killed), [&](const joblib::worker_crashed_error& e) {
        CHECK(e.index() == 4);
        CHECK(e.signal() == SIGSEGV);
        CHECK(e.exit_status() == -1);
        CHECK(std::string(e.what()) == std::string(killed.what()) + suffix);
      });
  const joblib::worker_crashed_error exited(5, 0, 3);
  expect_exactly<joblib::worker_crashed_error>(across(exited),
                                               [&](const joblib::worker_crashed_error& e) {
                                                 CHECK(e.signal() == 0);
                                                 CHECK(e.exit_status() == 3);
                                               });
}

TEST_CASE("any other type arrives as task_error with its demangled name and what()") {
  // Derived from std::runtime_error, but not itself known: not sliced to runtime_error.
  const transported_exception t = describe_exception(std::make_exception_ptr(ns::my_error("boom")));
  CHECK(t.category == 0);
  CHECK(t.type == "ns::my_error");
  CHECK(t.what == "boom");
  expect_exactly<joblib::task_error>(rebuild_exception(t, 7), [](const joblib::task_error& e) {
    CHECK(e.index() == 7);
    CHECK(e.type() == "ns::my_error");
    CHECK(e.original_what() == "boom");
    CHECK(std::string(e.what()) == "joblib: task 7 threw ns::my_error: boom");
  });

  // A user type derived from a joblib error is not that error either.
  struct derived_timeout : joblib::timeout_error {
    using joblib::timeout_error::timeout_error;
  };
  expect_exactly<joblib::task_error>(across(derived_timeout("late")),
                                     [](const joblib::task_error& e) {
                                       CHECK(e.original_what() == "late");
                                       CHECK(contains(e.type(), "derived_timeout"));
                                     });
}

TEST_CASE("a thrown value that is no std::exception arrives as task_error naming its type") {
  const transported_exception t = describe_exception(std::make_exception_ptr(42));
  CHECK(t.type == "int");
  CHECK(t.what.empty());
  expect_exactly<joblib::task_error>(rebuild_exception(t, 2), [](const joblib::task_error& e) {
    CHECK(e.index() == 2);
    CHECK(e.type() == "int");
    CHECK(e.original_what().empty());
    CHECK(std::string(e.what()) == "joblib: task 2 threw int");
  });
  CHECK(contains(describe_exception(std::make_exception_ptr(std::string("text"))).type,
                 "basic_string"));
}

TEST_CASE("describe_exception never throws, even for no exception") {
  STATIC_REQUIRE(noexcept(describe_exception(std::exception_ptr())));
  const transported_exception none = describe_exception(nullptr);
  CHECK(none.category == 0);
  CHECK(none.type == "unknown");
  expect_exactly<joblib::task_error>(rebuild_exception(none, 1), [](const joblib::task_error& e) {
    CHECK(e.type() == "unknown");
  });
}

TEST_CASE("current_exception_type_name names the exception being handled") {
  CHECK(joblib::detail::current_exception_type_name() == "unknown");
  try {
    throw ns::my_error("x");
  } catch (const std::exception&) {
    CHECK(joblib::detail::current_exception_type_name() == "ns::my_error");
  }
  try {
    throw 1.5;
  } catch (...) {
    CHECK(joblib::detail::current_exception_type_name() == "double");
  }
}
