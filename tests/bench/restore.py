"""Benchmark: the restore rate of ddbfs against a BatchWriteItem loader written with the AWS SDK
for JavaScript, on the same dynalite.

Loads --items items of ~215 bytes (gen_items.py), exports them with ddbfs (`cp -r`, not timed),
then stores the same export's items into a new, empty table three ways, one after the other
(each target table is deleted once counted, so every loader writes into the same server state):

  * ddbfs:   `mkdir` and `cp _schema.json` (CreateTable, not timed), then one `cp` of every
             segment file into the new table directory (timed);
  * sdk:     js/sdk_load.js: BatchWriteItem requests of 25 items, 8 in flight (as ddbfs's writer,
             DDB_WRITER_IN_FLIGHT), from the same segment files;
  * ddbload: the same files through ddb/batch.c without FUSE (tests/tools/ddbload --lines), to
             tell FUSE's and fs/upload.c's share from the writer's.

and prints a table of each one's wall time, CPU time (user + sys; for ddbfs with the daemon's),
peak RSS (for ddbfs the daemon's plus cp's), dynalite's CPU time meanwhile, and items/s. Goal:
ddbfs's items/s at least the SDK loader's. Every restored table is counted (Select=COUNT).

Run it through tests/bench/run.sh restore. Exit status 0 when the goal is met, 3 when it is
missed, 1 on an error.
"""

import argparse
import os
import shutil
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import benchlib as bl  # noqa: E402
from benchlib import e2e  # noqa: E402

IN_FLIGHT = 8  # ddb/batch.h DDB_WRITER_IN_FLIGHT


def key_request(table):
    return {"TableName": table, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "N"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}]}


def export(table, work, segments):
    """Exports table with ddbfs into work/table; returns (directory, sorted segment files)."""
    with e2e.Mount([f"tables={table}", f"segments={segments}"]) as m:
        e2e.run(["cp", "-r", m.path(table), work], timeout=3600, check=True)
    d = os.path.join(work, table)
    return d, sorted(os.path.join(d, n) for n in os.listdir(d) if n.startswith("segment-"))


def restore_ddbfs(prefix, target, backup, files, segments):
    with e2e.Mount([f"tables={prefix}-*", f"segments={segments}"]) as m:
        tdir = m.path(target)
        os.mkdir(tdir)
        e2e.run(["cp", os.path.join(backup, "_schema.json"), tdir + "/"], timeout=300, check=True)
        return bl.with_server_cpu(lambda: bl.in_mount(m, ["cp", *files, tdir + "/"]))


def restore_sdk(target, files, in_flight):
    e2e.create_table(key_request(target))
    return bl.with_server_cpu(lambda: bl.measure(
        ["node", "--no-warnings", os.path.join(here, "js", "sdk_load.js"), "--endpoint",
         e2e.endpoint(), "--table", target, "--files", ",".join(files), "--in-flight",
         str(in_flight)]))


def restore_ddbload(target, files, work):
    joined = os.path.join(work, "all.jsonl")
    with open(joined, "wb") as out:
        for f in files:
            with open(f, "rb") as src:
                shutil.copyfileobj(src, out)
    try:
        return bl.with_server_cpu(lambda: bl.measure(
            [e2e.ddbload_bin(), "--endpoint", e2e.endpoint(), "--table", target, "--create",
             bl.KEYSPEC, "--lines", joined]))
    finally:
        os.unlink(joined)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100000, help="items (default 100000)")
    ap.add_argument("--segments", type=int, default=bl.SEGMENTS,
                    help=f"segment files of the export (default {bl.SEGMENTS})")
    ap.add_argument("--in-flight", type=int, default=IN_FLIGHT,
                    help=f"the SDK loader's requests in flight (default {IN_FLIGHT})")
    args = ap.parse_args(argv[1:])

    reason = e2e.fuse_missing_reason()
    if reason:
        print(f"restore: cannot run: {reason}", file=sys.stderr)
        return 1
    prefix = e2e.unique_name("bench-restore")
    source = prefix + "-src"
    work = tempfile.mkdtemp(prefix="ddbfs-restore.")
    runs = {}
    try:
        items = os.path.join(work, "items.jsonl")
        bl.make_items(items, args.items)
        print(bl.load(source, items))
        os.unlink(items)
        backup, files = export(source, work, args.segments)
        print(f"exported {bl.count_lines(backup)} items to {len(files)} segment files")
        loaders = [
            ("ddbfs cp", lambda t: restore_ddbfs(prefix, t, backup, files, args.segments)),
            (f"AWS SDK JS v3 ({args.in_flight} in flight)",
             lambda t: restore_sdk(t, files, args.in_flight)),
            ("ddbload (ddb/batch.c, no FUSE)", lambda t: restore_ddbload(t, files, work)),
        ]
        for i, (name, fn) in enumerate(loaders):
            target = f"{prefix}-t{i}"
            r = fn(target)
            r["items"] = bl.table_count(target)
            e2e.delete_table(target)
            runs[name] = r
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.items} items of ~215 B from {args.segments} segment files into a new table, "
          "dynalite on loopback\n")
    rows = [[n, f"{r['wall']:.2f}", f"{r['cpu']:.2f}", bl.mb(r["rss"]), f"{r['server_cpu']:.2f}",
             f"{r['items'] / r['wall']:,.0f}", str(r["items"])] for n, r in runs.items()]
    bl.print_table(["loader", "wall s", "CPU s", "peak RSS MB", "dynalite CPU s", "items/s",
                    "items"], rows)
    names = list(runs)
    d, sdk = runs[names[0]], runs[names[1]]
    print(f"\nddbfs: daemon CPU {d['daemon_cpu']:.2f} s, daemon peak RSS "
          f"{bl.mb(d['daemon_rss'])} MB, cp peak RSS {bl.mb(d['cmd_rss'])} MB")
    bad = [n for n, r in runs.items() if r["items"] != args.items]
    if bad:
        print(f"restore: wrong item count after {', '.join(bad)}", file=sys.stderr)
        return 1
    rate, sdk_rate = d["items"] / d["wall"], sdk["items"] / sdk["wall"]
    good = rate >= sdk_rate
    print(f"ddbfs / SDK loader items/s: {rate / sdk_rate:.2f} (goal: at least 1)  "
          f"{'met' if good else 'MISSED'}")
    return 0 if good else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
