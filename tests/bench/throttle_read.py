"""Benchmark: does an export through ddbfs keep to its read budget?

Loads a table into dynalite, mounts it with -o read_capacity=R,log_throttle, copies it with
`cp -r` and measures, from ddbfs's own log of ConsumedCapacity (one line per Scan page:
`ddbfs: info: throttle: table=T segment=I/N consumed=X t=SECONDS`, t monotonic), the RCU
consumed per second against the budget:

  * the average over the run, goal: within 3% of the budget;
  * the highest 5-second window, goal: at most 110% of the budget.

Run it through tests/bench/run.sh (it starts dynalite and finds the binaries); see README.md.
Exit status: 0 when both goals are met, 3 when one is missed, 1 on an error.
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import ddbfs_e2e as e2e  # noqa: E402

# `ddbfs: info: throttle: table=T segment=I/N consumed=X t=SECONDS`; other key=value fields (such
# as items= or total=) may come in between and are ignored.
THROTTLE_RE = re.compile(r"^ddbfs: info: throttle: (.*)$")
FIELD_RE = re.compile(r"(\w+)=(\S+)")
WINDOW_S = 5.0
AVERAGE_GOAL = 0.03  # |average / budget - 1|
WINDOW_GOAL = 1.10  # highest window / budget


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


def per_second(events):
    """Consumption in each whole second after the first page: [RCU in second 0, 1, ...]."""
    if not events:
        return []
    t0 = events[0][0]
    buckets = [0.0] * (int(events[-1][0] - t0) + 1)
    for t, c, _ in events:
        buckets[int(t - t0)] += c
    return buckets


def average_rate(events):
    """RCU/s between the first and the last page: the pages after the first, over that time (the
    first page's capacity was earned before the first timestamp)."""
    if len(events) < 2:
        return None
    span = events[-1][0] - events[0][0]
    return sum(c for _, c, _ in events[1:]) / span if span > 0 else None


def highest_window(events, width=WINDOW_S):
    """The highest RCU/s over any window [t, t + width) that starts at a page and lies inside the
    run, and where it starts (seconds after the first page). None when the run is shorter."""
    best = None
    j = 0
    total = 0.0
    t_last = events[-1][0] if events else 0
    for i, (t, _, _) in enumerate(events):
        if t + width > t_last:
            break
        while j < len(events) and events[j][0] < t + width:
            total += events[j][1]
            j += 1
        rate = total / width
        if best is None or rate > best[0]:
            best = (rate, t - events[0][0])
        total -= events[i][1]
    return best


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=4000, help="items to load (default 4000)")
    ap.add_argument("--pad", type=int, default=4000,
                    help="padding bytes per item (default 4000: ~4.4 KB items)")
    ap.add_argument("--seconds", type=float, default=20.0,
                    help="pick the budget so that the export lasts this long (default 20)")
    ap.add_argument("--read-capacity", type=float,
                    help="the budget in RCU/s (default: the table's scan cost / --seconds)")
    ap.add_argument("--segments", type=int, default=8, help="TotalSegments (default 8)")
    ap.add_argument("--keep", action="store_true", help="keep the daemon's log (path printed)")
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
    avg = average_rate(events)
    win = highest_window(events)
    span = events[-1][0] - events[0][0]
    print(f"exported {exported} lines of {args.items} items in {wall:.2f} s (cp -r wall time)")
    print(f"pages: {len(events)}, consumed {consumed:.1f} RCU by ddbfs's count "
          f"({consumed / cost * 100:.1f}% of the AWS CLI's full-scan cost), over {span:.2f} s")
    if args.timeline:
        for s, c in enumerate(per_second(events)):
            print(f"  second {s:4d}: {c:8.1f} RCU  {c / budget * 100:6.1f}%")
    ok = True
    dev = avg / budget - 1
    good = abs(dev) <= AVERAGE_GOAL
    ok &= good
    print(f"average:      {avg:8.2f} RCU/s = {avg / budget * 100:6.1f}% of the budget "
          f"(goal: within {AVERAGE_GOAL * 100:.0f}%)  {'met' if good else 'MISSED'}")
    if win is None:
        print(f"highest {WINDOW_S:.0f} s window: the run is shorter than {WINDOW_S:.0f} s  MISSED")
        ok = False
    else:
        good = win[0] <= WINDOW_GOAL * budget
        ok &= good
        print(f"highest {WINDOW_S:.0f} s window: {win[0]:8.2f} RCU/s = {win[0] / budget * 100:6.1f}% "
              f"of the budget, at +{win[1]:.1f} s (goal: at most {WINDOW_GOAL * 100:.0f}%)  "
              f"{'met' if good else 'MISSED'}")
    print(f"wall time:    {wall:.2f} s for {cost / budget:.1f} s of budget")
    if exported != args.items:
        print(f"throttle_read: {exported} items exported, {args.items} loaded", file=sys.stderr)
        return 1
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
