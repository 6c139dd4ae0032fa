#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What replication (issue 12) costs and how fast it heals, with real
processes on 127.0.0.1, at the nodes' default --stabilize-interval (1s)
and --hop-timeout (2s). Medians over several repetitions; no pass/fail.

  write:    write p50/p99 and writes/s, 8 requests in flight
            (`chordctl bench --op write --concurrency 8`, random members),
            at R=1 and R=3 on the same 8-node ring (same ids, restarted
            with the other --replicas), 1 KiB and 64 KiB files; the R=3/R=1
            ratios. The order of R alternates between repetitions.
  failover: an 8-node ring at R=3; files owned by one node, read one at
            a time through the other nodes: with every node alive, right
            after the owner is SIGKILLed (the reads include the failure
            detection), and once the ring is correct again.
  repair:   5 nodes at R=3 with --repair-interval 1s (repair also starts
            at once on a ring change); N x 256 KiB files; one node
            SIGKILLed; the seconds until every key has its R copies on the
            brute force's replica set again (Status(list_keys) of every
            live node, polled every 200 ms), and MB/s re-replicated (the
            dead node's held bytes / that time).
  idle:     8 nodes at R=3 holding ~10k keys, converged; Status.repair_bytes
            of every node sampled over 60 s with --repair-interval 30s and
            5s: bytes per minute per node (median over the nodes).
  opendht:  (--opendht) OpenDHT put p50/p99 with 1 KiB values on 8 local
            node processes plus the client's own runner (every value ends
            on 8 nodes), against our writes at R=3 and R=8
            (--successors 8) on 8 nodes, 1 KiB, 1 and 8 in flight.

    CHORD_BIN=build/bin bench/replication.py [--quick] [--opendht]
        [--reps N] [--only write,failover,repair,idle,opendht]
