/* mproc tests: one meaning per lifecycle verb, on every type (issue 9).
 *
 * - _close ends one handle's use: every later call on it returns
 *   MPROC_ECLOSED, closing twice is 0, free after close (and free of
 *   NULL) is fine, and a second handle on the same object — another open
 *   by name in this process, or a child's — works on.
 * - A thread blocked on a handle is woken by a close from another thread
 *   and returns MPROC_ECLOSED, for every blocking kind: lock and rlock
 *   acquire, semaphore acquire, condition wait, event wait, barrier wait,
 *   queue get (empty) and put (full), a connection's recv and poll, an
 *   mproc_conn_wait listing it, a listener's accept, and a wait on a
 *   wake-up object's handle.
 * - Holds are per handle: two opens in one process are two holds, so
 *   freeing one leaves the name and the other handle.
 * - Pairs are freed in any order: a condition and its lock or rlock, an
 *   array and its lock, a process and its sentinel (used before the free,
 *   or the process freed while its child runs), an executor and its
 *   futures.
 * Cross-process cases run under every start method; each test's teardown
 * checks that no named object of this run is left. */
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

static char prefix[32];

static int nothing_left(void **state) {
  int now = tu_count_shm(prefix);
  (void)state;
  if (now > 0) {
    fprintf(stderr, "%d %s-* names left in /dev/shm\n", now, prefix);
    return -1;
  }
  return 0;
}

/* A unique name for an object of this test run. */
static const char *uname(const char *tag) {
  static char buf[8][64];
  static unsigned n;
  char *b = buf[n % 8];
  snprintf(b, sizeof buf[0], "%.12s-%.2s%u", prefix, tag, n++ % 1000);
  return b;
}

/* ---- use after close ------------------------------------------------------ */

static void test_lock_kinds_after_close(void **state) {
  mproc_lock *l;
  mproc_rlock *r;
  mproc_sem *s;
  mproc_event *e;
  mproc_barrier *b;
  (void)state;
  assert_int_equal(mproc_lock_new(&l, NULL), 0);
  assert_int_equal(mproc_lock_close(l), 0);
  assert_int_equal(mproc_lock_close(l), 0); /* twice: harmless */
  assert_int_equal(mproc_lock_acquire(l, 0), MPROC_ECLOSED);
  assert_non_null(strstr(mproc_last_error(), "closed"));
  assert_int_equal(mproc_lock_release(l), MPROC_ECLOSED);
  assert_int_equal(mproc_lock_locked(l), MPROC_ECLOSED);
  assert_int_equal(mproc_lock_close(NULL), MPROC_EINVAL);
  mproc_lock_free(l);
  mproc_lock_free(NULL);

  assert_int_equal(mproc_rlock_new(&r, NULL), 0);
  assert_int_equal(mproc_rlock_close(r), 0);
  assert_int_equal(mproc_rlock_acquire(r, 0), MPROC_ECLOSED);
  assert_int_equal(mproc_rlock_release(r), MPROC_ECLOSED);
  assert_int_equal(mproc_rlock_locked(r), MPROC_ECLOSED);
  assert_int_equal(mproc_rlock_is_owned(r), MPROC_ECLOSED);
  mproc_rlock_free(r);

  assert_int_equal(mproc_sem_new(&s, 1, MPROC_BOUNDED_SEMAPHORE, NULL), 0);
  assert_int_equal(mproc_sem_close(s), 0);
  assert_int_equal(mproc_sem_acquire(s, 0), MPROC_ECLOSED);
  assert_int_equal(mproc_sem_release(s), MPROC_ECLOSED);
  assert_int_equal(mproc_sem_value(s), MPROC_ECLOSED);
  mproc_sem_free(s);
  /* The kind is a kind, not any int. */
  assert_int_equal(mproc_sem_new(&s, 1, (mproc_sem_kind)7, NULL),
                   MPROC_EINVAL);
  assert_null(s);

  assert_int_equal(mproc_event_new(&e, NULL), 0);
  assert_int_equal(mproc_event_close(e), 0);
  assert_int_equal(mproc_event_set(e), MPROC_ECLOSED);
  assert_int_equal(mproc_event_clear(e), MPROC_ECLOSED);
  assert_int_equal(mproc_event_is_set(e), MPROC_ECLOSED);
  assert_int_equal(mproc_event_wait(e, 0), MPROC_ECLOSED);
  mproc_event_free(e);

  assert_int_equal(mproc_barrier_new(&b, 2, NULL, NULL, NULL), 0);
  assert_int_equal(mproc_barrier_close(b), 0);
  assert_int_equal(mproc_barrier_wait(b, 0), MPROC_ECLOSED);
  assert_int_equal(mproc_barrier_reset(b), MPROC_ECLOSED);
  assert_int_equal(mproc_barrier_abort(b), MPROC_ECLOSED);
  assert_int_equal(mproc_barrier_broken(b), MPROC_ECLOSED);
  assert_int_equal(mproc_barrier_n_waiting(b), MPROC_ECLOSED);
  mproc_barrier_free(b);
}

