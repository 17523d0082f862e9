// joblib-cpp internals (serialization core): the value encoder and the bounds-checked decoder.
//
// encode<Out>(out, value) describes every type once; `Out` decides where the bytes go:
// value_writer appends them to a std::vector (dump/load, the cache), the hash archive in
// <joblib/hash.hpp> streams them into XXH3-128. The byte layout is specified in
// docs/FORMAT.md ("Value stream").
//
// decode(reader, value) is its inverse. It trusts nothing: every read is bounds-checked, every
// tag validated and every length prefix checked against the bytes that remain before anything
// is allocated, so a hostile stream throws joblib::format_error and never reads out of bounds
// or allocates more than the input could justify.
#pragma once

#include <nlohmann/json.hpp>

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
#include "joblib/detail/array_node.hpp"
#include "joblib/detail/serialize_traits.hpp"
#include "joblib/errors.hpp"
#include "joblib/ndarray.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// Array-node tags in the value stream.
inline constexpr std::uint8_t array_inline = 0;
inline constexpr std::uint8_t array_external = 1;
/// Most dimensions an array node may have (same limit as the container index).
inline constexpr std::size_t max_array_ndim = 32;
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

// ------------------------------------------------------------------------------------------
// Writers
// ------------------------------------------------------------------------------------------

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
    if (a.shape.size() > max_array_ndim) throw format_error("array node: more than 32 dimensions");
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
  for (const auto& e : r) encode(out, e);
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
  if constexpr (k == kind::boolean) {
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
      std::array<std::uint64_t, max_array_ndim> shape{};
      if (value.ndim() > max_array_ndim) throw format_error("ndarray: more than 32 dimensions");
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
    if (value.valueless_by_exception()) throw format_error("variant is valueless_by_exception");
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

// ------------------------------------------------------------------------------------------
// Reader
// ------------------------------------------------------------------------------------------

template <class T>
constexpr std::size_t min_encoded_size();

template <class... A>
constexpr std::size_t min_encoded_size_of_fields(std::type_identity<std::tuple<A...>>) {
  return (std::size_t{0} + ... + min_encoded_size<std::remove_cvref_t<A>>());
}

/// Smallest number of bytes an encoded T can occupy (a lower bound; 0 when unknown).
template <class T>
constexpr std::size_t min_encoded_size() {
  using U = std::remove_cv_t<T>;
  constexpr kind k = kind_of<U>();
  if constexpr (k == kind::boolean || k == kind::byte || k == kind::optional ||
                k == kind::pointer) {
    return 1;
  } else if constexpr (k == kind::arithmetic || k == kind::enumeration) {
    return sizeof(U);
  } else if constexpr (k == kind::long_double) {
    return long_double_bytes;
  } else if constexpr (k == kind::string || k == kind::string_view || k == kind::json ||
                       k == kind::path || k == kind::sequence || k == kind::span ||
                       k == kind::ordered_set || k == kind::ordered_map ||
                       k == kind::unordered_set || k == kind::unordered_map) {
    return 8;
  } else if constexpr (k == kind::array_node) {
    return 3;  // an inline 0-d array: tag, dtype, ndim (an external one takes 9)
  } else if constexpr (k == kind::fixed_array) {
    return std_array_traits<U>::size * min_encoded_size<element_t<U>>();
  } else if constexpr (k == kind::pair) {
    return min_encoded_size<typename U::first_type>() + min_encoded_size<typename U::second_type>();
  } else if constexpr (k == kind::tuple) {
    return []<class... A>(std::type_identity<std::tuple<A...>>) {
      return (std::size_t{0} + ... + min_encoded_size<A>());
    }(std::type_identity<U>{});
  } else if constexpr (k == kind::variant) {
    return 4;
  } else if constexpr (k == kind::duration) {
    return sizeof(typename U::rep);
  } else if constexpr (k == kind::time_point) {
    return sizeof(typename U::rep);
  } else if constexpr (k == kind::complex) {
    return 2 * min_encoded_size<typename U::value_type>();
  } else if constexpr (k == kind::fields) {
    return min_encoded_size_of_fields(std::type_identity<fields_tuple_t<U>>{});
  } else if constexpr (k == kind::aggregate) {
    return min_encoded_size_of_fields(std::type_identity<aggregate_tuple_t<U>>{});
  } else {
    return 0;  // member serialize(), monostate: unknown or empty
  }
}

/// Bounds-checked cursor over a value stream; every failure is a joblib::format_error whose
/// offset is the position in the stream.
class value_reader {
 public:
  value_reader(std::span<const std::byte> in, array_source* source) noexcept
      : in_(in), source_(source) {}

  [[noreturn]] void fail(const std::string& reason) const { throw format_error(pos_, reason); }

  std::size_t remaining() const noexcept { return in_.size() - pos_; }
  std::size_t position() const noexcept { return pos_; }
  array_source* source() const noexcept { return source_; }

  void read(void* p, std::size_t n) {
    if (n > remaining())
      fail("truncated value stream (need " + std::to_string(n) + " bytes, " +
           std::to_string(remaining()) + " left)");
    if (n != 0) std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
  }

  /// The next n bytes, in place.
  std::span<const std::byte> take(std::size_t n) {
    if (n > remaining())
      fail("truncated value stream (need " + std::to_string(n) + " bytes, " +
           std::to_string(remaining()) + " left)");
    auto s = in_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

  template <class U>
  U scalar() {
    U v;
    read(&v, sizeof v);
    return v;
  }

  /// A length prefix for `count` elements of at least `min_size` encoded bytes each; throws
  /// when the remaining input cannot hold that many.
  std::size_t count(std::size_t min_size) {
    const std::size_t at = pos_;
    const auto n = scalar<std::uint64_t>();
    const bool ok =
        min_size == 0 ? n <= remaining() + max_empty_elements : n <= remaining() / min_size;
    if (!ok) {
      throw format_error(at, "length " + std::to_string(n) + " exceeds the remaining input (" +
                                 std::to_string(remaining()) + " bytes)");
    }
    return static_cast<std::size_t>(n);
  }

  /// Throws unless the whole input was consumed.
  void expect_end() const {
    if (pos_ != in_.size()) fail(std::to_string(remaining()) + " trailing bytes after the value");
  }

 private:
  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
  array_source* source_;
};

template <class T>
void decode(value_reader& in, T& value);

/// What a member serialize() sees while decoding: `ar(a, b, c)` decodes into a, b, c.
struct decode_archive {
  static constexpr bool is_loading = true;
  value_reader& in;
  template <class... F>
  void operator()(F&... fields) {
    (decode(in, fields), ...);
  }
};

template <class Tuple>
void decode_tuple(value_reader& in, Tuple&& t) {
  std::apply([&](auto&... f) { (decode(in, f), ...); }, t);
}

/// A decoded array node header: where its bytes are and what shape it has.
struct array_in {
  std::vector<std::uint64_t> shape;
  std::uint64_t count = 0;
  std::span<const std::byte> bytes;  // inline bytes, or the loaded blob's
  loaded_array loaded;               // set for external nodes
  bool external = false;
};

inline std::uint64_t checked_count(const value_reader& in, std::span<const std::uint64_t> shape) {
  std::uint64_t n = 1;
  for (auto d : shape) {
    if (__builtin_mul_overflow(n, d, &n)) in.fail("array shape overflows");
  }
  return n;
}

template <class E>
array_in read_array_header(value_reader& in, std::size_t want_ndim /* 0: any */) {
  array_in a;
  const std::size_t at = in.position();
  const auto tag = in.scalar<std::uint8_t>();
  constexpr dtype want = array_dtype_of<E>();
  if (tag == array_inline) {
    const auto type = in.scalar<std::uint8_t>();
    if (type != static_cast<std::uint8_t>(want)) {
      throw format_error(at, "array dtype " + std::to_string(type) + " is not the expected " +
                                 std::string(dtype_name(want)));
    }
    const auto ndim = in.scalar<std::uint8_t>();
    if (ndim > max_array_ndim || (want_ndim != 0 && ndim != want_ndim)) {
      throw format_error(at, "array has " + std::to_string(ndim) + " dimensions");
    }
    a.shape.resize(ndim);
    in.read(a.shape.data(), ndim * 8);
    a.count = checked_count(in, a.shape);
    if (a.count > in.remaining() / sizeof(E)) in.fail("array data exceeds the remaining input");
    a.bytes = in.take(static_cast<std::size_t>(a.count) * sizeof(E));
  } else if (tag == array_external) {
    const auto id = in.scalar<std::uint64_t>();
    if (in.source() == nullptr) {
      throw format_error(at, "array node refers to an external blob but there is no container");
    }
    a.loaded = in.source()->get(id);
    a.external = true;
    if (a.loaded.type != want) {
      throw format_error(at, "array blob has dtype " + std::string(dtype_name(a.loaded.type)) +
                                 ", expected " + std::string(dtype_name(want)));
    }
    if (a.loaded.shape.size() > max_array_ndim ||
        (want_ndim != 0 && a.loaded.shape.size() != want_ndim)) {
      throw format_error(at, "array blob has the wrong number of dimensions");
    }
    a.shape = a.loaded.shape;
    a.count = checked_count(in, a.shape);
    if (a.count > a.loaded.bytes.size() / sizeof(E) ||
        a.count * sizeof(E) != a.loaded.bytes.size()) {
      throw format_error(at, "array blob size does not match its shape");
    }
    a.bytes = a.loaded.bytes;
  } else {
    throw format_error(at, "bad array tag " + std::to_string(tag));
  }
  if constexpr (std::is_same_v<E, bool>) {
    // Any byte but 0 or 1 in a bool is undefined behaviour: check before viewing or copying.
    for (std::byte b : a.bytes) {
      if (static_cast<unsigned char>(b) > 1) throw format_error(at, "bad bool in a bool array");
    }
  }
  return a;
}

template <class U>
void decode_array_node(value_reader& in, U& value) {
  using E = element_t<U>;
  if constexpr (ndarray_traits<U>::value) {
    array_in a = read_array_header<E>(in, 0);
    std::vector<std::size_t> shape(a.shape.begin(), a.shape.end());
    auto* p = const_cast<std::byte*>(a.bytes.data());
    if (a.external && reinterpret_cast<std::uintptr_t>(p) % alignof(E) == 0) {
      // View the blob in place (an mmap or a decompressed buffer): no copy.
      value = U::view(std::span<E>(reinterpret_cast<E*>(p), static_cast<std::size_t>(a.count)),
                      std::move(shape), std::move(a.loaded.keep_alive), a.loaded.writable);
    } else {
      U result(std::move(shape));
      if (a.count != 0) std::memcpy(result.data(), a.bytes.data(), a.bytes.size());
      value = std::move(result);
    }
  } else if constexpr (std_array_traits<U>::value) {
    array_in a = read_array_header<E>(in, 1);
    if (a.count != std_array_traits<U>::size) {
      in.fail("array has " + std::to_string(a.count) + " elements, expected " +
              std::to_string(std_array_traits<U>::size));
    }
    if (a.count != 0) std::memcpy(std::data(value), a.bytes.data(), a.bytes.size());
  } else if constexpr (is_spec_v<U, std::vector>) {
    array_in a = read_array_header<E>(in, 1);
    value.resize(static_cast<std::size_t>(a.count));
    if (a.count != 0) std::memcpy(value.data(), a.bytes.data(), a.bytes.size());
  } else {
    static_assert(!span_traits<U>::value,
                  "joblib: a std::span cannot be read back; read a std::vector instead");
  }
}

template <class U>
void decode_variant(value_reader& in, U& value, std::uint32_t index) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    // Exactly one I matches (the caller checked the range); || stops there.
    static_cast<void>(
        ((index == I ? (decode(in, value.template emplace<I>()), true) : false) || ...));
  }
  (std::make_index_sequence<std::variant_size_v<U>>{});
}

