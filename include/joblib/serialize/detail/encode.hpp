// joblib-cpp internals (serialization core): the value encoder.
//
// encode<Out>(out, value) describes every type once; `Out` decides where the bytes go:
// value_writer appends them to a std::vector (dump/load, the cache), size_counter only counts
// them, the hash archive in <joblib/hash.hpp> streams them into XXH3-128. The byte layout is
// specified in docs/FORMAT.md ("Value stream"); decode.hpp is its inverse.
#pragma once

#include <algorithm>
#include <array>
#include <cfloat>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/ndarray.hpp"
#include "joblib/serialize/detail/array_node.hpp"
#include "joblib/serialize/detail/kind.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// Array-node tags in the value stream.
inline constexpr std::uint8_t array_inline = 0;
inline constexpr std::uint8_t array_external = 1;
/// Vectors/std::arrays smaller than this stay inline in the value stream even when a sink is
/// given: a container blob per tiny array (a vector<std::array<double, 3>>) would cost far
/// more than it saves. ndarray always goes to the sink, so that it can be memory-mapped.
inline constexpr std::size_t array_sink_threshold = 256;
/// Elements that encode to zero bytes (std::monostate, empty structs) cannot be justified by
/// the remaining input; their count is capped instead.
inline constexpr std::uint64_t max_empty_elements = std::uint64_t{1} << 24;
/// Bytes of a long double that carry its value (x87 extended: 10; binary128: 16).
inline constexpr std::size_t long_double_bytes =
    LDBL_MANT_DIG == 64 ? 10 : (LDBL_MANT_DIG == 113 ? 16 : sizeof(double));

/// Appends the encoding to a byte vector. Array nodes go to `sink` (the stream records the id
/// it returns) or inline when sink == nullptr. Grows the vector geometrically and trims it in
/// finish() (or the destructor), so small writes cost a bounds check and a memcpy.
class value_writer {
 public:
  value_writer(std::vector<std::byte>& out, array_sink* sink) noexcept
      : out_(out), pos_(out.size()), sink_(sink) {}
  /// Sizes `out` for `expected` more bytes up front (one allocation instead of doubling).
  value_writer(std::vector<std::byte>& out, array_sink* sink, std::size_t expected)
      : value_writer(out, sink) {
    out_.resize(pos_ + expected);
  }
  value_writer(const value_writer&) = delete;
  value_writer& operator=(const value_writer&) = delete;
  ~value_writer() { finish(); }

  void write(const void* p, std::size_t n) {
    if (out_.size() - pos_ < n) grow(n);
    if (n != 0) std::memcpy(out_.data() + pos_, p, n);
    pos_ += n;
  }

  /// Writes an array node; `prefer_sink` is false for small vectors (see array_sink_threshold).
  void write_array(const array_out& a, bool prefer_sink) {
    if (sink_ != nullptr && prefer_sink) {
      const std::uint64_t id = sink_->put(a);
      const std::uint8_t tag = array_external;
      write(&tag, 1);
      write(&id, 8);
    } else {
      write_array_inline(*this, a);
    }
  }

  /// A writer for a nested buffer with the same sink (canonical ordering of unordered sets).
  value_writer sub(std::vector<std::byte>& buffer) const noexcept { return {buffer, sink_}; }

  std::size_t position() const noexcept { return pos_; }

  void finish() { out_.resize(pos_); }

  template <class O>
  static void write_array_inline(O& out, const array_out& a) {
    if (a.shape.size() > max_ndim)
      throw invalid_argument("joblib: an array of more than 32 dimensions");
    const std::uint8_t head[3] = {array_inline, static_cast<std::uint8_t>(a.type),
                                  static_cast<std::uint8_t>(a.shape.size())};
    out.write(head, 3);
    out.write(a.shape.data(), a.shape.size() * 8);
    out.write(a.bytes.data(), a.bytes.size());
  }

 private:
  void grow(std::size_t n) {
    std::size_t want = std::max(out_.size() * 2, pos_ + n);
    want = std::max<std::size_t>(want, 256);
    out_.resize(want);
  }

  std::vector<std::byte>& out_;
  std::size_t pos_;
  array_sink* sink_;
};

