"""End-to-end tests of the restore half of ddbfs (issue 4): files written into a table directory
are stored in the table. dynalite on loopback, the real mount, the real tools (cp, rsync, tar),
the AWS CLI as the independent reader, s3fs over s3rver as S3-mounted storage.

Run through ctest (tests/e2e/CMakeLists.txt runs this module under with-dynalite and with-s3), or
by hand, from tests/e2e:
    ../harness/with-dynalite ../harness/with-s3 env DDBFS_BIN=../../build/fs/ddbfs \\
        DDBLOAD_BIN=../../build/tests/tools/ddbload python3 run.py test_restore
Without with-s3 the class ThroughS3MountedStorage skips (unless DDBFS_E2E_REQUIRE_S3 is set, as
ctest sets it: then it fails).

The test names in brackets in fs/SEMANTICS.md ("Writing: restore", "New tables", "Deleting") are
methods here.
"""

import base64
import errno
import gzip
import json
import os
import re
import shutil
import subprocess
import stat
import tempfile
import time
import unittest

import ddbfs_e2e as e2e
from test_export import provisioned_request, same_table_shape

SOURCE_ITEMS = int(os.environ.get("DDBFS_E2E_RESTORE_ITEMS", 3000))  # item 0 is ~400 KB
SEGMENTS = 4
KEYS = ("pk", "sk")
WRITTEN_TTL_S = 10  # a just-written file stays listed this long after its last change

# The lines ddbfs logs about a restore file (fs/upload.c, SEMANTICS.md "close() and fsync()").
REJECT_LINE_RE = re.compile(r"^ddbfs: error: (\S+) line (\d+): not stored: (.*)$")
REJECTS_PATH_RE = re.compile(r"(/\S+\.rejects)\b")


def setUpModule():
    e2e.require_fuse()
    e2e.ddbfs_bin()
    e2e.ddbload_bin()
    e2e.endpoint()


_source = {}


def prefix():
    """The prefix of every table this module makes: mounts show `tables=PREFIX-*`."""
    if "prefix" not in _source:
        _source["prefix"] = e2e.unique_name("restore")
    return _source["prefix"]


def table_name(what):
    return f"{prefix()}-{what}"


def source_table():
    """The table every restore starts from (loaded once per run): SOURCE_ITEMS test items of every
    attribute type, item 0 ~400 KB, on-demand, keys pk (S) and sk (N). Returns (name, {key: item}
    as the AWS CLI reads it)."""
    if "name" not in _source:
        name = table_name("src")
        e2e.load_table(name, SOURCE_ITEMS)
        items = e2e.scan_table(name, KEYS)
        if len(items) != SOURCE_ITEMS:
            raise AssertionError(f"the AWS CLI reads {len(items)} items of {name}, ddbload "
                                 f"stored {SOURCE_ITEMS}")
        _source["name"], _source["items"] = name, items
    return _source["name"], _source["items"]


def key_of(pk, sk):
    return e2e.item_key({"pk": {"S": pk}, "sk": {"N": str(sk)}}, KEYS)


# ---------------------------------------------------------------------------------------------
# Restore inputs built by the test from the formats' rules


LEGACY_TYPES = {"S": "s", "N": "n", "B": "b", "SS": "sS", "NS": "nS", "BS": "bS", "M": "m",
                "L": "l", "NULL": "nULLValue", "BOOL": "bOOL"}


def legacy_value(value):
    """An AttributeValue in DynamoDB JSON as the Java SDK v1 bean that Data Pipeline's Gson wrote:
    the same one-key object with the type key's first letter lower-cased (NULL: nULLValue),
    recursively inside maps and lists."""
    (kind, v), = value.items()
    if kind == "M":
        v = {name: legacy_value(x) for name, x in v.items()}
    elif kind == "L":
        v = [legacy_value(x) for x in v]
    return {LEGACY_TYPES[kind]: v}


def legacy_line(item):
    """One line of the Data Pipeline (Hive) export: name \\x03 value, attributes joined by \\x02."""
    parts = [name + "\x03" + json.dumps(legacy_value(v), ensure_ascii=False, separators=(",", ":"))
             for name, v in item.items()]
    return "\x02".join(parts).encode("utf-8") + b"\n"


