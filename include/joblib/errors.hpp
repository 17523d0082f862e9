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
//   └── cancelled_error        a parallel call was stopped through its stop_token
#pragma once

#include <cstdint>
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

JOBLIB_END_NAMESPACE
