/* mproc: named POSIX semaphores (sem_open), the parking place of the
 * generic wait fallback (src/park-sem.c). Not for macOS, which lacks
 * sem_timedwait and waits on addresses instead (wait-ulock.c). */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "posix.h"

struct mproc__os_sem {
  sem_t *sem;
};

static void path_of(char *buf, size_t n, const char *name,
                    const char *suffix) {
  snprintf(buf, n, "/%s%s", name, suffix);
}

int mproc__os_sem_open(mproc__os_sem **out, const char *name,
                       const char *suffix, int create) {
  char path[64];
  mproc__os_sem *s = malloc(sizeof *s);
  if (s == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  path_of(path, sizeof path, name, suffix);
  s->sem = create ? sem_open(path, O_CREAT | O_EXCL, 0600, 0)
                  : sem_open(path, 0);
  if (s->sem == SEM_FAILED) {
    int rc = mproc__posix_err(errno, "sem_open(\"%s\")", path);
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void mproc__os_sem_close(mproc__os_sem *s) {
  if (s == NULL) return;
  sem_close(s->sem);
  free(s);
}

void mproc__os_sem_unlink(const char *name, const char *suffix) {
  char path[64];
  path_of(path, sizeof path, name, suffix);
  (void)sem_unlink(path);
}

int mproc__os_sem_wait(mproc__os_sem *s, double timeout) {
  int r;
  if (timeout < 0) {
    do
      r = sem_wait(s->sem);
    while (r != 0 && errno == EINTR);
  } else {
    struct timespec ts;
    double whole;
    clock_gettime(CLOCK_REALTIME, &ts);
    whole = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + timeout;
    ts.tv_sec = (time_t)whole;
    ts.tv_nsec = (long)((whole - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
    do
      r = sem_timedwait(s->sem, &ts);
    while (r != 0 && errno == EINTR);
  }
  if (r == 0) return 0;
  if (errno == ETIMEDOUT) return MPROC_ETIMEDOUT;
  return mproc__posix_err(errno, "sem_timedwait");
}

void mproc__os_sem_post(mproc__os_sem *s, uint32_t n) {
  while (n-- > 0) sem_post(s->sem);
}

/* Named semaphores live until unlinked: a child reopens them by name. */
mproc_handle mproc__os_sem_pass(const mproc__os_sem *s) {
  (void)s;
  return MPROC_NO_HANDLE;
}

int mproc__os_sem_adopt(mproc__os_sem **out, mproc_handle h) {
  (void)out;
  (void)h;
  return mproc__err(MPROC_EINVAL, "a named semaphore is reopened by name "
                                  "here, not adopted");
}
