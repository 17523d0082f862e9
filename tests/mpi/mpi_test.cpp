// backend::mpi, run under mpiexec with 2, 3 and 4 ranks (and alone, without mpiexec). Every
// rank runs every test case in the same order, as an MPI program makes the same calls on every
// rank; a check that fails on any rank fails the run.
#define CATCH_CONFIG_RUNNER
#include <joblib/memory.hpp>
#include <joblib/mpi.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "catch.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

joblib::mpi::session* the_session = nullptr;

joblib::mpi::session& mpi() { return *the_session; }

joblib::parallel_options on_ranks(int n_jobs = 1) {
  return {.n_jobs = n_jobs, .backend = joblib::backend::mpi};
}

// A folder every rank sees (the same path: rank 0 names it), removed at the end of the scope.
class shared_dir {
 public:
  shared_dir() {
    std::string name;
    if (mpi().rank() == 0) {
      name = (fs::temp_directory_path() /
              ("joblib-mpi-test-" + std::to_string(::getpid()) + "-" + std::to_string(++made_)))
                 .string();
      fs::create_directories(name);
    }
    int size = static_cast<int>(name.size());
    MPI_Bcast(&size, 1, MPI_INT, 0, MPI_COMM_WORLD);
    name.resize(static_cast<std::size_t>(size));
    MPI_Bcast(name.data(), size, MPI_CHAR, 0, MPI_COMM_WORLD);
    path_ = name;
  }
  shared_dir(const shared_dir&) = delete;
  shared_dir& operator=(const shared_dir&) = delete;
  ~shared_dir() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (mpi().rank() == 0) fs::remove_all(path_);
  }
  const fs::path& path() const noexcept { return path_; }

 private:
  static inline int made_ = 0;
  fs::path path_;
};

// Appends one line to `file` (O_APPEND: lines from several processes never mix).
void append_line(const fs::path& file, const std::string& line) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  REQUIRE(fd >= 0);
  const std::string text = line + "\n";
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
}

std::size_t count_lines(const fs::path& file) {
  std::ifstream in(file);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

void busy_for(std::chrono::microseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
  }
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

struct user_error {
  std::string text;
};

}  // namespace

TEST_CASE("mpi: results equal a sequential loop on every rank", "[mpi]") {
  const int n_jobs = GENERATE(1, 2);
  CAPTURE(mpi().rank(), mpi().size(), n_jobs);
  auto square = [](int i) { return std::vector<double>{i * 1.0, i * 0.5}; };
  const auto r = joblib::parallel{on_ranks(n_jobs)}(std::views::iota(0, 1000) |
                                                    std::views::transform(joblib::delayed(square)));
  REQUIRE(r.size() == 1000);
  for (int i = 0; i < 1000; ++i) CHECK(r[static_cast<std::size_t>(i)] == square(i));

  const auto words = joblib::parallel{on_ranks(n_jobs)}(
      std::views::iota(0, 57) | std::views::transform(joblib::delayed(
                                    [](int i) { return std::string(i % 7, 'a' + i % 26); })));
  REQUIRE(words.size() == 57);
  for (int i = 0; i < 57; ++i)
    CHECK(words[static_cast<std::size_t>(i)] == std::string(i % 7, 'a' + i % 26));

  const auto none = joblib::parallel{on_ranks(n_jobs)}(
      std::views::iota(0, 0) | std::views::transform(joblib::delayed([](int i) { return i; })));
  CHECK(none.empty());
}

TEST_CASE("mpi: imbalanced tasks are spread over every rank", "[mpi]") {
  // The first tasks are 50 times longer than the rest: every rank gets work, and no rank does
  // much more of it than an even share.
  const auto r = joblib::parallel{on_ranks()}(std::views::iota(0, 400) |
                                              std::views::transform(joblib::delayed([](int i) {
                                                busy_for(i < 40 ? 5000us : 100us);
                                                return std::pair<int, int>(i, mpi().rank());
                                              })));
  REQUIRE(r.size() == 400);
  std::vector<double> busy(static_cast<std::size_t>(mpi().size()), 0);
  for (int i = 0; i < 400; ++i) {
    CHECK(r[static_cast<std::size_t>(i)].first == i);
    busy[static_cast<std::size_t>(r[static_cast<std::size_t>(i)].second)] += i < 40 ? 5.0 : 0.1;
  }
  CAPTURE(busy);
  const double total = std::accumulate(busy.begin(), busy.end(), 0.0);
  for (double b : busy) CHECK(b > 0);  // every rank did work
  if (mpi().size() > 1) {
    // No rank did more than twice its share (the guided tail keeps the last batches small).
    for (double b : busy) CHECK(b < 2.0 * total / mpi().size());
  }
}

