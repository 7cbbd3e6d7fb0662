/* bench/manager: the Manager, measured in one run beside its peers, with
 * the targets.
 *
 *   manager [--quick] [--no-python]
 *
 * a. dict get round trip (a 1-byte key, an 8-byte value), the client and
 *    the server process both on CPU 0: microseconds per get. Beside it a
 *    raw AF_UNIX round trip (a socketpair, a forked echo child on CPU 0,
 *    the same 4-byte length framing and 64-byte messages: what the wire
 *    costs without a manager), and Python's Manager().dict() get.
 *    Target: mproc <= 1.5x the raw round trip.
 * b. dict set from a child (the proxy passed through the pass list), all
 *    on CPU 0: sets per second. Target: >= 0.5x the raw round-trip rate.
 * c. Manager start to first reply: mproc_manager_start, a dict, its first
 *    get. Target: <= 2 ms (Python's Manager() ~12 ms here).
 *
 * Each row is the median of several rounds; rows alternate. Pinning uses
 * sched_setaffinity (Linux; elsewhere the rows run unpinned and say so).
 * A miss prints MISS, never a failing exit code. POSIX only. */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mproc.h>

#include "common.h"

#define ROUNDS_MAX 15

static struct {
  long n_get, n_set;
  int rounds;
} Z = {20000, 20000, 5};
static int PINNED = 1;

enum { R_GET, R_RAW, R_SET, R_START, R_COUNT };
static double RES[R_COUNT][ROUNDS_MAX];
static int GOT[R_COUNT];
static double PY[R_COUNT];

static double now_us(void) { return bench_now_ns() / 1e3; }

static void pin_pid(long pid, int cpu) {
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity((pid_t)pid, sizeof set, &set) != 0) PINNED = 0;
#else
  (void)pid, (void)cpu;
  PINNED = 0;
#endif
}

static void add(int r, double v) {
  if (v > 0 && GOT[r] < ROUNDS_MAX) RES[r][GOT[r]++] = v;
}

/* ---- a. get round trips; c. start to first reply -------------------------- */

static void round_get(void) {
  mproc_manager_opts o = MPROC_MANAGER_OPTS_INIT;
  mproc_manager *m;
  mproc_proxy *d;
  double t0 = now_us(), t1;
  void *v;
  size_t n;
  long i;
  if (mproc_manager_start(&m, &o) != 0 || mproc_manager_dict(m, &d) != 0 ||
      mproc_dict_set(d, "k", 1, "01234567", 8) != 0 ||
      mproc_dict_get(d, "k", 1, &v, &n) != 0) {
    printf("error: %s\n", mproc_last_error());
    return;
  }
  t1 = now_us();
  mproc_free(v);
  add(R_START, t1 - t0);
  pin_pid(0, 0);
  pin_pid(mproc_manager_pid(m), 0);
  for (i = 0; i < 1000; i++) { /* warm-up */
    if (mproc_dict_get(d, "k", 1, &v, &n) != 0) break;
    mproc_free(v);
  }
  t0 = now_us();
  for (i = 0; i < Z.n_get; i++) {
    if (mproc_dict_get(d, "k", 1, &v, &n) != 0) break;
    mproc_free(v);
  }
  if (i == Z.n_get) add(R_GET, (now_us() - t0) / (double)i);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* ---- the raw AF_UNIX round trip -------------------------------------------- */

static int rd(int fd, void *b, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)b + got, n - got);
    if (r <= 0 && !(r < 0 && errno == EINTR)) return -1;
    if (r > 0) got += (size_t)r;
  }
  return 0;
}

/* One framed message: 4-byte length, body (one write, as mproc's). */
static int rt(int fd, unsigned char *buf, size_t len) {
  uint32_t n;
  buf[0] = buf[1] = buf[2] = 0;
  buf[3] = (unsigned char)len;
  if (write(fd, buf, 4 + len) != (ssize_t)(4 + len)) return -1;
  if (rd(fd, &n, 4) != 0) return -1;
  return rd(fd, buf + 4, len);
}

static void round_raw(void) {
  unsigned char buf[4 + 64];
  int sv[2];
  long i;
  pid_t pid;
  double t0;
  memset(buf, 0, sizeof buf);
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return;
  pid = fork();
  if (pid == 0) { /* echo until end of file */
    close(sv[0]);
    pin_pid(0, 0);
    while (rd(sv[1], buf, 4) == 0 && rd(sv[1], buf + 4, 64) == 0)
      if (write(sv[1], buf, sizeof buf) != (ssize_t)sizeof buf) break;
    _exit(0);
  }
  close(sv[1]);
  pin_pid(0, 0);
  for (i = 0; i < 1000; i++) rt(sv[0], buf, 64);
  t0 = now_us();
  for (i = 0; i < Z.n_get; i++)
    if (rt(sv[0], buf, 64) != 0) break;
  if (i == Z.n_get) add(R_RAW, (now_us() - t0) / (double)i);
  close(sv[0]);
  waitpid(pid, NULL, 0);
}

/* ---- b. sets from a child ------------------------------------------------------ */

static int setter(const void *arg, size_t len) {
  mproc_proxy *d;
  long i, n = *(const long *)arg;
  double t0, rate;
  char out[32];
  int k;
  (void)len;
  if (mproc_inherited(0, MPROC_KIND_PROXY, &d) != 0) return 1;
  pin_pid(0, 0);
  t0 = now_us();
  for (i = 0; i < n; i++)
    if (mproc_dict_set(d, &i, 1, "01234567", 8) != 0) return 2;
  rate = (double)n / ((now_us() - t0) / 1e6);
  k = snprintf(out, sizeof out, "%.0f", rate);
  if (mproc_dict_set(d, "rate", 4, out, (size_t)k) != 0) return 3;
  mproc_proxy_free(d);
  return 0;
}
MPROC_TASK(setter);

static void round_set(void) {
  mproc_manager_opts o = MPROC_MANAGER_OPTS_INIT;
  mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
  mproc_manager *m;
  mproc_proxy *d;
  mproc_process *p = NULL;
  mproc_pass pass[1];
  void *v = NULL;
  size_t n;
  int code = -1;
  if (mproc_manager_start(&m, &o) != 0 || mproc_manager_dict(m, &d) != 0) {
    printf("error: %s\n", mproc_last_error());
    return;
  }
  pin_pid(mproc_manager_pid(m), 0);
  pass[0] = MPROC_PASS(d);
  po.pass = pass;
  po.n_pass = 1;
  po.method = MPROC_START_FORK;
  if (mproc_process_new(&p, setter, &Z.n_set, sizeof Z.n_set, &po) == 0 &&
      mproc_process_start(p) == 0 &&
      mproc_process_join(p, MPROC_FOREVER) == 0 &&
      mproc_process_exitcode(p, &code) == 0 && code == 0 &&
      mproc_dict_get(d, "rate", 4, &v, &n) == 0)
    add(R_SET, strtod(v, NULL));
  else
    printf("error: the setting child: %d %s\n", code, mproc_last_error());
  mproc_free(v);
  mproc_process_free(p);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* ---- Python -------------------------------------------------------------------- */

static void python_line(const char *line) {
  static const char *const key[R_COUNT] = {"get", "raw", "set", "start"};
  char k[32];
  double v;
  int r;
  if (sscanf(line, "RESULT %31s value=%lf", k, &v) != 2) {
    printf("python: %s", line);
    return;
  }
  for (r = 0; r < R_COUNT; r++)
    if (strcmp(k, key[r]) == 0) PY[r] = v;
}

static double med(int r) {
  return bench_stats_of(RES[r], (size_t)GOT[r]).median;
}

static void row(const char *label, double v, const char *unit, double py) {
  if (v <= 0)
    printf("  %-44s %12s\n", label, "-");
  else if (py > 0)
    printf("  %-44s %10.2f %-6s python %10.2f (mproc %.1fx faster)\n", label, v,
           unit, py, strcmp(unit, "k/s") == 0 ? v / py : py / v);
  else
    printf("  %-44s %10.2f %-6s\n", label, v, unit);
}

static void verdict(const char *what, int ok, double ratio, const char *unit) {
  printf("target: %-52s ", what);
  if (ratio <= 0) {
    printf("no numbers\n");
    return;
  }
  printf("%.2f%s %s\n", ratio, unit, ok ? "PASS" : "MISS");
}

static void report(void) {
  double get = med(R_GET), raw = med(R_RAW), set = med(R_SET);
  double start = med(R_START);
  printf("\na. dict get round trip, client and server on CPU 0%s (median "
         "of %d)\n",
         PINNED ? "" : " (NOT pinned)", GOT[R_GET]);
  row("mproc Manager dict get", get, "us", PY[R_GET]);
  row("raw AF_UNIX round trip (socketpair, 64 B)", raw, "us", 0);
  printf("\nb. dict set from a child, one CPU\n");
  row("mproc Manager dict set from a child", set / 1e3, "k/s", PY[R_SET] / 1e3);
  row("raw AF_UNIX round-trip rate", raw > 0 ? 1e3 / raw : 0, "k/s", 0);
  printf("\nc. Manager start to first reply\n");
  row("mproc_manager_start + dict + first get", start / 1e3, "ms",
      PY[R_START] / 1e3);
  printf("\n");
  verdict("a. get <= 1.5x the raw AF_UNIX round trip:", get > 0 && raw > 0 &&
              get / raw <= 1.5, raw > 0 ? get / raw : 0, "x");
  verdict("b. child set rate >= 0.5x the raw round-trip rate:",
          set > 0 && raw > 0 && set / (1e6 / raw) >= 0.5,
          raw > 0 ? set / (1e6 / raw) : 0, "x");
  verdict("c. start to first reply <= 2 ms:", start > 0 && start <= 2000,
          start / 1e3, " ms");
}

int main(int argc, char **argv) {
  int quick = 0, python = 1, i;
  int init_rc = mproc_init(argc, argv);
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
    } else if (strcmp(argv[i], "--no-python") == 0) {
      python = 0;
    } else {
      printf("usage: %s [--quick] [--no-python]\n", argv[0]);
      return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  if (quick) {
    Z.n_get = Z.n_set = 500;
    Z.rounds = 1;
    python = 0;
  }
  bench_banner("manager: the Manager's dict beside a raw AF_UNIX round trip",
               init_rc);
  fflush(stdout);
  for (i = 0; i < Z.rounds; i++) {
    round_get();
    round_raw();
    round_set();
  }
  if (python) {
    char n[32];
    const char *args[] = {"--n", n, "--rounds", "3", NULL};
    snprintf(n, sizeof n, "%ld", Z.n_get / 4);
    (void)bench_python("manager.py", args, python_line);
  } else {
    printf("python: skipped%s\n", quick ? " (--quick)" : "");
  }
  report();
  return 0;
}
