#!/usr/bin/env bash
# usage: tests/bench/https_read.sh [--build DIR] [options of https_read.py: --items N --pad B
#        --segments N --rounds N]
#
# Exports one table over plain http and over TLS (stunnel4 in front of a fresh dynalite) and
# prints MB/s for both. See tests/bench/README.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$src/build
if [[ ${1:-} == --build ]]; then
  build=$2
  shift 2
fi
if [[ ! -x $build/fs/ddbfs || ! -x $build/tests/tools/ddbload ]]; then
  echo "https_read.sh: $build has no fs/ddbfs and tests/tools/ddbload; build first:" >&2
  echo "  cmake -S $src -B $src/build && cmake --build $src/build -j2" >&2
  exit 1
fi
build=$(cd "$build" && pwd)
exec "$src/tests/harness/with-dynalite" \
  env DDBFS_BIN="$build/fs/ddbfs" DDBLOAD_BIN="$build/tests/tools/ddbload" PYTHONDONTWRITEBYTECODE=1 \
  python3 "$here/https_read.py" "$@"
