// joblib-cpp internals (serialization core): short human-readable summaries of values, in the
// spirit of Python's repr (joblib stores one per cached call, "input_args"). Output stops as
// soon as the budget is spent, so summarizing a 400 MB vector costs microseconds.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "joblib/config.hpp"
#include "joblib/serialize/detail/kind.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// Output with a budget: once more than `max` characters are written, everything else is
/// skipped (full() is true) and the caller truncates with "...".
struct summary_writer {
  std::string text;
  std::size_t max = 200;

  bool full() const noexcept { return text.size() > max; }
  void put(std::string_view s) {
    if (full()) return;
    text.append(s.substr(0, max + 1 - text.size()));
  }
};

template <class T>
void summarize_into(summary_writer& w, const T& value);

/// What a member serialize() sees while summarizing: fields separated by ", ".
struct summary_archive {
  static constexpr bool is_loading = false;
  summary_writer& w;
  bool first = true;
  template <class... F>
  void operator()(const F&... fields) {
    ((w.put(first ? "" : ", "), first = false, summarize_into(w, fields)), ...);
  }
};

inline void summarize_string(summary_writer& w, std::string_view s) {
  w.put("'");
  static constexpr char hex[] = "0123456789abcdef";
  for (char c : s) {
    if (w.full()) return;
    const auto u = static_cast<unsigned char>(c);
    if (c == '\'' || c == '\\') {
      const char esc[2] = {'\\', c};
      w.put(std::string_view(esc, 2));
    } else if (u < 0x20 || u == 0x7f) {
      const char esc[4] = {'\\', 'x', hex[u >> 4], hex[u & 15]};
      w.put(std::string_view(esc, 4));
    } else {
      w.put(std::string_view(&c, 1));
    }
  }
  w.put("'");
}

template <class U>
void summarize_number(summary_writer& w, U v) {
  char buf[64];
  if constexpr (std::is_floating_point_v<U>) {
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
    w.put(s);
    // Python writes 1.0, not 1: keep floats recognisable.
    if (s.find_first_of(".eninf") == std::string_view::npos) w.put(".0");
  } else if constexpr (std::is_same_v<U, char>) {
    summarize_string(w, std::string_view(&v, 1));
  } else {
    using W = std::conditional_t<std::is_signed_v<U>, long long, unsigned long long>;
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<W>(v));
    w.put(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }
}

template <class Range, class F>
void summarize_range(summary_writer& w, const Range& r, std::string_view open,
                     std::string_view close, F&& one) {
  w.put(open);
  bool first = true;
  for (const auto& e : r) {
    if (w.full()) return;
    if (!first) w.put(", ");
    first = false;
    one(e);
  }
  w.put(close);
}

template <class Tuple>
void summarize_tuple(summary_writer& w, const Tuple& t, std::string_view open,
                     std::string_view close) {
  w.put(open);
  std::apply(
      [&](const auto&... f) {
        bool first = true;
        ((w.put(first ? "" : ", "), first = false, summarize_into(w, f)), ...);
      },
      t);
  w.put(close);
}

template <class Period>
constexpr std::string_view period_suffix() {
  if constexpr (std::is_same_v<Period, std::nano>)
    return "ns";
  else if constexpr (std::is_same_v<Period, std::micro>)
    return "us";
  else if constexpr (std::is_same_v<Period, std::milli>)
    return "ms";
  else if constexpr (std::is_same_v<Period, std::ratio<1>>)
    return "s";
  else if constexpr (std::is_same_v<Period, std::ratio<60>>)
    return "min";
  else if constexpr (std::is_same_v<Period, std::ratio<3600>>)
    return "h";
  else
    return "ticks";
}

