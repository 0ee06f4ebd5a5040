#!/bin/bash
# Times crafted files that a naive reader parses in quadratic time
# (bench/crafted_files.h): one key of 90,000 labels (~900 KB), and 100,000
# keys built to collide under libstdc++'s unseeded std::hash. Each is
# scraped cold by promdir's engine (promdir-crafted-bench, median of RUNS
# new collectors) and by Python's MultiProcessCollector + generate_latest on
# the same directory, after checking both give the same samples.
#
# Usage: bench/bench_crafted.sh [BUILD_DIR]   (default: build)
#   WORK=/tmp/promdir-bench-crafted  where the files are written
#   RUNS=3                           timed runs per measurement (median)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
WORK=${WORK:-/tmp/promdir-bench-crafted}
RUNS=${RUNS:-3}
PY=/usr/bin/python3

cmake --build "$BUILD" --target promdir-crafted-bench promdir-collect-bench -j2 >/dev/null
BENCH=$BUILD/bin/promdir-crafted-bench
COLLECT=$BUILD/bin/promdir-collect-bench
mkdir -p "$WORK"
"$BENCH" --dir "$WORK" --write-only

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-8s %9s %10s %11s %8s\n' file bytes python_s promdir_s ratio
for f in wide collide; do
  dir=$WORK/$f
  "$COLLECT" --dir "$dir" --print 2>/dev/null > "$WORK/$f.promdir.txt"
  py=$(for i in $(seq "$RUNS"); do
    "$PY" - "$dir" "$WORK/$f.python.txt" <<'PYEOF'
import sys, time
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
reg = CollectorRegistry()
MultiProcessCollector(reg, path=sys.argv[1])
t = time.perf_counter()
out = generate_latest(reg)
print("%.6f" % (time.perf_counter() - t))
open(sys.argv[2], "wb").write(out)
PYEOF
  done | median)
  # (Python orders families by first appearance, promdir by name.)
  cmp -s <(sort "$WORK/$f.promdir.txt") <(sort "$WORK/$f.python.txt") ||
    { echo "$f: promdir and Python outputs differ" >&2; exit 1; }
  line=$("$BENCH" --dir "$WORK" --runs "$RUNS" | grep "^$f ")
  t=$(echo "$line" | sed -E 's/.*cold scrape ([0-9.]+) s.*/\1/')
  printf '%-8s %9s %10.3f %11.4f %7.1fx\n' "$f" "$(stat -c %s "$dir/counter_1.db")" \
    "$py" "$t" "$(echo "$py / $t" | bc -l)"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
