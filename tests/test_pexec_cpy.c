/* mproc tests: CPython's ProcessPoolExecutor and Pool scenarios for the
 * process kind, under every start method (test_pexec's groups): wait and
 * as_completed on process futures (test_wait.py, test_as_completed.py);
 * a worker that dies once a waiting shutdown has begun
 * (test_deadlock.test_shutdown_deadlock); a task that calls exit(n)
 * (test_traceback_when_child_process_terminates_abruptly); recycling by
 * task count with more than one worker, with shutdown(wait=False) and
 * with a failing task (gh-115634, gh-119592, gh-132969); terminate while
 * workers exit at their limit (test_force_shutdown_during_max_tasks_
 * worker_exit); a Pool map whose failure carries a 1 MiB message while
 * another item still runs (_TestPool.test_map_no_failfast); the map's
 * timeout; workers that cannot start; a map of 1 MiB items whose tasks
 * all crash (test_crash_big_data). Each ends in bounded time with the
 * outcome Python's gives or, where Python hangs or breaks the whole
 * executor, with the task's own failure. */
#include <setjmp.h>
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

/* ---- tasks -------------------------------------------------------------- */

/* A task's int input (0 if it is not one int). */
static int int_in(const void *in, size_t len) {
  int v = 0;
  if (len == sizeof v) memcpy(&v, in, sizeof v);
  return v;
}

/* Fails with code 7. */
static int cpy_fail(const void *in, size_t len, mproc_buf *out) {
  (void)in, (void)len;
  return mproc_task_fail(out, 7, "cpy_fail failed on purpose");
}
MPROC_TASK(cpy_fail);

/* Input: an int n; the worker process calls exit(n) mid-task. */
static int cpy_exit(const void *in, size_t len, mproc_buf *out) {
  (void)out;
  exit(int_in(in, len));
}
MPROC_TASK(cpy_exit);

/* Input: an int ms; sleeps that long, then the worker kills itself. */
static int cpy_die_later(const void *in, size_t len, mproc_buf *out) {
  (void)out;
  tu_sleep_ms(int_in(in, len));
  tu_kill_pid(mproc_current_pid());
  return 9;
}
MPROC_TASK(cpy_die_later);

/* Input: an int ms; sleeps that long, returns it. */
static int cpy_nap(const void *in, size_t len, mproc_buf *out) {
  int ms = int_in(in, len);
  tu_sleep_ms(ms);
  return mproc_buf_write(out, &ms, sizeof ms);
}
MPROC_TASK(cpy_nap);

/* Input: an int ms; sleeps that long, returns the worker's pid. */
static int cpy_nap_pid(const void *in, size_t len, mproc_buf *out) {
  long pid = mproc_current_pid();
  tu_sleep_ms(int_in(in, len));
  return mproc_buf_write(out, &pid, sizeof pid);
}
MPROC_TASK(cpy_nap_pid);

/* Map item i (an int): 0 fails with a 1 MiB message, 1 naps 300 ms,
 * others square. */
static int cpy_no_failfast(const void *in, size_t len, mproc_buf *out) {
  int i = int_in(in, len), r;
  if (i == 0) return pp_fail_mib(out, 5, 'm');
  if (i == 1) tu_sleep_ms(300);
  r = i * i;
  return mproc_buf_write(out, &r, sizeof r);
}
MPROC_TASK(cpy_no_failfast);

/* ---- wait and as_completed -------------------------------------------- */

/* Until the two workers of ex run tasks at once (both have started: a
 * task is not dealt to a worker still starting, and one dealt to a busy
 * worker waits behind its task). */
static void both_started(mproc_executor *ex) {
  double end = px_now() + 120;
  int ms = 50;
  while (px_now() < end) {
    mproc_future *f = pp_submit(ex, cpy_nap_pid, &ms, sizeof ms);
    mproc_future *g = pp_submit(ex, cpy_nap_pid, &ms, sizeof ms);
    long a = pp_long(f), b = pp_long(g);
    mproc_future_free(f);
    mproc_future_free(g);
    if (a != b) return;
  }
  fail_msg("the second worker never ran a task");
}

