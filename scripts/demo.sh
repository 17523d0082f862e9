#!/usr/bin/env bash
# The README's first command: installs what is missing (Debian packages), builds the demo
# optimised (only the demo: the test suite is scripts/test.sh's business) and runs it, a short
# tour of caching, parallel loops and dump/load.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-build
if [[ ! -x build/demo/examples/demo ]]; then
  echo "demo.sh: building the demo (optimised; about a minute the first time on 2 cores)..."
fi
cmake --preset demo >/dev/null
cmake --build --preset demo
exec build/demo/examples/demo "$@"
