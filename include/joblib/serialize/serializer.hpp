// joblib-cpp: joblib::serializer<T>, the customization point for types you do not own.
//
// Types you can edit become serializable by being aggregates, by JOBLIB_FIELDS or by a member
// serialize() (see <joblib/serialize.hpp>). A type you cannot edit, or whose state is private
// behind accessors, gets a specialization of joblib::serializer that maps it to and from a
// *representation*, any serializable type (like fmt's formatter<T> or nlohmann's
// adl_serializer<T>). The representation decides the encoding and the type signature, so the
// type hashes, dumps, loads and caches exactly like its representation would:
//
//   // a third-party class with private state
//   namespace geo { class point { public: point(double x, double y); double x() const; ... }; }
//
//   template <>
//   struct joblib::serializer<geo::point> {
//     using representation = std::pair<double, double>;
//     static representation to(const geo::point& p) { return {p.x(), p.y()}; }
//     static geo::point from(representation r) { return {r.first, r.second}; }
//   };
//
// to() may return anything encoded like the representation instead of a copy of it, e.g. a
// std::span<const double> for a std::vector<double> representation, so that hashing or
// dumping a large object copies nothing. from() is needed only to load the type (load<T>
// also needs T to be default-constructible and move-assignable).
//
// A specialization is checked first, before any built-in rule, so it also overrides how a
// type that would otherwise be reflected (an aggregate, say) is encoded. Partial
// specializations may use the second parameter for constraints:
//
//   template <class T>
//   struct joblib::serializer<lib::matrix<T>, std::enable_if_t<std::is_arithmetic_v<T>>> {...};
#pragma once

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE

/// Not defined: specialize it for a type (see the header comment).
template <class T, class Enable = void>
struct serializer;

JOBLIB_END_NAMESPACE
