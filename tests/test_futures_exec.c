/* mproc tests: executors — CPython's test_thread_pool.py, test_shutdown.py,
 * test_init.py and executor.py scenarios for the thread kind: default
 * max_workers, idle thread reuse, saturation (also once the threads
 * sleep), shutdown (refusing later submits, cancel_futures, wait=False
 * with work queued, from a task),
 * initializers (and their failure: broken), map (order, a failing item,
 * timeout, buffersize taken lazily), a 64 MiB result, per-task context,
 * the completion handle an event loop polls, and several submitting
 * threads at once (for TSan). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_futures.h"
#include "util.h"

static void test_executor_bad_input(void **state) {
  mproc_executor *ex = NULL;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_future *f;
  int x = 1;
  (void)state;
  assert_int_equal(mproc_executor_new(NULL, MPROC_EXECUTOR_THREAD, NULL),
                   MPROC_EINVAL);
  assert_int_equal(mproc_executor_new(&ex, (mproc_executor_kind)42, NULL),
                   MPROC_EINVAL);
#ifndef MPROC_TEST_WITH_MPI
  /* Without -DMPROC_WITH_MPI=ON the kind says how to get it (with MPI,
   * tests/test_mpi.c covers it under mpiexec). */
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_MPI, NULL),
                   MPROC_ENOTSUP);
  assert_non_null(strstr(mproc_last_error(), "MPROC_WITH_MPI"));
#endif
  o.max_workers = -1; /* Python: ValueError */
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, &o),
                   MPROC_EINVAL);
  o.max_workers = 0;
  o.size = 8;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, &o),
                   MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "MPROC_EXECUTOR_OPTS_INIT"));
  assert_null(ex);
  ex = tf_executor(2);
  assert_int_equal(mproc_executor_submit(NULL, tf_square, &x, 4, &f),
                   MPROC_EINVAL);
  assert_int_equal(mproc_executor_submit(ex, NULL, &x, 4, &f), MPROC_EINVAL);
  assert_int_equal(mproc_executor_submit(ex, tf_square, NULL, 4, &f),
                   MPROC_EINVAL);
  assert_int_equal(mproc_executor_submit(ex, tf_square, &x, 4, NULL),
                   MPROC_EINVAL);
  assert_int_equal(mproc_executor_shutdown(NULL, 0), MPROC_EINVAL);
  assert_int_equal(mproc_executor_shutdown(ex, 0x80), MPROC_EINVAL);
  assert_int_equal(mproc_executor_max_workers(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_executor_next_completed(NULL, &f), MPROC_EINVAL);
  assert_true(mproc_executor_completion_handle(NULL) == MPROC_NO_HANDLE);
  /* An empty input is fine. */
  f = tf_submit(ex, tf_echo, NULL, 0);
  assert_int_equal(mproc_future_result(f, MPROC_FOREVER, NULL, NULL), 0);
  mproc_future_free(f);
  mproc_executor_free(ex);
  mproc_executor_free(NULL);
}

static void test_default_workers(void **state) {
  mproc_executor *ex;
  int cpus = mproc_cpu_count();
  (void)state;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, NULL), 0);
  assert_int_equal(mproc_executor_max_workers(ex),
                   cpus + 4 < 32 ? cpus + 4 : 32);
  mproc_executor_free(ex);
}

static int worker_of(const void *in, size_t len, mproc_buf *out) {
  const mproc_task_ctx *c = mproc_task_context(out);
  (void)in, (void)len;
  return mproc_buf_write(out, c, sizeof *c);
}

static mproc_task_ctx ctx_of(mproc_future *f) {
  mproc_task_ctx c;
  const void *p;
  size_t n;
  assert_int_equal(mproc_future_result(f, MPROC_FOREVER, &p, &n), 0);
  assert_int_equal(n, sizeof c);
  memcpy(&c, p, sizeof c);
  return c;
}

/* test_idle_thread_reuse: submit().result() in turn uses one thread; the
 * task numbers count submits; the user pointer arrives. */
