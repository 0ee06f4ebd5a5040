#!/usr/bin/env bash
# C++ workers (promdir-loadgen) + promdir-collector (compaction on) + a real
# Prometheus. Several rounds of forked workers run and exit (churn), in both
# value layouts and with pid and worker-id identities; Prometheus must then
# report exactly the deterministic totals, no counter may go backwards, and
# the directory ends with the archives only.
# Tunables: E2E_ROUNDS (default 8), E2E_WORKERS (4), E2E_ITERATIONS (800);
# each iteration sleeps 1 ms, so rounds overlap scrapes and compactions.
source "$(dirname "$0")/lib.bash"

ROUNDS=${E2E_ROUNDS:-8}
WORKERS=${E2E_WORKERS:-4}
ITERATIONS=${E2E_ITERATIONS:-800}
PROMDIR=$(require_bin promdir)
LOADGEN=$(require_bin promdir-loadgen)
require_bin promdir-collector >/dev/null

make_tmp WORK
MPDIR="$WORK/multiproc"
mkdir -p "$MPDIR"

start_collector "$MPDIR" "$WORK/collector.log" --compact-interval 1s
start_prometheus "${COLLECTOR_URL#http://}" "$WORK"

for ((r = 0; r < ROUNDS; r++)); do
  layout=$((r % 2 ? 8 : 16))
  extra=()
  ((r % 3 == 2)) && extra+=(--worker-ids)
  log "round $r: $WORKERS workers x $ITERATIONS iterations, layout $layout ${extra[*]}"
  "$LOADGEN" --dir "$MPDIR" --workers "$WORKERS" --iterations "$ITERATIONS" \
    --layout "$layout" --sleep-ms 1 "${extra[@]}" || fail "promdir-loadgen round $r failed"
  log "files now: $(count_db "$MPDIR")"
done

# The deterministic totals (see promdir-loadgen --help).
"$PY" - "$ROUNDS" "$WORKERS" "$ITERATIONS" >"$WORK/expect.tsv" <<'EOF'
import json, sys
rounds, workers, iters = map(int, sys.argv[1:])
per_route, total_s, le_01, n = {}, {}, 0, 0
for i in range(iters):
    route = "r%d" % (i % 4)
    v = ((i % 100) + 0.5) / 100
    per_route[route] = per_route.get(route, 0) + 1
    total_s[route] = total_s.get(route, 0.0) + v
    le_01 += v <= 0.1
    n += 1
k = rounds * workers
print("sum by (route) (loadgen_requests_total)\t%s" % json.dumps({r: c * k for r, c in per_route.items()}))
print("sum by (route) (loadgen_latency_seconds_count)\t%s" % json.dumps({r: c * k for r, c in per_route.items()}))
print("sum by (route) (loadgen_latency_seconds_sum)\t%s" % json.dumps({r: s * k for r, s in total_s.items()}))
print('sum(loadgen_latency_seconds_bucket{le="0.1"})\t%d' % (le_01 * k))
print('sum(loadgen_latency_seconds_bucket{le="+Inf"})\t%d' % (n * k))
EOF
args=()
while IFS=$'\t' read -r q want; do args+=(--expect "$q" "$want"); done <"$WORK/expect.tsv"
log "waiting for Prometheus to report the deterministic totals"
prom_wait_equal --timeout 120 "${args[@]}" ||
  fail "Prometheus never reported promdir-loadgen's totals"
prom_wait_equal --timeout 10 \
  --expect 'sum(resets(loadgen_requests_total[10m]))' 0 \
  --expect 'sum(resets(loadgen_latency_seconds_bucket[10m]))' 0 ||
  fail "a merged counter went backwards during the rounds"

# Every worker has exited: after the next compaction pass only archives are
# left (at most one per type, mode and layout).
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  if ! ls "$MPDIR" | grep -E '\.db$' | grep -qv archive; then break; fi
  sleep 0.2
done
left=$(ls "$MPDIR" | grep -E '\.db$' | grep -v archive || true)
[[ -z $left ]] || fail "after compaction, non-archive files remain: $left"
log "directory after compaction: $(ls "$MPDIR" | tr '\n' ' ')"
(($(count_db "$MPDIR") <= 12)) || fail "more archives than (type, mode, layout) combinations"

# promdir collect agrees with the scraped totals once the collector stops.
stop_bg "$COLLECTOR_PID"
"$PROMDIR" collect --dir "$MPDIR" >"$WORK/collect.txt" || fail "promdir collect failed"
want=$((ROUNDS * WORKERS * ((ITERATIONS + 3) / 4)))
grep -qE "^loadgen_requests_total\\{route=\"r0\"\\} $want(\\.0)?\$" "$WORK/collect.txt" ||
  fail "promdir collect: loadgen_requests_total{route=\"r0\"} is not $want: $(grep '^loadgen_requests_total' "$WORK/collect.txt")"
log "PASS"
