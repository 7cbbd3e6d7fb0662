/* mproc tests: connections passed to children under every start method —
 * messages of 0 bytes to 64 MiB, one-way ends, end of file when the child
 * exits or is killed, ends that were not passed stay out of the child,
 * and waiting on connections and process sentinels together. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "test_pipe.h"

#define BIG ((size_t)64 << 20)

/* Start fn with g_method, passing n connections. */
static mproc_process *start_with(mproc_target fn, mproc_conn **conns,
                                 size_t n) {
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_pass pass[MPROC_PASS_MAX];
  size_t i;
  for (i = 0; i < n && i < MPROC_PASS_MAX; i++) pass[i] = MPROC_PASS(conns[i]);
  o.pass = pass;
  o.n_pass = n;
  return tp_start_with(fn, NULL, 0, &o);
}

static mproc_conn *take(size_t i) {
  mproc_conn *c = NULL;
  if (mproc_conn_inherited(i, &c) != 0) {
    fprintf(stderr, "inherited(%zu): %s\n", i, mproc_last_error());
    return NULL;
  }
  return c;
}

/* ---- sizes: 0 bytes, 1 byte, 64 MiB ----------------------------------------- */

static int t_send_sizes(const void *arg, size_t len) {
  mproc_conn *c = take(0), *again = NULL;
  unsigned char *m = malloc(BIG);
  size_t i;
  (void)arg, (void)len;
  CHILD_CHECK(c != NULL && m != NULL);
  CHILD_CHECK(mproc_inherited_count() == 1);
  CHILD_CHECK(mproc_conn_inherited(0, &again) == MPROC_ESTATE);
  CHILD_CHECK(mproc_conn_inherited(1, &again) == MPROC_ENOENT);
  for (i = 0; i < BIG; i++) m[i] = tpipe_pattern(i, 5);
  CHILD_CHECK(mproc_conn_send(c, NULL, 0) == 0);
  CHILD_CHECK(mproc_conn_send(c, "z", 1) == 0);
  CHILD_CHECK(mproc_conn_send(c, m, BIG) == 0);
  CHILD_CHECK(mproc_conn_send(c, "end", 3) == 0);
  free(m);
  mproc_conn_free(c);
  return 0;
}
MPROC_TASK(t_send_sizes);

void test_child_sends_sizes(void **state) {
  mproc_conn *mine, *theirs;
  mproc_process *p;
  unsigned char *m = NULL;
  char buf[8];
  size_t len = 99, i, bad = 0;
  (void)state;
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &mine, &theirs), 0);
  p = start_with(t_send_sizes, &theirs, 1);
  mproc_conn_free(theirs);
  assert_int_equal(mproc_conn_recv(mine, buf, sizeof buf, &len), 0);
  assert_int_equal(len, 0);
  assert_int_equal(mproc_conn_recv(mine, buf, sizeof buf, &len), 0);
  assert_int_equal(len, 1);
  assert_int_equal(buf[0], 'z');
  assert_int_equal(mproc_conn_recv(mine, buf, sizeof buf, &len),
                   MPROC_EBUFSIZE);
  assert_int_equal(len, BIG);
  assert_int_equal(mproc_conn_recv_alloc(mine, (void **)&m, &len), 0);
  assert_int_equal(len, BIG);
  for (i = 0; i < BIG; i++) bad += m[i] != tpipe_pattern(i, 5);
  assert_int_equal(bad, 0);
  mproc_free(m);
  assert_int_equal(mproc_conn_recv(mine, buf, sizeof buf, &len), 0);
  assert_memory_equal(buf, "end", 3);
  assert_int_equal(mproc_conn_recv(mine, buf, sizeof buf, &len), MPROC_EEOF);
  assert_int_equal(tp_join(p), 0);
  mproc_conn_free(mine);
}

/* ---- two one-way ends: the child echoes from one into the other ------------ */