static void test_thread_reuse_and_context(void **state) {
  mproc_executor *ex;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  int i, tag = 0;
  (void)state;
  o.max_workers = 4;
  o.user = &tag;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, &o), 0);
  for (i = 0; i < 50; i++) {
    mproc_future *f = tf_submit(ex, worker_of, NULL, 0);
    mproc_task_ctx c = ctx_of(f);
    assert_int_equal(c.worker, 0);
    assert_int_equal(c.task, (uint64_t)i);
    assert_int_equal(c.item, 0);
    assert_ptr_equal(c.user, &tag);
    assert_int_equal(mproc_future_item(f), (size_t)i);
    mproc_future_free(f);
  }
  mproc_executor_free(ex);
}

/* test_saturation: max_workers tasks that all wait need max_workers
 * threads at once; one more stays pending. */
static void test_saturation(void **state) {
  mproc_executor *ex = tf_executor(4);
  mproc_future *fs[5];
  tf_gate g;
  int i;
  (void)state;
  tf_gate_init(&g);
  for (i = 0; i < 5; i++) fs[i] = tf_submit_gate(ex, &g);
  tf_gate_wait_entered(&g, 4);
  assert_int_equal(mproc_future_state_of(fs[4]), MPROC_FUTURE_PENDING);
  tf_gate_open(&g);
  assert_int_equal(mproc_wait(fs, 5, MPROC_FOREVER, MPROC_ALL_COMPLETED, NULL),
                   5);
  for (i = 0; i < 5; i++) mproc_future_free(fs[i]);
  mproc_executor_free(ex);
  tf_gate_destroy(&g);
}

/* test_saturation_again: once the threads have been started and have
 * gone back to waiting for work, max_workers tasks that all wait are
 * taken by all of them at once again (the sleepers are woken one after
 * another, along the wake-up cascade), round after round, with a burst
 * of quick tasks in between that sends workers back to sleep. */
static void test_saturation_again(void **state) {
  enum { W = 4, ROUNDS = 20, QUICK = 100 };
  mproc_executor *ex = tf_executor(W);
  mproc_future *fs[W];
  tf_gate g;
  int r, i;
  (void)state;
  for (r = 0; r < ROUNDS; r++) {
    tf_gate_init(&g);
    for (i = 0; i < QUICK; i++)
      mproc_future_free(tf_submit_int(ex, tf_square, i));
    for (i = 0; i < W; i++) fs[i] = tf_submit_gate(ex, &g);
    tf_gate_wait_entered(&g, W);
    tf_gate_open(&g);
    assert_int_equal(mproc_wait(fs, W, MPROC_FOREVER, MPROC_ALL_COMPLETED,
                                NULL), W);
    for (i = 0; i < W; i++) mproc_future_free(fs[i]);
    tf_gate_destroy(&g);
  }
  mproc_executor_free(ex);
}

/* ---- shutdown (test_shutdown.py) ------------------------------------------ */

static void test_shutdown_refuses(void **state) {
  mproc_executor *ex = tf_executor(2);
  mproc_future *f = tf_submit_int(ex, tf_square, 5), *g = NULL;
  mproc_map *m = NULL;
  int items[2] = {1, 2};
  (void)state;
  assert_int_equal(mproc_executor_shutdown(ex, MPROC_SHUTDOWN_WAIT), 0);
  assert_int_equal(tf_result_int(f), 25); /* queued work was done */
  assert_int_equal(mproc_executor_submit(ex, tf_square, items, 4, &g),
                   MPROC_ESTATE);
  assert_null(g);
  assert_string_equal(mproc_last_error(),
                      "cannot schedule new futures after shutdown");
  assert_int_equal(mproc_executor_map(ex, tf_square, items, 2, sizeof(int),
                                      NULL, &m), MPROC_ESTATE);
  assert_null(m);
  assert_int_equal(mproc_executor_shutdown(ex, MPROC_SHUTDOWN_WAIT), 0);
  assert_int_equal(mproc_executor_shutdown(ex, 0), 0);
  mproc_future_free(f);
  mproc_executor_free(ex);
}

