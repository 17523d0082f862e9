// The command-line tool `joblib`, run as a program (posix_spawn) on files this test writes
// with the library: what each command prints, its exit status (0 ok, 1 a check failed or a bad
// file, 2 usage), damaged files, and `cache prune` while another process keeps writing.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "file_bytes.hpp"
#include "joblib/memory.hpp"
#include "joblib/persist.hpp"
#include "temp_dir.hpp"

extern char** environ;

namespace fs = std::filesystem;

namespace {

struct outcome {
  int status = -1;
  std::string out;
  std::string err;
};

std::string read_text(const fs::path& p) {
  const auto bytes = test::read_all(p);
  return {bytes.begin(), bytes.end()};
}

// Starts `program args...` with stdout and stderr going to files next to `scratch`; returns the
// pid.
pid_t start(const std::string& program, const std::vector<std::string>& args,
            const fs::path& scratch) {
  std::vector<std::string> words{program};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string out = scratch.string() + ".out";
  const std::string err = scratch.string() + ".err";
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  return pid;
}

outcome finish(pid_t pid, const fs::path& scratch) {
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  outcome o;
  o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.out = read_text(scratch.string() + ".out");
  o.err = read_text(scratch.string() + ".err");
  return o;
}

// Runs the tool to completion.
outcome joblib_tool(const std::vector<std::string>& args) {
  static std::atomic<int> counter{0};
  const fs::path scratch =
      fs::temp_directory_path() /
      ("joblib_tool_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  outcome o = finish(start(JOBLIB_TOOL, args, scratch), scratch);
  fs::remove(scratch.string() + ".out");
  fs::remove(scratch.string() + ".err");
  UNSCOPED_INFO("joblib tool: status " << o.status << "\nstdout:\n"
                                       << o.out << "stderr:\n"
                                       << o.err);
  return o;
}

// Flips one byte of `file` at `offset`.
void damage(const fs::path& file, std::uint64_t offset) {
  auto bytes = test::read_all(file);
  REQUIRE(offset < bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x5a);
  test::write_all(file, bytes);
}

// Sets a file's modification time (an entry's last use) to `age` ago.
void set_age(const fs::path& file, std::chrono::seconds age) {
  const auto when = std::chrono::system_clock::now() - age;
  const auto since = when.time_since_epoch();
  timespec times[2];
  times[0].tv_sec = times[1].tv_sec =
      static_cast<time_t>(std::chrono::duration_cast<std::chrono::seconds>(since).count());
  times[0].tv_nsec = times[1].tv_nsec = 0;
  REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);
}

std::vector<joblib::cache_entry_info> entries_of(const fs::path& location) {
  return joblib::filesystem_store(location).scan();
}

struct model {
  std::vector<double> weights;
  std::vector<std::int32_t> labels;
  std::string name;
};

}  // namespace

TEST_CASE("usage: --help everywhere, exit status 2 for a wrong command line") {
  const outcome help = joblib_tool({"--help"});
  REQUIRE(help.status == 0);
  for (const char* command : {"inspect", "verify", "cache", "export"}) {
    REQUIRE_THAT(help.out, Catch::Contains(command));
  }
  const std::vector<std::vector<std::string>> helps = {
      {"inspect", "--help"},        {"verify", "--help"},        {"export", "--help"},
      {"cache", "--help"},          {"cache", "ls", "--help"},   {"cache", "stats", "--help"},
      {"cache", "prune", "--help"}, {"cache", "clear", "--help"}};
  for (const auto& args : helps) {
    const outcome o = joblib_tool(args);
    REQUIRE(o.status == 0);
    REQUIRE_THAT(o.out, Catch::Contains("Usage"));
  }
  REQUIRE_THAT(joblib_tool({"cache", "prune", "--help"}).out, Catch::Contains("--max-age"));
  REQUIRE(joblib_tool({"--version"}).status == 0);

  REQUIRE(joblib_tool({}).status == 2);
  REQUIRE(joblib_tool({"frobnicate"}).status == 2);
  REQUIRE(joblib_tool({"inspect"}).status == 2);
  REQUIRE(joblib_tool({"verify"}).status == 2);
  REQUIRE(joblib_tool({"cache"}).status == 2);
  REQUIRE(joblib_tool({"export", "x.jl"}).status == 2);  // --npy is required
  const test::temp_dir dir("tool_usage");
  joblib::memory(dir.path()).cache("f", [](int i) { return i; })(1);
  REQUIRE(joblib_tool({"cache", "prune", dir.string()}).status == 2);  // no limit given
  REQUIRE(joblib_tool({"cache", "prune", dir.string(), "--max-size", "10Q"}).status == 2);
  REQUIRE(joblib_tool({"cache", "prune", dir.string(), "--max-age", "3 fortnights"}).status == 2);
  REQUIRE(joblib_tool({"cache", "prune", dir.string(), "--max-items", "-1"}).status == 2);
}

