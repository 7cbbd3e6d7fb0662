/* mproc tests: queues, shared helpers. */
#ifndef MPROC_TEST_QUEUE_H
#define MPROC_TEST_QUEUE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mproc.h"
#include "procs.h"
#include "util.h"


void test_exit_right_after_put(void **state);
void test_huge_message(void **state);
void test_ring_sized_message(void **state);
void test_many_producers_consumers(void **state);
void test_joinable_across(void **state);
void test_producer_killed_before_commit(void **state);
void test_producer_killed_mid_stream(void **state);
void test_consumer_killed_before_consume(void **state);
void test_consumer_killed_mid_stream(void **state);
void test_get_outputs_after_dead_stream(void **state);
void test_dead_stream_full_ring(void **state);
void test_dead_stream_dead_reader(void **state);
void test_dead_stream_repair_killed(void **state);
void test_close_wakes_blocked(void **state);

#endif