static int t_echo(const void *arg, size_t len) {
  mproc_conn *in = take(0), *out = take(1);
  char buf[64];
  size_t n;
  int rc;
  (void)arg, (void)len;
  CHILD_CHECK(in != NULL && out != NULL);
  CHILD_CHECK(mproc_conn_readable(in) && !mproc_conn_writable(in));
  CHILD_CHECK(!mproc_conn_readable(out) && mproc_conn_writable(out));
  while ((rc = mproc_conn_recv(in, buf, sizeof buf, &n)) == 0)
    CHILD_CHECK(mproc_conn_send(out, buf, n) == 0);
  CHILD_CHECK(rc == MPROC_EEOF);
  mproc_conn_free(in);
  mproc_conn_free(out);
  return 7;
}
MPROC_TASK(t_echo);

void test_two_one_way_ends(void **state) {
  mproc_conn *to_r, *to_w, *from_r, *from_w, *pass[2];
  mproc_process *p;
  char buf[64];
  size_t len;
  int i;
  (void)state;
  assert_int_equal(mproc_pipe(MPROC_PIPE_ONE_WAY, &to_r, &to_w), 0);
  assert_int_equal(mproc_pipe(MPROC_PIPE_ONE_WAY, &from_r, &from_w), 0);
  pass[0] = to_r;
  pass[1] = from_w;
  p = start_with(t_echo, pass, 2);
  mproc_conn_free(to_r);
  mproc_conn_free(from_w);
  for (i = 0; i < 100; i++) {
    char want[32];
    snprintf(want, sizeof want, "message %d", i);
    assert_int_equal(mproc_conn_send(to_w, want, strlen(want)), 0);
    assert_int_equal(mproc_conn_recv(from_r, buf, sizeof buf, &len), 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
  }
  mproc_conn_free(to_w); /* the child sees EOF and returns */
  assert_int_equal(mproc_conn_recv(from_r, buf, sizeof buf, &len),
                   MPROC_EEOF);
  assert_int_equal(tp_join(p), 7);
  mproc_conn_free(from_r);
}

/* ---- end of file when the child exits or is killed --------------------------- */

static int t_take_and_return(const void *arg, size_t len) {
  mproc_conn *c = take(0);
  (void)arg, (void)len;
  CHILD_CHECK(c != NULL);
  return 0; /* no close: the OS closes it at exit */
}
MPROC_TASK(t_take_and_return);

void test_eof_on_child_exit(void **state) {
  mproc_conn *mine, *theirs;
  mproc_process *p;
  char buf[8];
  size_t len;
  (void)state;
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &mine, &theirs), 0);
  p = start_with(t_take_and_return, &theirs, 1);
  mproc_conn_free(theirs);
  assert_int_equal(mproc_conn_recv(mine, buf, sizeof buf, &len), MPROC_EEOF);
  assert_int_equal(mproc_conn_poll(mine, 10), 1);
  assert_int_equal(mproc_conn_send(mine, "x", 1), MPROC_EEOF);
  assert_int_equal(tp_join(p), 0);
  mproc_conn_free(mine);
}

static int t_ready_then_block(const void *arg, size_t len) {
  mproc_conn *c = take(0);
  char buf[8];
  size_t n;
  (void)arg, (void)len;
  CHILD_CHECK(c != NULL);
  CHILD_CHECK(mproc_conn_send(c, "ready", 5) == 0);
  (void)mproc_conn_recv(c, buf, sizeof buf, &n); /* never sent: killed */
  return 3;
}
MPROC_TASK(t_ready_then_block);

typedef struct killer {
  mproc_process *p;
  int rc;
} killer;

static void kill_soon(void *arg) {
  killer *k = arg;
  tu_sleep_ms(100); /* let the main thread block in recv (either way works) */
  k->rc = mproc_process_kill(k->p);
}

