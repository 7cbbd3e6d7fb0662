#!/usr/bin/env bash
# ci/consumer.sh — the install leg: does an installed mproc work for a user?
#
# Builds mproc (Release, gcc, library only) and installs it into a temporary
# prefix, then builds the separate project in consumer/ against that prefix
# three ways and runs each program (each must exit 0):
#   1. CMake find_package(mproc), linking mproc::mproc (shared)
#   2. CMake find_package(mproc), linking mproc::mproc_static
#   3. a plain Makefile with `cc $(pkg-config --cflags --libs mproc)`
#
# Environment: MPROC_KEEP=1 keeps the temporary folder; MPROC_JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh

ROOT=$PWD
ci_need_cmd cmake cmake
ci_need_cmd gcc gcc
ci_need_cmd make make
ci_apt_install libuv1-dev libssl-dev pkg-config # libssl-dev: the HMAC (libcrypto)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mproc-consumer.XXXXXX")
cleanup() {
  if [ "${MPROC_KEEP:-0}" = 1 ]; then
    ci_log "kept $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
PREFIX=$TMP/prefix
B=$TMP/build

# ---- build and install mproc -----------------------------------------------

ci_log "building and installing mproc into $PREFIX"
cmake -S "$ROOT" -B "$B/mproc" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=gcc -DCMAKE_INSTALL_PREFIX="$PREFIX" \
  -DCMAKE_INSTALL_LIBDIR=lib -DMPROC_BUILD_TESTS=OFF \
  -DMPROC_BUILD_EXAMPLES=OFF -DMPROC_BUILD_BENCH=OFF >"$TMP/configure.log" ||
  { cat "$TMP/configure.log" >&2; ci_die "configuring mproc failed"; }
cmake --build "$B/mproc" -j "$CI_JOBS"
cmake --install "$B/mproc" >"$TMP/install.log"
for f in include/mproc.h lib/libmproc.so lib/libmproc.a \
         lib/cmake/mproc/mprocConfig.cmake lib/pkgconfig/mproc.pc; do
  [ -e "$PREFIX/$f" ] || ci_die "not installed: $f"
done

# run NAME PROGRAM: run a consumer program; it must exit 0.
run() {
  local name=$1; shift
  ci_log "running the $name consumer"
  local rc=0
  "$@" || rc=$?
  [ "$rc" -eq 0 ] || ci_die "the $name consumer failed (exit $rc)"
}

# needs_libmproc_so PROGRAM: whether the program loads libmproc.so.
needs_libmproc_so() {
  readelf -d "$1" | grep -q 'NEEDED.*libmproc\.so'
}

# ---- 1. CMake, shared library ----------------------------------------------

ci_log "consumer with CMake find_package(mproc), mproc::mproc"
cmake -S consumer -B "$B/cmake-shared" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=gcc -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$B/cmake-shared"
prog=$B/cmake-shared/consumer
needs_libmproc_so "$prog" || ci_die "mproc::mproc did not link libmproc.so"
# CMake's build RPATH finds the library in the prefix: no LD_LIBRARY_PATH.
ldd "$prog" | grep -q "$PREFIX/lib/libmproc.so" ||
  ci_die "the consumer does not load $PREFIX/lib/libmproc.so: $(ldd "$prog")"
run "CMake shared" "$prog"

# ---- 2. CMake, static library ----------------------------------------------

ci_log "consumer with CMake find_package(mproc), mproc::mproc_static"
cmake -S consumer -B "$B/cmake-static" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=gcc -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DCONSUMER_STATIC=ON >/dev/null
cmake --build "$B/cmake-static"
prog=$B/cmake-static/consumer
needs_libmproc_so "$prog" && ci_die "mproc::mproc_static linked libmproc.so"
run "CMake static" "$prog"

# ---- 3. pkg-config -----------------------------------------------------------

ci_log "consumer with pkg-config: $(PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig \
  pkg-config --cflags --libs mproc)"
mkdir -p "$B/pc"
PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig make -s -C consumer CC=gcc O="$B/pc"
prog=$B/pc/consumer-pc
needs_libmproc_so "$prog" || ci_die "pkg-config's flags did not link libmproc.so"
run "pkg-config" env LD_LIBRARY_PATH="$PREFIX/lib" "$prog"

echo "consumer: OK: find_package (shared, static) and pkg-config"
