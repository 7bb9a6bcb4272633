"""End-to-end tests of bad restore input (issue 6, "Bad input"): files that hold lines ddbfs
cannot store, written through the real mount. For each: the copy fails (close() is EIO), the log
names the file, each bad line's number and why, every valid line around them is in the table (read
with the AWS CLI), the rejects file holds exactly the bad lines, and the daemon's memory stays
bounded (VmHWM of /proc/PID/status) however long a line or a file is.

The small cases are files in tests/data/bad/ with manifest.json saying, for each, which lines are
bad and a part of the message each must get; every other non-blank line of the file is a valid
item that must be stored. The large cases (a line over 400 KB, over 16 MB, gigabytes without a
newline, gzip cut short or corrupt, nesting deeper than a JSON parser allows) are generated here and
streamed through the mount, never written to disk.

Knobs: DDBFS_E2E_HUGE_MB (size of the file without a newline, default 2048), DDBFS_E2E_RSS_LIMIT_MB
(the bound on the daemon's VmHWM, default 256; a sanitizer build needs more: contrib/test.sh sets
it for its ASan stage).
"""

import decimal
import gzip
import json
import os
import re
import shutil
import tempfile
import unittest
import zlib

import ddbfs_e2e as e2e

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "bad")
KEYS = ("pk", "sk")
HUGE_MB = int(os.environ.get("DDBFS_E2E_HUGE_MB", 2048))
RSS_LIMIT_MB = int(os.environ.get("DDBFS_E2E_RSS_LIMIT_MB", 256))
LONG_LINE_KEEP = 4096  # bytes of an over-long line kept in the rejects file (fs/upload.c)
CHUNK = 1 << 20

REJECT_LINE_RE = re.compile(r"^ddbfs: error: (\S+) line (\d+): not stored: (.*)$")
REJECTS_PATH_RE = re.compile(r"(/\S+\.rejects)\b")


def setUpModule():
    e2e.require_fuse()
    e2e.ddbfs_bin()
    e2e.ddbload_bin()
    e2e.endpoint()


