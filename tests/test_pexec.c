/* mproc tests: the process executor's guarantees (issue 10), under every
 * start method: retries of a task whose worker died, the per-task
 * timeout, cancelling a running task, max_memory_per_child (with a
 * backlog and during shutdown), CPU affinity of a process and of the
 * workers, the reusable executor (resize, reconfigure, idle workers that
 * come back), and the harsh cases: a 1 MiB failure message, a result
 * past what can be allocated, a worker killed while the parent writes a
 * large task to it, shutdown without waiting while work is queued,
 * terminate during a map, a failing done callback. The killer soak is in
 * test_pexec_soak.c. Readiness is signalled through Queues, never slept
 * for. */
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

/* ---- tasks ----------------------------------------------------------------- */

/* Opens the queue named by the input; a token there is consumed and the
 * worker dies (abort); no token: the task succeeds with its pid. */
static int px_token_die(const void *in, size_t len, mproc_buf *out) {
  char name[128], tok[8];
  mproc_queue *q;
  long pid = mproc_current_pid();
  size_t n;
  if (len >= sizeof name) return 1;
  memcpy(name, in, len);
  name[len] = '\0';
  if (mproc_queue_open(&q, name) < 0) return 2;
  if (mproc_queue_get(q, tok, sizeof tok, &n, 0) == 0) abort();
  mproc_queue_free(q);
  return mproc_buf_write(out, &pid, sizeof pid);
}
MPROC_TASK(px_token_die);

/* Keeps 48 MiB resident (never freed: the worker's memory grows). */
static unsigned char *volatile px_kept;
static int px_mem(const void *in, size_t len, mproc_buf *out) {
  size_t n = (size_t)48 << 20, i;
  unsigned char *p = malloc(n);
  long pid = mproc_current_pid();
  (void)in, (void)len;
  if (p == NULL) return 1;
  for (i = 0; i < n; i += 4096) p[i] = (unsigned char)i;
  px_kept = p; /* still reachable: not a leak, and not given back */
  return mproc_buf_write(out, &pid, sizeof pid);
}
MPROC_TASK(px_mem);

static int px_cpus(const void *in, size_t len, mproc_buf *out) {
  int n = mproc_cpu_count();
  (void)in, (void)len;
  return mproc_buf_write(out, &n, sizeof n);
}
MPROC_TASK(px_cpus);

static int px_bigmsg(const void *in, size_t len, mproc_buf *out) {
  (void)in, (void)len;
  return pp_fail_mib(out, 4, 'x');
}
MPROC_TASK(px_bigmsg);

static int px_toobig(const void *in, size_t len, mproc_buf *out) {
  (void)in, (void)len;
  if (mproc_buf_reserve(out, (size_t)PTRDIFF_MAX + 1) != NULL) return 6;
  return mproc_task_fail(out, 5, "reserve refused: %s", mproc_last_error());
}
MPROC_TASK(px_toobig);

/* ---- helpers --------------------------------------------------------------- */

static void check_square(mproc_executor *ex, int x) {
  mproc_future *f = pp_submit(ex, pp_square, &x, sizeof x);
  assert_int_equal(pp_int(f), x * x);
  mproc_future_free(f);
}

/* ---- retries ---------------------------------------------------------------- */

static void run_token_task(int retries, int tokens, int want) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex;
  mproc_queue *q;
  mproc_future *f;
  const char *name;
  int i, code = 0;
  o.retries = retries;
  ex = pp_new(1, &o);
  assert_int_equal(mproc_queue_new(&q, NULL), 0);
  for (i = 0; i < tokens; i++)
    assert_int_equal(mproc_queue_put(q, "t", 1, MPROC_FOREVER), 0);
  name = mproc_queue_name(q);
  f = pp_submit(ex, px_token_die, name, strlen(name));
  assert_int_equal(mproc_future_result(f, 120.0, NULL, NULL), want);
  if (want == MPROC_EWORKERDIED) {
    const char *msg = NULL;
    assert_int_equal(mproc_future_exception(f, 0, &code, &msg),
                     MPROC_EWORKERDIED);
    assert_non_null(strstr(msg, "no retry left"));
  }
  mproc_future_free(f);
  check_square(ex, 7); /* the executor goes on */
  mproc_executor_free(ex);
  mproc_queue_free(q);
}

static void test_retries(void **state) {
  (void)state;
  run_token_task(2, 2, 0);                 /* dies twice, third run works */
  run_token_task(1, 2, MPROC_EWORKERDIED); /* one retry is not enough */
}

/* ---- a result packed when its worker dies ---------------------------------- */

/* Input: "<ran queue>\n<go queue>\n<bytes>". Puts a token into the ran
 * queue (one per run), waits for a token from the go queue, returns
 * <bytes> bytes of a pattern. */
