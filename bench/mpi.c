/* bench/mpi: the MPI kind of executor beside a raw MPI ping-pong (the
 * floor: one round trip between two ranks) and mpi4py.futures (the peer:
 * Debian's python3-mpi4py, linked to Open MPI), in one run.
 *
 *   mpiexec -n 3 bin/mpi [--quick] [--no-python]
 *   (Open MPI as root, more ranks than cores: OMPI_ALLOW_RUN_AS_ROOT=1
 *    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1, --oversubscribe)
 *
 * The program initializes MPI itself, so mproc_init leaves the ranks
 * alone: ranks 0 and 1 ping-pong first, then every rank joins
 * mproc_mpi_comm_executor over MPI_COMM_WORLD (the static mode's code
 * path: ranks 1.. serve inside it). Rows:
 *   raw ping-pong      8 bytes there and back, rank 0 <-> 1 (us)
 *   submit().result()  one task at a time, each awaited (us per round):
 *                      target <= 10 us and <= 3x the raw round trip
 *   map chunksize=1    N trivial tasks (tasks/s): >= 20x mpi4py's
 *   map chunksize=1000 (tasks/s): >= mpi4py's
 *   idle worker CPU    a worker rank's CPU use over 1 s with nothing to
 *                      do (%): <= 5 (idle ranks back off, not spin)
 * After MPI_Finalize rank 0 runs the peer, `mpiexec.openmpi -n <same>
 * python3 -m mpi4py.futures bench/mpi.py`, with this job's launcher
 * variables removed from its environment. Exits 0 whatever the numbers
 * (a noisy machine must not fail CI). */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mproc.h>
#include <mproc/mpi.h>

#include "common.h"

extern char **environ;

static int inc(const void *in, size_t len, mproc_buf *out) {
  int64_t x = 0;
  if (len == sizeof x) memcpy(&x, in, sizeof x);
  x++;
  return mproc_buf_write(out, &x, sizeof x);
}
MPROC_TASK(inc);

/* The worker's pid, after a short nap so that every rank gets some. */
static int whoami(const void *in, size_t len, mproc_buf *out) {
  int64_t pid = (int64_t)getpid();
  struct timespec ts = {0, 2000000};
  (void)in;
  (void)len;
  nanosleep(&ts, NULL);
  return mproc_buf_write(out, &pid, sizeof pid);
}
MPROC_TASK(whoami);

typedef struct row {
  double raw_us, seq_us, c1, c1000, idle_pct;
  double py_seq, py_c1, py_c1000; /* 0: not measured */
} row;

