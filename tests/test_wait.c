/* mproc tests: the handle waits (mproc_wait_handles, mproc_conn_wait) and
 * the wake-up object — invalid handles refused at once, MPROC_NO_HANDLE,
 * a wake-up signalled from another thread and from a signal handler
 * (POSIX) while a wait on sentinels and connections blocks, more than 64
 * handles (Windows: the helper pool) from several threads at once,
 * coalescing and draining. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "mproc.h"
#include "procs.h"
#include "util.h"

#ifndef _WIN32
#include <pthread.h>
#include <signal.h>
#endif

/* Seconds since t0 (uv_hrtime). */
static double since(uint64_t t0) { return (double)(uv_hrtime() - t0) / 1e9; }

/* ---- the wake-up object alone --------------------------------------------------- */

static int ready1(mproc_handle h, double timeout) {
  unsigned char r = 0;
  int rc = mproc_wait_handles(&h, 1, timeout, &r);
  return rc == 1 ? (int)r : rc;
}

static void test_wakeup_basics(void **state) {
  mproc_wakeup *w;
  int i;
  (void)state;
  assert_int_equal(mproc_wakeup_new(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_wakeup_signal(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_wakeup_clear(NULL), MPROC_EINVAL);
  assert_true(mproc_wakeup_handle(NULL) == MPROC_NO_HANDLE);
  mproc_wakeup_free(NULL);

  assert_int_equal(mproc_wakeup_new(&w), 0);
  assert_true(mproc_wakeup_handle(w) != MPROC_NO_HANDLE);
  assert_int_equal(ready1(mproc_wakeup_handle(w), 0), MPROC_ETIMEDOUT);
  assert_int_equal(ready1(mproc_wakeup_handle(w), 0.02), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_wakeup_clear(w), 0);
  /* Many signals: one ready state, which stays until clear. */
  for (i = 0; i < 1000; i++) assert_int_equal(mproc_wakeup_signal(w), 0);
  assert_int_equal(ready1(mproc_wakeup_handle(w), 0), 1);
  assert_int_equal(ready1(mproc_wakeup_handle(w), MPROC_FOREVER), 1);
  assert_int_equal(mproc_wakeup_clear(w), 1);
  assert_int_equal(ready1(mproc_wakeup_handle(w), 0), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_wakeup_clear(w), 0);
  /* After a clear, a signal is seen again, every time. */
  for (i = 0; i < 100; i++) {
    assert_int_equal(mproc_wakeup_signal(w), 0);
    assert_int_equal(ready1(mproc_wakeup_handle(w), 0), 1);
    assert_int_equal(mproc_wakeup_clear(w), 1);
    assert_int_equal(ready1(mproc_wakeup_handle(w), 0), MPROC_ETIMEDOUT);
  }
  mproc_wakeup_free(w);
}

typedef struct signaller {
  mproc_wakeup *w;
  int delay_ms; /* to let the waiter block first (either way works) */
  int times;
} signaller;

static void signal_main(void *arg) {
  signaller *s = arg;
  int i;
  if (s->delay_ms) tu_sleep_ms(s->delay_ms);
  for (i = 0; i < s->times; i++) mproc_wakeup_signal(s->w);
}

static void test_wakeup_from_thread(void **state) {
  mproc_wakeup *w;
  signaller s;
  uv_thread_t t;
  int round;
  (void)state;
  assert_int_equal(mproc_wakeup_new(&w), 0);
  for (round = 0; round < 5; round++) {
    s.w = w;
    s.delay_ms = round == 0 ? 50 : 0;
    s.times = 1 + round * 100;
    assert_int_equal(uv_thread_create(&t, signal_main, &s), 0);
    assert_int_equal(ready1(mproc_wakeup_handle(w), MPROC_FOREVER), 1);
    assert_int_equal(uv_thread_join(&t), 0);
    assert_int_equal(mproc_wakeup_clear(w), 1);
    assert_int_equal(ready1(mproc_wakeup_handle(w), 0), MPROC_ETIMEDOUT);
  }
  mproc_wakeup_free(w);
}

/* Four threads signal 10000 times each while a fifth clears in a loop:
 * afterwards one clear finds it set (the last signals came after the
 * clearer's last clear, or were consumed by it and then the final signal
 * below), and the object then rests. */
typedef struct clearer {
  mproc_wakeup *w;
  atomic_int stop;
} clearer;

static void clear_main(void *arg) {
  clearer *c = arg;
  while (!atomic_load(&c->stop)) mproc_wakeup_clear(c->w);
}

static void test_wakeup_coalesce_threads(void **state) {
  mproc_wakeup *w;
  signaller s;
  clearer c;
  uv_thread_t t[4], ct;
  int i;
  (void)state;
  assert_int_equal(mproc_wakeup_new(&w), 0);
  s.w = w;
  s.delay_ms = 0;
  s.times = 10000;
  c.w = w;
  atomic_init(&c.stop, 0);
  assert_int_equal(uv_thread_create(&ct, clear_main, &c), 0);
  for (i = 0; i < 4; i++)
    assert_int_equal(uv_thread_create(&t[i], signal_main, &s), 0);
  for (i = 0; i < 4; i++) assert_int_equal(uv_thread_join(&t[i]), 0);
  atomic_store(&c.stop, 1);
  assert_int_equal(uv_thread_join(&ct), 0);
  /* Whatever the race left, one signal after all clears is seen. */
  assert_int_equal(mproc_wakeup_signal(w), 0);
  assert_int_equal(ready1(mproc_wakeup_handle(w), 0), 1);
  assert_int_equal(mproc_wakeup_clear(w), 1);
  assert_int_equal(ready1(mproc_wakeup_handle(w), 0), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_wakeup_clear(w), 0);
  mproc_wakeup_free(w);
}

/* ---- invalid handles: MPROC_EINVAL at once, even with MPROC_FOREVER ---------- */

/* Both waits refuse `bad` at index `at` of n (the others idle wake-ups). */
static void expect_refused(mproc_handle bad, size_t n, size_t at) {
  mproc_wakeup *idle[100];
  mproc_handle h[100];
  unsigned char ready[100];
  mproc_wait_obj o[100];
  uint64_t t0;
  size_t i;
  assert_true(n <= 100 && at < n);
  memset(o, 0, sizeof o);
  for (i = 0; i < n; i++) {
    idle[i] = NULL;
    if (i != at) assert_int_equal(mproc_wakeup_new(&idle[i]), 0);
    h[i] = i == at ? bad : mproc_wakeup_handle(idle[i]);
    o[i].handle = h[i];
  }
  t0 = uv_hrtime();
  assert_int_equal(mproc_wait_handles(h, n, MPROC_FOREVER, ready),
                   MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "handle"));
  assert_int_equal(mproc_conn_wait(o, n, MPROC_FOREVER), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "handle"));
  assert_true(since(t0) < 10.0);
  for (i = 0; i < n; i++) mproc_wakeup_free(idle[i]);
}