TEST_CASE("inspect prints the index, as text or as JSON") {
  const test::temp_dir dir("tool_inspect");
  // Arrays of 256 bytes or more are stored as separate blobs; smaller ones stay in the value.
  const model m{std::vector<double>(1000, 0.5), std::vector<std::int32_t>(100, 3), "m"};
  joblib::dump(m, dir / "m.jl", {.compress = 3, .attributes = {{"owner", "test"}}});

  const outcome text = joblib_tool({"inspect", (dir / "m.jl").string()});
  REQUIRE(text.status == 0);
  REQUIRE_THAT(text.out,
               Catch::Contains("type:       " + std::string(joblib::type_signature<model>())));
  REQUIRE_THAT(text.out, Catch::Contains(R"({"owner":"test"})"));
  REQUIRE_THAT(text.out, Catch::Contains("arrays:     2"));
  REQUIRE_THAT(text.out, Catch::Contains("[0] f64 (1000,)  7.8 KiB  chunked zstd"));
  REQUIRE_THAT(text.out, Catch::Contains("[1] i32 (100,)  400 B  chunked"));

  const outcome json = joblib_tool({"inspect", "--json", (dir / "m.jl").string()});
  REQUIRE(json.status == 0);
  const auto index = nlohmann::json::parse(json.out);
  REQUIRE(index == joblib::inspect(dir / "m.jl"));
  REQUIRE(index["type"] == joblib::type_signature<model>());
  REQUIRE(index["arrays"][0]["shape"] == nlohmann::json::array({1000}));

  const outcome missing = joblib_tool({"inspect", (dir / "absent.jl").string()});
  REQUIRE(missing.status == 1);
  REQUIRE_THAT(missing.err, Catch::Contains("joblib inspect:") && Catch::Contains("absent.jl"));
  std::ofstream(dir / "junk.jl") << "not a container at all, but long enough to have a trailer";
  const outcome junk = joblib_tool({"inspect", (dir / "junk.jl").string()});
  REQUIRE(junk.status == 1);
  REQUIRE_THAT(junk.err, Catch::Contains("junk.jl at offset"));
}

