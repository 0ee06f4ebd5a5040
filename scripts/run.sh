#!/usr/bin/env bash
# The main job: sets up (scripts/setup.sh), then serves merged metrics with
# promdir-collector until Ctrl-C.
#
#   bash scripts/run.sh                            # demo: C++ workers + collector
#   PROMETHEUS_MULTIPROC_DIR=/run/app bash scripts/run.sh   # serve that directory
#   PROMDIR_LISTEN=127.0.0.1:9999 bash scripts/run.sh       # another address
#
# With PROMETHEUS_MULTIPROC_DIR set to an existing directory it serves that
# directory, as is. Otherwise it creates a fresh directory, starts C++
# prefork workers (promdir-loadgen, in rounds, so workers keep exiting and
# being replaced) that write into it, and serves it with compaction on.
# Environment: PROMDIR_LISTEN (default :10464), BUILD_DIR (default build),
# PROMDIR_SKIP_SETUP=1 to skip scripts/setup.sh, PROMDIR_COLLECTOR_ARGS for
# extra collector flags.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z ${PROMDIR_SKIP_SETUP:-} ]]; then
  bash scripts/setup.sh
fi
BUILD_DIR=${BUILD_DIR:-build}
BIN="$BUILD_DIR/bin"
LISTEN=${PROMDIR_LISTEN:-:10464}
for b in promdir-collector promdir-loadgen promdir; do
  if [[ ! -x $BIN/$b ]]; then
    echo "run: $BIN/$b is missing; the build did not produce it (see scripts/setup.sh output)" >&2
    exit 1
  fi
done

PGIDS=()
CREATED_DIR=
cleanup() {
  local pg
  for pg in "${PGIDS[@]}"; do kill -TERM -- "-$pg" 2>/dev/null || true; done
  for pg in "${PGIDS[@]}"; do
    for _ in $(seq 50); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pg" 2>/dev/null || true
  done
  if [[ -n $CREATED_DIR ]]; then rm -rf "$CREATED_DIR"; fi
}
trap cleanup EXIT
trap 'echo; echo "run: stopping" >&2; exit 0' INT TERM

DIR=${PROMETHEUS_MULTIPROC_DIR:-${prometheus_multiproc_dir:-}}
COLLECTOR_ARGS=()
if [[ -n $DIR ]]; then
  if [[ ! -d $DIR ]]; then
    echo "run: PROMETHEUS_MULTIPROC_DIR=$DIR is not a directory" >&2
    exit 1
  fi
  echo "run: serving the existing directory $DIR"
else
  mkdir -p /var/tmp 2>/dev/null || true
  DIR=$(mktemp -d /var/tmp/promdir-demo.XXXXXX 2>/dev/null || mktemp -d)
  chmod 755 "$DIR"
  CREATED_DIR=$DIR
  COLLECTOR_ARGS+=(--compact-interval 10s)
  echo "run: demo directory $DIR; starting C++ prefork workers (promdir-loadgen)"
  # 4 forked workers that each exit after 500 iterations and are replaced
  # (--respawn), as a prefork server's workers are.
  setsid "$BIN/promdir-loadgen" --dir "$DIR" --workers 4 --iterations 500 \
    --sleep-ms 2 --duration 31536000 --respawn >/dev/null </dev/null &
  PGIDS+=($!)
fi

# shellcheck disable=SC2206
COLLECTOR_ARGS+=(${PROMDIR_COLLECTOR_ARGS:-})
setsid "$BIN/promdir-collector" --dir "$DIR" --web.listen-address "$LISTEN" \
  "${COLLECTOR_ARGS[@]}" </dev/null &
COLLECTOR_PID=$!
PGIDS+=("$COLLECTOR_PID")

host=${LISTEN%:*}
port=${LISTEN##*:}
[[ -z $host || $host == 0.0.0.0 || $host == "[::]" ]] && host=localhost
URL="http://$host:$port/metrics"
ready=
for _ in $(seq 300); do
  if curl -fsS -o /dev/null --max-time 2 "http://$host:$port/-/ready" 2>/dev/null; then
    ready=1
    break
  fi
  kill -0 "$COLLECTOR_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $ready ]]; then
  echo "run: promdir-collector did not become ready on $LISTEN" >&2
  exit 1
fi
# Give the demo workers a moment to write something worth showing.
if [[ -n $CREATED_DIR ]]; then
  for _ in $(seq 100); do
    curl -fsS "$URL" 2>/dev/null | grep -q '^loadgen_requests_total' && break
    sleep 0.1
  done
fi

echo
echo "promdir-collector is serving $DIR"
echo "  metrics:  $URL"
echo "  health:   http://$host:$port/-/healthy"
echo
echo "A few merged series:"
curl -fsS "$URL" | grep -v '^#' | grep -v '^promdir_collector_' | head -n 8 | sed 's/^/  /' || true
echo "  ..."
echo
echo "Press Ctrl-C to stop."
wait "$COLLECTOR_PID"
