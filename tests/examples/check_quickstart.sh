#!/usr/bin/env bash
# Runs the README's C++ example into a fresh directory, in the 8-byte layout
# that Debian's prometheus_client reads, and checks with Python's own
# MultiProcessCollector that it wrote exactly what it says.
#   check_quickstart.sh <example binary>
set -euo pipefail
example=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
PROMETHEUS_MULTIPROC_DIR=$dir PROMDIR_VALUE_LAYOUT=8 "$example"
out=$(PROMETHEUS_MULTIPROC_DIR=$dir /usr/bin/python3 -c '
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
r = CollectorRegistry(); MultiProcessCollector(r); print(generate_latest(r).decode())')
echo "$out"
for want in \
  'http_requests_total{method="GET",status="200"} 1000.0' \
  'http_request_duration_seconds_count{method="GET"} 1000.0' \
  'http_request_duration_seconds_bucket{le="0.05",method="GET"} 1000.0' \
  'http_request_duration_seconds_bucket{le="0.025",method="GET"} 0.0'; do
  grep -qxF "$want" <<<"$out" || { echo "FAIL: missing line: $want" >&2; exit 1; }
done
echo "quickstart example: ok"
