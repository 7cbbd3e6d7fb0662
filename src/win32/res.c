/* mproc: a process's resources on Windows — its resident memory (the
 * working set, K32GetProcessMemoryInfo: kernel32 since Windows 7, no
 * psapi.dll needed). A child's CPU affinity is in process.c, beside the
 * process handle it needs. */
#include <string.h>

#include "win32.h"

#include <psapi.h>

int mproc__os_rss(uint64_t *bytes) {
  PROCESS_MEMORY_COUNTERS c;
  *bytes = 0;
  memset(&c, 0, sizeof c);
  c.cb = sizeof c;
  if (!K32GetProcessMemoryInfo(GetCurrentProcess(), &c, sizeof c))
    return mproc__win_err(GetLastError(), "GetProcessMemoryInfo");
  *bytes = (uint64_t)c.WorkingSetSize;
  return 0;
}

int mproc__os_affinity_supported(void) { return 1; }
