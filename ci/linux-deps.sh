#!/usr/bin/env bash
# Installs what the Linux test legs need on a fresh Debian 12 / Ubuntu
# machine: compilers, libuv, CMocka for the tests, Python and ZeroMQ for the
# benchmarks' baselines, Doxygen for the docs target. Skips the install when
# everything is already there. (ci/demo.sh needs less and installs its own.)
set -euo pipefail
# libssl-dev: libcrypto, the HMAC of the authkey handshake (connection.md).
# libboost-dev and g++: Boost.Interprocess, the peer of bench/objects.
pkgs=(cmake make gcc clang pkg-config libuv1-dev libcmocka-dev python3
      libzmq3-dev doxygen libssl-dev libboost-dev g++)
# clang's sanitizer runtimes are packaged apart on Debian 12.
if apt-cache show libclang-rt-14-dev >/dev/null 2>&1; then
  pkgs+=(libclang-rt-14-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi
