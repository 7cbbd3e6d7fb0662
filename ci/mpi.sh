#!/usr/bin/env bash
# The MPI leg (Linux): the MPI kind of executor built and tested with each
# MPI Debian packages, side by side (docs/mpi.md):
#   openmpi — gcc, ASan+UBSan, pkg-config ompi-c, the tests under
#             mpiexec.openmpi (as root and oversubscribed: the variables
#             below), spawn mode; what MPI itself keeps past MPI_Finalize
#             is suppressed (ci/lsan-mpi.supp), mproc's own leaks are not
#   mpich   — clang, ThreadSanitizer, pkg-config mpich, under
#             mpiexec.mpich; spawn mode must say MPROC_ENOTSUP with MPI's
#             reason (Debian's MPICH cannot spawn); races and lock orders
#             inside the MPI libraries are suppressed (ci/tsan-mpi.supp)
# Each builds only the library and the MPI targets (test_mpi, mpi_map,
# bench/mpi) and runs the MPI tests: the static suite under mpiexec -n 4,
# the program's own communicator, spawn mode, a dying rank (the job must
# end, not hang; with Open MPI also one the job survives: test_mpi_survive,
# test_mpi_spawn_survive), the example and the benchmark's smoke run. Then
# it installs that build and builds consumer/mpi against the installed
# package (find_package(mproc) must bring MPI: find_dependency(MPI)) and
# runs it under mpiexec.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh
bash ci/linux-deps.sh
# python3-mpi4py: bin/mpi's peer (mpi4py.futures, Debian's python3 with Open MPI).
ci_apt_install libopenmpi-dev openmpi-bin libmpich-dev mpich clang python3-mpi4py
# Open MPI refuses root unless told, and more ranks than cores unless
# oversubscription is allowed (then its idle ranks yield).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# fast_unwind_on_malloc=0: MPI's libraries lack frame pointers, and the
# suppressions need the whole stack to see them.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0
export LSAN_OPTIONS=suppressions=$PWD/ci/lsan-mpi.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:die_after_fork=0:suppressions=$PWD/ci/tsan-mpi.supp
failed=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mproc-mpi.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
for impl in openmpi mpich; do
  case "$impl" in
    openmpi) cc=gcc; pkg=ompi-c; extra=(-DMPROC_ASAN=ON)
             san=-fsanitize=address,undefined; mpiexec=mpiexec.openmpi ;;
    mpich) cc=clang; pkg=mpich; extra=(-DMPROC_TSAN=ON)
           san=-fsanitize=thread; mpiexec=mpiexec.mpich ;;
  esac
  dir=build/ci-mpi-$impl
  ci_log "MPI leg: $impl ($pkg, $cc)"
  CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPROC_WERROR=ON \
    -DMPROC_BUILD_TESTS=ON -DMPROC_WITH_MPI=ON -DMPROC_MPI_PKG=$pkg \
    "${extra[@]}" >/dev/null
  cmake --build "$dir" -j"$CI_JOBS" --target test_mpi mpi_map bench_mpi \
    mproc mproc_static >/dev/null
  if ! (cd "$dir" && ctest --output-on-failure --no-tests=error \
        -R '^(test_mpi_|example_mpi_map$|bench_mpi_smoke$)'); then
    failed=1
  fi
  # The installed package with MPI, used by a separate project (the
  # sanitizer's flag: the library is that build's).
  ci_log "MPI leg: $impl: consumer/mpi against the installed package"
  cmake --install "$dir" --prefix "$TMP/$impl" >/dev/null
  if ! { CC=$cc cmake -S consumer/mpi -B "$TMP/consumer-$impl" \
           -DCMAKE_PREFIX_PATH="$TMP/$impl" -DCMAKE_C_FLAGS="$san" \
           >/dev/null &&
         cmake --build "$TMP/consumer-$impl" >/dev/null &&
         timeout 120 "$mpiexec" -n 3 "$TMP/consumer-$impl/mpi_consumer"; }; then
    ci_log "MPI leg: $impl: the MPI consumer failed"
    failed=1
  fi
done
exit $failed
