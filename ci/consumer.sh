#!/usr/bin/env bash
# ci/consumer.sh — the install leg: does mproc work for a user, the ways a
# user meets it?
#
#   1. README's plain build and install (`cmake -S . -B build && cmake
#      --build build && cmake --install build`, no options but the prefix)
#      on a machine without CMocka: it must configure (CMocka is for the
#      tests only), default to an optimised Release build, and install.
#   2. The separate project in consumer/ against that prefix, three ways:
#      CMake find_package(mproc) with mproc::mproc (shared) and with
#      mproc::mproc_static, and a plain Makefile with pkg-config.
#   3. README's tour: its C block compiled with -Wall -Wextra -Wpedantic
#      -Werror against the installed library, and run.
#   4. consumer/ pulling mproc in from this source folder with FetchContent
#      (shared) and with add_subdirectory (static): libuv alone, no tests,
#      examples or benchmarks built, the consumer's own `docs` target
#      untouched; with -DMPROC_BUILD_EXAMPLES=ON an example builds and runs.
#   5. The docs target with Doxygen's warnings fatal (MPROC_WERROR=ON),
#      Doxygen found at build time; without Doxygen it says what to install.
# Every program built must run and exit 0.
#
# Environment: MPROC_KEEP=1 keeps the temporary folder; MPROC_JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh

ROOT=$PWD
ci_need_cmd cmake cmake
ci_need_cmd gcc gcc
ci_need_cmd make make
ci_apt_install libuv1-dev libssl-dev pkg-config doxygen # libssl-dev: the HMAC (libcrypto)

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

# cache_value DIR VAR: VAR's value in DIR/CMakeCache.txt (empty if unset).
cache_value() {
  sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt"
}

# ---- 1. README's plain build and install -------------------------------------

ci_log "plain build and install of mproc into $PREFIX (CMocka hidden)"
# CMAKE_IGNORE_PATH hides the system's cmocka.h from find_path, as on a
# machine where CMocka is not installed; libuv comes through pkg-config,
# and libcrypto (which the ignored folder holds too) is named directly.
crypto_inc=$(pkg-config --variable=includedir libcrypto)
crypto_lib=$(pkg-config --variable=libdir libcrypto)/libcrypto.so
cmake -S "$ROOT" -B "$B/mproc" -DCMAKE_INSTALL_PREFIX="$PREFIX" \
  -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_IGNORE_PATH="/usr/include;/usr/local/include" \
  -DOPENSSL_INCLUDE_DIR="$crypto_inc" -DOPENSSL_CRYPTO_LIBRARY="$crypto_lib" \
  >"$TMP/configure.log" ||
  { cat "$TMP/configure.log" >&2; ci_die "configuring mproc failed"; }
[ "$(cache_value "$B/mproc" CMAKE_BUILD_TYPE)" = Release ] ||
  ci_die "a build without CMAKE_BUILD_TYPE is not Release"
grep -q -- '-O3' "$B/mproc/CMakeFiles/mproc.dir/flags.make" ||
  ci_die "a build without CMAKE_BUILD_TYPE is not optimised:" \
    "$(grep C_FLAGS "$B/mproc/CMakeFiles/mproc.dir/flags.make")"
[ "$(cache_value "$B/mproc" MPROC_BUILD_TESTS)" = OFF ] ||
  ci_die "without CMocka the tests should be off by default"
grep -q 'CMocka not found: the tests are not built' "$TMP/configure.log" ||
  ci_die "configure did not say why the tests are not built"
cmake --build "$B/mproc" -j "$CI_JOBS" >"$TMP/build.log" ||
  { tail -n 40 "$TMP/build.log" >&2; ci_die "building mproc failed"; }
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
# (grep reads the whole output: with pipefail, `| grep -q` fails at random
# when grep's early exit kills the writer with SIGPIPE.)
needs_libmproc_so() {
  local dyn
  dyn=$(readelf -d "$1")
  grep -q 'NEEDED.*libmproc\.so' <<<"$dyn"
}

# ---- 2a. CMake, shared library ----------------------------------------------

ci_log "consumer with CMake find_package(mproc), mproc::mproc"
cmake -S consumer -B "$B/cmake-shared" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=gcc -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$B/cmake-shared"
prog=$B/cmake-shared/consumer
needs_libmproc_so "$prog" || ci_die "mproc::mproc did not link libmproc.so"
# CMake's build RPATH finds the library in the prefix: no LD_LIBRARY_PATH.
libs=$(ldd "$prog")
grep -qF "$PREFIX/lib/libmproc.so" <<<"$libs" ||
  ci_die "the consumer does not load $PREFIX/lib/libmproc.so: $libs"
run "CMake shared" "$prog"

# ---- 2b. CMake, static library ----------------------------------------------

ci_log "consumer with CMake find_package(mproc), mproc::mproc_static"
cmake -S consumer -B "$B/cmake-static" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=gcc -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DCONSUMER_STATIC=ON >/dev/null
cmake --build "$B/cmake-static"
prog=$B/cmake-static/consumer
needs_libmproc_so "$prog" && ci_die "mproc::mproc_static linked libmproc.so"
run "CMake static" "$prog"

# ---- 2c. pkg-config -----------------------------------------------------------

ci_log "consumer with pkg-config: $(PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig \
  pkg-config --cflags --libs mproc)"
mkdir -p "$B/pc"
PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig make -s -C consumer CC=gcc O="$B/pc"
prog=$B/pc/consumer-pc
needs_libmproc_so "$prog" || ci_die "pkg-config's flags did not link libmproc.so"
run "pkg-config" env LD_LIBRARY_PATH="$PREFIX/lib" "$prog"

# ---- 3. README's tour ----------------------------------------------------------

