// joblib-cpp: NumPy's .npy files for joblib::ndarray: save_npy and load_npy.
//
//   joblib::ndarray<double> a({2, 3});
//   joblib::save_npy(a, "a.npy");                         // numpy.load("a.npy") reads it
//   auto b = joblib::load_npy<double>("a.npy");          // a copy in memory
//   auto m = joblib::load_npy<const double>("a.npy", {.mmap = joblib::mmap_mode::r});  // zero-copy
//
// The .npy format (numpy.lib.format): the magic "\x93NUMPY", a version byte pair (1.0, 2.0 or
// 3.0), the length of a header (2 bytes in 1.0, 4 in 2.0 and 3.0), the header (a Python dict
// literal {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a
// newline), then the elements. Files of every version are read; files are written in 1.0
// (2.0 only when the header would not fit 1.0's 64 KiB), with the data 64-byte aligned as numpy
// does. Only C-order (row-major), little-endian arrays of the dtypes ndarray holds are read:
// Fortran-order files (other than those whose layout is the same as C order: at most one
// extent above 1) and big-endian files are refused with a joblib::format_error that says how to
// convert them in numpy. Everything the header declares is checked against the file before any
// memory is allocated, so that a hostile header (a huge shape, an overflowing one, a short file)
// is a format_error, never an unbounded allocation. See docs/DECISIONS.md (".npy").
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/detail/os/atomic_file.hpp"
#include "joblib/detail/os/errno.hpp"
#include "joblib/detail/os/mapped_file.hpp"
#include "joblib/detail/os/open_file.hpp"
#include "joblib/errors.hpp"
#include "joblib/ndarray.hpp"
#include "joblib/persist/options.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

static_assert(std::endian::native == std::endian::little,
              ".npy files are written little-endian; big-endian hosts need byte swaps here");

/// "\x93NUMPY": the first six bytes of every .npy file.
inline constexpr std::string_view npy_magic{"\x93NUMPY", 6};
/// Largest header the reader accepts (numpy itself refuses more than 10000 bytes by default;
/// 1.0 headers cannot be longer than this).
inline constexpr std::uint64_t npy_max_header_size = 65535;
/// Most dimensions the reader accepts (numpy 2's NPY_MAXDIMS).
inline constexpr std::size_t npy_max_ndim = 64;
/// Alignment of the data numpy (and save_npy) writes.
inline constexpr std::size_t npy_alignment = 64;

/// The numpy dtype string of an element type: "<f8", "|b1", "<c16"; `char` is "|S1" (one-byte
/// strings), other integers "<i<size>" or "<u<size>" by signedness and size.
template <class E>
std::string npy_descr() {
  if constexpr (std::is_same_v<E, bool>) {
    return "|b1";
  } else if constexpr (std::is_same_v<E, char>) {
    return "|S1";
  } else if constexpr (std::is_same_v<E, std::complex<float>> ||
                       std::is_same_v<E, std::complex<double>>) {
    return "<c" + std::to_string(sizeof(E));
  } else if constexpr (std::is_floating_point_v<E>) {
    return "<f" + std::to_string(sizeof(E));
  } else {
    const char kind = std::is_signed_v<E> ? 'i' : 'u';
    return std::string(sizeof(E) == 1 ? "|" : "<") + kind + std::to_string(sizeof(E));
  }
}

/// What a .npy header says, with where each field was found (for errors).
struct npy_header {
  unsigned major = 1;
  std::string descr;
  bool fortran_order = false;
  std::vector<std::size_t> shape;
  std::uint64_t data_offset = 0;  // where the elements start
  std::uint64_t descr_offset = 0, fortran_offset = 0, shape_offset = 0;
};

/// Parses the header dict of a .npy file: exactly the keys 'descr' (a string), 'fortran_order'
/// (True or False) and 'shape' (a tuple of non-negative integers), each once, in any order,
/// followed by whitespace only. Python 2's "3L" integers are accepted. Nothing recurses, and
/// every token is bounded by the header, which is bounded by npy_max_header_size.
class npy_header_parser {
 public:
  npy_header_parser(std::string_view text, std::uint64_t base, const std::filesystem::path& file)
      : text_(text), base_(base), file_(file) {}

