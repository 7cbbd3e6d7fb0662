/* mproc tests: how waits end — Event set then clear, Condition notify(n)
 * without a herd, Barrier break/timeout/reset around the action, waits
 * ended by mproc_interrupt(), Lock.locked() and the lock fast path's
 * argument checks. Cross-process parts run under every start method. */
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "test_sync.h"

/* The object's kind state starts here in its segment (src/object.h). */
#define STATE_OFFSET 1024
#define EV_SLEEPERS 2u /* src/sync-sem.c */

static names_arg names2(const char *a, const char *b) {
  names_arg n;
  memset(&n, 0, sizeof n);
  if (a) snprintf(n.a, sizeof n.a, "%s", a);
  if (b) snprintf(n.b, sizeof n.b, "%s", b);
  return n;
}

/* Poll `cond(arg)` every millisecond for up to 30 s: readiness that has no
 * event of its own (a waiter asleep inside a wait). */
static int eventually(int (*cond)(void *), void *arg) {
  int i;
  for (i = 0; i < 30000; i++) {
    if (cond(arg)) return 1;
    tu_sleep_ms(1);
  }
  return 0;
}

/* ---- Event: set() then clear() releases the waiters of the set ----------- */

#define EV_ROUNDS 10

/* n->a: the event; n->b: `done`, released after each wait; n->c: `next`,
 * released by the parent once it cleared the event again. */
static int t_event_waiter(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_event *e = NULL;
  mproc_sem *done = NULL, *next = NULL;
  int r;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_event_open(&e, n->a) == 0);
  CHILD_CHECK(mproc_sem_open(&done, n->b) == 0);
  CHILD_CHECK(mproc_sem_open(&next, n->c) == 0);
  for (r = 0; r < EV_ROUNDS; r++) {
    CHILD_CHECK(mproc_sem_acquire(next, 30) == 0);
    CHILD_CHECK(mproc_event_wait(e, 10) == 0);
    CHILD_CHECK(mproc_sem_release(done) == 0);
  }
  mproc_event_free(e);
  mproc_sem_free(done);
  mproc_sem_free(next);
  return 0;
}
MPROC_TASK(t_event_waiter);

/* The waiter has passed its checks and sleeps (or is about to): the
 * event's word shows a sleeper. */
static int event_has_sleeper(void *name) {
  uint32_t w = 0;
  return tu_peek_u32(name, STATE_OFFSET, &w) == 0 && (w & EV_SLEEPERS);
}

void test_event_set_then_clear(void **state) {
  mproc_event *e = NULL;
  mproc_sem *done = NULL, *next = NULL;
  mproc_process *p;
  names_arg n;
  char name[MPROC_SHM_NAME_MAX + 1];
  int r;
  (void)state;
  assert_int_equal(mproc_event_new(&e, NULL), 0);
  assert_int_equal(mproc_sem_new(&done, 0, MPROC_SEMAPHORE, NULL), 0);
  assert_int_equal(mproc_sem_new(&next, 0, MPROC_SEMAPHORE, NULL), 0);
  remember_name(mproc_event_name(e));
  remember_name(mproc_sem_name(done));
  remember_name(mproc_sem_name(next));
  snprintf(name, sizeof name, "%s", mproc_event_name(e));
  n = names2(name, mproc_sem_name(done));
  snprintf(n.c, sizeof n.c, "%s", mproc_sem_name(next));
  p = tp_start(t_event_waiter, &n, sizeof n, NULL, 0);
  for (r = 0; r < EV_ROUNDS; r++) {
    assert_int_equal(mproc_sem_release(next), 0);
    assert_true(eventually(event_has_sleeper, name));
    assert_int_equal(mproc_event_set(e), 0);
    assert_int_equal(mproc_event_clear(e), 0); /* at once */
    assert_int_equal(mproc_event_is_set(e), 0);
    /* The waiter was waiting at the set: its wait returned 0. */
    assert_int_equal(mproc_sem_acquire(done, 30), 0);
  }
  assert_int_equal(tp_join(p), 0);
  mproc_sem_free(next);
  mproc_sem_free(done);
  mproc_event_free(e);
}

