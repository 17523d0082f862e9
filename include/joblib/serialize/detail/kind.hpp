// joblib-cpp internals (serialization core): classification of types.
//
// Every serializable type falls into exactly one `kind`; the encoder, decoder, summarizer and
// signature builder all switch on the same classification, so a type is described once.
// A joblib::serializer specialization is recognised first, then standard types, then user
// types by member serialize(), by JOBLIB_FIELDS (an ADL-found joblib_fields(v)) and last as
// plain aggregates.
#pragma once

#include <array>
#include <chrono>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/ndarray.hpp"
#include "joblib/serialize/detail/array_node.hpp"
#include "joblib/serialize/detail/reflect.hpp"
#include "joblib/serialize/serializer.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

static_assert(std::endian::native == std::endian::little,
              "joblib's value encoding is little-endian; big-endian hosts need byte swaps");
static_assert(std::numeric_limits<float>::is_iec559 && std::numeric_limits<double>::is_iec559,
              "joblib's value encoding stores IEEE-754 floating point");

template <class T, template <class...> class Tpl>
struct is_spec : std::false_type {};
template <template <class...> class Tpl, class... A>
struct is_spec<Tpl<A...>, Tpl> : std::true_type {};
template <class T, template <class...> class Tpl>
inline constexpr bool is_spec_v = is_spec<std::remove_cv_t<T>, Tpl>::value;

template <class T>
struct std_array_traits : std::false_type {};
template <class T, std::size_t N>
struct std_array_traits<std::array<T, N>> : std::true_type {
  using element = T;
  static constexpr std::size_t size = N;
};
template <class T, std::size_t N>
struct std_array_traits<T[N]> : std::true_type {
  using element = T;
  static constexpr std::size_t size = N;
};

template <class T>
struct span_traits : std::false_type {};
template <class T, std::size_t E>
struct span_traits<std::span<T, E>> : std::true_type {
  using element = std::remove_cv_t<T>;
};

template <class T>
struct ndarray_traits : std::false_type {};
template <class T>
struct ndarray_traits<ndarray<T>> : std::true_type {
  using element = std::remove_const_t<T>;
  static constexpr bool read_only = std::is_const_v<T>;
};

/// dtype of an element that can live in an array node; dtype{} (0) when it cannot.
template <class A>
constexpr dtype dtype_of() noexcept {
  using T = std::remove_cv_t<A>;
  if constexpr (std::is_same_v<T, char>) {
    return dtype::char8;
  } else if constexpr (std::is_same_v<T, std::byte>) {
    return dtype::u8;
  } else if constexpr (std::is_same_v<T, std::complex<float>>) {
    return dtype::c64;
  } else if constexpr (std::is_same_v<T, std::complex<double>>) {
    return dtype::c128;
  } else if constexpr (std::is_same_v<T, bool>) {
    return dtype{};  // std::vector<bool> is not contiguous; bools are encoded one by one
  } else if constexpr (std::is_integral_v<T>) {
    constexpr bool s = std::is_signed_v<T>;
    if constexpr (sizeof(T) == 1)
      return s ? dtype::i8 : dtype::u8;
    else if constexpr (sizeof(T) == 2)
      return s ? dtype::i16 : dtype::u16;
    else if constexpr (sizeof(T) == 4)
      return s ? dtype::i32 : dtype::u32;
    else if constexpr (sizeof(T) == 8)
      return s ? dtype::i64 : dtype::u64;
    else
      return dtype{};
  } else if constexpr (std::is_same_v<T, float>) {
    return dtype::f32;
  } else if constexpr (std::is_same_v<T, double>) {
    return dtype::f64;
  } else {
    return dtype{};
  }
}

/// dtype of an array node's element: dtype_of, plus bool for ndarray<bool> (std::vector<bool>
/// is not contiguous, so only ndarray stores bools as an array node).
template <class A>
constexpr dtype array_dtype_of() noexcept {
  if constexpr (std::is_same_v<std::remove_cv_t<A>, bool>)
    return dtype::boolean;
  else
    return dtype_of<A>();
}

/// True for elements stored as raw little-endian blocks (array nodes).
template <class A>
inline constexpr bool is_array_element = dtype_of<A>() != dtype{};

/// Serialization needs no more of a user's archive than this: `ar(field, field, ...)`.
struct probe_archive {
  static constexpr bool is_loading = false;
  template <class... F>
  void operator()(F&&...) {}
};

