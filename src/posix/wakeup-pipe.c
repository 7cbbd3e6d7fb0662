/* mproc: the wake-up group on POSIX systems without eventfd (macOS, the
 * BSDs; Linux with MPROC_WAIT_FALLBACK, so CI runs this file too) — a
 * pipe, both ends non-blocking and CLOEXEC. Set writes one byte (a full
 * pipe is readable already, so EAGAIN is success); drain reads until the
 * pipe is empty. The common layer's flag keeps it to about one byte. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "posix.h"

struct mproc__os_wakeup {
  int rd, wr;
};

static int set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return mproc__posix_err(errno, "wakeup_new: fcntl(O_NONBLOCK)");
  return 0;
}

int mproc__os_wakeup_new(mproc__os_wakeup **out) {
  mproc__os_wakeup *w = malloc(sizeof *w);
  int fds[2] = {-1, -1}, rc;
  if (w == NULL) return mproc__err(MPROC_ENOMEM, "wakeup_new: out of memory");
  /* Under the start lock: where CLOEXEC is set after birth (macOS), no
   * fork of ours may copy the pipe half-made. */
  mproc__posix_start_lock();
  rc = mproc__posix_pipe(fds);
  mproc__posix_start_unlock();
  if (rc == 0) rc = set_nonblock(fds[0]);
  if (rc == 0) rc = set_nonblock(fds[1]);
  if (rc < 0) {
    if (fds[0] >= 0) mproc__posix_close(fds[0]);
    if (fds[1] >= 0) mproc__posix_close(fds[1]);
    free(w);
    return rc;
  }
  w->rd = fds[0];
  w->wr = fds[1];
  *out = w;
  return 0;
}

int mproc__os_wakeup_set(mproc__os_wakeup *w) {
  int saved = errno, rc = 0;
  ssize_t r;
  do {
    r = write(w->wr, "", 1);
  } while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EAGAIN) rc = MPROC_EOS;
  errno = saved;
  return rc;
}

int mproc__os_wakeup_drain(mproc__os_wakeup *w) {
  char buf[64];
  int any = 0;
  for (;;) {
    ssize_t r = read(w->rd, buf, sizeof buf);
    if (r > 0) {
      any = 1;
      if ((size_t)r < sizeof buf) break;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    break; /* EAGAIN: empty */
  }
  return any;
}

mproc_handle mproc__os_wakeup_handle(const mproc__os_wakeup *w) {
  return (mproc_handle)w->rd;
}

void mproc__os_wakeup_free(mproc__os_wakeup *w) {
  if (w == NULL) return;
  mproc__posix_close(w->rd);
  mproc__posix_close(w->wr);
  free(w);
}