static void test_other_kinds_after_close(void **state) {
  mproc_cond *c;
  mproc_array *a;
  mproc_rlock *l = NULL;
  mproc_shm *s;
  mproc_queue *q;
  mproc_conn *x, *y;
  mproc_wakeup *w;
  size_t len;
  char buf[8];
  (void)state;
  assert_int_equal(mproc_cond_new(&c, NULL, NULL, NULL), 0);
  assert_int_equal(mproc_cond_close(c), 0);
  assert_int_equal(mproc_cond_close(c), 0);
  assert_int_equal(mproc_cond_acquire(c, 0), MPROC_ECLOSED);
  assert_int_equal(mproc_cond_release(c), MPROC_ECLOSED);
  assert_int_equal(mproc_cond_wait(c, 0), MPROC_ECLOSED);
  assert_int_equal(mproc_cond_notify_all(c), MPROC_ECLOSED);
  mproc_cond_free(c);

  assert_int_equal(mproc_value_new(&a, 'i', NULL, NULL), 0);
  assert_int_equal(mproc_array_close(a), 0);
  assert_null(mproc_array_ptr(a));
  assert_int_equal(mproc_array_get_lock(a, &l), MPROC_ECLOSED);
  assert_null(l);
  mproc_array_free(a);

  /* Python's close() then unlink(): the name goes after the close. */
  assert_int_equal(mproc_shm_new(&s, 100, NULL), 0);
  assert_non_null(mproc_shm_buf(s));
  assert_int_equal(mproc_shm_close(s), 0);
  assert_int_equal(mproc_shm_close(s), 0);
  assert_null(mproc_shm_buf(s));
  assert_int_equal(mproc_shm_unlink(s), 0);
  mproc_shm_free(s);
  mproc_shm_free(NULL);

  assert_int_equal(mproc_queue_new(&q, NULL), 0);
  assert_int_equal(mproc_queue_close(q), 0);
  assert_int_equal(mproc_queue_put(q, "x", 1, 0), MPROC_ECLOSED);
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 0),
                   MPROC_ECLOSED);
  assert_int_equal(mproc_queue_qsize(q), MPROC_ECLOSED);
  mproc_queue_free(q);

  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &x, &y), 0);
  assert_int_equal(mproc_conn_close(x), 0);
  assert_int_equal(mproc_conn_close(x), 0);
  assert_int_equal(mproc_conn_send(x, "x", 1), MPROC_ECLOSED);
  assert_int_equal(mproc_conn_recv(x, buf, sizeof buf, &len), MPROC_ECLOSED);
  assert_int_equal(mproc_conn_poll(x, 0), MPROC_ECLOSED);
  assert_true(mproc_conn_handle(x) == MPROC_NO_HANDLE);
  assert_int_equal(mproc_conn_recv(y, buf, sizeof buf, &len), MPROC_EEOF);
  mproc_conn_free(x);
  mproc_conn_free(y);
  assert_int_equal(mproc_pipe((mproc_pipe_kind)5, &x, &y), MPROC_EINVAL);
  assert_null(x);

  assert_int_equal(mproc_wakeup_new(&w), 0);
  assert_int_equal(mproc_wakeup_close(w), 0);
  assert_int_equal(mproc_wakeup_close(w), 0);
  assert_int_equal(mproc_wakeup_signal(w), MPROC_ECLOSED);
  assert_int_equal(mproc_wakeup_clear(w), MPROC_ECLOSED);
  assert_true(mproc_wakeup_handle(w) == MPROC_NO_HANDLE);
  mproc_wakeup_free(w);
}

