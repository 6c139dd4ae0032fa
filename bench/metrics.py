#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What the Prometheus metrics (issue 15) cost: three local clusters of a
supernode and 3 nodes on 127.0.0.1 (in-memory store), all started anew
for each of --rounds rounds:

  off      no --metrics-listen
  on       --metrics-listen on every daemon, never scraped
  scraped  --metrics-listen, and every daemon's /metrics fetched every
           --interval seconds (1 s; Prometheus's default is 15 s) while
           this cluster's phases run

The phases are bench/tls.py's (ping and 1 KiB read one at a time and 64
in flight with `chordctl bench`, daemons' CPU per read, a one-shot
`chordctl health`), each run on the three clusters one right after the
other, the order rotating between rounds. Medians over the rounds, each
mode's ratio to "off" and the range of the rounds' own ratios, as a
markdown table on standard output, plus the size and fetch time of one
scrape; progress on standard error. Stdlib and the binaries only.

    CHORD_BIN=build/bin bench/metrics.py [--quick] [--rounds N]
        [--interval S] [--port BASE] [--keep-logs]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request

import tls

MODES = ("off", "on", "scraped")
NODES = tls.NODES


def log(msg):
    print("metrics-bench: " + msg, file=sys.stderr, flush=True)


class Scraper(threading.Thread):
    """Fetches every URL each interval while `active` is set."""

    def __init__(self, urls, interval):
        super().__init__(daemon=True)
        self.urls, self.interval = urls, interval
        self.active, self.done = threading.Event(), threading.Event()
        self.fetch_ms, self.sizes, self.errors = [], [], 0

    def run(self):
        while not self.done.is_set():
            if not self.active.wait(0.1):
                continue
            t_round = time.monotonic()
            for u in self.urls:
                t0 = time.monotonic()
                try:
                    with urllib.request.urlopen(u, timeout=5) as r:
                        body = r.read()
                    self.fetch_ms.append((time.monotonic() - t0) * 1e3)
                    self.sizes.append(len(body))
                except OSError:
                    self.errors += 1
            self.done.wait(max(0, self.interval
                               - (time.monotonic() - t_round)))


class Cluster(tls.Cluster):
    """tls.Cluster in plaintext, with or without metrics endpoints."""

    def __init__(self, mode, port, logdir, interval):
        super().__init__(mode, None, port, logdir)
        self.scraper = None
        if mode == "off":
            return
        mport = lambda p: p + 100  # noqa: E731
        self.sn_extra = ["--metrics-listen", "127.0.0.1:%d" % mport(port)]
        self.node_extra = lambda p: ["--metrics-listen",
                                     "127.0.0.1:%d" % mport(p)]
        if mode == "scraped":
            urls = ["http://127.0.0.1:%d/metrics" % mport(port + i)
                    for i in range(NODES + 1)]
            self.scraper = Scraper(urls, interval)
            self.scraper.start()

    def bench(self, *args):
        if self.scraper:
            self.scraper.active.set()
        try:
            return super().bench(*args)
        finally:
            if self.scraper:
                self.scraper.active.clear()

    def stop(self):
        if self.scraper:
            self.scraper.done.set()
            self.scraper.join()
        super().stop()


def table(results, rounds):
    out = ["| figure (median of %d rounds) | metrics off | on, not scraped "
           "| scraped | on / off | scraped / off | scraped / off per round |"
           % rounds, "|---|---:|---:|---:|---:|---:|---:|"]
    for key, label, fmt in tls.ROWS:
        med = {m: statistics.median(r[key] for r in results[m])
               for m in MODES}
        ratio = lambda m: ("%.2f" % (med[m] / med["off"])  # noqa: E731
                           if med["off"] else "-")
        each = sorted(b[key] / a[key] for a, b in
                      zip(results["off"], results["scraped"]) if a[key])
        spread = "%.2f–%.2f" % (each[0], each[-1]) if each else "-"
        out.append("| %s | %s | %s | %s | %s | %s | %s |"
                   % (label, fmt.format(med["off"]), fmt.format(med["on"]),
                      fmt.format(med["scraped"]), ratio("on"),
                      ratio("scraped"), spread))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="2 rounds with small counts (about 40 s)")
    ap.add_argument("--rounds", type=int, help="rounds (5; --quick 2)")
    ap.add_argument("--interval", type=float, default=1.0,
                    help="seconds between scrapes of each daemon (1)")
    ap.add_argument("--port", type=int, default=19500,
                    help="ports BASE.. for the three clusters (10 apart) "
                    "and BASE+100.. for their metrics; 19500")
    ap.add_argument("--keep-logs", action="store_true",
                    help="keep the daemons' logs")
    a = ap.parse_args()
    a.rounds = a.rounds or (2 if a.quick else 5)
    a.seq, a.par = (1000, 5000) if a.quick else (5000, 30000)
    a.names, a.shots = 200, (5 if a.quick else 20)

    for b in ("chord-supernode", "chord-node", "chordctl"):
        if not os.access(os.path.join(tls.BIN, b), os.X_OK):
            sys.exit("metrics-bench: %s/%s is missing (build first, or set "
                     "CHORD_BIN)" % (tls.BIN, b))
    work = tempfile.mkdtemp(prefix="chord-metrics-bench-")
    results = {m: [] for m in MODES}
    fetch_ms, sizes, errors = [], [], 0
    t0 = time.monotonic()
    try:
        for r in range(a.rounds):
            # Rotate the order, so that no mode always runs first.
            order = MODES[r % 3:] + MODES[:r % 3]
            clusters = [Cluster(m, a.port + 10 * MODES.index(m), work,
                                a.interval) for m in order]
            try:
                for c in clusters:
                    c.start()
                m = tls.measure(clusters, a)
            finally:
                for c in clusters:
                    c.stop()
                    if c.scraper:
                        fetch_ms += c.scraper.fetch_ms
                        sizes += c.scraper.sizes
                        errors += c.scraper.errors
            for mode in order:
                results[mode].append(m[mode])
                x = m[mode]
                log("round %d %-7s read p50 %.0f µs, %.0f reads/s at 64, "
                    "daemons %.1f µs CPU per read"
                    % (r + 1, mode, x["read_p50_1"], x["read_ops_64"],
                       x["read_daemon_cpu_64"]))
    finally:
        for p in tls._procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if a.keep_logs:
            log("logs kept in " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("Metrics cost (issue 15): supernode + %d nodes on 127.0.0.1, %s; "
          "%d / %d requests at 1 / 64 in flight, %d rounds, scrapes every "
          "%g s, %.0f s" % (NODES, "quick" if a.quick else "full", a.seq,
                            a.par, a.rounds, a.interval,
                            time.monotonic() - t0))
    print()
    print(table(results, a.rounds))
    if fetch_ms:
        print()
        print("One scrape: %d fetches, median %.2f ms, %.1f KB (median), "
              "%d failed" % (len(fetch_ms), statistics.median(fetch_ms),
                             statistics.median(sizes) / 1e3, errors))


if __name__ == "__main__":
    main()
