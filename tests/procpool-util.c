/* mproc tests: what the process executor's test programs share
 * (test_procpool, test_pexec) — making an executor for the group's start
 * method, submitting, reading int and long results, and the tasks both
 * use: square, echo, pid, and park (a worker that says it runs, then
 * waits to be killed or stopped). */
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

int pp_square(const void *in, size_t len, mproc_buf *out) {
  int x;
  if (len != sizeof x) return mproc_task_fail(out, 9, "want an int");
  memcpy(&x, in, sizeof x);
  x *= x;
  return mproc_buf_write(out, &x, sizeof x);
}
MPROC_TASK(pp_square);

int pp_pid(const void *in, size_t len, mproc_buf *out) {
  long pid = mproc_current_pid();
  (void)in, (void)len;
  return mproc_buf_write(out, &pid, sizeof pid);
}
MPROC_TASK(pp_pid);

/* Put this worker's pid into the queue named by the input ("tell wait"),
 * then wait (bounded) on the second queue, which nobody writes: the
 * parent kills the worker meanwhile. */
int pp_park(const void *in, size_t len, mproc_buf *out) {
  char name[256], *sp, buf[8];
  mproc_queue *q, *w;
  long pid = mproc_current_pid();
  (void)out;
  if (len >= sizeof name) return 1;
  memcpy(name, in, len);
  name[len] = '\0';
  if ((sp = strchr(name, ' ')) == NULL) return 1;
  *sp = '\0';
  if (mproc_queue_open(&q, name) < 0) return 2;
  if (mproc_queue_open(&w, sp + 1) < 0) return 2;
  (void)mproc_queue_put(q, &pid, sizeof pid, MPROC_FOREVER);
  (void)mproc_queue_get(w, buf, sizeof buf, &len, 120.0); /* nobody puts */
  mproc_queue_free(q);
  mproc_queue_free(w);
  return 3;
}
MPROC_TASK(pp_park);

int pp_echo(const void *in, size_t len, mproc_buf *out) {
  return mproc_buf_write(out, in, len);
}
MPROC_TASK(pp_echo);

mproc_executor *pp_new(int workers, mproc_executor_opts *o) {
  mproc_executor_opts d = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex = NULL;
  if (o == NULL) o = &d;
  o->max_workers = workers;
  o->method = g_method;
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, o) != 0)
    fail_msg("executor_new: %s", mproc_last_error());
  return ex;
}

mproc_future *pp_submit(mproc_executor *ex, mproc_task_fn fn,
                               const void *in, size_t len) {
  mproc_future *f = NULL;
  if (mproc_executor_submit(ex, fn, in, len, &f) != 0)
    fail_msg("submit: %s", mproc_last_error());
  return f;
}

/* The future's result, exactly `size` bytes, into x. */
static void result_into(mproc_future *f, void *x, size_t size) {
  const void *d;
  size_t n;
  if (mproc_future_result(f, 120.0, &d, &n) != 0)
    fail_msg("result: %s", mproc_last_error());
  assert_int_equal(n, size);
  memcpy(x, d, size);
}

int pp_int(mproc_future *f) {
  int x;
  result_into(f, &x, sizeof x);
  return x;
}

long pp_long(mproc_future *f) {
  long x;
  result_into(f, &x, sizeof x);
  return x;
}

/* The queues pp_park uses; *in is "tell wait". */
void park_queues(mproc_queue **q, mproc_queue **w, char *in, size_t cap) {
  assert_int_equal(mproc_queue_new(q, NULL), 0);
  assert_int_equal(mproc_queue_new(w, NULL), 0);
  snprintf(in, cap, "%s %s", mproc_queue_name(*q), mproc_queue_name(*w));
}

long park_pid(mproc_queue *q) {
  long pid = 0;
  size_t n;
  assert_int_equal(mproc_queue_get(q, &pid, sizeof pid, &n, 120.0), 0);
  return pid;
}

int pp_fail_mib(mproc_buf *out, int code, char fill) {
  size_t n = (size_t)1 << 20;
  char *m = malloc(n + 1);
  int rc;
  if (m == NULL) return 1;
  memset(m, fill, n);
  m[n] = '\0';
  rc = mproc_task_fail(out, code, "%s", m);
  free(m);
  return rc;
}
