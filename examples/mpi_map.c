/* The seed's Pool example from Python's multiprocessing guide, as a map
 * over MPI ranks:
 *
 *   from multiprocessing import Pool
 *   def f(x):
 *       return x*x
 *   if __name__ == '__main__':
 *       with Pool(5) as p:
 *           print(p.map(f, [1, 2, 3]))
 *
 * Run it under mpiexec (a library built with -DMPROC_WITH_MPI=ON):
 *
 *   mpiexec.openmpi --oversubscribe -n 4 build/bin/mpi_map
 *   mpiexec.mpich -n 4 build/bin/mpi_map
 *
 * mproc_init() at the top of main turns ranks 1..3 into workers that never
 * return; rank 0 goes on, maps f over the items and prints "[1, 4, 9]",
 * the results in order. f is registered by name (MPROC_TASK): the ranks
 * find it in their own copy of the program. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mproc.h>

static int f(const void *in, size_t len, mproc_buf *out) {
  int64_t x;
  if (len != sizeof x) return mproc_task_fail(out, 1, "want an int64_t");
  memcpy(&x, in, sizeof x);
  x *= x;
  return mproc_buf_write(out, &x, sizeof x);
}
MPROC_TASK(f);

int main(int argc, char **argv) {
  static const int64_t items[] = {1, 2, 3};
  mproc_executor *ex;
  mproc_map *m;
  const void *r;
  size_t len, i;
  int rc;
  if (mproc_init(argc, argv) != 0) { /* ranks 1..N-1 serve from here */
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
    return 1;
  }
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_MPI, NULL) != 0 ||
      mproc_executor_map(ex, f, items, 3, sizeof items[0], NULL, &m) != 0) {
    fprintf(stderr, "executor: %s\n", mproc_last_error());
    return 1;
  }
  printf("[");
  for (i = 0; (rc = mproc_map_next(m, &r, &len)) == 0; i++) {
    int64_t y;
    memcpy(&y, r, sizeof y);
    printf("%s%lld", i ? ", " : "", (long long)y);
  }
  printf("]\n");
  if (rc != MPROC_EEOF) fprintf(stderr, "map: %s\n", mproc_last_error());
  mproc_map_free(m);
  mproc_executor_free(ex); /* the `with` block's end */
  return rc == MPROC_EEOF ? 0 : 1;
}
