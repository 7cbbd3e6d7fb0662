/* bench/pipe: Pipe and Connection between two processes, measured in one
 * run beside its peers, with the ratios printed.
 *
 *   pipe [--quick] [--no-python]
 *
 * a. 64-byte ping-pong, both processes pinned to one CPU: round trips per
 *    second and microseconds per round trip.
 * b. 64-byte ping-pong, the processes pinned to two different CPUs.
 * c. 1 MiB messages one way: GB/s (10^9 bytes).
 *
 * Rows: an mproc duplex Pipe (the child's end passed through
 * mproc_process_opts.pass); a raw SOCK_STREAM socketpair with the same
 * framing (a u64 length and the bytes in one sendmsg; the reader reads
 * the length, then the bytes: what mproc does, without the library); and
 * Python's multiprocessing.Pipe (bench/pipe.py, send_bytes/recv_bytes).
 *
 * The child is started with the fork method, pins itself, echoes (a, b)
 * or sinks (c) until end of file. The parent pins itself, warms up, and
 * times N round trips (a, b) or N messages up to the child's 1-byte
 * acknowledgement (c). The child checks each big message's length and
 * its first and last bytes. Rounds alternate between the rows; the
 * median is reported. Pinning uses sched_setaffinity (Linux; elsewhere
 * the rows run unpinned and say so). A miss prints MISS, never a failing
 * exit code: shared machines are noisy. POSIX only. */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mproc.h>

#include "common.h"


#define MAX_ROUNDS 15
#define SMALL 64
#define BIG ((size_t)1 << 20)


enum { S_SAME, S_CROSS, S_BIG, S_COUNT };
enum { K_MPROC, K_RAW, K_PY, K_COUNT };
static const char *const K_LABEL[K_COUNT] = {
    "mproc Pipe", "raw socketpair, same framing", "python Pipe"};

static struct {
  long n[S_COUNT];
  int rounds;
} Z = {{50000, 50000, 2000}, 7};

static double RES[K_COUNT][S_COUNT][MAX_ROUNDS]; /* per second */
static int GOT[K_COUNT][S_COUNT];
static int PINNED = 1;

static double now_s(void) { return bench_now_ns() / 1e9; }

static void pin(int cpu) {
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) PINNED = 0;
#else
  (void)cpu;
  PINNED = 0;
#endif
}

/* ---- the two transports ------------------------------------------------------ */

typedef struct end {
  mproc_conn *c; /* mproc, or NULL: raw */
  int fd;
} end;

static int raw_send(int fd, const void *buf, size_t len) {
  uint64_t n = len;
  struct iovec iov[2] = {{&n, sizeof n}, {(void *)(uintptr_t)buf, len}};
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = iov;
  m.msg_iovlen = len ? 2 : 1;
  while (m.msg_iovlen > 0) {
    ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    while (m.msg_iovlen > 0 && (size_t)r >= m.msg_iov[0].iov_len) {
      r -= (ssize_t)m.msg_iov[0].iov_len;
      m.msg_iov++;
      m.msg_iovlen--;
    }
    if (m.msg_iovlen > 0) {
      m.msg_iov[0].iov_base = (char *)m.msg_iov[0].iov_base + r;
      m.msg_iov[0].iov_len -= (size_t)r;
    }
  }
  return 0;
}

static int read_exact(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r == 0) return -1;
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    got += (size_t)r;
  }
  return 0;
}

static int raw_recv(int fd, void *buf, size_t cap, size_t *len) {
  uint64_t n;
  if (read_exact(fd, &n, sizeof n) != 0 || n > cap) return -1;
  *len = (size_t)n;
  return n ? read_exact(fd, buf, (size_t)n) : 0;
}

static int e_send(end *e, const void *buf, size_t len) {
  return e->c ? mproc_conn_send(e->c, buf, len) : raw_send(e->fd, buf, len);
}

static int e_recv(end *e, void *buf, size_t cap, size_t *len) {
  return e->c ? mproc_conn_recv(e->c, buf, cap, len)
              : raw_recv(e->fd, buf, cap, len);
}

/* ---- the child ----------------------------------------------------------------- */

