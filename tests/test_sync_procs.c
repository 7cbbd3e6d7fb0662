/* mproc tests: shared memory and synchronization across processes, and
 * what happens when a process dies holding or waiting on an object. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "test_sync.h"

#define INCREMENTS 100000

static names_arg names1(const char *a, const char *b, const char *c) {
  names_arg n;
  memset(&n, 0, sizeof n);
  if (a) snprintf(n.a, sizeof n.a, "%s", a);
  if (b) snprintf(n.b, sizeof n.b, "%s", b);
  if (c) snprintf(n.c, sizeof n.c, "%s", c);
  return n;
}

/* ---- a Value under its lock, and without ---------------------------------- */

/* All children start incrementing together, so they really contend: a
 * barrier of the four and the parent. */
static int wait_go(const char *name) {
  mproc_barrier *go = NULL;
  int rc = mproc_barrier_open(&go, name);
  if (rc == 0) rc = mproc_barrier_wait(go, 60);
  mproc_barrier_free(go);
  return rc < 0 ? rc : 0;
}

static void run_gated(mproc_target fn, names_arg *n) {
  mproc_barrier *go = NULL;
  mproc_process *p[4];
  int i;
  assert_int_equal(mproc_barrier_new(&go, 5, NULL, NULL, NULL), 0);
  remember_name(mproc_barrier_name(go));
  snprintf(n->c, sizeof n->c, "%s", mproc_barrier_name(go));
  for (i = 0; i < 4; i++) {
    n->n = i;
    p[i] = tp_start(fn, n, sizeof *n, NULL, 0);
  }
  assert_true(mproc_barrier_wait(go, 60) >= 0);
  for (i = 0; i < 4; i++) assert_int_equal(tp_join(p[i]), 0);
  mproc_barrier_free(go);
}

static int t_increment_locked(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_array *v = NULL;
  mproc_rlock *l;
  int64_t *p;
  int i;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_array_open(&v, n->a) == 0);
  CHILD_CHECK(wait_go(n->c) == 0);
  CHILD_CHECK(mproc_array_get_lock(v, &l) == 0);
  p = mproc_array_ptr(v);
  for (i = 0; i < INCREMENTS; i++) {
    CHILD_CHECK(mproc_rlock_acquire(l, MPROC_FOREVER) == 0);
    (*p)++;
    CHILD_CHECK(mproc_rlock_release(l) == 0);
  }
  mproc_array_free(v);
  mproc_rlock_free(l);
  return 0;
}
MPROC_TASK(t_increment_locked);

void test_value_counter_locked(void **state) {
  mproc_array *v = NULL;
  names_arg n;
  (void)state;
  assert_int_equal(mproc_value_new(&v, 'q', NULL, NULL), 0);
  remember_name(mproc_array_name(v));
  n = names1(mproc_array_name(v), NULL, NULL);
  run_gated(t_increment_locked, &n);
  assert_int_equal(*(int64_t *)mproc_array_ptr(v), 4 * INCREMENTS);
  mproc_array_free(v);
}

/* Increment for 200 ms (so the four surely overlap, however slowly the
 * system wakes them), counting our own increments in slot n of array b. */
static int t_increment_raw(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_array *v = NULL, *counts = NULL;
  volatile int64_t *p;
  int64_t mine = 0;
  uint64_t until;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_array_open(&v, n->a) == 0);
  CHILD_CHECK(mproc_array_open(&counts, n->b) == 0);
  CHILD_CHECK(wait_go(n->c) == 0);
  p = mproc_array_ptr(v);
  until = uv_hrtime() + 200000000u;
  while (uv_hrtime() < until) {
    int i;
    for (i = 0; i < 1000; i++) {
      volatile int k;
      int64_t x = *p; /* read-modify-write with no lock: races */
      for (k = 0; k < 8; k++) {
      }
      *p = x + 1;
    }
    mine += 1000;
  }
  ((int64_t *)mproc_array_ptr(counts))[n->n] = mine;
  mproc_array_free(counts);
  mproc_array_free(v);
  return 0;
}
MPROC_TASK(t_increment_raw);

