// The description of a task's exception crosses a process boundary through the serialization
// core; this test links joblib::joblib (the parallel tests link joblib::parallel alone).
#include <cstddef>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "catch.hpp"
#include "joblib/parallel/detail/exception_transport.hpp"
#include "joblib/persist.hpp"
#include "joblib/serialize.hpp"

using joblib::detail::transported_exception;

static_assert(joblib::serializable<transported_exception>,
              "transported_exception must stay an aggregate the serialization core encodes");

namespace {
namespace user {
struct oops : std::logic_error {
  using std::logic_error::logic_error;
};
}  // namespace user

transported_exception through_bytes(const transported_exception& t) {
  const std::vector<std::byte> bytes = joblib::dumps(t);
  return joblib::loads<transported_exception>(std::span<const std::byte>(bytes));
}
}  // namespace

TEST_CASE("a transported exception survives the serialization core field by field") {
  const transported_exception t = joblib::detail::describe_exception(
      std::make_exception_ptr(joblib::format_error("dir/file.jl", 4096, "bad magic")));
  const transported_exception back = through_bytes(t);
  CHECK(back.category == t.category);
  CHECK(back.type == t.type);
  CHECK(back.what == t.what);
  CHECK(back.text1 == "dir/file.jl");
  CHECK(back.text2 == "bad magic");
  CHECK(back.text3 == t.text3);
  CHECK(back.number1 == t.number1);
  CHECK(back.number2 == 4096);
  CHECK(back.has_number2);

  try {
    std::rethrow_exception(joblib::detail::rebuild_exception(back, 9));
  } catch (const joblib::format_error& e) {
    CHECK(typeid(e) == typeid(joblib::format_error));
    CHECK(e.reason() == "bad magic");
    CHECK(e.offset() == std::optional<std::uint64_t>(4096));
    CHECK(std::string(e.what()).ends_with(" [task 9, in a worker process]"));
  }
}

TEST_CASE("a user exception type survives the serialization core as task_error") {
  const transported_exception back = through_bytes(
      joblib::detail::describe_exception(std::make_exception_ptr(user::oops("nope"))));
  try {
    std::rethrow_exception(joblib::detail::rebuild_exception(back, 3));
  } catch (const joblib::task_error& e) {
    CHECK(e.index() == 3);
    CHECK(e.type().ends_with("user::oops"));
    CHECK(e.original_what() == "nope");
  }
}
