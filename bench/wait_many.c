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
 *
 * Medians of several batches. Built on every platform (Windows under Wine
 * included); always exits 0 unless a call fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>
#include <uv.h>

#define N 200
#define HOT 150

static mproc_conn *rd[N], *wr[N], *ctl_r, *ctl_w;

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

static int fail(const char *what, int rc) {
  fprintf(stderr, "wait_many: %s: %s (%s)\n", what, mproc_strerror(rc),
          mproc_last_error());
  return 1;
}

int main(int argc, char **argv) {
  mproc_wait_obj o[N];
  double ping[9], tmo[9];
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  int batches = quick ? 3 : 9, per = quick ? 5 : 50, b, i, rc;
  uv_thread_t t;
  char c;
  size_t len;

  mproc_init(argc, argv);
  for (i = 0; i < N; i++)
    if ((rc = mproc_pipe(0, &rd[i], &wr[i])) != 0) return fail("pipe", rc);
  if ((rc = mproc_pipe(0, &ctl_r, &ctl_w)) != 0) return fail("pipe", rc);
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
  for (i = 0; i < N; i++) {
    mproc_conn_free(rd[i]);
    mproc_conn_free(wr[i]);
  }
  mproc_conn_free(ctl_r);
  mproc_conn_free(ctl_w);
  return 0;
}
