#!/bin/bash
# Times the merge of a web-app multiprocess directory: Python's
# MultiProcessCollector + generate_latest (timed inside Python) against
# `promdir collect` in a new process (cold: nothing cached) and against a
# warm scrape of promdir's engine (promdir-collect-bench: the same
# DirectoryCollector scraping again, as promdir-collector does), with ratios
# measured in the same run.
#
# Workloads (written by Debian's Python client, bench/make_webapp_dir.py):
#   64 workers x ~9,000 entries, the same with each worker serving its
#   views in its own order (64x9000s: no two files list their entries
#   alike), and 256 workers x ~4,000 entries.
#
# Usage: bench/bench_collect.sh [BUILD_DIR]   (default: build)
#   WORK=/tmp/promdir-bench-collect  where the directories are written
#   RUNS=5                           timed runs per measurement (median)
#   WORKLOADS="64x9000 64x9000s 256x4000"
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
WORK=${WORK:-/tmp/promdir-bench-collect}
RUNS=${RUNS:-5}
WORKLOADS=${WORKLOADS:-"64x9000 64x9000s 256x4000"}
PY=/usr/bin/python3

cmake --build "$BUILD" --target promdir-collect-bench -j2 >/dev/null
cmake --build "$BUILD" --target promdir_cli -j2 >/dev/null 2>&1 || true
BENCH=$BUILD/bin/promdir-collect-bench
CLI=$BUILD/bin/promdir
[ -x "$BENCH" ] || { echo "no $BENCH" >&2; exit 1; }

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

python_time() {  # "wall cpu" seconds of one MultiProcessCollector + generate_latest
  "$PY" - "$1" <<'EOF'
import sys, time
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
reg = CollectorRegistry()
MultiProcessCollector(reg, path=sys.argv[1])
t, c = time.perf_counter(), time.process_time()
generate_latest(reg)
print("%.6f %.6f" % (time.perf_counter() - t, time.process_time() - c))
EOF
}

cold_time() {  # seconds for `promdir collect` in a new process (fork+exec to exit)
  local d=$1 TIMEFORMAT=%R
  if [ -x "$CLI" ]; then
    { time "$CLI" collect --dir "$d" --liveness none >/dev/null; } 2>&1
  else
    { time "$BENCH" --dir "$d" --print >/dev/null 2>/dev/null; } 2>&1
  fi
}

mkdir -p "$WORK"
# Wall-clock seconds and ratios, and the ratios of CPU time (user + sys),
# since a loaded machine stretches wall time unevenly.
printf '%-10s %6s %9s %11s %11s %8s %8s %11s %11s %8s\n' workload files \
  python_s promdir_cold promdir_warm cold_x warm_x cpu_cold_x cpu_warm_x rss_MiB
for w in $WORKLOADS; do
  workers=${w%x*}
  entries=${w#*x}
  shuffle=()
  if [[ $entries == *s ]]; then
    entries=${entries%s}
    shuffle=(--shuffle)
  fi
  dir=$WORK/w$w
  if [ ! -f "$dir/.complete" ]; then
    "$PY" "$ROOT/bench/make_webapp_dir.py" "$dir" --workers "$workers" \
      --entries "$entries" "${shuffle[@]}" >&2
    touch "$dir/.complete"
  fi
  files=$(ls "$dir"/*.db | wc -l)
  # The same data both ways, before timing anything.
  if [ -x "$CLI" ]; then
    "$CLI" collect --dir "$dir" --liveness none > "$WORK/promdir.txt"
    "$PY" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families as p
def load(f):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in p(open(f).read()) for s in fam.samples}
a, b = load(sys.argv[1]), load(sys.argv[2])
bad = [k for k in a if k not in b or abs(a[k] - b[k]) > 1e-9 * max(1, abs(a[k]))]
sys.exit("outputs differ: %d samples, e.g. %s" % (len(bad), bad[:1]) if bad or len(a) != len(b) else 0)
' "$WORK/promdir.txt" <("$PY" -c '
import sys
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
reg = CollectorRegistry(); MultiProcessCollector(reg, path=sys.argv[1])
sys.stdout.write(generate_latest(reg).decode())' "$dir")
  fi
  pyruns=$(for i in $(seq 3); do python_time "$dir"; done)
  py=$(echo "$pyruns" | cut -d' ' -f1 | median)
  pycpu=$(echo "$pyruns" | cut -d' ' -f2 | median)
  cold=$(for i in $(seq "$RUNS"); do cold_time "$dir"; done | median)
  line=$("$BENCH" --dir "$dir" --scrapes $((RUNS * 4 + 1)) 2>&1 >/dev/null)
  warm=$(echo "$line" | sed -E 's/.*warm median ([0-9.]+) s.*/\1/')
  warmcpu=$(echo "$line" | sed -E 's/.*warm median [0-9.]+ s \(cpu ([0-9.]+) s\).*/\1/')
  coldcpu=$(echo "$line" | sed -E 's/^cold [0-9.]+ s \(cpu ([0-9.]+) s\).*/\1/')
  rss=$(echo "$line" | sed -E 's/.*peak RSS ([0-9]+) KiB.*/\1/')
  printf '%-10s %6s %9.3f %11.4f %11.4f %7.1fx %7.1fx %10.1fx %10.1fx %8.1f\n' \
    "$w" "$files" "$py" "$cold" "$warm" "$(echo "$py / $cold" | bc -l)" \
    "$(echo "$py / $warm" | bc -l)" "$(echo "$pycpu / $coldcpu" | bc -l)" \
    "$(echo "$pycpu / $warmcpu" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
done
echo "targets: cold >= 30x, warm >= 150x (64x9000); warm < 1 s and RSS < 300 MiB (256x4000)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
