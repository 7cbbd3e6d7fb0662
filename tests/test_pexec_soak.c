/* mproc tests: the killer soak (issue 10). One map of SOAK_N tasks (a few
 * microseconds of work each) on 2 workers while a killer thread kills a
 * random worker (SIGKILL; TerminateProcess under Wine) every ~50 ms:
 * without retries (a Pool's imap, which goes on past a failed item) every
 * task either completes with its right result or fails with
 * MPROC_EWORKERDIED; with retries on (the executor's map), every task
 * completes.
 * Nothing hangs (the CTest TIMEOUT is the bound). 100 000 tasks of 20 us
 * natively; 20 000 of 100 us under the sanitizers and Wine, where each
 * message and each worker start cost several times more: about a second
 * of work, some 20 kills, per run either way. Under the sanitizers the
 * fork method is skipped here: a fork child of a threaded parent can
 * deadlock in ASan's allocator (a lock another thread held at the fork;
 * glibc's malloc is fork-safe), and a hundred replacements make that
 * likely; the executor then replaces the stuck worker after 20 s, which
 * the other tests show, but the soak would take minutes. After each run
 * the killer has killed at least once and no shared name of the run is
 * left in /dev/shm. */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "procpool-util.h"
#include "procs.h"
#include "test_pexec.h"
#include "util.h"

#if defined(_WIN32) || defined(MPROC_TEST_SMALL_SOAK)
#define SOAK_N 20000
#define SOAK_US 100 /* per task: about 1 s of work per run on 2 workers */
#else
#define SOAK_N 100000
#define SOAK_US 20
#endif
#define SOAK_WORKERS 2

/* In a worker: its executor's pid table (opened by the initializer). */
static volatile long *g_pids;
static mproc_shm *g_pid_shm;

static int soak_init(const void *args, size_t len) {
  char name[128];
  if (len >= sizeof name) return 1;
  memcpy(name, args, len);
  name[len] = '\0';
  if (mproc_shm_open(&g_pid_shm, name) < 0) return 2;
  g_pids = mproc_shm_buf(g_pid_shm);
  return 0;
}
MPROC_TASK(soak_init);

static int soak_task(const void *in, size_t len, mproc_buf *out) {
  const mproc_task_ctx *c = mproc_task_context(out);
  uint64_t until = uv_hrtime() + (uint64_t)SOAK_US * 1000;
  int i, r;
  if (len != sizeof i) return 9;
  memcpy(&i, in, sizeof i);
  g_pids[c->worker % SOAK_WORKERS] = mproc_current_pid();
  while (uv_hrtime() < until) {
  }
  r = i * 2 + 1;
  return mproc_buf_write(out, &r, sizeof r);
}
MPROC_TASK(soak_task);

typedef struct killer {
  volatile long *pids;
  uv_thread_t thread;
  atomic_int stop;
  int kills;
} killer;

static void killer_main(void *arg) {
  killer *k = arg;
  unsigned seed = 12345;
  while (!atomic_load(&k->stop)) {
    long pid;
    int r;
    tu_sleep_ms(50);
    seed = seed * 1103515245u + 12345u;
    r = (int)((seed >> 16) % SOAK_WORKERS);
    pid = k->pids[r];
    if (pid > 0 && pid != mproc_current_pid() && tu_kill_pid(pid) == 0)
      k->kills++;
    k->pids[r] = 0; /* a dead worker's pid is not killed twice */
  }
}

/* The soak's own name prefix ("k", the method, 'n' or 'r' for retries,
 * this pid in base 36), set for the executor's life, so that what it
 * leaves in /dev/shm is told from the names of tests running beside it;
 * the prefix before it is given back by soak_nothing_left. The parent's
 * names and those of fork and spawn workers carry it (a forkserver
 * worker has the server's environment: its names are not counted). */
static char g_prefix[9], g_saved[64];

static void soak_prefix_set(int retries) {
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  const char *old = getenv("MPROC_NAME_PREFIX");
  unsigned long v = (unsigned long)mproc_current_pid();
  int i;
  snprintf(g_saved, sizeof g_saved, "%s", old ? old : "");
  g_prefix[0] = 'k';
  g_prefix[1] = (char)('0' + (int)g_method);
  g_prefix[2] = retries ? 'r' : 'n';
  for (i = 3; i < 8; i++, v /= 36) g_prefix[i] = digits[v % 36];
  g_prefix[8] = '\0';
  tu_setenv("MPROC_NAME_PREFIX", g_prefix);
}

/* After the executor and the pid table are freed: no name with the
 * soak's prefix is left (-1: no /dev/shm to look in). */
static void soak_nothing_left(void) {
  char names[4][64];
  int i, left;
  tu_setenv("MPROC_NAME_PREFIX", g_saved); /* "": the default prefix */
  if (tu_count_shm_settled(g_prefix) <= 0) return;
  left = tu_list_shm(g_prefix, names, 4);
  for (i = 0; i < left && i < 4; i++)
    fprintf(stderr, "left after the soak: %s\n", names[i]);
  fail_msg("%d %s* names left in /dev/shm after the soak", left, g_prefix);
}

static mproc_executor *soak_executor(mproc_shm **shm, int retries) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  const char *name;
  soak_prefix_set(retries);
  assert_int_equal(mproc_shm_new(shm, SOAK_WORKERS * sizeof(long), NULL), 0);
  name = mproc_shm_name(*shm);
  o.initializer = soak_init;
  o.initargs = name;
  o.initargs_len = strlen(name);
  o.retries = retries;
  return pp_new(SOAK_WORKERS, &o);
}

