#!/usr/bin/env bash
# The Debian package (cmake/packaging.cmake): cpack -G DEB builds it; it is
# unpacked into a temporary root (dpkg-deb -x, so the machine is untouched);
# its binaries run (`promdir --version`); it holds the library, headers,
# CMake config and systemd units, and the sysusers.d and tmpfiles.d files
# and postinst that make the units' user and directory (applied to the
# unpacked root); and a C++ project finds it with
# find_package(promdir) and builds the README's example against it.
source "$(dirname "$0")/lib.bash"

require_bin promdir >/dev/null
require_bin promdir-collector >/dev/null
require_cmd cpack
require_cmd dpkg-deb
make_tmp WORK

log "cpack -G DEB in $BUILD_DIR"
(cd "$BUILD_DIR" && cpack -G DEB -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1) ||
  { tail -n 30 "$WORK/cpack.log" >&2; fail "cpack -G DEB failed"; }
deb=$(ls "$WORK"/pkg/promdir_*.deb 2>/dev/null | head -n 1)
[[ -f $deb ]] || fail "cpack produced no promdir_*.deb in $WORK/pkg"
log "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
dpkg-deb -I "$deb" >"$WORK/control.txt"
grep -q '^ Package: promdir$' "$WORK/control.txt" || fail "package name is not promdir"
grep -q '^ Depends: .*libc6' "$WORK/control.txt" || fail "package declares no Depends"

ROOT="$WORK/root"
dpkg-deb -x "$deb" "$ROOT"
for f in usr/bin/promdir usr/bin/promdir-collector usr/bin/promdir-loadgen \
         usr/include/promdir/promdir.h usr/lib/cmake/promdir/promdirConfig.cmake \
         usr/lib/systemd/system/promdir-collector.service \
         usr/lib/systemd/system/promdir-compact.service \
         usr/lib/systemd/system/promdir-compact.timer \
         usr/share/doc/promdir/README.md usr/share/doc/promdir/FORMAT.md; do
  [[ -e $ROOT/$f || -e $ROOT/${f/usr\/lib\/systemd/lib\/systemd} ]] || fail "the package lacks /$f"
done
# What the units need: the user (sysusers.d) and directory (tmpfiles.d),
# applied by the postinst. Applied here to the unpacked root, not the machine.
for f in usr/lib/sysusers.d/promdir.conf usr/lib/tmpfiles.d/promdir.conf; do
  [[ -f $ROOT/$f ]] || fail "the package lacks /$f"
done
dpkg-deb -e "$deb" "$WORK/control"
[[ -x $WORK/control/postinst ]] || fail "the package has no executable postinst"
grep -q 'systemd-sysusers promdir.conf' "$WORK/control/postinst" || fail "postinst does not make the user"
grep -q 'systemd-tmpfiles --create promdir.conf' "$WORK/control/postinst" || fail "postinst does not make the directory"
if command -v systemd-sysusers >/dev/null 2>&1 && command -v systemd-tmpfiles >/dev/null 2>&1; then
  mkdir -p "$ROOT/etc" "$ROOT/run"
  systemd-sysusers --root="$ROOT" >"$WORK/sysusers.log" 2>&1 ||
    { cat "$WORK/sysusers.log" >&2; fail "systemd-sysusers rejects the package's sysusers.d file"; }
  grep -q '^promdir:x:[0-9]*:[0-9]*:promdir metrics collector:/nonexistent:' "$ROOT/etc/passwd" ||
    fail "sysusers.d made no user promdir: $(cat "$ROOT/etc/passwd")"
  grep -q '^promdir:x:' "$ROOT/etc/group" || fail "sysusers.d made no group promdir"
  systemd-tmpfiles --root="$ROOT" --create promdir.conf >"$WORK/tmpfiles.log" 2>&1 ||
    { cat "$WORK/tmpfiles.log" >&2; fail "systemd-tmpfiles rejects the package's tmpfiles.d file"; }
  uid=$(sed -n 's/^promdir:x:\([0-9]*\):.*/\1/p' "$ROOT/etc/passwd")
  [[ $(stat -c '%a %u' "$ROOT/run/promdir") == "2770 $uid" ]] ||
    fail "/run/promdir is $(stat -c '%a %U:%G' "$ROOT/run/promdir"), not 2770 promdir"
  log "sysusers.d and tmpfiles.d: user promdir (uid $uid), /run/promdir 2770"
