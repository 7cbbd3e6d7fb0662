/* mproc: the wait group of the backend contract for kernels that cannot
 * sleep on an address in shared memory (Windows; the generic POSIX
 * fallback): sleepers park on a few named counting semaphores.
 *
 * Protocol. A sleeper registers in the current wake generation (under the
 * object's pid-lock: count++, noting the generation g and its semaphore
 * i), re-reads the word, and sleeps on semaphore i only if the word still
 * holds the expected value. A waker changes the word first (seq_cst, in
 * the common layer), then — under the pid-lock — takes k = count, posts k
 * units on semaphore i (out[i] += k), and opens generation g + 1 on a
 * semaphore whose units have all been taken (out[j] == 0). So a sleeper
 * of a newer generation never sleeps on a semaphore that still holds a
 * unit meant for an older sleeper which is on its way into the wait, or
 * woken but not yet running: units carry no name, and taking such a unit
 * would make the older sleeper sleep through its wake-up. Every
 * registered sleeper takes one unit (out[i]--), also one that times out
 * after its generation was woken (quit; if the unit is not there at once,
 * it is left, and out[i] shows it as owed).
 *
 * Only when every semaphore still owes units (slow sleepers, or units left
 * by processes killed while registered, which are never taken) does a
 * generation reuse one. A sleeper that then takes a unit while its own
 * generation is still current knows it was not its own and gives it back
 * (claim), up to STEAL_MAX times. And no sleep lasts longer than SLICE, so
 * a wake-up that still goes astray costs one slice at worst, never a hang.
 * Callers re-check their word after every return, so early returns are
 * harmless.
 *
 * Every wake wakes all registered sleepers (they re-check; for a lock only
 * one wins): correct for every caller, at the price of a herd when many
 * processes contend. */
#include <stdlib.h>

#include "object.h"

/* The longest single sleep; equal to the lock words' owner-check slice,
 * so their timeouts come back as MPROC_ETIMEDOUT unchanged. */
#define SLICE 0.1
/* Give-backs of a unit that was not ours before we keep it. */
#define STEAL_MAX 64
/* How long a sleeper that stops waiting looks for the unit posted for it
 * (it is there unless another sleeper holds it for a moment): short, so a
 * timed wait does not overrun its timeout by more. */
#define QUIT_WAIT 0.002

struct mproc__os_park {
  mproc__os_sem *sem[MPROC__PARK_SEMS];
  mproc__park_words *w;
};

/* '#' is not allowed in names, so no user object can clash with these. */
static const char *const suffix[MPROC__PARK_SEMS] = {"#w0", "#w1", "#w2",
                                                     "#w3"};

