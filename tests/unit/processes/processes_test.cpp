// The process backend: same results as threads, and a task that throws, crashes or hangs
// costs that task, not the call.
#include <joblib/parallel.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <list>
#include <numeric>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "child_process.hpp"
#include "temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr bool sanitized =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

constexpr bool thread_sanitized =
#if defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

joblib::parallel_options processes(int n_jobs = 2) {
  joblib::parallel_options o;
  o.n_jobs = n_jobs;
  o.backend = joblib::backend::processes;
  return o;
}

// A sanitizer's own SEGV handler reports the crash and aborts: the worker then dies of SIGABRT.
bool died_of(const joblib::worker_crashed_error& e, int signal) {
  if (e.signal() == signal) return true;
  return sanitized && (e.signal() != 0 || e.exit_status() > 0);
}

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

std::size_t entries_in(const fs::path& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it) ++n;
  return n;
}

bool has_children() { return ::waitpid(-1, nullptr, WNOHANG) != -1 || errno != ECHILD; }

// Gone, or a zombie waiting for an init that does not reap.
bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

// Crashes as a task can. The test framework's crash handlers (inherited by the worker) are
// reset first: they would report a failed test from the worker before it dies.
void crash(int how) {
  std::signal(SIGSEGV, SIG_DFL);
  std::signal(SIGABRT, SIG_DFL);
  switch (how) {
    case 0:
      ::raise(SIGSEGV);
      break;
    case 1:
      std::abort();
    case 2:
      std::terminate();
    default:
      std::exit(3);
  }
}

}  // namespace

TEST_CASE("processes: results equal the thread backend's, in input order", "[processes]") {
  const std::vector<double> data = [] {
    std::vector<double> v(1000);
    std::iota(v.begin(), v.end(), 0.0);
    return v;
  }();
  // The lambda captures by reference: the workers read the caller's data copy-on-write.
  auto calls =
      std::views::iota(0, 1000) | std::views::transform([&data](int i) {
        return [&data, i] { return std::to_string(data[static_cast<std::size_t>(i)] * 2); };
      });
  const std::vector<std::string> expected = joblib::parallel({.n_jobs = 2})(calls);
  const std::vector<std::string> got = joblib::parallel{processes()}(calls);
  CHECK(got == expected);

  SECTION("in worker processes, not in the caller") {
    const pid_t caller = ::getpid();
    const auto pids = joblib::parallel{processes()}(
        std::views::iota(0, 20) |
        std::views::transform(joblib::delayed([](int) { return ::getpid(); })));
    for (pid_t p : pids) CHECK(p != caller);
  }
  SECTION("fixed batch sizes") {
    auto o = processes(3);
    o.batch_size = 7;
    CHECK(joblib::parallel{o}(calls) == expected);
  }
  SECTION("one job still isolates the tasks in one worker process") {
    const auto pids = joblib::parallel{processes(1)}(
        std::views::iota(0, 5) |
        std::views::transform(joblib::delayed([](int) { return ::getpid(); })));
    CHECK(std::set<pid_t>(pids.begin(), pids.end()).size() == 1);
    CHECK(pids[0] != ::getpid());
  }
}

TEST_CASE("processes: void tasks, empty inputs, input ranges that cannot be indexed",
          "[processes]") {
  test::temp_dir dir("processes");
  joblib::parallel{processes()}(std::views::iota(0, 10) |
                                std::views::transform(joblib::delayed([&](int i) {
                                  std::ofstream(dir.path() / std::to_string(i)) << i;
                                })));
  CHECK(entries_in(dir.path()) == 10);

  CHECK(
      joblib::parallel{processes()}(std::views::iota(0, 0) |
                                    std::views::transform(joblib::delayed([](int i) { return i; })))
          .empty());

  std::list<int> inputs{5, 6, 7};
  const auto r = joblib::parallel{processes()}(
      inputs | std::views::transform(joblib::delayed([](int i) { return i * 10; })));
  CHECK(r == std::vector<int>{50, 60, 70});
}

