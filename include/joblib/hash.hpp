// joblib-cpp: joblib::hash, a canonical, platform-stable 128-bit digest (XXH3-128) of any
// serializable values, and joblib::hasher, its incremental form.
//
//   joblib::digest d = joblib::hash(std::string("model"), 42, std::vector<double>{1, 2});
//   std::cout << d.hex();   // 32 lowercase hex characters
//
// The digest is XXH3-128 (seed 0) of the value's canonical encoding (docs/FORMAT.md,
// "Hashing"): equal values give equal digests on every platform and in every run; values of
// different types or shapes give different ones. Contiguous arithmetic data is fed to XXH3 in
// one call over the caller's memory (no copy), so large arrays hash at memory speed.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/detail/xxhash.hpp"
#include "joblib/serialize.hpp"

JOBLIB_BEGIN_NAMESPACE

/// A 128-bit digest. `high` and `low` are the two halves of XXH3-128's result; hex() writes
/// high then low as 32 lowercase hex digits (the same text `xxhsum -H2` prints for the
/// canonical bytes). Comparable, orderable and usable as a std::unordered_map key.
///
///   std::unordered_map<joblib::digest, int> seen;  seen[joblib::hash(1, 2)] = 3;
struct digest {
  std::uint64_t low{};
  std::uint64_t high{};

  /// 32 lowercase hex characters, most significant first.
  std::string hex() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(32, '0');
    for (int i = 0; i < 16; ++i) {
      s[static_cast<std::size_t>(15 - i)] = digits[(high >> (4 * i)) & 15];
      s[static_cast<std::size_t>(31 - i)] = digits[(low >> (4 * i)) & 15];
    }
    return s;
  }

  friend bool operator==(const digest&, const digest&) = default;
  friend std::strong_ordering operator<=>(const digest& a, const digest& b) noexcept {
    if (auto c = a.high <=> b.high; c != 0) return c;
    return a.low <=> b.low;
  }
};

namespace detail {

/// The hashing archive: bytes go through a small stack buffer into an XXH3-128 state. The state
/// is initialised only if more than one buffer's worth arrives, so short inputs (typical cache
/// keys) cost one one-shot XXH3 call; large blocks skip the buffer and are hashed in place with
/// a single XXH3_128bits_update, which keeps a 400 MB array at raw XXH3 speed.
class hash_writer {
 public:
  static constexpr std::size_t buffer_size = 256;

  hash_writer() noexcept = default;
  hash_writer(const hash_writer& other) noexcept { *this = other; }
  hash_writer& operator=(const hash_writer& other) noexcept {
    if (this != &other) {
      std::memcpy(buffer_, other.buffer_, other.used_);
      used_ = other.used_;
      started_ = other.started_;
      if (started_) XXH3_copyState(&state_, &other.state_);
    }
    return *this;
  }
  ~hash_writer() = default;

  void write(const void* p, std::size_t n) {
    if (n <= buffer_size - used_) {
      if (n != 0) std::memcpy(buffer_ + used_, p, n);  // p may be null when n == 0
      used_ += n;
      return;
    }
    write_slow(p, n);
  }

  void write_array(const array_out& a, bool /*prefer_sink*/) {
    value_writer::write_array_inline(*this, a);
  }

  /// Unordered containers are canonicalised through a plain byte buffer.
  value_writer sub(std::vector<std::byte>& buffer) const noexcept { return {buffer, nullptr}; }

  digest finish() const noexcept {
    XXH128_hash_t h;
    if (!started_) {
      h = XXH3_128bits(buffer_, used_);
    } else {
      XXH3_state_t copy;
      XXH3_copyState(&copy, &state_);
      XXH3_128bits_update(&copy, buffer_, used_);
      h = XXH3_128bits_digest(&copy);
    }
    return digest{h.low64, h.high64};
  }

 private:
  void write_slow(const void* p, std::size_t n) {
    if (!started_) {
      XXH3_128bits_reset(&state_);
      started_ = true;
    }
    XXH3_128bits_update(&state_, buffer_, used_);
    used_ = 0;
    if (n >= buffer_size) {
      XXH3_128bits_update(&state_, p, n);
    } else {
      std::memcpy(buffer_, p, n);
      used_ = n;
    }
  }

  unsigned char buffer_[buffer_size];
  std::size_t used_ = 0;
  bool started_ = false;
  XXH3_state_t state_;
};

template <class T>
void hash_signature(hash_writer& w) {
  const std::string_view sig = type_signature<T>();
  const std::uint64_t len = sig.size();
  w.write(&len, 8);
  w.write(sig.data(), sig.size());
}

}  // namespace detail

/// Incremental hashing, for keys built from several parts (the cache hashes the function name,
/// its version and the arguments). update(v) feeds exactly the bytes hash(v) would, so
/// `hasher{}.update(v).finish() == hash(v)`; update_bytes feeds raw bytes, unframed.
/// finish() does not change the hasher: more updates may follow.
///
/// Thread safety: one hasher per thread (concurrent const finish() calls are fine).
///
///   joblib::hasher h;  h.update(std::string("f")).update(args);  joblib::digest key = h.finish();
class hasher {
 public:
  /// Feeds T's signature then its canonical encoding.
  template <class T>
  hasher& update(const T& value) {
    if constexpr (detail::serializable_check<T>::value) {
      detail::hash_signature<T>(w_);
      detail::encode(w_, value);
    }
    return *this;
  }
  /// Feeds raw bytes (no length prefix).
  hasher& update_bytes(std::span<const std::byte> bytes) {
    w_.write(bytes.data(), bytes.size());
    return *this;
  }
  /// The digest of everything fed so far.
  digest finish() const noexcept { return w_.finish(); }

 private:
  detail::hash_writer w_;
};

/// The canonical digest of `values`. With one argument it is the digest of that value; with
/// zero or several it is the digest of the tuple of them (no copy is made):
/// `hash(1, 2) == hash(std::tuple{1, 2})`, and `hash(x) != hash(std::tuple{x})`.
///
/// The digest covers the type signature, so `hash(std::vector<int>{1, 2})` differs from
/// `hash(std::vector<long>{1, 2})`, and an ndarray's shape, so a 2x3 array differs from its
/// 3x2 reshape. Floating point is hashed bit for bit: 0.0 and -0.0 differ, a NaN equals only a
/// NaN with the same bits. Unordered containers hash the same whatever their insertion order.
///
/// Throws only what encoding throws (joblib::format_error for an ndarray of more than 32
/// dimensions or a valueless variant). Thread-safe.
template <class... Ts>
digest hash(const Ts&... values) {
  if constexpr ((detail::serializable_check<Ts>::value && ...)) {
    detail::hash_writer w;
    if constexpr (sizeof...(Ts) == 1) {
      detail::hash_signature<Ts...>(w);
    } else {
      detail::hash_signature<std::tuple<Ts...>>(w);
    }
    (detail::encode(w, values), ...);
    return w.finish();
  } else {
    return {};
  }
}

JOBLIB_END_NAMESPACE

/// Hashing a digest for unordered containers: its low half is already uniformly distributed.
template <>
struct std::hash<joblib::digest> {
  std::size_t operator()(const joblib::digest& d) const noexcept {
    return static_cast<std::size_t>(d.low);
  }
};
