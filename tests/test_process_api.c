/* mproc tests: the Process API that Python users reach for — a child's
 * default start method, what a spawned child inherits, atexit handlers,
 * is_alive after close, clashing task names, interrupt(), the parent
 * process, get_all_start_methods and set_executable. Under every start
 * method the platform has. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mproc.h"
#include "procs.h"
#include "util.h"

/* test_process_clash.c: a static function also named t_clash. */
mproc_target tc_other_clash(void);

/* The main test program's pid, recorded before mproc_init: the forkserver
 * (forked there) and fork children carry it; a spawned child records its
 * own. */
static long main_pid;

static void marker_path(char *buf, size_t n, long pid, const char *tag) {
  const char *dir = getenv("TMPDIR");
  if (dir == NULL || dir[0] == '\0') dir = getenv("TEMP");
  if (dir == NULL || dir[0] == '\0') dir = "/tmp";
  snprintf(buf, n, "%s/mproc-test-%ld-%s", dir, pid, tag);
}

static int file_exists(const char *path) {
  FILE *f = fopen(path, "r");
  if (f) fclose(f);
  return f != NULL;
}

/* ---- a child's default start method ---------------------------------- */

/* Returns its default start method, and that of a child it would make. */
static int t_default_method(const void *arg, size_t len) {
  mproc_process *q = NULL;
  int m;
  (void)arg;
  (void)len;
  CHILD_CHECK(mproc_process_new(&q, t_default_method, NULL, 0, NULL) == 0);
  m = (int)mproc_process_method(q);
  mproc_process_free(q);
  CHILD_CHECK(m == (int)mproc_get_start_method());
  return 10 + m;
}
MPROC_TASK(t_default_method);

static void test_child_default_method(void **state) {
  mproc_process *p;
  (void)state;
  p = tp_start(t_default_method, NULL, 0, NULL, 0);
  assert_int_equal(tp_join(p), 10 + (int)g_method);
}

/* ---- descriptors a spawned child inherits ----------------------------- */

static int t_sleep_long(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  for (;;) {
    tu_sleep_ms(1000);
    if (len == 1) break; /* never: keeps compilers content */
  }
  return 0;
}
MPROC_TASK(t_sleep_long);

static void test_inheritable_not_inherited(void **state) {
  intptr_t r = -1, w = -1;
  mproc_process *p;
  (void)state;
  /* fork children keep the parent's descriptors, as in Python. */
  if (g_method == MPROC_START_FORK) skip();
  assert_int_equal(tu_inheritable_pipe(&r, &w), 0);
  p = tp_start(t_sleep_long, NULL, 0, NULL, 0);
  tu_close_handle(w);
  /* Ours was the only write end: the reader sees the end at once. */
  assert_int_equal(tu_pipe_eof(r, 10.0), 1);
  assert_int_equal(mproc_process_kill(p), 0);
  assert_int_equal(tp_join(p), -9);
  tu_close_handle(r);
}

/* ---- atexit ------------------------------------------------------------- */

static char child_marker[512];

static void child_atexit(void) {
  FILE *f = fopen(child_marker, "w");
  if (f) fclose(f);
}

/* Registers an atexit handler, then returns normally. */
static int t_atexit(const void *arg, size_t len) {
  CHILD_CHECK(len > 0 && len < sizeof child_marker);
  memcpy(child_marker, arg, len);
  child_marker[len] = '\0';
  CHILD_CHECK(atexit(child_atexit) == 0);
  return 3;
}
MPROC_TASK(t_atexit);

/* The main program's own handler: it marks any child of it that runs it. */
static void program_atexit(void) {
  char path[512];
  FILE *f;
  if (mproc_current_pid() == main_pid) return;
  marker_path(path, sizeof path, main_pid, "program-atexit");
  f = fopen(path, "w");
  if (f) fclose(f);
}

static void test_atexit_handlers(void **state) {
  char mine[512], program[512];
  mproc_process *p;
  (void)state;
  tu_temp_path(mine, sizeof mine, "child-atexit");
  marker_path(program, sizeof program, main_pid, "program-atexit");
  remove(program);
  p = tp_start(t_atexit, mine, strlen(mine), NULL, 0);
  assert_int_equal(tp_join(p), 3);
  if (g_method == MPROC_START_SPAWN) {
    /* A fresh program: its own handlers ran at its normal exit. */
    assert_true(file_exists(mine));
  } else {
    /* A copy: it ends with _exit, as Python's fork children do, so
     * neither the program's handlers nor its own run. */
    assert_false(file_exists(mine));
    assert_false(file_exists(program));
  }
  remove(mine);
  remove(program);
}

