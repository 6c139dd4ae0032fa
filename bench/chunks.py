#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What chunked files (issue 14) move and hold: write and read MB/s of one
big file of random bytes (1 GiB; --size) through local rings of 1, 4, 8
and 16 nodes on 127.0.0.1 (a supernode and the nodes, in-memory store,
R=3; R=1 for the 1-node ring), at --window 1, 4 and 16, with `chordctl
--json write` and `chordctl --json read -o` through the supernode. Each
cell (nodes x window x round) gets a fresh cluster, SIGKILLed after it, so
that no cell sees another's stored chunks, repairs or collection; the
file is deleted after its read all the same. The nodes' --chunk-grace
(--grace, 30m) must outlast the longest write: a node refuses a manifest
whose write began more than the grace period ago. A run that fails (a
chordctl error) is counted in "runs ok", left out of the figures, and its
logs are kept under --tmp/chord-chunks-failed. Figures per cell:

  MB/s (10^6 bytes/s) of the write and of the read, from chordctl's JSON
      (mb_per_s) and from the wall time of the whole chordctl process;
      the read's output is checked against the input by SHA-256;
  peak RSS of chordctl (VmHWM, sampled every 50 ms) and of the nodes
      (VmHWM reset through /proc/PID/clear_refs before each transfer, and
      the highest VmRSS sampled every 50 ms), and their idle RSS before
      the transfer; with the in-memory store a node's RSS also holds the
      chunks it stores (about R x size / nodes after the write);
  CPU during each transfer: the machine's (from /proc/stat, over its
      cores), and the part this cluster and chordctl used (from /proc and
      getrusage); the rest is whatever else runs on the machine;
  node RPC deadlines missed ("Deadline Exceeded" in the nodes' logs).

And a loopback floor on this machine, per round: one plain TCP stream over
127.0.0.1 moving the same bytes (a Python sender thread and receiver,
1 MiB sends), and one gRPC call moving 64 MiB: a plain (unchunked) Write
and then Read of 64 MiB with `chordctl --node --chunk-size 64M` against a
1-node ring (--replicas 1, --max-file-size 64M).

--stream SIZE adds one write of SIZE bytes from standard input (a
generator: a 64 MiB random pool, each MiB stamped with its index so that
no two chunks are equal) to an 8-node ring with the dir store under --tmp
(R=3 when the disk has room for 3 copies and the read-back, else R=1, else
skipped), then its read back to a file, checked by SHA-256 and removed.

Medians over --rounds (and min–max) as markdown tables on standard output;
progress on standard error. Stdlib and the binaries only; no pass/fail.

    CHORD_BIN=build/bin bench/chunks.py [--quick] [--size 1G] [--rounds 3]
        [--nodes 1,4,8,16] [--windows 1,4,16] [--port 27500]
        [--stream 10G] [--no-matrix] [--tmp /tmp] [--keep-logs]
        [--node-args "--hop-timeout 10s"] [--ctl-args "--timeout 60s"]

A full run (1 GiB, 3 rounds) on 2 cores takes 18 to 32 minutes (on the
code before 8671523, 8 of its 36 runs failed early: see BENCHMARKS.md); --quick (64 MiB, 1 round) about 1; --stream 10G
about 7 (it needs 4 x 10 GiB free for R=3).
"""
import argparse
import hashlib
import json
import os
import resource
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.environ.get("CHORD_BIN", os.path.join(ROOT, "build", "bin"))
TICK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
MIB = 1 << 20
PIECE = 64 * MIB  # the random input is made in pieces of this size

_procs = []
# Each cluster gets only what its flags say.
ENV = {k: v for k, v in os.environ.items()
       if k not in ("CHORD_TOKEN_FILE", "CHORD_CLIENT_TOKEN_FILE",
                    "CHORD_TLS_CERT", "CHORD_TLS_KEY", "CHORD_TLS_CA",
                    "CHORD_TLS_SERVER_NAME", "CHORD_SUPERNODE")}


def log(msg):
    print("chunks-bench: " + msg, file=sys.stderr, flush=True)


def parse_size(s):
    s = s.strip().upper().rstrip("B").rstrip("I")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if s and s[-1] in mult:
        return int(float(s[:-1]) * mult[s[-1]])
    return int(s)


def human(n):
    for unit, v in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= v:
            return ("%g " % round(n / v, 1)) + unit
    return "%d B" % n


def port_free(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def wait_for(pred, timeout, what, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(step)
    raise RuntimeError("timed out after %ss waiting for %s" % (timeout, what))


# ---- /proc ---------------------------------------------------------------


def proc_kib(pid, field):
    """A Vm* field of /proc/PID/status in bytes, or None (gone, zombie)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_hwm(pid):
    """Resets VmHWM to the current RSS (Linux 4.0+); False if it cannot."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def cpu_seconds(pid):
    """User + system CPU time of a live process, from /proc (0 if gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def machine_cpu():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    total = sum(v[:8])  # guest time is already in user
    return total - idle, total


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Sampler(threading.Thread):
    """Every `period` seconds: the highest VmRSS and VmHWM seen per label."""

    def __init__(self, period=0.05):
        super().__init__(daemon=True)
        self.period = period
        self.lock = threading.Lock()
        self.pids = {}
        self.rss = {}
        self.hwm = {}
        self.halt = threading.Event()

    def watch(self, label, pid):
        with self.lock:
            self.pids[label] = pid

    def run(self):
        while not self.halt.is_set():
            with self.lock:
                pids = dict(self.pids)
            for label, pid in pids.items():
                r, h = proc_kib(pid, "VmRSS"), proc_kib(pid, "VmHWM")
                with self.lock:
                    if r is not None:
                        self.rss[label] = max(self.rss.get(label, 0), r)
                    if h is not None:
                        self.hwm[label] = max(self.hwm.get(label, 0), h)
            self.halt.wait(self.period)

    def stop(self):
        self.halt.set()
        self.join(5)

    def peak(self, label):
        with self.lock:
            return max(self.rss.get(label, 0), self.hwm.get(label, 0))


# ---- a cluster -----------------------------------------------------------


class Cluster:
    """A supernode and n nodes on 127.0.0.1:port..port+n."""

    def __init__(self, n, port, logdir, tag, node_args=()):
        self.n = n
        self.port = port
        self.sn_addr = "127.0.0.1:%d" % port
        self.logdir = logdir
        self.tag = tag
        self.node_args = list(node_args)
        self.procs = []
        self.logs = []

    def spawn(self, args, name):
        path = os.path.join(self.logdir, "%s-%s.log" % (self.tag, name))
        f = open(path, "ab")
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=ENV)
        f.close()
        _procs.append(p)
        self.procs.append(p)
        self.logs.append(path)
        return p

    def start(self, timeout=120):
        t0 = time.monotonic()
        self.sn = self.spawn([os.path.join(BIN, "chord-supernode"),
                              "--listen", self.sn_addr], "supernode")
        wait_for(lambda: port_open(self.port) or self.sn.poll() is not None,
                 10, "the supernode to listen", 0.01)
        self.nodes = []
        self.addrs = []
        for i in range(1, self.n + 1):
            addr = "127.0.0.1:%d" % (self.port + i)
            args = [os.path.join(BIN, "chord-node"), "--listen", addr,
                    "--supernode", self.sn_addr] + [
                        a.replace("{i}", str(i)) for a in self.node_args]
            self.nodes.append(self.spawn(args, "node-%d" % i))
            self.addrs.append(addr)
        wait_for(self.ready, timeout, "a ring of %d" % self.n, 0.25)
        # A few maintenance ticks (1 s) for the fingers and successor lists.
        time.sleep(3)
        return time.monotonic() - t0

    def ctl(self, *args, timeout=60):
        cmd = [os.path.join(BIN, "chordctl"), "--supernode", self.sn_addr,
               "--timeout", "30s"] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, env=ENV)

    def ready(self):
        if any(p.poll() is not None for p in self.procs):
            raise RuntimeError("a daemon exited; logs in %s (%s-*)"
                               % (self.logdir, self.tag))
        try:
            r = self.ctl("--json", "ring", timeout=30)
        except subprocess.TimeoutExpired:
            return False
        if r.returncode != 0:
            return False
        j = json.loads(r.stdout)
        return (j.get("count") == self.n and j.get("unreachable") == 0
                and all(x.get("joined") for x in j.get("nodes", [])))

    def pids(self):
        return [p.pid for p in self.nodes]

    def daemon_cpu(self):
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def deadlines(self):
        """"Deadline Exceeded" lines in the nodes' logs so far."""
        count = 0
        for path in self.logs:
            try:
                with open(path, "rb") as f:
                    count += f.read().count(b"Deadline Exceeded")
            except OSError:
                pass
        return count

    def stop(self):
        # Nothing here needs keeping: SIGKILL the nodes (a graceful leave
        # would hand every chunk on first), then SIGTERM the supernode.
        for p in self.nodes:
            if p.poll() is None:
                p.kill()
        for p in self.nodes:
            p.wait()
        if self.sn.poll() is None:
            self.sn.send_signal(signal.SIGTERM)
            try:
                self.sn.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.sn.kill()
                self.sn.wait()
        wait_for(lambda: all(port_free(self.port + i)
                             for i in range(self.n + 1)), 30, "free ports")


