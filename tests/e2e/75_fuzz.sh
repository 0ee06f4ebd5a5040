#!/usr/bin/env bash
# The libFuzzer targets of tests/fuzz, built with clang under ASan and UBSan
# (every library instrumented), each run for a bounded time:
#   fuzz_file_reader, fuzz_merge  seeded with the fixtures' metrics files
#   fuzz_key                      seeded with every key in those files
#   fuzz_negotiation, fuzz_journal, fuzz_web_config, fuzz_native
#                                 seeded from tests/fuzz/seeds
# Each first replays tests/fuzz/regressions/<target>/ (inputs that once
# crashed it). A crash, leak or sanitizer report fails the script and
# leaves the input under $WORK/artifacts: add it to regressions/ with the
# fix. Prints executions and coverage (cov = edges, ft = features).
#   FUZZ_BUILD_DIR (default build-fuzz)  FUZZ_SECONDS (default 20 each)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
FUZZ=${FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-20}
targets=(fuzz_file_reader fuzz_merge fuzz_key fuzz_negotiation fuzz_journal fuzz_web_config fuzz_native)
command -v clang++ >/dev/null || { echo "75_fuzz: clang++ missing (scripts/setup.sh installs it)" >&2; exit 1; }
CC=clang CXX=clang++ cmake -S . -B "$FUZZ" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="-O1 -g" -DPROMDIR_FUZZ=ON -DPROMDIR_BUILD_TESTS=OFF \
  -DPROMDIR_BUILD_BENCH=OFF -DPROMDIR_BUILD_TOOLS=OFF -DPROMDIR_INSTALL=OFF >/dev/null
cmake --build "$FUZZ" -j"$(nproc)" --target "${targets[@]}" 2>&1 | grep -E "error|warning" || true

WORK=$(mktemp -d /tmp/promdir-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# Seeds: the fixtures' files cut to their bytes in use, and their keys.
/usr/bin/python3 - "$ROOT/tests/fixtures" "$WORK" <<'PYEOF'
import glob, os, struct, sys
fixtures, work = sys.argv[1], sys.argv[2]
for d in ("files", "keys"):
    os.makedirs(os.path.join(work, "seeds", d), exist_ok=True)
n = 0
for path in sorted(glob.glob(os.path.join(fixtures, "*", "dir", "*.db"))):
    if not os.path.isfile(path) or os.path.islink(path):
        continue
    data = open(path, "rb").read()
    used = struct.unpack_from("i", data, 0)[0] if len(data) >= 4 else 0
    cut = data[:used] if 8 <= used <= len(data) else data[:4096]
    n += 1
    open(os.path.join(work, "seeds", "files", "%03d.db" % n), "wb").write(cut)
    pos = 8
    while 8 <= used <= len(data) and pos + 4 <= used:
        klen = struct.unpack_from("i", data, pos)[0]
        if klen <= 0 or pos + 4 + klen > used:
            break
        key = data[pos + 4:pos + 4 + klen]
        open(os.path.join(work, "seeds", "keys", "%08x" % (hash(key) & 0xffffffff)), "wb").write(key)
        pos += 4 + klen + (8 - (klen + 4) % 8) + 8
PYEOF
seeds_for() {
  case $1 in
    fuzz_file_reader|fuzz_merge) echo "$WORK/seeds/files" ;;
    fuzz_key) echo "$WORK/seeds/keys $ROOT/tests/fuzz/seeds/key" ;;
    fuzz_negotiation) echo "$ROOT/tests/fuzz/seeds/accept" ;;
    fuzz_journal) echo "$ROOT/tests/fuzz/seeds/journal" ;;
    fuzz_web_config) echo "$ROOT/tests/fuzz/seeds/web_config" ;;
    fuzz_native) echo "$ROOT/tests/fuzz/seeds/native" ;;
  esac
}
export TMPDIR=$WORK  # fuzz_merge's directory
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$WORK/artifacts"
printf '%-18s %10s %8s %8s %8s\n' target executions exec/s cov ft
for t in "${targets[@]}"; do
  bin=$FUZZ/bin/$t
  reg=$ROOT/tests/fuzz/regressions/$t
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
    "$bin" "$reg"/* >"$WORK/$t.regressions.log" 2>&1 ||
      { cat "$WORK/$t.regressions.log" >&2; echo "75_fuzz: $t fails a regression input" >&2; exit 1; }
  fi
  mkdir -p "$WORK/corpus/$t"
  dict=()
  case $t in
    fuzz_file_reader|fuzz_merge|fuzz_key) dict=(-dict="$ROOT/tests/fuzz/key.dict") ;;
  esac
  # shellcheck disable=SC2046
  if ! "$bin" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
      -artifact_prefix="$WORK/artifacts/$t-" "$WORK/corpus/$t" $(seeds_for "$t") \
      >"$WORK/$t.log" 2>&1; then
    tail -60 "$WORK/$t.log" >&2
    mkdir -p /tmp/promdir-fuzz-artifacts
    cp "$WORK"/artifacts/* /tmp/promdir-fuzz-artifacts/ 2>/dev/null || true
    echo "75_fuzz: $t crashed; inputs copied to /tmp/promdir-fuzz-artifacts" >&2
    exit 1
  fi
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$WORK/$t.log")
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$WORK/$t.log")
  last=$(grep -E '(DONE|pulse|NEW|REDUCE|INITED).*cov: ' "$WORK/$t.log" | tail -1)
  cov=$(echo "$last" | sed -nE 's/.*cov: ([0-9]+).*/\1/p')
  ft=$(echo "$last" | sed -nE 's/.*ft: ([0-9]+).*/\1/p')
  printf '%-18s %10s %8s %8s %8s\n' "$t" "$execs" "$rate" "$cov" "$ft"
  [ "${execs:-0}" -gt 0 ] || { echo "75_fuzz: $t ran nothing" >&2; exit 1; }
done
echo "fuzz: all targets ran ${SECONDS_EACH}s each without a crash"
