/* bench/futures: mproc's thread executor against libuv's uv_queue_work and
 * Python's concurrent.futures.ThreadPoolExecutor, and mproc's process
 * executor against Python's ProcessPoolExecutor, in the same run.
 *
 *   process gather  submit 20 000 no-op tasks to 2 worker processes (fork
 *               context), then take each result (tasks/s; target 3 M/s)
 *   gather      submit N no-op tasks, then take each result (tasks/s);
 *               mproc: mproc_executor_submit + mproc_future_result/free;
 *               libuv: uv_queue_work N times from the loop, then uv_run
 *   sequential  one submit and its result in turn, the whole process on
 *               one CPU (us per round trip); run in a forked child pinned
 *               before any thread exists (Linux; elsewhere unpinned)
 *   killed      a process executor's worker running a task is SIGKILLed:
 *               ms from the kill to the future done with
 *               MPROC_EWORKERDIED (median of 50), against a raw fork +
 *               SIGKILL + waitpid and Python's BrokenProcessPool
 *               (target: <= 2x the raw detection)
 *
 * Both pools get the same number of threads (--workers, default 4: libuv's
 * default pool size; UV_THREADPOOL_SIZE is set to match). Targets
 * (issue 10): gather >= libuv's rate; sequential <= libuv's latency. A
 * miss prints MISS; the program always exits 0 (machines are noisy).
 *
 *   futures [--quick] [--no-python] [--n N] [--workers W] */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mproc.h>
#include <uv.h>

#include "common.h"

static int N = 200000, SEQ_N = 20000, ROUNDS = 5, WORKERS = 4;

static int noop(const void *in, size_t len, mproc_buf *out) {
  (void)in, (void)len, (void)out;
  return 0;
}
MPROC_TASK(noop);

/* The process kind: PROC_N tasks on PROC_WORKERS workers (issue 10's row:
 * submit 20 000 then gather, fork context, as Python's peer). */
static int PROC_N = 20000, PROC_WORKERS = 2;

/* ---- gather ---------------------------------------------------------------- */

/* Submit n no-ops to ex, then take every result: tasks/s (0 on error). */
static double gather_on(mproc_executor *ex, int n);
static double mproc_proc_map(void);

static double mproc_gather(void) {
  mproc_executor *ex;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  o.max_workers = WORKERS;
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, &o) != 0) return 0;
  return gather_on(ex, N);
}

/* The process kind, workers started before the clock (as Python's peer,
 * which warms its pool with one task first). */
static double mproc_proc_gather(void) {
  mproc_executor *ex;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_future *f;
  o.max_workers = PROC_WORKERS;
  o.method = mproc_start_method_supported(MPROC_START_FORK) == 1
                 ? MPROC_START_FORK : MPROC_START_DEFAULT;
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o) != 0) {
    printf("process executor: %s\n", mproc_last_error());
    return 0;
  }
  if (mproc_executor_submit(ex, noop, NULL, 0, &f) == 0) {
    (void)mproc_future_result(f, MPROC_FOREVER, NULL, NULL);
    mproc_future_free(f);
  }
  return gather_on(ex, PROC_N);
}

/* The process kind's map: 10 x PROC_N items, chunksize 1000 (one task
 * message per chunk), every result taken in order. */
static double mproc_proc_map(void) {
  mproc_executor *ex;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_map_opts mo = MPROC_MAP_OPTS_INIT;
  mproc_map *m = NULL;
  int n = PROC_N * 10, i, bad = 0, *items = malloc((size_t)n * sizeof *items);
  double t0, t;
  o.max_workers = PROC_WORKERS;
  o.method = mproc_start_method_supported(MPROC_START_FORK) == 1
                 ? MPROC_START_FORK : MPROC_START_DEFAULT;
  if (items == NULL || mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o)) {
    free(items);
    return 0;
  }
  for (i = 0; i < n; i++) items[i] = i;
  mo.chunksize = 1000;
  t0 = bench_now_ns();
  if (mproc_executor_map(ex, noop, items, (size_t)n, sizeof *items, &mo,
                         &m) != 0)
    bad = 1;
  for (i = 0; !bad && i < n; i++) bad = mproc_map_next(m, NULL, NULL) != 0;
  t = bench_now_ns() - t0;
  mproc_map_free(m);
  mproc_executor_free(ex);
  free(items);
  return bad ? 0 : (double)n / (t / 1e9);
}

