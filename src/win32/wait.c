/* mproc: waiting for any of many HANDLEs (mproc_wait_handles).
 *
 * WaitForMultipleObjects takes at most 64 handles. Beyond that the
 * calling thread waits on the first 63 plus a shared manual-reset event,
 * and one helper thread per further chunk of 63 waits on its chunk plus
 * the same event. Whoever sees a handle ready sets the event, which wakes
 * the caller and tells every helper to stop; the caller then waits until
 * each helper has let go of the call, and polls each handle to fill
 * ready[].
 *
 * The helpers are a pool the library keeps (created on first need, never
 * more than the most any moment's waits have needed at once, living until
 * the program ends): a wait takes the helpers it needs off the free list,
 * so concurrent waits from several threads never share one, and gives
 * them back at the end. A call costs two event signals per helper, not a
 * thread start and join. Each helper has three auto/manual-reset events:
 * `go` (auto: a job is posted), `idle` (auto: the job is over, the helper
 * reads nothing of the call any more) and `stop` (manual: the call's
 * shared event, when the helper is the first of its call).
 *
 * The handles must stay signalled once ready — process handles (the
 * sentinels), manual-reset events (wake-ups, pipe ends' readiness) — as
 * in Python's connection.wait(): the poll that fills ready[] would
 * consume an auto-reset event's signal. A handle must not be listed twice
 * (WaitForMultipleObjects refuses it). A NULL or closed handle is
 * MPROC_EINVAL, found by the first poll before anything blocks.
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
  HANDLE go, idle, stop;
  HANDLE hs[MAXIMUM_WAIT_OBJECTS]; /* hs[0]: the call's shared event */
  DWORD n;
  DWORD err;            /* GetLastError() of a failed wait, else 0 */
  struct helper *next;  /* on the free list */
} helper;

static uv_once_t pool_once = UV_ONCE_INIT;
static uv_mutex_t pool_lock;
static helper *pool_free; /* idle helpers */

static void pool_init(void) {
  if (uv_mutex_init(&pool_lock) != 0) abort();
}

static void helper_main(void *arg) {
  helper *w = arg;
  for (;;) {
    DWORD r;
    if (WaitForSingleObject(w->go, INFINITE) != WAIT_OBJECT_0) {
      Sleep(1); /* cannot happen (our own event); never spin */
      continue;
    }
    r = WaitForMultipleObjects(w->n, w->hs, FALSE, INFINITE);
    w->err = r == WAIT_FAILED ? GetLastError() : 0;
    /* Ready, failed or told to stop: setting the event again is harmless. */
    SetEvent(w->hs[0]);
    SetEvent(w->idle); /* last touch of the call's data */
  }
}

static void helper_destroy(helper *w) {
  mproc__win_close(w->go);
  mproc__win_close(w->idle);
  mproc__win_close(w->stop);
  free(w);
}