/* ---- two handles in one process: a hold each ------------------------------ */

/* b was opened by name on a's object; after a is freed, b works and the
 * name is still there (a third open succeeds). */
static void test_two_handles(void **state) {
  const char *n;
  mproc_sync_opts so = MPROC_SYNC_OPTS_INIT;
  mproc_shm_opts ho = MPROC_SHM_OPTS_INIT;
  mproc_queue_opts qo = MPROC_QUEUE_OPTS_INIT;
  mproc_lock *l1, *l2, *l3;
  mproc_sem *s1, *s2, *s3;
  mproc_event *e1, *e2;
  mproc_shm *h1, *h2, *h3;
  mproc_queue *q1, *q2, *q3;
  mproc_cond *c1, *c2;
  size_t len;
  char buf[8];
  (void)state;

  so.name = n = uname("l");
  assert_int_equal(mproc_lock_new(&l1, &so), 0);
  assert_int_equal(mproc_lock_open(&l2, n), 0);
  mproc_lock_free(l1);
  assert_int_equal(mproc_lock_acquire(l2, 0), 0);
  assert_int_equal(mproc_lock_open(&l3, n), 0); /* the name is there */
  assert_int_equal(mproc_lock_locked(l3), 1);   /* the same lock */
  assert_int_equal(mproc_lock_release(l3), 0);
  mproc_lock_free(l2);
  mproc_lock_free(l3);
  assert_int_equal(mproc_lock_open(&l1, n), MPROC_ENOENT); /* last: gone */

  so.name = n = uname("s");
  assert_int_equal(mproc_sem_new(&s1, 0, MPROC_SEMAPHORE, &so), 0);
  assert_int_equal(mproc_sem_open(&s2, n), 0);
  assert_int_equal(mproc_sem_close(s2), 0); /* close, not free: a hold */
  assert_int_equal(mproc_sem_release(s1), 0);
  assert_int_equal(mproc_sem_open(&s3, n), 0);
  assert_int_equal(mproc_sem_acquire(s3, 0), 0);
  mproc_sem_free(s1);
  mproc_sem_free(s2);
  assert_int_equal(mproc_sem_release(s3), 0);
  mproc_sem_free(s3);

  so.name = n = uname("e");
  assert_int_equal(mproc_event_new(&e1, &so), 0);
  assert_int_equal(mproc_event_open(&e2, n), 0);
  mproc_event_free(e1);
  assert_int_equal(mproc_event_set(e2), 0);
  assert_int_equal(mproc_event_wait(e2, 0), 0);
  mproc_event_free(e2);

  so.name = n = uname("c");
  assert_int_equal(mproc_cond_new(&c1, NULL, NULL, &so), 0);
  assert_int_equal(mproc_cond_open(&c2, n), 0);
  mproc_cond_free(c1);
  assert_int_equal(mproc_cond_acquire(c2, 0), 0);
  assert_int_equal(mproc_cond_wait(c2, 0), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_cond_release(c2), 0);
  mproc_cond_free(c2);

  ho.name = n = uname("h");
  assert_int_equal(mproc_shm_new(&h1, 64, &ho), 0);
  assert_int_equal(mproc_shm_open(&h2, n), 0);
  ((char *)mproc_shm_buf(h1))[0] = 'z';
  mproc_shm_free(h1);
  assert_int_equal(((char *)mproc_shm_buf(h2))[0], 'z');
  assert_int_equal(mproc_shm_open(&h3, n), 0);
  mproc_shm_free(h3);
  mproc_shm_free(h2);
  assert_int_equal(mproc_shm_open(&h1, n), MPROC_ENOENT);

  qo.name = n = uname("q");
  assert_int_equal(mproc_queue_new(&q1, &qo), 0);
  assert_int_equal(mproc_queue_open(&q2, n), 0);
  assert_int_equal(mproc_queue_put(q1, "hi", 2, 0), 0);
  mproc_queue_free(q1);
  assert_int_equal(mproc_queue_get(q2, buf, sizeof buf, &len, 0), 0);
  assert_int_equal(len, 2);
  assert_int_equal(mproc_queue_open(&q3, n), 0);
  mproc_queue_free(q3);
  mproc_queue_free(q2);
}

