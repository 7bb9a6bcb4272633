"""Benchmark: how ddbfs's export and restore scale with the table: time and memory at 10 k, 100 k
and 1 M items of ~215 bytes (gen_items.py).

For each size: loads a table with ddbload (not timed), exports it with `cp -r` out of a mount
(-o segments=8), restores that export into a new table with `mkdir`, `cp _schema.json` and one
`cp` of the segment files through a second mount, counts the restored items, and deletes both
tables. Each phase has its own daemon, so its peak RSS is the phase's.

Prints a table: per size and phase the wall time, the time per item, the daemon's CPU time and
peak RSS, and against the middle size the ratio of the time per item (linear: about 1) and of
the peak RSS (flat: about 1). Goals: the largest size's time per item and its daemon peak RSS
each at most 1.5x the middle size's. The middle size, not the smallest, is the reference: with
10 k items a segment (1,250 items) is less than one 1 MB Scan page (~4,200 of these items) and a
restore file fits in the writer's queue, so neither pipeline is full yet; from there on nothing
may grow with the table.

Run it through tests/bench/run.sh scaling. Exit status 0 when the goals are met, 3 when one is
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

TIME_GOAL = 1.5
RSS_GOAL = 1.5


def one_size(n, work, segments):
    """{phase: run} for export and restore of n items."""
    prefix = e2e.unique_name(f"bench-scale{n}")
    source, target = prefix + "-src", prefix + "-restored"
    items = os.path.join(work, "items.jsonl")
    bl.make_items(items, n)
    print(bl.load(source, items), flush=True)
    os.unlink(items)
    runs = {}
    with e2e.Mount([f"tables={source}", f"segments={segments}"]) as m:
        runs["export"] = bl.in_mount(m, ["cp", "-r", m.path(source), work])
    backup = os.path.join(work, source)
    runs["export"]["items"] = bl.count_lines(backup)
    files = sorted(os.path.join(backup, f) for f in os.listdir(backup) if f.startswith("segment-"))
    with e2e.Mount([f"tables={prefix}-*", f"segments={segments}"]) as m:
        tdir = m.path(target)
        os.mkdir(tdir)
        e2e.run(["cp", os.path.join(backup, "_schema.json"), tdir + "/"], timeout=300, check=True)
        runs["restore"] = bl.in_mount(m, ["cp", *files, tdir + "/"])
    runs["restore"]["items"] = bl.table_count(target)
    shutil.rmtree(backup)
    e2e.delete_table(source)
    e2e.delete_table(target)
    for phase, r in runs.items():
        print(f"{n} items: {phase} {r['wall']:.2f} s, daemon peak RSS {bl.mb(r['daemon_rss'])} MB",
              flush=True)
    return runs


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000",
                    help="item counts, comma-separated, smallest first (default 10000,100000,"
                         "1000000)")
    ap.add_argument("--segments", type=int, default=bl.SEGMENTS,
                    help=f"segments (default {bl.SEGMENTS})")
    args = ap.parse_args(argv[1:])
    sizes = [int(s) for s in args.sizes.split(",")]
    if len(sizes) < 2 or sizes != sorted(sizes):
        print("scaling: --sizes needs two or more counts, smallest first", file=sys.stderr)
        return 2
    reason = e2e.fuse_missing_reason()
    if reason:
        print(f"scaling: cannot run: {reason}", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="ddbfs-scaling.")
    try:
        results = {n: one_size(n, work, args.segments) for n in sizes}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    mid = sizes[len(sizes) // 2]
    print(f"\n~215 B items, {args.segments} segments, dynalite on loopback; ratios against "
          f"{mid} items\n")
    rows = []
    ok = True
    bad = []
    for phase in ("export", "restore"):
        ref = results[mid][phase]
        ref_us = ref["wall"] / mid * 1e6
        for n in sizes:
            r = results[n][phase]
            if r["items"] != n:
                bad.append(f"{phase} of {n}: {r['items']} items")
            us = r["wall"] / n * 1e6
            rows.append([phase, f"{n:,}", f"{r['wall']:.2f}", f"{us:.1f}", f"{us / ref_us:.2f}",
                         f"{r['daemon_cpu']:.2f}", bl.mb(r["daemon_rss"]),
                         f"{r['daemon_rss'] / ref['daemon_rss']:.2f}", f"{n / r['wall']:,.0f}"])
        big = results[sizes[-1]][phase]
        t_ratio = (big["wall"] / sizes[-1]) / (ref["wall"] / mid)
        m_ratio = big["daemon_rss"] / ref["daemon_rss"]
        ok &= t_ratio <= TIME_GOAL and m_ratio <= RSS_GOAL
        print(f"{phase}: time per item at {sizes[-1]:,} is {t_ratio:.2f}x that at {mid:,} "
              f"(goal: at most {TIME_GOAL}x)  {'met' if t_ratio <= TIME_GOAL else 'MISSED'}; "
              f"peak RSS {m_ratio:.2f}x that at {mid:,} (goal: at most {RSS_GOAL}x)  "
              f"{'met' if m_ratio <= RSS_GOAL else 'MISSED'}")
    print()
    bl.print_table(["phase", "items", "wall s", "µs/item", "vs mid", "daemon CPU s",
                    "daemon peak RSS MB", "RSS vs mid", "items/s"], rows)
    if bad:
        print(f"scaling: wrong item counts: {'; '.join(bad)}", file=sys.stderr)
        return 1
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
