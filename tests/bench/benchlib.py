"""What peers.py, restore.py and scaling.py share: running a command and measuring its wall time,
CPU time and peak RSS; measuring a running daemon through /proc; the 215-byte item files and the
tables they go into; printing a table of figures. Stdlib only.

A run is a dict: wall (s), cpu (user + sys, s), rss (peak resident set, KB), out, err (text).
"""

import os
import subprocess
import sys
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "e2e"))
import ddbfs_e2e as e2e  # noqa: E402
import gen_items  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
KEYSPEC = "pk:S,sk:N"
SEGMENTS = 8


def measure(argv, timeout=3600, stdout=None, env=None):
    """Runs argv to its end and measures it (with its waited-for children) through wait4.
    stdout: a file to send stdout to (default: captured into run["out"]). Raises AssertionError
    on a non-zero exit status or after timeout seconds (the process is then killed)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout or subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    chunks = {"out": [], "err": []}

    def drain(f, key):
        for block in iter(lambda: f.read(65536), b""):
            chunks[key].append(block)

    threads = [threading.Thread(target=drain, args=(p.stderr, "err"), daemon=True)]
    if p.stdout:
        threads.append(threading.Thread(target=drain, args=(p.stdout, "out"), daemon=True))
    for t in threads:
        t.start()
    deadline = t0 + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            os.wait4(p.pid, 0)
            raise AssertionError(f"{argv[0]} did not finish within {timeout} s")
        time.sleep(0.005)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    for t in threads:
        t.join(timeout=10)
    out = b"".join(chunks["out"]).decode(errors="replace")
    err = b"".join(chunks["err"]).decode(errors="replace")
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {p.returncode}: {err[-3000:]}")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss": ru.ru_maxrss, "out": out,
            "err": err}


def proc_cpu(pid):
    """CPU seconds (user + sys) process pid has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_hwm(pid):
    """Peak resident set of process pid so far, KB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def server_pid():
    """dynalite's pid (tests/harness/with-dynalite), to report the server's CPU time too."""
    return int(os.environ.get("DDBFS_TEST_DYNALITE_PID", "0")) or None


def in_mount(mount, argv, timeout=3600):
    """Runs argv (a cp into or out of mount) and measures it together with the ddbfs daemon:
    wall time, CPU of the command plus the daemon's CPU over the same time, and RSS the sum of the
    command's peak and the daemon's peak (since it started). Also "daemon_rss" alone."""
    pid = mount.proc.pid
    c0 = proc_cpu(pid)
    r = measure(argv, timeout=timeout)
    r["daemon_cpu"] = proc_cpu(pid) - c0
    r["daemon_rss"] = proc_hwm(pid)
    r["cmd_rss"] = r["rss"]
    r["cpu"] += r["daemon_cpu"]
    r["rss"] += r["daemon_rss"]
    return r


def with_server_cpu(fn):
    """Runs fn() and adds to its run the CPU seconds dynalite used meanwhile ("server_cpu")."""
    spid = server_pid()
    s0 = proc_cpu(spid) if spid else 0.0
    r = fn()
    r["server_cpu"] = proc_cpu(spid) - s0 if spid else float("nan")
    return r


def make_items(path, n):
    """Writes n items of ~215 bytes (gen_items.py) to path, unless a file of n lines is there."""
    if os.path.exists(path):
        with open(path, "rb") as f:
            if sum(1 for _ in f) == n:
                return
    gen_items.main(["gen_items.py", str(n), path])


def load(table, path):
    """Creates table (pk S, sk N, on demand) and loads the items of path with ddbload. Returns
    ddbload's line."""
    return e2e.run([e2e.ddbload_bin(), "--endpoint", e2e.endpoint(), "--table", table,
                    "--create", KEYSPEC, "--lines", path], timeout=7200, check=True
                   ).stdout.decode().strip()


def count_lines(directory, prefix="segment-"):
    n = 0
    for root, _, names in os.walk(directory):
        for name in names:
            if name.startswith(prefix):
                with open(os.path.join(root, name), "rb") as f:
                    n += sum(1 for _ in f)
    return n


def table_count(table):
    """Items in table by a Select=COUNT scan (AWS CLI)."""
    out = e2e.aws("scan", "--table-name", table, "--select", "COUNT", timeout=3600)
    return out["Count"]


def print_table(header, rows):
    """A Markdown table: header a list of column names, rows lists of cells (strings)."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


def mb(kb):
    return f"{kb / 1024:.1f}"
