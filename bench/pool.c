/* bench/pool: mproc's Pool against a raw C process pool over shared-memory
 * rings (rawpool.c) and Python's multiprocessing.Pool (pool.py, fork
 * context), in the same run.
 *
 *   map cs1     Pool.map over 20 000 no-op items, chunksize=1, 2 workers
 *               (tasks/s; target >= 5 M/s)
 *   map default Pool.map over 200 000 no-op items, Python's default
 *               chunksize, 2 workers (items/s; target >= 0.5x raw)
 *   round trip  apply_async().get() in turn, the parent and its one
 *               worker pinned to one CPU (us; target <= 1.5x raw)
 *   create      a Pool of 2 workers (fork) made to its first result
 *               (ms; target <= 2x two fork starts plus one round trip)
 *
 * Every pool starts its workers with fork, as Python's peer. A miss
 * prints MISS; the program always exits 0 (machines are noisy).
 *
 *   pool [--quick] [--no-python] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mproc.h>

#include "common.h"
#include "rawpool.h"

static int N1 = 20000, N2 = 200000, RT_N = 20000, ROUNDS = 5, STARTS = 10;
#define WORKERS 2

static int noop(const void *in, size_t len, mproc_buf *out) {
  (void)in, (void)len, (void)out;
  return 0;
}
MPROC_TASK(noop);

static int *items; /* N2 ints: 0, 1, 2, ... */

static mproc_pool *make_pool(int processes) {
  mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
  mproc_pool *p = NULL;
  o.processes = processes;
  o.method = MPROC_START_FORK;
  if (mproc_pool_new(&p, &o) != 0) {
    printf("pool_new: %s\n", mproc_last_error());
    return NULL;
  }
  (void)mproc_pool_apply(p, noop, NULL, 0, NULL, NULL); /* warm */
  return p;
}

static size_t default_chunksize(size_t n) {
  size_t per = (size_t)WORKERS * 4;
  return n / per + (n % per != 0);
}

/* ---- maps: items per second ----------------------------------------------- */

static double mproc_map_rate(mproc_pool *p, int n, size_t chunksize) {
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  double t0, t;
  o.chunksize = chunksize;
  t0 = bench_now_ns();
  if (mproc_pool_map(p, noop, items, (size_t)n, sizeof items[0], NULL, 0,
                     &o) != 0) {
    printf("map: %s\n", mproc_last_error());
    return 0;
  }
  t = bench_now_ns() - t0;
  return n / (t / 1e9);
}

static double raw_map_rate(rawpool *r, int n, size_t chunksize) {
  double t0 = bench_now_ns(), t;
  if (rawpool_map(r, items, (size_t)n, sizeof items[0], chunksize) != 0)
    return 0;
  t = bench_now_ns() - t0;
  return n / (t / 1e9);
}

/* ---- round trips on one CPU ---------------------------------------------------- */

static double mproc_round_trip(void) {
  mproc_pool *p = make_pool(1);
  mproc_async *ar;
  double t0, t;
  int i, bad = 0;
  if (p == NULL) return 0;
  t0 = bench_now_ns();
  for (i = 0; i < RT_N; i++) {
    if (mproc_pool_apply_async(p, noop, &i, sizeof i, NULL, &ar) != 0) {
      bad++;
      continue;
    }
    bad += mproc_async_get(ar, MPROC_FOREVER, NULL, NULL) != 0;
    mproc_async_free(ar);
  }
  t = bench_now_ns() - t0;
  mproc_pool_free(p);
  return bad ? 0 : t / 1e3 / RT_N;
}

/* The executor beneath, for comparison: submit().result() on the same
 * kind of worker set. */
static double executor_round_trip(void) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex;
  o.max_workers = 1;
  o.method = MPROC_START_FORK;
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o) != 0) return 0;
  return bench_submit_result(ex, noop, RT_N);
}

static double raw_round_trip(void) {
  rawpool *r;
  double t0, t;
  int i, bad = 0;
  if (rawpool_new(&r, 1) != 0) return 0;
  (void)rawpool_apply(r, &i, sizeof i);
  t0 = bench_now_ns();
  for (i = 0; i < RT_N; i++) bad += rawpool_apply(r, &i, sizeof i) != 0;
  t = bench_now_ns() - t0;
  rawpool_free(r);
  return bad ? 0 : t / 1e3 / RT_N;
}

/* The round trips in a child pinned to CPU 0 before any pool exists
 * (fork workers inherit the mask): medians into out[0..2] (mproc, raw,
 * the executor). */
