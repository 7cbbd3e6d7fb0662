/* mproc tests: Pipe and Connection, shared helpers. */
#ifndef MPROC_TEST_PIPE_H
#define MPROC_TEST_PIPE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mproc.h"
#include "procs.h"
#include "util.h"

/* The byte at offset i of a test message with `seed`. */
unsigned char tpipe_pattern(size_t i, unsigned seed);

void test_child_sends_sizes(void **state);
void test_two_one_way_ends(void **state);
void test_eof_on_child_exit(void **state);
void test_eof_on_child_killed(void **state);
void test_no_leak_of_unpassed(void **state);
void test_no_leak_to_grandchild(void **state);
void test_wait_with_sentinels(void **state);

#endif
