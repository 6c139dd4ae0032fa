#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""How fast the ring heals, and what its upkeep costs, at the nodes'
default --stabilize-interval (1s), with real processes on 127.0.0.1.

  repair: an 8-node ring, settled; one node SIGKILLed; the seconds until
          every live node's predecessor and successor list are the brute
          force's again (polled every 50 ms). A fresh ring per run; the
          median of --runs runs. The seconds the fresh ring took to settle
          after its parallel joins are printed too.
  idle:   a settled ring left alone for --seconds: maintenance calls each
          node sent, and calls each node received, per second, from the
          nodes' Status counters (maintenance_sent, calls_received; the
          bench's own Status calls are subtracted).
The join cost per ring size is bench/ring_cost.py's.

    CHORD_BIN=build/bin bench/heal.py [--runs 5] [--nodes 8] [--seconds 20]
"""
import argparse
import os
import random
import signal
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import chordtest as T  # noqa: E402

INTERVAL = ["--stabilize-interval", "1s"]  # the default, said out loud


def ring(n, rng, sn_args=()):
    """A cluster of n nodes started at once; returns (cluster, settle s)."""
    c = T.Cluster(sn_args=sn_args)
    ids = set()
    while len(ids) < n:
        ids.add(rng.getrandbits(160))
    t0 = time.monotonic()
    c.start_nodes(sorted(ids), extra=INTERVAL)
    return c, T.wait_ring_correct(c, 120, since=t0)


def repair_once(n, rng):
    c, settle = ring(n, rng)
    try:
        victim = rng.choice(c.live())
        t0 = time.monotonic()
        victim.stop(signal.SIGKILL)
        return settle, T.wait_ring_correct(c, 60, since=t0)
    finally:
        c.close()


def counters(nodes):
    sent = recv = 0
    for x in nodes:
        st = x.status()
        sent += st.maintenance_sent
        recv += st.calls_received
    return sent, recv


def idle(n, rng, seconds):
    c, settle = ring(n, rng)
    try:
        time.sleep(3)  # fingers fixed, nothing left over from the joins
        nodes = c.live()
        s0, r0 = counters(nodes)
        t0 = time.monotonic()
        time.sleep(seconds)
        s1, r1 = counters(nodes)
        dt = time.monotonic() - t0
        # Each node counted the first round of Status calls in r1.
        return (s1 - s0) / dt / n, (r1 - r0 - n) / dt / n
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--nodes", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    settles, repairs = [], []
    for k in range(a.runs):
        settle, repair = repair_once(a.nodes, rng)
        settles.append(settle)
        repairs.append(repair)
        print("repair run %d: settle_s=%.2f repair_s=%.2f" % (k + 1, settle, repair),
              flush=True)
    print("repair: nodes=%d interval=1s runs=%d median_s=%.2f min_s=%.2f max_s=%.2f "
          "settle_median_s=%.2f settle_max_s=%.2f"
          % (a.nodes, a.runs, statistics.median(repairs), min(repairs),
             max(repairs), statistics.median(settles), max(settles)), flush=True)
    sent, recv = idle(a.nodes, rng, a.seconds)
    print("idle: nodes=%d interval=1s seconds=%.0f maintenance_sent_per_node_s=%.2f "
          "calls_received_per_node_s=%.2f" % (a.nodes, a.seconds, sent, recv),
          flush=True)


if __name__ == "__main__":
    main()
