/* mproc: Condition.
 *
 * The condition's shared state is a count word, a sequence word and the
 * name and kind of its lock. The 64-bit count word holds four fields:
 * `before`, waiters registered before the latest notify and not yet
 * granted; `after`, waiters registered since; `tokens`, wake-ups granted
 * and not yet taken; and `epoch`, the number of notifies (16 bits). A
 * waiter registers (after++, noting the epoch) while it still holds the
 * lock, releases the lock, and sleeps on the sequence word until it can
 * take a token. notify(n), under the lock, merges `after` into `before`,
 * turns k = min(n, before) of them into tokens, bumps the epoch, bumps
 * the sequence and wakes k sleepers. Only a waiter whose epoch is older
 * than the current one (it waited at the notify) may take a token. So
 * notify(n) ends at most n waits, and only waits that were waiting at it
 * — the herd of a bare sequence word (every waiter that saw it change
 * returned) is gone.
 *
 * Tokens carry no name among the waiters of before a notify: any of them
 * may take one. The counts stay right: waiters of before = before +
 * tokens, waiters of since = after. A wait that times out (or is
 * interrupted) leaves: after-- if it registered since the latest notify;
 * else before-- if any is left ungranted; else every one of them was
 * granted and a token is its own — it returns notified, so no notify is
 * lost to a timeout. A waiter killed while waiting stays counted: a
 * later notify may grant it a token nobody of its time takes, which a
 * waiter of a later round may then take (one spurious wake-up for the
 * whole condition, never a lost one). */
#include <stdlib.h>
#include <string.h>

#include "object.h"


#define F_BEFORE 0
#define F_AFTER 16
#define F_TOKENS 32
#define F_EPOCH 48
#define FIELD(v, f) ((uint32_t)((v) >> (f)) & 0xffffu)
#define ONE(f) ((uint64_t)1 << (f))
#define MAX_WAITERS 0xffffu

typedef struct cond_state {
  _Atomic uint64_t count; /* epoch | tokens | after | before, 16 bits each */
  _Atomic uint32_t seq;   /* bumped by every notify: sleepers sleep on it */
  uint32_t rlock; /* 1: the lock is an RLock */
  char lock_name[MPROC_SHM_NAME_MAX + 1];
} cond_state;

_Static_assert(MPROC__COND_STATE >= sizeof(cond_state), "a condition fits its arena slot");

/* The condition always has a handle of its own on its lock (made, opened,
 * adopted, or a second handle on the caller's lock), so the caller may
 * free the condition and the lock in any order. */
struct mproc_cond {
  mproc__obj obj;
  cond_state *st;
  mproc_lock *lock; /* exactly one of lock, rlock: the condition's own */
  mproc_rlock *rlock;
};

static void cond_init(void *state, void *arg) {
  const mproc_cond *c = arg;
  cond_state *st = state;
  atomic_store(&st->count, 0);
  atomic_store(&st->seq, 0);
  st->rlock = c->rlock != NULL;
  strcpy(st->lock_name, c->rlock ? mproc_rlock_name(c->rlock)
                                 : mproc_lock_name(c->lock));
}

int mproc_cond_new(mproc_cond **out, mproc_lock *lock, mproc_rlock *rlock,
                   const mproc_sync_opts *user_opts) {
  mproc_cond *c;
  mproc_sync_opts lock_opts = MPROC_SYNC_OPTS_INIT, o;
  const mproc_sync_opts *opts = &o;
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "out is NULL");
  *out = NULL;
  rc = mproc__opts_load(&o, sizeof o, user_opts, "cond_new",
                        "MPROC_SYNC_OPTS_INIT");
  if (rc < 0) return rc;
  if (lock && rlock)
    return mproc__err(MPROC_EINVAL, "a condition takes a lock or an rlock, "
                                    "not both");
  c = calloc(1, sizeof *c);
  if (c == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  if (lock) {
    rc = mproc__lock_dup(lock, &c->lock);
  } else if (rlock) {
    rc = mproc__rlock_dup(rlock, &c->rlock);
  } else {
    /* Python's Condition() makes an RLock of its own. */
    lock_opts.no_track = opts->no_track;
    rc = mproc_rlock_new(&c->rlock, &lock_opts);
  }
  if (rc < 0) goto fail;
  rc = mproc__obj_create(&c->obj, MPROC__KIND_COND, 0, opts, cond_init, c);
  if (rc < 0) goto fail;
  c->st = mproc__obj_state(&c->obj);
  *out = c;
  return 0;
fail:
  mproc_rlock_free(c->rlock);
  mproc_lock_free(c->lock);
  free(c);
  return rc;
}

