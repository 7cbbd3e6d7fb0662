/* mproc tests: futures and executors — the helpers both halves share
 * (test_futures.c: the Future state machine, callbacks, wait and
 * as_completed; test_futures_exec.c: executors, shutdown, initializers,
 * map, completions). Include after <cmocka.h>. */
#ifndef MPROC_TESTS_FUTURES_H
#define MPROC_TESTS_FUTURES_H

#include <stdatomic.h>
#include <stddef.h>

#include <uv.h>

#include "mproc.h"

/* A gate tasks wait at: readiness is signalled, never slept for. */
typedef struct tf_gate {
  uv_mutex_t m;
  uv_cond_t c;
  int open;
  int entered; /* tasks that reached the gate */
} tf_gate;

void tf_gate_init(tf_gate *g);
void tf_gate_destroy(tf_gate *g);
void tf_gate_open(tf_gate *g);
/* Block until n tasks have reached the gate (fails the test after 60 s). */
void tf_gate_wait_entered(tf_gate *g, int n);

/* Tasks. tf_square: an int in, its square out. tf_wait_gate: the input is a
 * tf_gate pointer; waits until it opens. tf_fail: fails with code 7 and
 * "bad <int>". tf_echo: the input back. */
int tf_square(const void *in, size_t len, mproc_buf *out);
int tf_wait_gate(const void *in, size_t len, mproc_buf *out);
int tf_fail(const void *in, size_t len, mproc_buf *out);
int tf_echo(const void *in, size_t len, mproc_buf *out);

/* An executor of the thread kind with max_workers (fails the test). */
mproc_executor *tf_executor(int max_workers);
/* Submit (fails the test on error). */
mproc_future *tf_submit(mproc_executor *ex, mproc_task_fn fn, const void *in,
                        size_t len);
mproc_future *tf_submit_int(mproc_executor *ex, mproc_task_fn fn, int x);
/* Submit a task that waits at g. */
mproc_future *tf_submit_gate(mproc_executor *ex, tf_gate *g);
/* The int result of f (fails the test on error). */
int tf_result_int(mproc_future *f);

#endif
