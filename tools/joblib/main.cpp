// joblib: the command-line tool over joblib-cpp's files: look into containers, check them,
// export their arrays to .npy, and list, prune and clear cache directories. README.md,
// "Command-line tool", is its reference; `joblib <command> --help` prints each command's.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "common.hpp"
#include "joblib/version.hpp"

namespace joblib_tool {

std::string format_bytes(std::uint64_t bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 6) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

std::string format_time(std::chrono::system_clock::time_point t) {
  const std::time_t seconds =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

void report_error(const std::string& command, const std::string& message) {
  std::cerr << "joblib " << command << ": " << message << '\n';
}

}  // namespace joblib_tool

int main(int argc, char** argv) {
  using namespace joblib_tool;
  CLI::App app{
      "joblib: inspect, verify and export joblib-cpp containers; list, prune and clear "
      "joblib-cpp cache directories.\nExit status: 0 success, 1 a check failed or a "
      "file is bad, 2 usage error.",
      "joblib"};
  app.set_version_flag("--version", std::to_string(JOBLIB_VERSION_MAJOR) + "." +
                                        std::to_string(JOBLIB_VERSION_MINOR) + "." +
                                        std::to_string(JOBLIB_VERSION_PATCH));
  app.require_subcommand(1);
  std::vector<command> commands{add_inspect(app), add_verify(app), add_export(app)};
  for (command& c : add_cache(app)) commands.push_back(std::move(c));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the help, the version or the error
    return code == 0 ? exit_ok : exit_usage;
  }
  for (const command& c : commands) {
    if (!c.app->parsed()) continue;
    try {
      return c.run();
    } catch (const std::exception& e) {
      report_error(c.name, e.what());
      return exit_failed;
    }
  }
  return exit_usage;  // unreachable: a subcommand is required
}
