#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Docker Swarm stack end to end. In each mode it deploys
# deploy/swarm/chord-stack.yml as a stack of its own (a supernode and 3
# nodes), waits for a ring of 3 with every task healthy, writes 60 files
# with chordctl from a one-off container on the stack's attachable
# network and reads them back, scales the nodes to 5 and reads every file
# back, scales them to 4 (the removed task must leave the ring and exit 0,
# and no other task may stop all along) and reads every file back again,
# then removes the stack and waits until its services, containers,
# network, volume and secrets are gone (on exit too, whatever happened).
# Every wait is bounded and every docker command runs under timeout; exit
# 0 only when all passed, with a one-line result and its timings. Modes:
#   plain  chord-stack.yml alone: plaintext, no token
#   tls    with chord-stack.tls.yml: mutual TLS and both tokens from swarm
#          secrets, made by scripts/make-certs.sh in a temporary directory;
#          also checks that chordctl is refused without the client token
#          (exit 6) and cannot reach the ring without TLS (exit 3)
#   tests/swarm/run.sh [MODE...]          (default: plain tls)
# When the engine is in no swarm, the test makes it a single-node one
# (docker swarm init --advertise-addr 127.0.0.1) and leaves it again at
# the end (docker swarm leave --force), unless services of others run in
# it by then. In a swarm it needs a manager and touches nothing but its
# own stack. Needs Docker (swarm mode; tested on 20.10) and openssl for
# the tls mode. The image is built only when missing (as
# tests/compose/run.sh builds it, making debian:bookworm-slim first when
# needed: root or sudo, debootstrap) or when CHORD_TEST_REBUILD=1.
# Environment: CHORD_IMAGE (chord:latest), CHORD_STORE (mem or dir),
# CHORD_TEST_MODES (plain tls; arguments win), CHORD_TEST_STACK
# (chordswarm), CHORD_SUBNET (the stack's overlay subnet; 10.231.250.0/24
# here, clear of a stack deployed with the default), CHORD_TEST_REBUILD=1,
# CHORD_BUILD_NETWORK (host; the network of the image build's RUN steps),
# CHORD_BASE_PULL=1, CHORD_TEST_KEEP_LOGS=1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

TEST_NAME=swarm
# shellcheck source=tests/docker-lib.sh
. "$ROOT/tests/docker-lib.sh"

export CHORD_SUBNET=${CHORD_SUBNET:-10.231.250.0/24}
export CHORD_NODES=3
unset CHORD_METRICS
STACK=${CHORD_TEST_STACK:-chordswarm}
STACK_FILES=(-c "$ROOT/deploy/swarm/chord-stack.yml")
NET=${STACK}_chord
SN_SERVICE=${STACK}_supernode
NODE_SERVICE=${STACK}_node
NS_LABEL=label=com.docker.stack.namespace=$STACK
CTL_LABEL=org.chord.swarm-test=$STACK # the one-off chordctl containers
FILES=60
NODES=3
SCALED=5
SHRUNK=4

parse_modes "$@"
case $STACK in
  *[!a-z0-9_-]* | '' | [_-]*)
    echo "swarm test: CHORD_TEST_STACK must be lowercase letters, digits," \
      "_ and - (not \"$STACK\")" >&2
    exit 2 ;;
esac

init_state docker.log
SWARM_INIT=0 # 1 when this script made the swarm (and so leaves it)
DEPLOYED=0
DEPLOY_TS= # when the stack was deployed, for `docker events --since`

# dk SECONDS ARGS...: one docker command, bounded, its output to the log.
dk() {
  local t=$1
  shift
  echo "+ docker $*" >>"$LOGS/docker.log"
  timeout "$t" docker "$@" >>"$LOGS/docker.log" 2>&1
}

# --- the engine and the swarm ------------------------------------------------
need_docker