/* ---- is_alive after close ---------------------------------------------- */

static int t_return_5(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  return 5;
}
MPROC_TASK(t_return_5);

static void test_is_alive_after_close(void **state) {
  mproc_process *p;
  (void)state;
  p = tp_start(t_return_5, NULL, 0, NULL, 0);
  assert_int_equal(tp_code(p), 5);
  assert_int_equal(mproc_process_is_alive(p), 0);
  assert_int_equal(mproc_process_close(p), 0);
  assert_int_equal(mproc_process_is_alive(p), MPROC_ECLOSED);
  assert_non_null(strstr(mproc_last_error(), "closed"));
  assert_int_equal(mproc_process_join(p, 0), MPROC_ECLOSED);
  assert_int_equal(mproc_process_terminate(p), MPROC_ECLOSED);
  mproc_process_free(p);
  assert_int_equal(mproc_process_is_alive(NULL), MPROC_EINVAL);
}

/* ---- two targets with one name ---------------------------------------- */

static int t_clash(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  return 31;
}
MPROC_TASK(t_clash);

static void test_task_name_clash(void **state) {
  mproc_target both[2];
  int i;
  (void)state;
  both[0] = t_clash;
  both[1] = tc_other_clash();
  for (i = 0; i < 2; i++) {
    mproc_process *p = NULL;
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    o.method = g_method;
    assert_int_equal(mproc_process_new(&p, both[i], NULL, 0, &o), 0);
    if (g_method == MPROC_START_FORK) {
      /* fork needs no name. */
      assert_int_equal(mproc_process_start(p), 0);
      assert_int_equal(tp_code(p), 31 + i);
    } else {
      assert_int_equal(mproc_process_start(p), MPROC_EEXIST);
      assert_non_null(strstr(mproc_last_error(), "\"t_clash\""));
      assert_non_null(strstr(mproc_last_error(), "test_process_api.c:"));
      assert_non_null(strstr(mproc_last_error(), "test_process_clash.c:"));
    }
    mproc_process_free(p);
  }
  /* An explicit registration of the name is told at once. */
  assert_int_equal(mproc_task_register("t_clash", (mproc_fnptr)t_return_5),
                   MPROC_EEXIST);
  assert_non_null(strstr(mproc_last_error(), "t_clash"));
}

/* ---- interrupt ---------------------------------------------------------- */

/* arg: the readiness file; len's first byte after it: catch SIGINT? */
typedef struct int_arg {
  int catch_it;
  char ready[400];
} int_arg;

static int t_interruptible(const void *arg, size_t len) {
  int_arg a;
  CHILD_CHECK(len == sizeof a);
  memcpy(&a, arg, sizeof a);
  tu_sigint(a.catch_it);
  CHILD_CHECK(tu_write_long(a.ready, 1) == 0);
  while (!tu_sigint_seen) tu_sleep_ms(5);
  return 7;
}
MPROC_TASK(t_interruptible);

static void test_interrupt(void **state) {
  int catch_it;
  (void)state;
  for (catch_it = 0; catch_it < 2; catch_it++) {
    int_arg a;
    mproc_process *p;
    long v = 0;
    int rc;
    memset(&a, 0, sizeof a);
    a.catch_it = catch_it;
    tu_temp_path(a.ready, sizeof a.ready, "int");
    p = tp_start(t_interruptible, &a, sizeof a, NULL, 0);
    assert_int_equal(tu_read_long(a.ready, &v, 60), 0);
    rc = mproc_process_interrupt(p);
    if (!mproc_start_method_supported(MPROC_START_FORK)) {
      /* Windows: no Ctrl-C for one process. */
      assert_int_equal(rc, MPROC_ENOTSUP);
      assert_non_null(strstr(mproc_last_error(), "Windows"));
      assert_int_equal(mproc_process_kill(p), 0);
      assert_int_equal(tp_join(p), -9);
    } else {
      assert_int_equal(rc, 0);
      /* The default action ends it as -SIGINT; a handler decides. */
      assert_int_equal(tp_code(p), catch_it ? 7 : -2);
      assert_int_equal(mproc_process_interrupt(p), 0); /* ended: no-op */
      mproc_process_free(p);
    }
    remove(a.ready);
  }
}

