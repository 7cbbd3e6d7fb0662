/* A progress bar for a long Pool.map, drawn from the map's progress
 * callback (done, total) — what Python programs reach for tqdm to do:
 *
 *   with Pool() as p:
 *       for _ in tqdm(p.imap(work, range(2000), chunksize=50), total=2000):
 *           pass
 *
 * The callback runs in the pool's result thread after each chunk, with
 * `done` increasing and a last call at done == total, so the bar ends
 * full before map returns. Each step redraws the one line ("\r") and
 * the last ends it. The optional argument
 * is a start method (1 fork, 2 forkserver, 3 spawn). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>

#define N 2000
#define WIDTH 40

/* A little work per item: sum the first (x % 1000) squares. */
static int work(const void *in, size_t len, mproc_buf *out) {
  int x, i;
  uint64_t s = 0;
  if (len != sizeof x) return mproc_task_fail(out, 1, "want an int");
  memcpy(&x, in, sizeof x);
  for (i = 0; i < x % 1000; i++) s += (uint64_t)i * (uint64_t)i;
  return mproc_buf_write(out, &s, sizeof s);
}
MPROC_TASK(work);

static void draw(size_t done, size_t total, void *arg) {
  int filled = (int)(done * WIDTH / total), i;
  (void)arg;
  printf("\r[");
  for (i = 0; i < WIDTH; i++) putchar(i < filled ? '#' : '.');
  printf("] %3d%% %zu/%zu%s", (int)(done * 100 / total), done, total,
         done == total ? "\n" : "");
  fflush(stdout);
}

int main(int argc, char **argv) {
  mproc_pool_call_opts co = MPROC_POOL_CALL_OPTS_INIT;
  mproc_pool *pool;
  static int items[N];
  static uint64_t sums[N];
  uint64_t expect = 0;
  int i, rc;
  if (mproc_init(argc, argv) != 0) {
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
    return 1;
  }
  if (argc > 1) mproc_set_start_method((mproc_start_method)atoi(argv[1]));
  for (i = 0; i < N; i++) items[i] = i;
  for (i = 0; i < 1000; i++) expect += (uint64_t)i * (uint64_t)i;
  co.chunksize = 50;
  co.progress = draw;
  if (mproc_pool_new(&pool, NULL) != 0) {
    fprintf(stderr, "pool: %s\n", mproc_last_error());
    return 1;
  }
  rc = mproc_pool_map(pool, work, items, N, sizeof items[0], sums,
                      sizeof sums[0], &co);
  if (rc != 0) fprintf(stderr, "map: %s\n", mproc_last_error());
  mproc_pool_free(pool);
  if (rc == 0)
    printf("done: %d items, item 999 -> %llu (%s)\n", N,
           (unsigned long long)sums[999],
           sums[999] == expect - 999ull * 999ull ? "right" : "WRONG");
  return rc == 0 ? 0 : 1;
}
