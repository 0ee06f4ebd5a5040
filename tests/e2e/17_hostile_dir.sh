#!/usr/bin/env bash
# The directory as a hostile place (issue 13): whoever can write the
# multiprocess directory must not make promdir, often root, touch anything
# outside it, nor hang it.
#   A. Symlink traps under every name promdir creates or opens (the lock
#      files, the journal and its temporary, an archive's temporary, a
#      staging name, a writer's temporary, metrics and archive names): the
#      real `promdir` collect/compact/prune/wipe and the collector run beside
#      them; nothing outside the directory is created or changed, and the
#      totals are right.
#   B. A foreign process holds `.promdir.lock` forever: `promdir collect` and
#      a scrape answer within the bound (2 s wait), /-/healthy at once, and
#      `promdir compact` gives up with "busy" instead of hanging.
#   C. A journal naming `../victim` (with the victim's real device and inode):
#      refused as corrupt, the victim untouched; a FIFO as the journal is
#      refused without blocking, and a symlink as the journal is refused.
#   D. wipe deletes metrics files and promdir's bookkeeping only, never
#      *.db-looking junk.
#   E. The directory swapped for a symlink to another directory under a
#      running collector (with compaction and pruning on): it keeps serving
#      the directory it opened and logs it; the other directory is neither
#      read nor changed; prune/wipe/compact/collect refuse the symlink,
#      naming it. Replaced by a real directory, it is re-opened (logged).
#   F. A writer's stale temporary file: `promdir prune` deletes it, naming it.
#   G. As root: a `.promdir.lock` root made (umask 077) is mode 0666, and the
#      application's user (nobody) runs `promdir compact` with it.
source "$(dirname "$0")/lib.bash"

PROMDIR=$(require_bin promdir)
require_bin promdir-collector >/dev/null
make_tmp WORK

# write_counters DIR N: N Python processes (then dead) each add 1 to hits.
write_counters() {
  local i
  for i in $(seq "$2"); do
    PROMETHEUS_MULTIPROC_DIR="$1" "$PY" -c '
from prometheus_client import Counter
Counter("hits", "hits").inc()'
  done
}
# total_of TEXT-ON-STDIN: the sum of hits_total samples.
total_of() { awk '$1 == "hits_total" {s += $NF} END {printf "%d\n", s}'; }
# snapshot DIR: names, sizes, modes and contents of everything under DIR.
snapshot() {
  (cd "$1" && find . -printf '%p %y %s %m %T@\n' | sort &&
    find . -type f -exec md5sum {} + | sort)
}
now_ms() { date +%s%3N; }

# --- A. Symlink traps.
D="$WORK/a/dir"
OUT="$WORK/a/outside"
mkdir -p "$D" "$OUT"
write_counters "$D" 3
echo precious >"$OUT/existing"
for name in .promdir.lock .promdir-compact.lock .promdir-compact.journal.tmp \
  .promdir-compact.counter_archive.db.tmp .promdir-compact.counter_archive8.db.tmp; do
  ln -s "$OUT/created-by${name}" "$D/$name"   # would create a file outside
done
ln -s "$OUT/existing" "$D/.promdir-compact.gauge_all_archive.db.tmp"
ln -s "$OUT/existing" "$D/counter_999999.compacting.db"  # a staging name
ln -s "$OUT/existing" "$D/.counter_7.db.tmp-7"           # a writer's temp
ln -s "$OUT/existing" "$D/counter_8888.db"               # metrics files
ln -s "$OUT/existing" "$D/gauge_livesum_8888.db"
ln -s "$OUT/existing" "$D/histogram_archive8.db"         # an archive
before=$(snapshot "$OUT")

got=$("$PROMDIR" collect --dir "$D" | total_of)
[[ $got == 3 ]] || fail "collect beside symlink traps: hits_total $got, want 3"
set +e
msg=$("$PROMDIR" compact --dir "$D" 2>&1)
rc=$?
set -e
((rc != 0)) || fail "compact went ahead through a symlinked lock file"
grep -q 'promdir-compact.lock' <<<"$msg" ||
  fail "compact's error does not name the planted lock file: $msg"
