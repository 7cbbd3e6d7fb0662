/* mproc tests: mproc_interrupt ends the blocking waits outside sync.h —
 * queue get (empty), put (full) and join, a connection's recv, poll and
 * mproc_conn_wait, mproc_process_join of a sleeping child and
 * mproc_wait_handles — each in a thread of its own, interrupted from
 * another thread and (POSIX) from a SIGINT handler; after
 * mproc_interrupt_clear the same calls block again, and nothing is lost
 * from the queue or the pipe. A streamed queue message is passed whole
 * while an interrupt is pending; a fork child does not see its parent's
 * interrupts. Under every start method. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "mproc.h"
#include "procs.h"
#include "util.h"

#include <signal.h>

static char prefix[32];

static double since(uint64_t t0) { return (double)(uv_hrtime() - t0) / 1e9; }

/* ---- a child that sleeps until told ------------------------------------ */

typedef struct ev_arg {
  char name[64];
  double seconds;
} ev_arg;

/* Waits for the event (at most a.seconds), then exits 0. */
static int t_sleeper(const void *arg, size_t len) {
  ev_arg a;
  mproc_event *e = NULL;
  CHILD_CHECK(len == sizeof a);
  memcpy(&a, arg, sizeof a);
  CHILD_CHECK(mproc_event_open(&e, a.name) == 0);
  CHILD_CHECK(mproc_event_wait(e, a.seconds) == 0);
  mproc_event_free(e);
  return 0;
}
MPROC_TASK(t_sleeper);

/* ---- one blocked call per kind, in a thread each ------------------------- */

enum {
  K_QGET, K_QPUT, K_QJOIN, K_RECV, K_POLL, K_CONNWAIT, K_PJOIN, K_WAITH,
  K_COUNT
};
static const char *const kind_name[K_COUNT] = {
    "queue get", "queue put",     "queue join",   "conn recv",
    "conn poll", "conn_wait",     "process join", "wait_handles"};

typedef struct fixture {
  mproc_queue *empty, *full, *joinable;
  mproc_conn *r[3], *w[3]; /* recv, poll, conn_wait */
  mproc_wakeup *never;
  mproc_process *child;
  mproc_event *release;
  char last[64]; /* what the last recv (K_RECV) received */
  size_t last_len;
} fixture;

typedef struct blocked {
  fixture *f;
  int kind;
  double timeout;
  _Atomic int rc;
  _Atomic int done;
} blocked;

/* One call of the kind, with the timeout given (recv has none: it is
 * only called without one). */
static int call(fixture *f, int kind, double timeout) {
  char buf[64];
  size_t len = 0;
  mproc_wait_obj o[2];
  mproc_handle h[2];
  unsigned char ready[2] = {0, 0};
  switch (kind) {
  case K_QGET: return mproc_queue_get(f->empty, buf, sizeof buf, &len, timeout);
  case K_QPUT: return mproc_queue_put(f->full, "more", 4, timeout);
  case K_QJOIN: return mproc_queue_join(f->joinable, timeout);
  case K_RECV:
    return mproc_conn_recv(f->r[0], f->last, sizeof f->last, &f->last_len);
  case K_POLL: return mproc_conn_poll(f->r[1], timeout);
  case K_CONNWAIT:
    memset(o, 0, sizeof o);
    o[0].conn = f->r[2];
    o[1].handle = mproc_wakeup_handle(f->never);
    return mproc_conn_wait(o, 2, timeout);
  case K_PJOIN: return mproc_process_join(f->child, timeout);
  case K_WAITH:
    h[0] = mproc_wakeup_handle(f->never);
    h[1] = mproc_process_sentinel(f->child);
    return mproc_wait_handles(h, 2, timeout, ready);
  }
  return -1000;
}

static void blocked_main(void *arg) {
  blocked *b = arg;
  atomic_store(&b->rc, call(b->f, b->kind, b->timeout));
  atomic_store(&b->done, 1);
}

static void fixture_make(fixture *f) {
  mproc_queue_opts qo = MPROC_QUEUE_OPTS_INIT;
  ev_arg a;
  int i;
  memset(f, 0, sizeof *f);
  assert_int_equal(mproc_queue_new(&f->empty, &qo), 0);
  qo.maxsize = 1;
  assert_int_equal(mproc_queue_new(&f->full, &qo), 0);
  assert_int_equal(mproc_queue_put(f->full, "first", 5, 0), 0);
  qo.maxsize = 0;
  qo.kind = MPROC_JOINABLE_QUEUE;
  assert_int_equal(mproc_queue_new(&f->joinable, &qo), 0);
  assert_int_equal(mproc_queue_put(f->joinable, "job", 3, 0), 0);
  for (i = 0; i < 3; i++) assert_int_equal(mproc_pipe(MPROC_PIPE_ONE_WAY, &f->r[i], &f->w[i]), 0);
  assert_int_equal(mproc_wakeup_new(&f->never), 0);
  assert_int_equal(mproc_event_new(&f->release, NULL), 0);
  memset(&a, 0, sizeof a);
  snprintf(a.name, sizeof a.name, "%s", mproc_event_name(f->release));
  a.seconds = 120;
  f->child = tp_start(t_sleeper, &a, sizeof a, NULL, 0);
}

