#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What mutual TLS and the cluster token (issue 13) cost: two local
clusters of a supernode and 3 nodes on 127.0.0.1 (in-memory store), one
plaintext and one with mutual TLS and a cluster token (certificates and
token from scripts/make-certs.sh in a temporary directory), both started
anew for each of --rounds rounds. Each phase runs on one cluster right
after the other, the order alternating between rounds, so that both see
the same load from whatever else runs on the machine. The phases, with
`chordctl bench` (one asynchronous C client, each request through a
random member):

  ping and 1 KiB read, one at a time: p50 (and p99)
  ping and 1 KiB read, 64 in flight:  requests/s (and p50), plus the CPU
      the daemons and chordctl spent per read (/proc and getrusage)
  one-shot: `chordctl health` as a new process, so a new connection (and,
      with TLS, a handshake) for its one call: wall time

Medians over the rounds, the TLS/plaintext ratio of the medians and the
range of the rounds' own ratios, as a markdown table on standard output;
progress on standard error. Stdlib and the binaries only; no pass/fail.

    CHORD_BIN=build/bin bench/tls.py [--quick] [--rounds N] [--port BASE]
        [--keep-logs]
"""
import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.environ.get("CHORD_BIN", os.path.join(ROOT, "build", "bin"))
NODES = 3
TICK = os.sysconf("SC_CLK_TCK")
MODES = ("plain", "tls")

_procs = []
# The programs read their TLS files and tokens from these too: each
# cluster gets only what its flags say.
ENV = {k: v for k, v in os.environ.items()
       if k not in ("CHORD_TOKEN_FILE", "CHORD_CLIENT_TOKEN_FILE",
                    "CHORD_TLS_CERT", "CHORD_TLS_KEY", "CHORD_TLS_CA",
                    "CHORD_TLS_SERVER_NAME")}
# The ring route, as the published figures were measured (a --route flag
# given by a caller wins).
ENV["CHORD_ROUTE"] = "ring"


def log(msg):
    print("tls-bench: " + msg, file=sys.stderr, flush=True)


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


def cpu_seconds(pid):
    """User + system CPU time of a live process, from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


