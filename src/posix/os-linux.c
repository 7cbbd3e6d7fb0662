/* mproc: what is particular to Linux in the POSIX backend: CLOEXEC at
 * birth, /proc/self/exe, usable CPUs from affinity and cgroup quota, and
 * PR_SET_PDEATHSIG as the fast path of the parent-death watch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "posix.h"

mproc_start_method mproc__os_default_method(void) {
  return MPROC_START_FORKSERVER; /* as Python 3.14 on Linux */
}

int mproc__posix_pipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) return mproc__posix_err(errno, "pipe2");
  return 0;
}

int mproc__posix_socketpair(int type, int fds[2]) {
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) != 0)
    return mproc__posix_err(errno, "socketpair");
  return 0;
}

ssize_t mproc__posix_recvmsg(int fd, struct msghdr *m) {
  ssize_t r;
  do
    r = recvmsg(fd, m, MSG_CMSG_CLOEXEC); /* received descriptors too */
  while (r < 0 && errno == EINTR);
  if (r >= 0) return r;
  return mproc__posix_err(errno, "recvmsg");
}

int mproc__posix_own_args(char *buf, size_t n, char **argv, int max) {
  int fd, argc = 0;
  ssize_t got;
  size_t i, at = 0;
  fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  got = mproc__posix_read_full(fd, buf, n - 1);
  mproc__posix_close(fd);
  if (got <= 0) return 0;
  buf[got] = '\0';
  for (i = 0; i <= (size_t)got && argc < max; i++)
    if (buf[i] == '\0') {
      argv[argc++] = buf + at;
      at = i + 1;
      if (at >= (size_t)got) break;
    }
  return argc;
}

const char *mproc__posix_exe_path(void) {
  /* The running image itself, even if its file was replaced or moved. */
  return "/proc/self/exe";
}

/* The main thread, once seen: asking the kernel (gettid, getpid) on every
 * start costs two system calls; pthread_self() is a register read. The
 * first call from the main thread records it. A fork child forgets it (its
 * forking thread is its main thread now) without calling pthread_self():
 * that would cost every fork child a page fault on libc's code. */
static pthread_t main_thread;
static atomic_int main_known;

int mproc__posix_is_main_thread(void) {
  if (atomic_load_explicit(&main_known, memory_order_acquire))
    return pthread_equal(pthread_self(), main_thread) != 0;
  if ((pid_t)syscall(SYS_gettid) != getpid()) return 0;
  main_thread = pthread_self(); /* only the main thread gets here */
  atomic_store_explicit(&main_known, 1, memory_order_release);
  return 1;
}

void mproc__posix_main_thread_after_fork(void) {
  if (atomic_load_explicit(&main_known, memory_order_relaxed))
    atomic_store_explicit(&main_known, 0, memory_order_relaxed);
}

void mproc__posix_watch_parent(int fd, long ppid, int direct) {
  /* PR_SET_PDEATHSIG fires when the *thread* that created us ends, so it
   * is exact only when that thread was the parent's main thread (or the
   * parent is single-threaded, as the forkserver is). Otherwise watch the
   * death pipe from a thread. */
  mproc__posix_set_parent_fd(fd); /* kept: the parent's sentinel */
  if (direct && prctl(PR_SET_PDEATHSIG, SIGKILL) == 0) {
    if ((long)getppid() != ppid) _exit(1); /* the parent is already gone */
    return;
  }
  mproc__posix_watch_thread(fd);
}

/* glibc 2.34 has posix_spawn_file_actions_addclosefrom_np; elsewhere (musl,
 * older glibc) a close action is added for each inheritable descriptor
 * open now (one another thread opens meanwhile may slip through). Not a
 * sweep in the child: by its mproc_init, constructors and main may have
 * opened descriptors of their own. */
#if defined(__GLIBC__) &&                                                      \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE_ADDCLOSEFROM 1
#else
#define HAVE_ADDCLOSEFROM 0
#endif

int mproc__posix_spawn_only_these(posix_spawn_file_actions_t *fa,
                                  short *flags, int top, unsigned used) {
  int fd;
  (void)flags;
  /* A number below `top` that is not placed may hold an inherited
   * descriptor: close it (glibc ignores EBADF for a close action). */
  for (fd = 3; fd < top; fd++)
    if (!(used & (1u << (fd - 3))) &&
        posix_spawn_file_actions_addclose(fa, fd) != 0)
      return mproc__err(MPROC_ENOMEM, "posix_spawn_file_actions_addclose");
#if HAVE_ADDCLOSEFROM
  if (posix_spawn_file_actions_addclosefrom_np(fa, top) != 0)
    return mproc__err(MPROC_ENOMEM, "posix_spawn_file_actions_addclosefrom_np");
#else
  {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
      int f = atoi(e->d_name), fl;
      if (f < top || f == dirfd(d)) continue;
      fl = fcntl(f, F_GETFD);
      if (fl >= 0 && !(fl & FD_CLOEXEC) &&
          posix_spawn_file_actions_addclose(fa, f) != 0)
        break;
    }
    if (d) closedir(d);
  }
#endif
  return 0;
}

/* "max 100000" or "150000 100000" (cgroup v2), or v1's two files. */
static int cgroup_limit(void) {
  long long quota = -1, period = 0;
  FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
  if (f) {
    char q[32] = "";
    if (fscanf(f, "%31s %lld", q, &period) == 2 && q[0] != 'm')
      sscanf(q, "%lld", &quota);
    fclose(f);
  } else {
    f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r");
    if (f) {
      if (fscanf(f, "%lld", &quota) != 1) quota = -1;
      fclose(f);
    }
    f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r");
    if (f) {
      if (fscanf(f, "%lld", &period) != 1) period = 0;
      fclose(f);
    }
  }
  if (quota <= 0 || period <= 0) return 0;
  return (int)((quota + period - 1) / period);
}

int mproc__os_cpu_count(void) {
  cpu_set_t set;
  int n = 0, limit;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  limit = cgroup_limit();
  if (limit > 0 && limit < n) n = limit;
  return n > 0 ? n : 1;
}

int mproc__os_pid_alive(long pid) {
  char path[64], buf[256];
  FILE *f;
  size_t n;
  char *paren;
  if (pid <= 0) return 0;
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
  /* A zombie has ended: it holds nothing any more. */
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  f = fopen(path, "r");
  if (f == NULL) return 1;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  paren = strrchr(buf, ')');
  return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

int mproc__posix_socket(int domain, int type) {
  int fd = socket(domain, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return mproc__posix_err(errno, "socket");
  return fd;
}

int mproc__posix_accept(int fd) {
  int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0) return mproc__posix_err(errno, "accept4");
  return c;
}

void mproc__posix_hugepages(void *p, size_t n) {
  (void)madvise(p, n, MADV_HUGEPAGE); /* a hint: EINVAL without THP */
}
