#!/usr/bin/env bash
# The README tells the truth:
#   - it opens with the two commands, and both scripts exist;
#   - no file of the repository refers to a folder beside it;
#   - the C++ examples are tests/examples/quickstart.cc and collectable.cc
#     verbatim (which ctest compiles and runs as example_quickstart and
#     example_collectable);
#   - the pasted `--help` texts are the binaries' current ones;
#   - every scripts/ and docs/ path it names exists;
#   - the code keeps the house limits (scripts/check-limits.py: files of at
#     most 500 lines, functions and mains of at most 100, in lib/,
#     collector/ and cli/).
source "$(dirname "$0")/lib.bash"

PROMDIR=$(require_bin promdir)
COLLECTOR=$(require_bin promdir-collector)
README="$REPO_DIR/README.md"

head -n 8 "$README" | grep -q '^bash scripts/run.sh' || fail "README does not open with the run command"
head -n 8 "$README" | grep -q '^bash scripts/test.sh' || fail "README does not open with the test command"

# The repository stands alone: nothing it holds reads beside the clone.
outside=$(cd "$REPO_DIR" && git grep -l -e '\.\./''shared' -- . 2>/dev/null || true)
[[ -z $outside ]] || fail "files refer outside the repository: $outside"

for ex in quickstart collectable; do
  "$PY" - "$README" "$REPO_DIR/tests/examples/$ex.cc" <<'EOF2' || fail "README's C++ example differs from tests/examples/$ex.cc"
import sys
readme, example = open(sys.argv[1]).read(), open(sys.argv[2]).read()
sys.exit(0 if "```cpp\n" + example + "```" in readme else 1)
EOF2
done

HELPCHECK='import sys; sys.exit(0 if sys.stdin.read().rstrip("\n") in open(sys.argv[1]).read() else 1)'
check_help() {
  local label=$1; shift
  "$@" | sed "s|$BIN_DIR/||" | "$PY" -c "$HELPCHECK" "$README" ||
    fail "README's pasted '$label' is stale: run scripts/update-readme.sh"
}
check_help "promdir --help" "$PROMDIR" --help
for c in ls dump check collect prune mark-dead compact wipe; do
  check_help "promdir $c --help" "$PROMDIR" "$c" --help
done
check_help "promdir-collector --help" "$COLLECTOR" --help
check_help "promdir-loadgen --help" "$(require_bin promdir-loadgen)" --help

missing=
for p in $(grep -oE '(scripts|docs|tests)/[A-Za-z0-9_./-]+' "$README" | sed 's/[.)]*$//' | sort -u); do
  [[ $p == *'*'* ]] && continue
  [[ -e $REPO_DIR/$p ]] || missing+=" $p"
done
[[ -z $missing ]] || fail "README names paths that do not exist:$missing"

limits=$(/usr/bin/python3 "$REPO_DIR/scripts/check-limits.py" "$REPO_DIR" 2>&1) ||
  fail "size limits exceeded:"$'\n'"$limits"
# The checker itself finds what it must: a long function and a long file.
make_tmp LIMITS
mkdir -p "$LIMITS/lib"
{ echo 'int Long() {'; for i in $(seq 120); do echo "  int x$i = $i;"; done
  echo '  return 0;'; echo '}'; } >"$LIMITS/lib/long.cc"
for i in $(seq 520); do echo "int g$i = $i;"; done >"$LIMITS/lib/big.h"
out=$(/usr/bin/python3 "$REPO_DIR/scripts/check-limits.py" "$LIMITS" 2>/dev/null) &&
  fail "check-limits.py passed a 123-line function and a 520-line file"
grep -q '^lib/long.cc:1: function Long has 123 lines' <<<"$out" ||
  fail "check-limits.py did not name the long function: $out"
grep -q '^lib/big.h:1: file has 520 lines' <<<"$out" ||
  fail "check-limits.py did not name the long file: $out"
log "PASS"
