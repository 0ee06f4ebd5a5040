#!/usr/bin/env bash
# The reader, merge-engine, writer, native-histogram and collector
# network-layer tests (YAML
# and web config parsing on mutated input, head limits, basic auth) again, built with
# AddressSanitizer and UndefinedBehaviorSanitizer: a use-after-free or a data
# overrun that a normal build survives by luck fails here. The merge engine
# reads files on several threads and moves buffers between them, so its
# tests (including the ones that fork Python and promdir writers and kill
# them) run under both.
# The merge-engine tests then run once more under ThreadSanitizer: its
# reader threads share entry tables, predictions and the key table.
#   SAN_BUILD_DIR (default build-san) is where the instrumented build goes,
#   TSAN_BUILD_DIR (default build-tsan) the ThreadSanitizer one.
set -euo pipefail
cd "$(dirname "$0")/../.."
SAN=${SAN_BUILD_DIR:-build-san}
cmake -S . -B "$SAN" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
targets=(reader_test merge_test merge_unchanged_test engine_parts_test writer_test native_test collector_net_test)
cmake --build "$SAN" -j"$(nproc)" --target "${targets[@]}" 2>&1 | grep -E "error|warning" || true
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
  echo "--- $t (asan+ubsan)"
  "$SAN/bin/$t"
done
TSAN=${TSAN_BUILD_DIR:-build-tsan}
cmake -S . -B "$TSAN" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="-O1 -g -fsanitize=thread" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null
tsan_targets=(merge_test merge_unchanged_test engine_parts_test)
cmake --build "$TSAN" -j"$(nproc)" --target "${tsan_targets[@]}" 2>&1 | grep -E "error|warning" || true
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
for t in "${tsan_targets[@]}"; do
  echo "--- $t (tsan)"
  "$TSAN/bin/$t"
done
echo "sanitizers: all passed"
