#!/usr/bin/env bash
# Delimited protobuf with a real Prometheus: Debian's Prometheus 2.42 run
# with --enable-feature=native-histograms asks for protobuf first; it
# scrapes promdir-collector serving a directory the newest client_python
# wrote (tests/fixtures/pyhead-web: counters, gauges, a histogram, a
# summary), and must report exactly the values of client_python's own
# exposition of it (expected.txt).
source "$(dirname "$0")/lib.bash"

require_bin promdir-collector >/dev/null
require_cmd curl
make_tmp WORK
cp -r "$REPO_DIR/tests/fixtures/pyhead-web/dir" "$WORK/multiproc"

start_collector "$WORK/multiproc" "$WORK/collector.log" --liveness none
# Prometheus 2.42's Accept header with native histograms on: protobuf wins.
accept='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
ctype=$(curl -fsS -o "$WORK/body.pb" -w '%{content_type}' -H "Accept: $accept" \
  -H 'Accept-Encoding: gzip' --compressed "$COLLECTOR_URL/metrics")
[[ $ctype == "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores" ]] ||
  fail "Prometheus' protobuf Accept header got Content-Type '$ctype'"

start_prometheus "${COLLECTOR_URL#http://}" "$WORK" --enable-feature=native-histograms

# The sums of client_python's exposition of the same directory.
"$PY" - "$REPO_DIR/tests/fixtures/pyhead-web/expected.txt" >"$WORK/expect.tsv" <<'PYEOF'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
sums = {}
buckets = 0
for f in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in f.samples:
        buckets += s.name == "http_request_duration_seconds_bucket"
        key = s.name
        if s.name.endswith("_bucket"):
            key = '%s{le="%s"}' % (s.name, s.labels["le"])
        sums[key] = sums.get(key, 0) + s.value
for q in ["http_requests_total", "http_request_duration_seconds_count",
          "http_request_duration_seconds_sum", 'http_request_duration_seconds_bucket{le="+Inf"}',
          'http_request_duration_seconds_bucket{le="0.5"}', "http_response_size_bytes_count",
          "http_response_size_bytes_sum", "worker_resident_bytes", "http_requests_inprogress"]:
    print("sum(%s)\t%s" % (q, json.dumps(sums[q])))
print("count(http_request_duration_seconds_bucket)\t%d" % buckets)
PYEOF
args=(--expect 'sum(up{job="promdir"})' 1)
while IFS=$'\t' read -r q want; do args+=(--expect "$q" "$want"); done <"$WORK/expect.tsv"
log "waiting for Prometheus to ingest the protobuf scrape"
prom_wait_equal --timeout 60 "${args[@]}" ||
  fail "Prometheus (protobuf, native histograms on) did not report client_python's values"
log "PASS"
