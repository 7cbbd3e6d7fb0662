/* mproc: the fault-injection seam. Tests kill a process at a chosen point
 * inside the library — between writing a message and publishing it, in the
 * middle of a stream — to prove the others recover. A point is armed by
 * the environment variable MPROC_FAULT="<point>:<n>": the n-th time this
 * process reaches <point> it kills itself outright (SIGKILL /
 * TerminateProcess), as a crash or an OOM kill would. Unarmed, a point
 * costs one predictable branch. The variable is read once per process (a
 * fork child forgets it through a fork-child hook (program.h) and re-reads it, so a
 * test arms it in the child it will kill). */
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>

#include "internal.h"
#include "platform.h"
#include "program.h"

static char armed[64];
static long countdown;

static void load(void) {
  const char *v = getenv("MPROC_FAULT"), *colon;
  size_t n;
  armed[0] = '\0';
  if (v == NULL || (colon = strchr(v, ':')) == NULL) return;
  n = (size_t)(colon - v);
  if (n >= sizeof armed) return;
  memcpy(armed, v, n);
  armed[n] = '\0';
  countdown = strtol(colon + 1, NULL, 10);
}

/* 0 not read, 1 being read by one thread, 2 read. The first caller
 * reads the variable; others that race it wait (yielding) until it is
 * done, so `armed` is written by one thread and read after an acquire
 * (several threads of one process reach fault points at once: a process
 * executor's feeder and reader both use queues). */
enum { UNREAD, READING, READ };
static _Atomic int loaded, hooked;
static void forget(void) { atomic_store(&loaded, UNREAD); }

int mproc__fault(const char *point) {
  int s = atomic_load_explicit(&loaded, memory_order_acquire);
  if (s != READ) {
    int expected = UNREAD;
    if (atomic_compare_exchange_strong(&loaded, &expected, READING)) {
      if (!atomic_exchange(&hooked, 1)) mproc__on_fork_child(forget);
      load();
      atomic_store_explicit(&loaded, READ, memory_order_release);
    } else {
      while (atomic_load_explicit(&loaded, memory_order_acquire) != READ)
        mproc__os_yield();
    }
  }
  if (armed[0] == '\0' || strcmp(armed, point) != 0) return 0;
  if (--countdown > 0) return 0;
  mproc__os_kill_self();
  return 1; /* not reached */
}
