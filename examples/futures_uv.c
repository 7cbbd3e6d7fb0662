/* A map run from a libuv loop: the loop watches the executor's completion
 * handle and prints each result as it completes — no thread of its own
 * waits, and nothing polls on an interval.
 *
 *   h = mproc_executor_completion_handle(ex);     // queueing on from here
 *   mproc_executor_map(ex, square, items, N, sizeof(int), NULL, &m);
 *   // loop: when h is ready, take every completed future:
 *   while (mproc_executor_next_completed(ex, &f) == 0) { ...; free(f); }
 *
 * next_completed clears the handle when it finds the queue empty, so a
 * completion that comes after makes it ready again: none is lost.
 * POSIX: uv_poll on the descriptor. Windows: libuv polls only sockets, so
 * a system wait thread (RegisterWaitForSingleObject) forwards the Event to
 * a uv_async_t, re-armed each round (as examples/wakeup_uv.c). */
#include <stdio.h>

#include <mproc.h>
#include <uv.h>

#define N 10

static mproc_executor *ex;
static int done_count;

static int square(const void *in, size_t len, mproc_buf *out) {
  int x = *(const int *)in;
  (void)len;
  x *= x;
  return mproc_buf_write(out, &x, sizeof x);
}

/* Take what has completed; 1 once all N are in. */
static int collect(void) {
  mproc_future *f;
  const void *p;
  size_t n;
  while (mproc_executor_next_completed(ex, &f) == 0) {
    if (mproc_future_result(f, 0, &p, &n) == 0)
      printf("item %lu -> %d\n", (unsigned long)mproc_future_item(f),
             *(const int *)p);
    else
      printf("item %lu failed: %s\n", (unsigned long)mproc_future_item(f),
             mproc_last_error());
    mproc_future_free(f);
    done_count++;
  }
  return done_count == N;
}

#ifdef _WIN32
#include <windows.h>

static uv_async_t async;
static HANDLE reg;

static void CALLBACK on_event(void *arg, BOOLEAN timed_out) {
  (void)arg, (void)timed_out;
  uv_async_send(&async);
}

static void arm(void) {
  RegisterWaitForSingleObject(&reg, (HANDLE)mproc_executor_completion_handle(ex),
                              on_event, NULL, INFINITE, WT_EXECUTEONLYONCE);
}

static void on_async(uv_async_t *a) {
  UnregisterWait(reg);
  if (collect())
    uv_close((uv_handle_t *)a, NULL);
  else
    arm();
}

static int watch(uv_loop_t *loop) {
  if (uv_async_init(loop, &async, on_async) != 0) return -1;
  arm();
  return 0;
}
#else
static uv_poll_t poll_h;

static void on_readable(uv_poll_t *p, int status, int events) {
  (void)status, (void)events;
  if (collect()) {
    uv_poll_stop(p);
    uv_close((uv_handle_t *)p, NULL);
  }
}

static int watch(uv_loop_t *loop) {
  mproc_handle h = mproc_executor_completion_handle(ex);
  if (h == MPROC_NO_HANDLE || uv_poll_init(loop, &poll_h, (int)h) != 0)
    return -1;
  return uv_poll_start(&poll_h, UV_READABLE, on_readable);
}
#endif

int main(int argc, char **argv) {
  uv_loop_t loop;
  mproc_map *m;
  int items[N], i;
  mproc_init(argc, argv);
  for (i = 0; i < N; i++) items[i] = i;
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, NULL) != 0 ||
      uv_loop_init(&loop) != 0 || watch(&loop) != 0 ||
      mproc_executor_map(ex, square, items, N, sizeof(int), NULL,
                         &m) != 0) {
    fprintf(stderr, "set-up failed: %s\n", mproc_last_error());
    return 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT); /* returns once the watcher is closed */
  printf("all %d results, loop done\n", done_count);
  mproc_map_free(m);
  mproc_executor_free(ex);
  uv_loop_close(&loop);
  return 0;
}
