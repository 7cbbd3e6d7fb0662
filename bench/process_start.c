/* bench/process_start: start+join latency of each start method, measured in
 * one run beside its peers, with the ratios printed.
 *
 *   process_start [iterations] [--quick] [--no-python]
 *
 * Measured here, interleaved in rounds so that a noisy neighbour slows all
 * of them alike:
 *   mproc fork, forkserver, spawn  new + start + join + free of a process
 *                                  whose target (registered) returns 0;
 *   raw fork                       fork(), _exit(0) in the child, waitpid;
 *   raw posix_spawn                posix_spawn of this same binary with
 *                                  RAW_CHILD_FLAG (main exits before
 *                                  mproc_init), waitpid.
 * Then Python's multiprocessing runs bench/process_start.py, which prints
 * "RESULT ..." lines parsed here. The table compares medians against the
 * targets; a miss prints MISS, never a failing exit code (benchmarks do
 * not fail CI: shared machines are noisy). */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mproc.h>

#include "common.h"


#define RAW_CHILD_FLAG "--raw-child"
#define DEFAULT_N 2000       /* fork and forkserver */
#define DEFAULT_SPAWN_N 300  /* spawn: an exec is ~10x dearer */
#define ROUNDS 10

extern char **environ;

static int noop(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  return 0;
}
MPROC_TASK(noop);

/* ---- what is measured ---------------------------------------------------- */

enum { K_FORK, K_FORKSERVER, K_SPAWN, K_RAW_FORK, K_RAW_SPAWN, K_COUNT };

typedef struct series {
  const char *label;
  size_t n, got; /* iterations to record, recorded */
  double *us;    /* one sample per iteration, microseconds */
  char error[300];
} series;

static series S[K_COUNT] = {
    {"mproc fork", 0, 0, NULL, ""},
    {"mproc forkserver", 0, 0, NULL, ""},
    {"mproc spawn", 0, 0, NULL, ""},
    {"raw fork+_exit+waitpid", 0, 0, NULL, ""},
    {"raw posix_spawn+waitpid", 0, 0, NULL, ""},
};

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int reap(pid_t pid, char *err, size_t size) {
  int status = 0;
  while (waitpid(pid, &status, 0) != pid) {
    if (errno == EINTR) continue;
    snprintf(err, size, "waitpid: %s", strerror(errno));
    return -1;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    snprintf(err, size, "child wait status 0x%x", (unsigned)status);
    return -1;
  }
  return 0;
}

static int mproc_once(mproc_start_method m, char *err, size_t size) {
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_process *p = NULL;
  int rc, code = -1;
  o.method = m;
  rc = mproc_process_new(&p, noop, NULL, 0, &o);
  if (rc == 0) rc = mproc_process_start(p);
  if (rc == 0) rc = mproc_process_join(p, MPROC_FOREVER);
  if (rc == 0) rc = mproc_process_exitcode(p, &code);
  if (rc < 0)
    snprintf(err, size, "%s: %s", mproc_err_name(rc), mproc_last_error());
  else if (code != 0)
    snprintf(err, size, "child exit code %d", code);
  mproc_process_free(p);
  return rc < 0 || code != 0 ? -1 : 0;
}

static int raw_fork_once(char *err, size_t size) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  if (pid < 0) {
    snprintf(err, size, "fork: %s", strerror(errno));
    return -1;
  }
  return reap(pid, err, size);
}

/* The program to re-execute: the running image itself, as mproc's spawn
 * does on Linux; argv[0] where there is no /proc (set in main). */
static char self_exe[4096] = "/proc/self/exe";

static int raw_spawn_once(char *err, size_t size) {
  static char flag[] = RAW_CHILD_FLAG;
  char *argv[] = {self_exe, flag, NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, self_exe, NULL, NULL, argv, environ);
  if (rc != 0) {
    snprintf(err, size, "posix_spawn: %s", strerror(rc));
    return -1;
  }
  return reap(pid, err, size);
}

static int run_once(int kind, char *err, size_t size) {
  switch (kind) {
  case K_FORK: return mproc_once(MPROC_START_FORK, err, size);
  case K_FORKSERVER: return mproc_once(MPROC_START_FORKSERVER, err, size);
  case K_SPAWN: return mproc_once(MPROC_START_SPAWN, err, size);
  case K_RAW_FORK: return raw_fork_once(err, size);
  default: return raw_spawn_once(err, size);
  }
}