TEST_CASE("mpi: as many long tasks as ranks run one on each rank", "[mpi]") {
  // Sleeping tasks: each rank takes one, none waits behind another on a busy rank.
  const auto ran_on = joblib::parallel{on_ranks()}(std::views::iota(0, mpi().size()) |
                                                   std::views::transform(joblib::delayed([](int) {
                                                     std::this_thread::sleep_for(200ms);
                                                     return mpi().rank();
                                                   })));
  CHECK(std::set<int>(ran_on.begin(), ran_on.end()).size() ==
        static_cast<std::size_t>(mpi().size()));
}

TEST_CASE("mpi: a task's exception is rethrown on every rank, naming its task and rank", "[mpi]") {
  if (mpi().size() == 1) return;
  const int thrower = GENERATE(0, 1);
  CAPTURE(thrower);
  // Tasks take a millisecond, so that rank 0 has time for batches of its own between messages.
  auto calls = std::views::iota(0, 200) | std::views::transform(joblib::delayed([thrower](int i) {
                 if (mpi().rank() == thrower) {
                   throw std::out_of_range("task " + std::to_string(i) + " is out of range");
                 }
                 busy_for(1000us);
                 return i;
               }));
  try {
    joblib::parallel{{.n_jobs = 1, .backend = joblib::backend::mpi, .batch_size = 1}}(calls);
    FAIL("no exception");
  } catch (const std::out_of_range& e) {
    CHECK(contains(e.what(), "is out of range"));
    CHECK(contains(e.what(), ", on MPI rank " + std::to_string(thrower) + "]"));
  }
  // A type that cannot be rebuilt arrives as task_error with its type name.
  try {
    joblib::parallel{on_ranks()}(std::views::iota(0, 50) |
                                 std::views::transform(joblib::delayed([](int i) {
                                   if (i == 17) throw user_error{"seventeen"};
                                   return i;
                                 })));
    FAIL("no exception");
  } catch (const joblib::task_error& e) {
    CHECK(e.index() == 17);
    CHECK(contains(e.type(), "user_error"));
  }
  // The session is still in step: the next call works.
  const auto r = joblib::parallel{on_ranks()}(
      std::views::iota(0, 10) | std::views::transform(joblib::delayed([](int i) { return i; })));
  CHECK(r.size() == 10);
}

TEST_CASE("mpi: stop on rank 0 cancels the call on every rank", "[mpi]") {
  if (mpi().size() == 1) return;
  // A watchdog on rank 0 requests the stop after 50 ms: every rank gets cancelled_error, long
  // before the 4,000 tasks of 1 ms could have run.
  joblib::stop_source stop;
  auto o = on_ranks();
  o.stop = stop.get_token();
  o.batch_size = 1;
  std::optional<std::jthread> watchdog;
  if (mpi().rank() == 0) {
    watchdog.emplace([&] {
      std::this_thread::sleep_for(50ms);
      stop.request_stop();
    });
  }
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(joblib::parallel{o}(std::views::iota(0, 4000) |
                                      std::views::transform(joblib::delayed([](int i) {
                                        busy_for(1000us);
                                        return i;
                                      }))),
                  joblib::cancelled_error);
  CHECK(std::chrono::steady_clock::now() - start < 1500ms);
}

TEST_CASE("mpi: ranks that reach different calls get an error on every rank, not a hang", "[mpi]") {
  if (mpi().size() == 1) return;
  const auto start = std::chrono::steady_clock::now();
  SECTION("different task counts") {
    const int n = mpi().rank() == mpi().size() - 1 ? 101 : 100;
    try {
      joblib::parallel{on_ranks()}(std::views::iota(0, n) |
                                   std::views::transform(joblib::delayed([](int i) { return i; })));
      FAIL("no exception");
    } catch (const joblib::error& e) {
      CHECK(contains(e.what(), "different backend::mpi calls"));
      CHECK(contains(e.what(), "101 tasks"));
    }
  }
  SECTION("different call sites") {
    auto call = [](auto f) {
      return joblib::parallel{on_ranks()}(std::views::iota(0, 10) |
                                          std::views::transform(joblib::delayed(f)));
    };
    if (mpi().rank() == 0) {
      CHECK_THROWS_AS(call([](int i) { return i; }), joblib::error);
    } else {
      CHECK_THROWS_AS(call([](int i) { return i + 1; }), joblib::error);
    }
  }
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  // Every rank threw at the same call: they are in step again.
  const auto r = joblib::parallel{on_ranks()}(
      std::views::iota(0, 10) | std::views::transform(joblib::delayed([](int i) { return i; })));
  CHECK(r.size() == 10);
}

