/* mproc: Lock and RLock.
 *
 * The lock word holds 0 when free, else the owner's pid (30 bits) and a
 * CONTENDED bit that tells the releaser someone may sleep on the word. A
 * waiter sleeps in slices of at most OWNER_CHECK seconds; after each slice
 * it checks that the owner's process still exists, and takes the lock over
 * from a dead owner with MPROC_EOWNERDEAD. So a process that dies holding
 * a lock costs the others at most one slice, never a deadlock. */
#include <stdlib.h>
#include <string.h>

#include "object.h"

#define OWNER_CHECK 0.1

struct mproc_lock {
  mproc__obj obj;
  _Atomic uint32_t *word;
};

static int take_dead(_Atomic uint32_t *w, uint32_t seen, uint32_t me) {
  uint32_t owner = seen & MPROC__LOCK_PID;
  if (owner == 0 || owner == me || mproc__os_pid_alive((long)owner))
    return 0;
  return atomic_compare_exchange_strong(w, &seen, me | MPROC__LOCK_CONTENDED);
}

/* The sleep of an acquire: interruptible (mproc_interrupt, and a close
 * of the handle) or not. */
static int lock_sleep(mproc__obj *o, _Atomic uint32_t *w, uint32_t v,
                      double slice, int intr) {
  return intr ? mproc__sleep_obj(o, w, v, slice)
              : mproc__os_wait(o->park, w, v, slice);
}

static int lockword_take(mproc__obj *o, _Atomic uint32_t *w, double timeout,
                         int intr) {
  uint32_t me = mproc__self_id(), v = 0;
  double t, deadline;
  int rc;

  /* NaN is refused before the fast path, so a free lock is no excuse. */
  if (timeout != timeout) return mproc__timeout(timeout, &t);
  if (atomic_compare_exchange_strong(w, &v, me)) return 0;
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  if (t == 0) {
    if (take_dead(w, v, me)) return MPROC_EOWNERDEAD;
    return mproc__err(MPROC_ETIMEDOUT, "the lock is held by process %u",
                      v & MPROC__LOCK_PID);
  }
  deadline = mproc__deadline(t);
  /* Spin first: a short critical section elsewhere ends soon. */
  while (mproc__spin(w, v)) {
    v = atomic_load(w);
    if (v == 0 && atomic_compare_exchange_strong(w, &v, me)) return 0;
  }
  for (;;) {
    double left, slice;
    v = atomic_load(w);
    if (v == 0) {
      /* Others may sleep: keep CONTENDED so our release wakes one. */
      if (atomic_compare_exchange_weak(w, &v, me | MPROC__LOCK_CONTENDED))
        return 0;
      continue;
    }
    if (!(v & MPROC__LOCK_CONTENDED)) {
      uint32_t want = v | MPROC__LOCK_CONTENDED;
      if (!atomic_compare_exchange_weak(w, &v, want)) continue;
      v = want;
    }
    left = mproc__remaining(deadline);
    if (deadline >= 0 && left <= 0) {
      if (take_dead(w, v, me)) return MPROC_EOWNERDEAD;
      return mproc__err(MPROC_ETIMEDOUT, "the lock is held by process %u",
                        v & MPROC__LOCK_PID);
    }
    slice = deadline < 0 || left > OWNER_CHECK ? OWNER_CHECK : left;
    rc = lock_sleep(o, w, v, slice, intr);
    if (rc == MPROC_ETIMEDOUT) {
      if (take_dead(w, v, me)) return MPROC_EOWNERDEAD;
    } else if (rc < 0) {
      return rc;
    }
  }
}

int mproc__lockword_acquire(mproc__obj *o, _Atomic uint32_t *w,
                            double timeout) {
  return lockword_take(o, w, timeout, 0);
}

int mproc__lockword_acquire_intr(mproc__obj *o, _Atomic uint32_t *w,
                                 double timeout) {
  return lockword_take(o, w, timeout, 1);
}

int mproc__lockword_release(mproc__obj *o, _Atomic uint32_t *w) {
  uint32_t old = atomic_exchange(w, 0);
  if (old == 0)
    return mproc__err(MPROC_ESTATE, "release of \"%s\": it is not held",
                      o->name);
  if (old & MPROC__LOCK_CONTENDED) mproc__wake(o, w, 1);
  return 0;
}

/* ---- Lock ---------------------------------------------------------------- */

_Static_assert(MPROC__LOCK_STATE >= sizeof(uint32_t), "the lock word fits its arena slot");
_Static_assert(MPROC__RLOCK_STATE >= sizeof(mproc__rlock_state), "an RLock fits its arena slot");