# Removes the stack and whatever it left, and waits (bounded) until its
# services, containers, network, volumes and secrets are gone. Touches
# only what carries the stack's label (or the one-off containers' label).
teardown() {
  local ids deadline=$(( $(now_ms) + 120000 )) svcs ctrs nets secs
  echo "+ teardown" >>"$LOGS/docker.log"
  ids=$(timeout 30 docker ps -aq --filter "label=$CTL_LABEL" 2>/dev/null) ||
    ids=
  [ -z "$ids" ] || dk 60 rm -f $ids || true
  if [ "$(timeout 30 docker info -f '{{.Swarm.LocalNodeState}}' \
           2>/dev/null)" = active ]; then
    if [ -n "$(timeout 30 docker service ls -q --filter "$NS_LABEL" \
                 2>/dev/null)" ] ||
       [ -n "$(timeout 30 docker network ls -q --filter "$NS_LABEL" \
                 2>/dev/null)" ] ||
       [ -n "$(timeout 30 docker secret ls -q --filter "$NS_LABEL" \
                 2>/dev/null)" ]; then
      dk 60 stack rm "$STACK" || true
    fi
    while :; do
      svcs=$(timeout 30 docker service ls -q --filter "$NS_LABEL" \
               2>/dev/null || echo "?")
      ctrs=$(timeout 30 docker ps -aq --filter "$NS_LABEL" 2>/dev/null ||
               echo "?")
      nets=$(timeout 30 docker network ls -q --filter "$NS_LABEL" \
               2>/dev/null || echo "?")
      secs=$(timeout 30 docker secret ls -q --filter "$NS_LABEL" \
               2>/dev/null || echo "?")
      [ -z "$svcs$ctrs$nets$secs" ] && break
      if [ "$(now_ms)" -ge $deadline ]; then
        echo "swarm-test: the stack $STACK is not gone after 120s" \
          "(services: ${svcs:-none}; containers: ${ctrs:-none};" \
          "networks: ${nets:-none}; secrets: ${secs:-none})" |
          tr '\n' ' ' >&2
        echo >&2
        return 1
      fi
      # The manager removes the network once the tasks are gone; when
      # stack rm came too early for that (or for the secrets), remove
      # them here.
      if [ -z "$svcs$ctrs" ]; then
        [ -z "$nets" ] || [ "$nets" = "?" ] || dk 30 network rm $nets || true
        [ -z "$secs" ] || [ "$secs" = "?" ] || dk 30 secret rm $secs || true
      fi
      sleep 1
    done
  fi
  # Named volumes outlive `stack rm` (the dir store's files).
  ids=$(timeout 30 docker volume ls -q --filter "$NS_LABEL" 2>/dev/null) ||
    ids=
  [ -z "$ids" ] || dk 60 volume rm $ids || {
    echo "swarm-test: cannot remove the volumes $ids" >&2
    return 1
  }
}

# Leaves the swarm when this script made it, and nothing else runs in it.
leave_swarm() {
  local others
  [ "$SWARM_INIT" = 1 ] || return 0
  others=$(timeout 30 docker service ls -q 2>/dev/null) || others="?"
  if [ -n "$others" ]; then
    echo "swarm-test: staying in the swarm this test made: other services" \
      "run in it now" >&2
    return 0
  fi
  dk 60 swarm leave --force || {
    echo "swarm-test: docker swarm leave --force failed" >&2
    return 1
  }
}