/* After the interrupt is cleared: everything is still there. */
static void fixture_check_and_free(fixture *f) {
  char buf[64];
  size_t len = 0;
  int i;
  /* The full queue still holds its one message, then takes another. */
  assert_int_equal(mproc_queue_get(f->full, buf, sizeof buf, &len, 5), 0);
  assert_int_equal(len, 5);
  assert_memory_equal(buf, "first", 5);
  assert_int_equal(mproc_queue_put(f->full, "more", 4, 5), 0);
  assert_int_equal(mproc_queue_get(f->full, buf, sizeof buf, &len, 5), 0);
  assert_int_equal(len, 4);
  /* The empty queue passes a message. */
  assert_int_equal(mproc_queue_put(f->empty, "hello", 5, 5), 0);
  assert_int_equal(mproc_queue_get(f->empty, buf, sizeof buf, &len, 5), 0);
  assert_memory_equal(buf, "hello", 5);
  /* The joinable queue still counts its task. */
  assert_int_equal(mproc_queue_get(f->joinable, buf, sizeof buf, &len, 5), 0);
  assert_int_equal(mproc_queue_task_done(f->joinable), 0);
  assert_int_equal(mproc_queue_join(f->joinable, 5), 0);
  /* Each pipe passes its next message whole. */
  for (i = 0; i < 3; i++) {
    assert_int_equal(mproc_conn_send(f->w[i], "ping", 4), 0);
    assert_int_equal(mproc_conn_recv(f->r[i], buf, sizeof buf, &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, "ping", 4);
  }
  assert_int_equal(mproc_event_set(f->release), 0);
  assert_int_equal(tp_join(f->child), 0);
  for (i = 0; i < 3; i++) {
    mproc_conn_free(f->r[i]);
    mproc_conn_free(f->w[i]);
  }
  mproc_wakeup_free(f->never);
  mproc_event_free(f->release);
  mproc_queue_free(f->empty);
  mproc_queue_free(f->full);
  mproc_queue_free(f->joinable);
}

static void interrupt_direct(void *arg) {
  (void)arg;
  mproc_interrupt();
}

#ifndef _WIN32
static void on_sigint(int sig) {
  (void)sig;
  mproc_interrupt();
}

static void interrupt_by_signal(void *arg) {
  (void)arg;
  raise(SIGINT); /* the handler runs in this thread, not the blocked ones */
}
#endif

static int all_done(blocked *b) {
  int i;
  for (i = 0; i < K_COUNT; i++)
    if (!atomic_load(&b[i].done)) return 0;
  return 1;
}

/* A recv blocked again after the clear: released by a message, which it
 * receives whole. */
static blocked g_late; /* static: see g_blk */

static void recv_blocks_again(fixture *f) {
  uv_thread_t t;
  mproc_handle h = mproc_wakeup_handle(f->never);
  unsigned char r = 0;
  memset(&g_late, 0, sizeof g_late);
  g_late.f = f;
  g_late.kind = K_RECV;
  assert_int_equal(uv_thread_create(&t, blocked_main, &g_late), 0);
  /* Not a poll of the same end: the recv may hold its readiness wait. */
  assert_int_equal(mproc_wait_handles(&h, 1, 0.2, &r), MPROC_ETIMEDOUT);
  assert_int_equal(atomic_load(&g_late.done), 0);
  assert_int_equal(mproc_conn_send(f->w[0], "late", 4), 0);
  assert_int_equal(uv_thread_join(&t), 0);
  assert_int_equal(atomic_load(&g_late.rc), 0);
}

/* Static, not on the stack: a failed check leaves the test while the
 * threads may still use them. */
static fixture g_fix;
static blocked g_blk[K_COUNT];

static void interrupt_round(uv_thread_cb how) {
  uv_thread_t t[K_COUNT], it;
  uint64_t t0;
  int i, rc;
  fixture_make(&g_fix);
  for (i = 0; i < K_COUNT; i++) {
    memset(&g_blk[i], 0, sizeof g_blk[i]);
    g_blk[i].f = &g_fix;
    g_blk[i].kind = i;
    g_blk[i].timeout = MPROC_FOREVER;
    atomic_store(&g_blk[i].rc, 1);
    assert_int_equal(uv_thread_create(&t[i], blocked_main, &g_blk[i]), 0);
  }
  /* Give them time to block. Not needed for the result (an interrupt
   * also ends waits that begin after it, until cleared): it only makes
   * the test exercise the sleeping case. A timed wait that times out is
   * as good as a sleep here, and nothing below depends on its length. */
  (void)mproc_event_wait(g_fix.release, 0.3);
  for (i = 0; i < K_COUNT; i++)
    if (atomic_load(&g_blk[i].done))
      fail_msg("%s returned %d before the interrupt", kind_name[i],
               atomic_load(&g_blk[i].rc));
  t0 = uv_hrtime();
  assert_int_equal(uv_thread_create(&it, how, NULL), 0);
  assert_int_equal(uv_thread_join(&it), 0);
  /* Bounded, so that a call the interrupt does not end fails the test
   * (naming it) instead of hanging it. */
  while (!all_done(g_blk) && since(t0) < 30) tu_sleep_ms(10);
  for (i = 0; i < K_COUNT; i++)
    if (!atomic_load(&g_blk[i].done))
      fail_msg("%s still blocked 30 s after the interrupt", kind_name[i]);
  assert_true(since(t0) < 10); /* promptly: well under that */
  for (i = 0; i < K_COUNT; i++) assert_int_equal(uv_thread_join(&t[i]), 0);
  for (i = 0; i < K_COUNT; i++)
    if (atomic_load(&g_blk[i].rc) != MPROC_EINTR)
      fail_msg("%s returned %d, not MPROC_EINTR", kind_name[i],
               atomic_load(&g_blk[i].rc));
  /* Sticky until cleared: a blocking call ends at once, a poll does not. */
  assert_int_equal(mproc_interrupted(), 1);
  for (i = 0; i < K_COUNT; i++) {
    if (i == K_RECV) continue;
    rc = call(&g_fix, i, 30);
    if (rc != MPROC_EINTR)
      fail_msg("%s returned %d while interrupted", kind_name[i], rc);
  }
  assert_int_equal(call(&g_fix, K_RECV, 0), MPROC_EINTR);
  assert_int_equal(call(&g_fix, K_POLL, 0), 0);
  assert_int_equal(call(&g_fix, K_QGET, 0), MPROC_EEMPTY);
  assert_int_equal(mproc_interrupt_clear(), 1);
  /* Cleared: the same calls block again, until their timeouts. */
  assert_int_equal(call(&g_fix, K_QGET, 0.1), MPROC_EEMPTY);
  assert_int_equal(call(&g_fix, K_QPUT, 0.1), MPROC_EFULL);
  assert_int_equal(call(&g_fix, K_QJOIN, 0.1), MPROC_ETIMEDOUT);
  assert_int_equal(call(&g_fix, K_POLL, 0.1), 0);
  assert_int_equal(call(&g_fix, K_CONNWAIT, 0.1), MPROC_ETIMEDOUT);
  assert_int_equal(call(&g_fix, K_PJOIN, 0.1), MPROC_ETIMEDOUT);
  assert_int_equal(call(&g_fix, K_WAITH, 0.1), MPROC_ETIMEDOUT);
  recv_blocks_again(&g_fix);
  assert_int_equal(g_fix.last_len, 4);
  assert_memory_equal(g_fix.last, "late", 4);
  fixture_check_and_free(&g_fix);
}

static void test_interrupt_from_thread(void **state) {
  (void)state;
  interrupt_round(interrupt_direct);
}

static void test_interrupt_from_sigint(void **state) {
  (void)state;
#ifdef _WIN32
  skip(); /* no SIGINT handler: the console handler is a thread (above) */
#else
  signal(SIGINT, on_sigint);
  interrupt_round(interrupt_by_signal);
  signal(SIGINT, SIG_DFL);
#endif
}

/* ---- a streamed message while an interrupt is pending ---------------------- */

#define BIG (64 * 1024)

typedef struct producer {
  mproc_queue *q;
  unsigned char *msg;
  _Atomic int rc;
} producer;

static void producer_main(void *arg) {
  producer *p = arg;
  atomic_store(&p->rc, mproc_queue_put(p->q, p->msg, BIG, 60));
}

/* A 64 KiB message through a 4 KiB ring is streamed: once begun, neither
 * side stops for the interrupt, and it arrives whole. A get that finds
 * nothing yet returns MPROC_EINTR having taken nothing. */
static producer g_prod; /* static: see interrupt_round */

static void test_stream_while_interrupted(void **state) {
  mproc_queue_opts qo = MPROC_QUEUE_OPTS_INIT;
  uv_thread_t t;
  void *got = NULL;
  size_t len = 0;
  int rc, i;
  (void)state;
  qo.capacity = 4096;
  assert_int_equal(mproc_queue_new(&g_prod.q, &qo), 0);
  g_prod.msg = malloc(BIG);
  assert_non_null(g_prod.msg);
  for (i = 0; i < BIG; i++) g_prod.msg[i] = (unsigned char)(i * 7 + 3);
  atomic_store(&g_prod.rc, 1);
  mproc_interrupt();
  assert_int_equal(uv_thread_create(&t, producer_main, &g_prod), 0);
  /* Until the producer's first record is there. */
  while ((rc = mproc_queue_get_alloc(g_prod.q, &got, &len, 30)) == MPROC_EINTR) {
    assert_null(got);
    assert_int_equal(len, 0);
    tu_sleep_ms(1);
  }
  assert_int_equal(rc, 0);
  assert_int_equal(len, BIG);
  assert_memory_equal(got, g_prod.msg, BIG);
  assert_int_equal(uv_thread_join(&t), 0);
  assert_int_equal(atomic_load(&g_prod.rc), 0);
  assert_int_equal(mproc_interrupt_clear(), 1);
  assert_int_equal(mproc_queue_qsize(g_prod.q), 0);
  mproc_free(got);
  free(g_prod.msg);
  mproc_queue_free(g_prod.q);
}

/* ---- a child's interrupt state is its own ---------------------------------- */

/* Tells the parent it waits (the event), then waits 1 s on a handle of
 * its own: the parent's interrupt meanwhile must not end it. */
static int t_own_state(const void *arg, size_t len) {
  ev_arg a;
  mproc_event *e = NULL;
  mproc_wakeup *w = NULL;
  mproc_handle h;
  unsigned char r = 0;
  CHILD_CHECK(len == sizeof a);
  memcpy(&a, arg, sizeof a);
  CHILD_CHECK(mproc_interrupted() == 0);
  CHILD_CHECK(mproc_event_open(&e, a.name) == 0);
  CHILD_CHECK(mproc_wakeup_new(&w) == 0);
  h = mproc_wakeup_handle(w);
  CHILD_CHECK(mproc_event_set(e) == 0);
  CHILD_CHECK(mproc_wait_handles(&h, 1, a.seconds, &r) == MPROC_ETIMEDOUT);
  CHILD_CHECK(mproc_interrupted() == 0);
  mproc_wakeup_free(w);
  mproc_event_free(e);
  return 0;
}
MPROC_TASK(t_own_state);

static void test_child_state_is_its_own(void **state) {
  mproc_event *e = NULL;
  mproc_process *p;
  unsigned char r = 0;
  ev_arg a;
  long pid;
  int i;
  (void)state;
  assert_int_equal(mproc_event_new(&e, NULL), 0);
  memset(&a, 0, sizeof a);
  snprintf(a.name, sizeof a.name, "%s", mproc_event_name(e));
  a.seconds = 1.0;
  /* The parent's wake-up object exists before the fork (a fork child
   * holds a copy of its descriptor), and an interrupt is pending. */
  assert_int_equal(mproc_wait_handles(NULL, 0, 0.01, &r), MPROC_ETIMEDOUT);
  mproc_interrupt();
  p = tp_start(t_own_state, &a, sizeof a, NULL, 0);
  pid = mproc_process_pid(p);
  assert_int_equal(mproc_interrupt_clear(), 1);
  assert_int_equal(mproc_event_wait(e, 30), 0);
  mproc_interrupt(); /* while the child waits */
  /* Our own waits are interrupted now: watch the child's pid instead. */
  for (i = 0; i < 6000 && tu_pid_alive(pid); i++) tu_sleep_ms(10);
  assert_int_equal(mproc_interrupt_clear(), 1);
  assert_int_equal(tp_join(p), 0);
  mproc_event_free(e);
}

static void test_nothing_left(void **state) {
  int now;
  (void)state;
  now = tu_count_shm(prefix);
  if (now > 0) fail_msg("%d %s-* names left in /dev/shm", now, prefix);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_interrupt_from_thread),
      cmocka_unit_test(test_interrupt_from_sigint),
      cmocka_unit_test(test_stream_while_interrupted),
      cmocka_unit_test(test_child_state_is_its_own),
      cmocka_unit_test(test_nothing_left),
  };
  int failed = 0;
  tu_set_argv0(argv[0]);
  if (getenv("MPROC_NAME_PREFIX")) {
    snprintf(prefix, sizeof prefix, "%s", getenv("MPROC_NAME_PREFIX"));
  } else {
    snprintf(prefix, sizeof prefix, "ti%ld", mproc_current_pid() % 1000000);
    tu_setenv("MPROC_NAME_PREFIX", prefix);
  }
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  failed += TP_RUN_PER_METHOD("intr", tests);
  return failed ? 1 : 0;
}
