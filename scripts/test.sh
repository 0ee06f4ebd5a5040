#!/usr/bin/env bash
# Sets everything up and runs every test: the unit and process tests under
# ctest, then the end-to-end tests (tests/e2e/*.sh: gunicorn and promdir's
# C++ workers scraped by a real Prometheus, the run command, the operations
# kit, the Debian package).
#
#   bash scripts/test.sh
#   PROMDIR_E2E='20_*' bash scripts/test.sh     # only matching e2e tests
#   PROMDIR_E2E=none bash scripts/test.sh       # ctest only
#   PROMDIR_SKIP_SETUP=1 BUILD_DIR=out bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${PROMDIR_SKIP_SETUP:-} ]]; then
  bash scripts/setup.sh
fi
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

echo "=== ctest ($BUILD_DIR)"
(cd "$BUILD_DIR" && ctest --output-on-failure -j"$JOBS" --timeout 600)

failed=()
pattern=${PROMDIR_E2E:-*}
if [[ $pattern != none ]]; then
  for t in tests/e2e/$pattern.sh; do
    [[ -f $t ]] || continue
    echo "=== $t"
    start=$SECONDS
    if BUILD_DIR="$BUILD_DIR" timeout --kill-after=10 900 bash "$t"; then
      echo "=== $t: passed in $((SECONDS - start)) s"
    else
      echo "=== $t: FAILED after $((SECONDS - start)) s"
      failed+=("$t")
    fi
  done
fi
if ((${#failed[@]})); then
  echo "FAILED end-to-end tests: ${failed[*]}" >&2
  exit 1
fi
echo "all tests passed"
