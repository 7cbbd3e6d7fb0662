/* mproc: spin-then-sleep waiting on a shared word; and the checks in
 * front of the handle waits (mproc_wait_handles, mproc_conn_wait).
 *
 * A cross-core hand-off costs ~60 us when the waiter sleeps in the kernel
 * and well under a microsecond when it spins briefly first, so every wait
 * spins for a short budget before it sleeps — except when only one CPU is
 * online, where spinning only delays the thread that would change the
 * word. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "mproc/wakeup.h"
#include "object.h"
#include "program.h"

/* The spin budget, in nanoseconds: a few hand-offs' worth. */
#define SPIN_NS 20000u

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

void mproc__pause(unsigned n) {
  while (n-- > 0) cpu_relax();
}

/* Spin only where two processes can run at once: more than one CPU
 * online. Not this process's affinity: workers pinned one per CPU hand off
 * across CPUs and gain the most from spinning. A peer pinned to our own CPU
 * still gets through, because spinning yields (mproc__spin). Decided once
 * per process. */
static int spin_allowed(void) {
  static _Atomic int cpus;
  int n = atomic_load_explicit(&cpus, memory_order_relaxed);
  if (n == 0) {
    n = mproc__os_cpu_online();
    atomic_store_explicit(&cpus, n, memory_order_relaxed);
  }
  return n > 1;
}

/* Spin with exponential backoff between reads (1 .. 16 pauses), so a
 * waiter does not keep pulling the cache line away from the process about
 * to change it; and yield the CPU every few rounds, so a peer that shares
 * our CPU (pinned after we decided to spin) gets to run. */
int mproc__spin_until(int (*ready)(void *), void *arg) {
  uint64_t until;
  unsigned i, backoff = 1, rounds = 0;
  if (!spin_allowed()) return 0;
  until = uv_hrtime() + SPIN_NS;
  for (;;) {
    if (ready(arg)) return 1;
    for (i = 0; i < backoff; i++) cpu_relax();
    if (backoff < 16) backoff <<= 1;
    if (++rounds % 4 == 0) {
      mproc__os_yield();
      if (uv_hrtime() >= until) return 0;
    }
  }
}

typedef struct spin_word {
  _Atomic uint32_t *addr;
  uint32_t expected;
} spin_word;

static int word_changed(void *arg) {
  const spin_word *w = arg;
  return atomic_load_explicit(w->addr, memory_order_relaxed) != w->expected;
}

int mproc__spin(_Atomic uint32_t *addr, uint32_t expected) {
  spin_word w;
  w.addr = addr;
  w.expected = expected;
  return mproc__spin_until(word_changed, &w);
}

int mproc__wait(mproc__obj *o, _Atomic uint32_t *addr, uint32_t expected,
                double deadline) {
  double left;
  if (mproc__spin(addr, expected)) return 0;
  left = mproc__remaining(deadline);
  if (deadline >= 0 && left <= 0) return MPROC_ETIMEDOUT;
  return mproc__os_wait(o->park, addr, expected, left);
}

int mproc__wait_intr(mproc__obj *o, _Atomic uint32_t *addr,
                     uint32_t expected, double deadline) {
  double left;
  if (mproc__spin(addr, expected)) return 0;
  left = mproc__remaining(deadline);
  if (deadline >= 0 && left <= 0) return MPROC_ETIMEDOUT;
  return mproc__sleep_obj(o, addr, expected, left);
}

/* ---- interrupting waits (mproc_interrupt) --------------------------------
 *
 * `pending` is set by mproc_interrupt and stays set until
 * mproc_interrupt_clear, so a thread about to block returns too, not only
 * the ones asleep; `epoch` counts interrupts, so a sleeper woken by one
 * returns MPROC_EINTR even if the flag was cleared before it ran.
 *
 * Each interruptible sleep publishes itself in a slot of a static table
 * (the parking place and the word), then checks the flag, then sleeps;
 * mproc_interrupt sets the flag, then wakes the word of every published
 * slot. A slot is static memory, so a handler never follows a pointer into
 * freed memory; while a handler uses a slot it marks it WAKING, and the
 * sleeper waits for that to end before it leaves (its object, and so the
 * parking place, may be freed right after). What no slot can close is the
 * gap between the sleeper's last check and its entry into the kernel: a
 * wake-up in that gap finds nobody asleep. So an interruptible sleep lasts
 * at most SLEEP_SLICE; the gap costs one slice, the common case nothing. */