  void parse(npy_header& h) {
    unsigned seen = 0;
    skip_space();
    expect('{', "the header is not a dict ('{' expected)");
    skip_space();
    while (peek() != '}') {
      const std::uint64_t key_at = here();
      const std::string key = string_literal();
      skip_space();
      expect(':', "':' expected after a key");
      skip_space();
      unsigned bit = 0;
      if (key == "descr") {
        bit = 1;
        h.descr_offset = here();
        if (peek() == '[') fail("structured dtypes (a list as 'descr') are not supported");
        h.descr = string_literal();
      } else if (key == "fortran_order") {
        bit = 2;
        h.fortran_offset = here();
        h.fortran_order = boolean();
      } else if (key == "shape") {
        bit = 4;
        h.shape_offset = here();
        h.shape = shape();
      } else {
        fail_at(key_at, "unknown key '" + key + "' in the header");
      }
      if ((seen & bit) != 0) fail_at(key_at, "key '" + key + "' appears twice in the header");
      seen |= bit;
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != '}') {
        fail("',' or '}' expected");
      }
    }
    ++pos_;  // '}'
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the header dict");
    if (seen != 7) {
      fail_at(base_, std::string("the header lacks ") + ((seen & 1) == 0   ? "'descr'"
                                                         : (seen & 2) == 0 ? "'fortran_order'"
                                                                           : "'shape'"));
    }
  }

 private:
  char peek() const {
    if (pos_ >= text_.size()) fail("the header ends too early");
    return text_[pos_];
  }
  std::uint64_t here() const noexcept { return base_ + pos_; }

  void skip_space() noexcept {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\t' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  void expect(char c, const char* why) {
    if (peek() != c) fail(why);
    ++pos_;
  }

  // 'text' or "text", without escapes (numpy's keys and simple dtypes never have any).
  std::string string_literal() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("a quoted string expected");
    const std::size_t begin = ++pos_;
    while (peek() != quote) {
      if (text_[pos_] == '\\') fail("escapes in header strings are not supported");
      ++pos_;
    }
    return std::string(text_.substr(begin, pos_++ - begin));
  }

  bool boolean() {
    for (const auto& [word, value] :
         {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    fail("True or False expected");
  }

  std::vector<std::size_t> shape() {
    expect('(', "the shape is not a tuple ('(' expected)");
    std::vector<std::size_t> dims;
    skip_space();
    while (peek() != ')') {
      if (dims.size() == npy_max_ndim) {
        fail("more than " + std::to_string(npy_max_ndim) + " dimensions");
      }
      dims.push_back(extent());
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != ')') {
        fail("',' or ')' expected in the shape");
      }
    }
    ++pos_;
    return dims;
  }

  // A non-negative integer below 2^63 (numpy's npy_intp).
  std::size_t extent() {
    const std::uint64_t at = here();
    if (peek() < '0' || peek() > '9') fail("a non-negative integer expected in the shape");
    std::uint64_t v = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const auto digit = static_cast<std::uint64_t>(text_[pos_] - '0');
      if (v > ((std::uint64_t{1} << 63) - 1 - digit) / 10) fail_at(at, "an extent of 2^63 or more");
      v = v * 10 + digit;
      ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2's long literal
    if (v > static_cast<std::uint64_t>(static_cast<std::size_t>(-1))) {
      fail_at(at, "an extent this platform cannot address");
    }
    return static_cast<std::size_t>(v);
  }

  [[noreturn]] void fail(const std::string& why) const { fail_at(here(), why); }
  [[noreturn]] void fail_at(std::uint64_t offset, const std::string& why) const {
    throw format_error(file_, offset, "bad .npy header: " + why);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::uint64_t base_;
  const std::filesystem::path& file_;
};

/// Reads exactly out.size() bytes at `offset` of `fd`; a short file is a format_error.
inline void npy_pread(int fd, std::uint64_t offset, std::span<std::byte> out,
                      const std::filesystem::path& file) {
  auto* p = reinterpret_cast<char*>(out.data());
  std::size_t left = out.size();
  while (left != 0) {
    const ::ssize_t n = ::pread(fd, p, left, static_cast<::off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot read", file);
    }
    if (n == 0) throw format_error(file, offset, "unexpected end of file (truncated .npy data)");
    p += n;
    left -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

/// Reads and checks the prefix and header of the .npy file open as `fd`, `size` bytes long.
/// Sets `raw` to the bytes read (prefix and header), for comparing with a later mapping.
inline npy_header read_npy_header(int fd, std::uint64_t size, const std::filesystem::path& file,
                                  std::string& raw) {
  std::byte prefix[12] = {};
  const std::size_t have = static_cast<std::size_t>(std::min<std::uint64_t>(size, sizeof prefix));
  npy_pread(fd, 0, std::span(prefix, have), file);
  const std::string_view start(reinterpret_cast<const char*>(prefix), have);
  if (start.substr(0, npy_magic.size()) != npy_magic.substr(0, std::min(have, npy_magic.size()))) {
    throw format_error(file, 0, "not a .npy file (no \\x93NUMPY magic)");
  }
  if (have < 8) throw format_error(file, have, "truncated .npy file (it ends inside its prefix)");
  npy_header h;
  const auto major = static_cast<unsigned>(prefix[6]);
  const auto minor = static_cast<unsigned>(prefix[7]);
  if (major < 1 || major > 3 || minor != 0) {
    throw format_error(file, 6,
                       "unsupported .npy format version " + std::to_string(major) + "." +
                           std::to_string(minor) + " (1.0, 2.0 and 3.0 are read)");
  }
  h.major = major;
  const std::size_t prefix_size = major == 1 ? 10 : 12;
  if (have < prefix_size) {
    throw format_error(file, have, "truncated .npy file (it ends inside its prefix)");
  }
  std::uint64_t header_size = 0;
  for (std::size_t i = prefix_size; i-- > 8;) {
    header_size = header_size << 8 | static_cast<std::uint64_t>(prefix[i]);
  }
  if (header_size > npy_max_header_size) {
    throw format_error(file, 8,
                       "declares a header of " + std::to_string(header_size) +
                           " bytes; more than the " + std::to_string(npy_max_header_size) +
                           " this reader accepts");
  }
  if (header_size > size - prefix_size) {
    throw format_error(file, 8,
                       "declares a header of " + std::to_string(header_size) +
                           " bytes, but the file ends " + std::to_string(size - prefix_size) +
                           " bytes after the prefix (truncated)");
  }
  raw.assign(prefix_size + static_cast<std::size_t>(header_size), '\0');
  std::memcpy(raw.data(), prefix, prefix_size);
  npy_pread(fd, prefix_size,
            std::as_writable_bytes(
                std::span(raw.data() + prefix_size, static_cast<std::size_t>(header_size))),
            file);
  npy_header_parser(std::string_view(raw).substr(prefix_size), prefix_size, file).parse(h);
  h.data_offset = prefix_size + header_size;
  return h;
}

/// Checks that the header describes an array of E that the file holds in full, in a layout
/// this reader takes; returns the element count.
template <class E>
std::size_t check_npy_header(const npy_header& h, std::uint64_t file_size,
                             const std::filesystem::path& file) {
  const std::string expected = npy_descr<E>();
  std::string_view found = h.descr;
  char order = '|';
  if (!found.empty() && std::string_view("<>|=").find(found.front()) != std::string_view::npos) {
    order = found.front();
    found.remove_prefix(1);
  }
  if (found != std::string_view(expected).substr(1)) {
    throw type_mismatch_error("'" + expected + "'", "'" + h.descr + "'", file.string());
  }
  if (order == '>' && sizeof(E) > 1) {
    throw format_error(file, h.descr_offset,
                       "big-endian data ('" + h.descr +
                           "') is not read; convert it in numpy "
                           "with a.astype('" +
                           expected + "')");
  }
  std::size_t extents_above_one = 0;
  for (const std::size_t d : h.shape) extents_above_one += d > 1;
  if (h.fortran_order && extents_above_one > 1) {
    throw format_error(file, h.fortran_offset,
                       "Fortran-order (column-major) data is not read; save "
                       "numpy.ascontiguousarray(a) instead");
  }
  std::size_t count = 1;
  bool empty = false;
  for (const std::size_t d : h.shape) empty |= d == 0;
  if (empty) {
    count = 0;
  } else {
    for (const std::size_t d : h.shape) {
      if (count > static_cast<std::size_t>(-1) / sizeof(E) / d) {
        throw format_error(file, h.shape_offset,
                           "the shape's element count overflows (hostile or corrupt header)");
      }
      count *= d;
    }
  }
  const std::uint64_t nbytes = std::uint64_t{count} * sizeof(E);
  if (nbytes > file_size - h.data_offset) {
    throw format_error(file, h.data_offset,
                       "the header declares " + std::to_string(nbytes) + " bytes of data but " +
                           std::to_string(file_size - h.data_offset) +
                           " follow it (truncated file or hostile header)");
  }
  return count;
}

/// Any byte but 0 or 1 in a bool is undefined behaviour: checked before the array is handed out.
template <class E>
void check_npy_bools(std::span<const std::byte> bytes, std::uint64_t offset,
                     const std::filesystem::path& file) {
  if constexpr (std::is_same_v<E, bool>) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (static_cast<unsigned char>(bytes[i]) > 1) {
        throw format_error(file, offset + i, "a bool that is neither 0 nor 1");
      }
    }
  }
}

/// Closes a descriptor when it goes out of scope.
struct npy_fd {
  int fd = -1;
  npy_fd() = default;
  npy_fd(const npy_fd&) = delete;
  npy_fd& operator=(const npy_fd&) = delete;
  ~npy_fd() {
    if (fd >= 0) ::close(fd);
  }
};

/// The header save_npy writes: prefix, dict, spaces and a newline, 64-byte aligned in total.
inline std::string npy_header_text(std::string_view descr, std::span<const std::size_t> shape) {
  std::string dict = "{'descr': '";
  dict += descr;
  dict += "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) dict += ", ";
    dict += std::to_string(shape[i]);
  }
  dict += shape.size() == 1 ? ",), }" : "), }";
  for (const unsigned major : {1u, 2u}) {
    const std::size_t prefix = major == 1 ? 10 : 12;
    const std::size_t unpadded = prefix + dict.size() + 1;  // + '\n'
    const std::size_t total = (unpadded + npy_alignment - 1) / npy_alignment * npy_alignment;
    const std::size_t header = total - prefix;
    if (major == 1 && header > 0xFFFF) continue;
    std::string out(npy_magic);
    out += static_cast<char>(major);
    out += '\0';
    for (std::size_t i = 0; i < prefix - 8; ++i)
      out += static_cast<char>((header >> (8 * i)) & 0xFF);
    out += dict;
    out.append(total - unpadded, ' ');
    out += '\n';
    return out;
  }
  throw invalid_argument("joblib::save_npy: the shape does not fit a .npy header");
}

}  // namespace detail

