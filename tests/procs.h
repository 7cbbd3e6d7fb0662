/* mproc tests: starting and joining children under the method of the
 * CMocka group being run (g_method). Include after <cmocka.h>. */
#ifndef MPROC_TESTS_PROCS_H
#define MPROC_TESTS_PROCS_H

#include "mproc.h"

extern mproc_start_method g_method;

/* Make and start a process with g_method; fails the test on error. */
mproc_process *tp_start(mproc_target fn, const void *arg, size_t len,
                        const char *name, int daemon);
/* The same with more options (o->method is set to g_method). */
mproc_process *tp_start_with(mproc_target fn, const void *arg, size_t len,
                             mproc_process_opts *o);
/* Join without limit and return the exit code; fails the test on error. */
int tp_code(mproc_process *p);
/* tp_code, then free the process. */
int tp_join(mproc_process *p);

/* A teardown: every test leaves no child behind (-1 if one runs). */
int tp_no_children_left(void **state);

/* Run `tests` once per start method the platform has (a CMocka group per
 * method, named "<prefix>-<method>", with g_method set); returns the number
 * of failures. */
int tp_run_per_method(const char *prefix, const struct CMUnitTest *tests,
                      size_t count);
#define TP_RUN_PER_METHOD(prefix, tests)                                       \
  tp_run_per_method((prefix), (tests), sizeof(tests) / sizeof((tests)[0]))

#endif