#define SLOTS 256
#define SLEEP_SLICE 0.25

enum { SLOT_FREE, SLOT_CLAIMED, SLOT_SLEEPING, SLOT_WAKING };

typedef struct sleeper {
  _Atomic uint32_t state;
  mproc__os_park *park;  /* written while CLAIMED, read while WAKING */
  _Atomic uint32_t *addr;
  const mproc__obj *owner; /* the handle slept on (close), or NULL */
} sleeper;

static sleeper slots[SLOTS];
static _Atomic uint32_t pending, epoch;
static _Atomic int slots_hooked;
/* The wake-up object that handle waits add to their set (below). */
static _Atomic(mproc_wakeup *) intr_wakeup;

/* A fork child has none of its parent's sleepers, nor its interrupt, nor
 * its wake-up object: the child's copy of the descriptor is the parent's
 * kernel object, which the parent's next interrupt would make ready. The
 * child closes its copy and makes its own on its first handle wait. */
static void slots_after_fork(void) {
  int i;
  /* Only what is set is cleared: a fork child pays a page fault for each
   * page it first writes, and the table spans two (most slots are free). */
  for (i = 0; i < SLOTS; i++)
    if (atomic_load_explicit(&slots[i].state, memory_order_relaxed) !=
        SLOT_FREE)
      atomic_store(&slots[i].state, SLOT_FREE);
  if (atomic_load_explicit(&pending, memory_order_relaxed) != 0)
    atomic_store(&pending, 0);
  if (atomic_load_explicit(&intr_wakeup, memory_order_relaxed) != NULL)
    mproc_wakeup_free(atomic_exchange(&intr_wakeup, NULL));
}

static void hook_fork(void) {
  if (!atomic_load_explicit(&slots_hooked, memory_order_relaxed) &&
      !atomic_exchange(&slots_hooked, 1))
    mproc__on_fork_child(slots_after_fork);
}

static sleeper *slot_claim(mproc__os_park *park, _Atomic uint32_t *addr,
                           const mproc__obj *owner) {
  unsigned i, start;
  hook_fork();
  start = (unsigned)(mproc__thread_id() * 7u) % SLOTS;
  for (i = 0; i < SLOTS; i++) {
    sleeper *s = &slots[(start + i) % SLOTS];
    uint32_t f = SLOT_FREE;
    if (atomic_compare_exchange_strong(&s->state, &f, SLOT_CLAIMED)) {
      s->park = park;
      s->addr = addr;
      s->owner = owner;
      atomic_store(&s->state, SLOT_SLEEPING); /* publish */
      return s;
    }
  }
  return NULL; /* all taken: the slice alone bounds our sleep */
}

static void slot_release(sleeper *s) {
  uint32_t v = SLOT_SLEEPING;
  if (s == NULL) return;
  while (!atomic_compare_exchange_strong(&s->state, &v, SLOT_FREE)) {
    v = SLOT_SLEEPING; /* WAKING: a handler uses it for a moment */
    mproc__os_yield();
  }
}

static int intr_error(void) {
  return mproc__err(MPROC_EINTR, "the wait was interrupted by "
                                 "mproc_interrupt()");
}

int mproc__intr_check(void) {
  return atomic_load(&pending) ? intr_error() : 0;
}

