/* mproc: what the POSIX start methods share (fork.c, spawn.c,
 * forkserver.c, and the helper process, helper.c): the start lock, the
 * descriptors a process holds for its own parent, the handler every fork
 * child runs first, and the parent's side of the bootstrap socket —
 * sending the message, reading the child's report. process.c dispatches
 * by method; boot.c is the child's side. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "forklock.h"
#include "posix.h"

/* The start lock (forklock.h: a fork child whose copy shows it free
 * keeps it as it is, touching no libc code). */
static uv_once_t start_once = UV_ONCE_INIT;
static mproc__forklock start_lock_;
static int self_fd[2] = {-1, -1};

static void start_lock_init(void) { mproc__forklock_init(&start_lock_); }

void mproc__posix_start_lock(void) {
  uv_once(&start_once, start_lock_init);
  mproc__forklock_lock(&start_lock_);
}

void mproc__posix_start_unlock(void) { mproc__forklock_unlock(&start_lock_); }

void mproc__posix_start_lock_reset(void) {
  /* In a fork child: a holder (our own forking thread, or one that is not
   * here) leaves a copy that no thread here can unlock. As forklock.h's
   * after_fork, but with pthread_mutex_init itself (on POSIX libuv's
   * uv_mutex_t is a pthread_mutex_t): the library holds this lock across
   * each of its forks, so every child it forks makes it anew, and the hop
   * through libuv's code would cost each one a page fault (measured). */
  if (atomic_load_explicit(&start_lock_.users, memory_order_relaxed) == 0)
    return;
  pthread_mutex_init(&start_lock_.mutex, NULL);
  atomic_store_explicit(&start_lock_.users, 0, memory_order_relaxed);
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
 * thing; the common layer's fork-child hooks (program.h) run next, and
 * the library's own children then add what they need (a sentinel, the
 * parent-death watch). It runs in each fork child of a program that uses
 * the library, so it writes as little memory and calls as little libc as
 * it can: each page a fork child first touches costs a fault. */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_child(void) {
  mproc__posix_start_lock_reset();
  mproc__posix_close_self_fd();
  mproc__posix_parent_fd_after_fork();
  (void)mproc__posix_death_after_fork(); /* the read end: kept, CLOEXEC */
  mproc__posix_main_thread_after_fork();
}

static void register_atfork(void) { pthread_atfork(NULL, NULL, atfork_child); }

void mproc__posix_atfork_init(void) {
  pthread_once(&atfork_once, register_atfork);
}

void mproc__os_atfork_child(void (*fn)(void)) {
  /* The backend's own handler first: child handlers run in the order
   * they were registered. */
  mproc__posix_atfork_init();
  pthread_atfork(NULL, NULL, fn);
}

/* ---- a service process of the program ------------------------------------- */

int mproc__posix_fork_service(const mproc__posix_service *sv_desc,
                              int *client, pid_t *pid) {
  int sv[2], death, rc;
  sigset_t all, old;
  size_t i;
  pid_t p;
  death = mproc__posix_death_fd();
  rc = death < 0 ? MPROC_EOS : mproc__posix_socketpair(SOCK_DGRAM, sv);
  if (rc < 0) return rc;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  p = fork();
  if (p == 0) {
    /* The atfork handlers dropped the program's state (its death pipe's
     * write end among it); the service keeps the read end. Dispositions
     * are set before the mask is lifted, so that a signal sent right
     * after the start cannot end it. */
    if (!sv_desc->keep_client) {
      mproc__posix_close(sv[0]);
      sv[0] = -1;
    }
    mproc__posix_default_signals();
    for (i = 0; i < sv_desc->n_ignore; i++)
      signal(sv_desc->ignore[i], SIG_IGN);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    sv_desc->run(sv[1], death, sv[0]);
    _exit(0); /* run does not return */
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  mproc__posix_close(sv[1]);
  if (p < 0) {
    rc = mproc__posix_err(errno, "fork (%s)", sv_desc->what);
    mproc__posix_close(sv[0]);
    return rc;
  }
  *client = sv[0];
  *pid = p;
  return 0;
}

/* ---- the parent's side of the bootstrap socket ----------------------------- */

/* The length word, carrying the connections' descriptors. */
static int send_len_with_fds(int fd, const uint64_t *n, const mproc__start *st) {
  union {
    char buf[CMSG_SPACE(MPROC_PASS_MAX * sizeof(int))];
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

