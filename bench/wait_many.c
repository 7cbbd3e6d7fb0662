/* bench/wait_many: the cost of one mproc_conn_wait over 200 connections,
 * the case where Windows needs more than one WaitForMultipleObjects (64
 * handles each), so the call hands chunks to helper threads.
 *
 *   wait_many [--quick]
 *
 * a. ping-pong: a partner thread, told through a control pipe, sends one
 *    byte on connection 150 of 200 while the main thread waits on all
 *    200; microseconds per round (the wait, the partner's wake-up, the
 *    send and the receive).
 * b. timeout: a wait on 200 idle connections with a 1 ms timeout;
 *    microseconds per call (at least the 1 ms).
 * c, d. the same two over mproc_wait_handles on 200 plain OS objects
 *    (manual-reset Events on Windows, pipes on POSIX, made here with the
 *    OS's own calls): no per-connection set-up, so on Windows this is
 *    the helper threads' cost alone (under Wine each connection's
 *    overlapped read dominates rows a and b).
 *
 * Medians of several batches. Built on every platform (Windows under Wine
 * included); always exits 0 unless a call fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>
#include <uv.h>

#ifdef _WIN32
#include <windows.h>
typedef HANDLE raw_t;
static int raw_new(raw_t *r, mproc_handle *h) {
  *r = CreateEventW(NULL, TRUE, FALSE, NULL);
  *h = (mproc_handle)(intptr_t)*r;
  return *r ? 0 : -1;
}
static void raw_set(raw_t r) { SetEvent(r); }
static void raw_reset(raw_t r) { ResetEvent(r); }
#else
#include <unistd.h>
typedef int raw_t[2];
static int raw_new(raw_t *r, mproc_handle *h) {
  if (pipe(*r) != 0) return -1;
  *h = (*r)[0];
  return 0;
}
static void raw_set(raw_t r) { (void)!write(r[1], "x", 1); }
static void raw_reset(raw_t r) {
  char c;
  (void)!read(r[0], &c, 1);
}
#endif

#define N 200
#define HOT 150

static mproc_conn *rd[N], *wr[N], *ctl_r, *ctl_w;
static raw_t raw[N];
static mproc_handle rawh[N];
static uv_sem_t go;
static int stop;

/* Row c's partner: told through a semaphore, sets object HOT. */
static void raw_partner(void *arg) {
  (void)arg;
  for (;;) {
    uv_sem_wait(&go);
    if (stop) return;
    raw_set(raw[HOT]);
  }
}

static double median(double *v, int n);

/* Rows c and d: per-call microseconds into *c and *d. */
static int raw_rows(int batches, int per, double *c, double *d) {
  double pc[9], pd[9];
  unsigned char ready[N];
  uv_thread_t t;
  int b, i, rc;
  for (i = 0; i < N; i++)
    if (raw_new(&raw[i], &rawh[i]) != 0) return -1;
  uv_sem_init(&go, 0);
  uv_thread_create(&t, raw_partner, NULL);
  for (b = 0; b < batches; b++) {
    uint64_t t0 = uv_hrtime();
    for (i = 0; i < per; i++) {
      uv_sem_post(&go);
      rc = mproc_wait_handles(rawh, N, MPROC_FOREVER, ready);
      if (rc != 1 || !ready[HOT]) return -1;
      raw_reset(raw[HOT]);
    }
    pc[b] = (double)(uv_hrtime() - t0) / 1e3 / per;
    t0 = uv_hrtime();
    for (i = 0; i < per; i++)
      if (mproc_wait_handles(rawh, N, 0.001, ready) != MPROC_ETIMEDOUT)
        return -1;
    pd[b] = (double)(uv_hrtime() - t0) / 1e3 / per;
  }
  stop = 1;
  uv_sem_post(&go);
  uv_thread_join(&t);
  *c = median(pc, batches);
  *d = median(pd, batches);
  return 0;
}

static void partner(void *arg) {
  char b;
  size_t len;
  (void)arg;
  while (mproc_conn_recv(ctl_r, &b, 1, &len) == 0) {
    if (mproc_conn_send(wr[HOT], "x", 1) != 0) break;
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return v[n / 2];
}

static int fail(const char *what, int rc) {
  fprintf(stderr, "wait_many: %s: %s (%s)\n", what, mproc_strerror(rc),
          mproc_last_error());
  return 1;
}

int main(int argc, char **argv) {
  mproc_wait_obj o[N];
  double ping[9], tmo[9], rc_c, rc_d;
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  int batches = quick ? 3 : 9, per = quick ? 5 : 50, b, i, rc;
  uv_thread_t t;
  char c;
  size_t len;

  mproc_init(argc, argv);
  for (i = 0; i < N; i++)
    if ((rc = mproc_pipe(MPROC_PIPE_ONE_WAY, &rd[i], &wr[i])) != 0) return fail("pipe", rc);
  if ((rc = mproc_pipe(MPROC_PIPE_ONE_WAY, &ctl_r, &ctl_w)) != 0) return fail("pipe", rc);
  memset(o, 0, sizeof o);
  for (i = 0; i < N; i++) o[i].conn = rd[i];
  uv_thread_create(&t, partner, NULL);
  for (b = 0; b < batches; b++) {
    uint64_t t0 = uv_hrtime();
    for (i = 0; i < per; i++) {
      if ((rc = mproc_conn_send(ctl_w, "g", 1)) != 0) return fail("send", rc);
      rc = mproc_conn_wait(o, N, MPROC_FOREVER);
      if (rc != 1 || !o[HOT].ready) return fail("wait (ping-pong)", rc);
      if ((rc = mproc_conn_recv(rd[HOT], &c, 1, &len)) != 0)
        return fail("recv", rc);
    }
    ping[b] = (double)(uv_hrtime() - t0) / 1e3 / per;
    t0 = uv_hrtime();
    for (i = 0; i < per; i++) {
      rc = mproc_conn_wait(o, N, 0.001);
      if (rc != MPROC_ETIMEDOUT) return fail("wait (timeout)", rc);
    }
    tmo[b] = (double)(uv_hrtime() - t0) / 1e3 / per;
  }
  mproc_conn_close(ctl_w);
  uv_thread_join(&t);
  qsort(ping, (size_t)batches, sizeof *ping, cmp);
  qsort(tmo, (size_t)batches, sizeof *tmo, cmp);
  printf("wait_many: mproc_conn_wait on %d connections, median of %d x %d\n",
         N, batches, per);
  printf("  a. ping-pong (one ready)   %9.1f us per round\n",
         ping[batches / 2]);
  printf("  b. 1 ms timeout (none)     %9.1f us per call\n", tmo[batches / 2]);
  if (raw_rows(batches, per, &rc_c, &rc_d) != 0) return fail("raw rows", 0);
  printf("mproc_wait_handles on %d plain OS objects\n", N);
  printf("  c. ping-pong (one ready)   %9.1f us per round\n", rc_c);
  printf("  d. 1 ms timeout (none)     %9.1f us per call\n", rc_d);
  for (i = 0; i < N; i++) {
    mproc_conn_free(rd[i]);
    mproc_conn_free(wr[i]);
  }
  mproc_conn_free(ctl_r);
  mproc_conn_free(ctl_w);
  return 0;
}
