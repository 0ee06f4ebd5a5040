#!/usr/bin/env bash
# Native histograms across processes with a real Prometheus: forked
# promdir-loadgen workers observe every latency into a classic histogram and
# into the native one (--native-histograms); promdir-collector merges the
# workers' `.ndb` files and serves them in protobuf to Debian's Prometheus
# 2.42 run with --enable-feature=native-histograms. Prometheus must report
# histogram_count and histogram_sum of the merged native series exactly as
# the workers observed them (the classic histogram's _count and _sum), and
# histogram_quantile(0.5/0.9/0.99) within schema 3's relative error
# (2^(1/8) - 1) of the true quantile of the observations. Debian's Python
# collector (prometheus_client 0.16) must still read the directory, which
# holds the native files beside its own. `promdir compact` then folds the
# native files into their archive while Prometheus scrapes, and every
# scrape of the run must have had the exact count.
source "$(dirname "$0")/lib.bash"

WORKERS=${E2E_WORKERS:-4}
ITERATIONS=${E2E_ITERATIONS:-2000}
LOADGEN=$(require_bin promdir-loadgen)
PROMDIR=$(require_bin promdir)
require_bin promdir-collector >/dev/null
require_cmd curl

make_tmp WORK
MPDIR="$WORK/multiproc"
mkdir -p "$MPDIR"

log "$WORKERS workers x $ITERATIONS iterations, native histograms, layout 8"
"$LOADGEN" --dir "$MPDIR" --workers "$WORKERS" --iterations "$ITERATIONS" \
  --layout 8 --native-histograms || fail "promdir-loadgen failed"
nfiles=$(find "$MPDIR" -maxdepth 1 -name 'histogram_native_*.ndb' -printf . | wc -c)
((nfiles == WORKERS)) || fail "expected $WORKERS native files, found $nfiles"

# Python's MultiProcessCollector ignores the native files and still reads
# its own (every worker's classic histogram).
PROMETHEUS_MULTIPROC_DIR="$MPDIR" "$PY" - "$WORKERS" "$ITERATIONS" <<'EOF' ||
import sys
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
workers, iters = map(int, sys.argv[1:])
reg = CollectorRegistry()
MultiProcessCollector(reg)
text = generate_latest(reg).decode()
count = sum(float(l.split()[-1]) for l in text.splitlines()
            if l.startswith("loadgen_latency_seconds_count"))
assert count == workers * iters, (count, text[:2000])
assert "native" not in text, text
EOF
  fail "Debian's Python collector failed on a directory with native files"

start_collector "$MPDIR" "$WORK/collector.log"
start_prometheus "${COLLECTOR_URL#http://}" "$WORK" --enable-feature=native-histograms

# Count and sum: exactly the classic histogram's (same observations).
args=(--expect 'sum(up{job="promdir"})' 1)
per_route=$((WORKERS * ITERATIONS / 4))
args+=(--expect 'sum(histogram_count(loadgen_latency_native_seconds))' $((WORKERS * ITERATIONS)))
args+=(--expect 'sum by (route) (histogram_count(loadgen_latency_native_seconds))'
  "{\"r0\": $per_route, \"r1\": $per_route, \"r2\": $per_route, \"r3\": $per_route}")
sums=$("$PY" - "$WORKERS" "$ITERATIONS" <<'EOF'
import json, sys
workers, iters = map(int, sys.argv[1:])
sums = {}
for w in range(workers):
    for i in range(iters):
        r = "r%d" % (i % 4)
        sums[r] = sums.get(r, 0.0) + ((i % 100) + 0.5) / 100
print(json.dumps(sums))
EOF
)
args+=(--expect 'sum by (route) (histogram_sum(loadgen_latency_native_seconds))' "$sums")
args+=(--expect 'sum by (route) (loadgen_latency_seconds_sum)' "$sums")
log "waiting for Prometheus to ingest the native histograms"
prom_wait_equal --timeout 40 "${args[@]}" ||
  fail "Prometheus did not report the native histograms' count and sum"

