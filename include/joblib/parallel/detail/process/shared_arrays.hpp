// joblib-cpp internals (process backend): the array nodes of task results, on their way from
// a worker to the caller.
//
// The worker encodes a message's values with an array_sink (serialize/detail/array_node.hpp)
// that keeps each array node out of the value stream: arrays under `max_nbytes` travel in the
// message itself (the "in-band" area), larger ones are written to one unnamed shared-memory
// file per message (memfd_create, or O_TMPFILE in parallel_options::temp_folder) whose
// descriptor travels with the message. The caller maps that file copy-on-write once and lets
// each ndarray view its part: a 400 MB result costs the worker one copy and the caller none.
// The file never has a name, so nothing is left behind whatever dies when.
//
// Payload of a values message:
//   u64 array count, then per array: u8 dtype, u8 ndim, u8 place (0 in-band, 1 shared),
//   5 zero bytes, u64 offset, u64 nbytes, ndim x u64 shape;
//   u64 in-band bytes, the in-band bytes; then the value stream (the message's values).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/parallel/detail/process/channel.hpp"
#include "joblib/serialize/detail/array_node.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail::process {

inline constexpr std::uint8_t place_in_band = 0;
inline constexpr std::uint8_t place_shared = 1;
inline constexpr std::size_t shared_alignment = 4096;  // page: the caller views in place

/// Owns a file descriptor.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~unique_fd() { reset(); }
  int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

/// The worker's array sink for one message at a time.
class shared_array_sink final : public array_sink {
 public:
  /// Arrays of at least `max_nbytes` go to shared memory, in `temp_folder` when it is not
  /// empty (else an anonymous memfd).
  shared_array_sink(std::size_t max_nbytes, std::filesystem::path temp_folder)
      : max_nbytes_(max_nbytes), temp_folder_(std::move(temp_folder)) {}

  std::uint64_t put(const array_out& a) override {
    const std::uint64_t id = count_++;
    const std::uint8_t place = a.bytes.size() >= max_nbytes_ ? place_shared : place_in_band;
    std::uint64_t offset;
    if (place == place_shared) {
      offset = (shared_size_ + shared_alignment - 1) / shared_alignment * shared_alignment;
      write_shared(offset, a.bytes);
      shared_size_ = offset + a.bytes.size();
    } else {
      offset = in_band_.size();
      in_band_.insert(in_band_.end(), a.bytes.begin(), a.bytes.end());
    }
    const std::uint8_t head[8] = {static_cast<std::uint8_t>(a.type),
                                  static_cast<std::uint8_t>(a.shape.size()), place};
    append(table_, head, 8);
    append(table_, &offset, 8);
    const std::uint64_t nbytes = a.bytes.size();
    append(table_, &nbytes, 8);
    append(table_, a.shape.data(), a.shape.size() * 8);
    return id;
  }

  /// Writes into `out` (cleared first: a worker reuses one buffer) the payload for `stream`
  /// (the message's encoded values) with the arrays put so far, and gives the shared-memory
  /// descriptor (-1 when every array was small). Resets the sink.
  void finish(std::span<const std::byte> stream, std::vector<std::byte>& out, unique_fd& shared) {
    out.clear();
    append(out, &count_, 8);
    out.insert(out.end(), table_.begin(), table_.end());
    const std::uint64_t in_band = in_band_.size();
    append(out, &in_band, 8);
    out.insert(out.end(), in_band_.begin(), in_band_.end());
    out.insert(out.end(), stream.begin(), stream.end());
    shared = std::move(shared_);
    count_ = 0;
    shared_size_ = 0;
    table_.clear();
    in_band_.clear();
  }

 private:
  static void append(std::vector<std::byte>& v, const void* p, std::size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    v.insert(v.end(), b, b + n);
  }

  void write_shared(std::uint64_t offset, std::span<const std::byte> bytes) {
    if (shared_.get() < 0) shared_ = unique_fd(open_shared());
    const auto end = static_cast<off_t>(offset + bytes.size());
    if (::ftruncate(shared_.get(), end) != 0) throw_system("cannot size a shared-memory result");
    while (!bytes.empty()) {
      const ssize_t n =
          ::pwrite(shared_.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_system("cannot write a shared-memory result");
      }
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      offset += static_cast<std::uint64_t>(n);
    }
  }

  int open_shared() const {
    const int fd = temp_folder_.empty()
                       ? ::memfd_create("joblib-result", MFD_CLOEXEC)
                       : ::open(temp_folder_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
      throw std::filesystem::filesystem_error(
          "joblib: cannot create an unnamed file for a large task result", temp_folder_,
          std::error_code(errno, std::generic_category()));
    }
    return fd;
  }

