// joblib-cpp internals (serialization core): the bounds-checked value decoder.
//
// decode(reader, value) is the inverse of encode (encode.hpp). It trusts nothing: every read
// is bounds-checked, every tag validated and every length prefix checked against the bytes
// that remain before anything is allocated, so a hostile stream throws joblib::format_error
// and never reads out of bounds or allocates more than the input could justify.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/ndarray.hpp"
#include "joblib/serialize/detail/array_node.hpp"
#include "joblib/serialize/detail/encode.hpp"
#include "joblib/serialize/detail/kind.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

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
  if constexpr (k == kind::custom) {
    return min_encoded_size<representation_t<U>>();
  } else if constexpr (k == kind::boolean || k == kind::byte || k == kind::optional ||
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
    if (ndim > max_ndim || (want_ndim != 0 && ndim != want_ndim)) {
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
    if (a.loaded.shape.size() > max_ndim ||
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

/// Why a writable ndarray<T> cannot be loaded with mmap_mode::r.
inline constexpr const char* read_only_misuse_message =
    "joblib::load: mmap_mode::r gives read-only arrays; load into joblib::ndarray<const T> "
    "(zero-copy), or use mmap_mode::c for private writable pages, or mmap_mode::none for a copy";

template <class U>
void decode_array_node(value_reader& in, U& value) {
  using E = element_t<U>;
  if constexpr (ndarray_traits<U>::value) {
    array_in a = read_array_header<E>(in, 0);
    if constexpr (!ndarray_traits<U>::read_only) {
      if (a.external && a.loaded.read_only) throw invalid_argument(read_only_misuse_message);
    }
    std::vector<std::size_t> shape(a.shape.begin(), a.shape.end());
    auto* p = const_cast<std::byte*>(a.bytes.data());
    if (a.external && !a.loaded.borrowed && reinterpret_cast<std::uintptr_t>(p) % alignof(E) == 0) {
      // Take over a buffer filled for this load, or view a mapping in place: no copy.
      const std::span<typename U::element_type> data(reinterpret_cast<E*>(p),
                                                     static_cast<std::size_t>(a.count));
      value = a.loaded.owned ? U::adopt(data, std::move(shape), std::move(a.loaded.keep_alive))
                             : U::view(data, std::move(shape), std::move(a.loaded.keep_alive));
    } else {
      ndarray<E> result(std::move(shape));
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
  if constexpr (k == kind::custom) {
    static_assert(
        requires { serializer<U>::from(std::declval<representation_t<U>>()); },
        "joblib: loading this type needs a static from(representation) in its "
        "joblib::serializer specialization");
    representation_t<U> representation{};
    decode(in, representation);
    value = serializer<U>::from(std::move(representation));
  } else if constexpr (k == kind::boolean) {
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
      value = U::parse(text);
    } catch (const typename U::exception& e) {
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

/// Decodes `in` into `value` (containers are cleared first). Array nodes stored externally are
/// fetched from `source`; an ndarray views the fetched blob in place.
/// Throws joblib::format_error(offset, reason) on truncation, bad tags, length prefixes the
/// remaining input cannot justify, and trailing bytes. Never reads outside `in`.
template <class T>
void read_value(T& value, std::span<const std::byte> in, array_source* source) {
  if constexpr (serializable_check<T>::value) {
    value_reader r(in, source);
    decode(r, value);
    r.expect_end();
  }
}

}  // namespace detail
JOBLIB_END_NAMESPACE