static void test_shutdown_cancel_futures(void **state) {
  mproc_executor *ex = tf_executor(1);
  mproc_future *run, *fs[5];
  tf_gate g;
  int i;
  (void)state;
  tf_gate_init(&g);
  run = tf_submit_gate(ex, &g);
  tf_gate_wait_entered(&g, 1);
  for (i = 0; i < 5; i++) fs[i] = tf_submit_int(ex, tf_square, i);
  assert_int_equal(mproc_executor_shutdown(ex, MPROC_SHUTDOWN_CANCEL_FUTURES),
                   0);
  for (i = 0; i < 5; i++) {
    assert_int_equal(mproc_future_cancelled(fs[i]), 1);
    assert_int_equal(mproc_future_result(fs[i], 0, NULL, NULL),
                     MPROC_ECANCELLED);
  }
  assert_int_equal(mproc_future_running(run), 1); /* not cancelled */
  tf_gate_open(&g);
  assert_int_equal(mproc_executor_shutdown(ex, MPROC_SHUTDOWN_WAIT), 0);
  assert_int_equal(mproc_future_result(run, 0, NULL, NULL), 0);
  for (i = 0; i < 5; i++) mproc_future_free(fs[i]);
  mproc_future_free(run);
  mproc_executor_free(ex);
  tf_gate_destroy(&g);
}

/* shutdown(wait=False) with work queued returns at once; the work is
 * still done, and free waits for it. */
static void test_shutdown_nowait(void **state) {
  mproc_executor *ex = tf_executor(1);
  mproc_future *run, *fs[20];
  tf_gate g;
  int i;
  (void)state;
  tf_gate_init(&g);
  run = tf_submit_gate(ex, &g);
  for (i = 0; i < 20; i++) fs[i] = tf_submit_int(ex, tf_square, i);
  assert_int_equal(mproc_executor_shutdown(ex, 0), 0);
  assert_int_equal(mproc_future_done(fs[19]), 0);
  tf_gate_open(&g);
  for (i = 0; i < 20; i++) assert_int_equal(tf_result_int(fs[i]), i * i);
  mproc_executor_free(ex);
  for (i = 0; i < 20; i++) mproc_future_free(fs[i]);
  assert_int_equal(mproc_future_result(run, 0, NULL, NULL), 0);
  mproc_future_free(run);
  tf_gate_destroy(&g);
}

static int shutdown_self(const void *in, size_t len, mproc_buf *out) {
  mproc_executor *ex = *(mproc_executor **)mproc_task_context(out)->user;
  int rc = mproc_executor_shutdown(ex, MPROC_SHUTDOWN_WAIT);
  (void)in, (void)len;
  return mproc_buf_write(out, &rc, sizeof rc);
}

/* A task that asks its own executor to shut down and wait would wait for
 * itself: MPROC_ESTATE, not a hang. */
static void test_shutdown_from_task(void **state) {
  mproc_executor *self;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_future *f;
  (void)state;
  o.max_workers = 1;
  o.user = &self;
  assert_int_equal(mproc_executor_new(&self, MPROC_EXECUTOR_THREAD, &o), 0);
  f = tf_submit(self, shutdown_self, NULL, 0);
  assert_int_equal(tf_result_int(f), MPROC_ESTATE);
  mproc_future_free(f);
  mproc_executor_free(self);
}

/* ---- initializers (test_init.py) ------------------------------------------- */

static _Thread_local int t_initval = -1;

static int init_ok(const void *args, size_t len) {
  if (len != sizeof(int)) return 1;
  memcpy(&t_initval, args, sizeof(int));
  return 0;
}

static int read_initval(const void *in, size_t len, mproc_buf *out) {
  (void)in, (void)len;
  return mproc_buf_write(out, &t_initval, sizeof t_initval);
}

static int init_fails(const void *args, size_t len) {
  (void)args, (void)len;
  return 3;
}

