#!/usr/bin/env bash
# Refreshes the parts of README.md that are pasted from the real programs:
# the C++ example (tests/examples/quickstart.cc), `promdir --help` and every
# subcommand's, `promdir-collector --help`, and the self-metrics a running
# collector exports (names, types, help). Run after changing any of them:
#
#   BUILD_DIR=build bash scripts/update-readme.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BIN="$BUILD_DIR/bin"
for b in promdir promdir-collector promdir-loadgen; do
  [[ -x $BIN/$b ]] || { echo "update-readme: $BIN/$b is missing" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'kill "${cpid:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT

{
  echo '```text'
  "$BIN/promdir" --help | sed "s|$BIN/||"
  for c in ls dump check collect prune mark-dead compact wipe; do
    echo
    echo "\$ promdir $c --help"
    "$BIN/promdir" "$c" --help | sed "s|$BIN/||"
  done
  echo '```'
} >"$tmp/promdir"
{
  echo '```text'
  "$BIN/promdir-collector" --help | sed "s|$BIN/||"
  echo '```'
} >"$tmp/collector"

{
  echo '```text'
  "$BIN/promdir-loadgen" --help | sed "s|$BIN/||"
  echo '```'
} >"$tmp/loadgen"

# Self-metrics: from a collector with compaction on, over a small directory.
mkdir -p "$tmp/dir"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN/promdir-collector" --dir "$tmp/dir" --web.listen-address "127.0.0.1:$port" \
  --compact-interval 1s --log.level error &
cpid=$!
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/-/ready" 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 30); do
  curl -fsS "http://127.0.0.1:$port/metrics" >"$tmp/self.txt"
  grep -q compaction_last_success "$tmp/self.txt" && break
  sleep 0.2
done
/usr/bin/python3 - "$tmp/self.txt" >"$tmp/self" <<'PY'
import sys
rows, helps, types = [], {}, {}
for line in open(sys.argv[1]):
    if line.startswith("# HELP promdir_collector_"):
        _, _, name, text = line.rstrip("\n").split(" ", 3)
        helps[name] = text
        rows.append(name)
    elif line.startswith("# TYPE promdir_collector_"):
        _, _, name, t = line.split()
        types[name] = t
print("| metric | type | meaning |")
print("|---|---|---|")
for n in rows:
    print("| `%s` | %s | %s |" % (n, types.get(n, ""), helps[n].replace("|", "\\|")))
PY
kill "$cpid"; wait "$cpid" 2>/dev/null || true

/usr/bin/python3 - README.md "$tmp" <<'PY'
import re, sys
path, tmp = sys.argv[1], sys.argv[2]
s = open(path).read()
def fill(marker, text):
    global s
    pat = re.compile(r"(<!-- BEGIN %s -->\n).*?(<!-- END %s -->)" % (re.escape(marker), re.escape(marker)), re.S)
    if not pat.search(s):
        sys.exit("README.md has no %s markers" % marker)
    s = pat.sub(lambda m: m.group(1) + text.rstrip("\n") + "\n" + m.group(2), s)
fill("promdir --help", open(tmp + "/promdir").read())
fill("promdir-collector --help", open(tmp + "/collector").read())
fill("promdir-loadgen --help", open(tmp + "/loadgen").read())
fill("self-metrics", open(tmp + "/self").read())
example = open("tests/examples/quickstart.cc").read()
s = re.sub(r"(```cpp\n)// The README's C\+\+ example.*?(```)", lambda m: m.group(1) + example + m.group(2), s, flags=re.S)
open(path, "w").write(s)
PY
echo "update-readme: README.md refreshed" >&2
