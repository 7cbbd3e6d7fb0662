/* mproc tests: futures — CPython's test_future.py, test_wait.py and
 * test_as_completed.py scenarios, ported to the thread executor: the
 * state machine (PENDING, RUNNING, CANCELLED, CANCELLED_AND_NOTIFIED,
 * FINISHED), cancel, result and exception with timeouts, done callbacks
 * (order, already done, a failing one), mproc_wait's three modes and
 * as_completed (duplicates, timeouts). Tasks wait at gates: readiness is
 * signalled, never slept for. The executor half is test_futures_exec.c.
 *
 * The thread kind involves no child process, so no group runs per start
 * method; the process kind's tests will. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "test_futures.h"

/* ---- helpers ------------------------------------------------------------- */

void tf_gate_init(tf_gate *g) {
  assert_int_equal(uv_mutex_init(&g->m), 0);
  assert_int_equal(uv_cond_init(&g->c), 0);
  g->open = g->entered = 0;
}

void tf_gate_destroy(tf_gate *g) {
  uv_cond_destroy(&g->c);
  uv_mutex_destroy(&g->m);
}

void tf_gate_open(tf_gate *g) {
  uv_mutex_lock(&g->m);
  g->open = 1;
  uv_cond_broadcast(&g->c);
  uv_mutex_unlock(&g->m);
}

void tf_gate_wait_entered(tf_gate *g, int n) {
  uint64_t until = uv_hrtime() + 60ull * 1000000000ull;
  int ok;
  uv_mutex_lock(&g->m);
  while (g->entered < n && uv_hrtime() < until)
    (void)uv_cond_timedwait(&g->c, &g->m, 100000000ull);
  ok = g->entered >= n;
  uv_mutex_unlock(&g->m);
  assert_true(ok);
}

int tf_square(const void *in, size_t len, mproc_buf *out) {
  int x;
  if (len != sizeof x) return mproc_task_fail(out, 2, "want an int");
  memcpy(&x, in, sizeof x);
  x *= x;
  return mproc_buf_write(out, &x, sizeof x);
}

int tf_wait_gate(const void *in, size_t len, mproc_buf *out) {
  tf_gate *g;
  (void)out;
  if (len != sizeof g) return 2;
  memcpy(&g, in, sizeof g);
  uv_mutex_lock(&g->m);
  g->entered++;
  uv_cond_broadcast(&g->c);
  while (!g->open) uv_cond_wait(&g->c, &g->m);
  uv_mutex_unlock(&g->m);
  return 0;
}

int tf_fail(const void *in, size_t len, mproc_buf *out) {
  int x = 0;
  if (len == sizeof x) memcpy(&x, in, sizeof x);
  mproc_buf_write(out, "partial", 7); /* dropped: the task fails */
  return mproc_task_fail(out, 7, "bad %d", x);
}

int tf_echo(const void *in, size_t len, mproc_buf *out) {
  return mproc_buf_write(out, in, len);
}

mproc_executor *tf_executor(int max_workers) {
  mproc_executor *ex = NULL;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  o.max_workers = max_workers;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, &o), 0);
  return ex;
}

mproc_future *tf_submit(mproc_executor *ex, mproc_task_fn fn, const void *in,
                        size_t len) {
  mproc_future *f = NULL;
  assert_int_equal(mproc_executor_submit(ex, fn, in, len, &f), 0);
  assert_non_null(f);
  return f;
}

mproc_future *tf_submit_int(mproc_executor *ex, mproc_task_fn fn, int x) {
  return tf_submit(ex, fn, &x, sizeof x);
}

mproc_future *tf_submit_gate(mproc_executor *ex, tf_gate *g) {
  return tf_submit(ex, tf_wait_gate, &g, sizeof g);
}

int tf_result_int(mproc_future *f) {
  const void *p = NULL;
  size_t n = 0;
  int x;
  assert_int_equal(mproc_future_result(f, MPROC_FOREVER, &p, &n), 0);
  assert_int_equal(n, sizeof x);
  memcpy(&x, p, sizeof x);
  return x;
}

