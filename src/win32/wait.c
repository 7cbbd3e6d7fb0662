/* mproc: waiting for any of many HANDLEs (mproc_wait_handles).
 *
 * WaitForMultipleObjects takes at most 64 handles. Beyond that the
 * calling thread waits on the first 63 plus a shared manual-reset event,
 * and one helper thread per further chunk of 63 waits on its chunk plus
 * the same event. Whoever sees a handle ready sets the event, which wakes
 * the caller and tells every helper to stop; the caller then joins the
 * helpers and polls each handle to fill ready[].
 *
 * The handles must stay signalled once ready — process handles (the
 * sentinels), manual-reset events — as in Python's connection.wait():
 * the poll that fills ready[] would consume an auto-reset event's signal.
 * A handle must not be listed twice (WaitForMultipleObjects refuses it).
 */
#include <stdlib.h>

#include <uv.h>

#include "win32.h"

#define CHUNK (MAXIMUM_WAIT_OBJECTS - 1) /* one slot for the shared event */

/* Set ready[] from a zero-timeout wait on each handle; returns how many
 * are ready or a negative code if one is not a valid waitable handle. */
static int poll_all(const mproc_handle *h, size_t n, unsigned char *ready) {
  size_t i;
  int count = 0;
  for (i = 0; i < n; i++) {
    DWORD r = WaitForSingleObject((HANDLE)h[i], 0);
    ready[i] = 0;
    if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED) {
      ready[i] = 1;
      count++;
    } else if (r == WAIT_FAILED) {
      return mproc__win_err(GetLastError(),
                            "WaitForSingleObject on handle %zu of %zu", i, n);
    }
  }
  return count;
}

static int sleep_until(double deadline) {
  if (deadline < 0) {
    for (;;) Sleep(INFINITE);
  }
  while (mproc__remaining(deadline) > 0) Sleep(mproc__win_wait_ms(deadline));
  return MPROC_ETIMEDOUT;
}

/* Up to 64 handles: one WaitForMultipleObjects, repeated while a capped
 * wait (longer than ~24 days) has time left. */
static int wait_small(const mproc_handle *h, size_t n, double deadline,
                      unsigned char *ready) {
  HANDLE hs[MAXIMUM_WAIT_OBJECTS];
  size_t i;
  for (i = 0; i < n; i++) hs[i] = (HANDLE)h[i];
  for (;;) {
    DWORD r = WaitForMultipleObjects((DWORD)n, hs, FALSE,
                                     mproc__win_wait_ms(deadline));
    if (r == WAIT_FAILED)
      return mproc__win_err(GetLastError(),
                            "WaitForMultipleObjects on %zu handles", n);
    if (r != WAIT_TIMEOUT) {
      int count = poll_all(h, n, ready);
      if (count != 0) return count;
    } else if (deadline >= 0 && mproc__remaining(deadline) <= 0) {
      return MPROC_ETIMEDOUT;
    }
  }
}

typedef struct helper {
  HANDLE hs[MAXIMUM_WAIT_OBJECTS]; /* hs[0]: the shared event */
  DWORD n;
  DWORD err; /* GetLastError() of a failed wait, else 0 */
  uv_thread_t tid;
} helper;

static void helper_main(void *arg) {
  helper *w = arg;
  DWORD r = WaitForMultipleObjects(w->n, w->hs, FALSE, INFINITE);
  if (r == WAIT_FAILED) w->err = GetLastError();
  /* Ready, failed or told to stop: setting the event again is harmless. */
  SetEvent(w->hs[0]);
}

/* Start helpers for handles [CHUNK, n); returns how many started. */
static size_t start_helpers(helper *hp, size_t nhelp, HANDLE done,
                            const mproc_handle *h, size_t n) {
  uv_thread_options_t opts;
  size_t k, i, at = CHUNK;
  opts.flags = UV_THREAD_HAS_STACK_SIZE;
  opts.stack_size = 64 * 1024; /* it only waits */
  for (k = 0; k < nhelp; k++) {
    helper *w = &hp[k];
    w->hs[0] = done;
    w->n = 1;
    w->err = 0;
    for (i = 0; i < CHUNK && at < n; i++) w->hs[w->n++] = (HANDLE)h[at++];
    if (uv_thread_create_ex(&w->tid, &opts, helper_main, w) != 0) break;
  }
  return k;
}

/* One round over more than 64 handles; returns the count ready, 0 when a
 * round woke without any ready (spurious), or a negative code. */
static int wait_large_round(helper *hp, size_t nhelp, HANDLE done,
                            const mproc_handle *h, size_t n, double deadline,
                            unsigned char *ready) {
  HANDLE mine[MAXIMUM_WAIT_OBJECTS];
  size_t i, started;
  DWORD r = WAIT_TIMEOUT, err = 0;
  int rc;

  mine[0] = done;
  for (i = 0; i < CHUNK; i++) mine[i + 1] = (HANDLE)h[i];
  ResetEvent(done);
  started = start_helpers(hp, nhelp, done, h, n);
  if (started == nhelp) {
    do {
      r = WaitForMultipleObjects(CHUNK + 1, mine, FALSE,
                                 mproc__win_wait_ms(deadline));
      if (r == WAIT_FAILED) err = GetLastError();
    } while (r == WAIT_TIMEOUT &&
             (deadline < 0 || mproc__remaining(deadline) > 0));
  }
  SetEvent(done);
  for (i = 0; i < started; i++) {
    uv_thread_join(&hp[i].tid);
    if (hp[i].err && !err) err = hp[i].err;
  }
  if (started < nhelp)
    return mproc__err(MPROC_ENOMEM, "cannot start a thread to wait on "
                                    "%zu handles",
                      n);
  if (err)
    return mproc__win_err(err, "WaitForMultipleObjects on %zu handles", n);
  rc = poll_all(h, n, ready);
  if (rc == 0 && r == WAIT_TIMEOUT) return MPROC_ETIMEDOUT;
  return rc;
}

static int wait_large(const mproc_handle *h, size_t n, double deadline,
                      unsigned char *ready) {
  size_t nhelp = (n - CHUNK + CHUNK - 1) / CHUNK;
  helper *hp = calloc(nhelp, sizeof *hp);
  HANDLE done = NULL;
  int rc;

  if (hp == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  done = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (done == NULL) {
    rc = mproc__win_err(GetLastError(), "CreateEventW");
    goto cleanup;
  }
  do {
    rc = wait_large_round(hp, nhelp, done, h, n, deadline, ready);
  } while (rc == 0);
cleanup:
  mproc__win_close(done);
  free(hp);
  return rc;
}

int mproc__os_wait_handles(const mproc_handle *h, size_t n, double timeout,
                           unsigned char *ready) {
  double deadline = mproc__deadline(timeout);
  int rc;
  if (n == 0) return sleep_until(deadline);
  /* Whatever is ready now is reported without starting threads. */
  rc = poll_all(h, n, ready);
  if (rc != 0) return rc;
  if (timeout == 0) return MPROC_ETIMEDOUT;
  if (n <= MAXIMUM_WAIT_OBJECTS) return wait_small(h, n, deadline, ready);
  return wait_large(h, n, deadline, ready);
}