template <class T>
concept has_member_serialize = requires(T& t, probe_archive& ar) {
  t.serialize(ar);
};

/// A joblib::serializer<T> specialization (see <joblib/serialize/serializer.hpp>).
template <class T>
concept has_serializer = requires(const T& value) {
  typename serializer<T>::representation;
  serializer<T>::to(value);
};

template <class T>
concept has_joblib_fields = requires(T& t, const T& c) {
  joblib_fields(t);
  joblib_fields(c);
};

/// How a type is encoded.
enum class kind {
  none,
  custom,  // joblib::serializer<T>: encoded as its representation
  boolean,
  arithmetic,   // integers, floating point, char types (not bool)
  long_double,  // stored by its significant bytes
  enumeration,
  byte,
  string,         // std::string (read/write)
  string_view,    // std::string_view (write only)
  array_node,     // contiguous arithmetic: vector, std::array, C array, span, ndarray
  sequence,       // vector/deque/list of non-array elements (count + elements)
  fixed_array,    // std::array / C array of non-array elements (elements only)
  span,           // span of non-array elements (write only, encoded as a vector)
  ordered_set,    // set, multiset
  ordered_map,    // map, multimap
  unordered_set,  // unordered_set, unordered_multiset (canonical order)
  unordered_map,  // unordered_map, unordered_multimap (canonical order)
  pair,
  tuple,
  optional,
  variant,
  monostate,
  pointer,  // unique_ptr / shared_ptr: value semantics, null allowed
  duration,
  time_point,
  path,
  complex,  // std::complex<T> outside an array node
  json,
  member,     // member serialize(Archive&)
  fields,     // JOBLIB_FIELDS
  aggregate,  // structured-binding reflection
};

/// nlohmann::json (basic_json with its default parameters), recognised by its member types so
/// that the serialization core, and with it the process backend of joblib::parallel, needs no
/// json header: a program that has a json value has included <nlohmann/json.hpp> itself.
/// ordered_json (an ordered_map object) is not nlohmann::json and is not matched.
template <class U>
concept nlohmann_json = requires {
  typename U::value_t;
  typename U::json_pointer;
  typename U::exception;
  typename U::object_t::key_compare;
  typename U::array_t;
  typename U::string_t;
  typename U::boolean_t;
  typename U::number_integer_t;
  typename U::number_unsigned_t;
  typename U::number_float_t;
}
&&std::is_same_v<typename U::object_t,
                 std::map<std::string, U, typename U::object_t::key_compare>>&&
    std::is_same_v<typename U::array_t, std::vector<U>>&& std::is_same_v<
        typename U::string_t, std::string>&& std::is_same_v<typename U::boolean_t, bool>&&
        std::is_same_v<typename U::number_integer_t, std::int64_t>&&
            std::is_same_v<typename U::number_unsigned_t, std::uint64_t>&&
                std::is_same_v<typename U::number_float_t, double>;

