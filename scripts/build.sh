#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing and builds the programs into build/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" -- --no-print-directory >/dev/null
