/* bench/common: see common.h. */
#include "common.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sched.h>
#endif

#include <mproc.h>

#ifndef MPROC_BENCH_CONFIG /* the CMake build type, to warn on Debug */
#define MPROC_BENCH_CONFIG ""
#endif

extern char **environ;

double bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

void bench_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

bench_stats bench_stats_of(const double *values, size_t n) {
  bench_stats st = {0, 0, 0, 0, 0, 0};
  double sum = 0, *v;
  size_t i;
  if (n == 0 || (v = malloc(n * sizeof *v)) == NULL) return st;
  memcpy(v, values, n * sizeof *v);
  qsort(v, n, sizeof *v, cmp_double);
  for (i = 0; i < n; i++) sum += v[i];
  st.n = (int)n;
  st.mean = sum / (double)n;
  st.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  st.min = v[0];
  st.max = v[n - 1];
  st.p90 = v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1];
  free(v);
  return st;
}

void bench_banner(const char *what, int init_rc) {
  char why[256];
  snprintf(why, sizeof why, "%s", mproc_last_error()); /* mproc_init's */
  printf("%s; build %s, %d usable CPUs\n", what,
         MPROC_BENCH_CONFIG[0] ? MPROC_BENCH_CONFIG : "(no type)",
         mproc_cpu_count());
  if (strcmp(MPROC_BENCH_CONFIG, "Release") != 0)
    printf("note: not a Release build; numbers are for smoke only\n");
  if (init_rc < 0)
    printf("note: mproc_init: %s (%s)\n", mproc_err_name(init_rc), why);
}

/* Start argv (argv[0] the interpreter) with its stdout on a pipe. */
static pid_t start(char **argv, int *out) {
  posix_spawn_file_actions_t fa;
  int fds[2], rc;
  pid_t pid = -1;
  if (pipe(fds) != 0) return -1;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  fflush(stdout);
  rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    printf("python: not available (%s: %s)\n", argv[0], strerror(rc));
    close(fds[0]);
    return -1;
  }
  *out = fds[0];
  return pid;
}

int bench_python(const char *script, const char *const *args,
                 void (*on_line)(const char *line)) {
  const char *dir = getenv("MPROC_BENCH_DIR");
  const char *python = getenv("MPROC_BENCH_PYTHON");
  char py[4096], path[4096], line[1024];
  char *argv[32];
  size_t n = 0;
  int fd = -1, status = 0;
  FILE *f;
  pid_t pid;

  if (dir == NULL || dir[0] == '\0') dir = MPROC_BENCH_DIR;
  if (python == NULL || python[0] == '\0') python = "python3";
  snprintf(path, sizeof path, "%s/%s", dir, script);
  if (access(path, R_OK) != 0) {
    printf("python: not available (no %s; set MPROC_BENCH_DIR)\n", path);
    return 0;
  }
  snprintf(py, sizeof py, "%s", python);
  argv[n++] = py;
  argv[n++] = path;
  /* posix_spawn wants char *const[]; the strings are not written to. */
  while (args && *args && n < sizeof argv / sizeof *argv - 1)
    memcpy(&argv[n++], args++, sizeof *argv);
  argv[n] = NULL;
  pid = start(argv, &fd);
  if (pid < 0) return 0;
  f = fdopen(fd, "r");
  if (f == NULL) {
    close(fd);
  } else {
    while (fgets(line, sizeof line, f)) on_line(line);
    fclose(f);
  }
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 1;
  printf("python: not available (%s exited with wait status 0x%x)\n", python,
         (unsigned)status);
  return 0;
}

int bench_pinned(void (*fn)(double *out, size_t n, void *arg), void *arg,
                 double *out, size_t n) {
  double *buf = calloc(n + 1, sizeof *buf);
  size_t bytes = (n + 1) * sizeof *buf;
  int fds[2], status, pinned = 0;
  pid_t pid;
  memset(out, 0, n * sizeof *out);
  if (buf == NULL || pipe(fds) != 0) {
    free(buf);
    return 0;
  }
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    close(fds[0]);
#ifdef __linux__
    {
      cpu_set_t s;
      CPU_ZERO(&s);
      CPU_SET(0, &s);
      buf[n] = sched_setaffinity(0, sizeof s, &s) == 0;
    }
#endif
    fn(buf, n, arg);
    if (write(fds[1], buf, bytes) != (ssize_t)bytes) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  if (pid < 0 || read(fds[0], buf, bytes) != (ssize_t)bytes)
    printf("pinned child: it failed\n");
  else {
    memcpy(out, buf, n * sizeof *out);
    pinned = buf[n] != 0;
  }
  close(fds[0]);
  if (pid > 0)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  free(buf);
  return pinned;
}

double bench_submit_result(mproc_executor *ex, mproc_task_fn fn, int n) {
  mproc_future *f;
  double t0, t;
  int i, bad = 0;
  if (mproc_executor_submit(ex, fn, NULL, 0, &f) == 0) { /* warm */
    (void)mproc_future_result(f, MPROC_FOREVER, NULL, NULL);
    mproc_future_free(f);
  }
  t0 = bench_now_ns();
  for (i = 0; i < n; i++) {
    if (mproc_executor_submit(ex, fn, NULL, 0, &f) != 0) {
      bad++;
      continue;
    }
    bad += mproc_future_result(f, MPROC_FOREVER, NULL, NULL) != 0;
    mproc_future_free(f);
  }
  t = bench_now_ns() - t0;
  mproc_executor_free(ex);
  return bad ? 0 : t / 1e3 / n;
}

int bench_result_line(const char *line, char key[64], double *value,
                      long *n) {
  long count;
  if (sscanf(line, "RESULT %63s value=%lf n=%ld", key, value, &count) == 3) {
    if (n) *n = count;
    return 1;
  }
  if (line[0] != '\0') printf("python: %s", line);
  return 0;
}