static void test_interrupt_bad_state(void **state) {
  mproc_process *p = NULL;
  (void)state;
  assert_int_equal(mproc_process_interrupt(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_process_new(&p, t_return_5, NULL, 0, NULL), 0);
  assert_int_equal(mproc_process_interrupt(p), MPROC_ESTATE);
  mproc_process_free(p);
}

/* ---- the parent process ------------------------------------------------- */

typedef struct parent_arg {
  long pid;
  int depth; /* 1: start a grandchild that checks this child */
  int method;
  char name[64];
} parent_arg;

static int t_parent(const void *arg, size_t len) {
  parent_arg a;
  mproc_process *pp = mproc_parent_process(), *g = NULL;
  mproc_handle h;
  unsigned char ready = 9;
  int code = 0;
  CHILD_CHECK(len == sizeof a);
  memcpy(&a, arg, sizeof a);
  CHILD_CHECK(pp != NULL);
  CHILD_CHECK(mproc_parent_process() == pp);
  CHILD_CHECK(strcmp(mproc_process_name(pp), a.name) == 0);
  CHILD_CHECK(mproc_process_pid(pp) == a.pid);
  CHILD_CHECK(mproc_process_pid(pp) == mproc_parent_pid());
  CHILD_CHECK(mproc_process_is_alive(pp) == 1);
  CHILD_CHECK(mproc_process_join(pp, 0.05) == MPROC_ETIMEDOUT);
  h = mproc_process_sentinel(pp);
  CHILD_CHECK(h != -1);
  CHILD_CHECK(mproc_wait_handles(&h, 1, 0, &ready) == MPROC_ETIMEDOUT);
  CHILD_CHECK(ready == 0);
  /* Not ours to drive. */
  CHILD_CHECK(mproc_process_terminate(pp) == MPROC_EPERM);
  CHILD_CHECK(mproc_process_kill(pp) == MPROC_EPERM);
  CHILD_CHECK(mproc_process_start(pp) == MPROC_EPERM);
  CHILD_CHECK(mproc_process_close(pp) == MPROC_EPERM);
  CHILD_CHECK(mproc_process_exitcode(pp, &code) == MPROC_ENOTSUP);
  mproc_process_free(pp); /* borrowed: a no-op */
  CHILD_CHECK(mproc_parent_process() == pp);
  if (a.depth == 1) {
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    parent_arg b = a;
    b.depth = 0;
    b.pid = mproc_current_pid();
    snprintf(b.name, sizeof b.name, "%s", mproc_current_name());
    o.method = (mproc_start_method)a.method;
    CHILD_CHECK(mproc_process_new(&g, t_parent, &b, sizeof b, &o) == 0);
    CHILD_CHECK(mproc_process_start(g) == 0);
    CHILD_CHECK(mproc_process_join(g, MPROC_FOREVER) == 0);
    CHILD_CHECK(mproc_process_exitcode(g, &code) == 0);
    mproc_process_free(g);
    CHILD_CHECK(code == 0);
  }
  return 0;
}
MPROC_TASK(t_parent);

static void test_parent_process(void **state) {
  parent_arg a;
  mproc_process *p;
  (void)state;
  assert_null(mproc_parent_process());
  memset(&a, 0, sizeof a);
  a.pid = mproc_current_pid();
  a.depth = 1;
  a.method = g_method;
  snprintf(a.name, sizeof a.name, "MainProcess");
  p = tp_start(t_parent, &a, sizeof a, "kid", 0);
  assert_int_equal(tp_join(p), 0);
}

/* ---- get_all_start_methods ---------------------------------------------- */

static void test_all_start_methods(void **state) {
  mproc_start_method m[3];
  int n, i, supported = 0, seen_group = 0;
  (void)state;
  n = mproc_get_all_start_methods(m, 3);
  for (i = MPROC_START_FORK; i <= MPROC_START_SPAWN; i++)
    supported += mproc_start_method_supported((mproc_start_method)i);
  assert_int_equal(n, supported);
  assert_int_equal(m[0], mproc_get_start_method());
  for (i = 0; i < n; i++) {
    assert_true(mproc_start_method_supported(m[i]));
    if (m[i] == g_method) seen_group = 1;
  }
  assert_true(seen_group);
  assert_int_equal(mproc_get_all_start_methods(NULL, 0), n);
  assert_int_equal(mproc_get_all_start_methods(m, 1), n);
  assert_int_equal(mproc_get_all_start_methods(NULL, 2), MPROC_EINVAL);
  /* The default moves to the front. */
  assert_int_equal(mproc_set_start_method(g_method), 0);
  assert_int_equal(mproc_get_all_start_methods(m, 3), n);
  assert_int_equal(m[0], g_method);
}

/* ---- set_executable ------------------------------------------------------ */

/* The other binary (exe_helper.c) registers this name returning 42. */
static int t_exe_which(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  return 41;
}
MPROC_TASK(t_exe_which);

static void test_set_executable(void **state) {
  char other[4096];
  mproc_process *p;
  (void)state;
  tu_sibling_exe(other, sizeof other, "mproc_test_exe2");
  assert_int_equal(mproc_set_executable(""), MPROC_EINVAL);
  assert_int_equal(mproc_set_executable("/no/such/mproc-program"),
                   MPROC_ENOENT);
  assert_int_equal(mproc_set_executable(other), 0);
  p = tp_start(t_exe_which, NULL, 0, NULL, 0);
  /* spawn runs the other program; fork and forkserver copy this one. */
  assert_int_equal(tp_join(p), g_method == MPROC_START_SPAWN ? 42 : 41);
  /* A task the other program lacks fails in its bootstrap. */
  p = tp_start(t_return_5, NULL, 0, NULL, 0);
  if (g_method == MPROC_START_SPAWN) {
    assert_int_equal(mproc_process_join(p, MPROC_FOREVER), MPROC_EBOOTSTRAP);
    assert_non_null(strstr(mproc_last_error(), "t_return_5"));
    mproc_process_free(p);
  } else {
    assert_int_equal(tp_join(p), 5);
  }
  assert_int_equal(mproc_set_executable(NULL), 0);
  p = tp_start(t_exe_which, NULL, 0, NULL, 0);
  assert_int_equal(tp_join(p), 41);
}

#define T(fn) cmocka_unit_test_teardown(fn, tp_no_children_left)

/* ---- the program's own fork() inside a library child ---------------------- */

/* A library child (any method) that has a child of its own started, then
 * forks with fork(): the copy is nobody's library child (no
 * parent_process) and has none of its parent's children, as Python's
 * fork children have neither — the duties current.c and process.c put on
 * the program's fork-child hook list. The copy can still start and join
 * a process of its own. */
static int t_return_zero(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  return 0;
}
MPROC_TASK(t_return_zero);

static int t_own_fork(const void *arg, size_t len) {
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_process *g = NULL;
  long pid;
  int code = -1;
  (void)arg;
  (void)len;
  CHILD_CHECK(mproc_parent_process() != NULL);
  o.method = MPROC_START_FORK;
  CHILD_CHECK(mproc_process_new(&g, t_return_zero, NULL, 0, &o) == 0);
  CHILD_CHECK(mproc_process_start(g) == 0);
  pid = tu_fork();
  if (pid == 0) {
    mproc_process *h = NULL;
    int ok = mproc_parent_process() == NULL &&
             mproc_active_children(NULL, 0) == 0 &&
             mproc_process_new(&h, t_return_zero, NULL, 0, &o) == 0 &&
             mproc_process_start(h) == 0 &&
             mproc_process_join(h, 60) == 0 &&
             mproc_active_children(NULL, 0) == 0;
    tu_exit(ok ? 0 : 3);
  }
  if (pid > 0) CHILD_CHECK(tu_wait_pid(pid) == 0);
  CHILD_CHECK(mproc_parent_process() != NULL); /* ours is untouched */
  CHILD_CHECK(mproc_process_join(g, MPROC_FOREVER) == 0);
  CHILD_CHECK(mproc_process_exitcode(g, &code) == 0 && code == 0);
  mproc_process_free(g);
  return 0;
}
MPROC_TASK(t_own_fork);

static void test_own_fork_in_child(void **state) {
  mproc_process *p;
  (void)state;
  if (!mproc_start_method_supported(MPROC_START_FORK)) skip(); /* no fork */
  p = tp_start(t_own_fork, NULL, 0, "forks", 0);
  assert_int_equal(tp_join(p), 0);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      T(test_child_default_method), T(test_inheritable_not_inherited),
      T(test_atexit_handlers),      T(test_is_alive_after_close),
      T(test_task_name_clash),      T(test_interrupt),
      T(test_interrupt_bad_state),  T(test_parent_process),
      T(test_all_start_methods),    T(test_set_executable),
      T(test_own_fork_in_child),
  };
  mproc_start_method first;
  int failed = 0;
  main_pid = mproc_current_pid();
  atexit(program_atexit);
  tu_set_argv0(argv[0]);
  /* A spawned child runs its target inside mproc_init and never returns. */
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  first = mproc_get_start_method();
  failed += TP_RUN_PER_METHOD("process-api", tests);
  mproc_set_start_method(first);
  return failed ? 1 : 0;
}