/* ---- Condition: notify(n) ends at most n waits ---------------------------- */

#define COND_WAITERS 4

static int t_cond_waiter(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_cond *c = NULL;
  mproc_array *a = NULL;
  _Atomic int32_t *cnt;
  int rc;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_cond_open(&c, n->a) == 0);
  CHILD_CHECK(mproc_array_open(&a, n->b) == 0);
  cnt = (_Atomic int32_t *)mproc_array_ptr(a);
  CHILD_CHECK(mproc_cond_acquire(c, 30) == 0);
  atomic_fetch_add(&cnt[0], 1); /* entered, under the lock */
  rc = mproc_cond_wait(c, 60);
  if (rc == 0) atomic_fetch_add(&cnt[1], 1); /* woken */
  CHILD_CHECK(mproc_cond_release(c) == 0);
  CHILD_CHECK(rc == 0);
  mproc_array_free(a);
  mproc_cond_free(c);
  return 0;
}
MPROC_TASK(t_cond_waiter);

typedef struct woken_arg {
  _Atomic int32_t *cnt;
  int want;
} woken_arg;

static int woken_reached(void *arg) {
  woken_arg *w = arg;
  return atomic_load(&w->cnt[1]) >= w->want;
}

/* Notify n under the lock; once `want` waits in all ended, give any
 * extra wake-up (a herd) time to show, then count. */
static void notify_and_count(mproc_cond *c, _Atomic int32_t *cnt, int n,
                             int want) {
  woken_arg w;
  w.cnt = cnt;
  w.want = want;
  assert_int_equal(mproc_cond_acquire(c, 30), 0);
  assert_int_equal(mproc_cond_notify(c, n), 0);
  assert_int_equal(mproc_cond_release(c), 0);
  assert_true(eventually(woken_reached, &w));
  tu_sleep_ms(300); /* not readiness: the window for a herd to appear */
  assert_int_equal(atomic_load(&cnt[1]), want);
}

void test_condition_notify_n(void **state) {
  mproc_cond *c = NULL;
  mproc_array *a = NULL;
  mproc_process *p[COND_WAITERS];
  mproc_value_opts o = MPROC_VALUE_OPTS_INIT;
  _Atomic int32_t *cnt;
  names_arg n;
  int i;
  (void)state;
  o.raw = 1;
  assert_int_equal(mproc_cond_new(&c, NULL, NULL, NULL), 0);
  assert_int_equal(mproc_array_new(&a, 'i', 2, NULL, &o), 0);
  remember_name(mproc_cond_name(c));
  remember_name(mproc_array_name(a));
  cnt = (_Atomic int32_t *)mproc_array_ptr(a);
  n = names2(mproc_cond_name(c), mproc_array_name(a));
  for (i = 0; i < COND_WAITERS; i++)
    p[i] = tp_start(t_cond_waiter, &n, sizeof n, NULL, 0);
  /* All are inside wait once we hold the lock with every one entered:
   * each counted itself a waiter before it released the lock. */
  for (i = 0; i < 30000; i++) {
    assert_int_equal(mproc_cond_acquire(c, 30), 0);
    if (atomic_load(&cnt[0]) == COND_WAITERS) break;
    assert_int_equal(mproc_cond_release(c), 0);
    tu_sleep_ms(1);
  }
  assert_int_equal(atomic_load(&cnt[0]), COND_WAITERS);
  assert_int_equal(mproc_cond_release(c), 0);
  notify_and_count(c, cnt, 1, 1);
  notify_and_count(c, cnt, 2, 3);
  notify_and_count(c, cnt, 0, 3);
  notify_and_count(c, cnt, 5, 4); /* more than wait: all, no error */
  for (i = 0; i < COND_WAITERS; i++) assert_int_equal(tp_join(p[i]), 0);
  mproc_array_free(a);
  mproc_cond_free(c);
}

/* ---- Barrier: break, timeout and reset around the action ------------------ */