/* ---- the state machine (test_future.py) ------------------------------------ */

static void test_states_and_cancel(void **state) {
  mproc_executor *ex = tf_executor(1);
  mproc_future *run, *pend, *after;
  tf_gate g;
  (void)state;
  tf_gate_init(&g);
  run = tf_submit_gate(ex, &g);
  tf_gate_wait_entered(&g, 1);
  pend = tf_submit_int(ex, tf_square, 3); /* the one worker is busy */
  assert_int_equal(mproc_future_state_of(run), MPROC_FUTURE_RUNNING);
  assert_int_equal(mproc_future_running(run), 1);
  assert_int_equal(mproc_future_done(run), 0);
  assert_int_equal(mproc_future_state_of(pend), MPROC_FUTURE_PENDING);
  assert_int_equal(mproc_future_running(pend), 0);
  assert_int_equal(mproc_future_cancelled(pend), 0);
  /* Python: cancel() of a running future is False, of a pending one True
   * (and True again). */
  assert_int_equal(mproc_future_cancel(run), 0);
  assert_int_equal(mproc_future_cancel(pend), 1);
  assert_int_equal(mproc_future_cancel(pend), 1);
  assert_int_equal(mproc_future_state_of(pend), MPROC_FUTURE_CANCELLED);
  assert_int_equal(mproc_future_cancelled(pend), 1);
  assert_int_equal(mproc_future_done(pend), 1);
  assert_int_equal(mproc_future_result(pend, 0, NULL, NULL), MPROC_ECANCELLED);
  assert_int_equal(mproc_future_exception(pend, 0, NULL, NULL),
                   MPROC_ECANCELLED);
  /* result/exception with a timeout on a running future. */
  assert_int_equal(mproc_future_result(run, 0, NULL, NULL), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_future_result(run, 0.01, NULL, NULL), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_future_exception(run, -1, NULL, NULL),
                   MPROC_ETIMEDOUT);
  assert_int_equal(mproc_future_result(run, NAN, NULL, NULL),
                   MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "NaN"));
  tf_gate_open(&g);
  assert_int_equal(mproc_future_result(run, MPROC_FOREVER, NULL, NULL), 0);
  assert_int_equal(mproc_future_state_of(run), MPROC_FUTURE_FINISHED);
  assert_int_equal(mproc_future_cancel(run), 0); /* finished: False */
  assert_int_equal(mproc_future_cancelled(run), 0);
  /* Once the worker has passed the cancelled one, it is ..._AND_NOTIFIED. */
  after = tf_submit_int(ex, tf_square, 4);
  assert_int_equal(tf_result_int(after), 16);
  assert_int_equal(mproc_future_state_of(pend),
                   MPROC_FUTURE_CANCELLED_AND_NOTIFIED);
  assert_int_equal(mproc_future_cancel(pend), 1);
  mproc_future_free(run);
  mproc_future_free(pend);
  mproc_future_free(after);
  mproc_executor_free(ex);
  tf_gate_destroy(&g);
}

