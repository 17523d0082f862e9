// joblib export FILE --npy OUT.npy [--path N]: one array of a container as a NumPy .npy file.
#include <complex>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "joblib/persist.hpp"

namespace joblib_tool {
namespace {

namespace d = joblib::detail;

template <class E>
void save_as(const d::loaded_array& a, const std::filesystem::path& out) {
  const std::vector<std::size_t> shape(a.shape.begin(), a.shape.end());
  std::size_t count = 1;
  for (const std::size_t extent : shape) count *= extent;  // the reader checked the product
  const auto* data = reinterpret_cast<const E*>(a.bytes.data());
  joblib::save_npy(joblib::ndarray<const E>::view({data, count}, shape), out);
}

void save_loaded(const d::loaded_array& a, const std::filesystem::path& out) {
  switch (a.type) {
    case d::dtype::boolean:
      return save_as<bool>(a, out);
    case d::dtype::i8:
      return save_as<std::int8_t>(a, out);
    case d::dtype::i16:
      return save_as<std::int16_t>(a, out);
    case d::dtype::i32:
      return save_as<std::int32_t>(a, out);
    case d::dtype::i64:
      return save_as<std::int64_t>(a, out);
    case d::dtype::u8:
      return save_as<std::uint8_t>(a, out);
    case d::dtype::u16:
      return save_as<std::uint16_t>(a, out);
    case d::dtype::u32:
      return save_as<std::uint32_t>(a, out);
    case d::dtype::u64:
      return save_as<std::uint64_t>(a, out);
    case d::dtype::f32:
      return save_as<float>(a, out);
    case d::dtype::f64:
      return save_as<double>(a, out);
    case d::dtype::c64:
      return save_as<std::complex<float>>(a, out);
    case d::dtype::c128:
      return save_as<std::complex<double>>(a, out);
    case d::dtype::char8:
      return save_as<char>(a, out);
  }
  throw joblib::format_error("unknown dtype");  // the reader validated it: unreachable
}

}  // namespace

command add_export(CLI::App& parent) {
  struct options {
    std::filesystem::path file;
    std::filesystem::path npy;
    std::optional<std::size_t> path;
  };
  auto o = std::make_shared<options>();
  CLI::App* app =
      parent.add_subcommand("export", "Write one array of a container as a NumPy .npy file");
  app->footer(
      "The .npy file is C order, little-endian (numpy.load reads it) and replaced atomically. "
      "The array's checksums are verified first; compressed arrays are decompressed. Arrays "
      "are addressed by their position in the container, as `joblib inspect` lists them ([0], "
      "[1], ...). Exit status 1 for a bad file or a container without arrays, 2 when --path is "
      "needed or names no array.");
  app->add_option("FILE", o->file, "a container written by joblib::dump (or a cache entry)")
      ->required();
  app->add_option("--npy", o->npy, "the .npy file to write (replaced atomically)")->required();
  app->add_option("--path", o->path,
                  "which array: its number N in the container's array list (joblib inspect "
                  "shows [N]); needed when the container holds more than one");
  return {"export", app, [o] {
            d::container_reader reader(
                o->file, d::read_settings{.mapping = std::nullopt, .verify = true, .threads = 0});
            const std::size_t count = reader.arrays().size();
            std::size_t id = 0;
            if (o->path) {
              if (*o->path >= count) {
                report_error("export", o->file.string() + " holds " + std::to_string(count) +
                                           " arrays; --path " + std::to_string(*o->path) +
                                           " names none of them");
                return exit_usage;
              }
              id = *o->path;
            } else if (count != 1) {
              report_error(
                  "export",
                  o->file.string() + " holds " + std::to_string(count) + " arrays; " +
                      (count == 0 ? std::string("there is nothing to export")
                                  : "choose one with --path 0.." + std::to_string(count - 1) +
                                        " (see joblib inspect)"));
              return count == 0 ? exit_failed : exit_usage;
            }
            const d::loaded_array array = reader.get(id);
            save_loaded(array, o->npy);
            std::cout << "array [" << id << "] (" << d::dtype_name(array.type) << ", "
                      << format_bytes(array.bytes.size()) << ") -> " << o->npy.string() << '\n';
            return exit_ok;
          }};
}

}  // namespace joblib_tool
