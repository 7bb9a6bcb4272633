#!/usr/bin/env bash
# usage: tests/bench/load.sh [--build DIR] [options of load.py: --tables N --segments N --items N
#        --export-items N] [TEST...]
#
# Runs the load scenarios of tests/e2e/test_load.py at the sizes given against a fresh dynalite
# and prints their figures (times, ddbfs VmHWM).
# The same as `tests/bench/run.sh [--build DIR] load ...` (which finds the build, starts
# dynalite and keeps the output in BUILD/bench-results/load.txt). See tests/bench/README.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pre=()
if [[ ${1:-} == --build ]]; then
  pre=(--build "$2")
  shift 2
fi
exec "$here/run.sh" "${pre[@]}" load "$@"