TEST_CASE("processes: a task's exception is rethrown with its type and names the task",
          "[processes]") {
  auto throwing = [](int which) {
    return std::views::iota(0, 8) | std::views::transform(joblib::delayed([which](int i) {
             if (i == 5) {
               if (which == 0) throw std::out_of_range("index too far");
               if (which == 1) throw joblib::format_error("data.jl", 24, "bad magic");
               struct local_error {};
               if (which == 2) throw std::runtime_error("plain runtime error");
             }
             return i;
           }));
  };
  try {
    joblib::parallel{processes()}(throwing(0));
    FAIL("no exception");
  } catch (const std::out_of_range& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("index too far"));
    CHECK_THAT(e.what(), Catch::Contains("task 5"));
  }
  try {
    joblib::parallel{processes()}(throwing(1));
    FAIL("no exception");
  } catch (const joblib::format_error& e) {
    CHECK(e.path() == "data.jl");
    CHECK(e.offset() == 24u);
    CHECK_THAT(e.what(), Catch::Contains("task 5"));
  }
  CHECK_THROWS_AS(joblib::parallel{processes()}(throwing(2)), std::runtime_error);
}

namespace sweep {
struct divergence : std::exception {
  const char* what() const noexcept override { return "solver diverged"; }
};
}  // namespace sweep

TEST_CASE("processes: an exception of a user type arrives as task_error with its type name",
          "[processes]") {
  try {
    joblib::parallel{processes()}(std::views::iota(0, 4) |
                                  std::views::transform(joblib::delayed([](int i) {
                                    if (i == 2) throw sweep::divergence();
                                    return i;
                                  })));
    FAIL("no exception");
  } catch (const joblib::task_error& e) {
    CHECK(e.index() == 2);
    CHECK(e.type() == "sweep::divergence");
    CHECK(e.original_what() == "solver diverged");
  }
}

TEST_CASE("processes: a crashing task costs that task, named with its signal or status",
          "[processes]") {
  const int how = GENERATE(0, 1, 2, 3);   // SIGSEGV, abort, std::terminate, exit(3)
  const int where = GENERATE(0, 23, 49);  // first, middle, last
  CAPTURE(how, where);
  auto calls = std::views::iota(0, 50) | std::views::transform(joblib::delayed([=](int i) {
                 if (i == where) crash(how);
                 return i * i;
               }));

  SECTION("the call throws worker_crashed_error naming the task") {
    try {
      joblib::parallel{processes()}(calls);
      FAIL("no exception");
    } catch (const joblib::worker_crashed_error& e) {
      CHECK(e.index() == static_cast<std::size_t>(where));
      CHECK_THAT(e.what(), Catch::Contains("task " + std::to_string(where)));
      if (how == 0) CHECK(died_of(e, SIGSEGV));
      if (how == 1 || how == 2) CHECK(died_of(e, SIGABRT));
      if (how == 3) {
        CHECK(e.signal() == 0);
        CHECK(e.exit_status() == 3);
        CHECK_THAT(e.what(), Catch::Contains("exit status 3"));
      }
    }
    CHECK_FALSE(has_children());
  }
  SECTION("collect: the failure is that task's outcome, every other result is right") {
    const auto outcomes = joblib::parallel{processes()}.collect(calls);
    REQUIRE(outcomes.size() == 50);
    for (int i = 0; i < 50; ++i) {
      const auto& o = outcomes[static_cast<std::size_t>(i)];
      if (i == where) {
        REQUIRE_FALSE(o.ok());
        CHECK(o.failure().index == static_cast<std::size_t>(where));
        CHECK(o.failure().kind == joblib::failure_kind::crash);
        CHECK_THROWS_AS(o.failure().rethrow(), joblib::worker_crashed_error);
        if (how == 3) CHECK(o.failure().exit_status == 3);
        if (how == 0 && !sanitized) CHECK(o.failure().signal == SIGSEGV);
      } else {
        REQUIRE(o.ok());
        CHECK(o.value() == i * i);
      }
    }
  }
}

TEST_CASE("processes: collect reports exceptions and goes on", "[processes]") {
  const auto outcomes = joblib::parallel{processes()}.collect(
      std::views::iota(0, 30) | std::views::transform(joblib::delayed([](int i) {
        if (i % 10 == 3) throw std::invalid_argument("bad input " + std::to_string(i));
        return i;
      })));
  REQUIRE(outcomes.size() == 30);
  for (int i = 0; i < 30; ++i) {
    const auto& o = outcomes[static_cast<std::size_t>(i)];
    if (i % 10 == 3) {
      REQUIRE_FALSE(o.ok());
      CHECK(o.failure().kind == joblib::failure_kind::exception);
      CHECK(o.failure().type == "std::invalid_argument");
      CHECK_THAT(o.failure().what, Catch::Contains("bad input " + std::to_string(i)));
      CHECK_THROWS_AS(o.value(), std::invalid_argument);
    } else {
      CHECK(o.value() == i);
    }
  }
}

