/* mproc tests: the Pool (test_pool.c, test_pool_more.c) — the tasks both
 * files use and the helpers around a pool made under the group's start
 * method. Include after <cmocka.h>. */
#ifndef MPROC_TESTS_TEST_POOL_H
#define MPROC_TESTS_TEST_POOL_H

#include "procs.h"

/* A record of arguments (starmap's C form). */
typedef struct tpool_pair {
  int a, b;
} tpool_pair;

/* A record that parks its worker when x < 0: the worker puts its pid
 * into queue `tell` and waits on queue `wait` (released by a put, or
 * killed). */
typedef struct tpool_rec {
  int x;
  char tell[64], wait[64];
} tpool_rec;

int tpool_square(const void *in, size_t len, mproc_buf *out);
int tpool_fail13(const void *in, size_t len, mproc_buf *out);
int tpool_mul(const void *in, size_t len, mproc_buf *out);
int tpool_pid(const void *in, size_t len, mproc_buf *out);
int tpool_item(const void *in, size_t len, mproc_buf *out);
int tpool_echo(const void *in, size_t len, mproc_buf *out);
int tpool_rec_task(const void *in, size_t len, mproc_buf *out);
int tpool_counted_task(const void *in, size_t len, mproc_buf *out);
int tpool_get_init(const void *in, size_t len, mproc_buf *out);
int tpool_try_child(const void *in, size_t len, mproc_buf *out);
int tpool_init(const void *args, size_t len);

/* A pool of `processes` under g_method (o may be NULL); fails the test. */
mproc_pool *tpool_new(int processes, mproc_pool_opts *o);
/* Fill a parked record with two new queues (freed by tpool_unpark). */
void tpool_park_rec(tpool_rec *r, mproc_queue **tell, mproc_queue **wait);
/* Wait for a parked worker's pid (120 s at most); fails the test. */
long tpool_parked_pid(mproc_queue *tell);
void tpool_unpark(mproc_queue *tell, mproc_queue *wait, int release);

/* The teardown: no child left, no shared memory name of ours left. */
int tpool_teardown(void **state);

/* test_pool_more.c's tests, run in the same groups. */
void test_pool_terminate(void **state);
void test_pool_close_join_order(void **state);
void test_pool_worker_killed(void **state);
void test_pool_killed_runs_once(void **state);
void test_pool_maxtasksperchild(void **state);
void test_pool_initializer(void **state);
void test_pool_bad_args(void **state);
void test_pool_defaults(void **state);
void test_pool_leaked_pool_exits(void **state);
void test_pool_daemonic_workers(void **state);
void test_pool_free_map_early(void **state);
/* The child role of test_pool_leaked_pool_exits. */
int tpool_role_leak(char **argv, const char *method);

#endif
