#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# chord against OpenDHT on this machine, one run (issue 16): rings of 8,
# 16 and 64 members of each system, the same workload (bench/
# compare_opendht.py: 1,000 values of 1 KiB put one at a time, read one at
# a time, then read 32 in flight), each system in a network namespace of
# its own where only loopback exists, the two alternating (which goes
# first swaps every round). Medians over --rounds, one markdown table with
# the ratios on standard output (and in OUT/compare-opendht.md), the JSON
# of every run in OUT/compare-opendht.jsonl, a plot in
# OUT/compare-opendht.png (gnuplot, installed when missing).
#   bench/compare-opendht.sh [--sizes "8 16 64"] [--rounds 2] [--values 1000]
#       [--out DIR]
# Installs Debian's dhtnode and python3-opendht when missing; needs root
# (ip netns). Builds with scripts/build.sh unless CHORD_BIN is set.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SIZES="8 16 64"
ROUNDS=2
VALUES=1000
OUT=$ROOT/bench/out
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) SIZES=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --values) VALUES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: bench/compare-opendht.sh [--sizes \"8 16 64\"]" \
         "[--rounds N] [--values N] [--out DIR]" >&2; exit 2 ;;
  esac
done
say() { echo "compare-opendht: $*" >&2; }

[ "$(id -u)" -eq 0 ] || { say "needs root (ip netns)"; exit 1; }
if ! command -v dhtnode >/dev/null || ! /usr/bin/python3 -c 'import opendht' \
    2>/dev/null; then
  say "installing dhtnode and python3-opendht"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends dhtnode python3-opendht \
    >/dev/null 2>&1 || { apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends dhtnode python3-opendht \
      >/dev/null; }
fi
if ! command -v gnuplot >/dev/null; then
  say "installing gnuplot (for the plot)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends gnuplot-nox >/dev/null 2>&1 ||
    say "no gnuplot: the table only"
fi
if [ -z "${CHORD_BIN:-}" ]; then
  ./scripts/build.sh >/dev/null
  CHORD_BIN=$ROOT/build/bin
fi
export CHORD_BIN
mkdir -p "$OUT"
JSONL=$OUT/compare-opendht.jsonl
: >"$JSONL"

# One namespace per system, removed on exit whatever happened.
NS=()
cleanup() {
  local ns
  for ns in "${NS[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap cleanup EXIT
for sys in chord opendht; do
  ns="cmp-$sys-$$"
  ip netns add "$ns"
  NS+=("$ns")
  ip netns exec "$ns" ip link set lo up
done

t0=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
  for n in $SIZES; do
    order="chord opendht"
    [ $((round % 2)) -eq 0 ] && order="opendht chord"
    for sys in $order; do
      say "round $round: $sys, $n nodes"
      ip netns exec "cmp-$sys-$$" timeout 1800 /usr/bin/python3 -W ignore \
        bench/compare_opendht.py --system "$sys" --nodes "$n" \
        --values "$VALUES" | sed "s/^{/{\"round\": $round, /" >>"$JSONL"
    done
  done
done
say "done in $(( $(date +%s) - t0 )) s; runs in $JSONL"

/usr/bin/python3 - "$JSONL" "$OUT" "$ROUNDS" <<'EOF' | tee "$OUT/compare-opendht.md"
import json, statistics, sys
path, out, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = [json.loads(l) for l in open(path) if l.strip()]
def med(sys_, n, key):
    xs = [r[key] for r in runs if r["system"] == sys_ and r["nodes"] == n
          and key in r]
    return statistics.median(xs) if xs else float("nan")
sizes = sorted({r["nodes"] for r in runs})
rows = [
    ("get p50 µs, one at a time", "get_p50_us", "get_p50_us", "lower"),
    ("get ops/s, 32 in flight", "get_ops_conc", "get_ops_conc", "higher"),
    ("put p50 µs, one at a time", "put_p50_us", "put_p50_us", "lower"),
    ("put ops/s, 32 in flight", "put_ops_conc", "put_ops_conc", "higher"),
]
print("chord (direct route, R=%s) against OpenDHT 2.4.12 (8 copies), "
      "medians of %d rounds; chord / OpenDHT in brackets"
      % ("/".join(sorted({str(r["copies"]) for r in runs
                          if r["system"] == "chord"})), rounds))
print()
print("| | " + " | ".join("N=%d" % n for n in sizes) + " |")
print("|---|" + "---:|" * len(sizes))
for label, kc, ko, _ in rows:
    cells = []
    for n in sizes:
        c, o = med("chord", n, kc), med("opendht", n, ko)
        cells.append("%s / %s (%.2f×)" % (format(round(c), ","),
                                          format(round(o), ","), c / o))
    print("| %s: chord / OpenDHT | %s |" % (label, " | ".join(cells)))
extra = [("chord ring route: get p50 µs, one at a time", "ring_get_p50_us"),
         ("chord ring route: get ops/s, 32 in flight", "ring_get_ops_conc"),
         ("chord ping p50 µs (one call)", "ping_p50_us")]
for label, k in extra:
    print("| %s | %s |" % (label, " | ".join(
        format(round(med("chord", n, k)), ",") for n in sizes)))
print("| chord direct get p50 / ping p50 | %s |" % " | ".join(
    "%.2f" % (med("chord", n, "get_p50_us") / med("chord", n, "ping_p50_us"))
    for n in sizes))
print("| errors (chord / OpenDHT, all rounds) | %s |" % " | ".join(
    "%d / %d" % tuple(sum(r.get("errors", 0) for r in runs
                          if r["system"] == s and r["nodes"] == n)
                      for s in ("chord", "opendht")) for n in sizes))
with open(out + "/compare-opendht.dat", "w") as f:
    f.write("# nodes chord_get_p50 ring_get_p50 odht_get_p50 "
            "chord_ops ring_ops odht_ops\n")
    for n in sizes:
        f.write("%d %s\n" % (n, " ".join(str(med(*x)) for x in (
            ("chord", n, "get_p50_us"), ("chord", n, "ring_get_p50_us"),
            ("opendht", n, "get_p50_us"), ("chord", n, "get_ops_conc"),
            ("chord", n, "ring_get_ops_conc"),
            ("opendht", n, "get_ops_conc")))))
EOF

if command -v gnuplot >/dev/null; then
  gnuplot <<EOF
set terminal pngcairo size 1000,420 font ",10"
set output "$OUT/compare-opendht.png"
set multiplot layout 1,2 title "chord vs OpenDHT, 1 KiB values, one machine"
set logscale x 2
set xtics (8, 16, 32, 64)
set xlabel "nodes"
set key top left
set ylabel "get p50, one at a time (µs)"
plot "$OUT/compare-opendht.dat" u 1:2 w lp t "chord direct", \
     "" u 1:3 w lp t "chord ring", "" u 1:4 w lp t "OpenDHT"
set ylabel "gets/s, 32 in flight"
set logscale y
plot "$OUT/compare-opendht.dat" u 1:5 w lp t "chord direct", \
     "" u 1:6 w lp t "chord ring", "" u 1:7 w lp t "OpenDHT"
unset multiplot
EOF
  say "plot: $OUT/compare-opendht.png"
fi