static double gather_on(mproc_executor *ex, int n) {
  mproc_future **fs = malloc((size_t)n * sizeof *fs);
  double t0, t;
  int i, bad = 0;
  if (fs == NULL) {
    mproc_executor_free(ex);
    return 0;
  }
  t0 = bench_now_ns();
  for (i = 0; i < n; i++)
    if (mproc_executor_submit(ex, noop, NULL, 0, &fs[i]) != 0) bad++;
  for (i = 0; i < n; i++) {
    bad += mproc_future_result(fs[i], MPROC_FOREVER, NULL, NULL) != 0;
    mproc_future_free(fs[i]);
  }
  t = bench_now_ns() - t0;
  mproc_executor_free(ex);
  free(fs);
  return bad ? 0 : (double)n / (t / 1e9);
}

static int uv_done;
static void uv_noop(uv_work_t *w) { (void)w; }
static void uv_after(uv_work_t *w, int status) {
  (void)w, (void)status;
  uv_done++;
}

static double uv_gather(void) {
  uv_loop_t loop;
  uv_work_t *w = calloc((size_t)N, sizeof *w);
  double t0, t;
  int i;
  if (w == NULL || uv_loop_init(&loop) != 0) {
    free(w);
    return 0;
  }
  uv_done = 0;
  t0 = bench_now_ns();
  for (i = 0; i < N; i++) uv_queue_work(&loop, &w[i], uv_noop, uv_after);
  uv_run(&loop, UV_RUN_DEFAULT);
  t = bench_now_ns() - t0;
  uv_loop_close(&loop);
  free(w);
  return uv_done == N ? (double)N / (t / 1e9) : 0;
}

/* ---- sequential, on one CPU -------------------------------------------------- */

static double mproc_sequential(void) {
  mproc_executor *ex;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  o.max_workers = WORKERS;
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, &o) != 0) return 0;
  return bench_submit_result(ex, noop, SEQ_N);
}

