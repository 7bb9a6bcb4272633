"""End-to-end tests of what ddbfs survives (issue 6, "A fault-injecting proxy"): export and restore
through tests/harness/faultproxy.py, which answers a share of the requests with throttling errors,
HTTP 5xx, reset connections, late or cut answers and partial BatchWriteItems; an outage past the
retry window; dynalite stopped and restarted in the middle of a restore; ddbfs killed with SIGKILL
in the middle of an export and of a restore.

Run through ctest (e2e_test_faults), or by hand, from tests/e2e:
    ../harness/with-dynalite env DDBFS_BIN=../../build/fs/ddbfs \\
        DDBLOAD_BIN=../../build/tests/tools/ddbload python3 run.py test_faults

The tests named in fs/SEMANTICS.md ("Faults") are methods here. Each checks that the faults really
happened (the proxy's counts) and that the result equals the source exactly (the AWS CLI reads
both tables from dynalite directly).
"""

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import ddbfs_e2e as e2e

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "..", "harness", "faultproxy.py")
DYNALITE_SERVER = os.path.join(HERE, "..", "harness", "dynalite-server.js")

SOURCE_ITEMS = int(os.environ.get("DDBFS_E2E_FAULT_ITEMS", 1500))  # item 0 is ~400 KB
SEGMENTS = 4
KEYS = ("pk", "sk")
SEED = int(os.environ.get("DDBFS_E2E_FAULT_SEED", 6))
# An outage: ddbfs gives up on a request after retry_window seconds of retries, and an attempt
# takes at most request_timeout (fs/SEMANTICS.md, "Faults").
DOWN_WINDOW_S = 4
DOWN_TIMEOUT_S = 2
DOWN_SLACK_S = 10  # a loaded machine: queueing, the mount's own work

# Lines the daemon prints while faults come and go, when a test expects them.
ALLOW_FAILED = [r"^ddbfs: error: "]


def setUpModule():
    e2e.require_fuse()
    e2e.ddbfs_bin()
    e2e.ddbload_bin()
    e2e.endpoint()


_state = {}


def prefix():
    if "prefix" not in _state:
        _state["prefix"] = e2e.unique_name("faults")
    return _state["prefix"]


def table_name(what):
    return f"{prefix()}-{what}"


def source():
    """(name, {key: item}, backup directory holding NAME/ as exported without faults)."""
    if "name" not in _state:
        name = table_name("src")
        e2e.load_table(name, SOURCE_ITEMS)
        items = e2e.scan_table(name, KEYS)
        if len(items) != SOURCE_ITEMS:
            raise AssertionError(f"the AWS CLI reads {len(items)} items of {name}, ddbload "
                                 f"stored {SOURCE_ITEMS}")
        backup = tempfile.mkdtemp(prefix="ddbfs-e2e-faults-backup.")
        with e2e.Mount([f"segments={SEGMENTS}", f"tables={name}"]) as m:
            e2e.run(["cp", "-r", m.path(name), backup], check=True)
        _state.update(name=name, items=items, backup=backup)
    return _state["name"], _state["items"], _state["backup"]


