/* mproc: the Windows backend's misc group — pid, CPUs, random bytes, exit,
 * start methods — and small helpers the other files share. */
#include <math.h>
#include <stdio.h>

#include "win32.h"

/* bcrypt.h needs the NTSTATUS type from the full windows.h set. */
#include <bcrypt.h>

long mproc__os_getpid(void) { return (long)GetCurrentProcessId(); }

static int popcount64(ULONG_PTR m) {
  int n = 0;
  for (; m; m &= m - 1) n++;
  return n;
}

int mproc__os_cpu_count(void) {
  /* The process affinity mask is what this process may use (Python's
   * os.process_cpu_count()); it covers only the current processor group,
   * so a machine with more than 64 CPUs falls back to the active count. */
  DWORD_PTR proc_mask = 0, sys_mask = 0;
  DWORD all = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  int n = 0;
  if (GetProcessAffinityMask(GetCurrentProcess(), &proc_mask, &sys_mask))
    n = popcount64(proc_mask);
  if (GetActiveProcessorGroupCount() > 1 || n <= 0) n = (int)all;
  return n > 0 ? n : 1;
}

int mproc__os_random(void *buf, size_t n) {
  unsigned char *p = buf;
  while (n > 0) {
    ULONG chunk = n > 0x10000000u ? 0x10000000u : (ULONG)n;
    NTSTATUS st = BCryptGenRandom(NULL, p, chunk,
                                  BCRYPT_USE_SYSTEM_PREFERRED_RNG);
    if (st < 0)
      return mproc__err(MPROC_EOS,
                        "BCryptGenRandom failed: status 0x%08lx",
                        (unsigned long)st);
    p += chunk;
    n -= chunk;
  }
  return 0;
}

void mproc__os_exit(int code) {
  /* The child's _exit: stdio is flushed, but no atexit handler runs — not
   * the program's, and not a DLL's either, which ExitProcess would run at
   * DLL detach (with the risk of deadlocking on a lock another thread held
   * when it was stopped). TerminateProcess on ourselves skips all that;
   * data already written to pipes and files stays written. */
  fflush(NULL);
  TerminateProcess(GetCurrentProcess(), (UINT)code);
  ExitProcess((UINT)code); /* not reached */
}

mproc_start_method mproc__os_default_method(void) {
  return MPROC_START_SPAWN;
}

int mproc__os_method_supported(mproc_start_method m) {
  return m == MPROC_START_SPAWN;
}

DWORD mproc__win_wait_ms(double deadline) {
  double left, ms;
  if (deadline < 0) return INFINITE;
  left = mproc__remaining(deadline);
  ms = ceil(left * 1000.0);
  /* One wait of at most ~24 days; the caller loops until the deadline. */
  if (ms > (double)0x7fffffff) return 0x7fffffff;
  return (DWORD)ms;
}

void mproc__win_close(HANDLE h) {
  if (h != NULL && h != INVALID_HANDLE_VALUE) CloseHandle(h);
}

void mproc__os_server_signals(void) {} /* no SIGPIPE on Windows */

/* Committed at once (the pagefile is charged, the pages are zero-filled
 * on first touch); VirtualAlloc aligns to 64 KiB only, which is all a
 * Windows handle chunk needs: large pages need a privilege we lack. */
void *mproc__os_chunk_new(size_t size) {
  return VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}