static int px_held(const void *in, size_t len, mproc_buf *out) {
  char arg[300], *go, *nb;
  mproc_queue *ran = NULL, *goq = NULL;
  unsigned char *b, tok[4];
  size_t n, i, got;
  int rc = 3;
  if (len >= sizeof arg) return 1;
  memcpy(arg, in, len);
  arg[len] = '\0';
  if ((go = strchr(arg, '\n')) == NULL) return 2;
  *go++ = '\0';
  if ((nb = strchr(go, '\n')) == NULL) return 2;
  *nb++ = '\0';
  n = (size_t)strtoul(nb, NULL, 10);
  if (mproc_queue_open(&ran, arg) == 0 && mproc_queue_open(&goq, go) == 0 &&
      mproc_queue_put(ran, "r", 1, 60.0) == 0 &&
      mproc_queue_get(goq, tok, sizeof tok, &got, 60.0) == 0 &&
      (b = mproc_buf_reserve(out, n)) != NULL) {
    for (i = 0; i < n; i++) b[i] = (unsigned char)(i * 11 + 3);
    rc = 0;
  }
  mproc_queue_free(ran);
  mproc_queue_free(goq);
  return rc;
}
MPROC_TASK(px_held);

/* The worker dies (fault seam "worker.result") right after it packed a
 * result of n bytes: before the message holding it is sent. A result
 * that fits the hold area (wset.h) is delivered from there, and the task
 * ran once; a larger one is run again when retries allow, else the
 * future fails with MPROC_EWORKERDIED. The seam is armed in the
 * environment the worker starts with and disarmed once it runs the task
 * (the replacement starts unarmed); under forkserver a worker has the
 * server's environment, so the case runs under fork and spawn. */
static void held_case(size_t n, int retries, int want, int runs) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex;
  mproc_queue *ran, *go;
  mproc_future *f;
  char in[300], tok[4];
  const void *d;
  size_t len, i, got;
  int k;
  if (g_method == MPROC_START_FORKSERVER) return;
  o.retries = retries;
  assert_int_equal(mproc_queue_new(&ran, NULL), 0);
  assert_int_equal(mproc_queue_new(&go, NULL), 0);
  snprintf(in, sizeof in, "%s\n%s\n%zu", mproc_queue_name(ran),
           mproc_queue_name(go), n);
  tu_setenv("MPROC_FAULT", "worker.result:1");
  ex = pp_new(1, &o);
  f = pp_submit(ex, px_held, in, strlen(in));
  assert_int_equal(mproc_queue_get(ran, tok, sizeof tok, &got, 120.0), 0);
  tu_setenv("MPROC_FAULT", ""); /* the worker runs: it has it */
  for (k = 0; k < runs; k++)
    assert_int_equal(mproc_queue_put(go, "g", 1, 10.0), 0);
  assert_int_equal(mproc_future_result(f, 120.0, &d, &len), want);
  if (want == 0) {
    const unsigned char *r = d;
    assert_int_equal(len, n);
    for (i = 0; i < n; i++)
      if (r[i] != (unsigned char)(i * 11 + 3)) fail_msg("byte %zu", i);
  } else {
    const char *msg = NULL;
    int code = 0;
    assert_int_equal(mproc_future_exception(f, 0, &code, &msg), want);
    assert_non_null(strstr(msg, "before its result was sent"));
  }
  for (k = 1; k < runs; k++) /* the retried run's token */
    assert_int_equal(mproc_queue_get(ran, tok, sizeof tok, &got, 60.0), 0);
  assert_int_equal(mproc_queue_get(ran, tok, sizeof tok, &got, 0),
                   MPROC_EEMPTY); /* ran exactly `runs` times */
  mproc_future_free(f);
  check_square(ex, 6); /* the replacement goes on */
  mproc_executor_free(ex);
  mproc_queue_free(ran);
  mproc_queue_free(go);
}

static void test_held_result_outlives_worker(void **state) {
  (void)state;
  held_case(1024, 0, 0, 1);                      /* held: ran once */
  held_case(256 << 10, 0, MPROC_EWORKERDIED, 1); /* past the hold area */
  held_case(256 << 10, 1, 0, 2);                 /* retried: ran twice */
}

/* ---- the task timeout and cancelling a running task ------------------------ */

static void test_task_timeout(void **state) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex;
  mproc_queue *q, *w;
  mproc_future *f, *g;
  char in[200];
  const char *msg = NULL;
  double t0;
  int code;
  (void)state;
  o.task_timeout = 0.5;
  ex = pp_new(2, &o);
  park_queues(&q, &w, in, sizeof in);
  t0 = px_now();
  f = pp_submit(ex, pp_park, in, strlen(in));
  g = pp_submit(ex, pp_square, &(int){5}, sizeof(int));
  assert_int_equal(pp_int(g), 25); /* the other worker is unaffected */
  assert_int_equal(mproc_future_result(f, 120.0, NULL, NULL), MPROC_ETIMEDOUT);
  assert_true(px_now() - t0 >= 0.5);
  assert_int_equal(mproc_future_exception(f, 0, &code, &msg), MPROC_ETIMEDOUT);
  assert_non_null(strstr(msg, "timeout"));
  check_square(ex, 3); /* replaced, goes on; quick tasks are not stopped */
  mproc_future_free(f);
  mproc_future_free(g);
  mproc_executor_free(ex);
  mproc_queue_free(q);
  mproc_queue_free(w);
}

