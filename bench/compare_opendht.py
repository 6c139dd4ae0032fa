#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One side of bench/compare-opendht.sh: a ring of --nodes members on
127.0.0.1, either chord (a supernode and chord-node processes, in-memory
store, R copies) or OpenDHT (dhtnode processes, Debian's OpenDHT, which
keeps 8 copies), and one client running the issue-16 workload: --values
values of --size bytes put one at a time, then each read one at a time,
then the reads again with --conc in flight. Prints one JSON object on
standard output; progress on standard error.

chord's client is `chordctl bench` (one asynchronous C client) on the
direct route (each request to its owner in the member list), plus the
ring route (through a random member) and a ping for reference. OpenDHT's
is two DhtRunners in this process (python3-opendht), each a DHT node
itself: one puts, the other, which put nothing, gets; an operation counts
from the call to its done callback, and a get must find the value.

    CHORD_BIN=build/bin bench/compare_opendht.py --system chord|opendht
        [--nodes 8] [--values 1000] [--size 1024] [--conc 32] [--port BASE]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import tls


def log(msg):
    print("compare-opendht: " + msg, file=sys.stderr, flush=True)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * (len(xs) - 1) + 0.5))] if xs else 0


# ---- chord ------------------------------------------------------------


def run_chord(a):
    work = tempfile.mkdtemp(prefix="chord-vs-opendht-")
    c = tls.Cluster("plain", None, a.port, work)
    c.n = a.nodes
    c.node_extra = lambda p: ["--replicas", str(a.replicas), "--successors",
                              str(max(3, a.replicas))]
    out = {"system": "chord", "nodes": a.nodes, "copies": a.replicas}
    try:
        c.start()
        time.sleep(a.nodes / 16)  # fingers settle for the ring route

        def bench(route, op, conc, count, names=a.values, warmup=100):
            r = c.ctl("--route", route, "--json", "bench", "--op", op,
                      "--size", str(a.size), "--concurrency", str(conc),
                      "--count", str(count), "--names", str(names),
                      "--warmup", str(warmup), timeout=900)
            if r.returncode != 0:
                raise RuntimeError("chordctl bench: %s" % r.stderr.strip())
            j = json.loads(r.stdout)
            log("chord N=%d %s %s c=%d: p50 %.0f µs, %.0f ops/s, hops %.2f, "
                "errors %s" % (a.nodes, route, op, conc, j["p50_us"],
                               j["ops_per_s"], j["mean_hops"], j["errors"]))
            if j["errors"]:
                out["errors"] = out.get("errors", 0) + sum(
                    j["errors"].values())
            return j

        # Puts one at a time over fresh names, then the workload's reads
        # (bench writes its --names first, so reads always find them).
        w = bench("direct", "write", 1, a.values)
        out["put_p50_us"], out["put_ops_1"] = w["p50_us"], w["ops_per_s"]
        r1 = bench("direct", "read", 1, a.values)
        r32 = bench("direct", "read", a.conc, 10 * a.values)
        out.update(get_p50_us=r1["p50_us"], get_p99_us=r1["p99_us"],
                   get_ops_conc=r32["ops_per_s"], hops=r1["mean_hops"])
        p32 = bench("direct", "write", a.conc, 5 * a.values)
        out["put_ops_conc"] = p32["ops_per_s"]
        g1 = bench("ring", "read", 1, a.values)
        g32 = bench("ring", "read", a.conc, 10 * a.values)
        out.update(ring_get_p50_us=g1["p50_us"],
                   ring_get_ops_conc=g32["ops_per_s"], ring_hops=g1["mean_hops"])
        ping = bench("ring", "ping", 1, a.values)
        out["ping_p50_us"] = ping["p50_us"]
    finally:
        c.stop()
        for p in tls._procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(work, ignore_errors=True)
    return out


# ---- OpenDHT ----------------------------------------------------------


