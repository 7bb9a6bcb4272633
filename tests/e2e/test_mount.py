"""End-to-end tests of mounting ddbfs like any filesystem (issue 5): `mount -t ddbfs` through the
helper /sbin/mount.ddbfs, an fstab line with the options only mount(8) and systemd read, `mount -t
fuse.ddbfs` through mount.fuse3, mistakes refused before daemonizing, syslog after it, what unmount
does to files still being written, and the man page.

Run through ctest (e2e_test_mount), or by hand from tests/e2e:
    ../harness/with-dynalite env DDBFS_BIN=$PWD/../../build/fs/ddbfs \\
        DDBLOAD_BIN=$PWD/../../build/tests/tools/ddbload python3 run.py test_mount

mount(8) needs root, and mount(8) finds helpers only in /sbin: the classes that use it skip unless
run as root. They link /sbin/mount.ddbfs to DDBFS_BIN for the module's duration (and remove the
link after) when no mount.ddbfs is installed; an installed one that is not DDBFS_BIN is never
replaced (they skip and say so). While the syslog test runs, /dev/log is a socket of the test's,
only when the machine has none.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import ddbfs_e2e as e2e

HELPER = "/sbin/mount.ddbfs"
CONTRIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib")
MAN_PAGE = os.path.join(CONTRIB, "ddbfs.8")
MOUNT_ONLY = "_netdev,nofail,users,defaults,noauto,x-systemd.automount,x-systemd.idle-timeout=60"

_state = {"made_link": False, "helper_problem": None}


def setUpModule():
    e2e.ddbfs_bin()
    e2e.endpoint()


def tearDownModule():
    remove_helper_link()


def remove_helper_link():
    if _state["made_link"] and os.path.islink(HELPER):
        os.unlink(HELPER)
    _state["made_link"] = False


def require_mount_helper(test):
    """Skips test unless root, FUSE and /sbin/mount.ddbfs (made here if absent) are there."""
    reason = e2e.fuse_missing_reason()
    if reason:
        test.skipTest(reason)
    if os.geteuid() != 0:
        test.skipTest("mount(8) and /sbin/mount.ddbfs need root")
    if shutil.which("mount") is None or shutil.which("umount") is None:
        test.skipTest("mount(8) is not installed (package mount)")
    if _state["helper_problem"]:
        test.skipTest(_state["helper_problem"])
    target = e2e.ddbfs_bin()
    if os.path.lexists(HELPER):
        if os.path.realpath(HELPER) != os.path.realpath(target):
            _state["helper_problem"] = (f"{HELPER} is installed ({os.path.realpath(HELPER)}) and "
                                        f"is not {target}: not replaced")
            test.skipTest(_state["helper_problem"])
        return
    os.symlink(os.path.abspath(target), HELPER)
    _state["made_link"] = True


import atexit  # noqa: E402  (the link goes away however the module ends)

atexit.register(remove_helper_link)


def table_for(test, items=5):
    name = e2e.unique_name("mount")
    e2e.load_table(name, items)
    return name


class MountPoint:
    """A fresh mount point and cache directory; unmounts (lazily if need be) and removes them."""

    def __init__(self):
        self.workdir = tempfile.mkdtemp(prefix="ddbfs-e2e-mount.")
        self.path = os.path.join(self.workdir, "mnt")
        self.cache = os.path.join(self.workdir, "cache")
        os.mkdir(self.path)

    def options(self, *more):
        return ",".join([f"endpoint={e2e.endpoint()}", f"cache_dir={self.cache}", *more])

    def daemon_pids(self):
        """ddbfs processes whose command line names this mount point."""
        pids = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            if self.path.encode() in args and any(b"ddbfs" in a for a in args[:1]):
                pids.append(int(pid))
        return pids

    def wait_daemon_gone(self, timeout=e2e.UNMOUNT_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while self.daemon_pids():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def cleanup(self):
        if e2e.is_mounted(self.path):
            e2e.fusermount_unmount(self.path)
        if not e2e.is_mounted(self.path):
            shutil.rmtree(self.workdir, ignore_errors=True)


def mount_proc(args, env=None, timeout=60):
    return e2e.run(args, timeout=timeout, env=env)


def text(proc):
    return (proc.stdout + proc.stderr).decode(errors="replace")


class SyslogSocket:
    """A datagram socket at /dev/log collecting what daemons send to syslog, when the machine has
    none (never replaces a real one)."""

    def __init__(self):
        self.lines = []
        self.sock = None
        self._lock = threading.Lock()

    def __enter__(self):
        if os.path.exists("/dev/log"):
            raise unittest.SkipTest("/dev/log exists (a real syslog, which this test does not "
                                    "read): not replaced")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("/dev/log")
        self.sock.settimeout(0.2)
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def _read(self):
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.lines.append(data.decode(errors="replace"))

    def wait_for(self, pattern, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for line in self.lines:
                    if re.search(pattern, line):
                        return line
            time.sleep(0.1)
        with self._lock:
            raise AssertionError(f"no syslog line matching {pattern!r} within {timeout} s; got "
                                 f"{self.lines[-10:]}")

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join(timeout=5)
        self.sock.close()
        try:
            os.unlink("/dev/log")
        except OSError:
            pass
        return False


class MountCommand(unittest.TestCase):
    """mount -t ddbfs / fuse.ddbfs, fstab lines, umount: SEMANTICS.md "Mounting"."""

    def setUp(self):
        require_mount_helper(self)
        self.mp = MountPoint()
        self.addCleanup(self.mp.cleanup)

    def assert_mounted_and_listed(self, table):
        self.assertTrue(e2e.is_mounted(self.mp.path), f"{self.mp.path} is not mounted")
        with open("/proc/self/mounts", encoding="utf-8") as f:
            line = next((ln for ln in f if f" {self.mp.path} " in ln), "")
        self.assertRegex(line, r"^ddbfs:us-east-1 \S+ fuse\.ddbfs ", line)
        self.assertIn(table, os.listdir(self.mp.path))
        self.assertIn("_schema.json", os.listdir(os.path.join(self.mp.path, table)))

    def umount(self):
        p = mount_proc(["umount", self.mp.path])
        self.assertEqual(p.returncode, 0, text(p))
        self.assertFalse(e2e.is_mounted(self.mp.path))
        self.assertTrue(self.mp.wait_daemon_gone(), "ddbfs did not exit after umount")

    def test_mount_t_ddbfs_mounts_with_mount_only_options_and_umount_unmounts(self):
        table = table_for(self)
        p = mount_proc(["mount", "-t", "ddbfs", "-o",
                        self.mp.options(MOUNT_ONLY, f"tables={table}"), "us-east-1", self.mp.path])
        self.assertEqual(p.returncode, 0, text(p))
        self.assertEqual(text(p), "", "a clean mount prints nothing")
        self.assert_mounted_and_listed(table)
        self.umount()

    def test_after_daemonizing_ddbfs_logs_to_syslog(self):
        table = table_for(self)
        with SyslogSocket() as log:
            p = mount_proc(["mount", "-t", "ddbfs", "-o", self.mp.options(f"tables={table}"),
                            "us-east-1", self.mp.path])
            self.assertEqual(p.returncode, 0, text(p))
            log.wait_for(rf"ddbfs\[\d+\]: info: mounted us-east-1 on {re.escape(self.mp.path)} ")
            # An error after daemonizing goes there too, with its level.
            with self.assertRaises(PermissionError):
                os.rmdir(os.path.join(self.mp.path, table))
            log.wait_for(rf"ddbfs\[\d+\]: error: .*{re.escape(table)}")
            self.umount()

    def test_fstab_line_mounts_with_mount_path(self):
        table = table_for(self)
        fstab = os.path.join(self.mp.workdir, "fstab")
        with open(fstab, "w") as f:
            f.write("# ddbfs test\n")
            f.write(f"us-east-1  {self.mp.path}  ddbfs  "
                    f"{self.mp.options(MOUNT_ONLY, 'comment=x', 'ro', f'tables={table}')}  0  0\n")
        p = mount_proc(["mount", "-T", fstab, self.mp.path])
        self.assertEqual(p.returncode, 0, text(p))
        self.assert_mounted_and_listed(table)
        with open("/proc/self/mounts", encoding="utf-8") as f:
            line = next(ln for ln in f if f" {self.mp.path} " in ln)
        self.assertRegex(line, r" ro,", "ro from the fstab line reaches the mount")
        self.umount()
        # --fstab FILE and -a: noauto keeps it out, as for any filesystem.
        p = mount_proc(["mount", "--fstab", fstab, "-a"])
        self.assertEqual(p.returncode, 0, text(p))
        self.assertFalse(e2e.is_mounted(self.mp.path), "noauto lines are not mounted by -a")

    def test_mount_t_fuse_ddbfs_goes_through_mount_fuse3(self):
        if shutil.which("mount.fuse3") is None and not os.path.exists("/sbin/mount.fuse3"):
            self.skipTest("mount.fuse3 is not installed (package fuse3)")
        # mount(8) gives helpers no PATH, so mount.fuse3's sh finds `ddbfs` only in its default
        # PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin), where cmake
        # --install puts it. Here: a link in /usr/local/sbin for the test, unless one is there.
        link = "/usr/local/sbin/ddbfs"
        if os.path.lexists(link):
            if os.path.realpath(link) != os.path.realpath(e2e.ddbfs_bin()):
                self.skipTest(f"{link} is installed and is not {e2e.ddbfs_bin()}: not replaced")
        else:
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(os.path.abspath(e2e.ddbfs_bin()), link)
            self.addCleanup(os.unlink, link)
        table = table_for(self)
        p = mount_proc(["mount", "-t", "fuse.ddbfs", "-o",
                        self.mp.options(MOUNT_ONLY, f"tables={table}"), "us-east-1",
                        self.mp.path])
        self.assertEqual(p.returncode, 0, text(p))
        self.assert_mounted_and_listed(table)
        self.umount()

    def test_mount_f_checks_everything_and_mounts_nothing(self):
        p = mount_proc(["mount", "-f", "-t", "ddbfs", "-o", self.mp.options(), "us-east-1",
                        self.mp.path])
        self.assertEqual(p.returncode, 0, text(p))
        self.assertFalse(e2e.is_mounted(self.mp.path))
        self.assertEqual(self.mp.daemon_pids(), [])
        p = mount_proc(["mount", "-f", "-t", "ddbfs", "-o",
                        f"endpoint={unused_endpoint()},cache_dir={self.mp.cache}", "us-east-1",
                        self.mp.path])
        self.assertNotEqual(p.returncode, 0, "-f still reaches DynamoDB: " + text(p))
        self.assertIn("cannot use DynamoDB", text(p))

    def test_mistakes_fail_before_daemonizing_with_clear_messages(self):
        empty = os.path.join(self.mp.workdir, "empty-aws-config")
        open(empty, "w").close()
        no_creds = {k: v for k, v in os.environ.items()
                    if not k.startswith("AWS_ACCESS_KEY") and not k.startswith("AWS_SECRET")}
        no_creds.update(AWS_SHARED_CREDENTIALS_FILE=empty, AWS_CONFIG_FILE=empty,
                        AWS_EC2_METADATA_DISABLED="true")
        dead = unused_endpoint()
        cases = [
            ("a bad value", self.mp.options("segments=0"), None, r"segments=0"),
            ("an option nobody knows", self.mp.options("bogus=1"), None, r"bogus=1"),
            ("an unreachable endpoint", f"endpoint={dead},cache_dir={self.mp.cache}", None,
             rf"cannot use DynamoDB at {re.escape(dead)}"),
            ("no credentials", self.mp.options(), no_creds, r"(?i)credentials"),
            ("a profile that does not exist", self.mp.options("profile=nosuchprofile"),
             dict(no_creds), r"nosuchprofile"),
        ]
        for what, opts, env, pattern in cases:
            with self.subTest(what):
                t0 = time.monotonic()
                p = mount_proc(["mount", "-t", "ddbfs", "-o", opts, "us-east-1", self.mp.path],
                               env=env)
                out = text(p)
                self.assertNotEqual(p.returncode, 0, f"{what}: mount succeeded: {out}")
                self.assertRegex(out, pattern, f"{what}: the message does not say what is wrong")
                self.assertRegex(out, r"ddbfs|fuse", f"{what}: the message does not say who")
                self.assertFalse(e2e.is_mounted(self.mp.path), f"{what}: something was mounted")
                self.assertTrue(self.mp.wait_daemon_gone(5), f"{what}: a daemon stayed behind")
                self.assertLess(time.monotonic() - t0, 40, f"{what}: took too long to refuse")

    def test_mount_helper_usage_mistakes_are_named(self):
        p = mount_proc([HELPER, "us-east-1"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("missing DIR", text(p))
        self.assertIn("usage: mount.ddbfs SOURCE DIR", text(p))


def unused_endpoint():
    """A loopback URL where nothing listens."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


