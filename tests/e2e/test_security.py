"""End-to-end tests of ddbfs's security promises (issue 6, fs/SEMANTICS.md "Threat model"): TLS
through a real TLS-terminating proxy (stunnel4) with a CA made for the test, plain http only when
named, no redirects, secrets never in any output, who may use the mount, private cache files.

Run through ctest (tests/e2e/CMakeLists.txt), or by hand from tests/e2e:
    ../harness/with-dynalite env DDBFS_BIN=../../build/fs/ddbfs \\
        DDBLOAD_BIN=../../build/tests/tools/ddbload python3 run.py test_security
"""

import errno
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import socketserver
import stat
import tempfile
import threading
import time
import unittest

import ddbfs_e2e as e2e
import security_support as sec

ITEMS = 300
KEYS = ("pk", "sk")


def setUpModule():
    e2e.require_fuse()
    e2e.ddbfs_bin()
    e2e.ddbload_bin()
    e2e.endpoint()


_table = {}


def source_table():
    """A small table (loaded once): (name, {key: item})."""
    if not _table:
        name = e2e.unique_name("sec")
        e2e.load_table(name, ITEMS)
        _table["name"] = name
        _table["items"] = e2e.scan_table(name, KEYS)
    return _table["name"], _table["items"]


def export_and_restore(test, mount, table, want, workdir, bad_line=True):
    """Through mount: cp -r the table out (checked against want), then restore the copy into a new
    table (mkdir, cp of every file) and check it holds want too. With bad_line, a file with one
    bad line is also copied into the new table (its cp fails; a rejects file is kept). Returns the
    new table's name."""
    out = os.path.join(workdir, "export")
    e2e.run(["cp", "-r", mount.path(table), out], check=True)
    exp = e2e.read_export(out, KEYS)
    test.assertEqual(exp.problems, [])
    test.assertEqual(exp.duplicates, [])
    test.assertEqual(e2e.diff_items(exp.items, want), "")
    new = e2e.unique_name("sec-restored")
    e2e.run(["cp", "-r", out, mount.path(new)], check=True)
    if bad_line:
        bad = os.path.join(workdir, "bad.json")
        with open(bad, "wb") as f:
            f.write(b'{"Item":{"pk":{"S":"ok#1"},"sk":{"N":"1"}}}\nnot json at all\n')
        proc = e2e.run(["cp", bad, mount.path(new, "bad.json")])
        test.assertNotEqual(proc.returncode, 0, "cp of a file with a bad line exited 0")
        want = dict(want)
        want[('{"S": "ok#1"}', '{"N": "1"}')] = {"pk": {"S": "ok#1"}, "sk": {"N": "1"}}
    got = e2e.scan_table(new, KEYS)
    test.assertEqual(e2e.diff_items(got, want), "")
    return new


# ---------------------------------------------------------------------------------------------
# TLS


