#!/usr/bin/env bash
# Runs the README's C++ quickstart into a fresh directory, then the
# prometheus-cpp example over it, and checks that the example shows its own
# counter and the directory's merged series.
#   check_collectable.sh <quickstart binary> <collectable binary>
set -euo pipefail
quickstart=$1
collectable=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
PROMETHEUS_MULTIPROC_DIR=$dir "$quickstart"
PROMETHEUS_MULTIPROC_DIR=$dir "$quickstart"  # a second worker: totals merge
out=$(PROMETHEUS_MULTIPROC_DIR=$dir "$collectable")
echo "$out"
for want in \
  'app_starts_total 1' \
  'http_requests_total{method="GET",status="200"} 2000' \
  'http_request_duration_seconds_count{method="GET"} 2000' \
  'http_request_duration_seconds_bucket{method="GET",le="0.025"} 0'; do
  grep -qxF "$want" <<<"$out" || { echo "FAIL: missing line: $want" >&2; exit 1; }
done
echo "collectable example: ok"
