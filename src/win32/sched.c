/* mproc: small scheduling calls — yielding, and dying outright for the
 * fault-injection seam. */
#include "win32.h"

void mproc__os_kill_self(void) {
  TerminateProcess(GetCurrentProcess(), MPROC__KILL_CODE);
}

void mproc__os_yield(void) { SwitchToThread(); }

int mproc__os_cpu_online(void) {
  DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  return n > 0 ? (int)n : 1;
}

void mproc__os_atfork_child(void (*fn)(void)) { (void)fn; /* no fork */ }
