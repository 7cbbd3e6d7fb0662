/* mproc: the fault-injection seam. Tests kill a process at a chosen point
 * inside the library — between writing a message and publishing it, in the
 * middle of a stream — to prove the others recover. A point is armed by
 * the environment variable MPROC_FAULT="<point>:<n>": the n-th time this
 * process reaches <point> it kills itself outright (SIGKILL /
 * TerminateProcess), as a crash or an OOM kill would. Unarmed, a point
 * costs one predictable branch. The variable is read once per process (a
 * fork child re-reads it, so a test arms it in the child it will kill). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "platform.h"

static long read_pid = -1;
static char armed[64];
static long countdown;

static void load(void) {
  const char *v = getenv("MPROC_FAULT"), *colon;
  size_t n;
  read_pid = mproc__os_getpid();
  armed[0] = '\0';
  if (v == NULL || (colon = strchr(v, ':')) == NULL) return;
  n = (size_t)(colon - v);
  if (n >= sizeof armed) return;
  memcpy(armed, v, n);
  armed[n] = '\0';
  countdown = strtol(colon + 1, NULL, 10);
}

int mproc__fault(const char *point) {
  if (read_pid != mproc__os_getpid()) load();
  if (armed[0] == '\0' || strcmp(armed, point) != 0) return 0;
  if (--countdown > 0) return 0;
  mproc__os_kill_self();
  return 1; /* not reached */
}
