#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The cluster benchmark: local clusters of 8, 16 and 32 nodes; write, read
# and ping phases with 1 KiB and 64 KiB files at concurrency 1 and 64; each
# node's resident memory; the time for the last node to join; healing;
# replication (bench/replication.py: writes at R=1 and R=3, reads with the
# owner dead, repair rate and idle repair traffic); TLS (bench/tls.py: ping
# and 1 KiB reads plaintext and with mutual TLS and a token); chunked files
# (bench/chunks.py: a big file's write and read MB/s and memory by ring size
# and window, against the loopback floor); then the routing simulation. Writes bench/out/results.md, CSV files and PNG plots.
#   bench/run.sh [--quick] [--sizes "8 16 32"] [--out DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=$ROOT/bench/out
SIZES="8 16 32"
SEQ_COUNT=2000   # operations per phase at concurrency 1
PAR_COUNT=10000  # operations per phase at concurrency 64
BASE_PORT=27000
HEAL_ARGS="--runs 5 --seconds 20"
REPL_ARGS=""     # full mode: about 5 minutes
TLS_ARGS=""      # full mode: about 2 minutes
CHUNK_ARGS=""    # full mode: about 20 minutes
while [ $# -gt 0 ]; do
  case $1 in
    --quick) SIZES="8"; SEQ_COUNT=300; PAR_COUNT=1500; HEAL_ARGS="--runs 3 --seconds 10"; REPL_ARGS="--quick"; TLS_ARGS="--quick"; CHUNK_ARGS="--quick"; shift ;;
    --sizes) SIZES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: bench/run.sh [--quick] [--sizes \"8 16 32\"] [--out DIR]" >&2; exit 2 ;;
  esac
done

./scripts/build.sh
if ! command -v gnuplot >/dev/null; then
  echo "bench: installing gnuplot" >&2
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null ||
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null; }
fi
BIN=$ROOT/build/bin
mkdir -p "$OUT"
rm -f "$OUT"/*.csv "$OUT"/*.png "$OUT"/results.md
export CHORD_BIN=$BIN
# The ring route (through a random member, along the fingers): these
# figures are the ring's routing cost, comparable run to run; the direct
# route is measured by bench/compare-opendht.sh.
export CHORD_ROUTE=ring

started=$(date +%s)
PHASES="$OUT/phases.csv"
echo "nodes,op,size,concurrency,count,ops_per_s,p50_us,p90_us,p99_us,max_us,errors,mean_hops" >"$PHASES"
NODES_CSV="$OUT/nodes.csv"
echo "nodes,last_join_ms,last_join_wall_ms,rss_idle_mean_kib,rss_idle_max_kib,rss_idle_anon_kib,rss_load_mean_kib,rss_load_max_kib,rss_load_anon_kib" >"$NODES_CSV"

rss_stats() { # CLUSTER_DIR -> "mean max anon_mean" in KiB over the nodes
  local total=0 max=0 anon=0 n=0 kb an p st
  for p in "$1"/pids/node-*; do
    st=/proc/$(cat "$p")/status
    kb=$(awk '/^VmRSS:/ {print $2}' "$st" 2>/dev/null || echo 0)
    an=$(awk '/^RssAnon:/ {print $2}' "$st" 2>/dev/null || echo 0)
    total=$((total + kb)); anon=$((anon + an)); n=$((n + 1))
    [ "$kb" -gt "$max" ] && max=$kb
  done
  [ "$n" -gt 0 ] || n=1
  echo "$((total / n)) $max $((anon / n))"
}

json_field() { # JSON KEY -> value (numbers and flat objects only)
  /usr/bin/python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print(json.dumps(v) if isinstance(v,(dict,list)) else v)' "$1" "$2"
}

phase() { # NODES OP SIZE CONC COUNT
  local n=$1 op=$2 size=$3 conc=$4 count=$5 j
  j=$("$BIN/chordctl" --supernode "127.0.0.1:$BASE_PORT" --timeout 10s --json \
    bench --op "$op" --size "$size" --concurrency "$conc" --count "$count" \
    --names 500 --warmup 200 --latencies "$OUT/lat-$n-$op-$size-$conc.txt")
  printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,"%s",%s\n' "$n" "$op" "$size" "$conc" "$count" \
    "$(json_field "$j" ops_per_s)" "$(json_field "$j" p50_us)" "$(json_field "$j" p90_us)" \
    "$(json_field "$j" p99_us)" "$(json_field "$j" max_us)" \
    "$(json_field "$j" errors | tr -d '"')" "$(json_field "$j" mean_hops)" >>"$PHASES"
  echo "  $op ${size}B c=$conc: $(json_field "$j" ops_per_s) ops/s, p50 $(json_field "$j" p50_us) us, hops $(json_field "$j" mean_hops)"
}

# A failing phase ends the script (set -e): stop the cluster it left.
trap '[ -n "${CHORD_CLUSTER_DIR:-}" ] && ./scripts/cluster.sh stop >/dev/null 2>&1 || true' EXIT

for n in $SIZES; do
  dir="$OUT/cluster-$n"
  export CHORD_CLUSTER_DIR=$dir
  echo "== $n nodes"
  ./scripts/cluster.sh stop >/dev/null 2>&1 || true
  ./scripts/cluster.sh start -n "$((n - 1))" -p "$BASE_PORT" >/dev/null
  t0=$(date +%s%N)
  ./scripts/cluster.sh add >/dev/null
  wall=$(( ($(date +%s%N) - t0) / 1000000 ))
  last=$(ls -t "$dir"/logs/node-*.log | head -1)
  join_ms=$(sed -nE 's/.*joined the ring: .*\(([0-9]+) ms\).*/\1/p' "$last" | tail -1)
  sleep 1
  read -r idle_mean idle_max idle_anon < <(rss_stats "$dir")
  for size in 1024 65536; do
    for conc in 1 64; do
      count=$SEQ_COUNT; [ "$conc" -gt 1 ] && count=$PAR_COUNT
      phase "$n" write "$size" "$conc" "$count"
      phase "$n" read "$size" "$conc" "$count"
    done
  done
  phase "$n" ping 0 1 "$SEQ_COUNT"
  phase "$n" ping 0 64 "$PAR_COUNT"
  read -r load_mean load_max load_anon < <(rss_stats "$dir")
  echo "$n,$join_ms,$wall,$idle_mean,$idle_max,$idle_anon,$load_mean,$load_max,$load_anon" >>"$NODES_CSV"
  echo "  last join ${join_ms} ms (spawn to joined ${wall} ms); RSS idle ${idle_mean} KiB mean (${idle_anon} private), ${idle_max} max; after load ${load_mean} (${load_anon} private) / ${load_max}"
  ./scripts/cluster.sh stop >/dev/null
