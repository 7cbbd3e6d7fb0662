/* bench/common: what every benchmark needs — a clock, medians and ranges,
 * the banner, and running the Python peer script. POSIX only, as the
 * benchmarks are. */
#ifndef MPROC_BENCH_COMMON_H
#define MPROC_BENCH_COMMON_H

#include <stddef.h>

#include <mproc.h>

#ifndef MPROC_BENCH_DIR /* where the .py peers live; set by CMake */
#define MPROC_BENCH_DIR "."
/* submit(fn).result() n times in turn on ex (no input), after one warm
 * round; microseconds per round trip, 0 if any failed. ex is freed. */
double bench_submit_result(mproc_executor *ex, mproc_task_fn fn, int n);

/* Run fn(out, n, arg) in a forked child pinned to one CPU (Linux; not
 * pinned elsewhere) before it makes any thread or pool, and copy the n
 * doubles it writes into out back over a pipe (zeros if the child
 * failed). Returns 1 if the child was pinned. For the "all on one CPU"
 * rows: fork workers inherit the child's mask. */
int bench_pinned(void (*fn)(double *out, size_t n, void *arg), void *arg,
                 double *out, size_t n);

#endif

/* Monotonic time in nanoseconds. */
double bench_now_ns(void);

/* One pause instruction (spin-wait hint). */
void bench_relax(void);

/* Summary of a sample (any unit). n == 0 for an empty sample. */
typedef struct bench_stats {
  int n;
  double mean, median, min, max, p90;
} bench_stats;

bench_stats bench_stats_of(const double *v, size_t n);

/* The first line of every benchmark: what runs, the build type, the CPUs;
 * warns when the build is not Release, and when mproc_init (its result
 * init_rc, called just before) failed. */
void bench_banner(const char *what, int init_rc);

/* Run `python3 <bench dir>/<script> args...` (MPROC_BENCH_PYTHON and
 * MPROC_BENCH_DIR override the interpreter and the folder) and hand each
 * line it prints to on_line. args ends with NULL. Returns 1 when the script
 * ran and exited 0, else 0 after printing "python: not available (why)". */
int bench_python(const char *script, const char *const *args,
                 void (*on_line)(const char *line));

/* One line of a bench/ Python peer: 1 with its key (63 chars at most),
 * value and n (n may be NULL) when it is "RESULT <key> value=<v> n=<n>";
 * else 0, after printing any other non-empty line (INFO, ERROR) as
 * "python: ...". */
int bench_result_line(const char *line, char key[64], double *value,
                      long *n);

/* submit(fn).result() n times in turn on ex (no input), after one warm
 * round; microseconds per round trip, 0 if any failed. ex is freed. */
double bench_submit_result(mproc_executor *ex, mproc_task_fn fn, int n);

/* Run fn(out, n, arg) in a forked child pinned to one CPU (Linux; not
 * pinned elsewhere) before it makes any thread or pool, and copy the n
 * doubles it writes into out back over a pipe (zeros if the child
 * failed). Returns 1 if the child was pinned. For the "all on one CPU"
 * rows: fork workers inherit the child's mask. */
int bench_pinned(void (*fn)(double *out, size_t n, void *arg), void *arg,
                 double *out, size_t n);

#endif