/// Counts the bytes value_writer would produce (same sink decisions, no sink calls), so that
/// write_value allocates once: growing a large stream by doubling costs more than this pass.
class size_counter {
 public:
  static constexpr bool counts_only = true;
  explicit size_counter(bool has_sink) noexcept : has_sink_(has_sink) {}
  void write(const void*, std::size_t n) noexcept { n_ += n; }
  void write_array(const array_out& a, bool prefer_sink) noexcept {
    n_ += has_sink_ && prefer_sink ? 9 : 3 + 8 * a.shape.size() + a.bytes.size();
  }
  std::size_t size() const noexcept { return n_; }

 private:
  std::size_t n_ = 0;
  bool has_sink_;
};

template <class Out>
concept counting_output = Out::counts_only;

template <class Out, class T>
void encode(Out& out, const T& value);

template <class Out, class U>
void write_scalar(Out& out, U v) {
  out.write(&v, sizeof v);
}

inline void write_u8(auto& out, std::uint8_t v) { out.write(&v, 1); }
inline void write_u64(auto& out, std::uint64_t v) { out.write(&v, 8); }

/// What a member serialize() sees while encoding: `ar(a, b, c)` encodes a, b, c in order.
template <class Out>
struct encode_archive {
  static constexpr bool is_loading = false;
  Out& out;
  template <class... F>
  void operator()(const F&... fields) {
    (encode(out, fields), ...);
  }
};

template <class Out, class Tuple>
void encode_tuple(Out& out, const Tuple& t) {
  std::apply([&](const auto&... f) { (encode(out, f), ...); }, t);
}

template <class Out, class E>
void encode_array(Out& out, std::span<const E> elems, std::span<const std::uint64_t> shape,
                  bool prefer_sink) {
  const array_out a{array_dtype_of<E>(), shape, std::as_bytes(elems)};
  out.write_array(a, prefer_sink);
}

template <class Out, class Range>
void encode_elements(Out& out, const Range& r) {
  // Typed: std::vector<bool> hands out proxies (libc++'s do not even convert implicitly to a
  // const auto& of bool), which are no serializable type.
  for (const element_t<Range>& e : r) encode(out, e);
}

/// Unordered containers: elements are encoded separately, sorted by their bytes and written in
/// that order, so equal containers give equal bytes whatever their insertion history.
template <class Out, class C, class F>
void encode_canonical(Out& out, const C& c, F&& encode_one) {
  if constexpr (counting_output<Out>) {
    write_u64(out, c.size());  // order does not change the size
    for (const auto& e : c) encode_one(out, e);
  } else {
    std::vector<std::byte> buffer;
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    spans.reserve(c.size());
    {
      value_writer sub = out.sub(buffer);
      for (const auto& e : c) {
        const std::size_t begin = sub.position();
        encode_one(sub, e);
        spans.emplace_back(begin, sub.position() - begin);
      }
      sub.finish();
    }
    const std::byte* base = buffer.data();
    std::sort(spans.begin(), spans.end(), [base](const auto& a, const auto& b) {
      const std::size_t n = std::min(a.second, b.second);
      const int c = n == 0 ? 0 : std::memcmp(base + a.first, base + b.first, n);
      return c != 0 ? c < 0 : a.second < b.second;
    });
    write_u64(out, c.size());
    for (const auto& [begin, len] : spans) out.write(base + begin, len);
  }
}

