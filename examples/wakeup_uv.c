/* A libuv loop woken by a worker thread through an mproc wake-up object —
 * the shape a pool's or an executor's completion handle takes in an event
 * loop: the worker pushes results and signals; the loop clears, then
 * takes everything queued (clear first: a signal that comes meanwhile is
 * then seen by the next round, never lost).
 *
 * POSIX: uv_poll on the wake-up's descriptor (readable while set).
 * Windows: libuv polls only sockets there, so a system wait thread
 * (RegisterWaitForSingleObject, one shot) forwards the Event to a
 * uv_async_t, re-armed after each clear. */
#include <stdio.h>

#include <mproc.h>
#include <uv.h>

#define RESULTS 5

static mproc_wakeup *wake;
static uv_mutex_t lock;
static int queue[RESULTS], queued, taken;

static void worker(void *arg) {
  int i;
  (void)arg;
  for (i = 0; i < RESULTS; i++) {
    uv_mutex_lock(&lock);
    queue[queued++] = i * i;
    uv_mutex_unlock(&lock);
    mproc_wakeup_signal(wake); /* several may coalesce into one wake-up */
  }
}

/* Clear, then take what is queued; 1 once all results are in. */
static int collect(void) {
  mproc_wakeup_clear(wake);
  uv_mutex_lock(&lock);
  while (taken < queued) printf("result %d\n", queue[taken++]);
  uv_mutex_unlock(&lock);
  return taken == RESULTS;
}

#ifdef _WIN32
#include <windows.h>

static uv_async_t async;
static HANDLE reg;

static void CALLBACK on_event(void *arg, BOOLEAN timed_out) {
  (void)arg, (void)timed_out;
  uv_async_send(&async); /* from the system's wait thread: allowed */
}

static void arm(void) {
  RegisterWaitForSingleObject(&reg, (HANDLE)mproc_wakeup_handle(wake),
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
  if (uv_poll_init(loop, &poll_h, (int)mproc_wakeup_handle(wake)) != 0)
    return -1;
  return uv_poll_start(&poll_h, UV_READABLE, on_readable);
}
#endif

int main(int argc, char **argv) {
  uv_loop_t loop;
  uv_thread_t t;
  mproc_init(argc, argv);
  if (mproc_wakeup_new(&wake) != 0 || uv_mutex_init(&lock) != 0 ||
      uv_loop_init(&loop) != 0 || watch(&loop) != 0) {
    fprintf(stderr, "set-up failed: %s\n", mproc_last_error());
    return 1;
  }
  uv_thread_create(&t, worker, NULL);
  uv_run(&loop, UV_RUN_DEFAULT); /* returns once the watcher is closed */
  uv_thread_join(&t);
  printf("all %d results, loop done\n", taken);
  uv_loop_close(&loop);
  uv_mutex_destroy(&lock);
  mproc_wakeup_free(wake);
  return 0;
}