class Cluster:
    """A supernode and NODES nodes (self.n: other scripts set it) on
    127.0.0.1:port..port+n."""

    def __init__(self, mode, certs, port, logdir):
        self.mode = mode
        self.port = port
        self.sn_addr = "127.0.0.1:%d" % port
        self.logdir = logdir
        self.procs = []
        # The daemons' options, and what chordctl sends: the cluster token
        # (Ping is a ring call) and the client certificate.
        self.auth, self.ctl_auth = [], []
        if mode == "tls":
            c = lambda f: os.path.join(certs, f)  # noqa: E731
            self.auth = ["--token-file", c("token"), "--tls-ca", c("ca.pem")]
            self.ctl_auth = self.auth + ["--tls-cert", c("client.pem"),
                                         "--tls-key", c("client.key")]
            self.sn_auth = self.auth + ["--tls-cert", c("supernode.pem"),
                                        "--tls-key", c("supernode.key")]
            self.node_auth = self.auth + ["--tls-cert", c("node.pem"),
                                          "--tls-key", c("node.key")]
        else:
            self.sn_auth = self.node_auth = []
        self.n = NODES
        # More flags for the daemons (bench/metrics.py sets them).
        self.sn_extra, self.node_extra = [], lambda port: []

    def spawn(self, args, name):
        f = open(os.path.join(self.logdir, "%s-%s.log" % (self.mode, name)),
                 "ab")
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=ENV)
        f.close()
        _procs.append(p)
        self.procs.append(p)
        return p

    def start(self):
        ports = [self.port + i for i in range(self.n + 1)]
        busy = [p for p in ports if not port_free(p)]
        if busy:
            raise RuntimeError("ports in use: %s (--port to move)" % busy)
        self.sn = self.spawn([os.path.join(BIN, "chord-supernode"),
                              "--listen", self.sn_addr] + self.sn_auth
                             + self.sn_extra,
                             "supernode")
        wait_for(lambda: port_open(self.port) or self.sn.poll() is not None,
                 10, "the supernode to listen", 0.01)
        self.nodes = [
            self.spawn([os.path.join(BIN, "chord-node"), "--listen",
                        "127.0.0.1:%d" % p, "--supernode", self.sn_addr]
                       + self.node_auth + self.node_extra(p), "node-%d" % p)
            for p in ports[1:]]
        wait_for(self.ready, 60 + self.n, "a ring of %d" % self.n, 0.2)
        # A few maintenance ticks (1 s) for the fingers and successor lists.
        time.sleep(3)

    def ctl(self, *args, timeout=600):
        cmd = [os.path.join(BIN, "chordctl"), "--supernode", self.sn_addr,
               "--timeout", "30s"] + self.ctl_auth + list(args)
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, env=ENV)

    def ready(self):
        if any(p.poll() is not None for p in self.procs):
            raise RuntimeError("a %s daemon exited; logs in %s"
                               % (self.mode, self.logdir))
        # A member not up yet costs the call's deadline: keep it short.
        r = self.ctl("--timeout", "3s", "--json", "ring", timeout=60)
        if r.returncode != 0:
            return False
        j = json.loads(r.stdout)
        return (j.get("count") == self.n and j.get("unreachable") == 0
                and all(n.get("joined") for n in j.get("nodes", [])))

    def daemon_cpu(self):
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def bench(self, op, conc, count, warmup, names):
        args = ["--json", "bench", "--op", op, "--size", "1024",
                "--concurrency", str(conc), "--count", str(count),
                "--warmup", str(warmup)]
        if op == "read":
            args += ["--names", str(names)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        d0 = self.daemon_cpu()
        r = self.ctl(*args)
        d1 = self.daemon_cpu()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            raise RuntimeError("chordctl bench %s failed (%d): %s"
                               % (op, r.returncode, r.stderr.strip()))
        j = json.loads(r.stdout)
        if j.get("errors"):
            raise RuntimeError("chordctl bench %s: errors %s"
                               % (op, j["errors"]))
        # The CPU of the whole chordctl run (warm-up and, for reads, the
        # first writes included) and of the daemons over it, per request.
        total = count + warmup + (names if op == "read" else 0)
        ctl_cpu = (after.ru_utime + after.ru_stime
                   - before.ru_utime - before.ru_stime)
        j["ctl_cpu_us"] = ctl_cpu / total * 1e6
        j["daemon_cpu_us"] = (d1 - d0) / total * 1e6
        return j

    def one_shot(self, n):
        """Wall milliseconds of `chordctl health` on a node, n times."""
        addr = "127.0.0.1:%d" % (self.port + 1)
        ms = []
        for _ in range(n):
            t0 = time.monotonic()
            r = self.ctl("health", addr, timeout=30)
            ms.append((time.monotonic() - t0) * 1e3)
            if r.returncode != 0:
                raise RuntimeError("chordctl health failed: %s"
                                   % r.stderr.strip())
        return statistics.median(ms)

    def stop(self):
        # The nodes first (they leave through the supernode), then it.
        for p in self.procs[1:] + self.procs[:1]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # The ports must be free for the next cluster.
        wait_for(lambda: all(port_free(self.port + i)
                             for i in range(self.n + 1)), 30, "free ports")


def measure(clusters, a):
    """Every phase on each cluster in turn (in the order given)."""
    m = {c.mode: {} for c in clusters}
    for op in ("ping", "read"):
        for c in clusters:
            j = c.bench(op, 1, a.seq, 200, a.names)
            m[c.mode].update({op + "_p50_1": j["p50_us"],
                              op + "_p99_1": j["p99_us"]})
        for c in clusters:
            j = c.bench(op, 64, a.par, 1000, a.names)
            r = m[c.mode]
            r[op + "_ops_64"], r[op + "_p50_64"] = j["ops_per_s"], j["p50_us"]
            if op == "read":
                r["read_daemon_cpu_64"] = j["daemon_cpu_us"]
                r["read_ctl_cpu_64"] = j["ctl_cpu_us"]
                r["read_hops"] = j["mean_hops"]
    for c in clusters:
        m[c.mode]["one_shot_ms"] = c.one_shot(a.shots)
    return m


ROWS = [
    # key, label, format
    ("ping_p50_1", "ping p50 µs, 1 in flight", "{:,.0f}"),
    ("read_p50_1", "1 KiB read p50 µs, 1 in flight", "{:,.0f}"),
    ("ping_ops_64", "pings/s, 64 in flight", "{:,.0f}"),
    ("read_ops_64", "1 KiB reads/s, 64 in flight", "{:,.0f}"),
    ("ping_p99_1", "ping p99 µs, 1 in flight", "{:,.0f}"),
    ("read_p99_1", "1 KiB read p99 µs, 1 in flight", "{:,.0f}"),
    ("ping_p50_64", "ping p50 µs, 64 in flight", "{:,.0f}"),
    ("read_p50_64", "1 KiB read p50 µs, 64 in flight", "{:,.0f}"),
    ("read_daemon_cpu_64", "daemons' CPU µs per read, 64 in flight",
     "{:,.1f}"),
    ("read_ctl_cpu_64", "chordctl's CPU µs per read, 64 in flight",
     "{:,.1f}"),
    ("read_hops", "mean hops per read", "{:.2f}"),
    ("one_shot_ms", "one-shot `chordctl health` (new process and "
     "connection) ms", "{:.1f}"),
]


def table(results, rounds):
    out = ["| figure (median of %d rounds) | plaintext | mTLS + token "
           "| TLS / plain | per round |" % rounds,
           "|---|---:|---:|---:|---:|"]
    for key, label, fmt in ROWS:
        p = statistics.median(r[key] for r in results["plain"])
        t = statistics.median(r[key] for r in results["tls"])
        ratio = "%.2f" % (t / p) if p else "-"
        # The same round's two clusters ran side by side: their ratios.
        each = sorted(b[key] / a[key] for a, b in
                      zip(results["plain"], results["tls"]) if a[key])
        spread = "%.2f–%.2f" % (each[0], each[-1]) if each else "-"
        out.append("| %s | %s | %s | %s | %s |"
                   % (label, fmt.format(p), fmt.format(t), ratio, spread))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="2 rounds with small counts (about 30 s)")
    ap.add_argument("--rounds", type=int, help="rounds (5; --quick 2)")
    ap.add_argument("--port", type=int, default=19400,
                    help="ports BASE to BASE+%d (plaintext) and BASE+10 to "
                    "BASE+%d (TLS); 19400" % (NODES, 10 + NODES))
    ap.add_argument("--keep-logs", action="store_true",
                    help="keep the daemons' logs and the certificates")
    a = ap.parse_args()
    a.rounds = a.rounds or (2 if a.quick else 5)
    a.seq, a.par = (1000, 5000) if a.quick else (5000, 30000)
    a.names, a.shots = 200, (5 if a.quick else 20)

    for b in ("chord-supernode", "chord-node", "chordctl"):
        if not os.access(os.path.join(BIN, b), os.X_OK):
            sys.exit("tls-bench: %s/%s is missing (build first, or set "
                     "CHORD_BIN)" % (BIN, b))
    work = tempfile.mkdtemp(prefix="chord-tls-bench-")
    certs = os.path.join(work, "certs")
    subprocess.run([os.path.join(ROOT, "scripts", "make-certs.sh"), certs],
                   check=True, stdout=subprocess.DEVNULL)
    results = {m: [] for m in MODES}
    t0 = time.monotonic()
    try:
        for r in range(a.rounds):
            # Alternate the order, so that neither mode always runs first.
            order = MODES if r % 2 == 0 else MODES[::-1]
            clusters = [Cluster(mode, certs, a.port + 10 * MODES.index(mode),
                                work) for mode in order]
            try:
                for c in clusters:
                    c.start()
                m = measure(clusters, a)
            finally:
                for c in clusters:
                    c.stop()
            for mode in order:
                results[mode].append(m[mode])
                x = m[mode]
                log("round %d %-5s ping p50 %.0f µs, read p50 %.0f µs, "
                    "%.0f pings/s and %.0f reads/s at 64, one-shot %.1f ms"
                    % (r + 1, mode, x["ping_p50_1"], x["read_p50_1"],
                       x["ping_ops_64"], x["read_ops_64"], x["one_shot_ms"]))
    finally:
        for p in _procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if a.keep_logs:
            log("logs and certificates kept in " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("TLS cost (issue 13): supernode + %d nodes on 127.0.0.1, %s; "
          "%d / %d requests at 1 / 64 in flight, %d rounds, %.0f s"
          % (NODES, "quick" if a.quick else "full", a.seq, a.par, a.rounds,
             time.monotonic() - t0))
    print()
    print(table(results, a.rounds))


if __name__ == "__main__":
    main()
