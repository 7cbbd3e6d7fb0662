/* bench/shm: the create + close + unlink cycle of a named shared memory
 * segment, measured in one run beside its peers, with the ratios printed.
 *
 *   shm [iterations] [--quick] [--no-python]
 *
 * For a 4 KiB and a 1 MiB segment, interleaved in rounds so that a noisy
 * neighbour slows all of them alike:
 *   mproc new+close          mproc_shm_new (a generated name) and
 *                            mproc_shm_free: the last close unlinks;
 *   mproc new+unlink+close   the same with an explicit mproc_shm_unlink;
 *   mproc no_track           opts.no_track (Python's track=False: no
 *                            holder count, no tracker), unlink, close;
 *   raw                      shm_open(O_CREAT | O_EXCL) + ftruncate + mmap
 *                            + munmap + close + shm_unlink;
 *   raw + first write        the same, writing one byte of the mapping:
 *                            what a program that uses its segment pays
 *                            (mproc segments used to write a header page
 *                            at creation; since the registry they touch
 *                            nothing in the segment, docs/shm-sync.md).
 * Then Python runs bench/shm.py: SharedMemory(create=True, size=...) +
 * close() + unlink(), with its resource tracker (the default) and without
 * (track=False where Python has it, 3.13+; otherwise the tracker calls are
 * patched out, and shm.py says so). It prints "RESULT ..." lines parsed
 * here. The table compares medians against the target (mproc <= 1.5x
 * raw); a miss prints MISS, never a failing exit code (benchmarks do not
 * fail CI: shared machines are noisy). POSIX only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mproc.h>

#include "common.h"


#define DEFAULT_N 20000
#define ROUNDS 10
#define TARGET 1.5

/* ---- what is measured ---------------------------------------------------- */

enum { K_MPROC, K_MPROC_UNLINK, K_MPROC_NOTRACK, K_RAW, K_RAW_TOUCH,
       K_COUNT };
enum { SZ_4K, SZ_1M, SZ_COUNT };

static const size_t SIZES[SZ_COUNT] = {4096, 1024 * 1024};
static const char *const SIZE_LABEL[SZ_COUNT] = {"4 KiB", "1 MiB"};
static const char *const LABEL[K_COUNT] = {
    "mproc new+close", "mproc new+unlink+close", "mproc no_track+unlink",
    "raw shm_open..shm_unlink", "raw + first write"};

typedef struct series {
  size_t n, got; /* iterations to record, recorded */
  double *us;    /* one sample per iteration, microseconds */
  size_t round1; /* samples in the first round (for the drift column) */
  char error[300];
} series;

static series S[SZ_COUNT][K_COUNT];
static int n_rounds = 10; /* rounds measured (the drift column) */

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int mproc_once(int kind, size_t size, char *err, size_t esize) {
  mproc_shm_opts o = MPROC_SHM_OPTS_INIT;
  mproc_shm *s = NULL;
  int rc;
  o.no_track = kind == K_MPROC_NOTRACK;
  rc = mproc_shm_new(&s, size, &o);
  if (rc == 0 && kind != K_MPROC) rc = mproc_shm_unlink(s);
  mproc_shm_free(s);
  if (rc < 0)
    snprintf(err, esize, "%s: %s", mproc_err_name(rc), mproc_last_error());
  return rc < 0 ? -1 : 0;
}

/* What a C programmer writes by hand: a unique name from the pid and a
 * counter, created exclusively, owner-only. */
static int raw_once(size_t size, int touch, char *err, size_t esize) {
  static unsigned long counter;
  char name[64];
  void *p;
  int fd;
  snprintf(name, sizeof name, "/mpb-%ld-%lu", (long)getpid(), counter++);
  fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    snprintf(err, esize, "shm_open: %s", strerror(errno));
    return -1;
  }
  if (ftruncate(fd, (off_t)size) != 0) {
    snprintf(err, esize, "ftruncate: %s", strerror(errno));
    goto fail;
  }
  p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    snprintf(err, esize, "mmap: %s", strerror(errno));
    goto fail;
  }
  if (touch) *(volatile char *)p = 1;
  munmap(p, size);
  close(fd);
  shm_unlink(name);
  return 0;
fail:
  close(fd);
  shm_unlink(name);
  return -1;
}

static int run_once(int kind, size_t size, char *err, size_t esize) {
  if (kind == K_RAW || kind == K_RAW_TOUCH)
    return raw_once(size, kind == K_RAW_TOUCH, err, esize);
  return mproc_once(kind, size, err, esize);
}

/* Run `count` iterations of one kind; record them unless warming up. */
static void run_batch(int sz, int kind, size_t count, int record) {
  series *s = &S[sz][kind];
  size_t i;
  for (i = 0; i < count && s->error[0] == '\0'; i++) {
    double t0 = now_us(), t1;
    if (run_once(kind, SIZES[sz], s->error, sizeof s->error) < 0) return;
    t1 = now_us();
    if (record && s->got < s->n) s->us[s->got++] = t1 - t0;
  }
}