def manifest():
    with open(os.path.join(DATA, "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


_prefix = []


def table_name(what):
    if not _prefix:
        _prefix.append(e2e.unique_name("badinput"))
    return f"{_prefix[0]}-{what}"


def case_table(name):
    """The table a corpus file is restored into: its name without the extension."""
    return table_name(name.rsplit(".", 1)[0])


def legacy_hive_item(line):
    """The item of a valid legacy line of the corpus (s and n values only)."""
    item = {}
    for attr in line.split(b"\x02"):
        name, value = attr.split(b"\x03")
        (kind, v), = json.loads(value).items()
        item[name.decode()] = {kind.upper(): v}
    return item


def valid_item(line):
    """The item a valid corpus line stores (export line, bare item or legacy line), or None for a
    blank line."""
    line = line.rstrip(b"\r")
    if line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    if not line.strip():
        return None
    if b"\x03" in line:
        return legacy_hive_item(line)
    doc = json.loads(line)
    if list(doc) == ["Item"] and isinstance(doc["Item"], dict):
        return doc["Item"]
    return doc


def same_numbers(value):
    """A copy of DynamoDB JSON with every number in one spelling: DynamoDB (and dynalite) store
    numbers by value, so "1E-130" is read back as "0.000...1" and "-0.000" as "0"."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "N" and isinstance(v, str):
                out[k] = canonical_number(v)
            elif k == "NS" and isinstance(v, list):
                out[k] = sorted(canonical_number(x) for x in v)
            else:
                out[k] = same_numbers(v)
        return out
    if isinstance(value, list):
        return [same_numbers(v) for v in value]
    return value


def canonical_number(text):
    d = decimal.Decimal(text)
    return "0" if d == 0 else str(d.normalize(decimal.Context(prec=50)))


def vm_hwm_mb(pid):
    """The peak resident set size of process pid (VmHWM), in MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


class BadInputCase(unittest.TestCase):
    """One mount for the class, showing this module's tables, made before it starts."""

    mount = None
    tables = ()

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-badinput.")
        try:
            for t in cls.tables:
                e2e.load_table(t, 0)
            cls.mount = e2e.Mount([f"tables={table_name('*')}", "segments=1"]).start()
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

    def tearDown(self):
        if self.mount:
            self.mount.check_log(allowed=self.log_allowed)

    def assertRejected(self, table, name, log_start, bad, kept=None):
        """The log names file table/name and exactly the lines in bad ({line number: part of the
        message}); the one rejects file it names holds exactly kept (default: the bad lines
        themselves, {line number: bytes}), 0600."""
        log = self.mount.log()[log_start:].splitlines()
        named = {}
        for line in log:
            m = REJECT_LINE_RE.match(line)
            if m:
                self.assertEqual(m.group(1), f"{table}/{name}", line)
                self.assertNotIn(int(m.group(2)), named, f"line named twice: {line}")
                named[int(m.group(2))] = m.group(3)
        self.assertEqual(sorted(named), sorted(bad), "the lines the log names:\n" + "\n".join(log))
        for n, part in bad.items():
            self.assertIn(part, named[n], f"{name} line {n}: the message does not say why")
        paths = {p for line in log for p in REJECTS_PATH_RE.findall(line)}
        self.assertEqual(len(paths), 1, f"one rejects file named in the log: {log}")
        path = paths.pop()
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600, path)
        with open(path, "rb") as f:
            got = f.read()
        self.assertTrue(got.endswith(b"\n"), f"{path} ends with a newline")
        want = sorted(kept.values())
        self.assertEqual(sorted(got[:-1].split(b"\n")), want,
                         f"{path} does not hold exactly the lines not stored")

    def assertTableHolds(self, table, items, what):
        want = {e2e.item_key(i, KEYS): same_numbers(e2e.normalize(i)) for i in items}
        got = {k: same_numbers(v) for k, v in e2e.scan_table(table, KEYS, parallel=1).items()}
        diff = e2e.diff_items(got, want)
        self.assertEqual(diff, "", f"{what}: table {table} differs (\"exported\" is the table):\n"
                                   f"{diff}")

    def write_through_mount(self, path, chunks):
        """Writes the byte strings chunks yields into path on the mount, then closes it. Returns
        the errno the write or close failed with (0 when it did not)."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        failed = 0
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
        except OSError as e:
            failed = e.errno
        finally:
            try:
                os.close(fd)
            except OSError as e:
                failed = failed or e.errno
        return failed


class Corpus(BadInputCase):
    """Each file of tests/data/bad/ copied with cp into its own table. A test per file is added
    below from manifest.json: test_corpus_<file name>."""

    tables = [case_table(name) for name in manifest()]

    def check_corpus_file(self, name, case):
        table = case_table(name)
        self.log_allowed.append(re.escape(f"{table}/{name}"))
        bad = {int(n): part for n, part in case["bad_lines"].items()}
        with open(os.path.join(DATA, name), "rb") as f:
            lines = f.read().split(b"\n")
        self.assertEqual(lines.pop(), b"", f"{name} ends with a newline")
        self.assertTrue(set(bad) <= set(range(1, len(lines) + 1)), f"{name}: manifest lines")
        valid = [valid_item(line) for n, line in enumerate(lines, 1) if n not in bad]
        valid = [v for v in valid if v is not None]
        log_start = len(self.mount.log())

        dst = self.mount.path(table, name)
        proc = e2e.run(["cp", os.path.join(DATA, name), dst])
        err = proc.stderr.decode(errors="replace")
        if bad:
            self.assertNotEqual(proc.returncode, 0, f"cp of {name} exited 0")
            self.assertIn(dst, err, "cp's message does not name the file")
        else:
            self.assertEqual(proc.returncode, 0, f"cp of {name}: {err}\n{self.mount.log()[-3000:]}")
        self.assertTableHolds(table, valid, f"the valid lines of {name}")
        if bad:
            self.assertRejected(table, name, log_start, bad,
                                {n: lines[n - 1] for n in bad})
        # Every line the daemon printed is one of its log lines (no message is split by a
        # newline or escape sequence from the input): check_log in tearDown fails on any other.


def _add_corpus_tests():
    for name, case in manifest().items():
        def test(self, name=name, case=case):
            self.check_corpus_file(name, case)
        test.__doc__ = f"{name}: {case['what']}"
        method = "test_corpus_" + re.sub(r"\W", "_", name)
        setattr(Corpus, method, test)


_add_corpus_tests()


class LargeInput(BadInputCase):
    """Generated input streamed through the mount; after each, the daemon's peak memory is under
    DDBFS_E2E_RSS_LIMIT_MB. One daemon for the class, so the bound covers every case here."""

    tables = [table_name(w) for w in ("big-item", "long-line", "huge", "gz-cut", "gz-corrupt",
                                      "deep-json")]

    def good(self, case, n):
        return {"pk": {"S": f"{case}#good#{n}"}, "sk": {"N": str(n)}, "v": {"S": f"line {n}"}}

    def line(self, item):
        return json.dumps({"Item": item}, separators=(",", ":")).encode()

    def assertMemoryBounded(self):
        hwm = vm_hwm_mb(self.mount.proc.pid)
        print(f"  ddbfs VmHWM {hwm:.0f} MB (limit {RSS_LIMIT_MB} MB)", flush=True)
        self.assertLess(hwm, RSS_LIMIT_MB, "ddbfs's peak memory (VmHWM)")

    def restore_generated(self, what, bad_line, make_bad, expect_part, kept):
        """Valid lines 1-3, the generated bad line 4 (make_bad() yields its bytes, no newline),
        valid lines 5-7, written in CHUNK pieces."""
        table = table_name(what)
        name = f"{what}.json"
        self.log_allowed.append(re.escape(f"{table}/{name}"))
        items = [self.good(what, n) for n in (1, 2, 3, 5, 6, 7)]

        def chunks():
            for it in items[:3]:
                yield self.line(it) + b"\n"
            yield from make_bad()
            yield b"\n"
            for it in items[3:]:
                yield self.line(it) + b"\n"

        log_start = len(self.mount.log())
        failed = self.write_through_mount(self.mount.path(table, name), chunks())
        self.assertEqual(failed, 5, f"{name}: the close() fails with EIO (got errno {failed})")
        self.assertTableHolds(table, items, f"the valid lines around {what}")
        self.assertRejected(table, name, log_start, {bad_line: expect_part}, {bad_line: kept})
        self.assertMemoryBounded()

    def test_an_item_over_400_kb_is_refused_in_dynamodb_words(self):
        big = self.line(dict(self.good("big", 4), big={"S": "x" * (1 << 20)}))
        self.restore_generated("big-item", 4, lambda: iter([big]),
                               "Item size has exceeded the maximum allowed size", big)

    def test_a_line_over_16_mb_is_refused_and_its_start_kept(self):
        head = b'{"Item":{"pk":{"S":"long#bad"},"sk":{"N":"4"},"big":{"S":"'
        size = (17 << 20)

        def make():
            yield head
            left = size - len(head)
            while left > 0:
                n = min(CHUNK, left)
                yield b"y" * n
                left -= n

        kept = (head + b"y" * LONG_LINE_KEEP)[:LONG_LINE_KEEP]
        self.restore_generated("long-line", 4, make, "the line is longer than 16777216 bytes",
                               kept)

    def test_gigabytes_without_a_newline_stream_in_bounded_memory(self):
        def make():
            block = b"z" * CHUNK
            for _ in range(HUGE_MB):
                yield block

        self.restore_generated("huge", 4, make, "the line is longer than", b"z" * LONG_LINE_KEEP)

    def test_nesting_deeper_than_the_json_parser_allows_is_one_bad_line(self):
        deep = b'{"Item":{"pk":{"S":"deep"},"sk":{"N":"4"},"a":' + b'{"L":[' * 5000 + \
               b'{"S":"x"}' + b"]}" * 5000 + b"}}"
        self.restore_generated("deep-json", 4, lambda: iter([deep]), "invalid JSON", deep)

    def gz_lines(self, what, n):
        return b"".join(self.line(self.good(what, i)) + b"\n" for i in range(1, n + 1))

    def test_a_gzip_file_cut_short_stores_the_lines_before_the_cut(self):
        table, name = table_name("gz-cut"), "gz-cut.json.gz"
        self.log_allowed.append(re.escape(f"{table}/{name}"))
        data = gzip.compress(self.gz_lines("gz-cut", 2000))
        cut = data[: len(data) // 2]
        decoded = zlib.decompressobj(wbits=31).decompress(cut)
        whole = decoded[: decoded.rfind(b"\n") + 1]
        partial = decoded[len(whole):]
        self.assertTrue(partial, "the cut is inside a line")
        stored = [json.loads(line)["Item"] for line in whole.splitlines()]
        log_start = len(self.mount.log())
        failed = self.write_through_mount(self.mount.path(table, name), [cut])
        self.assertEqual(failed, 5, f"{name}: close() fails with EIO (errno {failed})")
        # The lines before the cut are stored; the line the cut goes through is not (it may look
        # whole and still miss its end), it is named and kept.
        self.assertTableHolds(table, stored, f"the lines of {name} before the cut")
        self.assertRejected(table, name, log_start, {len(stored) + 1: "the gzip data ends early"},
                            {len(stored) + 1: partial})
        self.assertMemoryBounded()

    def test_corrupt_gzip_data_fails_the_write_and_keeps_the_lines_before(self):
        table, name = table_name("gz-corrupt"), "gz-corrupt.json.gz"
        self.log_allowed.append(re.escape(f"{table}/{name}"))
        data = bytearray(gzip.compress(self.gz_lines("gz-corrupt", 3000), compresslevel=1))
        for i in range(len(data) // 2, len(data) // 2 + 64):  # garble the middle of the stream
            data[i] ^= 0x5A
        log_start = len(self.mount.log())
        failed = self.write_through_mount(self.mount.path(table, name), [bytes(data[:CHUNK])])
        self.assertEqual(failed, 5, f"{name}: the write or close() fails with EIO")
        log = self.mount.log()[log_start:]
        self.assertRegex(log, rf"{re.escape(table)}/{re.escape(name)}: not valid gzip data at "
                              r"byte \d+")
        got = e2e.scan_table(table, KEYS, parallel=1)
        want = {e2e.item_key(self.good("gz-corrupt", i), KEYS): e2e.normalize(self.good("gz-corrupt", i))
                for i in range(1, len(got) + 1)}
        self.assertEqual(e2e.diff_items(got, want), "", "the lines before the corruption, in order")
        self.assertGreater(len(got), 0, "no line before the corrupt data was stored")
        self.assertMemoryBounded()


class SanitizerReports(unittest.TestCase):
    """The e2e framework fails a test when the daemon's stderr holds a sanitizer's report (the
    suite runs again under ASan + UBSan with LeakSanitizer on: contrib/test.sh), even where the test
    allows error lines or stops without checking the log."""

    def test_a_sanitizer_report_in_the_daemon_log_fails_the_test(self):
        report = ("==4242==ERROR: LeakSanitizer: detected memory leaks\n"
                  "SUMMARY: AddressSanitizer: 64 byte(s) leaked in 1 allocation(s).\n")

        class Reporting(e2e.Mount):
            def log(self):
                return super().log() + report

        m = Reporting([f"tables={table_name('none')}"], allowed=[".*"]).start()
        with self.assertRaisesRegex(AssertionError, "sanitizer reported errors.*LeakSanitizer"):
            m.stop(check=False)
        self.assertEqual(e2e.sanitizer_report("ddbfs: error: x\nfs/a.c:1:2: runtime error: y\n"),
                         ["fs/a.c:1:2: runtime error: y"])
