"""End-to-end tests of the export half of ddbfs (issue 3): dynalite on loopback, the real mount,
the real tools (cp, rsync, tar, gzip, the AWS CLI as the independent reader).

Run through ctest (tests/e2e/CMakeLists.txt), or by hand:
    tests/harness/with-dynalite env DDBFS_BIN=build/fs/ddbfs DDBLOAD_BIN=build/tests/tools/ddbload \\
        python3 tests/e2e/run.py test_export          (from tests/e2e)
"""

import errno
import gzip
import json
import os
import shutil
import stat
import tempfile
import threading
import time
import unittest

import ddbfs_e2e as e2e

BIG_ITEMS = int(os.environ.get("DDBFS_E2E_BIG_ITEMS", 20000))  # the large table; item 0 ~400 KB
SEGMENTS = 4
THROTTLE_SECONDS = 10.0  # how long the throttled export should last at its budget
THROTTLE_ITEMS = 2000
THROTTLE_PAD = 4000  # bytes of padding per item: ~9 MB, ~1,100 RCU for a full scan

# Fields a CreateTable request may hold (what --cli-input-json accepts); anything else in
# _schema.json would be a read-only field of DescribeTable (dynamodump's bugs).
CREATE_TABLE_FIELDS = {
    "TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput",
    "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification", "SSESpecification",
    "TableClass", "Tags", "DeletionProtectionEnabled", "OnDemandThroughput", "WarmThroughput",
    "ResourcePolicy", "TimeToLiveSpecification",
}


def setUpModule():
    e2e.require_fuse()
    e2e.ddbfs_bin()
    e2e.ddbload_bin()
    e2e.endpoint()


_big = {}


def big_table():
    """The large table (loaded once per run): BIG_ITEMS test items of every attribute type,
    on-demand, keys pk (S) and sk (N). Returns (name, {key: item} as the AWS CLI reads it)."""
    if not _big:
        name = e2e.unique_name("export-big")
        e2e.load_table(name, BIG_ITEMS)
        _big["name"] = name
        _big["items"] = e2e.scan_table(name, ("pk", "sk"))
        if len(_big["items"]) != BIG_ITEMS:
            raise AssertionError(f"the AWS CLI reads {len(_big['items'])} items of {name}, "
                                 f"ddbload stored {BIG_ITEMS}")
    return _big["name"], _big["items"]


def segment_names(n, gz=False):
    ext = ".json.gz" if gz else ".json"
    return [f"segment-{i:04d}-of-{n:04d}{ext}" for i in range(n)]


class MountedTestCase(unittest.TestCase):
    """One mount for the whole class; every test's stderr lines are checked after it."""

    mount = None
    allowed = ()

    @classmethod
    def start_mount(cls, options, **kw):
        cls.mount = e2e.Mount(options, allowed=cls.allowed, **kw).start()
        return cls.mount

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-out.")

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.mount:
                cls.mount.stop()
        finally:
            cls.mount = None
            shutil.rmtree(cls.workdir, ignore_errors=True)

    def tearDown(self):
        if self.mount:
            self.mount.check_log()

    def out(self, name):
        """A path in the class's output directory that does not exist yet."""
        path = os.path.join(self.workdir, name)
        self.assertFalse(os.path.exists(path), path)
        return path

    def run_tool(self, args, **kw):
        """Runs a copying tool: it must exit 0 and print nothing on stderr."""
        proc = e2e.run(args, **kw)
        self.assertEqual(proc.returncode, 0, f"{args} exited {proc.returncode}: "
                                             f"{proc.stderr.decode(errors='replace')[-3000:]}")
        self.assertEqual(proc.stderr.decode(errors="replace"), "", f"{args} printed on stderr")
        return proc

    def assertExportEqual(self, exp, want, segments):
        self.assertEqual(exp.problems, [], "malformed export")
        self.assertEqual(exp.duplicates, [], f"{len(exp.duplicates)} items exported twice")
        self.assertEqual(len(exp.segment_names), segments, exp.segment_names)
        diff = e2e.diff_items(exp.items, want)
        self.assertEqual(diff, "", diff)


