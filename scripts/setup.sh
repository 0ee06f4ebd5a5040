#!/usr/bin/env bash
# Installs the Debian packages promdir needs (when missing) and builds it
# into build/. Safe to run again: it only installs what is missing and only
# rebuilds what changed.
#
#   scripts/setup.sh            # install packages, configure, build
#   BUILD_DIR=out scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ cmake make pkg-config
  libboost-dev prometheus-cpp-dev libcpp-httplib-dev libcli11-dev
  doctest-dev libbenchmark-dev zlib1g-dev libprotobuf-dev protobuf-compiler
  python3 python3-prometheus-client python3-yaml gunicorn prometheus curl
  dpkg-dev systemd procps
  libssl-dev libcrypt-dev openssl wrk
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