# cluster_logs: the services' tasks and their logs (the last 30 lines of
# each task, merged in time order) to the log directory, and the tail of
# that to stdout.
cluster_logs() {
  local s
  for s in "$SN_SERVICE" "$NODE_SERVICE"; do
    echo "---- docker service ps $s"
    timeout 30 docker service ps --no-trunc --format \
      '{{.Name}} {{.DesiredState}} {{.CurrentState}} {{.Error}}' "$s" 2>&1 ||
      true
  done >"$LOGS/tasks.log"
  for s in "$SN_SERVICE" "$NODE_SERVICE"; do
    timeout 30 docker service logs --no-trunc --timestamps --tail 30 "$s" \
      2>&1 || true
  done | sort -s -k1,1 >"$LOGS/cluster.log"
  echo "---- tasks ($LOGS/tasks.log)"
  tail -n 20 "$LOGS/tasks.log"
  echo "---- service logs, last lines ($LOGS/cluster.log)"
  cut -d' ' -f2- "$LOGS/cluster.log" | tail -n 40
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [ $rc -ne 0 ]; then
    failed_result $rc
    [ "$DEPLOYED" = 0 ] || cluster_logs
  fi
  if ! teardown; then
    [ $rc -ne 0 ] || { rc=1; RESULT="FAILED at teardown"; }
  fi
  if ! leave_swarm; then
    [ $rc -ne 0 ] || { rc=1; RESULT="FAILED at leaving the swarm"; }
  fi
  [ -z "$CERTS" ] || rm -rf "$CERTS"
  if [ $rc -eq 0 ]; then
    RESULT="PASSED"
    [ "${CHORD_TEST_KEEP_LOGS:-0}" = 1 ] || rm -rf "$LOGS"
  else
    echo "swarm-test: logs kept in $LOGS"
  fi
  result_line
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STEP="swarm"
state=$(timeout 30 docker info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null) ||
  fail "docker info failed"
case $state in
  inactive)
    say "the engine is in no swarm: docker swarm init --advertise-addr" \
      "127.0.0.1 (left again at the end)"
    # Its output, the join tokens, goes nowhere; errors to the log.
    echo "+ docker swarm init --advertise-addr 127.0.0.1" >>"$LOGS/docker.log"
    SWARM_INIT=1
    timeout 60 docker swarm init --advertise-addr 127.0.0.1 >/dev/null \
      2>>"$LOGS/docker.log" || {
      # Cut short, it may still have made the swarm: leave it then.
      [ "$(timeout 30 docker info -f '{{.Swarm.LocalNodeState}}' \
             2>/dev/null)" = active ] || SWARM_INIT=0
      fail "docker swarm init failed (see $LOGS/docker.log)"
    } ;;
  active)
    [ "$(timeout 30 docker info -f '{{.Swarm.ControlAvailable}}')" = true ] ||
      fail "this engine is a swarm worker; run the test on a manager" ;;
  *) fail "the engine's swarm state is \"$state\", not active or inactive" ;;
esac

# --- the image ---------------------------------------------------------------
if [ "${CHORD_TEST_REBUILD:-0}" = 1 ] ||
   ! timeout 30 docker image inspect "$CHORD_IMAGE" >/dev/null 2>&1; then
  build_image
else
  say "using the existing image $CHORD_IMAGE (CHORD_TEST_REBUILD=1 rebuilds)"
fi

# --- the cluster, seen from inside -------------------------------------------
# supernode_ctr: the id of the supernode task's running container.
supernode_ctr() {
  timeout 20 docker ps -q --filter status=running \
    --filter "label=com.docker.swarm.service.name=$SN_SERVICE" 2>/dev/null |
    head -n 1
}

# ring_size: "JOINED COUNT UNREACHABLE" as the supernode and the members
# tell it (`chordctl --json ring` in the supernode's container); "0" alone
# when it cannot be asked yet.
ring_size() {
  local j= c
  c=$(supernode_ctr) || c=
  [ -z "$c" ] ||
    j=$(timeout 20 docker exec "$c" chordctl --json --timeout 3s ring \
          2>/dev/null) || j=
  ring_counts "$j"
}

# replicas SERVICE: "RUNNING/DESIRED" as `docker service ls` shows them.
replicas() {
  timeout 20 docker service ls --filter "name=$1" \
    --format '{{.Name}} {{.Replicas}}' 2>/dev/null |
    awk -v s="$1" '$1 == s { print $2 }'
}

