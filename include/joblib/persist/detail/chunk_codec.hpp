// joblib-cpp internals: the chunk codec of container files.
//
// A chunk is a run of whole items of one array. Encoding: optional byte shuffle by item size,
// then zstd at the requested level; when that does not shrink the chunk, or when trial
// compression of three 8 KiB samples says it will not, it is stored raw (original, unshuffled
// bytes). The XXH3-64 checksum covers the *stored* bytes, so a reader
// verifies it before feeding anything to the decompressor. Decoding checks every size first:
// the frame's declared content size must equal the expected chunk size and the decompressor
// writes into a buffer of exactly that size.
#pragma once

#include <zstd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/parallel/cpu_count.hpp"
#include "joblib/persist/detail/byte_shuffle.hpp"
#include "joblib/persist/detail/checksum.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// How a chunk (or the value stream) is stored; the numbers are part of the format.
enum class chunk_codec : std::uint8_t { raw = 0, zstd = 1 };

/// zstd cannot expand data by more than this factor (an RLE block of 128 KiB costs 4 bytes), so
/// a declared size above stored_size * this bound is a lie: rejecting it caps what a hostile
/// file can make us allocate.
inline constexpr std::uint64_t max_zstd_ratio = 32768;

/// Threads that (de)compress or checksum `tasks` blobs when `requested` were asked for (0:
/// every CPU this process may use).
inline std::size_t codec_threads(std::size_t requested, std::size_t tasks) {
  const std::size_t n = requested != 0 ? requested : cpu_count();
  return std::max<std::size_t>(1, std::min(n, tasks));
}

/// Throws format_error(path, offset, ...) unless `stored` is what a chunk of `raw_size` bytes
/// stored with `codec` must be: its own size for raw, one zstd frame declaring exactly
/// `raw_size` bytes for zstd. Cheap (a frame header), so readers check it before allocating.
inline void check_stored_chunk(std::span<const std::byte> stored, chunk_codec codec,
                               std::uint64_t raw_size, const std::filesystem::path& path,
                               std::uint64_t offset) {
  if (codec == chunk_codec::raw) {
    if (stored.size() != raw_size) throw format_error(path, offset, "raw chunk size mismatch");
    return;
  }
  if (codec != chunk_codec::zstd) throw format_error(path, offset, "unknown chunk codec");
  const unsigned long long declared = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN ||
      declared != raw_size) {
    throw format_error(path, offset, "zstd frame does not declare the expected size");
  }
}

/// Per-thread scratch state for encoding/decoding chunks (contexts are reused across chunks).
class chunk_worker {
 public:
  chunk_worker() = default;

  /// Encodes `in` into `stored()`; returns the codec used. level != 0 (0 means store raw).
  chunk_codec encode(std::span<const std::byte> in, int level, std::size_t shuffle_item) {
    if (level == 0 || in.empty()) return store_raw(in);
    if (!cctx_) cctx_.reset(ZSTD_createCCtx());
    if (!cctx_) throw std::bad_alloc();
    if (looks_incompressible(in, level, shuffle_item)) return store_raw(in);
    std::span<const std::byte> source = in;
    if (shuffle_item > 1) {
      shuffled_.resize(in.size());
      byte_shuffle(in, shuffled_, shuffle_item);
      source = shuffled_;
    }
    stored_.resize(ZSTD_compressBound(source.size()));
    const std::size_t n = ZSTD_compressCCtx(cctx_.get(), stored_.data(), stored_.size(),
                                            source.data(), source.size(), level);
    // Not shrinking (typical for random data) or any zstd error: keep the bytes as they are.
    if (ZSTD_isError(n) || n >= in.size()) return store_raw(in);
    stored_.resize(n);
    view_ = stored_;
    return chunk_codec::zstd;
  }

  /// The bytes to store for the last encode() (valid until the next call).
  std::span<const std::byte> stored() const noexcept { return view_; }

  /// Decodes stored bytes into `out` (exactly the chunk's size). The caller has verified the
  /// checksum. Throws format_error(path, offset, ...) when the stored bytes do not decode to
  /// exactly out.size() bytes.
  void decode(std::span<const std::byte> stored, chunk_codec codec, std::size_t shuffle_item,
              std::span<std::byte> out, const std::filesystem::path& path, std::uint64_t offset) {
    check_stored_chunk(stored, codec, out.size(), path, offset);
    if (codec == chunk_codec::raw) {
      if (!out.empty()) std::memcpy(out.data(), stored.data(), out.size());
      return;
    }
    if (!dctx_) dctx_.reset(ZSTD_createDCtx());
    if (!dctx_) throw std::bad_alloc();
    std::span<std::byte> target = out;
    if (shuffle_item > 1) {
      shuffled_.resize(out.size());
      target = shuffled_;
    }
    const std::size_t n = ZSTD_decompressDCtx(dctx_.get(), target.data(), target.size(),
                                              stored.data(), stored.size());
    if (ZSTD_isError(n)) {
      throw format_error(path, offset, std::string("zstd: ") + ZSTD_getErrorName(n));
    }
    if (n != out.size()) throw format_error(path, offset, "zstd frame decodes to a wrong size");
    if (shuffle_item > 1) byte_unshuffle(target, out, shuffle_item);
  }

 private:
  // Trial compression of three small samples (start, middle, end of the chunk, shuffled like
  // the chunk) before compressing the whole: when none shrinks by 1/64, the chunk is taken as
  // incompressible and stored raw. Random data then costs ~2 % of a full zstd attempt instead
  // of 1.3x an uncompressed dump. Samples are contiguous runs, so LZ matches within 8 KiB
  // (sequences, repeats, constant planes) are seen; an order-0 entropy probe would miss them.
  bool looks_incompressible(std::span<const std::byte> in, int level, std::size_t shuffle_item) {
    constexpr std::size_t sample_bytes = 8192;
    if (in.size() < 8 * sample_bytes) return false;  // small chunks: just compress them
    const std::size_t item = shuffle_item > 1 ? shuffle_item : 1;
    const std::size_t sample = sample_bytes / item * item;
    if (sample == 0) return false;
    const std::size_t last = (in.size() - sample) / item * item;
    const std::size_t starts[] = {0, last / 2 / item * item, last};
    probe_in_.resize(sample);
    probe_out_.resize(ZSTD_compressBound(sample));
    for (const std::size_t start : starts) {
      std::span<const std::byte> part = in.subspan(start, sample);
      if (item > 1) {
        byte_shuffle(part, probe_in_, item);
        part = probe_in_;
      }
      const std::size_t n = ZSTD_compressCCtx(cctx_.get(), probe_out_.data(), probe_out_.size(),
                                              part.data(), part.size(), level);
      if (!ZSTD_isError(n) && n <= sample - sample / 64) return false;
    }
    return true;
  }

  chunk_codec store_raw(std::span<const std::byte> in) {
    view_ = in;
    return chunk_codec::raw;
  }

  struct cctx_free {
    void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
  };
  struct dctx_free {
    void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
  };

  std::unique_ptr<ZSTD_CCtx, cctx_free> cctx_;
  std::unique_ptr<ZSTD_DCtx, dctx_free> dctx_;
  std::vector<std::byte> shuffled_;
  std::vector<std::byte> stored_;
  std::vector<std::byte> probe_in_;
  std::vector<std::byte> probe_out_;
  std::span<const std::byte> view_;
};

}  // namespace detail
JOBLIB_END_NAMESPACE
