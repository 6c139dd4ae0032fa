#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs chord's build and test dependencies on Debian 12 with apt-get.
# Idempotent: quiet and fast when everything is already installed.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libgrpc-dev protobuf-compiler-grpc
  protobuf-c-compiler libprotobuf-c-dev protobuf-compiler
  libuv1-dev libssl-dev libcmocka-dev libmicrohttpd-dev
  # tests/integration/test_metrics.py: a real Prometheus scrapes the ring
  prometheus
  # tests/integration/test_ring_page.py: the ring page in a real browser
  chromium
  python3-grpcio python3-grpc-tools python3-protobuf
  clang-format
  # scripts/fuzz.sh: clang 14, and its libFuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