log "compact refuses a symlinked lock file (exit $rc): $msg"
start_collector "$D" "$WORK/a-collector.log" --compact-interval 1s
got=$(curl -fsS --max-time 10 "$COLLECTOR_URL/metrics" | total_of)
[[ $got == 3 ]] || fail "collector beside symlink traps: hits_total $got, want 3"
stop_bg "$COLLECTOR_PID"
# Without the lock traps compaction runs: the temporary and staging traps
# are replaced by promdir's own files, never written through.
rm "$D/.promdir.lock" "$D/.promdir-compact.lock"
"$PROMDIR" compact --dir "$D" >/dev/null 2>&1 || true
"$PROMDIR" prune --dir "$D" >/dev/null 2>&1 || true
got=$("$PROMDIR" collect --dir "$D" | total_of)
[[ $got == 3 ]] || fail "after compaction beside traps: hits_total $got, want 3"
# Debian's prometheus_client 0.16 writes the 8-byte layout: counter_archive8.db.
ARCHIVE=$(cd "$D" && ls counter_archive*.db 2>/dev/null | head -1)
[[ -n $ARCHIVE ]] || fail "compaction did not fold the dead writers"
[[ $(snapshot "$OUT") == "$before" ]] ||
  fail "something outside the directory changed: $(diff <(echo "$before") <(snapshot "$OUT"))"
for f in "$D"/.promdir.lock "$D"/.promdir-compact.lock "$D/$ARCHIVE"; do
  [[ -f $f && ! -L $f ]] || fail "$f is not a regular file"
done
"$PROMDIR" wipe --dir "$D" --force >/dev/null 2>&1 || true
[[ $(snapshot "$OUT") == "$before" ]] || fail "wipe changed something outside"
[[ -z $(ls -A "$D") ]] || fail "wipe left: $(ls -A "$D")"
log "A: symlink traps: collect, compact, prune, wipe and the collector touched nothing outside"

# --- B. A foreign process holds the readers' lock forever.
D="$WORK/b"
mkdir -p "$D"
write_counters "$D" 2
start_bg "$WORK/b-holder.log" "$PY" -c '
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
print("held", flush=True)
time.sleep(3600)' "$D/.promdir.lock"
HOLDER=$BG_PID
for _ in $(seq 100); do grep -q held "$WORK/b-holder.log" && break; sleep 0.05; done
grep -q held "$WORK/b-holder.log" || fail "the lock holder did not start"
t0=$(now_ms)
got=$(timeout 20 "$PROMDIR" collect --dir "$D" | total_of)
t1=$(now_ms)
[[ $got == 2 ]] || fail "collect with a held lock: hits_total $got, want 2"
(((t1 - t0) < 5000)) || fail "collect with a held lock took $((t1 - t0)) ms"
log "B: promdir collect with the lock held by pid $HOLDER: $((t1 - t0)) ms"
start_collector "$D" "$WORK/b-collector.log"
t0=$(now_ms)
curl -fsS --max-time 20 "$COLLECTOR_URL/metrics" >"$WORK/b-scrape" &
SCRAPE=$!
sleep 0.2
curl -fsS --max-time 1 "$COLLECTOR_URL/-/healthy" >/dev/null ||
  fail "/-/healthy did not answer within 1 s during a scrape waiting for the lock"
curl -fsS --max-time 1 "$COLLECTOR_URL/-/ready" >/dev/null ||
  fail "/-/ready did not answer within 1 s during a scrape waiting for the lock"
wait "$SCRAPE" || fail "the scrape failed with the lock held"
t1=$(now_ms)
got=$(total_of <"$WORK/b-scrape")
[[ $got == 2 ]] || fail "scrape with a held lock: hits_total $got, want 2"
(((t1 - t0) < 5000)) || fail "scrape with a held lock took $((t1 - t0)) ms"
log "B: scrape with the lock held: $((t1 - t0)) ms; /-/healthy answered meanwhile"
t0=$(now_ms)
curl -fsS --max-time 20 "$COLLECTOR_URL/metrics" >/dev/null
t1=$(now_ms)
(((t1 - t0) < 5000)) || fail "a second scrape took $((t1 - t0)) ms"
grep -qi 'lock' "$WORK/b-collector.log" ||
  fail "the collector did not log that it read without the lock"