TEST_CASE("processes: a task that hangs is killed at its timeout", "[processes]") {
  auto o = processes();
  o.timeout = 0.5s;
  auto calls = std::views::iota(0, 6) | std::views::transform(joblib::delayed([](int i) {
                 if (i == 4) {
                   for (;;) std::this_thread::sleep_for(1s);  // hangs
                 }
                 return i;
               }));
  const auto start = std::chrono::steady_clock::now();
  SECTION("the call throws timeout_error at the deadline, not when the task returns") {
    try {
      joblib::parallel{o}(calls);
      FAIL("no exception");
    } catch (const joblib::timeout_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("task 4"));
    }
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK_FALSE(has_children());
  }
  SECTION("collect: a timeout outcome, the other results") {
    const auto outcomes = joblib::parallel{o}.collect(calls);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    REQUIRE(outcomes.size() == 6);
    CHECK(outcomes[4].failure().kind == joblib::failure_kind::timeout);
    CHECK_THROWS_AS(outcomes[4].failure().rethrow(), joblib::timeout_error);
    for (int i : {0, 1, 2, 3, 5}) CHECK(outcomes[static_cast<std::size_t>(i)].value() == i);
  }
}

TEST_CASE("processes: retries turn a transient failure into a success, on a fresh worker",
          "[processes]") {
  test::temp_dir dir("processes");
  // Crashes (or throws) the first time each of tasks 2 and 7 runs: a marker file remembers.
  // When `staggered`, the first run of task 7 waits (up to 10 s) until task 2's retry has run.
  auto flaky = [&](bool crashes, bool staggered) {
    return std::views::iota(0, 10) |
           std::views::transform(joblib::delayed([&dir, crashes, staggered](int i) {
             const fs::path marker = dir.path() / ("ran-" + std::to_string(i));
             const fs::path retried = dir.path() / "retried-2";
             if ((i == 2 || i == 7) && !fs::exists(marker)) {
               for (int k = 0; staggered && i == 7 && !fs::exists(retried) && k < 1000; ++k) {
                 std::this_thread::sleep_for(10ms);
               }
               std::ofstream(marker) << ::getpid();
               if (crashes) ::raise(SIGKILL);
               throw std::runtime_error("transient");
             }
             if (i == 2) std::ofstream(retried) << "yes";
             return std::make_pair(i, static_cast<int>(::getpid()));
           }));
  };
  const bool crashes = GENERATE(true, false);
  CAPTURE(crashes);
  auto check_retried = [&](const std::vector<std::pair<int, int>>& r) {
    REQUIRE(r.size() == 10);
    for (int i = 0; i < 10; ++i) CHECK(r[static_cast<std::size_t>(i)].first == i);
    for (int i : {2, 7}) {
      int failed_on = 0;
      std::ifstream(dir.path() / ("ran-" + std::to_string(i))) >> failed_on;
      CHECK(r[static_cast<std::size_t>(i)].second != failed_on);  // another worker process
    }
  };
  auto o = processes();
  SECTION("without retries the failure stands") {
    CHECK_THROWS(joblib::parallel{o}(flaky(crashes, false)));
  }
  SECTION("one retry") {
    o.retries = 1;
    check_retried(joblib::parallel{o}(flaky(crashes, false)));
  }
  SECTION("a generator's retries go out even when it is far ahead of its consumer") {
    o.retries = 1;
    o.batch_size = 1;
    std::vector<std::pair<int, int>> r;
    for (const auto& x : joblib::parallel{o}.generator(flaky(crashes, false))) r.push_back(x);
    check_retried(r);
  }
  SECTION("a worker that already failed once fails again, after the first retry got its worker") {
    // One worker with both batches: task 7 fails on it once the worker forked for task 2's
    // retry has run it, so task 7's retry needs a worker fresher than that one.
    o = processes(1);
    o.retries = 1;
    o.batch_size = 5;
    check_retried(joblib::parallel{o}(flaky(crashes, true)));
  }
}

