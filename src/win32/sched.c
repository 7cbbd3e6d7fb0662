/* mproc: small scheduling calls — yielding, and dying outright for the
 * fault-injection seam. */
#include <string.h>

#include "win32.h"

void mproc__os_kill_self(void) {
  TerminateProcess(GetCurrentProcess(), MPROC__KILL_CODE);
}

void mproc__os_yield(void) { SwitchToThread(); }

/* ntdll's RtlDllShutdownInProgress is TRUE while ExitProcess detaches
 * the DLLs — the other threads are gone by then. Looked up, as it is
 * not in the import libraries. */
int mproc__os_exit_threads_gone(void) {
  typedef BOOLEAN(WINAPI * shutdown_fn)(void);
  HMODULE nt = GetModuleHandleW(L"ntdll.dll");
  FARPROC p = nt ? GetProcAddress(nt, "RtlDllShutdownInProgress") : NULL;
  shutdown_fn fn;
  if (p == NULL) return 0;
  memcpy(&fn, &p, sizeof fn);
  return fn() ? 1 : 0;
}

int mproc__os_cpu_online(void) {
  DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  return n > 0 ? (int)n : 1;
}

void mproc__os_atfork_child(void (*fn)(void)) { (void)fn; /* no fork */ }
