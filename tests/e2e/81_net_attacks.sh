#!/usr/bin/env bash
# Hostile clients against the real promdir-collector (net_attack.py): for
# each attack, the collector's peak RSS and the time until each client is
# cut off are measured and bounded, and /metrics and /-/healthy must keep
# being served meanwhile.
#   - slowloris: 64 clients drip a request head a byte every 0.5 s: all cut
#     off by the whole-head deadline (--web.read-timeout 2s), scrapes fast;
#   - header flood and an endless line: 431 and closed within a second;
#   - connection flood: 300 idle connections against --web.max-connections
#     128: the excess gets 503 at once, a real client gets in after a second
#     (it takes a stalled client's place), all are cut off by the deadline;
#   - the log names the peer once per burst, not once per client.
source "$(dirname "$0")/lib.bash"

require_bin promdir-collector >/dev/null
make_tmp WORK
mkdir -p "$WORK/multiproc"
READ_TIMEOUT=2
start_collector "$WORK/multiproc" "$WORK/collector.log" \
  --web.read-timeout ${READ_TIMEOUT}s --web.max-connections 128
PORT=${COLLECTOR_URL##*:}

check() {  # check ATTACK PYTHON-EXPR-ON-r MESSAGE
  "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
    "$WORK/$1.json" || fail "$1: $3: $(cat "$WORK/$1.json")"
}

for attack in slowloris headers line flood; do
  "$PY" "$E2E_DIR/net_attack.py" --port "$PORT" --pid "$COLLECTOR_PID" --seconds 8 "$attack" \
    >"$WORK/$attack.json" || fail "$attack: the attack script failed"
  log "$attack: $(cat "$WORK/$attack.json")"
  kill -0 "$COLLECTOR_PID" || fail "$attack: the collector died"
  check "$attack" "r['rss_peak_kib'] - r['rss_before_kib'] < 32 * 1024" "RSS grew by 32 MiB or more"
  check "$attack" "r['cut_off'] == r['clients']" "not every client was cut off"
done
check slowloris "r['max_cut_s'] <= $READ_TIMEOUT + 1.5" "a slow client outlived the deadline"
check slowloris "r['probes'] >= 5 and r['metrics_ok'] == r['probes'] and r['healthy_ok'] == r['probes']" \
  "scrapes or health checks failed during the attack"
check slowloris "r['max_metrics_s'] < 1 and r['max_healthy_s'] < 1" "scrapes were slow during the attack"
for attack in headers line; do
  check "$attack" "r['replies'].get('HTTP/1.1 431') == r['clients']" "not answered 431"
  check "$attack" "r['max_cut_s'] < 1" "not cut off within a second"
done
check flood "r['replies'].get('HTTP/1.1 503', 0) >= 100" "the connections past the cap did not get 503"
check flood "r['max_cut_s'] <= $READ_TIMEOUT + 1.5" "an idle connection outlived the deadline"
check flood "r['metrics_ok'] >= 1 and r['metrics_ok'] >= r['probes'] - 2" \
  "a real client was locked out for more than a second"

body=$(curl -fsS "$COLLECTOR_URL/metrics")
grep -E '^promdir_collector_http_connections_(timed_out|rejected)_total' <<<"$body" >&2
for want in 'timed_out_total{phase="head"}' 'rejected_total{reason="connection_limit"}' \
  'rejected_total{reason="request_line"}'; do
  n=$(grep -F "promdir_collector_http_connections_$want" <<<"$body" | awk '{print $2}')
  [[ -n $n && ${n%.*} -gt 0 ]] || fail "self-metric $want not counted"
done
lines=$(grep -c 'client rejected' "$WORK/collector.log" || true)
((lines < 30)) || fail "the log named rejected clients $lines times (not once per burst)"
log "rejections logged $lines times for hundreds of rejected clients"

# Socket activation: systemd-socket-activate binds, the collector inherits.
if command -v systemd-socket-activate >/dev/null; then
  sd_port=$(free_port)
  start_bg "$WORK/sd.log" systemd-socket-activate -l "127.0.0.1:$sd_port" \
    "$(require_bin promdir-collector)" --dir "$WORK/multiproc" --web.systemd-socket
  wait_http "http://127.0.0.1:$sd_port/-/healthy" "$BG_PID" "$WORK/sd.log" 20
  curl -fsS "http://127.0.0.1:$sd_port/metrics" | grep -q '^promdir_collector_scrapes_total' ||
    fail "socket-activated collector does not serve /metrics"
  grep -q 'listening address="systemd fd 3"' "$WORK/sd.log" || fail "no socket activation in the log"
  log "socket activation works"
fi
set +e
out=$(env -u LISTEN_FDS -u LISTEN_PID "$(require_bin promdir-collector)" --dir "$WORK/multiproc" \
  --web.systemd-socket 2>&1)
rc=$?
set -e
[[ $rc == 1 && $out == *"LISTEN_PID and LISTEN_FDS are not set"* ]] ||
  fail "--web.systemd-socket without systemd: rc $rc: $out"
log "PASS"