/* What the fork child finds in its copy of memory. */
static struct {
  int raw_fd;    /* the raw row's end, or -1 */
  int parent_fd; /* the raw row's other end: the child closes its copy */
  int cpu;
  int sink; /* c: receive, check, acknowledge at the end */
  long n;
} JOB;

static int child(const void *arg, size_t len) {
  end e = {NULL, JOB.raw_fd};
  unsigned char *buf = malloc(BIG);
  size_t got;
  long i = 0;
  (void)arg, (void)len;
  if (buf == NULL) return 1;
  if (JOB.raw_fd < 0 && mproc_conn_inherited(0, &e.c) != 0) return 2;
  if (JOB.parent_fd >= 0) close(JOB.parent_fd); /* else no EOF reaches us */
  pin(JOB.cpu);
  while (e_recv(&e, buf, BIG, &got) == 0) {
    if (!JOB.sink) {
      if (e_send(&e, buf, got) != 0) return 3;
      continue;
    }
    if (got != BIG || buf[0] != (unsigned char)i ||
        buf[BIG - 1] != (unsigned char)i)
      return 4;
    if (++i == JOB.n && e_send(&e, "k", 1) != 0) return 5;
  }
  mproc_conn_free(e.c);
  free(buf);
  return 0;
}
MPROC_TASK(child);

/* ---- one round ------------------------------------------------------------------- */

static double run_parent(end *e, int s, long n) {
  unsigned char *buf = malloc(BIG);
  double t0, t = -1;
  size_t got;
  long i;
  if (buf == NULL) return -1;
  memset(buf, 0, BIG);
  if (s != S_BIG) {
    for (i = 0; i < 1000; i++) /* warm-up */
      if (e_send(e, buf, SMALL) || e_recv(e, buf, BIG, &got)) goto out;
    t0 = now_s();
    for (i = 0; i < n; i++)
      if (e_send(e, buf, SMALL) || e_recv(e, buf, BIG, &got)) goto out;
  } else {
    t0 = now_s();
    for (i = 0; i < n; i++) {
      buf[0] = buf[BIG - 1] = (unsigned char)i;
      if (e_send(e, buf, BIG)) goto out;
    }
    if (e_recv(e, buf, BIG, &got)) goto out;
  }
  t = now_s() - t0;
out:
  free(buf);
  return t;
}

/* One round of row k in section s: rate per second, or -1. */
static double round_of(int k, int s) {
  mproc_conn *a = NULL, *b = NULL;
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_pass pass;
  mproc_process *p = NULL;
  int sv[2] = {-1, -1}, code = -1;
  end e = {NULL, -1};
  double t;

  o.method = MPROC_START_FORK;
  if (k == K_MPROC) {
    if (mproc_pipe(MPROC_PIPE_DUPLEX, &a, &b) != 0) return -1;
    pass = MPROC_PASS(b);
    o.pass = &pass;
    o.n_pass = 1;
    e.c = a;
  } else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return -1;
  }
  JOB.raw_fd = sv[1];
  JOB.parent_fd = sv[0];
  JOB.cpu = s == S_CROSS ? 1 : 0;
  JOB.sink = s == S_BIG;
  JOB.n = Z.n[s];
  e.fd = sv[0];
  pin(0);
  if (mproc_process_new(&p, child, NULL, 0, &o) != 0 ||
      mproc_process_start(p) != 0) {
    printf("error: start: %s\n", mproc_last_error());
    t = -1;
  } else {
    mproc_conn_free(b);
    b = NULL;
    if (sv[1] >= 0) close(sv[1]);
    sv[1] = -1;
    t = run_parent(&e, s, Z.n[s]);
  }
  mproc_conn_free(a); /* EOF ends the child */
  if (sv[0] >= 0) close(sv[0]);
  if (sv[1] >= 0) close(sv[1]);
  mproc_conn_free(b);
  if (p) {
    mproc_process_join(p, MPROC_FOREVER);
    mproc_process_exitcode(p, &code);
    mproc_process_free(p);
  }
  if (code != 0 && t > 0) {
    printf("error: %s child exited with %d\n", K_LABEL[k], code);
    t = -1;
  }
  return t > 0 ? (double)Z.n[s] / t * (s == S_BIG ? (double)BIG : 1.0) : -1;
}