static void test_cancel_running(void **state) {
  mproc_executor *ex = pp_new(1, NULL);
  mproc_queue *q, *w;
  mproc_future *f;
  char in[200];
  (void)state;
  park_queues(&q, &w, in, sizeof in);
  f = pp_submit(ex, pp_park, in, strlen(in));
  (void)park_pid(q); /* it runs now */
  assert_int_equal(mproc_future_running(f), 1);
  assert_int_equal(mproc_future_cancel(f), 1); /* Python would refuse */
  assert_int_equal(mproc_future_result(f, 120.0, NULL, NULL),
                   MPROC_ECANCELLED);
  assert_int_equal(mproc_future_cancel(f), 0); /* done: nothing to cancel */
  check_square(ex, 4);
  mproc_future_free(f);
  mproc_executor_free(ex);
  mproc_queue_free(q);
  mproc_queue_free(w);
}

/* ---- max_memory_per_child ---------------------------------------------------- */

static void test_max_memory(void **state) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex;
  mproc_future *fs[6];
  long pids[6];
  int i, j;
  (void)state;
  o.max_memory_per_child = (uint64_t)32 << 20; /* each task passes it */
  ex = pp_new(1, &o);
  for (i = 0; i < 6; i++) fs[i] = pp_submit(ex, px_mem, NULL, 0); /* backlog */
  for (i = 0; i < 6; i++) pids[i] = pp_long(fs[i]);
  for (i = 0; i < 6; i++)
    for (j = i + 1; j < 6; j++) assert_true(pids[i] != pids[j]);
  for (i = 0; i < 6; i++) mproc_future_free(fs[i]);
  /* During shutdown: queued work is still run, by recycled workers. */
  for (i = 0; i < 4; i++) fs[i] = pp_submit(ex, px_mem, NULL, 0);
  assert_int_equal(mproc_executor_shutdown(ex, MPROC_SHUTDOWN_WAIT), 0);
  for (i = 0; i < 4; i++) {
    assert_true(pp_long(fs[i]) > 0);
    mproc_future_free(fs[i]);
  }
  mproc_executor_free(ex);
}

/* ---- CPU affinity ------------------------------------------------------------- */

/* Waits for the parent's word (the pinning is done once start returns),
 * then counts the CPUs it may use. */
static int px_child_cpus(const void *arg, size_t len) {
  mproc_queue *q = NULL;
  char buf[8];
  (void)arg, (void)len;
  if (mproc_inherited(0, MPROC_KIND_QUEUE, &q) < 0) return 2;
  if (mproc_queue_get(q, buf, sizeof buf, &len, 120.0) < 0) return 3;
  return mproc_cpu_count() == 1 ? 0 : 10 + mproc_cpu_count();
}
MPROC_TASK(px_child_cpus);

static void test_affinity(void **state) {
  mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_process *p = NULL;
  mproc_executor *ex;
  mproc_future *f;
  mproc_queue *go;
  mproc_pass pass;
  int cpu0 = 0, bad = -1, sets[2] = {0, 0};
  (void)state;
  po.method = g_method;
  po.cpus = &bad;
  po.n_cpus = 1;
  assert_int_equal(mproc_process_new(&p, px_child_cpus, NULL, 0, &po),
                   MPROC_EINVAL);
  po.cpus = NULL;
  assert_int_equal(mproc_process_new(&p, px_child_cpus, NULL, 0, &po),
                   MPROC_EINVAL);
  po.cpus = &cpu0;
  if (!px_affinity_supported()) {
    assert_int_equal(mproc_process_new(&p, px_child_cpus, NULL, 0, &po),
                     MPROC_ENOTSUP);
    return;
  }
  assert_int_equal(mproc_queue_new(&go, NULL), 0);
  pass = MPROC_PASS(go);
  po.pass = &pass;
  po.n_pass = 1;
  p = tp_start_with(px_child_cpus, NULL, 0, &po);
  assert_int_equal(mproc_queue_put(go, "g", 1, MPROC_FOREVER), 0);
  assert_int_equal(tp_join(p), 0); /* the child saw one CPU (p freed) */
  mproc_queue_free(go);
  o.pin = MPROC_PIN_SPREAD;
  ex = pp_new(2, &o);
  f = pp_submit(ex, px_cpus, NULL, 0);
  assert_int_equal(pp_int(f), 1);
  mproc_future_free(f);
  mproc_executor_free(ex);
  o.pin = MPROC_PIN_SETS;
  o.pin_cpus = sets;
  o.pin_n = 2;
  o.pin_set = 1;
  ex = pp_new(2, &o);
  f = pp_submit(ex, px_cpus, NULL, 0);
  assert_int_equal(pp_int(f), 1);
  mproc_future_free(f);
  mproc_executor_free(ex);
  o.pin_set = 3; /* 2 entries are not sets of 3 */
  ex = NULL;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o),
                   MPROC_EINVAL);
  assert_null(ex);
}

/* ---- the reusable executor -------------------------------------------------- */