stop_bg "$COLLECTOR_PID"
t0=$(now_ms)
set +e
msg=$(timeout 60 "$PROMDIR" compact --dir "$D" 2>&1)
rc=$?
set -e
t1=$(now_ms)
((rc == 3)) || fail "compact with the readers' lock held: exit $rc, want 3 (busy): $msg"
log "B: compact gave up after $((t1 - t0)) ms: $msg"
stop_bg "$HOLDER"
"$PROMDIR" compact --dir "$D" >/dev/null
got=$("$PROMDIR" collect --dir "$D" | total_of)
[[ $got == 2 ]] || fail "after the holder left: hits_total $got, want 2"

# --- C. A journal naming ../victim.
D="$WORK/c/dir"
mkdir -p "$D"
write_counters "$D" 2
"$PROMDIR" compact --dir "$D" >/dev/null
echo precious >"$WORK/c/victim"
ARCHIVE=$(cd "$D" && ls counter_archive*.db | head -1)
read -r adev aino < <(stat -c '%d %i' "$D/$ARCHIVE")
read -r vdev vino < <(stat -c '%d %i' "$WORK/c/victim")
printf 'promdir-compact-journal 1\narchive\t%s\t%s\t%s\t.promdir-compact.%s.tmp\nsource\t../victim\t%s\t%s\nend\t1\n' \
  "$ARCHIVE" "$adev" "$aino" "$ARCHIVE" "$vdev" "$vino" >"$D/.promdir-compact.journal"
set +e
msg=$("$PROMDIR" compact --dir "$D" 2>&1)
rc=$?
set -e
((rc != 0)) || fail "compact accepted a journal naming ../victim"
grep -q 'bad source record' <<<"$msg" || fail "compact's error does not say why: $msg"
[[ $(cat "$WORK/c/victim") == precious ]] || fail "the victim outside was touched"
got=$("$PROMDIR" collect --dir "$D" | total_of)
[[ $got == 2 ]] || fail "collect beside a hostile journal: hits_total $got, want 2"
log "C: a journal naming ../victim refused: $msg"
# A FIFO under the journal's name: opened without blocking, refused.
rm "$D/.promdir-compact.journal"
mkfifo "$D/.promdir-compact.journal"
got=$(timeout 10 "$PROMDIR" collect --dir "$D" | total_of) ||
  fail "collect hung on a FIFO planted as the journal"
[[ $got == 2 ]] || fail "collect beside a FIFO journal: hits_total $got, want 2"
set +e
msg=$(timeout 10 "$PROMDIR" compact --dir "$D" 2>&1)
rc=$?
set -e
((rc == 1)) || fail "compact beside a FIFO journal: exit $rc, want 1: $msg"
log "C: a FIFO journal refused without blocking: $msg"
# A symlink under the journal's name: never followed, refused.
rm "$D/.promdir-compact.journal"
ln -s "$WORK/c/victim" "$D/.promdir-compact.journal"
set +e
msg=$(timeout 10 "$PROMDIR" compact --dir "$D" 2>&1)
rc=$?
set -e
((rc == 1)) || fail "compact beside a symlinked journal: exit $rc, want 1: $msg"
[[ $(cat "$WORK/c/victim") == precious && -L $D/.promdir-compact.journal ]] ||
  fail "the symlinked journal or its target was touched"
log "C: a symlinked journal refused: $msg"

# --- D. wipe deletes only metrics files and bookkeeping.
D="$WORK/d"
mkdir -p "$D"
write_counters "$D" 1
for junk in x.db notes.db foo_1.db counter_.db gauge_1.db; do echo junk >"$D/$junk"; done
"$PROMDIR" wipe --dir "$D" >/dev/null
left=$(cd "$D" && ls -A | sort | tr '\n' ' ')
[[ $left == "counter_.db foo_1.db gauge_1.db notes.db x.db " ]] ||
  fail "wipe left '$left', want only the junk"
log "D: wipe left the non-metrics files: $left"