TEST_CASE("verify checks every checksum and names the bad file and offset") {
  const test::temp_dir dir("tool_verify");
  const std::vector<double> big(200'000, 1.25);
  joblib::dump(big, dir / "raw.jl");
  joblib::dump(big, dir / "packed.jl", {.compress = 1, .chunk_size = 1 << 16});
  joblib::dump(std::string("just a value"), dir / "value.jl");

  const outcome good = joblib_tool({"verify", (dir / "raw.jl").string(),
                                    (dir / "packed.jl").string(), (dir / "value.jl").string()});
  REQUIRE(good.status == 0);
  REQUIRE_THAT(good.out, Catch::Contains("raw.jl: OK") && Catch::Contains("packed.jl: OK") &&
                             Catch::Contains("value.jl: OK"));
  REQUIRE(joblib_tool({"verify", "-q", (dir / "raw.jl").string()}).out.empty());

  // A byte deep inside the raw array: only a stripe checksum sees it (inspect does not).
  const auto raw_index = joblib::inspect(dir / "raw.jl");
  const std::uint64_t raw_offset =
      raw_index["arrays"][0]["offset"].get<std::uint64_t>() + 1'000'000;
  damage(dir / "raw.jl", raw_offset);
  REQUIRE(joblib_tool({"inspect", (dir / "raw.jl").string()}).status == 0);
  const outcome bad_raw =
      joblib_tool({"verify", (dir / "raw.jl").string(), (dir / "packed.jl").string()});
  REQUIRE(bad_raw.status == 1);
  REQUIRE_THAT(bad_raw.err, Catch::Contains("raw.jl: FAILED") && Catch::Contains("at offset") &&
                                Catch::Contains("checksum mismatch"));
  REQUIRE_THAT(bad_raw.out, Catch::Contains("packed.jl: OK"));

  // A byte of the third compressed chunk.
  const auto packed_index = joblib::inspect(dir / "packed.jl");
  const auto chunk = packed_index["arrays"][0]["chunks"][2];
  damage(dir / "packed.jl", chunk[0].get<std::uint64_t>() + 5);
  const outcome bad_chunk = joblib_tool({"verify", (dir / "packed.jl").string()});
  REQUIRE(bad_chunk.status == 1);
  REQUIRE_THAT(bad_chunk.err,
               Catch::Contains("at offset " + std::to_string(chunk[0].get<std::uint64_t>())) &&
                   Catch::Contains("chunk checksum mismatch"));

  // The value stream, and a file that is not there.
  const auto value_offset =
      joblib::inspect(dir / "value.jl")["value"]["offset"].get<std::uint64_t>();
  damage(dir / "value.jl", value_offset + 2);
  REQUIRE_THAT(joblib_tool({"verify", (dir / "value.jl").string()}).err,
               Catch::Contains("value stream checksum mismatch"));
  const outcome absent = joblib_tool({"verify", (dir / "absent.jl").string()});
  REQUIRE(absent.status == 1);
  REQUIRE_THAT(absent.err, Catch::Contains("absent.jl: FAILED"));
}

TEST_CASE("export writes one array of a container as .npy") {
  const test::temp_dir dir("tool_export");
  model m{std::vector<double>(64, 1.0), std::vector<std::int32_t>(64, 7), "m"};
  m.weights[2] = 3.5;
  m.labels[1] = 8;
  joblib::dump(m, dir / "m.jl");
  joblib::ndarray<float> matrix({2, 3});
  for (std::size_t i = 0; i < 6; ++i) matrix.data()[i] = static_cast<float>(i) / 4;
  joblib::dump(matrix, dir / "matrix.jl", {.compress = 5});

  const outcome one =
      joblib_tool({"export", (dir / "matrix.jl").string(), "--npy", (dir / "matrix.npy").string()});
  REQUIRE(one.status == 0);
  REQUIRE(joblib::load_npy<float>(dir / "matrix.npy") == matrix);

  const outcome ambiguous =
      joblib_tool({"export", (dir / "m.jl").string(), "--npy", (dir / "x.npy").string()});
  REQUIRE(ambiguous.status == 2);
  REQUIRE_THAT(ambiguous.err, Catch::Contains("holds 2 arrays") && Catch::Contains("--path 0..1"));
  REQUIRE_FALSE(fs::exists(dir / "x.npy"));

  REQUIRE(joblib_tool({"export", (dir / "m.jl").string(), "--npy", (dir / "labels.npy").string(),
                       "--path", "1"})
              .status == 0);
  const auto labels = joblib::load_npy<std::int32_t>(dir / "labels.npy");
  REQUIRE(std::vector<std::int32_t>(labels.flat().begin(), labels.flat().end()) == m.labels);
  REQUIRE(joblib_tool(
              {"export", (dir / "m.jl").string(), "--npy", (dir / "w.npy").string(), "--path", "0"})
              .status == 0);
  REQUIRE(joblib::load_npy<double>(dir / "w.npy")(2) == 3.5);
  REQUIRE(joblib_tool(
              {"export", (dir / "m.jl").string(), "--npy", (dir / "x.npy").string(), "--path", "2"})
              .status == 2);

  joblib::dump(42, dir / "scalar.jl");
  const outcome none =
      joblib_tool({"export", (dir / "scalar.jl").string(), "--npy", (dir / "x.npy").string()});
  REQUIRE(none.status == 1);
  REQUIRE_THAT(none.err, Catch::Contains("nothing to export"));

  // Damaged data is not exported.
  damage(dir / "matrix.jl",
         joblib::inspect(dir / "matrix.jl")["arrays"][0]["chunks"][0][0].get<std::uint64_t>() + 1);
  REQUIRE(joblib_tool({"export", (dir / "matrix.jl").string(), "--npy", (dir / "bad.npy").string()})
              .status == 1);
  REQUIRE_FALSE(fs::exists(dir / "bad.npy"));
}

TEST_CASE("cache ls and stats summarize a cache per function and in total") {
  const test::temp_dir dir("tool_cache_ls");
  const joblib::memory mem(dir.path());
  auto square = mem.cache("square", [](int i) { return std::vector<double>(100, i * i); });
  auto name = mem.cache("ns::name<int>", [](int i) { return std::to_string(i); });
  for (int i = 0; i < 3; ++i) square(i);
  name(7);
  const auto entries = entries_of(dir.path());
  REQUIRE(entries.size() == 4);
  std::map<std::string, std::uint64_t> bytes;
  for (const auto& e : entries) bytes[e.function] += e.bytes;
  set_age(entries.front().path, std::chrono::hours(24 * 400));

  const outcome json = joblib_tool({"cache", "ls", "--json", dir.string()});
  REQUIRE(json.status == 0);
  const auto list = nlohmann::json::parse(json.out);
  REQUIRE(list.size() == 2);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& f : list) by_name[f["function"].get<std::string>()] = f;
  REQUIRE(by_name.count("square") == 1);
  REQUIRE(by_name.count("ns::name<int>") == 1);  // the name given to cache(), not its folder
  REQUIRE(by_name["square"]["entries"] == 3);
  REQUIRE(by_name["square"]["bytes"] == bytes["square"]);
  REQUIRE(by_name["ns::name<int>"]["entries"] == 1);
  REQUIRE(by_name["ns::name<int>"]["folder"] != "ns::name<int>");
  // The entry made 400 days older shows as its function's oldest use.
  const nlohmann::json* aged = nullptr;
  std::string newest;
  for (const auto& f : list) {
    if (f["folder"] == entries.front().function) aged = &f;
    newest = std::max(newest, f["newest_use"].get<std::string>());
  }
  REQUIRE(aged != nullptr);
  REQUIRE((*aged)["oldest_use"].get<std::string>() < newest);
  REQUIRE((*aged)["oldest_use"].get<std::string>().substr(0, 4) <
          newest.substr(0, 4));  // a year earlier at least

  const outcome text = joblib_tool({"cache", "ls", dir.string()});
  REQUIRE(text.status == 0);
  REQUIRE_THAT(text.out, Catch::Contains("FUNCTION") && Catch::Contains("ENTRIES") &&
                             Catch::Contains("square") && Catch::Contains("ns::name<int>"));

  // The cache folder itself is accepted as DIR.
  REQUIRE(joblib_tool({"cache", "ls", (dir / "joblib").string()}).out == text.out);

  const outcome stats = joblib_tool({"cache", "stats", "--json", dir.string()});
  REQUIRE(stats.status == 0);
  const auto totals = nlohmann::json::parse(stats.out);
  REQUIRE(totals["functions"] == 2);
  REQUIRE(totals["entries"] == 4);
  REQUIRE(totals["bytes"] ==
          bytes["square"] + bytes[by_name["ns::name<int>"]["folder"].get<std::string>()]);
  REQUIRE(totals["oldest_use"].get<std::string>() < totals["newest_use"].get<std::string>());
  REQUIRE_THAT(joblib_tool({"cache", "stats", dir.string()}).out,
               Catch::Contains("entries:    4") && Catch::Contains("functions:  2"));

  const test::temp_dir empty("tool_cache_none");
  const outcome none = joblib_tool({"cache", "ls", empty.string()});
  REQUIRE(none.status == 1);
  REQUIRE_THAT(none.err, Catch::Contains("no joblib cache"));
  REQUIRE_FALSE(fs::exists(empty / "joblib"));  // nothing was created
  REQUIRE(joblib_tool({"cache", "prune", empty.string(), "--max-items", "1"}).status == 1);
  REQUIRE(joblib_tool({"cache", "clear", empty.string()}).status == 1);
  REQUIRE_FALSE(fs::exists(empty / "joblib"));
}

