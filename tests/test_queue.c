/* mproc tests: Queue, SimpleQueue and JoinableQueue — in one process, then
 * across processes under every start method (test_queue_procs.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_queue.h"

static void test_basics(void **state) {
  mproc_queue *q = NULL, *q2 = NULL;
  char buf[64];
  size_t len = 0;
  void *m = NULL;
  int i;
  (void)state;
  assert_int_equal(mproc_queue_new(&q, NULL), 0);
  assert_int_equal(mproc_queue_capacity(q), 1 << 20);
  assert_int_equal(mproc_queue_empty(q), 1);
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 0), MPROC_EEMPTY);
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 0.02),
                   MPROC_EEMPTY);
  for (i = 0; i < 10; i++) {
    snprintf(buf, sizeof buf, "message %d", i);
    assert_int_equal(mproc_queue_put(q, buf, strlen(buf), 0), 0);
  }
  assert_int_equal(mproc_queue_put(q, NULL, 0, 0), 0); /* empty message */
  assert_int_equal(mproc_queue_qsize(q), 11);
  assert_int_equal(mproc_queue_full(q), 0);
  assert_int_equal(mproc_queue_open(&q2, mproc_queue_name(q)), 0);
  for (i = 0; i < 10; i++) { /* FIFO, through another handle */
    char want[64];
    snprintf(want, sizeof want, "message %d", i);
    assert_int_equal(mproc_queue_get(q2, buf, sizeof buf, &len, 1), 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
  }
  assert_int_equal(mproc_queue_get_alloc(q2, &m, &len, 1), 0);
  assert_int_equal(len, 0);
  assert_null(m);
  /* Too small a buffer: told the size, the message stays. */
  assert_int_equal(mproc_queue_put(q, "0123456789", 10, 0), 0);
  assert_int_equal(mproc_queue_get(q, buf, 4, &len, 0), MPROC_EBUFSIZE);
  assert_int_equal(len, 10);
  assert_int_equal(mproc_queue_qsize(q), 1);
  assert_int_equal(mproc_queue_get_alloc(q, &m, &len, 0), 0);
  assert_int_equal(len, 10);
  assert_memory_equal(m, "0123456789", 10);
  mproc_free(m);
  /* Closing a handle stops it, not the queue. */
  assert_int_equal(mproc_queue_close(q2), 0);
  assert_int_equal(mproc_queue_close(q2), 0);
  assert_int_equal(mproc_queue_put(q2, "x", 1, 0), MPROC_ECLOSED);
  assert_int_equal(mproc_queue_get(q2, buf, sizeof buf, &len, 0),
                   MPROC_ECLOSED);
  assert_int_equal(mproc_queue_get_alloc(q2, &m, &len, 0), MPROC_ECLOSED);
  assert_null(m);
  assert_int_equal(mproc_queue_qsize(q2), MPROC_ECLOSED); /* Python raises */
  assert_int_equal(mproc_queue_empty(q2), MPROC_ECLOSED);
  assert_int_equal(mproc_queue_full(q2), MPROC_ECLOSED);
  assert_non_null(strstr(mproc_last_error(), "closed"));
  assert_string_equal(mproc_queue_name(q2), mproc_queue_name(q));
  assert_int_equal(mproc_queue_qsize(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_queue_empty(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_queue_full(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_queue_put(q, "x", 1, 0), 0);
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 0), 0);
  mproc_queue_free(q2);
  mproc_queue_free(q);
}

static void test_bad_input(void **state) {
  mproc_queue *q = NULL;
  mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
  size_t len;
  char buf[4];
  (void)state;
  assert_int_equal(mproc_queue_new(NULL, NULL), MPROC_EINVAL);
  o.maxsize = -1;
  assert_int_equal(mproc_queue_new(&q, &o), MPROC_EINVAL);
  o.maxsize = 0;
  o.kind = (mproc_queue_kind)9;
  assert_int_equal(mproc_queue_new(&q, &o), MPROC_EINVAL);
  o.kind = MPROC_QUEUE;
  o.capacity = (size_t)1 << 31;
  assert_int_equal(mproc_queue_new(&q, &o), MPROC_ERANGE);
  o.capacity = 0;
  assert_int_equal(mproc_queue_new(&q, &o), 0);
  assert_int_equal(mproc_queue_put(q, NULL, 3, 0), MPROC_EINVAL);
  assert_int_equal(mproc_queue_put(NULL, "x", 1, 0), MPROC_EINVAL);
  assert_int_equal(mproc_queue_get(q, NULL, 3, &len, 0), MPROC_EINVAL);
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, NULL, 0),
                   MPROC_EINVAL);
  assert_int_equal(mproc_queue_put(q, "x", 1, 0.0 / 0.0), MPROC_EINVAL);
  { /* Outputs on failure: *msg NULL, *len 0 (EBUFSIZE alone tells a size). */
    void *m = buf;
    len = 77;
    assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 0), MPROC_EEMPTY);
    assert_int_equal(len, 0);
    len = 77;
    assert_int_equal(mproc_queue_get_alloc(q, &m, &len, 0), MPROC_EEMPTY);
    assert_null(m);
    assert_int_equal(len, 0);
    len = 77;
    assert_int_equal(mproc_queue_get_alloc(q, NULL, &len, 0), MPROC_EINVAL);
    assert_int_equal(len, 0);
    m = buf;
    len = 77;
    assert_int_equal(mproc_queue_get_alloc(NULL, &m, &len, 0), MPROC_EINVAL);
    assert_null(m);
    assert_int_equal(len, 0);
    len = 77;
    assert_int_equal(mproc_queue_get(NULL, buf, sizeof buf, &len, 0),
                     MPROC_EINVAL);
    assert_int_equal(len, 0);
    m = buf;
    len = 77;
    assert_int_equal(mproc_queue_get_alloc(q, &m, &len, 0.0 / 0.0),
                     MPROC_EINVAL);
    assert_null(m);
    assert_int_equal(len, 0);
  }
  assert_int_equal(mproc_queue_task_done(q), MPROC_EINVAL); /* not joinable */
  assert_int_equal(mproc_queue_join(q, 0), MPROC_EINVAL);
  mproc_queue_free(q);
  assert_int_equal(mproc_queue_open(&q, "mp-no-such-queue"), MPROC_ENOENT);
  assert_null(q);
  mproc_queue_free(NULL);
}

