/* mproc: the POSIX pipe group — a Connection is one end of an AF_UNIX
 * stream socketpair (as Python's duplex Pipe). A one-way pipe is a
 * socketpair too, shut down in the unused directions, rather than pipe(2):
 * writing to a socket whose reader is gone fails with EPIPE without
 * raising SIGPIPE (MSG_NOSIGNAL, or SO_NOSIGPIPE on macOS), which a
 * pipe(2) write cannot promise without touching the signal mask. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "posix.h"

struct mproc__os_conn {
  int fd;
};

static int wrap(int fd, mproc__os_conn **out) {
  mproc__os_conn *c = malloc(sizeof *c);
  if (c == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  c->fd = fd;
  *out = c;
  return 0;
}

int mproc__os_conn_pair(int duplex, mproc__os_conn **a, mproc__os_conn **b) {
  int fds[2] = {-1, -1}, rc;
  /* Under the start lock: where CLOEXEC is set after birth (macOS), no
   * fork of ours may copy the pair half-made. */
  mproc__posix_start_lock();
  rc = mproc__posix_socketpair(SOCK_STREAM, fds);
  mproc__posix_start_unlock();
  if (rc < 0) return rc;
  if (!duplex) {
    (void)shutdown(fds[0], SHUT_WR); /* the reader */
    (void)shutdown(fds[1], SHUT_RD); /* the writer */
  }
  *a = *b = NULL;
  if (wrap(fds[0], a) < 0 || wrap(fds[1], b) < 0) {
    free(*a);
    *a = NULL;
    mproc__posix_close(fds[0]);
    mproc__posix_close(fds[1]);
    return MPROC_ENOMEM;
  }
  return 0;
}

int mproc__os_conn_adopt(mproc_handle h, mproc__os_conn **out) {
  int fd = (int)h, rc = mproc__posix_set_cloexec(fd);
  if (rc < 0) return rc;
  return wrap(fd, out);
}

/* The caller may have made the descriptor non-blocking (its own poll
 * loop, libuv's uv_poll_init): a message is still read and written whole,
 * waiting for the descriptor as a blocking call would. */
static int would_block(int fd, short events) {
  struct pollfd pfd;
  if (errno != EAGAIN && errno != EWOULDBLOCK) return 0;
  pfd.fd = fd;
  pfd.events = events;
  pfd.revents = 0;
  (void)poll(&pfd, 1, -1); /* EINTR: the caller's loop tries again */
  return 1;
}

int mproc__os_conn_read(mproc__os_conn *c, void *buf, size_t n, size_t *got) {
  char *p = buf;
  *got = 0;
  while (*got < n) {
    ssize_t r = read(c->fd, p + *got, n - *got);
    if (r > 0) {
      *got += (size_t)r;
      continue;
    }
    if (r == 0) return MPROC_EEOF;
    if (errno == EINTR || would_block(c->fd, POLLIN)) continue;
    if (errno == ECONNRESET) return MPROC_EEOF;
    return mproc__posix_err(errno, "read from a pipe end");
  }
  return 0;
}

int mproc__os_conn_write(mproc__os_conn *c, const void *hdr, size_t hn,
                         const void *buf, size_t n) {
  struct iovec iov[2];
  struct msghdr m;
  int cnt = 0;
  if (hn) {
    iov[cnt].iov_base = (void *)(uintptr_t)hdr;
    iov[cnt++].iov_len = hn;
  }
  if (n) {
    iov[cnt].iov_base = (void *)(uintptr_t)buf;
    iov[cnt++].iov_len = n;
  }
  memset(&m, 0, sizeof m);
  m.msg_iov = iov;
  m.msg_iovlen = cnt;
  while (m.msg_iovlen > 0) {
    ssize_t r;
    size_t done;
    errno = 0;
    r = mproc__posix_sendmsg(c->fd, &m);
    if (r < 0 && r != MPROC_EEOF && would_block(c->fd, POLLOUT)) continue;
    if (r < 0) return (int)r;
    /* A partial send (a large message, a signal): skip what went. */
    done = (size_t)r;
    while (m.msg_iovlen > 0 && done >= m.msg_iov[0].iov_len) {
      done -= m.msg_iov[0].iov_len;
      m.msg_iov++;
      m.msg_iovlen--;
    }
    if (m.msg_iovlen > 0) {
      m.msg_iov[0].iov_base = (char *)m.msg_iov[0].iov_base + done;
      m.msg_iov[0].iov_len -= done;
    }
  }
  return 0;
}

int mproc__os_conn_poll(mproc__os_conn *c, double timeout) {
  return mproc__posix_poll_in(c->fd, timeout);
}

int mproc__os_conn_wait_begin(mproc__os_conn *c, mproc_handle *h) {
  *h = (mproc_handle)c->fd;
  return 0;
}

int mproc__os_conn_wait_end(mproc__os_conn *c, int signalled) {
  (void)c;
  return signalled;
}

mproc_handle mproc__os_conn_handle(const mproc__os_conn *c) {
  return (mproc_handle)c->fd;
}

int mproc__os_conn_passable(const mproc__os_conn *c) {
  (void)c; /* every socket descriptor travels */
  return 1;
}

void mproc__os_conn_close(mproc__os_conn *c) {
  if (c == NULL) return;
  mproc__posix_close(c->fd);
  free(c);
}

void mproc__os_conn_forget(mproc__os_conn *c) { free(c); }