template <class T>
constexpr kind kind_of() noexcept {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_reference_v<U> || std::is_pointer_v<U> || std::is_union_v<U>) {
    return kind::none;
  } else if constexpr (has_serializer<U>) {
    return kind::custom;
  } else if constexpr (std::is_same_v<U, bool>) {
    return kind::boolean;
  } else if constexpr (std::is_same_v<U, long double>) {
    return kind::long_double;
  } else if constexpr (std::is_arithmetic_v<U>) {
    return kind::arithmetic;
  } else if constexpr (std::is_same_v<U, std::byte>) {
    return kind::byte;
  } else if constexpr (std::is_enum_v<U>) {
    return kind::enumeration;
  } else if constexpr (std::is_same_v<U, std::string>) {
    return kind::string;
  } else if constexpr (std::is_same_v<U, std::string_view>) {
    return kind::string_view;
  } else if constexpr (nlohmann_json<U>) {
    return kind::json;
  } else if constexpr (std::is_same_v<U, std::filesystem::path>) {
    return kind::path;
  } else if constexpr (std::is_same_v<U, std::monostate>) {
    return kind::monostate;
  } else if constexpr (ndarray_traits<U>::value) {
    return kind::array_node;
  } else if constexpr (is_spec_v<U, std::vector>) {
    return is_array_element<typename U::value_type> ? kind::array_node : kind::sequence;
  } else if constexpr (std_array_traits<U>::value) {
    return is_array_element<typename std_array_traits<U>::element> ? kind::array_node
                                                                   : kind::fixed_array;
  } else if constexpr (span_traits<U>::value) {
    return is_array_element<typename span_traits<U>::element> ? kind::array_node : kind::span;
  } else if constexpr (is_spec_v<U, std::deque> || is_spec_v<U, std::list>) {
    return kind::sequence;
  } else if constexpr (is_spec_v<U, std::set> || is_spec_v<U, std::multiset>) {
    return kind::ordered_set;
  } else if constexpr (is_spec_v<U, std::map> || is_spec_v<U, std::multimap>) {
    return kind::ordered_map;
  } else if constexpr (is_spec_v<U, std::unordered_set> || is_spec_v<U, std::unordered_multiset>) {
    return kind::unordered_set;
  } else if constexpr (is_spec_v<U, std::unordered_map> || is_spec_v<U, std::unordered_multimap>) {
    return kind::unordered_map;
  } else if constexpr (is_spec_v<U, std::pair>) {
    return kind::pair;
  } else if constexpr (is_spec_v<U, std::tuple>) {
    return kind::tuple;
  } else if constexpr (is_spec_v<U, std::optional>) {
    return kind::optional;
  } else if constexpr (is_spec_v<U, std::variant>) {
    return kind::variant;
  } else if constexpr (is_spec_v<U, std::unique_ptr> || is_spec_v<U, std::shared_ptr>) {
    return kind::pointer;
  } else if constexpr (is_spec_v<U, std::chrono::duration>) {
    return kind::duration;
  } else if constexpr (is_spec_v<U, std::chrono::time_point>) {
    return kind::time_point;
  } else if constexpr (is_spec_v<U, std::complex>) {
    return kind::complex;
  } else if constexpr (has_member_serialize<U>) {
    return kind::member;
  } else if constexpr (has_joblib_fields<U>) {
    return kind::fields;
  } else if constexpr (std::is_aggregate_v<U> && std::is_class_v<U>) {
    return kind::aggregate;
  } else {
    return kind::none;
  }
}

/// Element type of a sequence/set/span/fixed array/array node.
template <class T>
struct element_of {
  using type = typename T::value_type;
};
template <class T, std::size_t N>
struct element_of<T[N]> {
  using type = T;
};
template <class T>
using element_t = std::remove_cv_t<typename element_of<std::remove_cv_t<T>>::type>;

/// The value inside an optional / unique_ptr / shared_ptr.
template <class T>
struct inner_of {
  using type = typename T::value_type;
};
template <class T, class D>
struct inner_of<std::unique_ptr<T, D>> {
  using type = T;
};
template <class T>
struct inner_of<std::shared_ptr<T>> {
  using type = T;
};
template <class T>
using inner_t = std::remove_cv_t<typename inner_of<std::remove_cv_t<T>>::type>;

/// The representation of a type with a joblib::serializer, and what its to() returns.
template <class T>
using representation_t = std::remove_cv_t<typename serializer<T>::representation>;
template <class T>
using custom_output_t = std::remove_cvref_t<decltype(serializer<T>::to(std::declval<const T&>()))>;

template <class T>
using fields_tuple_t = decltype(joblib_fields(std::declval<const T&>()));
template <class T>
using aggregate_tuple_t = decltype(tie_aggregate(std::declval<const T&>()));

template <class T, bool Loading = false>
constexpr bool check_serializable();

template <class Tuple, bool Loading>
struct all_serializable;
template <class... F, bool Loading>
struct all_serializable<std::tuple<F...>, Loading> {
  static constexpr bool value = (check_serializable<std::remove_cvref_t<F>, Loading>() && ...);
};

