// joblib-cpp: how many CPUs this process may use.
#pragma once

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

// CPU quota of the cgroup this process runs in, rounded up (cgroup v2 cpu.max, then v1
// cfs_quota/period); 0 when unlimited or unknown.
inline unsigned cgroup_cpu_quota() {
  {
    std::ifstream max_file("/sys/fs/cgroup/cpu.max");
    std::string quota;
    double period = 0;
    if (max_file >> quota >> period && quota != "max" && period > 0) {
      const double cpus = std::stod(quota) / period;
      if (cpus > 0) return static_cast<unsigned>(std::ceil(cpus));
    }
  }
  std::ifstream quota_file("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
  std::ifstream period_file("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  double quota = 0;
  double period = 0;
  if (quota_file >> quota && period_file >> period && quota > 0 && period > 0) {
    return static_cast<unsigned>(std::ceil(quota / period));
  }
  return 0;
}

}  // namespace detail

/// Number of CPUs this process may run on: the CPUs in its affinity mask (taskset, cpusets),
/// further limited by a cgroup CPU quota (containers), like joblib's cpu_count() with loky.
/// The environment variable JOBLIB_CPU_COUNT, when set to a positive number, overrides it.
/// Always at least 1. Thread-safe.
///
///   std::printf("%u CPUs\n", joblib::cpu_count());
inline unsigned cpu_count() {
  if (const char* forced = std::getenv("JOBLIB_CPU_COUNT")) {
    const long n = std::strtol(forced, nullptr, 10);
    if (n > 0) return static_cast<unsigned>(n);
  }
  unsigned count = std::max(1u, std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    count = std::max(1, CPU_COUNT(&set));
  }
  if (const unsigned quota = detail::cgroup_cpu_quota(); quota > 0) count = std::min(count, quota);
  return std::max(1u, count);
}

JOBLIB_END_NAMESPACE