static double uv_sequential(void) {
  uv_loop_t loop;
  uv_work_t w;
  double t0, t;
  int i;
  if (uv_loop_init(&loop) != 0) return 0;
  uv_done = 0;
  uv_queue_work(&loop, &w, uv_noop, uv_after); /* warm: the pool starts */
  uv_run(&loop, UV_RUN_DEFAULT);
  t0 = bench_now_ns();
  for (i = 0; i < SEQ_N; i++) {
    uv_queue_work(&loop, &w, uv_noop, uv_after);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  t = bench_now_ns() - t0;
  uv_loop_close(&loop);
  return uv_done == SEQ_N + 1 ? t / 1e3 / SEQ_N : 0;
}

/* The sequential rows in a child pinned to one CPU before it makes any
 * thread (libuv resets its pool in a fork child): medians in out[0..1]. */
static void sequential_rows(double *out, size_t n, void *arg) {
  double v[2][32];
  int r;
  (void)n, (void)arg;
  for (r = 0; r < ROUNDS && r < 32; r++) {
    v[0][r] = mproc_sequential();
    v[1][r] = uv_sequential();
  }
  out[0] = bench_stats_of(v[0], (size_t)r).median;
  out[1] = bench_stats_of(v[1], (size_t)r).median;
}

static int run_sequential(double *m_us, double *u_us) {
  double out[2];
  int pinned = bench_pinned(sequential_rows, NULL, out, 2);
  *m_us = out[0];
  *u_us = out[1];
  return pinned;
}

/* ---- a killed worker's task ---------------------------------------------- */

/* KILL_N rounds: a worker that runs `park` is SIGKILLed, the clock runs
 * from the kill to its future done. Workers are started with fork where
 * there is fork, as Python's peer. */
static int KILL_N = 50;

/* In a worker, from the initializer: "up" hears each worker's pid once it
 * has started (so a round waits for the last one's replacement), "started"
 * hears park's pid once the task runs. */
static mproc_queue *g_up, *g_started;

static int kill_init(const void *args, size_t len) {
  char names[256], *sp;
  long pid = mproc_current_pid();
  if (len >= sizeof names) return 1;
  memcpy(names, args, len);
  names[len] = '\0';
  if ((sp = strchr(names, ' ')) == NULL) return 1;
  *sp = '\0';
  if (mproc_queue_open(&g_up, names) < 0 ||
      mproc_queue_open(&g_started, sp + 1) < 0)
    return 2;
  return mproc_queue_put(g_up, &pid, sizeof pid, MPROC_FOREVER) < 0 ? 3 : 0;
}
MPROC_TASK(kill_init);

/* Say it runs, then wait to be killed (bounded: a bench that lost its
 * kill still ends). */
static int park(const void *in, size_t len, mproc_buf *out) {
  long pid = mproc_current_pid();
  (void)in, (void)len, (void)out;
  (void)mproc_queue_put(g_started, &pid, sizeof pid, MPROC_FOREVER);
  sleep(60);
  return 1;
}
MPROC_TASK(park);

static long queue_pid(mproc_queue *q) {
  long pid = 0;
  size_t n;
  if (mproc_queue_get(q, &pid, sizeof pid, &n, 60.0) != 0 || n != sizeof pid)
    return 0;
  return pid;
}

/* One round on ex: ms from SIGKILL to the future done with
 * MPROC_EWORKERDIED, after which the replacement has started (0 on
 * error). */
static double kill_round(mproc_executor *ex, mproc_queue *up,
                         mproc_queue *started) {
  mproc_future *f;
  double t0, t;
  long pid;
  int rc;
  if (mproc_executor_submit(ex, park, NULL, 0, &f) != 0) return 0;
  if ((pid = queue_pid(started)) <= 0) {
    mproc_future_free(f);
    return 0;
  }
  t0 = bench_now_ns();
  if (kill((pid_t)pid, SIGKILL) != 0) {
    printf("killed: kill(%ld): %s\n", pid, strerror(errno));
    mproc_future_free(f); /* the executor's free waits out park's sleep */
    return 0;
  }
  rc = mproc_future_result(f, 60.0, NULL, NULL);
  t = bench_now_ns() - t0;
  mproc_future_free(f);
  if (rc != MPROC_EWORKERDIED) {
    printf("killed: the future gave %s, not MPROC_EWORKERDIED\n",
           mproc_err_name(rc));
    return 0;
  }
  return queue_pid(up) > 0 ? t / 1e6 : 0;
}

/* The median over KILL_N rounds on one warm executor of 2 workers. */
static double mproc_killed(void) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_queue *up = NULL, *started = NULL;
  mproc_executor *ex = NULL;
  double v[256], med = 0;
  char names[256];
  int i, n = KILL_N < 256 ? KILL_N : 256;
  if (mproc_queue_new(&up, NULL) != 0 || mproc_queue_new(&started, NULL) != 0)
    goto cleanup;
  snprintf(names, sizeof names, "%s %s", mproc_queue_name(up),
           mproc_queue_name(started));
  o.max_workers = PROC_WORKERS;
  o.method = mproc_start_method_supported(MPROC_START_FORK) == 1
                 ? MPROC_START_FORK : MPROC_START_DEFAULT;
  o.initializer = kill_init;
  o.initargs = names;
  o.initargs_len = strlen(names);
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o) != 0) {
    printf("killed: %s\n", mproc_last_error());
    goto cleanup;
  }
  for (i = 0; i < PROC_WORKERS; i++)
    if (queue_pid(up) <= 0) goto cleanup;
  for (i = 0; i < n; i++)
    if ((v[i] = kill_round(ex, up, started)) <= 0) goto cleanup;
  med = bench_stats_of(v, (size_t)n).median;
