// joblib-cpp: the serialization core shared by hashing, dump/load and the cache.
//
// A type is serializable when it is one of the supported standard types (arithmetic types,
// enums, std::byte, strings, the standard containers, pair/tuple/optional/variant, smart
// pointers, chrono, filesystem::path, complex, span, nlohmann::json, joblib::ndarray), nested
// in any way, or a user type made serializable in one of three ways:
//
//   struct point { double x{}; double y{}; };            // 1. aggregates: nothing to do
//
//   class pose { public: double t{}; std::string frame; };
//   JOBLIB_FIELDS(pose, t, frame)                        // 2. list the fields (same namespace)
//
//   class sample {                                       // 3. a member template
//    public:
//     template <class Archive> void serialize(Archive& ar) { ar(id_, values_); }
//    private:
//     int id_ = 0; std::vector<double> values_;
//   };
//
//   template <> struct joblib::serializer<geo::point> {     // 4. a type you cannot edit
//     using representation = std::pair<double, double>;   //    (<joblib/serialize/serializer.hpp>)
//     static representation to(const geo::point& p) { return {p.x(), p.y()}; }
//     static geo::point from(representation r) { return {r.first, r.second}; }
//   };
//
// Each type has a compile-time signature (joblib::type_signature<T>()) and one canonical,
// little-endian byte encoding (docs/FORMAT.md, "Value stream"), which hashing streams into
// XXH3-128 and containers store. A type that is not serializable fails to compile with a
// static_assert naming the type.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/ndarray.hpp"
#include "joblib/serialize/detail/decode.hpp"
#include "joblib/serialize/detail/encode.hpp"
#include "joblib/serialize/detail/kind.hpp"
#include "joblib/serialize/detail/signature.hpp"
#include "joblib/serialize/detail/summary.hpp"
#include "joblib/serialize/serializer.hpp"

JOBLIB_BEGIN_NAMESPACE

/// True when T can be hashed, dumped and (unless it is a std::span/std::string_view) loaded.
///
///   static_assert(joblib::serializable<std::map<std::string, std::vector<double>>>);
template <class T>
concept serializable = detail::check_serializable<std::remove_cv_t<T>>();

/// The type signature of T: a stable, compiler- and platform-independent name of its encoding,
/// e.g. "vector<f64>", "map<str,tuple<i32,f32>>", "struct{f64,i32,str}" (grammar in
/// docs/FORMAT.md). Stored in containers, checked on load, part of cache keys and hashes.
/// std::span<T> and std::vector<T> share a signature (and an encoding), as do std::string
/// and std::string_view.
///
/// A constant expression except for types that contain a member-serialize() type: their
/// signature is built once at run time (thread-safe) from a default-constructed object.
///
///   static_assert(joblib::type_signature<std::vector<double>>() == "vector<f64>");
template <class T>
constexpr std::string_view type_signature() {
  using U = std::remove_cvref_t<T>;
  if constexpr (!detail::serializable_check<U>::value) {
    return {};
  } else if constexpr (detail::constant_signature<U>::is_constant) {
    return detail::constant_signature<U>::value;
  } else {
    return detail::runtime_signature<U>();
  }
}

JOBLIB_END_NAMESPACE

// --- JOBLIB_FIELDS -------------------------------------------------------------------------
#define JOBLIB_DETAIL_FE_1(m, x) m(x)
#define JOBLIB_DETAIL_FE_2(m, x, ...) m(x), JOBLIB_DETAIL_FE_1(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_3(m, x, ...) m(x), JOBLIB_DETAIL_FE_2(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_4(m, x, ...) m(x), JOBLIB_DETAIL_FE_3(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_5(m, x, ...) m(x), JOBLIB_DETAIL_FE_4(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_6(m, x, ...) m(x), JOBLIB_DETAIL_FE_5(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_7(m, x, ...) m(x), JOBLIB_DETAIL_FE_6(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_8(m, x, ...) m(x), JOBLIB_DETAIL_FE_7(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_9(m, x, ...) m(x), JOBLIB_DETAIL_FE_8(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_10(m, x, ...) m(x), JOBLIB_DETAIL_FE_9(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_11(m, x, ...) m(x), JOBLIB_DETAIL_FE_10(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_12(m, x, ...) m(x), JOBLIB_DETAIL_FE_11(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_13(m, x, ...) m(x), JOBLIB_DETAIL_FE_12(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_14(m, x, ...) m(x), JOBLIB_DETAIL_FE_13(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_15(m, x, ...) m(x), JOBLIB_DETAIL_FE_14(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_16(m, x, ...) m(x), JOBLIB_DETAIL_FE_15(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_17(m, x, ...) m(x), JOBLIB_DETAIL_FE_16(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_18(m, x, ...) m(x), JOBLIB_DETAIL_FE_17(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_19(m, x, ...) m(x), JOBLIB_DETAIL_FE_18(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_20(m, x, ...) m(x), JOBLIB_DETAIL_FE_19(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_21(m, x, ...) m(x), JOBLIB_DETAIL_FE_20(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_22(m, x, ...) m(x), JOBLIB_DETAIL_FE_21(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_23(m, x, ...) m(x), JOBLIB_DETAIL_FE_22(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_24(m, x, ...) m(x), JOBLIB_DETAIL_FE_23(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_25(m, x, ...) m(x), JOBLIB_DETAIL_FE_24(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_26(m, x, ...) m(x), JOBLIB_DETAIL_FE_25(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_27(m, x, ...) m(x), JOBLIB_DETAIL_FE_26(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_28(m, x, ...) m(x), JOBLIB_DETAIL_FE_27(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_29(m, x, ...) m(x), JOBLIB_DETAIL_FE_28(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_30(m, x, ...) m(x), JOBLIB_DETAIL_FE_29(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_31(m, x, ...) m(x), JOBLIB_DETAIL_FE_30(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_32(m, x, ...) m(x), JOBLIB_DETAIL_FE_31(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_33(m, x, ...) m(x), JOBLIB_DETAIL_FE_32(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_34(m, x, ...) m(x), JOBLIB_DETAIL_FE_33(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_35(m, x, ...) m(x), JOBLIB_DETAIL_FE_34(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_36(m, x, ...) m(x), JOBLIB_DETAIL_FE_35(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_37(m, x, ...) m(x), JOBLIB_DETAIL_FE_36(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_38(m, x, ...) m(x), JOBLIB_DETAIL_FE_37(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_39(m, x, ...) m(x), JOBLIB_DETAIL_FE_38(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_40(m, x, ...) m(x), JOBLIB_DETAIL_FE_39(m, __VA_ARGS__)
#define JOBLIB_DETAIL_FE_PICK(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, \
                              a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28,  \
                              a29, a30, a31, a32, a33, a34, a35, a36, a37, a38, a39, a40, name, \
                              ...)                                                              \
  name
