// Our side of the command-line comparison (benchmarks/report.py): reads raw float64 files
// (numpy tofile) and times joblib::dump / joblib::load over a grid of compression levels,
// threads and shuffle settings, and joblib::hash of the array in memory and of the file's bytes
// read from the page cache. Prints one JSON object; each time is the median of --runs runs.
// The hash of the array in memory is joblib::hash(std::vector<double>), as in hash_bench.cpp.
//
//   joblib_bench_cli [--dir DIR] [--runs N] [--levels 1,3] [--threads 1,0] [--shuffle 1,0]
//                    [--hash] FILE...
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/median_seconds.hpp"
#include "joblib/hash.hpp"
#include "joblib/ndarray.hpp"
#include "joblib/persist.hpp"

namespace fs = std::filesystem;

namespace {

using bench::median_seconds;

std::vector<int> int_list(const std::string& s) {
  std::vector<int> out;
  std::istringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
  return out;
}

// Reads the whole file into `out` (resized to fit) with plain read(2) calls.
void read_file(const fs::path& path, std::vector<double>& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path.string());
  out.resize(fs::file_size(path) / sizeof(double));
  auto* p = reinterpret_cast<char*>(out.data());
  std::size_t left = out.size() * sizeof(double);
  while (left > 0) {
    const ssize_t n = ::read(fd, p, left);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("cannot read " + path.string());
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = fs::temp_directory_path() / "joblib_bench_cli";
  int runs = 5;
  std::vector<int> levels{1, 3}, threads{1, 0}, shuffles{1};
  bool hash = false;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--hash")
      hash = true;
    else if (a == "--dir" && has_value)
      dir = argv[++i];
    else if (a == "--runs" && has_value)
      runs = std::atoi(argv[++i]);
    else if (a == "--levels" && has_value)
      levels = int_list(argv[++i]);
    else if (a == "--threads" && has_value)
      threads = int_list(argv[++i]);
    else if (a == "--shuffle" && has_value)
      shuffles = int_list(argv[++i]);
    else
      inputs.emplace_back(a);
  }
  fs::create_directories(dir);
  joblib::set_log_handler([](joblib::log_level, std::string_view) {});
  const fs::path f = dir / "cli_bench.jl";

  nlohmann::json out;
  out["runs"] = runs;
  out["dumps"] = nlohmann::json::array();
  std::vector<double> data, buffer;
  // Hashing first, for every input: libxxhash's dispatched (AVX-512) checksum kernel, which
  // dump and load call, leaves the upper vector state dirty, and that makes the inlined SSE2
  // XXH3 of joblib::hash in the same thread ~5x slower afterwards (Debian's libxxhash 0.8.1).
  if (hash) {
    for (const auto& input : inputs) {
      read_file(input, data);
      const double mb = static_cast<double>(data.size() * sizeof(double)) / 1e6;
      // In memory: the array is already there. From the file: read(2) from the page cache into
      // a buffer allocated once (as xxhsum reuses its buffer), then hash.
      volatile std::uint64_t sink = 0;  // keeps the hashes from being optimised away
      const double m = median_seconds(runs, [&] { sink = sink ^ joblib::hash(data).low; });
      read_file(input, buffer);
      const double r = median_seconds(runs, [&] {
        read_file(input, buffer);
        sink = sink ^ joblib::hash(buffer).low;
      });
      out["inputs"][input.stem().string()] = {{"hash_memory_MBps", mb / m},
                                              {"hash_file_MBps", mb / r}};
    }
  }
  for (const auto& input : inputs) {
    read_file(input, data);
    const double mb = static_cast<double>(data.size() * sizeof(double)) / 1e6;
    const auto v = joblib::ndarray<double>::view(std::span<double>(data), {data.size()});
    for (const int level : levels) {
      for (const int t : threads) {
        for (const int shuffle : shuffles) {
          const joblib::dump_options options{
              .compress = level, .shuffle = shuffle != 0, .threads = static_cast<std::size_t>(t)};
          const double d = median_seconds(runs, [&] { joblib::dump(v, f, options); });
          const double l = median_seconds(runs, [&] {
            auto back =
                joblib::load<joblib::ndarray<double>>(f, {.threads = static_cast<std::size_t>(t)});
            if (back.size() != v.size()) std::abort();
          });
          out["dumps"].push_back({{"input", input.stem().string()},
                                  {"level", level},
                                  {"threads", t},
                                  {"shuffle", shuffle != 0},
                                  {"dump_MBps", mb / d},
                                  {"load_MBps", mb / l},
                                  {"ratio", mb * 1e6 / static_cast<double>(fs::file_size(f))}});
        }
      }
    }
  }
  fs::remove(f);
  std::cout << out.dump(1) << "\n";
}