void test_raw_value_races(void **state) {
  mproc_array *v = NULL, *counts = NULL;
  mproc_value_opts o = MPROC_VALUE_OPTS_INIT;
  names_arg n;
  int64_t total, done = 0;
  int i;
  (void)state;
  o.raw = 1;
  assert_int_equal(mproc_value_new(&v, 'q', NULL, &o), 0);
  assert_int_equal(mproc_array_new(&counts, 'q', 4, NULL, &o), 0);
  remember_name(mproc_array_name(v));
  remember_name(mproc_array_name(counts));
  n = names1(mproc_array_name(v), mproc_array_name(counts), NULL);
  run_gated(t_increment_raw, &n);
  total = *(int64_t *)mproc_array_ptr(v);
  for (i = 0; i < 4; i++) done += ((int64_t *)mproc_array_ptr(counts))[i];
  /* The processes really share the memory and really race: updates are
   * lost, which is what the lock in the test above prevents. */
  assert_true(total > 0 && total <= done);
  if (mproc_cpu_count() > 1 && total == done)
    fail_msg("4 racing processes lost no update (%lld)", (long long)total);
  mproc_array_free(counts);
  mproc_array_free(v);
}

/* ---- Semaphore limiting concurrency --------------------------------------- */

static int t_limited(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_sem *s = NULL;
  mproc_array *a = NULL;
  _Atomic int32_t *inside, *max;
  int i, j;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_sem_open(&s, n->a) == 0);
  CHILD_CHECK(mproc_array_open(&a, n->b) == 0);
  inside = (_Atomic int32_t *)mproc_array_ptr(a);
  max = inside + 1;
  for (i = 0; i < 300; i++) {
    int32_t now, m;
    CHILD_CHECK(mproc_sem_acquire(s, 30) == 0);
    now = atomic_fetch_add(inside, 1) + 1;
    m = atomic_load(max);
    while (now > m && !atomic_compare_exchange_weak(max, &m, now)) {
    }
    for (j = 0; j < 200; j++) atomic_load(inside);
    atomic_fetch_sub(inside, 1);
    CHILD_CHECK(mproc_sem_release(s) == 0);
  }
  mproc_array_free(a);
  mproc_sem_free(s);
  return 0;
}
MPROC_TASK(t_limited);

void test_semaphore_limits(void **state) {
  mproc_sem *s = NULL;
  mproc_array *a = NULL;
  mproc_value_opts o = MPROC_VALUE_OPTS_INIT;
  names_arg n;
  int32_t *counts;
  (void)state;
  o.raw = 1;
  assert_int_equal(mproc_sem_new(&s, 2, MPROC_BOUNDED_SEMAPHORE, NULL), 0);
  assert_int_equal(mproc_array_new(&a, 'i', 2, NULL, &o), 0);
  remember_name(mproc_sem_name(s));
  remember_name(mproc_array_name(a));
  n = names1(mproc_sem_name(s), mproc_array_name(a), NULL);
  run_children(t_limited, &n, sizeof n, 4);
  counts = mproc_array_ptr(a);
  assert_int_equal(counts[0], 0);
  assert_true(counts[1] >= 1 && counts[1] <= 2);
  assert_int_equal(mproc_sem_value(s), 2);
  mproc_array_free(a);
  mproc_sem_free(s);
}

/* ---- Condition: producer and consumer ------------------------------------- */

#define ITEMS 2000

typedef struct pc {
  mproc_cond *c;
  int32_t *items;
} pc;

static int have_items(void *arg) { return *((pc *)arg)->items > 0; }

static int t_producer(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_cond *c = NULL;
  mproc_array *a = NULL;
  int32_t *items;
  int i;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_cond_open(&c, n->a) == 0);
  CHILD_CHECK(mproc_array_open(&a, n->b) == 0);
  items = mproc_array_ptr(a);
  for (i = 0; i < ITEMS; i++) {
    CHILD_CHECK(mproc_cond_acquire(c, MPROC_FOREVER) == 0);
    (*items)++;
    CHILD_CHECK(mproc_cond_notify(c, 1) == 0);
    CHILD_CHECK(mproc_cond_release(c) == 0);
  }
  mproc_array_free(a);
  mproc_cond_free(c);
  return 0;
}
MPROC_TASK(t_producer);

