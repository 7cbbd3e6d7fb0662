/* mproc: Barrier.
 *
 * One word holds the round (generation, 16 bits), a BROKEN bit and the
 * number of parties that arrived (15 bits). Arriving is a CAS on it; the
 * last party runs the action, then starts the next round (generation + 1,
 * count 0) and wakes everyone. Waiters sleep until the generation changes.
 * `reset_gen` records the generation a reset started, so that the waiters
 * of the reset round report MPROC_EBROKEN rather than success. A waiter
 * whose timeout expires breaks the barrier, as in Python; a party that
 * died therefore makes the others fail by their timeouts. */
#include <stdlib.h>
#include <string.h>

#include "object.h"

#define COUNT_MASK 0x7fffu
#define BROKEN 0x8000u
#define GEN(w) ((w) >> 16)
#define MAX_PARTIES 32767

typedef struct barrier_state {
  _Atomic uint32_t word;
  _Atomic uint32_t reset_gen; /* (generation started by a reset) + 1 */
  uint32_t parties;
} barrier_state;

struct mproc_barrier {
  mproc__obj obj;
  barrier_state *st;
  mproc_barrier_action action;
  void *arg;
};

static void barrier_init(void *state, void *arg) {
  barrier_state *st = state;
  atomic_store(&st->word, 0);
  atomic_store(&st->reset_gen, 0);
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

static int broken_error(const mproc_barrier *b) {
  return mproc__err(MPROC_EBROKEN, "barrier \"%s\" is broken (reset, "
                                   "aborted, or a party timed out)",
                    b->obj.name);
}

/* Set BROKEN on the current round and wake everyone. */
static void break_round(mproc_barrier *b) {
  uint32_t v = atomic_load(&b->st->word);
  while (!(v & BROKEN) &&
         !atomic_compare_exchange_weak(&b->st->word, &v, v | BROKEN)) {
  }
  mproc__wake(&b->obj, &b->st->word, INT32_MAX);
}

static int wait_round(mproc_barrier *b, uint32_t gen, int index,
                      double deadline) {
  for (;;) {
    uint32_t w = atomic_load(&b->st->word);
    int rc;
    if (GEN(w) != gen) {
      if (atomic_load(&b->st->reset_gen) == ((gen + 1) & 0xffffu) + 1)
        return broken_error(b);
      return index;
    }
    if (w & BROKEN) return broken_error(b);
    rc = mproc__wait(&b->obj, &b->st->word, w, deadline);
    if (rc == MPROC_ETIMEDOUT) {
      w = atomic_load(&b->st->word);
      if (GEN(w) != gen) continue; /* released just in time */
      break_round(b);
      return mproc__err(MPROC_ETIMEDOUT, "barrier \"%s\": %u of %u parties "
                                         "arrived in time; it is now broken",
                        b->obj.name, w & COUNT_MASK, b->st->parties);
    }
    if (rc < 0) return rc;
  }
}

int mproc_barrier_wait(mproc_barrier *b, double timeout) {
  double t;
  uint32_t v, count, gen;
  int rc;
  if (b == NULL) return mproc__err(MPROC_EINVAL, "barrier is NULL");
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  v = atomic_load(&b->st->word);
  for (;;) {
    if (v & BROKEN) return broken_error(b);
    count = v & COUNT_MASK;
    gen = GEN(v);
    if (count >= b->st->parties) { /* the last party is releasing */
      v = atomic_load(&b->st->word);
      continue;
    }
    if (atomic_compare_exchange_weak(&b->st->word, &v, v + 1)) break;
  }
  if (count + 1 == b->st->parties) {
    uint32_t mark = gen + 1;
    /* A round started by a reset completes normally: forget the mark, so
     * it cannot match again when the generation wraps. */
    atomic_compare_exchange_strong(&b->st->reset_gen, &mark, 0);
    if (b->action) b->action(b->arg);
    atomic_store(&b->st->word, ((gen + 1) & 0xffffu) << 16);
    mproc__wake(&b->obj, &b->st->word, INT32_MAX);
    return (int)count;
  }
  return wait_round(b, gen, (int)count, mproc__deadline(t));
}

int mproc_barrier_reset(mproc_barrier *b) {
  uint32_t v, gen;
  if (b == NULL) return mproc__err(MPROC_EINVAL, "barrier is NULL");
  v = atomic_load(&b->st->word);
  gen = (GEN(v) + 1) & 0xffffu;
  atomic_store(&b->st->reset_gen, gen + 1);
  atomic_store(&b->st->word, gen << 16);
  mproc__wake(&b->obj, &b->st->word, INT32_MAX);
  return 0;
}

int mproc_barrier_abort(mproc_barrier *b) {
  if (b == NULL) return mproc__err(MPROC_EINVAL, "barrier is NULL");
  break_round(b);
  return 0;
}

int mproc_barrier_broken(const mproc_barrier *b) {
  return b && (atomic_load(&b->st->word) & BROKEN) != 0;
}

int mproc_barrier_n_waiting(const mproc_barrier *b) {
  uint32_t v;
  if (b == NULL) return 0;
  v = atomic_load(&b->st->word);
  return v & BROKEN ? 0 : (int)(v & COUNT_MASK);
}

int mproc_barrier_parties(const mproc_barrier *b) {
  return b ? (int)b->st->parties : 0;
}

const char *mproc_barrier_name(const mproc_barrier *b) {
  return b ? b->obj.name : NULL;
}

void mproc_barrier_free(mproc_barrier *b) { mproc__kind_free(b); }