#define JOBLIB_DETAIL_FOR_EACH(m, ...)                                                    \
  JOBLIB_DETAIL_FE_PICK(                                                                  \
      __VA_ARGS__, JOBLIB_DETAIL_FE_40, JOBLIB_DETAIL_FE_39, JOBLIB_DETAIL_FE_38,         \
      JOBLIB_DETAIL_FE_37, JOBLIB_DETAIL_FE_36, JOBLIB_DETAIL_FE_35, JOBLIB_DETAIL_FE_34, \
      JOBLIB_DETAIL_FE_33, JOBLIB_DETAIL_FE_32, JOBLIB_DETAIL_FE_31, JOBLIB_DETAIL_FE_30, \
      JOBLIB_DETAIL_FE_29, JOBLIB_DETAIL_FE_28, JOBLIB_DETAIL_FE_27, JOBLIB_DETAIL_FE_26, \
      JOBLIB_DETAIL_FE_25, JOBLIB_DETAIL_FE_24, JOBLIB_DETAIL_FE_23, JOBLIB_DETAIL_FE_22, \
      JOBLIB_DETAIL_FE_21, JOBLIB_DETAIL_FE_20, JOBLIB_DETAIL_FE_19, JOBLIB_DETAIL_FE_18, \
      JOBLIB_DETAIL_FE_17, JOBLIB_DETAIL_FE_16, JOBLIB_DETAIL_FE_15, JOBLIB_DETAIL_FE_14, \
      JOBLIB_DETAIL_FE_13, JOBLIB_DETAIL_FE_12, JOBLIB_DETAIL_FE_11, JOBLIB_DETAIL_FE_10, \
      JOBLIB_DETAIL_FE_9, JOBLIB_DETAIL_FE_8, JOBLIB_DETAIL_FE_7, JOBLIB_DETAIL_FE_6,     \
      JOBLIB_DETAIL_FE_5, JOBLIB_DETAIL_FE_4, JOBLIB_DETAIL_FE_3, JOBLIB_DETAIL_FE_2,     \
      JOBLIB_DETAIL_FE_1)                                                                 \
  (m, __VA_ARGS__)
#define JOBLIB_DETAIL_FIELD_REF(field) joblib_value_.field

/// Makes a class serializable by listing its (accessible) data members, in the order they are
/// encoded. Put it at namespace scope in the class's own namespace (it defines two overloads of
/// joblib_fields(), found by argument-dependent lookup). Up to 40 fields.
///
///   namespace app { struct pose { double t{}; std::string frame; }; JOBLIB_FIELDS(pose, t, frame)
///   }
#define JOBLIB_FIELDS(type, ...)                                                     \
  [[maybe_unused]] inline auto joblib_fields(type& joblib_value_) noexcept {         \
    return ::std::tie(JOBLIB_DETAIL_FOR_EACH(JOBLIB_DETAIL_FIELD_REF, __VA_ARGS__)); \
  }                                                                                  \
  [[maybe_unused]] inline auto joblib_fields(const type& joblib_value_) noexcept {   \
    return ::std::tie(JOBLIB_DETAIL_FOR_EACH(JOBLIB_DETAIL_FIELD_REF, __VA_ARGS__)); \
  }                                                                                  \
  static_assert(true, "")
