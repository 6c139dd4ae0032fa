#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Soak test of replication: the loss check of tests/integration/
# test_replication.py (writes and deletes under seeded kills, joins,
# SIGTERMs and dir-store restarts) over many seeds, one after another.
# Prints one line per seed and a summary; exits 1 when any seed failed
# (its node logs are kept under $KEEP/<seed>).
#   replication-soak.sh            env: SEEDS (20), START (1),
#                                  BUILD (build), SLOW (1), KEEP (/tmp/...)
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS=${SEEDS:-20}
START=${START:-1}
BUILD=${BUILD:-build}
SLOW=${SLOW:-1}
KEEP=${KEEP:-$(mktemp -d /tmp/chord-repl-soak.XXXXXX)}
mkdir -p "$KEEP"

cmake -S . -B "$BUILD" -DCHORD_WERROR=ON >/dev/null
cmake --build "$BUILD" -j2 >/dev/null
failed=0
began=$(date +%s)
for ((s = START; s < START + SEEDS; s++)); do
  log="$KEEP/seed-$s.log"
  if CHORD_BIN="$PWD/$BUILD/bin" CHORD_TEST_SLOW=$SLOW CHORD_TEST_SEED=$s \
    CHORD_TEST_KEEP_LOGS="$KEEP/$s" /usr/bin/python3 -W ignore \
    tests/integration/test_replication.py \
    ReplicationTest.test_loss_check_under_seeded_churn >"$log" 2>&1; then
    grep -h "loss-check seed=.*writes=" "$log" | sed 's/^replication: //'
    rm -rf "${KEEP:?}/$s"
  else
    failed=$((failed + 1))
    echo "seed $s FAILED (log $log, node logs $KEEP/$s)"
  fi
done
echo "replication soak: $SEEDS seeds from $START, $failed failed," \
  "$(($(date +%s) - began)) s"
[ "$failed" -eq 0 ]
