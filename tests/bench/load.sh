#!/usr/bin/env bash
# usage: tests/bench/load.sh [--build DIR] [options of load.py: --tables N --segments N --items N
#        --export-items N] [TEST...]
#
# Runs the load scenarios of tests/e2e/test_load.py at the sizes given against a fresh dynalite
# and prints their figures (times, ddbfs VmHWM). See tests/bench/README.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$src/build
if [[ ${1:-} == --build ]]; then
  build=$2
  shift 2
fi
if [[ ! -x $build/fs/ddbfs || ! -x $build/tests/tools/ddbload ]]; then
  echo "load.sh: $build has no fs/ddbfs and tests/tools/ddbload; build first:" >&2
  echo "  cmake -S $src -B $src/build && cmake --build $src/build -j2" >&2
  exit 1
fi
build=$(cd "$build" && pwd)
exec "$src/tests/harness/with-dynalite" \
  env DDBFS_BIN="$build/fs/ddbfs" DDBLOAD_BIN="$build/tests/tools/ddbload" PYTHONDONTWRITEBYTECODE=1 \
  python3 "$here/load.py" "$@"
