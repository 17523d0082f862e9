// backend::mpi on the cases of docs/BENCHMARKS.md ("MPI") and docs/SCALING.md: tiny tasks,
// tasks spinning 10 µs, 100 µs and 1 ms, and the coordinator's rate with batches of one task.
// With --threads-backend the same cases run on the thread backend (no MPI dispatch), the
// comparison for "ranks x 1 thread". mpi4py.futures runs the same jobs in mpi4py_anchor.py.
//
//   mpirun --oversubscribe -np 2 build/release/benchmarks/mpi/joblib_bench_mpi [--threads T]
//   build/release/benchmarks/mpi/joblib_bench_mpi --threads-backend --threads 2
//
// Options: --threads T (n_jobs per rank, default 1), --runs R (repetitions, medians; default
// 3). Prints one JSON object on rank 0.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <joblib/mpi.hpp>
#include <joblib/parallel.hpp>
#include <optional>
#include <ranges>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct settings {
  int threads = 1;
  bool threads_backend = false;
  int runs = 3;
};

settings parse(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      s.threads = std::atoi(argv[++i]);
    } else if (a == "--runs" && i + 1 < argc) {
      s.runs = std::atoi(argv[++i]);
    } else if (a == "--threads-backend") {
      s.threads_backend = true;
    } else {
      std::fprintf(stderr, "usage: %s [--threads T] [--runs R] [--threads-backend]\n", argv[0]);
      std::exit(2);
    }
  }
  if (s.threads < 1 || s.runs < 1) {
    std::fprintf(stderr, "%s: --threads and --runs take a positive number\n", argv[0]);
    std::exit(2);
  }
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 != 0 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// ---- the cases ------------------------------------------------------------------------------
// Every case is the same on every rank; each call's wall time is rank 0's (from before the
// call until its results are in place, the final broadcast included).

constexpr int tiny_n = 100'000;
// A tiny-task call lasts about a millisecond, the coordinator's tens: several calls per
// repetition, so that a scheduler hiccup of this shared machine moves a median, not a figure.
constexpr int short_calls = 9;