static void round_trips(double *out, size_t n, void *arg) {
  double v[3][32];
  int r;
  (void)n, (void)arg;
  for (r = 0; r < ROUNDS && r < 32; r++) {
    v[2][r] = executor_round_trip();
    v[0][r] = mproc_round_trip();
    v[1][r] = raw_round_trip();
  }
  for (n = 0; n < 3; n++) out[n] = bench_stats_of(v[n], (size_t)r).median;
}

/* ---- creation to the first result --------------------------------------------- */

static double mproc_create_ms(void) {
  mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
  mproc_pool *p;
  double t0 = bench_now_ns(), t;
  int rc;
  o.processes = WORKERS;
  o.method = MPROC_START_FORK;
  if (mproc_pool_new(&p, &o) != 0) return 0;
  rc = mproc_pool_apply(p, noop, NULL, 0, NULL, NULL);
  t = bench_now_ns() - t0;
  mproc_pool_free(p);
  return rc == 0 ? t / 1e6 : 0;
}

/* One fork start: fork until the child has run (it writes a byte). */
static double fork_start_ms(void) {
  int fds[2], st;
  char b;
  double t0, t;
  pid_t pid;
  if (pipe(fds) != 0) return 0;
  t0 = bench_now_ns();
  pid = fork();
  if (pid == 0) {
    if (write(fds[1], "x", 1) != 1) _exit(1);
    _exit(0);
  }
  if (pid < 0 || read(fds[0], &b, 1) != 1) b = 0;
  t = bench_now_ns() - t0;
  close(fds[0]);
  close(fds[1]);
  if (pid > 0) waitpid(pid, &st, 0);
  return b == 'x' ? t / 1e6 : 0;
}

static double raw_create_ms(void) {
  rawpool *r;
  double t0 = bench_now_ns(), t;
  int i = 0, rc;
  if (rawpool_new(&r, WORKERS) != 0) return 0;
  rc = rawpool_apply(r, &i, sizeof i);
  t = bench_now_ns() - t0;
  rawpool_free(r);
  return rc == 0 ? t / 1e6 : 0;
}

/* ---- Python -------------------------------------------------------------------- */

static double py_cs1, py_default, py_rt, py_create;

static void parse_python_line(const char *line) {
  char key[64];
  double v;
  if (!bench_result_line(line, key, &v, NULL)) return;
  if (strcmp(key, "map_cs1") == 0) py_cs1 = v;
  if (strcmp(key, "map_default") == 0) py_default = v;
  if (strcmp(key, "round_trip") == 0) py_rt = v;
  if (strcmp(key, "create") == 0) py_create = v;
}

static void run_python(void) {
  char n1[32], n2[32];
  const char *args[] = {"--n1", n1, "--n2", n2, NULL};
  snprintf(n1, sizeof n1, "%d", N1);
  snprintf(n2, sizeof n2, "%d", N2);
  (void)bench_python("pool.py", args, parse_python_line);
}

/* ---- the report ------------------------------------------------------------------ */

typedef struct figures {
  double cs1[2], def[2], rt[3], create[2], fork_ms;
  int pinned;
} figures;

static void measure(figures *f) {
  double v[4][32], c[3][32];
  mproc_pool *p = make_pool(WORKERS);
  rawpool *r = NULL;
  int i;
  memset(f, 0, sizeof *f);
  if (p == NULL || rawpool_new(&r, WORKERS) != 0) return;
  (void)rawpool_apply(r, items, sizeof items[0]);
  for (i = 0; i < ROUNDS; i++) {
    v[0][i] = mproc_map_rate(p, N1, 1);
    v[1][i] = raw_map_rate(r, N1, 1);
    v[2][i] = mproc_map_rate(p, N2, 0);
    v[3][i] = raw_map_rate(r, N2, default_chunksize((size_t)N2));
  }
  mproc_pool_free(p);
  rawpool_free(r);
  f->cs1[0] = bench_stats_of(v[0], (size_t)ROUNDS).median;
  f->cs1[1] = bench_stats_of(v[1], (size_t)ROUNDS).median;
  f->def[0] = bench_stats_of(v[2], (size_t)ROUNDS).median;
  f->def[1] = bench_stats_of(v[3], (size_t)ROUNDS).median;
  for (i = 0; i < STARTS; i++) {
    c[0][i] = mproc_create_ms();
    c[1][i] = raw_create_ms();
    c[2][i] = fork_start_ms();
  }
  f->create[0] = bench_stats_of(c[0], (size_t)STARTS).median;
  f->create[1] = bench_stats_of(c[1], (size_t)STARTS).median;
  f->fork_ms = bench_stats_of(c[2], (size_t)STARTS).median;
  f->pinned = bench_pinned(round_trips, NULL, f->rt, 3);
}