static void test_invalid_handles(void **state) {
  mproc_wakeup *w;
  mproc_conn *a, *b;
  mproc_handle closed;
  (void)state;
  expect_refused(-1, 1, 0);
  expect_refused(-1, 3, 1);
  expect_refused(-2, 1, 0);
  expect_refused(MPROC_NO_HANDLE, 1, 0);
  expect_refused(MPROC_NO_HANDLE, 100, 90); /* past 64: Windows' helpers */
  /* A closed connection's handle is MPROC_NO_HANDLE. */
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &a, &b), 0);
  assert_int_equal(mproc_conn_close(a), 0);
  assert_true(mproc_conn_handle(a) == MPROC_NO_HANDLE);
  expect_refused(mproc_conn_handle(a), 2, 0);
  mproc_conn_free(a);
  mproc_conn_free(b);
  /* A closed descriptor / HANDLE: the last one this thread freed, before
   * anything reuses its number. */
  assert_int_equal(mproc_wakeup_new(&w), 0);
  closed = mproc_wakeup_handle(w);
  mproc_wakeup_free(w);
  {
    unsigned char r;
    uint64_t t0 = uv_hrtime();
    mproc_wait_obj o;
    assert_int_equal(mproc_wait_handles(&closed, 1, MPROC_FOREVER, &r),
                     MPROC_EINVAL);
    memset(&o, 0, sizeof o);
    o.handle = closed;
    assert_int_equal(mproc_conn_wait(&o, 1, MPROC_FOREVER), MPROC_EINVAL);
    assert_true(since(t0) < 10.0);
  }
#ifdef _WIN32
  expect_refused(0, 1, 0); /* NULL is no HANDLE (on POSIX 0 is stdin) */
#endif
}

/* ---- more than 64 handles ------------------------------------------------------- */

#define MANY 200