cleanup:
  mproc_executor_free(ex);
  mproc_queue_free(up);
  mproc_queue_free(started);
  return med;
}

/* The raw detection: a forked child says it runs and blocks; ms from its
 * SIGKILL until waitpid returns (median of KILL_N). */
static double raw_killed(void) {
  double v[256], t0;
  int i, n = KILL_N < 256 ? KILL_N : 256, fds[2], st;
  char b;
  pid_t pid;
  for (i = 0; i < n; i++) {
    if (pipe(fds) != 0) return 0;
    fflush(stdout);
    if ((pid = fork()) == 0) {
      if (write(fds[1], "x", 1) != 1) _exit(1);
      for (;;) pause();
    }
    close(fds[1]);
    b = 0;
    if (pid > 0 && read(fds[0], &b, 1) != 1) b = 0;
    close(fds[0]);
    if (pid < 0) return 0;
    t0 = bench_now_ns();
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    v[i] = (bench_now_ns() - t0) / 1e6;
    if (b != 'x') return 0;
  }
  return bench_stats_of(v, (size_t)n).median;
}

/* ---- Python ----------------------------------------------------------------------- */

static double py_gather, py_seq, py_proc, py_killed;

static void parse_python_line(const char *line) {
  char key[64];
  double v;
  if (!bench_result_line(line, key, &v, NULL)) return;
  if (strcmp(key, "gather") == 0) py_gather = v;
  if (strcmp(key, "sequential") == 0) py_seq = v;
  if (strcmp(key, "process_gather") == 0) py_proc = v;
  if (strcmp(key, "killed") == 0) py_killed = v;
}

static void run_python(void) {
  char n[32], w[32], pn[32], pw[32];
  const char *args[] = {"--n", n, "--workers", w, "--proc-n", pn,
                        "--proc-workers", pw, NULL};
  snprintf(n, sizeof n, "%d", N);
  snprintf(w, sizeof w, "%d", WORKERS);
  snprintf(pn, sizeof pn, "%d", PROC_N);
  snprintf(pw, sizeof pw, "%d", PROC_WORKERS);
  (void)bench_python("futures.py", args, parse_python_line);
}