typedef struct bwait {
  mproc_barrier *b;
  double timeout;
  int rc;
  mproc_event *done; /* set once the wait returned, if not NULL */
} bwait;

static void bwait_main(void *arg) {
  bwait *w = arg;
  w->rc = mproc_barrier_wait(w->b, w->timeout);
  if (w->done) mproc_event_set(w->done);
}

static void abort_action(void *arg) { mproc_barrier_abort(arg); }

/* The action waits until the first party's wait has ended (its timeout
 * expired meanwhile), so the timeout falls inside the action. */
static void wait_action(void *arg) { mproc_event_wait(arg, 30); }

static int t_barrier_party(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_barrier *b = NULL;
  mproc_event *go = NULL, *done = NULL;
  int rc;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_barrier_open(&b, n->a) == 0);
  if (n->n == 0) {
    mproc_barrier_set_action(b, abort_action, b);
  } else {
    CHILD_CHECK(mproc_event_open(&go, n->b) == 0);
    CHILD_CHECK(mproc_event_open(&done, n->c) == 0);
    mproc_barrier_set_action(b, wait_action, done);
    CHILD_CHECK(mproc_event_wait(go, 30) == 0);
  }
  rc = mproc_barrier_wait(b, 30);
  CHILD_CHECK(rc == MPROC_EBROKEN);
  CHILD_CHECK(mproc_barrier_broken(b) == 1);
  mproc_event_free(go);
  mproc_event_free(done);
  mproc_barrier_free(b);
  return 0;
}
MPROC_TASK(t_barrier_party);

static int one_waiting(void *b) { return mproc_barrier_n_waiting(b) == 1; }

void test_barrier_abort_in_action(void **state) {
  mproc_barrier *b = NULL;
  mproc_process *p[2];
  names_arg n;
  int i;
  (void)state;
  /* Whoever arrives last runs the action, which aborts: every party of
   * the round, the last one too, sees the barrier broken. */
  assert_int_equal(mproc_barrier_new(&b, 3, NULL, NULL, NULL), 0);
  mproc_barrier_set_action(b, abort_action, b);
  remember_name(mproc_barrier_name(b));
  n = names2(mproc_barrier_name(b), NULL);
  n.n = 0;
  for (i = 0; i < 2; i++) p[i] = tp_start(t_barrier_party, &n, sizeof n, NULL, 0);
  assert_int_equal(mproc_barrier_wait(b, 30), MPROC_EBROKEN);
  for (i = 0; i < 2; i++) assert_int_equal(tp_join(p[i]), 0);
  assert_int_equal(mproc_barrier_broken(b), 1);
  assert_int_equal(mproc_barrier_wait(b, 1), MPROC_EBROKEN);
  assert_int_equal(mproc_barrier_reset(b), 0);
  assert_int_equal(mproc_barrier_broken(b), 0);
  mproc_barrier_free(b);
}

void test_barrier_timeout_in_action(void **state) {
  mproc_barrier *b = NULL;
  mproc_event *go = NULL, *done = NULL;
  mproc_process *p;
  uv_thread_t t;
  bwait w;
  names_arg n;
  (void)state;
  assert_int_equal(mproc_barrier_new(&b, 2, NULL, NULL, NULL), 0);
  assert_int_equal(mproc_event_new(&go, NULL), 0);
  assert_int_equal(mproc_event_new(&done, NULL), 0);
  remember_name(mproc_barrier_name(b));
  remember_name(mproc_event_name(go));
  remember_name(mproc_event_name(done));
  n = names2(mproc_barrier_name(b), mproc_event_name(go));
  snprintf(n.c, sizeof n.c, "%s", mproc_event_name(done));
  n.n = 1;
  p = tp_start(t_barrier_party, &n, sizeof n, NULL, 0);
  /* Our party arrives first, with a timeout; the child arrives last (at
   * once, it is waiting for `go`), and its action lasts until our wait
   * has ended. Both arrived in time: both see it broken, no timeout. */
  w.b = b;
  w.timeout = 5; /* the child arrives within it: it only waits for `go` */
  w.rc = 1;
  w.done = done;
  assert_int_equal(uv_thread_create(&t, bwait_main, &w), 0);
  assert_true(eventually(one_waiting, b));
  assert_int_equal(mproc_event_set(go), 0);
  assert_int_equal(uv_thread_join(&t), 0);
  assert_int_equal(w.rc, MPROC_EBROKEN);
  assert_int_equal(tp_join(p), 0);
  assert_int_equal(mproc_barrier_broken(b), 1);
  mproc_event_free(done);
  mproc_event_free(go);
  mproc_barrier_free(b);
}

