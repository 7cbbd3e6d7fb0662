/* mproc tests: the process kind of executor (ProcessPoolExecutor), under
 * every start method: results and map, a failing task, a worker killed
 * (SIGKILL) or aborting mid-task fails only that task (also just after
 * it committed results: none is lost), the broken option,
 * max_tasks_per_child, shutdown with work queued (waiting, cancelling),
 * initializers (and their failure: broken), a 16 MiB result,
 * terminate_workers (TERMINATE and KILL) and the completion handle.
 * Readiness is signalled through a Queue, never slept for. */
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
#include "util.h"

static int pp_fail(const void *in, size_t len, mproc_buf *out) {
  int x = 0;
  if (len == sizeof x) memcpy(&x, in, sizeof x);
  return mproc_task_fail(out, 7, "bad %d", x);
}
MPROC_TASK(pp_fail);

static int pp_abort(const void *in, size_t len, mproc_buf *out) {
  (void)in, (void)len, (void)out;
  abort();
}
MPROC_TASK(pp_abort);

static int pp_big(const void *in, size_t len, mproc_buf *out) {
  size_t n = (size_t)16 << 20, i;
  unsigned char *p = mproc_buf_reserve(out, n);
  (void)in, (void)len;
  if (p == NULL) return -1;
  for (i = 0; i < n; i++) p[i] = (unsigned char)(i * 7 + 3);
  return 0;
}
MPROC_TASK(pp_big);

static int g_init_value;
static int pp_init(const void *args, size_t len) {
  if (len != sizeof g_init_value) return 1;
  memcpy(&g_init_value, args, len);
  return g_init_value < 0 ? 5 : 0;
}
MPROC_TASK(pp_init);

static int pp_get_init(const void *in, size_t len, mproc_buf *out) {
  (void)in, (void)len;
  return mproc_buf_write(out, &g_init_value, sizeof g_init_value);
}
MPROC_TASK(pp_get_init);

static void test_results_and_map(void **state) {
  mproc_executor *ex = pp_new(2, NULL);
  mproc_future *fs[50];
  mproc_map_opts mo = MPROC_MAP_OPTS_INIT;
  mproc_map *m;
  int i, items[1000];
  const void *d;
  size_t n;
  (void)state;
  assert_int_equal(mproc_executor_max_workers(ex), 2);
  for (i = 0; i < 50; i++) fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
  for (i = 0; i < 50; i++) {
    assert_int_equal(pp_int(fs[i]), i * i);
    mproc_future_free(fs[i]);
  }
  for (i = 0; i < 1000; i++) items[i] = i;
  mo.chunksize = 16;
  assert_int_equal(mproc_executor_map(ex, pp_square, items, 1000,
                                      sizeof(int), &mo, &m), 0);
  for (i = 0; i < 1000; i++) {
    int x;
    assert_int_equal(mproc_map_next(m, &d, &n), 0);
    memcpy(&x, d, sizeof x);
    assert_int_equal(x, i * i);
  }
  assert_int_equal(mproc_map_next(m, &d, &n), MPROC_EEOF);
  mproc_map_free(m);
  mproc_executor_free(ex);
}

static int not_registered(const void *in, size_t len, mproc_buf *out) {
  (void)in, (void)len, (void)out;
  return 0;
}

static void test_task_fails(void **state) {
  mproc_executor *ex = pp_new(2, NULL);
  mproc_future *f;
  const char *msg;
  int code, x = 3;
  (void)state;
  f = pp_submit(ex, pp_fail, &x, sizeof x);
  assert_int_equal(mproc_future_result(f, 120.0, NULL, NULL), MPROC_ETASK);
  assert_int_equal(mproc_future_exception(f, 0, &code, &msg), MPROC_ETASK);
  assert_int_equal(code, 7);
  assert_string_equal(msg, "bad 3");
  mproc_future_free(f);
  assert_int_equal(mproc_executor_submit(ex, not_registered, NULL, 0, &f),
                   MPROC_ENOTREG);
  assert_non_null(strstr(mproc_last_error(), "MPROC_TASK"));
  /* The executor goes on. */
  f = pp_submit(ex, pp_square, &x, sizeof x);
  assert_int_equal(pp_int(f), 9);
  mproc_future_free(f);
  mproc_executor_free(ex);
}