int mproc__os_park_open(mproc__os_park **out, const char *name,
                        mproc__park_words *words, int create) {
  mproc__os_park *p = calloc(1, sizeof *p);
  int rc, i;
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  for (i = 0; i < MPROC__PARK_SEMS; i++) {
    rc = mproc__os_sem_open(&p->sem[i], name, suffix[i], create);
    if (rc < 0) {
      while (i-- > 0) mproc__os_sem_close(p->sem[i]);
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
  int i;
  if (p == NULL) return;
  for (i = 0; i < MPROC__PARK_SEMS; i++) mproc__os_sem_close(p->sem[i]);
  free(p);
}

void mproc__os_park_unlink(const char *name) {
  int i;
  for (i = 0; i < MPROC__PARK_SEMS; i++) mproc__os_sem_unlink(name, suffix[i]);
}

static void lock(mproc__os_park *p) { mproc__pidlock_acquire(&p->w->lock); }
static void unlock(mproc__os_park *p) { mproc__pidlock_release(&p->w->lock); }

/* Leave generation g if it is still current (nobody posted for us).
 * Returns 1 if we left, 0 if a waker already posted our unit. Locked. */
static int leave(mproc__os_park *p, uint32_t g) {
  if (atomic_load(&p->w->gen) != g) return 0;
  atomic_fetch_sub(&p->w->count, 1);
  return 1;
}

/* Count a unit taken from semaphore i. Locked. */
static void taken(mproc__os_park *p, uint32_t i) {
  if (atomic_load(&p->w->out[i]) > 0) atomic_fetch_sub(&p->w->out[i], 1);
}

/* We stop waiting in generation g without a unit (timeout, or the word
 * had changed already). If a waker posted our unit meanwhile, take it: it
 * was posted under the pid-lock, so it is there (unless another sleeper
 * holds it for a moment before giving it back). */
static void quit(mproc__os_park *p, uint32_t g, uint32_t i) {
  int left;
  lock(p);
  left = leave(p, g);
  unlock(p);
  if (left || mproc__os_sem_wait(p->sem[i], QUIT_WAIT) != 0) return;
  lock(p);
  taken(p, i);
  unlock(p);
}

/* We took a unit from semaphore i while sleeping in generation g. Ours if
 * g has been woken. If g is still current, the unit was posted for an
 * older generation of the same semaphore whose sleeper has not taken it
 * yet: leave g and give the unit back, so that sleeper does not sleep
 * through its wake-up. Returns 1 when the unit was ours. */
static int claim(mproc__os_park *p, uint32_t g, uint32_t i,
                 unsigned *steals) {
  int left;
  lock(p);
  left = leave(p, g);
  if (left && ++*steals <= STEAL_MAX)
    mproc__os_sem_post(p->sem[i], 1); /* still owed: out[i] unchanged */
  else
    taken(p, i);
  unlock(p);
  if (left) mproc__os_yield(); /* let the owner of the unit run */
  return !left;
}

int mproc__os_wait(mproc__os_park *p, _Atomic uint32_t *addr,
                   uint32_t expected, double timeout) {
  /* Give-backs in a row, counted per object (a caller re-waits after
   * each): another object's count must not make us keep a unit here. */
  static _Thread_local unsigned steals;
  static _Thread_local const mproc__park_words *steals_on;
  double t = timeout < 0 || timeout > SLICE ? SLICE : timeout;
  uint32_t g, i;
  int rc;
  if (steals_on != p->w) steals_on = p->w, steals = 0;
  lock(p);
  g = atomic_load(&p->w->gen);
  i = atomic_load(&p->w->idx);
  atomic_fetch_add(&p->w->count, 1);
  unlock(p);
  if (atomic_load(addr) != expected) {
    quit(p, g, i);
    return 0;
  }
  rc = mproc__os_sem_wait(p->sem[i], t);
  if (rc == MPROC_ETIMEDOUT) {
    quit(p, g, i);
    return t < timeout || timeout < 0 ? 0 : MPROC_ETIMEDOUT;
  }
  if (rc < 0) return rc;
  if (claim(p, g, i, &steals)) steals = 0;
  return 0;
}

/* The semaphore for the next generation: the first after `cur` that owes
 * nothing; else the one that owes least. Locked. */
static uint32_t next_sem(mproc__os_park *p, uint32_t cur) {
  uint32_t j, best = (cur + 1) % MPROC__PARK_SEMS, least = UINT32_MAX;
  for (j = 1; j <= MPROC__PARK_SEMS; j++) {
    uint32_t c = (cur + j) % MPROC__PARK_SEMS;
    uint32_t owed = atomic_load(&p->w->out[c]);
    if (owed == 0) return c;
    if (owed < least) least = owed, best = c;
  }
  return best;
}

/* Wake every registered sleeper. Locked. */
static void wake_locked(mproc__os_park *p) {
  uint32_t i, k = atomic_exchange(&p->w->count, 0);
  if (k == 0) return;
  i = atomic_load(&p->w->idx);
  atomic_fetch_add(&p->w->out[i], k);
  /* Posted under the pid-lock: whoever sees the new generation under the
   * lock knows its unit is there (see quit). */
  mproc__os_sem_post(p->sem[i], k);
  atomic_store(&p->w->idx, next_sem(p, i));
  atomic_fetch_add(&p->w->gen, 1);
}

void mproc__os_wake(mproc__os_park *p, _Atomic uint32_t *addr, int n) {
  (void)addr;
  (void)n; /* everyone registered wakes; see above */
  if (atomic_load(&p->w->count) == 0) return; /* nobody sleeps: no syscall */
  lock(p);
  wake_locked(p);
  unlock(p);
}

/* From a signal handler: only atomics and sem_post / ReleaseSemaphore.
 * The pid-lock is only tried (its holder may be the thread the signal
 * interrupted); if it stays busy the sleepers' SLICE ends their sleep. */
void mproc__os_wake_intr(mproc__os_park *p, _Atomic uint32_t *addr) {
  uint32_t me = mproc__self_id();
  int tries;
  (void)addr;
  for (tries = 0; tries < 64; tries++) {
    uint32_t free_ = 0;
    if (atomic_compare_exchange_strong(&p->w->lock, &free_, me)) {
      wake_locked(p);
      unlock(p);
      return;
    }
    if (free_ == me) return; /* perhaps held under us: never wait for it */
    mproc__pause(32);
  }
}

size_t mproc__os_park_pass(const mproc__os_park *p, mproc_handle *h) {
  size_t n = 0;
  int i;
  if (p == NULL) return 0;
  for (i = 0; i < MPROC__PARK_SEMS; i++) {
    h[n] = mproc__os_sem_pass(p->sem[i]);
    if (h[n] != MPROC_NO_HANDLE) n++;
  }
  return n == MPROC__PARK_SEMS ? n : 0; /* all, or reopened by name */
}

int mproc__os_park_adopt(mproc__os_park **out, const char *name,
                         mproc__park_words *words, const mproc_handle *h,
                         size_t n) {
  mproc__os_park *p;
  int rc = 0, i;
  if (n == 0) return mproc__os_park_open(out, name, words, 0);
  if (n != MPROC__PARK_SEMS)
    return mproc__err(MPROC_EBOOTSTRAP, "object \"%s\" came with %zu "
                                        "parking handles, not %d",
                      name, n, MPROC__PARK_SEMS);
  p = calloc(1, sizeof *p);
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  for (i = 0; i < MPROC__PARK_SEMS && rc == 0; i++)
    rc = mproc__os_sem_adopt(&p->sem[i], h[i]);
  if (rc < 0) {
    mproc__os_park_close(p);
    return rc;
  }
  p->w = words;
  *out = p;
  return 0;
}
