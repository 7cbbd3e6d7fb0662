/* mproc: time and timeout helpers, version. */
#include <math.h>

#include <uv.h>

#include "internal.h"
#include "platform.h"

int mproc__timeout(double timeout, double *out) {
  if (isnan(timeout))
    return mproc__err(MPROC_EINVAL, "timeout is NaN; pass seconds, 0 to "
                                    "poll or MPROC_FOREVER");
  if (timeout >= 1e18)
    *out = MPROC__INF;
  else if (timeout < 0)
    *out = 0; /* Python treats a negative timeout as 0 */
  else
    *out = timeout;
  return 0;
}

double mproc__now(void) { return (double)uv_hrtime() / 1e9; }

double mproc__deadline(double timeout) {
  return timeout < 0 ? MPROC__INF : mproc__now() + timeout;
}

double mproc__remaining(double deadline) {
  double left;
  if (deadline < 0) return MPROC__INF;
  left = deadline - mproc__now();
  return left > 0 ? left : 0;
}

unsigned mproc_version(void) { return MPROC_VERSION_HEX; }

#define MPROC__STR2(x) #x
#define MPROC__STR(x) MPROC__STR2(x)
const char *mproc_version_string(void) {
  return MPROC__STR(MPROC_VERSION_MAJOR) "." MPROC__STR(
      MPROC_VERSION_MINOR) "." MPROC__STR(MPROC_VERSION_PATCH);
}
