#!/usr/bin/env bash
# The README's second command: sets up the project, then builds and runs the whole test suite
# five times: dev (GCC, Debug, warnings as errors, consumer/package tests), clang (Clang 16 with
# libstdc++), libcxx (Clang 16 with libc++), asan (AddressSanitizer + UBSan) and tsan
# (ThreadSanitizer). Exits non-zero when any test fails or when a suite ran no test.
#
#   bash scripts/test.sh [preset...]      # default: dev clang libcxx asan tsan
set -uo pipefail
cd "$(dirname "$0")/.."
presets=("$@")
[[ ${#presets[@]} -gt 0 ]] || presets=(dev clang libcxx asan tsan)

bash scripts/setup.sh --no-build || exit 1

total_passed=0 total_failed=0 failed_suites=()
for preset in "${presets[@]}"; do
  echo "=== test suite: $preset ==="
  log=$(mktemp)
  cmake --workflow --preset "$preset" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  # ctest's summary: "100% tests passed, 0 tests failed out of 42"
  summary=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  rm -f "$log"
  if [[ -z $summary ]]; then
    echo "=== $preset: no test ran (build or configure failed?) ==="
    failed_suites+=("$preset")
    continue
  fi
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
  ran=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$summary")
  total_passed=$((total_passed + ran - failed))
  total_failed=$((total_failed + failed))
  if [[ $status != 0 || $failed != 0 || $ran == 0 ]]; then
    failed_suites+=("$preset")
  fi
  echo "=== $preset: $((ran - failed)) passed, $failed failed ==="
done

echo "suites: ${presets[*]}"
[[ ${#failed_suites[@]} -eq 0 ]] || echo "failed suites: ${failed_suites[*]}"
echo "tests: $total_passed passed, $total_failed failed"
[[ ${#failed_suites[@]} -eq 0 && $total_passed -gt 0 ]]
