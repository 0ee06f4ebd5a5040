#!/usr/bin/env bash
# Liveness from the kernel, not from pids: no increment is ever lost where
# pids lie, and nothing a live process writes is ever deleted or folded.
#   A. The collector in its own pid namespace (a sidecar without
#      shareProcessNamespace) beside gunicorn workers restarting with
#      --max-requests, compaction every second: every request counted once,
#      in promdir's view and Python's; the livesum gauge is served while the
#      workers live and gone once they exit.
#   B. Python workers named by uWSGI-style worker ids, two generations
#      reusing the ids, default flags and compaction: the same exactness.
#   C. Pid reuse: a dead writer whose id is now a live unrelated pid is
#      folded by compaction.
#   D. EMFILE mid-scrape (the collector's open-file limit lowered at run
#      time): the files' last good values are served, the error counted.
source "$(dirname "$0")/lib.bash"

PROMDIR=$(require_bin promdir)
COLLECTOR=$(require_bin promdir-collector)
require_cmd gunicorn
require_cmd unshare
require_cmd prlimit
make_tmp WORK

scrape() { curl -fsS --max-time 10 "$1/metrics"; }
# total URL METRIC: the sum of METRIC's samples in a scrape (0 if none).
total() {
  scrape "$1" | awk -v m="$2" 'index($1, m) == 1 &&
    (length($1) == length(m) || substr($1, length(m) + 1, 1) == "{") {s += $NF}
    END {printf "%d\n", s}'
}
# python_total DIR METRIC: the same sum in MultiProcessCollector's view.
python_total() {
  "$PY" - "$1" "$2" <<'PYEOF'
import sys
from prometheus_client.multiprocess import MultiProcessCollector
print(int(sum(s.value for m in MultiProcessCollector(None, path=sys.argv[1]).collect()
              for s in m.samples if s.name == sys.argv[2])))
PYEOF
}
has_series() { scrape "$1" | grep -q "^$2"; }
# total_is URL METRIC N: true iff total URL METRIC is N.
total_is() { [[ $(total "$1" "$2") == "$3" ]]; }

# --- A. A collector in another pid namespace, gunicorn churning outside.
MPDIR="$WORK/a"
mkdir -p "$MPDIR"
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
start_bg "$WORK/a-collector.log" unshare --pid --fork --mount-proc \
  "$COLLECTOR" --dir "$MPDIR" --web.listen-address "127.0.0.1:$PORT" \
  --compact-interval 1s
A_COLLECTOR=$BG_PID
wait_http "$URL/-/ready" "$A_COLLECTOR" "$WORK/a-collector.log" 30
inner=$(pgrep -f -n -- "--dir $MPDIR" || true)
[[ -n $inner && $(readlink /proc/$inner/ns/pid) != $(readlink /proc/self/ns/pid) ]] ||
  fail "the collector is not in a pid namespace of its own"
log "collector in its own pid namespace at $URL"

APP_PORT=$(free_port)
APP_URL="http://127.0.0.1:$APP_PORT"
start_bg "$WORK/gunicorn.log" env PROMETHEUS_MULTIPROC_DIR="$MPDIR" \
  "$PY" /usr/bin/gunicorn --chdir "$E2E_DIR" --workers 4 \
  --max-requests 25 --max-requests-jitter 5 \
  --bind "127.0.0.1:$APP_PORT" --log-level info app:app
GUNICORN=$BG_PID
wait_http "$APP_URL/healthz" "$GUNICORN" "$WORK/gunicorn.log" 60
# Workers' livesum gauge is served while they live.
wait_until 15 "live workers' livesum gauge is not served" \
  has_series "$URL" app_inflight_requests
REQUESTS=1500
# Scrape all along: the merged counter never goes backwards.
start_bg "$WORK/a-totals.log" bash -c \
  "while :; do curl -fsS --max-time 10 '$URL/metrics' | awk '/^app_requests_total/ {s += \$NF} END {printf \"%d\\n\", s}'; sleep 0.2; done"
SAMPLER=$BG_PID
"$PY" "$E2E_DIR/send.py" --url "$APP_URL" --requests "$REQUESTS" --concurrency 8 \
  >/dev/null || fail "sending requests failed"
sleep 2.5  # two compaction passes
stop_bg "$SAMPLER"
got=$(total "$URL" app_requests_total)
((got == REQUESTS)) || fail "promdir counted $got requests of $REQUESTS (pid namespace)"
sort -n -c <(grep -E '^[0-9]+$' "$WORK/a-totals.log") 2>/dev/null ||
  fail "the merged counter went backwards: $(tr '\n' ' ' <"$WORK/a-totals.log")"
has_series "$URL" app_inflight_requests || fail "livesum gauge gone while workers live"
booted=$(grep -c 'Booting worker' "$WORK/gunicorn.log" || true)
archives=$(ls "$MPDIR" | grep -c archive || true)
((archives > 0)) || fail "compaction never folded a dead worker's file"
stop_bg "$GUNICORN"
wait_until 10 "the livesum gauge of exited workers is still served" \
  ! has_series "$URL" app_inflight_requests