"""
import argparse
import concurrent.futures as cf
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import chordtest as T  # noqa: E402
from chordtest import C, N  # noqa: E402

import grpc  # noqa: E402

STAB = ["--stabilize-interval", "1s"]  # the nodes' default, said out loud
MB = 1e6


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def pct(xs, p):
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def fixed_ids(rng, n):
    ids = set()
    while len(ids) < n:
        ids.add(rng.getrandbits(160))
    return sorted(ids)


def ring(ids, extra, sn_args=(), r=4):
    """A settled cluster of len(ids) nodes started at once."""
    c = T.Cluster(sn_args=sn_args)
    try:
        c.start_nodes(ids, extra=STAB + list(extra))
        T.wait_ring_correct(c, 120, r=r)
    except BaseException:
        c.close()
        raise
    return c


def write(node, name, data, deadline=30):
    return node.stub.Write(N.WriteRequest(file=C.File(name=name, content=data)),
                           timeout=deadline)


def write_many(c, names, size, rng, threads=8):
    """Writes each name once (random content of size bytes) through a
    random live node, threads at a time; returns the copies each reply
    reported."""
    nodes = c.live()
    jobs = [(n, rng.choice(nodes)) for n in names]
    with cf.ThreadPoolExecutor(threads) as ex:
        futs = [ex.submit(lambda n, x: write(x, n, os.urandom(size)).copies, n, x)
                for n, x in jobs]
        return [f.result() for f in futs]


def timed_read(node, name, deadline=10):
    t = time.monotonic()
    try:
        node.stub.Read(N.ReadRequest(name=name), timeout=deadline)
        ok = None
    except grpc.RpcError as e:
        ok = e.code().name
    return time.monotonic() - t, ok


def bench(c, op, size, conc, count, names=500, warmup=200):
    cmd = [os.path.join(T.BIN, "chordctl"), "--supernode", c.sn_addr,
           "--route", "ring", "--timeout", "30s", "--json", "bench", "--op", op, "--size",
           str(size), "--concurrency", str(conc), "--count", str(count),
           "--names", str(names), "--warmup", str(warmup)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("chordctl bench failed (%d): %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)


# ---- 1. write cost at R=1 and R=3 --------------------------------------


def run_write(a, rng):
    ids = fixed_ids(rng, 8)
    sizes = [(1024, a.w_count_1k), (65536, a.w_count_64k)]
    res = {}  # (r, size) -> [bench dicts]
    for rep in range(a.reps):
        order = (1, 3) if rep % 2 == 0 else (3, 1)
        for r in order:
            c = ring(ids, T.replication_flags(r, repair="30s"))
            try:
                cp = write(c.live()[0], "copies-probe", b"x").copies
                for size, count in sizes:
                    j = bench(c, "write", size, 8, count)
                    res.setdefault((r, size), []).append(j)
                    print("write run %d: R=%d size=%d copies=%d ops_per_s=%.0f "
                          "p50_us=%d p99_us=%d errors=%s"
                          % (rep + 1, r, size, cp, j["ops_per_s"], j["p50_us"],
                             j["p99_us"], j["errors"] or "{}"), flush=True)
            finally:
                c.close()
    out = {}
    for size, _ in sizes:
        m = {}
        for r in (1, 3):
            js = res[(r, size)]
            m[r] = (med([j["ops_per_s"] for j in js]), med([j["p50_us"] for j in js]),
                    med([j["p99_us"] for j in js]))
            print("write: R=%d size=%d conc=8 runs=%d median ops_per_s=%.0f "
                  "p50_us=%.0f p99_us=%.0f" % ((r, size, len(js)) + m[r]), flush=True)
        print("write ratio R3/R1: size=%d ops_per_s=%.2f p50=%.2f p99=%.2f"
              % (size, m[3][0] / m[1][0], m[3][1] / m[1][1], m[3][2] / m[1][2]),
              flush=True)
        out[size] = m
    return out


# ---- 2. reads when the owner is dead -----------------------------------


def read_pass(nodes, names, rng):
    lats, errs = [], {}
    for name in names:
        dt, err = timed_read(rng.choice(nodes), name)
        if err:
            errs[err] = errs.get(err, 0) + 1
        else:
            lats.append(dt)
    return lats, errs


def run_failover(a, rng):
    rows = {"alive": [], "kill": [], "healed": []}
    for rep in range(a.reps):
        ids = fixed_ids(rng, 8)
        c = ring(ids, T.replication_flags(3, repair="30s"))
        try:
            victim = rng.choice(c.live())
            names, k = [], 0
            while len(names) < a.fo_names:
                name = "fo-%d-%d" % (rep, k)
                k += 1
                if T.successor(ids, T.sha1_int(name)) == victim.id:
                    names.append(name)
            copies = write_many(c, names, 1024, rng)
            others = [x for x in c.live() if x is not victim]
            alive = []
            for _ in range(2):
                lats, errs = read_pass(others, names, rng)
                alive += lats
            t0 = time.monotonic()
            victim.stop(signal.SIGKILL)
            kill, kerrs = read_pass(others, names, rng)
            pass_s = time.monotonic() - t0
            heal_s = T.wait_ring_correct(c, 60, since=t0)
            healed = []
            for _ in range(2):
                lats, herrs = read_pass(others, names, rng)
                healed += lats
            for key, xs in (("alive", alive), ("kill", kill), ("healed", healed)):
                rows[key].append(xs)
            print("failover run %d: files=%d copies=%s alive_p50_ms=%.2f "
                  "after_kill_p50_ms=%.2f after_kill_p90_ms=%.1f after_kill_max_ms=%.0f "
                  "slow_over_1s=%d errors=%s pass_s=%.1f ring_correct_s=%.2f "
                  "healed_p50_ms=%.2f healed_errors=%s"
                  % (rep + 1, len(names), sorted(set(copies)), 1e3 * med(alive),
                     1e3 * med(kill), 1e3 * pct(kill, 90), 1e3 * max(kill or [0]),
                     sum(1 for x in kill if x > 1), kerrs or "{}", pass_s, heal_s,
                     1e3 * med(healed), herrs or "{}"), flush=True)
        finally:
            c.close()
    m = {k: med([med(xs) for xs in v]) * 1e3 for k, v in rows.items()}
    print("failover: runs=%d median of run p50s ms: alive=%.2f after_kill=%.2f "
          "healed=%.2f; ratios after_kill/alive=%.2f healed/alive=%.2f"
          % (a.reps, m["alive"], m["kill"], m["healed"], m["kill"] / m["alive"],
             m["healed"] / m["alive"]), flush=True)
    return m


# ---- 3. repair rate after a SIGKILL ------------------------------------


def counters(nodes):
    tot = {"repair_pushed": 0, "repair_pulled": 0, "repair_bytes": 0,
           "repair_rounds": 0}
    for x in nodes:
        st = x.status()
        for k in tot:
            tot[k] += getattr(st, k)
    return tot


def run_repair(a, rng):
    size = 256 * 1024
    rates, times = [], []
    for rep in range(a.reps):
        ids = fixed_ids(rng, 5)
        c = ring(ids, T.replication_flags(3, repair="1s"))
        try:
            names = ["rp-%d-%d" % (rep, i) for i in range(a.rp_files)]
            tw = time.monotonic()
            copies = write_many(c, names, size, rng)
            write_s = time.monotonic() - tw
            T.wait_replicated(c, 120, 3)
            victim = rng.choice(c.live())
            vkeys = len(T.held(victim))
            vbytes = victim.status().bytes
            others = [x for x in c.live() if x is not victim]
            before = counters(others)
            t0 = time.monotonic()
            victim.stop(signal.SIGKILL)
            t_ring = t_repl = None
            stats = None
            deadline = t0 + 300
            while time.monotonic() < deadline:
                if t_ring is None and T.ring_mismatch(c) is None:
                    t_ring = time.monotonic() - t0
                try:
                    problems, stats = T.replication_problems(c, 3)
                except grpc.RpcError:
                    problems = ["rpc"]
                if not problems:
                    t_repl = time.monotonic() - t0
                    break
                time.sleep(0.2)
            after = counters(others)
            if t_ring is None and t_repl is not None:
                t_ring = T.wait_ring_correct(c, 60, since=t0)
            d = {k: after[k] - before[k] for k in after}
            if t_repl is None:
                print("repair run %d: NOT converged after 300 s (%d problems)"
                      % (rep + 1, len(problems)), flush=True)
                continue
            rate = vbytes / MB / t_repl
            rates.append(rate)
            times.append(t_repl)
            print("repair run %d: files=%d size=%d total_MB=%.1f write_s=%.1f copies=%s "
                  "victim_keys=%d victim_MB=%.1f ring_correct_s=%.2f replicated_s=%.2f "
                  "MB_per_s=%.1f keys_ok=%d/%d pushed=%d pulled=%d "
                  "repair_MB_sent=%.1f repair_sent_per_victim_byte=%.2f"
                  % (rep + 1, len(names), size, len(names) * size / MB, write_s,
                     sorted(set(copies)), vkeys, vbytes / MB, t_ring or -1, t_repl, rate,
                     stats["copies_ok"], stats["keys"], d["repair_pushed"],
                     d["repair_pulled"], d["repair_bytes"] / MB,
                     d["repair_bytes"] / max(1, vbytes)), flush=True)
        finally:
            c.close()
    print("repair: nodes=5 R=3 repair_interval=1s runs=%d median replicated_s=%.2f "
          "MB_per_s=%.1f" % (len(rates), med(times), med(rates)), flush=True)
    return med(times), med(rates)


# ---- 4. repair traffic when nothing differs ----------------------------


def run_idle(a, rng):
    out = {}
    for interval in a.idle_intervals:
        ids = fixed_ids(rng, 8)
        c = ring(ids, T.replication_flags(3, repair=interval))
        try:
            names = ["id-%d" % i for i in range(a.idle_keys)]
            write_many(c, names, 100, rng)
            T.wait_replicated(c, 180, 3)
            # Let any round started by the writes finish.
            T.wait_for(lambda: not any(x.status().repair_running for x in c.live()),
                       60, "repair to go quiet")
            time.sleep(2)
            nodes = c.live()
            s0 = [x.status() for x in nodes]
            t0 = time.monotonic()
            time.sleep(a.idle_seconds)
            s1 = [x.status() for x in nodes]
            dt = time.monotonic() - t0
            per = [(b.repair_bytes - x.repair_bytes) / dt * 60 for x, b in zip(s0, s1)]
            rounds = [(b.repair_rounds - x.repair_rounds) for x, b in zip(s0, s1)]
            moved = sum(b.repair_pushed - x.repair_pushed + b.repair_pulled - x.repair_pulled
                        for x, b in zip(s0, s1))
            keys = sum(b.primary_keys for b in s1)
            out[interval] = med(per)
            print("idle: interval=%s nodes=8 keys=%d seconds=%.0f repair_bytes_per_min_per_node "
                  "median=%.0f min=%.0f max=%.0f rounds_per_node_median=%.1f "
                  "bytes_per_round_median=%.0f pushed_or_pulled=%d"
                  % (interval, keys, dt, med(per), min(per), max(per), med(rounds),
                     med([p * dt / 60 / r for p, r in zip(per, rounds) if r]), moved),
                  flush=True)
        finally:
            c.close()
    return out


# ---- 5. OpenDHT ---------------------------------------------------------

ODHT_NODE = r"""
import sys, time, opendht as dht
port, boot = int(sys.argv[1]), int(sys.argv[2])
r = dht.DhtRunner()
cfg = dht.DhtConfig()
if len(sys.argv) > 3:
    cfg.setRateLimit(-1, -1)