static void test_many_handles(void **state) {
  static const size_t hot[] = {0, 62, 63, 64, 126, 127, 150, 199};
  mproc_wakeup *w[MANY];
  mproc_handle h[MANY];
  unsigned char ready[MANY];
  signaller s;
  uv_thread_t t;
  size_t i, k;
  (void)state;
  for (i = 0; i < MANY; i++) {
    assert_int_equal(mproc_wakeup_new(&w[i]), 0);
    h[i] = mproc_wakeup_handle(w[i]);
  }
  assert_int_equal(mproc_wait_handles(h, MANY, 0.05, ready), MPROC_ETIMEDOUT);
  for (k = 0; k < sizeof hot / sizeof hot[0]; k++) {
    s.w = w[hot[k]];
    s.delay_ms = k == 0 ? 50 : 0;
    s.times = 1;
    assert_int_equal(uv_thread_create(&t, signal_main, &s), 0);
    assert_int_equal(mproc_wait_handles(h, MANY, MPROC_FOREVER, ready), 1);
    for (i = 0; i < MANY; i++) assert_int_equal(ready[i], i == hot[k]);
    assert_int_equal(uv_thread_join(&t), 0);
    assert_int_equal(mproc_wakeup_clear(w[hot[k]]), 1);
  }
  /* Two at once, in different chunks. */
  mproc_wakeup_signal(w[5]);
  mproc_wakeup_signal(w[190]);
  assert_int_equal(mproc_wait_handles(h, MANY, MPROC_FOREVER, ready), 2);
  assert_int_equal(ready[5] + ready[190], 2);
  mproc_wakeup_clear(w[5]);
  mproc_wakeup_clear(w[190]);
  assert_int_equal(mproc_wait_handles(h, MANY, 0.02, ready), MPROC_ETIMEDOUT);
  for (i = 0; i < MANY; i++) mproc_wakeup_free(w[i]);
}

/* Three threads wait on 150 wake-ups each, 30 rounds; the main thread
 * signals one of each thread's per round and waits for their acks. */
#define WAITERS 3
#define EACH 150
#define ROUNDS 30

typedef struct waiter {
  mproc_wakeup *w[EACH];
  mproc_wakeup *ack;
  atomic_int errors;
} waiter;

static size_t hot_of(int round) { return (size_t)(round * 37 + 11) % EACH; }

static void waiter_main(void *arg) {
  waiter *me = arg;
  mproc_handle h[EACH];
  unsigned char ready[EACH];
  int r;
  size_t i;
  for (i = 0; i < EACH; i++) h[i] = mproc_wakeup_handle(me->w[i]);
  for (r = 0; r < ROUNDS; r++) {
    int n = mproc_wait_handles(h, EACH, 60, ready);
    if (n != 1 || !ready[hot_of(r)]) atomic_fetch_add(&me->errors, 1);
    if (mproc_wakeup_clear(me->w[hot_of(r)]) != 1)
      atomic_fetch_add(&me->errors, 1);
    mproc_wakeup_signal(me->ack);
  }
}

static void test_many_handles_threads(void **state) {
  static waiter ws[WAITERS];
  uv_thread_t t[WAITERS];
  mproc_handle acks[WAITERS];
  unsigned char ready[WAITERS];
  int r, k, got;
  size_t i;
  (void)state;
  for (k = 0; k < WAITERS; k++) {
    for (i = 0; i < EACH; i++)
      assert_int_equal(mproc_wakeup_new(&ws[k].w[i]), 0);
    assert_int_equal(mproc_wakeup_new(&ws[k].ack), 0);
    acks[k] = mproc_wakeup_handle(ws[k].ack);
    atomic_init(&ws[k].errors, 0);
    assert_int_equal(uv_thread_create(&t[k], waiter_main, &ws[k]), 0);
  }
  for (r = 0; r < ROUNDS; r++) {
    for (k = 0; k < WAITERS; k++) mproc_wakeup_signal(ws[k].w[hot_of(r)]);
    for (got = 0; got < WAITERS;) {
      assert_true(mproc_wait_handles(acks, WAITERS, 60, ready) >= 1);
      for (k = 0; k < WAITERS; k++)
        if (ready[k]) got += mproc_wakeup_clear(ws[k].ack);
    }
  }
  for (k = 0; k < WAITERS; k++) {
    assert_int_equal(uv_thread_join(&t[k]), 0);
    assert_int_equal(atomic_load(&ws[k].errors), 0);
    for (i = 0; i < EACH; i++) mproc_wakeup_free(ws[k].w[i]);
    mproc_wakeup_free(ws[k].ack);
  }
}

/* ---- per start method: sentinels and connections ------------------------------- */

static int t_hold(const void *arg, size_t len) {
  mproc_conn *c = NULL;
  char b[8];
  size_t n;
  (void)arg, (void)len;
  CHILD_CHECK(mproc_conn_inherited(0, &c) == 0);
  CHILD_CHECK(mproc_conn_recv(c, b, sizeof b, &n) == MPROC_EEOF);
  mproc_conn_free(c);
  return 7;
}
MPROC_TASK(t_hold);