else
  log "WARNING: systemd-sysusers/systemd-tmpfiles missing: the package's user and directory are not tried"
fi
ls "$ROOT"/usr/lib/libpromdir_*.a >/dev/null 2>&1 || fail "the package lacks the static libraries"
version=$("$ROOT/usr/bin/promdir" --version) || fail "installed promdir --version failed"
log "installed promdir --version: $version"
grep -q '0\.' <<<"$version" || fail "promdir --version printed no version: $version"
"$ROOT/usr/bin/promdir-collector" --help >/dev/null || fail "installed promdir-collector --help failed"

log "find_package(promdir) from a consumer project"
cmake -S "$E2E_DIR/consumer" -B "$WORK/consumer" -DCMAKE_PREFIX_PATH="$ROOT/usr" \
  -DEXAMPLE_DIR="$REPO_DIR/tests/examples" >"$WORK/consumer.log" 2>&1 ||
  { cat "$WORK/consumer.log" >&2; fail "configuring the consumer project failed"; }
cmake --build "$WORK/consumer" -j2 >>"$WORK/consumer.log" 2>&1 ||
  { tail -n 30 "$WORK/consumer.log" >&2; fail "building the consumer project failed"; }
grep -q "$ROOT/usr/lib/cmake/promdir" "$WORK/consumer/CMakeCache.txt" ||
  fail "the consumer did not use the installed package"
mkdir -p "$WORK/mp"
PROMETHEUS_MULTIPROC_DIR="$WORK/mp" "$WORK/consumer/consumer" || fail "the consumer program failed"
"$ROOT/usr/bin/promdir" collect --dir "$WORK/mp" >"$WORK/out.txt" || fail "promdir collect failed"
grep -qE '^http_requests_total\{method="GET",status="200"\} 1000(\.0)?$' "$WORK/out.txt" ||
  { cat "$WORK/out.txt" >&2; fail "the consumer's counter is not 1000"; }
# The core needs no prometheus-cpp: the installed promdir::promdir links
# none of it; promdir::prometheus is its own target.
grep -q 'prometheus-cpp' "$ROOT/usr/lib/cmake/promdir/promdirTargets.cmake" &&
  fail "promdir::promdir's installed targets refer to prometheus-cpp"
[[ -x $WORK/consumer/consumer_collectable ]] ||
  fail "the consumer did not build the Collectable example (promdir::prometheus)"
bash "$REPO_DIR/tests/examples/check_collectable.sh" "$WORK/consumer/consumer" \
  "$WORK/consumer/consumer_collectable" >"$WORK/collectable.txt" 2>&1 ||
  { cat "$WORK/collectable.txt" >&2; fail "the installed Collectable example failed"; }
log "downstream: quickstart and the Collectable example built and run against the package"
# Without prometheus-cpp, find_package(promdir) gives the core alone, and
# the quickstart builds and runs.
cmake -S "$E2E_DIR/consumer" -B "$WORK/consumer-core" -DCMAKE_PREFIX_PATH="$ROOT/usr" \
  -DCMAKE_DISABLE_FIND_PACKAGE_prometheus-cpp=ON \
  -DEXAMPLE_DIR="$REPO_DIR/tests/examples" >"$WORK/consumer-core.log" 2>&1 &&
  cmake --build "$WORK/consumer-core" -j2 >>"$WORK/consumer-core.log" 2>&1 ||
  { tail -n 30 "$WORK/consumer-core.log" >&2; fail "the consumer without prometheus-cpp failed to build"; }
[[ ! -e $WORK/consumer-core/consumer_collectable ]] ||
  fail "promdir::prometheus was offered without prometheus-cpp"
mkdir -p "$WORK/mp-core"
PROMETHEUS_MULTIPROC_DIR="$WORK/mp-core" "$WORK/consumer-core/consumer" ||
  fail "the consumer built without prometheus-cpp failed"
log "downstream without prometheus-cpp: promdir::promdir alone builds and runs"
log "PASS"
