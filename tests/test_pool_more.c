/* mproc tests: the Pool's life and its workers' errors — CPython's
 * _TestPool terminate and close/join cases, _TestPoolWorkerErrors (a
 * killed worker: where CPython hangs, only its task fails here, with
 * MPROC_EWORKERDIED) and _TestPoolWorkerLifetime (maxtasksperchild),
 * initializers, the defaults (processes 0, context=) and bad arguments.
 * Run in test_pool.c's groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_pool.h"
#include "util.h"

static int is_failure_of_terminate(int rc) {
  return rc == MPROC_ECANCELLED || rc == MPROC_EBROKEN ||
         rc == MPROC_EWORKERDIED;
}

void test_pool_terminate(void **state) {
  mproc_pool *p = tpool_new(1, NULL);
  mproc_queue *tell, *wait;
  tpool_rec r;
  mproc_async *parked, *later;
  mproc_imap *it;
  int in[100], i, rc, x = 2;
  const void *d;
  size_t n, item;
  (void)state;
  for (i = 0; i < 100; i++) in[i] = i;
  tpool_park_rec(&r, &tell, &wait);
  assert_int_equal(mproc_pool_apply_async(p, tpool_rec_task, &r, sizeof r,
                                          NULL, &parked), 0);
  (void)tpool_parked_pid(tell);
  /* The only worker is held: all of this waits. */
  assert_int_equal(mproc_pool_map_async(p, tpool_square, in, 100,
                                        sizeof in[0], NULL, sizeof(int), NULL,
                                        &later), 0);
  assert_int_equal(mproc_pool_imap(p, tpool_square, in, 10, sizeof in[0],
                                   NULL, &it), 0);
  assert_int_equal(mproc_pool_terminate(p), 0);
  /* terminate fails what is pending, at once: nothing hangs. */
  assert_int_equal(mproc_async_wait(parked, 0), 0);
  assert_int_equal(mproc_async_get(parked, 0, NULL, NULL), MPROC_EWORKERDIED);
  assert_int_equal(mproc_async_wait(later, 0), 0);
  assert_true(is_failure_of_terminate(mproc_async_get(later, 0, NULL, NULL)));
  for (i = 0; i < 10; i++) {
    rc = mproc_imap_next(it, 0, &d, &n, &item);
    assert_true(is_failure_of_terminate(rc));
    assert_int_equal(item, (size_t)i);
  }
  assert_int_equal(mproc_imap_next(it, 0, &d, &n, &item), MPROC_EEOF);
  mproc_imap_free(it);
  mproc_async_free(parked);
  mproc_async_free(later);
  assert_int_equal(mproc_pool_apply(p, tpool_square, &x, sizeof x, NULL,
                                    NULL), MPROC_ESTATE);
  assert_non_null(strstr(mproc_last_error(), "terminated"));
  assert_int_equal(mproc_pool_join(p), 0); /* after terminate: allowed */
  assert_int_equal(mproc_pool_terminate(p), 0); /* again: allowed */
  mproc_pool_free(p);
  tpool_unpark(tell, wait, 0);
}

void test_pool_close_join_order(void **state) {
  mproc_pool *p = tpool_new(2, NULL);
  mproc_async *ars[20];
  mproc_imap *it;
  int i, x = 3, out[1];
  const void *d;
  size_t n;
  (void)state;
  assert_int_equal(mproc_pool_join(p), MPROC_ESTATE); /* before close */
  assert_non_null(strstr(mproc_last_error(), "close"));
  for (i = 0; i < 20; i++)
    assert_int_equal(mproc_pool_apply_async(p, tpool_square, &i, sizeof i,
                                            NULL, &ars[i]), 0);
  assert_int_equal(mproc_pool_close(p), 0);
  assert_int_equal(mproc_pool_apply(p, tpool_square, &x, sizeof x, NULL,
                                    NULL), MPROC_ESTATE);
  assert_int_equal(mproc_pool_map(p, tpool_square, &x, 1, sizeof x, out,
                                  sizeof out[0], NULL), MPROC_ESTATE);
  assert_int_equal(mproc_pool_imap(p, tpool_square, &x, 1, sizeof x, NULL,
                                   &it), MPROC_ESTATE);
  assert_null(it);
  assert_int_equal(mproc_pool_join(p), 0);
  /* After close + join every result is ready (the queued work ran). */
  for (i = 0; i < 20; i++) {
    assert_int_equal(mproc_async_ready(ars[i]), 1);
    assert_int_equal(mproc_async_get(ars[i], 0, &d, &n), 0);
    assert_int_equal(*(const int *)d, i * i);
    mproc_async_free(ars[i]);
  }
  assert_int_equal(mproc_pool_join(p), 0);  /* again */
  assert_int_equal(mproc_pool_close(p), 0); /* again */
  mproc_pool_free(p);
}

/* A worker killed in the middle of a map: its item fails with
 * MPROC_EWORKERDIED, every other item succeeds, and the pool goes on
 * (CPython's Pool waits for ever here). */
void test_pool_worker_killed(void **state) {
  enum { N = 20, BAD = 5 };
  mproc_pool *p = tpool_new(2, NULL);
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  mproc_queue *tell, *wait;
  tpool_rec recs[N];
  mproc_imap *it;
  int i, rc, code, in[10], out[10];
  const char *msg;
  const void *d;
  size_t n, item;
  (void)state;
  tpool_park_rec(&recs[BAD], &tell, &wait);
  for (i = 0; i < N; i++)
    if (i != BAD) {
      memset(&recs[i], 0, sizeof recs[i]);
      recs[i].x = i;
    }
  o.chunksize = 1;
  assert_int_equal(mproc_pool_imap(p, tpool_rec_task, recs, N, sizeof recs[0],
                                   &o, &it), 0);
  assert_int_equal(tu_kill_pid(tpool_parked_pid(tell)), 0);
  for (i = 0; i < N; i++) {
    rc = mproc_imap_next(it, 120.0, &d, &n, &item);
    assert_int_equal(item, (size_t)i);
    if (i == BAD) {
      assert_int_equal(rc, MPROC_EWORKERDIED);
      assert_non_null(strstr(mproc_last_error(), "died"));
      assert_non_null(strstr(mproc_last_error(), tu_kill_pid_end()));
      assert_int_equal(mproc_imap_error(it, &code, &msg), 0);
      assert_int_equal(code, MPROC_EWORKERDIED);
      assert_non_null(strstr(msg, tu_kill_pid_end()));
    } else {
      assert_int_equal(rc, 0);
      assert_int_equal(*(const int *)d, i);
    }
  }
  mproc_imap_free(it);
  tpool_unpark(tell, wait, 0);
  for (i = 0; i < 10; i++) in[i] = i;
  assert_int_equal(mproc_pool_map(p, tpool_square, in, 10, sizeof in[0], out,
                                  sizeof out[0], NULL), 0);
  for (i = 0; i < 10; i++) assert_int_equal(out[i], i * i);
  mproc_pool_free(p);
}

/* A record of test_pool_killed_runs_once: the task counts its run in
 * the shared array `runs` (item `item`), then runs `r` as
 * tpool_rec_task. */
typedef struct tpool_counted {
  int item, pad;
  char runs[64];
  tpool_rec r;
} tpool_counted;

int tpool_counted_task(const void *in, size_t len, mproc_buf *out) {
  tpool_counted c;
  mproc_array *a = NULL;
  if (len != sizeof c) return mproc_task_fail(out, 9, "want a record");
  memcpy(&c, in, sizeof c);
  /* Opened and freed per run: a killed worker keeps no hold on it. */
  if (mproc_array_open(&a, c.runs) < 0)
    return mproc_task_fail(out, 2, "open: %s", mproc_last_error());
  ((int *)mproc_array_ptr(a))[c.item]++; /* one process per item at once */
  mproc_array_free(a);
  return tpool_rec_task(&c.r, sizeof c.r, out);
}
MPROC_TASK(tpool_counted_task);

/* Retries off, a task runs at most once: a worker killed in the middle
 * of a map fails only the task it was running (which ran once), the
 * tasks it had finished deliver their results (held by the worker, not
 * run again), and the ones it never began run on its replacement. One
 * worker: its first batch holds the tasks before BAD. */
