// A consumer of joblib::mpi, run without mpiexec: one rank, so the call runs on threads.
#include <cstdio>
#include <joblib/mpi.hpp>
#include <ranges>

int main(int argc, char** argv) {
  joblib::mpi::session mpi(argc, argv);
  auto r = joblib::parallel({.n_jobs = 2, .backend = joblib::backend::mpi})(
      std::views::iota(0, 100) |
      std::views::transform(joblib::delayed([](int i) { return i * i; })));
  std::printf("joblib %s (mpi component, %d rank): %d\n", joblib::version_string, mpi.size(),
              r[99]);
  if (r[99] != 9801 || mpi.size() != 1) return 1;
  std::puts("joblib consumer OK");
  return 0;
}
