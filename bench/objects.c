/* bench/objects: many small shared objects (issue 13, docs/arenas.md),
 * measured in one run beside their peers, with PASS/MISS per target.
 *
 *   objects [--quick] [--no-python] [--n N] [--live L]
 *
 * create + free     a batch of N objects made, then freed (per object,
 *                   median of rounds): mproc Lock, Event, Value('q');
 *                   raw shm_open per object (shm_open + ftruncate + mmap +
 *                   first write, then munmap + shm_unlink); Boost.Interprocess
 *                   (bin/objects_boost, when Boost was found: construct and
 *                   destroy of named objects in a managed_shared_memory);
 *                   Python's Lock, RawValue('q') and Event (objects.py).
 *                   Target: <= 2 us per object for mproc, judged on the
 *                   process's CPU time (wall time is printed too: on this
 *                   shared machine it mostly measures the others).
 * one at a time     the same, one object made and freed per iteration:
 *                   an arena whose last object goes is removed, so this
 *                   pays a segment per iteration (information, no target).
 * shared memory     bytes of /dev/shm the program's names take per live
 *                   object (tmpfs blocks, so pages really used), for mproc
 *                   (N Locks, Events, Values) and raw shm_open; Boost's and
 *                   Python's from their peers. Target: <= 256 bytes.
 * fork start+join   a fork-method process started and joined, with no
 *                   live object, then with L live small objects (a mix of
 *                   Locks, Events and Values); Python's fork with L
 *                   RawValues. Target: <= 1.5x with L as with none.
 * Linux only (/dev/shm sizes, fork). A miss prints MISS, never a failing
 * exit code (benchmarks do not fail CI: shared machines are noisy). */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
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

#ifndef MPROC_BENCH_BOOST /* set by CMake to bin/objects_boost's path */
#define MPROC_BENCH_BOOST ""
#endif

enum { K_LOCK, K_EVENT, K_VALUE, K_COUNT };
static const char *const KIND[K_COUNT] = {"Lock", "Event", "Value('q')"};

static int quick, no_python;
static size_t N = 10000, LIVE = 100000;
static char prefix[16];

/* ---- making and freeing ------------------------------------------------- */

typedef struct objs {
  void **p;
  size_t n;
  int kind;
} objs;

static int make_one(int kind, void **out) {
  switch (kind) {
  case K_LOCK: return mproc_lock_new((mproc_lock **)out, NULL);
  case K_EVENT: return mproc_event_new((mproc_event **)out, NULL);
  default: {
    long long zero = 0;
    return mproc_value_new((mproc_array **)out, 'q', &zero, NULL);
  }
  }
}

static void free_one(int kind, void *p) {
  switch (kind) {
  case K_LOCK: mproc_lock_free(p); break;
  case K_EVENT: mproc_event_free(p); break;
  default: mproc_array_free(p); break;
  }
}

static int make_many(objs *o, int kind, size_t n) {
  size_t i;
  o->p = calloc(n, sizeof *o->p);
  o->n = 0;
  o->kind = kind;
  if (o->p == NULL) return -1;
  for (i = 0; i < n; i++, o->n++)
    if (make_one(kind, &o->p[i]) != 0) {
      fprintf(stderr, "objects: make %s %zu: %s\n", KIND[kind], i,
              mproc_last_error());
      return -1;
    }
  return 0;
}

static void free_many(objs *o) {
  size_t i;
  for (i = 0; i < o->n; i++) free_one(o->kind, o->p[i]);
  free(o->p);
  o->p = NULL;
  o->n = 0;
}

/* This process's CPU time in microseconds: on a machine shared by many
 * programs (a load of 10-25 on 2 CPUs here) wall time mostly measures the
 * others' turns, CPU time what the calls cost. */
static double cpu_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double last_cpu; /* CPU us per object of the last batch_us */

/* Wall microseconds per object to make a batch of n and free it. */
static double batch_us(int kind, size_t n) {
  objs o;
  double t0 = bench_now_ns(), c0 = cpu_us(), t;
  if (make_many(&o, kind, n) < 0) {
    free_many(&o);
    return -1;
  }
  free_many(&o);
  t = bench_now_ns() - t0;
  last_cpu = (cpu_us() - c0) / (double)n;
  return t / 1e3 / (double)n;
}

static double single_us(int kind, size_t n) {
  double t0 = bench_now_ns();
  size_t i;
  void *p;
  for (i = 0; i < n; i++) {
    if (make_one(kind, &p) != 0) return -1;
    free_one(kind, p);
  }
  return (bench_now_ns() - t0) / 1e3 / (double)n;
}

