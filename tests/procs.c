/* mproc tests: starting and joining children (see procs.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "procs.h"

mproc_start_method g_method;

mproc_process *tp_start_with(mproc_target fn, const void *arg, size_t len,
                             mproc_process_opts *o) {
  mproc_process *p = NULL;
  o->method = g_method;
  assert_int_equal(mproc_process_new(&p, fn, arg, len, o), 0);
  if (mproc_process_start(p) != 0) fail_msg("start: %s", mproc_last_error());
  return p;
}

mproc_process *tp_start(mproc_target fn, const void *arg, size_t len,
                        const char *name, int daemon) {
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  o.name = name;
  o.daemon = daemon;
  return tp_start_with(fn, arg, len, &o);
}

int tp_code(mproc_process *p) {
  int code = -1000;
  assert_int_equal(mproc_process_join(p, MPROC_FOREVER), 0);
  assert_int_equal(mproc_process_exitcode(p, &code), 0);
  return code;
}

int tp_join(mproc_process *p) {
  int code = tp_code(p);
  mproc_process_free(p);
  return code;
}

int tp_no_children_left(void **state) {
  (void)state;
  return mproc_active_children(NULL, 0) == 0 ? 0 : -1;
}

static int set_fork(void **state) {
  (void)state;
  g_method = MPROC_START_FORK;
  return 0;
}
static int set_forkserver(void **state) {
  (void)state;
  g_method = MPROC_START_FORKSERVER;
  return 0;
}
static int set_spawn(void **state) {
  (void)state;
  g_method = MPROC_START_SPAWN;
  return 0;
}

int tp_run_per_method(const char *prefix, const struct CMUnitTest *tests,
                      size_t count) {
  static const struct {
    mproc_start_method m;
    CMFixtureFunction setup;
  } methods[] = {{MPROC_START_FORK, set_fork},
                 {MPROC_START_FORKSERVER, set_forkserver},
                 {MPROC_START_SPAWN, set_spawn}};
  size_t i;
  int failed = 0;
  for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    char name[64];
    if (!mproc_start_method_supported(methods[i].m)) continue;
    snprintf(name, sizeof name, "%s-%s", prefix,
             mproc_start_method_name(methods[i].m));
    failed += _cmocka_run_group_tests(name, tests, count, methods[i].setup,
                                      NULL);
  }
  return failed;
}
