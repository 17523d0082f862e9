// joblib-cpp internals: a task's exception crossing a process boundary (process and MPI
// backends). The worker describes the exception as plain data (describe_exception), the
// serialization core carries that description like any aggregate, and the caller rebuilds an
// exception from it (rebuild_exception).
//
// What keeps its type: the standard exception types listed in exception_category and every
// joblib:: error, matched by their *exact* dynamic type (typeid of the caught object). Any
// other type, a user's class deriving from std::runtime_error included, arrives as a
// joblib::task_error carrying the original (demangled) type name and what(): rebuilding it as
// its nearest known base would lose its type silently, and a `catch (const my_error&)` would
// not fire either way.
//
// Every rebuilt message names the task: " [task 7, in a worker process]" is appended to the
// original what() (which stays first, so prefix checks keep working); a joblib::task_error
// names its task in its own format. Types that carry no message (std::exception, bad_alloc,
// bad_cast, ...) keep their type only: their what() is the standard library's.
//
// This header needs the standard library only (and <cxxabi.h> where it exists): it does not
// include the serialization core, so the thread-only pillar stays free of zstd/xxHash/json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <ios>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#define JOBLIB_HAS_CXXABI 1
#else
#define JOBLIB_HAS_CXXABI 0
#endif

#include "joblib/config.hpp"
#include "joblib/errors.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// Which type rebuild_exception makes. The numbers travel between processes of one program
/// only, but keep them stable anyway: append, never renumber.
enum class exception_category : std::uint8_t {
  unknown = 0,  ///< any other type: joblib::task_error
  std_exception = 1,
  logic_error = 2,
  invalid_argument = 3,
  domain_error = 4,
  length_error = 5,
  out_of_range = 6,
  runtime_error = 7,
  range_error = 8,
  overflow_error = 9,
  underflow_error = 10,
  bad_alloc = 11,
  bad_array_new_length = 12,
  bad_cast = 13,
  bad_typeid = 14,
  bad_optional_access = 15,
  bad_variant_access = 16,
  bad_function_call = 17,
  bad_weak_ptr = 18,
  bad_exception = 19,
  system_error = 20,      ///< number1 code value, text3 category name
  filesystem_error = 21,  ///< number1, text3 as system_error; text1 path1, text2 path2
  ios_failure = 22,       ///< number1, text3 as system_error
  joblib_error = 40,
  joblib_invalid_argument = 41,
  format_error = 42,         ///< text1 path, text2 reason, number2 offset when has_number2
  checksum_error = 43,       ///< as format_error
  type_mismatch_error = 44,  ///< text1 expected, text2 found
  timeout_error = 45,
  cancelled_error = 46,
  task_error = 47,            ///< number1 index, text1 type, text2 original what
  worker_crashed_error = 48,  ///< number1 index, number2 signal << 32 | uint32(exit status)
};

/// What a worker process sends back for a task's exception. Plain std members only: an
/// aggregate the serialization core encodes as-is.
struct transported_exception {
  std::uint8_t category = 0;  ///< an exception_category; 0 (unknown) becomes joblib::task_error
  std::string type{};         ///< demangled dynamic type name of the exception object
  std::string what{};         ///< what() for a std::exception, else ""
  /// Extra state of some types (see exception_category).
  std::string text1{}, text2{}, text3{};
  std::int64_t number1 = 0, number2 = 0;
  bool has_number2 = false;
};

/// `mangled` demangled ("N2ns8my_errorE" -> "ns::my_error"); unchanged when that fails.
inline std::string demangle(const char* mangled) {
  if (mangled == nullptr) return "unknown";
#if JOBLIB_HAS_CXXABI
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  if (status == 0 && name) return name.get();
#endif
  return mangled;
}

/// Demangled type name of the exception being handled (inside a catch block), of the object
/// thrown ("int" for `throw 42`); "unknown" outside a handler or where the ABI cannot tell.
inline std::string current_exception_type_name() {
#if JOBLIB_HAS_CXXABI
  if (const std::type_info* type = abi::__cxa_current_exception_type()) {
    return demangle(type->name());
  }
#endif
  return "unknown";
}

/// Where a task ran, as rebuilt messages name it: " [task 7, in a worker process]".
inline constexpr std::string_view in_worker_process = "in a worker process";