static int helper_new(helper **out) {
  uv_thread_options_t opts;
  uv_thread_t tid;
  helper *w = calloc(1, sizeof *w);
  if (w == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  w->go = CreateEventW(NULL, FALSE, FALSE, NULL);
  w->idle = CreateEventW(NULL, FALSE, FALSE, NULL);
  w->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (w->go == NULL || w->idle == NULL || w->stop == NULL) {
    int rc = mproc__win_err(GetLastError(), "CreateEventW (wait helper)");
    helper_destroy(w);
    return rc;
  }
  opts.flags = UV_THREAD_HAS_STACK_SIZE;
  opts.stack_size = 64 * 1024; /* it only waits */
  if (uv_thread_create_ex(&tid, &opts, helper_main, w) != 0) {
    helper_destroy(w);
    return mproc__err(MPROC_ENOMEM, "cannot start a thread to wait on more "
                                    "than 64 handles");
  }
  /* Never joined: it lives as long as the program. */
  CloseHandle(tid);
  *out = w;
  return 0;
}

static void helpers_give(helper **hp, size_t k) {
  size_t i;
  uv_mutex_lock(&pool_lock);
  for (i = 0; i < k; i++) {
    hp[i]->next = pool_free;
    pool_free = hp[i];
  }
  uv_mutex_unlock(&pool_lock);
}

/* Take k helpers off the free list, starting the missing ones. */
static int helpers_take(helper **hp, size_t k) {
  size_t i = 0;
  int rc = 0;
  uv_once(&pool_once, pool_init);
  uv_mutex_lock(&pool_lock);
  for (; i < k && pool_free != NULL; i++) {
    hp[i] = pool_free;
    pool_free = pool_free->next;
  }
  uv_mutex_unlock(&pool_lock);
  for (; i < k && rc == 0; i++) {
    rc = helper_new(&hp[i]);
    if (rc < 0) break;
  }
  if (rc < 0) helpers_give(hp, i);
  return rc;
}

/* Post handles [CHUNK, n) to the helpers, hs[0] the shared event. */
static void helpers_post(helper **hp, size_t nhelp, HANDLE done,
                         const mproc_handle *h, size_t n) {
  size_t k, i, at = CHUNK;
  for (k = 0; k < nhelp; k++) {
    helper *w = hp[k];
    w->hs[0] = done;
    w->n = 1;
    w->err = 0;
    for (i = 0; i < CHUNK && at < n; i++) w->hs[w->n++] = (HANDLE)h[at++];
    SetEvent(w->go);
  }
}

/* One round over more than 64 handles; returns the count ready, 0 when a
 * round woke without any ready (spurious), or a negative code. */
static int wait_large_round(helper **hp, size_t nhelp, const mproc_handle *h,
                            size_t n, double deadline, unsigned char *ready) {
  HANDLE mine[MAXIMUM_WAIT_OBJECTS], done = hp[0]->stop;
  size_t i;
  DWORD r, err = 0;
  int rc;

  mine[0] = done;
  for (i = 0; i < CHUNK; i++) mine[i + 1] = (HANDLE)h[i];
  ResetEvent(done);
  helpers_post(hp, nhelp, done, h, n);
  do {
    r = WaitForMultipleObjects(CHUNK + 1, mine, FALSE,
                               mproc__win_wait_ms(deadline));
    if (r == WAIT_FAILED) err = GetLastError();
  } while (r == WAIT_TIMEOUT &&
           (deadline < 0 || mproc__remaining(deadline) > 0));
  SetEvent(done);
  for (i = 0; i < nhelp; i++) {
    WaitForSingleObject(hp[i]->idle, INFINITE);
    if (hp[i]->err && !err) err = hp[i]->err;
  }
  if (err)
    return mproc__win_err(err, "WaitForMultipleObjects on %zu handles", n);
  rc = poll_all(h, n, ready);
  if (rc == 0 && r == WAIT_TIMEOUT) return MPROC_ETIMEDOUT;
  return rc;
}

static int wait_large(const mproc_handle *h, size_t n, double deadline,
                      unsigned char *ready) {
  size_t nhelp = (n - CHUNK + CHUNK - 1) / CHUNK;
  helper *few[8], **hp = nhelp <= 8 ? few : calloc(nhelp, sizeof *hp);
  int rc;

  if (hp == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  rc = helpers_take(hp, nhelp);
  if (rc < 0) goto cleanup;
  do {
    rc = wait_large_round(hp, nhelp, h, n, deadline, ready);
  } while (rc == 0);
  helpers_give(hp, nhelp);
cleanup:
  if (hp != few) free(hp);
  return rc;
}

int mproc__os_wait_handles(const mproc_handle *h, size_t n, double timeout,
                           unsigned char *ready) {
  double deadline = mproc__deadline(timeout);
  int rc;
  size_t i;
  if (n == 0) return sleep_until(deadline);
  for (i = 0; i < n; i++)
    if (h[i] == 0)
      return mproc__err(MPROC_EINVAL, "wait: handle %zu of %zu is NULL", i, n);
  /* Whatever is ready now is reported without waking any helper. */
  rc = poll_all(h, n, ready);
  if (rc != 0) return rc;
  if (timeout == 0) return MPROC_ETIMEDOUT;
  if (n <= MAXIMUM_WAIT_OBJECTS) return wait_small(h, n, deadline, ready);
  return wait_large(h, n, deadline, ready);
}
