#!/usr/bin/env bash
# One Linux leg: ci/linux-leg.sh asan|clang|tsan
#   asan  — gcc, Debug, AddressSanitizer + UBSan, -Werror
#   clang — clang, Release, -Werror
#   tsan  — clang, ThreadSanitizer, -Werror
#   fallback — gcc, Debug, the generic POSIX wait (named semaphores)
#              forced with MPROC_WAIT_FALLBACK, as Windows parks
set -euo pipefail
cd "$(dirname "$0")/.."
leg=${1:?usage: ci/linux-leg.sh asan|clang|tsan|fallback}
bash ci/linux-deps.sh
# The shape rules of src/ (no include or module circle, no platform #if in
# the common layer): a second, before anything is built.
python3 ci/check-layers.py
jobs=$(nproc 2>/dev/null || echo 2)
case "$leg" in
  asan) cc=gcc; args=(-DCMAKE_BUILD_TYPE=Debug -DMPROC_ASAN=ON) ;;
  clang) cc=clang; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  tsan) cc=clang; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPROC_TSAN=ON) ;;
  fallback) cc=gcc; args=(-DCMAKE_BUILD_TYPE=Debug -DMPROC_WAIT_FALLBACK=ON
                          -DMPROC_BUILD_BENCH=OFF) ;;
  *) echo "unknown leg $leg" >&2; exit 2 ;;
esac
dir=build/ci-$leg
# The tests are asked for, so a missing CMocka fails the configure instead
# of leaving a leg with nothing to run.
CC=$cc cmake -S . -B "$dir" -DMPROC_WERROR=ON -DMPROC_BUILD_TESTS=ON \
  "${args[@]}" >/dev/null
cmake --build "$dir" -j"$jobs" >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# die_after_fork=0: a fork child of a threaded parent (a process executor's
# workers) starts the library's death-watch thread; TSan would refuse it.
# atexit_sleep_ms=0: TSan sleeps a second in every exiting process by
# default (to catch races at exit), which made the leg wait 9 minutes on the
# hundreds of short children test_process starts.
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:die_after_fork=0:atexit_sleep_ms=0
(cd "$dir" && ctest --output-on-failure --no-tests=error -j"$jobs")