// Busy-wait tasks: they use the CPU as real work does. 1.5 s of work per case (0.75 s on two
// workers).
struct busy_case {
  const char* name;
  std::chrono::microseconds task;
  int n;
};
constexpr busy_case busy_cases[] = {{"10us", std::chrono::microseconds(10), 150'000},
                                    {"100us", std::chrono::microseconds(100), 15'000},
                                    {"1ms", std::chrono::microseconds(1000), 1'500}};

// The calling thread's CPU time: what rank 0 spends, whether or not the machine's other load
// takes its core away now and then (with n_jobs = 1 its batches run on this thread too).
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

long spin(int i, clock_type::duration d) {
  const auto end = clock_type::now() + d;
  while (clock_type::now() < end) {
  }
  return i;
}

// Coordinator: empty tasks in batches of one (or 16) task(s), results on rank 0 only; then
// batches of one with the results sent to every rank ("batch_size_1_all_ranks"): the final
// broadcast, one per batch, costs the difference.
constexpr int coordinator_n = 20'000;

class bench {
 public:
  bench(settings s, int rank, int ranks) : s_(s), rank_(rank), ranks_(ranks) {}

  // One repetition of every case, in a fixed order (the cases of one repetition see the same
  // load). A warm-up runs the short cases only: the first calls of a process are slower (the
  // first tiny-task call here takes 20 ms, the sixth 1 ms: MPI's shared memory, malloc growing
  // its heap and its mmap threshold, first-touched pages).
  void repetition(bool warm_up = false) {
    const auto twice = [](int i) { return static_cast<long>(i) * 2; };
    for (int k = 0; k < short_calls; ++k) {
      tiny_.push_back(seconds(tiny_n, twice, options(0, false), 2L * (tiny_n - 1)));
    }
    for (std::size_t c = 0; c < std::size(busy_cases) && !warm_up; ++c) {
      const auto d = std::chrono::duration_cast<clock_type::duration>(busy_cases[c].task);
      const int n = busy_cases[c].n;
      busy_[c].push_back(seconds(
          n, [d](int i) { return spin(i, d); }, options(0, false), long{n - 1}));
    }
    // Each task returns the rank that ran it: how the batches spread.
    const int rank = rank_;
    const auto where = [rank](int) { return rank; };
    for (int k = 0; k < short_calls; ++k) {
      for (std::size_t b = 0; b < std::size(batch_sizes); ++b) {
        const double cpu0 = thread_cpu_seconds();
        const auto t0 = clock_type::now();
        auto r = joblib::parallel(options(batch_sizes[b], true))(
            std::views::iota(0, coordinator_n) | std::views::transform(joblib::delayed(where)));
        coordinator_[b].push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
        coordinator_cpu_[b].push_back(thread_cpu_seconds() - cpu0);
        if (rank_ == 0) {
          rank0_tasks_[b].push_back(static_cast<double>(std::count(r.begin(), r.end(), 0)));
        }
      }
      const auto zero = [](int) { return 0; };
      broadcast_.push_back(seconds(coordinator_n, zero, options(1, false), 0));
    }
  }

  // Rank 0 to rank r and back, 24 bytes each way (a command's size), plain MPI_Send/MPI_Recv:
  // the transport's floor under a batch's round trip. Mean over many, the slowest rank's.
  double round_trip_us() const {
    constexpr int iterations = 2'000;
    char buffer[24] = {};
    double slowest = 0;
    for (int r = 1; r < ranks_; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      const auto t0 = clock_type::now();
      for (int k = 0; k < iterations; ++k) {
        if (rank_ == 0) {
          MPI_Send(buffer, sizeof buffer, MPI_BYTE, r, 0, MPI_COMM_WORLD);
          MPI_Recv(buffer, sizeof buffer, MPI_BYTE, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank_ == r) {
          MPI_Recv(buffer, sizeof buffer, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          MPI_Send(buffer, sizeof buffer, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
        }
      }
      const double us = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
      slowest = std::max(slowest, us / iterations);
    }
    return slowest;
  }

  void print(std::optional<double> round_trip) const {
    const int workers = ranks_ * s_.threads;
    std::printf(
        "{\n \"backend\": \"%s\", \"ranks\": %d, \"threads\": %d, \"workers\": %d, "
        "\"runs\": %d,\n",
        s_.threads_backend ? "threads" : "mpi", ranks_, s_.threads, workers, s_.runs);
    const double tiny = median(tiny_);
    std::printf(" \"tiny\": {\"n\": %d, \"wall_s\": %.6f, \"tasks_per_s\": %.1f},\n", tiny_n, tiny,
                tiny_n / tiny);
    std::printf(" \"busy\": {");
    for (std::size_t c = 0; c < std::size(busy_cases); ++c) {
      const busy_case& b = busy_cases[c];
      const double wall = median(busy_[c]);
      const double work = b.n * std::chrono::duration<double>(b.task).count();
      std::printf(
          "%s\n  \"%s\": {\"n\": %d, \"task_s\": %g, \"work_s\": %g, \"wall_s\": %.6f, "
          "\"efficiency\": %.4f}",
          c == 0 ? "" : ",", b.name, b.n, std::chrono::duration<double>(b.task).count(), work, wall,
          work / (workers * wall));
    }
    std::printf("},\n \"coordinator\": {");
    for (std::size_t b = 0; b < std::size(batch_sizes); ++b) {
      const double wall = median(coordinator_[b]);
      const double batches =
          static_cast<double>(coordinator_n) / static_cast<double>(batch_sizes[b]);
      const double share = median(rank0_tasks_[b]) / coordinator_n;
      std::printf(
          "%s\n  \"batch_size_%zu\": {\"n\": %d, \"batches\": %.0f, \"wall_s\": %.6f, "
          "\"batches_per_s\": %.1f, \"us_per_batch\": %.3f, "
          "\"rank0_cpu_us_per_batch\": %.3f, \"rank0_task_share\": %.4f, "
          "\"served_batches_per_s\": %.1f}",
          b == 0 ? "" : ",", batch_sizes[b], coordinator_n, batches, wall, batches / wall,
          1e6 * wall / batches, 1e6 * median(coordinator_cpu_[b]) / batches, share,
          batches * (1 - share) / wall);
    }
    const double bcast = median(broadcast_);
    std::printf(
        ",\n  \"batch_size_1_all_ranks\": {\"n\": %d, \"batches\": %d, \"wall_s\": %.6f, "
        "\"batches_per_s\": %.1f, \"us_per_batch\": %.3f}},\n",
        coordinator_n, coordinator_n, bcast, coordinator_n / bcast, 1e6 * bcast / coordinator_n);
    if (round_trip) {
      std::printf(" \"round_trip_us\": %.3f\n}\n", *round_trip);
    } else {
      std::printf(" \"round_trip_us\": null\n}\n");
    }
  }

 private:
  static constexpr std::size_t batch_sizes[] = {1, 16};

  joblib::parallel_options options(std::size_t batch_size, bool root_only) const {
    return {.n_jobs = s_.threads,
            .backend = s_.threads_backend ? joblib::backend::threads : joblib::backend::mpi,
            .batch_size = batch_size,
            .results_on_root_only = root_only};
  }

  // The wall time of one list call of n tasks f(i); checks its last result.
  template <class F>
  double seconds(int n, F f, const joblib::parallel_options& o, long last) const {
    const auto t0 = clock_type::now();
    auto r =
        joblib::parallel(o)(std::views::iota(0, n) | std::views::transform(joblib::delayed(f)));
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (r.size() != static_cast<std::size_t>(n) || r.back() != last) {
      std::fprintf(stderr, "joblib_bench_mpi: rank %d got wrong results\n", rank_);
      std::abort();
    }
    return s;
  }

  settings s_;
  int rank_;
  int ranks_;
  std::vector<double> tiny_;
  std::vector<double> busy_[std::size(busy_cases)];
  std::vector<double> coordinator_[std::size(batch_sizes)];
  std::vector<double> coordinator_cpu_[std::size(batch_sizes)];  // rank 0's calling thread
  std::vector<double> rank0_tasks_[std::size(batch_sizes)];
  std::vector<double> broadcast_;
};

bench measure(const settings& s, int rank, int ranks) {
  bench(s, rank, ranks).repetition(true);
  bench b(s, rank, ranks);
  for (int k = 0; k < s.runs; ++k) b.repetition();
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  const settings s = parse(argc, argv);
  if (s.threads_backend) {
    measure(s, 0, 1).print(std::nullopt);
    return 0;
  }
  joblib::mpi::session mpi(argc, argv);
  const double round_trip = bench(s, mpi.rank(), mpi.size()).round_trip_us();
  const bench b = measure(s, mpi.rank(), mpi.size());
  if (mpi.rank() == 0) b.print(round_trip);
}
