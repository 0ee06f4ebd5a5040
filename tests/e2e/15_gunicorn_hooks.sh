#!/usr/bin/env bash
# gunicorn under the operations kit's config (scripts/gunicorn.conf.py):
#   - on_starting runs `promdir wipe`: a stale file from a previous run is
#     gone before the first worker starts, so totals are this run's only;
#   - child_exit runs `promdir mark-dead <pid>`: with the collector's own
#     pruning off (--no-prune), no dead worker's live gauge file remains;
#   - a real Prometheus still reports exactly the requests sent.
# Tunables: E2E_HOOK_REQUESTS (default 800).
source "$(dirname "$0")/lib.bash"

REQUESTS=${E2E_HOOK_REQUESTS:-800}
PROMDIR=$(require_bin promdir)
require_bin promdir-collector >/dev/null
require_cmd gunicorn

make_tmp WORK
MPDIR="$WORK/multiproc"
mkdir -p "$MPDIR"

# A stale file from a "previous run": 1000 requests that must not count.
PROMETHEUS_MULTIPROC_DIR="$MPDIR" "$PY" -c '
from prometheus_client import values
values.ValueClass = values.MultiProcessValue(process_identifier=lambda: 999999)
from prometheus_client import Counter
Counter("app_requests", "Requests served.", ["view", "method", "status"]).labels("home", "GET", "200").inc(1000)'
[[ -f $MPDIR/counter_999999.db ]] || fail "could not write the stale file"

start_collector "$MPDIR" "$WORK/collector.log" --no-prune
start_prometheus "${COLLECTOR_URL#http://}" "$WORK"

APP_PORT=$(free_port)
APP_URL="http://127.0.0.1:$APP_PORT"
start_bg "$WORK/gunicorn.log" env PROMETHEUS_MULTIPROC_DIR="$MPDIR" PROMDIR_BIN="$PROMDIR" \
  GUNICORN_MAX_REQUESTS=20 GUNICORN_MAX_REQUESTS_JITTER=5 \
  "$PY" /usr/bin/gunicorn -c "$REPO_DIR/scripts/gunicorn.conf.py" --chdir "$E2E_DIR" \
  --bind "127.0.0.1:$APP_PORT" app:app
GUNICORN_PID=$BG_PID
wait_http "$APP_URL/healthz" "$GUNICORN_PID" "$WORK/gunicorn.log" 60
[[ ! -e $MPDIR/counter_999999.db ]] || fail "on_starting did not wipe the stale file"
log "gunicorn ready with scripts/gunicorn.conf.py; stale file wiped"

"$PY" "$E2E_DIR/send.py" --url "$APP_URL" --requests "$REQUESTS" --concurrency 8 \
  >"$WORK/expect.tsv" || fail "sending requests failed"
args=()
while IFS=$'\t' read -r q want; do args+=(--expect "$q" "$want"); done <"$WORK/expect.tsv"
prom_wait_equal --timeout 120 "${args[@]}" || fail "Prometheus never reported the totals sent"

# Every live-gauge file left belongs to a live worker: child_exit removed
# the others (the collector was told not to prune).
booted=$(grep -c 'Booting worker with pid' "$WORK/gunicorn.log" || true)
((booted > 8)) || fail "only $booted workers booted: no churn"
deadline=$((SECONDS + 15))
while :; do
  stale=()
  for f in "$MPDIR"/gauge_live*_*.db; do
    [[ -e $f ]] || continue
    pid=${f##*_}; pid=${pid%.db}
    kill -0 "$pid" 2>/dev/null || stale+=("$(basename "$f")")
  done
  ((${#stale[@]} == 0)) && break
  ((SECONDS < deadline)) || fail "child_exit left dead workers' live gauges: ${stale[*]}"
  sleep 0.2
done
grep -q 'promdir mark-dead' "$WORK/gunicorn.log" && fail "the mark-dead hook reported errors: $(grep 'promdir mark-dead' "$WORK/gunicorn.log" | head -n 3)"
log "$booted workers booted; no dead worker's live gauge file is left"
log "PASS"
