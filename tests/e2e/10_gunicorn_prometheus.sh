#!/usr/bin/env bash
# gunicorn + prometheus_client (multiprocess) + promdir-collector (compaction
# on) + a real Prometheus:
#   - 4 gunicorn workers with a low --max-requests, so workers are replaced
#     many times while a known number of requests is sent;
#   - Prometheus (1 s scrapes) must report exactly the totals sent: counters
#     per label, histogram counts and buckets, summary counts and sums;
#   - no counter may ever go backwards (resets() == 0) through the churn and
#     the compactions;
#   - the directory's file count stays bounded;
#   - Python's MultiProcessCollector and `promdir collect` agree on the
#     directory, before and after `promdir compact`.
# Tunables: E2E_REQUESTS (default 3000), E2E_MAX_REQUESTS (default 20).
source "$(dirname "$0")/lib.bash"

REQUESTS=${E2E_REQUESTS:-3000}
MAX_REQUESTS=${E2E_MAX_REQUESTS:-20}
PROMDIR=$(require_bin promdir)
require_bin promdir-collector >/dev/null
require_cmd gunicorn
require_cmd curl

make_tmp WORK
MPDIR="$WORK/multiproc"
mkdir -p "$MPDIR"

start_collector "$MPDIR" "$WORK/collector.log" --compact-interval 1s
start_prometheus "${COLLECTOR_URL#http://}" "$WORK"

APP_PORT=$(free_port)
APP_URL="http://127.0.0.1:$APP_PORT"
start_bg "$WORK/gunicorn.log" env PROMETHEUS_MULTIPROC_DIR="$MPDIR" \
  "$PY" /usr/bin/gunicorn --chdir "$E2E_DIR" --workers 4 \
  --max-requests "$MAX_REQUESTS" --max-requests-jitter 5 \
  --bind "127.0.0.1:$APP_PORT" --log-level info app:app
GUNICORN_PID=$BG_PID
wait_http "$APP_URL/healthz" "$GUNICORN_PID" "$WORK/gunicorn.log" 60
log "gunicorn ready at $APP_URL (4 workers, --max-requests $MAX_REQUESTS)"

# Sample the directory's file count while workers churn.
start_bg "$WORK/filecount.log" bash -c \
  "while :; do find '$MPDIR' -maxdepth 1 -name '*.db' -printf . | wc -c; sleep 0.2; done"
SAMPLER_PID=$BG_PID

log "sending $REQUESTS requests"
send_start=$SECONDS
"$PY" "$E2E_DIR/send.py" --url "$APP_URL" --requests "$REQUESTS" --concurrency 8 \
  >"$WORK/expect.tsv" || fail "sending requests failed (see above)"
send_secs=$((SECONDS - send_start > 0 ? SECONDS - send_start : 1))

args=()
while IFS=$'\t' read -r q want; do args+=(--expect "$q" "$want"); done <"$WORK/expect.tsv"
log "waiting for Prometheus to report the totals sent"
prom_wait_equal --timeout 120 "${args[@]}" \
  --expect 'count(app_requests_total)' 3 ||
  fail "Prometheus never reported the totals sent"

# No counter ever went backwards while workers churned and compaction ran.
prom_wait_equal --timeout 10 \
  --expect 'sum(resets(app_requests_total[10m]))' 0 \
  --expect 'sum(resets(app_request_duration_seconds_count[10m]))' 0 \
  --expect 'sum(resets(app_request_duration_seconds_bucket[10m]))' 0 \
  --expect 'sum(resets(app_response_bytes_sum[10m]))' 0 ||
  fail "a merged counter went backwards during the run"
# No file was ever reported bad while workers were created and replaced.
# (A Python worker creates its file empty and sizes it a moment later; a
# scrape in between sees a zero-length file, reason "empty". That is
# reported, not failed on: the file holds nothing yet, so totals are exact.)
prom_wait_equal --timeout 10 \
  --expect 'max_over_time((sum(promdir_collector_bad_files{reason!="empty"}) or vector(0))[10m:1s])' 0 ||
  fail "the collector reported bad files during normal churn (see its log: $WORK/collector.log)"
empty=$(grep -c 'reason=empty' "$WORK/collector.log" || true)
((empty == 0)) || log "NOTE: $empty just-created (zero-length) files of live workers were logged as bad"

# The collector's own view of the run.
prom_wait_equal --timeout 30 --expect 'sum(up{job="promdir"})' 1 || fail "scrape target not up"
curl -fsS "$COLLECTOR_URL/metrics" >"$WORK/final.txt"
grep '^promdir_collector_' "$WORK/final.txt" | grep -E 'files|compact|bad' | head -n 20 >&2 || true

stop_bg "$SAMPLER_PID"
booted=$(grep -c 'Booting worker with pid' "$WORK/gunicorn.log" || true)
max_files=$(sort -n "$WORK/filecount.log" | tail -n 1)
log "workers booted: $booted (~$((booted * 6)) files without compaction); most .db files seen at once: $max_files"
((booted >= 4 + REQUESTS / (MAX_REQUESTS + 5) / 2)) ||
  fail "only $booted workers booted: --max-requests churn did not happen"
# Without compaction every booted worker leaves ~6 files. With compaction
# every second: the live workers' files (4 x 6), at most one archive per
# (type, mode, layout), and the files of workers that died since the last
# pass: about one second's worth of churn (twice that, for slack).
per_sec=$((booted * 6 / send_secs))
bound=$((40 + 2 * per_sec))
((bound <= booted * 6 / 2)) || bound=$((booted * 6 / 2))
log "file bound: $bound (~$per_sec files/s created over $send_secs s)"
((max_files <= bound)) ||
  fail "directory grew to $max_files files (bound $bound, $booted workers booted)"

# Quiesce: stop the collector first (so the dead workers' files stay as
# they are, beside the archives it wrote), then gunicorn.
stop_bg "$COLLECTOR_PID"
stop_bg "$GUNICORN_PID"
log "files after the run: $(count_db "$MPDIR")"

"$PROMDIR" prune --dir "$MPDIR" >/dev/null || fail "promdir prune failed"
"$PY" "$E2E_DIR/compare.py" --dir "$MPDIR" --promdir "$PROMDIR" ||
  fail "promdir collect and MultiProcessCollector differ (before compact)"
"$PROMDIR" compact --dir "$MPDIR" >/dev/null || fail "promdir compact failed"
log "files after promdir compact: $(count_db "$MPDIR") ($(ls "$MPDIR" | tr '\n' ' '))"
"$PY" "$E2E_DIR/compare.py" --dir "$MPDIR" --promdir "$PROMDIR" ||
  fail "promdir collect and MultiProcessCollector differ (after compact)"

# After compaction the totals are still exactly those sent.
"$PROMDIR" collect --dir "$MPDIR" >"$WORK/after.txt"
grep -q "^app_request_duration_seconds_count $REQUESTS.0\$\|^app_request_duration_seconds_count $REQUESTS\$" \
  <(grep -v '^#' "$WORK/after.txt" | sed 's/{[^}]*}//' | awk '{s[$1]+=$2} END {for (k in s) print k, s[k]}') ||
  fail "after compaction the histogram count is not $REQUESTS"

log "PASS"
