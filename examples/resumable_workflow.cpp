// Example 5, a resumable workflow: stage1 and stage2 are cached, so a program killed after
// stage 1 restarts without recomputing it. The example demonstrates it by running itself
// twice: the first run stops right after stage 1 (as if killed), the second run resumes.
// Usage: resumable_workflow [--quick]   (runs both phases)
//        resumable_workflow --phase 1|2 <cache dir>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <joblib/memory.hpp>
#include <numeric>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {
int run_phase(int phase, const std::filesystem::path& dir) {
  joblib::memory mem{dir};
  auto stage1 = mem.cache("stage1", [](int n) {
    std::puts("  stage1: computing (slow)");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::vector<double> data(static_cast<std::size_t>(n));
    std::iota(data.begin(), data.end(), 1.0);
    return data;
  });
  auto stage2 = mem.cache("stage2", [](const std::vector<double>& data) {
    std::puts("  stage2: computing");
    return std::accumulate(data.begin(), data.end(), 0.0);
  });
  const auto data = stage1(1000);
  if (phase == 1) {
    std::puts("  ...killed after stage 1");
    std::fflush(stdout);
    std::_Exit(3);  // no cleanup at all, like a SIGKILL
  }
  std::printf("  result: %.0f (stage1 %s)\n", stage2(data),
              mem.stats().hits > 0 ? "loaded from the cache" : "recomputed");
  return mem.stats().hits > 0 ? 0 : 1;
}

int run_self(const char* self, int phase, const std::filesystem::path& dir) {
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string phase_arg = std::to_string(phase);
    ::execl(self, self, "--phase", phase_arg.c_str(), dir.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view(argv[1]) == "--phase") {
    return run_phase(std::atoi(argv[2]), argv[3]);
  }
  const auto dir = std::filesystem::temp_directory_path() / "joblib_example_resumable";
  std::filesystem::remove_all(dir);
  std::puts("first run:");
  const int first = run_self(argv[0], 1, dir);
  std::puts("second run:");
  const int second = run_self(argv[0], 2, dir);
  std::filesystem::remove_all(dir);
  return first == 3 && second == 0 ? 0 : 1;
}
