"""Benchmark: an export through ddbfs against its peers on the same dynalite.

Loads --items items of ~215 bytes (gen_items.py, the seed scenario scaled down), then exports the
table four ways, one after the other, each to a fresh local directory:

  * floor:   scanfloor (C, libcurl, --segments threads), writes the Scan responses' bytes as they
             are: the server-bound floor;
  * floor+CC: the same, with ReturnConsumedCapacity=TOTAL in every Scan as ddbfs asks (its
             throttle is corrected by it): dynalite spends CPU computing the figure, so this is
             the floor of an exporter that makes ddbfs's requests (reported, not a goal);
  * ddbfs:   `cp -r` of the table directory out of a mount with -o segments=N;
  * sdk:     js/sdk_export.js, a parallel Scan with the AWS SDK for JavaScript v3 writing
             DynamoDB JSON lines, N segments;
  * aws cli: `aws dynamodb scan --table-name T > file` (the CLI's own pagination, one segment).

and prints a table of each one's wall time, CPU time (user + sys; for ddbfs with the daemon's),
peak RSS (for ddbfs the daemon's plus cp's), and dynalite's CPU time meanwhile. Goals: ddbfs's
wall time at most 1.2x the floor's and at most a tenth of the AWS CLI's. A warm-up scan with
scanfloor comes first and is not counted.

Run it through tests/bench/run.sh peers. Exit status 0 when both goals are met, 3 when one is
missed, 1 on an error.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import benchlib as bl  # noqa: E402
from benchlib import e2e  # noqa: E402

FLOOR_GOAL = 1.2
FLOOR_CC = "floor + ConsumedCapacity"
CLI_GOAL = 0.1


def floor_argv(table, segments, out, consumed=False):
    argv = [os.environ["SCANFLOOR_BIN"], "--endpoint", e2e.endpoint(), "--table", table,
            "--segments", str(segments), "--out", out]
    return argv + (["--return-consumed-capacity", "TOTAL"] if consumed else [])


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100000, help="items (default 100000)")
    ap.add_argument("--segments", type=int, default=bl.SEGMENTS,
                    help=f"segments for all but the AWS CLI (default {bl.SEGMENTS})")
    ap.add_argument("--no-cli", action="store_true", help="leave the AWS CLI out")
    args = ap.parse_args(argv[1:])

    reason = e2e.fuse_missing_reason()
    if reason:
        print(f"peers: cannot run: {reason}", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="ddbfs-peers.")
    try:
        items = os.path.join(work, "items.jsonl")
        bl.make_items(items, args.items)
        table = e2e.unique_name("bench-peers")
        print(bl.load(table, items))
        os.unlink(items)
        seg = args.segments
        runs = {}

        def fresh(name):
            d = os.path.join(work, name)
            shutil.rmtree(d, ignore_errors=True)
            os.mkdir(d)
            return d

        bl.measure(floor_argv(table, seg, fresh("warmup")))
        shutil.rmtree(os.path.join(work, "warmup"))

        r = bl.with_server_cpu(lambda: bl.measure(floor_argv(table, seg, fresh("floor"))))
        r["items"] = int(r["out"].split(" items")[0].rsplit(" ", 1)[1])
        runs["floor (C, raw HTTP)"] = r
        shutil.rmtree(os.path.join(work, "floor"))

        r = bl.with_server_cpu(lambda: bl.measure(floor_argv(table, seg, fresh("floor"), True)))
        r["items"] = int(r["out"].split(" items")[0].rsplit(" ", 1)[1])
        runs[FLOOR_CC] = r
        shutil.rmtree(os.path.join(work, "floor"))

        with e2e.Mount([f"tables={table}", f"segments={seg}"]) as m:
            out = fresh("ddbfs")
            r = bl.with_server_cpu(lambda: bl.in_mount(m, ["cp", "-r", m.path(table), out]))
        r["items"] = bl.count_lines(out)
        runs["ddbfs cp -r"] = r
        shutil.rmtree(out)

        out = fresh("sdk")
        r = bl.with_server_cpu(lambda: bl.measure(
            ["node", "--no-warnings", os.path.join(here, "js", "sdk_export.js"), "--endpoint",
             e2e.endpoint(), "--table", table, "--segments", str(seg), "--out", out]))
        r["items"] = bl.count_lines(out)
        runs["AWS SDK JS v3"] = r
        shutil.rmtree(out)

        if not args.no_cli:
            path = os.path.join(fresh("cli"), "scan.json")
            env = dict(os.environ, AWS_PAGER="")
            with open(path, "wb") as f:
                r = bl.with_server_cpu(lambda: bl.measure(
                    ["aws", "dynamodb", "scan", "--table-name", table, "--endpoint-url",
                     e2e.endpoint(), "--output", "json"], stdout=f, env=env))
            with open(path, "rb") as f:
                r["items"] = json.load(f)["Count"]
            runs["aws dynamodb scan"] = r
    finally:
        shutil.rmtree(work, ignore_errors=True)

    floor = runs["floor (C, raw HTTP)"]["wall"]
    print(f"\n{args.items} items of ~215 B, {seg} segments (the AWS CLI: 1), dynalite on "
          "loopback\n")
    rows = []
    for name, r in runs.items():
        rows.append([name, f"{r['wall']:.2f}", f"{r['wall'] / floor:.2f}x", f"{r['cpu']:.2f}",
                     bl.mb(r["rss"]), f"{r['server_cpu']:.2f}", f"{r['items'] / r['wall']:,.0f}",
                     str(r["items"])])
    bl.print_table(["exporter", "wall s", "vs floor", "CPU s", "peak RSS MB", "dynalite CPU s",
                    "items/s", "items"], rows)
    d = runs["ddbfs cp -r"]
    print(f"\nddbfs: daemon CPU {d['daemon_cpu']:.2f} s, daemon peak RSS "
          f"{bl.mb(d['daemon_rss'])} MB, cp peak RSS {bl.mb(d['cmd_rss'])} MB")
    print(f"ddbfs / floor + ConsumedCapacity (the same requests): "
          f"{d['wall'] / runs[FLOOR_CC]['wall']:.2f}x (reported, not a goal)")
    ok = True
    bad = [n for n, r in runs.items() if r["items"] != args.items]
    if bad:
        print(f"peers: wrong item count from {', '.join(bad)}", file=sys.stderr)
        return 1
    good = d["wall"] <= FLOOR_GOAL * floor
    ok &= good
    print(f"ddbfs / floor: {d['wall'] / floor:.2f}x (goal: at most {FLOOR_GOAL}x)  "
          f"{'met' if good else 'MISSED'}")
    if "aws dynamodb scan" in runs:
        cli = runs["aws dynamodb scan"]["wall"]
        good = d["wall"] <= CLI_GOAL * cli
        ok &= good
        print(f"ddbfs / AWS CLI: {d['wall'] / cli:.3f} (goal: at most {CLI_GOAL})  "
              f"{'met' if good else 'MISSED'}")
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
