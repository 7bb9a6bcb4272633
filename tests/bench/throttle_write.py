"""Benchmark: does a restore through ddbfs keep to its write budget?

Loads a table into dynalite, backs it up through ddbfs, then restores the backup into a new table
through a mount with -o write_capacity=W,log_throttle, and measures, from ddbfs's own log of
ConsumedCapacity (one line per BatchWriteItem answer:
`ddbfs: info: throttle: table=T write consumed=X t=SECONDS items=K`, t monotonic), the WCU
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
import re
import shutil
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "e2e"))
sys.path.insert(0, here)
import ddbfs_e2e as e2e  # noqa: E402
from throttle_common import FIELD_RE, THROTTLE_RE, report  # noqa: E402

# `ddbfs: info: throttle: table=T write consumed=X t=SECONDS items=K`; other key=value fields may
# come in between and are ignored. Scan pages (segment=I/N, no "write") are not counted.
WRITE_RE = re.compile(r"(^|\s)write(\s|$)")
DDBLOAD_RE = re.compile(r"^ddbload: .*: (\d+) items stored in [\d.]+ s \(([\d.]+) WCU\)$")


def parse_write_lines(lines, table):
    """[(t, consumed, items)] of table's BatchWriteItem answers, in time order."""
    events = []
    for line in lines:
        m = THROTTLE_RE.match(line)
        if not m or not WRITE_RE.search(m.group(1)):
            continue
        f = dict(FIELD_RE.findall(m.group(1)))
        if f.get("table") != table or not {"consumed", "t"} <= set(f):
            continue
        events.append((float(f["t"]), float(f["consumed"]), int(f.get("items", 0))))
    events.sort()
    return events


def restore(mount, backup, table, writers, timeout):
    """Restores the backup directory into the new table `table`: mkdir, _schema.json first, then
    the segment files with `writers` cp processes at once (1: one `cp` of every file, in order).
    Returns the wall time of the data files (after the table was created)."""
    tdir = mount.path(table)
    os.mkdir(tdir)
    e2e.run(["cp", os.path.join(backup, "_schema.json"), tdir + "/"], timeout=120, check=True)
    segments = sorted(n for n in os.listdir(backup) if n.startswith("segment-"))
    groups = [segments[i::writers] for i in range(writers)]
    t0 = time.monotonic()
    procs = [subprocess.Popen(["cp", *[os.path.join(backup, n) for n in g], tdir + "/"],
                              stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for g in groups if g]
    failed = []
    try:
        for p in procs:
            _, err = p.communicate(timeout=max(1, t0 + timeout - time.monotonic()))
            if p.returncode != 0:
                failed.append(err.decode(errors="replace"))
    except subprocess.TimeoutExpired:
        failed.append(f"the restore did not finish within {timeout:.0f} s")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    if failed:
        raise AssertionError("cp into the mount failed: " + " / ".join(failed))
    return time.monotonic() - t0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=4000, help="items to load (default 4000)")
    ap.add_argument("--pad", type=int, default=4000,
                    help="padding bytes per item (default 4000: ~4.4 KB items, 5 WCU each)")
    ap.add_argument("--seconds", type=float, default=30.0,
                    help="pick the budget so that the restore lasts this long (default 30)")
    ap.add_argument("--write-capacity", type=float,
                    help="the budget in WCU/s (default: the table's write cost / --seconds)")
    ap.add_argument("--segments", type=int, default=8, help="segment files (default 8)")
    ap.add_argument("--writers", type=int, default=1,
                    help="files written at once, sharing the table's bucket (default 1)")
    ap.add_argument("--keep", action="store_true", help="keep the daemon's log (path printed)")
    ap.add_argument("--png", default=os.path.join(os.environ.get("DDBFS_BENCH_OUT", "."),
                                                   "throttle-write.png"),
                    help="where to draw the WCU per second against the budget (default: "
                         "$DDBFS_BENCH_OUT/throttle-write.png, else ./; '' for none)")
    ap.add_argument("--timeline", action="store_true", help="print WCU per second")
    args = ap.parse_args(argv[1:])

    reason = e2e.fuse_missing_reason()
    if reason:
        print(f"throttle_write: cannot run: {reason}", file=sys.stderr)
        return 1

    prefix = e2e.unique_name("bench-wthrottle")
    source, target = prefix + "-src", prefix + "-restored"
    t = time.monotonic()
    loaded = e2e.load_table(source, args.items, start=1, pad=args.pad)
    print(loaded)
    print(f"loaded in {time.monotonic() - t:.1f} s")
    m = DDBLOAD_RE.match(loaded)
    if not m:
        print(f"throttle_write: cannot read the write cost from ddbload's line: {loaded!r}",
              file=sys.stderr)
        return 1
    # Writing these items into an empty table costs what loading them did: dynalite charges
    # ceil(item size / 1024) WCU per new item.
    cost = float(m.group(2))
    budget = args.write_capacity or cost / args.seconds
    print(f"table {source}: {args.items} items, writing them costs {cost:.0f} WCU (ddbload)")
    print(f"budget: write_capacity={budget:.3f} WCU/s, expected restore time "
          f"{cost / budget:.1f} s, {args.segments} segment files, {args.writers} written at once")

    workdir = tempfile.mkdtemp(prefix="ddbfs-bench.")
    try:
        backup = os.path.join(workdir, source)
        with e2e.Mount([f"tables={source}", f"segments={args.segments}"]) as plain:
            e2e.run(["cp", "-r", plain.path(source), workdir], timeout=600, check=True)
        mount = e2e.Mount([f"tables={prefix}-*", f"segments={args.segments}",
                           f"write_capacity={budget:.3f}", "log_throttle"])
        mount.start()
        try:
            wall = restore(mount, backup, target, args.writers,
                           timeout=max(600, 5 * cost / budget))
            lines = mount.log_lines()
            if args.keep:
                kept = os.path.join(tempfile.gettempdir(), f"{target}.ddbfs.log")
                shutil.copy(mount.log_path, kept)
                print(f"daemon log kept in {kept}")
        finally:
            mount.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    restored = len(e2e.scan_table(target, ("pk", "sk")))

    events = parse_write_lines(lines, target)
    if len(events) < 2:
        print(f"throttle_write: {len(events)} write throttle lines for {target} in the daemon's "
              "log; does this ddbfs log BatchWriteItem answers with -o log_throttle?",
              file=sys.stderr)
        return 1
    consumed = sum(c for _, c, _ in events)
    span = events[-1][0] - events[0][0]
    print(f"restored {restored} of {args.items} items in {wall:.2f} s (cp wall time of the data "
          f"files)")
    print(f"BatchWriteItem answers: {len(events)}, {sum(n for _, _, n in events)} items, "
          f"consumed {consumed:.1f} WCU by ddbfs's count ({consumed / cost * 100:.1f}% of "
          f"ddbload's), over {span:.2f} s")
    ok = report(events, budget, "WCU", wall, cost, timeline=args.timeline,
                png=args.png or None, title=f"restore into {target}: {args.items} items, "
                f"budget {budget:.1f} WCU/s")
    if restored != args.items:
        print(f"throttle_write: {restored} items in {target}, {args.items} loaded", file=sys.stderr)
        return 1
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