static void measure_all(int rounds, size_t warm_cap) {
  int k, z, r;
  for (z = 0; z < SZ_COUNT; z++)
    for (k = 0; k < K_COUNT; k++) {
      size_t warm = S[z][k].n / 20;
      if (warm < 3) warm = 3;
      if (warm > warm_cap) warm = warm_cap;
      run_batch(z, k, warm, 0);
    }
  for (r = 0; r < rounds; r++)
    for (z = 0; z < SZ_COUNT; z++)
      for (k = 0; k < K_COUNT; k++) {
        series *s = &S[z][k];
        /* Round r takes its share; the last round takes the rest. */
        size_t want = r == rounds - 1
                          ? s->n
                          : s->n * (size_t)(r + 1) / (size_t)rounds;
        run_batch(z, k, want - s->got, 1);
        if (r == 0) s->round1 = s->got;
      }
}

/* ---- statistics ---------------------------------------------------------- */

typedef bench_stats stats;

static stats summarise_range(const double *us, size_t n) {
  return bench_stats_of(us, n);
}

static stats summarise(const series *s) {
  stats none = {0, 0, 0, 0, 0, 0};
  if (s->error[0]) return none;
  return summarise_range(s->us, s->got);
}

/* ---- the Python peer ----------------------------------------------------- */

enum { Y_TRACKED, Y_UNTRACKED, Y_COUNT };

typedef struct pyres {
  size_t n;
  double mean, median, min;
} pyres;

static pyres PY[SZ_COUNT][Y_COUNT];
static char py_untracked_how[128] = "";

static void parse_python_line(const char *line) {
  char key[32];
  size_t n, size;
  double mean, median, min;
  int z, y;
  if (sscanf(line, "RESULT %31s size=%zu n=%zu mean_us=%lf median_us=%lf "
                   "min_us=%lf",
             key, &size, &n, &mean, &median, &min) != 6) {
    if (sscanf(line, "INFO untracked=%127[^\n]", py_untracked_how) == 1)
      return;
    if (line[0] != '\0') printf("python: %s", line); /* INFO, ERROR */
    return;
  }
  y = strcmp(key, "tracked") == 0     ? Y_TRACKED
      : strcmp(key, "untracked") == 0 ? Y_UNTRACKED
                                      : -1;
  for (z = 0; z < SZ_COUNT; z++)
    if (y >= 0 && SIZES[z] == size) {
      PY[z][y].n = n;
      PY[z][y].mean = mean;
      PY[z][y].median = median;
      PY[z][y].min = min;
    }
}

static void run_python(size_t n) {
  char num[32], sizes[64];
  const char *args[] = {num, "--sizes", sizes, NULL};
  snprintf(num, sizeof num, "%zu", n);
  snprintf(sizes, sizeof sizes, "%zu,%zu", SIZES[0], SIZES[1]);
  (void)bench_python("shm.py", args, parse_python_line);
}

/* ---- report -------------------------------------------------------------- */

static void print_details(void) {
  int z, k, y;
  printf("\n%-6s %-28s %6s %8s %9s %8s %8s %15s\n", "size", "measurement",
         "n", "mean us", "median us", "min us", "p90 us", "mean: 1st->last");
  for (z = 0; z < SZ_COUNT; z++) {
    for (k = 0; k < K_COUNT; k++) {
      const series *s = &S[z][k];
      stats st = summarise(s), a, b;
      if (s->error[0]) {
        printf("%-6s %-28s error: %s\n", SIZE_LABEL[z], LABEL[k], s->error);
        continue;
      }
      /* The first and the last round's means: a cost that grows with the
       * number of segments made so far shows here (as a tail: the median
       * hardly moves). */
      a = summarise_range(s->us, s->round1);
      b = summarise_range(s->us + (s->got - s->got / (size_t)n_rounds),
                          s->got / (size_t)n_rounds);
      printf("%-6s %-28s %6zu %8.1f %9.1f %8.1f %8.1f %7.1f -> %-6.1f\n",
             SIZE_LABEL[z], LABEL[k], (size_t)st.n, st.mean, st.median, st.min,
             st.p90, a.mean, b.mean);
    }
    for (y = 0; y < Y_COUNT; y++)
      if (PY[z][y].n)
        printf("%-6s %-28s %6zu %8.1f %9.1f %8.1f %8s\n", SIZE_LABEL[z],
               y == Y_TRACKED ? "python SharedMemory"
                              : "python SharedMemory no track",
               PY[z][y].n, PY[z][y].mean, PY[z][y].median, PY[z][y].min,
               "-");
  }
  if (py_untracked_how[0])
    printf("(python untracked: %s)\n", py_untracked_how);
}