/// Recursive check behind the joblib::serializable concept. With `Loading`, whether a T can
/// also be read back: std::span and std::string_view can only be written.
template <class T, bool Loading>
constexpr bool check_serializable() {
  using U = std::remove_cv_t<T>;
  constexpr kind k = kind_of<U>();
  if constexpr (k == kind::none) {
    return false;
  } else if constexpr (Loading && (k == kind::span || k == kind::string_view ||
                                   (k == kind::array_node && span_traits<U>::value))) {
    return false;
  } else if constexpr (k == kind::custom) {
    return check_serializable<representation_t<U>, Loading>() &&
           check_serializable<custom_output_t<U>, Loading>();
  } else if constexpr (k == kind::member) {
    // Its signature is read from a default-constructed object, and loading needs one too.
    return std::is_default_constructible_v<U>;
  } else if constexpr (k == kind::sequence || k == kind::fixed_array || k == kind::span ||
                       k == kind::ordered_set || k == kind::unordered_set) {
    return check_serializable<element_t<U>, Loading>();
  } else if constexpr (k == kind::ordered_map || k == kind::unordered_map) {
    return check_serializable<typename U::key_type, Loading>() &&
           check_serializable<typename U::mapped_type, Loading>();
  } else if constexpr (k == kind::pair) {
    return check_serializable<typename U::first_type, Loading>() &&
           check_serializable<typename U::second_type, Loading>();
  } else if constexpr (k == kind::tuple || k == kind::variant) {
    return []<template <class...> class Tpl, class... A>(std::type_identity<Tpl<A...>>) {
      return (check_serializable<A, Loading>() && ...);
    }(std::type_identity<U>{});
  } else if constexpr (k == kind::optional || k == kind::pointer) {
    return check_serializable<inner_t<U>, Loading>();
  } else if constexpr (k == kind::complex) {
    return std::is_arithmetic_v<typename U::value_type>;
  } else if constexpr (k == kind::fields) {
    return all_serializable<fields_tuple_t<U>, Loading>::value;
  } else if constexpr (k == kind::aggregate) {
    return all_serializable<aggregate_tuple_t<U>, Loading>::value;
  } else {
    return true;
  }
}

/// Whether a T may hold a writable ndarray<U> (one that mmap_mode::r cannot fill). Types with
/// a member serialize() reveal their fields only at run time and count as false here; the
/// decoder checks them when it meets the array.
template <class T>
constexpr bool contains_writable_ndarray();

template <class... F>
constexpr bool any_field_writable_ndarray(std::type_identity<std::tuple<F...>>) {
  return (contains_writable_ndarray<std::remove_cvref_t<F>>() || ...);
}

template <class T>
constexpr bool contains_writable_ndarray() {
  using U = std::remove_cv_t<T>;
  constexpr kind k = kind_of<U>();
  if constexpr (k == kind::array_node) {
    if constexpr (ndarray_traits<U>::value) {
      return !ndarray_traits<U>::read_only;
    } else {
      return false;
    }
  } else if constexpr (k == kind::custom) {
    return contains_writable_ndarray<representation_t<U>>();
  } else if constexpr (k == kind::sequence || k == kind::fixed_array || k == kind::ordered_set ||
                       k == kind::unordered_set) {
    return contains_writable_ndarray<element_t<U>>();
  } else if constexpr (k == kind::ordered_map || k == kind::unordered_map) {
    return contains_writable_ndarray<typename U::key_type>() ||
           contains_writable_ndarray<typename U::mapped_type>();
  } else if constexpr (k == kind::pair) {
    return contains_writable_ndarray<typename U::first_type>() ||
           contains_writable_ndarray<typename U::second_type>();
  } else if constexpr (k == kind::tuple || k == kind::variant) {
    return []<template <class...> class Tpl, class... A>(std::type_identity<Tpl<A...>>) {
      return (contains_writable_ndarray<A>() || ...);
    }(std::type_identity<U>{});
  } else if constexpr (k == kind::optional || k == kind::pointer) {
    return contains_writable_ndarray<inner_t<U>>();
  } else if constexpr (k == kind::fields) {
    return any_field_writable_ndarray(std::type_identity<fields_tuple_t<U>>{});
  } else if constexpr (k == kind::aggregate) {
    return any_field_writable_ndarray(std::type_identity<aggregate_tuple_t<U>>{});
  } else {
    return false;
  }
}

/// Fails compilation with a message naming T (in the "[with T = ...]" context the compiler
/// prints) when T is not serializable; the callers then compile nothing else for T, so the
/// error is this one message and not a page of template errors.
template <class T>
struct serializable_check {
  static constexpr bool value = check_serializable<std::remove_cv_t<T>>();
  static_assert(value,
                "joblib: this type is not serializable (it is named in 'serializable_check<...>' "
                "above). Make it an aggregate, add JOBLIB_FIELDS(type, fields...) next to it, give "
                "it a default constructor and a member template <class Archive> void "
                "serialize(Archive& ar) { ar(fields...); }, or specialize joblib::serializer<T> "
                "for it (<joblib/serialize/serializer.hpp>)");
};

}  // namespace detail
JOBLIB_END_NAMESPACE
