#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What keeping the ring costs, counted from the nodes' own counters.

For each ring size N: start a supernode and N nodes on 127.0.0.1, then
  - join cost: the calls all nodes receive while one more node joins,
    with maintenance ticks slowed down (--stabilize-interval 1h) so that
    only the join's own calls are counted (the joiner's hello, the
    predecessor's immediate stabilize, the key pull, the joiner's first
    maintenance round with its finger lookups); the supernode's two calls
    (Join, PostJoin) are added;
  - idle upkeep (only when --idle): maintenance calls each node sends per
    second at the default 1s interval.
Status calls used to read the counters are subtracted.

    CHORD_BIN=build/bin bench/ring_cost.py [--sizes 8,32,128] [--idle]
"""
import argparse
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import chordtest as T  # noqa: E402


def counters(nodes):
    total, maint = 0, 0
    for n in nodes:
        st = n.status()
        total += st.calls_received
        maint += st.maintenance_sent
    return total, maint


def join_cost(n, rng, interval):
    c = T.Cluster()
    try:
        extra = ["--stabilize-interval", interval]
        for _ in range(n):
            c.add_node(rng.getrandbits(160), extra=extra)
        time.sleep(0.5)  # let the last join's calls finish
        before, _ = counters(c.live())
        j = c.add_node(rng.getrandbits(160), extra=extra)
        time.sleep(0.5)
        old = [x for x in c.live() if x is not j]
        after, _ = counters(old)
        joiner = j.status().calls_received - 1  # its own Status call
        # Each old node's counter also holds the first Status read.
        return after - before - len(old) + joiner + 2
    finally:
        c.close()


def idle_rate(n, rng, seconds):
    c = T.Cluster()
    try:
        for _ in range(n):
            c.add_node(rng.getrandbits(160), extra=["--stabilize-interval", "1s"])
        time.sleep(3)
        _, m0 = counters(c.live())
        t0 = time.time()
        time.sleep(seconds)
        _, m1 = counters(c.live())
        return (m1 - m0) / (time.time() - t0) / n
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="8,32,128")
    ap.add_argument("--idle", action="store_true")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    print("nodes,join_calls,old_design_join_calls")
    for n in [int(x) for x in a.sizes.split(",")]:
        cost = join_cost(n, rng, "1h")
        # The seed's join: Join, TransferKeys page + release, UpdateDHT to
        # the N - 1 members it did not pull from, PostJoin.
        print("%d,%d,%d" % (n, cost, 2 + 2 + (n - 1)), flush=True)
    if a.idle:
        print("nodes,maintenance_calls_per_node_per_s")
        for n in [int(x) for x in a.sizes.split(",")]:
            print("%d,%.2f" % (n, idle_rate(n, rng, a.seconds)), flush=True)


if __name__ == "__main__":
    main()
