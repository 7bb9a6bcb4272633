"""Helpers for ddbfs's end-to-end tests (Python 3 standard library only).

The tests run under tests/harness/with-dynalite, which exports DDBFS_TEST_ENDPOINT and test
credentials; CMake passes DDBFS_BIN (the ddbfs executable) and DDBLOAD_BIN (tests/tools/ddbload).

What is here:
  * Mount: starts `ddbfs -f` on a fresh mountpoint with a private cache_dir, waits (bounded) until
    it is mounted, captures its stderr to a file, unmounts it with `fusermount3 -u` (bounded, then
    lazy unmount and kill), checks that it exited 0, and checks its stderr for unexpected lines.
    Every mount is also registered with atexit, so none is left behind.
  * An independent reader of the table: the AWS CLI (scan, describe-table, create-table).
  * A parser of exported directories (segment files, .json and .json.gz) into {key: item},
    reporting duplicates and malformed lines.
  * Set normalization (SS, NS, BS order-insensitive) for comparing items.

Every wait is bounded: every subprocess has a timeout.

Knobs (environment): DDBFS_E2E_MOUNT_TIMEOUT (seconds, default 15); DDBFS_E2E_ALLOW, a regular
expression of daemon stderr lines to tolerate everywhere (for a known issue while its fix is
pending; never set it in CMake).
"""

import atexit
import errno
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

MOUNT_TIMEOUT_S = float(os.environ.get("DDBFS_E2E_MOUNT_TIMEOUT", 15))  # start to mounted
UNMOUNT_TIMEOUT_S = 15  # from fusermount3 -u until the daemon has exited
COMMAND_TIMEOUT_S = 300  # any other command (cp, rsync, tar, aws)
AWS_TIMEOUT_S = 300

SEGMENT_RE = re.compile(r"^segment-(\d{4,})-of-(\d{4,})\.json(\.gz)?$")
LOG_RE = re.compile(r"^ddbfs: (error|warning|info|debug): (.*)$")
# A sanitizer's report (ASan, LSan, UBSan in the DDBFS_SANITIZE=ON build): fails the test whatever
# the test allows.
SANITIZER_RE = re.compile(r"^==\d+==ERROR: |^SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer|"
                          r": runtime error: |^==\d+==WARNING: (Address|Leak)Sanitizer")


# ---------------------------------------------------------------------------------------------
# Environment


def env_path(name):
    """The path in environment variable name; fails the test run when it is missing."""
    value = os.environ.get(name)
    if not value:
        raise AssertionError(f"{name} is not set: run through ctest (tests/e2e/CMakeLists.txt)")
    if not os.access(value, os.X_OK):
        raise AssertionError(f"{name}={value} is not an executable")
    return value


def ddbfs_bin():
    return env_path("DDBFS_BIN")


def ddbload_bin():
    return env_path("DDBLOAD_BIN")


def endpoint():
    value = os.environ.get("DDBFS_TEST_ENDPOINT")
    if not value:
        raise AssertionError("DDBFS_TEST_ENDPOINT is not set: run through tests/harness/with-dynalite")
    return value


def sanitizer_report(text):
    """The lines of a sanitizer's report in text (a daemon's stderr), or [] when there is none."""
    return [line for line in text.splitlines() if SANITIZER_RE.search(line)]