/* ---- free in any order ---------------------------------------------------- */

static void test_cond_lock_any_order(void **state) {
  mproc_lock *l;
  mproc_rlock *r;
  mproc_cond *c;
  int order;
  (void)state;
  for (order = 0; order < 2; order++) {
    assert_int_equal(mproc_lock_new(&l, NULL), 0);
    assert_int_equal(mproc_cond_new(&c, l, NULL, NULL), 0);
    if (order == 0) {
      mproc_lock_free(l); /* the condition keeps a handle of its own */
      assert_int_equal(mproc_cond_acquire(c, 0), 0);
      assert_int_equal(mproc_cond_notify(c, 1), 0);
      assert_int_equal(mproc_cond_wait(c, 0.01), MPROC_ETIMEDOUT);
      assert_int_equal(mproc_cond_release(c), 0);
      mproc_cond_free(c);
    } else {
      mproc_cond_free(c); /* the caller's lock is unaffected */
      assert_int_equal(mproc_lock_acquire(l, 0), 0);
      assert_int_equal(mproc_lock_release(l), 0);
      mproc_lock_free(l);
    }

    assert_int_equal(mproc_rlock_new(&r, NULL), 0);
    assert_int_equal(mproc_cond_new(&c, NULL, r, NULL), 0);
    assert_int_equal(mproc_rlock_acquire(r, 0), 0); /* held through r */
    assert_int_equal(mproc_cond_wait(c, 0.01), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_rlock_count(r), 1); /* the same RLock */
    if (order == 0) {
      assert_int_equal(mproc_rlock_release(r), 0);
      mproc_rlock_free(r);
      assert_int_equal(mproc_cond_acquire(c, 0), 0);
      assert_int_equal(mproc_cond_release(c), 0);
      mproc_cond_free(c);
    } else {
      mproc_cond_free(c);
      assert_int_equal(mproc_rlock_release(r), 0);
      mproc_rlock_free(r);
    }
  }
}

static void test_array_lock_any_order(void **state) {
  mproc_array *a;
  mproc_rlock *l, *l2;
  mproc_cond *c;
  int order;
  (void)state;
  for (order = 0; order < 2; order++) {
    int32_t one = 1;
    assert_int_equal(mproc_value_new(&a, 'i', &one, NULL), 0);
    assert_int_equal(mproc_array_get_lock(a, &l), 0);
    assert_int_equal(mproc_array_get_lock(a, &l2), 0);
    /* A condition over the array's lock holds a handle of its own too. */
    assert_int_equal(mproc_cond_new(&c, NULL, l2, NULL), 0);
    mproc_rlock_free(l2);
    if (order == 0) {
      mproc_array_free(a);
      assert_int_equal(mproc_rlock_acquire(l, 0), 0);
      assert_int_equal(mproc_cond_acquire(c, 0), 0); /* the same RLock */
      assert_int_equal(mproc_rlock_count(l), 2);
      assert_int_equal(mproc_cond_release(c), 0);
      assert_int_equal(mproc_rlock_release(l), 0);
      mproc_rlock_free(l);
      mproc_cond_free(c);
    } else {
      mproc_rlock_free(l);
      mproc_cond_free(c);
      assert_int_equal(*(int32_t *)mproc_array_ptr(a), 1);
      mproc_array_free(a);
    }
  }
}

/* An executor and its futures: either may go first. */
static int t_square(const void *in, size_t len, mproc_buf *out) {
  int32_t x;
  if (len != sizeof x) return 1;
  memcpy(&x, in, sizeof x);
  x *= x;
  return mproc_buf_write(out, &x, sizeof x);
}