/* Submit 20 squares around a task that dies; all 20 complete. */
static void check_others(mproc_future **fs, int n) {
  int i;
  for (i = 0; i < n; i++) {
    assert_int_equal(pp_int(fs[i]), i * i);
    mproc_future_free(fs[i]);
  }
}

static void test_worker_aborts(void **state) {
  mproc_executor *ex = pp_new(2, NULL);
  mproc_future *fs[20], *bad;
  const char *msg;
  int i, code;
  (void)state;
  for (i = 0; i < 10; i++) fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
  bad = pp_submit(ex, pp_abort, NULL, 0);
  for (i = 10; i < 20; i++) fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
  assert_int_equal(mproc_future_result(bad, 120.0, NULL, NULL),
                   MPROC_EWORKERDIED);
  assert_non_null(strstr(mproc_last_error(), "died"));
  assert_int_equal(mproc_future_exception(bad, 0, &code, &msg),
                   MPROC_EWORKERDIED);
  assert_non_null(strstr(msg, "while running task"));
  mproc_future_free(bad);
  check_others(fs, 20);
  /* The worker was replaced: more work runs. */
  for (i = 0; i < 20; i++) fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
  check_others(fs, 20);
  mproc_executor_free(ex);
}

static void test_worker_killed(void **state) {
  mproc_executor *ex = pp_new(2, NULL);
  mproc_queue *q, *w;
  char in[256];
  mproc_future *fs[20], *parked;
  const char *msg;
  long pid = 0;
  size_t n;
  int i, code;
  (void)state;
  park_queues(&q, &w, in, sizeof in);
  parked = pp_submit(ex, pp_park, in, strlen(in));
  for (i = 0; i < 20; i++) fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
  assert_int_equal(mproc_queue_get(q, &pid, sizeof pid, &n, 120.0), 0);
  assert_int_equal(tu_kill_pid(pid), 0);
  assert_int_equal(mproc_future_result(parked, 120.0, NULL, NULL),
                   MPROC_EWORKERDIED);
  /* The sentence names how the worker ended, in the call's detail and in
   * the future's exception alike. */
  assert_non_null(strstr(mproc_last_error(), "died"));
  assert_non_null(strstr(mproc_last_error(), tu_kill_pid_end()));
  assert_int_equal(mproc_future_exception(parked, 0, &code, &msg),
                   MPROC_EWORKERDIED);
  assert_non_null(strstr(msg, tu_kill_pid_end()));
  mproc_future_free(parked);
  check_others(fs, 20);
  mproc_executor_free(ex);
  mproc_queue_free(q);
  mproc_queue_free(w);
}

/* A worker killed after it ran tasks, both ways its end is resolved:
 * even rounds take the results before the kill (the watcher resolves the
 * end itself: the reader has taken all the worker committed); odd rounds
 * submit them with the task it is killed in, so a result may still be
 * held by the worker or on its way to the reader (the END message behind
 * them resolves it; which one a round gets is a race). Every result
 * before the kill arrives, the running task fails, the tasks behind it
 * run on the replacement. */
static void test_killed_after_results(void **state) {
  mproc_executor *ex = pp_new(1, NULL);
  mproc_queue *q, *w;
  char in[256];
  mproc_future *fs[40], *parked;
  int i, round;
  (void)state;
  park_queues(&q, &w, in, sizeof in);
  for (round = 0; round < 6; round++) {
    for (i = 0; i < 20; i++) fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
    if (round % 2 == 0)
      for (i = 0; i < 20; i++) assert_int_equal(pp_int(fs[i]), i * i);
    parked = pp_submit(ex, pp_park, in, strlen(in));
    for (i = 20; i < 40; i++) fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
    assert_int_equal(tu_kill_pid(park_pid(q)), 0);
    assert_int_equal(mproc_future_result(parked, 120.0, NULL, NULL),
                     MPROC_EWORKERDIED);
    mproc_future_free(parked);
    check_others(fs, 40);
  }
  mproc_executor_free(ex);
  mproc_queue_free(q);
  mproc_queue_free(w);
}

