/* mproc: wait/wake on a shared word on Windows. WaitOnAddress works only
 * within a process, so each object parks its sleepers on a named
 * semaphore ("Local\<name>.w"), counting them in a word of the object's
 * shared memory — the protocol of src/posix/wait-sem.c: a sleeper counts
 * itself, then re-reads the word and sleeps only if it is unchanged; a
 * waker changes the word first, then releases as many as are counted (at
 * most n). A release left over by a sleeper that timed out only makes a
 * later wait return early, which every caller tolerates. */
#include <limits.h>
#include <stdlib.h>
#include <wchar.h>

#include "names.h"
#include "win32.h"

struct mproc__os_park {
  HANDLE sem;
  _Atomic uint32_t *waiters;
};

int mproc__os_park_open(mproc__os_park **out, const char *name,
                        _Atomic uint32_t *waiters, int create) {
  wchar_t wname[64];
  mproc__os_park *p = malloc(sizeof *p);
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  mproc__win_object_name(wname, 64, name, ".w");
  p->sem = create ? CreateSemaphoreW(NULL, 0, LONG_MAX, wname)
                  : OpenSemaphoreW(SEMAPHORE_ALL_ACCESS, FALSE, wname);
  if (p->sem == NULL) {
    int rc = mproc__win_err(GetLastError(), "%s(\"%s.w\")",
                            create ? "CreateSemaphoreW" : "OpenSemaphoreW",
                            name);
    free(p);
    return rc;
  }
  p->waiters = waiters;
  *out = p;
  return 0;
}

void mproc__os_park_close(mproc__os_park *p) {
  if (p == NULL) return;
  CloseHandle(p->sem);
  free(p);
}

void mproc__os_park_unlink(const char *name) { (void)name; }

int mproc__os_wait(mproc__os_park *p, _Atomic uint32_t *addr,
                   uint32_t expected, double timeout) {
  DWORD r;
  atomic_fetch_add(p->waiters, 1);
  if (atomic_load(addr) != expected) {
    atomic_fetch_sub(p->waiters, 1);
    return 0;
  }
  r = WaitForSingleObject(p->sem, mproc__win_wait_ms(mproc__deadline(timeout)));
  atomic_fetch_sub(p->waiters, 1);
  if (r == WAIT_OBJECT_0) return 0;
  if (r == WAIT_TIMEOUT) {
    /* mproc__win_wait_ms caps long waits: report a (spurious) wake then,
     * the caller loops until its own deadline. */
    return timeout >= 0 && timeout < 2e6 ? MPROC_ETIMEDOUT : 0;
  }
  return mproc__win_err(GetLastError(), "WaitForSingleObject(semaphore)");
}

void mproc__os_wake(mproc__os_park *p, _Atomic uint32_t *addr, int n) {
  uint32_t w = atomic_load(p->waiters);
  LONG k = (LONG)(w < (uint32_t)n ? w : (uint32_t)n);
  (void)addr;
  if (k > 0) ReleaseSemaphore(p->sem, k, NULL);
}
