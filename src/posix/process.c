/* mproc: the POSIX process group of the backend contract — starting by
 * method, waiting, signalling — and the child side of spawn and forkserver.
 *
 * Sentinels: fork — a pipe whose write end only the child holds;
 * spawn — the bootstrap socket, whose child end only the child holds;
 * forkserver — the bootstrap socket too (forkserver.c); join then waits
 * for the server's word that it reaped the child. Each is readable exactly
 * when the child ended (or reported a bootstrap failure first). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix.h"

/* The start lock, and a count of the threads between taking and releasing
 * it. A fork child whose copy shows no such thread knows the mutex was free
 * at the fork and keeps it as it is: re-initialising it would cost a child
 * that never starts processes a page fault on libc's pthread code (each
 * library page a fork child first touches costs one). The count is kept
 * outside the mutex, and both sit in one aligned block — one page, which
 * fork copies at a single instant — so a copy never shows the mutex held
 * with a zero count. */
static struct {
  _Alignas(64) atomic_int users;
  pthread_mutex_t mutex;
} start = {0, PTHREAD_MUTEX_INITIALIZER};
static int self_fd[2] = {-1, -1};

void mproc__posix_start_lock(void) {
  atomic_fetch_add(&start.users, 1);
  pthread_mutex_lock(&start.mutex);
}

void mproc__posix_start_unlock(void) {
  pthread_mutex_unlock(&start.mutex);
  atomic_fetch_sub(&start.users, 1);
}

void mproc__posix_start_lock_reset(void) {
  /* In a fork child: a holder (our own forking thread, or one that is not
   * here) leaves a copy that no thread here can unlock. */
  if (atomic_load_explicit(&start.users, memory_order_relaxed) == 0) return;
  pthread_mutex_init(&start.mutex, NULL);
  atomic_store_explicit(&start.users, 0, memory_order_relaxed);
}

void mproc__posix_set_self_fd(int fd) { self_fd[0] = fd; }
void mproc__posix_add_self_fd(int fd) { self_fd[1] = fd; }
void mproc__posix_close_self_fd(void) {
  if (self_fd[0] >= 0) mproc__posix_close(self_fd[0]);
  if (self_fd[1] >= 0) mproc__posix_close(self_fd[1]);
  self_fd[0] = self_fd[1] = -1;
}

/* ---- every fork child ------------------------------------------------------
 * Any child forked from this process — by the library (fork start method,
 * the forkserver and its children) or by the program's own fork() — must
 * not keep our death pipe's write end (our children would then outlive us
 * while it lives), nor the descriptor we hold for our parent, nor locks
 * another thread held. This handler drops them in every fork child, first
 * thing; the library's own children then add what they need (a sentinel,
 * the parent-death watch). It runs in each fork child of a program that
 * uses the library, so it writes as little memory and calls as little
 * libc as it can: each page a fork child first touches costs a fault. */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_child(void) {
  mproc__posix_start_lock_reset();
  mproc__posix_close_self_fd();
  mproc__posix_parent_fd_after_fork();
  (void)mproc__posix_death_after_fork(); /* the read end: kept, CLOEXEC */
  mproc__posix_main_thread_after_fork();
  mproc__child_after_fork();
}

static void register_atfork(void) { pthread_atfork(NULL, NULL, atfork_child); }

void mproc__posix_atfork_init(void) {
  pthread_once(&atfork_once, register_atfork);
}

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

