#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <joblib/memory.hpp>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "stress_worker.h"
#include "temp_dir.hpp"

extern char** environ;
namespace fs = std::filesystem;

namespace {
pid_t start_worker(const fs::path& dir, int seed, int rounds, bool clearer = false) {
  const std::string program = JOBLIB_STRESS_WORKER;
  const std::string dir_arg = dir.string();
  const std::string seed_arg = std::to_string(seed);
  const std::string rounds_arg = std::to_string(rounds);
  const std::string clear_arg = "clear";
  char* argv[] = {const_cast<char*>(program.c_str()),
                  const_cast<char*>(dir_arg.c_str()),
                  const_cast<char*>(seed_arg.c_str()),
                  const_cast<char*>(rounds_arg.c_str()),
                  clearer ? const_cast<char*>(clear_arg.c_str()) : nullptr,
                  nullptr};
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv, environ) == 0);
  return pid;
}

int exit_status(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}
}  // namespace

TEST_CASE("8 processes x 4 threads share one cache dir, some killed mid-write") {
  const fs::path dir = fs::temp_directory_path() / ("joblib_stress_" + std::to_string(::getpid()));
  fs::remove_all(dir);

  std::vector<pid_t> survivors;
  std::vector<pid_t> victims;
  for (int w = 0; w < 8; ++w) {
    (w % 3 == 2 ? victims : survivors).push_back(start_worker(dir, w, w % 3 == 2 ? 100000 : 150));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  for (pid_t pid : victims) ::kill(pid, SIGKILL);
  for (pid_t pid : victims) CHECK(exit_status(pid) == 128 + SIGKILL);
  for (pid_t pid : survivors) CHECK(exit_status(pid) == 0);  // every value they got was right

  joblib::memory mem{dir, {.bytes_limit = stress::bytes_limit}};
  const auto* store = mem.store();
  // Automatic eviction kept the directory near its limit (each process checks every ~10 %
  // of the limit, so a few stores of overshoot are possible under concurrent writers).
  CHECK(mem.stats().bytes_on_disk <= 2 * stress::bytes_limit);

  // Every entry that survived is complete and holds the value of its own key.
  int entries = 0;
  for (const auto& entry : store->scan()) {
    const auto metadata = joblib::inspect(entry.path)["attributes"];
    const std::string input = metadata["input_args"];  // "stress(17)"
    const int k = std::stoi(input.substr(input.find('(') + 1));
    CHECK(joblib::load<std::vector<double>>(entry.path) == stress::expected(k));
    ++entries;
  }
  CHECK(entries > 0);

  // Temporaries of the killed writers are swept; nothing else is removed by the sweep.
  mem.reduce_size();
  for (const auto& item : fs::recursive_directory_iterator(dir)) {
    CHECK(item.path().extension() != ".tmp");
  }
  auto f = mem.cache("stress", [](int k) { return stress::expected(k); });
  for (int k = 0; k < stress::keys; ++k) CHECK(f(k) == stress::expected(k));
  CHECK(mem.stats().corrupt_entries == 0);
  fs::remove_all(dir);
}

TEST_CASE("3 processes x 4 threads keep working while another process clears the cache") {
  const test::temp_dir dir("clear_race");
  std::vector<pid_t> workers;
  for (int w = 0; w < 3; ++w) workers.push_back(start_worker(dir, w, 300));
  const pid_t clearer = start_worker(dir, 99, 400, /*clearer=*/true);
  // No filesystem_error escapes a worker (it would terminate it) and no value is wrong.
  for (pid_t pid : workers) CHECK(exit_status(pid) == 0);
  CHECK(exit_status(clearer) == 0);
}
