/* mproc: Barrier.
 *
 * One word holds the round (generation, 16 bits), a BROKEN bit and the
 * number of parties that arrived (15 bits). Arriving is a CAS on it; the
 * last party runs the action, then starts the next round (generation + 1,
 * count 0) with a CAS that fails if the round was broken or reset while
 * the action ran (abort, a waiter's timeout): then the round stays broken
 * and every party of it, the last one too, gets MPROC_EBROKEN. Waiters
 * sleep until the generation changes or BROKEN is set. A waiter whose
 * timeout expires before every party arrived breaks the barrier and gets
 * MPROC_ETIMEDOUT, as in Python; if all had arrived (the action is
 * running) it breaks it too, but as one that came in time it gets
 * MPROC_EBROKEN like the others. A party that died therefore makes the
 * others fail by their timeouts.
 *
 * Reset: `reset_gen` records the generation a reset started (+ 1), so that
 * a waiter of the reset round that runs late still sees its round ended
 * broken. The mark must outlive every such waiter, so while it is set new
 * arrivals are held back (as Python's Barrier holds them while it drains)
 * until no waiter of before the reset is inside wait. Who is inside is
 * kept in `inside`: a slot per waiter holding its pid, taken before it
 * arrives and cleared when it returns (`overflow` counts waiters that
 * found no slot). A dead pid's slot does not count, so a party killed
 * inside wait does not hold a reset barrier forever; one killed without a
 * slot (more than INSIDE waiting at once) does, until the held-back
 * arrivals' timeouts. */
#include <stdlib.h>
#include <string.h>

#include "object.h"

#define COUNT_MASK 0x7fffu
#define BROKEN 0x8000u
#define GEN(w) ((w) >> 16)
#define MAX_PARTIES 32767
#define INSIDE 64
/* How often a held-back arrival looks for dead waiters it waits for. */
#define DRAIN_CHECK 0.1

typedef struct barrier_state {
  _Atomic uint32_t word;
  _Atomic uint32_t reset_gen; /* (generation started by a reset) + 1 */
  uint32_t parties;
  _Atomic uint32_t overflow;        /* waiters inside without a slot */
  _Atomic uint32_t inside[INSIDE]; /* pids of waiters inside wait */
} barrier_state;

_Static_assert(MPROC__BARRIER_STATE >= sizeof(barrier_state), "a barrier fits its arena slot");

struct mproc_barrier {
  mproc__obj obj;
  barrier_state *st;
  mproc_barrier_action action;
  void *arg;
};

static void barrier_init(void *state, void *arg) {
  barrier_state *st = state;
  int i;
  atomic_store(&st->word, 0);
  atomic_store(&st->reset_gen, 0);
  atomic_store(&st->overflow, 0);
  for (i = 0; i < INSIDE; i++) atomic_store(&st->inside[i], 0);
  st->parties = (uint32_t)(intptr_t)arg;
}

static void barrier_attach(void *h) {
  mproc_barrier *b = h;
  b->st = mproc__obj_state(&b->obj);
}

const mproc__kind_ops mproc__barrier_ops = {MPROC__KIND_BARRIER,
                                            sizeof(mproc_barrier),
                                            barrier_attach,
                                            NULL,
                                            NULL,
                                            NULL,
                                            NULL};

int mproc_barrier_new(mproc_barrier **out, int parties,
                      mproc_barrier_action action, void *arg,
                      const mproc_sync_opts *opts) {
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "out is NULL");
  *out = NULL;
  if (parties < 1 || parties > MAX_PARTIES)
    return mproc__err(MPROC_EINVAL, "barrier parties %d is outside 1..%d",
                      parties, MAX_PARTIES);
  rc = mproc__kind_make(MPROC__KIND_BARRIER, out, 0, opts, barrier_init,
                        (void *)(intptr_t)parties);
  if (rc == 0) mproc_barrier_set_action(*out, action, arg);
  return rc;
}

int mproc_barrier_open(mproc_barrier **out, const char *name) {
  return mproc__kind_open(MPROC__KIND_BARRIER, out, name);
}

void mproc_barrier_set_action(mproc_barrier *b, mproc_barrier_action action,
                              void *arg) {
  if (b == NULL) return;
  b->action = action;
  b->arg = arg;
}

static int barrier_check(const mproc_barrier *b, const char *what) {
  if (b == NULL) return mproc__err(MPROC_EINVAL, "%s: barrier is NULL", what);
  return mproc__obj_check(&b->obj, what);
}

