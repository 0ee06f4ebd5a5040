#!/usr/bin/env bash
# The compiler refuses a lib/src include from a binary: for each probe target
# (tests/sealed.cmake), tests/sealed/public.cc compiles with the binary's
# include path and tests/sealed/refused.cc (#include "lib/src/env.h") does
# not, failing on that very include.
# Usage: check_sealed.sh BUILD_DIR TARGET...
set -u
build=$1
shift
status=0
for t in "$@"; do
  if ! out=$(cmake --build "$build" --target "sealed_public_$t" 2>&1); then
    echo "FAIL: public headers do not compile with $t's include path:"
    echo "$out" | tail -n 20
    status=1
  fi
  if out=$(cmake --build "$build" --target "sealed_refused_$t" 2>&1); then
    echo "FAIL: $t's include path reaches lib/src (refused.cc compiled)"
    status=1
  elif ! grep -q 'lib/src/env.h: No such file or directory' <<<"$out"; then
    echo "FAIL: refused.cc failed with $t's include path, but not on its include:"
    echo "$out" | tail -n 20
    status=1
  else
    echo "ok: $t: lib/src/env.h: No such file or directory"
  fi
done
exit $status
