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
for leg in "${legs[@]}"; do
  start=$(date +%s)
  echo "=== leg: $leg"
  # shellcheck disable=SC2086
  if bash ci/$leg; then
    passed=$((passed + 1)); result=ok
  else
    failed=$((failed + 1)); result=FAILED
  fi
  summary+=("$(printf '%-22s %-7s %4ss' "$leg" "$result" $(( $(date +%s) - start )))")
done
echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "legs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
