// joblib inspect FILE [--json]: a container's index (type, attributes, arrays, value stream).
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "common.hpp"
#include "joblib/persist.hpp"

namespace joblib_tool {
namespace {

std::string shape_text(const nlohmann::json& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i].get<std::uint64_t>());
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

void print_human(const std::filesystem::path& file, const nlohmann::json& index) {
  const auto& version = index["version"];
  std::cout << "file:       " << file.string() << " (" << index["file_size"].get<std::uint64_t>()
            << " bytes, format " << version[0].get<std::uint64_t>() << "."
            << version[1].get<std::uint64_t>() << ")\n";
  std::cout << "type:       " << index["type"].get<std::string>() << '\n';
  const nlohmann::json attributes = index.value("attributes", nlohmann::json::object());
  std::cout << "attributes: " << (attributes.empty() ? std::string("(none)") : attributes.dump())
            << '\n';
  const auto& value = index["value"];
  std::cout << "value:      " << value["size"].get<std::uint64_t>() << " bytes, "
            << value["codec"].get<std::string>() << ", stored "
            << value["stored_size"].get<std::uint64_t>() << " bytes\n";
  const auto& arrays = index["arrays"];
  std::cout << "arrays:     " << arrays.size() << '\n';
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    const auto& a = arrays[i];
    const auto nbytes = a["nbytes"].get<std::uint64_t>();
    const auto stored = a["stored_size"].get<std::uint64_t>();
    std::cout << "  [" << i << "] " << a["dtype"].get<std::string>() << ' '
              << shape_text(a["shape"]) << "  " << format_bytes(nbytes) << "  "
              << a["layout"].get<std::string>() << ' ' << a["codec"].get<std::string>()
              << ", stored " << format_bytes(stored);
    if (nbytes > 0 && stored != nbytes) {
      std::cout << " (" << (stored * 1000 / nbytes) / 10.0 << " %)";
    }
    std::cout << '\n';
  }
}

}  // namespace

command add_inspect(CLI::App& parent) {
  struct options {
    std::filesystem::path file;
    bool json = false;
  };
  auto o = std::make_shared<options>();
  CLI::App* app = parent.add_subcommand(
      "inspect",
      "Print a container's index: type, attributes, arrays (dtype, shape, codec, sizes)");
  app->footer(
      "Checks the file's structure and index checksum, not its data (see verify). Exit status "
      "1 for a missing, unreadable or malformed file.");
  app->add_option("FILE", o->file, "a container written by joblib::dump (or a cache entry)")
      ->required();
  app->add_flag("--json", o->json, "print the index as JSON (joblib::inspect's answer)");
  return {"inspect", app, [o] {
            const nlohmann::json index = joblib::inspect(o->file);
            if (o->json) {
              std::cout << index.dump(2) << '\n';
            } else {
              print_human(o->file, index);
            }
            return exit_ok;
          }};
}

}  // namespace joblib_tool
