/* mproc: dying outright, for the fault-injection seam. */
#include "win32.h"

void mproc__os_kill_self(void) {
  TerminateProcess(GetCurrentProcess(), MPROC__KILL_CODE);
}