/* Run `count` iterations of one kind; record them unless warming up. */
static void run_batch(int kind, size_t count, int record) {
  series *s = &S[kind];
  size_t i;
  for (i = 0; i < count && s->error[0] == '\0'; i++) {
    double t0 = now_us(), t1;
    if (run_once(kind, s->error, sizeof s->error) < 0) return;
    t1 = now_us();
    if (record && s->got < s->n) s->us[s->got++] = t1 - t0;
  }
}

static void measure_all(int rounds, size_t warm_cap) {
  int k, r;
  for (k = 0; k < K_COUNT; k++) {
    size_t warm = S[k].n / 20;
    if (warm < 3) warm = 3;
    if (warm > warm_cap) warm = warm_cap;
    run_batch(k, warm, 0);
  }
  for (r = 0; r < rounds; r++)
    for (k = 0; k < K_COUNT; k++) {
      /* Round r takes its share; the last round takes the rest. */
      size_t want = r == rounds - 1 ? S[k].n : S[k].n * (size_t)(r + 1) /
                                                   (size_t)rounds;
      run_batch(k, want - S[k].got, 1);
    }
}

/* ---- statistics ---------------------------------------------------------- */

typedef bench_stats stats;

static stats summarise(const series *s) {
  stats none = {0, 0, 0, 0, 0, 0};
  if (s->error[0]) return none;
  return bench_stats_of(s->us, s->got);
}

/* ---- the Python peer ----------------------------------------------------- */

typedef struct pyres {
  const char *method;
  size_t n;
  double mean, median, min;
} pyres;

static pyres PY[3] = {{"fork", 0, 0, 0, 0},
                      {"forkserver", 0, 0, 0, 0},
                      {"spawn", 0, 0, 0, 0}};

static void parse_python_line(const char *line) {
  char method[32];
  size_t n, i;
  double mean, median, min;
  if (sscanf(line, "RESULT %31s n=%zu mean_us=%lf median_us=%lf min_us=%lf",
             method, &n, &mean, &median, &min) != 5) {
    if (line[0] != '\0') printf("python: %s", line); /* INFO, ERROR */
    return;
  }
  for (i = 0; i < 3; i++)
    if (strcmp(method, PY[i].method) == 0) {
      PY[i].n = n;
      PY[i].mean = mean;
      PY[i].median = median;
      PY[i].min = min;
    }
}

static void run_python(size_t n) {
  char num[32];
  const char *args[] = {num, NULL};
  snprintf(num, sizeof num, "%zu", n);
  (void)bench_python("process_start.py", args, parse_python_line);
}

/* ---- report -------------------------------------------------------------- */

static void print_details(void) {
  int k;
  printf("\n%-26s %6s %10s %10s %10s %10s\n", "measurement", "n", "mean us",
         "median us", "min us", "p90 us");
  for (k = 0; k < K_COUNT; k++) {
    stats st = summarise(&S[k]);
    if (S[k].error[0]) {
      printf("%-26s error: %s\n", S[k].label, S[k].error);
      continue;
    }
    printf("%-26s %6zu %10.1f %10.1f %10.1f %10.1f\n", S[k].label, (size_t)st.n,
           st.mean, st.median, st.min, st.p90);
  }
  for (k = 0; k < 3; k++)
    if (PY[k].n)
      printf("%-26s %6zu %10.1f %10.1f %10.1f %10s\n",
             k == 0   ? "python fork"
             : k == 1 ? "python forkserver"
                      : "python spawn",
             PY[k].n, PY[k].mean, PY[k].median, PY[k].min, "-");
}