void test_eof_on_child_killed(void **state) {
  mproc_conn *mine, *theirs;
  killer k;
  uv_thread_t t;
  char buf[8];
  size_t len;
  (void)state;
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &mine, &theirs), 0);
  k.p = start_with(t_ready_then_block, &theirs, 1);
  k.rc = -1000;
  mproc_conn_free(theirs);
  assert_int_equal(mproc_conn_recv(mine, buf, sizeof buf, &len), 0);
  assert_int_equal(uv_thread_create(&t, kill_soon, &k), 0);
  assert_int_equal(mproc_conn_recv(mine, buf, sizeof buf, &len), MPROC_EEOF);
  uv_thread_join(&t);
  assert_int_equal(k.rc, 0);
  assert_int_equal(tp_join(k.p), -9);
  mproc_conn_free(mine);
}

/* ---- an end not passed stays out of the child --------------------------------
 * (under fork too: the fork child closes the copies it was not given) */

/* Set by the parent: a fork child has a copy of the object, closed. */
static mproc_conn *g_unpassed;

static int t_wait_for_quit(const void *arg, size_t len) {
  mproc_conn *c = take(0);
  char buf[8];
  size_t n;
  (void)arg, (void)len;
  CHILD_CHECK(c != NULL && mproc_inherited_count() == 1);
  if (g_unpassed) /* fork: the parent's objects read as closed */
    CHILD_CHECK(mproc_conn_send(g_unpassed, "x", 1) == MPROC_ECLOSED);
  CHILD_CHECK(mproc_conn_recv(c, buf, sizeof buf, &n) == 0);
  mproc_conn_free(c);
  return 0;
}
MPROC_TASK(t_wait_for_quit);

void test_no_leak_of_unpassed(void **state) {
  mproc_conn *mine, *theirs, *x, *y;
  mproc_process *p;
  (void)state;
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &mine, &theirs), 0);
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &x, &y), 0);
  g_unpassed = x;
  p = start_with(t_wait_for_quit, &theirs, 1);
  g_unpassed = NULL;
  mproc_conn_free(theirs);
  /* Had the child got a copy of y, x would not see EOF while it runs. */
  mproc_conn_free(y);
  assert_int_equal(mproc_conn_poll(x, 10), 1);
  assert_int_equal(mproc_conn_send(mine, "quit", 4), 0);
  assert_int_equal(tp_join(p), 0);
  mproc_conn_free(x);
  mproc_conn_free(mine);
}

/* An end given to a child but not taken yet stays out of that child's own
 * fork children (they would keep it open: no EOF for its peer). */
static int t_sleep_long(const void *arg, size_t len) {
  (void)arg, (void)len;
  tu_sleep_ms(20000);
  return 0;
}
MPROC_TASK(t_sleep_long);

static int t_fork_then_take(const void *arg, size_t len) {
  mproc_process *g = NULL;
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_conn *c;
  (void)arg, (void)len;
  o.method = MPROC_START_FORK;
  o.daemon = 1; /* terminated when we return */
  CHILD_CHECK(mproc_process_new(&g, t_sleep_long, NULL, 0, &o) == 0);
  CHILD_CHECK(mproc_process_start(g) == 0);
  c = take(0);
  CHILD_CHECK(c != NULL);
  CHILD_CHECK(mproc_conn_send(c, "hi", 2) == 0);
  mproc_conn_free(c);
  tu_sleep_ms(3000); /* the parent checks for EOF meanwhile */
  mproc_process_free(g);
  return 0;
}
MPROC_TASK(t_fork_then_take);

