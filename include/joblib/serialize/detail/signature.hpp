// joblib-cpp internals (serialization core): compile-time type signatures.
//
// A signature names the *encoding* of a type, in a grammar that depends on nothing but the
// standard-library template involved and fixed-width element names, so it is the same with
// every compiler and platform: "vector<f64>", "map<str,tuple<i32,f32>>", "struct{f64,i32,str}".
// The grammar is in docs/FORMAT.md. Signatures are constants (built in a constexpr buffer and
// trimmed) except for types with a member serialize(), whose fields are only known by calling
// it: those are built once at run time from a default-constructed object.
#pragma once

#include <cfloat>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <ratio>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "joblib/config.hpp"
#include "joblib/serialize/detail/kind.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// Longest constant signature (a longer one fails to compile with a static_assert).
inline constexpr std::size_t signature_capacity = 4096;

/// Compile-time builder: a fixed buffer. `dynamic` records a component that needs run time.
struct constant_signature_builder {
  static constexpr bool at_run_time = false;
  char data[signature_capacity]{};
  std::size_t len = 0;
  bool dynamic = false;
  constexpr void append(std::string_view s) {
    for (char c : s) {
      if (len < signature_capacity) data[len] = c;
      ++len;
    }
  }
};

/// Run-time builder, for signatures that contain a member-serialize type.
struct runtime_signature_builder {
  static constexpr bool at_run_time = true;
  std::string data;
  bool dynamic = false;
  void append(std::string_view s) { data.append(s); }
};

template <class B>
constexpr void append_number(B& b, std::uintmax_t v) {
  char digits[24]{};
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  char out[24]{};
  for (std::size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  b.append(std::string_view(out, n));
}

template <class B>
constexpr void append_signed(B& b, std::intmax_t v) {
  if (v < 0) {
    b.append("-");
    append_number(b, static_cast<std::uintmax_t>(-(v + 1)) + 1);
  } else {
    append_number(b, static_cast<std::uintmax_t>(v));
  }
}

template <class T, class B>
constexpr void build_signature(B& b);

template <class B, class... T>
constexpr void build_signature_list(B& b) {
  bool first = true;
  ((b.append(first ? "" : ","), first = false, build_signature<std::remove_cvref_t<T>>(b)), ...);
}

template <class B, class Tuple>
struct build_tuple_signature;
template <class B, class... F>
struct build_tuple_signature<B, std::tuple<F...>> {
  static constexpr void run(B& b) { build_signature_list<B, F...>(b); }
};

/// The archive a member serialize() sees while its signature is built.
template <class B>
struct signature_archive {
  static constexpr bool is_loading = false;
  B& builder;
  bool first = true;
  template <class... F>
  void operator()(const F&...) {
    ((builder.append(first ? "" : ","), first = false,
      build_signature<std::remove_cvref_t<F>>(builder)),
     ...);
  }
};

template <class Clock>
constexpr std::string_view clock_name() {
  if constexpr (std::is_same_v<Clock, std::chrono::system_clock>)
    return "system_clock";
  else if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>)
    return "steady_clock";
  else if constexpr (std::is_same_v<Clock, std::filesystem::file_time_type::clock>)
    return "file_clock";
  else
    return "clock";
}

