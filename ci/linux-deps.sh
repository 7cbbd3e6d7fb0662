#!/usr/bin/env bash
# Installs what the Linux legs need on a fresh Debian 12 / Ubuntu machine.
# Skips the install when everything is already there.
set -euo pipefail
# libssl-dev: libcrypto, the HMAC of the authkey handshake (connection.md).
pkgs=(cmake make gcc clang pkg-config libuv1-dev libcmocka-dev python3 libzmq3-dev
      libssl-dev)
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
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi
