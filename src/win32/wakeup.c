/* mproc: the wake-up group on Windows — one manual-reset Event, not
 * inheritable. Manual-reset, so that it stays signalled while set: the
 * readiness check after WaitForMultipleObjects (src/win32/wait.c) and
 * every other waiter see it without consuming it; clear resets it. */
#include <stdlib.h>

#include "win32.h"

struct mproc__os_wakeup {
  HANDLE ev;
};

int mproc__os_wakeup_new(mproc__os_wakeup **out) {
  mproc__os_wakeup *w = malloc(sizeof *w);
  if (w == NULL) return mproc__err(MPROC_ENOMEM, "wakeup_new: out of memory");
  w->ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (w->ev == NULL) {
    int rc = mproc__win_err(GetLastError(), "wakeup_new: CreateEventW");
    free(w);
    return rc;
  }
  *out = w;
  return 0;
}

int mproc__os_wakeup_set(mproc__os_wakeup *w) {
  return SetEvent(w->ev) ? 0 : MPROC_EOS;
}

int mproc__os_wakeup_drain(mproc__os_wakeup *w) {
  int was = WaitForSingleObject(w->ev, 0) == WAIT_OBJECT_0;
  ResetEvent(w->ev);
  return was;
}

mproc_handle mproc__os_wakeup_handle(const mproc__os_wakeup *w) {
  return (mproc_handle)(intptr_t)w->ev;
}

void mproc__os_wakeup_free(mproc__os_wakeup *w) {
  if (w == NULL) return;
  mproc__win_close(w->ev);
  free(w);
}
