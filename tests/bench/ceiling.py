#!/usr/bin/env python3
"""Benchmark 1, the client ceiling: how fast can ddbfs export when the server costs nothing?

Starts tests/tools/ddbcanned (a canned DynamoDB server that answers Scan with ready-made ~1 MB
pages of ~220-byte items at memory speed) with a table of N items, mounts it with ddbfs (a read
budget far above what the machine can do, segments=auto, a cache that holds the whole table),
reads every segment file in parallel through the mount (`wc -l`, which also counts the items) and
prints, for each N:

  * MB/s of segment output (bytes of all segment files / wall time from the first open to the
    last byte read); goal: at least 320 MB/s
  * ddbfs's peak RSS (VmHWM); goal: at most 64 MB, and the same at 10 k and 10 M items (the
    largest of the runs at most 1.2x the smallest)
  * ddbfs's CPU time (user + system) and the canned server's, over the run, and the CPU time of
    ddbfs's busiest thread (the I/O thread, which receives, checks and stores every page: on a
    quiet machine the export cannot be faster than bytes / that time)

usage: tests/bench/ceiling.py [--build DIR] [--items N[,N...]] [--segments auto|N]
                              [--read-capacity RCU] [--workdir DIR] [--keep] [--wrap CMD]
                              [--smoke]
(--wrap runs ddbfs under CMD: with callgrind, the instruction count per run is the repeatable
figure on a shared machine; RSS and times are then valgrind's.)
Default items: 10000,10000000 (10 M items is ~2.3 GB of segment files in the cache, on disk).
--smoke (the ctest `e2e_ceiling_smoke`) reads the files in Python and checks that every item of the
canned table is there exactly once, and times nothing.
Exit status: 0 when every goal is met, 3 when one is missed, 1 on an error.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOAL_MBS = 320.0
GOAL_RSS_MB = 64.0
SAME_RSS = 1.2  # "the same RSS at 10 k and 10 M items": the largest at most 1.2x the smallest
TICK = os.sysconf("SC_CLK_TCK")


def die(msg):
    print(f"ceiling: {msg}", file=sys.stderr)
    sys.exit(1)


def find_build(arg):
    for d in ([arg] if arg else [os.path.join(ROOT, "build"), os.path.join(ROOT, "build-e2e")]):
        if os.path.exists(os.path.join(d, "fs", "ddbfs")) and \
                os.path.exists(os.path.join(d, "tests", "tools", "ddbcanned")):
            return d
    die("no build with fs/ddbfs and tests/tools/ddbcanned (cmake --build build; or --build DIR)")


def proc_status(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])  # kB
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    except (OSError, IndexError, ValueError):
        return 0.0


def thread_cpu(pid):
    """CPU seconds of each thread of pid, by thread id."""
    out = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            out[tid] = cpu_seconds(f"{pid}/task/{tid}")
    except OSError:
        pass
    return out


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    die(f"timed out after {timeout} s waiting for {what}")


def check_keys(table, segs, items, log_path):
    """--smoke: every line is an export line of one of the table's items, each item exactly once."""
    seen = bytearray(items)
    for n in segs:
        with open(os.path.join(table, n), "rb") as f:
            for no, line in enumerate(f, 1):
                try:
                    item = json.loads(line)["Item"]
                    k = int(item["pk"]["S"].split("#", 1)[1])
                except (ValueError, KeyError, IndexError, TypeError) as e:
                    die(f"{n} line {no}: not an export line of the canned table ({e}): {line[:200]!r}")
                if not 0 <= k < items or seen[k]:
                    die(f"{n} line {no}: item {k} is {'read twice' if 0 <= k < items else 'unknown'}")
                seen[k] = 1
    missing = items - sum(seen)
    if missing:
        die(f"{missing} of {items} items are missing; ddbfs's log: {open(log_path).read()}")
    print(f"ceiling: smoke: {items} items in {len(segs)} segments, each exactly once")
    return None


