/* mproc: what is particular to macOS in the POSIX backend. macOS has no
 * pipe2, no SOCK_CLOEXEC and no MSG_NOSIGNAL guarantee, so descriptors get
 * CLOEXEC right after birth — under the start lock, so our own forks never
 * see them half-made — and sockets get SO_NOSIGPIPE. */
#include <crt_externs.h>
#include <errno.h>
#include <fcntl.h>
#include <mach-o/dyld.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "posix.h"

mproc_start_method mproc__os_default_method(void) {
  return MPROC_START_SPAWN; /* as Python since 3.8 on macOS */
}

static int cloexec_both(int fds[2], const char *what) {
  if (mproc__posix_set_cloexec(fds[0]) < 0 ||
      mproc__posix_set_cloexec(fds[1]) < 0) {
    int rc = mproc__posix_err(errno, "%s: setting FD_CLOEXEC", what);
    mproc__posix_close(fds[0]);
    mproc__posix_close(fds[1]);
    return rc;
  }
  return 0;
}

int mproc__posix_pipe(int fds[2]) {
  if (pipe(fds) != 0) return mproc__posix_err(errno, "pipe");
  return cloexec_both(fds, "pipe");
}

int mproc__posix_socketpair(int type, int fds[2]) {
  int one = 1, rc;
  if (socketpair(AF_UNIX, type, 0, fds) != 0)
    return mproc__posix_err(errno, "socketpair");
  rc = cloexec_both(fds, "socketpair");
  if (rc < 0) return rc;
  (void)setsockopt(fds[0], SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
  (void)setsockopt(fds[1], SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
  return 0;
}

ssize_t mproc__posix_recvmsg(int fd, struct msghdr *m) {
  struct cmsghdr *c;
  ssize_t r;
  do
    r = recvmsg(fd, m, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) return mproc__posix_err(errno, "recvmsg");
  /* No MSG_CMSG_CLOEXEC: received descriptors get it now. Only a
   * bootstrapping child receives them, before it runs any thread that
   * could fork meanwhile. */
  for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      size_t i, n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int fd_i;
      for (i = 0; i < n; i++) {
        memcpy(&fd_i, CMSG_DATA(c) + i * sizeof(int), sizeof fd_i);
        (void)mproc__posix_set_cloexec(fd_i);
      }
    }
  }
  return r;
}

int mproc__posix_own_args(char *buf, size_t n, char **argv, int max) {
  char **own = *_NSGetArgv();
  int argc = *_NSGetArgc(), i;
  (void)buf;
  (void)n;
  for (i = 0; i < argc && i < max; i++) argv[i] = own[i];
  return i;
}

const char *mproc__posix_exe_path(void) {
  static char path[4096];
  uint32_t size = sizeof path;
  if (path[0] == '\0' && _NSGetExecutablePath(path, &size) != 0)
    path[0] = '\0';
  return path;
}

int mproc__posix_is_main_thread(void) { return pthread_main_np() == 1; }
void mproc__posix_main_thread_after_fork(void) {} /* nothing cached */

void mproc__posix_watch_parent(int fd, long ppid, int direct) {
  (void)direct; /* no parent-death signal on macOS: always the thread */
  if ((long)getppid() != ppid && direct) _exit(1);
  mproc__posix_set_parent_fd(fd); /* kept: the parent's sentinel */
  mproc__posix_watch_thread(fd);
}

int mproc__posix_spawn_only_these(posix_spawn_file_actions_t *fa,
                                  short *flags, int top, unsigned used) {
  int fd;
  (void)top;
  (void)used;
  /* Every descriptor not named by a file action is closed in the child;
   * the dup2 targets are named, stdio must be. */
  *flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
  for (fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) != -1 && /* a closed one would fail the spawn */
        posix_spawn_file_actions_addinherit_np(fa, fd) != 0)
      return mproc__err(MPROC_ENOMEM, "posix_spawn_file_actions_addinherit_np");
  return 0;
}

int mproc__os_cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int mproc__os_pid_alive(long pid) {
  if (pid <= 0) return 0;
  return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/* A descriptor born here gets CLOEXEC and SO_NOSIGPIPE at once, under the
 * start lock (see the top of this file). */
static int fresh_socket(int fd, const char *what) {
  int one = 1, fl;
  if (fd < 0) {
    int e = errno;
    mproc__posix_start_unlock();
    return mproc__posix_err(e, "%s", what);
  }
  if (mproc__posix_set_cloexec(fd) < 0) {
    int rc = mproc__posix_err(errno, "%s: setting FD_CLOEXEC", what);
    mproc__posix_start_unlock();
    mproc__posix_close(fd);
    return rc;
  }
  mproc__posix_start_unlock();
  (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
  /* An accepted socket inherits O_NONBLOCK from its listener here. */
  fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && (fl & O_NONBLOCK)) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

int mproc__posix_socket(int domain, int type) {
  mproc__posix_start_lock();
  return fresh_socket(socket(domain, type, 0), "socket");
}

int mproc__posix_accept(int fd) {
  mproc__posix_start_lock();
  return fresh_socket(accept(fd, NULL, NULL), "accept");
}

void mproc__posix_hugepages(void *p, size_t n) {
  (void)p; /* macOS chooses its page sizes itself */
  (void)n;
}