static int sleep_in(mproc__os_park *park, _Atomic uint32_t *addr,
                    uint32_t expected, double timeout,
                    const mproc__obj *owner) {
  uint32_t e = atomic_load(&epoch);
  double t = timeout < 0 || timeout > SLEEP_SLICE ? SLEEP_SLICE : timeout;
  sleeper *s;
  int rc;
  if (atomic_load(&pending)) return intr_error();
  s = slot_claim(park, addr, owner);
  if (atomic_load(&pending) || atomic_load(&epoch) != e) {
    rc = MPROC_EINTR;
  } else {
    rc = mproc__os_wait(park, addr, expected, t);
    /* A slice that ended before the caller's timeout is an early return,
     * which every caller's loop absorbs. */
    if (rc == MPROC_ETIMEDOUT && t < timeout) rc = 0;
    if (rc == MPROC_ETIMEDOUT && timeout < 0) rc = 0;
  }
  slot_release(s);
  if (rc == MPROC_EINTR || atomic_load(&pending) ||
      atomic_load(&epoch) != e)
    return intr_error();
  return rc;
}

int mproc__sleep(mproc__os_park *park, _Atomic uint32_t *addr,
                 uint32_t expected, double timeout) {
  return sleep_in(park, addr, expected, timeout, NULL);
}

/* ---- closing a handle wakes its sleepers ---------------------------------
 *
 * A sleeper counts itself in its handle's `waiting`, then reads `closed`;
 * mproc__obj_close stores `closed`, then reads `waiting` (all seq_cst), so
 * one of them sees the other. The closer then wakes the word of every
 * slot published for the handle, round after round until `waiting` is 0:
 * a sleeper between its check and the kernel misses one round's wake-up,
 * not the next. A sleeper without a slot (all taken) ends with its slice. */

static int closed_error(const mproc__obj *o) {
  return mproc__err(MPROC_ECLOSED, "this handle of \"%s\" was closed",
                    o->name);
}

int mproc__sleep_obj(mproc__obj *o, _Atomic uint32_t *addr,
                     uint32_t expected, double timeout) {
  int rc;
  atomic_fetch_add(&o->waiting, 1);
  rc = atomic_load(&o->closed)
           ? MPROC_ECLOSED
           : sleep_in(o->park, addr, expected, timeout, o);
  atomic_fetch_sub(&o->waiting, 1);
  if (rc == MPROC_ECLOSED || atomic_load(&o->closed)) return closed_error(o);
  return rc;
}

/* Bounded: every sleep lasts at most a slice and checks `closed` when it
 * ends, so the rounds only hurry the sleepers; a count left by a thread
 * that died asleep (Windows ends other threads at exit) never hangs us. */
void mproc__wake_closed(mproc__obj *o) {
  double until = mproc__now() + 2 * SLEEP_SLICE;
  while (atomic_load(&o->waiting) > 0 && mproc__now() < until) {
    int i;
    for (i = 0; i < SLOTS; i++) {
      sleeper *s = &slots[i];
      uint32_t v = SLOT_SLEEPING;
      /* owner is read only while WAKING (written while CLAIMED). */
      if (!atomic_compare_exchange_strong(&s->state, &v, SLOT_WAKING))
        continue;
      if (s->owner == o) mproc__os_wake(s->park, s->addr, INT32_MAX);
      atomic_store(&s->state, SLOT_SLEEPING);
    }
    mproc__os_yield();
  }
}

void mproc_interrupt(void) {
  int i, saved = errno; /* a signal handler must leave errno alone */
  mproc_wakeup *w;
  atomic_store(&pending, 1);
  atomic_fetch_add(&epoch, 1);
  for (i = 0; i < SLOTS; i++) {
    sleeper *s = &slots[i];
    uint32_t v = SLOT_SLEEPING;
    if (!atomic_compare_exchange_strong(&s->state, &v, SLOT_WAKING)) continue;
    mproc__os_wake_intr(s->park, s->addr);
    atomic_store(&s->state, SLOT_SLEEPING);
  }
  /* After the flag and the epoch: a handle waiter that finds the wake-up
   * not yet ready finds the flag set (see mproc__wait_handles_intr). */
  w = atomic_load(&intr_wakeup);
  if (w != NULL) (void)mproc_wakeup_signal(w);
  errno = saved;
}

int mproc_interrupt_clear(void) {
  int saved = errno, was = atomic_exchange(&pending, 0) != 0;
  mproc_wakeup *w = atomic_load(&intr_wakeup);
  /* The flag first, then the drain: a wake-up left ready by an interrupt
   * that overlaps this clear is drained by the waiter that finds it so
   * with no interrupt to report (wait_slice). */
  if (w != NULL) (void)mproc_wakeup_clear(w);
  errno = saved;
  return was;
}