# wait_cluster N SECONDS: until the supernode lists exactly N members,
# all reachable and joined, and swarm counts N of N node tasks running
# (after their health checks) and the supernode's 1 of 1.
wait_cluster() {
  local n=$1 deadline=$(( $(now_ms) + $2 * 1000 )) joined=0 count= down=
  local nodes= sn=
  while [ "$(now_ms)" -lt $deadline ]; do
    read -r joined count down <<<"$(ring_size)"
    nodes=$(replicas "$NODE_SERVICE")
    sn=$(replicas "$SN_SERVICE")
    if [ "$joined" = "$n" ] && [ "${count:-0}" = "$n" ] &&
       [ "${down:-1}" = 0 ] && [ "${nodes%% *}" = "$n/$n" ] &&
       [ "${sn%% *}" = 1/1 ]; then
      return 0
    fi
    sleep 0.5
  done
  fail "no ring of $n within $2s (last: $joined joined of ${count:-?}," \
    "${down:-?} unreachable; node tasks ${nodes:-?}, supernode ${sn:-?})"
}

# deaths SINCE: "TASK EXITCODE" for every container of the stack that
# stopped since the Unix time SINCE (`docker events`, up to now).
deaths() {
  timeout 30 docker events --since "$1" --until "$(date +%s.%N)" \
    --filter type=container --filter event=die --filter "$NS_LABEL" \
    --format '{{index .Actor.Attributes "com.docker.swarm.task.name"}} {{index .Actor.Attributes "exitCode"}}'
}

# The options of a one-off chordctl container: on the stack's network,
# labelled (teardown finds it if a timeout left it behind), in the tls
# mode with the client's certificate and the client token.
CTL_OPTS=(--rm --network "$NET" --no-healthcheck --label "$CTL_LABEL"
  -e CHORD_SUPERNODE=supernode:7000)
CTL_PLAIN=("${CTL_OPTS[@]}")

