/* mproc: the wake-up object (mproc/wakeup.h), on the backend's wake-up
 * group (platform.h).
 *
 * The protocol between signal and clear, on one atomic flag `set`:
 *
 *   signal: if exchange(set, 1) was 0, make the handle ready.
 *   clear:  make the handle not ready (drain); then exchange(set, 0).
 *
 * A signal that begins after clear has returned finds the flag 0 (and
 * makes the handle ready itself), or 1 — then another signal exchanged it
 * after clear's exchange, so that signal's "make ready" comes after the
 * drain. Either way the handle ends ready: no wake-up that follows a clear
 * is lost. A signal that overlaps a clear may be consumed by it, or leave
 * the handle ready with the flag 0 (it made the flag 1 before clear's
 * exchange and the handle ready after the drain); the next clear drains
 * whatever is there, whatever the flag says, so the handle is never stuck
 * ready. Many signals between two clears cost one system call.
 *
 * Everything signal does is an atomic exchange on a lock-free int and the
 * backend's write(2): async-signal-safe.
 *
 * Close sets `closed` and then makes the handle ready, for good: a thread
 * waiting on the handle wakes, and the handle stays valid (and ready)
 * until free, so a wait that still lists it sees it ready, never a closed
 * or reused descriptor. */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"
#include "platform.h"

_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "mproc_wakeup_signal needs a lock-free atomic int");

struct mproc_wakeup {
  atomic_int set;
  atomic_int closed;
  mproc__os_wakeup *os;
};

int mproc_wakeup_new(mproc_wakeup **out) {
  mproc_wakeup *w;
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "wakeup_new: out is NULL");
  *out = NULL;
  w = malloc(sizeof *w);
  if (w == NULL) return mproc__err(MPROC_ENOMEM, "wakeup_new: out of memory");
  atomic_init(&w->set, 0);
  atomic_init(&w->closed, 0);
  rc = mproc__os_wakeup_new(&w->os);
  if (rc < 0) {
    free(w);
    return rc;
  }
  *out = w;
  return 0;
}

int mproc_wakeup_signal(mproc_wakeup *w) {
  if (w == NULL) return MPROC_EINVAL; /* no sentence: signal handlers */
  if (atomic_load(&w->closed)) return MPROC_ECLOSED;
  if (atomic_exchange(&w->set, 1) != 0) return 0;
  return mproc__os_wakeup_set(w->os);
}

int mproc_wakeup_clear(mproc_wakeup *w) {
  int drained;
  if (w == NULL) return mproc__err(MPROC_EINVAL, "wakeup_clear: w is NULL");
  if (atomic_load(&w->closed))
    return mproc__err(MPROC_ECLOSED, "wakeup_clear: the object is closed");
  drained = mproc__os_wakeup_drain(w->os);
  return (atomic_exchange(&w->set, 0) != 0) | drained;
}

mproc_handle mproc_wakeup_handle(const mproc_wakeup *w) {
  if (w == NULL || atomic_load(&w->closed)) return MPROC_NO_HANDLE;
  return mproc__os_wakeup_handle(w->os);
}

int mproc_wakeup_close(mproc_wakeup *w) {
  if (w == NULL) return mproc__err(MPROC_EINVAL, "wakeup_close: w is NULL");
  if (atomic_exchange(&w->closed, 1)) return 0;
  /* Ready for good (no clear can run now): every waiter wakes. */
  if (atomic_exchange(&w->set, 1) == 0) (void)mproc__os_wakeup_set(w->os);
  return 0;
}

void mproc_wakeup_free(mproc_wakeup *w) {
  if (w == NULL) return;
  mproc__os_wakeup_free(w->os);
  free(w);
}