static void print_table(void) {
  static const struct {
    int kind;
    int py; /* the Python row it compares with */
  } rows[] = {{K_MPROC, Y_TRACKED},
              {K_MPROC_UNLINK, Y_TRACKED},
              {K_MPROC_NOTRACK, Y_UNTRACKED}};
  size_t i;
  int z;
  printf("\ncreate+close+unlink, median microseconds (ratios of medians; "
         "target mproc <= %.1fx raw)\n",
         TARGET);
  printf("%-6s %-24s %8s %7s %10s %-11s %9s %11s %12s\n", "size", "mproc",
         "mproc us", "raw us", "mproc/raw", "target", "vs +write",
         "python us", "python/mproc");
  for (z = 0; z < SZ_COUNT; z++)
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
      stats m = summarise(&S[z][rows[i].kind]), b = summarise(&S[z][K_RAW]),
            t = summarise(&S[z][K_RAW_TOUCH]);
      const pyres *py = &PY[z][rows[i].py];
      char ratio[32] = "-", target[32], touch[32] = "-", pyus[32] = "n/a",
           pyratio[32] = "-";
      if (m.n && b.n) {
        double r = m.median / b.median;
        snprintf(ratio, sizeof ratio, "%.2fx", r);
        snprintf(target, sizeof target, "<= %.1fx %s", TARGET,
                 r <= TARGET ? "PASS" : "MISS");
      } else {
        snprintf(target, sizeof target, "<= %.1fx ERROR", TARGET);
      }
      if (m.n && t.n) snprintf(touch, sizeof touch, "%.2fx",
                               m.median / t.median);
      if (py->n) {
        snprintf(pyus, sizeof pyus, "%.1f", py->median);
        if (m.n) snprintf(pyratio, sizeof pyratio, "%.1fx",
                          py->median / m.median);
      }
      printf("%-6s %-24s %8.1f %7.1f %10s %-11s %9s %11s %12s\n",
             SIZE_LABEL[z], LABEL[rows[i].kind] + 6, m.median, b.median,
             ratio, target, touch, pyus, pyratio);
    }
  printf("(python/mproc: tracked Python beside tracked mproc, untracked "
         "beside no_track;\n vs +write: mproc beside raw + first write, "
         "which touches one page)\n");
  /* A slow tail hides behind a median: name it. */
  for (z = 0; z < SZ_COUNT; z++)
    for (i = 0; i < K_COUNT; i++) {
      stats st = summarise(&S[z][i]);
      if (st.n && st.mean > 2 * st.median)
        printf("note: %s, %s: the mean (%.1f us) is %.1fx the median: a "
               "slow tail\n",
               SIZE_LABEL[z], LABEL[i], st.mean, st.mean / st.median);
    }
}

/* ---- main ---------------------------------------------------------------- */

static void usage(const char *me) {
  printf("usage: %s [iterations] [--quick] [--no-python]\n"
         "  iterations  per measurement and size (default %d); Python at\n"
         "              most as many, cut to ~5 s per measurement\n"
         "  --quick     a smoke run for CI: few iterations, no Python\n"
         "  --no-python skip the Python peers\n"
         "env: MPROC_BENCH_DIR (where shm.py is, default %s),\n"
         "     MPROC_BENCH_PYTHON (interpreter, default python3)\n",
         me, DEFAULT_N, MPROC_BENCH_DIR);
}

int main(int argc, char **argv) {
  size_t n = DEFAULT_N, warm_cap = 200;
  int quick = 0, python = 1, rounds = ROUNDS, rc, i, z, k;

  rc = mproc_init(argc, argv); /* a spawned mproc child never returns */
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
    } else if (strcmp(argv[i], "--no-python") == 0) {
      python = 0;
    } else if (argv[i][0] >= '1' && argv[i][0] <= '9') {
      n = (size_t)strtoul(argv[i], NULL, 10);
    } else {
      usage(argv[0]);
      return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  if (quick) {
    n = 200;
    warm_cap = 10;
    rounds = 2;
    python = 0;
  }
  bench_banner("shm: create+close+unlink of a named segment", rc);
  for (z = 0; z < SZ_COUNT; z++)
    for (k = 0; k < K_COUNT; k++) {
      S[z][k].n = n;
      S[z][k].us = calloc(n, sizeof *S[z][k].us);
      if (S[z][k].us == NULL) {
        fprintf(stderr, "out of memory\n");
        return 0;
      }
    }
  printf("measuring: %zu x each of %d kinds x 2 sizes, in %d interleaved "
         "rounds\n",
         n, K_COUNT, rounds);
  fflush(stdout);
  n_rounds = rounds;
  measure_all(rounds, warm_cap);
  if (python)
    run_python(n);
  else
    printf("python: skipped%s\n", quick ? " (--quick)" : "");
  print_details();
  print_table();
  for (z = 0; z < SZ_COUNT; z++)
    for (k = 0; k < K_COUNT; k++) free(S[z][k].us);
  return 0; /* a miss is reported, never failed: machines are noisy */
}
