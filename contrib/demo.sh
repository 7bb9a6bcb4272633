#!/usr/bin/env bash
# The demo: on a fresh Debian 12 machine, installs what is needed, builds ddbfs and installs it
# (cmake --install: ddbfs, /sbin/mount.ddbfs, the man page), starts a local DynamoDB (dynalite)
# with a table of orders and S3-mounted storage (s3fs over s3rver), all on loopback, mounts the
# tables with `mount -t ddbfs`, backs the table up to S3 with `rsync -a`, restores the backup into
# a new table with `cp -r`, checks with the AWS CLI that both tables hold the same items, prints a
# summary, and cleans up (unmounts, stops the servers), also on failure or ctrl-C.
# Nothing leaves the machine.
#
#   contrib/demo.sh [ITEMS]        (default 20000 orders; run as root, or with password-less sudo)
#
# DDBFS_DEMO_BUILD=DIR (for the test suite): use the ddbfs and ddbload already built in DIR;
# install nothing. /sbin/mount.ddbfs is then linked to DIR/fs/ddbfs for the demo's duration,
# unless a mount.ddbfs is installed (then that one is used).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
say() { printf 'demo: %s\n' "$*"; }
fail() {
  printf 'demo: %s\n' "$*" >&2
  exit 1
}

if [[ ${1:-} != --inside ]]; then
  items=${1:-20000}
  [[ $items =~ ^[0-9]+$ && $items -gt 0 ]] || { echo "usage: contrib/demo.sh [ITEMS]" >&2; exit 2; }
  if [[ $(id -u) != 0 ]]; then
    # mount(8) and cmake --install need root.
    if [[ -n ${DDBFS_DEMO_BUILD:-} ]]; then
      echo "demo: skipped: it mounts with mount(8), which needs root" >&2
      exit 77
    fi
    command -v sudo >/dev/null 2>&1 || fail "run this as root (mount -t ddbfs needs it)"
    say "mount(8) and cmake --install need root: running again with sudo"
    exec sudo -n --preserve-env=DDBFS_DEMO_BUILD "$0" "$@"
  fi
  if [[ ! -c /dev/fuse ]]; then
    echo "demo: /dev/fuse is missing: FUSE is not available on this machine" >&2
    exit 77
  fi
  if [[ -z ${DDBFS_DEMO_BUILD:-} ]]; then
    bash contrib/install-deps.sh
    say "building ddbfs in build/"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$(nproc)" --target ddbfs ddbload >/dev/null
    say "installing: cmake --install build (ddbfs, /sbin/mount.ddbfs, ddbfs(8))"
    cmake --install build | sed 's/^-- /demo:   /'
    export DDBFS_DEMO_BUILD=$repo/build DDBFS_DEMO_INSTALLED=1
  fi
  exec tests/harness/with-dynalite tests/harness/with-s3 "$0" --inside "$items"
fi

# Inside: dynalite at $DDBFS_TEST_ENDPOINT, S3-mounted storage at $DDBFS_TEST_S3_MOUNT; the
# wrappers stop them afterwards, on every exit path.
items=$2
build=$(cd "$DDBFS_DEMO_BUILD" && pwd)
ddbload=$build/tests/tools/ddbload
ddbfs=$build/fs/ddbfs
work=$(mktemp -d /tmp/ddbfs-demo.XXXXXX)
mnt=$work/mnt
s3=$DDBFS_TEST_S3_MOUNT
day=$(date -u +%Y-%m-%d)
backup=$s3/ddb/$day/orders
helper=/sbin/mount.ddbfs
made_helper=
progress_pid=
job_pid=
mkdir -p "$mnt"
export AWS_PAGER=

# The ddbfs daemon serving $mnt (mount -t ddbfs does not say its pid).
daemon_pid() {
  local p
  for p in /proc/[0-9]*; do
    if tr '\0' '\n' 2>/dev/null <"$p/cmdline" | grep -qxF -- "$mnt"; then
      echo "${p#/proc/}"
    fi
  done
}
daemon=

