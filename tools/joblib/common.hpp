// The `joblib` tool's shared pieces: exit codes, how commands are registered, and formatting.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace joblib_tool {

/// Exit statuses: 0 success; 1 a check failed or a file is bad, missing or unreadable; 2 the
/// command line is wrong (what CLI11 reports, and choices the tool cannot make for the user).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;
inline constexpr int exit_usage = 2;

/// A subcommand: registered on the application, run when it was the one given.
struct command {
  std::string name;  // "inspect", "cache ls": how errors name the command
  CLI::App* app = nullptr;
  std::function<int()> run;
};

command add_inspect(CLI::App& parent);
command add_verify(CLI::App& parent);
command add_export(CLI::App& parent);
/// `cache` and its own subcommands (ls, stats, prune, clear), each a command.
std::vector<command> add_cache(CLI::App& parent);

/// "123 B", "1.5 KiB", "10.0 GiB".
std::string format_bytes(std::uint64_t bytes);
/// "2024-05-01T10:00:00Z" (UTC, to the second).
std::string format_time(std::chrono::system_clock::time_point t);
/// Prints "joblib <command>: <message>" on stderr.
void report_error(const std::string& command, const std::string& message);

}  // namespace joblib_tool
