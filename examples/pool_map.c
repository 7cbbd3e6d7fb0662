/* Python's Pool examples, in C: the guide's first one
 *
 *   from multiprocessing import Pool
 *   def f(x):
 *       return x*x
 *   if __name__ == '__main__':
 *       with Pool(5) as p:
 *           print(p.map(f, [1, 2, 3]))
 *
 * and the seed's `Pool(8).map(test, range(100))`. The task is registered
 * by name (MPROC_TASK) so that workers started by spawn or forkserver
 * find it; mproc_init() at the top of main is the C form of the
 * `__main__` guard. map works on fixed-size records (an int in, an int
 * out), cut into chunks of Python's default size. The optional argument
 * is a start method (1 fork, 2 forkserver, 3 spawn).
 *
 * Prints "[1, 4, 9]", then the 100 squares as one list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>

static int f(const void *in, size_t len, mproc_buf *out) {
  int x;
  if (len != sizeof x) return mproc_task_fail(out, 1, "want an int");
  memcpy(&x, in, sizeof x);
  x *= x;
  return mproc_buf_write(out, &x, sizeof x);
}
MPROC_TASK(f);

static void print_list(const int *v, size_t n) {
  size_t i;
  printf("[");
  for (i = 0; i < n; i++) printf("%s%d", i ? ", " : "", v[i]);
  printf("]\n");
}

/* with Pool(processes) as p: print(p.map(f, items)) */
static int pool_map(int processes, const int *items, size_t n) {
  mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
  mproc_pool *p;
  int *results = malloc(n * sizeof *results), rc;
  if (results == NULL) return 1;
  o.processes = processes;
  if ((rc = mproc_pool_new(&p, &o)) == 0) {
    rc = mproc_pool_map(p, f, items, n, sizeof items[0], results,
                        sizeof results[0], NULL);
    mproc_pool_free(p); /* the with block's end: terminate */
  }
  if (rc == 0) print_list(results, n);
  else fprintf(stderr, "pool: %s\n", mproc_last_error());
  free(results);
  return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  static const int small[] = {1, 2, 3};
  int range100[100], i;
  if (mproc_init(argc, argv) != 0) {
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
    return 1;
  }
  if (argc > 1) mproc_set_start_method((mproc_start_method)atoi(argv[1]));
  for (i = 0; i < 100; i++) range100[i] = i;
  if (pool_map(5, small, 3) != 0) return 1;
  return pool_map(8, range100, 100);
}