static int t_consumer(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_array *a = NULL;
  pc ctx;
  int got = 0;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_cond_open(&ctx.c, n->a) == 0);
  CHILD_CHECK(mproc_array_open(&a, n->b) == 0);
  ctx.items = mproc_array_ptr(a);
  while (got < ITEMS) {
    CHILD_CHECK(mproc_cond_acquire(ctx.c, MPROC_FOREVER) == 0);
    CHILD_CHECK(mproc_cond_wait_for(ctx.c, have_items, &ctx, 30) == 0);
    (*ctx.items)--;
    got++;
    CHILD_CHECK(mproc_cond_release(ctx.c) == 0);
  }
  mproc_array_free(a);
  mproc_cond_free(ctx.c);
  return 0;
}
MPROC_TASK(t_consumer);

void test_condition_producer_consumer(void **state) {
  mproc_cond *c = NULL;
  mproc_array *a = NULL;
  mproc_process *p, *q;
  mproc_value_opts o = MPROC_VALUE_OPTS_INIT;
  names_arg n;
  (void)state;
  o.raw = 1;
  assert_int_equal(mproc_cond_new(&c, NULL, NULL, NULL), 0);
  assert_int_equal(mproc_array_new(&a, 'i', 1, NULL, &o), 0);
  remember_name(mproc_cond_name(c));
  remember_name(mproc_array_name(a));
  n = names1(mproc_cond_name(c), mproc_array_name(a), NULL);
  q = tp_start(t_consumer, &n, sizeof n, NULL, 0);
  p = tp_start(t_producer, &n, sizeof n, NULL, 0);
  assert_int_equal(tp_join(p), 0);
  assert_int_equal(tp_join(q), 0);
  assert_int_equal(*(int32_t *)mproc_array_ptr(a), 0);
  mproc_array_free(a);
  mproc_cond_free(c);
}

/* ---- Event ping-pong ------------------------------------------------------- */

#define ROUNDS 300

static int t_pong(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_event *ping = NULL, *pong = NULL;
  int i;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_event_open(&ping, n->a) == 0);
  CHILD_CHECK(mproc_event_open(&pong, n->b) == 0);
  for (i = 0; i < ROUNDS; i++) {
    CHILD_CHECK(mproc_event_wait(ping, 30) == 0);
    CHILD_CHECK(mproc_event_clear(ping) == 0);
    CHILD_CHECK(mproc_event_set(pong) == 0);
  }
  mproc_event_free(ping);
  mproc_event_free(pong);
  return 0;
}
MPROC_TASK(t_pong);

void test_event_handoff(void **state) {
  mproc_event *ping = NULL, *pong = NULL;
  mproc_process *p;
  names_arg n;
  int i;
  (void)state;
  assert_int_equal(mproc_event_new(&ping, NULL), 0);
  assert_int_equal(mproc_event_new(&pong, NULL), 0);
  remember_name(mproc_event_name(ping));
  remember_name(mproc_event_name(pong));
  n = names1(mproc_event_name(ping), mproc_event_name(pong), NULL);
  p = tp_start(t_pong, &n, sizeof n, NULL, 0);
  for (i = 0; i < ROUNDS; i++) {
    assert_int_equal(mproc_event_set(ping), 0);
    assert_int_equal(mproc_event_wait(pong, 30), 0);
    assert_int_equal(mproc_event_clear(pong), 0);
  }
  assert_int_equal(tp_join(p), 0);
  mproc_event_free(ping);
  mproc_event_free(pong);
}

/* ---- Barrier: 4 processes x 1000 rounds ----------------------------------- */

#define PARTIES 4
#define BROUNDS 1000

