/* mproc: the generic POSIX wait/wake — a named semaphore per object is the
 * parking place, and a word in the object's shared memory counts sleepers.
 *
 * Protocol (no lost wake-ups): a sleeper increments *waiters, then
 * re-reads the word, and sleeps only if it still holds the expected value;
 * a waker changes the word first (the common layer does, seq_cst), then
 * reads *waiters and posts that many times (at most n). Either the waker
 * sees the sleeper counted, or the sleeper sees the new value. A post left
 * over by a sleeper that timed out only makes a later wait return early,
 * which every caller tolerates (it re-checks its condition). */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "posix.h"

struct mproc__os_park {
  sem_t *sem;
  _Atomic uint32_t *waiters;
};

static void path_of(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "/%s.w", name);
}

int mproc__os_park_open(mproc__os_park **out, const char *name,
                        _Atomic uint32_t *waiters, int create) {
  char path[64];
  mproc__os_park *p = malloc(sizeof *p);
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  path_of(path, sizeof path, name);
  p->sem = create ? sem_open(path, O_CREAT | O_EXCL, 0600, 0)
                  : sem_open(path, 0);
  if (p->sem == SEM_FAILED) {
    int rc = mproc__posix_err(errno, "sem_open(\"%s\")", path);
    free(p);
    return rc;
  }
  p->waiters = waiters;
  *out = p;
  return 0;
}

void mproc__os_park_close(mproc__os_park *p) {
  if (p == NULL) return;
  sem_close(p->sem);
  free(p);
}

void mproc__os_park_unlink(const char *name) {
  char path[64];
  path_of(path, sizeof path, name);
  (void)sem_unlink(path);
}

int mproc__os_wait(mproc__os_park *p, _Atomic uint32_t *addr,
                   uint32_t expected, double timeout) {
  int r;
  atomic_fetch_add(p->waiters, 1);
  if (atomic_load(addr) != expected) {
    atomic_fetch_sub(p->waiters, 1);
    return 0;
  }
  if (timeout < 0) {
    do
      r = sem_wait(p->sem);
    while (r != 0 && errno == EINTR);
  } else {
    struct timespec ts;
    double whole;
    clock_gettime(CLOCK_REALTIME, &ts);
    whole = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + timeout;
    ts.tv_sec = (time_t)whole;
    ts.tv_nsec = (long)((whole - (double)ts.tv_sec) * 1e9);
    do
      r = sem_timedwait(p->sem, &ts);
    while (r != 0 && errno == EINTR);
  }
  atomic_fetch_sub(p->waiters, 1);
  if (r == 0) return 0;
  if (errno == ETIMEDOUT) return MPROC_ETIMEDOUT;
  return mproc__posix_err(errno, "sem_timedwait");
}

void mproc__os_wake(mproc__os_park *p, _Atomic uint32_t *addr, int n) {
  uint32_t w = atomic_load(p->waiters);
  (void)addr;
  while (n-- > 0 && w-- > 0) sem_post(p->sem);
}