static void test_executor_future_any_order(void **state) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex;
  mproc_future *f, *g;
  const void *r;
  void *taken = NULL;
  size_t n;
  int32_t x = 7;
  (void)state;
  o.max_workers = 1;
  assert_int_equal(mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, &o), 0);
  assert_int_equal(mproc_executor_submit(ex, t_square, &x, sizeof x, &f), 0);
  assert_int_equal(mproc_executor_submit(ex, t_square, &x, sizeof x, &g), 0);
  mproc_future_free(g);   /* a future before its executor */
  mproc_executor_free(ex); /* the executor before the other future */
  assert_int_equal(mproc_future_result(f, 0, &r, &n), 0);
  assert_int_equal(n, sizeof x);
  assert_int_equal(*(const int32_t *)r, 49);
  assert_int_equal(mproc_future_take(f, 0, &taken, &n), 0);
  mproc_free(taken); /* the library's buffer */
  mproc_future_free(f);
}

/* ---- close wakes a thread blocked on the handle --------------------------- */

enum {
  W_LOCK, W_RLOCK, W_SEM, W_COND, W_EVENT, W_BARRIER, W_QGET, W_QPUT,
  W_RECV, W_POLL, W_CONNWAIT, W_ACCEPT, W_WAKEUP, W_COUNT
};
static const char *const wname[W_COUNT] = {
    "lock acquire", "rlock acquire", "semaphore acquire", "condition wait",
    "event wait",   "barrier wait",  "queue get",         "queue put",
    "conn recv",    "conn poll",     "conn_wait",         "listener accept",
    "wakeup wait"};

/* The objects of one round: the handle the waiter blocks on, and what
 * keeps it blocked (another handle holding the lock, a full queue...). */
typedef struct round {
  int kind;
  mproc_lock *lock, *lock_holder;
  mproc_rlock *rlock, *rlock_holder;
  mproc_sem *sem;
  mproc_cond *cond;
  mproc_event *event;
  mproc_barrier *barrier;
  mproc_queue *queue;
  mproc_conn *end, *peer;
  mproc_listener *listener;
  mproc_wakeup *wakeup;
  atomic_int started;
  int rc;
} round;

/* Static: a failed check may leave the thread running past the test. */
static round g_round;

static int blocked_call(round *r) {
  char buf[16];
  size_t len;
  mproc_conn *c = NULL;
  mproc_handle h;
  unsigned char ready = 0;
  int rc;
  switch (r->kind) {
  case W_LOCK: return mproc_lock_acquire(r->lock, 60);
  case W_RLOCK: return mproc_rlock_acquire(r->rlock, 60);
  case W_SEM: return mproc_sem_acquire(r->sem, 60);
  case W_COND:
    rc = mproc_cond_acquire(r->cond, 60);
    return rc < 0 ? rc : mproc_cond_wait(r->cond, 60);
  case W_EVENT: return mproc_event_wait(r->event, 60);
  case W_BARRIER: return mproc_barrier_wait(r->barrier, 60);
  case W_QGET: return mproc_queue_get(r->queue, buf, sizeof buf, &len, 60);
  case W_QPUT: return mproc_queue_put(r->queue, "b", 1, 60);
  case W_RECV: return mproc_conn_recv(r->end, buf, sizeof buf, &len);
  case W_POLL: return mproc_conn_poll(r->end, 60);
  case W_CONNWAIT: {
    mproc_wait_obj o[2];
    memset(o, 0, sizeof o);
    o[0].conn = r->end; /* and a handle that never becomes ready */
    o[1].handle = mproc_wakeup_handle(r->wakeup);
    return mproc_conn_wait(o, 2, 60);
  }
  case W_ACCEPT:
    rc = mproc_listener_accept(r->listener, 60, &c);
    mproc_conn_free(c);
    return rc;
  case W_WAKEUP:
    /* A wait on the handle: close makes it ready for good. */
    h = mproc_wakeup_handle(r->wakeup);
    rc = mproc_wait_handles(&h, 1, 60, &ready);
    if (rc == 1 && ready) return mproc_wakeup_signal(r->wakeup);
    return rc;
  }
  return MPROC_EINVAL;
}

