// joblib-cpp: the exception hierarchy. Everything the library throws derives from
// joblib::error, except I/O failures, which surface as std::filesystem::filesystem_error
// (std::ios_base::failure for streams), and exceptions thrown by user code, which propagate
// unchanged:
//
//   error
//   ├── invalid_argument       misuse: a bad option, shape, index, or read-only misuse
//   ├── format_error           malformed, truncated or foreign input (names file and offset)
//   │   └── checksum_error     stored bytes do not match their checksum
//   ├── type_mismatch_error    load<T> of a file that holds another type
//   ├── timeout_error          a parallel task ran longer than its timeout
//   ├── cancelled_error        a parallel call was stopped through its stop_token
//   ├── task_error             a task's exception whose type cannot be rebuilt in the caller
//   │                          (process backend): its type name and what()
//   └── worker_crashed_error   a worker process died (signal or exit status) running a task
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE

/// Base of every exception the library throws itself.
struct error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Misuse of the library, found before any work is done: an invalid option (n_jobs == 0, a
/// compression level zstd does not have), a shape that does not match the data, an index out
/// of range (in checked builds), or asking for writable data from a read-only mapping.
///
///   try { joblib::parallel({.n_jobs = 0})(tasks); }
///   catch (const joblib::invalid_argument& e) { std::cerr << e.what(); }
struct invalid_argument : error {
  using error::error;
};

/// Malformed, truncated or foreign input (a container file, a value stream). When the input is
/// a file, path() names it ("<memory>" or "<stream>" for a container read by loads or from a
/// std::istream); offset() is the byte position where the problem was found.
///
///   try { auto v = joblib::load<std::vector<double>>("x.jl"); }
///   catch (const joblib::format_error& e) { std::cerr << e.what(); }
///   // prints "joblib: x.jl at offset 24: ..."
class format_error : public error {
 public:
  /// A problem without a known position.
  explicit format_error(const std::string& reason) : error("joblib: " + reason), reason_(reason) {}

  /// A problem at `offset` of an in-memory input.
  format_error(std::uint64_t offset, const std::string& reason)
      : error("joblib: at offset " + std::to_string(offset) + ": " + reason),
        offset_(offset),
        reason_(reason) {}

  /// A problem at `offset` of `file`.
  format_error(std::filesystem::path file, std::uint64_t offset, const std::string& reason)
      : error("joblib: " + file.string() + " at offset " + std::to_string(offset) + ": " + reason),
        path_(std::move(file)),
        offset_(offset),
        reason_(reason) {}

  /// The file the problem is in; empty for in-memory input.
  const std::filesystem::path& path() const noexcept { return path_; }
  /// Byte offset of the problem, when known.
  std::optional<std::uint64_t> offset() const noexcept { return offset_; }
  /// The message without the "joblib: file at offset N" prefix.
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::filesystem::path path_;
  std::optional<std::uint64_t> offset_;
  std::string reason_;
};

/// Stored bytes do not match their checksum (bit rot, a torn write, tampering).
class checksum_error : public format_error {
 public:
  using format_error::format_error;
};

/// load<T> of a file (or cache entry) that holds a value of another type. Both type signatures
/// (see joblib::type_signature) are kept for tools and messages.
class type_mismatch_error : public error {
 public:
  type_mismatch_error(std::string expected, std::string found, const std::string& where = {})
      : error("joblib: type mismatch" + (where.empty() ? std::string() : " in " + where) +
              ": expected " + expected + ", found " + found),
        expected_(std::move(expected)),
        found_(std::move(found)) {}

  /// Signature of the type the caller asked for.
  const std::string& expected() const noexcept { return expected_; }
  /// Signature stored in the input.
  const std::string& found() const noexcept { return found_; }

 private:
  std::string expected_;
  std::string found_;
};

/// A parallel task ran longer than parallel_options::timeout.
struct timeout_error : error {
  using error::error;
};

/// A parallel call was stopped through its stop_token before every task ran.
struct cancelled_error : error {
  using error::error;
};

/// A task's exception whose type cannot be rebuilt in the caller (process backend): standard
/// exception types and joblib's own errors cross a process boundary with their type; any other
/// type (a user's exception class, `throw 42`) arrives as a task_error carrying the original
/// (demangled) type name and what() ("" for a type that is not a std::exception).
///
///   try { joblib::parallel({.n_jobs = 4, .backend = ...})(tasks); }
///   catch (const joblib::task_error& e) { std::cerr << e.type() << ": " << e.original_what(); }
///   // what(): "joblib: task 7 threw my::oops: <the task's what()>"
class task_error : public error {
 public:
  /// Task `index` threw an exception of type `type` (demangled) whose what() was `what`.
  task_error(std::size_t index, std::string type, std::string what)
      : error("joblib: task " + std::to_string(index) + " threw " + type +
              (what.empty() ? std::string() : ": " + what)),
        index_(index),
        type_(std::move(type)),
        what_(std::move(what)) {}

  /// Position of the task in the input.
  std::size_t index() const noexcept { return index_; }
  /// Demangled type name of the task's exception ("my::oops", "int").
  const std::string& type() const noexcept { return type_; }
  /// The task's exception's what(); "" when it was not a std::exception.
  const std::string& original_what() const noexcept { return what_; }

 private:
  std::size_t index_;
  std::string type_;
  std::string what_;
};

namespace detail {
/// "SIGSEGV: Segmentation fault" for 11, "" for a signal without a known name.
inline std::string signal_name(int signal) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  // sigabbrev_np / sigdescr_np (glibc 2.32) are thread-safe, unlike strsignal.
  const char* abbreviation = ::sigabbrev_np(signal);
  const char* description = ::sigdescr_np(signal);
  if (abbreviation == nullptr) return {};
  std::string name = std::string("SIG") + abbreviation;
  if (description != nullptr) name += std::string(": ") + description;
  return name;
#else
  // POSIX fixes no numbers, but these are the same on every Linux architecture and the BSDs.
  struct known {
    int number;
    const char* name;
  };
  static constexpr known table[] = {
      {1, "SIGHUP: Hangup"},        {2, "SIGINT: Interrupt"},
      {3, "SIGQUIT: Quit"},         {4, "SIGILL: Illegal instruction"},
      {6, "SIGABRT: Aborted"},      {8, "SIGFPE: Floating point exception"},
      {9, "SIGKILL: Killed"},       {11, "SIGSEGV: Segmentation fault"},
      {13, "SIGPIPE: Broken pipe"}, {14, "SIGALRM: Alarm clock"},
      {15, "SIGTERM: Terminated"},
  };
  for (const known& k : table) {
    if (k.number == signal) return k.name;
  }
  return {};
#endif
}
}  // namespace detail