static void test_death_breaks_option(void **state) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex;
  mproc_future *f;
  int x = 2;
  (void)state;
  o.on_worker_death = MPROC_ON_DEATH_BROKEN;
  ex = pp_new(2, &o);
  f = pp_submit(ex, pp_abort, NULL, 0);
  assert_int_equal(mproc_future_result(f, 120.0, NULL, NULL), MPROC_EBROKEN);
  assert_non_null(strstr(mproc_last_error(), "died"));
  mproc_future_free(f);
  assert_int_equal(mproc_executor_submit(ex, pp_square, &x, sizeof x, &f),
                   MPROC_EBROKEN);
  mproc_executor_free(ex);
}

static void test_max_tasks_per_child(void **state) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex;
  mproc_future *fs[6];
  long pids[6];
  int i, j, distinct = 0;
  (void)state;
  o.max_tasks_per_child = 2;
  ex = pp_new(1, &o);
  for (i = 0; i < 6; i++) fs[i] = pp_submit(ex, pp_pid, NULL, 0);
  for (i = 0; i < 6; i++) {
    const void *d;
    size_t n;
    assert_int_equal(mproc_future_result(fs[i], 120.0, &d, &n), 0);
    memcpy(&pids[i], d, sizeof pids[i]);
    mproc_future_free(fs[i]);
  }
  for (i = 0; i < 6; i++) {
    for (j = 0; j < i && pids[j] != pids[i]; j++) {
    }
    if (j == i) distinct++;
  }
  assert_int_equal(distinct, 3);
  for (i = 0; i < 6; i += 2) assert_true(pids[i] == pids[i + 1]);
  mproc_executor_free(ex);
}

static void test_shutdown_with_work_queued(void **state) {
  enum { N = 10000 }; /* past the 4096 a worker may have in flight */
  mproc_executor *ex = pp_new(1, NULL);
  mproc_future **fs = calloc(N, sizeof *fs), *f;
  int i, cancelled = 0, x = 1;
  (void)state;
  assert_non_null(fs);
  for (i = 0; i < N; i++) fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
  /* wait=False returns at once; the queued work still runs. */
  assert_int_equal(mproc_executor_shutdown(ex, 0), 0);
  assert_int_equal(mproc_executor_submit(ex, pp_square, &x, sizeof x, &f),
                   MPROC_ESTATE);
  assert_int_equal(mproc_executor_shutdown(ex, MPROC_SHUTDOWN_WAIT), 0);
  for (i = 0; i < N; i++) {
    assert_int_equal(pp_int(fs[i]), i * i);
    mproc_future_free(fs[i]);
  }
  mproc_executor_free(ex);
  /* cancel_futures: what was not sent is cancelled, the rest finishes. */
  ex = pp_new(1, NULL);
  for (i = 0; i < N; i++) fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
  assert_int_equal(mproc_executor_shutdown(ex, MPROC_SHUTDOWN_WAIT |
                                           MPROC_SHUTDOWN_CANCEL_FUTURES), 0);
  for (i = 0; i < N; i++) {
    assert_true(mproc_future_done(fs[i]));
    if (mproc_future_cancelled(fs[i]))
      cancelled++;
    else
      assert_int_equal(pp_int(fs[i]), i * i);
    mproc_future_free(fs[i]);
  }
  assert_true(cancelled > 0);
  free(fs);
  mproc_executor_free(ex);
}