static void test_reusable(void **state) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *a = NULL, *b = NULL, *c = NULL;
  mproc_future *f;
  long pid1, pid2;
  double t0;
  (void)state;
  o.max_workers = 1;
  o.method = g_method;
  o.idle_timeout = 0.3;
  assert_int_equal(mproc_executor_get_reusable(&a, &o), 0);
  assert_int_equal(mproc_executor_get_reusable(&b, &o), 0);
  assert_ptr_equal(a, b); /* one per program */
  f = pp_submit(a, pp_pid, NULL, 0);
  pid1 = pp_long(f);
  mproc_future_free(f);
  /* The worker idles out (its process ends) and comes back on demand. */
  t0 = px_now();
  while (tu_pid_alive(pid1) && px_now() - t0 < 60) tu_sleep_ms(20);
  assert_false(tu_pid_alive(pid1));
  f = pp_submit(b, pp_pid, NULL, 0);
  pid2 = pp_long(f);
  assert_true(pid2 != pid1);
  mproc_future_free(f);
  o.max_workers = 2; /* resized, the same executor */
  assert_int_equal(mproc_executor_get_reusable(&c, &o), 0);
  assert_ptr_equal(c, a);
  assert_int_equal(mproc_executor_max_workers(c), 2);
  mproc_executor_free(c);
  o.max_tasks_per_child = 1; /* another configuration: a new executor */
  assert_int_equal(mproc_executor_get_reusable(&c, &o), 0);
  assert_true(c != a);
  assert_int_equal(mproc_executor_submit(a, pp_pid, NULL, 0, &f),
                   MPROC_ESTATE); /* the old one was shut down */
  f = pp_submit(c, pp_pid, NULL, 0);
  assert_true(pp_long(f) > 0);
  mproc_future_free(f);
  mproc_executor_free(a);
  mproc_executor_free(b); /* the old one's last reference: freed */
  mproc_executor_free(c);
  assert_int_equal(mproc_executor_reusable_free(), 0);
  assert_int_equal(mproc_executor_get_reusable(NULL, &o), MPROC_EINVAL);
}

/* ---- harsh cases ------------------------------------------------------------- */

static void test_big_failure_message(void **state) {
  mproc_executor *ex = pp_new(1, NULL);
  mproc_future *f = pp_submit(ex, px_bigmsg, NULL, 0);
  const char *msg = NULL;
  int code = 0;
  (void)state;
  assert_int_equal(mproc_future_result(f, 120.0, NULL, NULL), MPROC_ETASK);
  assert_int_equal(mproc_future_exception(f, 0, &code, &msg), MPROC_ETASK);
  assert_int_equal(code, 4);
  assert_int_equal(strlen(msg), (size_t)1 << 20);
  mproc_future_free(f);
  f = pp_submit(ex, px_toobig, NULL, 0); /* the size limit: refused */
  assert_int_equal(mproc_future_result(f, 120.0, NULL, NULL), MPROC_ETASK);
  assert_int_equal(mproc_future_exception(f, 0, &code, &msg), MPROC_ETASK);
  assert_int_equal(code, 5);
  mproc_future_free(f);
  mproc_executor_free(ex);
}

/* The only worker runs a blocking task; a 24 MiB task is sent behind it
 * (the put streams through the 1 MiB ring and blocks); the worker is
 * killed: the blocked put ends, the big task goes to the replacement. */
static void test_death_during_large_put(void **state) {
  mproc_executor *ex = pp_new(1, NULL);
  mproc_queue *q, *w;
  mproc_future *f, *g;
  size_t n = (size_t)24 << 20, i, len;
  unsigned char *big = malloc(n);
  const void *d;
  char in[200];
  (void)state;
  assert_non_null(big);
  for (i = 0; i < n; i++) big[i] = (unsigned char)(i * 13 + 1);
  park_queues(&q, &w, in, sizeof in);
  f = pp_submit(ex, pp_park, in, strlen(in));
  g = pp_submit(ex, pp_echo, big, n);
  assert_int_equal(tu_kill_pid(park_pid(q)), 0);
  assert_int_equal(mproc_future_result(f, 120.0, NULL, NULL),
                   MPROC_EWORKERDIED);
  assert_int_equal(mproc_future_result(g, 120.0, &d, &len), 0);
  assert_int_equal(len, n);
  assert_memory_equal(d, big, n);
  mproc_future_free(f);
  mproc_future_free(g);
  mproc_executor_free(ex);
  mproc_queue_free(q);
  mproc_queue_free(w);
  free(big);
}

/* The result is the input with every byte's bits flipped, written in
 * place: a result of the input's size that is not the input. */
static int px_flip(const void *in, size_t len, mproc_buf *out) {
  const unsigned char *a = in;
  unsigned char *b = mproc_buf_reserve(out, len);
  size_t i;
  if (b == NULL) return 1;
  for (i = 0; i < len; i++) b[i] = (unsigned char)~a[i];
  return 0;
}
MPROC_TASK(px_flip);