ci_log "README's tour, compiled with -Wall -Wextra -Wpedantic -Werror"
# The first ```c block after the "## A tour" heading.
awk '/^## A tour/ { t = 1 } t && /^```c$/ { c = 1; next } c && /^```$/ { exit }
     c' README.md >"$B/tour.c"
[ -s "$B/tour.c" ] || ci_die "no C block found under README's '## A tour'"
PC_FLAGS=$(PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig pkg-config --cflags --libs mproc)
for cc in gcc clang; do
  command -v "$cc" >/dev/null 2>&1 || continue
  # shellcheck disable=SC2086 # the pkg-config flags are words
  "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$B/tour-$cc" \
    "$B/tour.c" $PC_FLAGS || ci_die "README's tour does not compile cleanly with $cc"
done
out=$(LD_LIBRARY_PATH="$PREFIX/lib" "$B/tour-gcc") ||
  ci_die "README's tour failed (exit $?): $out"
case $out in
  *"hello bob"*) ;;
  *) ci_die "README's tour printed no 'hello bob': $out" ;;
esac

# ---- 4. FetchContent and add_subdirectory -------------------------------------

# in_project NAME MODE [CMAKE-ARGS...]: consumer/ with mproc pulled in from
# this source folder; checks that mproc built nothing but its libraries.
in_project() {
  local name=$1 mode=$2; shift 2
  local dir=$B/$name
  ci_log "consumer with mproc pulled in by $name"
  cmake -S consumer -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc \
    -DCONSUMER_MPROC="$mode" -DCONSUMER_MPROC_SOURCE="$ROOT" "$@" \
    >"$TMP/$name.log" ||
    { cat "$TMP/$name.log" >&2; ci_die "configuring the $name consumer failed"; }
  if grep -q '^CMOCKA' "$dir/CMakeCache.txt"; then
    ci_die "mproc inside another project ($name) looked for CMocka"
  fi
  cmake --build "$dir" -j "$CI_JOBS" >>"$TMP/$name.log" ||
    { tail -n 40 "$TMP/$name.log" >&2; ci_die "building the $name consumer failed"; }
  local extra
  extra=$(find "$dir" -type f -perm -u+x \( -name 'test_*' -o -name 'hello_process' \
          -o -name 'process_start' \) -print | head -n 3)
  [ -z "$extra" ] || ci_die "mproc inside another project ($name) built: $extra"
  cmake --build "$dir" --target docs >/dev/null ||
    ci_die "the $name consumer's own docs target is broken"
  run "$name" "$dir/consumer"
}
in_project FetchContent fetch
needs_libmproc_so "$B/FetchContent/consumer" ||
  ci_die "mproc::mproc from FetchContent did not link libmproc.so"
in_project add_subdirectory subdir -DCONSUMER_STATIC=ON
needs_libmproc_so "$B/add_subdirectory/consumer" &&
  ci_die "mproc::mproc_static from add_subdirectory linked libmproc.so"
# An option asks for mproc's examples inside the project: they build and run.
ci_log "add_subdirectory with -DMPROC_BUILD_EXAMPLES=ON"
cmake -DMPROC_BUILD_EXAMPLES=ON "$B/add_subdirectory" >>"$TMP/add_subdirectory.log"
cmake --build "$B/add_subdirectory" --target hello_process \
  >>"$TMP/add_subdirectory.log" ||
  { tail -n 40 "$TMP/add_subdirectory.log" >&2; ci_die "building mproc's example failed"; }
out=$("$B/add_subdirectory/mproc/bin/hello_process") ||
  ci_die "mproc's example inside the project failed: $out"
case $out in *"hello bob"*) ;; *) ci_die "hello_process printed: $out" ;; esac

# ---- 5. the docs target ----------------------------------------------------------

ci_log "the docs target (Doxygen's warnings are errors)"
# Configured as if Doxygen had been installed after the configure: the
# target must find it when it runs.
cmake -S "$ROOT" -B "$B/docs" -DMPROC_WERROR=ON -DMPROC_BUILD_TESTS=OFF \
  -DMPROC_BUILD_EXAMPLES=OFF -DMPROC_BUILD_BENCH=OFF \
  -DMPROC_DOXYGEN=/nonexistent/doxygen >/dev/null
cmake --build "$B/docs" --target docs || ci_die "the docs target failed"
HTML=$B/docs/apidoc/html
grep -q 'A tour' "$HTML/index.html" || ci_die "README.md is not the main page"
for h in include/mproc/*.h; do
  page=$HTML/$(basename "$h" .h)_8h.html
  grep -q 'Detailed Description' "$page" ||
    ci_die "$h's overview comment is not on its page $(basename "$page")"
  if [ "$h" != include/mproc/export.h ] && grep -q MPROC_EXTERN "$page"; then
    ci_die "MPROC_EXTERN shows in the prototypes of $(basename "$page")"
  fi
done
# Without Doxygen on PATH: a clear failure that says what to install.
msg=$(env PATH=/nonexistent "$(command -v cmake)" -DDOXYFILE="$B/docs/Doxyfile" \
      -DOUT="$TMP/nodoxygen" -P cmake/mproc-docs-run.cmake 2>&1) &&
  ci_die "the docs target succeeded without Doxygen"
msg=$(printf '%s' "$msg" | tr -s ' \n' '  ') # CMake wraps its messages
case $msg in
  *"needs Doxygen"*"apt-get install doxygen"*"no re-configure"*) ;;
  *) ci_die "without Doxygen the docs target did not say what to install: $msg" ;;
esac

echo "consumer: OK: plain install, find_package (shared, static), pkg-config," \
  "README's tour, FetchContent, add_subdirectory, docs"
