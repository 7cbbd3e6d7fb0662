/* mproc: process id, randomness, exit, start methods (POSIX). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
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
