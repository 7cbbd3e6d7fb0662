/* mproc: named shared memory on POSIX (shm_open + mmap). The descriptor is
 * closed as soon as the segment is mapped: the mapping keeps it alive. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "posix.h"

size_t mproc__os_page_size(void) {
  static size_t page;
  if (page == 0) {
    long p = sysconf(_SC_PAGESIZE);
    page = p > 0 ? (size_t)p : 4096;
  }
  return page;
}

static void path_of(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "/%s", name);
}

static int map(mproc__os_shm *s, int fd, size_t size, const char *name) {
  void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED)
    return mproc__posix_err(errno, "mmap of shared memory \"%s\" (%zu "
                                   "bytes)",
                            name, size);
  s->base = base;
  s->size = size;
  s->handle = -1;
  return 0;
}

int mproc__os_shm_create(mproc__os_shm *s, const char *name, size_t size) {
  char path[64];
  int fd, rc;
  path_of(path, sizeof path, name);
  fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return mproc__posix_err(errno, "shm_open(\"%s\", O_CREAT | O_EXCL)",
                            path);
  if (ftruncate(fd, (off_t)size) != 0) {
    rc = mproc__posix_err(errno, "ftruncate of shared memory \"%s\" to %zu "
                                 "bytes",
                          path, size);
    if (rc == MPROC_EINVAL) rc = MPROC_ERANGE;
    goto fail;
  }
  rc = map(s, fd, size, path);
  if (rc < 0) goto fail;
  mproc__posix_close(fd);
  return 0;
fail:
  mproc__posix_close(fd);
  shm_unlink(path);
  return rc;
}

int mproc__os_shm_open(mproc__os_shm *s, const char *name) {
  char path[64];
  struct stat st;
  int fd, rc;
  path_of(path, sizeof path, name);
  fd = shm_open(path, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return mproc__posix_err(errno, "shm_open(\"%s\")", path);
  if (fstat(fd, &st) != 0) {
    rc = mproc__posix_err(errno, "fstat of shared memory \"%s\"", path);
  } else if (st.st_size <= 0) {
    /* Its creator is between shm_open and ftruncate: not there yet. */
    rc = mproc__err(MPROC_ENOENT, "shared memory \"%s\" is still being "
                                  "created",
                    path);
  } else {
    rc = map(s, fd, (size_t)st.st_size, path);
  }
  mproc__posix_close(fd);
  return rc;
}

void mproc__os_shm_close(mproc__os_shm *s) {
  if (s->base) munmap(s->base, s->size);
  s->base = NULL;
}

int mproc__os_shm_unlink(const char *name) {
  char path[64];
  path_of(path, sizeof path, name);
  if (shm_unlink(path) != 0 && errno != ENOENT)
    return mproc__posix_err(errno, "shm_unlink(\"%s\")", path);
  return 0;
}

/* ---- the program's registry ---------------------------------------------- */

/* Its descriptor, kept (close-on-exec) so that spawn can pass it on. A
 * spawned child adopts its parent's before anything maps it. */
static int registry_fd = -1;

int mproc__posix_registry_fd(void) { return registry_fd; }
void mproc__posix_registry_adopt(int fd) { registry_fd = fd; }

static int map_registry_fd(mproc__os_shm *s, size_t size) {
  struct stat st;
  if (fstat(registry_fd, &st) != 0 || (size_t)st.st_size < size)
    return mproc__err(MPROC_EOS, "the registry descriptor %d is not one",
                      registry_fd);
  return map(s, registry_fd, size, "(registry)");
}

int mproc__os_registry(mproc__os_shm *s, size_t size, int *fresh) {
  char path[64];
  unsigned char r[8];
  int fd, rc;
  *fresh = 0;
  mproc__posix_adopt_early(); /* a spawned child's constructor: the parent's */
  if (registry_fd >= 0) {
    if (map_registry_fd(s, size) == 0) return 0;
    registry_fd = -1; /* not usable: this process makes its own */
  }
  rc = mproc__os_random(r, sizeof r);
  if (rc < 0) return rc;
  snprintf(path, sizeof path, "/mproc-reg-%ld-%02x%02x%02x%02x%02x%02x",
           (long)getpid(), r[0], r[1], r[2], r[3], r[4], r[5]);
  fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return mproc__posix_err(errno, "shm_open(\"%s\")", path);
  shm_unlink(path); /* nameless from now on: it ends with its last user */
  if (ftruncate(fd, (off_t)size) != 0) {
    rc = mproc__posix_err(errno, "ftruncate of the registry");
    mproc__posix_close(fd);
    return rc;
  }
  registry_fd = fd;
  rc = map_registry_fd(s, size);
  if (rc < 0) {
    registry_fd = -1;
    mproc__posix_close(fd);
    return rc;
  }
  *fresh = 1;
  return 0;
}