def odht_ops(n, start, conc, timeout=300):
    """Runs start(i, done) for i in range(n), conc at a time; done(ok) is
    called once per op. Returns (latencies in s of the ok ones, failures,
    ops/s)."""
    lats, fails = [], [0]
    sem = threading.Semaphore(conc)
    lock = threading.Lock()
    left = [n]
    finished = threading.Event()

    def one(i):
        sem.acquire()
        t0 = time.monotonic()

        def done(ok):
            with lock:
                if ok:
                    lats.append(time.monotonic() - t0)
                else:
                    fails[0] += 1
                left[0] -= 1
                if left[0] == 0:
                    finished.set()
            sem.release()
        start(i, done)

    t0 = time.monotonic()
    for i in range(n):
        one(i)
    if not finished.wait(timeout):
        raise RuntimeError("OpenDHT: %d of %d operations unfinished after "
                           "%ds" % (left[0], n, timeout))
    return lats, fails[0], n / (time.monotonic() - t0)


def run_opendht(a):
    import opendht as dht
    procs = []
    ports = [a.port + i for i in range(a.nodes + 2)]
    out = {"system": "opendht", "nodes": a.nodes, "copies": 8}
    client = reader = None
    try:
        for i, p in enumerate(ports[:-2]):
            cmd = ["dhtnode", "-p", str(p)]
            if i:
                cmd += ["-b", "127.0.0.1:%d" % ports[0]]
            procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        # Two clients, each a DHT node itself: one puts, the other (which
        # put nothing, so holds only what the DHT gave it) gets.
        client, reader = dht.DhtRunner(), dht.DhtRunner()
        client.run(port=ports[-2], ipv4="127.0.0.1")
        client.bootstrap("127.0.0.1", str(ports[0]))
        reader.run(port=ports[-1], ipv4="127.0.0.1")
        reader.bootstrap("127.0.0.1", str(ports[0]))
        time.sleep(6 + a.nodes / 8)  # routing tables fill
        keys = [dht.InfoHash.get("bench-%d" % i) for i in range(a.values)]
        payload = os.urandom(a.size)

        def put(i, done):
            client.put(keys[i], dht.Value(payload),
                       lambda ok, nodes: done(ok))

        def get(i, done):
            found = [False]

            def on_value(v):
                found[0] = True
                return False  # one value is enough: stop the search
            reader.get(keys[i % a.values], on_value,
                       lambda ok, nodes: done(found[0]))

        odht_ops(50, lambda i, d: client.put(
            dht.InfoHash.get("warm-%d" % i), dht.Value(payload),
            lambda ok, nodes: d(ok)), 1)
        lats, fails, rate = odht_ops(a.values, put, 1)
        out.update(put_p50_us=statistics.median(lats) * 1e6, put_ops_1=rate,
                   errors=fails)
        log("opendht N=%d put c=1: p50 %.0f µs, %.0f ops/s, %d failed"
            % (a.nodes, out["put_p50_us"], rate, fails))
        lats, fails, rate = odht_ops(a.values, get, 1)
        out.update(get_p50_us=statistics.median(lats) * 1e6,
                   get_p99_us=pct(lats, 0.99) * 1e6)
        out["errors"] += fails
        log("opendht N=%d get c=1: p50 %.0f µs, %d failed"
            % (a.nodes, out["get_p50_us"], fails))
        lats, fails, rate = odht_ops(2 * a.values, get, a.conc)
        out["get_ops_conc"] = rate
        out["errors"] += fails
        log("opendht N=%d get c=%d: %.0f ops/s, %d failed"
            % (a.nodes, a.conc, rate, fails))
        lats, fails, rate = odht_ops(a.values, put, a.conc)
        out["put_ops_conc"] = rate
        out["errors"] += fails
    finally:
        for r in (client, reader):
            if r is not None:
                r.join()
        for p in procs:
            try:
                p.stdin.close()
            except OSError:
                pass
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--system", choices=("chord", "opendht"), required=True)
    ap.add_argument("--nodes", type=int, default=8)
    ap.add_argument("--values", type=int, default=1000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--conc", type=int, default=32)
    ap.add_argument("--replicas", type=int, default=3,
                    help="chord's copies of each file (3)")
    ap.add_argument("--port", type=int, default=21000)
    a = ap.parse_args()
    t0 = time.monotonic()
    out = run_chord(a) if a.system == "chord" else run_opendht(a)
    out["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