# --- the tls mode's checks ---------------------------------------------------
# The certificates (make_certs) are read by chord-stack.tls.yml
# (CHORD_CERTS) into swarm secrets and mounted into the one-off chordctl
# containers. The checks: with the client token chordctl lists the ring
# and reads, without a token it is refused (6), without TLS it cannot
# connect (3).
TLS_SCRIPT=$(tls_script '
check 0 "ring with the client token" chordctl ring
check 0 "read with the client token" chordctl read swarm/file-1
check 6 "read without a token" env -u CHORD_TOKEN_FILE \
  chordctl read swarm/file-1
check 3 "ring without TLS" env -u CHORD_TLS_CERT -u CHORD_TLS_KEY \
  -u CHORD_TLS_CA -u CHORD_TLS_SERVER_NAME chordctl --timeout 3s ring')

# --- the stack ---------------------------------------------------------------
# scale N: the node service scaled to N tasks (not waiting for them).
scale() {
  STEP="scale to $1"
  dk 60 service scale --detach "$NODE_SERVICE=$1" ||
    fail "docker service scale $NODE_SERVICE=$1 failed"
}

# cluster_ready N SECONDS START_NS FIGURE SAID AFTER: wait_cluster N
# SECONDS, then the figure "MODE: FIGURE Ts" and the line "SAID (Ts after
# AFTER)", T the seconds since START_NS.
cluster_ready() {
  local s
  wait_cluster "$1" "$2"
  s=$(secs_since "$3")
  FIGURES+=("$MODE: $4 ${s}s")
  say "$5 (${s}s after $6)"
}

# read_on N: every file read back on the ring of N nodes.
read_on() {
  STEP="read on $1 nodes"
  files read
}

# run_mode plain|tls: the whole sequence on a new stack, which it removes
# at the end.
run_mode() {
  local t0=$(date +%s%N) t files=("${STACK_FILES[@]}") since gone task code
  local slot others deadline
  MODE=$1
  CTL_OPTS=("${CTL_PLAIN[@]}")
  if [ "$MODE" = tls ]; then
    STEP="certificates"
    # shellcheck disable=SC2119 # one CA only
    [ -n "$CERTS" ] || make_certs
    files+=(-c "$ROOT/deploy/swarm/chord-stack.tls.yml")
    CTL_OPTS+=(-v "$CERTS:/etc/chord/tls:ro"
      -e CHORD_TLS_CA=/etc/chord/tls/ca.pem -e CHORD_TLS_SERVER_NAME=chord
      -e CHORD_TLS_CERT=/etc/chord/tls/client.pem
      -e CHORD_TLS_KEY=/etc/chord/tls/client.key
      -e CHORD_TOKEN_FILE=/etc/chord/tls/client-token)
  fi
  CTL_SH=(docker run "${CTL_OPTS[@]}" --entrypoint sh "$CHORD_IMAGE")
  say "== mode $MODE"

  STEP="clean state"
  teardown || fail "a previous stack $STACK could not be removed"

  STEP="deploy"
  say "deploying the stack $STACK: supernode + $NODES nodes" \
    "($CHORD_STORE store, subnet $CHORD_SUBNET)"
  t=$(date +%s%N)
  DEPLOY_TS=$(date +%s)
  DEPLOYED=1
  dk 120 stack deploy --resolve-image never "${files[@]}" "$STACK" ||
    fail "docker stack deploy failed (see $LOGS/docker.log)"
  STEP="ring of $NODES"
  cluster_ready $NODES 150 "$t" "deploy to ring of $NODES" \
    "ring of $NODES ready, tasks healthy" deploy

  STEP="write $FILES files"
  files write
  read_on $NODES

  if [ "$MODE" = tls ]; then
    STEP="tokens and TLS"
    tls_checks
  fi

  t=$(date +%s%N)
  scale $SCALED
  cluster_ready $SCALED 150 "$t" "scale $NODES to $SCALED" \
    "ring of $SCALED ready" scaling
  read_on $SCALED

  t=$(date +%s%N)
  since=$(date +%s)
  scale $SHRUNK
  wait_cluster $SHRUNK 90
  # The removed task's container stops after its leave: it must exit 0,
  # within the stop grace period (30s).
  deadline=$(( $(now_ms) + 60000 ))
  gone=
  while [ "$(now_ms)" -lt $deadline ]; do
    gone=$(deaths "$since" | grep "^$NODE_SERVICE\\." || true)
    [ -z "$gone" ] || break
    sleep 1
  done
  [ -n "$gone" ] || fail "no node task stopped within 60s of scaling down"
  [ "$(wc -l <<<"$gone")" = 1 ] ||
    fail "more than one node task stopped: $(tr '\n' ';' <<<"$gone")"
  read -r task code <<<"$gone"
  [ "$code" = 0 ] || fail "$task exited $code, not 0 (graceful leave)"
  slot=${task#"$NODE_SERVICE".}
  slot=${slot%%.*}
  FIGURES+=("$MODE: scale $SCALED to $SHRUNK $(secs_since "$t")s (node.$slot left, exit 0)")
  say "task $task left the ring and exited 0" \
    "($(secs_since "$t")s after scaling)"
  read_on $SHRUNK

  STEP="task history"
  # Nothing else stopped since the deploy: no crash, no restart.
  others=$(deaths "$DEPLOY_TS" | grep -v "^$task 0\$" || true)
  [ -z "$others" ] ||
    fail "tasks stopped that should not have: $(tr '\n' ';' <<<"$others")"

  STEP="stack rm"
  t=$(date +%s%N)
  DEPLOYED=0
  teardown || fail "the stack was not removed"
  FIGURES+=("$MODE: stack rm $(secs_since "$t")s")
  FIGURES+=("$MODE mode $(secs_since "$t0")s")
  say "mode $MODE passed ($(secs_since "$t0")s)"
}

for m in "${MODES[@]}"; do
  run_mode "$m"
done
FIGURES+=("$FILES files written, read back on $NODES, $SCALED and $SHRUNK nodes in each mode")
STEP="done"
MODE=
