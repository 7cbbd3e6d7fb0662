/* mproc: the fork start method. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "posix.h"

int mproc__posix_fork_start(mproc__os_proc *p, const mproc__start *st) {
  int fds[2] = {-1, -1}, rc, death, direct;
  long ppid = (long)getpid();
  sigset_t all, old;
  pid_t pid;

  /* Buffered output would otherwise be written twice, by both copies. */
  fflush(NULL);
  direct = mproc__posix_is_main_thread();
  /* The common layer has mapped the registry parent and child share. */
  mproc__posix_atfork_init();
  mproc__posix_start_lock();
  death = mproc__posix_death_fd();
  if (death < 0) {
    rc = MPROC_EOS;
    goto out;
  }
  rc = mproc__posix_pipe(fds);
  if (rc < 0) goto out;
  /* No handler of the parent's may run in the child before it is set up. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid = fork();
  if (pid == 0) {
    /* The atfork handler has dropped what was the parent's (its hold on
     * its own parent, our death pipe's write end, the locks). */
    mproc__posix_close(fds[0]);
    mproc__posix_set_self_fd(fds[1]);
    mproc__posix_watch_parent(death, ppid, direct);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    mproc__os_exit(st->fork_main(st->fork_ctx));
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pid < 0) {
    rc = mproc__posix_err(errno, "fork");
    mproc__posix_close(fds[0]);
    mproc__posix_close(fds[1]);
    goto out;
  }
  mproc__posix_close(fds[1]);
  p->pid = pid;
  p->sentinel = fds[0];
  rc = 0;
out:
  mproc__posix_start_unlock();
  return rc;
}