/* A held task p blocks one of two started workers; each other task is
 * submitted once the last is done, so it goes to the free worker. */
void test_cpy_wait_and_as_completed(void **state) {
  mproc_executor *ex = pp_new(2, NULL);
  mproc_queue *q, *w;
  mproc_future *p, *a, *c, *fs[4], *got;
  mproc_as_completed *it;
  unsigned char done[4];
  char in[256];
  int three = 3, seen_a = 0, seen_c = 0, i;
  (void)state;
  both_started(ex);
  park_queues(&q, &w, in, sizeof in);
  p = pp_submit(ex, pp_park, in, strlen(in));
  assert_true(park_pid(q) > 0);
  a = pp_submit(ex, pp_square, &three, sizeof three);
  fs[0] = p, fs[1] = a; /* FIRST_COMPLETED: a, not the held p */
  assert_int_equal(mproc_wait(fs, 2, 120, MPROC_FIRST_COMPLETED, done), 1);
  assert_int_equal(done[0], 0);
  assert_int_equal(done[1], 1);
  assert_int_equal(pp_int(a), 9);
  c = pp_submit(ex, cpy_fail, NULL, 0);
  fs[1] = c; /* FIRST_EXCEPTION: the failed c */
  assert_int_equal(mproc_wait(fs, 2, 120, MPROC_FIRST_EXCEPTION, done), 1);
  assert_int_equal(done[0], 0);
  assert_int_equal(done[1], 1);
  /* ALL_COMPLETED with a short timeout: not an error, p not done. */
  assert_int_equal(mproc_wait(&p, 1, 0.2, MPROC_ALL_COMPLETED, done), 0);
  assert_int_equal(done[0], 0);
  assert_true(mproc_future_running(p));
  /* as_completed: a and c (a twice: given once), then the timeout. */
  fs[0] = a, fs[1] = p, fs[2] = c, fs[3] = a;
  assert_int_equal(mproc_as_completed_new(&it, fs, 4, 0.3), 0);
  for (i = 0; i < 2; i++) {
    assert_int_equal(mproc_as_completed_next(it, &got), 0);
    seen_a += got == a;
    seen_c += got == c;
  }
  assert_int_equal(seen_a + seen_c * 2, 3); /* each once */
  assert_int_equal(mproc_as_completed_next(it, &got), MPROC_ETIMEDOUT);
  mproc_as_completed_free(it);
  /* Released, p completes (pp_park returns 3: a task failure). */
  assert_int_equal(mproc_as_completed_new(&it, fs, 4, 120), 0);
  assert_int_equal(mproc_queue_put(w, "go", 2, 120.0), 0);
  for (i = 0; i < 3; i++)
    assert_int_equal(mproc_as_completed_next(it, &got), 0);
  assert_int_equal(mproc_as_completed_next(it, &got), MPROC_EEOF);
  mproc_as_completed_free(it);
  assert_int_equal(mproc_wait(fs, 4, 120, MPROC_ALL_COMPLETED, done), 4);
  assert_int_equal(mproc_future_result(p, 0, NULL, NULL), MPROC_ETASK);
  mproc_future_free(p);
  mproc_future_free(a);
  mproc_future_free(c);
  mproc_executor_free(ex);
  mproc_queue_free(q);
  mproc_queue_free(w);
}

/* ---- deaths ------------------------------------------------------------- */

/* test_shutdown_deadlock: the worker dies 200 ms into its task, after a
 * waiting shutdown has begun; the shutdown returns and the task fails. */