void test_no_leak_to_grandchild(void **state) {
  mproc_conn *mine, *theirs;
  mproc_process *p;
  char buf[8];
  size_t len;
  (void)state;
  if (!mproc_start_method_supported(MPROC_START_FORK)) skip();
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &mine, &theirs), 0);
  p = start_with(t_fork_then_take, &theirs, 1);
  mproc_conn_free(theirs);
  assert_int_equal(mproc_conn_recv(mine, buf, sizeof buf, &len), 0);
  /* The child freed its end: EOF now, while its fork child still runs. */
  assert_int_equal(mproc_conn_poll(mine, 2.0), 1);
  assert_int_equal(mproc_conn_recv(mine, buf, sizeof buf, &len), MPROC_EEOF);
  assert_int_equal(tp_join(p), 0);
  mproc_conn_free(mine);
}

/* ---- waiting on connections and sentinels together ---------------------------- */

static int t_send_one(const void *arg, size_t len) {
  mproc_conn *c = take(0);
  char buf[8];
  size_t n;
  (void)arg, (void)len;
  CHILD_CHECK(c != NULL);
  CHILD_CHECK(mproc_conn_recv(c, buf, sizeof buf, &n) == 0); /* go */
  CHILD_CHECK(mproc_conn_send(c, "done", 4) == 0);
  CHILD_CHECK(mproc_conn_recv(c, buf, sizeof buf, &n) == MPROC_EEOF);
  return 0;
}
MPROC_TASK(t_send_one);

static int t_return_5(const void *arg, size_t len) {
  (void)arg, (void)len;
  return mproc_inherited_count() == 0 ? 5 : 98;
}
MPROC_TASK(t_return_5);

#define NCONN 100

void test_wait_with_sentinels(void **state) {
  mproc_conn *r[NCONN], *w[NCONN], *mine, *theirs;
  mproc_wait_obj o[NCONN + 2];
  mproc_process *talker, *quitter;
  size_t i;
  char buf[8];
  size_t len;
  (void)state;
  for (i = 0; i < NCONN; i++) assert_int_equal(mproc_pipe(MPROC_PIPE_ONE_WAY, &r[i], &w[i]), 0);
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &mine, &theirs), 0);
  talker = start_with(t_send_one, &theirs, 1);
  mproc_conn_free(theirs);
  memset(o, 0, sizeof o);
  for (i = 0; i < NCONN; i++) o[i].conn = r[i];
  o[NCONN].conn = mine;
  o[NCONN + 1].handle = mproc_process_sentinel(talker);
  assert_int_equal(mproc_conn_wait(o, NCONN + 2, 0.05), MPROC_ETIMEDOUT);
  /* The talker answers: its connection alone is ready. */
  assert_int_equal(mproc_conn_send(mine, "go", 2), 0);
  assert_int_equal(mproc_conn_wait(o, NCONN + 2, 30), 1);
  assert_int_equal(o[NCONN].ready, 1);
  assert_int_equal(mproc_conn_recv(mine, buf, sizeof buf, &len), 0);
  assert_memory_equal(buf, "done", 4);
  /* An EOF in the list, a child that ends at once, and the talker, which
   * ends once we close our end: exactly those become ready. */
  assert_int_equal(mproc_conn_close(w[3]), 0);
  quitter = start_with(t_return_5, NULL, 0);
  assert_int_equal(mproc_conn_close(mine), 0);
  o[NCONN].conn = NULL;
  o[NCONN].handle = mproc_process_sentinel(quitter);
  o[NCONN + 1].handle = mproc_process_sentinel(talker);
  for (;;) {
    int n = mproc_conn_wait(o, NCONN + 2, 30);
    assert_true(n >= 1);
    for (i = 0; i < NCONN; i++) assert_int_equal(o[i].ready, i == 3);
    if (o[NCONN].ready && o[NCONN + 1].ready) break;
    /* One child has ended, the other is still on its way out: wait for
     * the rest alone. */
  }
  assert_int_equal(tp_join(talker), 0);
  assert_int_equal(tp_join(quitter), 5);
  for (i = 0; i < NCONN; i++) {
    mproc_conn_free(r[i]);
    mproc_conn_free(w[i]);
  }
  mproc_conn_free(mine);
}