static void test_initializer(void **state) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex;
  mproc_future *f;
  int v = 42, x = 1, rc;
  (void)state;
  o.initializer = pp_init;
  o.initargs = &v;
  o.initargs_len = sizeof v;
  ex = pp_new(2, &o);
  f = pp_submit(ex, pp_get_init, NULL, 0);
  assert_int_equal(pp_int(f), 42);
  mproc_future_free(f);
  mproc_executor_free(ex);
  /* A failing initializer breaks the executor (Python's BrokenProcessPool). */
  v = -1;
  ex = pp_new(2, &o);
  /* The submit may already see the breakage, or its future reports it. */
  rc = mproc_executor_submit(ex, pp_square, &x, sizeof x, &f);
  if (rc == 0) {
    rc = mproc_future_result(f, 120.0, NULL, NULL);
    mproc_future_free(f);
  }
  assert_int_equal(rc, MPROC_EBROKEN);
  assert_non_null(strstr(mproc_last_error(), "initializer"));
  assert_int_equal(mproc_executor_submit(ex, pp_square, &x, sizeof x, &f),
                   MPROC_EBROKEN);
  mproc_executor_free(ex);
}

static void test_large_result(void **state) {
  mproc_executor *ex = pp_new(2, NULL);
  mproc_future *f;
  const unsigned char *d;
  const void *v;
  size_t n, i;
  (void)state;
  f = pp_submit(ex, pp_big, NULL, 0);
  assert_int_equal(mproc_future_result(f, 120.0, &v, &n), 0);
  d = v;
  assert_int_equal(n, (size_t)16 << 20);
  for (i = 0; i < n; i += 4093)
    assert_int_equal(d[i], (unsigned char)(i * 7 + 3));
  mproc_future_free(f);
  mproc_executor_free(ex);
}

/* Inputs and results that together outgrow both rings many times: the
 * feeder blocks on the task ring while workers block on the result ring,
 * and neither may wait for the other. */
static void test_large_both_ways(void **state) {
  enum { K = 48, SZ = 512 * 1024 };
  mproc_executor *ex = pp_new(2, NULL);
  mproc_future *fs[K];
  unsigned char *in = malloc(SZ);
  int i;
  (void)state;
  assert_non_null(in);
  for (i = 0; i < K; i++) {
    memset(in, i, SZ);
    fs[i] = pp_submit(ex, pp_echo, in, SZ);
  }
  for (i = 0; i < K; i++) {
    const void *v;
    size_t n;
    assert_int_equal(mproc_future_result(fs[i], 120.0, &v, &n), 0);
    assert_int_equal(n, SZ);
    assert_int_equal(((const unsigned char *)v)[SZ - 1], (unsigned char)i);
    mproc_future_free(fs[i]);
  }
  free(in);
  mproc_executor_free(ex);
}

/* terminate_workers with `how`, one worker parked in a task and more
 * queued behind it: the running task fails MPROC_EWORKERDIED, each queued
 * one is cancelled (not sent) or fails MPROC_EBROKEN (sent, not taken) —
 * none ran, the only worker was held — every future is done on return,
 * and the executor is shut down. */
static void terminate_case(mproc_stop_how how) {
  enum { K = 30 };
  mproc_executor *ex = pp_new(1, NULL);
  mproc_queue *q, *w;
  char in[256];
  mproc_future *parked, *later, *fs[K];
  const char *msg;
  long pid;
  size_t n;
  int i, rc, code, x = 1;
  park_queues(&q, &w, in, sizeof in);
  parked = pp_submit(ex, pp_park, in, strlen(in));
  for (i = 0; i < K; i++) fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
  assert_int_equal(mproc_queue_get(q, &pid, sizeof pid, &n, 120.0), 0);
  assert_int_equal(mproc_executor_terminate_workers(ex, how), 0);
  assert_false(tu_pid_alive(pid));
  assert_true(mproc_future_done(parked));
  assert_int_equal(mproc_future_result(parked, 0, NULL, NULL),
                   MPROC_EWORKERDIED);
  assert_int_equal(mproc_future_exception(parked, 0, &code, &msg),
                   MPROC_EWORKERDIED);
  assert_int_equal(code, MPROC_EWORKERDIED);
  /* mproc's own stop is told on every platform (on Windows by its
   * TerminateProcess exit codes): SIGTERM or SIGKILL. */
  assert_non_null(strstr(msg, "died"));
  assert_non_null(strstr(msg, how == MPROC_STOP_KILL ? "killed by signal 9"
                                                     : "killed by signal 15"));
  mproc_future_free(parked);
  for (i = 0; i < K; i++) {
    assert_true(mproc_future_done(fs[i]));
    rc = mproc_future_result(fs[i], 0, NULL, NULL);
    if (!mproc_future_cancelled(fs[i])) assert_int_equal(rc, MPROC_EBROKEN);
    mproc_future_free(fs[i]);
  }
  assert_int_equal(mproc_executor_submit(ex, pp_square, &x, sizeof x, &later),
                   MPROC_ESTATE);
  /* Already shut down: a waiting shutdown has nothing left to wait for. */
  assert_int_equal(mproc_executor_shutdown(ex, MPROC_SHUTDOWN_WAIT), 0);
  mproc_executor_free(ex);
  mproc_queue_free(q);
  mproc_queue_free(w);
}