/* Issue 10: arguments and results of any size. A 1 GiB argument goes to
 * a worker and a 1 GiB result comes back, each streamed through the
 * queues' rings; the result is taken (not copied) and checked against
 * the pattern. MPROC_TEST_BIG_MIB sets the size (smaller in the
 * sanitizer and Wine runs, where a GiB costs minutes: CMakeLists.txt). */
static void test_gib_argument_and_result(void **state) {
  const char *env = getenv("MPROC_TEST_BIG_MIB");
  size_t mib = env != NULL && atoi(env) > 0 ? (size_t)atoi(env) : 1024;
  size_t n = mib << 20, i, len = 0;
  unsigned char *big = malloc(n), *r;
  mproc_executor *ex = pp_new(1, NULL);
  mproc_future *f;
  void *d = NULL;
  (void)state;
  assert_non_null(big);
  for (i = 0; i < n; i++) big[i] = (unsigned char)(i * 7 + (i >> 20));
  f = pp_submit(ex, px_flip, big, n);
  free(big); /* the executor has its own copy or has sent it */
  assert_int_equal(mproc_future_take(f, 600.0, &d, &len), 0);
  assert_int_equal(len, n);
  r = d;
  for (i = 0; i < n; i++)
    if (r[i] != (unsigned char)~(unsigned char)(i * 7 + (i >> 20)))
      fail_msg("byte %zu of the %zu MiB result is wrong", i, mib);
  mproc_free(d);
  mproc_future_free(f);
  mproc_executor_free(ex);
}

static void test_shutdown_nowait_queued(void **state) {
  mproc_executor *ex = pp_new(2, NULL);
  mproc_future *fs[200], *late = NULL;
  int i;
  (void)state;
  for (i = 0; i < 200; i++) fs[i] = pp_submit(ex, pp_square, &i, sizeof i);
  assert_int_equal(mproc_executor_shutdown(ex, 0), 0); /* returns at once */
  assert_int_equal(mproc_executor_submit(ex, pp_pid, NULL, 0, &late),
                   MPROC_ESTATE);
  assert_null(late);
  for (i = 0; i < 200; i++) {
    assert_int_equal(pp_int(fs[i]), i * i);
    mproc_future_free(fs[i]);
  }
  mproc_executor_free(ex);
}

static void test_terminate_during_map(void **state) {
  mproc_executor *ex = pp_new(2, NULL);
  mproc_map_opts mo = MPROC_MAP_OPTS_INIT;
  mproc_map *m = NULL;
  int *items = malloc(20000 * sizeof *items), i, rc, got = 0;
  const void *d;
  size_t len;
  (void)state;
  assert_non_null(items);
  for (i = 0; i < 20000; i++) items[i] = i;
  mo.chunksize = 16;
  assert_int_equal(mproc_executor_map(ex, pp_square, items, 20000,
                                      sizeof *items, &mo, &m), 0);
  for (i = 0; i < 10; i++) {
    assert_int_equal(mproc_map_next(m, &d, &len), 0);
    got++;
  }
  assert_int_equal(mproc_executor_terminate_workers(ex, MPROC_STOP_KILL), 0);
  while ((rc = mproc_map_next(m, &d, &len)) == 0) got++;
  assert_true(rc == MPROC_EEOF || rc == MPROC_EBROKEN ||
              rc == MPROC_EWORKERDIED || rc == MPROC_ECANCELLED);
  assert_true(got >= 10);
  mproc_map_free(m);
  mproc_executor_free(ex);
  free(items);
}

/* map with chunksize (one message per chunk) and with buffersize (input
 * taken lazily: items changed after the call are seen when submitted). */
static void test_map_chunks_lazy(void **state) {
  mproc_executor *ex = pp_new(2, NULL);
  mproc_map_opts mo = MPROC_MAP_OPTS_INIT;
  mproc_map *m = NULL;
  int items[1000], i, v;
  const void *d;
  size_t len;
  (void)state;
  for (i = 0; i < 1000; i++) items[i] = i;
  mo.chunksize = 7;
  assert_int_equal(mproc_executor_map(ex, pp_echo, items, 1000, sizeof(int),
                                      &mo, &m), 0);
  for (i = 0; i < 1000; i++) {
    assert_int_equal(mproc_map_next(m, &d, &len), 0);
    assert_int_equal(len, sizeof v);
    memcpy(&v, d, sizeof v);
    assert_int_equal(v, i);
  }
  assert_int_equal(mproc_map_next(m, &d, &len), MPROC_EEOF);
  mproc_map_free(m);
  mo.chunksize = 1;
  mo.buffersize = 4;
  assert_int_equal(mproc_executor_map(ex, pp_echo, items, 1000, sizeof(int),
                                      &mo, &m), 0);
  for (i = 100; i < 1000; i++) items[i] = -i; /* not taken yet */
  for (i = 0; i < 1000; i++) {
    assert_int_equal(mproc_map_next(m, &d, &len), 0);
    memcpy(&v, d, sizeof v);
    assert_int_equal(v, i < 100 ? i : -i);
  }
  mproc_map_free(m);
  mproc_executor_free(ex);
}