def export_line(item):
    """One line of DynamoDB's native export (ExportTableToPointInTime, DYNAMODB_JSON)."""
    return json.dumps({"Item": item}, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def item_json(pk, sk, **attrs):
    item = {"pk": {"S": pk}, "sk": {"N": str(sk)}}
    for name, v in attrs.items():
        item[name] = {"S": v}
    return item


# ---------------------------------------------------------------------------------------------


class MountedTestCase(unittest.TestCase):
    """One mount for the whole class showing every table of this module; every test's daemon
    stderr is checked after it (a test that expects errors or warnings allows them first, with
    allow_log).

    Tables a test restores into are made in make_tables, before the mount starts: the mount lists
    the tables again at most every 5 s (SEMANTICS.md, "The tree"), so a table made by another
    program during a test may not be there yet."""

    mount = None
    mount_options = ()

    @classmethod
    def make_tables(cls):
        pass

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-restore.")
        try:
            cls.source, cls.items = source_table()
            cls.make_tables()
            cls.mount = e2e.Mount([f"tables={prefix()}-*", f"segments={SEGMENTS}",
                                   *cls.mount_options]).start()
        except BaseException:
            shutil.rmtree(cls.workdir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.mount:
                cls.mount.stop()
        finally:
            cls.mount = None
            shutil.rmtree(cls.workdir, ignore_errors=True)

    def setUp(self):
        self.log_allowed = []

    def allow_log(self, *patterns):
        """Daemon stderr lines this test expects (regular expressions), checked after it."""
        self.log_allowed.extend(patterns)

    def tearDown(self):
        if self.mount:
            self.mount.check_log(allowed=self.log_allowed)

    def local(self, name):
        """A path in the class's local directory that does not exist yet."""
        path = os.path.join(self.workdir, name)
        self.assertFalse(os.path.exists(path), path)
        return path

    def run_tool(self, args, **kw):
        """Runs a copying tool: it must exit 0 and print nothing on stderr."""
        proc = e2e.run(args, **kw)
        err = proc.stderr.decode(errors="replace")
        self.assertEqual(proc.returncode, 0, f"{args} exited {proc.returncode}: {err[-3000:]}\n"
                                             f"ddbfs's log:\n{self.mount.log()[-3000:]}")
        self.assertEqual(err, "", f"{args} printed on stderr")
        return proc

    def export_with_cp(self, table=None):
        """A backup of table (default: the source) made with cp -r, BACKUP/TABLE, once per class:
        tests only read it."""
        table = table or self.source
        backups = type(self).__dict__.get("_backups")
        if backups is None:
            backups = type(self)._backups = {}
        if table not in backups:
            dst = self.local(f"cp-backup-{table}")
            os.mkdir(dst)
            self.run_tool(["cp", "-r", self.mount.path(table), dst])
            backups[table] = os.path.join(dst, table)
        return backups[table]

    def assertTableHolds(self, table, want, what):
        """The table's items, read with the AWS CLI, are exactly want."""
        got = e2e.scan_table(table, KEYS)
        diff = e2e.diff_items(got, want)
        self.assertEqual(diff, "", f"{what}: table {table} differs from what was restored "
                                   f"(\"exported\" below is the table):\n{diff}")

    def assertSameKeysAndBilling(self, table):
        got, want = e2e.describe_table(table), e2e.describe_table(self.source)
        self.assertEqual(got["KeySchema"], want["KeySchema"])
        self.assertEqual(sorted(map(json.dumps, got["AttributeDefinitions"])),
                         sorted(map(json.dumps, want["AttributeDefinitions"])))
        self.assertEqual(got.get("BillingModeSummary", {}).get("BillingMode"),
                         want.get("BillingModeSummary", {}).get("BillingMode"))


class RestoreIntoNewTables(MountedTestCase):
    """A backup made with cp -r, rsync -a or tar -c goes back into a new table with the same tool:
    mkdir, then _schema.json first (it sorts and is listed first) creates the table."""

    @classmethod
    def make_tables(cls):
        # Other table shapes: a provisioned table with a GSI and an LSI, a binary hash key only.
        cls.shaped = {"gsi-lsi": table_name("gsi-lsi"), "binary-hash": table_name("binary-hash")}
        e2e.create_table(provisioned_request(cls.shaped["gsi-lsi"]))
        e2e.load_table(cls.shaped["gsi-lsi"], 200, create=None, start=1)
        e2e.load_table(cls.shaped["binary-hash"], 0, create="id:B")
        for i in range(30):
            item = {"id": {"B": base64.b64encode(bytes([i, 0, 255 - i])).decode()},
                    "n": {"N": str(i)}, "l": {"L": [{"BOOL": i % 2 == 0}, {"NULL": True}]}}
            e2e.aws("put-item", "--table-name", cls.shaped["binary-hash"], "--item",
                    json.dumps(item))

    def assertRestoredNew(self, table):
        self.assertIn(table, os.listdir(self.mount.mountpoint))
        self.assertSameKeysAndBilling(table)
        self.assertTableHolds(table, self.items, "restored into a new table")

    def test_cp_restores_into_a_new_table(self):
        backup = self.export_with_cp()
        with self.subTest("the backup as cp -r made it"):
            new = table_name("cp")
            self.run_tool(["cp", "-r", backup, self.mount.path(new)])
            self.assertRestoredNew(new)
        # GNU cp -r copies a directory's entries in inode order (gnulib savedir's FASTREAD), not
        # in name order: a backup whose files were written in another order (a download tool
        # that does not sort, a copy made in parallel) has _schema.json after the segments.
        with self.subTest("a backup whose _schema.json was written last"):
            last = self.local("schema-last")
            os.makedirs(os.path.join(last, self.source))
            names = sorted(os.listdir(backup), key=lambda n: n == "_schema.json")
            for name in names:
                shutil.copy(os.path.join(backup, name), os.path.join(last, self.source, name))
            ino = {n: os.stat(os.path.join(last, self.source, n)).st_ino for n in names}
            if ino["_schema.json"] < min(v for n, v in ino.items() if n != "_schema.json"):
                self.skipTest(f"this filesystem gave _schema.json, created last, the lowest inode "
                              f"number: {ino}")
            # Files before the schema wait for it (spooled), and are stored when it comes.
            new = table_name("cp-schema-last")
            self.run_tool(["cp", "-r", os.path.join(last, self.source), self.mount.path(new)])
            self.assertRestoredNew(new)
            self.assertTrue(any("stored the" in l and "written before it" in l
                                for l in self.mount.log_lines()), "the log says what waited")

    def test_rsync_restores_into_a_new_table(self):
        backup = self.local("rsync-backup")
        self.run_tool(["rsync", "-a", self.mount.path(self.source) + "/", backup + "/"])
        new = table_name("rsync")
        self.run_tool(["rsync", "-a", backup + "/", self.mount.path(new) + "/"])
        self.assertRestoredNew(new)

    def test_indexes_and_billing_come_back_in_a_new_table(self):
        for what, table in self.shaped.items():
            with self.subTest(what):
                want = e2e.scan_table(table)
                self.assertGreater(len(want), 0)
                backup = self.export_with_cp(table)
                new = table_name(f"shape-{what}")
                # rsync: it sorts, so the schema comes first (see test_cp_restores_into_a_new_table)
                self.run_tool(["rsync", "-a", backup + "/", self.mount.path(new) + "/"])
                same_table_shape(self, e2e.describe_table(new), e2e.describe_table(table))
                got = e2e.scan_table(new)
                self.assertEqual(e2e.diff_items(got, want), "")

    def test_a_json_gz_backup_restores_into_a_new_table(self):
        backup = self.local("gz-backup")
        with e2e.Mount([f"tables={self.source}", f"segments={SEGMENTS}", "format=json.gz"]) as gz:
            self.run_tool(["rsync", "-a", gz.path(self.source) + "/", backup + "/"])
        self.assertIn("segment-0000-of-0004.json.gz", os.listdir(backup))
        new = table_name("from-gz")
        self.run_tool(["rsync", "-a", backup + "/", self.mount.path(new) + "/"])
        self.assertRestoredNew(new)

    def test_a_new_table_shows_its_own_files_10_s_after_its_restore(self):
        backup = self.export_with_cp()
        new = table_name("later")
        self.run_tool(["rsync", "-a", backup + "/", self.mount.path(new) + "/"])
        written = time.monotonic()
        # While restoring and for 10 s after: the files written, as written.
        names = sorted(os.listdir(backup))
        self.assertEqual(sorted(os.listdir(self.mount.path(new))), names)
        for name in names:
            self.assertEqual(os.stat(self.mount.path(new, name)).st_size,
                             os.stat(os.path.join(backup, name)).st_size, name)
        # Then the table's own files: an export of what was restored.
        time.sleep(max(0.0, written + WRITTEN_TTL_S + 0.5 - time.monotonic()))
        self.assertEqual(os.listdir(self.mount.path(new)), os.listdir(self.mount.path(self.source)))
        exp = e2e.read_export(self.mount.path(new), KEYS, expect_segments=SEGMENTS)
        self.assertEqual(exp.problems, [])
        self.assertEqual(exp.duplicates, [])
        self.assertEqual(e2e.diff_items(exp.items, self.items), "")

    def test_tar_restores_into_a_new_table(self):
        new = table_name("tar")
        tarball = self.local("backup.tar")
        # The archive's top directory renamed on the way out: it extracts as the new table.
        self.run_tool(["tar", "-cf", tarball, "-C", self.mount.mountpoint,
                       f"--transform=s,^{self.source},{new},", self.source])
        listing = e2e.run(["tar", "-tf", tarball], check=True).stdout.decode().split()
        self.assertEqual(listing[:2], [f"{new}/", f"{new}/_schema.json"], "the schema comes first")
        self.run_tool(["tar", "-xf", tarball, "-C", self.mount.mountpoint])
        self.assertRestoredNew(new)


class RestoreIntoAnExistingTable(MountedTestCase):
    """Restoring is an upsert: into an existing table, again and again, in every input format."""

    @classmethod
    def make_tables(cls):
        # The target of the restores twice holds the second half of the source's items and 10
        # items the source does not have.
        half = SOURCE_ITEMS // 2
        e2e.load_table(table_name("twice"), SOURCE_ITEMS - half, start=half)
        e2e.load_table(table_name("twice"), 10, create=None, start=SOURCE_ITEMS + 1000)
        for what in ("native", "gz-noname", "legacy", "bare"):  # empty
            e2e.load_table(table_name(what), 0)

    def test_restoring_twice_changes_nothing(self):
        backup = self.export_with_cp()
        target = table_name("twice")
        before = e2e.scan_table(target, KEYS)
        extra = {k: v for k, v in before.items() if k not in self.items}
        self.assertEqual(len(extra), 10)
        # The first restore adds the first half; it deletes nothing (the 10 items stay); every
        # restore after it changes nothing.
        want = {**self.items, **extra}
        tdir = self.mount.path(target)
        tarball = self.local("twice.tar")
        self.run_tool(["tar", "-cf", tarball, "-C", backup, "."])
        # tar -x unlinks a file before extracting over it, which ddbfs refuses for the table's
        # own files: --overwrite (SEMANTICS.md, "Writing: restore").
        for tool, args in (("cp", ["cp", "-r", backup + "/.", tdir + "/"]),
                           ("rsync", ["rsync", "-a", backup + "/", tdir + "/"]),
                           ("tar", ["tar", "-xf", tarball, "--overwrite", "-C", tdir])):
            for run in (1, 2):
                with self.subTest(f"{tool}, run {run}"):
                    self.run_tool(args)
                    self.assertTableHolds(target, want, f"{tool}, run {run}")

    def restore_file(self, table, data, name):
        """Writes data (bytes) into table as NAME with cp."""
        src = self.local(name)
        with open(src, "wb") as f:
            f.write(data)
        self.run_tool(["cp", src, self.mount.path(table, name)])

    def test_native_export_gz_restores(self):
        # What ExportTableToPointInTime writes (DYNAMODB_JSON): gzip of {"Item":...} lines.
        data = gzip.compress(b"".join(export_line(item) for item in self.items.values()))
        target = table_name("native")
        self.restore_file(target, data, "import.json.gz")
        self.assertTableHolds(target, self.items, "a native export .json.gz")

    def test_gzip_is_recognised_by_its_magic_bytes_not_its_name(self):
        data = gzip.compress(b"".join(export_line(item) for item in self.items.values()))
        target = table_name("gz-noname")
        self.restore_file(target, data, "backup-data")
        self.assertTableHolds(target, self.items, "gzip data in a file named backup-data")

    def test_legacy_data_pipeline_file_restores(self):
        lines = [legacy_line(item) for item in self.items.values()]
        # Every type is in the test items; make sure the file really has every legacy type key.
        text = b"".join(lines)
        for kind in LEGACY_TYPES.values():
            self.assertIn(f'{{"{kind}":'.encode(), text, f"no {kind} value in the legacy file")
        self.assertIn(b"\x02", text)
        self.assertIn(b"\x03", text)
        target = table_name("legacy")
        # Data Pipeline's data files have no extension (a UUID-like name).
        self.restore_file(target, text, "5d2bcc7c-c45f-4a0b-8f1e-3c9e0b1f2a77")
        self.assertTableHolds(target, self.items, "a legacy Data Pipeline file")

    def test_bare_items_restore(self):
        # Scan's Items, one per line, as `aws dynamodb scan | jq -c '.Items[]'` writes them.
        data = b"".join(json.dumps(item).encode() + b"\n" for item in self.items.values())
        target = table_name("bare")
        self.restore_file(target, data, "items.jsonl")
        self.assertTableHolds(target, self.items, "bare items")


class BadInput(MountedTestCase):
    """A file with lines that cannot be stored: close() fails, every valid line is stored, the
    log names the lines, the rejects file holds them."""

    @classmethod
    def make_tables(cls):
        for what in ("bad", "dups"):
            e2e.load_table(table_name(what), 0)

    def test_bad_lines_fail_the_copy_and_are_kept(self):
        table = table_name("bad")
        self.allow_log(re.escape(f"{table}/bad.json"))
        big = "x" * (410 * 1024)  # the item is over DynamoDB's 400 KB
        bad = {  # line number: the line (without its newline)
            7: b'{"Item":{"pk":{"S":"bad#trunc"},"sk":{"N":"1"},',
            20: b'{"Item":{"pk":{"S":"bad#nosk"},"v":{"S":"no range key"}}}',
            33: b'{"Item":{"pk":{"S":"bad#type"},"sk":{"S":"one"}}}',
            41: json.dumps({"Item": item_json("bad#big", 1, big=big)}).encode(),
            52: b"this is not JSON at all",
            60: b'{"Item":{"pk":{"S":"bad#brace"},"sk":{"N":"2"}}}}',
        }
        lines, want = [], {}
        for n in range(1, 81):
            if n in bad:
                lines.append(bad[n])
            elif n == 30:  # the first of two lines with one key: the later one stays
                lines.append(export_line(item_json("dup", 1, v="first")).rstrip(b"\n"))
            elif n == 70:
                item = item_json("dup", 1, v="second")
                lines.append(export_line(item).rstrip(b"\n"))
                want[key_of("dup", 1)] = item
            else:
                item = item_json(f"good#{n:03d}", n, v=f"line {n}")
                lines.append(export_line(item).rstrip(b"\n"))
                want[key_of(f"good#{n:03d}", n)] = item
        src = self.local("bad.json")
        with open(src, "wb") as f:
            f.write(b"".join(line + b"\n" for line in lines))
        log_start = len(self.mount.log())

        dst = self.mount.path(table, "bad.json")
        proc = e2e.run(["cp", src, dst])
        err = proc.stderr.decode(errors="replace")
        self.assertNotEqual(proc.returncode, 0, "cp of a file with bad lines exited 0")
        self.assertIn(dst, err, "cp's message does not name the file")

        # Every valid line is in the table; of the two lines with one key, the later.
        self.assertTableHolds(table, want, "the valid lines of bad.json")

        # The log names each bad line, and only those.
        log = self.mount.log()[log_start:].splitlines()
        named = {}
        for line in log:
            m = REJECT_LINE_RE.match(line)
            if m:
                self.assertEqual(m.group(1), f"{table}/bad.json", line)
                named[int(m.group(2))] = m.group(3)
        self.assertEqual(sorted(named), sorted(bad), f"the lines the log names:\n" + "\n".join(log))
        self.assertIn("exceeded", named[41], "the reason is DynamoDB's message (item size)")

        # The rejects file: its path is in the log, it holds exactly the bad lines.
        paths = {p for line in log for p in REJECTS_PATH_RE.findall(line)}
        self.assertEqual(len(paths), 1, f"one rejects file named in the log: {log}")
        path = paths.pop()
        rejects_dir = os.path.join(self.mount.cache_dir, "rejects")
        self.assertEqual(os.path.dirname(path), rejects_dir)
        with open(path, "rb") as f:
            kept = f.read()
        self.assertTrue(kept.endswith(b"\n"), "the rejects file ends with a newline")
        self.assertEqual(sorted(kept[:-1].split(b"\n")), sorted(bad.values()),
                         "the rejects file does not hold exactly the bad lines")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, path)
        self.assertEqual(stat.S_IMODE(os.stat(rejects_dir).st_mode), 0o700, rejects_dir)

    def test_of_many_lines_with_one_key_the_last_stays(self):
        # 50 keys, each on 100 lines spread through the file (many batches in flight at once).
        table = table_name("dups")
        lines, want = [], {}
        for i in range(5000):
            item = item_json(f"dup#{i % 50:02d}", 1, v=f"line {i + 1}")
            lines.append(export_line(item))
            want[key_of(f"dup#{i % 50:02d}", 1)] = item
        src = self.local("dups.json")
        with open(src, "wb") as f:
            f.write(b"".join(lines))
        self.run_tool(["cp", src, self.mount.path(table, "dups.json")])
        self.assertTableHolds(table, want, "the last line of each key")


class WritingOneFile(MountedTestCase):
    """How a restore file may be written: from start to end; fsync stores what came so far; the
    name stays listed for a while, its bytes unreadable."""

    @classmethod
    def make_tables(cls):
        for what in ("offset", "fsync", "midline", "midline-gz", "written"):
            e2e.load_table(table_name(what), 0)

    def test_a_write_at_another_offset_is_einval(self):
        table = table_name("offset")
        self.allow_log(re.escape(f"{table}/skip.json"), re.escape(f"{table}/back.json"))
        line = export_line(item_json("offset#1", 1))
        # A fresh file written first at byte 100.
        fd = os.open(self.mount.path(table, "skip.json"), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o644)
        try:
            with self.assertRaises(OSError) as cm:
                os.pwrite(fd, line, 100)
            self.assertEqual(cm.exception.errno, errno.EINVAL, e2e.copy_errno(cm.exception))
        finally:
            os.close(fd)
        # A file that goes back to rewrite its start.
        fd = os.open(self.mount.path(table, "back.json"), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o644)
        try:
            self.assertEqual(os.write(fd, line), len(line))
            with self.assertRaises(OSError) as cm:
                os.pwrite(fd, line, 0)
            self.assertEqual(cm.exception.errno, errno.EINVAL, e2e.copy_errno(cm.exception))
        finally:
            os.close(fd)
        logged = [l for l in self.mount.log_lines() if "skip.json" in l and "byte 100" in l]
        self.assertTrue(logged, "no log line names skip.json and the offset")
        self.assertTableHolds(table, {key_of("offset#1", 1): item_json("offset#1", 1)},
                              "the line written in order")

    def test_fsync_returns_once_the_lines_written_so_far_are_stored(self):
        table = table_name("fsync")
        first = {key_of("fsync", i): item_json("fsync", i, v="x" * 100) for i in range(60)}
        more = {key_of("fsync", i): item_json("fsync", i) for i in range(60, 70)}
        with open(self.mount.path(table, "part.json"), "wb", buffering=0) as f:
            f.write(b"".join(export_line(item) for item in first.values()))
            os.fsync(f.fileno())
            self.assertTableHolds(table, first, "after fsync, before close")
            f.write(b"".join(export_line(item) for item in more.values()))
        self.assertTableHolds(table, {**first, **more}, "after close")

    def test_fsync_in_the_middle_of_a_line_or_a_gzip_stream_loses_nothing(self):
        # fsync stores the complete lines and keeps the line being written (or the gzip stream)
        # pending: a line cut there is not a bad line. (close() is the end of the file: see
        # fs/SEMANTICS.md.)
        items = {key_of("mid", i): item_json("mid", i, v=f"value {i}") for i in range(2000)}
        plain = b"".join(export_line(item) for item in items.values())
        for name, data, table in (("cut.json", plain, table_name("midline")),
                                  ("cut.json.gz", gzip.compress(plain), table_name("midline-gz"))):
            with self.subTest(name):
                cut = len(data) // 2 + 7
                failed = []
                fd = os.open(self.mount.path(table, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o644)
                try:
                    self.assertEqual(os.write(fd, data[:cut]), cut)
                    try:
                        os.fsync(fd)
                    except OSError as e:
                        failed.append(f"fsync: {e}")
                    self.assertEqual(os.write(fd, data[cut:]), len(data) - cut)
                finally:
                    try:
                        os.close(fd)
                    except OSError as e:
                        failed.append(f"close: {e}")
                diff = e2e.diff_items(e2e.scan_table(table, KEYS), items)
                self.assertEqual((failed, diff), ([], ""),
                                 f"{name} cut at byte {cut} by an fsync (\"exported\": the table)")

    def test_a_just_written_file_keeps_its_size_and_reading_it_is_eio(self):
        self.allow_log(r"^ddbfs: error: reading .*w\.json: the bytes of a file written")
        table = table_name("written")
        items = {key_of("written", i): item_json("written", i) for i in range(10)}
        data = b"".join(export_line(item) for item in items.values())
        path = self.mount.path(table, "w.json")
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o600)
        os.utime(path, (1_000_000_000, 1_000_000_000))
        st = os.stat(path)
        self.assertEqual(st.st_size, len(data))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_mtime, 1_000_000_000)
        with self.assertRaises(OSError) as cm:
            with open(path, "rb") as f:
                f.read()
        self.assertEqual(cm.exception.errno, errno.EIO, e2e.copy_errno(cm.exception))
        os.rename(path, self.mount.path(table, "renamed.json"))
        self.assertEqual(os.stat(self.mount.path(table, "renamed.json")).st_size, len(data))
        os.unlink(self.mount.path(table, "renamed.json"))  # a no-op on the table's items
        self.assertNotIn("renamed.json", os.listdir(self.mount.path(table)))
        self.assertTableHolds(table, items, "after rename and unlink of the file written")