class Ports:
    """Slots of 20 ports from BASE, taken in turn (a port still busy from
    something else moves to the next slot)."""

    def __init__(self, base, top=27999):
        self.base, self.top, self.k = base, top, 0

    def take(self, n):
        slots = max(1, (self.top + 1 - self.base) // 20)
        for _ in range(slots):
            p = self.base + 20 * (self.k % slots)
            self.k += 1
            if p + n <= self.top and all(port_free(p + i)
                                         for i in range(n + 1)):
                return p
        raise RuntimeError("no %d free ports from %d to %d"
                           % (n + 1, self.base, self.top))


# ---- one transfer ----------------------------------------------------------


def transfer(cluster, cmd, label, timeout, stdin=None, feeder=None):
    """Runs one chordctl command against cluster, sampling RSS and CPU.
    Returns a dict: json (chordctl's), wall, ctl_peak, node_idle (max),
    node_peak (max), node_over (max peak minus its own idle), cpu_busy,
    cpu_ours, cpu_ctl (percent of one core)."""
    pids = cluster.pids()
    for pid in pids:
        reset_hwm(pid)
    idle = {pid: proc_kib(pid, "VmRSS") or 0 for pid in pids}
    s = Sampler()
    for pid in pids:
        s.watch(pid, pid)
    s.start()
    errf = tempfile.TemporaryFile()
    m0, d0, c0 = machine_cpu(), cluster.daemon_cpu(), children_cpu()
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE,
                         stderr=errf, env=ENV)
    _procs.append(p)
    s.watch("ctl", p.pid)
    th = None
    if feeder is not None:
        th = threading.Thread(target=feeder, args=(p.stdin,), daemon=True)
        th.start()
    got = []
    rd = threading.Thread(target=lambda: got.append(p.stdout.read()),
                          daemon=True)
    rd.start()
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        s.stop()
        raise RuntimeError("%s: no end after %d s" % (label, timeout))
    wall = time.monotonic() - t0
    c1, d1, m1 = children_cpu(), cluster.daemon_cpu(), machine_cpu()
    rd.join(30)
    out = got[0] if got else b""
    if th is not None:
        th.join(30)
    s.stop()
    errf.seek(0)
    err = errf.read().decode(errors="replace").strip()
    errf.close()
    if p.returncode != 0:
        raise RuntimeError("%s: chordctl exit %d: %s"
                           % (label, p.returncode, err[-500:]))
    for pid in pids:  # VmHWM since the reset: the true peak
        h = proc_kib(pid, "VmHWM")
        if h is not None:
            with s.lock:
                s.hwm[pid] = max(s.hwm.get(pid, 0), h)
    busy = (m1[0] - m0[0]) / TICK
    return {
        "json": json.loads(out),
        "wall": wall,
        "ctl_peak": s.peak("ctl"),
        "node_idle": max(idle.values()),
        "node_peak": max(s.peak(pid) for pid in pids),
        "node_over": max(s.peak(pid) - idle[pid] for pid in pids),
        "cpu_busy": 100 * busy / wall,
        "cpu_ours": 100 * ((c1 - c0) + (d1 - d0)) / wall,
        "cpu_ctl": 100 * (c1 - c0) / wall,
    }