static int t_barrier(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_barrier *b = NULL;
  mproc_array *a = NULL;
  _Atomic int32_t *slots;
  int r, k;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_barrier_open(&b, n->a) == 0);
  CHILD_CHECK(mproc_array_open(&a, n->b) == 0);
  slots = (_Atomic int32_t *)mproc_array_ptr(a);
  for (r = 1; r <= BROUNDS; r++) {
    int idx;
    atomic_store(&slots[n->n], r);
    idx = mproc_barrier_wait(b, 30);
    CHILD_CHECK(idx >= 0 && idx < PARTIES);
    for (k = 0; k < PARTIES; k++) CHILD_CHECK(atomic_load(&slots[k]) >= r);
  }
  mproc_array_free(a);
  mproc_barrier_free(b);
  return 0;
}
MPROC_TASK(t_barrier);

void test_barrier_rounds(void **state) {
  mproc_barrier *b = NULL;
  mproc_array *a = NULL;
  mproc_process *p[PARTIES];
  mproc_value_opts o = MPROC_VALUE_OPTS_INIT;
  names_arg n;
  int i;
  (void)state;
  o.raw = 1;
  assert_int_equal(mproc_barrier_new(&b, PARTIES, NULL, NULL, NULL), 0);
  assert_int_equal(mproc_array_new(&a, 'i', PARTIES, NULL, &o), 0);
  remember_name(mproc_barrier_name(b));
  remember_name(mproc_array_name(a));
  n = names1(mproc_barrier_name(b), mproc_array_name(a), NULL);
  for (i = 0; i < PARTIES; i++) {
    n.n = i;
    p[i] = tp_start(t_barrier, &n, sizeof n, NULL, 0);
  }
  for (i = 0; i < PARTIES; i++) assert_int_equal(tp_join(p[i]), 0);
  assert_int_equal(mproc_barrier_broken(b), 0);
  mproc_array_free(a);
  mproc_barrier_free(b);
}

static int t_quick_exit(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  return 0;
}
MPROC_TASK(t_quick_exit);

/* ---- owner death ------------------------------------------------------------ */

/* Take the lock (n->n: 0 Lock, 1 RLock), say so, and wait to be killed. */
static int t_hold_forever(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_event *ready = NULL;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_event_open(&ready, n->b) == 0);
  if (n->n == 0) {
    mproc_lock *l = NULL;
    CHILD_CHECK(mproc_lock_open(&l, n->a) == 0);
    CHILD_CHECK(mproc_lock_acquire(l, MPROC_FOREVER) == 0);
  } else {
    mproc_rlock *l = NULL;
    CHILD_CHECK(mproc_rlock_open(&l, n->a) == 0);
    CHILD_CHECK(mproc_rlock_acquire(l, MPROC_FOREVER) == 0);
    CHILD_CHECK(mproc_rlock_acquire(l, MPROC_FOREVER) == 0);
  }
  CHILD_CHECK(mproc_event_set(ready) == 0);
  for (;;) tu_sleep_ms(1000);
}
MPROC_TASK(t_hold_forever);

