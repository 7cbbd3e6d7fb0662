/* mproc: process id, randomness, exit, start methods (POSIX). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "posix.h"

long mproc__os_getpid(void) { return (long)getpid(); }

int mproc__os_random(void *buf, size_t n) {
  /* getentropy: glibc >= 2.25 and macOS; at most 256 bytes a call. */
  unsigned char *p = buf;
  while (n > 0) {
    size_t chunk = n > 256 ? 256 : n;
    if (getentropy(p, chunk) != 0)
      return mproc__posix_err(errno, "getentropy");
    p += chunk;
    n -= chunk;
  }
  return 0;
}

void mproc__os_exit(int code) {
  fflush(NULL);
  _exit(code);
}

int mproc__os_method_supported(mproc_start_method m) {
  return m == MPROC_START_FORK || m == MPROC_START_FORKSERVER ||
         m == MPROC_START_SPAWN;
}

void mproc__posix_default_signals(void) {
  int sig;
  /* 1..31: the classic signals, where programs install handlers (and
   * test frameworks catch SIGSEGV). */
  for (sig = 1; sig < 32; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
}

void mproc__os_server_signals(void) {
  /* libuv writes sockets with write(), which raises SIGPIPE when the peer
   * is gone; the write's error is what a server wants instead. */
  (void)signal(SIGPIPE, SIG_IGN);
}

/* Map twice the size and keep the aligned middle: huge pages need their
 * alignment. */
void *mproc__os_chunk_new(size_t size) {
  char *m = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uintptr_t a, end;
  if (m == MAP_FAILED) return NULL;
  a = ((uintptr_t)m + size - 1) & ~(uintptr_t)(size - 1);
  end = (uintptr_t)m + 2 * size;
  if (a > (uintptr_t)m) munmap(m, a - (uintptr_t)m);
  if (end > a + size) munmap((void *)(a + size), end - (a + size));
  mproc__posix_hugepages((void *)a, size);
  return (void *)a;
}
