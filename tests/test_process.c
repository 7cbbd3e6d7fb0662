/* mproc tests: Process under every start method the platform has. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_process.h"

/* ---- targets ------------------------------------------------------------- */

static int t_return_arg(const void *arg, size_t len) {
  int v;
  CHILD_CHECK(len == sizeof v);
  memcpy(&v, arg, sizeof v);
  return v;
}
MPROC_TASK(t_return_arg);

int t_sleep_forever(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  for (;;) tu_sleep_ms(1000);
}
MPROC_TASK(t_sleep_forever);

static unsigned char pattern(size_t i) {
  return (unsigned char)((i * 131u + 7u) ^ (i >> 13));
}

/* Exit 10/11/12/13 for 0 B / 1 B / 16 MiB / other sizes arriving intact. */
static int t_check_bytes(const void *arg, size_t len) {
  const unsigned char *b = arg;
  size_t i;
  if (len == 0) {
    CHILD_CHECK(arg == NULL);
    return 10;
  }
  for (i = 0; i < len; i++) CHILD_CHECK(b[i] == pattern(i));
  return len == 1 ? 11 : len == (size_t)16 << 20 ? 12 : 13;
}
MPROC_TASK(t_check_bytes);

/* The child knows its name, its parent and that it is not MainProcess. */
static int t_identity(const void *arg, size_t len) {
  long parent;
  CHILD_CHECK(len == sizeof parent);
  memcpy(&parent, arg, sizeof parent);
  CHILD_CHECK(mproc_parent_pid() == parent);
  CHILD_CHECK(mproc_current_pid() != parent);
  CHILD_CHECK(strcmp(mproc_current_name(), "worker-7") == 0);
  return 0;
}
MPROC_TASK(t_identity);

static int t_unregistered(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  return 5;
}

/* Registered at run time, after mproc_init: a spawned child (and the
 * forkserver, forked at init) does not have it, so its bootstrap fails. */
static int t_late(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  return 6;
}

/* ---- tests --------------------------------------------------------------- */

static void test_exit_codes(void **state) {
  int codes[] = {0, 1, 3, 42, 100};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    mproc_process *p = tp_start(t_return_arg, &codes[i], sizeof codes[i],
                                  NULL, 0);
    assert_true(mproc_process_pid(p) > 0);
    assert_int_equal(tp_code(p), codes[i]);
    assert_int_equal(mproc_process_is_alive(p), 0);
    mproc_process_free(p);
  }
}

static void test_terminate_and_kill(void **state) {
  mproc_process *p;
  int code = 0;
  (void)state;
  p = tp_start(t_sleep_forever, NULL, 0, NULL, 0);
  assert_int_equal(mproc_process_is_alive(p), 1);
  assert_int_equal(mproc_process_exitcode(p, &code), MPROC_EAGAIN);
  assert_int_equal(mproc_process_terminate(p), 0);
  assert_int_equal(tp_code(p), -15);
  /* Once ended, terminate and kill are no-ops. */
  assert_int_equal(mproc_process_terminate(p), 0);
  assert_int_equal(mproc_process_kill(p), 0);
  mproc_process_free(p);

  p = tp_start(t_sleep_forever, NULL, 0, NULL, 0);
  assert_int_equal(mproc_process_kill(p), 0);
  assert_int_equal(tp_code(p), -9);
  mproc_process_free(p);
}

static void test_join_timeout(void **state) {
  mproc_process *p;
  (void)state;
  p = tp_start(t_sleep_forever, NULL, 0, NULL, 0);
  assert_int_equal(mproc_process_join(p, 0.05), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_process_join(p, 0), MPROC_ETIMEDOUT);
  /* A negative timeout means 0, as in Python: it must not block. */
  assert_int_equal(mproc_process_join(p, -5.0), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_process_is_alive(p), 1);
  assert_int_equal(mproc_process_close(p), MPROC_ESTATE);
  assert_int_equal(mproc_process_kill(p), 0);
  assert_int_equal(tp_code(p), -9);
  mproc_process_free(p);
}

