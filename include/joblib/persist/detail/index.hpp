// joblib-cpp internals: a container's index, parsed straight into a typed model.
//
// The index is CBOR in format 2 and JSON text in format 1 (still read). One SAX handler reads
// both into index_model without building a DOM: the DOM was 40 % of a small cache hit. Every
// value is type-checked as it arrives, duplicate keys are rejected, unknown keys are skipped
// (minor versions add keys), and nesting deeper than max_index_depth stops the parser before
// it recurses further. Of the user attributes only the top-level strings are kept (the cache
// checks an entry's key among them on every hit); index_dom() parses the whole index into a DOM
// for tools and for whoever asks for all the attributes.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/serialize/detail/array_node.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// Nesting beyond which a hostile index is refused before it costs unbounded time or stack.
inline constexpr std::size_t max_index_depth = 64;

/// The keys the reader knows; each object records which it has seen (one bit each).
enum class index_key : std::uint8_t {
  none,  // an unknown key: its value is skipped
  format,
  version,
  type,
  attributes,
  value,
  arrays,
  offset,
  stored_size,
  size,
  codec,
  xxh3,
  dtype,
  shape,
  nbytes,
  layout,
  stripe_size,
  chunk_size,
  shuffle,
  chunks,
};

inline constexpr std::uint32_t key_bit(index_key k) noexcept {
  return std::uint32_t{1} << static_cast<unsigned>(k);
}

/// An index key's name, for messages.
inline std::string index_key_name(index_key k) {
  static constexpr const char* names[] = {
      "?",      "format",      "version",     "type",       "attributes", "value", "arrays",
      "offset", "stored_size", "size",        "codec",      "xxh3",       "dtype", "shape",
      "nbytes", "layout",      "stripe_size", "chunk_size", "shuffle",    "chunks"};
  return names[static_cast<unsigned>(k)];
}

/// index["value"].
struct index_value {
  std::uint32_t seen = 0;
  std::uint64_t offset = 0, stored_size = 0, size = 0, xxh3 = 0;
  std::string codec;
};

/// index["arrays"][i].
struct index_array {
  std::uint32_t seen = 0;
  std::string dtype, layout;
  std::vector<std::uint64_t> shape;
  std::uint64_t nbytes = 0, offset = 0, stripe_size = 0, chunk_size = 0, shuffle = 0;
  std::vector<std::uint64_t> stripe_sums;                 // "xxh3" of a raw array
  std::vector<std::array<std::uint64_t, 4>> chunk_table;  // "chunks" of a chunked array
};

/// What the reader needs from an index; `seen` says which top-level keys were present.
struct index_model {
  std::uint32_t seen = 0;
  std::string format, type;
  std::vector<std::uint64_t> version;
  index_value value;
  std::vector<index_array> arrays;
  std::vector<std::pair<std::string, std::string>> text_attributes;  // top-level strings
};

/// Index encodings, by format major version.
enum class index_encoding { json, cbor };

/// The SAX handler behind parse_index_model (nlohmann's SAX interface, without virtuals).
class index_model_builder {
 public:
  using json = nlohmann::json;

  explicit index_model_builder(index_model& model) : model_(model) {}

  /// Why the last event was refused (empty when the parser itself failed).
  const std::string& error() const noexcept { return error_; }

  bool null() { return scalar("null"); }
  bool boolean(bool) { return scalar("a boolean"); }
  bool number_float(json::number_float_t, const json::string_t&) { return scalar("a number"); }
  bool binary(json::binary_t&) { return scalar("binary data"); }
  bool number_integer(json::number_integer_t v) {
    if (v >= 0) return number_unsigned(static_cast<json::number_unsigned_t>(v));
    return scalar("a negative integer");
  }

