// joblib-cpp internals: the container writer, an array_sink.
//
// It streams: the superblock first, then each array node as put() receives it (raw and
// stripe-checksummed, or chunked and compressed in parallel on the library's pool), then the
// value stream, then the index (CBOR) and the trailer (docs/FORMAT.md). Everything goes to a
// byte_sink (sink.hpp): a file renamed into place at the end, a byte vector or an ostream; the
// bytes do not depend on which.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/parallel/thread_pool.hpp"
#include "joblib/persist/detail/checksum.hpp"
#include "joblib/persist/detail/chunk_codec.hpp"
#include "joblib/persist/detail/format.hpp"
#include "joblib/persist/detail/sink.hpp"
#include "joblib/serialize/detail/array_node.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// How the writer stores things (the public dump_options, resolved).
struct write_settings {
  int level = 0;        // 0: raw arrays, raw value stream; else zstd level
  bool shuffle = true;  // byte-shuffle chunks by item size when > 1
  std::size_t chunk_size = std::size_t{1} << 20;
  std::size_t stripe_size = std::size_t{1} << 20;  // checksum stripes of raw arrays
  std::size_t threads = 0;                         // 0: all hardware threads
  bool durable = false;                            // files: fsync file and directory
};

/// Writes one container; use put() (through write_value) then finish().
class container_writer final : public array_sink {
 public:
  /// Writes to `path` (a temporary file renamed into place by finish()).
  container_writer(const std::filesystem::path& path, write_settings settings)
      : settings_(checked(settings)),
        own_file_(std::in_place, path, settings.durable),
        out_(*own_file_) {
    start();
  }

  /// Writes to `sink`, which must outlive the writer; finish() commits it. Nothing reaches the
  /// sink when the settings are invalid.
  container_writer(byte_sink& sink, write_settings settings)
      : settings_(checked(settings)), out_(sink) {
    start();
  }

  std::uint64_t put(const array_out& array) override {
    const std::size_t item = dtype_size(array.type);
    if (item == 0) throw invalid_argument("joblib::dump: unknown dtype");
    if (array.shape.size() > max_ndim)
      throw invalid_argument("joblib::dump: more than " + std::to_string(max_ndim) + " dimensions");
    std::uint64_t count = 1;
    for (auto d : array.shape) {
      if (__builtin_mul_overflow(count, d, &count))
        throw invalid_argument("joblib::dump: shape overflows");
    }
    std::uint64_t nbytes;
    if (__builtin_mul_overflow(count, std::uint64_t{item}, &nbytes) ||
        nbytes != array.bytes.size()) {
      throw invalid_argument("joblib::dump: array bytes do not match shape and dtype");
    }
    nlohmann::json node;
    node["dtype"] = std::string(dtype_name(array.type));
    node["shape"] = std::vector<std::uint64_t>(array.shape.begin(), array.shape.end());
    node["nbytes"] = nbytes;
    if (settings_.level == 0 || nbytes == 0) {
      put_raw(array.bytes, node);
    } else {
      put_chunked(array.bytes, item, node);
    }
    arrays_.push_back(std::move(node));
    return arrays_.size() - 1;
  }

  /// Writes the value stream, the index and the trailer, then commits the sink (renames the
  /// file into place). Returns the container's size.
  std::uint64_t finish(std::string_view type_signature, std::span<const std::byte> value_stream,
                       const nlohmann::json& attributes) {
    nlohmann::json index;
    index["format"] = "joblib-cpp container";
    index["version"] = {format_major, format_minor};
    index["type"] = std::string(type_signature);
    index["attributes"] = attributes.is_null() ? nlohmann::json::object() : attributes;
    index["value"] = put_value_stream(value_stream);
    index["arrays"] = std::move(arrays_);
    out_.align_to(blob_alignment);
    const std::vector<std::uint8_t> encoded = nlohmann::json::to_cbor(index);
    const auto bytes = std::as_bytes(std::span(encoded));
    trailer t;
    t.index_offset = out_.size();
    t.index_size = bytes.size();
    t.index_checksum = checksum64(bytes);
    out_.write(bytes);
    const auto tr = encode_trailer(t);
    out_.write(tr);
    out_.commit();
    return out_.size();
  }

 private:
  static write_settings checked(write_settings s) {
    if (s.chunk_size == 0 || s.chunk_size > max_chunk_size) {
      throw invalid_argument("joblib::dump: chunk_size must be in [1, 2^30]");
    }
    if (s.stripe_size == 0) s.stripe_size = std::size_t{1} << 20;
    return s;
  }

  void start() {
    const auto sb = encode_superblock(superblock{});
    out_.write(sb);
  }
  void put_raw(std::span<const std::byte> bytes, nlohmann::json& node) {
    out_.align_to(bytes.size() >= page_align_threshold ? page_alignment : blob_alignment);
    const std::uint64_t offset = out_.size();
    out_.reserve(bytes.size());
    const std::size_t stripe = settings_.stripe_size;
    const std::size_t stripes = (bytes.size() + stripe - 1) / stripe;
    std::vector<std::uint64_t> sums(stripes);
    // Two tasks: this thread writes while another checksums the same (read-only) bytes, so
    // with two cores the checksums cost no wall time. Within one stripe a second task costs
    // more than it saves (small cache entries), and the pool is not touched at all.
    auto task = [&](std::size_t which) {
      if (which == 0) {
        out_.write(bytes);
      } else {
        for (std::size_t s = 0; s < stripes; ++s) {
          const std::size_t begin = s * stripe;
          sums[s] = checksum64(bytes.subspan(begin, std::min(stripe, bytes.size() - begin)));
        }
      }
    };
    if (stripes <= 1) {
      task(0);
      task(1);
    } else {
      thread_pool::global().parallel_for(
          std::size_t{0}, std::size_t{2}, task,
          static_cast<unsigned>(codec_threads(settings_.threads, 2)));
    }
    node["layout"] = "raw";
    node["offset"] = offset;
    node["stripe_size"] = stripe;
    node["xxh3"] = std::move(sums);
  }