/* A party of a round that is reset: it must see MPROC_EBROKEN, however
 * late it runs after the reset (new rounds complete meanwhile). */
#define RESET_ROUNDS 20

static int t_reset_waiter(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_barrier *b = NULL;
  mproc_sem *go = NULL, *done = NULL;
  int r;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_barrier_open(&b, n->a) == 0);
  CHILD_CHECK(mproc_sem_open(&go, n->b) == 0);
  CHILD_CHECK(mproc_sem_open(&done, n->c) == 0);
  for (r = 0; r < RESET_ROUNDS; r++) {
    CHILD_CHECK(mproc_sem_acquire(go, 30) == 0);
    CHILD_CHECK(mproc_barrier_wait(b, 30) == MPROC_EBROKEN);
    CHILD_CHECK(mproc_sem_release(done) == 0);
  }
  mproc_sem_free(go);
  mproc_sem_free(done);
  mproc_barrier_free(b);
  return 0;
}
MPROC_TASK(t_reset_waiter);

/* One full round of two parties here (a thread and us). */
static void full_round(mproc_barrier *b) {
  uv_thread_t t;
  bwait w;
  int rc;
  w.b = b;
  w.timeout = 30;
  w.rc = -100;
  w.done = NULL;
  assert_int_equal(uv_thread_create(&t, bwait_main, &w), 0);
  rc = mproc_barrier_wait(b, 30);
  assert_int_equal(uv_thread_join(&t), 0);
  assert_true(rc >= 0 && w.rc >= 0 && rc + w.rc == 1);
}

void test_barrier_reset_late_waiter(void **state) {
  mproc_barrier *b = NULL;
  mproc_sem *go = NULL, *done = NULL;
  mproc_process *p;
  names_arg n;
  int r;
  (void)state;
  assert_int_equal(mproc_barrier_new(&b, 2, NULL, NULL, NULL), 0);
  assert_int_equal(mproc_sem_new(&go, 0, MPROC_SEMAPHORE, NULL), 0);
  assert_int_equal(mproc_sem_new(&done, 0, MPROC_SEMAPHORE, NULL), 0);
  remember_name(mproc_barrier_name(b));
  remember_name(mproc_sem_name(go));
  remember_name(mproc_sem_name(done));
  n = names2(mproc_barrier_name(b), mproc_sem_name(go));
  snprintf(n.c, sizeof n.c, "%s", mproc_sem_name(done));
  p = tp_start(t_reset_waiter, &n, sizeof n, NULL, 0);
  for (r = 0; r < RESET_ROUNDS; r++) {
    assert_int_equal(mproc_sem_release(go), 0);
    assert_true(eventually(one_waiting, b));
    assert_int_equal(mproc_barrier_reset(b), 0);
    /* At once a new round of two: it waits until the reset round's
     * party has left, which sees its round broken. */
    full_round(b);
    assert_int_equal(mproc_sem_acquire(done, 30), 0);
  }
  assert_int_equal(tp_join(p), 0);
  assert_int_equal(mproc_barrier_broken(b), 0);
  mproc_sem_free(done);
  mproc_sem_free(go);
  mproc_barrier_free(b);
}

static int t_barrier_forever(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_barrier *b = NULL;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_barrier_open(&b, n->a) == 0);
  mproc_barrier_wait(b, MPROC_FOREVER);
  return 98; /* killed while waiting */
}
MPROC_TASK(t_barrier_forever);