/* ---- the Python peer ---------------------------------------------------------------- */

static const char *const S_KEY[S_COUNT] = {"same", "cross", "big"};

static void python_line(const char *line) {
  char key[32];
  double v;
  int s;
  if (sscanf(line, "RESULT %31s value=%lf", key, &v) != 2) {
    printf("python: %s", line);
    return;
  }
  for (s = 0; s < S_COUNT; s++)
    if (strcmp(key, S_KEY[s]) == 0) {
      RES[K_PY][s][0] = v;
      GOT[K_PY][s] = 1;
    }
}

static void run_python(void) {
  char pp[32], big[32];
  const char *args[] = {"--pp-n", pp, "--big-n", big, "--rounds", "3", NULL};
  /* Python is slower: a fifth of the round trips and of the bytes. */
  snprintf(pp, sizeof pp, "%ld", Z.n[S_SAME] / 5);
  snprintf(big, sizeof big, "%ld", Z.n[S_BIG] / 5);
  (void)bench_python("pipe.py", args, python_line);
}

/* ---- report ------------------------------------------------------------------------ */

static double median(int k, int s) {
  return bench_stats_of(RES[k][s], (size_t)GOT[k][s]).median;
}

static void print_section(int s) {
  static const char *const title[S_COUNT] = {
      "a. 64-byte ping-pong, both processes on CPU 0",
      "b. 64-byte ping-pong, CPU 0 <-> CPU 1",
      "c. 1 MiB messages one way"};
  double m = median(K_MPROC, s);
  int k;
  printf("\n%s: %ld %s, median of %d rounds%s\n", title[s], Z.n[s],
         s == S_BIG ? "messages" : "round trips", Z.rounds,
         PINNED ? "" : " (NOT pinned)");
  if (s == S_BIG)
    printf("  %-30s %10s %12s\n", "measurement", "GB/s", "mproc is");
  else
    printf("  %-30s %10s %10s %12s\n", "measurement", "k RT/s", "us/RT",
           "mproc is");
  for (k = 0; k < K_COUNT; k++) {
    double v = median(k, s);
    if (v <= 0) {
      printf("  %-30s %s\n", K_LABEL[k], "-");
      continue;
    }
    if (s == S_BIG)
      printf("  %-30s %10.2f %11.2fx\n", K_LABEL[k], v / 1e9, m / v);
    else
      printf("  %-30s %10.1f %10.2f %11.2fx\n", K_LABEL[k], v / 1e3,
             1e6 / v, m / v);
  }
}

static void print_targets(void) {
  double m = median(K_MPROC, S_SAME), r = median(K_RAW, S_SAME);
  printf("\ntarget: a. mproc round trip <= 1.2x the raw socketpair's: ");
  if (m > 0 && r > 0)
    printf("%.2fx %s\n", r / m, r / m <= 1.2 ? "PASS" : "MISS");
  else
    printf("no numbers\n");
}

int main(int argc, char **argv) {
  int quick = 0, python = 1, i, s, k;
  int init_rc = mproc_init(argc, argv);
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
    } else if (strcmp(argv[i], "--no-python") == 0) {
      python = 0;
    } else {
      printf("usage: %s [--quick] [--no-python]\n"
             "env: MPROC_BENCH_DIR (where pipe.py is, default %s),\n"
             "     MPROC_BENCH_PYTHON (interpreter, default python3)\n",
             argv[0], MPROC_BENCH_DIR);
      return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  if (quick) {
    Z.n[S_SAME] = Z.n[S_CROSS] = 2000;
    Z.n[S_BIG] = 20;
    Z.rounds = 1;
    python = 0;
  }
  bench_banner("pipe: two processes over a Pipe", init_rc);
  fflush(stdout);
  for (i = 0; i < Z.rounds; i++)
    for (s = 0; s < S_COUNT; s++)
      for (k = 0; k < K_PY; k++) {
        double v = round_of(k, s);
        if (v > 0) RES[k][s][GOT[k][s]++] = v;
      }
  if (python)
    run_python();
  else
    printf("python: skipped%s\n", quick ? " (--quick)" : "");
  for (s = 0; s < S_COUNT; s++) print_section(s);
  print_targets();
  return 0;
}
