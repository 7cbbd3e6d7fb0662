/* mproc: children never outlive their parent.
 *
 * Every process that starts children keeps a "death pipe": it holds the
 * only copy of the write end, each child gets the read end. When the parent
 * ends — normally or by SIGKILL — the kernel closes the write end and the
 * child's read returns EOF. The portable watch is a small thread blocked in
 * that read; Linux adds PR_SET_PDEATHSIG where it is exact (os-linux.c). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <unistd.h>

#include "posix.h"

static int death_r = -1, death_w = -1;
/* The read end of our parent's death pipe, kept open as the parent's
 * sentinel (mproc_parent_process); -1 in the main program. */
static int parent_fd = -1;

void mproc__posix_set_parent_fd(int fd) { parent_fd = fd; }
mproc_handle mproc__os_parent_sentinel(void) {
  return parent_fd >= 0 ? parent_fd : MPROC_NO_HANDLE;
}

void mproc__posix_parent_fd_after_fork(void) {
  /* A fork child's parent is this process, not ours: drop our hold. */
  if (parent_fd < 0) return;
  mproc__posix_close(parent_fd);
  parent_fd = -1;
}

int mproc__posix_death_fd(void) {
  /* Called with the start lock held. */
  int fds[2];
  if (death_r >= 0) return death_r;
  if (mproc__posix_pipe(fds) < 0) return -1;
  death_r = fds[0];
  death_w = fds[1];
  return death_r;
}

int mproc__posix_death_after_fork(void) {
  int parent_r = death_r;
  if (death_w < 0) return parent_r; /* nothing to drop: no store, no fault */
  mproc__posix_close(death_w);
  death_r = death_w = -1;
  return parent_r;
}


static void *watch(void *arg) {
  int fd = (int)(intptr_t)arg;
  char c;
  ssize_t r;
  do
    r = read(fd, &c, 1);
  while (r < 0 && errno == EINTR);
  /* EOF (or a broken descriptor): the parent is gone. */
  kill(getpid(), SIGKILL);
  return NULL;
}

void mproc__posix_watch_thread(int fd) {
  pthread_attr_t attr;
  pthread_t t;
  sigset_t all, old;
  if (fd < 0) return;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  /* The watcher must never take the target's signals. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  if (pthread_create(&t, &attr, watch, (void *)(intptr_t)fd) != 0) {
    /* Without a watch the child could outlive its parent: refuse to run. */
    _exit(MPROC__BOOT_EXIT);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
}