void test_pool_killed_runs_once(void **state) {
  enum { N = 40, BAD = 5 };
  mproc_pool *p = tpool_new(1, NULL);
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  mproc_queue *tell, *wait;
  mproc_array *runs;
  tpool_counted recs[N];
  mproc_imap *it;
  const int *count;
  int i, rc;
  const void *d;
  size_t n, item;
  (void)state;
  assert_int_equal(mproc_array_new(&runs, 'i', N, NULL, NULL), 0);
  count = mproc_array_ptr(runs);
  for (i = 0; i < N; i++) {
    memset(&recs[i], 0, sizeof recs[i]);
    recs[i].item = i;
    snprintf(recs[i].runs, sizeof recs[i].runs, "%s", mproc_array_name(runs));
    recs[i].r.x = i;
  }
  tpool_park_rec(&recs[BAD].r, &tell, &wait);
  o.chunksize = 1;
  assert_int_equal(mproc_pool_imap(p, tpool_counted_task, recs, N,
                                   sizeof recs[0], &o, &it), 0);
  assert_int_equal(tu_kill_pid(tpool_parked_pid(tell)), 0);
  for (i = 0; i < N; i++) {
    rc = mproc_imap_next(it, 120.0, &d, &n, &item);
    assert_int_equal(item, (size_t)i);
    if (i == BAD) {
      assert_int_equal(rc, MPROC_EWORKERDIED);
      assert_non_null(strstr(mproc_last_error(), "died"));
    } else {
      assert_int_equal(rc, 0);
      assert_int_equal(*(const int *)d, i);
    }
  }
  mproc_imap_free(it);
  tpool_unpark(tell, wait, 0);
  for (i = 0; i < N; i++) {
    if (count[i] != 1) fail_msg("task %d ran %d times", i, count[i]);
  }
  mproc_array_free(runs);
  mproc_pool_free(p);
}

static int distinct(const long *v, int n) {
  int i, j, d = 0;
  for (i = 0; i < n; i++) {
    for (j = 0; j < i && v[j] != v[i]; j++) {
    }
    if (j == i) d++;
  }
  return d;
}

void test_pool_maxtasksperchild(void **state) {
  mproc_pool_opts po = MPROC_POOL_OPTS_INIT;
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  mproc_pool *p;
  mproc_async *ars[3];
  long pids[6];
  int in[6] = {0}, i;
  (void)state;
  po.maxtasksperchild = 2;
  p = tpool_new(1, &po);
  o.chunksize = 1; /* a chunk is a task, as Python counts */
  assert_int_equal(mproc_pool_map(p, tpool_pid, in, 6, sizeof in[0], pids,
                                  sizeof pids[0], &o), 0);
  assert_int_equal(distinct(pids, 6), 3);
  for (i = 0; i < 6; i += 2) assert_true(pids[i] == pids[i + 1]);
  mproc_pool_free(p);
  /* _TestPoolWorkerLifetime.test_pool_worker_lifetime_early_close. */
  po.maxtasksperchild = 1;
  p = tpool_new(1, &po);
  for (i = 0; i < 3; i++)
    assert_int_equal(mproc_pool_apply_async(p, tpool_pid, NULL, 0, NULL,
                                            &ars[i]), 0);
  assert_int_equal(mproc_pool_close(p), 0);
  assert_int_equal(mproc_pool_join(p), 0);
  for (i = 0; i < 3; i++) {
    const void *d;
    size_t n;
    assert_int_equal(mproc_async_get(ars[i], 0, &d, &n), 0);
    memcpy(&pids[i], d, sizeof pids[i]);
    mproc_async_free(ars[i]);
  }
  assert_int_equal(distinct(pids, 3), 3);
  mproc_pool_free(p);
}