static void test_initializer(void **state) {
  mproc_executor *ex;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_future *fs[8];
  int v = 77, i;
  (void)state;
  o.max_workers = 3;
  o.initializer = init_ok;
  o.initargs = &v;
  o.initargs_len = sizeof v;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, &o), 0);
  v = 0; /* initargs were copied */
  for (i = 0; i < 8; i++) fs[i] = tf_submit(ex, read_initval, NULL, 0);
  for (i = 0; i < 8; i++) {
    assert_int_equal(tf_result_int(fs[i]), 77);
    mproc_future_free(fs[i]);
  }
  mproc_executor_free(ex);
}

static void test_initializer_fails(void **state) {
  mproc_executor *ex;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_future *fs[4], *later = NULL;
  int i, code;
  const char *msg;
  (void)state;
  o.max_workers = 1;
  o.initializer = init_fails;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, &o), 0);
  /* The first submit starts the worker, whose initializer may fail before
   * the next submits: those then fail at once with MPROC_EBROKEN (Python's
   * submit raises BrokenThreadPool then), the others through their future. */
  for (i = 0; i < 4; i++) {
    int rc = mproc_executor_submit(ex, tf_square, &i, sizeof i, &fs[i]);
    if (i == 0 || rc != MPROC_EBROKEN) {
      assert_int_equal(rc, 0);
      continue;
    }
    assert_null(fs[i]);
  }
  for (i = 0; i < 4; i++) {
    if (fs[i] == NULL) continue;
    assert_int_equal(mproc_future_result(fs[i], MPROC_FOREVER, NULL, NULL),
                     MPROC_EBROKEN);
    assert_int_equal(mproc_future_exception(fs[i], 0, &code, &msg),
                     MPROC_EBROKEN);
    assert_int_equal(code, MPROC_EBROKEN);
    assert_non_null(strstr(msg, "initializer failed with 3"));
    mproc_future_free(fs[i]);
  }
  assert_int_equal(mproc_executor_submit(ex, tf_square, &i, sizeof i, &later),
                   MPROC_EBROKEN);
  assert_null(later);
  mproc_executor_free(ex);
}

/* ---- map (executor.py) -------------------------------------------------------- */

static void test_map_in_order(void **state) {
  enum { N = 3000 };
  mproc_executor *ex = tf_executor(4);
  static int items[N];
  mproc_map *m;
  const void *p;
  size_t n;
  int i, x;
  (void)state;
  for (i = 0; i < N; i++) items[i] = i;
  assert_int_equal(mproc_executor_map(ex, tf_square, items, N, sizeof(int),
                                      NULL, &m), 0);
  for (i = 0; i < N; i++) {
    assert_int_equal(mproc_map_next(m, &p, &n), 0);
    assert_int_equal(n, sizeof x);
    memcpy(&x, p, sizeof x);
    assert_int_equal(x, i * i);
  }
  assert_int_equal(mproc_map_next(m, &p, &n), MPROC_EEOF);
  assert_int_equal(mproc_map_error(m, NULL, NULL, NULL), MPROC_ESTATE);
  mproc_map_free(m);
  /* test_map_submits_without_iteration: shutdown(wait) runs them all. */
  {
    mproc_executor *ex2 = tf_executor(2);
    mproc_future *f = NULL;
    assert_int_equal(mproc_executor_map(ex2, tf_square, items, 10, sizeof(int),
                                        NULL, &m), 0);
    assert_int_equal(mproc_executor_shutdown(ex2, MPROC_SHUTDOWN_WAIT), 0);
    assert_int_equal(mproc_executor_next_completed(ex2, &f), MPROC_ESTATE);
    for (i = 0; i < 10; i++) {
      assert_int_equal(mproc_map_next(m, &p, &n), 0);
      memcpy(&x, p, sizeof x);
      assert_int_equal(x, i * i);
    }
    mproc_map_free(m);
    mproc_executor_free(ex2);
  }
  /* An empty map. */
  assert_int_equal(mproc_executor_map(ex, tf_square, NULL, 0, 0, NULL, &m), 0);
  assert_int_equal(mproc_map_next(m, &p, &n), MPROC_EEOF);
  mproc_map_free(m);
  mproc_executor_free(ex);
}

static int fail_on_2(const void *in, size_t len, mproc_buf *out) {
  int x;
  memcpy(&x, in, sizeof x);
  if (x == 2) return tf_fail(in, len, out);
  return tf_square(in, len, out);
}

