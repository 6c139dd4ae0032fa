# SPDX-License-Identifier: MIT
"""Turns bench/run.sh's CSV files into results.md and gnuplot data files."""
import csv
import math
import os
import statistics
import sys

out = sys.argv[1]


def rows(name):
    with open(os.path.join(out, name)) as f:
        return list(csv.DictReader(f))


phases = rows("phases.csv")
nodes = rows("nodes.csv")
hops = rows("sim-hops.csv")
with open(os.path.join(out, "sim-load.csv")) as f:
    load = f.read().strip().split(",")

lines = ["# Cluster benchmark results", "",
         "Local clusters on 127.0.0.1 (in-memory store), driven by "
         "`chordctl bench` through random nodes. Latencies in microseconds.", ""]
lines += ["| nodes | op | size | concurrency | ops | ops/s | p50 | p90 | p99 | max | mean hops | errors |",
          "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
for r in phases:
    lines.append("| %s | %s | %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %s | %s |" % (
        r["nodes"], r["op"], r["size"], r["concurrency"], r["count"], float(r["ops_per_s"]),
        float(r["p50_us"]), float(r["p90_us"]), float(r["p99_us"]), float(r["max_us"]),
        r["mean_hops"], r["errors"] or "none"))
lines += ["", "Resident memory per node: VmRSS (mean / max) and, in brackets, its private "
          "part (RssAnon, mean); the rest is shared-library pages every node on the "
          "host shares.", "",
          "| nodes | last join (Join..PostJoin) ms | spawn to joined ms | RSS idle KiB | RSS after load KiB |",
          "|---:|---:|---:|---:|---:|"]
for r in nodes:
    lines.append("| %s | %s | %s | %s / %s (%s) | %s / %s (%s) |" % (
        r["nodes"], r["last_join_ms"], r["last_join_wall_ms"], r["rss_idle_mean_kib"],
        r["rss_idle_max_kib"], r["rss_idle_anon_kib"], r["rss_load_mean_kib"],
        r["rss_load_max_kib"], r["rss_load_anon_kib"]))

# The aims of issue 6, measured.
lines += ["", "## Aims", "", "| nodes | read p50 / ((hops+1) x ping p50), 1 KiB, c=1 (aim <= 1.3) | read ops/s c=64 / c=1, 1 KiB (aim >= 5) | idle RSS max MiB (aim < 16) | idle private MiB |",
          "|---:|---:|---:|---:|---:|"]


def find(n, op, size, conc):
    for r in phases:
        if (r["nodes"], r["op"], r["size"], r["concurrency"]) == (n, op, str(size), str(conc)):
            return r
    return None


for nr in nodes:
    n = nr["nodes"]
    rd, pg = find(n, "read", 1024, 1), find(n, "ping", 0, 1)
    rd64 = find(n, "read", 1024, 64)
    ratio = float(rd["p50_us"]) / ((float(rd["mean_hops"]) + 1) * float(pg["p50_us"]))
    speedup = float(rd64["ops_per_s"]) / float(rd["ops_per_s"])
    lines.append("| %s | %.2f | %.1f | %.1f | %.1f |" % (
        n, ratio, speedup, float(nr["rss_idle_max_kib"]) / 1024,
        float(nr["rss_idle_anon_kib"]) / 1024))

lines += ["", "## Routing simulation", "",
          "| nodes | lookups | mean path | 1st pct | 99th pct | 1/2 log2 N | mean / (1/2 log2 N) | to owner |",
          "|---:|---:|---:|---:|---:|---:|---:|---:|"]
for r in hops:
    lines.append("| %s | %s | %.3f | %s | %s | %.3f | %.3f | %.3f |" % (
        r["nodes"], r["lookups"], float(r["mean"]), r["p1"], r["p99"], float(r["half_log2"]),
        float(r["mean"]) / float(r["half_log2"]), float(r["to_owner_mean"])))
ln, lk, lmean, lp1, lp99, lmax = load
lines += ["", "Load balance: %s nodes, %s keys: mean %.1f keys per node, 1st percentile %s, "
          "99th percentile %s (%.2fx the mean; the paper reports about 4.6x), max %s."
          % (ln, lk, float(lmean), lp1, lp99, float(lp99) / float(lmean), lmax)]
with open(os.path.join(out, "results.md"), "w") as f:
    f.write("\n".join(lines) + "\n")

# gnuplot data: throughput against cluster size, one column per series.
series = sorted({(r["op"], r["size"], r["concurrency"]) for r in phases})
with open(os.path.join(out, "throughput.dat"), "w") as f:
    f.write("# nodes " + " ".join("%s-%s-c%s" % s for s in series) + "\n")
    for nr in nodes:
        n = nr["nodes"]
        vals = []
        for op, size, conc in series:
            r = find(n, op, size, conc)
            vals.append(r["ops_per_s"] if r else "NaN")
        f.write(n + " " + " ".join(vals) + "\n")
with open(os.path.join(out, "throughput.cols"), "w") as f:
    f.write(" ".join("%s-%s-c%s" % s for s in series) + "\n")

# Latency distributions (CDF) of 1 KiB reads at concurrency 1, per size.
for nr in nodes:
    n = nr["nodes"]
    path = os.path.join(out, "lat-%s-read-1024-1.txt" % n)
    if not os.path.exists(path):
        continue
    with open(path) as f:
        lat = sorted(float(x) for x in f if x.strip())
    with open(os.path.join(out, "cdf-%s.dat" % n), "w") as f:
        for i, v in enumerate(lat):
            f.write("%.1f %.5f\n" % (v, (i + 1) / len(lat)))
with open(os.path.join(out, "sim.dat"), "w") as f:
    for r in hops:
        f.write("%s %s %s %s %s\n" % (r["nodes"], r["mean"], r["p1"], r["p99"], r["half_log2"]))
print(open(os.path.join(out, "results.md")).read())