done
unset CHORD_CLUSTER_DIR

echo "== healing (repair after a SIGKILL, idle upkeep; see bench/heal.py)"
# shellcheck disable=SC2086
/usr/bin/python3 -W ignore "$ROOT/bench/heal.py" $HEAL_ARGS | tee "$OUT/heal.txt"

echo "== replication (R=1 vs R=3 writes, owner-dead reads, repair; see bench/replication.py)"
# shellcheck disable=SC2086
/usr/bin/python3 -W ignore "$ROOT/bench/replication.py" $REPL_ARGS | tee "$OUT/replication.txt"

echo "== TLS (plaintext vs mutual TLS and a token; see bench/tls.py)"
# shellcheck disable=SC2086
/usr/bin/python3 -W ignore "$ROOT/bench/tls.py" $TLS_ARGS | tee "$OUT/tls.txt"

echo "== chunked files (big-file MB/s and memory by ring size and window; see bench/chunks.py)"
# shellcheck disable=SC2086
/usr/bin/python3 -W ignore "$ROOT/bench/chunks.py" $CHUNK_ARGS | tee "$OUT/chunks.txt"

echo "== routing simulation"
"$BIN/chord-sim" --csv --load-out "$OUT/sim-load.dat" >"$OUT/sim.csv"
sed -n '1,/^$/p' "$OUT/sim.csv" | sed '/^$/d' >"$OUT/sim-hops.csv"
tail -1 "$OUT/sim.csv" >"$OUT/sim-load.csv"

echo "== plots and tables"
/usr/bin/python3 "$ROOT/bench/report.py" "$OUT"
(
  cd "$OUT"
  gnuplot "$ROOT/bench/plots.gp"
)
echo "bench: done in $(( $(date +%s) - started )) s; see $OUT/results.md and $OUT/*.png"