static void cond_attach(void *h) {
  mproc_cond *c = h;
  c->st = mproc__obj_state(&c->obj);
}

/* A condition opened or adopted takes its lock the same way: by name, or
 * from the second passed segment. */
static int cond_take_lock(mproc_cond **out, int rc,
                          const mproc__pass_seg *lock_seg) {
  mproc_cond *c = *out;
  if (rc < 0) return rc;
  if (lock_seg)
    rc = mproc__kind_adopt(c->st->rlock ? MPROC__KIND_RLOCK
                                        : MPROC__KIND_LOCK,
                           c->st->rlock ? (void *)&c->rlock
                                        : (void *)&c->lock,
                           lock_seg);
  else
    rc = c->st->rlock ? mproc_rlock_open(&c->rlock, c->st->lock_name)
                      : mproc_lock_open(&c->lock, c->st->lock_name);
  if (rc < 0) {
    mproc__kind_free(c);
    *out = NULL;
    return rc;
  }
  return 0;
}

int mproc_cond_open(mproc_cond **out, const char *name) {
  int rc = mproc__kind_open(MPROC__KIND_COND, out, name);
  return cond_take_lock(out, rc, NULL);
}

/* ---- passing to a child: the condition and its lock ---------------------- */

static mproc__obj *lock_obj(const mproc_cond *c) {
  return c->rlock ? c->rlock->obj : mproc__lock_obj(c->lock);
}

static int cond_pass(const void *h, mproc__pass_seg *segs, size_t *nseg) {
  const mproc_cond *c = h;
  int rc = mproc__obj_pass(&c->obj, &segs[0]);
  *nseg = 2;
  return rc < 0 ? rc : mproc__obj_pass(lock_obj(c), &segs[1]);
}

static void cond_hold(const void *h, long pid) {
  mproc_cond *c = (mproc_cond *)(uintptr_t)h;
  mproc__obj_hold_for(&c->obj, pid);
  mproc__obj_hold_for(lock_obj(c), pid);
}