static void test_maxsize(void **state) {
  mproc_queue *q = NULL;
  mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
  char buf[8];
  size_t len;
  (void)state;
  o.maxsize = 2;
  assert_int_equal(mproc_queue_new(&q, &o), 0);
  assert_int_equal(mproc_queue_put(q, "a", 1, 0), 0);
  assert_int_equal(mproc_queue_put(q, "b", 1, 0), 0);
  assert_int_equal(mproc_queue_full(q), 1);
  assert_int_equal(mproc_queue_put(q, "c", 1, 0), MPROC_EFULL);
  assert_int_equal(mproc_queue_put(q, "c", 1, 0.02), MPROC_EFULL);
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 0), 0);
  assert_int_equal(mproc_queue_put(q, "c", 1, 0), 0);
  mproc_queue_free(q);
  /* A full ring (not maxsize) also gives MPROC_EFULL. */
  o = (mproc_queue_opts)MPROC_QUEUE_OPTS_INIT;
  o.capacity = 4096;
  assert_int_equal(mproc_queue_new(&q, &o), 0);
  {
    char big[900];
    int n = 0;
    memset(big, 'x', sizeof big);
    while (mproc_queue_put(q, big, sizeof big, 0) == 0) n++;
    assert_true(n >= 3 && n <= 4);
    assert_int_equal(mproc_queue_put(q, big, sizeof big, 0), MPROC_EFULL);
  }
  mproc_queue_free(q);
}

static void test_joinable(void **state) {
  mproc_queue *q = NULL;
  mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
  char buf[8];
  size_t len;
  (void)state;
  o.kind = MPROC_JOINABLE_QUEUE;
  assert_int_equal(mproc_queue_new(&q, &o), 0);
  assert_int_equal(mproc_queue_join(q, 0), 0);
  assert_int_equal(mproc_queue_task_done(q), MPROC_ESTATE);
  assert_int_equal(mproc_queue_put(q, "a", 1, 0), 0);
  assert_int_equal(mproc_queue_put(q, "b", 1, 0), 0);
  assert_int_equal(mproc_queue_join(q, 0.02), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 0), 0);
  assert_int_equal(mproc_queue_task_done(q), 0);
  assert_int_equal(mproc_queue_join(q, 0), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 0), 0);
  assert_int_equal(mproc_queue_task_done(q), 0);
  assert_int_equal(mproc_queue_join(q, 0), 0);
  assert_int_equal(mproc_queue_task_done(q), MPROC_ESTATE);
  assert_non_null(strstr(mproc_last_error(), "more times"));
  mproc_queue_free(q);

  o.kind = MPROC_SIMPLE_QUEUE;
  o.maxsize = 1; /* ignored: SimpleQueue has no maxsize */
  assert_int_equal(mproc_queue_new(&q, &o), 0);
  assert_int_equal(mproc_queue_put(q, "a", 1, 0), 0);
  assert_int_equal(mproc_queue_put(q, "b", 1, 0), 0);
  assert_int_equal(mproc_queue_full(q), 0);
  mproc_queue_free(q);
}

int main(int argc, char **argv) {
  const struct CMUnitTest local[] = {
      cmocka_unit_test(test_basics),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_maxsize),
      cmocka_unit_test(test_joinable),
  };
  const struct CMUnitTest procs[] = {
      cmocka_unit_test(test_exit_right_after_put),
      cmocka_unit_test(test_huge_message),
      cmocka_unit_test(test_ring_sized_message),
      cmocka_unit_test(test_many_producers_consumers),
      cmocka_unit_test(test_joinable_across),
      cmocka_unit_test(test_producer_killed_before_commit),
      cmocka_unit_test(test_producer_killed_mid_stream),
      cmocka_unit_test(test_consumer_killed_before_consume),
      cmocka_unit_test(test_consumer_killed_mid_stream),
      cmocka_unit_test(test_get_outputs_after_dead_stream),
      cmocka_unit_test(test_dead_stream_full_ring),
      cmocka_unit_test(test_dead_stream_dead_reader),
      cmocka_unit_test(test_dead_stream_repair_killed),
      cmocka_unit_test(test_close_wakes_blocked),
  };
  int failed = 0;
  const char *only = getenv("MPROC_TEST_ONLY"); /* a CMocka name pattern */
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  if (only && only[0]) cmocka_set_test_filter(only);
  failed += cmocka_run_group_tests_name("queue", local, NULL, NULL);
  failed += TP_RUN_PER_METHOD("queue", procs);
  return failed ? 1 : 0;
}