static void test_sentinel(void **state) {
  mproc_process *p;
  mproc_handle h;
  unsigned char ready = 9;
  int one = 1;
  (void)state;
  p = tp_start(t_sleep_forever, NULL, 0, NULL, 0);
  h = mproc_process_sentinel(p);
  assert_true(h != -1);
  assert_int_equal(mproc_wait_handles(&h, 1, 0.02, &ready), MPROC_ETIMEDOUT);
  assert_int_equal(ready, 0);
  mproc_process_kill(p);
  assert_int_equal(mproc_wait_handles(&h, 1, 10.0, &ready), 1);
  assert_int_equal(ready, 1);
  assert_int_equal(tp_code(p), -9);
  mproc_process_free(p);

  p = tp_start(t_return_arg, &one, sizeof one, NULL, 0);
  h = mproc_process_sentinel(p);
  assert_int_equal(mproc_wait_handles(&h, 1, MPROC_FOREVER, &ready), 1);
  assert_int_equal(tp_code(p), 1);
  mproc_process_free(p);
}

static void test_argument_bytes(void **state) {
  size_t sizes[] = {0, 1, (size_t)16 << 20, 4097};
  int want[] = {10, 11, 12, 13};
  size_t i, j;
  (void)state;
  for (i = 0; i < 4; i++) {
    unsigned char *buf = sizes[i] ? malloc(sizes[i]) : NULL;
    mproc_process *p;
    for (j = 0; j < sizes[i]; j++) buf[j] = pattern(j);
    p = tp_start(t_check_bytes, buf, sizes[i], NULL, 0);
    free(buf); /* the process holds its own copy */
    assert_int_equal(tp_code(p), want[i]);
    mproc_process_free(p);
  }
}

static void test_identity(void **state) {
  long me = mproc_current_pid();
  mproc_process *p;
  (void)state;
  assert_string_equal(mproc_current_name(), "MainProcess");
  assert_int_equal(mproc_parent_pid(), 0);
  p = tp_start(t_identity, &me, sizeof me, "worker-7", 0);
  assert_string_equal(mproc_process_name(p), "worker-7");
  assert_int_equal(mproc_process_method(p), g_method);
  assert_int_equal(tp_code(p), 0);
  mproc_process_free(p);
}

static void test_default_names(void **state) {
  mproc_process *a = NULL, *b = NULL;
  (void)state;
  assert_int_equal(mproc_process_new(&a, t_return_arg, NULL, 0, NULL), 0);
  assert_int_equal(mproc_process_new(&b, t_return_arg, NULL, 0, NULL), 0);
  assert_memory_equal(mproc_process_name(a), "Process-", 8);
  assert_string_not_equal(mproc_process_name(a), mproc_process_name(b));
  assert_int_equal(mproc_process_pid(a), 0);
  assert_int_equal(mproc_process_sentinel(a), MPROC_NO_HANDLE);
  mproc_process_free(a);
  mproc_process_free(b);
}

static void test_unregistered(void **state) {
  mproc_process *p = NULL;
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  (void)state;
  o.method = g_method;
  assert_int_equal(mproc_process_new(&p, t_unregistered, NULL, 0, &o), 0);
  if (g_method == MPROC_START_FORK) {
    assert_int_equal(mproc_process_start(p), 0);
    assert_int_equal(tp_code(p), 5);
  } else {
    assert_int_equal(mproc_process_start(p), MPROC_ENOTREG);
    assert_non_null(strstr(mproc_last_error(), "MPROC_TASK"));
  }
  mproc_process_free(p);
}

static void test_bootstrap_failure(void **state) {
  mproc_process *p;
  int code = 0;
  (void)state;
  if (g_method == MPROC_START_FORK) skip();
  p = tp_start(t_late, NULL, 0, "late", 0);
  assert_int_equal(mproc_process_join(p, MPROC_FOREVER), MPROC_EBOOTSTRAP);
  assert_non_null(strstr(mproc_last_error(), "t_late"));
  assert_int_equal(mproc_process_exitcode(p, &code), 0);
  assert_int_not_equal(code, 0);
  mproc_process_free(p);
}

