#!/usr/bin/env bash
# The demo: on a fresh Debian 12 machine, installs what is needed, builds ddbfs, starts a local
# DynamoDB (dynalite, on a free loopback port) with a demo table of orders, mounts it, backs the
# table up with rsync, restores the backup into a new table with cp, checks that the two tables
# hold the same items, and cleans up. Nothing leaves the machine.
#
#   contrib/demo.sh [ITEMS]        (default 20000 orders)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

if [[ ${1:-} != --inside ]]; then
  items=${1:-20000}
  [[ $items =~ ^[0-9]+$ ]] || { echo "usage: contrib/demo.sh [ITEMS]" >&2; exit 2; }
  bash contrib/install-deps.sh
  echo "demo: building ddbfs in build/"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target ddbfs ddbload >/dev/null
  exec tests/harness/with-dynalite "$0" --inside "$items"
fi

# Inside: dynalite runs at $DDBFS_TEST_ENDPOINT (tests/harness/with-dynalite stops it afterwards).
items=$2
work=$(mktemp -d /tmp/ddbfs-demo.XXXXXX)
mnt=$work/mnt
backup=$work/backup
mkdir -p "$mnt" "$backup"
ddbfs=$repo/build/fs/ddbfs
export AWS_PAGER=

cleanup() {
  mountpoint -q "$mnt" && fusermount3 -u "$mnt"
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf 'demo: %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

say "making a table of $items orders in the local DynamoDB (tests/tools/ddbload)"
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
"$repo/build/tests/tools/ddbload" --table orders --create customer:S,order_id:S \
  --lines "$work/orders.json" | sed 's/^/demo:   /'

say "mounting ddbfs on $mnt (DynamoDB at $DDBFS_TEST_ENDPOINT)"
"$ddbfs" us-east-1 "$mnt" -o "endpoint=$DDBFS_TEST_ENDPOINT,segments=4,cache_dir=$work/cache"
ls -l "$mnt"

say "backing the table up: rsync -a $mnt/orders/ $backup/orders/"
t0=$(now)
rsync -a "$mnt/orders/" "$backup/orders/"
t1=$(now)
bytes=$(du -sb "$backup/orders" | cut -f1)
lines=$(cat "$backup/orders"/segment-*.json | wc -l)
ls -l "$backup/orders"
say "  $lines items, $bytes bytes in $(elapsed "$t0" "$t1") s"

say "restoring the backup into a new table: cp -r $backup/orders $mnt/orders_restored"
t0=$(now)
cp -r "$backup/orders" "$mnt/orders_restored"
t1=$(now)
say "  restored in $(elapsed "$t0" "$t1") s"

say "checking that both tables hold the same items (read back with the AWS CLI)"
for t in orders orders_restored; do
  aws dynamodb scan --endpoint-url "$DDBFS_TEST_ENDPOINT" --table-name "$t" --output json |
    python3 -c 'import json, sys; items = json.load(sys.stdin)["Items"]; print("\n".join(sorted(json.dumps(i, sort_keys=True) for i in items)))' >"$work/$t.sorted"
done
if cmp -s "$work/orders.sorted" "$work/orders_restored.sorted"; then
  say "  the same $(wc -l <"$work/orders.sorted") items in both tables"
else
  say "  THE TABLES DIFFER"
  exit 1
fi

fusermount3 -u "$mnt"
say "done: loaded, exported with rsync, restored with cp and verified $items orders; cleaned up"