/* A party killed inside wait does not hold a reset barrier back. */
void test_barrier_reset_after_death(void **state) {
  mproc_barrier *b = NULL;
  mproc_process *p;
  names_arg n;
  (void)state;
  assert_int_equal(mproc_barrier_new(&b, 2, NULL, NULL, NULL), 0);
  remember_name(mproc_barrier_name(b));
  n = names2(mproc_barrier_name(b), NULL);
  p = tp_start(t_barrier_forever, &n, sizeof n, NULL, 0);
  assert_true(eventually(one_waiting, b));
  assert_int_equal(mproc_process_kill(p), 0);
  assert_int_equal(tp_join(p), -9);
  assert_int_equal(mproc_barrier_reset(b), 0);
  full_round(b);
  full_round(b);
  mproc_barrier_free(b);
}

/* ---- mproc_interrupt ------------------------------------------------------- */

enum { K_EVENT, K_LOCK, K_RLOCK, K_SEM, K_COND, K_BARRIER, K_COUNT };

typedef struct blocked {
  int kind;
  mproc_event *e;
  mproc_lock *l;
  mproc_rlock *r;
  mproc_sem *s;
  mproc_cond *c;
  mproc_barrier *b;
  _Atomic int rc;
  _Atomic int done;
  int held_after; /* Condition: the lock was held again after EINTR */
} blocked;

static void blocked_main(void *arg) {
  blocked *w = arg;
  int rc = 0;
  switch (w->kind) {
  case K_EVENT: rc = mproc_event_wait(w->e, MPROC_FOREVER); break;
  case K_LOCK: rc = mproc_lock_acquire(w->l, MPROC_FOREVER); break;
  case K_RLOCK: rc = mproc_rlock_acquire(w->r, MPROC_FOREVER); break;
  case K_SEM: rc = mproc_sem_acquire(w->s, MPROC_FOREVER); break;
  case K_COND:
    if (mproc_cond_acquire(w->c, 30) != 0) {
      rc = -1000;
      break;
    }
    rc = mproc_cond_wait(w->c, MPROC_FOREVER);
    w->held_after = mproc_cond_release(w->c) == 0;
    break;
  case K_BARRIER: rc = mproc_barrier_wait(w->b, MPROC_FOREVER); break;
  }
  atomic_store(&w->rc, rc);
  atomic_store(&w->done, 1);
}

static void on_sigint(int sig) {
  (void)sig;
  mproc_interrupt();
}

static void interrupter_main(void *arg) {
  (void)arg;
#ifdef _WIN32
  mproc_interrupt(); /* as a console control handler, in its own thread */
#else
  raise(SIGINT); /* the handler runs in this thread, not the blocked ones */
#endif
}

static int all_done(void *arg) {
  blocked *w = arg;
  int i;
  for (i = 0; i < K_COUNT; i++)
    if (!atomic_load(&w[i].done)) return 0;
  return 1;
}