static double raw_pingpong(int rank, int n) {
  char b[8] = {0};
  double t0 = 0;
  int i;
  for (i = -200; i < n; i++) {
    if (i == 0) t0 = bench_now_ns();
    if (rank == 0) {
      MPI_Send(b, 8, MPI_BYTE, 1, 7, MPI_COMM_WORLD);
      MPI_Recv(b, 8, MPI_BYTE, 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
      MPI_Recv(b, 8, MPI_BYTE, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      MPI_Send(b, 8, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
    }
  }
  return (bench_now_ns() - t0) / n / 1e3;
}

static double sequential(mproc_executor *ex, int n) {
  double t0 = 0;
  int64_t x;
  int i;
  for (i = -200; i < n; i++) {
    mproc_future *f;
    if (i == 0) t0 = bench_now_ns();
    x = i;
    if (mproc_executor_submit(ex, inc, &x, sizeof x, &f) != 0 ||
        mproc_future_result(f, 60, NULL, NULL) != 0) {
      printf("submit: %s\n", mproc_last_error());
      return -1;
    }
    mproc_future_free(f);
  }
  return (bench_now_ns() - t0) / n / 1e3;
}

static double map_rate(mproc_executor *ex, size_t n, size_t chunk) {
  int64_t *items = malloc(n * sizeof *items);
  mproc_map_opts mo = MPROC_MAP_OPTS_INIT;
  mproc_map *m;
  const void *d;
  size_t i, len;
  double t0;
  int rc;
  if (items == NULL) return -1;
  for (i = 0; i < n; i++) items[i] = (int64_t)i;
  mo.chunksize = chunk;
  t0 = bench_now_ns();
  if (mproc_executor_map(ex, inc, items, n, sizeof *items, &mo, &m) != 0) {
    printf("map: %s\n", mproc_last_error());
    free(items);
    return -1;
  }
  for (i = 0; (rc = mproc_map_next(m, &d, &len)) == 0; i++) {
  }
  t0 = bench_now_ns() - t0;
  if (rc != MPROC_EEOF || i != n) printf("map: %s\n", mproc_last_error());
  mproc_map_free(m);
  free(items);
  return (double)n / (t0 / 1e9);
}

/* utime + stime of a process in clock ticks (Linux /proc), or -1. */
static double cpu_ticks(long pid) {
  char path[64], buf[1024], *p;
  unsigned long ut = 0, st = 0;
  FILE *f;
  size_t n;
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  if ((f = fopen(path, "r")) == NULL) return -1;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  if ((p = strrchr(buf, ')')) == NULL) return -1;
  /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt
   * majflt cmajflt utime stime */
  if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
             &ut, &st) != 2)
    return -1;
  return (double)(ut + st);
}

/* The busiest idle worker's CPU share over one second (%), or -1. */
static double idle_cpu(mproc_executor *ex) {
  long pids[64];
  double before[64], worst = 0;
  int np = 0, i, j;
  mproc_map *m;
  const void *d;
  size_t len;
  char dummy[64 * 8] = {0};
  struct timespec ts = {1, 0};
  if (mproc_executor_map(ex, whoami, dummy, 64, 8, NULL, &m) != 0) return -1;
  while (mproc_map_next(m, &d, &len) == 0) {
    int64_t pid;
    memcpy(&pid, d, sizeof pid);
    for (j = 0; j < np && pids[j] != (long)pid; j++) {
    }
    if (j == np && np < 64) pids[np++] = (long)pid;
  }
  mproc_map_free(m);
  for (i = 0; i < np; i++) before[i] = cpu_ticks(pids[i]);
  nanosleep(&ts, NULL);
  for (i = 0; i < np; i++) {
    double t = cpu_ticks(pids[i]);
    if (t < 0 || before[i] < 0) return -1; /* another node: not seen */
    t = (t - before[i]) * 100.0 / (double)sysconf(_SC_CLK_TCK);
    if (t > worst) worst = t;
  }
  return np ? worst : -1;
}

/* ---- the peer ----------------------------------------------------------------- */

static int launcher_var(const char *kv) {
  static const char *const pre[] = {"OMPI_", "PMIX_", "PMI_", "HYDRA_",
                                    "HYDI_", "MPIR_", "OPAL_", "MPICH_"};
  size_t i;
  if (strncmp(kv, "OMPI_ALLOW_RUN_AS_ROOT", 22) == 0 ||
      strncmp(kv, "OMPI_MCA_rmaps_base_oversubscribe", 33) == 0)
    return 0;
  for (i = 0; i < sizeof pre / sizeof pre[0]; i++)
    if (strncmp(kv, pre[i], strlen(pre[i])) == 0) return 1;
  return 0;
}

/* This job's launcher variables would make the peer's mpiexec think it
 * runs inside this job: drop them (after MPI_Finalize). */
static void clean_env(void) {
  int again = 1;
  while (again) {
    char **e;
    again = 0;
    for (e = environ; *e != NULL; e++)
      if (launcher_var(*e)) {
        char name[256];
        size_t n = strcspn(*e, "=");
        if (n >= sizeof name) continue;
        memcpy(name, *e, n);
        name[n] = '\0';
        unsetenv(name);
        again = 1;
        break;
      }
  }
}

static void run_peer(row *r, int ranks, int quick) {
  char cmd[1024], line[512];
  const char *py = getenv("MPROC_BENCH_PYTHON");
  FILE *f;
  clean_env();
  snprintf(cmd, sizeof cmd, "mpiexec.openmpi --oversubscribe -n %d %s -m "
           "mpi4py.futures %s/mpi.py %s 2>&1", ranks,
           py ? py : "/usr/bin/python3", MPROC_BENCH_DIR,
           quick ? "--seq-n 200 --c1-n 2000 --c1000-n 100000" : "");
  fflush(stdout);
  if ((f = popen(cmd, "r")) == NULL) {
    printf("mpi4py: not available (popen failed)\n");
    return;
  }
  while (fgets(line, sizeof line, f) != NULL) {
    double v = 0;
    if (sscanf(line, "RESULT sequential value=%lf", &v) == 1) r->py_seq = v;
    else if (sscanf(line, "RESULT map_c1 value=%lf", &v) == 1) r->py_c1 = v;
    else if (sscanf(line, "RESULT map_c1000 value=%lf", &v) == 1)
      r->py_c1000 = v;
    else printf("mpi4py: %s", line);
  }
  if (pclose(f) != 0) printf("mpi4py: the peer run failed (see above)\n");
}

/* ---- the table ------------------------------------------------------------------ */

static const char *verdict(int ok, int known) {
  return !known ? "n/a" : ok ? "PASS" : "MISS";
}

static void table(const row *r) {
  /* Without the peer, the numbers measured here in November 2026
   * (PLATFORMS.md) stand in, marked "(doc)". */
  double py_c1 = r->py_c1 > 0 ? r->py_c1 : 3500;
  double py_c1000 = r->py_c1000 > 0 ? r->py_c1000 : 1.6e6;
  const char *src = r->py_c1 > 0 ? "" : " (doc)";
  printf("\n%-22s %14s %18s %-22s %s\n", "row", "mproc", "peer", "target",
         "verdict");
  printf("%-22s %11.2f us %18s %-22s %s\n", "raw MPI ping-pong", r->raw_us,
         "-", "(the floor)", "-");
  printf("%-22s %11.2f us %12.1f us%s %-22s %s\n", "submit().result()",
         r->seq_us, r->py_seq, r->py_seq > 0 ? "" : "?",
         "<= 10 us, <= 3x raw",
         verdict(r->seq_us > 0 && r->seq_us <= 10 && r->seq_us <= 3 * r->raw_us,
                 r->seq_us > 0));
  printf("%-22s %9.0f /s %13.0f /s%s %-22s %s\n", "map chunksize=1", r->c1,
         py_c1, src, ">= 20x mpi4py", verdict(r->c1 >= 20 * py_c1, r->c1 > 0));
  printf("%-22s %9.0f /s %13.0f /s%s %-22s %s\n", "map chunksize=1000",
         r->c1000, py_c1000, src, ">= mpi4py",
         verdict(r->c1000 >= py_c1000, r->c1000 > 0));
  printf("%-22s %12.1f %% %18s %-22s %s\n", "idle worker CPU", r->idle_pct,
         "-", "<= 5 %", verdict(r->idle_pct <= 5, r->idle_pct >= 0));
}

int main(int argc, char **argv) {
  mproc_executor *ex = NULL;
  row r;
  int quick = 0, python = 1, seq_only = 0, provided = 0, rank = 0, size = 0;
  int i, rc;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) quick = 1;
    else if (strcmp(argv[i], "--no-python") == 0) python = 0;
    else if (strcmp(argv[i], "--seq-only") == 0) seq_only = 1, python = 0;
  }
  memset(&r, 0, sizeof r);
  /* MPI first: mproc_init then leaves the ranks to this program. */
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  rc = mproc_init(argc, argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size < 2) {
    if (rank == 0) printf("bench/mpi: run it under mpiexec -n 3 (or more)\n");
    MPI_Finalize();
    return 0;
  }
  if (rank == 0) {
    char what[128];
    snprintf(what, sizeof what, "mpi: the MPI executor on %d ranks", size);
    bench_banner(what, rc);
  }
  if (rank < 2) r.raw_us = raw_pingpong(rank, quick ? 500 : 20000);
  if (mproc_mpi_comm_executor(&ex, MPI_COMM_WORLD, 0, NULL) != 0)
    printf("rank %d: mpi_comm_executor: %s\n", rank, mproc_last_error());
  if (ex != NULL) {
    r.seq_us = sequential(ex, quick ? 500 : 20000);
    if (!seq_only) r.c1 = map_rate(ex, quick ? 5000 : 1000000, 1);
    if (!seq_only) r.c1000 = map_rate(ex, quick ? 50000 : 1000000, 1000);
    if (!seq_only) r.idle_pct = idle_cpu(ex);
    mproc_executor_free(ex);
  }
  MPI_Finalize();
  if (rank != 0) return 0;
  if (python && !quick) run_peer(&r, size, quick);
  else printf("mpi4py: skipped%s\n", quick ? " (--quick)" : "");
  table(&r);
  return 0;
}