# Compaction folds the dead workers' .ndb files into the native archive
# while Prometheus scrapes: no scrape may see another count (checked over
# the whole run below).
"$PROMDIR" compact --dir "$MPDIR" >"$WORK/compact.log" 2>&1 ||
  fail "promdir compact failed: $(cat "$WORK/compact.log")"
grep -q "wrote $MPDIR/histogram_native_archive.ndb" "$WORK/compact.log" ||
  fail "promdir compact wrote no native archive: $(cat "$WORK/compact.log")"
sleep 3

# Quantiles within the schema's relative error of the true ones.
"$PY" - "$PROM_URL" "$WORKERS" "$ITERATIONS" <<'EOF' ||
import json, math, sys, urllib.parse, urllib.request
url, workers, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
values = {}
for w in range(workers):
    for i in range(iters):
        values.setdefault("r%d" % (i % 4), []).append(((i % 100) + 0.5) / 100)
tolerance = 2 ** (2 ** -3) - 1
bad = 0
for q in (0.5, 0.9, 0.99):
    query = ("histogram_quantile(%s, sum by (route) "
             "(loadgen_latency_native_seconds))" % q)
    full = url + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    body = json.load(urllib.request.urlopen(full, timeout=5))
    got = {r["metric"]["route"]: float(r["value"][1]) for r in body["data"]["result"]}
    assert set(got) == set(values), (query, body)
    for route, vs in sorted(values.items()):
        vs = sorted(vs)
        true = vs[max(0, math.ceil(q * len(vs)) - 1)]
        err = abs(got[route] - true) / true
        print("q=%s route=%s true=%g prometheus=%g relative error %.4f" %
              (q, route, true, got[route], err))
        bad += err > tolerance
# Every scrape, before and after each compaction, had the exact count.
end = json.load(urllib.request.urlopen(url + "/api/v1/query?query=time()"))
now = float(end["data"]["result"][0])
q = "sum(histogram_count(loadgen_latency_native_seconds))"
full = url + "/api/v1/query_range?" + urllib.parse.urlencode(
    {"query": q, "start": now - 60, "end": now, "step": "0.5"})
points = json.load(urllib.request.urlopen(full, timeout=5))["data"]["result"]
seen = sorted({float(v) for r in points for _, v in r["values"]})
print("%s over the run: %s" % (q, seen))
bad += seen != [float(workers * iters)]
sys.exit(1 if bad else 0)
EOF
  fail "histogram_quantile is off, or a scrape's count was not exact"
# The CLI knows native files: ls and check list the archive, dump shows
# its merged series with every observation.
"$PROMDIR" check --dir "$MPDIR" >"$WORK/check.txt" || fail "promdir check: $(cat "$WORK/check.txt")"
"$PROMDIR" ls --dir "$MPDIR" | grep -q "^histogram_native .*archive written by compaction" ||
  fail "promdir ls does not show the native archive"
"$PROMDIR" dump --json "$MPDIR/histogram_native_archive.ndb" >"$WORK/dump.json" ||
  fail "promdir dump of the native archive failed"
"$PY" - "$WORK/dump.json" $((WORKERS * ITERATIONS)) <<'PYEOF' || fail "promdir dump of the archive is wrong"
import json, sys
series = json.load(open(sys.argv[1]))
assert len(series) == 4, series
assert sum(s["count"] for s in series) == int(sys.argv[2]), series
for s in series:
    assert s["family"] == "loadgen_latency_native_seconds", s
    assert s["count"] == sum(c for _, c in s["positive"]) + s["zero_count"], s
PYEOF
left=$(cd "$MPDIR" && ls -- *.ndb | tr '\n' ' ')
[[ $left == "histogram_native_archive.ndb " ]] ||
  fail "compaction left native files: $left"
log "PASS"
