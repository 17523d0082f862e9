// A consumer of the parallel pillar alone, linked against joblib::parallel (Threads only).
#include <joblib/errors.hpp>
#include <joblib/version.hpp>

#include <cstdio>

int main() {
  std::printf("joblib %s (parallel component)\n", joblib::version_string);
  std::puts("joblib consumer OK");
  return 0;
}
