/* mproc tests: the process executor's guarantees — shared by
 * test_pexec.c and test_pexec_soak.c. */
#ifndef MPROC_TEST_PEXEC_H
#define MPROC_TEST_PEXEC_H

#include <mproc.h>
#include <uv.h>

static inline double px_now(void) { return (double)uv_hrtime() / 1e9; }

/* macOS cannot pin a process to CPUs (mproc gives MPROC_ENOTSUP). */
static inline int px_affinity_supported(void) {
#ifdef __APPLE__
  return 0;
#else
  return 1;
#endif
}


void test_soak_killer(void **state);
void test_soak_killer_retries(void **state);
#define px_soak_tests()                                                        \
  cmocka_unit_test_teardown(test_soak_killer, tp_no_children_left),           \
      cmocka_unit_test_teardown(test_soak_killer_retries, tp_no_children_left)

/* test_pexec_cpy.c: CPython's scenarios for the process kind. */
void test_cpy_wait_and_as_completed(void **state);
void test_cpy_shutdown_then_death(void **state);
void test_cpy_task_calls_exit(void **state);
void test_cpy_max_tasks_pending(void **state);
void test_cpy_max_tasks_shutdown_nowait(void **state);
void test_cpy_terminate_at_limit(void **state);
void test_cpy_pool_map_no_failfast(void **state);
void test_cpy_map_timeout(void **state);
void test_cpy_workers_cannot_start(void **state);
void test_cpy_crash_big_data(void **state);
#define px_cpy_tests()                                                         \
  cmocka_unit_test_teardown(test_cpy_wait_and_as_completed,                   \
                            tp_no_children_left),                             \
      cmocka_unit_test_teardown(test_cpy_shutdown_then_death,                 \
                                tp_no_children_left),                         \
      cmocka_unit_test_teardown(test_cpy_task_calls_exit,                     \
                                tp_no_children_left),                         \
      cmocka_unit_test_teardown(test_cpy_max_tasks_pending,                   \
                                tp_no_children_left),                         \
      cmocka_unit_test_teardown(test_cpy_max_tasks_shutdown_nowait,           \
                                tp_no_children_left),                         \
      cmocka_unit_test_teardown(test_cpy_terminate_at_limit,                  \
                                tp_no_children_left),                         \
      cmocka_unit_test_teardown(test_cpy_pool_map_no_failfast,                \
                                tp_no_children_left),                         \
      cmocka_unit_test_teardown(test_cpy_map_timeout, tp_no_children_left),   \
      cmocka_unit_test_teardown(test_cpy_workers_cannot_start,                \
                                tp_no_children_left),                         \
      cmocka_unit_test_teardown(test_cpy_crash_big_data, tp_no_children_left)

#endif
