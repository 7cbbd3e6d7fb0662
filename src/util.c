/* mproc: time and timeout helpers, version. */
#include <math.h>
#include <string.h>

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

int mproc__opts_load(void *dst, size_t dst_size, const void *src,
                     const char *what, const char *init) {
  size_t size, i;
  memset(dst, 0, dst_size);
  *(size_t *)dst = dst_size;
  if (src == NULL) return 0;
  memcpy(&size, src, sizeof size);
  /* Every options struct's first version is its size today; a later
   * member raises dst_size, and older callers' smaller sizes will be
   * taken from then on (this check then compares with that first size). */
  if (size < dst_size)
    return mproc__err(MPROC_EINVAL, "%s: opts.size is %zu, want %zu: "
                      "start the options from %s", what, size, dst_size,
                      init);
  for (i = dst_size; i < size; i++)
    if (((const unsigned char *)src)[i] != 0)
      return mproc__err(MPROC_ENOTSUP, "%s: the options (%zu bytes) set "
                        "members this mproc (%zu bytes) does not know: "
                        "built against a newer header?", what, size,
                        dst_size);
  memcpy(dst, src, dst_size);
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
