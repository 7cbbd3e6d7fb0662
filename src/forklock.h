/* mproc: a mutex that survives fork cheaply, for the common layer's
 * process-wide lists (children in process.c, connections in pipe.c).
 *
 * The mutex sits beside a count of the threads between taking and
 * releasing it. A fork child whose copy shows none knows the mutex was
 * free at the fork and keeps it, instead of calling into libuv for a
 * fresh one (each library page a fork child first touches costs it a
 * page fault). The count is kept outside the mutex, and both sit in one
 * aligned block — one page, which fork copies at a single instant — so a
 * copy never shows the mutex held with a zero count. */
#ifndef MPROC_FORKLOCK_H
#define MPROC_FORKLOCK_H

#include <stdatomic.h>
#include <stdlib.h>

#include <uv.h>

typedef struct mproc__forklock {
  _Alignas(64) atomic_int users;
  uv_mutex_t mutex;
} mproc__forklock;

/* Call once (uv_once) before the first lock. */
static inline void mproc__forklock_init(mproc__forklock *l) {
  if (uv_mutex_init(&l->mutex) != 0) abort();
}

static inline void mproc__forklock_lock(mproc__forklock *l) {
  atomic_fetch_add(&l->users, 1);
  uv_mutex_lock(&l->mutex);
}

static inline void mproc__forklock_unlock(mproc__forklock *l) {
  uv_mutex_unlock(&l->mutex);
  atomic_fetch_sub(&l->users, 1);
}

/* In a fork child: a lock held at the fork — by a thread that is not
 * here, or by the forking thread itself — is replaced by a fresh one.
 * Nothing is written when it was free. */
static inline void mproc__forklock_after_fork(mproc__forklock *l) {
  if (atomic_load_explicit(&l->users, memory_order_relaxed) == 0) return;
  if (uv_mutex_init(&l->mutex) != 0) abort();
  atomic_store_explicit(&l->users, 0, memory_order_relaxed);
}

#endif
