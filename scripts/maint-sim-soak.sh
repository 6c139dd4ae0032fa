#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Soak test of Zave's maintenance rules: builds chord-maint-sim, runs SEEDS
# seeds (default 100000) in JOBS parallel chunks and prints the summary.
#   maint-sim-soak.sh [SIM_ARGS...]   (default: --nodes 32 --events 32)
#   env: SEEDS, START (first seed, 1), JOBS (2), BUILD (build-sim)
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS=${SEEDS:-100000}
START=${START:-1}
JOBS=${JOBS:-2}
BUILD=${BUILD:-build-sim}
if [ $# -eq 0 ]; then
  set -- --nodes 32 --events 32
fi

cmake -S . -B "$BUILD" -DCHORD_WERROR=ON >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target chord-maint-sim >/dev/null
bin="$BUILD/bin/chord-maint-sim"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chunk=$(((SEEDS + JOBS - 1) / JOBS))
began=$(date +%s)
pids=()
for ((j = 0; j < JOBS; j++)); do
  n=$((SEEDS - j * chunk))
  [ "$n" -gt "$chunk" ] && n=$chunk
  [ "$n" -le 0 ] && break
  "$bin" --seed $((START + j * chunk)) --seeds "$n" --raw "$@" \
    >"$tmp/out.$j" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done

cat "$tmp"/out.* | grep -E '^(FAIL|replay|  node)' | head -40 || true
# Per seed: "seed S ok|FAIL succ A fingers B".
cat "$tmp"/out.* | grep '^seed ' >"$tmp/seeds" || true
runs=$(wc -l <"$tmp/seeds")
fails=$(grep -vc ' ok ' "$tmp/seeds" || true)
echo "soak ($*): seeds $START..$((START + SEEDS - 1)), runs $runs," \
  "failures $fails, $(($(date +%s) - began)) s"
# Prints the median, p99 and max of column $2 over the good runs.
stats() {
  awk -v c="$2" '$3 == "ok" { print $c }' "$tmp/seeds" | sort -n | awk -v w="$1" '
    { v[NR] = $1 }
    END { if (NR == 0) { print "  " w ": no successful run"; exit }
          p = int((99 * NR + 99) / 100)
          printf "  rounds to ideal %s: median %d, p99 %d, max %d\n", w,
                 v[int((NR + 1) / 2)], v[p], v[NR] }'
}
stats successors 5
stats fingers 7
exit $status