  bool number_unsigned(json::number_unsigned_t v) {
    if (stack_.empty()) return fail("the index is not an object");
    if (skipping()) return true;
    frame& top = stack_.back();
    switch (top.what) {
      case part::value:
        switch (top.key) {
          case index_key::offset:
            return set(model_.value.offset, v);
          case index_key::stored_size:
            return set(model_.value.stored_size, v);
          case index_key::size:
            return set(model_.value.size, v);
          case index_key::xxh3:
            return set(model_.value.xxh3, v);
          default:
            break;
        }
        break;
      case part::array_node: {
        index_array& a = model_.arrays.back();
        switch (top.key) {
          case index_key::nbytes:
            return set(a.nbytes, v);
          case index_key::offset:
            return set(a.offset, v);
          case index_key::stripe_size:
            return set(a.stripe_size, v);
          case index_key::chunk_size:
            return set(a.chunk_size, v);
          case index_key::shuffle:
            return set(a.shuffle, v);
          default:
            break;
        }
        break;
      }
      case part::version:
        if (model_.version.size() == 2) return fail("'version' has more than two numbers");
        model_.version.push_back(v);
        return true;
      case part::shape:
        if (model_.arrays.back().shape.size() == max_ndim) return fail("too many dimensions");
        model_.arrays.back().shape.push_back(v);
        return true;
      case part::stripe_sums:
        model_.arrays.back().stripe_sums.push_back(v);
        return true;
      case part::chunk_row: {
        if (top.count == 4) return fail("bad chunk table row");
        model_.arrays.back().chunk_table.back()[top.count++] = v;
        return true;
      }
      default:
        break;
    }
    return mismatch("an unsigned integer");
  }

  bool string(json::string_t& s) {
    if (stack_.empty()) return fail("the index is not an object");
    frame& top = stack_.back();
    if (top.what == part::attributes) {
      for (const auto& [name, value] : model_.text_attributes) {
        if (name == attribute_key_) return fail("duplicate attribute '" + name + "'");
      }
      model_.text_attributes.emplace_back(std::move(attribute_key_), std::move(s));
      return true;
    }
    if (skipping()) return true;
    if (top.what == part::root) {
      if (top.key == index_key::format) return set(model_.format, s);
      if (top.key == index_key::type) return set(model_.type, s);
    } else if (top.what == part::value && top.key == index_key::codec) {
      return set(model_.value.codec, s);
    } else if (top.what == part::array_node) {
      if (top.key == index_key::dtype) return set(model_.arrays.back().dtype, s);
      if (top.key == index_key::layout) return set(model_.arrays.back().layout, s);
    }
    return mismatch("a string");
  }

  bool start_object(std::size_t) { return open(/*object=*/true); }
  bool start_array(std::size_t) { return open(/*object=*/false); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& k) {
    frame& top = stack_.back();
    top.key = index_key::none;
    if (top.what == part::skip) return true;
    if (top.what == part::attributes) {
      attribute_key_ = k;
      return true;
    }
    const index_key id = lookup(top.what, k);
    if (id == index_key::none) return true;
    std::uint32_t& seen = seen_bits(top.what);
    if ((seen & key_bit(id)) != 0) return fail("duplicate key '" + k + "'");
    seen |= key_bit(id);
    top.key = id;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    error_ = std::string("malformed index: ") + e.what();
    return false;
  }

  /// Whether the input was one complete object (checked after a successful parse).
  bool finished() const noexcept { return started_ && stack_.empty(); }

 private:
  // What the innermost open container is.
  enum class part : std::uint8_t {
    root,
    version,
    value,
    arrays,
    array_node,
    shape,
    stripe_sums,
    chunks,
    chunk_row,
    attributes,  // the user attributes: top-level strings are kept, the rest skipped
    skip,        // an unknown key's value, or a nested part of the user attributes
  };
  struct frame {
    part what;
    bool object;
    index_key key = index_key::none;  // objects: the key whose value comes next
    std::uint8_t count = 0;           // chunk rows: numbers so far
  };

  bool skipping() const noexcept {
    return stack_.back().what == part::skip || stack_.back().what == part::attributes;
  }

  bool scalar(const char* what) {
    if (stack_.empty()) return fail("the index is not an object");
    return skipping() || mismatch(what);
  }

  // A value of the wrong kind for where it appears; values of unknown keys were skipped.
  bool mismatch(const char* what) {
    const frame& top = stack_.back();
    if (top.object && top.key == index_key::none) return true;
    return fail(std::string("wrong kind of value ") +
                (top.object ? "for '" + index_key_name(top.key) + "'" : std::string("in a list")) +
                " (" + what + ")");
  }

  bool open(bool object) {
    if (stack_.size() >= max_index_depth) return fail("index nested too deeply");
    if (stack_.empty()) {
      if (started_ || !object) return fail("the index is not an object");
      started_ = true;
      return push(part::root, true);
    }
    const frame& top = stack_.back();
    if (top.what == part::skip || top.what == part::attributes) return push(part::skip, object);
    if (top.object && top.key == index_key::none) return push(part::skip, object);
    switch (top.what) {
      case part::root:
        if (top.key == index_key::attributes && object) return push(part::attributes, true);
        if (top.key == index_key::value && object) return push(part::value, true);
        if (top.key == index_key::version && !object) return push(part::version, false);
        if (top.key == index_key::arrays && !object) return push(part::arrays, false);
        break;
      case part::arrays:
        if (object) {
          model_.arrays.emplace_back();
          return push(part::array_node, true);
        }
        break;
      case part::array_node:
        if (top.key == index_key::shape && !object) return push(part::shape, false);
        if (top.key == index_key::xxh3 && !object) return push(part::stripe_sums, false);
        if (top.key == index_key::chunks && !object) return push(part::chunks, false);
        break;
      case part::chunks:
        if (!object) {
          model_.arrays.back().chunk_table.emplace_back();
          return push(part::chunk_row, false);
        }
        break;
      default:
        break;
    }
    return mismatch(object ? "an object" : "a list");
  }

