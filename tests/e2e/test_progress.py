"""End-to-end tests of progress and verification (issue 5): the user.ddbfs.* extended attributes
and `ddbfs status` during a throttled export, the segments.sha256 manifest against the files and
the AWS CLI, a restore checked against the manifest, and rsync -a copying only the segments that
changed.

Run through ctest (tests/e2e/CMakeLists.txt), or by hand:
    tests/harness/with-dynalite env DDBFS_BIN=build/fs/ddbfs DDBLOAD_BIN=build/tests/tools/ddbload \\
        python3 tests/e2e/run.py test_progress          (from tests/e2e)
"""

import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import ddbfs_e2e as e2e

SEGMENTS = 4
ITEMS = 1200
PAD = 2000             # bytes of padding per item: ~2.6 MB, ~330 RCU for a full scan
EXPORT_SECONDS = 14.0  # the throttled export should take about this long at its budget
X = "user.ddbfs."


def setUpModule():
    e2e.require_fuse()
    e2e.ddbfs_bin()
    e2e.ddbload_bin()
    e2e.endpoint()


def xattrs(path):
    """{name: text} of the user.ddbfs.* attributes of path."""
    return {n: os.getxattr(path, n).decode() for n in os.listxattr(path) if n.startswith(X)}


def status(*args):
    """`ddbfs status ARGS` (stdout is a pipe: plain lines); returns the process."""
    return e2e.run([e2e.ddbfs_bin(), "status", *args], timeout=30)