static void test_unstarted_sentinel(void **state) {
  mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
  mproc_process *p;
  mproc_wait_obj o;
  mproc_handle h;
  unsigned char r;
  uint64_t t0;
  (void)state;
  po.method = g_method;
  assert_int_equal(mproc_process_new(&p, t_hold, NULL, 0, &po),
                   0);
  h = mproc_process_sentinel(p);
  assert_true(h == MPROC_NO_HANDLE);
  t0 = uv_hrtime();
  assert_int_equal(mproc_wait_handles(&h, 1, MPROC_FOREVER, &r), MPROC_EINVAL);
  memset(&o, 0, sizeof o);
  o.handle = h;
  assert_int_equal(mproc_conn_wait(&o, 1, MPROC_FOREVER), MPROC_EINVAL);
  assert_true(since(t0) < 10.0);
  mproc_process_free(p);
}

static mproc_wakeup *g_wake;

#ifndef _WIN32
static void on_usr1(int sig) {
  (void)sig;
  mproc_wakeup_signal(g_wake);
}

typedef struct killer {
  pthread_t target;
} killer;

static void kill_main(void *arg) {
  killer *k = arg;
  tu_sleep_ms(50); /* let the waiter block first (either way works) */
  pthread_kill(k->target, SIGUSR1);
}
#endif

/* A child holding a connection, its sentinel, the wake-up and 100 idle
 * wake-ups (past 64 handles): woken by another thread, then (POSIX) by a
 * signal handler; then the child's end makes its sentinel ready. */
static void test_wake_blocked_wait(void **state) {
  enum { IDLE = 100, N = IDLE + 3 };
  mproc_wakeup *idle[IDLE];
  mproc_wait_obj o[N];
  mproc_conn *mine, *theirs;
  mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
  mproc_pass pass;
  mproc_process *p;
  signaller s;
  uv_thread_t t;
  size_t i;
  (void)state;
  assert_int_equal(mproc_wakeup_new(&g_wake), 0);
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &mine, &theirs), 0);
  pass = MPROC_PASS(theirs);
  po.pass = &pass;
  po.n_pass = 1;
  p = tp_start_with(t_hold, NULL, 0, &po);
  mproc_conn_free(theirs);
  memset(o, 0, sizeof o);
  o[0].conn = mine;
  o[1].handle = mproc_process_sentinel(p);
  o[2].handle = mproc_wakeup_handle(g_wake);
  for (i = 0; i < IDLE; i++) {
    assert_int_equal(mproc_wakeup_new(&idle[i]), 0);
    o[3 + i].handle = mproc_wakeup_handle(idle[i]);
  }
  assert_int_equal(mproc_conn_wait(o, N, 0.02), MPROC_ETIMEDOUT);

  s.w = g_wake;
  s.delay_ms = 50;
  s.times = 3;
  assert_int_equal(uv_thread_create(&t, signal_main, &s), 0);
  assert_int_equal(mproc_conn_wait(o, N, MPROC_FOREVER), 1);
  assert_int_equal(o[2].ready, 1);
  assert_int_equal(o[0].ready + o[1].ready, 0);
  assert_int_equal(uv_thread_join(&t), 0);
  assert_int_equal(mproc_wakeup_clear(g_wake), 1);
  assert_int_equal(mproc_conn_wait(o, N, 0), MPROC_ETIMEDOUT);

#ifndef _WIN32
  {
    struct sigaction sa, old;
    killer k;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    k.target = pthread_self();
    assert_int_equal(uv_thread_create(&t, kill_main, &k), 0);
    assert_int_equal(mproc_conn_wait(o, N, MPROC_FOREVER), 1);
    assert_int_equal(o[2].ready, 1);
    assert_int_equal(uv_thread_join(&t), 0);
    assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
    assert_int_equal(mproc_wakeup_clear(g_wake), 1);
  }
#endif

  /* Our end closed: the child ends, its sentinel becomes ready. */
  assert_int_equal(mproc_conn_close(mine), 0);
  while (mproc_conn_wait(o + 1, N - 1, 60) >= 1 && !o[1].ready) {
  }
  assert_int_equal(o[1].ready, 1);
  assert_int_equal(tp_join(p), 7);
  for (i = 0; i < IDLE; i++) mproc_wakeup_free(idle[i]);
  mproc_conn_free(mine);
  mproc_wakeup_free(g_wake);
  g_wake = NULL;
}

int main(int argc, char **argv) {
  const struct CMUnitTest local[] = {
      cmocka_unit_test(test_wakeup_basics),
      cmocka_unit_test(test_wakeup_from_thread),
      cmocka_unit_test(test_wakeup_coalesce_threads),
      cmocka_unit_test(test_invalid_handles),
      cmocka_unit_test(test_many_handles),
      cmocka_unit_test(test_many_handles_threads),
  };
  const struct CMUnitTest procs[] = {
      cmocka_unit_test(test_unstarted_sentinel),
      cmocka_unit_test(test_wake_blocked_wait),
  };
  int failed = 0;
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  failed += cmocka_run_group_tests_name("wait", local, NULL, NULL);
  failed += TP_RUN_PER_METHOD("wait", procs);
  return failed ? 1 : 0;
}