TEST_CASE("processes: generators yield results while tasks still run", "[processes]") {
  test::temp_dir dir("processes");
  const fs::path first_seen = dir.path() / "first-seen";
  // The last task waits (up to 10 s) for the consumer to have seen a result: only a generator
  // that yields before the call ends lets it see the marker.
  auto calls = std::views::iota(0, 6) | std::views::transform(joblib::delayed([&](int i) {
                 if (i == 5) {
                   for (int k = 0; k < 1000 && !fs::exists(first_seen); ++k) {
                     std::this_thread::sleep_for(10ms);
                   }
                   return fs::exists(first_seen) ? 1 : -1;
                 }
                 return i * 100;
               }));
  const bool ordered = GENERATE(true, false);
  CAPTURE(ordered);
  auto o = processes();
  o.batch_size = 1;
  std::vector<int> got;
  auto consume = [&](auto&& gen) {
    for (int x : gen) {
      if (got.empty()) std::ofstream(first_seen) << "yes";
      got.push_back(x);
    }
  };
  if (ordered) {
    consume(joblib::parallel{o}.generator(calls));
    CHECK(got == std::vector<int>{0, 100, 200, 300, 400, 1});
  } else {
    consume(joblib::parallel{o}.generator_unordered(calls));
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{0, 1, 100, 200, 300, 400});
  }
}

TEST_CASE("processes: a dropped generator kills its workers", "[processes]") {
  {
    auto gen = joblib::parallel{processes()}.generator(
        std::views::iota(0, 100) | std::views::transform(joblib::delayed([](int i) {
          if (i > 0) std::this_thread::sleep_for(10s);
          return i;
        })));
    CHECK(*gen.begin() == 0);
  }
  CHECK_FALSE(has_children());
}

TEST_CASE("processes: a nested parallel call inside a task runs on a pool of the worker's own",
          "[processes]") {
  if (thread_sanitized) return;  // TSan does not support threads started after a multithreaded fork
  // The caller's global pool has threads; the worker has none of them and must not wait on them.
  CHECK(
      joblib::parallel({.n_jobs = 2})(
          std::views::iota(0, 4) | std::views::transform(joblib::delayed([](int i) { return i; })))
          .size() == 4);
  const auto sums = joblib::parallel{processes()}(
      std::views::iota(0, 4) | std::views::transform(joblib::delayed([](int i) {
        const auto inner = joblib::parallel({.n_jobs = 2})(
            std::views::iota(0, 100) |
            std::views::transform(joblib::delayed([i](int k) { return i * k; })));
        return std::accumulate(inner.begin(), inner.end(), 0L);
      })));
  CHECK(sums == std::vector<long>{0, 4950, 9900, 14850});
}

TEST_CASE("processes: a large array result travels through shared memory", "[processes]") {
  // 100 MB of the caller's data, read copy-on-write by the task, returned as an ndarray.
  const std::size_t n = 100'000'000 / sizeof(double);
  std::vector<double> source(n);
  for (std::size_t i = 0; i < n; ++i) source[i] = static_cast<double>(i % 1000) * 0.5;
  const auto arrays = joblib::parallel{processes(1)}(
      std::views::iota(0, 1) | std::views::transform(joblib::delayed([&source](int) {
        joblib::ndarray<double> a({source.size() / 1000, 1000});
        std::copy(source.begin(), source.end(), a.data());
        return a;
      })));
  REQUIRE(arrays.size() == 1);
  const auto& a = arrays[0];
  REQUIRE(std::ranges::equal(a.shape(), std::vector<std::size_t>{n / 1000, 1000}));
  CHECK(std::equal(source.begin(), source.end(), a.data()));
  // Viewed in place in the worker's unnamed shared memory, not copied out of a pipe.
  std::ifstream maps("/proc/self/maps");
  std::string line;
  bool mapped = false;
  while (std::getline(maps, line))
    mapped = mapped || line.find("memfd:joblib-result") != std::string::npos;
  CHECK(mapped);
  // Writable: the mapping is private to the caller.
  auto copy = arrays;
  copy[0].data()[0] = 42.0;
  CHECK(copy[0].data()[0] == 42.0);

  SECTION("small arrays and temp_folder") {
    test::temp_dir dir("processes");
    auto o = processes();
    o.max_nbytes = 1024;
    o.temp_folder = dir.path();
    const auto r = joblib::parallel{o}(
        std::views::iota(0, 6) | std::views::transform(joblib::delayed([](int i) {
          return std::vector<float>(static_cast<std::size_t>(100 * i), 1.5f);
        })));
    for (int i = 0; i < 6; ++i)
      CHECK(r[static_cast<std::size_t>(i)] ==
            std::vector<float>(static_cast<std::size_t>(100 * i), 1.5f));
    CHECK(entries_in(dir.path()) == 0);  // O_TMPFILE: never named
  }
}