def fuse_missing_reason():
    """Why FUSE cannot be used here, or None when it can."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing: FUSE is not available on this machine"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "/dev/fuse is not readable and writable by this user"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed (package fuse3)"
    return None


def require_fuse():
    """Raises unittest.SkipTest, saying why, when FUSE is missing. Call from setUpModule."""
    reason = fuse_missing_reason()
    if reason:
        raise unittest.SkipTest(reason)


_counter = [0]


def unique_name(prefix):
    """A table name unique to this run."""
    _counter[0] += 1
    return f"{prefix}-{os.getpid()}-{_counter[0]}"


# ---------------------------------------------------------------------------------------------
# Commands


def run(args, timeout=COMMAND_TIMEOUT_S, check=False, input=None, cwd=None, env=None):
    """Runs args, capturing stdout and stderr as bytes. Raises AssertionError on timeout (the
    process is killed) and, with check, on a non-zero exit status."""
    try:
        proc = subprocess.run(args, capture_output=True, timeout=timeout, input=input, cwd=cwd,
                              env=env, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{args!r} did not finish within {timeout} s; "
                             f"stderr: {(e.stderr or b'')[-2000:]!r}") from None
    if check and proc.returncode != 0:
        raise AssertionError(f"{args!r} exited {proc.returncode}; "
                             f"stderr: {proc.stderr.decode(errors='replace')[-4000:]}")
    return proc


def load_table(table, items, create="pk:S,sk:N", start=0, pad=0):
    """Fills table with ddbload: testbed items start .. start + items - 1. create: a key spec to
    create the table first (on-demand), or None when the table exists. Returns ddbload's line."""
    args = [ddbload_bin(), "--endpoint", endpoint(), "--table", table, "--items", str(items),
            "--start", str(start)]
    if create:
        args += ["--create", create]
    if pad:
        args += ["--pad", str(pad)]
    return run(args, timeout=600, check=True).stdout.decode().strip()


# ---------------------------------------------------------------------------------------------
# The independent reader: the AWS CLI


def aws(*args, timeout=AWS_TIMEOUT_S, parse=True):
    """Runs `aws dynamodb ARGS --endpoint-url ENDPOINT --output json`; returns the parsed output
    (None when there is none)."""
    env = dict(os.environ, AWS_PAGER="")
    proc = run(["aws", "dynamodb", *args, "--endpoint-url", endpoint(), "--output", "json"],
               timeout=timeout, check=True, env=env)
    if not parse:
        return proc.stdout
    out = proc.stdout.strip()
    return json.loads(out) if out else None


def describe_table(table):
    return aws("describe-table", "--table-name", table)["Table"]


def key_names(table):
    """(hash key name, range key name or None) from describe-table."""
    return key_names_of(describe_table(table))


def key_names_of(desc):
    hash_name = range_name = None
    for k in desc["KeySchema"]:
        if k["KeyType"] == "HASH":
            hash_name = k["AttributeName"]
        else:
            range_name = k["AttributeName"]
    return hash_name, range_name


def scan_table(table, keys=None, parallel=2):
    """Every item of table, read with `aws dynamodb scan` (which follows LastEvaluatedKey itself;
    parallel CLI processes each scan one of `parallel` segments, as the CLI is CPU-bound):
    {key: normalized item}. Raises AssertionError on a duplicate key."""
    keys = keys or key_names(table)
    env = dict(os.environ, AWS_PAGER="")
    procs = []
    with tempfile.TemporaryDirectory(prefix="ddbfs-e2e-scan.") as tmp:
        try:
            for i in range(parallel):
                args = ["aws", "dynamodb", "scan", "--table-name", table, "--endpoint-url",
                        endpoint(), "--output", "json"]
                if parallel > 1:
                    args += ["--segment", str(i), "--total-segments", str(parallel)]
                out = open(os.path.join(tmp, f"{i}.json"), "wb")
                procs.append((subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                               stderr=subprocess.PIPE, env=env), out))
            deadline = time.monotonic() + 600
            pages = []
            for i, (p, out) in enumerate(procs):
                try:
                    _, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    raise AssertionError(f"aws dynamodb scan {table} did not finish in 600 s") from None
                out.close()
                if p.returncode != 0:
                    raise AssertionError(f"aws dynamodb scan {table} exited {p.returncode}: "
                                         f"{err.decode(errors='replace')}")
                with open(os.path.join(tmp, f"{i}.json"), "rb") as f:
                    pages.append(json.load(f))
        finally:
            for p, out in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                out.close()
    items = {}
    for page in pages:
        for item in page.get("Items", []):
            k = item_key(item, keys)
            if k in items:
                raise AssertionError(f"the AWS CLI's scan of {table} returned key {k} twice")
            items[k] = normalize(item)
    return items