/// " [task 7, <where>]": what every rebuilt message ends with.
inline std::string worker_task_suffix(std::size_t index, std::string_view where) {
  return " [task " + std::to_string(index) + ", " + std::string(where) + "]";
}

namespace transport {

// A worker_crashed_error's signal and exit status in one number (both are ints).
inline std::int64_t pack_crash(int signal, int exit_status) {
  return static_cast<std::int64_t>(
      (static_cast<std::uint64_t>(static_cast<std::uint32_t>(signal)) << 32) |
      static_cast<std::uint32_t>(exit_status));
}
inline int crash_signal(std::int64_t packed) {
  return static_cast<int>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(packed) >> 32));
}
inline int crash_exit_status(std::int64_t packed) {
  return static_cast<int>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(packed)));
}

inline void describe_code(transported_exception& t, const std::error_code& code) {
  t.number1 = code.value();
  t.text3 = code.category().name();
}

// Fills `t` for a caught std::exception `e` whose category is known, else leaves unknown.
inline void describe_std(transported_exception& t, const std::exception& e) {
  using c = exception_category;
  const std::type_info& type = typeid(e);
  const auto set = [&](c category) { t.category = static_cast<std::uint8_t>(category); };
  // Most frequent first; each is an exact match, so the order is otherwise free.
  if (type == typeid(std::runtime_error)) return set(c::runtime_error);
  if (type == typeid(joblib::error)) return set(c::joblib_error);
  if (type == typeid(joblib::invalid_argument)) return set(c::joblib_invalid_argument);
  if (type == typeid(joblib::format_error) || type == typeid(joblib::checksum_error)) {
    const auto& f = static_cast<const joblib::format_error&>(e);
    t.text1 = f.path().string();
    t.text2 = f.reason();
    t.has_number2 = f.offset().has_value();
    t.number2 = static_cast<std::int64_t>(f.offset().value_or(0));
    return set(type == typeid(joblib::format_error) ? c::format_error : c::checksum_error);
  }
  if (type == typeid(joblib::type_mismatch_error)) {
    const auto& m = static_cast<const joblib::type_mismatch_error&>(e);
    t.text1 = m.expected();
    t.text2 = m.found();
    return set(c::type_mismatch_error);
  }
  if (type == typeid(joblib::timeout_error)) return set(c::timeout_error);
  if (type == typeid(joblib::cancelled_error)) return set(c::cancelled_error);
  if (type == typeid(joblib::task_error)) {
    const auto& te = static_cast<const joblib::task_error&>(e);
    t.number1 = static_cast<std::int64_t>(te.index());
    t.text1 = te.type();
    t.text2 = te.original_what();
    return set(c::task_error);
  }
  if (type == typeid(joblib::worker_crashed_error)) {
    const auto& w = static_cast<const joblib::worker_crashed_error&>(e);
    t.number1 = static_cast<std::int64_t>(w.index());
    t.number2 = pack_crash(w.signal(), w.exit_status());
    t.has_number2 = true;
    return set(c::worker_crashed_error);
  }
  if (type == typeid(std::exception)) return set(c::std_exception);
  if (type == typeid(std::logic_error)) return set(c::logic_error);
  if (type == typeid(std::invalid_argument)) return set(c::invalid_argument);
  if (type == typeid(std::domain_error)) return set(c::domain_error);
  if (type == typeid(std::length_error)) return set(c::length_error);
  if (type == typeid(std::out_of_range)) return set(c::out_of_range);
  if (type == typeid(std::range_error)) return set(c::range_error);
  if (type == typeid(std::overflow_error)) return set(c::overflow_error);
  if (type == typeid(std::underflow_error)) return set(c::underflow_error);
  if (type == typeid(std::bad_alloc)) return set(c::bad_alloc);
  if (type == typeid(std::bad_array_new_length)) return set(c::bad_array_new_length);
  if (type == typeid(std::bad_cast)) return set(c::bad_cast);
  if (type == typeid(std::bad_typeid)) return set(c::bad_typeid);
  if (type == typeid(std::bad_optional_access)) return set(c::bad_optional_access);
  if (type == typeid(std::bad_variant_access)) return set(c::bad_variant_access);
  if (type == typeid(std::bad_function_call)) return set(c::bad_function_call);
  if (type == typeid(std::bad_weak_ptr)) return set(c::bad_weak_ptr);
  if (type == typeid(std::bad_exception)) return set(c::bad_exception);
  if (type == typeid(std::system_error)) {
    describe_code(t, static_cast<const std::system_error&>(e).code());
    return set(c::system_error);
  }
  if (type == typeid(std::filesystem::filesystem_error)) {
    const auto& f = static_cast<const std::filesystem::filesystem_error&>(e);
    describe_code(t, f.code());
    t.text1 = f.path1().string();
    t.text2 = f.path2().string();
    return set(c::filesystem_error);
  }
  if (type == typeid(std::ios_base::failure)) {
    describe_code(t, static_cast<const std::ios_base::failure&>(e).code());
    return set(c::ios_failure);
  }
}

