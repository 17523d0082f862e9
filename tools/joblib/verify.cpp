// joblib verify FILE...: every checksum of every file (superblock, index, value stream, each
// stripe of a raw array, each stored chunk) and the structure around them.
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "joblib/persist.hpp"

namespace joblib_tool {
namespace {

struct verified {
  std::size_t checksums = 0;
  bool raw_modified = false;  // written through mmap_mode::r_plus: stripe sums are stale
};

// Checks `file` or throws what a load would (format_error / checksum_error with the offset,
// filesystem_error). Array data is checked over a read-only mapping: memory stays bounded by
// one compressed chunk's frame header, whatever the file's size.
verified verify_file(const std::filesystem::path& file) {
  namespace d = joblib::detail;
  verified result;
  // Superblock, trailer, index checksum, index layout and zero padding between the blobs.
  d::container_reader reader(
      file, d::read_settings{.mapping = std::nullopt, .verify = true, .threads = 1});
  result.checksums += 3;
  (void)reader.value_stream();  // its checksum, and a compressed stream must decode
  ++result.checksums;
  const auto mapping = d::mapped_file::open(file, d::map_access::read_only);
  const std::span<const std::byte> bytes = mapping->bytes();
  if (bytes.size() != reader.file_size()) {
    throw joblib::format_error(file, 0, "the file changed while it was being verified");
  }
  result.raw_modified = (reader.header().flags & d::flag_raw_modified) != 0;
  for (const d::array_entry& a : reader.arrays()) {
    if (!a.chunked) {
      if (result.raw_modified) continue;
      for (std::size_t s = 0; s < a.stripe_sums.size(); ++s) {
        const std::uint64_t begin = s * a.stripe_size;
        const std::uint64_t size = std::min<std::uint64_t>(a.stripe_size, a.nbytes - begin);
        if (d::checksum64(bytes.subspan(a.offset + begin, size)) != a.stripe_sums[s]) {
          throw joblib::checksum_error(file, a.offset + begin, "array stripe checksum mismatch");
        }
        ++result.checksums;
      }
      continue;
    }
    for (const d::chunk_entry& c : a.chunks) {
      const auto stored = bytes.subspan(c.offset, c.stored_size);
      if (d::checksum64(stored) != c.checksum) {
        throw joblib::checksum_error(file, c.offset, "chunk checksum mismatch");
      }
      d::check_stored_chunk(stored, c.codec, c.raw_size, file, c.offset);
      ++result.checksums;
    }
  }
  return result;
}

std::string without_prefix(std::string_view what) {
  constexpr std::string_view prefix = "joblib: ";
  if (what.starts_with(prefix)) what.remove_prefix(prefix.size());
  return std::string(what);
}

}  // namespace

command add_verify(CLI::App& parent) {
  struct options {
    std::vector<std::filesystem::path> files;
    bool quiet = false;
  };
  auto o = std::make_shared<options>();
  CLI::App* app = parent.add_subcommand(
      "verify", "Check every checksum of each container; exit status 1 if any file is bad");
  app->footer(
      "Checks the superblock, index, value stream, every stripe of a raw array and every stored "
      "chunk, and the structure around them. Prints one line per good file on stdout; a bad "
      "file is named with the offset of the problem on stderr. Exit status 1 when any file is "
      "bad, missing or unreadable.");
  app->add_option("FILE", o->files, "containers written by joblib::dump (or cache entries)")
      ->required();
  app->add_flag("-q,--quiet", o->quiet, "print only the files that fail");
  return {"verify", app, [o] {
            int status = exit_ok;
            for (const auto& file : o->files) {
              try {
                const verified v = verify_file(file);
                if (!o->quiet) {
                  std::cout << file.string() << ": OK (" << v.checksums << " checksums";
                  if (v.raw_modified) {
                    std::cout << "; raw arrays were written in place through mmap_mode::r_plus, "
                                 "their stripe checksums no longer apply and were skipped";
                  }
                  std::cout << ")\n";
                }
              } catch (const std::exception& e) {
                std::cout.flush();
                std::cerr << file.string() << ": FAILED: " << without_prefix(e.what()) << '\n';
                status = exit_failed;
              }
            }
            return status;
          }};
}

}  // namespace joblib_tool