class TlsTest(unittest.TestCase):
    """stunnel4 on loopback terminates TLS in front of dynalite with a certificate signed by a CA
    made for this test (one for localhost, one for another name)."""

    @classmethod
    def setUpClass(cls):
        cls.tls = sec.Tls().start()
        cls.workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-sec.")

    @classmethod
    def tearDownClass(cls):
        cls.tls.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def refuse(self, options, extra_args=()):
        cache = tempfile.mkdtemp(prefix="cache.", dir=self.workdir)
        t0 = time.monotonic()
        status, out, mounted = e2e.run_ddbfs_expecting_refusal(
            list(options) + [f"cache_dir={cache}"], extra_args=extra_args, timeout=60)
        return status, out, mounted, time.monotonic() - t0

    def test_an_untrusted_certificate_is_refused_at_once_naming_ca_file(self):
        status, out, mounted, took = self.refuse([f"endpoint={self.tls.url()}"])
        self.assertFalse(mounted)
        self.assertNotEqual(status, 0, out)
        self.assertIn("TLS certificate is not trusted", out)
        self.assertIn("ca_file=", out, "the message does not say what to do")
        self.assertIn(self.tls.url(), out, "the message does not name the endpoint")
        self.assertNotIn("gave up after", out, "a certificate problem was retried")
        self.assertLess(took, 10, f"refused only after {took:.1f} s")

    def test_ca_file_makes_export_and_restore_work_through_tls(self):
        table, want = source_table()
        with sec.Mount([f"endpoint={self.tls.url()}", f"ca_file={self.tls.ca_file}"]) as m:
            work = tempfile.mkdtemp(dir=self.workdir)
            new = export_and_restore(self, m, table, want, work, bad_line=False)
            self.assertIn(f"endpoint {self.tls.url()}", m.log())
            self.assertIn(new, os.listdir(m.mountpoint))
        # The traffic went through the proxy.
        self.assertRegex(self.tls.log(), r"Service \[good\] accepted connection")

    def test_the_host_name_is_verified(self):
        # Signed by the CA given in ca_file, but for elsewhere.invalid, not localhost.
        status, out, mounted, _ = self.refuse(
            [f"endpoint={self.tls.url(self.tls.wrong_port)}", f"ca_file={self.tls.ca_file}"])
        self.assertFalse(mounted)
        self.assertNotEqual(status, 0, out)
        self.assertIn("TLS certificate is not trusted", out)
        self.assertRegex(out, r"subject name|does not match|no alternative")

    def test_a_ca_file_that_cannot_be_read_is_refused(self):
        missing = os.path.join(self.workdir, "no-such-ca.pem")
        status, out, mounted, took = self.refuse([f"endpoint={self.tls.url()}",
                                                  f"ca_file={missing}"])
        self.assertFalse(mounted)
        self.assertNotEqual(status, 0, out)
        self.assertIn(missing, out)
        self.assertIn("ca_file=", out)
        self.assertLess(took, 10, f"refused only after {took:.1f} s")


# ---------------------------------------------------------------------------------------------
# Plain http only when named; no redirects