TEST_CASE("cache prune removes the least recently used entries, as reduce_size does") {
  const test::temp_dir dir("tool_cache_prune");
  const joblib::memory mem(dir.path());
  auto f = mem.cache("f", [](int i) { return std::vector<double>(512, i); });
  for (int i = 0; i < 10; ++i) f(i);
  // Entry i will have been last used 10 - i days ago: 0 is the least recently used.
  // Find each entry by loading it: the result vector holds i.
  std::map<int, fs::path> entry;
  for (const auto& e : entries_of(dir.path())) {
    const auto v = joblib::load<std::vector<double>>(e.path);
    entry[static_cast<int>(v.front())] = e.path;
  }
  REQUIRE(entry.size() == 10);
  for (int i = 0; i < 10; ++i) set_age(entry[i], std::chrono::hours(24 * (10 - i)));
  std::ofstream(dir / "joblib" / "f" / "user_notes.txt") << "not an entry";

  const outcome age = joblib_tool({"cache", "prune", dir.string(), "--max-age", "7d"});
  REQUIRE(age.status == 0);
  REQUIRE_THAT(age.out, Catch::Contains("removed 4 entries") && Catch::Contains("6 remain"));
  for (int i = 0; i < 10; ++i) REQUIRE(fs::exists(entry[i]) == (i >= 4));

  REQUIRE(joblib_tool({"cache", "prune", dir.string(), "--max-items", "4"}).status == 0);
  for (int i = 0; i < 10; ++i) REQUIRE(fs::exists(entry[i]) == (i >= 6));

  const std::uint64_t one = fs::file_size(entry[9]);
  REQUIRE(
      joblib_tool({"cache", "prune", dir.string(), "--max-size", std::to_string(2 * one + one / 2)})
          .status == 0);
  for (int i = 0; i < 10; ++i) REQUIRE(fs::exists(entry[i]) == (i >= 8));
  REQUIRE(joblib_tool({"cache", "prune", dir.string(), "--max-size", "1G", "--max-items", "100"})
              .status == 0);
  REQUIRE(entries_of(dir.path()).size() == 2);
  REQUIRE(fs::exists(dir / "joblib" / "f" / "user_notes.txt"));
}