WRITER = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
def lines(a, b):
    return "".join('{"Item":{"pk":{"S":"k-%d"},"sk":{"N":"%d"},"v":{"S":"%s"}}}\n' % (i, i, "x" * 200)
                   for i in range(a, b)).encode()
os.write(fd, lines(0, int(sys.argv[2])))
print("half", flush=True)
cmd = sys.stdin.readline().strip()
try:
    if cmd == "rest":
        os.write(fd, lines(int(sys.argv[2]), int(sys.argv[3])))
        os.close(fd)
    elif cmd == "cut":
        os.write(fd, b'{"Item":{"pk":{"S":"cut"},"sk":{"N":"1"}')   # half a line
        print("cut", flush=True)
        sys.stdin.readline()
        os.write(fd, b'}}\n')
        os.close(fd)
except OSError as e:
    print("error", e.errno, flush=True)
    sys.exit(3)
print("done", flush=True)
"""


class UserMount(unittest.TestCase):
    """An fstab line with `user`: an ordinary user mounts and unmounts it with mount(8), and ddbfs
    runs as that user, not as root. It needs the line in /etc/fstab itself (mount(8) trusts no
    other file for a user) and a /dev/fuse that users may open, as Debian's udev rule makes it
    (0666); the test adds the line and, where /dev/fuse is root's only (some containers), opens it
    up, and puts both back afterwards."""

    USER = "nobody"
    MARK = "# ddbfs-e2e-user-mount"

    def setUp(self):
        require_mount_helper(self)
        if shutil.which("runuser") is None:
            self.skipTest("runuser (util-linux) is needed to act as another user")
        try:
            import pwd
            self.pw = pwd.getpwnam(self.USER)
        except KeyError:
            self.skipTest(f"no user {self.USER}")
        if not os.path.exists("/etc/fstab"):
            self.skipTest("no /etc/fstab")
        self.mp = MountPoint()
        self.addCleanup(self.mp.cleanup)
        os.chmod(self.mp.workdir, 0o755)
        os.mkdir(self.mp.cache)
        for d in (self.mp.path, self.mp.cache):
            os.chown(d, self.pw.pw_uid, self.pw.pw_gid)
        mode = os.stat("/dev/fuse").st_mode & 0o777
        if mode & 0o006 != 0o006:
            os.chmod("/dev/fuse", 0o666)
            self.addCleanup(os.chmod, "/dev/fuse", mode)

    def as_user(self, *args, env=None):
        return e2e.run(["runuser", "-u", self.USER, "--", *args], env=env, timeout=60)

    def add_fstab_line(self, line):
        with open("/etc/fstab", "a", encoding="utf-8") as f:
            f.write(f"{line} {self.MARK}\n")
        self.addCleanup(self.remove_fstab_lines)

    def remove_fstab_lines(self):
        with open("/etc/fstab", encoding="utf-8") as f:
            lines = f.readlines()
        with open("/etc/fstab", "w", encoding="utf-8") as f:
            f.writelines(ln for ln in lines if not ln.rstrip("\n").endswith(self.MARK))

    def test_a_user_line_in_fstab_mounts_and_unmounts_as_the_user(self):
        table = table_for(self)
        self.add_fstab_line(f"us-east-1 {self.mp.path} ddbfs "
                            f"{self.mp.options('noauto', 'user', f'tables={table}')} 0 0")
        creds = {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        env = dict(creds, PATH=os.environ.get("PATH", "/usr/bin:/bin"))
        p = self.as_user("env", *[f"{k}={v}" for k, v in env.items()], "mount", self.mp.path)
        self.assertEqual(p.returncode, 0, text(p))
        with open("/proc/self/mounts", encoding="utf-8") as f:
            line = next((ln for ln in f if f" {self.mp.path} " in ln), "")
        self.assertRegex(line, rf"^ddbfs:us-east-1 \S+ fuse\.ddbfs \S*nosuid,nodev,noexec\S*"
                               rf"user_id={self.pw.pw_uid},", "`user` implies nosuid,nodev,noexec")
        pids = self.mp.daemon_pids()
        self.assertTrue(pids, "no ddbfs process for the mount")
        for pid in pids:
            with open(f"/proc/{pid}/status", encoding="utf-8") as f:
                uid = next(ln for ln in f if ln.startswith("Uid:")).split()[1:]
            self.assertEqual(set(uid), {str(self.pw.pw_uid)}, f"ddbfs runs with uids {uid}")
        p = self.as_user("ls", self.mp.path)
        self.assertEqual(p.returncode, 0, text(p))
        self.assertIn(table, p.stdout.decode().split())
        p = self.as_user("cat", os.path.join(self.mp.path, table, "_schema.json"))
        self.assertEqual(p.returncode, 0, text(p))
        self.assertEqual(json.loads(p.stdout)["TableName"], table)
        p = self.as_user("umount", self.mp.path)
        self.assertEqual(p.returncode, 0, text(p))
        self.assertFalse(e2e.is_mounted(self.mp.path))
        self.assertTrue(self.mp.wait_daemon_gone(), "ddbfs did not exit after the user's umount")


class UnmountWhileWriting(unittest.TestCase):
    """What unmount does to a file still being written: SEMANTICS.md "Mounting"."""

    def setUp(self):
        reason = e2e.fuse_missing_reason()
        if reason:
            self.skipTest(reason)
        self.table = e2e.unique_name("unmount")
        e2e.load_table(self.table, 0)

    def start_writer(self, m, name, first, total):
        w = subprocess.Popen([shutil.which("python3") or "python3", "-c", WRITER,
                              m.path(self.table, name), str(first), str(total)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        self.addCleanup(lambda: w.poll() is None and w.kill())
        self.assertEqual(self.read_line(w), "half")
        return w

    def read_line(self, w, timeout=60):
        out = []
        t = threading.Thread(target=lambda: out.append(w.stdout.readline().strip()))
        t.start()
        t.join(timeout)
        if t.is_alive():
            w.kill()
            self.fail(f"the writer said nothing within {timeout} s")
        return out[0]

    def test_lazy_unmount_while_a_file_is_written_stores_every_item(self):
        m = e2e.Mount([f"tables={self.table}"])
        m.start()
        try:
            w = self.start_writer(m, "data.json", 300, 600)
            p = e2e.run(["umount", "-l", m.mountpoint]) if os.geteuid() == 0 else \
                e2e.run(["fusermount3", "-u", "-z", m.mountpoint])
            self.assertEqual(p.returncode, 0, text(p))
            self.assertFalse(e2e.is_mounted(m.mountpoint))
            w.stdin.write("rest\n")
            w.stdin.flush()
            self.assertEqual(self.read_line(w), "done", "the writer's descriptor outlives a "
                                                        "lazy unmount")
            self.assertEqual(w.wait(timeout=60), 0)
            m.proc.wait(timeout=e2e.UNMOUNT_TIMEOUT_S)
        finally:
            m.stop()
        self.assertEqual(m.exit_status, 0)
        items = e2e.scan_table(self.table, keys=("pk", "sk"))
        self.assertEqual(len(items), 600, "every line written before and after the lazy unmount")

    def test_stopping_ddbfs_while_a_file_is_written_stores_the_complete_lines_and_says_so(self):
        m = e2e.Mount([f"tables={self.table}"])
        m.start()
        try:
            w = self.start_writer(m, "cut.json", 250, 250)
            w.stdin.write("cut\n")
            w.stdin.flush()
            self.assertEqual(self.read_line(w), "cut")
            m.proc.send_signal(signal.SIGTERM)  # as systemd stops it, or a shutdown
            m.proc.wait(timeout=60)
            status = m.proc.returncode
            w.stdin.write("go\n")
            w.stdin.flush()
            self.assertEqual(self.read_line(w).split()[0], "error",
                             "the writer learns that its file is gone")
            w.wait(timeout=30)
            log = m.log()
            kept = re.search(r"kept in (/\S+\.rejects)", log)
            with open(kept.group(1), "rb") as f:
                self.assertEqual(f.read(), b'{"Item":{"pk":{"S":"cut"},"sk":{"N":"1"}\n',
                                 "the line cut short is kept in the rejects file")
        finally:
            m.stop(check=False)
        self.assertEqual(status, 1, "ddbfs exits 1 when a file was cut off at unmount\n" + log)
        path = f"{self.table}/cut.json"
        self.assertRegex(log, rf"ddbfs: error: {re.escape(path)} line 251: not stored: cut short")
        self.assertRegex(log, rf"ddbfs: error: {re.escape(path)}: still being written at unmount "
                              rf"after \d+ bytes: the 250 complete lines received are handled "
                              rf"\(250 items stored, 1 line not stored, kept in /\S+\.rejects\)")
        items = e2e.scan_table(self.table, keys=("pk", "sk"))
        self.assertEqual(len(items), 250, "every complete line is stored")


    def test_a_file_waiting_for_its_table_keeps_its_spool_when_ddbfs_is_stopped(self):
        new = e2e.unique_name("unmount-new")
        m = e2e.Mount([f"tables={self.table}:{new}"])
        m.start()
        try:
            os.mkdir(m.path(new))  # a pending table: data waits for _schema.json
            self.table = new
            w = self.start_writer(m, "early.json", 40, 40)
            w.stdin.write("cut\n")
            w.stdin.flush()
            self.assertEqual(self.read_line(w), "cut")
            m.proc.send_signal(signal.SIGTERM)
            m.proc.wait(timeout=60)
            status = m.proc.returncode
            w.kill()
            w.wait(timeout=30)
            log = m.log()
            found = re.search(rf"ddbfs: error: {re.escape(new)}/early.json: still being written "
                              rf"at unmount \((\d+) bytes received\): nothing stored, table "
                              rf"{re.escape(new)} has no _schema.json yet; the bytes received are "
                              rf"in (/\S+\.spool): copy the file again", log)
            self.assertIsNotNone(found, log)
            with open(found.group(2), "rb") as f:
                kept = f.read()
            self.assertEqual(len(kept), int(found.group(1)))
            self.assertTrue(kept.endswith(b'{"Item":{"pk":{"S":"cut"},"sk":{"N":"1"}'), kept[-80:])
        finally:
            m.stop(check=False)
        self.assertEqual(status, 1, log)


class ContribFiles(unittest.TestCase):
    """contrib/fstab.example and contrib/systemd/: the lines and units work as they stand."""

    def example_lines(self):
        """Every ddbfs line of fstab.example, commented out or not, as fields."""
        lines = []
        with open(os.path.join(CONTRIB, "fstab.example"), encoding="utf-8") as f:
            for line in f:
                fields = line.lstrip("#").split()
                if len(fields) == 6 and fields[2] == "ddbfs":
                    lines.append(fields)
        self.assertGreaterEqual(len(lines), 3)
        return lines

    def test_systemd_units_verify_cleanly(self):
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze is not installed (package systemd)")
        d = os.path.join(CONTRIB, "systemd")
        units = sorted(os.listdir(d))
        self.assertEqual(units, ["ddbfs-backup.service", "ddbfs-backup.timer",
                                 "mnt-ddb.automount", "mnt-ddb.mount"])
        p = e2e.run(["systemd-analyze", "verify", "--man=no", *[f"./{u}" for u in units]], cwd=d)
        self.assertEqual((p.returncode, text(p)), (0, ""), "systemd-analyze verify")

    def test_fstab_example_and_mount_unit_options_pass_mount_f(self):
        require_mount_helper(self)
        mp = MountPoint()
        self.addCleanup(mp.cleanup)
        cases = [(f[0], f[3]) for f in self.example_lines()]
        unit = {}
        with open(os.path.join(CONTRIB, "systemd", "mnt-ddb.mount"), encoding="utf-8") as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    k, v = line.strip().split("=", 1)
                    unit[k] = v
        self.assertEqual(unit["Type"], "ddbfs")
        cases.append((unit["What"], unit["Options"]))
        for source, opts in cases:
            with self.subTest(opts):
                # Our endpoint and cache, and no options that would need a user or fuse.conf.
                kept = [o for o in opts.split(",") if not o.startswith("cache_")
                        and o not in ("allow_other",)]
                fstab = os.path.join(mp.workdir, "fstab")
                with open(fstab, "w") as f:
                    f.write(f"{source} {mp.path} ddbfs {mp.options(*kept)} 0 0\n")
                env = dict(os.environ, AWS_REGION="us-east-1")
                p = mount_proc(["mount", "-f", "-v", "-T", fstab, mp.path], env=env)
                self.assertEqual(p.returncode, 0, text(p))
                self.assertFalse(e2e.is_mounted(mp.path))


class ManPage(unittest.TestCase):
    """contrib/ddbfs.8 documents every option of ddbfs --help and renders cleanly."""

    def help_options(self):
        p = e2e.run([e2e.ddbfs_bin(), "--help"], check=True)
        out = p.stdout.decode()
        ours = out.split("FUSE options:")[0]
        opts = set(re.findall(r"^\s+-o ([a-z_]+)", ours, re.M))
        self.assertGreater(len(opts), 10, ours)
        return opts

    def test_every_option_of_help_is_in_the_man_page(self):
        with open(MAN_PAGE, encoding="utf-8") as f:
            page = f.read()
        documented = set(re.findall(r"^\.B[IR]? (?:\\fB)?([a-z_]+)(?:\\fR)?(?:=|\s|$)", page,
                                    re.M))
        missing = sorted(o for o in self.help_options() if o not in documented)
        self.assertEqual(missing, [], "options of ddbfs --help missing from contrib/ddbfs.8")
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES", "EXIT STATUS",
                        "ERRORS", "EXAMPLES", "SEE ALSO"):
            self.assertRegex(page, rf"(?m)^\.SH \"?{section}\"?$", f"section {section}")

    def test_the_man_page_renders_without_warnings(self):
        if shutil.which("groff") is None:
            self.skipTest("groff is not installed (package groff-base)")
        p = e2e.run(["groff", "-man", "-Tutf8", "-ww", "-z", MAN_PAGE])
        self.assertEqual(p.returncode, 0, text(p))
        self.assertEqual(text(p), "", "groff warnings")
        if shutil.which("man") is not None:
            env = dict(os.environ, MANWIDTH="80", MAN_KEEP_STDERR="1", LC_ALL="C.UTF-8")
            p = e2e.run(["man", "--warnings", "-l", "-P", "cat", MAN_PAGE], env=env)
            self.assertEqual(p.returncode, 0, text(p))
            self.assertEqual(p.stderr.decode(), "", "man -l warnings")
            self.assertIn("mount.ddbfs", p.stdout.decode())


if __name__ == "__main__":
    unittest.main()