static int cond_adopt(void **out, const mproc__pass_seg *segs, size_t nseg) {
  mproc_cond *c = calloc(1, sizeof *c);
  int rc;
  *out = NULL;
  if (c == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  if (nseg != 2) {
    free(c);
    return mproc__err(MPROC_EBOOTSTRAP, "a passed condition came as %zu "
                                        "objects, not 2",
                      nseg);
  }
  rc = mproc__obj_adopt(&c->obj, &segs[0], MPROC__KIND_COND);
  if (rc < 0) {
    free(c);
    return rc;
  }
  cond_attach(c);
  rc = cond_take_lock(&c, 0, &segs[1]);
  if (rc == 0) *out = c;
  return rc;
}

static void cond_free(void *h) { mproc_cond_free(h); }

const mproc__kind_ops mproc__cond_ops = {MPROC__KIND_COND, sizeof(mproc_cond),
                                         cond_attach,      cond_pass,
                                         cond_hold,        cond_adopt,
                                         cond_free};

static int cond_check(const mproc_cond *c, const char *what) {
  if (c == NULL)
    return mproc__err(MPROC_EINVAL, "%s: condition is NULL", what);
  return mproc__obj_check(&c->obj, what);
}

int mproc_cond_acquire(mproc_cond *c, double timeout) {
  int rc = cond_check(c, "acquire");
  if (rc < 0) return rc;
  return c->rlock ? mproc_rlock_acquire(c->rlock, timeout)
                  : mproc_lock_acquire(c->lock, timeout);
}

int mproc_cond_release(mproc_cond *c) {
  int rc = cond_check(c, "release");
  if (rc < 0) return rc;
  return c->rlock ? mproc_rlock_release(c->rlock)
                  : mproc_lock_release(c->lock);
}

static int held(const mproc_cond *c) {
  return c->rlock ? mproc_rlock_count(c->rlock) > 0
                  : mproc__lock_held_by_me(c->lock);
}

/* Count ourselves a waiter (the lock is held); *epoch is the epoch. */
static int enter(mproc_cond *c, uint32_t *epoch) {
  uint64_t v = atomic_load(&c->st->count);
  do {
    if (FIELD(v, F_BEFORE) + FIELD(v, F_AFTER) + FIELD(v, F_TOKENS) >=
        MAX_WAITERS)
      return mproc__err(MPROC_ERANGE, "condition \"%s\" has %u waiters",
                        c->obj.name, MAX_WAITERS);
  } while (!atomic_compare_exchange_weak(&c->st->count, &v,
                                         v + ONE(F_AFTER)));
  *epoch = FIELD(v, F_EPOCH);
  return 0;
}

/* Take a token if one is ours to take: 1 if taken. */
static int take_token(mproc_cond *c, uint32_t epoch) {
  uint64_t v = atomic_load(&c->st->count);
  while (FIELD(v, F_EPOCH) != epoch && FIELD(v, F_TOKENS) > 0)
    if (atomic_compare_exchange_weak(&c->st->count, &v, v - ONE(F_TOKENS)))
      return 1;
  return 0;
}

/* Stop waiting without a wake-up (see the top). Returns 1 if a token was
 * ours after all, else 0. */
static int leave(mproc_cond *c, uint32_t epoch) {
  uint64_t v = atomic_load(&c->st->count), less;
  for (;;) {
    if (FIELD(v, F_EPOCH) == epoch)
      less = ONE(F_AFTER);
    else if (FIELD(v, F_BEFORE) > 0)
      less = ONE(F_BEFORE);
    else
      return take_token(c, epoch);
    if (atomic_compare_exchange_weak(&c->st->count, &v, v - less)) return 0;
  }
}

/* Sleep until a token is ours: 0, or MPROC_ETIMEDOUT / MPROC_EINTR / an
 * error after leaving (0 then too if a token was ours after all). */
static int sleep_for_token(mproc_cond *c, uint32_t epoch, double deadline) {
  for (;;) {
    uint32_t seq = atomic_load(&c->st->seq);
    int rc;
    if (take_token(c, epoch)) return 0;
    rc = mproc__wait_intr(&c->obj, &c->st->seq, seq, deadline);
    if (rc == 0) continue;
    return leave(c, epoch) ? 0 : rc;
  }
}

int mproc_cond_wait(mproc_cond *c, double timeout) {
  uint32_t count = 0, epoch = 0;
  double t, deadline;
  int rc, rc2;
  rc = cond_check(c, "wait");
  if (rc < 0) return rc;
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  if (!held(c))
    return mproc__err(MPROC_EPERM, "wait on condition \"%s\" without "
                                   "holding its lock",
                      c->obj.name);
  deadline = mproc__deadline(t);
  rc = enter(c, &epoch);
  if (rc < 0) return rc;
  rc = c->rlock ? mproc__rlock_release_all(c->rlock, &count)
                : mproc_lock_release(c->lock);
  if (rc < 0) {
    leave(c, epoch);
    return rc;
  }
  rc = sleep_for_token(c, epoch, deadline);
  /* A close of this handle ends the wait without the lock: re-taking it
   * through a closed handle would leave it held where no call on this
   * handle can release it (a Condition's own RLock has no other). */
  if (rc == MPROC_ECLOSED) return rc;
  /* The lock comes back in every other case, also after an interrupt. */
  rc2 = c->rlock ? mproc__rlock_reacquire(c->rlock, count)
                 : mproc__lock_reacquire(c->lock);
  if (atomic_load(&c->obj.closed)) {
    /* Closed while we took the lock back: give it up again (as above). */
    if (c->rlock)
      (void)mproc__rlock_release_all(c->rlock, &count);
    else
      (void)mproc__lock_release_any(c->lock);
    return mproc__obj_check(&c->obj, "wait");
  }
  if (rc2 < 0) return rc2; /* MPROC_EOWNERDEAD matters more */
  if (rc == MPROC_ETIMEDOUT)
    return mproc__err(rc, "condition \"%s\" was not notified in time",
                      c->obj.name);
  return rc;
}

int mproc_cond_wait_for(mproc_cond *c, int (*pred)(void *arg), void *arg,
                        double timeout) {
  double t, deadline;
  int rc = cond_check(c, "wait_for");
  if (rc < 0) return rc;
  if (pred == NULL) return mproc__err(MPROC_EINVAL, "predicate is NULL");
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  deadline = mproc__deadline(t);
  while (!pred(arg)) {
    double left = mproc__remaining(deadline);
    if (deadline >= 0 && left <= 0)
      return mproc__err(MPROC_ETIMEDOUT, "the predicate of condition \"%s\" "
                                         "did not become true in time",
                        c->obj.name);
    rc = mproc_cond_wait(c, deadline < 0 ? MPROC_FOREVER : left);
    if (rc < 0 && rc != MPROC_ETIMEDOUT) return rc;
  }
  return 0;
}

int mproc_cond_notify(mproc_cond *c, int n) {
  uint64_t v, nv;
  uint32_t k, waiting;
  int rc = cond_check(c, "notify");
  if (rc < 0) return rc;
  if (n < 0) return mproc__err(MPROC_EINVAL, "notify(%d): n < 0", n);
  if (!held(c))
    return mproc__err(MPROC_EPERM, "notify on condition \"%s\" without "
                                   "holding its lock",
                      c->obj.name);
  v = atomic_load(&c->st->count);
  do {
    waiting = FIELD(v, F_BEFORE) + FIELD(v, F_AFTER);
    k = waiting < (uint32_t)n ? waiting : (uint32_t)n;
    if (k == 0) return 0; /* nobody waits ungranted: no system call */
    nv = ((uint64_t)((FIELD(v, F_EPOCH) + 1) & 0xffffu) << F_EPOCH) |
         ((uint64_t)(FIELD(v, F_TOKENS) + k) << F_TOKENS) |
         ((uint64_t)(waiting - k) << F_BEFORE);
  } while (!atomic_compare_exchange_weak(&c->st->count, &v, nv));
  atomic_fetch_add(&c->st->seq, 1);
  mproc__wake(&c->obj, &c->st->seq, k == waiting ? INT32_MAX : (int)k);
  return 0;
}

int mproc_cond_notify_all(mproc_cond *c) {
  return mproc_cond_notify(c, INT32_MAX);
}

const char *mproc_cond_name(const mproc_cond *c) {
  return c ? c->obj.name : NULL;
}

/* The condition first (its waiters wake and leave without the lock),
 * then its own lock handle (threads acquiring through the condition). */
int mproc_cond_close(mproc_cond *c) {
  if (c == NULL) return mproc__err(MPROC_EINVAL, "condition is NULL");
  mproc__obj_close(&c->obj);
  if (c->rlock) mproc_rlock_close(c->rlock);
  if (c->lock) mproc_lock_close(c->lock);
  return 0;
}

void mproc_cond_free(mproc_cond *c) {
  if (c == NULL) return;
  mproc_cond_close(c);
  mproc__obj_free(&c->obj);
  mproc_rlock_free(c->rlock);
  mproc_lock_free(c->lock);
  free(c);
}
