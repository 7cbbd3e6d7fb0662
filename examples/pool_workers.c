/* Python's "Using a pool of workers" example, in C:
 *
 *   with Pool(processes=4) as pool:
 *       print(pool.map(f, range(10)))            # "[0, 1, 4,..., 81]"
 *       for i in pool.imap_unordered(f, range(10)):
 *           print(i)                             # the same, any order
 *       res = pool.apply_async(f, (20,))         # runs in *only* one process
 *       print(res.get(timeout=1))                # prints "400"
 *       res = pool.apply_async(os.getpid, ())    # runs in *only* one process
 *       print(res.get(timeout=1))                # the PID of that process
 *       multiple_results = [pool.apply_async(os.getpid, ()) for i in range(4)]
 *       print([res.get(timeout=1) for res in multiple_results])
 *       res = pool.apply_async(time.sleep, (10,))  # one worker sleeps 10 s
 *       try:
 *           print(res.get(timeout=1))
 *       except TimeoutError:
 *           print("We lacked patience and got a multiprocessing.TimeoutError")
 *       print("For the moment, the pool remains available for more work")
 *   # exiting the 'with'-block has stopped the pool
 *   print("Now the pool is closed and no longer available")
 *
 * The waits that must succeed get 60 s instead of 1 (a loaded machine
 * must not fail the example); the sleeping one keeps its 1 s. The
 * optional argument is a start method (1 fork, 2 forkserver, 3 spawn). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>
#include <uv.h>

static int f(const void *in, size_t len, mproc_buf *out) {
  int x;
  if (len != sizeof x) return mproc_task_fail(out, 1, "want an int");
  memcpy(&x, in, sizeof x);
  x *= x;
  return mproc_buf_write(out, &x, sizeof x);
}
MPROC_TASK(f);

static int getpid_task(const void *in, size_t len, mproc_buf *out) {
  long pid = mproc_current_pid();
  (void)in, (void)len;
  return mproc_buf_write(out, &pid, sizeof pid);
}
MPROC_TASK(getpid_task);

static int sleep_task(const void *in, size_t len, mproc_buf *out) {
  int seconds;
  (void)out;
  if (len != sizeof seconds) return 1;
  memcpy(&seconds, in, sizeof seconds);
  uv_sleep((unsigned)seconds * 1000u);
  return 0;
}
MPROC_TASK(sleep_task);

static long get_long(mproc_async *res, double timeout) {
  const void *d;
  size_t n;
  long v = -1;
  if (mproc_async_get(res, timeout, &d, &n) == 0 && n == sizeof v)
    memcpy(&v, d, sizeof v);
  mproc_async_free(res);
  return v;
}

static int work(mproc_pool *pool) {
  int range10[10], squares[10], i, x = 20;
  mproc_imap *it;
  mproc_async *res, *multiple[4];
  const void *d;
  size_t n;
  for (i = 0; i < 10; i++) range10[i] = i;
  if (mproc_pool_map(pool, f, range10, 10, sizeof(int), squares, sizeof(int),
                     NULL) != 0)
    return 1;
  printf("[");
  for (i = 0; i < 10; i++) printf("%s%d", i ? ", " : "", squares[i]);
  printf("]\n");
  if (mproc_pool_imap_unordered(pool, f, range10, 10, sizeof(int), NULL,
                                &it) != 0)
    return 1;
  while (mproc_imap_next(it, 60.0, &d, &n, NULL) == 0)
    printf("%d\n", *(const int *)d);
  mproc_imap_free(it);
  if (mproc_pool_apply_async(pool, f, &x, sizeof x, NULL, &res) != 0 ||
      mproc_async_get(res, 60.0, &d, &n) != 0)
    return 1;
  printf("%d\n", *(const int *)d);
  mproc_async_free(res);
  if (mproc_pool_apply_async(pool, getpid_task, NULL, 0, NULL, &res) != 0)
    return 1;
  printf("%ld\n", get_long(res, 60.0));
  for (i = 0; i < 4; i++)
    if (mproc_pool_apply_async(pool, getpid_task, NULL, 0, NULL,
                               &multiple[i]) != 0)
      return 1;
  printf("[");
  for (i = 0; i < 4; i++) printf("%s%ld", i ? ", " : "", get_long(multiple[i], 60.0));
  printf("]\n");
  x = 10;
  if (mproc_pool_apply_async(pool, sleep_task, &x, sizeof x, NULL, &res) != 0)
    return 1;
  if (mproc_async_get(res, 1.0, NULL, NULL) == MPROC_ETIMEDOUT)
    printf("We lacked patience and got a multiprocessing.TimeoutError\n");
  mproc_async_free(res);
  printf("For the moment, the pool remains available for more work\n");
  return 0;
}

int main(int argc, char **argv) {
  mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
  mproc_pool *pool;
  int rc;
  if (mproc_init(argc, argv) != 0) {
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
    return 1;
  }
  if (argc > 1) mproc_set_start_method((mproc_start_method)atoi(argv[1]));
  o.processes = 4;
  if (mproc_pool_new(&pool, &o) != 0) {
    fprintf(stderr, "pool: %s\n", mproc_last_error());
    return 1;
  }
  rc = work(pool);
  if (rc != 0) fprintf(stderr, "pool: %s\n", mproc_last_error());
  mproc_pool_free(pool); /* the with block's end: terminate */
  printf("Now the pool is closed and no longer available\n");
  return rc;
}
