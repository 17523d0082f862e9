// A rank whose session ends while rank 0 still makes a backend::mpi call: rank 0 gets a
// joblib::error saying so instead of waiting for that rank forever. Run under mpiexec on 2 ranks;
// exits 0 when rank 0 got the error and its later call throws without communicating.
#include <joblib/mpi.hpp>

#include <cstdio>
#include <ranges>
#include <string_view>

int main(int argc, char** argv) {
  joblib::mpi::session mpi(argc, argv);
  if (mpi.rank() != 0) return 0;  // the session ends at once: no more calls from this rank
  auto call = [] {
    return joblib::parallel({.n_jobs = 1, .backend = joblib::backend::mpi})(
        std::views::iota(0, 10) | std::views::transform(joblib::delayed([](int i) { return i; })));
  };
  for (int attempt = 1; attempt <= 2; ++attempt) {
    try {
      call();
      std::fprintf(stderr, "attempt %d: no error\n", attempt);
      return 1;
    } catch (const joblib::error& e) {
      std::printf("attempt %d: %s\n", attempt, e.what());
      if (std::string_view(e.what()).find("no more calls") == std::string_view::npos) return 1;
    }
  }
  return 0;
}
