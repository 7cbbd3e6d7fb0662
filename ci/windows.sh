#!/usr/bin/env bash
# CI leg: Windows x86-64, cross-built with MinGW-w64 on Debian 12 and
# tested under Wine.
#
#   bash ci/windows.sh [deps|build|all]   # default all; from a clean checkout
#
# Environment knobs (all optional):
#   MPROC_WIN_BUILD   build folder (default: build-win in the repo root)
#   MPROC_WIN_JOBS    parallel compile jobs (default: 2)
#   MPROC_WIN_BENCH   ON/OFF: build the benchmarks too (default: ON)
#
# What it does: installs the cross compiler and Wine when they are missing,
# builds libuv and CMocka for MinGW from Debian's source packages into
# $MPROC_WIN_BUILD/deps (kept, so a rerun skips it), configures mproc with
# cmake/toolchain-mingw.cmake, builds it with -Werror, starts a private Wine
# and runs the whole CTest suite through it.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${MPROC_WIN_BUILD:-$ROOT/build-win}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
JOBS=${MPROC_WIN_JOBS:-2}
BENCH=${MPROC_WIN_BENCH:-ON}
DEPS=$BUILD/deps
TOOLCHAIN=$ROOT/cmake/toolchain-mingw.cmake
# Bump when the recipe below changes, so cached deps are rebuilt.
DEPS_STAMP_VERSION=1

log() { printf '== %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ---- 1. packages -----------------------------------------------------------
install_packages() {
  local want=(gcc-mingw-w64-x86-64 wine64 wine cmake pkg-config dpkg-dev)
  local missing=() p
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "packages already installed"
    return
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Update only when apt has no lists yet or the install fails on stale ones.
  if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
    as_root apt-get -o DPkg::Lock::Timeout=300 update -q
  fi
  if ! as_root apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"; then
    as_root apt-get -o DPkg::Lock::Timeout=300 update -q
    as_root apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"
  fi
}

# ---- 2. libuv and CMocka for MinGW -----------------------------------------
# The Debian mirror this machine already uses, read from its sources.
debian_mirror() {
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
      /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" && $0 !~ /security/ {
               for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
      /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

# Download and unpack Debian's source packages with a private source list,
# so the system's apt configuration is never touched.
fetch_sources() {
  local src=$1 apt=$BUILD/apt
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  local signed=""
  [ -f "$keyring" ] && signed="[signed-by=$keyring] "
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$src"
  echo "deb-src ${signed}$(debian_mirror) bookworm main" >"$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list"
    -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$apt/lists"
    -o "Dir::Cache=$apt/cache"
    -o APT::Sandbox::User=root)
  log "fetching Debian source packages libuv1 and cmocka"
  apt-get "${opts[@]}" update -q
  (cd "$src" && apt-get "${opts[@]}" source --download-only libuv1 cmocka)
  local dsc
  for dsc in "$src"/libuv1_*.dsc "$src"/cmocka_*.dsc; do
    (cd "$src" && dpkg-source --no-check -x "$(basename "$dsc")")
  done
}

# Configure, build and install one CMake project for MinGW into $DEPS.
cmake_dep() {
  local name=$1 srcdir=$2
  shift 2
  log "building $name for MinGW"
  cmake -S "$srcdir" -B "$BUILD/deps-build/$name" \
    -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$DEPS" "$@" >"$BUILD/deps-build/$name.log" 2>&1 ||
    { cat "$BUILD/deps-build/$name.log"; return 1; }
  cmake --build "$BUILD/deps-build/$name" -j "$JOBS" >>"$BUILD/deps-build/$name.log" 2>&1 ||
    { tail -n 60 "$BUILD/deps-build/$name.log"; return 1; }
  cmake --install "$BUILD/deps-build/$name" >>"$BUILD/deps-build/$name.log" 2>&1 ||
    { tail -n 60 "$BUILD/deps-build/$name.log"; return 1; }
}

build_deps() {
  local stamp=$DEPS/.mproc-deps-$DEPS_STAMP_VERSION
  if [ -f "$stamp" ]; then
    log "MinGW deps cached in $DEPS"
    return
  fi
  rm -rf "$DEPS" "$BUILD/deps-src" "$BUILD/deps-build"
  mkdir -p "$BUILD/deps-build"
  fetch_sources "$BUILD/deps-src"
  local uv cm
  uv=$(find "$BUILD/deps-src" -maxdepth 1 -type d -name 'libuv1-*' | head -n 1)
  cm=$(find "$BUILD/deps-src" -maxdepth 1 -type d -name 'cmocka-*' | head -n 1)
  [ -n "$uv" ] && [ -n "$cm" ] || { echo "source packages missing" >&2; return 1; }
  cmake_dep libuv "$uv" -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF
  cmake_dep cmocka "$cm" -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF \
    -DUNIT_TESTING=OFF -DPICKY_DEVELOPER=OFF
  touch "$stamp"
}

# ---- 3. mproc ---------------------------------------------------------------
build_mproc() {
  log "configuring mproc for MinGW"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" \
    -DMPROC_DEPS_PREFIX="$DEPS" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMPROC_WERROR=ON -DMPROC_BUILD_TESTS=ON -DMPROC_BUILD_EXAMPLES=ON \
    -DMPROC_BUILD_BENCH="$BENCH"
  log "building mproc"
  cmake --build "$BUILD" -j "$JOBS"
}

# ---- 4. Wine and the tests ----------------------------------------------------
WINE_STARTED=0
stop_wine() {
  if [ "$WINE_STARTED" = 1 ]; then
    wineserver -k >/dev/null 2>&1 || true
  fi
}

start_wine() {
  export WINEPREFIX=$BUILD/wineprefix
  export WINEDEBUG=-all
  export WINEDLLOVERRIDES="mscoree,mshtml="
  export WINEARCH=win64
  mkdir -p "$WINEPREFIX"
  log "starting Wine in $WINEPREFIX"
  trap stop_wine EXIT
  WINE_STARTED=1
  # A persistent server, and the prefix booted before CTest runs: else
  # Wine's background services inherit CTest's output pipe and the first
  # test hangs. A server already running for this prefix is fine.
  wineserver -p >/dev/null 2>&1 </dev/null || true
  wineboot -i >/dev/null 2>&1 </dev/null
}

run_tests() {
  log "running the test suite under Wine"
  (cd "$BUILD" && ctest --output-on-failure -j2)
}

STEP=${1:-all}
case $STEP in
  deps) install_packages; build_deps ;;
  build) install_packages; build_deps; build_mproc ;;
  all) install_packages; build_deps; build_mproc; start_wine; run_tests ;;
  *) echo "usage: $0 [deps|build|all]" >&2; exit 2 ;;
esac
