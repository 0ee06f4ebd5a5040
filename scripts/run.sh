#!/usr/bin/env bash
# Sets everything up and runs the main job: promdir-collector serving the
# merged metrics of $PROMETHEUS_MULTIPROC_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
if [[ ! -x "$BUILD_DIR/bin/promdir-collector" ]]; then
  echo "run: promdir-collector is not built yet" >&2
  exit 1
fi
exec "$BUILD_DIR/bin/promdir-collector" "$@"