static void lock_init(void *state, void *arg) {
  (void)arg;
  memset(state, 0, sizeof(uint32_t));
}

static void lock_attach(void *h) {
  mproc_lock *l = h;
  l->word = mproc__obj_state(&l->obj);
}

const mproc__kind_ops mproc__lock_ops = {MPROC__KIND_LOCK, sizeof(mproc_lock),
                                         lock_attach, NULL, NULL, NULL, NULL};

int mproc_lock_new(mproc_lock **out, const mproc_sync_opts *opts) {
  return mproc__kind_make(MPROC__KIND_LOCK, out, 0, opts, lock_init, NULL);
}

int mproc_lock_open(mproc_lock **out, const char *name) {
  return mproc__kind_open(MPROC__KIND_LOCK, out, name);
}

/* NULL or closed: the error every call on a handle begins with. */
static int lock_check(const mproc_lock *l, const char *what) {
  if (l == NULL) return mproc__err(MPROC_EINVAL, "%s: lock is NULL", what);
  return mproc__obj_check(&l->obj, what);
}

int mproc_lock_acquire(mproc_lock *l, double timeout) {
  int rc = lock_check(l, "acquire");
  if (rc < 0) return rc;
  return mproc__lockword_acquire_intr(&l->obj, l->word, timeout);
}

int mproc_lock_locked(const mproc_lock *l) {
  int rc = lock_check(l, "locked");
  if (rc < 0) return rc;
  return atomic_load(l->word) != 0;
}

int mproc_lock_release(mproc_lock *l) {
  int rc = lock_check(l, "release");
  if (rc < 0) return rc;
  return mproc__lockword_release(&l->obj, l->word);
}

const char *mproc_lock_name(const mproc_lock *l) {
  return l ? l->obj.name : NULL;
}

int mproc_lock_close(mproc_lock *l) { return mproc__kind_close(l, "lock"); }

void mproc_lock_free(mproc_lock *l) { mproc__kind_free(l); }

/* Used by Condition: its object, to pass it along. */
mproc__obj *mproc__lock_obj(const mproc_lock *l) {
  return (mproc__obj *)(uintptr_t)&l->obj;
}

/* Used by Condition: take the lock back after a wait, whatever
 * mproc_interrupt says (a wait returns holding its lock). */
int mproc__lock_reacquire(mproc_lock *l) {
  return mproc__lockword_acquire(&l->obj, l->word, MPROC_FOREVER);
}

/* Used by Condition: a handle of its own on the same lock, so the
 * condition and the caller's handle are freed in any order. */
int mproc__lock_dup(const mproc_lock *src, mproc_lock **out) {
  int rc = lock_check(src, "condition");
  return rc < 0 ? rc : mproc_lock_open(out, src->obj.name);
}

/* Used by Condition: release through a handle that may be closed (a wait
 * that re-took the lock just as its condition was closed). */
int mproc__lock_release_any(mproc_lock *l) {
  return mproc__lockword_release(&l->obj, l->word);
}

/* Used by Condition: whether the calling process holds it. */
int mproc__lock_held_by_me(const mproc_lock *l) {
  return (atomic_load(l->word) & MPROC__LOCK_PID) == mproc__self_id();
}

/* ---- RLock --------------------------------------------------------------- */

void mproc__rlock_init_state(void *state, void *arg) {
  (void)arg;
  memset(state, 0, sizeof(mproc__rlock_state));
}

void mproc__rlock_borrow(mproc_rlock *l, mproc__obj *o,
                         mproc__rlock_state *st) {
  l->obj = o;
  l->st = st;
}

static int owned(const mproc_rlock *l) {
  /* The thread field is only written by the owner while it holds the word
   * (the word's acquire/release orders it), so relaxed access suffices. */
  return (atomic_load(&l->st->word) & MPROC__LOCK_PID) == mproc__self_id() &&
         atomic_load_explicit(&l->st->thread, memory_order_relaxed) ==
             mproc__thread_id();
}

static void rlock_attach(void *h) {
  mproc_rlock *l = h;
  mproc__rlock_borrow(l, &l->own, mproc__obj_state(&l->own));
}

const mproc__kind_ops mproc__rlock_ops = {MPROC__KIND_RLOCK,
                                          sizeof(mproc_rlock),
                                          rlock_attach,
                                          NULL,
                                          NULL,
                                          NULL,
                                          NULL};

int mproc_rlock_new(mproc_rlock **out, const mproc_sync_opts *opts) {
  return mproc__kind_make(MPROC__KIND_RLOCK, out, 0, opts,
                          mproc__rlock_init_state, NULL);
}

