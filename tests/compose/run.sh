#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The compose cluster end to end: builds the image, then in each mode
# starts a supernode and 3 nodes from a clean state, writes 100 files with
# chordctl in a container, scales to 5 nodes and reads every file back,
# stops one node and reads every file back again, then removes everything
# (down -v), whatever happened. Every wait is bounded; exit 0 only when
# all passed. The modes:
#   plain  docker-compose.yml alone: plaintext, no token
#   tls    with docker-compose.tls.yml: mutual TLS and both tokens, from
#          certificates made by scripts/make-certs.sh in a temporary
#          directory; also checks that chordctl is refused without the
#          client token or with a wrong one (exit 6), and that it cannot
#          reach the cluster without a client certificate or with one from
#          another CA (exit 3)
#   tests/compose/run.sh [MODE...]          (default: plain tls)
# Needs Docker with `docker compose` or `docker-compose`, and openssl for
# the tls mode. Without debian:bookworm-slim it is made from Debian's
# packages first (scripts/make-base-image.sh: root or sudo, debootstrap);
# set CHORD_BASE_PULL=1 to pull it from the registry instead.
# Environment: CHORD_IMAGE (chord:latest), CHORD_STORE (mem or dir),
# CHORD_TEST_MODES (plain tls; arguments win), CHORD_TEST_PROJECT
# (chordtest), CHORD_BUILD_NETWORK (host; the network of the image build's
# RUN steps), CHORD_TEST_KEEP_LOGS=1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

TEST_NAME=compose
# shellcheck source=tests/docker-lib.sh
. "$ROOT/tests/docker-lib.sh"

PROJECT=${CHORD_TEST_PROJECT:-chordtest}
FILES=100
NODES=3
SCALED=5

parse_modes "$@"
init_state compose.log

# --- docker and compose ------------------------------------------------------
need_docker
if timeout 30 docker compose version >/dev/null 2>&1; then
  DC=(docker compose)
elif command -v docker-compose >/dev/null; then
  DC=(docker-compose)
else
  echo "compose test: FAILED: neither \`docker compose\` nor" \
    "docker-compose found"
  exit 1
fi
DC+=(-p "$PROJECT" -f "$ROOT/docker-compose.yml")
DC_PLAIN=("${DC[@]}")

# compose SECONDS ARGS...: one compose command, bounded, output to the log.
compose() {
  local t=$1
  shift
  echo "+ ${DC[*]} $*" >>"$LOGS/compose.log"
  timeout "$t" "${DC[@]}" "$@" >>"$LOGS/compose.log" 2>&1
}

