#!/usr/bin/env bash
# usage: tests/bench/https_read.sh [--build DIR] [options of https_read.py: --items N --pad B
#        --segments N --rounds N]
#
# Exports one table over plain http and over TLS (stunnel4 in front of a fresh dynalite) and
# prints MB/s for both.
# The same as `tests/bench/run.sh [--build DIR] https ...` (which finds the build, starts
# dynalite and keeps the output in BUILD/bench-results/https.txt). See tests/bench/README.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pre=()
if [[ ${1:-} == --build ]]; then
  pre=(--build "$2")
  shift 2
fi
exec "$here/run.sh" "${pre[@]}" https "$@"