// An error_code of a category this process can name again (generic, system, iostream); the
// value is kept with the generic category's meaning lost only for foreign categories, which
// come back as a default error_code.
inline std::error_code rebuilt_code(const transported_exception& t) {
  const int value = static_cast<int>(t.number1);
  if (t.text3 == std::generic_category().name()) return {value, std::generic_category()};
  if (t.text3 == std::system_category().name()) return {value, std::system_category()};
  if (t.text3 == std::iostream_category().name()) return {value, std::iostream_category()};
  return {};
}

// `e` with what() replaced by `message`, its other state kept. Every type this is used for
// derives from std::runtime_error and does not override what(), so assigning the base
// subobject (a public copy assignment) replaces the message.
template <class E>
std::exception_ptr with_message(E e, const std::string& message) {
  static_assert(std::is_base_of_v<std::runtime_error, E>);
  static_cast<std::runtime_error&>(e) = std::runtime_error(message);
  return std::make_exception_ptr(std::move(e));
}

// The what_arg a `make(what_arg)` exception was built with, recovered from its what()
// `original` (filesystem_error and ios_base::failure compose what() from the argument, the
// paths and the code's message, and override what()); `original` itself when it does not
// have that shape.
template <class Make>
std::string what_argument(const std::string& original, Make make) {
  static constexpr char marker[] = "\x01joblib\x01";
  const std::string probe = make(std::string(marker)).what();
  const std::size_t at = probe.find(marker);
  if (at == std::string::npos) return original;
  const std::string prefix = probe.substr(0, at);
  const std::string suffix = probe.substr(at + sizeof(marker) - 1);
  if (original.size() < prefix.size() + suffix.size() ||
      original.compare(0, prefix.size(), prefix) != 0 ||
      original.compare(original.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return original;
  }
  return original.substr(prefix.size(), original.size() - prefix.size() - suffix.size());
}

inline std::exception_ptr rebuild(const transported_exception& t, std::size_t index,
                                  std::string_view where) {
  using c = exception_category;
  const std::string message = t.what + worker_task_suffix(index, where);
  switch (static_cast<c>(t.category)) {
    case c::unknown:
      break;
    case c::std_exception:
      return std::make_exception_ptr(std::exception());
    case c::logic_error:
      return std::make_exception_ptr(std::logic_error(message));
    case c::invalid_argument:
      return std::make_exception_ptr(std::invalid_argument(message));
    case c::domain_error:
      return std::make_exception_ptr(std::domain_error(message));
    case c::length_error:
      return std::make_exception_ptr(std::length_error(message));
    case c::out_of_range:
      return std::make_exception_ptr(std::out_of_range(message));
    case c::runtime_error:
      return std::make_exception_ptr(std::runtime_error(message));
    case c::range_error:
      return std::make_exception_ptr(std::range_error(message));
    case c::overflow_error:
      return std::make_exception_ptr(std::overflow_error(message));
    case c::underflow_error:
      return std::make_exception_ptr(std::underflow_error(message));
    // No message of their own: what() is the standard library's.
    case c::bad_alloc:
      return std::make_exception_ptr(std::bad_alloc());
    case c::bad_array_new_length:
      return std::make_exception_ptr(std::bad_array_new_length());
    case c::bad_cast:
      return std::make_exception_ptr(std::bad_cast());
    case c::bad_typeid:
      return std::make_exception_ptr(std::bad_typeid());
    case c::bad_optional_access:
      return std::make_exception_ptr(std::bad_optional_access());
    case c::bad_variant_access:
      return std::make_exception_ptr(std::bad_variant_access());
    case c::bad_function_call:
      return std::make_exception_ptr(std::bad_function_call());
    case c::bad_weak_ptr:
      return std::make_exception_ptr(std::bad_weak_ptr());
    case c::bad_exception:
      return std::make_exception_ptr(std::bad_exception());
    case c::system_error:
      // system_error's what() is runtime_error's: the original text is kept exactly.
      return with_message(std::system_error(rebuilt_code(t)), message);
    case c::filesystem_error: {
      const std::error_code code = rebuilt_code(t);
      const std::filesystem::path path1(t.text1), path2(t.text2);
      // The constructor the original was built with (what() lists the paths it was given).
      const auto make = [&](const std::string& w) {
        using fs_error = std::filesystem::filesystem_error;
        if (!path2.empty()) return fs_error(w, path1, path2, code);
        if (!path1.empty()) return fs_error(w, path1, code);
        return fs_error(w, code);
      };
      return std::make_exception_ptr(
          make(what_argument(t.what, make) + worker_task_suffix(index, where)));
    }
    case c::ios_failure: {
      const std::error_code code = rebuilt_code(t);
      const std::string argument = what_argument(
          t.what, [&](const std::string& w) { return std::ios_base::failure(w, code); });
      return std::make_exception_ptr(
          std::ios_base::failure(argument + worker_task_suffix(index, where), code));
    }
    case c::joblib_error:
      return std::make_exception_ptr(joblib::error(message));
    case c::joblib_invalid_argument:
      return std::make_exception_ptr(joblib::invalid_argument(message));
    case c::format_error:
    case c::checksum_error: {
      // Rebuilt with the constructor that gives the same path(), offset() and reason().
      const auto make = [&]<class E>(std::type_identity<E>) {
        if (!t.text1.empty()) {
          return with_message(
              E(std::filesystem::path(t.text1), static_cast<std::uint64_t>(t.number2), t.text2),
              message);
        }
        if (t.has_number2) {
          return with_message(E(static_cast<std::uint64_t>(t.number2), t.text2), message);
        }
        return with_message(E(t.text2), message);
      };
      if (static_cast<c>(t.category) == c::checksum_error) {
        return make(std::type_identity<joblib::checksum_error>{});
      }
      return make(std::type_identity<joblib::format_error>{});
    }
    case c::type_mismatch_error:
      return with_message(joblib::type_mismatch_error(t.text1, t.text2), message);
    case c::timeout_error:
      return std::make_exception_ptr(joblib::timeout_error(message));
    case c::cancelled_error:
      return std::make_exception_ptr(joblib::cancelled_error(message));
    case c::task_error:
      // The inner task_error's fields (a nested call's task), with this task in what().
      return with_message(joblib::task_error(static_cast<std::size_t>(t.number1), t.text1, t.text2),
                          message);
    case c::worker_crashed_error:
      return with_message(
          joblib::worker_crashed_error(static_cast<std::size_t>(t.number1), crash_signal(t.number2),
                                       crash_exit_status(t.number2)),
          message);
  }
  return std::make_exception_ptr(joblib::task_error(index, t.type, t.what));
}

}  // namespace transport

/// Describes the exception `e` (a task's, in the worker process) for rebuild_exception in the
/// caller. Never throws: an exception while describing (out of memory) gives a description
/// with what it had, at worst an unknown type named "unknown".
inline transported_exception describe_exception(std::exception_ptr e) noexcept {
  transported_exception t;
  if (!e) {
    try {
      t.type = "unknown";  // fits the small-string buffer: no allocation
    } catch (...) {
    }
    return t;
  }
  try {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      t.type = current_exception_type_name();
      t.what = x.what();
      transport::describe_std(t, x);
    } catch (...) {
      t.type = current_exception_type_name();
    }
  } catch (...) {
    // Out of memory while copying names: fall back to an unknown type the caller can rebuild.
    t = transported_exception{};
    try {
      t.type = "unknown";
    } catch (...) {
    }
  }
  return t;
}

/// The exception the caller rethrows for task `index`, from the worker's description `t`;
/// see the header comment for which types are kept. Throws only std::bad_alloc.
inline std::exception_ptr rebuild_exception(const transported_exception& t, std::size_t index,
                                            std::string_view where = in_worker_process) {
  return transport::rebuild(t, index, where);
}

}  // namespace detail
JOBLIB_END_NAMESPACE
