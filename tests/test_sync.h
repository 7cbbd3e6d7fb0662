/* mproc tests: shared memory and synchronization, shared helpers. */
#ifndef MPROC_TEST_SYNC_H
#define MPROC_TEST_SYNC_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mproc.h"
#include "procs.h"
#include "util.h"


/* Start `n` children running fn(arg) with g_method and join them all;
 * asserts each exits 0. */
void run_children(mproc_target fn, const void *arg, size_t len, int n);

/* Names every test created: at the end none may still open. */
void remember_name(const char *name);

/* The argument most children get: object names. */
typedef struct names_arg {
  char a[MPROC_SHM_NAME_MAX + 1];
  char b[MPROC_SHM_NAME_MAX + 1];
  char c[MPROC_SHM_NAME_MAX + 1];
  int n;
} names_arg;

void test_value_counter_locked(void **state);
void test_raw_value_races(void **state);
void test_condition_producer_consumer(void **state);
void test_event_handoff(void **state);
void test_barrier_rounds(void **state);
void test_semaphore_limits(void **state);
void test_lock_owner_death(void **state);
void test_rlock_owner_death(void **state);
void test_killed_holder_releases_name(void **state);
void test_killed_waiters(void **state);
void test_plain_fork_child(void **state);
void test_shm_child_holds(void **state);
void test_shm_killed_holder(void **state);
void test_shm_registry_full(void **state);
void test_shm_churn(void **state);
void test_shm_names_after_fork(void **state);
/* test_sync_waits.c */
void test_event_set_then_clear(void **state);
void test_condition_notify_n(void **state);
void test_barrier_abort_in_action(void **state);
void test_barrier_timeout_in_action(void **state);
void test_barrier_reset_late_waiter(void **state);
void test_barrier_reset_after_death(void **state);
void test_interrupt_threads(void **state);
void test_interrupt_child(void **state);
void test_lock_locked_and_checks(void **state);
/* A separate program's body (a role of the test binary). */
int role_leaker_full(int argc, char **argv, const char *name);

#endif