r.run(port=port, ipv4="127.0.0.1", config=cfg)
if boot:
    r.bootstrap("127.0.0.1", str(boot))
print("up", flush=True)
sys.stdin.read()
r.join()
"""


def free_udp_ports(n):
    out = []
    for p in T.free_ports(4 * n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", p))
            out.append(p)
        except OSError:
            pass
        finally:
            s.close()
        if len(out) == n:
            break
    return out


def odht_puts(runner, dht, count, conc):
    lats, fails, reached = [], [0], []
    sem = threading.Semaphore(conc)
    lock = threading.Lock()
    done = threading.Event()
    left = [count]

    def one(i):
        sem.acquire()
        t = time.monotonic()

        def cb(ok, nodes):
            with lock:
                if ok:
                    lats.append(time.monotonic() - t)
                    reached.append(len(nodes))
                else:
                    fails[0] += 1
                left[0] -= 1
                if left[0] == 0:
                    done.set()
            sem.release()
        runner.put(dht.InfoHash.get("bench-%d-%d-%f" % (conc, i, t)),
                   dht.Value(os.urandom(1024)), cb)

    t0 = time.monotonic()
    for i in range(count):
        one(i)
    done.wait(120)
    return lats, fails[0], count / (time.monotonic() - t0), med(reached)


def odht_ring(a, dht, limits):
    """8 OpenDHT node processes and a client runner on 127.0.0.1; put
    latency at 1 and 8 in flight. limits "off": the per-IP request rate
    limits disabled (every peer here shares 127.0.0.1)."""
    extra = ["nolimit"] if limits == "off" else []
    ports = free_udp_ports(9)
    procs = []
    try:
        for i, p in enumerate(ports[:8]):
            procs.append(subprocess.Popen(
                [sys.executable, "-c", ODHT_NODE, str(p), str(ports[0] if i else 0)] + extra,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
            procs[-1].stdout.readline()
        client = dht.DhtRunner()
        cfg = dht.DhtConfig()
        if extra:
            cfg.setRateLimit(-1, -1)
        client.run(port=ports[8], ipv4="127.0.0.1", config=cfg)
        client.bootstrap("127.0.0.1", str(ports[0]))
        time.sleep(6)  # routing tables fill
        # Warm up.
        odht_puts(client, dht, 50, 1)
        res = {}
        for conc in (1, 8):
            lats, fails, rate, reached = odht_puts(client, dht, a.odht_count, conc)
            res[conc] = (med(lats) * 1e6, pct(lats, 99) * 1e6, rate)
            print("opendht: nodes=8+client rate_limits=%s conc=%d puts=%d failed=%d puts_per_s=%.0f "
                  "p50_us=%.0f p99_us=%.0f nodes_acked_median=%s"
                  % (limits, conc, a.odht_count, fails, rate, res[conc][0],
                     res[conc][1], reached), flush=True)
        client.join()
    finally:
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
    return res


def run_opendht(a, rng):
    try:
        import opendht as dht
    except ImportError:
        print("opendht: skipped: python3-opendht is not installed "
              "(apt-get install -y python3-opendht)", flush=True)
        return None
    res = {}
    for limits in ("default", "off"):
        res[limits] = odht_ring(a, dht, limits)
    ids = fixed_ids(rng, 8)
    ours = {}
    for r, extra in ((3, []), (8, ["--successors", "8"])):
        c = ring(ids, T.replication_flags(r, repair="30s") + extra, r=8 if r == 8 else 4)
        try:
            cp = write(c.live()[0], "copies-probe", b"x").copies
            for conc in (1, 8):
                j = bench(c, "write", 1024, conc, a.odht_count)
                ours[(r, conc)] = (j["p50_us"], j["p99_us"], j["ops_per_s"])
                print("opendht compare: chord R=%d copies=%d conc=%d writes=%d "
                      "ops_per_s=%.0f p50_us=%d p99_us=%d errors=%s"
                      % (r, cp, conc, a.odht_count, j["ops_per_s"], j["p50_us"],
                         j["p99_us"], j["errors"] or "{}"), flush=True)
        finally:
            c.close()
    return res, ours


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--opendht", action="store_true")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--only", default="write,failover,repair,idle,opendht")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.quick:
        a.reps = a.reps or 1
        a.w_count_1k, a.w_count_64k = 1500, 600
        a.fo_names, a.rp_files = 20, 80
        a.idle_keys, a.idle_seconds, a.idle_intervals = 2000, 20, ["5s"]
        a.odht_count = 300
    else:
        a.reps = a.reps or 3
        a.w_count_1k, a.w_count_64k = 20000, 5000
        a.fo_names, a.rp_files = 60, 400
        a.idle_keys, a.idle_seconds, a.idle_intervals = 10000, 60, ["30s", "5s"]
        a.odht_count = 2000
    only = set(a.only.split(","))
    rng = random.Random(a.seed)
    t0 = time.monotonic()
    print("replication bench: %s, reps=%d, stabilize 1s, hop-timeout 2s, CHORD_BIN=%s"
          % ("quick" if a.quick else "full", a.reps, T.BIN), flush=True)
    if "write" in only:
        run_write(a, rng)
    if "failover" in only:
        run_failover(a, rng)
    if "repair" in only:
        run_repair(a, rng)
    if "idle" in only:
        run_idle(a, rng)
    if a.opendht and "opendht" in only:
        run_opendht(a, rng)
    print("replication bench: done in %.0f s" % (time.monotonic() - t0), flush=True)


if __name__ == "__main__":
    main()