static const char *verdict(int ok) { return ok ? "PASS" : "MISS"; }

static void report(const figures *f) {
  double limit = 2 * (2 * f->fork_ms + f->rt[1] / 1e3);
  printf("\nmap cs1: %d no-op items, chunksize=1, %d workers (median of %d)\n",
         N1, WORKERS, ROUNDS);
  printf("  mproc Pool.map            %8.3f M tasks/s\n", f->cs1[0] / 1e6);
  printf("  raw C pool                %8.3f M tasks/s\n", f->cs1[1] / 1e6);
  if (py_cs1 > 0)
    printf("  Python Pool.map           %8.3f M tasks/s\n", py_cs1 / 1e6);
  printf("map default: %d no-op items, chunksize %zu (Python's default)\n", N2,
         default_chunksize((size_t)N2));
  printf("  mproc Pool.map            %8.2f M items/s\n", f->def[0] / 1e6);
  printf("  raw C pool                %8.2f M items/s\n", f->def[1] / 1e6);
  if (py_default > 0)
    printf("  Python Pool.map           %8.2f M items/s\n", py_default / 1e6);
  printf("round trip: apply_async().get() in turn, 1 worker, %s\n",
         f->pinned ? "one CPU" : "not pinned");
  printf("  mproc Pool                %8.2f us\n", f->rt[0]);
  printf("  raw C pool                %8.2f us\n", f->rt[1]);
  printf("  (mproc executor beneath:  %8.2f us submit().result())\n",
         f->rt[2]);
  if (py_rt > 0) printf("  Python Pool               %8.2f us\n", py_rt);
  printf("create: a pool of %d workers (fork) to its first result (median "
         "of %d)\n", WORKERS, STARTS);
  printf("  mproc Pool                %8.2f ms\n", f->create[0]);
  printf("  raw C pool                %8.2f ms\n", f->create[1]);
  printf("  one fork start            %8.2f ms\n", f->fork_ms);
  if (py_create > 0) printf("  Python Pool               %8.2f ms\n", py_create);

  printf("\ntargets\n");
  printf("  map cs1 >= 5 M tasks/s              %6.2f M  %s\n",
         f->cs1[0] / 1e6, verdict(f->cs1[0] >= 5e6));
  printf("  map default >= 0.5x raw             %6.2fx   %s\n",
         f->def[1] > 0 ? f->def[0] / f->def[1] : 0,
         verdict(f->def[1] > 0 && f->def[0] >= 0.5 * f->def[1]));
  printf("  round trip <= 1.5x raw              %6.2fx   %s\n",
         f->rt[1] > 0 ? f->rt[0] / f->rt[1] : 0,
         verdict(f->rt[0] > 0 && f->rt[0] <= 1.5 * f->rt[1]));
  printf("  create <= 2x (2 forks + 1 trip)     %6.2f ms of %.2f  %s\n",
         f->create[0], limit, verdict(f->create[0] > 0 &&
                                      f->create[0] <= limit));
  if (py_cs1 > 0 && py_rt > 0)
    printf("  (mproc over Python: map cs1 %.0fx, map default %.1fx, round "
           "trip %.0fx, create %.1fx)\n", f->cs1[0] / py_cs1,
           py_default > 0 ? f->def[0] / py_default : 0, py_rt / f->rt[0],
           f->create[0] > 0 ? py_create / f->create[0] : 0);
}

int main(int argc, char **argv) {
  figures f;
  int quick = 0, python = 1, rc, i;
  rc = mproc_init(argc, argv);
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
    } else if (strcmp(argv[i], "--no-python") == 0) {
      python = 0;
    } else {
      printf("usage: %s [--quick] [--no-python]\n", argv[0]);
      return 2;
    }
  }
  if (quick) {
    N1 = 2000;
    N2 = 20000;
    RT_N = 500;
    ROUNDS = 1;
    STARTS = 2;
    python = 0;
  }
  if ((items = malloc((size_t)N2 * sizeof *items)) == NULL) return 1;
  for (i = 0; i < N2; i++) items[i] = i;
  bench_banner("pool: multiprocessing.Pool vs a raw C pool and Python", rc);
  measure(&f);
  if (python)
    run_python();
  else
    printf("python: skipped%s\n", quick ? " (--quick)" : "");
  report(&f);
  free(items);
  return 0;
}