static void waiter_main(void *arg) {
  round *r = arg;
  atomic_store(&r->started, 1);
  r->rc = blocked_call(r);
}

static void round_setup(round *r, int kind) {
  const char *n;
  mproc_sync_opts so = MPROC_SYNC_OPTS_INIT;
  mproc_queue_opts qo = MPROC_QUEUE_OPTS_INIT;
  memset(r, 0, sizeof *r);
  r->kind = kind;
  so.name = n = uname("w");
  switch (kind) {
  case W_LOCK:
    assert_int_equal(mproc_lock_new(&r->lock_holder, &so), 0);
    assert_int_equal(mproc_lock_open(&r->lock, n), 0);
    assert_int_equal(mproc_lock_acquire(r->lock_holder, 0), 0);
    break;
  case W_RLOCK:
    /* Held by this thread: the waiter (another thread) must wait. */
    assert_int_equal(mproc_rlock_new(&r->rlock_holder, &so), 0);
    assert_int_equal(mproc_rlock_open(&r->rlock, n), 0);
    assert_int_equal(mproc_rlock_acquire(r->rlock_holder, 0), 0);
    break;
  case W_SEM:
    assert_int_equal(mproc_sem_new(&r->sem, 0, MPROC_SEMAPHORE, &so), 0);
    break;
  case W_COND:
    assert_int_equal(mproc_cond_new(&r->cond, NULL, NULL, &so), 0);
    break;
  case W_EVENT: assert_int_equal(mproc_event_new(&r->event, &so), 0); break;
  case W_BARRIER:
    assert_int_equal(mproc_barrier_new(&r->barrier, 2, NULL, NULL, &so), 0);
    break;
  case W_QGET:
  case W_QPUT:
    qo.name = n;
    qo.maxsize = 1;
    assert_int_equal(mproc_queue_new(&r->queue, &qo), 0);
    if (kind == W_QPUT) assert_int_equal(mproc_queue_put(r->queue, "a", 1, 0), 0);
    break;
  case W_RECV:
  case W_POLL:
  case W_CONNWAIT:
    assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &r->end, &r->peer), 0);
    if (kind == W_CONNWAIT) assert_int_equal(mproc_wakeup_new(&r->wakeup), 0);
    break;
  case W_ACCEPT:
    assert_int_equal(mproc_listener_new(&r->listener, NULL,
                                        MPROC_FAMILY_DEFAULT, 0, NULL, 0),
                     0);
    break;
  case W_WAKEUP: assert_int_equal(mproc_wakeup_new(&r->wakeup), 0); break;
  }
}

static int round_close(round *r) {
  switch (r->kind) {
  case W_LOCK: return mproc_lock_close(r->lock);
  case W_RLOCK: return mproc_rlock_close(r->rlock);
  case W_SEM: return mproc_sem_close(r->sem);
  case W_COND: return mproc_cond_close(r->cond);
  case W_EVENT: return mproc_event_close(r->event);
  case W_BARRIER: return mproc_barrier_close(r->barrier);
  case W_QGET:
  case W_QPUT: return mproc_queue_close(r->queue);
  case W_RECV:
  case W_POLL:
  case W_CONNWAIT: return mproc_conn_close(r->end);
  case W_ACCEPT: return mproc_listener_close(r->listener);
  case W_WAKEUP: return mproc_wakeup_close(r->wakeup);
  }
  return MPROC_EINVAL;
}

