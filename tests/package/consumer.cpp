// A consumer of the whole library, built by tests/package against an installed or fetched joblib.
#include <joblib/joblib.hpp>

#include <cstdio>

int main() {
  std::printf("joblib %s\n", joblib::version_string);
  std::puts("joblib consumer OK");
  return 0;
}
