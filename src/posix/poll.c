/* mproc: waiting on many descriptors (mproc_wait_handles).
 *
 * poll(2) skips a negative descriptor and reports a closed one as
 * POLLNVAL, which would make a bad handle either wait forever or look
 * ready: both are refused with MPROC_EINVAL, at once, naming the index. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>

#include "posix.h"

int mproc__os_wait_handles(const mproc_handle *h, size_t n, double timeout,
                           unsigned char *ready) {
  struct pollfd one, *fds = n > 1 ? calloc(n, sizeof *fds) : &one;
  double deadline = mproc__deadline(timeout);
  size_t i;
  int r, count = 0;

  if (fds == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  for (i = 0; i < n; i++) {
    if (h[i] < 0 || h[i] > INT_MAX) {
      r = mproc__err(MPROC_EINVAL, "wait: handle %zu of %zu (%lld) is no "
                                   "descriptor",
                     i, n, (long long)h[i]);
      goto done;
    }
    fds[i].fd = (int)h[i];
    fds[i].events = POLLIN;
    fds[i].revents = 0;
  }
  for (;;) {
    r = poll(fds, (nfds_t)n, mproc__posix_ms(mproc__remaining(deadline)));
    if (r > 0) break;
    if (r == 0) {
      if (deadline >= 0 && mproc__remaining(deadline) <= 0) break;
      continue;
    }
    if (errno != EINTR) {
      r = mproc__posix_err(errno, "poll on %zu descriptors", n);
      goto done;
    }
  }
  for (i = 0; i < n; i++) {
    if (fds[i].revents & POLLNVAL) {
      r = mproc__err(MPROC_EINVAL, "wait: handle %zu of %zu (descriptor %d) "
                                   "is not open",
                     i, n, fds[i].fd);
      goto done;
    }
    ready[i] = fds[i].revents != 0;
    count += ready[i];
  }
  r = count > 0 ? count : MPROC_ETIMEDOUT;
  if (r == MPROC_ETIMEDOUT) mproc__err(r, "no handle became ready in time");
done:
  if (fds != &one) free(fds);
  return r;
}