/* Every kind of blocked wait in several threads returns MPROC_EINTR. */
void test_interrupt_threads(void **state) {
  blocked w[K_COUNT];
  uv_thread_t t[K_COUNT], it;
  mproc_event *e = NULL;
  mproc_lock *l = NULL;
  mproc_rlock *r = NULL;
  mproc_sem *s = NULL;
  mproc_cond *c = NULL;
  mproc_barrier *b = NULL;
  double t0;
  int i;
  (void)state;
  assert_int_equal(mproc_event_new(&e, NULL), 0);
  assert_int_equal(mproc_lock_new(&l, NULL), 0);
  assert_int_equal(mproc_rlock_new(&r, NULL), 0);
  assert_int_equal(mproc_sem_new(&s, 0, MPROC_SEMAPHORE, NULL), 0);
  assert_int_equal(mproc_cond_new(&c, NULL, NULL, NULL), 0);
  assert_int_equal(mproc_barrier_new(&b, 2, NULL, NULL, NULL), 0);
  remember_name(mproc_event_name(e));
  remember_name(mproc_lock_name(l));
  remember_name(mproc_rlock_name(r));
  remember_name(mproc_sem_name(s));
  remember_name(mproc_cond_name(c));
  remember_name(mproc_barrier_name(b));
  assert_int_equal(mproc_lock_acquire(l, 0), 0);
  assert_int_equal(mproc_rlock_acquire(r, 0), 0);
  signal(SIGINT, on_sigint);
  for (i = 0; i < K_COUNT; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].kind = i;
    w[i].e = e, w[i].l = l, w[i].r = r, w[i].s = s, w[i].c = c, w[i].b = b;
    atomic_store(&w[i].rc, 1);
    assert_int_equal(uv_thread_create(&t[i], blocked_main, &w[i]), 0);
  }
  /* Let them block (the interrupt also ends waits that begin after it:
   * this only makes the test exercise the sleeping case). */
  assert_true(eventually(one_waiting, b));
  t0 = uv_hrtime() / 1e9;
  assert_int_equal(uv_thread_create(&it, interrupter_main, NULL), 0);
  assert_int_equal(uv_thread_join(&it), 0);
  assert_true(eventually(all_done, w));
  assert_true(uv_hrtime() / 1e9 - t0 < 10); /* promptly: well under that */
  for (i = 0; i < K_COUNT; i++) {
    assert_int_equal(uv_thread_join(&t[i]), 0);
    if (atomic_load(&w[i].rc) != MPROC_EINTR)
      fail_msg("wait kind %d returned %d", i, atomic_load(&w[i].rc));
  }
  assert_true(w[K_COND].held_after);
  assert_int_equal(mproc_barrier_broken(b), 1);
  /* Sticky until cleared: blocking waits end at once, polls do not. */
  assert_int_equal(mproc_interrupted(), 1);
  assert_int_equal(mproc_event_wait(e, 30), MPROC_EINTR);
  assert_int_equal(mproc_event_wait(e, 0), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_sem_acquire(s, 30), MPROC_EINTR);
  assert_int_equal(mproc_interrupt_clear(), 1);
  assert_int_equal(mproc_interrupt_clear(), 0);
  assert_int_equal(mproc_interrupted(), 0);
  assert_int_equal(mproc_event_wait(e, 0.05), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_lock_acquire(l, 0.05), MPROC_ETIMEDOUT);
  signal(SIGINT, SIG_DFL);
  assert_int_equal(mproc_lock_release(l), 0);
  assert_int_equal(mproc_rlock_release(r), 0);
  mproc_barrier_free(b);
  mproc_cond_free(c);
  mproc_sem_free(s);
  mproc_rlock_free(r);
  mproc_lock_free(l);
  mproc_event_free(e);
}

/* A child whose own SIGINT handler calls mproc_interrupt: its blocked
 * wait returns MPROC_EINTR. n: 0 the signal comes from a thread of the
 * child; 1 from the parent (POSIX: it may hit the blocked thread). */
static int t_interrupted(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_event *never = NULL, *ready = NULL;
  uv_thread_t t;
  int rc;
  CHILD_CHECK(len == sizeof *n);
  signal(SIGINT, on_sigint);
  CHILD_CHECK(mproc_event_open(&never, n->a) == 0);
  CHILD_CHECK(mproc_event_open(&ready, n->b) == 0);
  if (n->n == 0)
    CHILD_CHECK(uv_thread_create(&t, interrupter_main, NULL) == 0);
  CHILD_CHECK(mproc_event_set(ready) == 0);
  rc = mproc_event_wait(never, 60);
  CHILD_CHECK(rc == MPROC_EINTR);
  CHILD_CHECK(mproc_interrupted() == 1);
  if (n->n == 0) CHILD_CHECK(uv_thread_join(&t) == 0);
  CHILD_CHECK(mproc_interrupt_clear() == 1);
  CHILD_CHECK(mproc_event_wait(never, 0.05) == MPROC_ETIMEDOUT);
  mproc_event_free(never);
  mproc_event_free(ready);
  return 0;
}
MPROC_TASK(t_interrupted);