# Removes every container, network and volume of the project.
teardown() {
  local ids label="label=com.docker.compose.project=$PROJECT"
  echo "+ teardown" >>"$LOGS/compose.log"
  timeout 120 "${DC[@]}" down -v --remove-orphans -t 10 \
    >>"$LOGS/compose.log" 2>&1 || true
  # Left over when a command was cut short (run containers, a hung down).
  ids=$(docker ps -aq --filter "$label")
  [ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1 || true
  ids=$(docker network ls -q --filter "$label")
  [ -z "$ids" ] || docker network rm $ids >/dev/null 2>&1 || true
  ids=$(docker volume ls -q --filter "$label")
  [ -z "$ids" ] || docker volume rm $ids >/dev/null 2>&1 || true
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [ $rc -ne 0 ]; then
    failed_result $rc
    echo "---- cluster logs ($LOGS/cluster.log)"
    timeout 60 "${DC[@]}" logs --no-color --tail 30 >"$LOGS/cluster.log" \
      2>&1 || true
    tail -n 40 "$LOGS/cluster.log"
  fi
  teardown
  [ -z "$CERTS" ] || rm -rf "$CERTS"
  if [ $rc -eq 0 ]; then
    RESULT="PASSED"
    [ "${CHORD_TEST_KEEP_LOGS:-0}" = 1 ] || rm -rf "$LOGS"
  fi
  result_line
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ring_size: "JOINED COUNT UNREACHABLE" as the supernode and the members
# tell it (`chordctl --json ring`); "0" alone when it cannot be asked yet.
ring_size() {
  local j
  j=$(timeout 20 "${DC[@]}" exec -T supernode \
        chordctl --json --timeout 3s ring 2>/dev/null) || j=
  ring_counts "$j"
}

# wait_ring N SECONDS: until the supernode lists exactly N members, all
# reachable and joined.
wait_ring() {
  local n=$1 deadline=$(( $(now_ms) + $2 * 1000 )) joined=0 count= down=
  while [ "$(now_ms)" -lt $deadline ]; do
    read -r joined count down <<<"$(ring_size)"
    if [ "$joined" = "$n" ] && [ "${count:-0}" = "$n" ] &&
       [ "${down:-1}" = 0 ]; then
      return 0
    fi
    sleep 0.3
  done
  fail "no ring of $n within $2s (last: $joined joined of ${count:-?}," \
    "${down:-?} unreachable)"
}

# wait_healthy SECONDS: until every running container of the project
# reports healthy through its HEALTHCHECK (chordctl health).
wait_healthy() {
  local deadline=$(( $(now_ms) + $1 * 1000 )) ids states=
  while [ "$(now_ms)" -lt $deadline ]; do
    ids=$(docker ps -q --filter "label=com.docker.compose.project=$PROJECT")
    states=$(docker inspect -f '{{.State.Health.Status}}' $ids 2>/dev/null |
               sort | uniq -c | tr -s ' \n' ' ') || states=
    [ -n "$ids" ] && [ "$(wc -w <<<"$states")" = 2 ] &&
      grep -q ' healthy $' <<<"$states" && return 0
    sleep 1
  done
  fail "containers not healthy within $1s:${states:- none running}"
}

# --- the image ---------------------------------------------------------------
build_image
FIGURES+=("image $(timeout 30 docker image inspect -f '{{.Size}}' "$CHORD_IMAGE" |
  awk '{ printf "%.0f MB", $1 / 1e6 }')")

# --- the tls mode's checks ---------------------------------------------------
# The certificates (make_certs other) are mounted read-only at
# /etc/chord/tls, another CA's in /etc/chord/tls/other for the refused
# client. The checks: what chordctl may and may not do.
# shellcheck disable=SC2016 # expanded by the container's sh
TLS_SCRIPT=$(tls_script '
printf "not-the-token\n" >/tmp/wrong-token
other=/etc/chord/tls/other
check 0 "ring with the client token" chordctl ring
check 0 "read with the client token" chordctl read compose/file-1
check 6 "ring without a token" env -u CHORD_TOKEN_FILE chordctl ring
check 6 "read without a token" env -u CHORD_TOKEN_FILE \
  chordctl read compose/file-1
check 6 "ring with a wrong token" \
  chordctl --token-file /tmp/wrong-token ring
check 6 "read with a wrong token" \
  chordctl --token-file /tmp/wrong-token read compose/file-1
check 3 "ring without TLS" env -u CHORD_TLS_CERT -u CHORD_TLS_KEY \
  -u CHORD_TLS_CA -u CHORD_TLS_SERVER_NAME chordctl --timeout 3s ring
check 3 "ring with a client certificate of another CA" \
  chordctl --timeout 3s --tls-cert $other/client.pem \
  --tls-key $other/client.key ring')

# --- the cluster -------------------------------------------------------------
# run_mode plain|tls: the whole sequence on a new cluster, which it
# removes at the end.
run_mode() {
  local t0=$(date +%s%N) t victim name code what
  MODE=$1
  DC=("${DC_PLAIN[@]}")
  if [ "$MODE" = tls ]; then
    STEP="certificates"
    [ -n "$CERTS" ] || make_certs other
    DC+=(-f "$ROOT/docker-compose.tls.yml")
  fi
  CTL_SH=("${DC[@]}" run --rm -T --entrypoint sh ctl)
  say "== mode $MODE"

  STEP="clean state"
  teardown

  STEP="up"
  say "up: supernode + $NODES nodes ($CHORD_STORE store)"
  t=$(date +%s%N)
  compose 180 up -d --no-build || fail "compose up failed"
  STEP="ring of $NODES"
  wait_ring $NODES 90
  FIGURES+=("$MODE: ring of $NODES ready $(secs_since "$t")s after up")
  say "ring of $NODES ready ($(secs_since "$t")s after up)"

  STEP="health checks"
  t=$(date +%s%N)
  wait_healthy 60
  say "supernode and nodes healthy ($(secs_since "$t")s more)"

  STEP="write $FILES files"
  files write

  if [ "$MODE" = tls ]; then
    STEP="tokens and certificates"
    tls_checks
  fi

  STEP="scale to $SCALED"
  t=$(date +%s%N)
  compose 180 up -d --no-build --no-recreate --scale node=$SCALED ||
    fail "compose up --scale node=$SCALED failed"
  wait_ring $SCALED 90
  say "ring of $SCALED ready ($(secs_since "$t")s after scaling)"
  STEP="read on $SCALED nodes"
  files read

  STEP="stop one node"
  # compose stop takes whole services; one replica is stopped as compose
  # would stop it: SIGTERM, then SIGKILL after the grace period.
  victim=$(timeout 30 "${DC[@]}" ps -q node 2>/dev/null | sed -n 2p)
  [ -n "$victim" ] || fail "no node container to stop"
  name=$(docker inspect -f '{{.Name}}' "$victim")
  t=$(date +%s%N)
  timeout 60 docker stop -t 30 "$victim" >/dev/null || fail "cannot stop $name"
  code=$(docker inspect -f '{{.State.ExitCode}}' "$victim")
  [ "$code" = 0 ] || fail "${name#/} exited $code, not 0 (graceful leave)"
  wait_ring $((SCALED - 1)) 60
  say "stopped ${name#/}: left the ring, exit 0 ($(secs_since "$t")s)"
  STEP="read after the stop"
  files read

  STEP="down"
  teardown
  what="$FILES files read back on $SCALED nodes and after a stop"
  [ "$MODE" = plain ] || what+=", tokens and certificates checked"
  FIGURES+=("$MODE: $what")
  FIGURES+=("$MODE mode $(secs_since "$t0")s")
  say "mode $MODE passed ($(secs_since "$t0")s)"
}

for m in "${MODES[@]}"; do
  run_mode "$m"
done
STEP="done"
MODE=