TEST_CASE("processes: many calls leak no descriptor, child or shared-memory file", "[processes]") {
  const int calls = sanitized ? 200 : 2000;
  const std::size_t fds = open_fds();
  const std::size_t shm = entries_in("/dev/shm");
  for (int k = 0; k < calls; ++k) {
    const auto r = joblib::parallel{processes()}(
        std::views::iota(0, 4) |
        std::views::transform(joblib::delayed([k](int i) { return k + i; })));
    REQUIRE(r[3] == k + 3);
  }
  CHECK(open_fds() == fds);
  CHECK_FALSE(has_children());
  CHECK(entries_in("/dev/shm") == shm);
}

TEST_CASE("processes: max_tasks_per_worker replaces workers", "[processes]") {
  auto o = processes(1);
  o.max_tasks_per_worker = 2;
  const auto pids =
      joblib::parallel{o}(std::views::iota(0, 10) |
                          std::views::transform(joblib::delayed([](int) { return ::getpid(); })));
  CHECK(std::set<pid_t>(pids.begin(), pids.end()).size() == 5);
  CHECK_FALSE(has_children());
}

TEST_CASE("processes: a caller killed mid-call leaves no worker behind", "[processes]") {
  int report[2];
  REQUIRE(::pipe(report) == 0);
  std::fflush(nullptr);
  const pid_t caller = ::fork();
  if (caller == 0) {
    ::close(report[0]);
    try {
      joblib::parallel{processes()}(
          std::views::iota(0, 2) | std::views::transform(joblib::delayed([&](int) {
            const pid_t self = ::getpid();
            [[maybe_unused]] auto n = ::write(report[1], &self, sizeof self);
            std::this_thread::sleep_for(60s);
            return 0;
          })));
    } catch (...) {
    }
    ::_exit(0);
  }
  ::close(report[1]);
  std::vector<pid_t> workers(2);
  for (auto& w : workers) REQUIRE(::read(report[0], &w, sizeof w) == sizeof w);
  ::close(report[0]);
  ::kill(caller, SIGKILL);
  ::waitpid(caller, nullptr, 0);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline &&
         !(process_gone(workers[0]) && process_gone(workers[1]))) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(process_gone(workers[0]));
  CHECK(process_gone(workers[1]));
}

TEST_CASE("processes: what the caller buffered for stdout is not printed again by workers",
          "[processes]") {
  test::temp_dir dir("processes");
  const fs::path out = dir.path() / "stdout.txt";
  const int status = test::in_child([&] {
    if (!std::freopen(out.c_str(), "w", stdout)) return 1;
    std::printf("caller-line\n");  // stays in stdio's buffer: a file is fully buffered
    joblib::parallel{processes()}(std::views::iota(0, 3) |
                                  std::views::transform(joblib::delayed([](int i) {
                                    std::printf("task-%d\n", i);
                                    return i;
                                  })));
    std::fflush(stdout);
    return 0;
  });
  REQUIRE(status == 0);
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t count = 0;
  for (auto pos = text.find("caller-line"); pos != std::string::npos;
       pos = text.find("caller-line", pos + 1))
    ++count;
  CHECK(count == 1);
  for (int i = 0; i < 3; ++i) CHECK_THAT(text, Catch::Contains("task-" + std::to_string(i)));
}

TEST_CASE("processes: progress, stop and a result type that cannot travel", "[processes]") {
  SECTION("on_progress sees every task") {
    std::size_t last = 0;
    auto o = processes();
    o.on_progress = [&](const joblib::progress_info& p) { last = p.completed; };
    joblib::parallel{o}(std::views::iota(0, 40) |
                        std::views::transform(joblib::delayed([](int i) { return i; })));
    CHECK(last == 40);
  }
  SECTION("stop cancels the call and kills the workers") {
    joblib::stop_source stop;
    auto o = processes();
    o.stop = stop.get_token();
    std::thread stopper([&] {
      std::this_thread::sleep_for(200ms);
      stop.request_stop();
    });
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(joblib::parallel{o}(std::views::iota(0, 4) |
                                        std::views::transform(joblib::delayed([](int i) {
                                          std::this_thread::sleep_for(30s);
                                          return i;
                                        }))),
                    joblib::cancelled_error);
    stopper.join();
    CHECK(std::chrono::steady_clock::now() - start < 10s);
    CHECK_FALSE(has_children());
  }
  SECTION("a result that cannot be read back is invalid_argument before any fork") {
    CHECK_THROWS_AS(joblib::parallel{processes()}(std::views::iota(0, 2) |
                                                  std::views::transform(joblib::delayed([](int) {
                                                    return std::string_view("view");
                                                  }))),
                    joblib::invalid_argument);
  }
}
