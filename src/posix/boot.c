/* mproc: the child's side of spawn and forkserver on POSIX — reading the
 * bootstrap message and the descriptors beside it from the bootstrap
 * socket, handing them to the common layer (mproc__child_main), and
 * reporting a bootstrap failure or the exit code back. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "posix.h"

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

/* The descriptors that came with the length word (the pass list's), and
 * what mproc__os_watch_parent needs: set by mproc__posix_boot_child
 * before it hands the message to the common layer. */
static mproc_handle received[MPROC_PASS_MAX];
static size_t n_received;
static int watch_fd = -1, watch_direct;
static long watch_os_parent;

int mproc__os_watch_parent(long parent_pid) {
  mproc__posix_watch_parent(watch_fd,
                            watch_os_parent > 0 ? watch_os_parent : parent_pid,
                            watch_direct);
  return 0;
}

/* One read of the bootstrap stream, taking the descriptors of passed
 * connections when they come (with the length word). */
static ssize_t read_some(int boot, void *buf, size_t n) {
  union {
    char buf[CMSG_SPACE(MPROC_PASS_MAX * sizeof(int))];
    struct cmsghdr align;
  } ctl;
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
    for (i = 0; i < cnt && k < MPROC_PASS_MAX; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      received[k++] = fd;
    }
  }
  n_received = k;
  return r;
}

/* The bootstrap message — a u64 length, then the bytes — read into `buf`
 * when it fits (the usual case: names and a short argument), else into
 * malloc'd memory. `buf` is 16-byte aligned and the length goes into its
 * first 16 bytes, so the message starts aligned for the target's argument
 * either way. A small message comes in one read, and the child takes no
 * page faults on the allocator's code, its data and the heap. */
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
  unsigned char *msg = NULL;
  size_t len = 0;
  int code = 0;

  mproc__posix_set_self_fd(boot);
  if (exit_fd >= 0) mproc__posix_add_self_fd(exit_fd);
  watch_fd = death;
  watch_direct = direct;
  watch_os_parent = os_parent;
  if (read_boot(boot, buf, sizeof buf, &msg, &len) < 0) goto fail;
  /* `msg` stays valid until _exit: this frame never returns. */
  if (mproc__child_main(msg, len, received, n_received, &code) < 0) goto fail;
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