class _ConnectRecorder(socketserver.ThreadingTCPServer):
    """An HTTP proxy on loopback that records the first line of each request (CONNECT host:port)
    and refuses it with 403: nothing leaves the machine."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.lines = []

        class Handler(socketserver.StreamRequestHandler):
            def handle(h):
                h.connection.settimeout(10)
                try:
                    line = h.rfile.readline(4096).decode(errors="replace").strip()
                except OSError:
                    return
                self.lines.append(line)
                h.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                              b"Connection: close\r\n\r\n")

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]


class _Redirector(http.server.ThreadingHTTPServer):
    """Answers every POST with 307 to another loopback port (target)."""

    daemon_threads = True

    def __init__(self, target_port):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(h):
                n = int(h.headers.get("Content-Length") or 0)
                h.rfile.read(n)
                h.send_response(307)
                h.send_header("Location", f"http://127.0.0.1:{target_port}/")
                h.send_header("Content-Length", "0")
                h.end_headers()

            def log_message(h, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class EndpointTest(unittest.TestCase):

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-sec.")
        self.config = os.path.join(self.workdir, "config")
        with open(self.config, "w") as f:
            f.write("[default]\nregion = us-east-1\n")

    def tearDown(self):
        shutil.rmtree(self.workdir, ignore_errors=True)

    def test_the_default_endpoint_is_https(self):
        # No endpoint named anywhere: ddbfs must use https://dynamodb.us-east-1.amazonaws.com.
        # An https proxy on loopback sees the CONNECT (port 443) and refuses it.
        proxy = _ConnectRecorder()
        try:
            with sec.environ(https_proxy=f"http://127.0.0.1:{proxy.port}", HTTPS_PROXY=None,
                             http_proxy=f"http://127.0.0.1:{proxy.port}", HTTP_PROXY=None,
                             ALL_PROXY=None, all_proxy=None, NO_PROXY=None, no_proxy=None,
                             AWS_ENDPOINT_URL=None, AWS_ENDPOINT_URL_DYNAMODB=None,
                             AWS_CONFIG_FILE=self.config,
                             AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.workdir, "none")):
                status, out, mounted = e2e.run_ddbfs_expecting_refusal(
                    [f"cache_dir={self.workdir}/cache"], timeout=90)
        finally:
            proxy.shutdown()
            proxy.server_close()
        self.assertFalse(mounted)
        self.assertNotEqual(status, 0, out)
        self.assertIn("https://dynamodb.us-east-1.amazonaws.com", out)
        self.assertTrue(proxy.lines, f"ddbfs never reached the proxy: {out}")
        for line in proxy.lines:
            self.assertEqual(line, "CONNECT dynamodb.us-east-1.amazonaws.com:443 HTTP/1.1")

    def test_a_plain_http_endpoint_named_in_the_environment_is_used(self):
        table, _ = source_table()
        m = sec.Mount([f"tables={table}"], drop=("endpoint",),
                      env={"AWS_ENDPOINT_URL_DYNAMODB": e2e.endpoint(),
                           "AWS_CONFIG_FILE": self.config})
        with m:
            self.assertEqual(os.listdir(m.mountpoint), [table])
            self.assertIn(f"endpoint {e2e.endpoint()}", m.log())

    def test_other_schemes_are_refused(self):
        for how, url in (("option", "file:///etc/passwd"), ("env", "ftp://127.0.0.1:1/"),
                         ("env", "dict://127.0.0.1:1/")):
            opts = [f"cache_dir={self.workdir}/cache"]
            env = {"AWS_CONFIG_FILE": self.config, "AWS_ENDPOINT_URL": None,
                   "AWS_ENDPOINT_URL_DYNAMODB": None}
            if how == "option":
                opts.append(f"endpoint={url}")
            else:
                env["AWS_ENDPOINT_URL_DYNAMODB"] = url
            with sec.environ(**env):
                status, out, mounted = e2e.run_ddbfs_expecting_refusal(opts, timeout=30)
            self.assertFalse(mounted)
            self.assertNotEqual(status, 0, out)
            self.assertIn(url, out)
            self.assertRegex(out, r"http:// or https://|a URL such as https://")

    def test_redirects_are_not_followed(self):
        seen = []
        target = socket.socket()
        target.bind(("127.0.0.1", 0))
        target.listen(8)
        target.settimeout(0.2)
        redirector = _Redirector(target.getsockname()[1])
        try:
            status, out, mounted = e2e.run_ddbfs_expecting_refusal(
                [f"endpoint=http://127.0.0.1:{redirector.server_address[1]}",
                 f"cache_dir={self.workdir}/cache"], timeout=60)
            try:
                conn, _ = target.accept()
                seen.append(conn)
                conn.close()
            except OSError:
                pass
        finally:
            redirector.shutdown()
            redirector.server_close()
            target.close()
        self.assertFalse(mounted)
        self.assertNotEqual(status, 0, out)
        self.assertIn("307", out)
        self.assertEqual(seen, [], "ddbfs followed the redirect")


# ---------------------------------------------------------------------------------------------
# Secrets


def _distinctive(prefix, n):
    return prefix + secrets.token_hex(n)


class SecretsTest(unittest.TestCase):
    """Export and restore with -d (every debug line) and distinctive secrets; nothing ddbfs wrote
    (stderr, cache files, rejects and spool files, xattrs) may hold the secret key or the token,
    or a 12-character piece of either."""

    # The bad line of export_and_restore; libfuse's own -d lines are not ddbfs's log lines.
    allowed = [r"bad\.json", r"rejects", r"not json|not valid JSON|line 2"]

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-sec.")

    def tearDown(self):
        shutil.rmtree(self.workdir, ignore_errors=True)

    def assertNoSecret(self, what, data, secrets_):
        if isinstance(data, str):
            data = data.encode()
        for s in secrets_:
            pieces = {s} | {s[i:i + 12] for i in range(0, len(s) - 11, 6)}
            for p in pieces:
                self.assertNotIn(p.encode(), data, f"{what} holds a piece of a secret: {p!r}")

    def everything_written(self, m):
        """(what, bytes) for the daemon's output, every file under the cache directory, and the
        xattrs of every file in the mount."""
        out = [("ddbfs's stderr", m.log())]
        for root, dirs, files in os.walk(m.cache_dir):
            for name in files:
                p = os.path.join(root, name)
                with open(p, "rb") as f:
                    out.append((p, f.read()))
        for root, dirs, files in os.walk(m.mountpoint):
            for name in dirs + files:
                p = os.path.join(root, name)
                try:
                    for a in os.listxattr(p):
                        out.append((f"xattr {a} of {p}", os.getxattr(p, a)))
                except OSError as e:
                    if e.errno not in (errno.ENOTSUP, errno.ENODATA, errno.EIO, errno.ENOENT):
                        raise
        return out

    def check_run(self, m, secrets_):
        table, want = source_table()
        with m:
            export_and_restore(self, m, table, want, self.workdir)
            self.assertIn("ddbfs: debug:", m.log(), "-d did not turn on debug logging")
            written = self.everything_written(m)
            bad = [line for line in m.log_lines()
                   if re.match(r"^ddbfs: (error|warning):", line)
                   and not any(re.search(a, line) for a in self.allowed)]
            self.assertEqual(bad, [])
            with open(m.log_path, "rb") as log:  # stop() removes the file: keep it open
                m.stop(check=False)
                self.final_log = log.read().decode(errors="replace")
        self.assertEqual(m.exit_status, 0)
        written.append(("ddbfs's stderr at exit", self.final_log))
        self.assertTrue(any("rejects" in w for w, _ in written), "no rejects file was written")
        for what, data in written:
            self.assertNoSecret(what, data, secrets_)

    def test_environment_secrets_never_appear_in_any_output(self):
        secret = _distinctive("EnvSecretKey", 20)
        token = _distinctive("EnvSessionToken", 64)
        env = {"AWS_ACCESS_KEY_ID": "AKIDENVTEST", "AWS_SECRET_ACCESS_KEY": secret,
               "AWS_SESSION_TOKEN": token}
        m = sec.Mount(["segments=2"], extra_args=["-d"], env=env,
                      cache_dir=os.path.join(self.workdir, "cache"))
        self.check_run(m, [secret, token])
        # A refusal with -d (an untrusted TLS endpoint) prints no secret either.
        tls = sec.Tls().start()
        try:
            with sec.environ(**env):
                status, out, _ = e2e.run_ddbfs_expecting_refusal(
                    [f"endpoint={tls.url()}", f"cache_dir={self.workdir}/c2"], extra_args=["-d"])
        finally:
            tls.stop()
        self.assertNotEqual(status, 0)
        self.assertNoSecret("a refusal's output", out, [secret, token])

    def test_bad_credential_process_output_is_refused_without_showing_it(self):
        secret = _distinctive("BadProcSecret", 20)
        token = _distinctive("BadProcToken", 64)
        good = {"Version": 1, "AccessKeyId": "AKIDBAD", "SecretAccessKey": secret,
                "SessionToken": token}
        outputs = {
            "cut short": json.dumps(good)[:-20],
            "version 2": json.dumps(dict(good, Version=2)),
            "bad expiration": json.dumps(dict(good, Expiration=f"at {secret} {token}")),
            "token not a string": json.dumps(dict(good, SessionToken=[token])),
            "no access key": json.dumps(dict(good, AccessKeyId="")),
            "an array": json.dumps([secret, token]),
        }
        for what, text in outputs.items():
            script = os.path.join(self.workdir, "bad-creds.sh")
            with open(script, "w") as f:
                f.write("#!/bin/sh\ncat <<'EOF'\n" + text + "\nEOF\n")
            os.chmod(script, 0o700)
            config = os.path.join(self.workdir, "config")
            with open(config, "w") as f:
                f.write(f"[profile bad]\nregion = us-east-1\ncredential_process = {script}\n")
            with sec.environ(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                             AWS_SESSION_TOKEN=None, AWS_CONFIG_FILE=config,
                             AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.workdir, "none")):
                status, out, mounted = e2e.run_ddbfs_expecting_refusal(
                    ["profile=bad", f"cache_dir={self.workdir}/cache"], extra_args=["-d"])
            self.assertFalse(mounted, what)
            self.assertNotEqual(status, 0, f"{what}: {out}")
            self.assertIn("credential_process", out, what)
            self.assertNoSecret(f"the refusal of credential_process output {what}", out,
                                [secret, token])

    def test_credential_process_secrets_never_appear_in_any_output(self):
        secret = _distinctive("ProcSecretKey", 20)
        token = _distinctive("ProcSessionToken", 64)
        script = os.path.join(self.workdir, "creds.sh")
        doc = {"Version": 1, "AccessKeyId": "AKIDPROCTEST", "SecretAccessKey": secret,
               "SessionToken": token,
               "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))}
        with open(script, "w") as f:
            f.write("#!/bin/sh\ncat <<'EOF'\n" + json.dumps(doc) + "\nEOF\n")
        os.chmod(script, 0o700)
        config = os.path.join(self.workdir, "config")
        with open(config, "w") as f:
            f.write(f"[profile sectest]\nregion = us-east-1\ncredential_process = {script}\n")
        env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
               "AWS_SESSION_TOKEN": None, "AWS_CONFIG_FILE": config,
               "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.workdir, "none")}
        m = sec.Mount(["segments=2", "profile=sectest"], extra_args=["-d"], env=env,
                      cache_dir=os.path.join(self.workdir, "cache"))
        self.check_run(m, [secret, token])
        self.assertRegex(self.final_log, r"credentials from [^\n]*credential_process")


# ---------------------------------------------------------------------------------------------
# Who may use the mount; private cache files


class PermissionsTest(unittest.TestCase):

    def setUp(self):
        sec.require_runuser()

    def nobody_errno(self, op, path):
        """errno name of op(path) run by the user nobody ('OK' when it succeeds)."""
        code = ("import errno, os, sys\n"
                "op, p = sys.argv[1], sys.argv[2]\n"
                "try:\n"
                "    if op == 'list': os.listdir(p)\n"
                "    elif op == 'read': open(p, 'rb').read()\n"
                "    elif op == 'create': open(p, 'wb').close()\n"
                "    elif op == 'mkdir': os.mkdir(p)\n"
                "    elif op == 'chmod': os.chmod(p, 0o666)\n"
                "    elif op == 'stat': os.stat(p)\n"
                "    print('OK')\n"
                "except OSError as e:\n"
                "    print(errno.errorcode.get(e.errno, e.errno))\n")
        proc = sec.as_user("nobody", ["python3", "-c", code, op, path])
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
        return proc.stdout.decode().strip()

    def test_without_allow_other_other_users_get_eacces(self):
        table, _ = source_table()
        with sec.Mount([f"tables={table}"]) as m:
            sec.open_up(m.workdir)
            # The way there is open: only the mount refuses.
            self.assertEqual(self.nobody_errno("stat", m.log_path), "OK")
            self.assertEqual(self.nobody_errno("stat", m.mountpoint), "EACCES")
            self.assertEqual(self.nobody_errno("list", m.mountpoint), "EACCES")
            self.assertEqual(self.nobody_errno("read", m.path(table, "_schema.json")), "EACCES")
            self.assertEqual(os.listdir(m.mountpoint), [table], "the mounting user is refused")

    def test_allow_other_enforces_the_modes_ddbfs_reports(self):
        table, _ = source_table()
        with sec.Mount([f"tables={table}:sec-nobody-*", "allow_other"]) as m:
            sec.open_up(m.workdir)
            # Directories 0755 and files 0444, owned by the mounting user: others read, never write.
            self.assertEqual(self.nobody_errno("list", m.mountpoint), "OK")
            self.assertEqual(self.nobody_errno("read", m.path(table, "_schema.json")), "OK")
            self.assertEqual(self.nobody_errno("create", m.path(table, "restore.json")), "EACCES")
            self.assertEqual(self.nobody_errno("mkdir", m.path("sec-nobody-new")), "EACCES")
            self.assertEqual(self.nobody_errno("chmod", m.path(table, "_schema.json")), "EPERM")
            self.assertNotIn("restore.json", os.listdir(m.path(table)))
            self.assertNotIn("sec-nobody-new", os.listdir(m.mountpoint))
            with open("/proc/self/mountinfo") as f:
                line = next(x for x in f if f" {m.mountpoint} " in x)
            self.assertIn("default_permissions", line.split(" - ")[1])

    def test_allow_other_with_umask_keeps_others_out(self):
        # FUSE's own umask= sets the modes ddbfs reports; default_permissions enforces them.
        table, _ = source_table()
        with sec.Mount([f"tables={table}", "allow_other", "umask=0077"]) as m:
            sec.open_up(m.workdir)
            self.assertEqual(self.nobody_errno("stat", m.mountpoint), "OK")
            self.assertEqual(self.nobody_errno("list", m.mountpoint), "EACCES")
            self.assertEqual(self.nobody_errno("read", m.path(table, "_schema.json")), "EACCES")
            self.assertEqual(os.listdir(m.mountpoint), [table])

    def test_cache_rejects_and_spool_files_are_private_whatever_the_umask(self):
        table, want = source_table()
        work = tempfile.mkdtemp(prefix="ddbfs-e2e-sec.")
        home = os.path.join(work, "home")
        os.mkdir(home)
        # No cache_dir: the default one under $HOME, made by ddbfs. umask 0: nothing relies on it.
        m = sec.Mount(["segments=2"], drop=("cache_dir",), mask=0,
                      env={"HOME": home, "XDG_CACHE_HOME": None},
                      allowed=[r"bad\.json", r"rejects", r"not json|not valid JSON|line 2",
                               r"sec-pending", r"spool"])
        try:
            with m:
                export_and_restore(self, m, table, want, work)
                # A file waiting for its table's schema is spooled.
                pending = e2e.unique_name("sec-pending")
                os.mkdir(m.path(pending))
                with open(m.path(pending, "data.json"), "wb") as f:
                    f.write(b'{"Item":{"pk":{"S":"a"},"sk":{"N":"1"}}}\n')
                cache_root = os.path.join(home, ".cache")
                seen = {"dirs": 0, "files": 0, "rejects": 0, "spool": 0}
                for root, dirs, files in os.walk(cache_root):
                    mode = stat.S_IMODE(os.stat(root).st_mode)
                    self.assertEqual(mode, 0o700, f"{root} is {mode:o}")
                    seen["dirs"] += 1
                    for name in files:
                        p = os.path.join(root, name)
                        mode = stat.S_IMODE(os.lstat(p).st_mode)
                        self.assertEqual(mode, 0o600, f"{p} is {mode:o}")
                        seen["files"] += 1
                        seen["rejects"] += name.endswith(".rejects")
                        seen["spool"] += "spool" in root
                self.assertGreater(seen["files"], 2, seen)
                self.assertEqual(seen["rejects"], 1, seen)
                self.assertGreaterEqual(seen["spool"], 1, seen)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