static int broken_error(const mproc_barrier *b) {
  return mproc__err(MPROC_EBROKEN, "barrier \"%s\" is broken (reset, "
                                   "aborted, or a party timed out)",
                    b->obj.name);
}


/* ---- who is inside wait (for the drain after a reset) ----------------- */

/* Take a slot; returns its index, or -1 (counted in overflow). */
static int enter_inside(barrier_state *st) {
  uint32_t me = mproc__self_id();
  unsigned i, start = (unsigned)(mproc__thread_id() + me) % INSIDE;
  for (i = 0; i < INSIDE; i++) {
    uint32_t f = 0;
    if (atomic_compare_exchange_strong(&st->inside[(start + i) % INSIDE], &f,
                                       me))
      return (int)((start + i) % INSIDE);
  }
  atomic_fetch_add(&st->overflow, 1);
  return -1;
}

/* If a reset waits for its round to drain and nobody (alive) of before it
 * is inside any more, end the hold-back. */
static void drain_check(mproc_barrier *b) {
  barrier_state *st = b->st;
  uint32_t mark = atomic_load(&st->reset_gen), me = mproc__self_id();
  int i;
  if (mark == 0 || atomic_load(&st->overflow) > 0) return;
  for (i = 0; i < INSIDE; i++) {
    uint32_t pid = atomic_load(&st->inside[i]);
    if (pid == 0) continue;
    if (pid == me || mproc__os_pid_alive((long)pid)) return;
    atomic_compare_exchange_strong(&st->inside[i], &pid, 0); /* dead */
  }
  if (atomic_compare_exchange_strong(&st->reset_gen, &mark, 0))
    mproc__wake(&b->obj, &st->reset_gen, INT32_MAX);
}

static void leave_inside(mproc_barrier *b, int slot) {
  if (slot >= 0)
    atomic_store(&b->st->inside[slot], 0);
  else
    atomic_fetch_sub(&b->st->overflow, 1);
  drain_check(b);
}

/* Wait, outside, until a reset's round has drained. 0 or an error. */
static int hold_back(mproc_barrier *b, uint32_t mark, double deadline) {
  double left = mproc__remaining(deadline);
  int rc;
  if (deadline >= 0 && left <= 0)
    return mproc__err(MPROC_ETIMEDOUT, "barrier \"%s\": the parties of a "
                                       "reset round did not leave in time",
                      b->obj.name);
  drain_check(b);
  rc = mproc__wait_intr(&b->obj, &b->st->reset_gen, mark,
                        mproc__deadline(deadline < 0 || left > DRAIN_CHECK
                                            ? DRAIN_CHECK
                                            : left));
  return rc == MPROC_ETIMEDOUT ? 0 : rc;
}

/* ---- waiting ------------------------------------------------------------ */

/* Set BROKEN on the current round and wake everyone. */
static void break_round(mproc_barrier *b) {
  uint32_t v = atomic_load(&b->st->word);
  while (!(v & BROKEN) &&
         !atomic_compare_exchange_weak(&b->st->word, &v, v | BROKEN)) {
  }
  mproc__wake(&b->obj, &b->st->word, INT32_MAX);
}

/* The outcome of round `gen`, which has ended (its generation moved on). */
static int ended(const mproc_barrier *b, uint32_t gen, int index) {
  if (atomic_load(&b->st->reset_gen) == ((gen + 1) & 0xffffu) + 1)
    return broken_error(b);
  return index;
}

/* Our wait ended without the round ending (timeout, interrupt): break it.
 * If every party had arrived, we came in time: MPROC_EBROKEN. */
static int give_up(mproc_barrier *b, uint32_t gen, int index, int rc) {
  uint32_t w = atomic_load(&b->st->word);
  if (GEN(w) != gen) return ended(b, gen, index); /* just in time */
  break_round(b);
  if (w & BROKEN || (w & COUNT_MASK) >= b->st->parties)
    return broken_error(b);
  if (rc != MPROC_ETIMEDOUT) return rc;
  return mproc__err(MPROC_ETIMEDOUT, "barrier \"%s\": %u of %u parties "
                                     "arrived in time; it is now broken",
                    b->obj.name, w & COUNT_MASK, b->st->parties);
}

static int wait_round(mproc_barrier *b, uint32_t gen, int index,
                      double deadline) {
  for (;;) {
    uint32_t w = atomic_load(&b->st->word);
    int rc;
    if (GEN(w) != gen) return ended(b, gen, index);
    if (w & BROKEN) return broken_error(b);
    rc = mproc__wait_intr(&b->obj, &b->st->word, w, deadline);
    if (rc < 0) return give_up(b, gen, index, rc);
  }
}

