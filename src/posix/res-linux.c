/* mproc: a process's resources on Linux — its resident memory
 * (/proc/self/statm, read whole each time: a descriptor kept open would
 * name the parent's /proc entry in a forked child) and a child's CPU
 * affinity (sched_setaffinity on its pid). */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "posix.h"

int mproc__os_rss(uint64_t *bytes) {
  char buf[128];
  unsigned long size = 0, resident = 0;
  ssize_t n;
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  *bytes = 0;
  if (fd < 0) return mproc__posix_err(errno, "open /proc/self/statm");
  do {
    n = read(fd, buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  mproc__posix_close(fd);
  if (n <= 0) return mproc__err(MPROC_EOS, "read /proc/self/statm failed");
  buf[n] = '\0';
  if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
    return mproc__err(MPROC_EOS, "/proc/self/statm: unexpected contents");
  *bytes = (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
  return 0;
}

int mproc__os_affinity_supported(void) { return 1; }

int mproc__os_proc_affinity(mproc__os_proc *p, const int *cpus, size_t n) {
  cpu_set_t set;
  long pid = mproc__os_proc_pid(p);
  size_t i;
  CPU_ZERO(&set);
  for (i = 0; i < n; i++) {
    if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE)
      return mproc__err(MPROC_ERANGE, "affinity: CPU %d is past the %d this "
                        "build can name", cpus[i], CPU_SETSIZE);
    CPU_SET(cpus[i], &set);
  }
  if (pid <= 0) return mproc__err(MPROC_ESTATE, "affinity: no child pid");
  if (sched_setaffinity((pid_t)pid, sizeof set, &set) != 0)
    return mproc__posix_err(errno, "sched_setaffinity");
  return 0;
}
