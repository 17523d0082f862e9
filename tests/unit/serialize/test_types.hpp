// Shared helpers for the serialization tests.
#pragma once

#include <joblib/serialize.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sertest {

/// Encodes `v` without a sink (arrays inline).
template <class T>
std::vector<std::byte> bytes_of(const T& v) {
  std::vector<std::byte> out;
  joblib::detail::write_value(v, out, nullptr);
  return out;
}

/// Encodes then decodes `v`.
template <class T>
T round_trip(const T& v) {
  const auto bytes = bytes_of(v);
  T back{};
  joblib::detail::read_value(back, std::span<const std::byte>(bytes), nullptr);
  return back;
}

/// An in-memory array_sink/array_source pair standing in for a container.
class memory_store final : public joblib::detail::array_sink, public joblib::detail::array_source {
 public:
  std::uint64_t put(const joblib::detail::array_out& a) override {
    blob b;
    b.type = a.type;
    b.shape.assign(a.shape.begin(), a.shape.end());
    b.bytes = std::shared_ptr<std::byte[]>(new std::byte[a.bytes.size() + 1]);
    if (!a.bytes.empty()) std::memcpy(b.bytes.get(), a.bytes.data(), a.bytes.size());
    b.size = a.bytes.size();
    blobs.push_back(std::move(b));
    return blobs.size() - 1;
  }
  joblib::detail::loaded_array get(std::uint64_t id) override {
    if (id >= blobs.size()) throw joblib::format_error(0, "unknown array id");
    auto& b = blobs[id];
    joblib::detail::loaded_array l;
    l.type = b.type;
    l.shape = b.shape;
    l.bytes = std::span<std::byte>(b.bytes.get(), b.size);
    l.keep_alive = b.bytes;
    l.read_only = read_only;
    ++gets;
    return l;
  }

  struct blob {
    joblib::detail::dtype type{};
    std::vector<std::uint64_t> shape;
    std::shared_ptr<std::byte[]> bytes;
    std::size_t size = 0;
  };
  std::vector<blob> blobs;
  bool read_only = false;
  int gets = 0;
};

}  // namespace sertest