class StatusOnTerminal:
    """`ddbfs status ARGS` with a pseudo-terminal as its stdout (a live, redrawn table), its output
    collected by a thread until it exits."""

    def __init__(self, *args):
        master, slave = os.openpty()
        self.master = master
        self.chunks = []
        self.proc = subprocess.Popen([e2e.ddbfs_bin(), "status", *args], stdin=subprocess.DEVNULL,
                                     stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO once the terminal's other side has no process left
                return
            if not data:
                return
            self.chunks.append(data)

    def wait(self, timeout):
        """Exit status (None when it did not exit in time: then it is killed) and the frames it
        drew (the text between its clear-screen sequences)."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.thread.join(timeout=5)
        os.close(self.master)
        text = b"".join(self.chunks).decode(errors="replace").replace("\r\n", "\n")
        return rc, [f for f in text.split("\033[H\033[J") if f]


def parse_status(text):
    """{table: {key: value}} from status's plain lines."""
    out = {}
    for line in text.splitlines():
        table, _, rest = line.partition(" ")
        out[table] = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', rest))
    return out


def segment_count(table, i, n):
    """Items in segment i of n, as the AWS CLI counts them (following LastEvaluatedKey)."""
    total, start = 0, None
    while True:
        args = ["scan", "--table-name", table, "--segment", str(i), "--total-segments", str(n),
                "--select", "COUNT", "--no-paginate"]
        if start is not None:
            args += ["--exclusive-start-key", json.dumps(start)]
        out = e2e.aws(*args)
        total += out["Count"]
        start = out.get("LastEvaluatedKey")
        if not start:
            return total


def read_manifest(data):
    """({segment name: (items, bytes)}, {file name: sha256}) from a manifest's text."""
    segs, sums = {}, {}
    for line in data.decode().splitlines():
        m = re.match(r"# segment: (\S+) items=(\d+) bytes=(\d+)$", line)
        if m:
            segs[m.group(1)] = (int(m.group(2)), int(m.group(3)))
        m = re.match(r"([0-9a-f]{64})  (\S+)$", line)
        if m:
            sums[m.group(2)] = m.group(1)
    return segs, sums


def segment_names(n):
    return [f"segment-{i:04d}-of-{n:04d}.json" for i in range(n)]


class ProgressOfAThrottledExport(unittest.TestCase):
    """One throttled export watched from start to end; its backup, then restores of it. The
    tests run in name order and build on each other (test_1 makes the snapshots)."""

    mount = None

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-progress.")
        cls.table = e2e.unique_name("progress")
        e2e.load_table(cls.table, ITEMS, pad=PAD)
        cls.items = e2e.scan_table(cls.table, ("pk", "sk"))
        assert len(cls.items) == ITEMS, len(cls.items)
        cls.cost = e2e.scan_cost(cls.table)
        cls.budget = cls.cost / EXPORT_SECONDS
        cls.mount = e2e.Mount([f"segments={SEGMENTS}", f"read_capacity={cls.budget:.3f}"],
                              allowed=[r"segments\.sha256: ", r"is missing", r"does not match"])
        cls.mount.start()
        cls.tdir = cls.mount.path(cls.table)
        cls.backup = os.path.join(cls.workdir, "backup")

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.mount:
                cls.mount.stop()
        finally:
            cls.mount = None
            shutil.rmtree(cls.workdir, ignore_errors=True)

    def tearDown(self):
        self.mount.check_log()

    def test_1_xattrs_and_status_follow_the_export_and_end_at_done(self):
        before = xattrs(self.tdir)  # nothing started yet: reading attributes starts nothing
        self.assertEqual(before[X + "state"], "idle")
        self.assertEqual(before[X + "items"], "0")
        self.assertEqual(before[X + "eta"], "unknown", "dynalite reports no item count")
        t0 = time.monotonic()
        os.listdir(self.tdir)  # starts the background scans
        seen, status_mid, live = [], None, None
        deadline = t0 + EXPORT_SECONDS * 8 + 60
        while time.monotonic() < deadline:
            a = xattrs(self.tdir)
            seen.append(a)
            items = int(a[X + "items"])
            if a[X + "state"] == "scanning" and live is None:
                live = StatusOnTerminal(self.mount.mountpoint, self.table)
            if a[X + "state"] == "scanning" and 0 < items < ITEMS and status_mid is None:
                proc = status("--once", self.mount.mountpoint, self.table)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                status_mid = parse_status(proc.stdout.decode())[self.table]
            if a[X + "state"] == "done":
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - t0
        final = seen[-1]
        self.assertEqual(final[X + "state"], "done", f"after {elapsed:.1f} s: {final}")
        self.assertEqual(final[X + "items"], str(ITEMS))
        self.assertEqual(final[X + "segments.done"], str(SEGMENTS))
        self.assertEqual(final[X + "segments.total"], str(SEGMENTS))
        self.assertEqual(final[X + "eta"], "0s")
        self.assertGreater(float(final[X + "consumed_rcu"]), 0)
        # On the way: scanning with some of the items, a rate, counts that only grow.
        scanning = [a for a in seen if a[X + "state"] == "scanning"]
        self.assertGreaterEqual(len(scanning), 3, f"the export took {elapsed:.1f} s")
        self.assertTrue(any(0 < int(a[X + "items"]) < ITEMS for a in scanning))
        self.assertTrue(any(float(a[X + "rate.items_per_s"]) > 0 for a in scanning))
        self.assertTrue(any(int(a[X + "segments.scanning"]) > 0 for a in scanning))
        counts = [int(a[X + "items"]) for a in seen]
        self.assertEqual(counts, sorted(counts), "the item count went back")
        self.assertIsNotNone(status_mid, "status was never taken while scanning")
        self.assertEqual(status_mid["state"], "scanning")
        self.assertLess(int(status_mid["items"]), ITEMS)
        self.assertEqual(status_mid["segments"].split("/")[1], str(SEGMENTS))
        # On a terminal: a table with a progress bar, redrawn every second while the export ran,
        # ending on its own (exit 0) once nothing is busy, with the bar full.
        self.assertIsNotNone(live, "the export was never seen scanning")
        rc, frames = live.wait(timeout=10)
        self.assertEqual(rc, 0, f"status on a terminal did not end by itself: {frames[-2:]}")
        busy = [f for f in frames if re.search(rf"^{re.escape(self.table)} +scanning +\[#*\.+\] +"
                                                 rf"\d+% +\d/{SEGMENTS} ", f, re.M)]
        self.assertGreaterEqual(len(busy), 3, f"{len(frames)} frames: {frames[:3]}")
        for f in frames:
            self.assertTrue(f.startswith("TABLE "), f"a frame without its header: {f!r}")
        self.assertRegex(frames[-1], rf"(?m)^{re.escape(self.table)} +done +\[#{{24}}\] +100% +"
                                     rf"{SEGMENTS}/{SEGMENTS} +{ITEMS} ")
        proc = status("--once", self.mount.mountpoint)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        end = parse_status(proc.stdout.decode())[self.table]
        self.assertEqual((end["state"], end["items"], end["segments"]),
                         ("done", str(ITEMS), f"{SEGMENTS}/{SEGMENTS}"))
        # Each finished segment: its items and the sha256 of its bytes.
        total = 0
        for name in segment_names(SEGMENTS):
            path = os.path.join(self.tdir, name)
            a = xattrs(path)
            with open(path, "rb") as f:
                data = f.read()
            self.assertEqual(a[X + "state"], "done", name)
            self.assertEqual(int(a[X + "items"]), data.count(b"\n"), name)
            self.assertEqual(int(a[X + "bytes"]), len(data), name)
            self.assertEqual(a[X + "sha256"], hashlib.sha256(data).hexdigest(), name)
            total += int(a[X + "items"])
        self.assertEqual(total, ITEMS)
        # And in the log, every 10 s while it ran.
        if elapsed > 11:
            lines = [l for l in self.mount.log_lines() if f"progress: export of {self.table}:" in l]
            self.assertTrue(lines, f"no progress line in {elapsed:.1f} s")
            self.assertRegex(lines[0], r"\d+/4 segments done .* items, .* items/s, .*eta \S+")

    def test_2_the_attributes_are_read_only(self):
        for path in (self.tdir, os.path.join(self.tdir, segment_names(SEGMENTS)[0])):
            with self.assertRaises(OSError) as cm:
                os.setxattr(path, X + "state", b"done")
            self.assertEqual(cm.exception.errno, errno.EOPNOTSUPP, path)
            with self.assertRaises(OSError) as cm:
                os.removexattr(path, X + "state")
            self.assertEqual(cm.exception.errno, errno.EOPNOTSUPP, path)

    def test_3_the_manifest_matches_the_files_and_the_aws_cli(self):
        names = os.listdir(self.tdir)
        self.assertEqual(names[-1], e2e.MANIFEST, "readdir lists the manifest last")
        self.assertEqual(sorted(names)[-1], e2e.MANIFEST, "and it sorts last")
        with open(os.path.join(self.tdir, e2e.MANIFEST), "rb") as f:
            data = f.read()
        self.assertEqual(os.stat(os.path.join(self.tdir, e2e.MANIFEST)).st_size, len(data))
        e2e.run(["cp", "-r", self.tdir, self.backup], check=True)
        proc = e2e.run(["sha256sum", "-c", e2e.MANIFEST], cwd=self.backup)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout.decode().count(": OK\n"), SEGMENTS + 1)  # + _schema.json
        segs, sums = read_manifest(data)
        self.assertEqual(sorted(segs), segment_names(SEGMENTS))
        self.assertIn(f"# table: {self.table}\n", data.decode())
        self.assertIn(f"# items: {ITEMS}\n", data.decode())
        for i, name in enumerate(segment_names(SEGMENTS)):
            with open(os.path.join(self.backup, name), "rb") as f:
                body = f.read()
            self.assertEqual(segs[name], (body.count(b"\n"), len(body)), name)
            self.assertEqual(sums[name], hashlib.sha256(body).hexdigest(), name)
            self.assertEqual(segs[name][0], segment_count(self.table, i, SEGMENTS), name)
        with open(os.path.join(self.backup, "_schema.json"), "rb") as f:
            self.assertEqual(sums["_schema.json"], hashlib.sha256(f.read()).hexdigest())

    def test_4_a_restore_with_the_manifest_reports_matching_counts(self):
        new = e2e.unique_name("progress-restored")
        proc = e2e.run(["rsync", "-a", self.backup + "/", self.mount.path(new) + "/"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        a = xattrs(self.mount.path(new))
        self.assertEqual(a[X + "restore.verified"],
                         f"ok: {ITEMS} items written of {ITEMS} expected, {SEGMENTS} segment files match")
        self.assertEqual(a[X + "restore.items_expected"], str(ITEMS))
        self.assertEqual(a[X + "restore.items_written"], str(ITEMS))
        self.assertEqual(a[X + "restore.items_rejected"], "0")
        self.assertEqual(a[X + "restore.files"], str(SEGMENTS))
        self.assertGreaterEqual(float(a[X + "restore.consumed_wcu"]), ITEMS)  # >= 1 WCU an item
        self.assertTrue(any(f"restore of {new} matches the manifest: {ITEMS} items written of "
                            f"{ITEMS} expected" in l for l in self.mount.log_lines()))
        self.assertEqual(len(e2e.scan_table(new, ("pk", "sk"))), ITEMS)
        proc = status("--once", self.mount.mountpoint, new)
        self.assertIn(f"restore_items_written={ITEMS}", proc.stdout.decode())

    def test_5_a_restore_missing_a_segment_fails_the_manifest_s_close(self):
        # rsync copies in name order: a segment not written when the manifest closes is missing.
        partial = os.path.join(self.workdir, "partial")
        os.mkdir(partial)
        missing = segment_names(SEGMENTS)[2]
        for name in os.listdir(self.backup):
            if name != missing:
                shutil.copy2(os.path.join(self.backup, name), partial)
        new = e2e.unique_name("progress-partial")
        proc = e2e.run(["rsync", "-a", partial + "/", self.mount.path(new) + "/"])
        self.assertNotEqual(proc.returncode, 0, "rsync of a backup missing a segment exited 0")
        self.assertIn(b"Input/output error", proc.stderr)
        logged = "\n".join(self.mount.log_lines())
        self.assertIn(f"{missing} is missing: it was not written into {new}", logged)
        self.assertRegex(logged, rf"restore of {new} does not match the manifest: \d+ items written "
                                 rf"of {ITEMS} expected; 1 of {SEGMENTS} segment files missing")
        self.assertTrue(xattrs(self.mount.path(new))[X + "restore.verified"].startswith("failed: "))

    def test_5b_cp_in_any_order_is_checked_when_the_last_segment_comes(self):
        # cp copies in the source directory's order (inode order): the manifest may come early;
        # the check then waits for the segments it lists, and the last one's close gets it.
        new = e2e.unique_name("progress-anyorder")
        os.mkdir(self.mount.path(new))
        late = segment_names(SEGMENTS)[2]
        for name in ["_schema.json"] + [n for n in segment_names(SEGMENTS) if n != late]:
            e2e.run(["cp", os.path.join(self.backup, name), self.mount.path(new)], check=True)
        e2e.run(["cp", os.path.join(self.backup, e2e.MANIFEST), self.mount.path(new)], check=True)
        verified = xattrs(self.mount.path(new))[X + "restore.verified"]
        self.assertEqual(verified, f"waiting: 1 of {SEGMENTS} segment files not written yet "
                                   f"(first: {late}); checked as they arrive")
        e2e.run(["cp", os.path.join(self.backup, late), self.mount.path(new)], check=True)
        self.assertEqual(xattrs(self.mount.path(new))[X + "restore.verified"],
                         f"ok: {ITEMS} items written of {ITEMS} expected, {SEGMENTS} segment files match")

    def test_5c_a_segment_that_differs_fails_the_manifest_s_close(self):
        new = e2e.unique_name("progress-differs")
        cut = os.path.join(self.workdir, "cut")
        os.mkdir(cut)
        for name in os.listdir(self.backup):
            shutil.copy2(os.path.join(self.backup, name), cut)
        short = os.path.join(cut, segment_names(SEGMENTS)[3])
        with open(short, "rb") as f:
            lines = f.readlines()
        with open(short, "wb") as f:
            f.writelines(lines[:-1])  # a line lost on the way
        os.mkdir(self.mount.path(new))
        for name in ["_schema.json"] + segment_names(SEGMENTS):
            e2e.run(["cp", os.path.join(cut, name), self.mount.path(new)], check=True)
        proc = e2e.run(["cp", os.path.join(cut, e2e.MANIFEST), self.mount.path(new)])
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"Input/output error", proc.stderr)
        self.assertIn(f"{segment_names(SEGMENTS)[3]}: {len(lines) - 1} items written (0 rejected), "
                      f"the manifest expects {len(lines)}", "\n".join(self.mount.log_lines()))

    def test_6_status_refuses_a_directory_that_is_not_a_ddbfs_mount(self):
        proc = status("--once", self.workdir)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"is not a ddbfs mount", proc.stderr)