static void owner_death(int rlock) {
  mproc_lock *l = NULL;
  mproc_rlock *r = NULL;
  mproc_event *ready = NULL;
  mproc_process *p;
  names_arg n;
  double t0;
  int rc;
  if (rlock)
    assert_int_equal(mproc_rlock_new(&r, NULL), 0);
  else
    assert_int_equal(mproc_lock_new(&l, NULL), 0);
  assert_int_equal(mproc_event_new(&ready, NULL), 0);
  n = names1(rlock ? mproc_rlock_name(r) : mproc_lock_name(l),
             mproc_event_name(ready), NULL);
  remember_name(n.a);
  remember_name(n.b);
  n.n = rlock;
  p = tp_start(t_hold_forever, &n, sizeof n, NULL, 0);
  assert_int_equal(mproc_event_wait(ready, 30), 0);
  assert_int_equal(rlock ? mproc_rlock_acquire(r, 0.05)
                         : mproc_lock_acquire(l, 0.05),
                   MPROC_ETIMEDOUT);
  assert_int_equal(mproc_process_kill(p), 0);
  assert_int_equal(tp_join(p), -9);
  t0 = (double)mproc_current_pid(); /* keep the compiler quiet */
  (void)t0;
  rc = rlock ? mproc_rlock_acquire(r, 1.0) : mproc_lock_acquire(l, 1.0);
  assert_int_equal(rc, MPROC_EOWNERDEAD);
  if (rlock) {
    assert_int_equal(mproc_rlock_count(r), 1);
    assert_int_equal(mproc_rlock_release(r), 0);
    assert_int_equal(mproc_rlock_acquire(r, 0), 0);
    assert_int_equal(mproc_rlock_release(r), 0);
    mproc_rlock_free(r);
  } else {
    assert_int_equal(mproc_lock_release(l), 0);
    assert_int_equal(mproc_lock_acquire(l, 0), 0);
    assert_int_equal(mproc_lock_release(l), 0);
    mproc_lock_free(l);
  }
  mproc_event_free(ready);
}

void test_lock_owner_death(void **state) {
  (void)state;
  owner_death(0);
}

void test_rlock_owner_death(void **state) {
  (void)state;
  owner_death(1);
}

/* A holder killed with SIGKILL does not keep the name alive: the last live
 * holder's close removes it. */
void test_killed_holder_releases_name(void **state) {
  mproc_lock *l = NULL, *again = NULL;
  mproc_event *ready = NULL;
  mproc_process *p;
  names_arg n;
  char name[MPROC_SHM_NAME_MAX + 1];
  (void)state;
  assert_int_equal(mproc_lock_new(&l, NULL), 0);
  assert_int_equal(mproc_event_new(&ready, NULL), 0);
  n = names1(mproc_lock_name(l), mproc_event_name(ready), NULL);
  remember_name(n.a);
  remember_name(n.b);
  strcpy(name, n.a);
  p = tp_start(t_hold_forever, &n, sizeof n, NULL, 0);
  assert_int_equal(mproc_event_wait(ready, 30), 0);
  assert_int_equal(mproc_process_kill(p), 0);
  assert_int_equal(tp_join(p), -9);
  mproc_lock_free(l);
  assert_int_equal(mproc_lock_open(&again, name), MPROC_ENOENT);
  mproc_event_free(ready);
}

/* ---- waiters that are killed ------------------------------------------------ */

static int t_wait_forever(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_event *ready = NULL;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_event_open(&ready, n->b) == 0);
  if (n->n == 0) {
    mproc_sem *s = NULL;
    CHILD_CHECK(mproc_sem_open(&s, n->a) == 0);
    CHILD_CHECK(mproc_event_set(ready) == 0);
    mproc_sem_acquire(s, MPROC_FOREVER);
  } else if (n->n == 1) {
    mproc_cond *c = NULL;
    CHILD_CHECK(mproc_cond_open(&c, n->a) == 0);
    CHILD_CHECK(mproc_cond_acquire(c, MPROC_FOREVER) == 0);
    CHILD_CHECK(mproc_event_set(ready) == 0);
    mproc_cond_wait(c, MPROC_FOREVER);
  } else {
    mproc_barrier *b = NULL;
    CHILD_CHECK(mproc_barrier_open(&b, n->a) == 0);
    CHILD_CHECK(mproc_event_set(ready) == 0);
    mproc_barrier_wait(b, MPROC_FOREVER);
  }
  return 98; /* not reached: killed while waiting */
}
MPROC_TASK(t_wait_forever);

static void kill_waiter(names_arg *n, int kind) {
  mproc_event *ready = NULL;
  mproc_process *p;
  assert_int_equal(mproc_event_new(&ready, NULL), 0);
  remember_name(mproc_event_name(ready));
  snprintf(n->b, sizeof n->b, "%s", mproc_event_name(ready));
  n->n = kind;
  p = tp_start(t_wait_forever, n, sizeof *n, NULL, 0);
  assert_int_equal(mproc_event_wait(ready, 30), 0);
  tu_sleep_ms(50); /* let it go to sleep in the wait */
  assert_int_equal(mproc_process_kill(p), 0);
  assert_int_equal(tp_join(p), -9);
  mproc_event_free(ready);
}