/// Writes `array` to `file` as a NumPy .npy file (format 1.0; 2.0 if the header needs it),
/// C order, little-endian, the data 64-byte aligned: `numpy.load(file)` reads it back with the
/// dtype of T (double "<f8", std::int32_t "<i4", bool "|b1", std::complex<float> "<c8", char
/// "|S1", ...). Like joblib::dump, the file is written under a temporary name in the same
/// directory and renamed into place when complete, so readers see the old file or the new
/// one, never a part.
///
/// Throws std::filesystem::filesystem_error on I/O errors (nothing is left under `file` then)
/// and joblib::invalid_argument for a shape whose header would exceed 4 GiB (it cannot happen
/// with ndarray's 64-bit extents). Thread safety: concurrent calls are safe (the last rename
/// wins for one path).
///
///   joblib::ndarray<float> a({3, 4});
///   joblib::save_npy(a, "a.npy");   // python: numpy.load("a.npy").shape == (3, 4)
template <class T>
void save_npy(const ndarray<T>& array, const std::filesystem::path& file) {
  using E = std::remove_const_t<T>;
  const std::string header = detail::npy_header_text(detail::npy_descr<E>(), array.shape());
  const auto data = std::as_bytes(array.flat());
  detail::atomic_file out(file);
  out.reserve(header.size() + data.size());
  out.write(std::as_bytes(std::span(header)));
  out.write(data);
  out.commit();
}

