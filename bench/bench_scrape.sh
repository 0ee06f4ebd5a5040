#!/usr/bin/env bash
# bench_scrape.sh: promdir-collector's warm HTTP scrape against Python's
# MultiProcessCollector + generate_latest, in the same run, on directories
# written by Debian's real Python client.
#
# Workloads:
#   webapp  64 workers x ~9,000 entries (bench/make_webapp_dir.py: a request
#           counter by view/method/status, a latency histogram, a summary, a
#           livesum and an all gauge), 320 files.
#   large   256 files x 4,000 entries (128 workers, each a 4,000-series
#           counter file and a 250-series histogram file): ~1M entries.
# Python is timed inside Python (registry + MultiProcessCollector +
# generate_latest); promdir-collector is timed per warm HTTP request on a
# kept-alive connection (median), with Prometheus' headers (OpenMetrics,
# gzip) and with none (text 0.0.4, identity). Nothing is pruned
# (--liveness none --no-prune), so both merge the same files.
#
# Each workload is scraped twice: as the generator left it (its writers
# have exited, as in a directory that piles up the files of gone workers,
# which promdir serves from memory without reading them), and with every
# file held open for writing and mapped by a helper process, as live
# workers hold theirs (promdir then reads every byte in use every scrape).
#
# Targets: webapp warm scrape >= 150x faster than Python; large warm scrape
# < 1 s with the collector's peak RSS (VmHWM) < 300 MB.
#
# Per format: the webapp directory is also scraped in each exposition format,
# identity and gzip (text 0.0.4, text 1.0.0 with allow-utf-8, OpenMetrics
# 1.0.0, delimited protobuf), writers gone and alive. FORMATS_ONLY=1 runs
# only that table (no Python, no large workload).
#
# Usage: bench/bench_scrape.sh [BUILD_DIR]   (default: build)
#   env: SCRAPES=20 PY_RUNS=3 WORKDIR=/tmp/... KEEP=1 (keep the directories)
#        FORMATS_ONLY=1
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
BIN=$BUILD/bin/promdir-collector
PY=/usr/bin/python3
SCRAPES=${SCRAPES:-20}
PY_RUNS=${PY_RUNS:-3}
[ -x "$BIN" ] || { echo "bench_scrape: $BIN not found; build promdir-collector first" >&2; exit 2; }

