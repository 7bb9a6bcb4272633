#!/usr/bin/env bash
# usage: tests/bench/run.sh [--build DIR] [--out DIR] [BENCHMARK] [options of that benchmark...]
#
# Runs benchmarks against a fresh dynalite each (tests/harness/with-dynalite), with ddbfs,
# ddbload and scanfloor from the build directory (default: build/, then build-e2e/, in the source
# tree). BENCHMARK is one of
#   read     throttle_read.py, an export at a read budget (the default)
#   write    throttle_write.py, a restore at a write budget
#   peers    peers.py, ddbfs cp -r against a raw-HTTP floor, the AWS SDK for JavaScript, the CLI
#   restore  restore.py, ddbfs cp into a table against an AWS SDK for JavaScript loader
#   scaling  scaling.py, export and restore at 10 k, 100 k and 1 M items
#   https    https_read.py, one export over plain http and over TLS (stunnel4), MB/s of each
#   load     load.py, the scenarios of tests/e2e/test_load.py at larger sizes
#   all      each of peers, read, write, restore and scaling with its defaults, one after the
#            other (no options); exit status 0 only when every one met its goals
# Each benchmark's output also goes to OUT/NAME.txt, next to its PNG where it draws one (OUT:
# --out, default BUILD/bench-results). A mount may take up to DDBFS_E2E_MOUNT_TIMEOUT seconds
# (default here 300: dynalite answers slowly with a million items on a busy machine). See
# tests/bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=''
out=''
while [[ ${1:-} == --build || ${1:-} == --out ]]; do
  [[ $# -ge 2 ]] || { echo "run.sh: $1 needs a directory" >&2; exit 2; }
  if [[ $1 == --build ]]; then build=$2; else out=$2; fi
  shift 2
done
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
  echo "  cmake -S $src -B $src/build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build $src/build -j2" >&2
  exit 1
fi
build=$(cd "$build" && pwd)
out=${out:-$build/bench-results}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Runs benchmark $1 (a name) with the rest as its options, its output also in $out/$1.txt.
run_one() {
  local name=$1 script
  shift
  case $name in
    read) script=throttle_read.py ;;
    write) script=throttle_write.py ;;
    peers | restore | scaling | load) script=$name.py ;;
    https) script=https_read.py ;;
    *)
      echo "run.sh: unknown benchmark '$name' (read, write, peers, restore, scaling, https, load, all)" >&2
      return 2
      ;;
  esac
  if [[ $name == peers && ! -x $build/tests/bench/floor/scanfloor ]]; then
    echo "run.sh: $build/tests/bench/floor/scanfloor is missing; build it (cmake --build)" >&2
    return 1
  fi
  echo "run.sh: $name: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), output in $out/$name.txt"
  local t0=$SECONDS status=0
  "$src/tests/harness/with-dynalite" \
    env DDBFS_BIN="$build/fs/ddbfs" DDBLOAD_BIN="$build/tests/tools/ddbload" \
    SCANFLOOR_BIN="$build/tests/bench/floor/scanfloor" DDBFS_BENCH_OUT="$out" \
    DDBFS_E2E_MOUNT_TIMEOUT="${DDBFS_E2E_MOUNT_TIMEOUT:-300}" \
    PYTHONDONTWRITEBYTECODE=1 python3 "$here/$script" "$@" 2>&1 | tee "$out/$name.txt" ||
    status=$? # pipefail: the benchmark's status (tee's is 0)
  echo "run.sh: $name: exit status $status after $((SECONDS - t0)) s"
  return "$status"
}

name=${1:-read}
[[ $# -gt 0 ]] && shift
if [[ $name != all ]]; then
  run_one "$name" "$@"
  exit
fi
if [[ $# -gt 0 ]]; then
  echo "run.sh: 'all' takes no options; run one benchmark to pass options" >&2
  exit 2
fi
worst=0
for b in peers read write restore scaling; do
  status=0
  run_one "$b" || status=$?
  if [[ $status -ne 0 && ($worst -eq 0 || $status -eq 1) ]]; then
    worst=$status
  fi
done
echo "run.sh: all: exit status $worst (0: every goal met, 3: a goal missed, 1: an error)"
exit "$worst"
