/* mproc: the wake-up group on Linux — one eventfd (EFD_NONBLOCK,
 * EFD_CLOEXEC from birth). Set adds 1 to its counter (readable while
 * non-zero); drain reads the counter back to 0. The common layer's flag
 * keeps the counter small: most signals make no system call. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "posix.h"

struct mproc__os_wakeup {
  int fd;
};

int mproc__os_wakeup_new(mproc__os_wakeup **out) {
  mproc__os_wakeup *w = malloc(sizeof *w);
  if (w == NULL) return mproc__err(MPROC_ENOMEM, "wakeup_new: out of memory");
  w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w->fd < 0) {
    int rc = mproc__posix_err(errno, "wakeup_new: eventfd");
    free(w);
    return rc;
  }
  *out = w;
  return 0;
}

int mproc__os_wakeup_set(mproc__os_wakeup *w) {
  uint64_t one = 1;
  int saved = errno, rc = 0;
  ssize_t r;
  do {
    r = write(w->fd, &one, sizeof one);
  } while (r < 0 && errno == EINTR);
  /* EAGAIN: the counter is full, so it is readable already. */
  if (r < 0 && errno != EAGAIN) rc = MPROC_EOS;
  errno = saved;
  return rc;
}

int mproc__os_wakeup_drain(mproc__os_wakeup *w) {
  uint64_t v;
  ssize_t r;
  do {
    r = read(w->fd, &v, sizeof v);
  } while (r < 0 && errno == EINTR);
  return r == (ssize_t)sizeof v;
}

mproc_handle mproc__os_wakeup_handle(const mproc__os_wakeup *w) {
  return (mproc_handle)w->fd;
}

void mproc__os_wakeup_free(mproc__os_wakeup *w) {
  if (w == NULL) return;
  mproc__posix_close(w->fd);
  free(w);
}