void test_cpy_shutdown_then_death(void **state) {
  mproc_executor *ex = pp_new(1, NULL);
  mproc_future *f, *g;
  int ms = 200, two = 2;
  (void)state;
  f = pp_submit(ex, cpy_die_later, &ms, sizeof ms);
  g = pp_submit(ex, pp_square, &two, sizeof two); /* queued behind it */
  assert_int_equal(mproc_executor_shutdown(ex, MPROC_SHUTDOWN_WAIT), 0);
  assert_int_equal(mproc_future_result(f, 0, NULL, NULL), MPROC_EWORKERDIED);
  /* The task behind it ran on a replacement (Python's pool breaks). */
  assert_int_equal(pp_int(g), 4);
  mproc_future_free(f);
  mproc_future_free(g);
  mproc_executor_free(ex);
}

/* A task that calls exit(n): its future fails with MPROC_EWORKERDIED and
 * the exit code in its message, exit(0) too; the pool goes on. */
void test_cpy_task_calls_exit(void **state) {
  static const int codes[] = {99, 0};
  mproc_executor *ex = pp_new(2, NULL);
  char want[32];
  const char *msg;
  size_t k;
  int two = 2;
  (void)state;
  for (k = 0; k < 2; k++) {
    mproc_future *f = pp_submit(ex, cpy_exit, &codes[k], sizeof codes[k]);
    assert_int_equal(mproc_future_result(f, 120, NULL, NULL),
                     MPROC_EWORKERDIED);
    assert_int_equal(mproc_future_exception(f, 0, NULL, &msg),
                     MPROC_EWORKERDIED);
    snprintf(want, sizeof want, "exit code %d", codes[k]);
    if (strstr(msg, want) == NULL)
      fail_msg("exit(%d): the message says \"%s\"", codes[k], msg);
    mproc_future_free(f);
    f = pp_submit(ex, pp_square, &two, sizeof two);
    assert_int_equal(pp_int(f), 4);
    mproc_future_free(f);
  }
  mproc_executor_free(ex);
}

/* ---- recycling by task count -------------------------------------------- */

static mproc_executor *limited(int workers, int max_tasks) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  o.max_tasks_per_child = max_tasks;
  return pp_new(workers, &o);
}

/* gh-115634 (2 workers, 2 tasks each, 8 tasks) and test_max_tasks_early_
 * shutdown (3 workers, 1 task each, 6 tasks, a waiting shutdown at once):
 * every task runs, none hangs on the accounting of replacements. */
void test_cpy_max_tasks_pending(void **state) {
  static const int shape[2][3] = {{2, 2, 8}, {3, 1, 6}};
  mproc_future *fs[8];
  int s, i;
  (void)state;
  for (s = 0; s < 2; s++) {
    mproc_executor *ex = limited(shape[s][0], shape[s][1]);
    for (i = 0; i < shape[s][2]; i++)
      fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
    if (s == 1)
      assert_int_equal(mproc_executor_shutdown(ex, MPROC_SHUTDOWN_WAIT), 0);
    for (i = 0; i < shape[s][2]; i++) {
      assert_int_equal(pp_int(fs[i]), i * i);
      mproc_future_free(fs[i]);
    }
    mproc_executor_free(ex);
  }
}

/* gh-119592 and gh-132969: one task each per worker, a task that fails
 * among them, shutdown(wait=False) at once: the others still run, the
 * failure is the task's own, nothing hangs. */
void test_cpy_max_tasks_shutdown_nowait(void **state) {
  enum { N = 8 };
  mproc_executor *ex = limited(2, 1);
  mproc_future *fs[N];
  int i, code = 0;
  (void)state;
  for (i = 0; i < N; i++)
    fs[i] = i == 3 ? pp_submit(ex, cpy_fail, NULL, 0)
                   : pp_submit(ex, pp_square, &i, sizeof i);
  assert_int_equal(mproc_executor_shutdown(ex, 0), 0);
  for (i = 0; i < N; i++) {
    if (i == 3) {
      assert_int_equal(mproc_future_result(fs[i], 120, NULL, NULL),
                       MPROC_ETASK);
      assert_int_equal(mproc_future_exception(fs[i], 0, &code, NULL),
                       MPROC_ETASK);
      assert_int_equal(code, 7);
    } else {
      assert_int_equal(pp_int(fs[i]), i * i);
    }
    mproc_future_free(fs[i]);
  }
  mproc_executor_free(ex); /* waits for the workers */
}