TEST_CASE("mpi: without several ranks a call runs on this process's threads", "[mpi]") {
  // Inside a task, and on a job of one rank, backend::mpi is the thread backend.
  const auto inner = joblib::parallel{on_ranks()}(
      std::views::iota(0, 4) | std::views::transform(joblib::delayed([](int) {
        const auto threads = joblib::parallel{on_ranks(2)}(
            std::views::iota(0, 64) | std::views::transform(joblib::delayed([](int) {
              busy_for(200us);
              return std::hash<std::thread::id>{}(std::this_thread::get_id());
            })));
        return std::set<std::size_t>(threads.begin(), threads.end()).size();
      })));
  for (std::size_t distinct : inner) CHECK(distinct >= 1);
  if (mpi().size() == 1) {
    const auto ids = joblib::parallel{on_ranks(2)}(
        std::views::iota(0, 64) | std::views::transform(joblib::delayed([](int) {
          busy_for(200us);
          return std::hash<std::thread::id>{}(std::this_thread::get_id());
        })));
    CHECK(std::set<std::size_t>(ids.begin(), ids.end()).size() == 2);
  }
}

TEST_CASE("mpi: 100,000 tiny tasks", "[mpi]") {
  const auto r = joblib::parallel{on_ranks()}(
      std::views::iota(0, 100'000) |
      std::views::transform(joblib::delayed([](int i) { return std::int64_t{i} * 3; })));
  REQUIRE(r.size() == 100'000);
  std::int64_t wrong = 0;
  for (int i = 0; i < 100'000; ++i) wrong += r[static_cast<std::size_t>(i)] != std::int64_t{i} * 3;
  CHECK(wrong == 0);
}

TEST_CASE("mpi: a 300 MB result reaches every rank, in parts MPI counts can hold", "[mpi][large]") {
  // Parts of 64 MiB stand for MPI's 2 GiB limit: the same code splits both.
  const std::size_t saved = joblib::mpi::detail::max_part_bytes();
  joblib::mpi::detail::max_part_bytes() = std::size_t{64} << 20;
  constexpr std::size_t bytes = 300'000'000;
  const bool root_only = GENERATE(false, true);
  CAPTURE(root_only);
  auto o = on_ranks();
  o.results_on_root_only = root_only;
  const auto r =
      joblib::parallel{o}(std::views::iota(0, 3) | std::views::transform(joblib::delayed([](int i) {
                            std::vector<std::uint8_t> v(i == 1 ? bytes : 16);
                            for (std::size_t k = 0; k < v.size(); k += 4096)
                              v[k] = static_cast<std::uint8_t>(k / 4096 + i);
                            return v;
                          })));
  joblib::mpi::detail::max_part_bytes() = saved;
  if (root_only && mpi().rank() != 0) {
    CHECK(r.empty());
    return;
  }
  REQUIRE(r.size() == 3);
  REQUIRE(r[1].size() == bytes);
  std::size_t wrong = 0;
  for (std::size_t k = 0; k < bytes; k += 4096)
    wrong += r[1][k] != static_cast<std::uint8_t>(k / 4096 + 1);
  CHECK(wrong == 0);
  CHECK(r[2].size() == 16);
}

TEST_CASE("mpi: void tasks run once each", "[mpi]") {
  shared_dir dir;
  joblib::parallel{{.n_jobs = 2, .backend = joblib::backend::mpi, .batch_size = 3}}(
      std::views::iota(0, 90) | std::views::transform(joblib::delayed([&](int i) {
        append_line(dir.path() / "ran", std::to_string(i));
      })));
  if (mpi().rank() == 0) {
    std::ifstream in(dir.path() / "ran");
    std::multiset<int> ran;
    for (int i; in >> i;) ran.insert(i);
    CHECK(ran.size() == 90);
    CHECK(std::set<int>(ran.begin(), ran.end()).size() == 90);
  }
}

TEST_CASE("mpi: generators and collect are refused on several ranks", "[mpi]") {
  auto calls =
      std::views::iota(0, 4) | std::views::transform(joblib::delayed([](int i) { return i; }));
  if (mpi().size() > 1) {
    CHECK_THROWS_AS(joblib::parallel{on_ranks()}.generator(calls), joblib::invalid_argument);
    CHECK_THROWS_AS(joblib::parallel{on_ranks()}.collect(calls), joblib::invalid_argument);
  } else {
    CHECK(joblib::parallel{on_ranks()}.collect(calls).size() == 4);
  }
}

TEST_CASE("mpi: a cached function called on every rank at once computes once", "[mpi]") {
  shared_dir dir;
  joblib::memory memory(dir.path() / "cache");
  auto slow_square = memory.cache("slow_square", [&](int x) {
    append_line(dir.path() / "computed", std::to_string(mpi().rank()));
    std::this_thread::sleep_for(200ms);
    return x * x;
  });
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(slow_square(12) == 144);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(count_lines(dir.path() / "computed") == 1);
}

int main(int argc, char** argv) {
  joblib::mpi::session session(argc, argv);
  the_session = &session;
  const int failed = Catch::Session().run(argc, argv);
  // Every rank exits with the job's verdict, so that mpiexec fails when any rank failed.
  int any = failed != 0 ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any;
}
