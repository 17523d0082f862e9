// joblib-cpp internals: a std::istream read whole, for load(std::istream&).
//
// A container's index sits at its end, so a stream is read to its end before anything is
// checked. The buffer grows with the bytes that actually arrive (doubling from 64 KiB, so the
// copies stay linear and the buffer within twice what was read); no size the stream claims
// (seekg/tellg, in_avail) is trusted, so a stream cannot make us allocate beyond its content.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <ios>
#include <istream>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <utility>

#include "joblib/config.hpp"
#include "joblib/detail/os/aligned_buffer.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// The bytes of a stream, from its position when read to its end.
struct stream_bytes {
  std::shared_ptr<std::byte> data;
  std::size_t size = 0;

  std::span<const std::byte> view() const noexcept { return {data.get(), size}; }
};

/// Reads `in` to its end (then sets eofbit). Throws std::ios_base::failure when `in` is not
/// readable at the start; an exception from the stream buffer sets badbit and propagates.
inline stream_bytes read_stream(std::istream& in) {
  const std::istream::sentry readable(in, /*noskipws=*/true);
  if (!readable) {
    throw std::ios_base::failure(std::string("joblib::load: the input stream is not readable") +
                                 (in.bad() ? " (badbit set)" : " (failbit or eofbit set)"));
  }
  constexpr std::size_t first_read = 64 * 1024;
  stream_bytes out;
  std::size_t capacity = 0;
  std::streambuf& source = *in.rdbuf();
  for (;;) {
    if (out.size == capacity) {
      if (capacity > std::numeric_limits<std::size_t>::max() / 2) throw std::bad_alloc();
      const std::size_t next = capacity == 0 ? first_read : capacity * 2;
      auto bigger = allocate_aligned(next);
      if (out.size != 0) std::memcpy(bigger.get(), out.data.get(), out.size);
      out.data = std::move(bigger);
      capacity = next;
    }
    const std::size_t want =
        std::min<std::size_t>(capacity - out.size, std::numeric_limits<std::streamsize>::max());
    std::streamsize got = 0;
    try {
      got = source.sgetn(reinterpret_cast<char*>(out.data.get() + out.size),
                         static_cast<std::streamsize>(want));
    } catch (...) {
      // As istream::read does: the stream is marked bad and the buffer's exception goes on.
      try {
        in.setstate(std::ios_base::badbit);
      } catch (const std::ios_base::failure&) {  // badbit is in in.exceptions()
      }
      throw;
    }
    if (got <= 0) break;  // the end (a short read may precede it: ask again until nothing)
    out.size += static_cast<std::size_t>(got);
  }
  in.setstate(std::ios_base::eofbit);
  return out;
}

}  // namespace detail
JOBLIB_END_NAMESPACE