void test_interrupt_child(void **state) {
  mproc_event *never = NULL, *ready = NULL;
  mproc_process *p;
  names_arg n;
  int how;
  (void)state;
  assert_int_equal(mproc_event_new(&never, NULL), 0);
  remember_name(mproc_event_name(never));
  for (how = 0; how < 2; how++) {
    assert_int_equal(mproc_event_new(&ready, NULL), 0);
    remember_name(mproc_event_name(ready));
    n = names2(mproc_event_name(never), mproc_event_name(ready));
    n.n = how;
#ifdef _WIN32
    if (how == 1) { /* no signal between processes */
      mproc_event_free(ready);
      break;
    }
#endif
    p = tp_start(t_interrupted, &n, sizeof n, NULL, 0);
    assert_int_equal(mproc_event_wait(ready, 30), 0);
    if (how == 1)
      assert_int_equal(tu_sigint_pid(mproc_process_pid(p)), 0);
    assert_int_equal(tp_join(p), 0);
    mproc_event_free(ready);
  }
  mproc_event_free(never);
}

/* ---- Lock.locked(), RLock ownership, the fast path's checks -------------- */

static void owned_elsewhere(void *arg) {
  mproc_rlock *r = arg;
  /* Another thread: not the owner, though the RLock is held. */
  if (mproc_rlock_is_owned(r) != 0 || mproc_rlock_locked(r) != 1)
    abort();
}

void test_lock_locked_and_checks(void **state) {
  mproc_lock *l = NULL;
  mproc_rlock *r = NULL;
  mproc_sem *s = NULL;
  uv_thread_t t;
  (void)state;
  assert_int_equal(mproc_lock_new(&l, NULL), 0);
  remember_name(mproc_lock_name(l));
  assert_int_equal(mproc_lock_locked(l), 0);
  /* A free lock still refuses a NaN timeout (the fast path checks). */
  assert_int_equal(mproc_lock_acquire(l, NAN), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "NaN"));
  assert_int_equal(mproc_lock_locked(l), 0);
  assert_int_equal(mproc_lock_acquire(l, -5), 0); /* negative: poll */
  assert_int_equal(mproc_lock_locked(l), 1);
  assert_int_equal(mproc_lock_acquire(l, NAN), MPROC_EINVAL);
  assert_int_equal(mproc_lock_release(l), 0);
  assert_int_equal(mproc_lock_locked(l), 0);
  assert_int_equal(mproc_lock_locked(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_lock_acquire(NULL, NAN), MPROC_EINVAL);
  mproc_lock_free(l);

  assert_int_equal(mproc_rlock_new(&r, NULL), 0);
  remember_name(mproc_rlock_name(r));
  assert_int_equal(mproc_rlock_locked(r), 0);
  assert_int_equal(mproc_rlock_is_owned(r), 0);
  assert_int_equal(mproc_rlock_acquire(r, NAN), MPROC_EINVAL);
  assert_int_equal(mproc_rlock_locked(r), 0);
  assert_int_equal(mproc_rlock_acquire(r, 0), 0);
  assert_int_equal(mproc_rlock_is_owned(r), 1);
  assert_int_equal(mproc_rlock_locked(r), 1);
  /* The owner's recursive fast path checks too. */
  assert_int_equal(mproc_rlock_acquire(r, NAN), MPROC_EINVAL);
  assert_int_equal(mproc_rlock_count(r), 1);
  assert_int_equal(uv_thread_create(&t, owned_elsewhere, r), 0);
  assert_int_equal(uv_thread_join(&t), 0);
  assert_int_equal(mproc_rlock_release(r), 0);
  assert_int_equal(mproc_rlock_locked(r), 0);
  assert_int_equal(mproc_rlock_is_owned(NULL), MPROC_EINVAL);
  assert_int_equal(mproc_rlock_locked(NULL), MPROC_EINVAL);
  mproc_rlock_free(r);

  assert_int_equal(mproc_sem_new(&s, 1, MPROC_SEMAPHORE, NULL), 0);
  remember_name(mproc_sem_name(s));
  assert_int_equal(mproc_sem_acquire(s, NAN), MPROC_EINVAL);
  assert_int_equal(mproc_sem_value(s), 1);
  mproc_sem_free(s);
}