static int bad_callback(mproc_future *f, void *arg) {
  (void)f;
  (*(int *)arg)++;
  return -1; /* a failure: reported, ignored */
}

static void test_failing_callback(void **state) {
  mproc_executor *ex = pp_new(1, NULL);
  mproc_future *f;
  int calls = 0, x = 6;
  (void)state;
  f = pp_submit(ex, pp_square, &x, sizeof x);
  assert_int_equal(mproc_future_add_done_callback(f, bad_callback, &calls), 0);
  assert_int_equal(pp_int(f), 36);
  assert_int_equal(mproc_wait(&f, 1, 120.0, MPROC_ALL_COMPLETED, NULL), 1);
  mproc_future_free(f);
  check_square(ex, 8); /* the executor is not broken */
  mproc_executor_free(ex);
  assert_int_equal(calls, 1);
}

/* ---- more workers than one OS wait can watch ----------------------------------- */

/* 70 workers: past the 64 handles one WaitForMultipleObjects takes (the
 * watcher's waits scale past it: mproc_wait_handles), and past the arena
 * slot table (a segment of its own). Each task writes its worker's pid at
 * [worker] of a shared Array (in: its name); bursts of tasks reach every
 * worker once all are up. Then the last worker, idle, is killed: the
 * watcher must see it (its handle is past the first 64) and start a new
 * one in its place, whose pid shows up at [69]. */
#define WIDE 70
#define WIDE_BURST 2000
static int px_wide(const void *in, size_t len, mproc_buf *out) {
  static mproc_array *a; /* this worker's handle, kept between tasks */
  const mproc_task_ctx *ctx = mproc_task_context(out);
  char name[MPROC_SHM_NAME_MAX + 1];
  if (len == 0 || len > MPROC_SHM_NAME_MAX)
    return mproc_task_fail(out, 1, "want the Array's name");
  memcpy(name, in, len);
  name[len] = '\0';
  if (a != NULL && strcmp(mproc_array_name(a), name) != 0) {
    mproc_array_free(a); /* an earlier run's (fork: the parent's copy) */
    a = NULL;
  }
  if (a == NULL && mproc_array_open(&a, name) != 0)
    return mproc_task_fail(out, 2, "open %s: %s", name, mproc_last_error());
  ((volatile int64_t *)mproc_array_ptr(a))[ctx->worker] = mproc_current_pid();
  return mproc_buf_write(out, &ctx->worker, sizeof ctx->worker);
}
MPROC_TASK(px_wide);

/* One burst of tasks, all waited for: 0, or the first failure's code. */
static int wide_burst(mproc_executor *ex, const char *name) {
  static mproc_future *f[WIDE_BURST];
  int i, rc = 0, r;
  for (i = 0; i < WIDE_BURST; i++) f[i] = pp_submit(ex, px_wide, name, strlen(name));
  for (i = 0; i < WIDE_BURST; i++) {
    r = mproc_future_result(f[i], 300, NULL, NULL);
    if (r != 0 && rc == 0) rc = r;
    mproc_future_free(f[i]);
  }
  return rc;
}

static void test_wide_executor(void **state) {
  mproc_executor *ex;
  mproc_array *a;
  volatile int64_t *pid;
  double end;
  int64_t old;
  int i, seen = 0;
  const char *name;
  (void)state;
  assert_int_equal(mproc_array_new(&a, 'q', WIDE, NULL, NULL), 0);
  pid = mproc_array_ptr(a);
  name = mproc_array_name(a);
  ex = pp_new(WIDE, NULL);
  assert_int_equal(mproc_executor_max_workers(ex), WIDE);
  for (end = px_now() + 120; seen < WIDE && px_now() < end;) {
    assert_int_equal(wide_burst(ex, name), 0);
    for (i = 0, seen = 0; i < WIDE; i++) seen += pid[i] > 0;
  }
  assert_int_equal(seen, WIDE); /* every worker ran tasks */
  old = pid[WIDE - 1];
  assert_int_equal(tu_kill_pid((long)old), 0);
  for (end = px_now() + 120; pid[WIDE - 1] == old && px_now() < end;)
    assert_int_equal(wide_burst(ex, name), 0); /* idle: nothing failed */
  assert_true(pid[WIDE - 1] > 0 && pid[WIDE - 1] != old); /* replaced */
  mproc_executor_free(ex);
  mproc_array_free(a);
}

static void test_bad_new_opts(void **state) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex = NULL;
  (void)state;
  o.retries = -1;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o),
                   MPROC_EINVAL);
  o.retries = 256;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o),
                   MPROC_EINVAL);
  o.retries = 0;
  o.task_timeout = -1;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o),
                   MPROC_EINVAL);
  o.task_timeout = 0;
  o.idle_timeout = 0.0 / 0.0;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o),
                   MPROC_EINVAL);
  o.idle_timeout = 0;
  o.pin = 7;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o),
                   MPROC_EINVAL);
  assert_null(ex);
}

/* ---- a program that ends with its executor live ----------------------------- */

/* The role's executor or pool: static, so it stays reachable
 * (LeakSanitizer) while the program ends with it running. */