def scan_cost(table):
    """The read capacity a full Scan of table consumes (RCU), page by page as DynamoDB charges it:
    `aws dynamodb scan --return-consumed-capacity TOTAL`, following LastEvaluatedKey by hand
    (the CLI's own pagination reports only one page's ConsumedCapacity)."""
    total = 0.0
    start = None
    pages = 0
    while True:
        args = ["scan", "--table-name", table, "--return-consumed-capacity", "TOTAL",
                "--select", "COUNT", "--no-paginate"]
        if start is not None:
            args += ["--exclusive-start-key", json.dumps(start)]
        out = aws(*args)
        total += float(out["ConsumedCapacity"]["CapacityUnits"])
        pages += 1
        start = out.get("LastEvaluatedKey")
        if not start:
            return total
        if pages > 100000:
            raise AssertionError(f"scan of {table} did not end after {pages} pages")


def create_table(request):
    """`aws dynamodb create-table --cli-input-json` with request (a dict), then waits until the
    table exists and is ACTIVE."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(request, f)
        path = f.name
    try:
        aws("create-table", "--cli-input-json", f"file://{path}")
    finally:
        os.unlink(path)
    wait_active(request["TableName"])


def wait_active(table, timeout=60):
    aws("wait", "table-exists", "--table-name", table, timeout=timeout, parse=False)
    deadline = time.monotonic() + timeout
    while describe_table(table)["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise AssertionError(f"table {table} is not ACTIVE after {timeout} s")
        time.sleep(0.2)


def delete_table(table):
    aws("delete-table", "--table-name", table)


# ---------------------------------------------------------------------------------------------
# Items


def normalize(value):
    """A copy of an AttributeValue map (or any DynamoDB JSON) with every SS, NS and BS sorted, so
    that items compare equal whatever order a set's members come in."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("SS", "NS", "BS") and isinstance(v, list):
                out[k] = sorted(v)
            else:
                out[k] = normalize(v)
        return out
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def item_key(item, keys):
    """A hashable identity of item's primary key: keys is (hash name, range name or None)."""
    parts = []
    for name in keys:
        if name is None:
            continue
        if name not in item:
            raise AssertionError(f"an item has no key attribute {name}: {str(item)[:300]}")
        parts.append(json.dumps(item[name], sort_keys=True))
    return tuple(parts)


class Export:
    """What an exported table directory holds: items {key: normalized item}, duplicates (keys seen
    more than once), problems (malformed lines and names), files {name: bytes of the file as stored
    (compressed for .json.gz)}, lines {segment name: [decoded lines]}."""

    def __init__(self):
        self.items = {}
        self.duplicates = []
        self.problems = []
        self.files = {}
        self.lines = {}
        self.segment_names = []
        self.schema = None
        self.manifest = None  # segments.sha256's bytes


MANIFEST = "segments.sha256"  # a table directory's manifest, listed after the segments
MANIFEST_RE = re.compile(r"^segments(-\d+-of-\d+)?\.sha256$")  # with shard=K/M: segments-K-of-M.sha256