# On every exit, quickly (the wrappers give us 5 s): stop the copy still running, unmount (the
# servers stop after us, so a daemon still waiting on DynamoDB for an interrupted copy is stopped
# too: the demo's tables go with the server), remove the helper link made.
cleanup() {
  local status=$? i
  trap '' INT TERM HUP
  [[ -n $progress_pid ]] && kill "$progress_pid" 2>/dev/null
  [[ -n $job_pid ]] && kill "$job_pid" 2>/dev/null
  if mountpoint -q "$mnt" && ! umount "$mnt" 2>/dev/null; then
    umount -l "$mnt" || true
    if [[ -n $daemon ]]; then
      kill -TERM "$daemon" 2>/dev/null || true
      for ((i = 0; i < 10; i++)); do
        kill -0 "$daemon" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL "$daemon" 2>/dev/null || true
    fi
  fi
  [[ -n $made_helper ]] && rm -f "$helper"
  rm -rf "$work"
  case $status in
  0) ;;
  129 | 130 | 143) say "interrupted; cleaned up" ;;
  *) say "FAILED (status $status); cleaned up" ;;
  esac
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# mount -t ddbfs runs /sbin/mount.ddbfs: the installed one, or (for the tests) the build's.
if [[ ! -e $helper ]]; then
  [[ -z ${DDBFS_DEMO_INSTALLED:-} ]] || fail "cmake --install did not make $helper"
  ln -s "$build/fs/ddbfs" "$helper"
  made_helper=1
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
demo_start=$(now)
human() { numfmt --to=iec --suffix=B --format=%.1f "$1"; }

# The progress display: every 2 s while the copy PID runs, TABLE's progress as `ddbfs status`
# reports it (the user.ddbfs.* attributes of the table directory).
print_status() {
  local label=$1 table=$2 start=$3 line
  # ddbfs status prints key=value lines when its output is not a terminal.
  line=$("$ddbfs" status --once "$mnt" "$table" 2>/dev/null) || return 0
  awk -v label="$label" -v secs="$(elapsed "$start" "$(now)")" '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    if (label == "backup")
      printf "demo:   %s (%s s): %s: segments %s done, %s items, %.1f MB, %.0f items/s\n", label, secs, v["state"], v["segments"], v["items"], v["bytes"] / 1e6, v["rate_items_per_s"]
    else
    {
      verified = "not checked"
      if (match($0, /restore_verified="[^"]*"/)) verified = substr($0, RSTART + 18, RLENGTH - 19)
      printf "demo:   %s (%s s): %s: %s files, %s items written, %s rejected; manifest: %s\n", label, secs, v["state"], v["restore_files"], v["restore_items_written"], v["restore_items_rejected"], verified
    }
  }' <<<"$line"
}

show_copy_progress() {
  local label=$1 pid=$2 table=$3 start
  start=$(now)
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    kill -0 "$pid" 2>/dev/null && print_status "$label" "$table" "$start"
  done
}

# Runs "$@" in the background with the progress display of TABLE; returns its
# status and sets took (seconds).
with_progress() {
  local label=$1 table=$2 status=0 t0
  shift 2
  t0=$(now)
  "$@" &
  job_pid=$!
  show_copy_progress "$label" "$job_pid" "$table" &
  progress_pid=$!
  wait "$job_pid" || status=$?
  job_pid=
  took=$(elapsed "$t0" "$(now)")
  print_status "$label" "$table" "$t0"
  kill "$progress_pid" 2>/dev/null || true
  wait "$progress_pid" 2>/dev/null || true
  progress_pid=
  return "$status"
}

say "1. a table of $items orders in the local DynamoDB at $DDBFS_TEST_ENDPOINT"
awk -v n="$items" 'BEGIN {
  srand(20261122)
  split("placed paid shipped delivered returned", st, " ")
  split("Zürich München São_Paulo 東京 Reykjavík Montréal", city, " ")
  for (i = 0; i < n; i++) {
    lines = 1 + int(rand() * 4); total = 0; list = ""
    for (k = 0; k < lines; k++) {
      qty = 1 + int(rand() * 5); price = (99 + int(rand() * 9900)) / 100; total += qty * price
      list = list (k ? "," : "") sprintf("{\"M\":{\"sku\":{\"S\":\"SKU-%05d\"},\"qty\":{\"N\":\"%d\"},\"price\":{\"N\":\"%.2f\"}}}", int(rand() * 100000), qty, price)
    }
    printf "{\"Item\":{\"customer\":{\"S\":\"customer-%05d\"},\"order_id\":{\"S\":\"2026-%02d-%02d-%06d\"}", i % 5000, 1 + i % 12, 1 + i % 28, i
    printf ",\"status\":{\"S\":\"%s\"},\"total\":{\"N\":\"%.2f\"},\"lines\":{\"L\":[%s]}", st[1 + i % 5], total, list
    printf ",\"ship_to\":{\"M\":{\"city\":{\"S\":\"%s\"},\"zip\":{\"S\":\"%05d\"}}}", city[1 + i % 6], int(rand() * 99999)
    printf ",\"gift\":{\"BOOL\":%s},\"tags\":{\"SS\":[\"web\",\"%s\"]}", (i % 7 ? "false" : "true"), (i % 2 ? "express" : "standard")
    printf ",\"receipt\":{\"B\":\"UERGLTEuNwo=\"}}}\n"
  }
}' >"$work/orders.json"
"$ddbload" --endpoint "$DDBFS_TEST_ENDPOINT" --table orders --create customer:S,order_id:S \
  --lines "$work/orders.json" | sed 's/^/demo:   /'

