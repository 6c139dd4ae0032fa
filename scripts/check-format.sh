#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks every tracked C file under src/, tests/, bench/ and fuzz/ against
# .clang-format and prints those that differ (exit 1 when any does);
# --fix rewrites them in place instead. CLANG_FORMAT picks the binary.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: scripts/check-format.sh [--fix]"
}

fix=0
case "${1:-}" in
  "") ;;
  --fix) fix=1 ;;
  -h | --help)
    usage
    exit 0
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac

cf=${CLANG_FORMAT:-clang-format}
if ! command -v "$cf" >/dev/null 2>&1; then
  echo "check-format: $cf not found (scripts/install-deps.sh installs it)" >&2
  exit 2
fi
# Other major versions break lines a little differently.
major=$("$cf" --version | sed -nE 's/.*version ([0-9]+).*/\1/p')
if [ "$major" != 14 ]; then
  echo "check-format: warning: $cf is version ${major:-?}, the style is" \
    "tuned for 14" >&2
fi

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' \
    'bench/*.c' 'bench/*.h' 'fuzz/*.c' 'fuzz/*.h')
else # an exported tree (e.g. a Docker build context): every file
  mapfile -t files < <(find src tests bench fuzz -name '*.[ch]' | sort)
fi

bad=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue # deleted in the work tree, not yet committed
  if "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
    continue
  fi
  if [ "$fix" = 1 ]; then
    "$cf" -i "$f"
    echo "fixed: $f"
  else
    echo "$f"
    bad=$((bad + 1))
  fi
done

if [ "$bad" -gt 0 ]; then
  echo "check-format: $bad file(s) differ from .clang-format;" \
    "scripts/check-format.sh --fix rewrites them" >&2
  exit 1
fi