static mproc_executor *leaked_ex;
static mproc_future *leaked_f[2 + 40];
static mproc_pool *leaked_pool;
static mproc_async *leaked_ar[40];

/* Fail the child from an exit handler (no return code to give there). */
#define LATE_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: late check failed: %s\n", __FILE__, __LINE__,   \
              #cond);                                                          \
      fflush(stderr);                                                          \
      tu_exit(97);                                                             \
    }                                                                          \
  } while (0)

/* Registered before mproc_init, so it runs after mproc's exit duties:
 * what the user still holds is readable there (an executor's futures ran
 * to the end; a pool's were ended by its termination), and none of the
 * program's shared names is left in /dev/shm (where there is one) for a
 * tracker to find. */
static void leak_late_check(void) {
  const char *prefix = getenv("MPROC_NAME_PREFIX");
  char names[4][64];
  int i, left;
  if (leaked_pool != NULL) {
    for (i = 0; i < 40; i++) LATE_CHECK(mproc_async_ready(leaked_ar[i]) == 1);
  } else if (leaked_ex != NULL) {
    for (i = 2; i < 2 + 40; i++) {
      const void *d = NULL;
      size_t n = 0;
      LATE_CHECK(mproc_future_result(leaked_f[i], 0, &d, &n) == 0);
      LATE_CHECK(n == sizeof(int) && *(const int *)d == 9);
    }
  }
  left = tu_list_shm(prefix, names, 4);
  for (i = 0; i < left && i < 4; i++)
    fprintf(stderr, "left at exit: %s\n", names[i]);
  LATE_CHECK(left <= 0);
}

/* Two pids, one from each worker of the executor (two from some workers
 * of the pool), into q. */
static int leak_pids(mproc_queue *q) {
  int i, x = 3;
  for (i = 0; i < 2; i++) {
    void *d = NULL;
    size_t n = 0;
    if (leaked_pool != NULL) {
      CHILD_CHECK(mproc_pool_apply(leaked_pool, pp_pid, &x, sizeof x, &d,
                                   &n) == 0);
    } else {
      CHILD_CHECK(mproc_future_take(leaked_f[i], 120.0, &d, &n) == 0);
    }
    CHILD_CHECK(n == sizeof(long));
    CHILD_CHECK(mproc_queue_put(q, d, n, 120.0) == 0);
    mproc_free(d);
  }
  return 0;
}

/* The role: make a plain process executor of 2 workers ('r', 'e') or a
 * Pool of 2 ('p'), put two workers' pids into the queue named by
 * PX_LEAK_QUEUE, leave tasks queued, and end the program without a
 * shutdown — by returning from main ('r', 'p') or by exit() ('e').
 * arg: "<method><r|e|p>". */
static int px_role_leak(char **argv, const char *arg) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_pool_opts po = MPROC_POOL_OPTS_INIT;
  mproc_queue *q;
  const char *qname = getenv("PX_LEAK_QUEUE");
  int i, x = 3;
  CHILD_CHECK(atexit(leak_late_check) == 0);
  CHILD_CHECK(mproc_init(1, argv) == 0);
  CHILD_CHECK(qname != NULL && mproc_queue_open(&q, qname) == 0);
  if (strchr(arg, 'p') != NULL) {
    po.processes = 2;
    po.method = (mproc_start_method)atoi(arg);
    CHILD_CHECK(mproc_pool_new(&leaked_pool, &po) == 0);
    for (i = 0; i < 40; i++)
      CHILD_CHECK(mproc_pool_apply_async(leaked_pool, pp_square, &x,
                                         sizeof x, NULL, &leaked_ar[i]) == 0);
  } else {
    o.max_workers = 2;
    o.method = (mproc_start_method)atoi(arg);
    CHILD_CHECK(mproc_executor_new(&leaked_ex, MPROC_EXECUTOR_PROCESS, &o) ==
                0);
    for (i = 0; i < 2 + 40; i++)
      CHILD_CHECK(mproc_executor_submit(leaked_ex, i < 2 ? pp_pid : pp_square,
                                        &x, sizeof x, &leaked_f[i]) == 0);
  }
  if (leak_pids(q) != 0) return 99;
  mproc_queue_free(q);
  if (strchr(arg, 'e') != NULL) exit(0);
  return 0; /* the executor is left running, tasks maybe still queued */
}

/* Spawn the role with its own name prefix (8 characters of [a-z0-9]:
 * the method, the mode and this pid, so that runs in parallel differ)
 * and its output into a pipe; the prefix into prefix[9]. */
static long spawn_leak(char mode, char prefix[9], intptr_t *out) {
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  char arg[16], saved[64];
  const char *old = getenv("MPROC_NAME_PREFIX");
  unsigned long v = (unsigned long)mproc_current_pid();
  long pid;
  int i;
  snprintf(saved, sizeof saved, "%s", old ? old : "");
  prefix[0] = 'l';
  prefix[1] = (char)('0' + (int)g_method);
  prefix[2] = mode;
  for (i = 3; i < 8; i++, v /= 36) prefix[i] = digits[v % 36];
  prefix[8] = '\0';
  snprintf(arg, sizeof arg, "%d%c", (int)g_method, mode);
  tu_setenv("MPROC_NAME_PREFIX", prefix);
  pid = tu_spawn_self_out("--role-leak-exec", arg, out);
  tu_setenv("MPROC_NAME_PREFIX", saved); /* "": the default prefix */
  return pid;
}

