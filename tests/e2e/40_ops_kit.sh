#!/usr/bin/env bash
# Tries every file of the operations kit in scripts/:
#   gunicorn.conf.py       its hooks, called as gunicorn calls them
#   uwsgi.ini              parsed; its worker-id recipe run with a stand-in
#                          uwsgi module (uWSGI itself is not installed)
#   systemd/*              systemd-analyze verify and security (2.5 or
#                          lower); the collector accepts the flags the units
#                          pass; the units' identity (user, group, setgid
#                          directory, CAP_LEASE only) tried with setpriv
#   kubernetes/sidecar.yaml parsed; shared emptyDir; the collector accepts
#                          the sidecar's arguments and serves its probes
#   prometheus.yml         promtool check config
#   grafana/*.json         valid JSON with sane panels; every expression runs
#                          on a real Prometheus scraping a real collector, and
#                          every promdir_collector_* metric it uses exists
source "$(dirname "$0")/lib.bash"

PROMDIR=$(require_bin promdir)
COLLECTOR=$(require_bin promdir-collector)
SCRIPTS="$REPO_DIR/scripts"
make_tmp WORK

# --- gunicorn.conf.py --------------------------------------------------------
log "gunicorn.conf.py: hooks"
mkdir -p "$WORK/gc"
PROMETHEUS_MULTIPROC_DIR="$WORK/gc" PROMDIR_BIN="$PROMDIR" "$PY" - "$SCRIPTS/gunicorn.conf.py" <<'EOF' ||
import logging, os, runpy, sys
d = os.environ["PROMETHEUS_MULTIPROC_DIR"]
conf = runpy.run_path(sys.argv[1])
assert conf["workers"] >= 1 and conf["max_requests"] > 0 and conf["preload_app"] is False
class Server: log = logging.getLogger("gunicorn")
class Worker: pid = 4242
# on_starting wipes old files.
open(os.path.join(d, "counter_1.db"), "wb").close()
conf["on_starting"](Server())
assert not os.listdir(d), os.listdir(d)
# child_exit removes only the dead worker's live gauges. The worker writes
# its files and exits first, as gunicorn's worker does before the hook runs
# (a file still open for writing is live, and stays).
child = os.fork()
if child == 0:
    from prometheus_client import values
    values.ValueClass = values.MultiProcessValue(process_identifier=lambda: 4242)
    from prometheus_client import Counter, Gauge
    Counter("c", "c").inc()
    Gauge("g", "g", multiprocess_mode="livesum").set(1)
    Gauge("h", "h", multiprocess_mode="max").set(1)
    os._exit(0)
assert os.waitpid(child, 0)[1] == 0
before = sorted(os.listdir(d))
assert before == ["counter_4242.db", "gauge_livesum_4242.db", "gauge_max_4242.db"], before
conf["child_exit"](Server(), Worker())
after = sorted(os.listdir(d))
assert after == ["counter_4242.db", "gauge_max_4242.db"], after
print("gunicorn.conf.py hooks: ok", file=sys.stderr)
EOF
  fail "gunicorn.conf.py hooks misbehave"

# --- uwsgi.ini ---------------------------------------------------------------
log "uwsgi.ini: parse and worker-id recipe"
if command -v uwsgi >/dev/null 2>&1; then
  log "(uwsgi is installed, but the ini is checked by parsing: running it needs an app)"
fi
mkdir -p "$WORK/uw/fake"
cat >"$WORK/uw/fake/uwsgi.py" <<'EOF'
def worker_id():
    return 3