/* The raw peer: one segment per object, as the objects once were. */
static double raw_us(size_t n) {
  char name[64];
  void **maps = calloc(n, sizeof *maps);
  double t0 = bench_now_ns();
  size_t i;
  if (maps == NULL) return -1;
  for (i = 0; i < n; i++) {
    int fd;
    snprintf(name, sizeof name, "/%s-raw%zu", prefix, i);
    fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, 4096) != 0) return -1;
    maps[i] = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (maps[i] == MAP_FAILED) return -1;
    *(volatile int *)maps[i] = 0; /* a lock word written */
  }
  for (i = 0; i < n; i++) {
    snprintf(name, sizeof name, "/%s-raw%zu", prefix, i);
    munmap(maps[i], 4096);
    shm_unlink(name);
  }
  free(maps);
  return (bench_now_ns() - t0) / 1e3 / (double)n;
}

/* Bytes of /dev/shm (allocated blocks) the names with our prefix take. */
static double shm_bytes(void) {
  DIR *d = opendir("/dev/shm");
  struct dirent *e;
  char path[300];
  double total = 0;
  size_t n = strlen(prefix);
  if (d == NULL) return -1;
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    if (strncmp(e->d_name, prefix, n) != 0) continue;
    snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
    if (stat(path, &st) == 0) total += (double)st.st_blocks * 512.0;
  }
  closedir(d);
  return total;
}

static double shm_per_object(int kind, size_t n) {
  objs o;
  double before = shm_bytes(), after;
  if (make_many(&o, kind, n) < 0) {
    free_many(&o);
    return -1;
  }
  after = shm_bytes();
  free_many(&o);
  return (after - before) / (double)n;
}

/* ---- fork with live objects ---------------------------------------------- */

static int t_nothing(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  return 0;
}
MPROC_TASK(t_nothing);

/* Median microseconds of a fork start + join. */
static double fork_us(int reps) {
  double *v = calloc((size_t)reps, sizeof *v), med;
  mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
  int i;
  po.method = MPROC_START_FORK;
  for (i = 0; i < reps; i++) {
    mproc_process *p = NULL;
    int code = -1;
    double t0 = bench_now_ns();
    if (mproc_process_new(&p, t_nothing, NULL, 0, &po) != 0 ||
        mproc_process_start(p) != 0 || mproc_process_join(p, 60) != 0 ||
        mproc_process_exitcode(p, &code) != 0 || code != 0) {
      fprintf(stderr, "objects: fork: %s\n", mproc_last_error());
      mproc_process_free(p);
      free(v);
      return -1;
    }
    v[i] = (bench_now_ns() - t0) / 1e3;
    mproc_process_free(p);
  }
  med = bench_stats_of(v, (size_t)reps).median;
  free(v);
  return med;
}

/* ---- peers ----------------------------------------------------------------- */

typedef struct peer {
  char key[40];
  double value;
} peer;
static peer peers[32];
static int n_peers;

static void on_peer_line(const char *line) {
  peer *p = &peers[n_peers];
  if (n_peers < 32 && sscanf(line, "RESULT %39s value=%lf", p->key, &p->value) == 2)
    n_peers++;
  else if (strncmp(line, "INFO", 4) == 0 || strncmp(line, "ERROR", 5) == 0)
    printf("  %s\n", line);
}

static double peer_value(const char *key) {
  int i;
  for (i = 0; i < n_peers; i++)
    if (strcmp(peers[i].key, key) == 0) return peers[i].value;
  return -1;
}

static void run_boost(void) {
  char cmd[600];
  char line[300];
  FILE *f;
  if (MPROC_BENCH_BOOST[0] == '\0') {
    printf("  boost: not built (install libboost-dev and g++: "
           "ci/linux-deps.sh)\n");
    return;
  }
  snprintf(cmd, sizeof cmd, "%s %zu", MPROC_BENCH_BOOST, N);
  f = popen(cmd, "r");
  if (f == NULL) return;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    on_peer_line(line);
  }
  pclose(f);
}

static void run_python(void) {
  char n[32], live[32];
  const char *args[] = {"--n", n, "--live", live, NULL};
  if (no_python) return;
  snprintf(n, sizeof n, "%zu", N / 4 > 0 ? N / 4 : 1);
  snprintf(live, sizeof live, "%zu", quick ? LIVE : LIVE / 4);
  (void)bench_python("objects.py", args, on_peer_line);
}

/* ---- report ---------------------------------------------------------------- */

static void row(const char *what, double v, const char *unit, double target,
                int lower_better) {
  if (v < 0) {
    printf("  %-40s %12s\n", what, "n/a");
    return;
  }
  if (target > 0)
    printf("  %-40s %10.2f %-6s target %-7.2f %s\n", what, v, unit, target,
           (lower_better ? v <= target : v >= target) ? "PASS" : "MISS");
  else
    printf("  %-40s %10.2f %-6s\n", what, v, unit);
}

