/* mproc: wait/wake on a shared 32-bit word with the Linux futex. The
 * non-private operations work across processes on shared mappings. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "posix.h"

int mproc__os_park_open(mproc__os_park **out, const char *name,
                        mproc__park_words *words, int create) {
  (void)name;
  (void)words;
  (void)create;
  *out = NULL; /* the address itself is the parking place */
  return 0;
}

void mproc__os_park_close(mproc__os_park *p) { (void)p; }
void mproc__os_park_unlink(const char *name) { (void)name; }

int mproc__os_wait(mproc__os_park *p, _Atomic uint32_t *addr,
                   uint32_t expected, double timeout) {
  struct timespec ts, *tsp = NULL;
  long r;
  (void)p;
  if (timeout >= 0) {
    ts.tv_sec = (time_t)timeout;
    ts.tv_nsec = (long)((timeout - (double)ts.tv_sec) * 1e9);
    tsp = &ts;
  }
  r = syscall(SYS_futex, addr, FUTEX_WAIT, expected, tsp, NULL, 0);
  if (r == 0 || errno == EAGAIN || errno == EINTR) return 0;
  if (errno == ETIMEDOUT) return MPROC_ETIMEDOUT;
  return mproc__posix_err(errno, "futex wait");
}

void mproc__os_wake(mproc__os_park *p, _Atomic uint32_t *addr, int n) {
  (void)p;
  syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* FUTEX_WAKE is one system call: async-signal-safe. */
void mproc__os_wake_intr(mproc__os_park *p, _Atomic uint32_t *addr) {
  mproc__os_wake(p, addr, INT32_MAX);
}
