"""Benchmark: export throughput over plain http and over TLS.

Loads a table into dynalite, starts stunnel4 on loopback in front of it (TLS with a CA made for
the run, as tests/e2e/test_security.py does), then exports the same table with `cp -r` through two
mounts, one at http://127.0.0.1:PORT and one at https://localhost:PORT with ca_file=, each with a
fresh cache, alternately --rounds times, and prints for each: MB/s (bytes of the segment files /
wall time of cp -r), and the CPU seconds ddbfs used. Real DynamoDB is HTTPS only.

Run it through tests/bench/https_read.sh (it starts dynalite and finds the binaries).
Exit status: 0, or 1 on an error (an export that differs from the table is an error).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "e2e"))
import ddbfs_e2e as e2e  # noqa: E402
import security_support as sec  # noqa: E402


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def export_once(table, options, items, keys, workdir):
    """(bytes, seconds, ddbfs CPU seconds) of one cp -r of table through a fresh mount."""
    out = tempfile.mkdtemp(prefix="out.", dir=workdir)
    with sec.Mount([f"tables={table}"] + options) as m:
        os.listdir(m.mountpoint)
        cpu0 = cpu_seconds(m.proc.pid)
        t0 = time.monotonic()
        e2e.run(["cp", "-r", m.path(table), os.path.join(out, table)], check=True, timeout=1800)
        took = time.monotonic() - t0
        cpu = cpu_seconds(m.proc.pid) - cpu0
    exp = e2e.read_export(os.path.join(out, table), keys)
    if exp.problems or exp.duplicates or len(exp.items) != items:
        raise AssertionError(f"export through {options}: {len(exp.items)} items of {items}, "
                             f"problems {exp.problems[:3]}, duplicates {exp.duplicates[:3]}")
    size = sum(len(v) for k, v in exp.files.items() if k.startswith("segment-"))
    shutil.rmtree(out)
    return size, took, cpu


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=20000, help="items to load (default 20000)")
    ap.add_argument("--pad", type=int, default=1000, help="padding bytes per item (default 1000)")
    ap.add_argument("--segments", type=int, default=8, help="segments (default 8)")
    ap.add_argument("--rounds", type=int, default=3, help="exports over each (default 3)")
    args = ap.parse_args(argv[1:])

    workdir = tempfile.mkdtemp(prefix="ddbfs-bench-https.")
    tls = None
    try:
        table = e2e.unique_name("bench-https")
        print(f"loading {args.items} items (pad {args.pad}) into {table} ...", flush=True)
        e2e.load_table(table, args.items, pad=args.pad)
        tls = sec.Tls().start()
        common = [f"segments={args.segments}", "read_capacity=1000000"]
        ways = {
            "http ": [f"endpoint={e2e.endpoint()}"],
            "https": [f"endpoint={tls.url()}", f"ca_file={tls.ca_file}"],
        }
        results = {k: [] for k in ways}
        for r in range(args.rounds):
            for name, opts in ways.items():
                size, took, cpu = export_once(table, common + opts, args.items, ("pk", "sk"),
                                              workdir)
                results[name].append((size, took, cpu))
                print(f"round {r + 1} {name}: {size / 1e6:.1f} MB in {took:.2f} s = "
                      f"{size / 1e6 / took:.1f} MB/s, ddbfs CPU {cpu:.2f} s", flush=True)
        print(f"\n{args.items} items, {args.segments} segments, best of {args.rounds} "
              f"(dynalite on one JS thread is the usual bottleneck; a shared machine is noisy):")
        for name, rs in results.items():
            size, took, cpu = min(rs, key=lambda x: x[1])
            med = sorted(x[1] for x in rs)[len(rs) // 2]
            print(f"  {name}: {size / 1e6 / took:6.1f} MB/s best, {size / 1e6 / med:6.1f} MB/s "
                  f"median, ddbfs CPU {cpu / (size / 1e6):.3f} s per MB")
        return 0
    except AssertionError as e:
        print(f"https_read: {e}", file=sys.stderr)
        return 1
    finally:
        if tls:
            tls.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
