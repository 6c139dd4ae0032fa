#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The one-command local demo: installs what is missing, builds, starts a
# supernode and N nodes (default 3) on 127.0.0.1, writes a file, reads it
# back, prints the ring, and keeps the cluster up until Ctrl-C, with the
# live ring page (chordctl serve) on BASE_PORT+80 and Prometheus metrics
# on BASE_PORT+100 (supernode) and BASE_PORT+100+i (node i). With
# --tls, every process runs with mutual TLS and a cluster token
# (certificates from scripts/make-certs.sh in $CHORD_CLUSTER_DIR/certs).
#   demo.sh [--tls] [NODES] [BASE_PORT]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TLS=0
if [ "${1:-}" = "--tls" ]; then
  TLS=1
  shift
fi
NODES=${1:-3}
PORT=${2:-7000}
export CHORD_CLUSTER_DIR=${CHORD_CLUSTER_DIR:-$ROOT/.cluster}

echo "== installing dependencies and building"
./scripts/build.sh
CTL="$ROOT/build/bin/chordctl --supernode 127.0.0.1:$PORT"
if [ "$TLS" = 1 ]; then
  certs=$CHORD_CLUSTER_DIR/certs
  echo "== making a CA, certificates and a token in $certs"
  mkdir -p "$CHORD_CLUSTER_DIR"
  ./scripts/make-certs.sh --force "$certs" >/dev/null
  # Inherited by every daemon cluster.sh starts, and by chordctl here.
  export CHORD_TLS_CERT=$certs/node.pem CHORD_TLS_KEY=$certs/node.key \
    CHORD_TLS_CA=$certs/ca.pem CHORD_TOKEN_FILE=$certs/token
fi

cleanup() { ./scripts/cluster.sh stop; }
trap cleanup EXIT
trap 'exit 0' INT TERM

METRICS=$((PORT + 100)) # the supernode's; node i's is METRICS + i
PAGE=127.0.0.1:$((PORT + 80))
echo "== starting a supernode and $NODES nodes (metrics on ports $METRICS-$((METRICS + NODES)))"
./scripts/cluster.sh start -n "$NODES" -p "$PORT" -m "$METRICS"
echo "== the live ring page on http://$PAGE/ (chordctl serve)"
$CTL serve --listen "$PAGE" >>"$CHORD_CLUSTER_DIR/logs/serve.log" 2>&1 &
echo $! >"$CHORD_CLUSTER_DIR/pids/extra-serve" # cluster.sh stop ends it

echo "== writing hello.txt through a random node"
echo "Hello from chord, $(date -u +%FT%TZ)" | $CTL write hello.txt
echo "== reading it back"
$CTL read hello.txt
echo "== where it lives"
$CTL lookup hello.txt
echo "== a 24 MiB file, stored as chunks spread over the ring, read back and checked"
big=$(mktemp)
head -c 24M /dev/urandom >"$big"
$CTL write big.bin "$big"
$CTL read big.bin -o "$big.out"
cmp "$big" "$big.out" && echo "identical ($(sha256sum <"$big" | cut -c1-16)...)"
rm -f "$big" "$big.out"
echo "== the ring"
$CTL ring

cat <<EOT

The cluster is running (logs in $CHORD_CLUSTER_DIR/logs).
  The ring, live:   http://$PAGE/
  Metrics:          curl -s 127.0.0.1:$METRICS/metrics   (node i: port $METRICS + i)
Try, in another shell:
  export CHORD_SUPERNODE=127.0.0.1:$PORT${CHORD_TLS_CA:+
  export CHORD_TLS_CERT=$certs/client.pem CHORD_TLS_KEY=$certs/client.key CHORD_TLS_CA=$CHORD_TLS_CA CHORD_TOKEN_FILE=$CHORD_TOKEN_FILE}
  $ROOT/build/bin/chordctl write notes.txt /etc/os-release
  $ROOT/build/bin/chordctl read notes.txt
  head -c 1G /dev/urandom | $ROOT/build/bin/chordctl write big.img   # chunked, with progress
  $ROOT/build/bin/chordctl read big.img -o big.img
  $ROOT/build/bin/chordctl lookup notes.txt
  $ROOT/build/bin/chordctl ring
  $ROOT/build/bin/chordctl status 127.0.0.1:$((PORT + 1))
  $ROOT/build/bin/chordctl delete notes.txt
  $ROOT/scripts/cluster.sh add        # one more node joins
Press Ctrl-C to stop every process this demo started.
EOT
while true; do sleep 1; done
