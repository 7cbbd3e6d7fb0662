/* mproc tests: starting and joining children under the method of the
 * CMocka group being run (g_method). Include after <cmocka.h>. */
#ifndef MPROC_TESTS_PROCS_H
#define MPROC_TESTS_PROCS_H

#include "mproc.h"

extern mproc_start_method g_method;

/* Make and start a process with g_method; fails the test on error. */
mproc_process *tp_start(mproc_target fn, const void *arg, size_t len,
                        const char *name, int daemon);
/* Join without limit and return the exit code; fails the test on error. */
int tp_code(mproc_process *p);
/* tp_code, then free the process. */
int tp_join(mproc_process *p);

#endif