int mproc_interrupted(void) { return atomic_load(&pending) != 0; }

/* ---- interrupting handle waits --------------------------------------------
 *
 * A poll(2) or WaitForMultipleObjects is not woken through a word: it
 * waits on one more handle, the process's interrupt wake-up object, which
 * mproc_interrupt signals after it has set the flag and the epoch. The
 * object is made by the first handle wait (never by mproc_interrupt, which
 * may run in a signal handler, where nothing can be made) and installed
 * with a compare-and-swap; a waiter installs it before it checks the
 * flag, so an interrupt either finds it installed and signals it, or set
 * the flag before the check. mproc_interrupt_clear drains it.
 *
 * The waiter reports MPROC_EINTR when nothing else is ready and the flag
 * is set or the epoch moved (so a wait woken by an interrupt reports it
 * even after a clear). A wake-up found ready with neither is stale (an
 * interrupt that overlapped a clear: its write landed after the drain);
 * the waiter drains it and looks again, instead of spinning on it. A
 * clear that overlaps an interrupt can also drain the write a waiter was
 * about to see: each wait lasts at most HANDLE_SLICE before it re-checks
 * the epoch, so that race costs one slice, never a hang. */

#define HANDLE_SLICE 1.0

static int intr_handle(mproc_handle *out) {
  mproc_wakeup *w = atomic_load(&intr_wakeup), *none = NULL;
  if (w == NULL) {
    int rc;
    hook_fork();
    rc = mproc_wakeup_new(&w);
    if (rc < 0) return rc;
    if (!atomic_compare_exchange_strong(&intr_wakeup, &none, w)) {
      mproc_wakeup_free(w); /* another thread won */
      w = none;
    }
  }
  *out = mproc_wakeup_handle(w);
  return 0;
}

/* Whether the interrupt should end a wait that began at epoch e. */
static int interrupted_since(uint32_t e) {
  return atomic_load(&pending) || atomic_load(&epoch) != e;
}

/* One slice of the wait over h[0..n) plus the wake-up at h[n]: the count
 * of ready handles among the first n, MPROC_ETIMEDOUT, MPROC_EINTR, or
 * another error. */
static int wait_slice(const mproc_handle *h, size_t n, double t,
                      unsigned char *r, unsigned char *ready, uint32_t e) {
  size_t i;
  int rc, count = 0;
  memset(r, 0, n + 1);
  rc = mproc__os_wait_handles(h, n + 1, t, r);
  if (rc < 0 && rc != MPROC_ETIMEDOUT) return rc;
  for (i = 0; i < n; i++) count += (ready[i] = r[i] != 0);
  if (count > 0) return count; /* what is ready wins over the interrupt */
  if (interrupted_since(e)) return intr_error();
  if (rc > 0) { /* the wake-up alone, stale: drain it, then look again */
    mproc_wakeup_clear(atomic_load(&intr_wakeup));
    if (interrupted_since(e)) return intr_error();
  }
  return MPROC_ETIMEDOUT;
}

int mproc__wait_handles_intr(const mproc_handle *h, size_t n, double timeout,
                             unsigned char *ready) {
  mproc_handle hs[8], *all = hs;
  unsigned char rs[8], *r = rs;
  uint32_t e = atomic_load(&epoch);
  double deadline = mproc__deadline(timeout);
  int rc;
  if (timeout == 0) return mproc__os_wait_handles(h, n, 0, ready);
  if (n + 1 > sizeof hs / sizeof hs[0]) {
    all = malloc((n + 1) * sizeof *all);
    r = malloc(n + 1);
    if (all == NULL || r == NULL) {
      rc = mproc__err(MPROC_ENOMEM, "wait: out of memory for %zu handles",
                      n + 1);
      goto done;
    }
  }
  if (n > 0) memcpy(all, h, n * sizeof *h);
  rc = intr_handle(&all[n]);
  if (rc < 0) goto done;
  if (atomic_load(&pending)) { /* what is ready now still counts */
    rc = n > 0 ? mproc__os_wait_handles(h, n, 0, ready) : MPROC_ETIMEDOUT;
    if (rc == MPROC_ETIMEDOUT) rc = intr_error();
    goto done;
  }
  for (;;) {
    double left = mproc__remaining(deadline);
    rc = wait_slice(all, n, timeout < 0 || left > HANDLE_SLICE ? HANDLE_SLICE
                                                               : left,
                    r, ready, e);
    if (rc != MPROC_ETIMEDOUT) break;
    if (timeout >= 0 && mproc__remaining(deadline) <= 0) {
      rc = mproc__err(rc, "no handle became ready in time");
      break;
    }
  }
done:
  if (all != hs) free(all);
  if (r != rs) free(r);
  return rc;
}