/* 1 if this run is skipped (see the top). */
static int soak_skipped(void) {
#ifdef MPROC_TEST_SMALL_SOAK
  if (g_method == MPROC_START_FORK) return 1;
#endif
  return 0;
}

static void killer_start(killer *k, mproc_shm *shm) {
  memset(k, 0, sizeof *k);
  atomic_init(&k->stop, 0);
  k->pids = mproc_shm_buf(shm);
  assert_int_equal(uv_thread_create(&k->thread, killer_main, k), 0);
}

static void killer_stop(killer *k) {
  atomic_store(&k->stop, 1);
  uv_thread_join(&k->thread);
}

/* The soak's Pool: SOAK_WORKERS workers under the method of the run, the
 * pid table handed to each by the initializer. */
static mproc_pool *soak_pool(mproc_shm **shm) {
  mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
  mproc_pool *pool = NULL;
  const char *name;
  soak_prefix_set(0);
  assert_int_equal(mproc_shm_new(shm, SOAK_WORKERS * sizeof(long), NULL), 0);
  name = mproc_shm_name(*shm);
  o.processes = SOAK_WORKERS;
  o.method = g_method;
  o.initializer = soak_init;
  o.initargs = name;
  o.initargs_len = strlen(name);
  if (mproc_pool_new(&pool, &o) != 0) fail_msg("%s", mproc_last_error());
  return pool;
}

/* Without retries: one imap of SOAK_N items (chunksize 1, Python's imap
 * default) on a Pool; the iteration goes on past a failed item, as
 * Python's IMapIterator, so every item is seen once in order, with its
 * right result or with MPROC_EWORKERDIED and the signal in its message. */
void test_soak_killer(void **state) {
  mproc_pool_call_opts co = MPROC_POOL_CALL_OPTS_INIT;
  mproc_shm *shm;
  mproc_pool *pool;
  mproc_imap *it = NULL;
  int *items, i, ok = 0, died = 0;
  static killer k; /* static: a failed test leaves its thread a valid k */
  (void)state;
  if (soak_skipped()) skip();
  pool = soak_pool(&shm);
  items = malloc(SOAK_N * sizeof *items);
  assert_non_null(items);
  for (i = 0; i < SOAK_N; i++) items[i] = i;
  killer_start(&k, shm);
  assert_int_equal(mproc_pool_imap(pool, soak_task, items, SOAK_N,
                                   sizeof *items, &co, &it), 0);
  for (i = 0; i < SOAK_N; i++) {
    const void *d;
    const char *msg = NULL;
    size_t n, item = (size_t)-1;
    int rc = mproc_imap_next(it, 300.0, &d, &n, &item), v;
    assert_int_equal(item, (size_t)i); /* in order, each once */
    if (rc == MPROC_EWORKERDIED) {
      assert_int_equal(mproc_imap_error(it, NULL, &msg), 0);
      assert_non_null(msg);
      assert_non_null(strstr(msg, "died"));
      died++;
    } else {
      if (rc != 0) fail_msg("item %d: %s", i, mproc_err_name(rc));
      assert_int_equal(n, sizeof v);
      memcpy(&v, d, sizeof v);
      assert_int_equal(v, i * 2 + 1);
      ok++;
    }
  }
  assert_int_equal(mproc_imap_next(it, 0, NULL, NULL, NULL), MPROC_EEOF);
  killer_stop(&k);
  printf("soak: one imap of %d items, %d kills: %d completed, %d "
         "MPROC_EWORKERDIED\n", SOAK_N, k.kills, ok, died);
  assert_int_equal(ok + died, SOAK_N);
  assert_true(k.kills >= 1); /* else the soak proved nothing */
  assert_true(died >= 1);    /* a kill during a task fails that task */
  mproc_imap_free(it);
  mproc_pool_close(pool);
  assert_int_equal(mproc_pool_join(pool), 0);
  mproc_pool_free(pool);
  mproc_shm_free(shm);
  free(items);
  soak_nothing_left();
}

void test_soak_killer_retries(void **state) {
  mproc_shm *shm;
  mproc_executor *ex;
  mproc_map_opts mo = MPROC_MAP_OPTS_INIT;
  mproc_map *m = NULL;
  int *items, i;
  static killer k; /* static: a failed test leaves its thread a valid k */
  (void)state;
  if (soak_skipped()) skip();
  ex = soak_executor(&shm, 255);
  items = malloc(SOAK_N * sizeof *items);
  assert_non_null(items);
  for (i = 0; i < SOAK_N; i++) items[i] = i;
  killer_start(&k, shm);
  assert_int_equal(mproc_executor_map(ex, soak_task, items, SOAK_N,
                                      sizeof *items, &mo, &m), 0);
  for (i = 0; i < SOAK_N; i++) {
    const void *d;
    size_t n;
    int v;
    if (mproc_map_next(m, &d, &n) != 0)
      fail_msg("item %d: %s", i, mproc_last_error());
    assert_int_equal(n, sizeof v);
    memcpy(&v, d, sizeof v);
    assert_int_equal(v, i * 2 + 1);
  }
  killer_stop(&k);
  printf("soak with retries: %d tasks, %d kills, every task completed\n",
         SOAK_N, k.kills);
  assert_true(k.kills >= 1);
  mproc_map_free(m);
  mproc_executor_free(ex);
  mproc_shm_free(shm);
  free(items);
  soak_nothing_left();
}
