# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# What the Docker end-to-end tests (tests/compose/run.sh and
# tests/swarm/run.sh) share; sourced by both after `set -euo pipefail`.
# It offers:
#   parse_modes ARGS...     MODES from ARGS or CHORD_TEST_MODES (plain tls);
#                           exits 2 on an unknown one
#   init_state LOGNAME      LOGS (a new temporary directory), CMD_LOG
#                           ($LOGS/LOGNAME, the commands' log), CERTS, T0,
#                           MODE, STEP, RESULT, FIGURES
#   now_ms, secs_since START_NS
#   say WORDS...            "TEST_NAME-test: WORDS"
#   fail WHY...             RESULT is "FAILED at [MODE: ]STEP: WHY", exit 1
#   failed_result RC        RESULT for exit status RC (not 0), unless set,
#                           and the last lines of CMD_LOG
#   result_line             the one-line result with FIGURES and the time
#   need_docker             exits 1 when no Docker engine answers
#   build_image             makes $BASE when missing (or pulls it with
#                           CHORD_BASE_PULL=1), then builds $CHORD_IMAGE
#                           from docker/Dockerfile; log in $LOGS/build.log
#   ring_counts JSON        "JOINED COUNT UNREACHABLE" of `chordctl --json
#                           ring` output
#   make_certs [SUB...]     a CA, certificates and tokens in CERTS (and
#                           another CA's in CERTS/SUB), exported as
#                           CHORD_CERTS
#   CHECK_SCRIPT, files write|read
#                           files 1..FILES ("TEST_NAME/file-I") written, or
#                           read back and compared, in a chordctl container
#   tls_script BODY         a TLS check script: BODY's `check WANT WHAT
#                           COMMAND...` lines between the shared head and tail
#   tls_checks              TLS_SCRIPT in a chordctl container
# Sourcing it sets CHORD_IMAGE (chord:latest) and CHORD_STORE (mem) when
# unset, and BASE. It expects: TEST_NAME (compose or swarm) and ROOT (the tree) when
# sourced; CHORD_IMAGE, FILES and TLS_SCRIPT where used; CTL_SH, the
# command that runs `sh` in a chordctl container (its arguments follow),
# before files and tls_checks.

export CHORD_IMAGE=${CHORD_IMAGE:-chord:latest}
export CHORD_STORE=${CHORD_STORE:-mem}
BASE=debian:bookworm-slim

# --- state, timing and messages ----------------------------------------------
parse_modes() {
  local m
  read -r -a MODES <<<"${*:-${CHORD_TEST_MODES:-plain tls}}"
  for m in "${MODES[@]}"; do
    case $m in
      plain | tls) ;;
      *) echo "$TEST_NAME test: unknown mode \"$m\" (plain or tls)" >&2; exit 2 ;;
    esac
  done
}

init_state() {
  LOGS=$(mktemp -d "${TMPDIR:-/tmp}/chord-$TEST_NAME-test.XXXXXX")
  CMD_LOG=$LOGS/$1
  CERTS= # the tls mode's certificates and tokens, removed on exit
  T0=$(date +%s%N)
  MODE=
  STEP="start"
  RESULT=
  FIGURES=()
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs_since() { # START_NS: seconds since, with one decimal
  awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'
}
say() { echo "$TEST_NAME-test: $*"; }
fail() { RESULT="FAILED at ${MODE:+$MODE: }$STEP: $*"; exit 1; }

failed_result() {
  local what=${CMD_LOG##*/}
  case $1 in
    130 | 143) RESULT="INTERRUPTED during ${MODE:+$MODE: }$STEP" ;;
    *) RESULT=${RESULT:-"FAILED at ${MODE:+$MODE: }$STEP (exit $1)"} ;;
  esac
  echo "---- last ${what%.log} commands ($CMD_LOG)"
  tail -n 15 "$CMD_LOG" 2>/dev/null || true
}

result_line() {
  local f figures=
  for f in "${FIGURES[@]}"; do figures+="$f; "; done
  echo "$TEST_NAME test: $RESULT; ${figures}total $(secs_since "$T0")s"
}

# --- docker and the image ----------------------------------------------------
need_docker() {
  if ! timeout 30 docker info >/dev/null 2>&1; then
    echo "$TEST_NAME test: FAILED: no Docker engine answers (docker info)"
    exit 1
  fi
}