template <class T>
void decode(value_reader& in, T& value) {
  using U = std::remove_cv_t<T>;
  constexpr kind k = kind_of<U>();
  if constexpr (k == kind::boolean) {
    const auto b = in.scalar<std::uint8_t>();
    if (b > 1) in.fail("bad bool byte " + std::to_string(b));
    value = b != 0;
  } else if constexpr (k == kind::arithmetic) {
    in.read(&value, sizeof value);
  } else if constexpr (k == kind::long_double) {
    value = 0;
    in.read(&value, long_double_bytes);
  } else if constexpr (k == kind::enumeration) {
    value = static_cast<U>(in.scalar<std::underlying_type_t<U>>());
  } else if constexpr (k == kind::byte) {
    in.read(&value, 1);
  } else if constexpr (k == kind::string) {
    const std::size_t n = in.count(1);
    const auto bytes = in.take(n);
    value.assign(reinterpret_cast<const char*>(bytes.data()), n);
  } else if constexpr (k == kind::json) {
    const std::size_t at = in.position();
    std::string text;
    decode(in, text);
    try {
      value = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw format_error(at, std::string("bad JSON value: ") + e.what());
    }
  } else if constexpr (k == kind::path) {
    const std::size_t n = in.count(1);
    const auto bytes = in.take(n);
    value = std::filesystem::path(std::u8string(reinterpret_cast<const char8_t*>(bytes.data()), n));
  } else if constexpr (k == kind::monostate) {
    // no bytes
  } else if constexpr (k == kind::array_node) {
    decode_array_node(in, value);
  } else if constexpr (k == kind::sequence) {
    using E = element_t<U>;
    const std::size_t n = in.count(min_encoded_size<E>());
    value.clear();
    if constexpr (is_spec_v<U, std::vector>) {
      value.reserve(std::min(n, in.remaining() + 1));
    }
    for (std::size_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<E, bool>) {
        bool b = false;
        decode(in, b);
        value.push_back(b);
      } else {
        decode(in, value.emplace_back());
      }
    }
  } else if constexpr (k == kind::fixed_array) {
    for (auto& e : value) decode(in, e);
  } else if constexpr (k == kind::span || k == kind::string_view) {
    static_assert(k != kind::span && k != kind::string_view,
                  "joblib: std::span / std::string_view cannot be read back; read a std::vector "
                  "/ std::string instead");
  } else if constexpr (k == kind::ordered_set || k == kind::unordered_set) {
    using E = typename U::key_type;
    const std::size_t n = in.count(min_encoded_size<E>());
    value.clear();
    for (std::size_t i = 0; i < n; ++i) {
      E e{};
      decode(in, e);
      value.insert(std::move(e));
    }
  } else if constexpr (k == kind::ordered_map || k == kind::unordered_map) {
    using K = typename U::key_type;
    using V = typename U::mapped_type;
    const std::size_t n = in.count(min_encoded_size<K>() + min_encoded_size<V>());
    value.clear();
    for (std::size_t i = 0; i < n; ++i) {
      K key{};
      V mapped{};
      decode(in, key);
      decode(in, mapped);
      if constexpr (k == kind::ordered_map) {
        value.emplace_hint(value.end(), std::move(key), std::move(mapped));
      } else {
        value.emplace(std::move(key), std::move(mapped));
      }
    }
  } else if constexpr (k == kind::pair) {
    decode(in, value.first);
    decode(in, value.second);
  } else if constexpr (k == kind::tuple) {
    decode_tuple(in, value);
  } else if constexpr (k == kind::optional || k == kind::pointer) {
    const auto flag = in.scalar<std::uint8_t>();
    if (flag > 1) in.fail("bad presence byte " + std::to_string(flag));
    if (flag == 0) {
      value.reset();
    } else if constexpr (k == kind::optional) {
      decode(in, value.emplace());
    } else {
      using E = inner_t<U>;
      auto p = std::make_unique<E>();
      decode(in, *p);
      value = std::move(p);
    }
  } else if constexpr (k == kind::variant) {
    const std::size_t at = in.position();
    const auto index = in.scalar<std::uint32_t>();
    if (index >= std::variant_size_v<U>) {
      throw format_error(at, "variant index " + std::to_string(index) + " out of range");
    }
    decode_variant(in, value, index);
  } else if constexpr (k == kind::duration) {
    typename U::rep r{};
    decode(in, r);
    value = U(r);
  } else if constexpr (k == kind::time_point) {
    typename U::rep r{};
    decode(in, r);
    value = U(typename U::duration(r));
  } else if constexpr (k == kind::complex) {
    typename U::value_type re{}, im{};
    decode(in, re);
    decode(in, im);
    value = U(re, im);
  } else if constexpr (k == kind::fields) {
    decode_tuple(in, joblib_fields(value));
  } else if constexpr (k == kind::aggregate) {
    decode_tuple(in, tie_aggregate(value));
  } else if constexpr (k == kind::member) {
    decode_archive ar{in};
    value.serialize(ar);
  } else {
    static_assert(k != kind::none, "joblib: type is not serializable");
  }
}

}  // namespace detail
JOBLIB_END_NAMESPACE