static void test_result_exception(void **state) {
  mproc_executor *ex = tf_executor(2);
  mproc_future *ok = tf_submit_int(ex, tf_square, 12);
  mproc_future *bad = tf_submit_int(ex, tf_fail, 3);
  const char *msg = NULL;
  const void *p;
  size_t n;
  void *taken = NULL;
  int code = -1;
  (void)state;
  assert_int_equal(tf_result_int(ok), 144);
  assert_int_equal(mproc_future_exception(ok, MPROC_FOREVER, &code, &msg), 0);
  assert_int_equal(code, 0);
  assert_string_equal(msg, "");
  assert_int_equal(mproc_future_result(bad, MPROC_FOREVER, &p, &n),
                   MPROC_ETASK);
  assert_null(p);
  assert_non_null(strstr(mproc_last_error(), "code 7: bad 3"));
  assert_int_equal(mproc_future_exception(bad, 0, &code, &msg), MPROC_ETASK);
  assert_int_equal(code, 7);
  assert_string_equal(msg, "bad 3");
  assert_int_equal(mproc_future_done(bad), 1);
  assert_int_equal(mproc_future_cancelled(bad), 0);
  /* take moves the bytes out; later results are empty. */
  assert_int_equal(mproc_future_take(ok, 0, &taken, &n), 0);
  assert_int_equal(n, sizeof(int));
  assert_int_equal(*(int *)taken, 144);
  mproc_free(taken);
  assert_int_equal(mproc_future_result(ok, 0, &p, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(mproc_future_take(bad, 0, &taken, &n), MPROC_ETASK);
  mproc_future_free(ok);
  mproc_future_free(bad);
  mproc_executor_free(ex);
}

typedef struct waiter_arg {
  mproc_future *f;
  int rc, value;
} waiter_arg;

static void waiter_main(void *arg) {
  waiter_arg *w = arg;
  const void *p = NULL;
  size_t n = 0;
  w->rc = mproc_future_result(w->f, MPROC_FOREVER, &p, &n);
  if (w->rc == 0 && n == sizeof(int)) memcpy(&w->value, p, sizeof(int));
}

/* test_result_with_timeout / result from other threads: three threads
 * block on one future; one completion wakes them all. */
static void test_result_many_waiters(void **state) {
  mproc_executor *ex = tf_executor(1);
  tf_gate g;
  mproc_future *gate_f, *f;
  uv_thread_t t[3];
  waiter_arg w[3];
  int i;
  (void)state;
  tf_gate_init(&g);
  gate_f = tf_submit_gate(ex, &g);
  f = tf_submit_int(ex, tf_square, 9); /* pending behind the gate */
  for (i = 0; i < 3; i++) {
    w[i].f = f;
    w[i].rc = 1;
    assert_int_equal(uv_thread_create(&t[i], waiter_main, &w[i]), 0);
  }
  tf_gate_open(&g);
  for (i = 0; i < 3; i++) {
    assert_int_equal(uv_thread_join(&t[i]), 0);
    assert_int_equal(w[i].rc, 0);
    assert_int_equal(w[i].value, 81);
  }
  mproc_future_free(gate_f);
  mproc_future_free(f);
  mproc_executor_free(ex);
  tf_gate_destroy(&g);
}

/* test_result_with_cancel: a thread blocked in result() on a pending
 * future is woken by its cancel, with MPROC_ECANCELLED. */
static void test_result_with_cancel(void **state) {
  mproc_executor *ex = tf_executor(1);
  tf_gate g;
  mproc_future *gate_f, *f;
  uv_thread_t t;
  waiter_arg w;
  (void)state;
  tf_gate_init(&g);
  gate_f = tf_submit_gate(ex, &g);
  tf_gate_wait_entered(&g, 1);
  f = tf_submit_int(ex, tf_square, 9);
  w.f = f;
  w.rc = 1;
  assert_int_equal(uv_thread_create(&t, waiter_main, &w), 0);
  assert_int_equal(mproc_future_cancel(f), 1);
  assert_int_equal(uv_thread_join(&t), 0);
  assert_int_equal(w.rc, MPROC_ECANCELLED);
  tf_gate_open(&g);
  mproc_future_free(gate_f);
  mproc_future_free(f);
  mproc_executor_free(ex);
  tf_gate_destroy(&g);
}

/* ---- done callbacks --------------------------------------------------------- */

typedef struct cb_log {
  atomic_int n;
  int order[8];
  int states[8];
} cb_log;

static cb_log g_log;
static int cb_tags[8] = {0, 1, 2, 3, 4, 5, 6, 7};

static int record_cb(mproc_future *f, void *arg) {
  int i = atomic_fetch_add(&g_log.n, 1);
  if (i < 8) {
    g_log.order[i] = *(int *)arg;
    g_log.states[i] = mproc_future_state_of(f);
  }
  return 0;
}

static int failing_cb(mproc_future *f, void *arg) {
  (void)f, (void)arg;
  return 5; /* Python: an exception in a callback is logged, not raised */
}

static void test_done_callbacks(void **state) {
  mproc_executor *ex = tf_executor(1);
  mproc_future *gate_f, *f, *c, *later;
  tf_gate g;
  (void)state;
  atomic_store(&g_log.n, 0);
  tf_gate_init(&g);
  gate_f = tf_submit_gate(ex, &g);
  tf_gate_wait_entered(&g, 1);
  f = tf_submit_int(ex, tf_square, 2);
  assert_int_equal(mproc_future_add_done_callback(NULL, record_cb, NULL),
                   MPROC_EINVAL);
  assert_int_equal(mproc_future_add_done_callback(f, NULL, NULL), MPROC_EINVAL);
  /* In order, a failing one in the middle changes nothing. */
  assert_int_equal(mproc_future_add_done_callback(f, record_cb, &cb_tags[0]), 0);
  assert_int_equal(mproc_future_add_done_callback(f, failing_cb, NULL), 0);
  assert_int_equal(mproc_future_add_done_callback(f, record_cb, &cb_tags[1]), 0);
  assert_int_equal(mproc_future_add_done_callback(f, record_cb, &cb_tags[2]), 0);
  assert_int_equal(atomic_load(&g_log.n), 0);
  tf_gate_open(&g);
  assert_int_equal(tf_result_int(f), 4);
  /* The callbacks run in the worker after the state changed; result()
   * may return first: wait for them through a later task. */
  later = tf_submit_int(ex, tf_square, 1);
  assert_int_equal(tf_result_int(later), 1);
  assert_int_equal(atomic_load(&g_log.n), 3);
  assert_int_equal(g_log.order[0], 0);
  assert_int_equal(g_log.order[1], 1);
  assert_int_equal(g_log.order[2], 2);
  assert_int_equal(g_log.states[0], MPROC_FUTURE_FINISHED);
  /* Already done: called at once, in this thread. */
  assert_int_equal(mproc_future_add_done_callback(f, record_cb, &cb_tags[3]), 0);
  assert_int_equal(atomic_load(&g_log.n), 4);
  assert_int_equal(g_log.order[3], 3);
  /* Cancelled: the callback runs, seeing CANCELLED. */
  tf_gate_destroy(&g);
  tf_gate_init(&g);
  mproc_future_free(gate_f);
  gate_f = tf_submit_gate(ex, &g);
  tf_gate_wait_entered(&g, 1);
  c = tf_submit_int(ex, tf_square, 5);
  assert_int_equal(mproc_future_add_done_callback(c, record_cb, &cb_tags[4]), 0);
  assert_int_equal(mproc_future_cancel(c), 1);
  assert_int_equal(atomic_load(&g_log.n), 5);
  assert_int_equal(g_log.states[4], MPROC_FUTURE_CANCELLED);
  tf_gate_open(&g);
  /* The executor goes on after the failing callback. */
  mproc_future_free(later);
  later = tf_submit_int(ex, tf_square, 6);
  assert_int_equal(tf_result_int(later), 36);
  mproc_future_free(later);
  mproc_future_free(c);
  mproc_future_free(f);
  mproc_future_free(gate_f);
  mproc_executor_free(ex);
  tf_gate_destroy(&g);
}

/* A callback that fails for a task that failed, and one that reads the
 * result: both fine. */
static int read_result_cb(mproc_future *f, void *arg) {
  const void *p;
  size_t n;
  *(int *)arg = mproc_future_result(f, 0, &p, &n);
  return 0;
}

static void test_callback_reads_result(void **state) {
  mproc_executor *ex = tf_executor(2);
  mproc_future *f = tf_submit_int(ex, tf_fail, 1);
  int rc = 1;
  (void)state;
  assert_int_equal(mproc_future_exception(f, MPROC_FOREVER, NULL, NULL),
                   MPROC_ETASK);
  assert_int_equal(mproc_future_add_done_callback(f, read_result_cb, &rc), 0);
  assert_int_equal(rc, MPROC_ETASK);
  mproc_future_free(f);
  mproc_executor_free(ex);
}

/* ---- wait (test_wait.py) ------------------------------------------------- */

static void test_wait_modes(void **state) {
  mproc_executor *ex = tf_executor(4);
  tf_gate g;
  mproc_future *fs[4];
  unsigned char done[4];
  (void)state;
  tf_gate_init(&g);
  fs[0] = tf_submit_gate(ex, &g);
  fs[1] = tf_submit_int(ex, tf_square, 2);
  assert_int_equal(tf_result_int(fs[1]), 4);
  /* FIRST_COMPLETED with one already done: at once. */
  assert_int_equal(mproc_wait(fs, 2, MPROC_FOREVER, MPROC_FIRST_COMPLETED,
                              done), 1);
  assert_int_equal(done[0], 0);
  assert_int_equal(done[1], 1);
  /* ALL_COMPLETED with a timeout: returns the partial sets, no error. */
  assert_int_equal(mproc_wait(fs, 2, 0.05, MPROC_ALL_COMPLETED, done), 1);
  assert_int_equal(mproc_wait(fs, 2, 0, MPROC_ALL_COMPLETED, NULL), 1);
  /* FIRST_EXCEPTION: a success does not end it, a failure does. */
  assert_int_equal(mproc_wait(fs, 2, 0.05, MPROC_FIRST_EXCEPTION, done), 1);
  fs[2] = tf_submit_int(ex, tf_fail, 1);
  assert_int_equal(mproc_wait(fs, 3, MPROC_FOREVER, MPROC_FIRST_EXCEPTION,
                              done), 2);
  assert_int_equal(done[2], 1);
  assert_int_equal(done[0], 0);
  /* FIRST_COMPLETED, nothing done yet: the gate's opening ends it;
   * duplicates are fine. */
  fs[3] = fs[0];
  {
    mproc_future *pair[2] = {fs[0], fs[3]};
    tf_gate_wait_entered(&g, 1);
    tf_gate_open(&g);
    assert_int_equal(mproc_wait(pair, 2, MPROC_FOREVER, MPROC_FIRST_COMPLETED,
                                done), 2);
    assert_int_equal(done[0] & done[1], 1);
  }
  assert_int_equal(mproc_wait(fs, 4, MPROC_FOREVER, MPROC_ALL_COMPLETED, done),
                   4);
  /* Bad input. */
  assert_int_equal(mproc_wait(NULL, 1, 0, MPROC_ALL_COMPLETED, NULL),
                   MPROC_EINVAL);
  assert_int_equal(mproc_wait(fs, 2, 0, (mproc_return_when)9, NULL),
                   MPROC_EINVAL);
  assert_int_equal(mproc_wait(fs, 2, NAN, MPROC_ALL_COMPLETED, NULL),
                   MPROC_EINVAL);
  {
    mproc_future *withnull[2] = {fs[0], NULL};
    assert_int_equal(mproc_wait(withnull, 2, 0, MPROC_ALL_COMPLETED, NULL),
                     MPROC_EINVAL);
    assert_non_null(strstr(mproc_last_error(), "future 1 of 2"));
  }
  assert_int_equal(mproc_wait(NULL, 0, 0, MPROC_ALL_COMPLETED, NULL), 0);
  mproc_future_free(fs[0]);
  mproc_future_free(fs[1]);
  mproc_future_free(fs[2]);
  mproc_executor_free(ex);
  tf_gate_destroy(&g);
}

/* A cancel wakes a waiter at once; FIRST_EXCEPTION does not count a
 * cancelled future as an exception. */
static void test_wait_cancelled(void **state) {
  mproc_executor *ex = tf_executor(1);
  tf_gate g;
  mproc_future *fs[2];
  unsigned char done[2];
  (void)state;
  tf_gate_init(&g);
  fs[0] = tf_submit_gate(ex, &g);
  tf_gate_wait_entered(&g, 1);
  fs[1] = tf_submit_int(ex, tf_square, 2);
  assert_int_equal(mproc_future_cancel(fs[1]), 1);
  assert_int_equal(mproc_wait(fs, 2, 0.05, MPROC_FIRST_EXCEPTION, done), 1);
  assert_int_equal(done[1], 1);
  assert_int_equal(mproc_wait(fs, 2, MPROC_FOREVER, MPROC_FIRST_COMPLETED,
                              done), 1);
  tf_gate_open(&g);
  assert_int_equal(mproc_wait(fs, 2, MPROC_FOREVER, MPROC_ALL_COMPLETED, done),
                   2);
  mproc_future_free(fs[0]);
  mproc_future_free(fs[1]);
  mproc_executor_free(ex);
  tf_gate_destroy(&g);
}

/* ---- as_completed (test_as_completed.py) ----------------------------------- */

static void test_as_completed(void **state) {
  mproc_executor *ex = tf_executor(2);
  tf_gate g;
  mproc_future *fs[5], *got;
  mproc_as_completed *it;
  int i;
  (void)state;
  tf_gate_init(&g);
  fs[0] = tf_submit_gate(ex, &g);
  fs[1] = tf_submit_int(ex, tf_square, 3);
  assert_int_equal(tf_result_int(fs[1]), 9);
  fs[2] = fs[1]; /* duplicates are yielded once */
  fs[3] = fs[0];
  fs[4] = fs[1];
  assert_int_equal(mproc_as_completed_new(&it, fs, 5, MPROC_FOREVER), 0);
  assert_int_equal(mproc_as_completed_next(it, &got), 0);
  assert_ptr_equal(got, fs[1]);
  tf_gate_open(&g);
  assert_int_equal(mproc_as_completed_next(it, &got), 0);
  assert_ptr_equal(got, fs[0]);
  assert_int_equal(mproc_as_completed_next(it, &got), MPROC_EEOF);
  assert_int_equal(mproc_as_completed_next(it, &got), MPROC_EEOF);
  mproc_as_completed_free(it);
  /* Empty, and bad input. */
  assert_int_equal(mproc_as_completed_new(&it, NULL, 0, 0), 0);
  assert_int_equal(mproc_as_completed_next(it, &got), MPROC_EEOF);
  mproc_as_completed_free(it);
  assert_int_equal(mproc_as_completed_new(NULL, fs, 1, 0), MPROC_EINVAL);
  assert_int_equal(mproc_as_completed_new(&it, fs, 1, NAN), MPROC_EINVAL);
  assert_int_equal(mproc_as_completed_next(NULL, &got), MPROC_EINVAL);
  mproc_as_completed_free(NULL);
  for (i = 0; i < 2; i++) mproc_future_free(fs[i]);
  mproc_executor_free(ex);
  tf_gate_destroy(&g);
}

static void test_as_completed_timeout(void **state) {
  mproc_executor *ex = tf_executor(2);
  tf_gate g;
  mproc_future *fs[2], *got;
  mproc_as_completed *it;
  (void)state;
  tf_gate_init(&g);
  fs[0] = tf_submit_gate(ex, &g);
  fs[1] = tf_submit_int(ex, tf_square, 3);
  assert_int_equal(tf_result_int(fs[1]), 9);
  assert_int_equal(mproc_as_completed_new(&it, fs, 2, 0.1), 0);
  assert_int_equal(mproc_as_completed_next(it, &got), 0);
  assert_ptr_equal(got, fs[1]);
  assert_int_equal(mproc_as_completed_next(it, &got), MPROC_ETIMEDOUT);
  assert_string_equal(mproc_last_error(),
                      "as_completed: 1 (of 2) futures unfinished");
  mproc_as_completed_free(it); /* while fs[0] still runs: it unregisters */
  /* test_zero_timeout: the done one first, then the timeout at once. */
  assert_int_equal(mproc_as_completed_new(&it, fs, 2, 0), 0);
  assert_int_equal(mproc_as_completed_next(it, &got), 0);
  assert_ptr_equal(got, fs[1]);
  assert_int_equal(mproc_as_completed_next(it, &got), MPROC_ETIMEDOUT);
  mproc_as_completed_free(it);
  tf_gate_open(&g);
  assert_int_equal(mproc_future_result(fs[0], MPROC_FOREVER, NULL, NULL), 0);
  mproc_future_free(fs[0]);
  mproc_future_free(fs[1]);
  mproc_executor_free(ex);
  tf_gate_destroy(&g);
}

/* Many futures, completing while the iterator is made and read. */
static void test_as_completed_many(void **state) {
  enum { N = 2000 };
  mproc_executor *ex = tf_executor(4);
  static mproc_future *fs[N];
  static unsigned char seen[N];
  mproc_as_completed *it;
  mproc_future *got;
  int i, count = 0;
  (void)state;
  memset(seen, 0, sizeof seen);
  for (i = 0; i < N; i++) fs[i] = tf_submit_int(ex, tf_square, i);
  assert_int_equal(mproc_as_completed_new(&it, fs, N, 60), 0);
  while (mproc_as_completed_next(it, &got) == 0) {
    i = (int)mproc_future_item(got);
    assert_true(i >= 0 && i < N);
    assert_int_equal(seen[i], 0);
    seen[i] = 1;
    count++;
  }
  assert_int_equal(count, N);
  mproc_as_completed_free(it);
  for (i = 0; i < N; i++) mproc_future_free(fs[i]);
  mproc_executor_free(ex);
}

/* NULLs everywhere: a code, never a crash. */
static void test_future_null(void **state) {
  (void)state;
  assert_int_equal(mproc_future_cancel(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_future_cancelled(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_future_running(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_future_done(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_future_state_of(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_future_result(NULL, 0, NULL, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_future_exception(NULL, 0, NULL, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_future_take(NULL, 0, NULL, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_future_item(NULL), 0);
  assert_int_equal(mproc_future_task(NULL), 0);
  mproc_future_free(NULL);
  mproc_free(NULL);
  assert_int_equal(mproc_buf_write(NULL, "x", 1), MPROC_EINVAL);
  assert_null(mproc_buf_reserve(NULL, 1));
  assert_int_equal(mproc_buf_len(NULL), 0);
  assert_null(mproc_task_context(NULL));
  assert_int_equal(mproc_task_fail(NULL, 0, "x"), -1);
  assert_string_equal(mproc_err_name(MPROC_ETASK), "MPROC_ETASK");
  assert_string_equal(mproc_err_name(MPROC_ECANCELLED), "MPROC_ECANCELLED");
}

/* The executor half (test_futures_exec.c). */
extern const struct CMUnitTest tf_exec_tests[];
extern const size_t tf_exec_count;

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_future_null),
      cmocka_unit_test(test_states_and_cancel),
      cmocka_unit_test(test_result_exception),
      cmocka_unit_test(test_result_many_waiters),
      cmocka_unit_test(test_result_with_cancel),
      cmocka_unit_test(test_done_callbacks),
      cmocka_unit_test(test_callback_reads_result),
      cmocka_unit_test(test_wait_modes),
      cmocka_unit_test(test_wait_cancelled),
      cmocka_unit_test(test_as_completed),
      cmocka_unit_test(test_as_completed_timeout),
      cmocka_unit_test(test_as_completed_many),
  };
  int failed = 0;
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  failed += cmocka_run_group_tests_name("futures", tests, NULL, NULL);
  failed += _cmocka_run_group_tests("executor", tf_exec_tests, tf_exec_count,
                                    NULL, NULL);
  return failed ? 1 : 0;
}