WORK=${WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/promdir-bench-scrape.XXXXXX")}
mkdir -p "$WORK"
COLLECTOR_PID=
HOLD_PID=
cleanup() {
  if [ -n "$HOLD_PID" ]; then kill "$HOLD_PID" 2>/dev/null || true; fi
  if [ -n "$COLLECTOR_PID" ]; then kill -TERM "$COLLECTOR_PID" 2>/dev/null || true; wait "$COLLECTOR_PID" 2>/dev/null || true; fi
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# The helper: generates directories, times Python, and scrapes over HTTP.
HELPER=$WORK/bench_scrape_helper.py
cat > "$HELPER" <<'PYEOF'
import http.client, os, statistics, sys, time

def make_large(d, workers, series):
    """workers x (a counter file of `series` entries + a histogram file of
    series/16 histograms x 16 entries)."""
    os.makedirs(d, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = d
    running = 0
    for w in range(workers):
        if running >= 2:
            os.wait(); running -= 1
        pid = os.fork()
        if pid == 0:
            try:
                from prometheus_client import Counter, Histogram
                c = Counter("jobs_processed", "Jobs processed, by queue and shard.", ["queue", "shard"])
                h = Histogram("job_duration_seconds", "Job duration.", ["queue"])
                for i in range(series):
                    c.labels("q%03d" % (i % 100), "s%04d" % i).inc(w + i % 7 + 1)
                for i in range(series // 16):
                    h.labels("q%04d" % i).observe((i % 50) / 10.0)
            finally:
                os._exit(0)
        running += 1
    while running:
        os.wait(); running -= 1

def time_python(d, runs):
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector
    times = []
    size = 0
    for _ in range(runs):
        t = time.perf_counter()
        r = CollectorRegistry()
        MultiProcessCollector(r, path=d)
        size = len(generate_latest(r))
        times.append(time.perf_counter() - t)
    return statistics.median(times), size

PROM_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
               "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")

def time_http(port, n, mode):
    """mode: "prometheus" (its headers), "plain" (none), or
    "ACCEPT|identity" / "ACCEPT|gzip"."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Accept": PROM_ACCEPT, "Accept-Encoding": "gzip"} if mode == "prometheus" else {}
    if "|" in mode:
        accept, encoding = mode.rsplit("|", 1)
        headers = {"Accept": accept}
        if encoding == "gzip":
            headers["Accept-Encoding"] = "gzip"
    times, size = [], 0
    for i in range(n + 2):  # two warm-up scrapes
        t = time.perf_counter()
        conn.request("GET", "/metrics", headers=headers)
        resp = resp_ = conn.getresponse()
        body = resp.read()
        dt = time.perf_counter() - t
        if resp.status != 200:
            sys.exit("scrape failed: HTTP %d" % resp.status)
        if i >= 2:
            times.append(dt)
        size = len(body)
    conn.close()
    return statistics.median(times), size

cmd = sys.argv[1]
if cmd == "make-large":
    make_large(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
elif cmd == "python":
    t, size = time_python(sys.argv[2], int(sys.argv[3]))
    print("%.6f %d" % (t, size))
elif cmd == "hold":
    # Open and map every file for writing, as live workers do, until stdin
    # closes.
    import mmap
    held = []
    for name in sorted(os.listdir(sys.argv[2])):
        if name.endswith(".db"):
            fd = os.open(os.path.join(sys.argv[2], name), os.O_RDWR)
            held.append((fd, mmap.mmap(fd, 0)))
    print("held %d" % len(held), flush=True)
    sys.stdin.read()
elif cmd == "http":
    t, size = time_http(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    print("%.6f %d" % (t, size))
PYEOF


start_collector() {  # DIR -> sets COLLECTOR_PID, PORT
  local dir=$1 log=$WORK/collector.log
  "$BIN" --dir "$dir" --web.listen-address 127.0.0.1:0 --liveness none --no-prune \
    2> "$log" &
  COLLECTOR_PID=$!
  PORT=
  for _ in $(seq 1 500); do
    PORT=$(sed -n 's/.*msg=listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$PORT" ] && break
    sleep 0.01
  done
  [ -n "$PORT" ] || { echo "bench_scrape: the collector did not start:" >&2; cat "$log" >&2; exit 1; }
}

stop_collector() {
  kill -TERM "$COLLECTOR_PID"; wait "$COLLECTOR_PID" || true; COLLECTOR_PID=
}

hold_files() {  # DIR: a helper holds every file open and mapped for writing
  mkfifo "$WORK/hold.in"
  $PY "$HELPER" hold "$1" < "$WORK/hold.in" > "$WORK/hold.out" &
  HOLD_PID=$!
  exec 9> "$WORK/hold.in"
  for _ in $(seq 1 500); do grep -q held "$WORK/hold.out" 2>/dev/null && break; sleep 0.01; done
  grep -q held "$WORK/hold.out" || { echo "bench_scrape: the holder did not start" >&2; exit 1; }
}
release_files() {
  exec 9>&-
  wait "$HOLD_PID" || true
  rm -f "$WORK/hold.in" "$WORK/hold.out"
  HOLD_PID=
}

hwm_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

ms() { awk -v s="$1" 'BEGIN {printf "%.2f", s*1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", a/b}'; }

FORMATS=(
  "text 0.0.4|text/plain;version=0.0.4"
  "text 1.0.0 allow-utf-8|text/plain;version=1.0.0;escaping=allow-utf-8"
  "OpenMetrics 1.0.0|application/openmetrics-text;version=1.0.0"
  "protobuf (delimited)|application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
)
FORMAT_ROWS=()
time_formats() {  # STATE: one row per format and encoding, into FORMAT_ROWS
  local f name accept enc t size
  for f in "${FORMATS[@]}"; do
    name=${f%%|*} accept=${f#*|}
    for enc in identity gzip; do
      read -r t size < <($PY "$HELPER" http "$PORT" "$SCRAPES" "$accept|$enc")
      FORMAT_ROWS+=("$(printf '%-24s %-9s %-22s %10s %12s' "$name" "$enc" "$1" "$(ms "$t")" "$size")")
    done
  done
}
print_formats() {
  echo
  echo "webapp 64x9000 by format (median of $SCRAPES warm scrapes):"
  printf '%-24s %-9s %-22s %10s %12s\n' format encoding writers ms body_bytes
  printf '%s\n' "${FORMAT_ROWS[@]}"
}

echo "promdir-collector warm scrape vs Python MultiProcessCollector+generate_latest"
echo "work dir: $WORK; $(nproc) cores; median of $SCRAPES warm scrapes, $PY_RUNS Python runs"
echo

# webapp: 64 workers x ~9,000 entries
WEBAPP=$WORK/webapp
echo "generating webapp (64 workers x ~9,000 entries) with Debian's prometheus_client..."
$PY "$ROOT/bench/make_webapp_dir.py" "$WEBAPP" --workers 64 --entries 9000 --parallel 2
if [ -n "${FORMATS_ONLY:-}" ]; then
  start_collector "$WEBAPP"
  time_formats "gone (served unread)"
  stop_collector
  hold_files "$WEBAPP"
  start_collector "$WEBAPP"
  time_formats "alive (all read)"
  stop_collector
  release_files
  print_formats
  exit 0
fi
read -r PY_T PY_SIZE < <($PY "$HELPER" python "$WEBAPP" "$PY_RUNS")
start_collector "$WEBAPP"
read -r OM_T OM_SIZE < <($PY "$HELPER" http "$PORT" "$SCRAPES" prometheus)
read -r TX_T TX_SIZE < <($PY "$HELPER" http "$PORT" "$SCRAPES" plain)
time_formats "gone (served unread)"
WEB_HWM=$(hwm_mb "$COLLECTOR_PID")
stop_collector
hold_files "$WEBAPP"
start_collector "$WEBAPP"
read -r LIVE_OM_T _ < <($PY "$HELPER" http "$PORT" "$SCRAPES" prometheus)
read -r LIVE_TX_T _ < <($PY "$HELPER" http "$PORT" "$SCRAPES" plain)
time_formats "alive (all read)"
stop_collector
release_files

# large: 256 files x 4,000 entries
LARGE=$WORK/large
echo "generating large (256 files x 4,000 entries)..."
$PY "$HELPER" make-large "$LARGE" 128 4000
echo "$LARGE: $(ls "$LARGE"/*.db | wc -l) files"
read -r LPY_T LPY_SIZE < <($PY "$HELPER" python "$LARGE" 1)
hold_files "$LARGE"
start_collector "$LARGE"
read -r LOM_T LOM_SIZE < <($PY "$HELPER" http "$PORT" "$SCRAPES" prometheus)
read -r LTX_T LTX_SIZE < <($PY "$HELPER" http "$PORT" "$SCRAPES" plain)
LARGE_HWM=$(hwm_mb "$COLLECTOR_PID")
stop_collector
release_files

echo
printf '%-34s %12s %12s %8s %10s %s\n' workload python_ms promdir_ms ratio rss_mb "target"
printf '%-34s %12s %12s %8s %10s %s\n' "webapp 64x9000, OM+gzip" "$(ms "$PY_T")" "$(ms "$OM_T")" "$(ratio "$PY_T" "$OM_T")x" "$WEB_HWM" ">=150x"
printf '%-34s %12s %12s %8s %10s %s\n' "webapp 64x9000, text identity" "$(ms "$PY_T")" "$(ms "$TX_T")" "$(ratio "$PY_T" "$TX_T")x" "$WEB_HWM" ">=150x"
printf '%-34s %12s %12s %8s %10s %s\n' "  same, writers alive, OM+gzip" "$(ms "$PY_T")" "$(ms "$LIVE_OM_T")" "$(ratio "$PY_T" "$LIVE_OM_T")x" "" ""
printf '%-34s %12s %12s %8s %10s %s\n' "  same, writers alive, text" "$(ms "$PY_T")" "$(ms "$LIVE_TX_T")" "$(ratio "$PY_T" "$LIVE_TX_T")x" "" ""
printf '%-34s %12s %12s %8s %10s %s\n' "large 256x4000 alive, OM+gzip" "$(ms "$LPY_T")" "$(ms "$LOM_T")" "$(ratio "$LPY_T" "$LOM_T")x" "$LARGE_HWM" "<1000 ms, <300 MB"
printf '%-34s %12s %12s %8s %10s %s\n' "large 256x4000 alive, text" "$(ms "$LPY_T")" "$(ms "$LTX_T")" "$(ratio "$LPY_T" "$LTX_T")x" "$LARGE_HWM" "<1000 ms, <300 MB"
echo
echo "bodies: webapp python $PY_SIZE B, OM+gzip $OM_SIZE B, text $TX_SIZE B; large python $LPY_SIZE B, OM+gzip $LOM_SIZE B, text $LTX_SIZE B"
print_formats
