/* mproc tests: shared by test_process.c and test_process_more.c. */
#ifndef MPROC_TEST_PROCESS_H
#define MPROC_TEST_PROCESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mproc.h"
#include "util.h"

/* The start method of the group being run. */
extern mproc_start_method g_method;

/* Make and start a process with g_method; asserts success. */
mproc_process *start_with(mproc_target fn, const void *arg, size_t len,
                          const char *name, int daemon);
/* Join without limit and return the exit code; asserts success. */
int join_code(mproc_process *p);

int t_sleep_forever(const void *arg, size_t len);

void test_parent_death(void **state);
void test_daemon_terminated_at_child_exit(void **state);
void test_no_handle_leak(void **state);
void test_threaded_parent(void **state);
void test_join_from_non_parent(void **state);
void test_wait_many(void **state);

#endif