void test_pool_initializer(void **state) {
  mproc_pool_opts po = MPROC_POOL_OPTS_INIT;
  mproc_pool *p;
  int v = 42, in[10] = {0}, out[10], i, x = 1;
  void *r;
  size_t n;
  (void)state;
  po.initializer = tpool_init;
  po.initargs = &v;
  po.initargs_len = sizeof v;
  p = tpool_new(2, &po);
  assert_int_equal(mproc_pool_apply(p, tpool_get_init, NULL, 0, &r, &n), 0);
  assert_int_equal(n, sizeof(int));
  assert_int_equal(*(int *)r, 42);
  mproc_free(r);
  assert_int_equal(mproc_pool_map(p, tpool_get_init, in, 10, sizeof in[0],
                                  out, sizeof out[0], NULL), 0);
  for (i = 0; i < 10; i++) assert_int_equal(out[i], 42);
  mproc_pool_free(p);
  /* A failing initializer: the calls report it (CPython restarts the
   * workers for ever and the call waits). */
  v = -1;
  p = tpool_new(2, &po);
  assert_int_equal(mproc_pool_apply(p, tpool_square, &x, sizeof x, NULL,
                                    NULL), MPROC_EBROKEN);
  assert_non_null(strstr(mproc_last_error(), "initializer"));
  assert_int_equal(mproc_pool_map(p, tpool_square, in, 10, sizeof in[0], out,
                                  sizeof out[0], NULL), MPROC_EBROKEN);
  mproc_pool_free(p);
}

static int not_registered(const void *in, size_t len, mproc_buf *out) {
  (void)in, (void)len, (void)out;
  return 0;
}

static void bad_pool_opts(void) {
  mproc_pool_opts po = MPROC_POOL_OPTS_INIT;
  mproc_executor_opts eo = MPROC_EXECUTOR_OPTS_INIT;
  mproc_pool *p = NULL;
  assert_int_equal(mproc_pool_new(NULL, NULL), MPROC_EINVAL);
  po.size = 1;
  assert_int_equal(mproc_pool_new(&p, &po), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "MPROC_POOL_OPTS_INIT"));
  po.size = sizeof po;
  po.processes = -1;
  assert_int_equal(mproc_pool_new(&p, &po), MPROC_EINVAL);
  po.processes = 1;
  po.maxtasksperchild = -1;
  assert_int_equal(mproc_pool_new(&p, &po), MPROC_EINVAL);
  po.maxtasksperchild = 0;
  po.initargs_len = 4;
  assert_int_equal(mproc_pool_new(&p, &po), MPROC_EINVAL);
  po.initargs_len = 0;
  eo.size = 2;
  po.executor = &eo;
  assert_int_equal(mproc_pool_new(&p, &po), MPROC_EINVAL);
  eo.size = sizeof eo;
  eo.on_worker_death = 9;
  assert_int_equal(mproc_pool_new(&p, &po), MPROC_EINVAL);
  assert_null(p);
}

/* In a worker: the method that started it (a child's default). */
static int tpool_method(const void *in, size_t len, mproc_buf *out) {
  int m = (int)mproc_get_start_method();
  (void)in, (void)len;
  return mproc_buf_write(out, &m, sizeof m);
}
MPROC_TASK(tpool_method);

/* The start method a worker of p was started with. */
static int worker_method(mproc_pool *p) {
  void *d = NULL;
  size_t n = 0;
  int m;
  if (mproc_pool_apply(p, tpool_method, NULL, 0, &d, &n) != 0)
    fail_msg("apply: %s", mproc_last_error());
  assert_int_equal(n, sizeof m);
  memcpy(&m, d, sizeof m);
  mproc_free(d);
  return m;
}

/* Python's Pool() and Pool(context=ctx): processes 0 is
 * mproc_cpu_count() workers; with method 0 the context's method starts
 * them, and a method given wins over the context's. In the groups whose
 * method is not the program's default, the first half tells the context
 * from the default. */