static void test_terminate_workers(void **state) {
  (void)state;
  terminate_case(MPROC_STOP_KILL);
  terminate_case(MPROC_STOP_TERMINATE);
}

/* A submitted task's result (*arg submits came before the map's). */
static void check_square(mproc_future *f, size_t k, void *arg) {
  if (k < *(const size_t *)arg) assert_int_equal(pp_int(f), (int)(k * k));
}

/* The completion handle of the process kind, as an event loop uses it
 * (test_futures_exec's test_completion_handle for the thread kind): ready
 * once futures complete, each taken once (submits and a map), in any
 * order; not ready when drained; not ready while a held task runs, ready
 * when it ends. Waited for, never polled. (The held task comes last: tasks
 * sent to its worker meanwhile would wait behind it.) */
static void test_completion_handle(void **state) {
  enum { N = 200, M = 50 };
  mproc_executor *ex = pp_new(2, NULL);
  mproc_queue *q, *w;
  char in[256];
  static mproc_future *fs[N];
  static unsigned char seen[N + M];
  const char *why = NULL;
  int items[M], i, code;
  mproc_future *parked, *f;
  mproc_map *m;
  mproc_handle h;
  unsigned char r;
  long pid;
  size_t n, subs = N;
  (void)state;
  assert_int_equal(mproc_executor_next_completed(ex, &f), MPROC_ESTATE);
  h = mproc_executor_completion_handle(ex);
  assert_true(h != MPROC_NO_HANDLE);
  assert_true(mproc_executor_completion_handle(ex) == h);
  assert_int_equal(mproc_executor_next_completed(ex, &f), MPROC_EEMPTY);
  assert_int_equal(mproc_wait_handles(&h, 1, 0, &r), MPROC_ETIMEDOUT);
  for (i = 0; i < N; i++) fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
  for (i = 0; i < M; i++) items[i] = i;
  assert_int_equal(mproc_executor_map(ex, pp_square, items, M, sizeof(int),
                                      NULL, &m), 0);
  if (tu_drain_completions(ex, h, N + M, 120, seen, check_square, &subs,
                           &why) != 0)
    fail_msg("%s", why); /* submits, then the map */
  /* Drained: not ready. */
  assert_int_equal(mproc_wait_handles(&h, 1, 0, &r), MPROC_ETIMEDOUT);
  /* A held task running: still not ready; ready when it ends. */
  park_queues(&q, &w, in, sizeof in);
  parked = pp_submit(ex, pp_park, in, strlen(in));
  assert_int_equal(mproc_queue_get(q, &pid, sizeof pid, &n, 120.0), 0);
  assert_int_equal(mproc_wait_handles(&h, 1, 0, &r), MPROC_ETIMEDOUT);
  assert_false(mproc_future_done(parked));
  assert_int_equal(mproc_queue_put(w, "go", 2, 120.0), 0);
  assert_int_equal(mproc_wait_handles(&h, 1, 120, &r), 1);
  assert_int_equal(mproc_executor_next_completed(ex, &f), 0);
  assert_true(f == parked);
  mproc_future_free(f);
  /* pp_park returns 3 when released: a failed task, code 3. */
  assert_int_equal(mproc_future_exception(parked, 0, &code, NULL),
                   MPROC_ETASK);
  assert_int_equal(code, 3);
  assert_int_equal(mproc_executor_next_completed(ex, &f), MPROC_EEMPTY);
  assert_int_equal(mproc_wait_handles(&h, 1, 0, &r), MPROC_ETIMEDOUT);
  for (i = 0; i < N; i++) mproc_future_free(fs[i]);
  mproc_future_free(parked);
  mproc_map_free(m);
  mproc_executor_free(ex);
  mproc_queue_free(q);
  mproc_queue_free(w);
}

