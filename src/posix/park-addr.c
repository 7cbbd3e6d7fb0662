/* mproc: passing the parking place of the wait backends that sleep on the
 * address itself (wait-futex.c, wait-ulock.c): there is nothing to pass,
 * and the child's adopt is an open. */
#include "posix.h"

size_t mproc__os_park_pass(const mproc__os_park *p, mproc_handle *h) {
  (void)p;
  (void)h;
  return 0;
}

int mproc__os_park_adopt(mproc__os_park **out, const char *name,
                         mproc__park_words *words, const mproc_handle *h,
                         size_t n) {
  (void)h;
  (void)n;
  return mproc__os_park_open(out, name, words, 0);
}