/// A worker process died while it ran task `index` (process backend): killed by a signal (a
/// segfault, abort(), std::terminate, the OOM killer) or exited (exit(3)) without returning the
/// task's result.
///
///   catch (const joblib::worker_crashed_error& e) { if (e.signal() == SIGSEGV) ... }
///   // what(): "joblib: task 7 crashed its worker process: killed by signal 11 (SIGSEGV:
///   //          Segmentation fault)" or "joblib: task 7 crashed its worker process: exit status 3"
class worker_crashed_error : public error {
 public:
  /// `signal` 0 when the worker exited with `exit_status`; `exit_status` -1 when a signal
  /// killed it.
  worker_crashed_error(std::size_t index, int signal, int exit_status)
      : error("joblib: task " + std::to_string(index) +
              " crashed its worker process: " + cause(signal, exit_status)),
        index_(index),
        signal_(signal),
        exit_status_(exit_status) {}

  /// Position of the task in the input.
  std::size_t index() const noexcept { return index_; }
  /// The signal that killed the worker; 0 when it exited.
  int signal() const noexcept { return signal_; }
  /// The worker's exit status; -1 when a signal killed it.
  int exit_status() const noexcept { return exit_status_; }

 private:
  static std::string cause(int signal, int exit_status) {
    if (signal == 0) return "exit status " + std::to_string(exit_status);
    std::string text = "killed by signal " + std::to_string(signal);
    const std::string name = detail::signal_name(signal);
    if (!name.empty()) text += " (" + name + ")";
    return text;
  }

  std::size_t index_;
  int signal_;
  int exit_status_;
};

JOBLIB_END_NAMESPACE
