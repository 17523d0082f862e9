// Example: a parameter sweep on every rank of an MPI job, cached and saved.
//
// Every rank builds the same grid and makes the same call; rank 0 hands out batches of grid
// points, every rank simulates its share on its threads, and every rank gets every result. The
// simulation is cached on a folder all ranks share: a second run (or a rank asking for a
// point another rank already computed) loads instead of computing. Rank 0 saves the sweep.
//
//   mpirun -np 4 ./mpi_sweep [--quick] [cache folder]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <joblib/joblib.hpp>
#include <joblib/mpi.hpp>
#include <ranges>
#include <string_view>
#include <thread>
#include <vector>

struct point {
  double rate = 0;
  double damping = 0;
};

// A damped oscillator integrated over time: the "expensive" simulation of one grid point.
double simulate(const point& p, int steps) {
  double x = 1, v = 0;
  const double dt = 1e-3;
  for (int i = 0; i < steps; ++i) {
    v += (-p.rate * p.rate * x - p.damping * v) * dt;
    x += v * dt;
  }
  return x;
}

int main(int argc, char** argv) {
  joblib::mpi::session mpi(argc, argv);
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const std::filesystem::path cache =
      argc > 2 ? std::filesystem::path(argv[2])
               : std::filesystem::temp_directory_path() / "joblib_example_mpi_sweep";
  const int steps = quick ? 20'000 : 2'000'000;

  std::vector<point> grid;  // identical on every rank
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 8; ++j) grid.push_back({0.5 + i * 0.25, j * 0.1});
  }

  joblib::memory memory(cache);
  auto cached_simulate = memory.cache("simulate", simulate);

  for (int round = 1; round <= 2; ++round) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<double> result =
        joblib::parallel({.n_jobs = 2, .backend = joblib::backend::mpi})(
            grid | std::views::transform(
                       [&](const point& p) { return joblib::delayed(cached_simulate)(p, steps); }));
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    if (mpi.rank() == 0) {
      std::printf(
          "round %d on %d ranks: %zu points in %.3f s (%s); x(rate 0.5, damping 0) = %.4f\n", round,
          mpi.size(), result.size(), took.count(),
          round == 1 ? "computed unless cached by an earlier run" : "loaded from the cache",
          result[0]);
      joblib::dump(result, cache / "sweep.jl");
    }
    // The results are the same on every rank: check one against a local computation.
    if (std::abs(result[9] - simulate(grid[9], steps)) > 1e-12) {
      std::fprintf(stderr, "rank %d: wrong result\n", mpi.rank());
      return 1;
    }
  }
  if (mpi.rank() == 0) {
    const auto saved = joblib::load<std::vector<double>>(cache / "sweep.jl");
    std::printf("saved %zu results to %s\n", saved.size(), (cache / "sweep.jl").c_str());
  }
}