TEST_CASE("cache clear removes every entry, or one function's, and nothing else") {
  const test::temp_dir dir("tool_cache_clear");
  const joblib::memory mem(dir.path());
  auto a = mem.cache("a", [](int i) { return i; });
  auto b = mem.cache("b/slash", [](int i) { return i + 1; });
  for (int i = 0; i < 3; ++i) {
    a(i);
    b(i);
  }
  std::ofstream(dir / "joblib" / "mine.txt") << "keep";

  const outcome one = joblib_tool({"cache", "clear", dir.string(), "--function", "b/slash"});
  REQUIRE(one.status == 0);
  REQUIRE_THAT(one.out, Catch::Contains("removed 3 entries"));
  REQUIRE(entries_of(dir.path()).size() == 3);
  REQUIRE(a.check_call_in_cache(1));
  REQUIRE_FALSE(b.check_call_in_cache(1));

  const outcome all = joblib_tool({"cache", "clear", dir.string()});
  REQUIRE(all.status == 0);
  REQUIRE_THAT(all.out, Catch::Contains("removed 3 entries"));
  REQUIRE(entries_of(dir.path()).empty());
  REQUIRE(fs::exists(dir / "joblib" / "mine.txt"));
  REQUIRE(fs::exists(dir / "joblib" / "CACHEDIR.TAG"));
}

TEST_CASE("cache prune while another process keeps writing entries neither fails nor breaks it") {
  const test::temp_dir dir("tool_cache_concurrent");
  {
    const joblib::memory mem(dir.path());
    mem.cache("writer", [](int i) { return std::vector<double>(1024, i); })(-1);
  }
  std::ofstream(dir / "joblib" / "writer" / "keep.txt") << "not an entry";
  const fs::path scratch = dir / "writer";
  const pid_t writer = start(JOBLIB_CACHE_WRITER, {dir.string(), "2500"}, scratch);
  int prunes = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2000);
  while (std::chrono::steady_clock::now() < until) {
    const outcome p = joblib_tool({"cache", "prune", dir.string(), "--max-items", "5"});
    REQUIRE(p.status == 0);
    ++prunes;
  }
  const outcome w = finish(writer, scratch);
  INFO("writer: " << w.out << w.err);
  REQUIRE(w.status == 0);  // every store succeeded: prune removed no write in progress
  REQUIRE(std::stoi(w.out) > 5);
  REQUIRE(prunes >= 2);
  REQUIRE(joblib_tool({"cache", "prune", dir.string(), "--max-items", "5"}).status == 0);
  REQUIRE(entries_of(dir.path()).size() == 5);
  REQUIRE(fs::exists(dir / "joblib" / "writer" / "keep.txt"));
  for (const auto& e : entries_of(dir.path())) {
    REQUIRE(joblib_tool({"verify", "-q", e.path.string()}).status == 0);
  }
}