def read_export(directory, keys, expect_segments=None):
    """Parses an exported table directory (a mounted table or a copy of one). Each segment file's
    content must be lines `{"Item":{...}}\\n` (gzip-compressed for .json.gz). keys: (hash, range).
    expect_segments: the N every segment-I-of-N name must carry, and 0 .. N-1 must all be there."""
    exp = Export()
    names = sorted(os.listdir(directory))
    for name in names:
        path = os.path.join(directory, name)
        with open(path, "rb") as f:
            data = f.read()
        exp.files[name] = data
        if name == "_schema.json":
            try:
                exp.schema = json.loads(data)
            except ValueError as e:
                exp.problems.append(f"_schema.json is not JSON: {e}")
            continue
        if MANIFEST_RE.match(name):
            exp.manifest = data
            continue
        m = SEGMENT_RE.match(name)
        if not m:
            exp.problems.append(f"unexpected file {name}")
            continue
        exp.segment_names.append(name)
        if m.group(3):
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as e:
                exp.problems.append(f"{name} is not valid gzip: {e}")
                continue
        parse_segment(name, data, keys, exp)
    if expect_segments is not None:
        want = set(range(expect_segments))
        got = {}
        for name in exp.segment_names:
            m = SEGMENT_RE.match(name)
            i, n = int(m.group(1)), int(m.group(2))
            if n != expect_segments:
                exp.problems.append(f"{name}: of-{n}, expected of-{expect_segments}")
            got[i] = name
        if set(got) != want:
            exp.problems.append(f"segments present {sorted(got)}, expected 0..{expect_segments - 1}")
    return exp


def parse_segment(name, data, keys, exp):
    if data and not data.endswith(b"\n"):
        exp.problems.append(f"{name} does not end with a newline")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        exp.problems.append(f"{name} is not UTF-8: {e}")
        return
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    exp.lines[name] = lines
    for n, line in enumerate(lines, 1):
        try:
            doc = json.loads(line)
        except ValueError as e:
            exp.problems.append(f"{name}:{n}: not JSON ({e}): {line[:200]!r}")
            continue
        if not isinstance(doc, dict) or list(doc) != ["Item"] or not isinstance(doc["Item"], dict):
            exp.problems.append(f'{name}:{n}: not {{"Item":{{...}}}}: {line[:200]!r}')
            continue
        item = doc["Item"]
        try:
            k = item_key(item, keys)
        except AssertionError as e:
            exp.problems.append(f"{name}:{n}: {e}")
            continue
        if k in exp.items:
            exp.duplicates.append(k)
        exp.items[k] = normalize(item)


def diff_items(got, want, limit=5):
    """A short description of how two {key: item} maps differ, or '' when they are equal."""
    if got == want:
        return ""
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    changed = [k for k in want if k in got and got[k] != want[k]]
    out = [f"{len(got)} items exported, {len(want)} in the table: {len(missing)} missing, "
           f"{len(extra)} extra, {len(changed)} different"]
    for k in missing[:limit]:
        out.append(f"  missing {k}")
    for k in extra[:limit]:
        out.append(f"  extra {k}")
    for k in changed[:limit]:
        g, w = got[k], want[k]
        attrs = sorted(a for a in set(g) | set(w) if g.get(a) != w.get(a))
        for a in attrs[:5]:
            out.append(f"  {k} attribute {a}: exported {str(g.get(a))[:200]} table {str(w.get(a))[:200]}")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Mounts


_live_mounts = []


def _unmount_all_at_exit():
    for m in list(_live_mounts):
        try:
            m.stop(check=False)
        except Exception as e:  # at exit: report and go on with the others
            print(f"ddbfs_e2e: at exit, unmounting {m.mountpoint}: {e}")


atexit.register(_unmount_all_at_exit)


def _on_sigterm(signum, frame):
    # ctest's timeout and with-dynalite stop us with SIGTERM. Python's default would end the
    # process without running finally blocks or atexit; KeyboardInterrupt goes through unittest
    # (which re-raises it) and runs both, so every mount is unmounted.
    raise KeyboardInterrupt(f"signal {signum}")


signal.signal(signal.SIGTERM, _on_sigterm)


