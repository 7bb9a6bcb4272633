"""End-to-end: shard=K/M. M mounts side by side, each with its own shard of one table, export
exactly the table's items between them, no item twice, and together consume capacity at no more
than the table's budget (read_capacity=R is the table's; each host reads at R/M).

    tests/harness/with-dynalite env DDBFS_BIN=build/fs/ddbfs DDBLOAD_BIN=build/tests/tools/ddbload \\
        python3 tests/e2e/run.py test_shard
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import ddbfs_e2e as e2e

ITEMS = 1500
PAD = 2000  # bytes per item: ~3.5 MB
SEGMENTS = 6  # divisible by 2 and 3
SECONDS = 8.0  # how long a throttled export of the whole table should take at its budget
THROTTLE_RE = re.compile(r"throttle: table=(\S+) segment=(\d+)/(\d+) consumed=([\d.]+) t=([\d.]+)")


def setUpModule():
    e2e.require_fuse()


class Shards(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.table = e2e.unique_name("shard")
        e2e.load_table(cls.table, ITEMS, start=1, pad=PAD)
        cls.cost = e2e.scan_cost(cls.table)
        cls.items = e2e.scan_table(cls.table, ("pk", "sk"))
        cls.budget = cls.cost / SECONDS

    def export_in_shards(self, m_hosts):
        workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-shard.")
        mounts = []
        try:
            for k in range(m_hosts):
                mounts.append(e2e.Mount([f"tables={self.table}", f"segments={SEGMENTS}",
                                         f"shard={k}/{m_hosts}",
                                         f"read_capacity={self.budget:.3f}",
                                         "log_throttle"]).start())
            names = {}
            for k, m in enumerate(mounts):
                names[k] = sorted(os.listdir(m.path(self.table)))
                want = ["_schema.json", f"segments-{k}-of-{m_hosts}.sha256"] + [
                    f"segment-{i:04d}-of-{SEGMENTS:04d}.json"
                    for i in range(SEGMENTS) if i % m_hosts == k]
                self.assertEqual(names[k], sorted(want), f"shard {k}/{m_hosts}")
                other = f"segment-{(k + 1) % m_hosts:04d}-of-{SEGMENTS:04d}.json"
                with self.assertRaises(FileNotFoundError, msg=f"{other} on shard {k}"):
                    os.stat(m.path(self.table, other))
            # Every host copies its shard at once, as M pods would.
            t0 = time.monotonic()
            procs = [subprocess.Popen(["cp", "-r", m.path(self.table),
                                       os.path.join(workdir, f"out{k}")],
                                      stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
                     for k, m in enumerate(mounts)]
            for p in procs:
                _, err = p.communicate(timeout=600)
                self.assertEqual(p.returncode, 0, err)
                self.assertEqual(err, b"")
            elapsed = time.monotonic() - t0
            logs = [m.log() for m in mounts]
            for m in mounts:
                m.stop()
            mounts = []

            merged, duplicates = {}, []
            for k in range(m_hosts):
                out = os.path.join(workdir, f"out{k}")
                exp = e2e.read_export(out, ("pk", "sk"))
                self.assertEqual(exp.problems, [])
                # Each host's manifest has its own name and checks its own segments only.
                manifest = f"segments-{k}-of-{m_hosts}.sha256"
                listed = re.findall(r"^[0-9a-f]{64}  (segment-\S+)$", exp.manifest.decode(), re.M)
                self.assertEqual(sorted(listed), sorted(exp.segment_names), manifest)
                check = subprocess.run(["sha256sum", "-c", "--quiet", manifest], cwd=out,
                                       capture_output=True, timeout=60)
                self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
                self.assertEqual(exp.duplicates, [])
                for key, item in exp.items.items():
                    if key in merged:
                        duplicates.append(key)
                    merged[key] = item
            self.assertEqual(duplicates, [], "an item was exported by two shards")
            self.assertEqual(e2e.diff_items(merged, self.items), "")

            # Capacity: the shards' throttle lines together.
            events = []
            for k, log in enumerate(logs):
                self.assertIn(f"shard {k}/{m_hosts}", log)
                for mt in THROTTLE_RE.finditer(log):
                    seg = int(mt.group(2))
                    self.assertEqual(seg % m_hosts, k, f"shard {k} scanned segment {seg}")
                    events.append((float(mt.group(5)), float(mt.group(4))))
            events.sort()
            consumed = sum(c for _, c in events)
            span = events[-1][0] - events[0][0]
            rate = sum(c for _, c in events[1:]) / span if span > 0 else float("inf")
            msg = (f"M={m_hosts}: {consumed:.0f} RCU (a full scan costs {self.cost:.0f}) in "
                   f"{elapsed:.1f} s, {rate:.1f} RCU/s together against a table budget of "
                   f"{self.budget:.1f}")
            print(f"\n  {msg}", flush=True)
            self.assertLessEqual(consumed, self.cost * 1.5 + 10, msg)
            self.assertLessEqual(rate, self.budget * 1.2, "over the table's budget: " + msg)
            expected = self.cost / self.budget
            self.assertGreaterEqual(elapsed, 0.6 * expected, "over the table's budget: " + msg)
            # Together at the full budget (a host at 1/M of its share would give R/M in all).
            self.assertGreaterEqual(rate, 0.6 * self.budget, "below the budget: " + msg)
            self.assertLessEqual(elapsed, 3.0 * expected + 15, "far below the budget: " + msg)
        finally:
            for m in mounts:
                m.stop(check=False)
            shutil.rmtree(workdir, ignore_errors=True)

    def test_two_shards_export_the_table_once_within_its_budget(self):
        self.export_in_shards(2)

    def test_three_shards_export_the_table_once_within_its_budget(self):
        self.export_in_shards(3)

    def test_two_shards_restore_one_table_within_its_write_budget(self):
        """Host k writes the backup's segments i with i % 2 == k into the same existing table; the
        table gets every item and the hosts together write at the table's write budget."""
        workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-shard-restore.")
        backup = os.path.join(workdir, "backup")
        target = e2e.unique_name("shard-restore")
        mounts = []
        try:
            with e2e.Mount([f"tables={self.table}", f"segments={SEGMENTS}"]) as m:
                e2e.run(["cp", "-r", m.path(self.table), backup], check=True)
            with open(os.path.join(backup, "_schema.json")) as f:
                request = json.load(f)
            request["TableName"] = target
            e2e.create_table(request)
            cost = 0.0  # WCU: one per started KB of each item, as DynamoDB charges PutItem
            for item in self.items.values():
                cost += -(-len(json.dumps(item)) // 1024)
            budget = cost / SECONDS
            for k in range(2):
                mounts.append(e2e.Mount([f"tables={target}", f"segments={SEGMENTS}",
                                         f"shard={k}/2", f"write_capacity={budget:.3f}",
                                         "log_throttle"]).start())
            t0 = time.monotonic()
            procs = []
            for k, m in enumerate(mounts):
                files = [os.path.join(backup, f"segment-{i:04d}-of-{SEGMENTS:04d}.json")
                         for i in range(SEGMENTS) if i % 2 == k]
                # Under names of their own: no stat of the table's segments (no export first).
                args = ["sh", "-c", 'for f in "$@"; do cp "$f" "$0/restore-$(basename "$f")" '
                        '|| exit 1; done', m.path(target)] + files
                procs.append(subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE))
            for p in procs:
                _, err = p.communicate(timeout=600)
                self.assertEqual(p.returncode, 0, err)
            elapsed = time.monotonic() - t0
            logs = [m.log() for m in mounts]
            for m in mounts:
                m.stop()
            mounts = []
            self.assertEqual(e2e.diff_items(e2e.scan_table(target, ("pk", "sk")), self.items), "")
            events = sorted((float(mt.group(2)), float(mt.group(1))) for log in logs
                            for mt in re.finditer(r"throttle: table=\S+ write consumed=([\d.]+) "
                                                  r"t=([\d.]+)", log))
            span = events[-1][0] - events[0][0]
            rate = sum(c for _, c in events[1:]) / span if span > 0 else float("inf")
            msg = (f"restore of {sum(c for _, c in events):.0f} WCU by 2 shards in {elapsed:.1f} s: "
                   f"{rate:.1f} WCU/s together against a table budget of {budget:.1f}")
            print(f"\n  {msg}", flush=True)
            self.assertLessEqual(rate, budget * 1.2, "over the table's budget: " + msg)
            self.assertGreaterEqual(rate, 0.6 * budget, "below the budget: " + msg)
        finally:
            for m in mounts:
                m.stop(check=False)
            shutil.rmtree(workdir, ignore_errors=True)

    def test_the_contrib_script_backs_up_each_shard_once(self):
        """contrib/shard-backup.sh, as the Kubernetes Indexed Job (JOB_COMPLETION_INDEX) and the
        AWS Batch array job (AWS_BATCH_JOB_ARRAY_INDEX) run it, into one destination."""
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib",
                              "shard-backup.sh")
        workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-shard-script.")
        dest = os.path.join(workdir, "backup")
        os.mkdir(dest)
        try:
            for k, index_var in enumerate(("JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX")):
                env = dict(os.environ, SHARD_COUNT="2", SEGMENTS=str(SEGMENTS), DEST=dest,
                           MNT=os.path.join(workdir, f"mnt{k}"),
                           CACHE_DIR=os.path.join(workdir, f"cache{k}"),
                           DDB_REGION="us-east-1",
                           DDBFS_OPTIONS=f"tables={self.table},endpoint={e2e.endpoint()}",
                           PATH=os.path.dirname(e2e.ddbfs_bin()) + ":" + os.environ["PATH"])
                env[index_var] = str(k)
                proc = e2e.run(["sh", script], env=env, timeout=300)
                out = (proc.stdout + proc.stderr).decode(errors="replace")
                self.assertEqual(proc.returncode, 0, out)
                self.assertIn(f"shard {k} of 2", out)
                self.assertFalse(e2e.is_mounted(os.path.join(workdir, f"mnt{k}")))
            exp = e2e.read_export(os.path.join(dest, self.table), ("pk", "sk"), SEGMENTS)
            self.assertEqual(exp.problems, [])
            self.assertEqual(exp.duplicates, [])
            self.assertEqual(e2e.diff_items(exp.items, self.items), "")
        finally:
            for k in range(2):
                if e2e.is_mounted(os.path.join(workdir, f"mnt{k}")):
                    e2e.fusermount_unmount(os.path.join(workdir, f"mnt{k}"))
            shutil.rmtree(workdir, ignore_errors=True)

    def test_a_shard_without_segments_or_out_of_range_is_refused(self):
        for opts, want in ((["shard=1/3"], "needs segments=N"),
                           (["shard=1/3", "segments=2"], "needs segments=N with N at least 3"),
                           (["shard=3/3", "segments=6"], "bad value for option shard=3/3"),
                           (["shard=x", "segments=6"], "bad value for option shard=x")):
            status, output, mounted = e2e.run_ddbfs_expecting_refusal(
                opts + [f"endpoint={e2e.endpoint()}"])
            self.assertFalse(mounted)
            self.assertNotIn(status, (0, None), output)
            self.assertIn(want, output)


if __name__ == "__main__":
    unittest.main()