/* test_force_shutdown_during_max_tasks_worker_exit: workers exit after
 * each task while terminate_workers runs; it returns, every future ends
 * (a result, or cancelled / broken / died), no replacement outlives it
 * (the teardown checks no child is left). */
void test_cpy_terminate_at_limit(void **state) {
  enum { N = 20 };
  mproc_stop_how how;
  (void)state;
  for (how = MPROC_STOP_TERMINATE; how <= MPROC_STOP_KILL; how++) {
    mproc_executor *ex = limited(2, 1);
    mproc_future *fs[N];
    int i, ms = 20, ok = 0;
    for (i = 0; i < N; i++) fs[i] = pp_submit(ex, cpy_nap, &ms, sizeof ms);
    assert_int_equal(pp_int(fs[0]), ms); /* a worker has exited once */
    assert_int_equal(mproc_executor_terminate_workers(ex, how), 0);
    for (i = 0; i < N; i++) {
      int rc = mproc_future_result(fs[i], 120, NULL, NULL);
      if (rc == 0) ok++;
      else if (rc != MPROC_ECANCELLED && rc != MPROC_EBROKEN &&
               rc != MPROC_EWORKERDIED)
        fail_msg("task %d after terminate_workers: %s", i, mproc_err_name(rc));
      mproc_future_free(fs[i]);
    }
    assert_true(ok >= 1);
    mproc_executor_free(ex);
  }
}

/* executor.py's test_map_timeout for the process kind: the map's timeout
 * passes while item 0 runs; next gives MPROC_ETIMEDOUT, then MPROC_EEOF
 * (Python's iterator raising TimeoutError, the rest cancelled); freeing
 * the map and the executor ends once the running task has. */
void test_cpy_map_timeout(void **state) {
  mproc_executor *ex = pp_new(1, NULL);
  mproc_map_opts o = MPROC_MAP_OPTS_INIT;
  int items[3] = {1500, 0, 0}, two = 2;
  mproc_map *m = NULL;
  mproc_future *f;
  const void *d;
  size_t n;
  double t0;
  (void)state;
  o.timeout = 0.3;
  t0 = px_now();
  assert_int_equal(mproc_executor_map(ex, cpy_nap, items, 3, sizeof items[0],
                                      &o, &m), 0);
  assert_int_equal(mproc_map_next(m, &d, &n), MPROC_ETIMEDOUT);
  assert_true(px_now() - t0 >= 0.29);
  assert_int_equal(mproc_map_next(m, &d, &n), MPROC_EEOF);
  mproc_map_free(m);
  f = pp_submit(ex, pp_square, &two, sizeof two); /* the executor goes on */
  assert_int_equal(pp_int(f), 4);
  mproc_future_free(f);
  mproc_executor_free(ex);
}

/* An initializer that ends its process instead of returning a code. */
static int cpy_init_exit(const void *args, size_t len) {
  (void)args, (void)len;
  _Exit(3); /* os._exit: no exit duties, no leak report */
}
MPROC_TASK(cpy_init_exit);

/* test_deadlock's exit-at-start family and test_failed_worker_
 * replacement_breaks_pool: every worker ends in its initializer, so no
 * replacement can run a task; the executor breaks (Python's
 * BrokenProcessPool) instead of restarting workers for ever, within
 * bounded time, and says why. */
