#!/usr/bin/env bash
# usage: tests/bench/run.sh [--build DIR] [read|write] [options of that benchmark...]
#
# Runs a throttling benchmark against a fresh dynalite started by tests/harness/with-dynalite,
# with ddbfs and ddbload from the build directory (default: build/, then build-e2e/, in the source
# tree): `read` (the default) is throttle_read.py, an export; `write` is throttle_write.py, a
# restore. See tests/bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=''
if [[ ${1:-} == --build ]]; then
  build=$2
  shift 2
fi
if [[ -z $build ]]; then
  for d in "$src/build" "$src/build-e2e"; do
    if [[ -x $d/fs/ddbfs && -x $d/tests/tools/ddbload ]]; then
      build=$d
      break
    fi
  done
fi
if [[ -z $build || ! -x $build/fs/ddbfs || ! -x $build/tests/tools/ddbload ]]; then
  echo "run.sh: no build with fs/ddbfs and tests/tools/ddbload found; build first:" >&2
  echo "  cmake -S $src -B $src/build && make -C $src/build -j2" >&2
  exit 1
fi
build=$(cd "$build" && pwd)

bench=throttle_read.py
case ${1:-} in
  read) shift ;;
  write)
    bench=throttle_write.py
    shift
    ;;
esac

exec "$src/tests/harness/with-dynalite" \
  env DDBFS_BIN="$build/fs/ddbfs" DDBLOAD_BIN="$build/tests/tools/ddbload" PYTHONDONTWRITEBYTECODE=1 \
  python3 "$here/$bench" "$@"