void test_pool_defaults(void **state) {
  mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
  mproc_start_method all[3], other = g_method;
  mproc_context *ctx = NULL;
  mproc_pool *p = NULL;
  int i, n;
  (void)state;
  p = tpool_new(0, NULL);
  assert_int_equal(mproc_pool_processes(p), mproc_cpu_count());
  assert_int_equal(worker_method(p), (int)g_method);
  mproc_pool_free(p);
  assert_int_equal(mproc_context_new(&ctx, g_method), 0);
  o.processes = 1;
  o.ctx = ctx;
  assert_int_equal(mproc_pool_new(&p, &o), 0); /* o.method 0: the context */
  assert_int_equal(mproc_pool_processes(p), 1);
  assert_int_equal(worker_method(p), (int)g_method);
  mproc_pool_free(p);
  mproc_context_free(ctx);
  n = mproc_get_all_start_methods(all, 3);
  for (i = 0; i < n && i < 3; i++)
    if (all[i] != g_method) other = all[i];
  if (other == g_method) return; /* one method only (Windows) */
  assert_int_equal(mproc_context_new(&ctx, other), 0);
  o.ctx = ctx;
  o.method = g_method;
  assert_int_equal(mproc_pool_new(&p, &o), 0);
  assert_int_equal(worker_method(p), (int)g_method);
  mproc_pool_free(p);
  o.method = MPROC_START_DEFAULT;
  assert_int_equal(mproc_pool_new(&p, &o), 0);
  assert_int_equal(worker_method(p), (int)other);
  mproc_pool_free(p);
  mproc_context_free(ctx);
}

