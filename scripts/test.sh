#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, builds, and runs the whole test suite twice:
# a plain build, then one under AddressSanitizer + UndefinedBehaviorSanitizer,
# each followed by its integration tests again with mutual TLS and a token;
# then every fuzz target for 30 s ($CHORD_FUZZ_SECONDS); where Go is
# installed, the Helm chart's checks; and, where a Docker engine answers,
# the docker-compose cluster test and the Docker Swarm stack test.
# Any failure or sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

# Adds the ctest result in LOG (ctest's exit code RC) to the totals.
count() { # LOG RC
  local log=$1 rc=$2 line total nfail
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" |
    tail -1 || true)
  if [ -z "$line" ]; then
    echo "== $log: ctest reported no result" >&2
    failed=$((failed + 1))
    return
  fi
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  nfail=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
  passed=$((passed + total - nfail))
  failed=$((failed + nfail))
  [ "$rc" -eq 0 ] || [ "$nfail" -gt 0 ] || failed=$((failed + 1))
}

run_suite() { # NAME BUILD_DIR CMAKE_ARGS...
  local name=$1 dir=$2 rc=0
  shift 2
  echo "== $name: configure and build ($dir)"
  cmake -S . -B "$dir" -DCHORD_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" -- --no-print-directory >/dev/null
  echo "== $name: tests"
  (cd "$dir" && ctest --output-on-failure -j 2 --timeout 1200) 2>&1 |
    tee "$dir/ctest.log" || rc=$?
  count "$dir/ctest.log" "$rc"
}

# The integration tests once more with mutual TLS and a cluster token on
# every daemon, chordctl and test client (CHORD_TEST_SECURE, see
# tests/integration/chordtest.py).
run_secure() { # NAME BUILD_DIR
  local name=$1 dir=$2 rc=0
  echo "== $name: integration tests with TLS and a token"
  (cd "$dir" && CHORD_TEST_SECURE=1 ctest --output-on-failure -j 2 \
    --timeout 1200 -R '^test_(membership|files|tools|heal|replication|chunked)$') \
    2>&1 | tee "$dir/ctest-secure.log" || rc=$?
  count "$dir/ctest-secure.log" "$rc"
}

run_suite plain build -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_secure plain build

# The written rules the build can check: layout and no call loop between
# the node's files.
check() { # NAME COMMAND...
  local name=$1
  shift
  echo "== $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
}
check "format: scripts/check-format.sh" scripts/check-format.sh
check "layering: scripts/check-deps.py" python3 scripts/check-deps.py build
run_suite sanitizers build-san -DCMAKE_BUILD_TYPE=Debug -DCHORD_SANITIZE=ON
run_secure sanitizers build-san

# Every libFuzzer target for a short while (scripts/fuzz.sh runs longer
# campaigns); a crash, leak or timeout fails the run.
check "fuzz: scripts/fuzz.sh ${CHORD_FUZZ_SECONDS:-30}" \
  scripts/fuzz.sh "${CHORD_FUZZ_SECONDS:-30}"

# The Helm chart, without a cluster: lint, render with several value sets,
# strict checks of every manifest against the Kubernetes API types
# (tools/chartcheck), wherever Go is installed.
# (helm and the Kubernetes API types come from the Go module proxy: a
# machine that cannot reach it skips the check, as one without Docker
# skips the container tests).
GO=$(command -v go || echo /usr/local/go/bin/go)
if [ ! -x "$GO" ]; then
  echo "== helm chart: skipped (no Go toolchain to build helm and chartcheck)"
elif ! timeout 120 "$GO" list -m -versions helm.sh/helm/v3 >/dev/null 2>&1; then
  echo "== helm chart: skipped (the Go module proxy cannot be reached:" \
    "$("$GO" env GOPROXY))"
else
  check "helm chart: tests/helm/run.sh" tests/helm/run.sh
fi

# The docker-compose cluster, end to end, wherever a Docker engine answers.
if command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
  echo "== compose: a docker-compose cluster end to end"
  if tests/compose/run.sh; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
  # The same image as a swarm stack: deploy, scale 3 -> 5 -> 4, read back.
  echo "== swarm: a Docker Swarm stack end to end"
  if tests/swarm/run.sh; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
else
  echo "== compose and swarm: skipped (no Docker engine answers 'docker info')"
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