  void put_chunked(std::span<const std::byte> bytes, std::size_t item, nlohmann::json& node) {
    // Chunks hold whole items so that shuffling never splits one.
    const std::size_t chunk = std::max(item, settings_.chunk_size / item * item);
    const std::size_t shuffle_item = settings_.shuffle && item > 1 ? item : 1;
    const std::size_t chunks = (bytes.size() + chunk - 1) / chunk;
    const std::size_t workers = codec_threads(settings_.threads, chunks);
    if (workers_.size() < workers) workers_.resize(workers);
    // Chunks are compressed a window at a time in parallel; while window k+1 is being
    // compressed, a writer thread appends window k in order (two slot sets alternate). The
    // window bounds the memory held by compressed chunks waiting to be written.
    const std::size_t window = workers * 4;
    struct slot {
      chunk_codec codec = chunk_codec::raw;
      std::vector<std::byte> stored;
      std::uint64_t sum = 0;
    };
    std::vector<slot> slots[2];
    slots[0].resize(std::min(window, chunks));
    slots[1].resize(std::min(window, chunks));
    out_.align_to(blob_alignment);
    nlohmann::json table = nlohmann::json::array();
    auto compress = [&](std::size_t first, std::vector<slot>& into) {
      const std::size_t n = std::min(window, chunks - first);
      thread_pool::global().parallel_for(
          std::size_t{0}, n,
          [&](std::size_t i, unsigned w) {
            const std::size_t begin = (first + i) * chunk;
            const auto in = bytes.subspan(begin, std::min(chunk, bytes.size() - begin));
            auto& s = into[i];
            s.codec = workers_[w].encode(in, settings_.level, shuffle_item);
            const auto stored = workers_[w].stored();
            s.sum = checksum64(stored);
            // Raw chunks are written straight from the caller's bytes: no copy.
            if (s.codec == chunk_codec::zstd) s.stored.assign(stored.begin(), stored.end());
          },
          static_cast<unsigned>(workers));
    };
    auto write = [&](std::size_t first, const std::vector<slot>& from) {
      const std::size_t n = std::min(window, chunks - first);
      std::uint64_t window_bytes = 0;
      for (std::size_t i = 0; i < n; ++i) {
        window_bytes += from[i].codec == chunk_codec::zstd
                            ? from[i].stored.size()
                            : std::min(chunk, bytes.size() - (first + i) * chunk);
      }
      out_.reserve(window_bytes);
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t begin = (first + i) * chunk;
        const auto in = bytes.subspan(begin, std::min(chunk, bytes.size() - begin));
        const auto& s = from[i];
        const std::span<const std::byte> out =
            s.codec == chunk_codec::zstd ? std::span<const std::byte>(s.stored) : in;
        table.push_back({out_.size(), out.size(), static_cast<int>(s.codec), s.sum});
        out_.write(out);
      }
    };
    compress(0, slots[0]);
    for (std::size_t k = 0, first = 0; first < chunks; ++k, first += window) {
      const std::size_t next = first + window;
      if (next >= chunks) {
        write(first, slots[k % 2]);
        break;
      }
      // Two tasks on the fan-out: one writes window k, the other compresses window k+1 (on all
      // workers; the writer mostly waits in the kernel, so the cores stay busy compressing).
      thread_pool::global().parallel_for(std::size_t{0}, std::size_t{2}, [&](std::size_t task) {
        if (task == 0)
          write(first, slots[k % 2]);
        else
          compress(next, slots[(k + 1) % 2]);
      });
    }
    node["layout"] = "chunked";
    node["chunk_size"] = chunk;
    node["shuffle"] = shuffle_item;
    node["chunks"] = std::move(table);
  }

  nlohmann::json put_value_stream(std::span<const std::byte> stream) {
    out_.align_to(blob_alignment);
    chunk_worker worker;
    chunk_codec codec = worker.encode(stream, settings_.level, 1);
    std::span<const std::byte> stored = worker.stored();
    if (codec == chunk_codec::zstd && stream.size() / max_value_stream_ratio > stored.size()) {
      codec = chunk_codec::raw;  // readers refuse streams that expand more (format.hpp)
      stored = stream;
    }
    nlohmann::json v;
    v["offset"] = out_.size();
    v["stored_size"] = stored.size();
    v["size"] = stream.size();
    v["codec"] = std::string(codec_name(codec));
    v["xxh3"] = checksum64(stored);
    out_.write(stored);
    return v;
  }

  write_settings settings_;
  std::optional<file_sink> own_file_;  // when writing to a path
  byte_sink& out_;
  nlohmann::json arrays_ = nlohmann::json::array();
  std::vector<chunk_worker> workers_;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