static void test_map_error_and_bad_input(void **state) {
  mproc_executor *ex = tf_executor(2);
  mproc_map_opts o = MPROC_MAP_OPTS_INIT;
  int items[4] = {1, 2, 3, 4}, code;
  mproc_map *m;
  const void *p;
  size_t n, item;
  const char *msg;
  (void)state;
  assert_int_equal(mproc_executor_map(ex, fail_on_2, items, 4, sizeof(int),
                                      &o, &m), 0);
  assert_int_equal(mproc_map_next(m, &p, &n), 0);
  assert_int_equal(*(const int *)p, 1);
  assert_int_equal(mproc_map_next(m, &p, &n), MPROC_ETASK);
  assert_non_null(strstr(mproc_last_error(), "bad 2"));
  assert_int_equal(mproc_map_error(m, &item, &code, &msg), 0);
  assert_int_equal(item, 1);
  assert_int_equal(code, 7);
  assert_string_equal(msg, "bad 2");
  assert_int_equal(mproc_map_next(m, &p, &n), MPROC_EEOF); /* Python: ended */
  mproc_map_free(m);
  assert_int_equal(mproc_map_next(NULL, &p, &n), MPROC_EINVAL);
  mproc_map_free(NULL);
  o.chunksize = 0; /* Python: ValueError */
  assert_int_equal(mproc_executor_map(ex, tf_square, items, 4, sizeof(int),
                                      &o, &m), MPROC_EINVAL);
  o = (mproc_map_opts)MPROC_MAP_OPTS_INIT;
  o.timeout = NAN;
  assert_int_equal(mproc_executor_map(ex, tf_square, items, 4, sizeof(int),
                                      &o, &m), MPROC_EINVAL);
  assert_int_equal(mproc_executor_map(ex, tf_square, items, 4, 0, NULL, &m),
                   MPROC_EINVAL);
  assert_int_equal(mproc_executor_map(ex, tf_square, NULL, 4, 4, NULL, &m),
                   MPROC_EINVAL);
  assert_int_equal(mproc_executor_map(NULL, tf_square, items, 4, 4, NULL, &m),
                   MPROC_EINVAL);
  mproc_executor_free(ex);
}

static void test_map_timeout(void **state) {
  mproc_executor *ex = tf_executor(1);
  mproc_map_opts o = MPROC_MAP_OPTS_INIT;
  tf_gate g, *items[3];
  mproc_map *m;
  mproc_future *probe;
  const void *p;
  size_t n;
  (void)state;
  tf_gate_init(&g);
  items[0] = items[1] = items[2] = &g;
  o.timeout = 0.1;
  assert_int_equal(mproc_executor_map(ex, tf_wait_gate, items, 3,
                                      sizeof items[0], &o, &m), 0);
  tf_gate_wait_entered(&g, 1);
  assert_int_equal(mproc_map_next(m, &p, &n), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_map_next(m, &p, &n), MPROC_EEOF);
  tf_gate_open(&g);
  /* The two that had not started were cancelled: only one task ran. */
  probe = tf_submit_int(ex, tf_square, 2);
  assert_int_equal(tf_result_int(probe), 4);
  assert_int_equal(g.entered, 1);
  mproc_future_free(probe);
  mproc_map_free(m);
  mproc_executor_free(ex);
  tf_gate_destroy(&g);
}

/* buffersize: at most that many items are submitted ahead of the results
 * taken. A probe's task number counts the futures made before it. */
