/* mproc: small scheduling calls — yielding, and dying outright for the
 * fault-injection seam. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include "posix.h"

void mproc__os_kill_self(void) {
  kill(getpid(), SIGKILL);
  _exit(137); /* not reached */
}

void mproc__os_yield(void) { sched_yield(); }

/* exit() leaves the other threads running while atexit handlers run. */
int mproc__os_exit_threads_gone(void) { return 0; }

int mproc__os_cpu_online(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