static void round_free(round *r) {
  if (r->lock_holder) {
    assert_int_equal(mproc_lock_locked(r->lock_holder), 1); /* unaffected */
    assert_int_equal(mproc_lock_release(r->lock_holder), 0);
  }
  if (r->rlock_holder)
    assert_int_equal(mproc_rlock_release(r->rlock_holder), 0);
  mproc_lock_free(r->lock);
  mproc_lock_free(r->lock_holder);
  mproc_rlock_free(r->rlock);
  mproc_rlock_free(r->rlock_holder);
  mproc_sem_free(r->sem);
  mproc_cond_free(r->cond);
  mproc_event_free(r->event);
  mproc_barrier_free(r->barrier);
  mproc_queue_free(r->queue);
  mproc_conn_free(r->end);
  mproc_conn_free(r->peer);
  mproc_listener_free(r->listener);
  mproc_wakeup_free(r->wakeup);
}

/* The waiter is known to be inside the call where the object shows it
 * (a barrier's waiting count); elsewhere it gets a moment to block. The
 * outcome must be MPROC_ECLOSED either way: a close that comes before the
 * call blocks makes the call return MPROC_ECLOSED at its start. */
static void let_it_block(round *r) {
  int i;
  while (!atomic_load(&r->started)) tu_sleep_ms(1);
  if (r->kind == W_BARRIER) {
    for (i = 0; i < 30000 && mproc_barrier_n_waiting(r->barrier) != 1; i++)
      tu_sleep_ms(1);
    assert_int_equal(mproc_barrier_n_waiting(r->barrier), 1);
    return;
  }
  tu_sleep_ms(50);
}

static void test_close_wakes_waiter(void **state) {
  int k;
  (void)state;
  for (k = 0; k < W_COUNT; k++) {
    round *r = &g_round;
    uv_thread_t t;
    uint64_t t0;
    round_setup(r, k);
    assert_int_equal(uv_thread_create(&t, waiter_main, r), 0);
    let_it_block(r);
    t0 = uv_hrtime();
    assert_int_equal(round_close(r), 0);
    uv_thread_join(&t);
    if (r->rc != MPROC_ECLOSED)
      fail_msg("%s: the close gave %s, not MPROC_ECLOSED (%s)", wname[k],
               mproc_err_name(r->rc), mproc_last_error());
    /* Woken by the close, not by the 60 s timeout (generous: load). */
    if ((double)(uv_hrtime() - t0) / 1e9 > 30)
      fail_msg("%s: the close took %.1f s to end the wait", wname[k],
               (double)(uv_hrtime() - t0) / 1e9);
    round_free(r);
  }
}

/* ---- across processes: a close here leaves the child's handle ------------- */

/* Gets a message from the passed queue, puts it back doubled. */
static int t_echo(const void *arg, size_t len) {
  mproc_queue *q = NULL;
  char buf[16];
  size_t n;
  (void)arg;
  (void)len;
  CHILD_CHECK(mproc_inherited(0, MPROC_KIND_QUEUE, &q) == 0);
  CHILD_CHECK(mproc_queue_get(q, buf, sizeof buf / 2, &n, 120) == 0);
  memcpy(buf + n, buf, n);
  CHILD_CHECK(mproc_queue_put(q, buf, 2 * n, 120) == 0);
  mproc_queue_free(q);
  return 0;
}
MPROC_TASK(t_echo);

static void test_close_leaves_child(void **state) {
  mproc_queue_opts qo = MPROC_QUEUE_OPTS_INIT;
  mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
  mproc_pass pass[1];
  mproc_queue *q, *q2;
  mproc_process *p;
  char buf[16];
  size_t n;
  (void)state;
  qo.name = uname("x");
  assert_int_equal(mproc_queue_new(&q, &qo), 0);
  assert_int_equal(mproc_queue_open(&q2, qo.name), 0);
  pass[0] = MPROC_PASS(q);
  po.pass = pass;
  po.n_pass = 1;
  p = tp_start_with(t_echo, NULL, 0, &po);
  /* The passed handle closed and freed at once: the child and q2 go on. */
  assert_int_equal(mproc_queue_close(q), 0);
  assert_int_equal(mproc_queue_put(q, "ab", 2, 0), MPROC_ECLOSED);
  mproc_queue_free(q);
  assert_int_equal(mproc_queue_put(q2, "ab", 2, 60), 0);
  assert_int_equal(tp_join(p), 0);
  assert_int_equal(mproc_queue_get(q2, buf, sizeof buf, &n, 60), 0);
  assert_int_equal(n, 4);
  assert_memory_equal(buf, "abab", 4);
  mproc_queue_free(q2);
}