static void test_map_buffersize(void **state) {
  enum { N = 100, B = 4 };
  mproc_executor *ex = tf_executor(2);
  mproc_map_opts o = MPROC_MAP_OPTS_INIT;
  int items[N], i, x;
  size_t made = 0;
  mproc_map *m;
  const void *p;
  size_t n;
  (void)state;
  for (i = 0; i < N; i++) items[i] = i;
  o.buffersize = B;
  assert_int_equal(mproc_executor_map(ex, tf_square, items, N, sizeof(int),
                                      &o, &m), 0);
  for (i = 0; i < N; i++) {
    mproc_future *probe = tf_submit_int(ex, tf_square, 1);
    size_t seq = mproc_future_item(probe);
    size_t want_items = (size_t)(i + B) < N ? (size_t)(i + B) : N;
    assert_int_equal(seq, want_items + made); /* submitted so far */
    made++;
    assert_int_equal(tf_result_int(probe), 1);
    mproc_future_free(probe);
    assert_int_equal(mproc_map_next(m, &p, &n), 0);
    memcpy(&x, p, sizeof x);
    assert_int_equal(x, i * i);
  }
  assert_int_equal(mproc_map_next(m, &p, &n), MPROC_EEOF);
  mproc_map_free(m);
  /* Freed early: what is left is cancelled, nothing hangs. */
  assert_int_equal(mproc_executor_map(ex, tf_square, items, N, sizeof(int),
                                      &o, &m), 0);
  assert_int_equal(mproc_map_next(m, &p, &n), 0);
  mproc_map_free(m);
  mproc_executor_free(ex);
}

/* ---- big results, completions, threads ------------------------------------- */

#define BIG (64u << 20)

static int big_result(const void *in, size_t len, mproc_buf *out) {
  unsigned char *p = mproc_buf_reserve(out, BIG);
  size_t i;
  (void)in, (void)len;
  if (p == NULL) return MPROC_ENOMEM;
  for (i = 0; i < BIG; i += 4096) p[i] = (unsigned char)(i >> 12);
  p[BIG - 1] = 0xAB;
  return 0;
}

static void test_large_result(void **state) {
  mproc_executor *ex = tf_executor(2);
  mproc_future *f = tf_submit(ex, big_result, NULL, 0);
  void *data = NULL;
  const unsigned char *b;
  size_t n = 0, i;
  (void)state;
  assert_int_equal(mproc_future_take(f, MPROC_FOREVER, &data, &n), 0);
  assert_int_equal(n, BIG);
  b = data;
  for (i = 0; i < BIG - 1; i += 4096)
    if (b[i] != (unsigned char)(i >> 12)) fail_msg("byte %zu wrong", i);
  assert_int_equal(b[BIG - 1], 0xAB);
  mproc_free(data);
  mproc_future_free(f);
  mproc_executor_free(ex);
}

static void test_completion_handle(void **state) {
  enum { N = 300, M = 50 };
  mproc_executor *ex = tf_executor(3);
  static mproc_future *fs[N];
  static unsigned char seen[N + M];
  const char *why = NULL;
  int items[M], i;
  mproc_map *m;
  mproc_future *f;
  mproc_handle h;
  unsigned char r;
  (void)state;
  assert_int_equal(mproc_executor_next_completed(ex, &f), MPROC_ESTATE);
  h = mproc_executor_completion_handle(ex);
  assert_true(h != MPROC_NO_HANDLE);
  assert_true(mproc_executor_completion_handle(ex) == h);
  assert_int_equal(mproc_executor_next_completed(ex, &f), MPROC_EEMPTY);
  for (i = 0; i < N; i++) fs[i] = tf_submit_int(ex, tf_square, i);
  for (i = 0; i < M; i++) items[i] = i;
  assert_int_equal(mproc_executor_map(ex, tf_square, items, M, sizeof(int),
                                      NULL, &m), 0);
  if (tu_drain_completions(ex, h, N + M, 60, seen, NULL, NULL, &why) != 0)
    fail_msg("%s", why); /* submits, then the map */
  /* Drained: the handle is not ready any more. */
  assert_int_equal(mproc_wait_handles(&h, 1, 0, &r), MPROC_ETIMEDOUT);
  for (i = 0; i < N; i++) mproc_future_free(fs[i]);
  mproc_map_free(m);
  mproc_executor_free(ex);
}

typedef struct submitter {
  mproc_executor *ex;
  int base, bad;
} submitter;