/* A waiter in result() reads the result queue itself while few tasks are
 * in flight (the reader token, executor-process.c). One that gives up
 * hands the queue back without losing a message: result() on a held task
 * times out, then the task is let go and its outcome reaches mproc_wait
 * (which reads nothing itself: the reader thread must take the queue
 * back) or a later result(), and a square after it comes too. */
static void test_waiter_gives_back(void **state) {
  mproc_executor *ex = pp_new(1, NULL);
  mproc_queue *q, *w;
  char in[256];
  mproc_future *parked, *f;
  unsigned char done = 0;
  long pid = 0;
  size_t n;
  int i, code;
  (void)state;
  park_queues(&q, &w, in, sizeof in);
  for (i = 0; i < 10; i++) {
    parked = pp_submit(ex, pp_park, in, strlen(in));
    assert_int_equal(mproc_queue_get(q, &pid, sizeof pid, &n, 120.0), 0);
    assert_int_equal(mproc_future_result(parked, 0.005, NULL, NULL),
                     MPROC_ETIMEDOUT);
    assert_int_equal(mproc_queue_put(w, "go", 2, 120.0), 0);
    if (i % 2 == 0) {
      assert_int_equal(mproc_wait(&parked, 1, 120.0, MPROC_ALL_COMPLETED,
                                  &done), 1);
      assert_int_equal(done, 1);
    }
    /* pp_park returns 3 when released: a failed task, code 3. */
    assert_int_equal(mproc_future_exception(parked, 120.0, &code, NULL),
                     MPROC_ETASK);
    assert_int_equal(code, 3);
    mproc_future_free(parked);
    f = pp_submit(ex, pp_square, &i, sizeof i);
    assert_int_equal(pp_int(f), i * i);
    mproc_future_free(f);
  }
  mproc_executor_free(ex);
  mproc_queue_free(q);
  mproc_queue_free(w);
}

static void test_bad_opts(void **state) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex = NULL;
  (void)state;
  o.max_tasks_per_child = -1;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o),
                   MPROC_EINVAL);
  o.max_tasks_per_child = 0;
  o.on_worker_death = 9;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o),
                   MPROC_EINVAL);
  assert_null(ex);
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, NULL), 0);
  assert_int_equal(mproc_executor_max_workers(ex), mproc_cpu_count());
  mproc_executor_free(ex);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_results_and_map, tp_no_children_left),
      cmocka_unit_test_teardown(test_task_fails, tp_no_children_left),
      cmocka_unit_test_teardown(test_worker_aborts, tp_no_children_left),
      cmocka_unit_test_teardown(test_worker_killed, tp_no_children_left),
      cmocka_unit_test_teardown(test_killed_after_results,
                                tp_no_children_left),
      cmocka_unit_test_teardown(test_death_breaks_option, tp_no_children_left),
      cmocka_unit_test_teardown(test_max_tasks_per_child, tp_no_children_left),
      cmocka_unit_test_teardown(test_shutdown_with_work_queued,
                                tp_no_children_left),
      cmocka_unit_test_teardown(test_initializer, tp_no_children_left),
      cmocka_unit_test_teardown(test_large_result, tp_no_children_left),
      cmocka_unit_test_teardown(test_large_both_ways, tp_no_children_left),
      cmocka_unit_test_teardown(test_terminate_workers, tp_no_children_left),
      cmocka_unit_test_teardown(test_completion_handle, tp_no_children_left),
      cmocka_unit_test_teardown(test_waiter_gives_back, tp_no_children_left),
      cmocka_unit_test_teardown(test_bad_opts, tp_no_children_left),
  };
  tu_set_argv0(argv[0]);
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  return TP_RUN_PER_METHOD("procpool", tests) ? 1 : 0;
}
