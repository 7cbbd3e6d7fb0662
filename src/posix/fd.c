/* mproc: file descriptor helpers for the POSIX backend. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix.h"

void mproc__posix_close(int fd) {
  /* Never retried on EINTR: on Linux the fd is gone either way, and a
   * retry could close a descriptor another thread just got. errno is not
   * saved: reading it is a call into libc that a fork child would take a
   * page fault for, and no caller reads errno after a close. */
  if (fd >= 0) (void)close(fd);
}

int mproc__posix_dup_cloexec(int fd, int min) {
  int r = fcntl(fd, F_DUPFD_CLOEXEC, min);
  if (r < 0) return mproc__posix_err(errno, "fcntl(F_DUPFD_CLOEXEC)");
  return r;
}

int mproc__posix_set_cloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
    return mproc__posix_err(errno, "fcntl(F_SETFD, FD_CLOEXEC)");
  return 0;
}

ssize_t mproc__posix_read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      return mproc__posix_err(errno, "read");
    }
    got += (size_t)r;
  }
  return (ssize_t)got;
}

int mproc__posix_ms(double timeout) {
  double ms;
  if (timeout < 0) return -1;
  ms = ceil(timeout * 1000.0);
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

int mproc__posix_poll_in(int fd, double timeout) {
  double deadline = mproc__deadline(timeout);
  for (;;) {
    struct pollfd pfd;
    int r;
    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    r = poll(&pfd, 1, mproc__posix_ms(mproc__remaining(deadline)));
    if (r > 0) return 1;
    if (r == 0) {
      if (deadline >= 0 && mproc__remaining(deadline) <= 0) return 0;
      continue; /* poll may wake a little early */
    }
    if (errno != EINTR) return mproc__posix_err(errno, "poll");
  }
}

int mproc__posix_exitcode(int status) {
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return status;
}

int mproc__posix_waitpid(pid_t pid, int *status) {
  for (;;) {
    if (waitpid(pid, status, 0) == pid) return 0;
    if (errno != EINTR)
      return mproc__posix_err(errno, "waitpid(%ld)", (long)pid);
  }
}

/* The socket sends, once for every POSIX system: MPROC__POSIX_NOSIGNAL
 * (posix.h) keeps a reader that is gone from raising SIGPIPE. */
int mproc__posix_send_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t r = send(fd, p, n, MPROC__POSIX_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      return mproc__posix_err(errno, "send");
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

ssize_t mproc__posix_sendmsg(int fd, const struct msghdr *m) {
  ssize_t r;
  do
    r = sendmsg(fd, m, MPROC__POSIX_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r >= 0) return r;
  return mproc__posix_err(errno, "sendmsg");
}

ssize_t mproc__posix_send_some(int fd, const void *buf, size_t n, int all) {
  ssize_t r;
  if (all) {
    int rc = mproc__posix_send_all(fd, buf, n);
    return rc < 0 ? rc : (ssize_t)n;
  }
  do
    r = send(fd, buf, n, MPROC__POSIX_NOSIGNAL | MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  if (r >= 0) return r;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
  return mproc__posix_err(errno, "send");
}