/* A program that ends (return from main, or exit()) with a plain process
 * executor or a Pool still live exits, and its workers end with it —
 * Python's ProcessPoolExecutor at interpreter exit (its _python_exit:
 * pending work is finished, then the workers are told to stop), and a
 * Pool's daemonic workers. It leaves nothing to the resource tracker:
 * the output of the program and of everything it started (the tracker
 * too: the end of the pipe means all have ended) has no tracker warning,
 * and no name with the program's prefix remains in /dev/shm. */
static void check_leak_exits(char mode) {
  static char out[16384];
  char prefix[9], names[4][64];
  mproc_queue *q;
  long pid, got, wpid[2] = {0, 0};
  intptr_t r = -1;
  int i, j, left;
  size_t n;
  assert_int_equal(mproc_queue_new(&q, NULL), 0);
  tu_setenv("PX_LEAK_QUEUE", mproc_queue_name(q));
  pid = spawn_leak(mode, prefix, &r);
  assert_true(pid > 0);
  got = tu_read_to_eof(r, out, sizeof out, 60.0);
  tu_close_handle(r);
  /* Not tu_pid_alive as well: the program closes its output before it
   * has quite ended (a zombie), and the wait below is as good. */
  if (got < 0) {
    (void)tu_kill_pid(pid);
    (void)tu_wait_pid(pid);
    fail_msg("the program (%c) or what it started did not end within 60 s "
             "with its executor live; its output: %s", mode, out);
  }
  if (got > 0) fprintf(stderr, "the program (%c) said:\n%s", mode, out);
  assert_null(strstr(out, "resource tracker"));
  assert_int_equal(tu_wait_pid(pid), 0);
  left = tu_list_shm(prefix, names, 4);
  for (i = 0; i < left && i < 4; i++)
    fprintf(stderr, "left after the program (%c): %s\n", mode, names[i]);
  assert_true(left <= 0); /* -1: no /dev/shm (the names die with handles) */
  for (j = 0; j < 2; j++) {
    assert_int_equal(mproc_queue_get(q, &wpid[j], sizeof wpid[j], &n, 5.0), 0);
    assert_int_equal(n, sizeof wpid[j]);
    for (i = 0; i < 6000 && tu_pid_alive(wpid[j]); i++) tu_sleep_ms(10);
    if (tu_pid_alive(wpid[j])) {
      (void)tu_kill_pid(wpid[j]);
      fail_msg("worker %ld outlived its program by 60 s", wpid[j]);
    }
  }
  mproc_queue_free(q);
}

static void test_leaked_executor_exits(void **state) {
  (void)state;
  check_leak_exits('r');
  check_leak_exits('e');
  check_leak_exits('p');
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_retries, tp_no_children_left),
      cmocka_unit_test_teardown(test_held_result_outlives_worker,
                                tp_no_children_left),
      cmocka_unit_test_teardown(test_task_timeout, tp_no_children_left),
      cmocka_unit_test_teardown(test_cancel_running, tp_no_children_left),
      cmocka_unit_test_teardown(test_max_memory, tp_no_children_left),
      cmocka_unit_test_teardown(test_affinity, tp_no_children_left),
      cmocka_unit_test_teardown(test_reusable, tp_no_children_left),
      cmocka_unit_test_teardown(test_big_failure_message, tp_no_children_left),
      cmocka_unit_test_teardown(test_death_during_large_put,
                                tp_no_children_left),
      cmocka_unit_test_teardown(test_gib_argument_and_result,
                                tp_no_children_left),
      cmocka_unit_test_teardown(test_shutdown_nowait_queued,
                                tp_no_children_left),
      cmocka_unit_test_teardown(test_terminate_during_map,
                                tp_no_children_left),
      cmocka_unit_test_teardown(test_map_chunks_lazy, tp_no_children_left),
      cmocka_unit_test_teardown(test_failing_callback, tp_no_children_left),
      cmocka_unit_test_teardown(test_bad_new_opts, tp_no_children_left),
      cmocka_unit_test_teardown(test_wide_executor, tp_no_children_left),
      cmocka_unit_test_teardown(test_leaked_executor_exits,
                                tp_no_children_left),
      px_cpy_tests(),
      px_soak_tests(),
  };
  tu_set_argv0(argv[0]);
  if (argc >= 3 && strcmp(argv[1], "--role-leak-exec") == 0)
    return px_role_leak(argv, argv[2]);
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  if (getenv("MPROC_TEST_ONLY") && getenv("MPROC_TEST_ONLY")[0])
    cmocka_set_test_filter(getenv("MPROC_TEST_ONLY")); /* a name pattern */
  return TP_RUN_PER_METHOD("pexec", tests) ? 1 : 0;
}