class Refusals(MountedTestCase):
    """ddbfs never deletes; names and schemas that cannot be tables are refused."""

    @classmethod
    def make_tables(cls):
        # Written into by the schema test: the source's directory keeps only its own files, and
        # unlink of a file just written is allowed (a no-op), so rm is tried on the source.
        cls.schema_table = table_name("schema-check")
        e2e.load_table(cls.schema_table, 20, start=1)

    def test_rm_and_rmdir_never_delete(self):
        self.allow_log(r"^ddbfs: error: (rm|rmdir) .*refused")
        tdir = self.mount.path(self.source)
        names = os.listdir(tdir)
        self.assertIn("segment-0000-of-0004.json", names)
        for name in ("segment-0000-of-0004.json", "_schema.json"):
            with self.subTest(f"unlink {name}"):
                with self.assertRaises(OSError) as cm:
                    os.unlink(os.path.join(tdir, name))
                self.assertEqual(cm.exception.errno, errno.EPERM, e2e.copy_errno(cm.exception))
        with self.assertRaises(OSError) as cm:
            os.rmdir(tdir)
        self.assertEqual(cm.exception.errno, errno.EPERM, e2e.copy_errno(cm.exception))
        # And with the tool: rm -rf tries every file, then the directory.
        proc = e2e.run(["rm", "-rf", tdir])
        self.assertNotEqual(proc.returncode, 0, "rm -rf of a table exited 0")
        self.assertIn(b"Operation not permitted", proc.stderr)
        self.assertEqual(sorted(os.listdir(tdir)), sorted(names))
        self.assertEqual(e2e.describe_table(self.source)["TableStatus"], "ACTIVE")
        self.assertTableHolds(self.source, self.items, "after rm and rmdir")
        logged = [l for l in self.mount.log_lines() if l.startswith("ddbfs: error: rmdir")]
        self.assertTrue(logged, "no log line about the rmdir")

    def test_mkdir_of_an_invalid_table_name_is_einval(self):
        self.allow_log(r"^ddbfs: error: mkdir .*: not a valid DynamoDB table name")
        for name in ("ab", "has space", "ünïcode-name", "semi;colon"):
            with self.subTest(name):
                with self.assertRaises(OSError) as cm:
                    os.mkdir(self.mount.path(name))
                self.assertEqual(cm.exception.errno, errno.EINVAL, e2e.copy_errno(cm.exception))
                self.assertNotIn(name, os.listdir(self.mount.mountpoint))

    def test_mkdir_of_an_existing_table_is_eexist(self):
        with self.assertRaises(FileExistsError):
            os.mkdir(self.mount.path(self.source))

    def test_a_data_file_before_the_schema_waits_for_it(self):
        new = table_name("schema-later")
        os.mkdir(self.mount.path(new))
        with open(self.mount.path(new, "segment-0000-of-0004.json"), "wb") as f:
            f.write(export_line(item_json("a", 1)))
        tables = e2e.aws("list-tables")["TableNames"]
        self.assertNotIn(new, tables, "a table was created without its schema")
        self.assertIn("segment-0000-of-0004.json", os.listdir(self.mount.path(new)),
                      "the waiting file stays listed")
        with self.assertRaises(OSError) as cm:
            os.rmdir(self.mount.path(new))
        self.assertEqual(cm.exception.errno, errno.ENOTEMPTY, e2e.copy_errno(cm.exception))
        spool = os.path.join(self.mount.cache_dir, "spool")
        mine = lambda: [n for n in os.listdir(spool) if n.startswith(new + "_")]
        self.assertEqual(len(mine()), 1, "the bytes wait in one spool file")
        self.assertEqual(stat.S_IMODE(os.stat(spool).st_mode), 0o700)
        for name in mine():
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(spool, name)).st_mode), 0o600)
        schema = {"TableName": "ignored", "BillingMode": "PAY_PER_REQUEST",
                  "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "N"}],
                  "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}]}
        with open(self.mount.path(new, "_schema.json"), "w") as f:
            json.dump(schema, f)
        self.assertEqual(len(e2e.scan_table(new, KEYS)), 1, "the waiting item was stored")
        self.assertEqual(mine(), [], "the spool file is gone once stored")

    def test_links_devices_and_subdirectories_are_eperm(self):
        self.allow_log(r"^ddbfs: error: (symlink|link|mknod|mkdir|creating) \S+ refused")
        tdir = self.mount.path(self.schema_table)
        cases = {
            "symlink": lambda: os.symlink("/etc/hostname", os.path.join(tdir, "ln")),
            "hard link": lambda: os.link(os.path.join(tdir, "_schema.json"),
                                         os.path.join(tdir, "hard")),
            "fifo": lambda: os.mkfifo(os.path.join(tdir, "fifo")),
            "subdirectory": lambda: os.mkdir(os.path.join(tdir, "sub")),
            "file at the top": lambda: open(self.mount.path("top.json"), "wb").close(),
        }
        for what, make in cases.items():
            with self.subTest(what):
                with self.assertRaises(OSError) as cm:
                    make()
                self.assertEqual(cm.exception.errno, errno.EPERM, e2e.copy_errno(cm.exception))

    def test_a_schema_over_1_mb_is_efbig_and_creates_nothing(self):
        new = table_name("big-schema")
        self.allow_log(re.escape(f"{new}/_schema.json"))
        os.mkdir(self.mount.path(new))
        schema = {"TableName": new, "BillingMode": "PAY_PER_REQUEST",
                  "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                  "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}
        # Valid JSON, and over 1 MB with the white space after it.
        data = json.dumps(schema).encode() + b" " * (1100 * 1024)
        fd = os.open(self.mount.path(new, "_schema.json"), os.O_WRONLY | os.O_CREAT, 0o644)
        written, failure = 0, None
        try:
            while written < len(data):
                written += os.write(fd, data[written:written + 65536])
        except OSError as e:
            failure = e
        closed = None
        try:
            os.close(fd)
        except OSError as e:
            closed = e
        self.assertIsNotNone(failure, "a 1.1 MB _schema.json was written whole")
        self.assertEqual(failure.errno, errno.EFBIG, e2e.copy_errno(failure))
        created = new in e2e.aws("list-tables")["TableNames"]
        self.assertEqual((closed is None, created), (False, False),
                         f"a write failed with EFBIG at byte {written}, then close() "
                         f"{'returned 0' if closed is None else 'failed: ' + str(closed)} and "
                         f"the table was {'' if created else 'not '}created")

    def test_a_schema_with_other_keys_fails_and_leaves_the_table_alone(self):
        table = self.schema_table
        self.allow_log(re.escape(f"{table}/_schema.json") + r".*does not match")
        want = e2e.scan_table(table, KEYS)
        before = e2e.describe_table(table)
        with open(self.mount.path(table, "_schema.json"), "rb") as f:
            schema = json.loads(f.read())
        schema["AttributeDefinitions"] = [{"AttributeName": "id", "AttributeType": "S"}]
        schema["KeySchema"] = [{"AttributeName": "id", "KeyType": "HASH"}]
        src = self.local("other-schema.json")
        with open(src, "w") as f:
            json.dump(schema, f)
        dst = self.mount.path(table, "_schema.json")
        proc = e2e.run(["cp", src, dst])
        self.assertNotEqual(proc.returncode, 0, "cp of a mismatched _schema.json exited 0")
        self.assertIn(b"Input/output error", proc.stderr)
        after = e2e.describe_table(table)
        for field in ("KeySchema", "AttributeDefinitions", "TableStatus", "CreationDateTime"):
            self.assertEqual(after.get(field), before.get(field), field)
        logged = [l for l in self.mount.log_lines() if "does not match" in l]
        self.assertTrue(logged, "no log line says the schema does not match")
        # The right schema (the table's own) is accepted and changes nothing.
        own = self.local("own-schema.json")
        with open(own, "wb") as f:
            f.write(json.dumps(dict(schema, **{k: before[k] for k in
                                               ("AttributeDefinitions", "KeySchema")})).encode())
        self.run_tool(["cp", own, dst])
        self.assertEqual(e2e.describe_table(table)["KeySchema"], before["KeySchema"])
        self.assertTableHolds(table, want, "after writing _schema.json")


class ThroughS3MountedStorage(MountedTestCase):
    """rsync from the mount to s3fs over s3rver, and from there back into a new table."""

    @classmethod
    def setUpClass(cls):
        s3 = os.environ.get("DDBFS_TEST_S3_MOUNT")
        if not s3:
            if os.environ.get("DDBFS_E2E_REQUIRE_S3"):
                raise AssertionError("DDBFS_E2E_REQUIRE_S3 is set but DDBFS_TEST_S3_MOUNT is "
                                     "not: run under tests/harness/with-s3")
            raise unittest.SkipTest("no S3-mounted storage: run under tests/harness/with-s3")
        cls.s3 = s3
        super().setUpClass()

    def test_rsync_through_s3_mounted_storage_restores_every_item(self):
        backup = os.path.join(self.s3, f"backup-{prefix()}")
        os.mkdir(backup)
        try:
            copy = os.path.join(backup, self.source)
            self.run_tool(["rsync", "-a", self.mount.path(self.source) + "/", copy + "/"])
            new = table_name("s3")
            self.run_tool(["rsync", "-a", copy + "/", self.mount.path(new) + "/"])
            self.assertSameKeysAndBilling(new)
            self.assertTableHolds(new, self.items, "restored from S3-mounted storage")
        finally:
            shutil.rmtree(backup, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
