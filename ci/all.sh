#!/usr/bin/env bash
# Every CI leg, one after the other (the machine has 2 cores): Linux gcc
# ASan+UBSan, Linux clang, TSan, the generic wait fallback, the manager
# protocol's fuzzer (a bounded libFuzzer run), Windows (MinGW-w64 + Wine),
# macOS (zig cross-compile, x86_64 and arm64), the MPI executor with Open
# MPI and MPICH, and the consumers (a plain install,
# find_package, pkg-config, FetchContent, add_subdirectory, README's tour,
# the docs target).
# Each leg installs what it needs. Exits non-zero if any leg failed.
set -uo pipefail
cd "$(dirname "$0")/.."
legs=("linux-leg.sh asan" "linux-leg.sh clang" "linux-leg.sh tsan"
      "linux-leg.sh fallback" "fuzz.sh" "windows.sh" "macos.sh" "mpi.sh"
      "consumer.sh")
passed=0 failed=0 summary=()
# Each leg's output is also kept, so a failed leg's reason is printed again
# after the summary: a CI that shows only the end of a long log still shows
# which test failed and why.
logs=$(mktemp -d "${TMPDIR:-/tmp}/mproc-ci-logs.XXXXXX")
failures=()
for leg in "${legs[@]}"; do
  start=$(date +%s)
  echo "=== leg: $leg"
  log="$logs/${leg//[^a-z]/_}.log"
  # shellcheck disable=SC2086
  if bash ci/$leg 2>&1 | tee "$log"; then
    passed=$((passed + 1)); result=ok
  else
    failed=$((failed + 1)); result=FAILED; failures+=("$leg|$log")
  fi
  summary+=("$(printf '%-22s %-7s %4ss' "$leg" "$result" $(( $(date +%s) - start )))")
done
for f in "${failures[@]}"; do
  leg=${f%%|*} log=${f#*|}
  echo "=== why $leg failed: the failed tests, the sanitizer reports, the end"
  grep -E '\((Failed|Timeout|SEGFAULT|Subprocess|Child aborted|Exception)|\[  FAILED  \]|SUMMARY: [A-Za-z]+Sanitizer|^(WARNING|ERROR): [A-Za-z]+Sanitizer|child check failed|error:' "$log" | head -40
  tail -n 60 "$log"
done
rm -rf "$logs"
echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "legs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