def run_one(build, items, args, workdir):
    port_file = os.path.join(workdir, "port")
    server = subprocess.Popen([os.path.join(build, "tests", "tools", "ddbcanned"), "--items",
                               str(items), "--port-file", port_file, "--watch-pid",
                               str(os.getpid())], stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(workdir, "server.log"), "w"))
    ddbfs = None
    mnt = os.path.join(workdir, "mnt")
    cache = os.path.join(workdir, "cache")
    os.makedirs(mnt, exist_ok=True)
    try:
        wait_for(lambda: os.path.exists(port_file) or server.poll() is not None, 10, "ddbcanned")
        if server.poll() is not None:
            die(f"ddbcanned exited {server.returncode}")
        with open(port_file) as f:
            endpoint = f"http://127.0.0.1:{f.read().strip()}"
        cache_size = max(8 << 30, items * 400)
        opts = [f"endpoint={endpoint}", "tables=bench", f"read_capacity={args.read_capacity}",
                f"segments={args.segments}", f"cache_dir={cache}", f"cache_size={cache_size}"]
        env = dict(os.environ, AWS_ACCESS_KEY_ID="bench-akid", AWS_SECRET_ACCESS_KEY="bench-secret")
        env.pop("AWS_SESSION_TOKEN", None)
        env.pop("AWS_PROFILE", None)
        log_path = os.path.join(workdir, "ddbfs.log")
        wrap = args.wrap.split() if args.wrap else []
        ddbfs = subprocess.Popen([*wrap, os.path.join(build, "fs", "ddbfs"), "-f", "-o", ",".join(opts),
                                  "us-east-1", mnt], env=env, stdout=subprocess.DEVNULL,
                                 stderr=open(log_path, "w"))
        wait_for(lambda: os.path.ismount(mnt) or ddbfs.poll() is not None, 120 if wrap else 20,
                 "the mount")
        if ddbfs.poll() is not None:
            die(f"ddbfs exited {ddbfs.returncode}: {open(log_path).read()}")
        cpu0, scpu0 = cpu_seconds(ddbfs.pid), cpu_seconds(server.pid)
        threads0 = thread_cpu(ddbfs.pid)
        t0 = time.monotonic()
        table = os.path.join(mnt, "bench")
        segs = sorted(n for n in os.listdir(table) if n.startswith("segment-"))
        if args.smoke:
            return check_keys(table, segs, items, log_path)
        readers = [subprocess.Popen(["wc", "-l", os.path.join(table, n)], stdout=subprocess.PIPE,
                                    text=True) for n in segs]
        lines = 0
        for r in readers:
            out, _ = r.communicate()
            if r.returncode != 0:
                die(f"wc -l failed; ddbfs's log: {open(log_path).read()}")
            lines += int(out.split()[0])
        wall = time.monotonic() - t0
        size = sum(os.stat(os.path.join(table, n)).st_size for n in segs)
        cpu, scpu = cpu_seconds(ddbfs.pid) - cpu0, cpu_seconds(server.pid) - scpu0
        hwm = proc_status(ddbfs.pid, "VmHWM") / 1024.0
        threads1 = thread_cpu(ddbfs.pid)
        busiest = max([threads1[t] - threads0.get(t, 0.0) for t in threads1] or [0.0])
        if lines != items:
            die(f"{lines} items read through the mount, {items} in the table")
        return {"items": items, "segments": len(segs), "bytes": size, "wall": wall,
                "mbs": size / wall / 1e6, "rss": hwm, "cpu": cpu, "server_cpu": scpu,
                "busiest": busiest}
    finally:
        if ddbfs and ddbfs.poll() is None:
            subprocess.run(["fusermount3", "-u", mnt], stderr=subprocess.DEVNULL)
            try:
                ddbfs.wait(timeout=30)
            except subprocess.TimeoutExpired:
                ddbfs.kill()
                ddbfs.wait()
        server.terminate()
        server.wait(timeout=10)
        with open(os.path.join(workdir, "server.log")) as f:
            summary = [l.strip() for l in f if "requests on" in l]
        if summary:
            print(f"  {summary[-1]}")
        log_path = os.path.join(workdir, "ddbfs.log")
        if args.smoke and ddbfs and os.path.exists(log_path):
            # Any line but ddbfs's own info (a warning, an error, a sanitizer's report) fails.
            with open(log_path, errors="replace") as f:
                bad = [l.rstrip() for l in f if l.strip() and not l.startswith("ddbfs: info: ")]
            if bad or ddbfs.returncode != 0:
                die(f"ddbfs exited {ddbfs.returncode}; unexpected lines in its log:\n" +
                    "\n".join(bad[:40]))
        shutil.rmtree(cache, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build")
    ap.add_argument("--items", default="10000,10000000")
    ap.add_argument("--segments", default="auto")
    ap.add_argument("--read-capacity", type=int, default=1000000)
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    ap.add_argument("--smoke", action="store_true",
                    help="check every item arrives exactly once instead of timing (ctest)")
    ap.add_argument("--wrap", help="command to run ddbfs under, e.g. "
                    "'valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out'")
    args = ap.parse_args()
    if args.smoke and not os.path.exists("/dev/fuse"):
        print("ceiling: /dev/fuse is missing: cannot mount, not run")
        return 77
    build = find_build(args.build)
    counts = [int(x) for x in args.items.split(",")]
    results = []
    base = tempfile.mkdtemp(prefix="ddbfs-ceiling.", dir=args.workdir)
    try:
        for n in counts:
            wd = os.path.join(base, str(n))
            os.makedirs(wd)
            r = run_one(build, n, args, wd)
            if r is None:
                continue
            results.append(r)
            print(f"{n:>10} items  {r['segments']:>3} segments  {r['bytes'] / 1e6:9.1f} MB  "
                  f"{r['wall']:7.2f} s  {r['mbs']:7.1f} MB/s  peak RSS {r['rss']:6.1f} MB  "
                  f"ddbfs CPU {r['cpu']:6.2f} s (busiest thread {r['busiest']:5.2f} s)  "
                  f"server CPU {r['server_cpu']:6.2f} s", flush=True)
    finally:
        if args.keep:
            print(f"ceiling: logs kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    if args.smoke:
        return 0
    ok = True
    big = max(results, key=lambda r: r["items"])
    if big["items"] >= 1000000 and big["mbs"] < GOAL_MBS:
        print(f"goal missed: {big['mbs']:.1f} MB/s < {GOAL_MBS:.0f} MB/s")
        ok = False
    for r in results:
        if r["rss"] > GOAL_RSS_MB:
            print(f"goal missed: peak RSS {r['rss']:.1f} MB > {GOAL_RSS_MB:.0f} MB at {r['items']} items")
            ok = False
    if len(results) > 1:
        lo, hi = min(r["rss"] for r in results), max(r["rss"] for r in results)
        same = hi <= SAME_RSS * lo
        print(f"peak RSS from {lo:.1f} to {hi:.1f} MB across {len(results)} sizes: {hi / lo:.2f}x "
              f"(goal: the same, at most {SAME_RSS}x)  {'met' if same else 'MISSED'}")
        ok &= same
    print("goals met" if ok else "some goals missed")
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main())