EOF
PROMETHEUS_MULTIPROC_DIR="$WORK/uw" PYTHONPATH="$WORK/uw/fake" "$PY" - "$SCRIPTS/uwsgi.ini" <<'EOF' ||
import configparser, os, re, sys, textwrap
text = open(sys.argv[1]).read()
cp = configparser.ConfigParser(strict=False, comment_prefixes=(";", "#"), interpolation=None)
cp.read_string(text)
u = cp["uwsgi"]
assert u.get("lazy-apps") == "true", "lazy-apps must be true"
assert int(u.get("processes")) >= 1
envs = [l.split("=", 1)[1].strip() for l in text.splitlines() if re.match(r"\s*env\s*=", l)]
assert any(e.startswith("PROMETHEUS_MULTIPROC_DIR=") for e in envs), envs
# The Python recipe in the comments, run as a worker would run it.
lines = [l[1:] for l in text.splitlines() if l.startswith(";   ")]
start = next(i for i, l in enumerate(lines) if l.strip() == "try:")
snippet = textwrap.dedent("\n".join(lines[start:start + 8]))
exec(compile(snippet, "uwsgi.ini recipe", "exec"))
from prometheus_client import Counter
Counter("uw_requests", "r").inc()
files = sorted(os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
assert "counter_3.db" in files, files
print("uwsgi.ini: ok (worker id 3 -> counter_3.db)", file=sys.stderr)
EOF
  fail "uwsgi.ini check failed"

# --- systemd units -----------------------------------------------------------
log "systemd units"
mkdir -p "$WORK/systemd"
for u in "$SCRIPTS"/systemd/*; do
  sed "s|/usr/bin/|$BIN_DIR/|g" "$u" >"$WORK/systemd/$(basename "$u")"
done
if command -v systemd-analyze >/dev/null 2>&1; then
  # It exits 0 on unknown keys or bad values, only saying so: any output
  # at all is a failure.
  (cd "$WORK/systemd" && systemd-analyze verify ./*.service ./*.timer) >"$WORK/verify.log" 2>&1 ||
    { cat "$WORK/verify.log" >&2; fail "systemd-analyze verify rejected a unit in scripts/systemd"; }
  [[ ! -s $WORK/verify.log ]] ||
    { cat "$WORK/verify.log" >&2; fail "systemd-analyze verify complains about scripts/systemd"; }
else
  log "WARNING: systemd-analyze is not installed; units only checked for their keys"
fi
# Least privilege: systemd's own audit rates each service 2.5 or lower (its
# --threshold is in tenths).
if command -v systemd-analyze >/dev/null 2>&1; then
  for u in "$WORK"/systemd/*.service; do
    systemd-analyze security --offline=yes --threshold=25 "$u" >"$WORK/security.log" 2>&1 ||
      { tail -n 40 "$WORK/security.log" >&2; fail "$(basename "$u") is rated above 2.5 by systemd-analyze security"; }
    log "$(grep -o 'Overall exposure level.*' "$WORK/security.log")"
  done
fi
for u in "$SCRIPTS"/systemd/*.service; do
  grep -q '^User=promdir$' "$u" || fail "$(basename "$u") does not run as the user promdir"
done
grep -q '^u promdir ' "$SCRIPTS/systemd/promdir.sysusers" || fail "sysusers.d file makes no user promdir"
grep -q '^d /run/promdir 2770 promdir promdir' "$SCRIPTS/systemd/promdir.tmpfiles" ||
  fail "tmpfiles.d file does not make /run/promdir"
grep -q '^ExecStart=/usr/bin/promdir-collector ' "$SCRIPTS/systemd/promdir-collector.service" ||
  fail "collector unit: unexpected ExecStart"
grep -q '^ExecStart=/usr/bin/promdir compact ' "$SCRIPTS/systemd/promdir-compact.service" ||
  fail "compact unit: unexpected ExecStart"
grep -q '^OnUnitActiveSec=' "$SCRIPTS/systemd/promdir-compact.timer" || fail "timer has no period"
# The flags the units pass are accepted.
unit_args=$(sed -n 's/^Environment=PROMDIR_COLLECTOR_ARGS=//p' "$SCRIPTS/systemd/promdir-collector.service")
mkdir -p "$WORK/unitdir"
# shellcheck disable=SC2086
start_collector "$WORK/unitdir" "$WORK/unit-collector.log" $unit_args
stop_bg "$COLLECTOR_PID"
"$PROMDIR" compact --dir "$WORK/unitdir" >/dev/null || fail "promdir compact (the timer's command) failed"

# --- the units' identity, for real ---------------------------------------------
# No systemd runs here, so the sandbox itself is systemd's to enforce; what
# the units rely on is tried with setpriv: Python workers as an application
# user write a setgid directory of a shared group; the collector runs as
# another user in that group with CAP_LEASE only (the unit's User=,
# SupplementaryGroups=, AmbientCapabilities=, CapabilityBoundingSet=,
# NoNewPrivileges= and UMask=), serves the sum, compacts the dead worker's
# files and prunes its live gauge; and CAP_LEASE is what lets it take a lease
# on a file of another user.
if (($(id -u) == 0)) && command -v setpriv >/dev/null 2>&1; then
  log "the units' identity: a collector as another user, in the directory's group, CAP_LEASE only"
  app_uid=4242 col_uid=4243 gid=4244
  SHARED="$WORK/shared"
  install -d -m 2770 -o "$app_uid" -g "$gid" "$SHARED"
  as_app=(setpriv --reuid="$app_uid" --regid="$app_uid" --groups="$gid" --inh-caps=-all
          --bounding-set=-all --no-new-privs)
  caps=(--inh-caps=-all,+lease --ambient-caps=-all,+lease --bounding-set=-all,+lease)
  as_collector=(setpriv --reuid="$col_uid" --regid="$col_uid" --groups="$gid" --no-new-privs)
  worker='
import os, sys, time
from prometheus_client import Counter, Gauge
Counter("app_requests", "r").inc(int(sys.argv[1]))
Gauge("app_inflight", "i", multiprocess_mode="livesum").set(1)
if sys.argv[2] == "stay":
    print("ready", os.getpid(), flush=True)
    time.sleep(120)
'
  PROMETHEUS_MULTIPROC_DIR="$SHARED" "${as_app[@]}" "$PY" -c "$worker" 5 exit ||
    fail "a Python worker as uid $app_uid could not write $SHARED"
  start_bg "$WORK/stay.log" env PROMETHEUS_MULTIPROC_DIR="$SHARED" "${as_app[@]}" "$PY" -c "$worker" 7 stay
  STAY_PID=$BG_PID
  for _ in $(seq 100); do grep -q ready "$WORK/stay.log" && break; sleep 0.1; done
  grep -q ready "$WORK/stay.log" || fail "the staying worker did not start: $(cat "$WORK/stay.log")"
  stay_worker=$(awk '/ready/ {print $2}' "$WORK/stay.log")
  # CAP_LEASE decides whether the collector's user may lease a worker's file.
  lease='
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
'
  some_file=$(ls "$SHARED"/counter_*.db | head -n 1)
  "${as_collector[@]}" "${caps[@]}" "$PY" -c "$lease" "$some_file" 2>"$WORK/lease.log" ||
    { cat "$WORK/lease.log" >&2; fail "with CAP_LEASE the collector's user cannot lease $some_file"; }
  if "${as_collector[@]}" --inh-caps=-all --bounding-set=-all "$PY" -c "$lease" "$some_file" 2>/dev/null; then
    fail "without CAP_LEASE a lease on another user's file succeeded: the capability is not what the unit needs"
  fi
  port=$(free_port)
  start_bg "$WORK/sandboxed.log" bash -c 'umask 0007; exec "$@"' _ "${as_collector[@]}" "${caps[@]}" \
    "$COLLECTOR" --dir "$SHARED" --web.listen-address "127.0.0.1:$port" --compact-interval 1s
  SANDBOXED_PID=$BG_PID
  wait_http "http://127.0.0.1:$port/-/ready" "$SANDBOXED_PID" "$WORK/sandboxed.log" 30
  deadline=$((SECONDS + 20))
  until [[ -e $SHARED/counter_archive8.db ]] && ! ls "$SHARED"/gauge_livesum_* 2>/dev/null | grep -vq "_$stay_worker.db"; do
    ((SECONDS < deadline)) || { ls -l "$SHARED" >&2; tail -n 20 "$WORK/sandboxed.log" >&2; fail "the collector as uid $col_uid did not compact and prune the dead worker's files"; }
    sleep 0.3
  done
  body=$(curl -fsS "http://127.0.0.1:$port/metrics") || fail "scrape of the sandboxed collector failed"
  grep -qE '^app_requests_total 12(\.0)?$' <<<"$body" || { echo "$body" | grep app_ >&2; fail "the sandboxed collector does not serve 5 + 7"; }
  grep -qE '^app_inflight 1(\.0)?$' <<<"$body" || fail "the sandboxed collector does not drop the dead worker's live gauge"
  archive_stat=$(stat -c '%u %g %a' "$SHARED/counter_archive8.db")
  # Owned by the collector's user, in the directory's group (setgid), which
  # may read it (Python's collector run by the application); others nothing.
  [[ $archive_stat =~ ^$col_uid\ $gid\ [67][4-7]0$ ]] ||
    fail "the archive is '$archive_stat' (uid gid mode): not the collector's, readable by group $gid only"
  stop_bg "$SANDBOXED_PID"
  stop_bg "$STAY_PID"
  log "units' identity: scrape 12, compacted, pruned; archive $archive_stat; CAP_LEASE needed and enough"
else
  log "WARNING: not root (or no setpriv): the units' identity is not tried"
fi

# --- Kubernetes sidecar --------------------------------------------------------
log "kubernetes/sidecar.yaml"
"$PY" - "$SCRIPTS/kubernetes/sidecar.yaml" >"$WORK/k8s-args" <<'EOF' ||
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
dep = next(d for d in docs if d and d.get("kind") == "Deployment")
spec = dep["spec"]["template"]["spec"]
# Liveness comes from the kernel: no shared pid namespace is needed.
assert not spec.get("shareProcessNamespace"), "shareProcessNamespace is not needed"
vols = {v["name"]: v for v in spec["volumes"]}
cs = {c["name"]: c for c in spec["containers"]}
assert "app" in cs and "promdir" in cs, list(cs)
app, side = cs["app"], cs["promdir"]
env = {e["name"]: e.get("value") for e in app.get("env", [])}
mdir = env["PROMETHEUS_MULTIPROC_DIR"]
am = {m["name"]: m["mountPath"] for m in app["volumeMounts"]}
sm = {m["name"]: m["mountPath"] for m in side["volumeMounts"]}
shared = [n for n in am if n in sm and "emptyDir" in vols.get(n, {})]
assert shared, "app and collector share no emptyDir"
assert am[shared[0]] == mdir == sm[shared[0]], (am, sm, mdir)
assert "--dir=" + mdir in side["args"], side["args"]
port = side["ports"][0]["containerPort"]
assert side["readinessProbe"]["httpGet"]["path"] == "/-/ready"
assert side["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
ann = dep["spec"]["template"]["metadata"]["annotations"]
assert ann["prometheus.io/port"] == str(port)
app_uid = app.get("securityContext", {}).get("runAsUser")
side_sc = side.get("securityContext", {})
caps = side_sc.get("capabilities", {}).get("add", [])
assert (app_uid is not None and side_sc.get("runAsUser") == app_uid) or "LEASE" in caps, \
    "the collector must own the files (same uid) or have CAP_LEASE"
print("\n".join(a for a in side["args"] if not a.startswith(("--dir=", "--web.listen-address="))))
EOF
  fail "kubernetes/sidecar.yaml is not what it should be"
mapfile -t k8s_args <"$WORK/k8s-args"
mkdir -p "$WORK/k8sdir"
start_collector "$WORK/k8sdir" "$WORK/k8s-collector.log" "${k8s_args[@]}"
curl -fsS "$COLLECTOR_URL/-/healthy" >/dev/null || fail "sidecar liveness probe path fails"
stop_bg "$COLLECTOR_PID"

# --- prometheus.yml ------------------------------------------------------------
log "prometheus.yml"
require_cmd promtool
promtool check config "$SCRIPTS/prometheus.yml" >"$WORK/promtool.log" 2>&1 ||
  { cat "$WORK/promtool.log" >&2; fail "promtool check config rejected scripts/prometheus.yml"; }

# --- Grafana dashboard -----------------------------------------------------------
log "grafana dashboard"
DASH="$SCRIPTS/grafana/promdir-dashboard.json"
"$PY" - "$DASH" >"$WORK/exprs.txt" <<'EOF' ||
import json, sys
d = json.load(open(sys.argv[1]))
assert d["title"] and d["uid"], "title and uid"
ids, exprs = set(), []
for p in d["panels"]:
    assert p["id"] not in ids, "duplicate panel id %s" % p["id"]
    ids.add(p["id"])
    g = p["gridPos"]
    assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
    if p["type"] == "row":
        continue
    assert p["type"] in ("timeseries", "stat", "gauge", "table", "bargauge"), p["type"]
    assert p["title"] and p["targets"], p["title"]
    for t in p["targets"]:
        assert t["expr"].strip(), p["title"]
        exprs.append(t["expr"])
assert len(exprs) >= 8, "too few panels"
assert any("promdir_collector_" in e for e in exprs) and any("django_http" in e for e in exprs)
names = {v["name"] for v in d["templating"]["list"]}
assert {"datasource", "job"} <= names, names
for e in exprs:
    print(e.replace("$__rate_interval", "1m").replace("$job", ".*"))
EOF
  fail "the Grafana dashboard JSON is not sane"

# Every expression must run on a real Prometheus, and every self-metric it
# names must exist in a real collector's output (with compaction on).
mkdir -p "$WORK/dashdir"
PROMETHEUS_MULTIPROC_DIR="$WORK/dashdir" "$PY" -c '
from prometheus_client import Counter; Counter("x_requests", "x").inc()'
start_collector "$WORK/dashdir" "$WORK/dash-collector.log" --compact-interval 1s
curl -fsS "$COLLECTOR_URL/metrics" >"$WORK/self.txt"
deadline=$((SECONDS + 20))
until grep -q '^promdir_collector_compaction_last_success' "$WORK/self.txt"; do
  ((SECONDS < deadline)) || break
  sleep 0.5
  curl -fsS "$COLLECTOR_URL/metrics" >"$WORK/self.txt"
done
missing=
for m in $(grep -o 'promdir_collector_[a-z_]*' "$WORK/exprs.txt" | sort -u); do
  grep -qE "^(# TYPE )?$m([ {]|$)" "$WORK/self.txt" || missing+=" $m"
done
[[ -z $missing ]] || fail "the dashboard uses self-metrics the collector does not export:$missing"
start_prometheus "${COLLECTOR_URL#http://}" "$WORK"
while IFS= read -r e; do
  out=$(curl -sS --get --data-urlencode "query=$e" "$PROM_URL/api/v1/query")
  grep -q '"status":"success"' <<<"$out" || fail "dashboard expression fails in Prometheus: $e -> $out"
done <"$WORK/exprs.txt"
log "dashboard: $(wc -l <"$WORK/exprs.txt") expressions run; self-metrics all exported"
log "PASS"
