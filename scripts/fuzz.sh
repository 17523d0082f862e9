#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*.cpp, clang-16) and runs each for a short time on its
# seed corpus (fuzz/corpus/<name>/). Exits non-zero on any crash, leak or sanitizer report, and
# on any input that makes one allocation over 512 MB or the process over 1 GB resident (inputs
# are at most a few KB: nothing they describe may cost that much; libFuzzer names the input).
#
#   bash scripts/fuzz.sh [seconds-per-target]     # default 60, split over the targets
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-60}
shopt -s nullglob
targets=(fuzz/*.cpp)
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz.sh: no fuzz targets yet"
  exit 0
fi
bash scripts/setup.sh --fuzz fuzz
per_target=$(( budget / ${#targets[@]} ))
(( per_target >= 10 )) || per_target=10
for source in "${targets[@]}"; do
  name=$(basename "$source" .cpp)
  corpus=$(mktemp -d)
  [[ -d fuzz/corpus/$name ]] && cp -r "fuzz/corpus/$name/." "$corpus/"
  echo "=== fuzzing $name for ${per_target}s ==="
  "build/fuzz/fuzz/joblib_fuzz_$name" -max_total_time="$per_target" -timeout=10 \
    -rss_limit_mb=1024 -malloc_limit_mb=512 -print_final_stats=1 "$corpus"
  rm -rf "$corpus"
done
