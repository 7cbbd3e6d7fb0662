/* mproc: spin-then-sleep waiting on a shared word; and the checks in
 * front of the handle waits (mproc_wait_handles, mproc_conn_wait).
 *
 * A cross-core hand-off costs ~60 us when the waiter sleeps in the kernel
 * and well under a microsecond when it spins briefly first, so every wait
 * spins for a short budget before it sleeps — except when only one CPU is
 * online, where spinning only delays the thread that would change the
 * word. */
#include <stdatomic.h>

#include <uv.h>

#include "object.h"

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
int mproc__spin(_Atomic uint32_t *addr, uint32_t expected) {
  uint64_t until;
  unsigned i, backoff = 1, rounds = 0;
  if (!spin_allowed()) return 0;
  until = uv_hrtime() + SPIN_NS;
  for (;;) {
    if (atomic_load_explicit(addr, memory_order_relaxed) != expected)
      return 1;
    for (i = 0; i < backoff; i++) cpu_relax();
    if (backoff < 16) backoff <<= 1;
    if (++rounds % 4 == 0) {
      mproc__os_yield();
      if (uv_hrtime() >= until) return 0;
    }
  }
}

int mproc__wait(mproc__obj *o, _Atomic uint32_t *addr, uint32_t expected,
                double deadline) {
  double left;
  if (mproc__spin(addr, expected)) return 0;
  left = mproc__remaining(deadline);
  if (deadline >= 0 && left <= 0) return MPROC_ETIMEDOUT;
  return mproc__os_wait(o->park, addr, expected, left);
}

void mproc__wake(mproc__obj *o, _Atomic uint32_t *addr, int n) {
  mproc__os_wake(o->park, addr, n);
}

/* The pid, as lock words hold it, cached: getpid() is a system call on
 * current glibc, and every lock acquire needs it. Forgotten in every fork
 * child by an atfork handler, registered on first use. */
static _Atomic uint32_t self_cache;
static _Atomic int self_hook;

static void forget_self(void) { atomic_store(&self_cache, 0); }

uint32_t mproc__self_id(void) {
  uint32_t id = atomic_load_explicit(&self_cache, memory_order_relaxed);
  if (id != 0) return id;
  if (!atomic_exchange(&self_hook, 1)) mproc__os_atfork_child(forget_self);
  id = (uint32_t)mproc__os_getpid() & MPROC__LOCK_PID;
  atomic_store_explicit(&self_cache, id, memory_order_relaxed);
  return id;
}

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
  return mproc__os_wait_handles(h, n, t, ready);
}