/* The median wall time of `rounds` batches, and in *cpu their median CPU
 * time. */
static double median_batch(int kind, size_t n, int rounds, double *cpu) {
  double v[16], c[16];
  int r;
  for (r = 0; r < rounds && r < 16; r++) {
    v[r] = batch_us(kind, n);
    c[r] = last_cpu;
  }
  *cpu = bench_stats_of(c, (size_t)r).median;
  return bench_stats_of(v, (size_t)r).median;
}

static void parse_args(int argc, char **argv) {
  int i;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) quick = 1;
    else if (strcmp(argv[i], "--no-python") == 0) no_python = 1;
    else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
      N = (size_t)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--live") == 0 && i + 1 < argc)
      LIVE = (size_t)strtoul(argv[++i], NULL, 10);
  }
  if (quick) {
    N = 2000;
    LIVE = 10000;
  }
}

int main(int argc, char **argv) {
  int rc = mproc_init(argc, argv), k, rounds;
  char label[80];
  double none, with;
  objs live[K_COUNT];
  parse_args(argc, argv);
  rounds = quick ? 3 : 7;
  snprintf(prefix, sizeof prefix, "bo%ld", (long)getpid() % 100000);
  setenv("MPROC_NAME_PREFIX", prefix, 1);
  bench_banner("objects: many small shared objects (issue 13)", rc);
  printf("create + free, a batch of %zu (us per object, median of %d):\n", N,
         rounds);
  for (k = 0; k < K_COUNT; k++) {
    double wall, cpu;
    wall = median_batch(k, N, rounds, &cpu);
    snprintf(label, sizeof label, "mproc %s, wall", KIND[k]);
    row(label, wall, "us", 0, 1);
    snprintf(label, sizeof label, "mproc %s, CPU", KIND[k]);
    row(label, cpu, "us", 2.0, 1);
  }
  row("raw shm_open per object (4 KiB)", raw_us(N), "us", 0, 1);
  run_boost();
  run_python();
  row("boost construct+destroy mutex", peer_value("boost_mutex_us"), "us", 0, 1);
  row("boost construct+destroy uint64", peer_value("boost_value_us"), "us", 0, 1);
  row("python Lock()", peer_value("py_lock_us"), "us", 0, 1);
  row("python RawValue('q')", peer_value("py_rawvalue_us"), "us", 0, 1);
  row("python Event()", peer_value("py_event_us"), "us", 0, 1);
  printf("one at a time (make, free; us per object):\n");
  for (k = 0; k < K_COUNT; k++) {
    snprintf(label, sizeof label, "mproc %s", KIND[k]);
    row(label, single_us(k, N / 10 > 0 ? N / 10 : 1), "us", 0, 1);
  }
  printf("shared memory per live object (bytes of /dev/shm):\n");
  for (k = 0; k < K_COUNT; k++) {
    snprintf(label, sizeof label, "mproc %s", KIND[k]);
    row(label, shm_per_object(k, N), "B", 256, 1);
  }
  row("raw shm_open per object", 4096, "B", 0, 1);
  row("boost mutex (segment bytes used)", peer_value("boost_mutex_bytes"), "B", 0, 1);
  row("python RawValue('q') (heap block)", peer_value("py_rawvalue_bytes"), "B", 0, 1);
  printf("fork start+join (us, median):\n");
  none = fork_us(quick ? 5 : 21);
  for (k = 0; k < K_COUNT; k++)
    if (make_many(&live[k], k, LIVE / K_COUNT) < 0) break;
  with = fork_us(quick ? 5 : 21);
  snprintf(label, sizeof label, "mproc, no live object");
  row(label, none, "us", 0, 1);
  snprintf(label, sizeof label, "mproc, %zu live objects", LIVE / K_COUNT * K_COUNT);
  row(label, with, "us", 0, 1);
  row("  ratio", none > 0 && with > 0 ? with / none : -1, "x", 1.5, 1);
  for (k = 0; k < K_COUNT; k++) free_many(&live[k]);
  row("python fork, no live object", peer_value("py_fork_none_us"), "us", 0, 1);
  snprintf(label, sizeof label, "python fork, live RawValues");
  row(label, peer_value("py_fork_live_us"), "us", 0, 1);
  row("  python ratio", peer_value("py_fork_none_us") > 0
                            ? peer_value("py_fork_live_us") /
                                  peer_value("py_fork_none_us")
                            : -1,
      "x", 0, 1);
  return 0;
}