/* The length word, carrying the connections' descriptors. */
static int send_len_with_fds(int fd, const uint64_t *n, const mproc__start *st) {
  union {
    char buf[CMSG_SPACE(MPROC_CONN_PASS_MAX * sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov;
  struct msghdr m;
  struct cmsghdr *c;
  size_t i;
  ssize_t r;
  memset(&ctl, 0, sizeof ctl);
  memset(&m, 0, sizeof m);
  iov.iov_base = (void *)(uintptr_t)n;
  iov.iov_len = sizeof *n;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl.buf;
  m.msg_controllen = CMSG_SPACE(st->n_handles * sizeof(int));
  c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(st->n_handles * sizeof(int));
  for (i = 0; i < st->n_handles; i++) {
    int h = (int)st->handles[i];
    memcpy(CMSG_DATA(c) + i * sizeof(int), &h, sizeof h);
  }
  /* A fresh socket: the 8 bytes go in one piece. */
  r = mproc__posix_sendmsg(fd, &m);
  if (r < 0) return (int)r;
  return r == (ssize_t)sizeof *n ? 0 : mproc__err(MPROC_EOS, "sendmsg: "
                                                            "short send");
}

int mproc__posix_send_boot(int fd, const mproc__start *st, size_t *sent,
                           int all) {
  const void *msg = st->boot;
  size_t len = st->boot_len;
  uint64_t n = len;
  int rc = 0;
  if (*sent == 0 && st->n_handles > 0) {
    rc = send_len_with_fds(fd, &n, st);
    if (rc == 0) *sent = sizeof n;
  }
  /* The stream is the u64 length, then the message; *sent counts both. */
  while (rc == 0 && *sent < sizeof n + len) {
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

/* Make buf hold `want` bytes, reading the rest of a record the child is
 * sending. */
static int fill(int fd, unsigned char *buf, size_t *got, size_t want) {
  ssize_t r;
  if (*got >= want) return 1;
  r = mproc__posix_read_full(fd, buf + *got, want - *got);
  if (r > 0) *got += (size_t)r;
  return *got >= want;
}

void mproc__posix_read_report(mproc__os_proc *p, int block) {
  unsigned char buf[8 + sizeof p->boot_error];
  size_t got, at = 0;
  ssize_t r;
  if (p->back < 0) return;
  /* One call takes the record whole: the child sends it in one. */
  do
    r = recv(p->back, buf, sizeof buf, block ? 0 : MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  if (r <= 0) return; /* EOF (no report), nothing yet, or an error */
  got = (size_t)r;
  while (at < got) {
    uint32_t tag;
    size_t need;
    if (!fill(p->back, buf, &got, at + 4)) return;
    memcpy(&tag, buf + at, sizeof tag);
    need = tag == MPROC__REPORT_EXIT ? 8
           : tag < sizeof p->boot_error ? 4 + (size_t)tag
                                         : 4 + sizeof p->boot_error - 1;
    if (at + need > sizeof buf || !fill(p->back, buf, &got, at + need))
      return;
    if (tag == MPROC__REPORT_EXIT) {
      int32_t code;
      memcpy(&code, buf + at + 4, sizeof code);
      p->exit_reported = 1;
      p->exitcode = code;
    } else {
      memcpy(p->boot_error, buf + at + 4, need - 4);
      p->boot_error[need - 4] = '\0';
      p->boot_failed = 1;
    }
    at += need;
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

static void exit_reporting(int exit_fd, int code) MPROC__NORETURN;
static void exit_reporting(int exit_fd, int code) {
  uint32_t rec[2];
  int32_t c = code & 0xff; /* what the exit status will carry */
  sigset_t pipe_sig;
  rec[0] = MPROC__REPORT_EXIT;
  memcpy(&rec[1], &c, sizeof c);
  fflush(NULL); /* the output first: join returns after it */
  /* A pipe: one whole record (below PIPE_BUF). A reader that is gone must
   * not turn our exit code into SIGPIPE: the signal stays pending, and
   * _exit discards it. */
  sigemptyset(&pipe_sig);
  sigaddset(&pipe_sig, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_sig, NULL);
  if (write(exit_fd, rec, sizeof rec) < 0) { /* nobody to tell */
  }
  _exit(code);
}

/* The bootstrap message — a u64 length, then the bytes — read into `buf`
 * when it fits (the usual case: names and a short argument), else into
 * malloc'd memory. `buf` is 16-byte aligned and the length goes into its
 * first 16 bytes, so the message starts aligned for the target's argument
 * either way. A small message comes in one read, and the child takes no
 * page faults on the allocator's code, its data and the heap. */
/* One read of the bootstrap stream, taking the descriptors of passed
 * connections when they come (with the length word). */
static ssize_t read_some(int boot, void *buf, size_t n) {
  union {
    char buf[CMSG_SPACE(MPROC_CONN_PASS_MAX * sizeof(int))];
    struct cmsghdr align;
  } ctl;
  mproc_handle h[MPROC_CONN_PASS_MAX];
  struct iovec iov;
  struct msghdr m;
  struct cmsghdr *c;
  ssize_t r;
  size_t i, k = 0;
  memset(&m, 0, sizeof m);
  iov.iov_base = buf;
  iov.iov_len = n;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl.buf;
  m.msg_controllen = sizeof ctl.buf;
  r = mproc__posix_recvmsg(boot, &m);
  if (r <= 0 || m.msg_controllen == 0) return r;
  for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    for (i = 0; i < cnt && k < MPROC_CONN_PASS_MAX; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      h[k++] = fd;
    }
  }
  mproc__child_received_handles(h, k);
  return r;
}

static int read_boot(int boot, unsigned char *buf, size_t cap,
                     unsigned char **msg, size_t *len) {
  unsigned char *at = buf + 8; /* the length lands at buf + 8 */
  size_t got = 0, need = 8;
  uint64_t n = 0;
  while (got < need) {
    ssize_t r = read_some(boot, at + got, cap - 8 - got);
    if (r <= 0)
      return mproc__err(MPROC_EBOOTSTRAP,
                        got < 8 ? "the parent closed the bootstrap channel "
                                  "before sending the message"
                                : "the bootstrap message was cut short");
    got += (size_t)r;
    if (need == 8 && got >= 8) {
      memcpy(&n, at, sizeof n);
      if (n > cap - 16) break; /* does not fit: read the rest below */
      need = 8 + (size_t)n;
    }
  }
  *len = (size_t)n;
  if (n <= cap - 16) {
    *msg = buf + 16;
    return 0;
  }
  if (n > SIZE_MAX - 1 || (*msg = malloc((size_t)n)) == NULL)
    return mproc__err(MPROC_EBOOTSTRAP,
                      "no memory for a %llu-byte bootstrap message",
                      (unsigned long long)n);
  memcpy(*msg, buf + 16, got - 8);
  if (mproc__posix_read_full(boot, *msg + (got - 8), (size_t)n - (got - 8)) !=
      (ssize_t)(n - (got - 8)))
    return mproc__err(MPROC_EBOOTSTRAP, "the bootstrap message was cut short");
  return 0;
}

void mproc__posix_boot_child(int boot, int death, int direct, long os_parent,
                             int exit_fd) {
  _Alignas(16) _Alignas(max_align_t) unsigned char buf[512];
  mproc__boot_peek peek = {0};
  unsigned char *msg = NULL;
  size_t len = 0;
  int code = 0;

  mproc__posix_set_self_fd(boot);
  if (exit_fd >= 0) mproc__posix_add_self_fd(exit_fd);
  if (read_boot(boot, buf, sizeof buf, &msg, &len) < 0) goto fail;
  if (mproc__boot_peek_header(msg, len, &peek) < 0) goto fail;
  mproc__posix_watch_parent(death, os_parent > 0 ? os_parent : peek.parent_pid,
                            direct);
  /* `msg` stays valid until _exit: this frame never returns. */
  if (mproc__child_boot(msg, len, &code) < 0) goto fail;
  /* A spawned child (no exit pipe) is a fresh program: it ends as one,
   * running its atexit handlers (the parent learns the code from waitpid).
   * A forkserver child is a copy of the server, whose handlers are the
   * program's: it ends with _exit, as a fork child does. */
  if (exit_fd < 0) exit(code);
  exit_reporting(exit_fd, code);
fail:
  report_error(boot);
  mproc__os_exit(MPROC__BOOT_EXIT);
  abort(); /* not reached */
}
