#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, builds the libFuzzer targets (fuzz/) with clang
# in build-fuzz/, and runs each in turn for SECONDS on a scratch copy of its
# corpus (fuzz/corpus/<target>), one process at a time. Prints executions,
# exec/s and coverage per target; exits 1 when any target crashed, leaked,
# ran out of memory or timed out. Inputs that fail are saved under
# $CHORD_FUZZ_CRASHES (default /tmp/chord-fuzz-crashes), never in the tree.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
  SECONDS_PER_TARGET  how long each target runs (default 30)
  TARGET              fuzz_decode, fuzz_transfer, ... (default: all)
environment:
  CHORD_FUZZ_CRASHES  where failing inputs and their logs go
                      (default /tmp/chord-fuzz-crashes)
  CHORD_FUZZ_ARGS     extra libFuzzer flags for every target
EOF
}

case "${1:-}" in
  -h | --help)
    usage
    exit 0
    ;;
esac
secs=${1:-30}
if ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then
  usage >&2
  exit 2
fi
shift || true

./scripts/install-deps.sh

build=build-fuzz
echo "== configure and build ($build, clang, CHORD_FUZZ=ON)"
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCHORD_FUZZ=ON \
  -DCHORD_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz -j "$(nproc 2>/dev/null || echo 2)" \
  -- --no-print-directory >/dev/null

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cd fuzz && ls fuzz_*.c | sed 's/\.c$//')
fi

crashes=${CHORD_FUZZ_CRASHES:-/tmp/chord-fuzz-crashes}
mkdir -p "$crashes"
work=$(mktemp -d /tmp/chord-fuzz.XXXXXX)
# The dir store target writes a file per input: on tmpfs when there is one.
scratch=$(mktemp -d /dev/shm/chord-fuzz.XXXXXX 2>/dev/null ||
  mktemp -d "$work/scratch.XXXXXX")
trap 'rm -rf "$work" "$scratch"' EXIT

# The last value libFuzzer printed for a field: "cov: 123" -> 123.
field() { # LOG NAME
  grep -oE "$2: [0-9]+" "$1" | tail -1 | awk '{print $2}'
}
final_stat() { # LOG NAME
  sed -nE "s/^stat::$2: *([0-9]+).*/\1/p" "$1" | tail -1
}

failed=0
total=0
rows=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz: no target $t" >&2
    exit 2
  fi
  corpus="$work/corpus/$t"
  mkdir -p "$corpus"
  if [ -d "fuzz/corpus/$t" ]; then
    cp -r "fuzz/corpus/$t/." "$corpus/"
  fi
  log="$work/$t.log"
  echo "== $t: ${secs}s"
  rc=0
  # shellcheck disable=SC2086 # CHORD_FUZZ_ARGS is a list of flags
  TMPDIR="$scratch" \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ASAN_OPTIONS=detect_leaks=1 \
    "$bin" "$corpus" -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$crashes/$t-" ${CHORD_FUZZ_ARGS:-} >"$log" 2>&1 ||
    rc=$?
  execs=$(final_stat "$log" number_of_executed_units)
  rate=$(final_stat "$log" average_exec_per_sec)
  cov=$(field "$log" cov)
  ft=$(field "$log" ft)
  status=ok
  if [ "$rc" -ne 0 ]; then
    status=crash
    if grep -q "ERROR: libFuzzer: timeout" "$log"; then
      status=timeout
    elif grep -q "ERROR: LeakSanitizer" "$log"; then
      status=leak
    elif grep -qE "ERROR: libFuzzer: (out-of-memory|malloc limit)" "$log"; then
      status=oom
    fi
    failed=$((failed + 1))
    cp "$log" "$crashes/$t-$(date +%Y%m%d-%H%M%S).log"
    echo "-- $t: $status (exit $rc); the end of its log:"
    grep -vE '^#[0-9]+' "$log" | tail -40
  fi
  total=$((total + ${execs:-0}))
  rows+=("$(printf '%-16s %-8s %12s %9s %6s %7s' "$t" "$status" \
    "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}")")
done

echo
printf '%-16s %-8s %12s %9s %6s %7s\n' target status execs exec/s cov ft
printf '%s\n' "${rows[@]}"
echo "total executions: $total"
if [ "$failed" -gt 0 ]; then
  echo "fuzz: $failed target(s) failed; inputs and logs in $crashes" >&2
  exit 1
fi
