/* mproc tests: Process — parent death, exit duties, leaks, threads. */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "test_process.h"

typedef struct tree_arg {
  int method;
  int daemon_child;
  char path[400];
} tree_arg;

/* Start a sleeping grandchild, publish its pid, then either sleep (to be
 * killed) or return (so the exit duties run). */
static int t_intermediate(const void *arg, size_t len) {
  tree_arg a;
  mproc_process *g = NULL;
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  CHILD_CHECK(len == sizeof a);
  memcpy(&a, arg, sizeof a);
  o.method = (mproc_start_method)a.method;
  o.daemon = a.daemon_child;
  CHILD_CHECK(mproc_process_new(&g, t_sleep_forever, NULL, 0, &o) == 0);
  CHILD_CHECK(mproc_process_start(g) == 0);
  CHILD_CHECK(tu_write_long(a.path, mproc_process_pid(g)) == 0);
  if (a.daemon_child) return 0; /* exit duties terminate the daemon */
  for (;;) tu_sleep_ms(1000);
}
MPROC_TASK(t_intermediate);

static long wait_gone(long pid, double seconds) {
  int waited = 0;
  while (tu_pid_alive(pid) && waited < seconds * 1000) {
    tu_sleep_ms(10);
    waited += 10;
  }
  return tu_pid_alive(pid);
}

void test_parent_death(void **state) {
  tree_arg a;
  mproc_process *p;
  long g = 0;
  (void)state;
  memset(&a, 0, sizeof a);
  a.method = g_method;
  tu_temp_path(a.path, sizeof a.path, "death");
  p = tp_start(t_intermediate, &a, sizeof a, NULL, 0);
  assert_int_equal(tu_read_long(a.path, &g, 30), 0);
  assert_true(g > 0);
  assert_true(tu_pid_alive(g));
  assert_int_equal(mproc_process_kill(p), 0);
  assert_int_equal(tp_code(p), -9);
  assert_int_equal(wait_gone(g, 2.0), 0);
  mproc_process_free(p);
  remove(a.path);
}

void test_daemon_terminated_at_child_exit(void **state) {
  tree_arg a;
  mproc_process *p;
  long d = 0;
  (void)state;
  memset(&a, 0, sizeof a);
  a.method = g_method;
  a.daemon_child = 1;
  tu_temp_path(a.path, sizeof a.path, "daemon");
  p = tp_start(t_intermediate, &a, sizeof a, NULL, 0);
  assert_int_equal(tp_code(p), 0);
  assert_int_equal(tu_read_long(a.path, &d, 5), 0);
  /* The intermediate terminated and joined its daemon before exiting. */
  assert_int_equal(wait_gone(d, 2.0), 0);
  mproc_process_free(p);
  remove(a.path);
}

static int t_daemon_tries_child(const void *arg, size_t len) {
  mproc_process *g = NULL;
  (void)arg;
  (void)len;
  CHILD_CHECK(mproc_process_new(&g, t_sleep_forever, NULL, 0, NULL) == 0);
  CHILD_CHECK(mproc_process_start(g) == MPROC_EPERM);
  mproc_process_free(g);
  return 0;
}
MPROC_TASK(t_daemon_tries_child);

static int t_quick(const void *arg, size_t len) {
  (void)arg;
  return (int)len;
}
MPROC_TASK(t_quick);

void test_no_handle_leak(void **state) {
  long before, after;
  int i;
  mproc_process *p;
  (void)state;
  /* Warm up: the first start makes the death pipe (and the forkserver). */
  p = tp_start(t_daemon_tries_child, NULL, 0, NULL, 1);
  assert_int_equal(tp_code(p), 0);
  mproc_process_free(p);
  before = tu_handle_count();
  for (i = 0; i < 500; i++) {
    p = tp_start(t_quick, "abc", 3, NULL, 0);
    assert_int_equal(tp_code(p), 3);
    mproc_process_free(p);
  }
  after = tu_handle_count();
  assert_int_equal(before, after);
}

typedef struct thread_job {
  int failures;
} thread_job;

static void starter(void *arg) {
  thread_job *job = arg;
  int i;
  for (i = 0; i < 10; i++) {
    mproc_process *p = NULL;
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    int code = -1;
    o.method = g_method;
    if (mproc_process_new(&p, t_quick, "xy", 2, &o) != 0 ||
        mproc_process_start(p) != 0 ||
        mproc_process_join(p, MPROC_FOREVER) != 0 ||
        mproc_process_exitcode(p, &code) != 0 || code != 2)
      job->failures++;
    mproc_process_free(p);
  }
}

void test_threaded_parent(void **state) {
  uv_thread_t t[4];
  thread_job jobs[4];
  int i;
  (void)state;
  /* fork from a threaded program is what forkserver and spawn are for. */
  if (g_method == MPROC_START_FORK) skip();
  memset(jobs, 0, sizeof jobs);
  for (i = 0; i < 4; i++)
    assert_int_equal(uv_thread_create(&t[i], starter, &jobs[i]), 0);
  for (i = 0; i < 4; i++) {
    uv_thread_join(&t[i]);
    assert_int_equal(jobs[i].failures, 0);
  }
}

static mproc_process *g_sibling;

static int t_join_sibling(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  CHILD_CHECK(mproc_process_join(g_sibling, 0) == MPROC_EPERM);
  CHILD_CHECK(mproc_process_terminate(g_sibling) == MPROC_EPERM);
  return 0;
}
MPROC_TASK(t_join_sibling);

void test_join_from_non_parent(void **state) {
  mproc_process *c;
  (void)state;
  /* Only fork hands the parent's process objects to the child. */
  if (g_method != MPROC_START_FORK) skip();
  g_sibling = tp_start(t_sleep_forever, NULL, 0, NULL, 0);
  c = tp_start(t_join_sibling, NULL, 0, NULL, 0);
  assert_int_equal(tp_code(c), 0);
  mproc_process_kill(g_sibling);
  assert_int_equal(tp_code(g_sibling), -9);
  mproc_process_free(c);
  mproc_process_free(g_sibling);
}

void test_wait_many(void **state) {
  mproc_process *p[3];
  mproc_handle h[3];
  unsigned char ready[3];
  int i;
  (void)state;
  p[0] = tp_start(t_sleep_forever, NULL, 0, NULL, 0);
  p[1] = tp_start(t_quick, "a", 1, NULL, 0);
  p[2] = tp_start(t_sleep_forever, NULL, 0, NULL, 0);
  for (i = 0; i < 3; i++) h[i] = mproc_process_sentinel(p[i]);
  assert_int_equal(mproc_wait_handles(h, 3, MPROC_FOREVER, ready), 1);
  assert_int_equal(ready[0], 0);
  assert_int_equal(ready[1], 1);
  assert_int_equal(ready[2], 0);
  assert_int_equal(mproc_wait_handles(NULL, 3, 0, ready), MPROC_EINVAL);
  for (i = 0; i < 3; i++) {
    mproc_process_kill(p[i]);
    tp_code(p[i]);
    mproc_process_free(p[i]);
  }
}
