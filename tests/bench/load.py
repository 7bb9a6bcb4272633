"""Benchmark: the load scenarios of tests/e2e/test_load.py at sizes given here, with their figures
(times of ls of the root and of a many-segment table directory, of 64 readers and 64 writers, of
two restoring processes, of an export during a restore, and ddbfs's VmHWM after each) printed as
one table at the end.

Run it through tests/bench/load.sh (it starts dynalite and finds the binaries).
Exit status: test_load's (0 when every scenario passed).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
e2e_dir = os.path.join(here, "..", "e2e")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=100, help="tables listed at the root (100)")
    ap.add_argument("--segments", type=int, default=1000,
                    help="segments of the many-segment table (1000; dynalite: at most 4096)")
    ap.add_argument("--items", type=int, default=1000,
                    help="items per file of the 64 writers; x10 for the two processes (1000)")
    ap.add_argument("--export-items", type=int, default=50000,
                    help="items of the table exported during a restore (50000)")
    ap.add_argument("tests", nargs="*", help="only these tests of test_load (names)")
    args = ap.parse_args(argv[1:])
    fd, figures = tempfile.mkstemp(prefix="ddbfs-bench-load.", suffix=".jsonl")
    os.close(fd)
    env = dict(os.environ, DDBFS_LOAD_TABLES=str(args.tables),
               DDBFS_LOAD_SEGMENTS=str(args.segments), DDBFS_LOAD_ITEMS=str(args.items),
               DDBFS_LOAD_EXPORT_ITEMS=str(args.export_items), DDBFS_LOAD_FIGURES=figures)
    names = [f"test_load.LoadTest.{t}" for t in args.tests] or ["test_load"]
    try:
        rc = subprocess.run([sys.executable, "run.py", *names], cwd=e2e_dir, env=env).returncode
        with open(figures) as f:
            rows = [json.loads(line) for line in f]
    finally:
        os.unlink(figures)
    print(f"\nload figures (tables={args.tables} segments={args.segments} items={args.items} "
          f"export_items={args.export_items}; on a shared machine, times are contended):")
    width = max((len(r["figure"]) for r in rows), default=10)
    for r in rows:
        v = r["value"]
        v = f"{v:10.3f}" if isinstance(v, float) else f"{v:10}"
        print(f"  {r['figure']:<{width}}  {v} {r['unit']}")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