template <class T>
void summarize_into(summary_writer& w, const T& value) {
  using U = std::remove_cv_t<T>;
  constexpr kind k = kind_of<U>();
  if (w.full()) return;
  if constexpr (k == kind::custom) {
    summarize_into(w, serializer<U>::to(value));
  } else if constexpr (k == kind::boolean) {
    w.put(value ? "True" : "False");
  } else if constexpr (k == kind::arithmetic) {
    summarize_number(w, value);
  } else if constexpr (k == kind::long_double) {
    summarize_number(w, static_cast<double>(value));
  } else if constexpr (k == kind::enumeration) {
    summarize_number(w, static_cast<std::underlying_type_t<U>>(value));
  } else if constexpr (k == kind::byte) {
    summarize_number(w, static_cast<unsigned>(value));
  } else if constexpr (k == kind::string || k == kind::string_view) {
    summarize_string(w, value);
  } else if constexpr (k == kind::path) {
    w.put("path(");
    summarize_string(w, value.generic_string());
    w.put(")");
  } else if constexpr (k == kind::json) {
    w.put(value.dump());
  } else if constexpr (k == kind::monostate) {
    w.put("None");
  } else if constexpr (k == kind::array_node && ndarray_traits<U>::value) {
    w.put("array(");
    summarize_range(w, value.flat(), "[", "]", [&](const auto& e) { summarize_into(w, e); });
    w.put(", shape=(");
    for (std::size_t i = 0; i < value.ndim(); ++i) {
      if (i != 0) w.put(", ");
      summarize_number(w, value.shape()[i]);
    }
    w.put(value.ndim() == 1 ? ",))" : "))");
  } else if constexpr (k == kind::array_node || k == kind::sequence || k == kind::span ||
                       k == kind::fixed_array) {
    // Typed element: std::vector<bool> hands out proxies.
    summarize_range(w, value, "[", "]", [&](const element_t<U>& e) { summarize_into(w, e); });
  } else if constexpr (k == kind::ordered_set || k == kind::unordered_set) {
    summarize_range(w, value, "{", "}", [&](const auto& e) { summarize_into(w, e); });
  } else if constexpr (k == kind::ordered_map || k == kind::unordered_map) {
    summarize_range(w, value, "{", "}", [&](const auto& e) {
      summarize_into(w, e.first);
      w.put(": ");
      summarize_into(w, e.second);
    });
  } else if constexpr (k == kind::pair) {
    summarize_tuple(w, std::tie(value.first, value.second), "(", ")");
  } else if constexpr (k == kind::tuple) {
    summarize_tuple(w, value, "(", std::tuple_size_v<U> == 1 ? ",)" : ")");
  } else if constexpr (k == kind::optional || k == kind::pointer) {
    if (value)
      summarize_into(w, *value);
    else
      w.put("None");
  } else if constexpr (k == kind::variant) {
    if (value.valueless_by_exception())
      w.put("<valueless>");
    else
      std::visit([&](const auto& alt) { summarize_into(w, alt); }, value);
  } else if constexpr (k == kind::duration) {
    summarize_number(w, value.count());
    w.put(period_suffix<typename U::period>());
  } else if constexpr (k == kind::time_point) {
    w.put("time_point(");
    summarize_into(w, value.time_since_epoch());
    w.put(")");
  } else if constexpr (k == kind::complex) {
    w.put("(");
    summarize_number(w, value.real());
    if (!(value.imag() < 0)) w.put("+");
    summarize_number(w, value.imag());
    w.put("j)");
  } else if constexpr (k == kind::fields) {
    summarize_tuple(w, joblib_fields(value), "{", "}");
  } else if constexpr (k == kind::aggregate) {
    summarize_tuple(w, tie_aggregate(value), "{", "}");
  } else if constexpr (k == kind::member) {
    w.put("{");
    summary_archive ar{w};
    const_cast<U&>(value).serialize(ar);
    w.put("}");
  } else {
    static_assert(k != kind::none, "joblib: type is not serializable");
  }
}

/// A short, Python-repr-like description of `value`, at most `max_chars` characters (longer
/// ones end in "..."): 42, 3.5, 'abc', [1, 2, 3], {'a': 1.0}, (1, 'x'), None,
/// array([1.0, 2.0, ...], shape=(2, 3)). Used for cache metadata (joblib's input_args).
template <class T>
std::string summarize(const T& value, std::size_t max_chars = 200) {
  if constexpr (serializable_check<T>::value) {
    summary_writer w;
    w.max = max_chars;
    summarize_into(w, value);
    if (w.full()) {
      const std::size_t keep = max_chars > 3 ? max_chars - 3 : 0;
      w.text.resize(keep);
      w.text.append(std::string_view("...").substr(0, max_chars - keep));
    }
    return std::move(w.text);
  } else {
    return {};
  }
}

}  // namespace detail
JOBLIB_END_NAMESPACE