/* ---- a process and its sentinel, in either order -------------------------- */

static int t_wait_event(const void *arg, size_t len) {
  mproc_event *e = NULL;
  (void)arg;
  (void)len;
  CHILD_CHECK(mproc_inherited(0, MPROC_KIND_EVENT, &e) == 0);
  CHILD_CHECK(mproc_event_wait(e, 120) == 0);
  mproc_event_free(e);
  return 0;
}
MPROC_TASK(t_wait_event);

static void test_process_any_order(void **state) {
  mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
  mproc_pass pass[1];
  mproc_event *e;
  mproc_process *p;
  mproc_handle h;
  unsigned char ready = 0;
  int code = -1;
  (void)state;
  assert_int_equal(mproc_event_new(&e, NULL), 0);
  pass[0] = MPROC_PASS(e);
  po.pass = pass;
  po.n_pass = 1;
  /* Sentinel used, then join, close and free. */
  p = tp_start_with(t_wait_event, NULL, 0, &po);
  h = mproc_process_sentinel(p);
  assert_int_equal(mproc_wait_handles(&h, 1, 0, &ready), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_event_set(e), 0);
  assert_int_equal(mproc_wait_handles(&h, 1, 120, &ready), 1);
  assert_int_equal(mproc_process_join(p, 120), 0);
  assert_int_equal(mproc_process_exitcode(p, &code), 0);
  assert_int_equal(code, 0);
  assert_int_equal(mproc_process_close(p), 0);
  assert_true(mproc_process_sentinel(p) == MPROC_NO_HANDLE);
  assert_int_equal(mproc_process_join(p, 0), MPROC_ECLOSED);
  mproc_process_free(p);
  /* The process freed while its child runs (detached), the event after. */
  assert_int_equal(mproc_event_clear(e), 0);
  p = tp_start_with(t_wait_event, NULL, 0, &po);
  mproc_process_free(p);
  assert_int_equal(mproc_event_set(e), 0);
  mproc_event_free(e);
}

/* Last in each group: the detached child of test_process_any_order ends
 * (its exit reaped by the library) and drops its hold on the event, the
 * last one: then no name of this run is left (generous: under load a
 * spawned child may take long to start). */
static void test_children_gone(void **state) {
  int i;
  (void)state;
  for (i = 0; i < 12000 && tu_count_shm(prefix) > 0; i++) tu_sleep_ms(10);
}

int main(int argc, char **argv) {
  const struct CMUnitTest local[] = {
      cmocka_unit_test_teardown(test_lock_kinds_after_close, nothing_left),
      cmocka_unit_test_teardown(test_other_kinds_after_close, nothing_left),
      cmocka_unit_test_teardown(test_two_handles, nothing_left),
      cmocka_unit_test_teardown(test_cond_lock_any_order, nothing_left),
      cmocka_unit_test_teardown(test_array_lock_any_order, nothing_left),
      cmocka_unit_test_teardown(test_executor_future_any_order, nothing_left),
      cmocka_unit_test_teardown(test_close_wakes_waiter, nothing_left),
  };
  const struct CMUnitTest procs[] = {
      cmocka_unit_test_teardown(test_close_leaves_child, nothing_left),
      cmocka_unit_test(test_process_any_order),
      cmocka_unit_test_teardown(test_children_gone, nothing_left),
  };
  int failed = 0;
  tu_set_argv0(argv[0]);
  if (getenv("MPROC_NAME_PREFIX")) {
    snprintf(prefix, sizeof prefix, "%s", getenv("MPROC_NAME_PREFIX"));
  } else {
    snprintf(prefix, sizeof prefix, "tv%ld", mproc_current_pid() % 1000000);
    tu_setenv("MPROC_NAME_PREFIX", prefix);
  }
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  failed += cmocka_run_group_tests_name("verbs", local, NULL, NULL);
  failed += TP_RUN_PER_METHOD("verbs", procs);
  return failed ? 1 : 0;
}