def _die_with_parent():
    """preexec_fn for daemons: SIGTERM when the test process dies, however it dies (ddbfs then
    unmounts, as on any SIGTERM)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def is_mounted(path):
    """Whether path is a mount point, read from /proc/self/mountinfo (which, unlike stat, never
    waits for the filesystem)."""
    path = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 4 and _unescape_mount(fields[4]) == path:
                    return True
    except OSError:
        return os.path.ismount(path)
    return False


def _unescape_mount(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def fusermount_unmount(path, timeout=UNMOUNT_TIMEOUT_S):
    """Unmounts path: `fusermount3 -u`, retried while busy, then `fusermount3 -u -z`. Returns the
    last error output, or '' when it went cleanly."""
    deadline = time.monotonic() + timeout
    last = ""
    while is_mounted(path):
        try:
            p = subprocess.run(["fusermount3", "-u", path], capture_output=True, timeout=10,
                               stdin=subprocess.DEVNULL)
            if p.returncode == 0:
                return last
            last = p.stderr.decode(errors="replace").strip()
        except subprocess.TimeoutExpired:
            last = "fusermount3 -u timed out"
        if time.monotonic() > deadline:
            subprocess.run(["fusermount3", "-u", "-z", path], capture_output=True, timeout=10,
                           stdin=subprocess.DEVNULL)
            return last or "lazy unmount"
        time.sleep(0.2)
    return last


class Mount:
    """One ddbfs daemon in the foreground (-f) on a fresh mountpoint.

        m = Mount(["segments=4", "tables=T"]).start()
        ... m.path("T", "_schema.json") ...
        m.check_log()      # fails on unexpected stderr lines since the last check
        m.stop()           # unmounts, asserts exit status 0 and a clean log

    options: -o values (the endpoint, cache_dir and a private temporary directory are added unless
    given). allowed: regular expressions of stderr lines (error or warning, or not from ddbfs's
    logger) that this mount may print; everything else of that kind fails check_log().
    """

    def __init__(self, options=(), source=None, extra_args=(), allowed=(), cache_dir=None):
        self.options = list(options)
        self.source = source or os.environ.get("AWS_REGION") or "us-east-1"
        self.extra_args = list(extra_args)
        self.allowed = [re.compile(a) for a in allowed]
        if os.environ.get("DDBFS_E2E_ALLOW"):  # a known issue, while its fix is pending
            self.allowed.append(re.compile(os.environ["DDBFS_E2E_ALLOW"]))
        self.workdir = tempfile.mkdtemp(prefix="ddbfs-e2e.")
        self.mountpoint = os.path.join(self.workdir, "mnt")
        os.mkdir(self.mountpoint)
        self.cache_dir = cache_dir or os.path.join(self.workdir, "cache")
        self.log_path = os.path.join(self.workdir, "ddbfs.stderr")
        self.proc = None
        self._log_file = None
        self._checked = 0  # bytes of the log already checked
        self.started_at = None
        self.exit_status = None

    def argv(self):
        opts = list(self.options)
        names = {o.split("=", 1)[0] for o in opts}
        if "endpoint" not in names:
            opts.append(f"endpoint={endpoint()}")
        if "cache_dir" not in names:
            opts.append(f"cache_dir={self.cache_dir}")
        return [ddbfs_bin(), "-f", *self.extra_args, "-o", ",".join(opts), self.source,
                self.mountpoint]

    def start(self, timeout=MOUNT_TIMEOUT_S):
        self._log_file = open(self.log_path, "wb")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT,
                                     preexec_fn=_die_with_parent)
        _live_mounts.append(self)
        deadline = time.monotonic() + timeout
        while not is_mounted(self.mountpoint):
            if self.proc.poll() is not None:
                self.exit_status = self.proc.returncode
                self._forget()
                raise AssertionError(f"ddbfs exited {self.proc.returncode} before mounting: "
                                     f"{self.argv()}\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop(check=False)
                raise AssertionError(f"ddbfs did not mount within {timeout} s: {self.argv()}\n"
                                     f"{self.log()}")
            time.sleep(0.05)
        return self

    def path(self, *parts):
        return os.path.join(self.mountpoint, *parts)

    def log(self):
        """The daemon's stderr so far."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_lines(self):
        return self.log().splitlines()

    def unexpected_lines(self, since=0, allowed=()):
        """The lines of the log from byte since on that are errors, warnings or not ddbfs's log
        lines, and that no pattern in self.allowed or allowed matches."""
        pats = self.allowed + [re.compile(a) for a in allowed]
        with open(self.log_path, "rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        bad = []
        for line in text.splitlines():
            if not line.strip():
                continue
            m = LOG_RE.match(line)
            if m and m.group(1) in ("info", "debug"):
                continue
            if any(p.search(line) for p in pats):
                continue
            bad.append(line)
        return bad

    def check_log(self, allowed=()):
        """Fails on unexpected lines printed since the previous check (see unexpected_lines)."""
        size = os.path.getsize(self.log_path)
        bad = self.unexpected_lines(self._checked, allowed)
        self._checked = size
        if bad:
            raise AssertionError("unexpected lines on ddbfs's stderr:\n  " + "\n  ".join(bad[:20]))

    def stop(self, check=True, allowed=()):
        """Unmounts (bounded), waits for the daemon (bounded, then SIGTERM, then SIGKILL), removes
        the temporary directory. With check: asserts a clean unmount, exit status 0 and no
        unexpected stderr line."""
        if self.proc is None:
            return
        problems = []
        how = fusermount_unmount(self.mountpoint)
        if how:
            problems.append(f"unmount: {how}")
        try:
            self.proc.wait(timeout=UNMOUNT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            problems.append(f"ddbfs did not exit within {UNMOUNT_TIMEOUT_S} s of the unmount")
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.exit_status = self.proc.returncode
        if self.exit_status != 0:
            problems.append(f"ddbfs exited with status {self.exit_status}")
        log = self.log()
        sanitizer = sanitizer_report(log)  # never allowed, even with check=False
        bad = []
        if check:
            try:
                self.check_log(allowed)
            except AssertionError as e:
                bad.append(str(e))
        self._forget()
        if check and (problems or bad):
            raise AssertionError("; ".join(problems + bad) + f"\nddbfs's stderr:\n{log[-6000:]}")
        if sanitizer:
            raise AssertionError("a sanitizer reported errors in ddbfs: " + "; ".join(sanitizer[:5])
                                 + f"\nddbfs's stderr:\n{log[-6000:]}")

    def _forget(self):
        if self in _live_mounts:
            _live_mounts.remove(self)
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        self.proc = None
        if not is_mounted(self.mountpoint):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.stop(check=exc_type is None)
        return False


def run_ddbfs_expecting_refusal(options, extra_args=(), foreground=True, timeout=15):
    """Starts ddbfs with options that it must refuse before mounting. Returns (exit status,
    stderr text, whether a mount was left behind). Whatever happens, nothing stays mounted."""
    workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-refuse.")
    mnt = os.path.join(workdir, "mnt")
    os.mkdir(mnt)
    args = [ddbfs_bin()] + (["-f"] if foreground else []) + list(extra_args)
    if options:
        args += ["-o", ",".join(options)]
    args += [os.environ.get("AWS_REGION") or "us-east-1", mnt]
    status, output, mounted = None, "", False
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        try:
            out, err = proc.communicate(timeout=timeout)
            status = proc.returncode
        except subprocess.TimeoutExpired:
            mounted = is_mounted(mnt)
            fusermount_unmount(mnt)
            proc.kill()
            out, err = proc.communicate(timeout=10)
        output = (out + err).decode(errors="replace")
        if sanitizer_report(output):
            raise AssertionError("a sanitizer reported errors in ddbfs:\n" + output[-6000:])
    finally:
        if is_mounted(mnt):
            mounted = True
            fusermount_unmount(mnt)
        if not is_mounted(mnt):
            shutil.rmtree(workdir, ignore_errors=True)
    return status, output, mounted


def copy_errno(exc):
    """errno of an OSError, for messages."""
    return errno.errorcode.get(getattr(exc, "errno", None) or 0, str(exc))
