/* mproc tests: shared by test_process.c and test_process_more.c. */
#ifndef MPROC_TEST_PROCESS_H
#define MPROC_TEST_PROCESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mproc.h"
#include "procs.h"
#include "util.h"


int t_sleep_forever(const void *arg, size_t len);

void test_parent_death(void **state);
void test_daemon_terminated_at_child_exit(void **state);
void test_no_handle_leak(void **state);
void test_threaded_parent(void **state);
void test_join_from_non_parent(void **state);
void test_wait_many(void **state);

#endif
