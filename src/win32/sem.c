/* mproc: named kernel semaphores ("Local\<name><suffix>"), the parking
 * place of src/park-sem.c on Windows (WaitOnAddress works only inside one
 * process). The kernel removes a semaphore with its last handle. */
#include <limits.h>
#include <stdlib.h>

#include "names.h"
#include "win32.h"

struct mproc__os_sem {
  HANDLE h;
};

int mproc__os_sem_open(mproc__os_sem **out, const char *name,
                       const char *suffix, int create) {
  wchar_t wname[64];
  mproc__os_sem *s = malloc(sizeof *s);
  DWORD err;
  if (s == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  mproc__win_object_name(wname, 64, name, suffix);
  s->h = create ? CreateSemaphoreW(NULL, 0, LONG_MAX, wname)
                : OpenSemaphoreW(SEMAPHORE_ALL_ACCESS, FALSE, wname);
  err = GetLastError();
  if (s->h != NULL && create && err == ERROR_ALREADY_EXISTS) {
    CloseHandle(s->h);
    s->h = NULL;
  }
  if (s->h == NULL) {
    int rc = mproc__win_err(err, "%s(\"%s%s\")",
                            create ? "CreateSemaphoreW" : "OpenSemaphoreW",
                            name, suffix);
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void mproc__os_sem_close(mproc__os_sem *s) {
  if (s == NULL) return;
  CloseHandle(s->h);
  free(s);
}

void mproc__os_sem_unlink(const char *name, const char *suffix) {
  (void)name; /* gone with its last handle */
  (void)suffix;
}

int mproc__os_sem_wait(mproc__os_sem *s, double timeout) {
  DWORD r = WaitForSingleObject(s->h, mproc__win_wait_ms(mproc__deadline(timeout)));
  if (r == WAIT_OBJECT_0) return 0;
  if (r == WAIT_TIMEOUT) return MPROC_ETIMEDOUT;
  return mproc__win_err(GetLastError(), "WaitForSingleObject(semaphore)");
}

void mproc__os_sem_post(mproc__os_sem *s, uint32_t n) {
  if (n > 0) ReleaseSemaphore(s->h, n > LONG_MAX ? LONG_MAX : (LONG)n, NULL);
}

mproc_handle mproc__os_sem_pass(const mproc__os_sem *s) {
  return (mproc_handle)(intptr_t)s->h;
}

int mproc__os_sem_adopt(mproc__os_sem **out, mproc_handle h) {
  mproc__os_sem *s = malloc(sizeof *s);
  if (s == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  s->h = (HANDLE)(intptr_t)h;
  *out = s;
  return 0;
}
