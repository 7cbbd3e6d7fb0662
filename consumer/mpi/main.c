/* A program that uses an installed mproc built with MPI, as a user's
 * would (see CMakeLists.txt beside this file): under `mpiexec -n N` ranks
 * 1..N-1 serve, rank 0 maps a registered task over them, checks the
 * results and calls MPI itself through mproc/mpi.h (which includes
 * <mpi.h>: the package must bring MPI's include path). ci/mpi.sh builds
 * and runs it. */
#include <mproc.h>
#include <mproc/mpi.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int cube(const void *in, size_t len, mproc_buf *out) {
  int64_t x;
  if (len != sizeof x) return mproc_task_fail(out, 1, "want an int64_t");
  memcpy(&x, in, sizeof x);
  x = x * x * x;
  return mproc_buf_write(out, &x, sizeof x);
}
MPROC_TASK(cube);

int main(int argc, char **argv) {
  int64_t items[100];
  mproc_executor *ex = NULL;
  mproc_map *m = NULL;
  const void *r;
  size_t len, i;
  int rc, rank = -1, bad = 0;
  if (mproc_init(argc, argv) != 0) { /* ranks 1..N-1 serve from here */
    fprintf(stderr, "mpi_consumer: mproc_init: %s\n", mproc_last_error());
    return 1;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank); /* <mpi.h> through mproc/mpi.h */
  if (rank != 0 || mproc_mpi_static_workers() < 1) {
    fprintf(stderr, "mpi_consumer: run me under mpiexec -n 3\n");
    return 1;
  }
  for (i = 0; i < 100; i++) items[i] = (int64_t)i;
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_MPI, NULL) != 0 ||
      mproc_executor_map(ex, cube, items, 100, sizeof items[0], NULL, &m) != 0) {
    fprintf(stderr, "mpi_consumer: executor: %s\n", mproc_last_error());
    return 1;
  }
  for (i = 0; (rc = mproc_map_next(m, &r, &len)) == 0; i++) {
    int64_t y;
    memcpy(&y, r, sizeof y);
    if (len != sizeof y || y != items[i] * items[i] * items[i]) bad++;
  }
  if (rc != MPROC_EEOF || i != 100) bad++;
  mproc_map_free(m);
  mproc_executor_free(ex);
  printf("mpi_consumer: 100 cubes over %d ranks, %d wrong\n",
         mproc_mpi_static_workers(), bad);
  return bad ? 1 : 0;
}