class ExportOfALargeTable(MountedTestCase):
    """20,000 items of every attribute type (on-demand, no read_capacity: the on-demand budget)."""

    allowed = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.table, cls.items = big_table()
        cls.start_mount([f"tables={cls.table}", f"segments={SEGMENTS}"])
        cls.tdir = cls.mount.path(cls.table)
        cls._bytes = None

    def mounted_bytes(self):
        """{name: bytes} of the table directory, read once through the mount."""
        cls = type(self)
        if cls._bytes is None:
            cls._bytes = {}
            for name in os.listdir(self.tdir):
                with open(os.path.join(self.tdir, name), "rb") as f:
                    cls._bytes[name] = f.read()
        return cls._bytes

    def assertCopyExact(self, copy_dir):
        """The copy holds the table's items exactly once, and the same bytes as the mount."""
        exp = e2e.read_export(copy_dir, ("pk", "sk"), expect_segments=SEGMENTS)
        self.assertExportEqual(exp, self.items, SEGMENTS)
        mounted = self.mounted_bytes()
        self.assertEqual(sorted(exp.files), sorted(mounted))
        for name, data in mounted.items():
            self.assertTrue(exp.files[name] == data,
                            f"{name}: the copy has {len(exp.files[name])} bytes, the mount "
                            f"{len(data)}, and they differ")

    def test_the_root_lists_the_table(self):
        self.assertIn(self.table, os.listdir(self.mount.mountpoint))
        self.assertTrue(os.path.ismount(self.mount.mountpoint))
        self.assertTrue(stat.S_ISDIR(os.stat(self.tdir).st_mode))

    def test_table_directory_lists_schema_then_segments(self):
        names = os.listdir(self.tdir)  # directory order, as readdir gives it
        self.assertEqual(names, ["_schema.json"] + segment_names(SEGMENTS) + [e2e.MANIFEST])

    def test_cp_copies_every_item_exactly_once(self):
        dst = self.out("cp")
        self.run_tool(["cp", "-r", self.tdir, dst])
        self.assertCopyExact(dst)

    def test_rsync_a_copies_every_item_exactly_once(self):
        dst = self.out("rsync")
        self.run_tool(["rsync", "-a", self.tdir + "/", dst + "/"])
        self.assertCopyExact(dst)

    def test_tar_c_then_extracted_gives_every_item_exactly_once(self):
        tarball = self.out("table.tar")
        self.run_tool(["tar", "-cf", tarball, "-C", self.mount.mountpoint, self.table])
        dst = self.out("untar")
        os.mkdir(dst)
        self.run_tool(["tar", "-xf", tarball, "-C", dst])
        self.assertCopyExact(os.path.join(dst, self.table))

    def test_every_segment_stat_size_equals_bytes_read(self):
        for name in os.listdir(self.tdir):
            path = os.path.join(self.tdir, name)
            size = os.stat(path).st_size
            with open(path, "rb") as f:
                data = f.read()
            self.assertEqual(size, len(data), f"{name}: stat says {size} bytes, read gave {len(data)}")
            # And through the open file: fstat, then reads in small pieces to the end.
            with open(path, "rb", buffering=0) as f:
                self.assertEqual(os.fstat(f.fileno()).st_size, size, name)
                total = 0
                while True:
                    chunk = f.read(65536 + 17)
                    if not chunk:
                        break
                    total += len(chunk)
            self.assertEqual(total, size, f"{name}: reading in pieces gave {total} bytes")

    def test_reading_every_segment_at_once_gives_every_item_exactly_once(self):
        # A fresh mount, so that the four readers race the background scans.
        with e2e.Mount([f"tables={self.table}", f"segments={SEGMENTS}"]) as m:
            tdir = m.path(self.table)
            results = {}

            def read(name):
                try:
                    path = os.path.join(tdir, name)
                    size = os.stat(path).st_size
                    with open(path, "rb") as f:
                        results[name] = (size, f.read())
                except OSError as e:
                    results[name] = e

            threads = [threading.Thread(target=read, args=(n,)) for n in segment_names(SEGMENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=300)
            self.assertFalse(any(t.is_alive() for t in threads), "a read did not finish in 300 s")
            exp = e2e.Export()
            for name in segment_names(SEGMENTS):
                r = results[name]
                self.assertNotIsInstance(r, OSError, f"{name}: {r}")
                self.assertEqual(r[0], len(r[1]), f"{name}: stat size and bytes read differ")
                exp.segment_names.append(name)
                e2e.parse_segment(name, r[1], ("pk", "sk"), exp)
            self.assertExportEqual(exp, self.items, SEGMENTS)

    def test_sizes_and_times_do_not_change_while_the_snapshot_lives(self):
        def stats():
            out = {}
            for name in os.listdir(self.tdir):
                st = os.stat(os.path.join(self.tdir, name))
                out[name] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            return out
        before = stats()
        self.mounted_bytes()
        for name in os.listdir(self.tdir):
            with open(os.path.join(self.tdir, name), "rb") as f:
                f.read()
        time.sleep(1.1)
        self.assertEqual(stats(), before)

    def test_items_keep_every_type_exactly(self):
        data = self.mounted_bytes()
        segs = b"".join(v for k, v in data.items() if k.startswith("segment-"))
        # Non-ASCII text is UTF-8, not \u escapes.
        self.assertIn("Grüße aus Köln — 東京 🚀".encode("utf-8"), segs)
        exp = e2e.read_export(self.tdir, ("pk", "sk"))
        big = exp.items[e2e.item_key({"pk": {"S": "user#00000"}, "sk": {"N": "0"}}, ("pk", "sk"))]
        self.assertGreater(len(big["big"]["S"]), 390 * 1024, "the ~400 KB item is whole")
        item = exp.items[e2e.item_key({"pk": {"S": "user#00001"}, "sk": {"N": "3"}}, ("pk", "sk"))]
        self.assertEqual(item["num38"], {"N": "12345678901234567890123456789012345678"[:34] + "1007"})
        self.assertIn("12345678901234567890123456789012345678", item["nums"]["NS"])
        self.assertEqual(item["half"], {"N": "7.5"}, "numbers keep their original strings")
        self.assertIn("B", item["map"]["M"]["deep"]["M"]["bin"], "binary inside maps")
        self.assertIn("B", item["list"]["L"][4], "binary inside lists")
        self.assertEqual(sorted(item["tags"]["SS"]), ["alpha", "zeta", "ünïcode"])

    def test_modes_are_0755_directories_and_0444_files_owned_by_the_mounter(self):
        def check(path, want):
            st = os.stat(path)
            self.assertEqual(oct(stat.S_IMODE(st.st_mode)), oct(want), path)
            self.assertEqual((st.st_uid, st.st_gid), (os.getuid(), os.getgid()), path)
        check(self.mount.mountpoint, 0o755)
        check(self.tdir, 0o755)  # writable: files written into it are restored
        for name in os.listdir(self.tdir):
            path = os.path.join(self.tdir, name)
            self.assertTrue(stat.S_ISREG(os.stat(path).st_mode), path)
            check(path, 0o444)

    def test_the_table_directory_time_is_the_table_s_creation_time(self):
        created = e2e.describe_table(self.table)["CreationDateTime"]
        self.assertAlmostEqual(os.stat(self.tdir).st_mtime, float(created), delta=1.0)

    def test_missing_names_are_enoent(self):
        for path in (self.mount.path("no-such-table-here"), os.path.join(self.tdir, "nope.json"),
                     os.path.join(self.tdir, "segment-0004-of-0004.json"),
                     os.path.join(self.tdir, "segment-0000-of-0008.json")):
            with self.subTest(path):
                with self.assertRaises(FileNotFoundError):
                    os.stat(path)

class ExportInGzipFormat(MountedTestCase):
    """format=json.gz: valid gzip files holding the same lines as format=json."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.table, cls.items = big_table()
        cls.start_mount([f"tables={cls.table}", f"segments={SEGMENTS}", "format=json.gz"])
        cls.tdir = cls.mount.path(cls.table)

    def test_segment_files_are_named_json_gz(self):
        self.assertEqual(os.listdir(self.tdir),
                         ["_schema.json"] + segment_names(SEGMENTS, gz=True) + [e2e.MANIFEST])

    def test_every_segment_is_valid_gzip_and_stat_size_equals_the_bytes_read(self):
        for name in segment_names(SEGMENTS, gz=True):
            path = os.path.join(self.tdir, name)
            size = os.stat(path).st_size
            with open(path, "rb") as f:
                data = f.read()
            self.assertEqual(size, len(data), name)
            self.assertEqual(data[:2], b"\x1f\x8b", f"{name} has no gzip magic")
            e2e.run(["gzip", "-t", path], check=True)
            gzip.decompress(data)

    def test_cp_r_copies_every_item_exactly_once(self):
        dst = self.out("cp")
        self.run_tool(["cp", "-r", self.tdir, dst])
        exp = e2e.read_export(dst, ("pk", "sk"), expect_segments=SEGMENTS)
        self.assertExportEqual(exp, self.items, SEGMENTS)

    def test_json_gz_segments_hold_the_same_lines(self):
        plain = e2e.Mount([f"tables={self.table}", f"segments={SEGMENTS}", "format=json"]).start()
        try:
            pexp = e2e.read_export(plain.path(self.table), ("pk", "sk"))
        finally:
            plain.stop()
        gexp = e2e.read_export(self.tdir, ("pk", "sk"))
        self.assertEqual(gexp.problems, [])
        for i, name in enumerate(segment_names(SEGMENTS)):
            gz_lines = gexp.lines[name + ".gz"]
            self.assertEqual(sorted(gz_lines), sorted(pexp.lines[name]), f"segment {i}")


def same_table_shape(test, got, want):
    """Asserts that two describe-table documents agree on keys, indexes and billing."""
    def billing(d):
        return d.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")

    def throughput(d):
        pt = d.get("ProvisionedThroughput") or {}
        return pt.get("ReadCapacityUnits", 0), pt.get("WriteCapacityUnits", 0)

    def projection(p):
        p = dict(p)
        if "NonKeyAttributes" in p:
            p["NonKeyAttributes"] = sorted(p["NonKeyAttributes"])
        return p

    def indexes(d, kind, with_throughput):
        out = {}
        for ix in d.get(kind, []):
            out[ix["IndexName"]] = (ix["KeySchema"], projection(ix["Projection"]),
                                    throughput(ix) if with_throughput else None)
        return out

    def attrs(d):
        return sorted((a["AttributeName"], a["AttributeType"]) for a in d["AttributeDefinitions"])

    test.assertEqual(got["KeySchema"], want["KeySchema"])
    test.assertEqual(attrs(got), attrs(want))
    test.assertEqual(billing(got), billing(want))
    test.assertEqual(throughput(got), throughput(want))
    prov = billing(want) == "PROVISIONED"
    test.assertEqual(indexes(got, "GlobalSecondaryIndexes", prov),
                     indexes(want, "GlobalSecondaryIndexes", prov))
    test.assertEqual(indexes(got, "LocalSecondaryIndexes", False),
                     indexes(want, "LocalSecondaryIndexes", False))


def provisioned_request(name, rcu=100, wcu=50, gsi=True, lsi=True):
    req = {
        "TableName": name,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PROVISIONED",
        "ProvisionedThroughput": {"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu},
    }
    if gsi:
        req["AttributeDefinitions"].append({"AttributeName": "text", "AttributeType": "S"})
        req["AttributeDefinitions"].append({"AttributeName": "half", "AttributeType": "N"})
        req["GlobalSecondaryIndexes"] = [{
            "IndexName": "by-text",
            "KeySchema": [{"AttributeName": "text", "KeyType": "HASH"},
                          {"AttributeName": "half", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["flag", "tags"]},
            "ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
        }]
    if lsi:
        req["AttributeDefinitions"].append({"AttributeName": "num38", "AttributeType": "N"})
        req["LocalSecondaryIndexes"] = [{
            "IndexName": "by-num38",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "num38", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }]
    return req


class SchemaDocuments(MountedTestCase):
    """_schema.json is a CreateTable request that recreates the table's keys, indexes, billing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provisioned = e2e.unique_name("schema-prov")
        e2e.create_table(provisioned_request(cls.provisioned))
        e2e.load_table(cls.provisioned, 300, create=None, start=1)
        cls.on_demand = e2e.unique_name("schema-ondemand")
        e2e.load_table(cls.on_demand, 50, start=1)
        cls.on_demand_gsi = e2e.unique_name("schema-ondemand-gsi")
        req = provisioned_request(cls.on_demand_gsi, lsi=False)
        req["BillingMode"] = "PAY_PER_REQUEST"
        del req["ProvisionedThroughput"]
        del req["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]
        e2e.create_table(req)
        cls.hash_only = e2e.unique_name("schema-hash-only")
        e2e.create_table({
            "TableName": cls.hash_only,
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "B"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PROVISIONED",
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        })
        tables = [cls.provisioned, cls.on_demand, cls.on_demand_gsi, cls.hash_only]
        cls.start_mount(["tables=" + ":".join(tables), "segments=2", "consistent_read"])

    def schema(self, table):
        with open(self.mount.path(table, "_schema.json"), "rb") as f:
            return json.loads(f.read())

    def assertRecreates(self, table):
        copy = e2e.unique_name("recreated")
        # The document as it is in the mount, renamed on the command line (it overrides the file).
        e2e.aws("create-table", "--cli-input-json", f"file://{self.mount.path(table, '_schema.json')}",
                "--table-name", copy)
        e2e.wait_active(copy)
        try:
            same_table_shape(self, e2e.describe_table(copy), e2e.describe_table(table))
        finally:
            e2e.delete_table(copy)

    def test_schema_recreates_keys_indexes_and_billing(self):
        cases = {
            "a provisioned table with a GSI and an LSI": self.provisioned,
            "an on-demand table": self.on_demand,
            "an on-demand table with a GSI": self.on_demand_gsi,
            "a table with only a binary hash key": self.hash_only,
        }
        for what, table in cases.items():
            with self.subTest(what):
                self.assertRecreates(table)

    def test_no_ttl_json_when_time_to_live_is_off(self):
        for table in (self.provisioned, self.on_demand):
            self.assertNotIn("_ttl.json", os.listdir(self.mount.path(table)))

    def test_schema_json_holds_no_read_only_field(self):
        for table in (self.provisioned, self.on_demand, self.on_demand_gsi, self.hash_only):
            with self.subTest(table):
                doc = self.schema(table)
                self.assertEqual(doc["TableName"], table)
                self.assertEqual(set(doc) - CREATE_TABLE_FIELDS, set())
                for ix in doc.get("GlobalSecondaryIndexes", []) + doc.get("LocalSecondaryIndexes", []):
                    self.assertEqual(set(ix) - {"IndexName", "KeySchema", "Projection",
                                                "ProvisionedThroughput", "OnDemandThroughput",
                                                "WarmThroughput"}, set(), ix["IndexName"])
                pt = doc.get("ProvisionedThroughput", {})
                self.assertEqual(set(pt) - {"ReadCapacityUnits", "WriteCapacityUnits"}, set())

    def test_schema_json_stat_size_equals_the_bytes_read(self):
        path = self.mount.path(self.provisioned, "_schema.json")
        with open(path, "rb") as f:
            self.assertEqual(os.stat(path).st_size, len(f.read()))

    def test_a_provisioned_table_exports_every_item(self):
        dst = self.out("prov")
        self.run_tool(["cp", "-r", self.mount.path(self.provisioned), dst])
        exp = e2e.read_export(dst, ("pk", "sk"), expect_segments=2)
        self.assertExportEqual(exp, e2e.scan_table(self.provisioned), 2)

    def test_an_on_demand_table_exports_every_item(self):
        dst = self.out("ondemand")
        self.run_tool(["rsync", "-a", self.mount.path(self.on_demand) + "/", dst + "/"])
        exp = e2e.read_export(dst, ("pk", "sk"), expect_segments=2)
        self.assertExportEqual(exp, e2e.scan_table(self.on_demand), 2)


class ExportOfAnEmptyTable(MountedTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.table = e2e.unique_name("export-empty")
        e2e.load_table(cls.table, 0)
        cls.start_mount([f"tables={cls.table}", f"segments={SEGMENTS}"])
        cls.tdir = cls.mount.path(cls.table)

    def test_segment_files_exist_and_have_size_0(self):
        self.assertEqual(os.listdir(self.tdir),
                         ["_schema.json"] + segment_names(SEGMENTS) + [e2e.MANIFEST])
        for name in segment_names(SEGMENTS):
            path = os.path.join(self.tdir, name)
            self.assertEqual(os.stat(path).st_size, 0, name)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), b"", name)

    def test_cp_r_and_tar_copy_empty_segments(self):
        dst = self.out("cp")
        self.run_tool(["cp", "-r", self.tdir, dst])
        exp = e2e.read_export(dst, ("pk", "sk"), expect_segments=SEGMENTS)
        self.assertExportEqual(exp, {}, SEGMENTS)
        tarball = self.out("t.tar")
        self.run_tool(["tar", "-cf", tarball, "-C", self.mount.mountpoint, self.table])
        listing = e2e.run(["tar", "-tvf", tarball], check=True).stdout.decode()
        self.assertEqual(listing.count("segment-"), SEGMENTS, listing)


class TheTablesOption(unittest.TestCase):
    """tables= picks what the root lists: names and shell globs, colon-separated."""

    @classmethod
    def setUpClass(cls):
        cls.prefix = e2e.unique_name("pick")
        cls.a, cls.b, cls.other = cls.prefix + "-a", cls.prefix + "-b", e2e.unique_name("other")
        for t in (cls.a, cls.b, cls.other):
            e2e.load_table(t, 3, start=1)

    def listing(self, tables, allowed=()):
        """(sorted root listing, the daemon's log lines) of a mount with tables= (None: not given)."""
        options = ["segments=1"] + ([f"tables={tables}"] if tables is not None else [])
        with e2e.Mount(options, allowed=allowed) as m:
            return sorted(os.listdir(m.mountpoint)), m.log_lines()

    def test_tables_option_shows_only_matching_tables(self):
        self.assertEqual(self.listing(self.prefix + "-*")[0], [self.a, self.b])

    def test_names_list_exactly_those_tables(self):
        self.assertEqual(self.listing(f"{self.other}:{self.b}")[0], sorted([self.b, self.other]))

    def test_an_unknown_table_is_not_listed_and_named_in_a_warning(self):
        missing = e2e.unique_name("no-such-table")
        names, log = self.listing(f"{self.a}:{missing}", allowed=[missing])
        self.assertEqual(names, [self.a])
        self.assertTrue([l for l in log if l.startswith("ddbfs: warning:") and missing in l],
                        f"no warning names {missing}: {log}")

    def test_without_tables_the_root_lists_every_table(self):
        names = self.listing(None)[0]
        for t in (self.a, self.b, self.other):
            self.assertIn(t, names)

    def test_segments_auto_gives_a_table_reported_empty_one_segment(self):
        # dynalite reports TableSizeBytes 0 for every table.
        with e2e.Mount([f"tables={self.a}"]) as m:
            self.assertEqual(os.listdir(m.path(self.a)),
                             ["_schema.json"] + segment_names(1) + [e2e.MANIFEST])
            exp = e2e.read_export(m.path(self.a), ("pk", "sk"), 1)
            self.assertEqual(len(exp.items), 3)

    def test_the_root_shows_new_and_deleted_tables_within_5_s(self):
        prefix = e2e.unique_name("later")
        with e2e.Mount(["segments=1", f"tables={prefix}-*"], allowed=[prefix]) as m:
            self.assertEqual(os.listdir(m.mountpoint), [])
            table = prefix + "-t"
            e2e.load_table(table, 1, start=1)
            time.sleep(5.5)
            self.assertEqual(os.listdir(m.mountpoint), [table])
            e2e.delete_table(table)
            time.sleep(5.5)
            self.assertEqual(os.listdir(m.mountpoint), [])
            with self.assertRaises(FileNotFoundError):
                os.stat(m.path(table))


class BadOptions(unittest.TestCase):
    """A bad option or value is refused before mounting, with a message naming it."""

    def assertRefused(self, option, name, foreground=True):
        opts = [f"endpoint={e2e.endpoint()}", option]
        status, output, mounted = e2e.run_ddbfs_expecting_refusal(opts, foreground=foreground)
        self.assertFalse(mounted, f"-o {option}: a mount was left behind")
        self.assertIsNotNone(status, f"-o {option}: ddbfs did not exit: {output}")
        self.assertNotEqual(status, 0, f"-o {option}: exit status 0: {output}")
        self.assertIn(name, output, f"-o {option}: the message does not name {name}")

    def test_bad_options_are_refused_before_mounting(self):
        cases = [
            ("read_percent=abc", "read_percent"),
            ("read_percent=-0.5", "read_percent"),
            ("read_capacity=abc", "read_capacity"),
            ("segments=0", "segments"),
            ("segments=many", "segments"),
            ("format=xml", "format"),
            ("cache_size=lots", "cache_size"),
            ("cache_ttl=soon", "cache_ttl"),
            ("bogus=1", "bogus"),
        ]
        for option, name in cases:
            with self.subTest(option):
                self.assertRefused(option, name)

    def test_unreachable_endpoint_is_refused_before_mounting(self):
        t0 = time.monotonic()
        status, output, mounted = e2e.run_ddbfs_expecting_refusal(
            ["endpoint=http://127.0.0.1:9"], timeout=150)
        elapsed = time.monotonic() - t0
        self.assertFalse(mounted, "mounted with an unreachable endpoint")
        self.assertIsNotNone(status, f"ddbfs did not exit within 150 s: {output}")
        self.assertNotEqual(status, 0, output)
        self.assertIn("127.0.0.1:9", output, "the message does not name the endpoint")
        print(f"\n  refused after {elapsed:.1f} s: {output.strip()[:300]}", flush=True)

    def test_a_bad_value_is_refused_without_f_too(self):
        self.assertRefused("format=xml", "format", foreground=False)

    def test_help_lists_every_option(self):
        proc = e2e.run([e2e.ddbfs_bin(), "--help"], timeout=15)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        text = (proc.stdout + proc.stderr).decode(errors="replace")
        for name in ("region", "profile", "endpoint", "tables", "segments", "read_percent",
                     "read_capacity", "consistent_read", "cache_dir", "cache_size", "cache_ttl",
                     "format"):
            self.assertIn(name, text)


class TheCache(unittest.TestCase):

    def test_the_cache_dir_is_0700_and_its_files_0600(self):
        table, _ = big_table()
        workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-cache.")
        cache = os.path.join(workdir, "new-cache")
        try:
            with e2e.Mount([f"tables={table}", f"segments={SEGMENTS}", f"cache_dir={cache}"]) as m:
                for name in os.listdir(m.path(table)):
                    with open(m.path(table, name), "rb") as f:
                        f.read(1)
                files = 0
                for root, dirs, names in os.walk(cache):
                    self.assertEqual(stat.S_IMODE(os.stat(root).st_mode), 0o700, root)
                    for n in names:
                        files += 1
                        p = os.path.join(root, n)
                        self.assertEqual(stat.S_IMODE(os.lstat(p).st_mode), 0o600, p)
                self.assertGreater(files, 0, "nothing was cached")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def test_a_segment_larger_than_the_cache_fails_loudly(self):
        table, _ = big_table()
        # One segment holds the whole table (tens of MB); the cache holds 2 MB.
        with e2e.Mount([f"tables={table}", "segments=1", "cache_size=2M"],
                       allowed=[r"cache_size", r"segment-0000-of-0001\.json"]) as m:
            path = m.path(table, segment_names(1)[0])
            with self.assertRaises(OSError) as cm:
                size = os.stat(path).st_size
                with open(path, "rb") as f:
                    data = f.read()
                self.fail(f"stat said {size} bytes and read gave {len(data)} with a 2 MB cache")
            self.assertEqual(cm.exception.errno, errno.ENOSPC, e2e.copy_errno(cm.exception))
            lines = [l for l in m.log_lines() if "cache_size" in l]
            self.assertTrue(lines, "no log line names cache_size")

    def test_complete_snapshots_are_served_again_after_a_remount(self):
        table, _ = big_table()
        workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-cache.")
        cache = os.path.join(workdir, "cache")
        opts = [f"tables={table}", f"segments={SEGMENTS}", f"cache_dir={cache}"]
        try:
            def snapshot():
                with e2e.Mount(opts) as m:
                    out = {}
                    for name in segment_names(SEGMENTS):
                        st = os.stat(m.path(table, name))
                        out[name] = (st.st_size, st.st_mtime_ns)
                    return out
            first = snapshot()
            time.sleep(1.1)
            self.assertEqual(snapshot(), first, "sizes and mtimes after a remount")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def test_a_snapshot_unused_for_cache_ttl_is_taken_again(self):
        table = e2e.unique_name("cache-ttl")
        e2e.load_table(table, 20, start=1)
        with e2e.Mount([f"tables={table}", "segments=1", "cache_ttl=2"]) as m:
            path = m.path(table, segment_names(1)[0])
            before = os.stat(path)
            e2e.load_table(table, 5, create=None, start=1000)
            time.sleep(3.5)
            after = os.stat(path)
            self.assertNotEqual(after.st_mtime_ns, before.st_mtime_ns, "no new snapshot")
            exp = e2e.read_export(m.path(table), ("pk", "sk"))
            self.assertEqual(len(exp.items), 25)

    def test_a_second_mount_on_the_same_cache_dir_is_refused(self):
        table, _ = big_table()
        with e2e.Mount([f"tables={table}", f"segments={SEGMENTS}"]) as m:
            status, output, mounted = e2e.run_ddbfs_expecting_refusal(
                [f"endpoint={e2e.endpoint()}", f"cache_dir={m.cache_dir}"])
            self.assertFalse(mounted, "a second mount on the same cache_dir was made")
            self.assertNotIn(status, (0, None), output)
            self.assertIn("cache", output)


class Throttling(unittest.TestCase):
    """With read_capacity=R, an export costing C RCU lasts at least about C/R seconds."""

    @classmethod
    def setUpClass(cls):
        cls.table = e2e.unique_name("throttle")
        e2e.load_table(cls.table, THROTTLE_ITEMS, start=1, pad=THROTTLE_PAD)
        cls.cost = e2e.scan_cost(cls.table)  # RCU of a full scan, as dynalite charges it
        cls.items = e2e.scan_table(cls.table, ("pk", "sk"))

    def timed_export(self, table, options, segments=SEGMENTS):
        workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-throttle.")
        try:
            with e2e.Mount([f"tables={table}", f"segments={segments}"] + options) as m:
                t0 = time.monotonic()
                proc = e2e.run(["cp", "-r", m.path(table), os.path.join(workdir, "out")], timeout=600)
                elapsed = time.monotonic() - t0
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(proc.stderr, b"")
            exp = e2e.read_export(os.path.join(workdir, "out"), ("pk", "sk"), segments)
            self.assertEqual(exp.problems, [])
            self.assertEqual(exp.duplicates, [])
            self.assertEqual(e2e.diff_items(exp.items, self.items), "")
            return elapsed
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def assertThrottled(self, elapsed, budget):
        expected = self.cost / budget
        msg = (f"export of {self.cost:.0f} RCU at {budget:.1f} RCU/s took {elapsed:.1f} s, "
               f"expected about {expected:.1f} s")
        print(f"\n  {msg}", flush=True)
        self.assertGreaterEqual(elapsed, 0.6 * expected, "not throttled: " + msg)
        self.assertLessEqual(elapsed, 3.0 * expected + 15, "far below the budget: " + msg)

    def test_read_capacity_throttles_the_export(self):
        budget = self.cost / THROTTLE_SECONDS
        elapsed = self.timed_export(self.table, [f"read_capacity={budget:.3f}"])
        self.assertThrottled(elapsed, budget)

    def test_unmounting_during_scans_is_prompt_and_a_remount_exports_every_item(self):
        workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-throttle.")
        cache = os.path.join(workdir, "cache")
        budget = self.cost / 20  # 20 s: scans are running when the unmount comes
        opts = [f"tables={self.table}", f"segments={SEGMENTS}", f"cache_dir={cache}"]
        try:
            m = e2e.Mount(opts + [f"read_capacity={budget:.3f}"]).start()
            os.listdir(m.path(self.table))  # starts the background scans
            time.sleep(2)
            t0 = time.monotonic()
            stop_problem = None
            try:
                m.stop()
            except AssertionError as e:  # reported once the remount has been checked too
                stop_problem = e
            self.assertLess(time.monotonic() - t0, 5.0, "unmounting waited for the scans")
            with e2e.Mount(opts) as m2:  # unthrottled this time
                exp = e2e.read_export(m2.path(self.table), ("pk", "sk"), SEGMENTS)
            self.assertEqual(exp.problems, [])
            self.assertEqual(exp.duplicates, [])
            self.assertEqual(e2e.diff_items(exp.items, self.items), "")
            if stop_problem:
                raise stop_problem
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def test_read_percent_is_a_share_of_a_provisioned_table_s_capacity(self):
        table = e2e.unique_name("throttle-prov")
        rcu = max(1, round(self.cost / THROTTLE_SECONDS / 0.25))
        e2e.create_table(provisioned_request(table, rcu=rcu, wcu=1000, gsi=False, lsi=False))
        e2e.load_table(table, THROTTLE_ITEMS, create=None, start=1, pad=THROTTLE_PAD)
        elapsed = self.timed_export(table, ["read_percent=0.25"])
        self.assertThrottled(elapsed, rcu * 0.25)


if __name__ == "__main__":
    unittest.main(verbosity=2)
