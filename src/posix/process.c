/* mproc: the POSIX process group of the backend contract — starting by
 * method (fork.c, spawn.c, forkserver.c; what they share is start.c),
 * waiting, signalling. The child's side of spawn and forkserver is
 * boot.c.
 *
 * Sentinels: fork — a pipe whose write end only the child holds;
 * spawn — the bootstrap socket, whose child end only the child holds;
 * forkserver — the bootstrap socket too (forkserver.c); join then waits
 * for the server's word that it reaped the child. Each is readable exactly
 * when the child ended (or reported a bootstrap failure first). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "posix.h"

int mproc__os_init(void) {
  mproc__posix_atfork_init();
  return mproc__posix_forkserver_init();
}

int mproc__os_proc_start(mproc__os_proc **out, const mproc__start *st) {
  mproc__os_proc *p = calloc(1, sizeof *p);
  int rc;
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  p->method = st->method;
  p->pid = -1;
  p->sentinel = p->back = p->status = -1;
  switch (st->method) {
  case MPROC_START_FORK: rc = mproc__posix_fork_start(p, st); break;
  case MPROC_START_SPAWN: rc = mproc__posix_spawn_start(p, st); break;
  case MPROC_START_FORKSERVER:
    rc = mproc__posix_forkserver_start(p, st);
    break;
  default:
    rc = mproc__err(MPROC_ENOTSUP, "start method %d", (int)st->method);
  }
  if (rc < 0) {
    free(p);
    return rc;
  }
  *out = p;
  return 0;
}

static int finish(mproc__os_proc *p, int *exitcode) {
  *exitcode = p->exitcode;
  if (p->boot_failed)
    return mproc__err(MPROC_EBOOTSTRAP, "%s", p->boot_error);
  return 0;
}

int mproc__os_proc_wait(mproc__os_proc *p, double timeout, int *exitcode) {
  int r, status = 0;
  if (p->reaped) return finish(p, exitcode);
  /* Our own child, waited for without limit: waitpid alone, as CPython
   * does. Polling the sentinel first would wake us twice, once when the
   * child's descriptors close and again when it can be reaped. A
   * forkserver child is polled for and then read: sleeping in recv() on
   * the socket instead measured 12-15 us slower a start (Linux 6.18 VM). */
  if (p->method == MPROC_START_FORKSERVER || timeout >= 0) {
    r = mproc__posix_poll_in(p->sentinel, timeout);
    if (r < 0) return r;
    if (r == 0)
      return mproc__err(MPROC_ETIMEDOUT, "the child is still running");
  }
  if (p->method == MPROC_START_FORKSERVER) {
    /* A bootstrap failure's sentence, if any, then the server's word that
     * the child is gone (reaped): join means its holds are void. */
    mproc__posix_read_report(p, 0);
    r = mproc__posix_forkserver_status(p);
    if (r < 0) return r;
  } else {
    r = mproc__posix_waitpid(p->pid, &status);
    if (r < 0) return r;
    /* The child has ended: an error report, if any, is complete. */
    mproc__posix_read_report(p, 0);
    p->exitcode = mproc__posix_exitcode(status);
  }
  p->reaped = 1;
  return finish(p, exitcode);
}

int mproc__os_proc_signal(mproc__os_proc *p, int sig) {
  static const int number[] = {SIGTERM, SIGKILL, SIGINT};
  static const char *const name[] = {"SIGTERM", "SIGKILL", "SIGINT"};
  long pid;
  if (p->reaped) return 0;
  pid = mproc__os_proc_pid(p);
  if (pid <= 0) return 0; /* no child; and kill(0) would hit our group */
  if (kill((pid_t)pid, number[sig]) != 0 && errno != ESRCH)
    return mproc__posix_err(errno, "kill(%ld, %s)", pid, name[sig]);
  return 0;
}

long mproc__os_proc_pid(const mproc__os_proc *p) {
  /* A forkserver child's pid is read on first need; the object was made
   * by mproc__os_proc_start, never const, so storing it is sound. */
  if (p->pid < 0 && p->method == MPROC_START_FORKSERVER)
    return mproc__posix_forkserver_pid((mproc__os_proc *)(uintptr_t)p);
  return (long)p->pid;
}

mproc_handle mproc__os_proc_sentinel(const mproc__os_proc *p) {
  return (mproc_handle)p->sentinel;
}

void mproc__os_proc_free(mproc__os_proc *p) {
  if (p == NULL) return;
  if (p->back != p->sentinel) mproc__posix_close(p->back);
  mproc__posix_close(p->sentinel);
  mproc__posix_close(p->status);
  free(p);
}

