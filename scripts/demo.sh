#!/usr/bin/env bash
# The README's first command: sets up the project (Debian packages, dev build) and runs the
# demo, a short tour of caching, parallel loops and dump/load.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev >/dev/null
exec build/dev/examples/demo "$@"
