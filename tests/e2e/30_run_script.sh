#!/usr/bin/env bash
# The README's run command (scripts/run.sh, setup skipped: the test command
# already ran it):
#   1. the demo: C++ workers write a fresh directory, the collector serves
#      it, the script prints the URL and merged series; Ctrl-C (SIGINT) stops
#      the collector and the workers and removes the demo directory;
#   2. with PROMETHEUS_MULTIPROC_DIR set, it serves that directory instead.
source "$(dirname "$0")/lib.bash"

require_bin promdir-collector >/dev/null
require_bin promdir-loadgen >/dev/null
require_bin promdir >/dev/null
make_tmp WORK

# A background job of a non-interactive shell starts with SIGINT ignored,
# and bash cannot trap a signal ignored at entry; restore the default so
# SIGINT behaves as a terminal's Ctrl-C does.
SIGINT_DEFAULT='import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])'

# run_script LOG [ENV...]: starts scripts/run.sh in its own process group.
run_script() {
  local logfile=$1; shift
  PORT=$(free_port)
  start_bg "$logfile" env PROMDIR_SKIP_SETUP=1 BUILD_DIR="$BUILD_DIR" \
    PROMDIR_LISTEN="127.0.0.1:$PORT" "$@" "$PY" -c "$SIGINT_DEFAULT" bash "$REPO_DIR/scripts/run.sh"
  RUN_PID=$BG_PID
  local deadline=$((SECONDS + 60))
  until grep -q 'Press Ctrl-C to stop' "$logfile"; do
    kill -0 "$RUN_PID" 2>/dev/null || { cat "$logfile" >&2; fail "scripts/run.sh exited early"; }
    ((SECONDS < deadline)) || { cat "$logfile" >&2; fail "scripts/run.sh never became ready"; }
    sleep 0.1
  done
}

# 1. The demo.
run_script "$WORK/demo.log" env -u PROMETHEUS_MULTIPROC_DIR -u prometheus_multiproc_dir
grep -q "http://127.0.0.1:$PORT/metrics" "$WORK/demo.log" || fail "run.sh did not print the URL"
grep -q '^  loadgen_' "$WORK/demo.log" || { cat "$WORK/demo.log" >&2; fail "run.sh printed no merged series"; }
demo_dir=$(sed -n 's/^promdir-collector is serving //p' "$WORK/demo.log")
[[ -d $demo_dir ]] || fail "demo directory '$demo_dir' does not exist"
# The workers keep writing: the merged counter grows.
total() { curl -fsS "http://127.0.0.1:$PORT/metrics" | awk '/^loadgen_requests_total/ {s += $2} END {print s + 0}'; }
first=$(total)
deadline=$((SECONDS + 30))
while (($(total | cut -d. -f1) <= ${first%.*})); do
  ((SECONDS < deadline)) || fail "loadgen_requests_total did not grow past $first"
  sleep 0.2
done
log "demo serving $demo_dir; loadgen_requests_total grew from $first to $(total)"

kill -INT "$RUN_PID"
for _ in $(seq 100); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$RUN_PID" 2>/dev/null && fail "run.sh did not stop on SIGINT"
# Everything it started is gone (its children ran in their own groups).
sleep 0.5
curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/-/ready" 2>/dev/null &&
  fail "the collector still answers after Ctrl-C"
pgrep -f -- "--dir $demo_dir" >/dev/null && fail "processes on $demo_dir still run after Ctrl-C"
[[ ! -e $demo_dir ]] || fail "the demo directory $demo_dir was not removed"
log "demo stopped cleanly on SIGINT"

# 2. An existing directory: the pyhead-web fixture, copied.
FIX=$REPO_DIR/tests/fixtures
cp -r "$FIX/py016-web/dir" "$WORK/existing"
before=$(ls "$WORK/existing" | sort)
run_script "$WORK/existing.log" PROMETHEUS_MULTIPROC_DIR="$WORK/existing" \
  PROMDIR_COLLECTOR_ARGS=--no-prune
grep -q "serving the existing directory $WORK/existing" "$WORK/existing.log" ||
  fail "run.sh did not serve PROMETHEUS_MULTIPROC_DIR"
"$BIN_DIR/promdir" collect --dir "$WORK/existing" 2>/dev/null | grep -v '^#' | sort >"$WORK/want.txt"
curl -fsS "http://127.0.0.1:$PORT/metrics" | grep -v '^#' | grep -v '^promdir_collector_' | sort >"$WORK/got.txt"
diff -u "$WORK/want.txt" "$WORK/got.txt" >&2 || fail "served metrics differ from promdir collect"
[[ -s $WORK/got.txt ]] || fail "nothing served from the existing directory"
stop_bg "$RUN_PID"
[[ -d $WORK/existing ]] || fail "run.sh removed a directory it did not create"
[[ $(ls "$WORK/existing" | sort) == "$before" ]] || fail "run.sh changed the files of an existing directory"
log "PASS"
