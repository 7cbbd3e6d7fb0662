/* mproc: the POSIX process group of the backend contract — starting by
 * method, waiting, signalling — and the child side of spawn and forkserver.
 *
 * Sentinels: fork — a pipe whose write end only the child holds;
 * spawn — the bootstrap socket, whose child end only the child holds;
 * forkserver — a pipe on which the server writes the child's pid and, at
 * its end, its wait status. Each is readable exactly when the child ended
 * (or, for spawn, reported a bootstrap failure first). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix.h"

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int self_fd = -1;

void mproc__posix_start_lock(void) { pthread_mutex_lock(&start_lock); }
void mproc__posix_start_unlock(void) { pthread_mutex_unlock(&start_lock); }
void mproc__posix_start_lock_reset(void) {
  /* In a fork child the lock is a copy, held by a thread that is not here. */
  pthread_mutex_init(&start_lock, NULL);
}

void mproc__posix_set_self_fd(int fd) { self_fd = fd; }
void mproc__posix_close_self_fd(void) {
  mproc__posix_close(self_fd);
  self_fd = -1;
}

/* ---- fork() by the program itself ------------------------------------------
 * A child made by the program's own fork() (not through mproc) is not one
 * of our children: it must not keep our death pipe's write end (our
 * children would then outlive us while it lives), nor the descriptor we
 * hold for our parent, nor locks another thread held. Our own forks set
 * `forking` so the handler leaves their children alone: they set
 * themselves up. */
static _Thread_local int forking; /* the atfork handler runs in the forking thread */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_child(void) {
  int parent_death;
  if (forking) {
    forking = 0;
    return;
  }
  mproc__posix_start_lock_reset();
  mproc__posix_close_self_fd();
  parent_death = mproc__posix_death_after_fork();
  (void)parent_death; /* the read end: ours to keep, it closes at exit */
  mproc__child_after_fork();
}

static void register_atfork(void) { pthread_atfork(NULL, NULL, atfork_child); }

void mproc__posix_fork_begin(void) {
  pthread_once(&atfork_once, register_atfork);
  forking = 1;
}

void mproc__posix_fork_end(void) { forking = 0; }