static void submitter_main(void *arg) {
  enum { K = 3000 };
  submitter *s = arg;
  mproc_future **fs = malloc(K * sizeof *fs);
  int i, x;
  const void *p;
  size_t n;
  if (fs == NULL) {
    s->bad = 1;
    return;
  }
  for (i = 0; i < K; i++) {
    x = s->base + i;
    if (mproc_executor_submit(s->ex, tf_square, &x, sizeof x, &fs[i]) != 0)
      fs[i] = NULL;
  }
  for (i = 0; i < K; i++) {
    x = s->base + i;
    if (fs[i] == NULL || mproc_future_result(fs[i], 60, &p, &n) != 0 ||
        n != sizeof x || *(const int *)p != x * x)
      s->bad++;
    if (i % 3 == 0) (void)mproc_future_cancel(fs[i]); /* done: no effect */
    mproc_future_free(fs[i]);
  }
  free(fs);
}

static void test_threads_submit_at_once(void **state) {
  mproc_executor *ex = tf_executor(3);
  uv_thread_t t[4];
  submitter s[4];
  int i;
  (void)state;
  for (i = 0; i < 4; i++) {
    s[i].ex = ex;
    s[i].base = i * 10000;
    s[i].bad = 0;
    assert_int_equal(uv_thread_create(&t[i], submitter_main, &s[i]), 0);
  }
  for (i = 0; i < 4; i++) {
    assert_int_equal(uv_thread_join(&t[i]), 0);
    assert_int_equal(s[i].bad, 0);
  }
  mproc_executor_free(ex);
}

/* Futures outlive their executor: more than one slab's worth (256) of
 * small-input futures and some with inputs too large for a slab slot,
 * freed in a scattered order after the executor is gone (ASan sees a
 * slab freed too early or never). */
static void test_futures_outlive_executor(void **state) {
  enum { K = 700 };
  mproc_executor *ex = tf_executor(3);
  mproc_future **fs = malloc(K * sizeof *fs);
  char big[100];
  const void *p;
  size_t n;
  int i, j;
  (void)state;
  assert_non_null(fs);
  for (i = 0; i < K; i++) {
    if (i % 50 == 7) {
      memset(big, 'a' + i % 26, sizeof big);
      fs[i] = tf_submit(ex, tf_echo, big, sizeof big);
    } else {
      fs[i] = tf_submit_int(ex, tf_square, i);
    }
  }
  for (i = 0; i < K; i += 2)
    assert_int_equal(mproc_future_result(fs[i], 60, &p, &n), 0);
  mproc_executor_free(ex); /* waits for the rest */
  for (j = 0; j < 7; j++) {
    for (i = j; i < K; i += 7) {
      assert_int_equal(mproc_future_result(fs[i], 0, &p, &n), 0);
      if (i % 50 == 7) {
        assert_int_equal(n, sizeof big);
        assert_int_equal(((const char *)p)[99], 'a' + i % 26);
      } else {
        assert_int_equal(n, sizeof(int));
        assert_int_equal(*(const int *)p, i * i);
      }
      mproc_future_free(fs[i]);
    }
  }
  free(fs);
}

const struct CMUnitTest tf_exec_tests[] = {
    cmocka_unit_test(test_executor_bad_input),
    cmocka_unit_test(test_default_workers),
    cmocka_unit_test(test_thread_reuse_and_context),
    cmocka_unit_test(test_saturation),
    cmocka_unit_test(test_saturation_again),
    cmocka_unit_test(test_shutdown_refuses),
    cmocka_unit_test(test_shutdown_cancel_futures),
    cmocka_unit_test(test_shutdown_nowait),
    cmocka_unit_test(test_shutdown_from_task),
    cmocka_unit_test(test_initializer),
    cmocka_unit_test(test_initializer_fails),
    cmocka_unit_test(test_map_in_order),
    cmocka_unit_test(test_map_error_and_bad_input),
    cmocka_unit_test(test_map_timeout),
    cmocka_unit_test(test_map_buffersize),
    cmocka_unit_test(test_large_result),
    cmocka_unit_test(test_completion_handle),
    cmocka_unit_test(test_threads_submit_at_once),
    cmocka_unit_test(test_futures_outlive_executor),
};
const size_t tf_exec_count = sizeof tf_exec_tests / sizeof tf_exec_tests[0];