void test_killed_waiters(void **state) {
  mproc_sem *s = NULL;
  mproc_cond *c = NULL;
  mproc_barrier *b = NULL;
  names_arg n;
  (void)state;
  /* Semaphore: the count stays exact. */
  assert_int_equal(mproc_sem_new(&s, 0, MPROC_SEMAPHORE, NULL), 0);
  remember_name(mproc_sem_name(s));
  n = names1(mproc_sem_name(s), NULL, NULL);
  kill_waiter(&n, 0);
  assert_int_equal(mproc_sem_value(s), 0);
  assert_int_equal(mproc_sem_release(s), 0);
  assert_int_equal(mproc_sem_value(s), 1);
  assert_int_equal(mproc_sem_acquire(s, 0), 0);
  assert_int_equal(mproc_sem_acquire(s, 0.02), MPROC_ETIMEDOUT);
  mproc_sem_free(s);
  /* Condition: its lock is free again and notify works. */
  assert_int_equal(mproc_cond_new(&c, NULL, NULL, NULL), 0);
  remember_name(mproc_cond_name(c));
  n = names1(mproc_cond_name(c), NULL, NULL);
  kill_waiter(&n, 1);
  assert_int_equal(mproc_cond_acquire(c, 2), 0);
  assert_int_equal(mproc_cond_notify_all(c), 0);
  assert_int_equal(mproc_cond_wait(c, 0.02), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_cond_release(c), 0);
  mproc_cond_free(c);
  /* Barrier: a party that died (after arriving) makes the others fail by
   * their timeout, breaking the barrier, instead of hanging. */
  assert_int_equal(mproc_barrier_new(&b, 3, NULL, NULL, NULL), 0);
  remember_name(mproc_barrier_name(b));
  n = names1(mproc_barrier_name(b), NULL, NULL);
  kill_waiter(&n, 2);
  assert_int_equal(mproc_barrier_n_waiting(b), 1); /* the dead one */
  assert_int_equal(mproc_barrier_wait(b, 0.1), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_barrier_broken(b), 1);
  assert_int_equal(mproc_barrier_reset(b), 0);
  assert_int_equal(mproc_barrier_n_waiting(b), 0);
  mproc_barrier_free(b);
}

/* ---- objects in a child of the program's own fork() ------------------------ */

void test_plain_fork_child(void **state) {
  mproc_lock *l = NULL;
  mproc_array *v = NULL;
  long pid;
  (void)state;
  if (g_method != MPROC_START_FORK) skip();
  assert_int_equal(mproc_lock_new(&l, NULL), 0);
  assert_int_equal(mproc_value_new(&v, 'i', NULL, NULL), 0);
  remember_name(mproc_lock_name(l));
  remember_name(mproc_array_name(v));
  pid = tu_fork();
  if (pid < 0) skip(); /* no fork() here */
  if (pid == 0) {
    /* The handles work as they are, and the library is usable. */
    mproc_process *p = NULL;
    int ok = mproc_lock_acquire(l, 10) == 0;
    *(int32_t *)mproc_array_ptr(v) = 42;
    ok = ok && mproc_lock_release(l) == 0;
    ok = ok && mproc_active_children(NULL, 0) == 0;
    ok = ok && mproc_process_new(&p, t_quick_exit, NULL, 0, NULL) == 0 &&
         mproc_process_start(p) == 0 &&
         mproc_process_join(p, 30) == 0;
    tu_exit(ok ? 0 : 1);
  }
  assert_int_equal(tu_wait_pid(pid), 0);
  assert_int_equal(*(int32_t *)mproc_array_ptr(v), 42);
  assert_int_equal(mproc_lock_acquire(l, 0), 0);
  assert_int_equal(mproc_lock_release(l), 0);
  mproc_array_free(v);
  mproc_lock_free(l);
}
