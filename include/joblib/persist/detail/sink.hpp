// joblib-cpp internals: where the container writer's bytes go.
//
// The writer produces one sequence of bytes (it never seeks back), so a file written
// atomically, a growing byte vector (joblib::dumps) and a std::ostream are all the same to it:
// a byte_sink. The writer appends from one thread at a time (not always the caller's) and
// ends with commit().
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <ios>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/detail/os/atomic_file.hpp"
#include "joblib/persist/detail/format.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// An append-only destination for a container's bytes.
class byte_sink {
 public:
  /// Appends `bytes`.
  void write(std::span<const std::byte> bytes) {
    append(bytes);
    size_ += bytes.size();
  }

  /// Pads with zeros up to the next multiple of `alignment` (a power of two, at most a page).
  void align_to(std::uint64_t alignment) {
    static constexpr std::array<std::byte, page_alignment> zeros{};
    const std::uint64_t rem = size_ & (alignment - 1);
    if (rem != 0) write(std::span(zeros).first(static_cast<std::size_t>(alignment - rem)));
  }

  /// Bytes written so far (the offset of the next write).
  std::uint64_t size() const noexcept { return size_; }

  /// Hints that `bytes` more bytes follow (a sink may prepare room; failure costs only speed).
  virtual void reserve(std::uint64_t bytes) noexcept = 0;

  /// Called once every byte was written: publishes the file, flushes the stream.
  virtual void commit() = 0;

 protected:
  byte_sink() = default;
  ~byte_sink() = default;
  byte_sink(const byte_sink&) = delete;
  byte_sink& operator=(const byte_sink&) = delete;

  virtual void append(std::span<const std::byte> bytes) = 0;

 private:
  std::uint64_t size_ = 0;
};

/// A file written under a temporary name and renamed into place by commit() (atomic_file.hpp).
class file_sink final : public byte_sink {
 public:
  /// Creates the temporary file next to `target`. Throws std::filesystem::filesystem_error.
  file_sink(const std::filesystem::path& target, bool durable) : file_(target, durable) {}

  void reserve(std::uint64_t bytes) noexcept override { file_.reserve(bytes); }
  void commit() override { file_.commit(); }

 private:
  void append(std::span<const std::byte> bytes) override { file_.write(bytes); }

  atomic_file file_;
};

/// Appends to a byte vector (joblib::dumps).
class vector_sink final : public byte_sink {
 public:
  explicit vector_sink(std::vector<std::byte>& out) noexcept : out_(out) {}

  // A large array announces itself: room for it and a little more (the value stream, index and
  // trailer usually follow), so that a container holding one big array is copied exactly once,
  // never moved by a late reallocation. Growth stays geometric for many announced arrays.
  void reserve(std::uint64_t bytes) noexcept override {
    if (bytes > out_.max_size() / 2) return;
    const std::size_t need = out_.size() + static_cast<std::size_t>(bytes) + headroom;
    if (need <= out_.capacity()) return;
    try {
      out_.reserve(std::max(need, out_.capacity() + out_.capacity() / 2));
    } catch (...) {  // a hint only: append() will ask again and report the failure
    }
  }
  void commit() override {}

 private:
  static constexpr std::size_t headroom = 64 * 1024;

  void append(std::span<const std::byte> bytes) override {
    out_.insert(out_.end(), bytes.begin(), bytes.end());
  }

  std::vector<std::byte>& out_;
};

/// Writes to a std::ostream. A stream that goes bad or fails (badbit, failbit) is reported as
/// std::ios_base::failure at once, as the standard streams do with exceptions enabled; what
/// was written before stays in the stream.
class ostream_sink final : public byte_sink {
 public:
  /// Throws std::ios_base::failure when `out` is already failed.
  explicit ostream_sink(std::ostream& out) : out_(out) { check("is not writable"); }

  void reserve(std::uint64_t) noexcept override {}
  /// Flushes the stream, so that a failure to deliver the last bytes is reported too.
  void commit() override {
    out_.flush();
    check("failed while being flushed");
  }

 private:
  void append(std::span<const std::byte> bytes) override {
    out_.write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    check("failed while being written");
  }

  void check(const char* what) const {
    if (!out_) {
      throw std::ios_base::failure(std::string("joblib::dump: the output stream ") + what +
                                   (out_.bad() ? " (badbit set)" : " (failbit set)"));
    }
  }

  std::ostream& out_;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
