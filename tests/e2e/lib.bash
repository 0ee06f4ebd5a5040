# Helpers shared by the end-to-end tests (sourced, not run: the test runner
# only runs tests/e2e/*.sh).
#
# Every server is started in its own process group on a free loopback port;
# readiness is polled, never slept for; everything started is stopped on
# exit, including when a check fails.

set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$E2E_DIR/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
[[ $BUILD_DIR = /* ]] || BUILD_DIR="$REPO_DIR/$BUILD_DIR"
BIN_DIR="$BUILD_DIR/bin"
PY=/usr/bin/python3  # Debian's Python: it sees python3-prometheus-client
TEST_NAME=$(basename "$0" .sh)

E2E_PGIDS=()
E2E_TMPDIRS=()

log() { printf '[%s %s] %s\n' "$TEST_NAME" "$(date +%T)" "$*" >&2; }

fail() {
  printf '\n[%s] FAIL: %s\n\n' "$TEST_NAME" "$*" >&2
  exit 1
}

# Stops every process group started with `start_bg`, then removes the
# temporary directories. Runs on every exit.
e2e_cleanup() {
  local rc=$?
  local pg
  for pg in "${E2E_PGIDS[@]}"; do kill -TERM -- "-$pg" 2>/dev/null || true; done
  for pg in "${E2E_PGIDS[@]}"; do
    for _ in $(seq 50); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pg" 2>/dev/null || true
  done
  if ((rc != 0)) && [[ -n ${E2E_KEEP_LOGS_ON_FAILURE:-} ]]; then
    log "logs kept in ${E2E_TMPDIRS[*]}"
  else
    local d
    for d in "${E2E_TMPDIRS[@]}"; do rm -rf "$d"; done
  fi
  exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# make_tmp VAR: a fresh temporary directory, removed on exit.
make_tmp() {
  local d
  d=$(mktemp -d "/tmp/promdir-e2e-$TEST_NAME.XXXXXX")
  chmod 755 "$d"
  E2E_TMPDIRS+=("$d")
  printf -v "$1" '%s' "$d"
}

# require_bin NAME: the path of a promdir binary; a missing one FAILS the
# test (it must not pass by skipping).
require_bin() {
  local p="$BIN_DIR/$1"
  if [[ ! -x $p ]]; then
    printf '\n[%s] FAIL: required binary %s is missing; build it first (scripts/setup.sh)\n\n' \
      "$TEST_NAME" "$p" >&2
    exit 1
  fi
  printf '%s' "$p"
}

require_cmd() {
  command -v "$1" >/dev/null 2>&1 || fail "required command '$1' is missing (scripts/setup.sh installs it)"
}

# free_port: a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_bg LOGFILE CMD...: runs CMD in a new process group (its pid is the
# group id), output to LOGFILE; sets BG_PID.
start_bg() {
  local logfile=$1; shift
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  BG_PID=$!
  E2E_PGIDS+=("$BG_PID")
}

# stop_bg PID: SIGTERM to the group, wait up to 10 s, then SIGKILL.
stop_bg() {
  local pg=$1
  kill -TERM -- "-$pg" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pg" 2>/dev/null || true
  wait "$pg" 2>/dev/null || true
}

# wait_http URL PID LOGFILE [TIMEOUT_S]: polls until URL answers 200; fails
# early if PID died (showing its log).
wait_http() {
  try_wait_http "$@" && return 0
  tail -n 40 "$3" >&2 || true
  if kill -0 "$2" 2>/dev/null; then fail "$1 not ready after ${4:-60}s"; fi
  fail "process $2 exited before $1 was ready"
}

# wait_until SECONDS WHAT [!] COMMAND...: runs COMMAND every 0.2 s until it
# succeeds (with "!", until it fails); after SECONDS fails with WHAT.
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2 negate=0
  shift 2
  if [[ $1 == '!' ]]; then
    negate=1
    shift
  fi
  local ok
  while :; do
    if "$@"; then ok=1; else ok=0; fi
    if ((ok != negate)); then return 0; fi
    if ((SECONDS >= deadline)); then fail "$what"; fi
    sleep 0.2
  done
}

# try_wait_http URL PID LOGFILE [TIMEOUT_S]: like wait_http, but returns 1
# instead of failing (so a caller can retry on another port).
try_wait_http() {
  local url=$1 pid=$2 timeout=${4:-60}
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# start_collector DIR LOGFILE ARGS...: starts promdir-collector on a free
# port (another one if that port was taken meanwhile); sets COLLECTOR_PID
# and COLLECTOR_URL (base, no path).
start_collector() {
  local dir=$1 logfile=$2; shift 2
  local bin port attempt
  bin=$(require_bin promdir-collector)
  for attempt in 1 2 3; do
    port=$(free_port)
    start_bg "$logfile" "$bin" --dir "$dir" --web.listen-address "127.0.0.1:$port" "$@"
    COLLECTOR_PID=$BG_PID
    COLLECTOR_URL="http://127.0.0.1:$port"
    if try_wait_http "$COLLECTOR_URL/-/ready" "$COLLECTOR_PID" "$logfile" 30; then
      log "collector ready at $COLLECTOR_URL (pid $COLLECTOR_PID)"
      return 0
    fi
    kill -0 "$COLLECTOR_PID" 2>/dev/null && break  # alive but not ready: no retry
    grep -qi 'address already in use\|bind' "$logfile" || break
    log "port $port was taken; retrying"
  done
  tail -n 40 "$logfile" >&2 || true
  fail "promdir-collector did not become ready (see above)"
}

# start_prometheus TARGET WORKDIR [FLAGS...]: a real Prometheus on loopback
# scraping TARGET (host:port) every second, with FLAGS added to its command
# line; sets PROM_PID and PROM_URL.
start_prometheus() {
  local target=$1 work=$2; shift 2
  require_cmd prometheus
  local port
  port=$(free_port)
  mkdir -p "$work/tsdb"
  cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: promdir
    static_configs:
      - targets: ['$target']
EOF
  start_bg "$work/prometheus.log" prometheus \
    --config.file="$work/prometheus.yml" \
    --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$port" \
    --log.level=warn "$@"
  PROM_PID=$BG_PID
  PROM_URL="http://127.0.0.1:$port"
  wait_http "$PROM_URL/-/ready" "$PROM_PID" "$work/prometheus.log" 60
  log "prometheus ready at $PROM_URL (pid $PROM_PID), scraping $target every 1s"
}

# prom_wait_equal TIMEOUT EXPECTED_JSON QUERY...: polls Prometheus until
# every QUERY's result equals EXPECTED_JSON (see promquery.py).
prom_wait_equal() {
  "$PY" "$E2E_DIR/promquery.py" --url "$PROM_URL" "$@"
}

# count_db DIR: the number of *.db files in DIR.
count_db() {
  find "$1" -maxdepth 1 -name '*.db' -printf . 2>/dev/null | wc -c
}