/// Reads the NumPy .npy file `file` into an ndarray<T>: T is the element type (double for
/// "<f8", ...), `const T` for a read-only array. `options.mmap` (options.follow_symlinks too;
/// the other load_options do not apply: .npy has no checksums) chooses how:
/// - mmap_mode::none (default): a copy in memory;
/// - mmap_mode::r: a zero-copy view of a read-only mapping of the file; T must be const
///   (load_npy<const double>), as for joblib::load;
/// - mmap_mode::c: a writable view of a copy-on-write mapping (writes stay in this process);
/// - mmap_mode::r_plus: a writable view of a shared mapping (writes reach the file).
/// Data that the file does not align for T (never so in files numpy writes) is copied for
/// `r` and `c`, and refused for `r_plus`.
///
/// Throws joblib::type_mismatch_error when the file's dtype is not T's (naming both);
/// joblib::format_error naming the file and offset for anything else the reader does not take:
/// not a .npy file, an unknown version, a malformed or hostile header (its size, shape and
/// element count are checked against the file before anything is allocated), truncated data,
/// big-endian or Fortran-order data, a bool byte other than 0 or 1; joblib::invalid_argument
/// for mmap_mode::r with a non-const T; std::filesystem::filesystem_error when the file cannot
/// be opened or read. Thread safety: concurrent loads are safe.
///
///   auto a = joblib::load_npy<double>("a.npy");
///   auto m = joblib::load_npy<const float>("big.npy", {.mmap = joblib::mmap_mode::r});
template <class T>
requires ndarray_element<std::remove_const_t<T>> ndarray<T> load_npy(
    const std::filesystem::path& file, load_options options = {}) {
  using E = std::remove_const_t<T>;
  if (options.mmap == mmap_mode::r && !std::is_const_v<T>) {
    throw invalid_argument(
        "joblib::load_npy: mmap_mode::r gives read-only arrays; load into ndarray<const T> "
        "(zero-copy), or use mmap_mode::c for private writable pages, or mmap_mode::none for a "
        "copy");
  }
  const detail::symlinks links =
      options.follow_symlinks ? detail::symlinks::follow : detail::symlinks::refuse;
  detail::npy_fd fd;
  const detail::opened_file opened = detail::open_regular_file(file, O_RDONLY, links);
  fd.fd = opened.fd;
  if (fd.fd < 0) {
    errno = ENOENT;
    detail::throw_errno("cannot open", file);
  }
  const auto size = static_cast<std::uint64_t>(opened.info.st_size);
  std::string raw_header;
  const detail::npy_header h = detail::read_npy_header(fd.fd, size, file, raw_header);
  const std::size_t count = detail::check_npy_header<E>(h, size, file);
  const std::size_t nbytes = count * sizeof(E);

  auto copy = [&](std::span<const std::byte> mapped) {
    std::shared_ptr<E[]> storage(new E[count]);
    const auto out = std::as_writable_bytes(std::span(storage.get(), count));
    if (mapped.empty()) {
      detail::npy_pread(fd.fd, h.data_offset, out, file);
    } else {
      std::memcpy(out.data(), mapped.data(), nbytes);
    }
    detail::check_npy_bools<E>(out, h.data_offset, file);
    E* data = storage.get();
    return ndarray<E>::adopt({data, count}, h.shape, std::move(storage));
  };

  if (options.mmap == mmap_mode::none || count == 0) {
    if constexpr (std::is_const_v<T>) {
      return ndarray<T>(copy({}));
    } else {
      return copy({});
    }
  }
  const detail::map_access access = options.mmap == mmap_mode::r ? detail::map_access::read_only
                                    : options.mmap == mmap_mode::c
                                        ? detail::map_access::copy_on_write
                                        : detail::map_access::read_write;
  auto mapping = detail::mapped_file::open(file, access, false, links);
  const std::span<std::byte> bytes = mapping->bytes();
  // The file was opened twice: the mapping must show what the header was read from.
  if (bytes.size() < h.data_offset + nbytes ||
      std::memcmp(bytes.data(), raw_header.data(), raw_header.size()) != 0) {
    throw format_error(file, 0, "the file changed while it was being opened");
  }
  const std::span<std::byte> data = bytes.subspan(h.data_offset, nbytes);
  if (reinterpret_cast<std::uintptr_t>(data.data()) % alignof(E) != 0) {
    if (options.mmap == mmap_mode::r_plus) {
      throw format_error(file, h.data_offset,
                         "the data is not aligned for its dtype and cannot be mapped writable");
    }
    if constexpr (std::is_const_v<T>) {
      return ndarray<T>(copy(data));
    } else {
      return copy(data);
    }
  }
  detail::check_npy_bools<E>(data, h.data_offset, file);
  return ndarray<T>::view({reinterpret_cast<T*>(data.data()), count}, h.shape, std::move(mapping));
}

JOBLIB_END_NAMESPACE
