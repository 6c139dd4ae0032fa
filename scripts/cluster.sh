#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Manages a local chord cluster on 127.0.0.1 for development and benchmarks.
#   cluster.sh start [-n NODES] [-p BASE_PORT] [-s mem|dir] [-m METRICS_PORT]
#                    [-- NODE_ARGS...]
#                                  -m: Prometheus metrics on METRICS_PORT
#                                  (supernode) and METRICS_PORT+i (node i)
#   cluster.sh add                 one more node
#   cluster.sh stop                stops every process it started, by PID
#   cluster.sh status              the processes and the ring
# State and logs live in $CHORD_CLUSTER_DIR (default ./.cluster).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CHORD_BIN:-$ROOT/build/bin}
DIR=${CHORD_CLUSTER_DIR:-$ROOT/.cluster}

die() { echo "cluster.sh: $*" >&2; exit 1; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_port() { # PORT PIDFILE: until the port answers or the process died
  for _ in $(seq 1 200); do
    alive "$2" || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

wait_joined() { # ADDR: until Status says joined
  for _ in $(seq 1 300); do
    if "$BIN/chordctl" --timeout 1s --json status "$1" 2>/dev/null |
        grep -q '"joined": *true'; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

start_node() { # INDEX
  local i=$1 port=$(( $(cat "$DIR/base_port") + $1 ))
  local args=(--listen "127.0.0.1:$port" --supernode "$(cat "$DIR/supernode")")
  if [ "$(cat "$DIR/store")" = dir ]; then
    mkdir -p "$DIR/data/node-$i"
    args+=(--store dir --data-dir "$DIR/data/node-$i")
  fi
  if [ -s "$DIR/metrics_port" ]; then
    args+=(--metrics-listen "127.0.0.1:$(( $(cat "$DIR/metrics_port") + i ))")
  fi
  # shellcheck disable=SC2046
  "$BIN/chord-node" "${args[@]}" $(cat "$DIR/node_args") \
    >>"$DIR/logs/node-$i.log" 2>&1 &
  echo $! >"$DIR/pids/node-$i"
  wait_port "$port" "$DIR/pids/node-$i" ||
    die "node $i did not start: see $DIR/logs/node-$i.log"
  wait_joined "127.0.0.1:$port" ||
    die "node $i did not join: see $DIR/logs/node-$i.log"
  echo "node $i: 127.0.0.1:$port (pid $(cat "$DIR/pids/node-$i"))"
}

cmd_start() {
  local n=3 base=7000 store=mem metrics=
  local sn_args=()
  while [ $# -gt 0 ]; do
    case $1 in
      -n) n=$2; shift 2 ;;
      -m) metrics=$2; shift 2 ;;
      -p) base=$2; shift 2 ;;
      -s) store=$2; shift 2 ;;
      --) shift; break ;;
      *) die "unknown option $1" ;;
    esac
  done
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || die "-n takes a node count"
  [ -z "$metrics" ] || [[ $metrics =~ ^[0-9]+$ ]] || die "-m takes a port"
  [ -x "$BIN/chord-node" ] || die "no binaries in $BIN: run scripts/build.sh"
  if [ -d "$DIR/pids" ] && ls "$DIR"/pids/* >/dev/null 2>&1; then
    for p in "$DIR"/pids/*; do
      alive "$p" && die "a cluster is already running in $DIR (cluster.sh stop)"
    done
  fi
  rm -rf "$DIR/pids" "$DIR/logs"
  mkdir -p "$DIR/pids" "$DIR/logs"
  echo "$base" >"$DIR/base_port"
  echo "$store" >"$DIR/store"
  echo "$metrics" >"$DIR/metrics_port"
  [ -z "$metrics" ] || sn_args=(--metrics-listen "127.0.0.1:$metrics")
  echo "$*" >"$DIR/node_args"
  echo "127.0.0.1:$base" >"$DIR/supernode"
  "$BIN/chord-supernode" --listen "127.0.0.1:$base" "${sn_args[@]}" \
    >>"$DIR/logs/supernode.log" 2>&1 &
  echo $! >"$DIR/pids/supernode"
  wait_port "$base" "$DIR/pids/supernode" ||
    die "the supernode did not start: see $DIR/logs/supernode.log"
  echo "supernode: 127.0.0.1:$base (pid $(cat "$DIR/pids/supernode"))"
  for i in $(seq 1 "$n"); do start_node "$i"; done
}

cmd_add() {
  [ -f "$DIR/base_port" ] || die "no cluster in $DIR"
  local i=1
  while [ -f "$DIR/pids/node-$i" ] && alive "$DIR/pids/node-$i"; do i=$((i + 1)); done
  start_node "$i"
}

cmd_stop() {
  [ -d "$DIR/pids" ] || return 0
  local p
  # Other helpers first (demo.sh's ring page), then the nodes (each hands
  # its files on), then the supernode.
  for p in "$DIR"/pids/extra-* "$DIR"/pids/node-* "$DIR/pids/supernode"; do
    [ -f "$p" ] || continue
    if alive "$p"; then
      kill -TERM "$(cat "$p")" 2>/dev/null || true
      for _ in $(seq 1 100); do alive "$p" || break; sleep 0.05; done
      alive "$p" && kill -KILL "$(cat "$p")" 2>/dev/null || true
    fi
    rm -f "$p"
  done
  echo "stopped (logs in $DIR/logs)"
}

cmd_status() {
  [ -d "$DIR/pids" ] || die "no cluster in $DIR"
  local p
  for p in "$DIR"/pids/*; do
    [ -f "$p" ] || continue
    if alive "$p"; then s=running; else s=dead; fi
    printf '%-12s pid %-8s %s\n' "$(basename "$p")" "$(cat "$p")" "$s"
  done
  "$BIN/chordctl" --supernode "$(cat "$DIR/supernode")" ring || true
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  add) cmd_add ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: cluster.sh start [-n N] [-p PORT] [-s mem|dir] [-m PORT] [-- NODE_ARGS] | add | stop | status" >&2; exit 2 ;;
esac
