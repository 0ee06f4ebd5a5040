#!/usr/bin/env bash
# Fair keep-alive service under load: wrk with 32 kept-alive connections
# scrapes the 64-worker web directory (bench/make_webapp_dir.py, written by
# the real Python client) for E2E_WRK_SECONDS (default 8). No request may
# time out or fail, and the p99 latency must stay within 10x the median.
# /-/healthy must answer quickly throughout. Then net_fairness.py checks
# that each of 32 kept-alive clients is served its share, none starved.
# Then 8 clients that never read their responses must not hold up
# scrapes, and are cut off by the write deadline. The figures are logged.
# Tunables: E2E_WRK_ENTRIES (default 9000 entries per worker).
source "$(dirname "$0")/lib.bash"

require_bin promdir-collector >/dev/null
require_cmd wrk
SECONDS_RUN=${E2E_WRK_SECONDS:-8}
ENTRIES=${E2E_WRK_ENTRIES:-9000}
make_tmp WORK
mkdir -p "$WORK/webapp"
log "writing the 64-worker web directory ($ENTRIES entries per worker)"
"$PY" "$REPO_DIR/bench/make_webapp_dir.py" "$WORK/webapp" --workers 64 \
  --entries "$ENTRIES" >&2 || fail "make_webapp_dir.py failed"

WRITE_TIMEOUT=3
start_collector "$WORK/webapp" "$WORK/collector.log" --web.write-timeout ${WRITE_TIMEOUT}s
curl -fsS -o /dev/null "$COLLECTOR_URL/metrics" || fail "first scrape failed"

# Health checks while wrk runs: each must answer within 1 s.
start_bg "$WORK/health.log" bash -c "
  for i in \$(seq $((SECONDS_RUN * 4))); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 5 '$COLLECTOR_URL/-/healthy'
    sleep 0.25
  done"
HEALTH_PID=$BG_PID
wrk -t2 -c32 -d"${SECONDS_RUN}s" --latency --timeout 5s "$COLLECTOR_URL/metrics" \
  >"$WORK/wrk.txt" 2>&1 || fail "wrk failed: $(cat "$WORK/wrk.txt")"
cat "$WORK/wrk.txt" >&2
wait "$HEALTH_PID" 2>/dev/null || true

"$PY" - "$WORK/wrk.txt" "$WORK/health.log" <<'EOF' || fail "wrk figures out of bounds (see above)"
import re, sys
text = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % label, text, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v if unit == "ms" else v * 1000
p50, p99 = ms("50%"), ms("99%")
requests = int(re.search(r"(\d+) requests in", text).group(1))
errors = re.search(r"Socket errors: (.*)", text)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
health = [l.split() for l in open(sys.argv[2]) if l.strip()]
slow_health = [h for h in health if h[0] != "200" or float(h[1]) > 1.0]
print("wrk -c32: %d requests, p50 %.1f ms, p99 %.1f ms (p99/p50 %.1f); "
      "socket errors: %s; non-2xx: %s; health checks %d, slow or failed %d"
      % (requests, p50, p99, p99 / p50, errors.group(1) if errors else "none",
         non2xx.group(1) if non2xx else 0, len(health), len(slow_health)))
ok = requests > 0 and not errors and not non2xx and p99 <= 10 * p50 \
    and len(health) > 0 and not slow_health
sys.exit(0 if ok else 1)
EOF
# Per connection: every kept-alive client gets its share.
"$PY" "$E2E_DIR/net_fairness.py" "${COLLECTOR_URL##*:}" 6 >&2 ||
  fail "keep-alive clients were not served fairly (see above)"
# Slow readers: 8 clients (more than the 4 workers) each ask for the 1.3 MB
# body 16 times, pipelined, and never read: more than the socket buffers
# hold. They hold no worker, so scrapes and health checks go on, and each
# is cut off when its write deadline (--web.write-timeout 3s) passes.
"$PY" "$E2E_DIR/net_attack.py" --port "${COLLECTOR_URL##*:}" --pid "$COLLECTOR_PID" \
  --seconds 5 slowread >"$WORK/slowread.json" || fail "slowread attack failed"
log "slowread: $(cat "$WORK/slowread.json")"
"$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r['probes'] >= 5 and \
  r['metrics_ok'] == r['probes'] and r['healthy_ok'] == r['probes'] and r['max_metrics_s'] < 2 and \
  r['rss_peak_kib'] - r['rss_before_kib'] < 64 * 1024 else 1)" "$WORK/slowread.json" ||
  fail "slow readers held up scrapes or memory"
n=$(curl -fsS "$COLLECTOR_URL/metrics" | grep -F 'promdir_collector_http_connections_timed_out_total{phase="write"}' | awk '{print $2}')
[[ ${n%.*} -ge 8 ]] || fail "slow readers were not cut off by the write deadline ($n)"
log "PASS"
