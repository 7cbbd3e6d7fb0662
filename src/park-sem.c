/* mproc: the wait group of the backend contract for kernels that cannot
 * sleep on an address in shared memory (Windows; the generic POSIX
 * fallback): sleepers park on one of two named counting semaphores.
 *
 * Protocol. A sleeper registers in the current wake generation g (under
 * the object's pid-lock: count[g & 1]++), re-reads the word, and sleeps on
 * semaphore g & 1 only if the word still holds the expected value. A waker
 * changes the word first (seq_cst, in the common layer), then — under the
 * pid-lock — takes k = count[g & 1], clears it, moves to generation g + 1
 * and posts k units on semaphore g & 1. Sleepers who arrive after that
 * register in g + 1 and sleep on the other semaphore, so they can never
 * take a unit meant for generation g: every registered sleeper gets
 * exactly one unit, and no wake-up is lost. A sleeper that leaves early
 * (timeout, word already changed) unregisters if its generation is still
 * current; otherwise its unit stays behind and makes one later sleep of
 * the same parity return early, which callers tolerate (they re-check).
 * A process killed while registered costs the same: one early return.
 *
 * Every wake wakes all registered sleepers (they re-check; for a lock only
 * one wins): correct for every caller, at the price of a herd when many
 * processes contend. */
#include <stdlib.h>

#include "object.h"

struct mproc__os_park {
  mproc__os_sem *sem[2];
  mproc__park_words *w;
};

/* '#' is not allowed in names, so no user object can clash with these. */
static const char *const suffix[2] = {"#w0", "#w1"};

int mproc__os_park_open(mproc__os_park **out, const char *name,
                        mproc__park_words *words, int create) {
  mproc__os_park *p = calloc(1, sizeof *p);
  int rc, i;
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  for (i = 0; i < 2; i++) {
    rc = mproc__os_sem_open(&p->sem[i], name, suffix[i], create);
    if (rc < 0) {
      if (i == 1) mproc__os_sem_close(p->sem[0]);
      if (create) mproc__os_park_unlink(name);
      free(p);
      return rc;
    }
  }
  p->w = words;
  *out = p;
  return 0;
}

void mproc__os_park_close(mproc__os_park *p) {
  if (p == NULL) return;
  mproc__os_sem_close(p->sem[0]);
  mproc__os_sem_close(p->sem[1]);
  free(p);
}

void mproc__os_park_unlink(const char *name) {
  mproc__os_sem_unlink(name, suffix[0]);
  mproc__os_sem_unlink(name, suffix[1]);
}

static void unregister(mproc__os_park *p, uint32_t g) {
  mproc__pidlock_acquire(&p->w->lock);
  if (atomic_load(&p->w->gen) == g) atomic_fetch_sub(&p->w->count[g & 1], 1);
  mproc__pidlock_release(&p->w->lock);
}

int mproc__os_wait(mproc__os_park *p, _Atomic uint32_t *addr,
                   uint32_t expected, double timeout) {
  uint32_t g;
  int rc;
  mproc__pidlock_acquire(&p->w->lock);
  g = atomic_load(&p->w->gen);
  atomic_fetch_add(&p->w->count[g & 1], 1);
  mproc__pidlock_release(&p->w->lock);
  if (atomic_load(addr) != expected) {
    unregister(p, g);
    return 0;
  }
  rc = mproc__os_sem_wait(p->sem[g & 1], timeout);
  if (rc == MPROC_ETIMEDOUT) unregister(p, g);
  return rc;
}

void mproc__os_wake(mproc__os_park *p, _Atomic uint32_t *addr, int n) {
  uint32_t g, k;
  (void)addr;
  (void)n; /* everyone registered wakes; see above */
  if (atomic_load(&p->w->count[0]) == 0 && atomic_load(&p->w->count[1]) == 0)
    return; /* nobody sleeps: no system call */
  mproc__pidlock_acquire(&p->w->lock);
  g = atomic_load(&p->w->gen);
  k = atomic_exchange(&p->w->count[g & 1], 0);
  if (k > 0) atomic_store(&p->w->gen, g + 1);
  mproc__pidlock_release(&p->w->lock);
  if (k > 0) mproc__os_sem_post(p->sem[g & 1], k);
}