int main(int argc, char **argv) {
  double g[4][32], m_seq, u_seq, gm, gu, gp, mp, km, kr;
  char env[32];
  int quick = 0, python = 1, rc, i, pinned;
  rc = mproc_init(argc, argv);
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
    } else if (strcmp(argv[i], "--no-python") == 0) {
      python = 0;
    } else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) {
      N = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
      WORKERS = atoi(argv[++i]);
    } else {
      printf("usage: %s [--quick] [--no-python] [--n N] [--workers W]\n",
             argv[0]);
      return 2;
    }
  }
  if (N < 1 || WORKERS < 1) return 2;
  if (quick) {
    N = 20000;
    SEQ_N = 2000;
    ROUNDS = 1;
    KILL_N = 5;
    python = 0;
  }
  snprintf(env, sizeof env, "%d", WORKERS);
  setenv("UV_THREADPOOL_SIZE", env, 1); /* before libuv's pool starts */
  bench_banner("futures: thread executor vs uv_queue_work", rc);
  /* First, while the process is small: a child's death costs the kernel
   * its page tables, and children inherit the parent's (after the 200 000
   * futures of gather, the raw kill + waitpid took 0.6 ms, not 0.06). */
  km = mproc_killed();
  kr = raw_killed();
  pinned = run_sequential(&m_seq, &u_seq);
  for (i = 0; i < ROUNDS; i++) {
    g[0][i] = mproc_gather();
    g[1][i] = uv_gather();
    g[2][i] = mproc_proc_gather();
    g[3][i] = mproc_proc_map();
  }
  mp = bench_stats_of(g[3], (size_t)ROUNDS).median;
  gp = bench_stats_of(g[2], (size_t)ROUNDS).median;
  gm = bench_stats_of(g[0], (size_t)ROUNDS).median;
  gu = bench_stats_of(g[1], (size_t)ROUNDS).median;
  if (python)
    run_python();
  else
    printf("python: skipped%s\n", quick ? " (--quick)" : "");

  printf("\ngather: submit %d no-op tasks, then every result (%d workers, "
         "median of %d)\n", N, WORKERS, ROUNDS);
  printf("  mproc ThreadPoolExecutor  %8.2f M tasks/s\n", gm / 1e6);
  printf("  libuv uv_queue_work       %8.2f M tasks/s\n", gu / 1e6);
  if (py_gather > 0)
    printf("  Python ThreadPoolExecutor %8.3f M tasks/s\n", py_gather / 1e6);
  printf("process gather: submit %d no-op tasks, then every result (%d "
         "worker processes, fork where there is fork)\n", PROC_N,
         PROC_WORKERS);
  printf("  mproc ProcessPoolExecutor %8.2f M tasks/s\n", gp / 1e6);
  if (py_proc > 0)
    printf("  Python ProcessPoolExecutor %7.3f M tasks/s\n", py_proc / 1e6);
  printf("process map: %d no-op items, chunksize 1000, results in order\n",
         PROC_N * 10);
  printf("  mproc ProcessPoolExecutor %8.2f M items/s\n", mp / 1e6);
  printf("sequential: submit().result() in turn, %s (%d rounds)\n",
         pinned ? "one CPU" : "not pinned", SEQ_N);
  printf("  mproc ThreadPoolExecutor  %8.2f us\n", m_seq);
  printf("  libuv uv_queue_work       %8.2f us\n", u_seq);
  if (py_seq > 0) printf("  Python ThreadPoolExecutor %8.2f us\n", py_seq);
  printf("killed worker's task reported: SIGKILL to the future done (%d "
         "worker processes, fork; median of %d)\n", PROC_WORKERS, KILL_N);
  printf("  mproc ProcessPoolExecutor %8.3f ms  (MPROC_EWORKERDIED)\n", km);
  printf("  raw fork + kill + waitpid %8.3f ms\n", kr);
  if (py_killed > 0)
    printf("  Python ProcessPoolExecutor %7.3f ms  (BrokenProcessPool, "
           "median of 10)\n", py_killed);

  printf("\ntargets\n");
  printf("  gather >= libuv's rate        %.2fx  %s\n", gu > 0 ? gm / gu : 0,
         gm > 0 && gm >= gu ? "PASS" : "MISS");
  printf("  sequential <= libuv's latency %.2fx  %s\n",
         u_seq > 0 ? m_seq / u_seq : 0,
         m_seq > 0 && m_seq <= u_seq ? "PASS" : "MISS");
  printf("  process gather >= 3 M tasks/s  %.2f M  %s\n", gp / 1e6,
         gp >= 3e6 ? "PASS" : "MISS");
  printf("  killed worker's task reported <= 2x raw  %.2fx (%.3f of %.3f "
         "ms)  %s\n", kr > 0 ? km / kr : 0, km, 2 * kr,
         km > 0 && kr > 0 && km <= 2 * kr ? "PASS" : "MISS");
  if (py_proc > 0)
    printf("  (mproc's process kind over Python's: %.0fx)\n", gp / py_proc);
  if (py_killed > 0 && km > 0)
    printf("  (a killed worker's task: mproc %.1fx faster than Python)\n",
           py_killed / km);
  if (py_gather > 0)
    printf("  (mproc over Python: gather %.0fx, sequential %.0fx)\n",
           gm / py_gather, m_seq > 0 ? py_seq / m_seq : 0);
  return 0;
}
