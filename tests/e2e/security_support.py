"""What the security and load tests share (Python 3 standard library only): a TLS-terminating proxy
(stunnel4) on loopback in front of dynalite with a CA made by openssl for the test, free ports,
environment changes for one daemon, a mount whose argv the test controls, running a command as
another user, and the daemon's memory (VmHWM).
"""

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import unittest

import ddbfs_e2e as e2e

START_TIMEOUT_S = 20  # stunnel listening


def free_port():
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, timeout=START_TIMEOUT_S, proc=None):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the server for port {port} exited {proc.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")
        time.sleep(0.05)


@contextlib.contextmanager
def environ(**changes):
    """Sets (value str) or unsets (value None) environment variables for the block: daemons
    started in it inherit them. The tests are single-threaded, so this is safe."""
    saved = {k: os.environ.get(k) for k in changes}
    try:
        for k, v in changes.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


class Mount(e2e.Mount):
    """e2e.Mount with control over what it adds and what the daemon inherits:
    drop: option names e2e.Mount would add that must not be given (e.g. "endpoint" to take it from
    the environment); env: environment changes for the daemon (see environ); mask: its umask."""

    def __init__(self, options=(), drop=(), env=None, mask=None, **kw):
        super().__init__(options, **kw)
        self.drop = set(drop)
        self.env = env or {}
        self.mask = mask

    def argv(self):
        args = super().argv()
        i = args.index("-o") + 1
        opts = [o for o in args[i].split(",") if o.split("=", 1)[0] not in self.drop
                or o in self.options]
        args[i] = ",".join(opts)
        return args

    def start(self, timeout=e2e.MOUNT_TIMEOUT_S):
        with contextlib.ExitStack() as stack:
            stack.enter_context(environ(**self.env))
            if self.mask is not None:
                stack.enter_context(umask(self.mask))
            return super().start(timeout)

    def hwm_kib(self):
        """The daemon's peak resident set (VmHWM) in KiB."""
        return proc_status_kib(self.proc.pid, "VmHWM")

    def rss_kib(self):
        return proc_status_kib(self.proc.pid, "VmRSS")


def proc_status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def as_user(user, args, timeout=60):
    """Runs args as user (runuser), capturing output."""
    return e2e.run(["runuser", "-u", user, "--", *args], timeout=timeout)


def require_runuser():
    if shutil.which("runuser") is None or os.geteuid() != 0:
        raise unittest.SkipTest("needs root and runuser (util-linux) to act as another user")


def open_up(path):
    """Lets other users traverse path and its parents (mkdtemp makes 0700 directories), so that
    only the mount itself can refuse them."""
    p = os.path.abspath(path)
    while p not in ("/", ""):
        st = os.stat(p)
        if stat.S_IMODE(st.st_mode) & 0o011 != 0o011:
            os.chmod(p, stat.S_IMODE(st.st_mode) | 0o011)
        p = os.path.dirname(p)


# ---------------------------------------------------------------------------------------------
# TLS


class Tls:
    """A CA, certificates signed by it, and stunnel4 terminating TLS in front of dynalite.

        t = Tls().start()
        t.port        -> https://localhost:PORT  (certificate for localhost and 127.0.0.1)
        t.wrong_port  -> https://localhost:PORT  (certificate signed by the CA for another name)
        t.ca_file     -> the CA's certificate (PEM)
        t.stop()
    """

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ddbfs-e2e-tls.")
        self.ca_file = os.path.join(self.dir, "ca.pem")
        self.proc = None
        self.port = self.wrong_port = None
        self.log_path = os.path.join(self.dir, "stunnel.log")
        self._log = None

    def _openssl(self, *args):
        e2e.run(["openssl", *args], check=True, timeout=60)

    def _cert(self, name, san):
        key, csr, pem = (os.path.join(self.dir, f"{name}.{x}") for x in ("key", "csr", "pem"))
        ext = os.path.join(self.dir, f"{name}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
        self._openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                      "-subj", f"/CN={name}")
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey",
                      os.path.join(self.dir, "ca.key"), "-CAcreateserial", "-out", pem,
                      "-days", "2", "-extfile", ext)
        return key, pem

    def start(self):
        if shutil.which("stunnel4") is None:
            raise AssertionError("stunnel4 is not installed (run contrib/install-deps.sh)")
        self._openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                      os.path.join(self.dir, "ca.key"), "-out", self.ca_file, "-days", "2",
                      "-subj", "/CN=ddbfs e2e test CA",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        good = self._cert("localhost", "DNS:localhost,IP:127.0.0.1")
        wrong = self._cert("elsewhere.invalid", "DNS:elsewhere.invalid")
        backend = e2e.endpoint().rsplit(":", 1)[1]
        self.port, self.wrong_port = free_port(), free_port()
        conf = os.path.join(self.dir, "stunnel.conf")
        with open(conf, "w") as f:
            f.write("foreground = yes\npid =\ndebug = 5\n")
            for name, port, (key, pem) in (("good", self.port, good),
                                            ("wrong", self.wrong_port, wrong)):
                f.write(f"[{name}]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{backend}\n"
                        f"cert = {pem}\nkey = {key}\n")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["stunnel4", conf], stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_listening(self.port, proc=self.proc)
            wait_listening(self.wrong_port, proc=self.proc)
        except AssertionError as e:
            self.stop()
            raise AssertionError(f"{e}; stunnel4 said: {self.log()}") from None
        return self

    def url(self, port=None):
        return f"https://localhost:{port or self.port}"

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None
        if self._log:
            self._log.close()
            self._log = None
        shutil.rmtree(self.dir, ignore_errors=True)