int mproc__os_init(void) {
  pthread_once(&atfork_once, register_atfork);
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

int mproc__posix_send_boot(int fd, const void *msg, size_t len,
                           size_t *sent, int all) {
  uint64_t n = len;
  int rc = 0;
  /* The stream is the u64 length, then the message; *sent counts both. */
  while (*sent < sizeof n + len) {
    const char *from = *sent < sizeof n ? (const char *)&n + *sent
                                         : (const char *)msg + (*sent - sizeof n);
    size_t left = *sent < sizeof n ? sizeof n - *sent : len - (*sent - sizeof n);
    ssize_t r = mproc__posix_send_some(fd, from, left, all);
    if (r < 0) {
      rc = (int)r;
      break;
    }
    if (r == 0) return 0; /* the socket is full: finish later */
    *sent += (size_t)r;
  }
  /* A child that died before reading everything shows at join, with its
   * exit code; it is not a start failure. */
  return rc == MPROC_EEOF ? 0 : rc;
}

void mproc__posix_read_report(mproc__os_proc *p) {
  char text[sizeof p->boot_error];
  while (p->back >= 0 && mproc__posix_poll_in(p->back, 0) == 1) {
    uint32_t tag = 0;
    int32_t code = 0;
    ssize_t r = mproc__posix_read_full(p->back, &tag, sizeof tag);
    if (r != (ssize_t)sizeof tag) return; /* EOF: nothing more */
    if (tag == MPROC__REPORT_EXIT) {
      if (mproc__posix_read_full(p->back, &code, sizeof code) !=
          (ssize_t)sizeof code)
        return;
      p->exit_reported = 1;
      p->exitcode = code;
      continue;
    }
    if (tag >= sizeof text) tag = sizeof text - 1;
    r = mproc__posix_read_full(p->back, text, tag);
    if (r < 0) return;
    text[r] = '\0';
    p->boot_failed = 1;
    memcpy(p->boot_error, text, (size_t)r + 1);
  }
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
   * child's descriptors close and again when it can be reaped. */
  if (p->method == MPROC_START_FORKSERVER || timeout >= 0) {
    r = mproc__posix_poll_in(p->sentinel, timeout);
    if (r < 0) return r;
    if (r == 0)
      return mproc__err(MPROC_ETIMEDOUT, "process %ld is still running",
                        (long)p->pid);
  }
  if (p->method == MPROC_START_FORKSERVER) {
    /* The child's own exit report, else (a signal, exit() inside the
     * target) the server's wait status. */
    mproc__posix_read_report(p);
    if (!p->exit_reported) {
      r = mproc__posix_forkserver_status(p);
      if (r < 0) return r;
    }
  } else {
    r = mproc__posix_waitpid(p->pid, &status);
    if (r < 0) return r;
    /* The child has ended: an error report, if any, is complete. */
    mproc__posix_read_report(p);
    p->exitcode = mproc__posix_exitcode(status);
  }
  p->reaped = 1;
  return finish(p, exitcode);
}

int mproc__os_proc_signal(mproc__os_proc *p, int hard) {
  if (p->reaped) return 0;
  if (kill(p->pid, hard ? SIGKILL : SIGTERM) != 0 && errno != ESRCH)
    return mproc__posix_err(errno, "kill(%ld, %s)", (long)p->pid,
                            hard ? "SIGKILL" : "SIGTERM");
  return 0;
}

long mproc__os_proc_pid(const mproc__os_proc *p) { return (long)p->pid; }

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

/* ---- the child side of spawn and forkserver ----------------------------- */

static void report_error(int boot) {
  const char *text = mproc_last_error();
  uint32_t len = (uint32_t)strlen(text);
  char buf[4 + 256];
  if (len > 255) len = 255;
  memcpy(buf, &len, 4);
  memcpy(buf + 4, text, len);
  (void)mproc__posix_send_all(boot, buf, 4 + len);
}

static void exit_reporting(int boot, int code) MPROC__NORETURN;
static void exit_reporting(int boot, int code) {
  uint32_t rec[2];
  int32_t c = code & 0xff; /* what the exit status will carry */
  rec[0] = MPROC__REPORT_EXIT;
  memcpy(&rec[1], &c, sizeof c);
  fflush(NULL); /* the output first: join returns after it */
  (void)mproc__posix_send_all(boot, rec, sizeof rec);
  _exit(code);
}

void mproc__posix_boot_child(int boot, int death, int direct, long os_parent) {
  uint64_t len = 0;
  mproc__boot_peek peek = {0};
  char *msg = NULL;
  ssize_t r;
  int code = 0;

  mproc__posix_set_self_fd(boot);
  r = mproc__posix_read_full(boot, &len, sizeof len);
  if (r != (ssize_t)sizeof len || len > SIZE_MAX - 1) {
    mproc__err(MPROC_EBOOTSTRAP, "the parent closed the bootstrap channel "
                                 "before sending the message");
    goto fail;
  }
  msg = malloc(len ? (size_t)len : 1);
  if (msg == NULL) {
    mproc__err(MPROC_EBOOTSTRAP, "no memory for a %llu-byte bootstrap "
                                 "message",
               (unsigned long long)len);
    goto fail;
  }
  r = mproc__posix_read_full(boot, msg, (size_t)len);
  if (r != (ssize_t)len) {
    mproc__err(MPROC_EBOOTSTRAP, "the bootstrap message was cut short");
    goto fail;
  }
  if (mproc__boot_peek_header(msg, (size_t)len, &peek) < 0) goto fail;
  mproc__posix_watch_parent(death, os_parent > 0 ? os_parent : peek.parent_pid,
                            direct);
  if (mproc__child_boot(msg, (size_t)len, &code) < 0) goto fail;
  exit_reporting(boot, code);
fail:
  report_error(boot);
  mproc__os_exit(MPROC__BOOT_EXIT);
  abort(); /* not reached */
}