  bool close() {
    if (stack_.back().what == part::chunk_row && stack_.back().count != 4) {
      return fail("bad chunk table row");
    }
    stack_.pop_back();
    return true;
  }

  bool push(part what, bool object) {
    stack_.push_back(frame{what, object});
    return true;
  }

  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }

  static bool set(std::string& field, const std::string& value) {
    field = value;
    return true;
  }
  static bool set(std::uint64_t& field, std::uint64_t value) {
    field = value;
    return true;
  }

  std::uint32_t& seen_bits(part what) {
    if (what == part::value) return model_.value.seen;
    if (what == part::array_node) return model_.arrays.back().seen;
    if (what == part::root) return model_.seen;
    return scratch_seen_;  // lists have no keys
  }

  static index_key lookup(part where, const std::string& k) {
    struct entry {
      const char* name;
      index_key key;
    };
    static constexpr entry root_keys[] = {
        {"format", index_key::format}, {"version", index_key::version},
        {"type", index_key::type},     {"attributes", index_key::attributes},
        {"value", index_key::value},   {"arrays", index_key::arrays}};
    static constexpr entry value_keys[] = {{"offset", index_key::offset},
                                           {"stored_size", index_key::stored_size},
                                           {"size", index_key::size},
                                           {"codec", index_key::codec},
                                           {"xxh3", index_key::xxh3}};
    static constexpr entry array_keys[] = {
        {"dtype", index_key::dtype},     {"shape", index_key::shape},
        {"nbytes", index_key::nbytes},   {"layout", index_key::layout},
        {"offset", index_key::offset},   {"stripe_size", index_key::stripe_size},
        {"xxh3", index_key::xxh3},       {"chunk_size", index_key::chunk_size},
        {"shuffle", index_key::shuffle}, {"chunks", index_key::chunks}};
    std::span<const entry> keys;
    if (where == part::root) keys = root_keys;
    if (where == part::value) keys = value_keys;
    if (where == part::array_node) keys = array_keys;
    for (const entry& e : keys) {
      if (k == e.name) return e.key;
    }
    return index_key::none;
  }

 private:
  index_model& model_;
  std::vector<frame> stack_;
  std::uint32_t scratch_seen_ = 0;
  std::string attribute_key_;  // the attribute whose value comes next
  bool started_ = false;
  std::string error_;
};

/// Parses an index whose checksum was verified. Throws format_error(path, offset, ...).
inline index_model parse_index_model(std::span<const std::byte> bytes, index_encoding encoding,
                                     const std::filesystem::path& path, std::uint64_t offset) {
  index_model model;
  index_model_builder builder(model);
  const auto* first = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const bool ok = nlohmann::json::sax_parse(first, first + bytes.size(), &builder,
                                            encoding == index_encoding::cbor
                                                ? nlohmann::json::input_format_t::cbor
                                                : nlohmann::json::input_format_t::json);
  if (!ok || !builder.finished()) {
    const std::string why = builder.error().empty() ? "malformed index" : builder.error();
    throw format_error(path, offset, "index: " + why);
  }
  return model;
}

/// The whole index as a DOM (attributes included), for tools. Call only after
/// parse_index_model accepted the same bytes: that pass bounds the nesting this recursive
/// parser (and the DOM's destructor) will meet.
inline nlohmann::json parse_index_dom(std::span<const std::byte> bytes, index_encoding encoding,
                                      const std::filesystem::path& path, std::uint64_t offset) {
  const auto* first = reinterpret_cast<const std::uint8_t*>(bytes.data());
  nlohmann::json j = encoding == index_encoding::cbor
                         ? nlohmann::json::from_cbor(first, first + bytes.size(), true, false)
                         : nlohmann::json::parse(first, first + bytes.size(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw format_error(path, offset, "index: malformed");
  return j;
}

}  // namespace detail
JOBLIB_END_NAMESPACE