static void test_bad_input(void **state) {
  mproc_process *p = NULL;
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  char big[300];
  int one = 1, code;
  (void)state;
  o.method = g_method;
  assert_int_equal(mproc_process_new(&p, NULL, NULL, 0, &o), MPROC_EINVAL);
  assert_int_equal(mproc_process_new(&p, t_return_arg, NULL, 4, &o),
                   MPROC_EINVAL);
  memset(big, 'n', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  o.name = big;
  assert_int_equal(mproc_process_new(&p, t_return_arg, NULL, 0, &o),
                   MPROC_ENAMETOOLONG);
  o.name = NULL;
  assert_int_equal(mproc_process_new(&p, t_return_arg, &one, sizeof one, &o),
                   0);
  assert_int_equal(mproc_process_join(p, 1), MPROC_ESTATE);
  assert_int_equal(mproc_process_terminate(p), MPROC_ESTATE);
  assert_int_equal(mproc_process_exitcode(p, &code), MPROC_ESTATE);
  assert_int_equal(mproc_process_start(p), 0);
  assert_int_equal(mproc_process_start(p), MPROC_ESTATE);
  assert_int_equal(mproc_process_set_daemon(p, 1), MPROC_ESTATE);
  assert_int_equal(mproc_process_join(p, 0.0 / 0.0), MPROC_EINVAL);
  assert_int_equal(tp_code(p), 1);
  assert_int_equal(mproc_process_close(p), 0);
  assert_int_equal(mproc_process_close(p), 0);
  assert_int_equal(mproc_process_join(p, 1), MPROC_ECLOSED);
  assert_int_equal(mproc_process_start(p), MPROC_ECLOSED);
  assert_int_equal(mproc_process_sentinel(p), MPROC_NO_HANDLE);
  assert_int_equal(mproc_process_exitcode(p, &code), 0);
  assert_int_equal(code, 1);
  mproc_process_free(p);
  mproc_process_free(NULL);
  assert_int_equal(mproc_process_join(NULL, 1), MPROC_EINVAL);
}

static void test_active_children(void **state) {
  mproc_process *a, *b, *out[4];
  (void)state;
  a = tp_start(t_sleep_forever, NULL, 0, NULL, 0);
  b = tp_start(t_sleep_forever, NULL, 0, NULL, 0);
  assert_int_equal(mproc_active_children(out, 4), 2);
  assert_true((out[0] == a && out[1] == b) || (out[0] == b && out[1] == a));
  assert_int_equal(mproc_active_children(NULL, 0), 2);
  mproc_process_kill(a);
  tp_code(a);
  assert_int_equal(mproc_active_children(out, 4), 1);
  assert_ptr_equal(out[0], b);
  mproc_process_kill(b);
  tp_code(b);
  assert_int_equal(mproc_active_children(out, 4), 0);
  mproc_process_free(a);
  mproc_process_free(b);
}

static void test_contexts_and_methods(void **state) {
  mproc_context *ctx = NULL;
  mproc_process *p = NULL;
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  int seven = 7;
  (void)state;
  assert_true(mproc_cpu_count() >= 1);
  assert_int_equal(mproc_context_new(&ctx, g_method), 0);
  assert_int_equal(mproc_context_method(ctx), g_method);
  o.ctx = ctx;
  assert_int_equal(mproc_process_new(&p, t_return_arg, &seven, sizeof seven,
                                     &o),
                   0);
  assert_int_equal(mproc_process_method(p), g_method);
  assert_int_equal(mproc_process_start(p), 0);
  assert_int_equal(tp_code(p), 7);
  mproc_process_free(p);
  mproc_context_free(ctx);
  mproc_context_free(NULL);
  assert_true(mproc_start_method_supported(mproc_get_start_method()));
  assert_string_equal(mproc_start_method_name(MPROC_START_SPAWN), "spawn");
}

#define T(fn) cmocka_unit_test_teardown(fn, tp_no_children_left)

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      T(test_exit_codes),          T(test_terminate_and_kill),
      T(test_join_timeout),        T(test_sentinel),
      T(test_argument_bytes),      T(test_identity),
      T(test_default_names),       T(test_unregistered),
      T(test_bootstrap_failure),   T(test_bad_input),
      T(test_active_children),     T(test_contexts_and_methods),
      T(test_wait_many),           T(test_join_from_non_parent),
      T(test_daemon_terminated_at_child_exit),
      T(test_parent_death),        T(test_no_handle_leak),
      T(test_threaded_parent),
  };
  int failed = 0;
  /* A spawned child runs its target inside mproc_init and never returns. */
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  mproc_task_register("t_late", (mproc_fnptr)t_late);
  failed += TP_RUN_PER_METHOD("process", tests);
  return failed ? 1 : 0;
}