build_image() {
  local t build_opts=()
  STEP="base image"
  if ! timeout 30 docker image inspect "$BASE" >/dev/null 2>&1; then
    t=$(date +%s%N)
    if [ "${CHORD_BASE_PULL:-0}" = 1 ]; then
      timeout 600 docker pull "$BASE" >>"$LOGS/build.log" 2>&1 ||
        fail "cannot pull $BASE (see $LOGS/build.log)"
    else
      say "making $BASE from Debian's packages (scripts/make-base-image.sh)"
      timeout 900 "$ROOT/scripts/make-base-image.sh" 2>&1 |
        tee -a "$LOGS/build.log" || fail "cannot make $BASE"
      timeout 30 docker image inspect "$BASE" >/dev/null 2>&1 ||
        fail "cannot make $BASE"
    fi
    FIGURES+=("base image made in $(secs_since "$t")s")
  fi

  STEP="image build"
  say "building $CHORD_IMAGE from docker/Dockerfile (log: $LOGS/build.log)"
  t=$(date +%s%N)
  [ "${CHORD_BUILD_NETWORK:-host}" = default ] ||
    build_opts+=(--network "${CHORD_BUILD_NETWORK:-host}")
  # The classic builder leaves a failed step's container unless told not to.
  timeout 30 docker buildx version >/dev/null 2>&1 || build_opts+=(--force-rm)
  timeout 1200 docker build "${build_opts[@]}" -f docker/Dockerfile \
    -t "$CHORD_IMAGE" . >>"$LOGS/build.log" 2>&1 || {
    tail -n 30 "$LOGS/build.log"
    fail "docker build failed (see $LOGS/build.log)"
  }
  FIGURES+=("build $(secs_since "$t")s")
}

# --- the cluster, seen from chordctl -----------------------------------------
ring_counts() {
  echo "$(grep -o '"joined":true' <<<"$1" | wc -l)" \
    "$(grep -o '"count":[0-9]*' <<<"$1" | cut -d: -f2 || true)" \
    "$(grep -o '"unreachable":[0-9]*' <<<"$1" | cut -d: -f2 || true)"
}

# The containers' user (uid 10001) must read the certificates: mktemp
# makes the directory 0700.
make_certs() {
  local sub d
  command -v openssl >/dev/null ||
    fail "openssl is missing (apt-get install openssl)"
  CERTS=$(mktemp -d "${TMPDIR:-/tmp}/chord-$TEST_NAME-certs.XXXXXX")
  for sub in "" "$@"; do
    d=$CERTS${sub:+/$sub}
    "$ROOT/scripts/make-certs.sh" "$d" >>"$CMD_LOG" 2>&1 ||
      fail "scripts/make-certs.sh failed (see $CMD_LOG)"
    chmod 0755 "$d"
  done
  export CHORD_CERTS=$CERTS
}

# The script a chordctl container runs: write or read (and compare) files
# 1..N. File i holds the numbers 1..i*40, one per line (up to ~15 kB).
# shellcheck disable=SC2016 # expanded by the container's sh
CHECK_SCRIPT='
mode=$1 n=$2 i=1 bad=0 badlist=
while [ $i -le $n ]; do
  seq 1 $((i * 40)) >/tmp/want
  if [ "$mode" = write ]; then
    chordctl write "'"$TEST_NAME"'/file-$i" /tmp/want >/dev/null 2>/tmp/err
  else
    chordctl read "'"$TEST_NAME"'/file-$i" -o /tmp/got >/dev/null 2>/tmp/err &&
      cmp -s /tmp/want /tmp/got
  fi || { bad=$((bad + 1)); badlist="$badlist $i"; head -c 300 /tmp/err >&2; }
  i=$((i + 1))
done
echo "$mode: $((n - bad)) of $n files ok${badlist:+; failed:$badlist}"
[ $bad -eq 0 ]'

# tls_script BODY: the script a chordctl container runs in the tls mode,
# once files exist. BODY's lines `check WANT WHAT COMMAND...` run COMMAND
# and want exit WANT. Prints every check's exit status on one line; exits
# 1 when any differs from the one wanted.
tls_script() {
  # shellcheck disable=SC2016 # expanded by the container's sh
  printf '%s' '
bad=0 out=
check() { # WANT WHAT COMMAND...: runs COMMAND, wants exit WANT
  want=$1 what=$2
  shift 2
  "$@" >/dev/null 2>/tmp/err
  got=$?
  if [ $got -eq "$want" ]; then
    out="$out; $what: $got"
  else
    bad=1
    out="$out; $what: exit $got, wanted $want ($(head -c 200 /tmp/err))"
  fi
}'"$1"'
echo "${out#; }"
exit $bad'
}

# in_ctl SECONDS SHOWN ARGS...: `sh ARGS...` in a chordctl container
# (CTL_SH), bounded; its output to stdout, its errors to the log.
in_ctl() {
  local t=$1
  echo "+ ${CTL_SH[*]} $2" >>"$CMD_LOG"
  shift 2
  timeout "$t" "${CTL_SH[@]}" "$@" 2>>"$CMD_LOG"
}

# files write|read: all of them through chordctl in a chordctl container.
files() {
  local out t
  t=$(date +%s%N)
  out=$(in_ctl 240 "-c CHECK_SCRIPT $1" -c "$CHECK_SCRIPT" sh "$1" "$FILES") ||
    fail "${out:-$1 did not finish within 240s}"
  say "$out ($(secs_since "$t")s)"
}

# tls_checks: TLS_SCRIPT in a chordctl container.
tls_checks() {
  local out t
  t=$(date +%s%N)
  out=$(in_ctl 120 "-c TLS_SCRIPT" -c "$TLS_SCRIPT") ||
    fail "${out:-the checks did not finish within 120s}"
  say "$out ($(secs_since "$t")s)"
}
