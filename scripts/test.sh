#!/usr/bin/env bash
# Sets everything up and runs every test: the unit and process tests under
# ctest, then the end-to-end tests with gunicorn and a real Prometheus.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
(cd "$BUILD_DIR" && ctest --output-on-failure -j"$(nproc)" --timeout 600)
if compgen -G "tests/e2e/*.sh" >/dev/null; then
  for t in tests/e2e/*.sh; do
    echo "=== $t"
    BUILD_DIR="$BUILD_DIR" bash "$t"
  done
fi
echo "all tests passed"