class NightlyRsync(unittest.TestCase):
    """A segment whose content did not change keeps its mtime, so rsync -a copies only the
    segments that changed; the digests kept in the cache directory survive a remount."""

    def test_a_second_rsync_copies_only_the_segment_that_changed(self):
        table = e2e.unique_name("progress-nightly")
        e2e.load_table(table, 400)
        work = tempfile.mkdtemp(prefix="ddbfs-e2e-nightly.")
        cache = os.path.join(work, "cache")
        dst = os.path.join(work, "dst")
        opts = [f"tables={table}", f"segments={SEGMENTS}", "cache_ttl=2", f"cache_dir={cache}"]

        def rsync(m):
            proc = e2e.run(["rsync", "-a", "--itemize-changes", m.path(table) + "/", dst + "/"])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            return sorted(l.split(" ", 1)[1] for l in proc.stdout.decode().splitlines()
                          if l.startswith(">f"))

        try:
            with e2e.Mount(opts) as m:
                first = rsync(m)
                self.assertEqual(first, sorted(["_schema.json", e2e.MANIFEST] + segment_names(SEGMENTS)))
                # Change one item of segment 1, as a nightly job would find it.
                with open(os.path.join(dst, segment_names(SEGMENTS)[1]), "rb") as f:
                    item = json.loads(f.readline())["Item"]
                item["changed"] = {"S": "yes"}
                e2e.aws("put-item", "--table-name", table, "--item", json.dumps(item))
                time.sleep(3)  # past cache_ttl: the next use takes new snapshots
                self.assertEqual(rsync(m), sorted([segment_names(SEGMENTS)[1], e2e.MANIFEST]))
            # A remount on the same cache directory: the digests and mtimes are still known.
            with e2e.Mount(opts) as m:
                time.sleep(3)
                self.assertEqual(rsync(m), [])
                with open(os.path.join(dst, e2e.MANIFEST), "rb") as f:
                    self.assertEqual(f.read(), open(m.path(table, e2e.MANIFEST), "rb").read())
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_rsync_of_a_backup_back_into_its_table_checks_the_segments_it_skips(self):
        # rsync -a skips the segments whose size and mtime match the table's own files: the
        # manifest check counts them when the table's last snapshot had the manifest's sha256.
        table = e2e.unique_name("progress-back")
        e2e.load_table(table, 300)
        want = e2e.scan_table(table, ("pk", "sk"))
        work = tempfile.mkdtemp(prefix="ddbfs-e2e-back.")
        backup = os.path.join(work, "backup")
        opts = [f"tables={table}", f"segments={SEGMENTS}", "cache_ttl=2"]
        try:
            with e2e.Mount(opts) as m:
                e2e.run(["rsync", "-a", m.path(table) + "/", backup + "/"], check=True)
                with open(os.path.join(backup, segment_names(SEGMENTS)[1]), "rb") as f:
                    item = json.loads(f.readline())["Item"]
                item["changed"] = {"S": "yes"}
                e2e.aws("put-item", "--table-name", table, "--item", json.dumps(item))
                time.sleep(3)  # past cache_ttl: rsync compares with new snapshots
                proc = e2e.run(["rsync", "-a", "--itemize-changes", backup + "/", m.path(table) + "/"])
                self.assertEqual(proc.returncode, 0, proc.stderr)
                sent = sorted(l.split(" ", 1)[1] for l in proc.stdout.decode().splitlines()
                              if l.startswith(">f"))
                self.assertEqual(sent, [segment_names(SEGMENTS)[1], e2e.MANIFEST])
                verified = xattrs(m.path(table))[X + "restore.verified"]
                self.assertRegex(verified, r"^ok: \d+ items written of 300 expected \(\d+ more "
                                           r"already in the table, unchanged\), 4 segment files match")
            self.assertEqual(e2e.diff_items(e2e.scan_table(table, ("pk", "sk")), want), "")
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
