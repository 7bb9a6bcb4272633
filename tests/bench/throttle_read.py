"""Benchmark: does an export through ddbfs keep to its read budget?

Loads a table into dynalite, mounts it with -o read_capacity=R,log_throttle, copies it with
`cp -r` and measures, from ddbfs's own log of ConsumedCapacity (one line per Scan page:
`ddbfs: info: throttle: table=T segment=I/N consumed=X t=SECONDS`, t monotonic), the RCU
consumed per second against the budget:

  * the average over the run, goal: within 3% of the budget;
  * the highest 5-second window, goal: at most 110% of the budget;
  * the wall time, goal: within 3% (plus 1 s) of the cost divided by the budget;

and draws the units per second against the budget in a PNG (gnuplot, --png).

Run it through tests/bench/run.sh (it starts dynalite and finds the binaries); see README.md.
Exit status: 0 when the three goals are met, 3 when one is missed, 1 on an error.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "e2e"))
sys.path.insert(0, here)
import ddbfs_e2e as e2e  # noqa: E402
from throttle_common import FIELD_RE, THROTTLE_RE, report  # noqa: E402


# `ddbfs: info: throttle: table=T segment=I/N consumed=X t=SECONDS`; other key=value fields (such
# as items= or total=) may come in between and are ignored.
def parse_throttle_lines(lines, table):
    """[(t, consumed, segment)] of table's Scan pages, in time order."""
    events = []
    for line in lines:
        m = THROTTLE_RE.match(line)
        if not m:
            continue
        f = dict(FIELD_RE.findall(m.group(1)))
        if f.get("table") != table or not {"segment", "consumed", "t"} <= set(f):
            continue
        events.append((float(f["t"]), float(f["consumed"]), int(f["segment"].split("/")[0])))
    events.sort()
    return events


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=4000, help="items to load (default 4000)")
    ap.add_argument("--pad", type=int, default=4000,
                    help="padding bytes per item (default 4000: ~4.4 KB items)")
    ap.add_argument("--seconds", type=float, default=30.0,
                    help="pick the budget so that the export lasts this long (default 30)")
    ap.add_argument("--read-capacity", type=float,
                    help="the budget in RCU/s (default: the table's scan cost / --seconds)")
    ap.add_argument("--segments", type=int, default=8, help="TotalSegments (default 8)")
    ap.add_argument("--keep", action="store_true", help="keep the daemon's log (path printed)")
    ap.add_argument("--png", default=os.path.join(os.environ.get("DDBFS_BENCH_OUT", "."),
                                                   "throttle-read.png"),
                    help="where to draw the RCU per second against the budget (default: "
                         "$DDBFS_BENCH_OUT/throttle-read.png, else ./; '' for none)")
    ap.add_argument("--timeline", action="store_true", help="print RCU per second")
    args = ap.parse_args(argv[1:])

    reason = e2e.fuse_missing_reason()
    if reason:
        print(f"throttle_read: cannot run: {reason}", file=sys.stderr)
        return 1

    table = e2e.unique_name("bench-throttle")
    t = time.monotonic()
    print(e2e.load_table(table, args.items, start=1, pad=args.pad))
    print(f"loaded in {time.monotonic() - t:.1f} s")
    cost = e2e.scan_cost(table)
    budget = args.read_capacity or cost / args.seconds
    print(f"table {table}: {args.items} items, a full scan costs {cost:.1f} RCU (AWS CLI)")
    print(f"budget: read_capacity={budget:.3f} RCU/s, expected export time {cost / budget:.1f} s, "
          f"{args.segments} segments")

    workdir = tempfile.mkdtemp(prefix="ddbfs-bench.")
    try:
        mount = e2e.Mount([f"tables={table}", f"segments={args.segments}",
                           f"read_capacity={budget:.3f}", "log_throttle"])
        mount.start()
        try:
            t0 = time.monotonic()
            e2e.run(["cp", "-r", mount.path(table), os.path.join(workdir, "out")],
                    timeout=max(600, 5 * cost / budget), check=True)
            wall = time.monotonic() - t0
            lines = mount.log_lines()
            if args.keep:
                kept = os.path.join(tempfile.gettempdir(), f"{table}.ddbfs.log")
                shutil.copy(mount.log_path, kept)
                print(f"daemon log kept in {kept}")
        finally:
            mount.stop()
        exported = 0
        for root, _, names in os.walk(os.path.join(workdir, "out")):
            for n in names:
                if n.startswith("segment-"):
                    with open(os.path.join(root, n), "rb") as f:
                        exported += sum(1 for _ in f)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    events = parse_throttle_lines(lines, table)
    if len(events) < 2:
        print(f"throttle_read: {len(events)} throttle lines for {table} in the daemon's log; "
              "does this ddbfs support -o log_throttle?", file=sys.stderr)
        return 1
    consumed = sum(c for _, c, _ in events)
    span = events[-1][0] - events[0][0]
    print(f"exported {exported} lines of {args.items} items in {wall:.2f} s (cp -r wall time)")
    print(f"pages: {len(events)}, consumed {consumed:.1f} RCU by ddbfs's count "
          f"({consumed / cost * 100:.1f}% of the AWS CLI's full-scan cost), over {span:.2f} s")
    ok = report(events, budget, "RCU", wall, cost, timeline=args.timeline,
                png=args.png or None, title=f"export of {table}: {args.items} items, "
                f"budget {budget:.1f} RCU/s")
    if exported != args.items:
        print(f"throttle_read: {exported} items exported, {args.items} loaded", file=sys.stderr)
        return 1
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