# --- E. The directory swapped for a symlink under a running collector.
D="$WORK/e/dir"
V="$WORK/e/victim"
mkdir -p "$D" "$V"
write_counters "$D" 2
write_counters "$V" 5
# A dead writer's livesum gauge in the victim: pruning through the link
# would delete it.
PROMETHEUS_MULTIPROC_DIR="$V" "$PY" -c '
from prometheus_client import Gauge
Gauge("inflight", "i", multiprocess_mode="livesum").set(1)'
before=$(snapshot "$V")
start_collector "$D" "$WORK/e-collector.log" --compact-interval 1s
got=$(curl -fsS --max-time 10 "$COLLECTOR_URL/metrics" | total_of)
[[ $got == 2 ]] || fail "E: before the swap: hits_total $got, want 2"
mv "$D" "$WORK/e/dir.old"
ln -s "$V" "$D"
for _ in 1 2 3; do
  got=$(curl -fsS --max-time 10 "$COLLECTOR_URL/metrics" | total_of)
  [[ $got == 2 ]] || fail "E: after the swap: hits_total $got, want 2 (the opened directory)"
  sleep 0.6  # compaction passes, each refusing the symlink
done
[[ $(snapshot "$V") == "$before" ]] ||
  fail "E: the directory behind the symlink changed: $(diff <(echo "$before") <(snapshot "$V"))"
grep -q 'still using the directory opened before' "$WORK/e-collector.log" ||
  fail "E: the collector did not log the swap"
[[ $(grep -c 'still using the directory opened before' "$WORK/e-collector.log") == 1 ]] ||
  fail "E: the swap was logged more than once"
for cmd in collect prune compact wipe; do
  set +e
  msg=$("$PROMDIR" "$cmd" --dir "$D" 2>&1)
  rc=$?
  set -e
  ((rc != 0)) || fail "E: promdir $cmd accepted a symlinked directory"
  grep -q "$D is a symbolic link" <<<"$msg" || fail "E: promdir $cmd: $msg"
done
[[ $(snapshot "$V") == "$before" ]] || fail "E: a command changed the victim"
log "E: swapped for a symlink: served the opened directory, victim untouched; CLI: $msg"
rm "$D"
mkdir "$D"
write_counters "$D" 4
got=$(curl -fsS --max-time 10 "$COLLECTOR_URL/metrics" | total_of)
[[ $got == 4 ]] || fail "E: replaced by a real directory: hits_total $got, want 4"
grep -q 're-opened' "$WORK/e-collector.log" || fail "E: the re-open was not logged"
stop_bg "$COLLECTOR_PID"
log "E: replaced by a real directory: re-opened and served"

# --- F. A writer's stale temporary file.
D="$WORK/f"
mkdir -p "$D"
echo junk >"$D/.counter_4194400.db.tmp-4194400"
out=$("$PROMDIR" prune --dir "$D")
grep -qF "removed $D/.counter_4194400.db.tmp-4194400" <<<"$out" ||
  fail "F: prune did not name the stale temporary: $out"
[[ ! -e $D/.counter_4194400.db.tmp-4194400 ]] || fail "F: the stale temporary is still there"
log "F: $out"

# --- G. A lock file root made, used by the application's user.
if (($(id -u) == 0)) && command -v setpriv >/dev/null 2>&1; then
  G=$(mktemp -d /tmp/promdir-17g-XXXXXX)
  chmod 0777 "$G"
  as_app=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  for _ in 1 2; do
    "${as_app[@]}" env PROMETHEUS_MULTIPROC_DIR="$G" "$PY" -c '
from prometheus_client import Counter
Counter("hits", "hits").inc()'
  done
  got=$(umask 077 && "$PROMDIR" collect --dir "$G" | total_of)
  [[ $got == 2 ]] || fail "G: hits_total $got, want 2"
  [[ $(stat -c '%U %a' "$G/.promdir.lock") == "root 666" ]] ||
    fail "G: root's lock file is $(stat -c '%U %a' "$G/.promdir.lock"), want root 666"
  out=$("${as_app[@]}" "$PROMDIR" compact --dir "$G" 2>&1) ||
    fail "G: compact as the application's user failed: $out"
  grep -q 'folded 2 file' <<<"$out" || fail "G: compact folded nothing: $out"
  got=$("$PROMDIR" collect --dir "$G" | total_of)
  [[ $got == 2 ]] || fail "G: after compaction hits_total $got, want 2"
  rm -rf "$G"
  log "G: nobody compacted beside root's 0666 lock file: $out"
else
  log "G: skipped (not root, or no setpriv)"
fi
log "PASS"
