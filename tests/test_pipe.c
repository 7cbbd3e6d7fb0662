/* mproc tests: Pipe and Connection in one process — framing, sizes,
 * EBUFSIZE, poll, one-way ends, end of file, no SIGPIPE, waiting on many,
 * bad input — then across processes under every start method
 * (test_pipe_procs.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "test_pipe.h"

unsigned char tpipe_pattern(size_t i, unsigned seed) {
  return (unsigned char)(((i * 2654435761u) >> 13) ^ seed);
}

static void make_pipe(mproc_pipe_kind duplex, mproc_conn **a, mproc_conn **b) {
  assert_int_equal(mproc_pipe(duplex, a, b), 0);
  assert_non_null(*a);
  assert_non_null(*b);
}

static void test_duplex_basics(void **state) {
  mproc_conn *a, *b;
  char buf[64];
  size_t len = 99;
  void *m = NULL;
  (void)state;
  make_pipe(MPROC_PIPE_DUPLEX, &a, &b);
  assert_true(mproc_conn_readable(a) && mproc_conn_writable(a));
  assert_true(mproc_conn_readable(b) && mproc_conn_writable(b));
  assert_true(mproc_conn_handle(a) >= 0);
  assert_int_equal(mproc_conn_send(a, "hello", 5), 0);
  assert_int_equal(mproc_conn_send(a, NULL, 0), 0); /* empty message */
  assert_int_equal(mproc_conn_send(a, "x", 1), 0);
  assert_int_equal(mproc_conn_recv(b, buf, sizeof buf, &len), 0);
  assert_int_equal(len, 5);
  assert_memory_equal(buf, "hello", 5);
  assert_int_equal(mproc_conn_recv(b, NULL, 0, &len), 0);
  assert_int_equal(len, 0);
  assert_int_equal(mproc_conn_recv(b, buf, 1, &len), 0);
  assert_int_equal(len, 1);
  assert_int_equal(buf[0], 'x');
  /* The other way, and recv_alloc of an empty message. */
  assert_int_equal(mproc_conn_send(b, NULL, 0), 0);
  assert_int_equal(mproc_conn_recv_alloc(a, &m, &len), 0);
  assert_null(m);
  assert_int_equal(len, 0);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

