/* mproc: errno -> MPROC_E*, at the POSIX backend's boundary. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "posix.h"

static int translate(int err) {
  switch (err) {
  case EINVAL: return MPROC_EINVAL;
  case ENOMEM: return MPROC_ENOMEM;
  case EAGAIN: return MPROC_EAGAIN;
  case EEXIST:
  case EADDRINUSE: return MPROC_EEXIST;
  case ENOENT:
  case ECONNREFUSED: return MPROC_ENOENT;
  case ENAMETOOLONG: return MPROC_ENAMETOOLONG;
  case EPERM:
  case EACCES: return MPROC_EPERM;
  case ETIMEDOUT: return MPROC_ETIMEDOUT;
  case EPIPE:
  case ECONNRESET: return MPROC_EEOF;
  case ENOSYS:
  case ENOTSUP: return MPROC_ENOTSUP;
  default: return MPROC_EOS;
  }
}

int mproc__posix_err(int err, const char *fmt, ...) {
  char what[256];
  va_list ap;
  int rc;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  rc = mproc__err(translate(err), "%s: %s (errno %d)", what, strerror(err),
                  err);
  errno = err; /* callers may still look at it (EAGAIN) */
  return rc;
}