void mproc__wake(mproc__obj *o, _Atomic uint32_t *addr, int n) {
  mproc__os_wake(o->park, addr, n);
}

/* The pid, as lock words hold it, cached: getpid() is a system call on
 * current glibc, and every lock acquire needs it. Forgotten in every fork
 * child by a fork-child hook (program.h), registered on first use. */
static _Atomic uint32_t self_cache;
static _Atomic int self_hook;

static void forget_self(void) { atomic_store(&self_cache, 0); }

uint32_t mproc__self_id(void) {
  uint32_t id = atomic_load_explicit(&self_cache, memory_order_relaxed);
  if (id != 0) return id;
  if (!atomic_exchange(&self_hook, 1)) mproc__on_fork_child(forget_self);
  id = (uint32_t)mproc__os_getpid() & MPROC__LOCK_PID;
  atomic_store_explicit(&self_cache, id, memory_order_relaxed);
  return id;
}

/* The pid-lock (object.h): a word holding its owner's pid. */
void mproc__pidlock_acquire(_Atomic uint32_t *w) {
  uint32_t me = mproc__self_id(), cur;
  unsigned spins = 0;
  for (;;) {
    cur = 0;
    if (atomic_compare_exchange_weak(w, &cur, me)) return;
    /* Held only for a few instructions, unless the holder lost its CPU:
     * yield soon (with more processes than CPUs that is the usual case),
     * and now and then check whether the holder died. */
    if (++spins % 16 == 0) mproc__os_yield();
    if (spins % 1024 == 0) {
      if (cur != 0 && !mproc__os_pid_alive((long)cur) &&
          atomic_compare_exchange_strong(w, &cur, me))
        return;
      uv_sleep(1);
    }
  }
}

void mproc__pidlock_release(_Atomic uint32_t *w) { atomic_store(w, 0); }

uint64_t mproc__thread_id(void) {
  static _Atomic uint64_t next = 1;
  static _Thread_local uint64_t mine;
  if (mine == 0) mine = atomic_fetch_add(&next, 1);
  return mine;
}

/* ---- waiting on handles --------------------------------------------------- */

int mproc__check_handle(mproc_handle h, size_t i, size_t n, const char *what) {
  if (h == MPROC_NO_HANDLE)
    return mproc__err(MPROC_EINVAL, "%s: handle %zu of %zu is MPROC_NO_HANDLE "
                                    "(a process not started, or closed?)",
                      what, i, n);
  /* Negative: no descriptor on POSIX; on Windows -1 and -2 are the
   * current process and thread, which end only with the program. */
  if (h < 0)
    return mproc__err(MPROC_EINVAL, "%s: handle %zu of %zu is %lld, no "
                                    "waitable handle",
                      what, i, n, (long long)h);
  return 0;
}

int mproc_wait_handles(const mproc_handle *h, size_t n, double timeout,
                       unsigned char *ready) {
  double t;
  size_t i;
  int rc;
  if (n > 0 && (h == NULL || ready == NULL))
    return mproc__err(MPROC_EINVAL, "handles or ready is NULL with n = %zu",
                      n);
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  for (i = 0; i < n; i++) {
    rc = mproc__check_handle(h[i], i, n, "wait_handles");
    if (rc < 0) return rc;
  }
  return mproc__wait_handles_intr(h, n, t, ready);
}