static void test_ebufsize_keeps_message(void **state) {
  mproc_conn *a, *b;
  char small[4], big[32];
  size_t len = 0;
  void *m = NULL;
  (void)state;
  make_pipe(MPROC_PIPE_DUPLEX, &a, &b);
  assert_int_equal(mproc_conn_send(a, "0123456789", 10), 0);
  assert_int_equal(mproc_conn_send(a, "next", 4), 0);
  assert_int_equal(mproc_conn_recv(b, small, sizeof small, &len),
                   MPROC_EBUFSIZE);
  assert_int_equal(len, 10);
  assert_int_equal(mproc_conn_recv(b, NULL, 0, &len), MPROC_EBUFSIZE);
  assert_int_equal(len, 10);
  assert_int_equal(mproc_conn_poll(b, 0), 1); /* it is still there */
  assert_int_equal(mproc_conn_recv(b, big, sizeof big, &len), 0);
  assert_int_equal(len, 10);
  assert_memory_equal(big, "0123456789", 10);
  /* EBUFSIZE, then the allocating form takes it. */
  assert_int_equal(mproc_conn_recv(b, small, 2, &len), MPROC_EBUFSIZE);
  assert_int_equal(mproc_conn_recv_alloc(b, &m, &len), 0);
  assert_int_equal(len, 4);
  assert_memory_equal(m, "next", 4);
  mproc_free(m);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

static void test_one_way(void **state) {
  mproc_conn *r, *w;
  char buf[8];
  size_t len;
  (void)state;
  make_pipe(MPROC_PIPE_ONE_WAY, &r, &w);
  assert_true(mproc_conn_readable(r) && !mproc_conn_writable(r));
  assert_true(!mproc_conn_readable(w) && mproc_conn_writable(w));
  assert_int_equal(mproc_conn_send(r, "x", 1), MPROC_EPERM);
  assert_true(strlen(mproc_last_error()) > 0);
  assert_int_equal(mproc_conn_recv(w, buf, sizeof buf, &len), MPROC_EPERM);
  assert_int_equal(mproc_conn_poll(w, 0), MPROC_EPERM);
  assert_int_equal(mproc_conn_send(w, "abc", 3), 0);
  assert_int_equal(mproc_conn_recv(r, buf, sizeof buf, &len), 0);
  assert_int_equal(len, 3);
  assert_memory_equal(buf, "abc", 3);
  mproc_conn_free(r);
  mproc_conn_free(w);
}

static void test_poll_timeouts(void **state) {
  mproc_conn *a, *b;
  double t0;
  char buf[4];
  size_t len;
  (void)state;
  make_pipe(MPROC_PIPE_DUPLEX, &a, &b);
  assert_int_equal(mproc_conn_poll(b, 0), 0);
  assert_int_equal(mproc_conn_poll(b, -1), 0); /* negative: 0, as Python */
  t0 = (double)uv_hrtime() / 1e9;
  assert_int_equal(mproc_conn_poll(b, 0.05), 0);
  assert_true((double)uv_hrtime() / 1e9 - t0 >= 0.045);
  assert_int_equal(mproc_conn_poll(b, NAN), MPROC_EINVAL);
  assert_int_equal(mproc_conn_send(a, "ab", 2), 0);
  assert_int_equal(mproc_conn_poll(b, 0), 1);
  assert_int_equal(mproc_conn_poll(b, MPROC_FOREVER), 1);
  assert_int_equal(mproc_conn_recv(b, buf, sizeof buf, &len), 0);
  assert_int_equal(mproc_conn_poll(b, 0.01), 0);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

/* The peer closes: what it sent still comes, then MPROC_EEOF, every time;
 * sending to it gives MPROC_EEOF, and no SIGPIPE ends the program. */
static void test_eof_on_close(void **state) {
  mproc_conn *a, *b, *r, *w;
  char buf[8];
  size_t len;
  void *m = (void *)1;
  unsigned char *big = malloc(1 << 20);
  (void)state;
  assert_non_null(big);
  memset(big, 7, 1 << 20);
  make_pipe(MPROC_PIPE_DUPLEX, &a, &b);
  assert_int_equal(mproc_conn_send(b, "last", 4), 0);
  assert_int_equal(mproc_conn_close(b), 0);
  assert_int_equal(mproc_conn_poll(a, MPROC_FOREVER), 1);
  assert_int_equal(mproc_conn_recv(a, buf, sizeof buf, &len), 0);
  assert_int_equal(mproc_conn_poll(a, 5), 1); /* EOF is ready too */
  assert_int_equal(mproc_conn_recv(a, buf, sizeof buf, &len), MPROC_EEOF);
  assert_true(strstr(mproc_last_error(), "end of file") != NULL);
  assert_int_equal(mproc_conn_recv_alloc(a, &m, &len), MPROC_EEOF);
  assert_null(m);
  assert_int_equal(mproc_conn_send(a, "x", 1), MPROC_EEOF);
  assert_int_equal(mproc_conn_send(a, big, 1 << 20), MPROC_EEOF);
  mproc_conn_free(a);
  mproc_conn_free(b);
  /* One-way: the reader goes away while the writer writes. */
  make_pipe(MPROC_PIPE_ONE_WAY, &r, &w);
  mproc_conn_free(r);
  assert_int_equal(mproc_conn_send(w, big, 1 << 20), MPROC_EEOF);
  assert_int_equal(mproc_conn_send(w, "x", 1), MPROC_EEOF);
  mproc_conn_free(w);
  free(big);
}

static void test_bad_input(void **state) {
  mproc_conn *a = NULL, *b = NULL;
  char buf[4];
  size_t len;
  void *m;
  mproc_wait_obj o;
  (void)state;
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, NULL, &b), MPROC_EINVAL);
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &a, NULL), MPROC_EINVAL);
  make_pipe(MPROC_PIPE_DUPLEX, &a, &b);
  assert_int_equal(mproc_conn_send(NULL, "x", 1), MPROC_EINVAL);
  assert_int_equal(mproc_conn_send(a, NULL, 3), MPROC_EINVAL);
  assert_true(strstr(mproc_last_error(), "NULL") != NULL);
  assert_int_equal(mproc_conn_recv(NULL, buf, 4, &len), MPROC_EINVAL);
  assert_int_equal(mproc_conn_recv(b, NULL, 4, &len), MPROC_EINVAL);
  assert_int_equal(mproc_conn_recv(b, buf, 4, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_conn_recv_alloc(b, NULL, &len), MPROC_EINVAL);
  assert_int_equal(mproc_conn_recv_alloc(b, &m, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_conn_poll(NULL, 0), MPROC_EINVAL);
  assert_int_equal(mproc_conn_close(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_conn_wait(NULL, 1, 0), MPROC_EINVAL);
  assert_int_equal(mproc_conn_wait(NULL, 0, 0), MPROC_ETIMEDOUT);
  memset(&o, 0, sizeof o);
  o.conn = a;
  assert_int_equal(mproc_conn_wait(&o, 1, NAN), MPROC_EINVAL);
  {
    mproc_wait_obj twice[2];
    memset(twice, 0, sizeof twice);
    twice[0].conn = twice[1].conn = a;
    assert_int_equal(mproc_conn_wait(twice, 2, 0), MPROC_EINVAL);
    assert_true(strstr(mproc_last_error(), "twice") != NULL);
    assert_int_equal(mproc_conn_wait(twice, 1, 0), MPROC_ETIMEDOUT);
  }
  assert_int_equal(mproc_conn_inherited(0, NULL), MPROC_EINVAL);
  {
    mproc_conn *none = a;
    assert_int_equal(mproc_conn_inherited(0, &none), MPROC_ENOENT);
    assert_null(none);
  }
  assert_int_equal(mproc_inherited_count(), 0);
  /* After close: ECLOSED everywhere; closing again is harmless. */
  assert_int_equal(mproc_conn_close(b), 0);
  assert_int_equal(mproc_conn_close(b), 0);
  assert_int_equal(mproc_conn_send(b, "x", 1), MPROC_ECLOSED);
  assert_int_equal(mproc_conn_recv(b, buf, 4, &len), MPROC_ECLOSED);
  assert_int_equal(mproc_conn_recv_alloc(b, &m, &len), MPROC_ECLOSED);
  assert_int_equal(mproc_conn_poll(b, 0), MPROC_ECLOSED);
  assert_true(strstr(mproc_last_error(), "closed") != NULL);
  assert_int_equal(mproc_conn_handle(b), MPROC_NO_HANDLE);
  o.conn = b;
  assert_int_equal(mproc_conn_wait(&o, 1, 0), MPROC_ECLOSED);
  mproc_conn_free(b);
  mproc_conn_free(a);
  mproc_conn_free(NULL);
  /* A send-only end cannot be waited on. */
  make_pipe(MPROC_PIPE_ONE_WAY, &a, &b);
  o.conn = b;
  assert_int_equal(mproc_conn_wait(&o, 1, 0), MPROC_EINVAL);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

static int t_never_started(const void *arg, size_t len) {
  (void)arg, (void)len;
  return 0;
}
MPROC_TASK(t_never_started);

/* Passing ends: the checks at mproc_process_new and at start. */
static void test_pass_bad_input(void **state) {
  mproc_conn *a, *b;
  mproc_pass many[MPROC_PASS_MAX + 1], nul[1] = {{MPROC_KIND_CONN, NULL}};
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_process *p = NULL;
  char buf[2];
  size_t len, i;
  (void)state;
  make_pipe(MPROC_PIPE_DUPLEX, &a, &b);
  o.n_pass = 1;
  assert_int_equal(mproc_process_new(&p, t_never_started, NULL, 0, &o),
                   MPROC_EINVAL); /* pass NULL */
  o.pass = nul;
  assert_int_equal(mproc_process_new(&p, t_never_started, NULL, 0, &o),
                   MPROC_EINVAL); /* a NULL end */
  for (i = 0; i <= MPROC_PASS_MAX; i++) many[i] = MPROC_PASS(a);
  o.pass = many;
  o.n_pass = MPROC_PASS_MAX + 1;
  assert_int_equal(mproc_process_new(&p, t_never_started, NULL, 0, &o),
                   MPROC_ERANGE);
  o.n_pass = 2; /* the same end twice */
  assert_int_equal(mproc_process_new(&p, t_never_started, NULL, 0, &o),
                   MPROC_EINVAL);
  /* An end holding a message back (EBUFSIZE) cannot be passed; a closed
   * one neither. Nothing is started. */
  many[0] = MPROC_PASS(b);
  o.pass = many;
  o.n_pass = 1;
  assert_int_equal(mproc_process_new(&p, t_never_started, NULL, 0, &o), 0);
  assert_int_equal(mproc_conn_send(a, "abc", 3), 0);
  assert_int_equal(mproc_conn_recv(b, buf, sizeof buf, &len), MPROC_EBUFSIZE);
  assert_int_equal(mproc_process_start(p), MPROC_ESTATE);
  mproc_conn_close(b);
  assert_int_equal(mproc_process_start(p), MPROC_ECLOSED);
  mproc_process_free(p);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

#define MANY 200

/* 200 pipes at once: exactly the ones written to are reported, on every
 * platform (Windows waits past its 64-handle limit). */
static void test_wait_many(void **state) {
  mproc_conn *r[MANY], *w[MANY];
  mproc_wait_obj o[MANY];
  char buf[8];
  size_t len, i;
  int round;
  (void)state;
  for (i = 0; i < MANY; i++) make_pipe(MPROC_PIPE_DUPLEX, &r[i], &w[i]);
  memset(o, 0, sizeof o);
  for (i = 0; i < MANY; i++) o[i].conn = r[i];
  assert_int_equal(mproc_conn_wait(o, MANY, 0.02), MPROC_ETIMEDOUT);
  for (i = 0; i < MANY; i++) assert_int_equal(o[i].ready, 0);
  for (round = 0; round < 3; round++) {
    int want = 0;
    for (i = 0; i < MANY; i++)
      if (i % 7 == (size_t)round || i == MANY - 1 - (size_t)round) {
        assert_int_equal(mproc_conn_send(w[i], "hi", 2), 0);
        want++;
      }
    assert_int_equal(mproc_conn_wait(o, MANY, MPROC_FOREVER), want);
    for (i = 0; i < MANY; i++) {
      int expect = i % 7 == (size_t)round || i == MANY - 1 - (size_t)round;
      assert_int_equal(o[i].ready, expect);
      if (expect) assert_int_equal(mproc_conn_recv(r[i], buf, 8, &len), 0);
    }
  }
  /* A held message (EBUFSIZE) and an end of file count as ready. */
  assert_int_equal(mproc_conn_send(w[5], "abcdef", 6), 0);
  assert_int_equal(mproc_conn_recv(r[5], buf, 2, &len), MPROC_EBUFSIZE);
  mproc_conn_close(w[150]);
  assert_int_equal(mproc_conn_wait(o, MANY, 10), 2);
  assert_int_equal(o[5].ready, 1);
  assert_int_equal(o[150].ready, 1);
  for (i = 0; i < MANY; i++) {
    mproc_conn_free(r[i]);
    mproc_conn_free(w[i]);
  }
}

typedef struct echo_job {
  mproc_conn *c;
  int rounds;
  int failed;
} echo_job;

static void echo_thread(void *arg) {
  echo_job *j = arg;
  char buf[64];
  size_t len;
  int i;
  for (i = 0; i < j->rounds; i++) {
    if (mproc_conn_recv(j->c, buf, sizeof buf, &len) != 0 ||
        mproc_conn_send(j->c, buf, len) != 0)
      j->failed++;
  }
}

/* Ping-pong with a thread, and one thread sending while another receives
 * on the same end (allowed, as in Python). */
static void test_threads(void **state) {
  mproc_conn *a, *b;
  echo_job j;
  uv_thread_t t;
  char buf[64];
  size_t len;
  int i;
  (void)state;
  make_pipe(MPROC_PIPE_DUPLEX, &a, &b);
  j.c = b;
  j.rounds = 1000;
  j.failed = 0;
  assert_int_equal(uv_thread_create(&t, echo_thread, &j), 0);
  for (i = 0; i < 1000; i++) {
    assert_int_equal(mproc_conn_send(a, &i, sizeof i), 0);
    assert_int_equal(mproc_conn_recv(a, buf, sizeof buf, &len), 0);
    assert_int_equal(len, sizeof i);
    assert_memory_equal(buf, &i, sizeof i);
  }
  uv_thread_join(&t);
  assert_int_equal(j.failed, 0);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

/* A sender of one 1 MiB message and then small ones. */
static void big_sender(void *arg) {
  mproc_conn *c = arg;
  size_t n = (size_t)1 << 20;
  char *m = malloc(n);
  int i;
  if (m == NULL) return;
  memset(m, 'A', n);
  if (mproc_conn_send(c, m, n) == 0)
    for (i = 0; i < 1000; i++)
      if (mproc_conn_send(c, "tail", 4) != 0) break;
  mproc_free(m);
}

/* The caller's own poll loop may make the handle non-blocking: messages
 * still arrive whole (the library waits where a read would block). */
static void test_nonblocking_handle(void **state) {
  mproc_conn *a, *b;
  uv_thread_t t;
  void *out;
  size_t len;
  int i;
  (void)state;
  make_pipe(MPROC_PIPE_DUPLEX, &a, &b);
  if (tu_set_nonblocking((intptr_t)mproc_conn_handle(a)) != 0) {
    mproc_conn_free(a);
    mproc_conn_free(b);
    skip();
  }
  assert_int_equal(uv_thread_create(&t, big_sender, b), 0);
  assert_int_equal(mproc_conn_recv_alloc(a, &out, &len), 0);
  assert_int_equal(len, (size_t)1 << 20);
  assert_null(memchr(out, 't', len));
  mproc_free(out);
  for (i = 0; i < 1000; i++) {
    char buf[8];
    assert_int_equal(mproc_conn_recv(a, buf, sizeof buf, &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, "tail", 4);
  }
  uv_thread_join(&t);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

typedef struct waiter_job {
  mproc_conn *c;
  int rc;
} waiter_job;

static void waiter(void *arg) {
  waiter_job *j = arg;
  mproc_wait_obj o;
  memset(&o, 0, sizeof o);
  o.conn = j->c;
  do /* refused while the main thread's own short wait lists it */
    j->rc = mproc_conn_wait(&o, 1, 30.0);
  while (j->rc == MPROC_EINVAL);
}

/* A connection another thread is waiting on cannot be waited on again
 * (a clear error, not a shared OS wait). */
static void test_wait_from_two_threads(void **state) {
  mproc_conn *a, *b;
  mproc_wait_obj o;
  waiter_job j;
  uv_thread_t t;
  int i, rc = 0;
  (void)state;
  make_pipe(MPROC_PIPE_DUPLEX, &a, &b);
  j.c = a;
  j.rc = 0;
  assert_int_equal(uv_thread_create(&t, waiter, &j), 0);
  memset(&o, 0, sizeof o);
  o.conn = a;
  /* Until the thread is inside its wait, ours may still succeed (times
   * out); once it is, ours is refused. */
  for (i = 0; i < 500 && rc != MPROC_EINVAL; i++) {
    rc = mproc_conn_wait(&o, 1, 0.0);
    if (rc != MPROC_EINVAL) {
      assert_int_equal(rc, MPROC_ETIMEDOUT);
      tu_sleep_ms(2);
    }
  }
  assert_int_equal(rc, MPROC_EINVAL);
  assert_int_equal(mproc_conn_send(b, "x", 1), 0);
  uv_thread_join(&t);
  assert_int_equal(j.rc, 1);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

int main(int argc, char **argv) {
  const struct CMUnitTest local[] = {
      cmocka_unit_test(test_duplex_basics),
      cmocka_unit_test(test_ebufsize_keeps_message),
      cmocka_unit_test(test_one_way),
      cmocka_unit_test(test_poll_timeouts),
      cmocka_unit_test(test_eof_on_close),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_pass_bad_input),
      cmocka_unit_test(test_wait_many),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_nonblocking_handle),
      cmocka_unit_test(test_wait_from_two_threads),
  };
  const struct CMUnitTest procs[] = {
      cmocka_unit_test(test_child_sends_sizes),
      cmocka_unit_test(test_two_one_way_ends),
      cmocka_unit_test(test_eof_on_child_exit),
      cmocka_unit_test(test_eof_on_child_killed),
      cmocka_unit_test(test_no_leak_of_unpassed),
      cmocka_unit_test(test_no_leak_to_grandchild),
      cmocka_unit_test(test_wait_with_sentinels),
  };
  int failed = 0;
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  failed += cmocka_run_group_tests_name("pipe", local, NULL, NULL);
  failed += TP_RUN_PER_METHOD("pipe", procs);
  return failed ? 1 : 0;
}