def tearDownModule():
    if "backup" in _state:
        shutil.rmtree(_state["backup"], ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The proxy and a private dynalite


def _wait_port_file(path, proc, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                text = f.read().strip()
            if text.isdigit():
                return int(text)
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited {proc.returncode} before listening")
        time.sleep(0.05)
    raise AssertionError(f"{what} did not listen within {timeout} s")


class FaultProxy:
    """tests/harness/faultproxy.py in front of upstream (default: the suite's dynalite)."""

    def __init__(self, upstream=None, config=None):
        self.workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-proxy.")
        port_file = os.path.join(self.workdir, "port")
        self.log_path = os.path.join(self.workdir, "proxy.log")
        cfg_path = os.path.join(self.workdir, "config.json")
        with open(cfg_path, "w") as f:
            json.dump(config or {"seed": SEED}, f)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, PROXY, "--upstream", upstream or e2e.endpoint(), "--port-file",
             port_file, "--config", cfg_path, "--watch-pid", str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        self.port = _wait_port_file(port_file, self.proc, "faultproxy")
        self.url = f"http://127.0.0.1:{self.port}"

    def _call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise AssertionError(f"faultproxy {method} {path}: {resp.status} {data!r}")
        return json.loads(data)

    def configure(self, rules=(), mode="normal", down=None, seed=SEED):
        """New rules (the RNG starts again from seed) and zeroed counts."""
        self._call("POST", "/__faults/config",
                   {"seed": seed, "mode": mode, "rules": list(rules),
                    "down": down or {"fault": "503"}})
        self._call("POST", "/__faults/reset", {})

    def stats(self):
        return self._call("GET", "/__faults/stats")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Dynalite:
    """A private dynalite with on-disk storage on a fixed port, to stop and restart in place."""

    def __init__(self):
        self.workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-dynalite.")
        self.data = os.path.join(self.workdir, "data")
        self.port = 0
        self.proc = None
        self.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self):
        port_file = os.path.join(self.workdir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        args = ["node", DYNALITE_SERVER, port_file, "--path", self.data, "--create-table-ms",
                "50", "--watch-pid", str(os.getpid())]
        if self.port:
            args += ["--port", str(self.port)]
        deadline = time.monotonic() + 20
        while True:  # the port may linger a moment after a stop
            self._log = open(os.path.join(self.workdir, "dynalite.log"), "ab")
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=subprocess.STDOUT)
            try:
                self.port = _wait_port_file(port_file, self.proc, "dynalite")
                return
            except AssertionError:
                self._log.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        self._log.close()

    def close(self):
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class PointAt:
    """Within it, the e2e helpers (the AWS CLI, ddbload, Mount) use endpoint url."""

    def __init__(self, url):
        self.url = url

    def __enter__(self):
        self.old = os.environ["DDBFS_TEST_ENDPOINT"]
        os.environ["DDBFS_TEST_ENDPOINT"] = self.url

    def __exit__(self, *exc):
        os.environ["DDBFS_TEST_ENDPOINT"] = self.old
        return False


def note(text):
    """A figure for the test's log (ctest --output-on-failure, or run.py by hand)."""
    print(f"  [faults] {text}", file=sys.stderr, flush=True)


def run_or_kill(args, timeout, mount):
    """Runs args; if it has not ended within timeout, SIGKILLs the mount's daemon (a process
    blocked on a FUSE request cannot be killed until the request ends) and fails: a hang."""
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        mount.proc.kill()
        proc.kill()
        proc.communicate(timeout=30)
        raise AssertionError(f"{args!r} hung: still running after {timeout} s") from None
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def wait_for(what, cond, timeout=60, every=0.1):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(every)


# ---------------------------------------------------------------------------------------------
# Export and restore under faults


# Each fault alone, with the share of requests it hits. Shares are high enough that every run
# meets the fault many times, low enough that progress is made.
ALONE = {
    "throttle": [{"fault": "throttle", "every": 3, "op": "Scan"},
                 {"fault": "throttle", "share": 0.3}],
    "throttling": [{"fault": "throttling", "every": 3, "op": "Scan"},
                   {"fault": "throttling", "share": 0.3}],
    "request_limit": [{"fault": "request_limit", "every": 3, "op": "Scan"},
                      {"fault": "request_limit", "share": 0.3}],
    "500": [{"fault": "500", "every": 3, "op": "Scan"}, {"fault": "500", "share": 0.2}],
    "503": [{"fault": "503", "every": 3, "op": "Scan"}, {"fault": "503", "share": 0.2}],
    "500_after_the_write": [{"fault": "500", "every": 3, "after": True, "op": "Scan"},
                            {"fault": "500", "share": 0.2, "after": True, "op": "BatchWriteItem"}],
    "reset_before": [{"fault": "reset_before", "every": 3, "op": "Scan"},
                     {"fault": "reset_before", "share": 0.15}],
    "reset_mid": [{"fault": "reset_mid", "every": 3, "op": "Scan"},
                  {"fault": "reset_mid", "share": 0.15, "op": "BatchWriteItem"}],
    "truncate": [{"fault": "truncate", "every": 3, "op": "Scan"},
                 {"fault": "truncate", "share": 0.15, "op": "BatchWriteItem"}],
    "delay": [{"fault": "delay", "every": 4, "delay_s": 4, "op": "Scan"},
              {"fault": "delay", "share": 0.05, "delay_s": 4, "op": "BatchWriteItem"}],
    "partial_batch": [{"fault": "partial_batch", "share": 0.6, "keep": 0.4}],
}
# The mix: 20% throttled, 2% 5xx, 1% resets, some partial batches.
MIX = [{"fault": "throttle", "share": 0.1}, {"fault": "throttling", "share": 0.05},
       {"fault": "request_limit", "share": 0.05}, {"fault": "500", "share": 0.01},
       {"fault": "503", "share": 0.01}, {"fault": "reset_before", "share": 0.005},
       {"fault": "reset_mid", "share": 0.005, "op": "Scan"},
       {"fault": "partial_batch", "share": 0.3, "keep": 0.6}]

# Options for mounts through the proxy: a request timeout the delay fault passes.
PROXY_OPTS = ["request_timeout=2", f"segments={SEGMENTS}"]


class UnderFaults(unittest.TestCase):
    """Every fault alone, then the mix: cp -r (or rsync -a) exports and restores through the proxy
    exit 0, and the result equals the source exactly."""

    @classmethod
    def setUpClass(cls):
        cls.src, cls.want, cls.backup = source()
        cls.proxy = FaultProxy()

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ddbfs-e2e-faults.")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_faults_happened(self, stats, rules):
        for r in rules:
            n = stats["faults"].get(r["fault"], 0)
            self.assertGreater(n, 0, f"the proxy never applied {r['fault']}: {stats}")

    def export_through(self, rules, tool="cp"):
        self.proxy.configure(rules)
        dest = os.path.join(self.tmp, "export")
        os.mkdir(dest)
        with e2e.Mount([f"endpoint={self.proxy.url}", f"tables={self.src}", *PROXY_OPTS]) as m:
            if tool == "cp":
                e2e.run(["cp", "-r", m.path(self.src), dest], check=True)
            else:
                e2e.run(["rsync", "-a", m.path(self.src) + "/", os.path.join(dest, self.src)],
                        check=True)
        stats = self.proxy.stats()
        exp = e2e.read_export(os.path.join(dest, self.src), KEYS, SEGMENTS)
        self.assertEqual(exp.problems, [])
        self.assertEqual(exp.duplicates, [])
        self.assertEqual(e2e.diff_items(exp.items, self.want), "")
        return stats

    def restore_through(self, rules, what, tool="cp"):
        self.proxy.configure(rules)
        new = table_name(what)
        with e2e.Mount([f"endpoint={self.proxy.url}", f"tables={prefix()}-*", *PROXY_OPTS]) as m:
            if tool == "cp":
                e2e.run(["cp", "-r", os.path.join(self.backup, self.src), m.path(new)],
                        check=True)
            else:
                e2e.run(["rsync", "-a", os.path.join(self.backup, self.src) + "/", m.path(new)],
                        check=True)
        stats = self.proxy.stats()
        self.assertEqual(e2e.diff_items(e2e.scan_table(new, KEYS), self.want), "")
        return stats

    def check_alone(self, name):
        rules = ALONE[name]
        stats = {}
        if name != "partial_batch":
            stats = self.export_through(rules)
            self.assert_faults_happened(stats, [r for r in rules if r.get("op") == "Scan"])
        stats = self.restore_through(rules, f"alone-{name}")
        self.assert_faults_happened(stats, [r for r in rules if r.get("op") != "Scan"])
        if name == "partial_batch":
            self.assertGreater(stats["unprocessed_items"], 0, stats)

    def test_export_and_restore_survive_provisioned_throughput_exceeded(self):
        self.check_alone("throttle")

    def test_export_and_restore_survive_throttling_exception(self):
        self.check_alone("throttling")

    def test_export_and_restore_survive_request_limit_exceeded(self):
        self.check_alone("request_limit")

    def test_export_and_restore_survive_http_500(self):
        self.check_alone("500")

    def test_export_and_restore_survive_http_503(self):
        self.check_alone("503")

    def test_export_and_restore_survive_http_500_after_the_request_was_applied(self):
        self.check_alone("500_after_the_write")

    def test_export_and_restore_survive_connections_reset_before_an_answer(self):
        self.check_alone("reset_before")

    def test_export_and_restore_survive_connections_reset_in_the_middle_of_an_answer(self):
        self.check_alone("reset_mid")

    def test_export_and_restore_survive_truncated_answers(self):
        self.check_alone("truncate")

    def test_a_gzip_export_survives_answers_cut_short_and_its_manifest_matches_the_files(self):
        # Answers go through a spill file: a cut one (reset half-way, or a well-formed 200 whose
        # JSON is cut) must be spilled again from its first byte and never reach the gzipped,
        # checksummed snapshot.
        rules = [{"fault": "truncate", "every": 3, "op": "Scan"},
                 {"fault": "reset_mid", "every": 4, "op": "Scan"}]
        self.proxy.configure(rules)
        dest = os.path.join(self.tmp, "export")
        os.mkdir(dest)
        with e2e.Mount([f"endpoint={self.proxy.url}", f"tables={self.src}", "format=json.gz",
                        *PROXY_OPTS]) as m:
            e2e.run(["cp", "-r", m.path(self.src), dest], check=True)
        self.assert_faults_happened(self.proxy.stats(), rules)
        tdir = os.path.join(dest, self.src)
        exp = e2e.read_export(tdir, KEYS, SEGMENTS)
        self.assertEqual(exp.problems, [])
        self.assertEqual(exp.duplicates, [])
        self.assertEqual(e2e.diff_items(exp.items, self.want), "")
        self.assertTrue(all(n.endswith(".json.gz") for n in exp.segment_names), exp.segment_names)
        check = e2e.run(["sha256sum", "-c", e2e.MANIFEST], cwd=tdir)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_export_and_restore_survive_answers_later_than_the_request_timeout(self):
        self.check_alone("delay")

    def test_restore_survives_partial_batches(self):
        self.check_alone("partial_batch")

    def test_restore_survives_a_lost_create_table_answer(self):
        """The table is created but the answer is lost (HTTP 500 after CreateTable was applied):
        the retried CreateTable finds the table there, and the restore goes on."""
        rules = [{"fault": "500", "every": 1, "limit": 1, "after": True, "op": "CreateTable"}]
        stats = self.restore_through(rules, "lost-create")
        self.assertEqual(stats["by_op"]["CreateTable"].get("500"), 1, stats)
        self.assertGreater(stats["by_op"]["CreateTable"]["requests"], 1, stats)

    def test_export_and_restore_survive_a_mix_of_faults(self):
        for tool in ("cp", "rsync"):
            with self.subTest(tool=tool):
                stats = self.export_through(MIX, tool)
                self.assertGreater(sum(stats["faults"].values()), 0, stats)
                shutil.rmtree(os.path.join(self.tmp, "export"))
                stats = self.restore_through(MIX, f"mix-{tool}", tool)
                self.assertGreater(stats["unprocessed_items"], 0, stats)
                self.assertGreater(stats["faults"].get("throttle", 0), 0, stats)


# ---------------------------------------------------------------------------------------------
# An outage longer than the retry window


class Outage(unittest.TestCase):
    """The service down for longer than retry_window: the copy fails with EIO, the log names the
    cause, within retry_window + request_timeout (+ slack), never a hang."""

    @classmethod
    def setUpClass(cls):
        cls.src, cls.want, cls.backup = source()
        cls.proxy = FaultProxy()

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def mount(self):
        return e2e.Mount([f"endpoint={self.proxy.url}", f"tables={prefix()}-*",
                          f"segments={SEGMENTS}", f"retry_window={DOWN_WINDOW_S}",
                          f"request_timeout={DOWN_TIMEOUT_S}"], allowed=ALLOW_FAILED)

    def bound(self):
        return DOWN_WINDOW_S + DOWN_TIMEOUT_S + DOWN_SLACK_S

    def test_an_export_during_an_outage_fails_with_eio_naming_the_cause(self):
        cases = {"503": "Service Unavailable", "reset_before": "Connection reset|Recv failure|"
                 "Empty reply|Send failure|Failure when receiving", "throttle": "throughput",
                 "delay": "[Tt]imeout|timed out"}
        # (fault, scope): every request fails, or only the Scans (the table is described, then
        # its scans fail).
        runs = [(f, "Scan") for f in cases] + [("503", "all")]
        for fault, scope in runs:
            cause = cases[fault]
            with self.subTest(fault=fault, scope=scope):
                self.proxy.configure()
                m = self.mount().start()
                try:
                    seg = m.path(self.src, f"segment-0000-of-{SEGMENTS:04d}.json")
                    os.stat(m.path(self.src))  # the table is known (not listed: no scan yet)
                    if scope == "all":
                        self.proxy.configure(mode="down", down={"fault": fault, "delay_s": 30})
                    else:
                        self.proxy.configure([{"fault": fault, "share": 1.0, "op": "Scan",
                                               "delay_s": 30}])
                    t0 = time.monotonic()
                    p = run_or_kill(["cat", seg], self.bound() * 3, m)
                    took = time.monotonic() - t0
                    note(f"export during an outage ({fault}, {scope}): cat failed after "
                         f"{took:.1f} s: {p.stderr.decode(errors='replace').strip()}")
                    self.assertNotEqual(p.returncode, 0)
                    # A segment that could not be read is EIO, whatever the cause (a table that
                    # could not be described after timeouts: ETIMEDOUT; SEMANTICS.md, errno).
                    self.assertRegex(p.stderr, rb"Input/output error" if fault != "delay" else
                                     rb"Input/output error|Connection timed out")
                    self.assertLess(took, self.bound(), f"the error came after {took:.1f} s")
                    where = "segment-0000" if scope == "Scan" else self.src
                    self.assertRegex(m.log(), rf"error: .*{where}.*(?:{cause})")
                    self.assertRegex(m.log(), r"gave up after \d+ attempts")
                    stats = self.proxy.stats()
                    self.assertGreater(stats["faults"].get(fault, 0), 1, stats)
                    # Once the service is back, the next use of the segment scans again.
                    self.proxy.configure()
                    p = run_or_kill(["cat", seg], e2e.COMMAND_TIMEOUT_S, m)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertGreater(p.stdout.count(b"\n"), 0)
                finally:
                    self.proxy.configure()
                    m.stop()

    def test_a_restore_during_an_outage_fails_with_eio_naming_the_cause(self):
        """Each file fails within the bound (the rest of its items are not sent one window after
        another); cp -r goes on to the next file, so the whole copy takes a bound per file."""
        cases = {"503": r"Service Unavailable",
                 "partial_batch": r"UnprocessedItems for \d+ s",
                 "throttle": r"throughput"}
        seg = f"segment-0001-of-{SEGMENTS:04d}.json"
        for fault, cause in cases.items():
            with self.subTest(fault=fault):
                self.proxy.configure()
                new = table_name(f"outage-{fault}")
                m = self.mount().start()
                try:
                    os.mkdir(m.path(new))
                    shutil.copyfile(os.path.join(self.backup, self.src, "_schema.json"),
                                    m.path(new, "_schema.json"))
                    self.proxy.configure(mode="down", down={"fault": fault, "keep": 0})
                    t0 = time.monotonic()
                    p = run_or_kill(["cp", os.path.join(self.backup, self.src, seg),
                                     m.path(new)], self.bound() * 3, m)
                    took = time.monotonic() - t0
                    note(f"restore during an outage ({fault}): cp failed after {took:.1f} s")
                    self.assertNotEqual(p.returncode, 0)
                    self.assertIn(b"Input/output error", p.stderr)
                    self.assertLess(took, self.bound(), f"cp ended after {took:.1f} s")
                    self.assertRegex(m.log(), rf"error: .*{seg}.*{cause}")
                    stats = self.proxy.stats()
                    self.assertGreater(stats["faults"].get(fault, 0), 1, stats)
                finally:
                    self.proxy.configure()
                    m.stop()


# ---------------------------------------------------------------------------------------------
# dynalite stopped and restarted


class ServerRestart(unittest.TestCase):
    def test_dynalite_restarted_in_the_middle_of_a_restore_the_same_command_completes_it(self):
        src, want, backup = source()
        d = Dynalite()
        proxy = FaultProxy(upstream=d.url)  # no faults: it counts the requests
        new = "restarted"
        try:
            with PointAt(d.url):
                m = e2e.Mount([f"endpoint={proxy.url}", "retry_window=3", "request_timeout=2",
                               f"segments={SEGMENTS}", "write_capacity=400"],
                              allowed=ALLOW_FAILED).start()
                try:
                    cmd = ["rsync", "-a", os.path.join(backup, src) + "/", m.path(new)]
                    copy = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    wait_for("the restore's first BatchWriteItems", lambda: proxy.stats()[
                        "by_op"].get("BatchWriteItem", {}).get("requests", 0) >= 10)
                    d.stop()
                    time.sleep(1)
                    d.start()
                    _, err = copy.communicate(timeout=e2e.COMMAND_TIMEOUT_S)
                    stored = e2e.scan_table(new, KEYS)
                    first = copy.returncode
                    note(f"dynalite restarted: the first rsync exited {first} "
                         f"({err.decode(errors='replace').strip()[:300]!r}), "
                         f"{len(stored)} of {len(want)} items stored")
                    e2e.run(cmd, check=True)
                finally:
                    m.stop(check=False)
                self.assertEqual(m.exit_status, 0, m.log())
                self.assertGreater(proxy.stats()["faults"].get("upstream_error", 0), 0)
                got = e2e.scan_table(new, KEYS)
            self.assertEqual(e2e.diff_items(got, want), "",
                             f"first rsync exited {first}, {len(stored)} items after it")
        finally:
            proxy.stop()
            d.close()


# ---------------------------------------------------------------------------------------------
# ddbfs killed


def kill_mount(m):
    """SIGKILLs the daemon and cleans up the dead mount as a user would (fusermount3 -u, else
    umount -l)."""
    m.proc.kill()
    m.proc.wait(timeout=10)
    p = subprocess.run(["fusermount3", "-u", m.mountpoint], capture_output=True, timeout=10)
    if p.returncode != 0:
        subprocess.run(["umount", "-l", m.mountpoint], capture_output=True, timeout=10)
    m.exit_status = m.proc.returncode
    m._forget()


class Killed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.src, cls.want, cls.backup = source()
        cls.proxy = FaultProxy()  # no faults: it counts the requests

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ddbfs-e2e-killed.")
        self.cache = os.path.join(self.tmp, "cache")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def requests(self, op):
        return self.proxy.stats()["by_op"].get(op, {}).get("requests", 0)

    def test_ddbfs_killed_during_an_export_serves_no_partial_snapshot_after_remounting(self):
        self.proxy.configure()
        dest = os.path.join(self.tmp, "export")
        os.mkdir(dest)
        cmd_target = dest
        m = e2e.Mount([f"endpoint={self.proxy.url}", f"tables={self.src}", f"segments={SEGMENTS}",
                       "read_capacity=25"], cache_dir=self.cache).start()
        copy = subprocess.Popen(["cp", "-r", m.path(self.src), cmd_target],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            wait_for("the export's first Scans", lambda: self.requests("Scan") >= 4)
            kill_mount(m)
        finally:
            copy.communicate(timeout=60)
        self.assertNotEqual(copy.returncode, 0, "cp finished before ddbfs was killed")
        left = os.listdir(self.cache)
        parts = [n for n in left if n.endswith(".part")]
        note(f"killed during the export: {len(parts)} partial snapshots left in the cache, "
             f"{len(left)} files in all")
        self.assertGreater(len(parts), 0, f"no partial snapshot at the kill: {left}")
        with e2e.Mount([f"endpoint={self.proxy.url}", f"tables={self.src}",
                        f"segments={SEGMENTS}"], cache_dir=self.cache) as m2:
            d = m2.path(self.src)
            for name in sorted(os.listdir(d)):
                size = os.stat(os.path.join(d, name)).st_size
                with open(os.path.join(d, name), "rb") as f:
                    self.assertEqual(len(f.read()), size, name)
            exp = e2e.read_export(d, KEYS, SEGMENTS)
            self.assertEqual(exp.problems, [])
            self.assertEqual(e2e.diff_items(exp.items, self.want), "", f"partial files: {parts}")
            e2e.run(["cp", "-r", d, cmd_target], check=True)
        exp = e2e.read_export(os.path.join(dest, self.src), KEYS, SEGMENTS)
        self.assertEqual(exp.problems, [])
        self.assertEqual(e2e.diff_items(exp.items, self.want), "")

    def test_ddbfs_killed_during_a_restore_the_same_copy_completes_after_remounting(self):
        self.proxy.configure()
        new = table_name("killed-restore")
        cmd = lambda mnt: ["rsync", "-a", os.path.join(self.backup, self.src) + "/",
                           os.path.join(mnt, new)]
        m = e2e.Mount([f"endpoint={self.proxy.url}", f"tables={prefix()}-*",
                       f"segments={SEGMENTS}", "write_capacity=400"], cache_dir=self.cache).start()
        copy = subprocess.Popen(cmd(m.mountpoint), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for("the restore's first BatchWriteItems",
                     lambda: self.requests("BatchWriteItem") >= 10)
            kill_mount(m)
        finally:
            copy.communicate(timeout=60)
        self.assertNotEqual(copy.returncode, 0, "rsync finished before ddbfs was killed")
        partial = len(e2e.scan_table(new, KEYS))
        note(f"killed during the restore: {partial} of {len(self.want)} items stored")
        self.assertLess(partial, len(self.want))
        with e2e.Mount([f"endpoint={self.proxy.url}", f"tables={prefix()}-*",
                        f"segments={SEGMENTS}"], cache_dir=self.cache) as m2:
            e2e.run(cmd(m2.mountpoint), check=True)
        self.assertEqual(e2e.diff_items(e2e.scan_table(new, KEYS), self.want), "",
                         f"{partial} items stored before the kill")


class Options(unittest.TestCase):
    def test_bad_retry_window_and_request_timeout_are_refused_before_mounting(self):
        for opt in ("retry_window=0", "retry_window=ten", "request_timeout=0",
                    "request_timeout=-5"):
            with self.subTest(opt=opt):
                status, out, mounted = e2e.run_ddbfs_expecting_refusal(
                    [opt, f"endpoint={e2e.endpoint()}"])
                self.assertNotEqual(status, 0, out)
                self.assertFalse(mounted)
                self.assertIn(f"bad value for option {opt}", out)