static void print_table(void) {
  static const struct {
    mproc_start_method method;
    int kind, base;
    const char *base_name;
    double target;
  } rows[3] = {
      {MPROC_START_FORK, K_FORK, K_RAW_FORK, "fork+waitpid", 1.3},
      {MPROC_START_FORKSERVER, K_FORKSERVER, K_RAW_FORK, "fork+waitpid", 1.5},
      {MPROC_START_SPAWN, K_SPAWN, K_RAW_SPAWN, "posix_spawn", 1.3}};
  int i;
  printf("\nstart+join, median microseconds (ratios of medians)\n");
  printf("%-11s %9s %9s %-13s %9s %-13s %10s %12s\n", "method", "mproc us",
         "raw us", "raw baseline", "mproc/raw", "target", "python us",
         "python/mproc");
  for (i = 0; i < 3; i++) {
    stats m = summarise(&S[rows[i].kind]), b = summarise(&S[rows[i].base]);
    const pyres *py = &PY[i];
    char ratio[32] = "-", target[32], pyus[32] = "n/a", pyratio[32] = "-";
    if (m.n && b.n) {
      double r = m.median / b.median;
      snprintf(ratio, sizeof ratio, "%.2fx", r);
      snprintf(target, sizeof target, "<= %.1fx %s", rows[i].target,
               r <= rows[i].target ? "PASS" : "MISS");
    } else {
      snprintf(target, sizeof target, "<= %.1fx ERROR", rows[i].target);
    }
    if (py->n) {
      snprintf(pyus, sizeof pyus, "%.1f", py->median);
      if (m.n) snprintf(pyratio, sizeof pyratio, "%.1fx",
                        py->median / m.median);
    }
    printf("%-11s %9.1f %9.1f %-13s %9s %-13s %10s %12s\n",
           mproc_start_method_name(rows[i].method), m.median, b.median,
           rows[i].base_name, ratio, target, pyus, pyratio);
  }
}

/* ---- main ---------------------------------------------------------------- */

static void usage(const char *me) {
  printf("usage: %s [iterations] [--quick] [--no-python]\n"
         "  iterations  fork/forkserver iterations (default %d); spawn runs\n"
         "              3/20 as many (default %d); Python at most as many,\n"
         "              cut to ~10 s per method\n"
         "  --quick     a smoke run for CI: few iterations, no Python\n"
         "  --no-python skip the Python peers\n"
         "env: MPROC_BENCH_DIR (where process_start.py is, default %s),\n"
         "     MPROC_BENCH_PYTHON (interpreter, default python3)\n",
         me, DEFAULT_N, DEFAULT_SPAWN_N, MPROC_BENCH_DIR);
}

int main(int argc, char **argv) {
  size_t n = DEFAULT_N, spawn_n = DEFAULT_SPAWN_N, warm_cap = 100;
  int quick = 0, python = 1, rounds = ROUNDS, k, rc, i;

  /* The raw posix_spawn baseline's child: do the least a C program can. */
  if (argc > 1 && strcmp(argv[1], RAW_CHILD_FLAG) == 0) exit(0);
  rc = mproc_init(argc, argv); /* a spawned mproc child never returns */
  if (access(self_exe, X_OK) != 0)
    snprintf(self_exe, sizeof self_exe, "%s", argv[0]);
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
    } else if (strcmp(argv[i], "--no-python") == 0) {
      python = 0;
    } else if (argv[i][0] >= '1' && argv[i][0] <= '9') {
      n = (size_t)strtoul(argv[i], NULL, 10);
      spawn_n = n * 3 / 20 ? n * 3 / 20 : 1;
    } else {
      usage(argv[0]);
      return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  if (quick) {
    n = 40;
    spawn_n = 10;
    warm_cap = 5;
    rounds = 2;
    python = 0;
  }
  bench_banner("process_start: start+join latency", rc);
  for (k = 0; k < K_COUNT; k++) {
    S[k].n = k == K_SPAWN || k == K_RAW_SPAWN ? spawn_n : n;
    S[k].us = calloc(S[k].n, sizeof *S[k].us);
    if (S[k].us == NULL) {
      fprintf(stderr, "out of memory\n");
      return 0;
    }
  }
  printf("measuring: %zu x fork/forkserver/raw fork, %zu x spawn/raw spawn, "
         "in %d interleaved rounds\n",
         n, spawn_n, rounds);
  fflush(stdout);
  measure_all(rounds, warm_cap);
  if (python)
    run_python(n);
  else
    printf("python: skipped%s\n", quick ? " (--quick)" : "");
  print_details();
  print_table();
  for (k = 0; k < K_COUNT; k++) free(S[k].us);
  return 0; /* a miss is reported, never failed: machines are noisy */
}