void test_cpy_workers_cannot_start(void **state) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex;
  mproc_future *f, *g;
  const char *msg = NULL;
  int two = 2;
  (void)state;
  o.initializer = cpy_init_exit;
  ex = pp_new(2, &o);
  f = pp_submit(ex, pp_square, &two, sizeof two);
  assert_int_equal(mproc_future_result(f, 120, NULL, NULL), MPROC_EBROKEN);
  assert_int_equal(mproc_future_exception(f, 0, NULL, &msg), MPROC_EBROKEN);
  assert_non_null(msg);
  assert_non_null(strstr(msg, "keep ending before they run a task"));
  assert_int_equal(mproc_executor_submit(ex, pp_square, &two, sizeof two,
                                         &g), MPROC_EBROKEN);
  mproc_future_free(f);
  mproc_executor_free(ex);
}

/* test_deadlock.test_crash_big_data: every task of an imap crashes its
 * worker while the next 1 MiB items are being written to it; each item
 * fails with MPROC_EWORKERDIED in its turn, the workers are replaced,
 * nothing hangs, and the pool still runs a task afterwards. */
static int cpy_crash_big(const void *in, size_t len, mproc_buf *out) {
  (void)in, (void)len, (void)out;
  tu_kill_pid(mproc_current_pid());
  return 9;
}
MPROC_TASK(cpy_crash_big);

void test_cpy_crash_big_data(void **state) {
  enum { N = 6 };
  const size_t big = (size_t)1 << 20;
  mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
  mproc_pool_call_opts co = MPROC_POOL_CALL_OPTS_INIT;
  mproc_pool *pool = NULL;
  mproc_imap *it = NULL;
  unsigned char *items = calloc(N, big);
  const void *d;
  size_t n, item;
  int i, two = 2, r;
  mproc_async *a;
  (void)state;
  assert_non_null(items);
  o.processes = 2;
  o.method = g_method;
  assert_int_equal(mproc_pool_new(&pool, &o), 0);
  assert_int_equal(mproc_pool_imap(pool, cpy_crash_big, items, N, big, &co,
                                   &it), 0);
  for (i = 0; i < N; i++) {
    assert_int_equal(mproc_imap_next(it, 120, &d, &n, &item),
                     MPROC_EWORKERDIED);
    assert_int_equal(item, (size_t)i);
  }
  assert_int_equal(mproc_imap_next(it, 0, &d, &n, &item), MPROC_EEOF);
  mproc_imap_free(it);
  assert_int_equal(mproc_pool_apply_async(pool, pp_square, &two, sizeof two,
                                          NULL, &a), 0);
  assert_int_equal(mproc_async_get(a, 120, &d, &n), 0);
  assert_int_equal(n, sizeof r);
  memcpy(&r, d, sizeof r);
  assert_int_equal(r, 4);
  mproc_async_free(a);
  mproc_pool_close(pool);
  assert_int_equal(mproc_pool_join(pool), 0);
  mproc_pool_free(pool);
  free(items);
}

/* ---- Pool ---------------------------------------------------------------- */

/* _TestPool.test_map_no_failfast: item 0 fails with a 1 MiB message while
 * item 1 still runs; the map reports item 0's failure, then close and
 * join end. */
void test_cpy_pool_map_no_failfast(void **state) {
  mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
  mproc_pool_call_opts co = MPROC_POOL_CALL_OPTS_INIT;
  mproc_pool *pool = NULL;
  int items[4] = {0, 1, 2, 3}, out[4];
  (void)state;
  o.processes = 2;
  o.method = g_method;
  assert_int_equal(mproc_pool_new(&pool, &o), 0);
  co.chunksize = 1;
  assert_int_equal(mproc_pool_map(pool, cpy_no_failfast, items, 4,
                                  sizeof items[0], out, sizeof out[0], &co),
                   MPROC_ETASK);
  assert_non_null(strstr(mproc_last_error(), "mmmm"));
  assert_int_equal(mproc_pool_close(pool), 0);
  assert_int_equal(mproc_pool_join(pool), 0);
  mproc_pool_free(pool);
}