def ctl_idle_rss(cluster):
    """chordctl's own RSS before any transfer: one waiting on an empty
    pipe (it has dialled the supernode and listed the nodes)."""
    p = subprocess.Popen([os.path.join(BIN, "chordctl"), "--supernode",
                          cluster.sn_addr, "--quiet", "write", "idle-probe"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=ENV)
    _procs.append(p)
    time.sleep(0.3)
    v = proc_kib(p.pid, "VmRSS") or 0
    try:
        p.communicate(b"", timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return v


def file_sha256(path):
    h = hashlib.sha256()
    buf = bytearray(8 * MIB)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            k = f.readinto(buf)
            if not k:
                break
            h.update(view[:k])
    return h.hexdigest()


def make_input(path, size):
    """size random bytes at path (made in 64 MiB pieces); its SHA-256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            b = os.urandom(min(PIECE, left))
            h.update(b)
            f.write(b)
            left -= len(b)
    return h.hexdigest()


# ---- the floor -------------------------------------------------------------


def tcp_floor(path, size):
    """MB/s of one TCP stream over 127.0.0.1 moving the file's bytes:
    a sender thread (1 MiB reads and sends) and this thread receiving."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    err = []

    def send():
        try:
            c = socket.create_connection(srv.getsockname(), timeout=60)
            buf = bytearray(MIB)
            view = memoryview(buf)
            with open(path, "rb", buffering=0) as f:
                while True:
                    k = f.readinto(buf)
                    if not k:
                        break
                    c.sendall(view[:k])
            c.close()
        except OSError as e:
            err.append(e)

    t0 = time.monotonic()
    th = threading.Thread(target=send, daemon=True)
    th.start()
    conn, _ = srv.accept()
    conn.settimeout(60)
    buf = bytearray(MIB)
    got = 0
    while True:
        k = conn.recv_into(buf)
        if not k:
            break
        got += k
    secs = time.monotonic() - t0
    th.join(60)
    conn.close()
    srv.close()
    if err or got != size:
        raise RuntimeError("tcp floor: got %d of %d bytes (%s)"
                           % (got, size, err))
    return size / secs / 1e6


def grpc_floor(a, ports, work, f64, sha64, reps):
    """One 1-node ring (R=1, --max-file-size 64M); `reps` plain Writes and
    Reads of 64 MiB through --node, --chunk-size 64M: MB/s of each, from
    the wall time of chordctl (and from its JSON when it gives seconds)."""
    c = Cluster(1, ports.take(1), work, "floor",
                ["--store", "mem", "--replicas", "1",
                 "--max-file-size", "64M"])
    out = {"write": [], "read": [], "write_json": [], "read_json": []}
    try:
        c.start()
        node = c.addrs[0]
        base = [os.path.join(BIN, "chordctl"), "--node", node, "--timeout",
                "60s", "--quiet", "--json", "--chunk-size", "64M"]
        dst = os.path.join(work, "floor.out")
        for _ in range(reps):
            for op, cmd in (("write", base + ["write", "floor", f64]),
                            ("read", base + ["read", "floor", "-o", dst])):
                t0 = time.monotonic()
                r = subprocess.run(cmd, capture_output=True, text=True,
                                   timeout=120, env=ENV)
                secs = time.monotonic() - t0
                if r.returncode != 0:
                    raise RuntimeError("grpc floor %s: exit %d: %s"
                                       % (op, r.returncode, r.stderr.strip()))
                j = json.loads(r.stdout)
                if j.get("chunks"):
                    raise RuntimeError("grpc floor: the 64 MiB file was "
                                       "chunked (%s)" % j)
                out[op].append(64 * MIB / secs / 1e6)
                if j.get("mb_per_s"):
                    out[op + "_json"].append(j["mb_per_s"])
            if file_sha256(dst) != sha64:
                raise RuntimeError("grpc floor: the read differs")
            os.unlink(dst)
    finally:
        c.stop()
    return out


# ---- the matrix --------------------------------------------------------------


def run_cell(a, ports, work, n, w, src, sha, tag):
    flags = ["--store", "mem", "--chunk-grace", a.grace] + a.node_args
    if n == 1:
        flags += ["--replicas", "1"]
    c = Cluster(n, ports.take(n), work, tag, flags)
    try:
        start_s = c.start()
        ctl_idle = ctl_idle_rss(c)
        base = [os.path.join(BIN, "chordctl"), "--supernode", c.sn_addr,
                "--quiet", "--json", "--window", str(w)] + a.ctl_args
        to = max(300, int(a.size / 1e6 / 2))  # at 2 MB/s, at least 5 min
        wr = transfer(c, base + ["write", "big", src], "write", to)
        dst = os.path.join(work, "big.out")
        rd = transfer(c, base + ["read", "big", "-o", dst], "read", to)
        got = file_sha256(dst)
        os.unlink(dst)
        if got != sha:
            raise RuntimeError("N=%d W=%d: the read differs from the input"
                               % (n, w))
        r = c.ctl("--json", "delete", "big")
        if r.returncode != 0:
            raise RuntimeError("delete: exit %d: %s"
                               % (r.returncode, r.stderr.strip()))
        dl = c.deadlines()
    finally:
        c.stop()
    if wr["json"].get("size") != a.size:
        raise RuntimeError("write: %s" % wr["json"])
    return {"start_s": start_s, "ctl_idle": ctl_idle, "w": wr, "r": rd,
            "copies": wr["json"].get("copies"), "chunks":
            wr["json"].get("chunks"), "deadlines": dl}


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_range(xs, f="{:.1f}"):
    if not xs:
        return "-"
    if len(xs) == 1:
        return f.format(xs[0])
    return (f + "–" + f).format(min(xs), max(xs))


def mb(x):
    return "%.0f" % (x / MIB)


def tables(a, res, fails, floor):
    out = []
    runs = max([len(v) for v in res.values()] or [0])
    out.append("### Throughput: MB/s (10^6 B/s) of one %s file, median of "
               "%d run(s) per cell (min–max)" % (human(a.size), runs))
    out.append("")
    out.append("| nodes | R | window | write MB/s (chordctl) | write "
               "MB/s (wall) | read MB/s (chordctl) | read MB/s (wall) | "
               "write range | read range | chunks | copies (min) | runs "
               "ok |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    notes = []
    for n in a.nodes:
        for w in a.windows:
            rs = res.get((n, w), [])
            fs = fails.get((n, w), [])
            ok = "%d/%d" % (len(rs), len(rs) + len(fs))
            for why in fs:
                notes.append("- nodes %d, window %d: %s" % (n, w, why))
            if not rs:
                out.append("| %d | %d | %d | failed | | | | | | | | %s |"
                           % (n, 1 if n == 1 else 3, w, ok))
                continue
            wj = [r["w"]["json"]["mb_per_s"] for r in rs]
            rj = [r["r"]["json"]["mb_per_s"] for r in rs]
            ww = [a.size / r["w"]["wall"] / 1e6 for r in rs]
            rw = [a.size / r["r"]["wall"] / 1e6 for r in rs]
            out.append("| %d | %d | %d | %.1f | %.1f | %.1f | %.1f | %s | %s "
                       "| %d | %s | %s |"
                       % (n, 1 if n == 1 else 3, w, med(wj), med(ww), med(rj),
                          med(rw), fmt_range(wj), fmt_range(rj),
                          rs[0]["chunks"], min(r["copies"] for r in rs), ok))
    if notes:
        out.append("")
        out.append("Failed runs (chordctl's error; not in the figures):")
        out.append("")
        out.extend(notes)
    out.append("")
    out.append("### Memory (MiB) and CPU (%% of one core; %d cores) during "
               "the transfers, medians" % NCPU)
    out.append("")
    out.append("| nodes | window | chordctl idle | chordctl peak write / "
               "read | node idle before write (max) | node peak write / "
               "read (max) | node peak over its idle, write / read (max) | "
               "CPU write: machine / cluster+ctl / ctl | CPU read: machine / "
               "cluster+ctl / ctl | RPC deadlines missed |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in a.nodes:
        for w in a.windows:
            rs = res.get((n, w), [])
            if not rs:
                continue

            def m(ph, k):
                return med([r[ph][k] for r in rs])
            out.append(
                "| %d | %d | %s | %s / %s | %s | %s / %s | %s / %s | "
                "%.0f / %.0f / %.0f | %.0f / %.0f / %.0f | %s |"
                % (n, w, mb(med([r["ctl_idle"] for r in rs])),
                   mb(m("w", "ctl_peak")), mb(m("r", "ctl_peak")),
                   mb(m("w", "node_idle")), mb(m("w", "node_peak")),
                   mb(m("r", "node_peak")), mb(m("w", "node_over")),
                   mb(m("r", "node_over")), m("w", "cpu_busy"),
                   m("w", "cpu_ours"), m("w", "cpu_ctl"), m("r", "cpu_busy"),
                   m("r", "cpu_ours"), m("r", "cpu_ctl"),
                   "/".join(str(r["deadlines"]) for r in rs)))
    if floor:
        out.append("")
        out.append("### Loopback floor on this machine, median of all runs "
                   "(min–max)")
        out.append("")
        out.append("| path | bytes | MB/s | range | runs |")
        out.append("|---|---:|---:|---:|---:|")
        if floor.get("tcp"):
            t = floor["tcp"]
            out.append("| one TCP stream, 127.0.0.1, Python, 1 MiB sends | "
                       "%s | %.0f | %s | %d |" % (human(a.size), med(t),
                                                  fmt_range(t, "{:.0f}"),
                                                  len(t)))
        for op in ("write", "read"):
            for key, how in ((op, "wall time of chordctl"),
                             (op + "_json", "chordctl's mb_per_s")):
                xs = floor.get(key)
                if xs:
                    out.append("| one gRPC %s (plain, unchunked) to a "
                               "1-node ring, %s | 64 MiB | %.0f | %s | %d |"
                               % (op.capitalize(), how, med(xs),
                                  fmt_range(xs, "{:.0f}"), len(xs)))
    return "\n".join(out)


# ---- the stream from standard input -------------------------------------------


def run_stream(a, ports, work):
    size, n = a.stream, 8
    st = os.statvfs(a.tmp)
    free = st.f_bavail * st.f_frsize
    margin = 4 << 30
    r = None
    for reps in (3, 1):
        if free >= (reps + 1) * size + margin:
            r = reps
            break
    if r is None:
        return {"skipped": "%s free under %s; need %s for one copy and "
                "the read-back" % (human(free), a.tmp, human(2 * size + margin))}
    log("stream: %s free under %s: R=%d" % (human(free), a.tmp, r))
    data = tempfile.mkdtemp(prefix="chord-chunks-stream-", dir=a.tmp)
    flags = ["--store", "dir", "--data-dir", os.path.join(data, "node-{i}"),
             "--replicas", str(r), "--chunk-grace", "4h"] + a.node_args
    c = Cluster(n, ports.take(n), work, "stream", flags)
    pool = os.urandom(64 * MIB)
    h = hashlib.sha256()

    def feed(pipe):
        try:
            left, i = size, 0
            while left:
                k = min(MIB, left)
                off = (i % 64) * MIB
                piece = struct.pack(">Q", i) + pool[off + 8:off + k] \
                    if k >= 8 else pool[off:off + k]
                h.update(piece)
                pipe.write(piece)
                left -= k
                i += 1
            pipe.close()
        except (BrokenPipeError, OSError):
            pass

    try:
        c.start()
        ctl_idle = ctl_idle_rss(c)
        base = [os.path.join(BIN, "chordctl"), "--supernode", c.sn_addr,
                "--quiet", "--json"] + a.ctl_args
        to = max(600, int(size / 1e6 / 5))
        log("stream: writing %s from a pipe to %d nodes (dir store)"
            % (human(size), n))
        wr = transfer(c, base + ["write", "big-stream", "-"], "stream write",
                      to, stdin=subprocess.PIPE, feeder=feed)
        want = h.hexdigest()
        if wr["json"].get("size") != size:
            raise RuntimeError("stream write: %s" % wr["json"])
        stored = sum(os.path.getsize(os.path.join(dp, f))
                     for dp, _, fs in os.walk(data) for f in fs)
        dst = os.path.join(a.tmp, "chord-chunks-stream.out")
        log("stream: wrote %.1f MB/s; reading back" % wr["json"]["mb_per_s"])
        try:
            rd = transfer(c, base + ["read", "big-stream", "-o", dst],
                          "stream read", to)
            t0 = time.monotonic()
            got = file_sha256(dst)
            hash_s = time.monotonic() - t0
        finally:
            if os.path.exists(dst):
                os.unlink(dst)
        c.ctl("--json", "delete", "big-stream")
        dl = c.deadlines()
    finally:
        c.stop()
        shutil.rmtree(data, ignore_errors=True)
    return {"size": size, "R": r, "w": wr, "r": rd, "ok": got == want,
            "ctl_idle": ctl_idle, "stored": stored, "hash_s": hash_s,
            "deadlines": dl}


def stream_table(s):
    if s is None:
        return ""
    if "skipped" in s:
        return "### Stream from standard input\n\nskipped: " + s["skipped"]
    w, r = s["w"], s["r"]
    out = ["### %s from standard input to 8 nodes, dir store, R=%d"
           % (human(s["size"]), s["R"]), "",
           "| phase | MB/s (chordctl) | MB/s (wall) | seconds | chordctl "
           "peak MiB | node peak MiB (max) | node peak over idle (max) | "
           "CPU machine / cluster+ctl / ctl % |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, x in (("write (from a pipe)", w), ("read (-o file)", r)):
        out.append("| %s | %.1f | %.1f | %.1f | %s | %s | %s | %.0f / %.0f "
                   "/ %.0f |" % (name, x["json"]["mb_per_s"],
                                 s["size"] / x["wall"] / 1e6, x["wall"],
                                 mb(x["ctl_peak"]), mb(x["node_peak"]),
                                 mb(x["node_over"]), x["cpu_busy"],
                                 x["cpu_ours"], x["cpu_ctl"]))
    out.append("")
    out.append("chordctl idle %s MiB; chunks %s; on disk after the write "
               "%.2f GiB (R=%d); read-back SHA-256 %s (hashing took %.1f s); "
               "RPC deadlines missed %d"
               % (mb(s["ctl_idle"]), w["json"].get("chunks"),
                  s["stored"] / (1 << 30), s["R"],
                  "matches" if s["ok"] else "DIFFERS", s["hash_s"],
                  s["deadlines"]))
    return "\n".join(out)


# ---- main ----------------------------------------------------------------------


def keep_failed(a, work, tag):
    """Copies a failed cell's logs to a directory that outlives the run
    (--tmp/chord-chunks-failed/TAG-TIME); (that directory, the "Deadline
    Exceeded" lines in them)."""
    dest = os.path.join(a.tmp, "chord-chunks-failed",
                        "%s-%s" % (tag, time.strftime("%H%M%S")))
    os.makedirs(dest, exist_ok=True)
    count = 0
    for f in os.listdir(work):
        if f.startswith(tag + "-") and f.endswith(".log"):
            shutil.copy(os.path.join(work, f), dest)
            with open(os.path.join(work, f), "rb") as g:
                count += g.read().count(b"Deadline Exceeded")
    return dest, count


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def rounds(a, ports, work, src, sha, f64, sha64, res, floor, fails):
    """The floor and every cell, --rounds times; results into res, floor."""
    for rnd in range(a.rounds):
        tcp = [tcp_floor(src, a.size) for _ in range(3)]
        floor["tcp"].extend(tcp)
        g = grpc_floor(a, ports, work, f64, sha64, 3)
        for k, v in g.items():
            floor.setdefault(k, []).extend(v)
        log("round %d floor: TCP %.0f MB/s, gRPC 64 MiB write %.0f "
            "read %.0f MB/s (medians of 3)"
            % (rnd + 1, med(tcp), med(g["write"]),
               med(g["read"])))
        # Alternate the orders between rounds, so that no cell
        # always runs first or right after the same one.
        nodes = a.nodes if rnd % 2 == 0 else a.nodes[::-1]
        for n in nodes:
            k = rnd % len(a.windows)
            for w in a.windows[k:] + a.windows[:k]:
                tag = "r%d-n%d-w%d" % (rnd + 1, n, w)
                try:
                    x = run_cell(a, ports, work, n, w, src, sha, tag)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    why = str(e).splitlines()[0] if str(e) else repr(e)
                    kept = keep_failed(a, work, tag)
                    log("round %d N=%d W=%d FAILED: %s (%d node RPC "
                        "deadlines missed; logs in %s)"
                        % (rnd + 1, n, w, why, kept[1], kept[0]))
                    fails.setdefault((n, w), []).append(why)
                    continue
                res.setdefault((n, w), []).append(x)
                log("round %d N=%d W=%d: write %.1f MB/s (wall %.1f), "
                    "read %.1f MB/s (wall %.1f); chordctl peak %s/%s "
                    "MiB; nodes idle %s, peak %s/%s MiB; CPU write "
                    "%.0f%% (ours %.0f%%), read %.0f%% (ours %.0f%%); "
                    "copies %s, deadlines %d; ring up in %.1f s"
                    % (rnd + 1, n, w, x["w"]["json"]["mb_per_s"],
                       a.size / x["w"]["wall"] / 1e6,
                       x["r"]["json"]["mb_per_s"],
                       a.size / x["r"]["wall"] / 1e6,
                       mb(x["w"]["ctl_peak"]), mb(x["r"]["ctl_peak"]),
                       mb(x["w"]["node_idle"]),
                       mb(x["w"]["node_peak"]),
                       mb(x["r"]["node_peak"]), x["w"]["cpu_busy"],
                       x["w"]["cpu_ours"], x["r"]["cpu_busy"],
                       x["r"]["cpu_ours"], x["copies"],
                       x["deadlines"], x["start_s"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="64 MiB, 1 round (about 3 minutes)")
    ap.add_argument("--size", help="the file's size (1G; --quick 64M)")
    ap.add_argument("--rounds", type=int, help="rounds (3; --quick 1)")
    ap.add_argument("--nodes", default="1,4,8,16", help="ring sizes")
    ap.add_argument("--windows", default="1,4,16", help="--window values")
    ap.add_argument("--port", type=int, default=27500,
                    help="ports from BASE to 27999, 20 per cluster (27500)")
    ap.add_argument("--grace", default="30m",
                    help="the nodes' --chunk-grace; longer than any write, "
                    "or its manifest is refused (30m)")
    ap.add_argument("--stream", help="also write SIZE (e.g. 10G) from a "
                    "pipe to 8 nodes with the dir store, and read it back")
    ap.add_argument("--no-matrix", action="store_true",
                    help="skip the matrix and the floor (with --stream)")
    ap.add_argument("--tmp", default=tempfile.gettempdir(),
                    help="where the input, outputs and dir stores go")
    ap.add_argument("--node-args", default="",
                    help="more chord-node options for the matrix and the "
                    "stream, e.g. \"--hop-timeout 10s\"")
    ap.add_argument("--ctl-args", default="",
                    help="more chordctl options for the transfers, e.g. "
                    "\"--timeout 60s\"")
    ap.add_argument("--keep-logs", action="store_true",
                    help="keep the daemons' logs")
    a = ap.parse_args()
    a.size = parse_size(a.size or ("64M" if a.quick else "1G"))
    a.rounds = a.rounds or (1 if a.quick else 3)
    a.nodes = [int(x) for x in a.nodes.split(",")]
    a.windows = [int(x) for x in a.windows.split(",")]
    a.stream = parse_size(a.stream) if a.stream else 0
    a.node_args = shlex.split(a.node_args)
    a.ctl_args = shlex.split(a.ctl_args)
    for b in ("chord-supernode", "chord-node", "chordctl"):
        if not os.access(os.path.join(BIN, b), os.X_OK):
            sys.exit("chunks-bench: %s/%s is missing (build first, or set "
                     "CHORD_BIN)" % (BIN, b))
    work = tempfile.mkdtemp(prefix="chord-chunks-bench-", dir=a.tmp)
    ports = Ports(a.port)
    res, fails, floor, stream = {}, {}, {}, None
    t0 = time.monotonic()
    try:
        if not a.no_matrix:
            src = os.path.join(work, "input")
            log("making %s of random bytes in %s" % (human(a.size), src))
            sha = make_input(src, a.size)
            f64 = os.path.join(work, "input64")
            sha64 = make_input(f64, 64 * MIB)
            floor = {"tcp": []}
            signal.signal(signal.SIGTERM, _interrupt)
            try:
                rounds(a, ports, work, src, sha, f64, sha64, res, floor,
                       fails)
            except KeyboardInterrupt:
                log("interrupted: the tables show the runs done")
        if a.stream:
            try:
                stream = run_stream(a, ports, work)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                kept = keep_failed(a, work, "stream")
                stream = {"skipped": "failed: %s (%d node RPC deadlines "
                          "missed; logs in %s)"
                          % (str(e).splitlines()[0], kept[1], kept[0])}
            log("stream: %s" % ("done" if "skipped" not in stream
                                else stream["skipped"]))
    finally:
        for p in _procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if a.keep_logs:
            for f in ("input", "input64"):
                try:
                    os.unlink(os.path.join(work, f))
                except OSError:
                    pass
            log("logs kept in " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    extra = ""
    if a.node_args or a.ctl_args:
        extra = " (nodes also given %r, chordctl %r)" % (
            " ".join(a.node_args), " ".join(a.ctl_args))
    if a.no_matrix:
        print("Chunked files (issue 14): %d cores, %.0f s%s"
              % (NCPU, time.monotonic() - t0, extra))
    else:
        print("Chunked files (issue 14): supernode + N nodes on 127.0.0.1, "
              "in-memory store, %s, %d round(s), %d cores, %.0f s%s"
              % (human(a.size), a.rounds, NCPU, time.monotonic() - t0,
                 extra))
    print()
    if not a.no_matrix:
        print(tables(a, res, fails, floor))
    if stream is not None:
        print()
        print(stream_table(stream))


if __name__ == "__main__":
    main()