got=$(total "$URL" app_requests_total)
((got == REQUESTS)) || fail "promdir counts $got of $REQUESTS after the workers exited"
stop_bg "$A_COLLECTOR"
py=$(python_total "$MPDIR" app_requests_total)
((py == REQUESTS)) || fail "Python's view counts $py of $REQUESTS"
log "A: pid namespace: $REQUESTS requests counted once by promdir and Python ($booted workers booted, $archives archive(s)); livesum served while live, gone after"

# --- B. uWSGI-style worker ids, two generations reusing them.
MPDIR="$WORK/b"
mkdir -p "$MPDIR"
start_collector "$MPDIR" "$WORK/b-collector.log" --compact-interval 1s
B_URL=$COLLECTOR_URL
# idworker ID ARGS...: a Python worker named by ID, in the background (its
# pid appended to pids; killed with the test's other processes).
idworker() {
  local id=$1; shift
  start_bg "$WORK/idworker-$id.log" env PROMETHEUS_MULTIPROC_DIR="$MPDIR" \
    "$PY" "$E2E_DIR/idworker.py" --id "$id" "$@"
  pids+=("$BG_PID")
}
pids=()
for id in 0 1 2 3; do idworker "$id" --incs 400 --seconds 2; done
wait "${pids[@]}" || fail "a first-generation worker failed"
pids=()
for id in 0 1 2 3; do idworker "$id" --incs 300 --seconds 2 --hold "$WORK/b-release"; done
wait_until 15 "the 4 live id workers' livesum is not 4" \
  total_is "$B_URL" idworker_live 4
sleep 3  # compaction passes while the second generation writes
touch "$WORK/b-release"
wait "${pids[@]}" || fail "a second-generation worker failed"
sleep 2.5
want=$((4 * 400 + 4 * 300))
got=$(total "$B_URL" idworker_requests_total)
((got == want)) || fail "promdir counts $got of $want increments (worker ids)"
has_series "$B_URL" idworker_live && fail "exited id workers' livesum still served"
stop_bg "$COLLECTOR_PID"
py=$(python_total "$MPDIR" idworker_requests_total)
((py == want)) || fail "Python's view counts $py of $want (worker ids)"
log "B: worker ids, two generations: $want increments counted once by promdir and Python"

# --- C. Pid reuse: the id of a dead writer is a live, unrelated pid.
MPDIR="$WORK/c"
mkdir -p "$MPDIR"
sleep 300 &
UNRELATED=$!
PROMETHEUS_MULTIPROC_DIR="$MPDIR" "$PY" "$E2E_DIR/idworker.py" --id "$UNRELATED" \
  --incs 10 --seconds 0.1 || fail "the pid-reuse writer failed"
"$PROMDIR" compact --dir "$MPDIR" >/dev/null || fail "promdir compact failed"
kill "$UNRELATED"
[[ ! -e $MPDIR/counter_$UNRELATED.db ]] ||
  fail "a dead writer's file was kept because its id is a live pid"
py=$(python_total "$MPDIR" idworker_requests_total)
((py == 10)) || fail "after folding, Python's view counts $py of 10"
log "C: pid reuse: counter_$UNRELATED.db folded though pid $UNRELATED lives"

# --- D. EMFILE mid-scrape.
MPDIR="$WORK/d"
mkdir -p "$MPDIR"
pids=()
for id in 0 1 2; do idworker "$id" --incs 5 --seconds 0.1 --hold "$WORK/d-release"; done
start_collector "$MPDIR" "$WORK/d-collector.log"
wait_until 15 "the three held workers never showed 15 increments" \
  total_is "$COLLECTOR_URL" idworker_requests_total 15
# The limit bounds descriptor numbers: set it just above the lowest free
# one (measured idle: a client's connection closes a moment after the
# client exits), so a scrape is accepted and nothing else can be opened.
lowest_free() {
  local -A used=()
  local f n=0
  for f in /proc/"$COLLECTOR_PID"/fd/*; do used[${f##*/}]=1; done
  while [[ -n ${used[$n]:-} ]]; do ((n += 1)); done
  echo "$n"
}
free=1000000
for _ in $(seq 10); do
  n=$(lowest_free)
  ((n < free)) && free=$n
  sleep 0.1
done
fds=$free
soft=$(awk '/Max open files/ {print $4}' /proc/"$COLLECTOR_PID"/limits)
prlimit --pid "$COLLECTOR_PID" --nofile=$((fds + 1)): || fail "prlimit failed"
scrape "$COLLECTOR_URL" >"$WORK/d-limited.txt" || fail "no scrape under a low open-file limit"
prlimit --pid "$COLLECTOR_PID" --nofile="$soft": || fail "prlimit failed"
got=$(awk '/^idworker_requests_total/ {s += $NF} END {printf "%d", s}' "$WORK/d-limited.txt")
((got == 15)) || fail "under EMFILE the scrape showed $got of 15"
grep -q '^promdir_collector_read_errors_total{reason="EMFILE"} [1-9]' "$WORK/d-limited.txt" ||
  fail "EMFILE was not counted: $(grep read_errors "$WORK/d-limited.txt")"
grep -q 'serving its last good values' "$WORK/d-collector.log" ||
  fail "EMFILE was not logged"
((got = $(total "$COLLECTOR_URL" idworker_requests_total), got == 15)) ||
  fail "after the limit was raised: $got of 15"
touch "$WORK/d-release"
wait "${pids[@]}"
log "D: EMFILE (limit $((fds + 1)) descriptors): last good values served, counted and logged"
log "PASS"