template <class T, class B>
constexpr void build_signature(B& b) {
  using U = std::remove_cv_t<T>;
  constexpr kind k = kind_of<U>();
  if constexpr (k == kind::custom) {
    build_signature<representation_t<U>>(b);
  } else if constexpr (k == kind::boolean) {
    b.append("bool");
  } else if constexpr (k == kind::arithmetic) {
    b.append(dtype_name(dtype_of<U>()));
  } else if constexpr (k == kind::long_double) {
    if constexpr (LDBL_MANT_DIG == 64)
      b.append("f80");
    else if constexpr (LDBL_MANT_DIG == 113)
      b.append("f128");
    else
      b.append("f64");
  } else if constexpr (k == kind::enumeration) {
    b.append("enum<");
    build_signature<std::underlying_type_t<U>>(b);
    b.append(">");
  } else if constexpr (k == kind::byte) {
    b.append("byte");
  } else if constexpr (k == kind::string || k == kind::string_view) {
    b.append("str");
  } else if constexpr (k == kind::json) {
    b.append("json");
  } else if constexpr (k == kind::path) {
    b.append("path");
  } else if constexpr (k == kind::monostate) {
    b.append("monostate");
  } else if constexpr (k == kind::array_node || k == kind::sequence || k == kind::fixed_array ||
                       k == kind::span) {
    if constexpr (ndarray_traits<U>::value) {
      b.append("ndarray<");
    } else if constexpr (is_spec_v<U, std::deque>) {
      b.append("deque<");
    } else if constexpr (is_spec_v<U, std::list>) {
      b.append("list<");
    } else if constexpr (std_array_traits<U>::value) {
      b.append("array<");
    } else {
      b.append("vector<");  // std::vector and std::span (same encoding)
    }
    if constexpr (std::is_same_v<element_t<U>, std::byte>)
      b.append("byte");
    else
      build_signature<element_t<U>>(b);
    if constexpr (std_array_traits<U>::value) {
      b.append(",");
      append_number(b, std_array_traits<U>::size);
    }
    b.append(">");
  } else if constexpr (k == kind::ordered_set || k == kind::unordered_set) {
    if constexpr (is_spec_v<U, std::set>)
      b.append("set<");
    else if constexpr (is_spec_v<U, std::multiset>)
      b.append("multiset<");
    else if constexpr (is_spec_v<U, std::unordered_set>)
      b.append("unordered_set<");
    else
      b.append("unordered_multiset<");
    build_signature<typename U::key_type>(b);
    b.append(">");
  } else if constexpr (k == kind::ordered_map || k == kind::unordered_map) {
    if constexpr (is_spec_v<U, std::map>)
      b.append("map<");
    else if constexpr (is_spec_v<U, std::multimap>)
      b.append("multimap<");
    else if constexpr (is_spec_v<U, std::unordered_map>)
      b.append("unordered_map<");
    else
      b.append("unordered_multimap<");
    build_signature_list<B, typename U::key_type, typename U::mapped_type>(b);
    b.append(">");
  } else if constexpr (k == kind::pair) {
    b.append("pair<");
    build_signature_list<B, typename U::first_type, typename U::second_type>(b);
    b.append(">");
  } else if constexpr (k == kind::tuple || k == kind::variant) {
    b.append(k == kind::tuple ? "tuple<" : "variant<");
    [&]<template <class...> class Tpl, class... A>(std::type_identity<Tpl<A...>>) {
      build_signature_list<B, A...>(b);
    }(std::type_identity<U>{});
    b.append(">");
  } else if constexpr (k == kind::optional) {
    b.append("optional<");
    build_signature<inner_t<U>>(b);
    b.append(">");
  } else if constexpr (k == kind::pointer) {
    b.append("ptr<");
    build_signature<inner_t<U>>(b);
    b.append(">");
  } else if constexpr (k == kind::duration) {
    b.append("duration<");
    build_signature<typename U::rep>(b);
    b.append(",");
    append_signed(b, U::period::num);
    b.append("/");
    append_signed(b, U::period::den);
    b.append(">");
  } else if constexpr (k == kind::time_point) {
    b.append("time_point<");
    b.append(clock_name<typename U::clock>());
    b.append(",");
    build_signature<typename U::duration>(b);
    b.append(">");
  } else if constexpr (k == kind::complex) {
    b.append("complex<");
    build_signature<typename U::value_type>(b);
    b.append(">");
  } else if constexpr (k == kind::fields) {
    b.append("struct{");
    build_tuple_signature<B, fields_tuple_t<U>>::run(b);
    b.append("}");
  } else if constexpr (k == kind::aggregate) {
    b.append("struct{");
    build_tuple_signature<B, aggregate_tuple_t<U>>::run(b);
    b.append("}");
  } else if constexpr (k == kind::member) {
    // The fields are only known by calling serialize(): on a default-constructed object
    // (check_serializable requires the type to have one), once, at run time.
    if constexpr (!B::at_run_time) {
      b.dynamic = true;
    } else {
      b.append("struct{");
      U probe{};
      signature_archive<B> ar{b};
      probe.serialize(ar);
      b.append("}");
    }
  } else {
    b.append("?");
  }
}

template <class T>
struct constant_signature {
  static constexpr constant_signature_builder full = [] {
    constant_signature_builder b;
    build_signature<T>(b);
    return b;
  }();
  static_assert(full.len <= signature_capacity, "joblib: type signature too long");
  static constexpr bool is_constant = !full.dynamic;
  struct trimmed_t {
    char data[full.len + 1]{};
  };
  static constexpr trimmed_t trimmed = [] {
    trimmed_t t{};
    for (std::size_t i = 0; i < full.len; ++i) t.data[i] = full.data[i];
    return t;
  }();
  static constexpr std::string_view value{trimmed.data, full.len};
};

template <class T>
std::string_view runtime_signature() {
  // Built once, thread-safely (a function-local static), on first use.
  static const std::string value = [] {
    runtime_signature_builder b;
    build_signature<T>(b);
    return std::move(b.data);
  }();
  return value;
}

}  // namespace detail
JOBLIB_END_NAMESPACE