template <class Out, class T>
void encode(Out& out, const T& value) {
  using U = std::remove_cv_t<T>;
  constexpr kind k = kind_of<U>();
  if constexpr (k == kind::custom) {
    encode(out, serializer<U>::to(value));
  } else if constexpr (k == kind::boolean) {
    write_u8(out, value ? 1 : 0);
  } else if constexpr (k == kind::arithmetic) {
    write_scalar(out, value);
  } else if constexpr (k == kind::long_double) {
    out.write(&value, long_double_bytes);
  } else if constexpr (k == kind::enumeration) {
    write_scalar(out, static_cast<std::underlying_type_t<U>>(value));
  } else if constexpr (k == kind::byte) {
    out.write(&value, 1);
  } else if constexpr (k == kind::string || k == kind::string_view) {
    write_u64(out, value.size());
    out.write(value.data(), value.size());
  } else if constexpr (k == kind::json) {
    const std::string text = value.dump();
    encode(out, text);
  } else if constexpr (k == kind::path) {
    const std::u8string text = value.generic_u8string();
    write_u64(out, text.size());
    out.write(text.data(), text.size());
  } else if constexpr (k == kind::monostate) {
    // no bytes
  } else if constexpr (k == kind::array_node) {
    using E = element_t<U>;
    if constexpr (ndarray_traits<U>::value) {
      std::array<std::uint64_t, max_ndim> shape{};
      if (value.ndim() > max_ndim)
        throw invalid_argument("joblib: an ndarray of more than 32 dimensions");
      for (std::size_t i = 0; i < value.ndim(); ++i) shape[i] = value.shape()[i];
      encode_array<Out, E>(out, value.flat(), std::span(shape.data(), value.ndim()), true);
    } else {
      const std::span<const E> elems(std::data(value), std::size(value));
      const std::uint64_t shape[1] = {elems.size()};
      encode_array<Out, E>(out, elems, shape, elems.size_bytes() >= array_sink_threshold);
    }
  } else if constexpr (k == kind::sequence || k == kind::span) {
    write_u64(out, std::size(value));
    encode_elements(out, value);
  } else if constexpr (k == kind::fixed_array) {
    encode_elements(out, value);
  } else if constexpr (k == kind::ordered_set) {
    write_u64(out, value.size());
    encode_elements(out, value);
  } else if constexpr (k == kind::ordered_map) {
    write_u64(out, value.size());
    for (const auto& [key, mapped] : value) {
      encode(out, key);
      encode(out, mapped);
    }
  } else if constexpr (k == kind::unordered_set) {
    encode_canonical(out, value, [](auto& o, const auto& e) { encode(o, e); });
  } else if constexpr (k == kind::unordered_map) {
    encode_canonical(out, value, [](auto& o, const auto& e) {
      encode(o, e.first);
      encode(o, e.second);
    });
  } else if constexpr (k == kind::pair) {
    encode(out, value.first);
    encode(out, value.second);
  } else if constexpr (k == kind::tuple) {
    encode_tuple(out, value);
  } else if constexpr (k == kind::optional || k == kind::pointer) {
    write_u8(out, value ? 1 : 0);
    if (value) encode(out, *value);
  } else if constexpr (k == kind::variant) {
    if (value.valueless_by_exception()) {
      throw invalid_argument("joblib: a valueless_by_exception variant cannot be encoded");
    }
    write_scalar(out, static_cast<std::uint32_t>(value.index()));
    std::visit([&](const auto& alt) { encode(out, alt); }, value);
  } else if constexpr (k == kind::duration) {
    encode(out, value.count());
  } else if constexpr (k == kind::time_point) {
    encode(out, value.time_since_epoch().count());
  } else if constexpr (k == kind::complex) {
    encode(out, value.real());
    encode(out, value.imag());
  } else if constexpr (k == kind::fields) {
    encode_tuple(out, joblib_fields(value));
  } else if constexpr (k == kind::aggregate) {
    encode_tuple(out, tie_aggregate(value));
  } else if constexpr (k == kind::member) {
    encode_archive<Out> ar{out};
    // serialize() is written once for both directions and so is non-const; encoding only
    // reads the fields through ar(...).
    const_cast<U&>(value).serialize(ar);
  } else {
    static_assert(k != kind::none, "joblib: type is not serializable");
  }
}

/// Appends the encoding of `value` to `out`. Array nodes (contiguous arithmetic data) go to
/// `sink`, which returns the id the stream records, or inline when sink == nullptr (vectors
/// under 256 bytes stay inline either way; ndarray always goes to the sink).
/// Throws joblib::invalid_argument for a value that cannot be encoded (an ndarray of more than
/// 32 dimensions, a valueless variant) and whatever the sink throws.
template <class T>
void write_value(const T& value, std::vector<std::byte>& out, array_sink* sink) {
  if constexpr (serializable_check<T>::value) {
    size_counter counter(sink != nullptr);
    encode(counter, value);
    value_writer w(out, sink, counter.size());
    encode(w, value);
    w.finish();
  }
}

}  // namespace detail
JOBLIB_END_NAMESPACE