  std::size_t max_nbytes_;
  std::filesystem::path temp_folder_;
  std::uint64_t count_ = 0;
  std::uint64_t shared_size_ = 0;
  std::vector<std::byte> table_;
  std::vector<std::byte> in_band_;
  unique_fd shared_;
};

/// A copy-on-write mapping of a worker's shared-memory file, alive while an array views it.
class shared_mapping {
 public:
  shared_mapping(int fd, std::size_t size) : size_(size) {
    if (size_ == 0) return;
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) throw_system("cannot map a shared-memory task result");
    data_ = static_cast<std::byte*>(p);
  }
  shared_mapping(const shared_mapping&) = delete;
  shared_mapping& operator=(const shared_mapping&) = delete;
  ~shared_mapping() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_;
};

/// The caller's array source for one values message. The payload comes from a worker we
/// forked, but is still checked: a wrong offset must not become a wild read.
class shared_array_source final : public array_source {
 public:
  /// Parses the table and in-band area of `payload`; stream() is what follows them.
  shared_array_source(std::span<const std::byte> payload, int shared_fd) : payload_(payload) {
    std::uint64_t count = read_u64();
    if (count > payload_.size() / 24) fail("array table larger than its message");
    entries_.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t i = 0; i < count; ++i) {
      entry e;
      const auto head = take(8);
      e.type = static_cast<dtype>(head[0]);
      const auto ndim = static_cast<std::size_t>(head[1]);
      e.place = static_cast<std::uint8_t>(head[2]);
      if (!is_valid_dtype(static_cast<std::uint8_t>(head[0])) || ndim > max_ndim || e.place > 1)
        fail("bad array entry");
      e.offset = read_u64();
      e.nbytes = read_u64();
      e.shape.resize(ndim);
      for (auto& d : e.shape) d = read_u64();
      entries_.push_back(std::move(e));
    }
    const std::uint64_t in_band = read_u64();
    if (in_band > payload_.size() - position_) fail("in-band area larger than its message");
    in_band_ = take(static_cast<std::size_t>(in_band));
    stream_ = payload_.subspan(position_);
    if (shared_fd >= 0) {
      struct stat st {};
      if (::fstat(shared_fd, &st) != 0) throw_system("cannot stat a shared-memory task result");
      mapping_ = std::make_shared<shared_mapping>(shared_fd, static_cast<std::size_t>(st.st_size));
    }
  }

  std::span<const std::byte> stream() const noexcept { return stream_; }

  loaded_array get(std::uint64_t id) override {
    if (id >= entries_.size()) fail("unknown array id");
    const entry& e = entries_[static_cast<std::size_t>(id)];
    loaded_array a;
    a.type = e.type;
    a.shape = e.shape;
    if (e.place == place_in_band) {
      if (e.offset > in_band_.size() || e.nbytes > in_band_.size() - e.offset)
        fail("in-band array out of range");
      a.bytes = std::span<std::byte>(const_cast<std::byte*>(in_band_.data() + e.offset),
                                     static_cast<std::size_t>(e.nbytes));
      a.borrowed = true;  // the message buffer is reused: the decoder copies
    } else {
      if (!mapping_ || e.offset > mapping_->size() || e.nbytes > mapping_->size() - e.offset)
        fail("shared-memory array out of range");
      a.bytes =
          std::span<std::byte>(mapping_->data() + e.offset, static_cast<std::size_t>(e.nbytes));
      a.keep_alive = mapping_;
    }
    return a;
  }

 private:
  struct entry {
    dtype type{};
    std::uint8_t place = 0;
    std::uint64_t offset = 0;
    std::uint64_t nbytes = 0;
    std::vector<std::uint64_t> shape;
  };

  [[noreturn]] void fail(const std::string& what) const {
    throw format_error(position_, "worker result message: " + what);
  }
  std::span<const std::byte> take(std::size_t n) {
    if (n > payload_.size() - position_) fail("truncated");
    auto s = payload_.subspan(position_, n);
    position_ += n;
    return s;
  }
  std::uint64_t read_u64() {
    std::uint64_t v;
    std::memcpy(&v, take(8).data(), 8);
    return v;
  }

  std::span<const std::byte> payload_;
  std::size_t position_ = 0;
  std::vector<entry> entries_;
  std::span<const std::byte> in_band_;
  std::span<const std::byte> stream_;
  std::shared_ptr<shared_mapping> mapping_;
};

}  // namespace detail::process
JOBLIB_END_NAMESPACE