void test_pool_bad_args(void **state) {
  mproc_pool *p;
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  mproc_async *ar = NULL;
  mproc_imap *it = NULL;
  int x = 1, out[2];
  (void)state;
  bad_pool_opts();
  p = tpool_new(1, NULL);
  assert_int_equal(mproc_pool_processes(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_pool_apply(NULL, tpool_square, &x, sizeof x, NULL,
                                    NULL), MPROC_EINVAL);
  assert_int_equal(mproc_pool_apply(p, NULL, &x, sizeof x, NULL, NULL),
                   MPROC_EINVAL);
  assert_int_equal(mproc_pool_apply(p, tpool_square, NULL, 4, NULL, NULL),
                   MPROC_EINVAL);
  assert_int_equal(mproc_pool_apply(p, not_registered, NULL, 0, NULL, NULL),
                   MPROC_ENOTREG);
  assert_int_equal(mproc_pool_map(p, not_registered, &x, 1, sizeof x, out,
                                  sizeof out[0], NULL), MPROC_ENOTREG);
  assert_non_null(strstr(mproc_last_error(), "MPROC_TASK"));
  assert_int_equal(mproc_pool_map(p, tpool_square, NULL, 2, sizeof x, out,
                                  sizeof out[0], NULL), MPROC_EINVAL);
  assert_int_equal(mproc_pool_map(p, tpool_square, &x, 1, 0, out,
                                  sizeof out[0], NULL), MPROC_EINVAL);
  assert_int_equal(mproc_pool_map(p, tpool_square, &x, 1, sizeof x, NULL,
                                  sizeof out[0], NULL), MPROC_EINVAL);
  assert_int_equal(mproc_pool_map(p, tpool_square, &x, SIZE_MAX / 2, 4, out,
                                  sizeof out[0], NULL), MPROC_EINVAL);
  assert_int_equal(mproc_pool_map_async(p, tpool_square, &x, 1, sizeof x, out,
                                        0, NULL, &ar), MPROC_EINVAL);
  assert_int_equal(mproc_pool_map_async(p, tpool_square, &x, 1, sizeof x,
                                        NULL, 0, NULL, NULL), MPROC_EINVAL);
  o.size = 0;
  assert_int_equal(mproc_pool_apply_async(p, tpool_square, &x, sizeof x, &o,
                                          &ar), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "MPROC_POOL_CALL_OPTS_INIT"));
  assert_null(ar);
  assert_int_equal(mproc_pool_imap_var(p, tpool_square, NULL, 0, 8, NULL,
                                       &it), MPROC_EINVAL);
  assert_int_equal(mproc_imap_next(NULL, 0, NULL, NULL, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_imap_error(NULL, NULL, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_async_get(NULL, 0, NULL, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_async_wait(NULL, 0), MPROC_EINVAL);
  assert_int_equal(mproc_async_ready(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_async_successful(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_async_error(NULL, NULL, NULL, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_pool_close(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_pool_join(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_pool_terminate(NULL), MPROC_EINVAL);
  mproc_async_free(NULL);
  mproc_imap_free(NULL);
  mproc_pool_free(NULL);
  /* The pool still works after all of that. */
  assert_int_equal(mproc_pool_map(p, tpool_square, &x, 1, sizeof x, out,
                                  sizeof out[0], NULL), 0);
  assert_int_equal(out[0], 1);
  mproc_pool_free(p);
}

/* The role's pool: static, so it stays reachable (LeakSanitizer) while
 * the program ends with it running. */
static mproc_pool *leaked;

/* The role: make a pool, use it, and end the program without closing it
 * (exit code 0 once the pool answered). */
int tpool_role_leak(char **argv, const char *method) {
  mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
  mproc_pool *p;
  int x = 3;
  void *r = NULL;
  size_t n;
  CHILD_CHECK(mproc_init(1, argv) == 0);
  o.processes = 2;
  o.method = (mproc_start_method)atoi(method);
  CHILD_CHECK(mproc_pool_new(&p, &o) == 0);
  CHILD_CHECK(mproc_pool_apply(p, tpool_square, &x, sizeof x, &r, &n) == 0);
  CHILD_CHECK(n == sizeof x && *(int *)r == 9);
  mproc_free(r);
  leaked = p;
  return 0; /* p is left running: its workers must not keep us alive */
}

/* A program that ends with its pool still running exits, its workers
 * terminated (Python's Pool workers are daemonic); mproc's exit duties
 * would otherwise wait for workers that wait for work. */
void test_pool_leaked_pool_exits(void **state) {
  char m[16];
  long pid;
  int i;
  (void)state;
  snprintf(m, sizeof m, "%d", (int)g_method);
  pid = tu_spawn_self("--role-leak-pool", m);
  assert_true(pid > 0);
  for (i = 0; i < 6000 && tu_pid_alive(pid); i++) tu_sleep_ms(10);
  if (tu_pid_alive(pid)) {
    (void)tu_kill_pid(pid);
    (void)tu_wait_pid(pid);
    fail_msg("the program did not end within 60 s with its pool running");
  }
  assert_int_equal(tu_wait_pid(pid), 0);
}

/* Pool workers are daemonic, as Python's: a task cannot start a process
 * (Python: "daemonic processes are not allowed to have children"). */
void test_pool_daemonic_workers(void **state) {
  mproc_pool *p = tpool_new(1, NULL);
  void *r = NULL;
  size_t n;
  (void)state;
  assert_int_equal(mproc_pool_apply(p, tpool_try_child, NULL, 0, &r, &n), 0);
  assert_int_equal(n, sizeof(int));
  assert_int_equal(*(int *)r, MPROC_EPERM);
  mproc_free(r);
  mproc_pool_free(p);
}

/* A map_async freed before it is ready stops writing into the caller's
 * results (the array may go with the handle). */
void test_pool_free_map_early(void **state) {
  enum { N = 64 };
  mproc_pool *p = tpool_new(1, NULL);
  mproc_queue *tell, *wait;
  tpool_rec recs[N];
  int *results = malloc(N * sizeof *results), i, x = 4;
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  mproc_async *ar;
  void *r = NULL;
  size_t n;
  (void)state;
  assert_non_null(results);
  tpool_park_rec(&recs[0], &tell, &wait);
  for (i = 1; i < N; i++) {
    memset(&recs[i], 0, sizeof recs[i]);
    recs[i].x = i;
  }
  o.chunksize = 1;
  assert_int_equal(mproc_pool_map_async(p, tpool_rec_task, recs, N,
                                        sizeof recs[0], results,
                                        sizeof results[0], &o, &ar), 0);
  (void)tpool_parked_pid(tell); /* item 0 holds the only worker */
  mproc_async_free(ar);
  free(results); /* gone: the map must not write here any more */
  tpool_unpark(tell, wait, 1);
  /* The pool works on; a later call runs after the whole map. */
  assert_int_equal(mproc_pool_apply(p, tpool_square, &x, sizeof x, &r, &n), 0);
  assert_int_equal(*(int *)r, 16);
  mproc_free(r);
  mproc_pool_free(p);
}