/* The last party: run the action, then open the next round unless the
 * round was broken or reset meanwhile. */
static int release_round(mproc_barrier *b, uint32_t gen, int index) {
  uint32_t v;
  if (b->action) b->action(b->arg);
  v = atomic_load(&b->st->word);
  do {
    if (GEN(v) != gen) return ended(b, gen, index);
    if (v & BROKEN) return broken_error(b);
  } while (!atomic_compare_exchange_weak(&b->st->word, &v,
                                         ((gen + 1) & 0xffffu) << 16));
  mproc__wake(&b->obj, &b->st->word, INT32_MAX);
  return index;
}

/* Arrive: 0 with *gen and *index; MPROC_EBROKEN; MPROC_EAGAIN while a
 * reset's round drains. The caller is inside (slot taken) already, so a
 * reset that lands after our arrival waits for us to leave. */
static int arrive(mproc_barrier *b, uint32_t *gen, uint32_t *index) {
  uint32_t v = atomic_load(&b->st->word), mark;
  for (;;) {
    if (v & BROKEN) return broken_error(b);
    mark = atomic_load(&b->st->reset_gen);
    if (mark != 0) return MPROC_EAGAIN; /* held back: the caller waits */
    if ((v & COUNT_MASK) >= b->st->parties) { /* the last is releasing */
      v = atomic_load(&b->st->word);
      continue;
    }
    if (atomic_compare_exchange_weak(&b->st->word, &v, v + 1)) break;
  }
  *gen = GEN(v);
  *index = v & COUNT_MASK;
  return 0;
}

int mproc_barrier_wait(mproc_barrier *b, double timeout) {
  double t, deadline;
  uint32_t gen = 0, index = 0, mark;
  int rc, slot;
  rc = barrier_check(b, "wait");
  if (rc < 0) return rc;
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  deadline = mproc__deadline(t);
  for (;;) {
    slot = enter_inside(b->st);
    rc = arrive(b, &gen, &index);
    if (rc != MPROC_EAGAIN) break;
    leave_inside(b, slot);
    mark = atomic_load(&b->st->reset_gen);
    if (mark != 0 && (rc = hold_back(b, mark, deadline)) < 0) return rc;
  }
  if (rc == 0)
    rc = index + 1 == b->st->parties
             ? release_round(b, gen, (int)index)
             : wait_round(b, gen, (int)index, deadline);
  leave_inside(b, slot);
  return rc;
}

int mproc_barrier_reset(mproc_barrier *b) {
  uint32_t v, gen, mark;
  int rc = barrier_check(b, "reset");
  if (rc < 0) return rc;
  v = atomic_load(&b->st->word);
  mark = atomic_load(&b->st->reset_gen);
  if (mark != 0 && mark == GEN(v) + 1 && (v & COUNT_MASK) == 0) {
    /* Reset again before the last reset's round drained: the new round is
     * still empty (arrivals are held back); only a break is undone. */
    atomic_fetch_and(&b->st->word, ~BROKEN);
  } else {
    gen = (GEN(v) + 1) & 0xffffu;
    atomic_store(&b->st->reset_gen, gen + 1);
    atomic_store(&b->st->word, gen << 16);
  }
  mproc__wake(&b->obj, &b->st->word, INT32_MAX);
  drain_check(b);
  return 0;
}

int mproc_barrier_abort(mproc_barrier *b) {
  int rc = barrier_check(b, "abort");
  if (rc < 0) return rc;
  break_round(b);
  return 0;
}

int mproc_barrier_broken(const mproc_barrier *b) {
  int rc = barrier_check(b, "broken");
  if (rc < 0) return rc;
  return (atomic_load(&b->st->word) & BROKEN) != 0;
}

int mproc_barrier_n_waiting(const mproc_barrier *b) {
  uint32_t v;
  int rc = barrier_check(b, "n_waiting");
  if (rc < 0) return rc;
  v = atomic_load(&b->st->word);
  return v & BROKEN ? 0 : (int)(v & COUNT_MASK);
}

int mproc_barrier_parties(const mproc_barrier *b) {
  return b ? (int)b->st->parties : 0;
}

const char *mproc_barrier_name(const mproc_barrier *b) {
  return b ? b->obj.name : NULL;
}

int mproc_barrier_close(mproc_barrier *b) {
  return mproc__kind_close(b, "barrier");
}

void mproc_barrier_free(mproc_barrier *b) { mproc__kind_free(b); }