int mproc_rlock_open(mproc_rlock **out, const char *name) {
  return mproc__kind_open(MPROC__KIND_RLOCK, out, name);
}

static int rlock_check(const mproc_rlock *l, const char *what) {
  if (l == NULL) return mproc__err(MPROC_EINVAL, "%s: rlock is NULL", what);
  return mproc__obj_check(l->obj, what);
}

int mproc_rlock_acquire(mproc_rlock *l, double timeout) {
  double t;
  int rc = rlock_check(l, "acquire");
  if (rc < 0) return rc;
  if (timeout != timeout) return mproc__timeout(timeout, &t); /* NaN */
  if (owned(l)) {
    if (l->st->count == UINT32_MAX)
      return mproc__err(MPROC_ERANGE, "rlock \"%s\" is held %u times",
                        l->obj->name, l->st->count);
    l->st->count++;
    return 0;
  }
  rc = mproc__lockword_acquire_intr(l->obj, &l->st->word, timeout);
  if (rc == 0 || rc == MPROC_EOWNERDEAD) {
    atomic_store_explicit(&l->st->thread, mproc__thread_id(),
                          memory_order_relaxed);
    l->st->count = 1;
  }
  return rc;
}

int mproc_rlock_release(mproc_rlock *l) {
  int rc = rlock_check(l, "release");
  if (rc < 0) return rc;
  if (!owned(l))
    return mproc__err(MPROC_EPERM, "release of rlock \"%s\" by a thread "
                                   "that does not own it",
                      l->obj->name);
  if (--l->st->count > 0) return 0;
  atomic_store_explicit(&l->st->thread, 0, memory_order_relaxed);
  return mproc__lockword_release(l->obj, &l->st->word);
}

int mproc__rlock_release_all(mproc_rlock *l, uint32_t *count) {
  if (!owned(l))
    return mproc__err(MPROC_EPERM, "rlock \"%s\" is not held by the "
                                   "calling thread",
                      l->obj->name);
  *count = l->st->count;
  l->st->count = 0;
  atomic_store_explicit(&l->st->thread, 0, memory_order_relaxed);
  return mproc__lockword_release(l->obj, &l->st->word);
}

int mproc__rlock_reacquire(mproc_rlock *l, uint32_t count) {
  int rc = mproc__lockword_acquire(l->obj, &l->st->word, MPROC_FOREVER);
  if (rc == 0 || rc == MPROC_EOWNERDEAD) {
    atomic_store_explicit(&l->st->thread, mproc__thread_id(),
                          memory_order_relaxed);
    l->st->count = count;
  }
  return rc;
}

int mproc_rlock_count(const mproc_rlock *l) {
  return l && owned(l) ? (int)l->st->count : 0;
}

int mproc_rlock_is_owned(const mproc_rlock *l) {
  int rc = rlock_check(l, "is_owned");
  if (rc < 0) return rc;
  return owned(l);
}

int mproc_rlock_locked(const mproc_rlock *l) {
  int rc = rlock_check(l, "locked");
  if (rc < 0) return rc;
  return atomic_load(&l->st->word) != 0;
}

const char *mproc_rlock_name(const mproc_rlock *l) {
  return l ? l->obj->name : NULL;
}

int mproc__rlock_of(const char *name, uint32_t kind, size_t offset,
                    mproc_rlock **out) {
  mproc_rlock *l = calloc(1, sizeof *l);
  int rc;
  *out = NULL;
  if (l == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  rc = mproc__obj_open(&l->own, name, kind);
  if (rc < 0) {
    free(l);
    return rc;
  }
  mproc__rlock_borrow(l, &l->own,
                      (mproc__rlock_state *)((char *)mproc__obj_state(&l->own) +
                                             offset));
  *out = l;
  return 0;
}

/* A handle of its own on the same RLock: of an RLock's own object, or of
 * the array whose lock it is (the state at the same offset). */
int mproc__rlock_dup(const mproc_rlock *src, mproc_rlock **out) {
  int rc = rlock_check(src, "condition");
  *out = NULL;
  if (rc < 0) return rc;
  return mproc__rlock_of(src->obj->name, mproc__obj_kind(src->obj),
                         (size_t)((char *)src->st -
                                  (char *)mproc__obj_state(src->obj)),
                         out);
}

int mproc_rlock_close(mproc_rlock *l) {
  return mproc__kind_close(l, "rlock");
}

/* Every RLock handle owns its object (`own`): also the one of an array's
 * lock (mproc_array_get_lock), which holds the array on its own. */
void mproc_rlock_free(mproc_rlock *l) { mproc__kind_free(l); }