say "2. mount -t ddbfs us-east-1 $mnt"
mount -t ddbfs -o "endpoint=$DDBFS_TEST_ENDPOINT,segments=4,cache_dir=$work/cache,_netdev" \
  us-east-1 "$mnt"
daemon=$(daemon_pid)
grep " $mnt " /proc/mounts | sed 's/^/demo:   /'
ls -l "$mnt/orders" | sed 's/^/demo:   /'

say "3. back the table up to S3-mounted storage (s3fs): rsync -a $mnt/orders/ $backup/"
mkdir -p "$backup"
with_progress "backup" orders rsync -a "$mnt/orders/" "$backup/"
backup_s=$took
bytes=$(cat "$backup"/segment-*.json | wc -c)
lines=$(cat "$backup"/segment-*.json | wc -l)
ls -l "$backup" | sed 's/^/demo:   /'
[[ $lines == "$items" ]] || fail "the backup holds $lines items, the table $items"
say "   the backup checked against its manifest: (cd $backup && sha256sum -c segments.sha256)"
(cd "$backup" && sha256sum -c --quiet segments.sha256) || fail "the backup does not match its manifest"

say "4. restore the backup into a new table: cp -r $backup $mnt/orders_restored"
with_progress "restore" orders_restored cp -r "$backup" "$mnt/orders_restored"
restore_s=$took

say "5. check with the AWS CLI that both tables hold the same items"
t0=$(now)
# Each table in two segments, all four scans at once (the AWS CLI is slow at parsing).
for t in orders orders_restored; do
  for seg in 0 1; do
    aws dynamodb scan --endpoint-url "$DDBFS_TEST_ENDPOINT" --table-name "$t" --output json \
      --segment "$seg" --total-segments 2 >"$work/$t.$seg.json" &
  done
done
wait_all_ok() {
  local pid ok=0
  for pid in $(jobs -p); do wait "$pid" || ok=1; done
  return "$ok"
}
wait_all_ok || fail "aws dynamodb scan failed"
for t in orders orders_restored; do
  python3 -c '
import json, sys
def norm(v):
    if isinstance(v, dict):
        return {k: sorted(x) if k in ("SS", "NS", "BS") else norm(x) for k, x in v.items()}
    return [norm(x) for x in v] if isinstance(v, list) else v
items = [i for path in sys.argv[1:] for i in json.load(open(path))["Items"]]
for line in sorted(json.dumps(norm(i), sort_keys=True) for i in items):
    print(line)' "$work/$t.0.json" "$work/$t.1.json" >"$work/$t.sorted"
done
same=$(wc -l <"$work/orders.sorted")
cmp -s "$work/orders.sorted" "$work/orders_restored.sorted" ||
  fail "THE TABLES DIFFER: $same items in orders, $(wc -l <"$work/orders_restored.sorted") in orders_restored"
[[ $same == "$items" ]] || fail "orders holds $same items, expected $items"
say "   the same $same items in both tables (checked in $(elapsed "$t0" "$(now)") s)"

umount "$mnt"
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : n) }'; }
say "summary: $items items, $(human "$bytes") of DynamoDB JSON"
say "   backup  (rsync -a to S3):  ${backup_s} s, $(rate "$items" "$backup_s") items/s, $(human "$(rate "$bytes" "$backup_s")")/s"
say "   restore (cp -r from S3):   ${restore_s} s, $(rate "$items" "$restore_s") items/s, $(human "$(rate "$bytes" "$restore_s")")/s"
say "   all of it (load, mount, backup, restore, check): $(elapsed "$demo_start" "$(now)") s"
say "done: unmounted; the servers stop and $work is removed on the way out"
