/* bench/queue: message passing between processes, measured in one run
 * beside its peers, with the ratios printed.
 *
 *   queue [--quick] [--no-python] [--mproc-only] [--only SECTIONS]
 *
 * a. 64-byte messages, 1 producer process -> 1 consumer process: messages
 *    per second.
 * b. 64-byte messages, 4 producers -> 1 consumer: messages per second.
 * c. 1 MiB messages, 1 -> 1: GB/s (10^9 bytes).
 *
 * Rows (where they apply): an mproc Queue (default options: 1 MiB ring);
 * a raw lock-free single-producer single-consumer byte ring in a MAP_SHARED
 * mapping (C11 acquire/release, each side caching the other's index,
 * busy-polling with a pause and a yield every 1024 polls: the floor for
 * 1 -> 1); a ring under a pshared pthread mutex with two condition
 * variables (the classic multi-producer design); a SOCK_STREAM socketpair
 * with length-prefixed messages (one send per message, a buffered
 * reader); ZeroMQ PUSH/PULL over ipc:// (when CMake found libzmq); and
 * Python's multiprocessing Queue and SimpleQueue (bench/queue.py, with
 * fewer messages).
 *
 * --mproc-only runs the mproc rows alone, for profiling:
 *   perf record -e cpu-clock -g -- queue --mproc-only --only a
 *
 * Every process is a child started with fork (mproc, start method fork;
 * the parent's handles and mappings work in them as is), sets up (opens
 * its socket, connects), reports ready, and spins until the parent says
 * go: the clock starts then and stops when the consumer has every
 * message. Each message carries its producer and sequence number at both
 * ends; the consumer checks length, order per producer and both tags, so
 * a lost, torn or reordered message is an error, not a fast number.
 * Rounds are interleaved across the rows and the median is reported. A
 * miss prints MISS, never a failing exit code (benchmarks do not fail CI:
 * shared machines are noisy). POSIX only. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mproc.h>

#include "common.h"

#ifdef MPROC_BENCH_ZMQ
#include <zmq.h>
#endif


#define MAX_ROUNDS 15
#define MAX_PROCS 5            /* 4 producers + 1 consumer */
#define SMALL 64               /* a. and b. */
#define BIG ((size_t)1 << 20)  /* c. */
#define SPSC_CAP ((size_t)1 << 20) /* as mproc's default ring */
#define SPSC_PUBLISH 65536     /* stream big messages in steps of this */
#define COND_CAP ((size_t)4 << 20) /* holds a 1 MiB record whole */

/* ---- sizes (set in main from the mode) ------------------------------------- */

static struct {
  long n[3];  /* messages per round in a, b (all producers), c */
  int rounds;
} Z = {{500000, 500000, 500}, 5};

static const char *ONLY = "abc"; /* the sections to run (--only) */
static int MPROC_ONLY;           /* --mproc-only: no peers (profiling) */
static int NO_ZMQ;               /* --quick: libzmq's threads are not
                                    instrumented, TSan would cry wolf */
#define RUN(section) (strchr(ONLY, (section)) != NULL)

/* ---- clock, series, statistics ---------------------------------------------- */

typedef struct series {
  int got;              /* rounds recorded */
  double v[MAX_ROUNDS]; /* messages or bytes per second, one per round */
  char error[300];
} series;

typedef bench_stats stats;

static stats summarise(const series *s) {
  stats none = {0, 0, 0, 0, 0, 0};
  if (s->error[0]) return none;
  return bench_stats_of(s->v, (size_t)s->got);
}

/* ---- state shared with the children ------------------------------------------ */

/* The raw rings' indices: each on a cache line of its own. */
typedef struct spsc {
  alignas(64) _Atomic uint64_t tail; /* written by the producer */
  alignas(64) _Atomic uint64_t head; /* written by the consumer */
  alignas(64) unsigned char data[SPSC_CAP];
} spsc;

typedef struct cring {
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  uint64_t head, tail;
  int get_waiting, put_waiting;
  alignas(64) unsigned char data[COND_CAP];
} cring;

/* One MAP_SHARED mapping set up before the children fork. */
typedef struct shared {
  alignas(64) _Atomic int ready; /* children that are set up */
  _Atomic int go;                /* the parent's start signal */
  _Atomic int bound;             /* zeromq: the consumer has bound */
  _Atomic int done;              /* the consumer stopped (zeromq waits) */
  _Atomic long got;              /* the consumer's progress (to report a hang) */
  double t_end;                  /* the consumer's last message, ns */
  char err[256];                 /* a child's failure */
  char zpath[128];               /* zeromq: the endpoint */
  spsc ring;
  cring cr;
} shared;

static shared *SH;
static mproc_queue *QUEUE;   /* made once, inherited by every child */
static int SOCK[2] = {-1, -1}; /* socketpair: made per round */

/* ---- the rows ------------------------------------------------------------------ */

enum { K_MPROC, K_SPSC, K_COND, K_SOCK, K_ZMQ, K_COUNT };
enum { S_ONE, S_FOUR, S_BIG, S_COUNT };

/* What a child calls: open its end (role 0 consumes, 1.. produce), then
 * put or get, then close. put/get return 0 or set SH->err and return -1. */
typedef struct impl {
  const char *label;
  int applies[S_COUNT];
  int (*open)(int role);
  int (*put)(const void *msg, size_t len);
  int (*get)(void *buf, size_t cap, size_t *len);
  void (*close)(int role);
} impl;

/* Record why a child failed: "what: why (detail)". */
static void child_fail(const char *what, const char *why, const char *detail) {
  snprintf(SH->err, sizeof SH->err, "%s: %s (%s)", what, why, detail);
}

static int no_open(int role) { return 0; }
static void no_close(int role) {}

/* mproc Queue: the handle made before the fork, as is. */
static int mq_put(const void *msg, size_t len) {
  int rc = mproc_queue_put(QUEUE, msg, len, MPROC_FOREVER);
  if (rc < 0) child_fail("put", mproc_err_name(rc), mproc_last_error());
  return rc < 0 ? -1 : 0;
}
static int mq_get(void *buf, size_t cap, size_t *len) {
  int rc = mproc_queue_get(QUEUE, buf, cap, len, MPROC_FOREVER);
  if (rc < 0) child_fail("get", mproc_err_name(rc), mproc_last_error());
  return rc < 0 ? -1 : 0;
}

/* Raw SPSC ring: a byte stream of {uint64 length, payload}. Each side
 * writes its index with a release store once per message (or every
 * SPSC_PUBLISH bytes of a big one), and re-reads the other's index only
 * when its cached copy says full / empty. */
static uint64_t sp_mine, sp_published, sp_other;

static void sp_publish(_Atomic uint64_t *mine) {
  atomic_store_explicit(mine, sp_mine, memory_order_release);
  sp_published = sp_mine;
}

/* One busy-poll step: a pause, and every 1024 a sched_yield, so that a
 * peer sharing our CPU (a busy machine) still gets to run. */
static void sp_poll(void) {
  static unsigned polls;
  bench_relax();
  if (++polls % 1024 == 0) sched_yield();
}

static void sp_write(const unsigned char *src, size_t n) {
  while (n > 0) {
    size_t off = (size_t)(sp_mine % SPSC_CAP), room, chunk;
    room = SPSC_CAP - (size_t)(sp_mine - sp_other);
    while (room == 0) {
      if (sp_published != sp_mine) sp_publish(&SH->ring.tail);
      sp_poll();
      sp_other = atomic_load_explicit(&SH->ring.head, memory_order_acquire);
      room = SPSC_CAP - (size_t)(sp_mine - sp_other);
    }
    chunk = n < room ? n : room;
    if (chunk > SPSC_CAP - off) chunk = SPSC_CAP - off;
    if (chunk > SPSC_PUBLISH) chunk = SPSC_PUBLISH; /* overlap the copies */
    memcpy(SH->ring.data + off, src, chunk);
    sp_mine += chunk;
    src += chunk;
    n -= chunk;
    if (sp_mine - sp_published >= SPSC_PUBLISH) sp_publish(&SH->ring.tail);
  }
}

static void sp_read(unsigned char *dst, size_t n) {
  while (n > 0) {
    size_t off = (size_t)(sp_mine % SPSC_CAP), have, chunk;
    have = (size_t)(sp_other - sp_mine);
    while (have == 0) {
      if (sp_published != sp_mine) sp_publish(&SH->ring.head);
      sp_poll();
      sp_other = atomic_load_explicit(&SH->ring.tail, memory_order_acquire);
      have = (size_t)(sp_other - sp_mine);
    }
    chunk = n < have ? n : have;
    if (chunk > SPSC_CAP - off) chunk = SPSC_CAP - off;
    if (chunk > SPSC_PUBLISH) chunk = SPSC_PUBLISH;
    memcpy(dst, SH->ring.data + off, chunk);
    sp_mine += chunk;
    dst += chunk;
    n -= chunk;
    if (sp_mine - sp_published >= SPSC_PUBLISH) sp_publish(&SH->ring.head);
  }
}

static int sp_open(int role) {
  sp_mine = sp_published = sp_other = 0;
  return 0;
}
static int sp_put(const void *msg, size_t len) {
  uint64_t n = len;
  sp_write((const unsigned char *)&n, sizeof n);
  sp_write(msg, len);
  sp_publish(&SH->ring.tail);
  return 0;
}
static int sp_get(void *buf, size_t cap, size_t *len) {
  uint64_t n;
  sp_read((unsigned char *)&n, sizeof n);
  if (n > cap) {
    snprintf(SH->err, sizeof SH->err, "spsc: a %llu-byte message",
             (unsigned long long)n);
    return -1;
  }
  sp_read(buf, (size_t)n);
  sp_publish(&SH->ring.head);
  *len = (size_t)n;
  return 0;
}

/* Mutex + condition variables: whole records {uint64 length, payload
 * padded to 8} copied under the lock; each side signals only when the
 * other side has a waiter. */
static size_t cr_rec(size_t len) { return 8 + ((len + 7) & ~(size_t)7); }

static void cr_copy_in(uint64_t pos, const void *src, size_t n) {
  size_t off = (size_t)(pos % COND_CAP), first = COND_CAP - off;
  if (first > n) first = n;
  memcpy(SH->cr.data + off, src, first);
  memcpy(SH->cr.data, (const unsigned char *)src + first, n - first);
}

static void cr_copy_out(uint64_t pos, void *dst, size_t n) {
  size_t off = (size_t)(pos % COND_CAP), first = COND_CAP - off;
  if (first > n) first = n;
  memcpy(dst, SH->cr.data + off, first);
  memcpy((unsigned char *)dst + first, SH->cr.data, n - first);
}

/* (Re)make the mutex and condition variables: before every round, as a
 * child killed after a failure may have left them held or waited on. */
static int cr_init(void) {
  pthread_mutexattr_t ma;
  pthread_condattr_t ca;
  int rc;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_condattr_init(&ca);
  pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
  memset(&SH->cr, 0, offsetof(cring, data));
  rc = pthread_mutex_init(&SH->cr.mu, &ma);
  if (rc == 0) rc = pthread_cond_init(&SH->cr.not_empty, &ca);
  if (rc == 0) rc = pthread_cond_init(&SH->cr.not_full, &ca);
  pthread_mutexattr_destroy(&ma);
  pthread_condattr_destroy(&ca);
  return rc;
}

static int cr_put(const void *msg, size_t len) {
  cring *c = &SH->cr;
  uint64_t n = len;
  pthread_mutex_lock(&c->mu);
  while (COND_CAP - (c->tail - c->head) < cr_rec(len)) {
    c->put_waiting++;
    pthread_cond_wait(&c->not_full, &c->mu);
    c->put_waiting--;
  }
  cr_copy_in(c->tail, &n, sizeof n);
  cr_copy_in(c->tail + 8, msg, len);
  c->tail += cr_rec(len);
  if (c->get_waiting) pthread_cond_signal(&c->not_empty);
  pthread_mutex_unlock(&c->mu);
  return 0;
}

static int cr_get(void *buf, size_t cap, size_t *len) {
  cring *c = &SH->cr;
  uint64_t n;
  int rc = 0;
  pthread_mutex_lock(&c->mu);
  while (c->tail == c->head) {
    c->get_waiting++;
    pthread_cond_wait(&c->not_empty, &c->mu);
    c->get_waiting--;
  }
  cr_copy_out(c->head, &n, sizeof n);
  if (n > cap) {
    snprintf(SH->err, sizeof SH->err, "condvar ring: a %llu-byte message",
             (unsigned long long)n);
    rc = -1;
  } else {
    cr_copy_out(c->head + 8, buf, (size_t)n);
    c->head += cr_rec((size_t)n);
    *len = (size_t)n;
    if (c->put_waiting) pthread_cond_broadcast(&c->not_full);
  }
  pthread_mutex_unlock(&c->mu);
  return rc;
}

/* Socketpair: the producer sends {uint32 length, payload} with one send
 * per message (a queue delivers each put); the consumer reads through a
 * 256 KiB buffer, and big payloads straight into the caller's buffer. */
static int SK = -1;
static unsigned char *SKBUF;
static size_t sk_at, sk_have;
#define SKBUF_SIZE ((size_t)256 << 10)

static int sk_open(int role) {
  SK = SOCK[role == 0 ? 1 : 0];
  close(SOCK[role == 0 ? 0 : 1]);
  sk_at = sk_have = 0;
  if (role == 0 && SKBUF == NULL && (SKBUF = malloc(SKBUF_SIZE)) == NULL) {
    snprintf(SH->err, sizeof SH->err, "socketpair: out of memory");
    return -1;
  }
  return 0;
}

static int sk_send_all(const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(SK, p, n, 0);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      child_fail("socketpair", "send", strerror(errno));
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int sk_put(const void *msg, size_t len) {
  unsigned char small[4 + SMALL];
  uint32_t n = (uint32_t)len;
  if (len <= SMALL) { /* header and payload in one send */
    memcpy(small, &n, 4);
    memcpy(small + 4, msg, len);
    return sk_send_all(small, 4 + len);
  }
  if (sk_send_all((const unsigned char *)&n, 4) < 0) return -1;
  return sk_send_all(msg, len);
}

/* Copy n bytes from the stream: buffered, or straight into dst when the
 * buffer is empty and n is large. */
static int sk_take(unsigned char *dst, size_t n) {
  while (n > 0) {
    ssize_t r;
    if (sk_have > 0) {
      size_t c = n < sk_have ? n : sk_have;
      memcpy(dst, SKBUF + sk_at, c);
      sk_at += c;
      sk_have -= c;
      dst += c;
      n -= c;
      continue;
    }
    if (n >= SKBUF_SIZE) r = recv(SK, dst, n, 0);
    else r = recv(SK, SKBUF, SKBUF_SIZE, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      child_fail("socketpair", "recv", r == 0 ? "end of stream" : strerror(errno));
      return -1;
    }
    if (n >= SKBUF_SIZE) {
      dst += r;
      n -= (size_t)r;
    } else {
      sk_at = 0;
      sk_have = (size_t)r;
    }
  }
  return 0;
}

static int sk_get(void *buf, size_t cap, size_t *len) {
  uint32_t n;
  if (sk_take((unsigned char *)&n, 4) < 0) return -1;
  if (n > cap) {
    snprintf(SH->err, sizeof SH->err, "socketpair: a %u-byte message", n);
    return -1;
  }
  *len = n;
  return sk_take(buf, n);
}

static void sk_close(int role) {
  close(SK);
  SK = -1;
}

#ifdef MPROC_BENCH_ZMQ
/* ZeroMQ: each process its own context (one is never shared across a
 * fork); the consumer binds a PULL socket, the producers connect PUSH
 * sockets once it has. Defaults otherwise (high-water marks of 1000). */
static void *ZCTX, *ZSOCK;

static int zmq_fail(const char *what) {
  child_fail("zeromq", what, zmq_strerror(zmq_errno()));
  return -1;
}

static int zq_open(int role) {
  double until = bench_now_ns() + 10e9;
  ZCTX = zmq_ctx_new();
  if (ZCTX == NULL) return zmq_fail("zmq_ctx_new");
  ZSOCK = zmq_socket(ZCTX, role == 0 ? ZMQ_PULL : ZMQ_PUSH);
  if (ZSOCK == NULL) return zmq_fail("zmq_socket");
  if (role == 0) {
    if (zmq_bind(ZSOCK, SH->zpath) != 0) return zmq_fail("zmq_bind");
    atomic_store(&SH->bound, 1);
    return 0;
  }
  while (!atomic_load(&SH->bound) && bench_now_ns() < until) sched_yield();
  if (zmq_connect(ZSOCK, SH->zpath) != 0) return zmq_fail("zmq_connect");
  return 0;
}
static int zq_put(const void *msg, size_t len) {
  while (zmq_send(ZSOCK, msg, len, 0) < 0)
    if (zmq_errno() != EINTR) return zmq_fail("zmq_send");
  return 0;
}
static int zq_get(void *buf, size_t cap, size_t *len) {
  int n;
  while ((n = zmq_recv(ZSOCK, buf, cap, 0)) < 0)
    if (zmq_errno() != EINTR) return zmq_fail("zmq_recv");
  *len = (size_t)n;
  return 0;
}
/* A producer waits for the consumer to have everything before it closes:
 * zmq_ctx_term (linger) can return while the last messages are still in
 * flight, and they are lost if the process then exits (libzmq #160). */
static void zq_close(int role) {
  double until = bench_now_ns() + 30e9;
  while (role != 0 && !atomic_load(&SH->done) && bench_now_ns() < until)
    usleep(100);
  zmq_close(ZSOCK);
  zmq_ctx_term(ZCTX);
}
#define ZMQ_IMPL {"zeromq ipc PUSH/PULL", {1, 1, 1}, zq_open, zq_put, zq_get, zq_close}
#else
#define ZMQ_IMPL {"zeromq ipc PUSH/PULL", {0, 0, 0}, NULL, NULL, NULL, NULL}
#endif

static const impl IMPL[K_COUNT] = {
    {"mproc Queue", {1, 1, 1}, no_open, mq_put, mq_get, no_close},
    {"raw SPSC ring (busy-poll)", {1, 0, 1}, sp_open, sp_put, sp_get, no_close},
    {"mutex+condvar ring", {1, 1, 1}, no_open, cr_put, cr_get, no_close},
    {"socketpair (stream)", {1, 0, 1}, sk_open, sk_put, sk_get, sk_close},
    ZMQ_IMPL,
};

static series RES[K_COUNT][S_COUNT];

/* ---- children ---------------------------------------------------------------- */

static struct {
  int kind, scen, producers;
  long n; /* messages in all */
} J;

static size_t msg_size(int scen) { return scen == S_BIG ? BIG : SMALL; }

/* Report ready and wait for the start; 0, or -1 if open failed. */
static int child_begin(int role) {
  int rc = IMPL[J.kind].open(role);
  atomic_fetch_add(&SH->ready, 1);
  while (!atomic_load(&SH->go)) sched_yield();
  return rc;
}

/* Producer `role` (1..): its share of the n messages, each tagged at both
 * ends with (producer, sequence). */
static int producer(int role) {
  size_t len = msg_size(J.scen);
  unsigned char *buf = malloc(len);
  long i, mine = J.n / J.producers + (role - 1 < J.n % J.producers);
  int rc = 0;
  if (buf == NULL) {
    snprintf(SH->err, sizeof SH->err, "producer: out of memory");
    atomic_fetch_add(&SH->ready, 1);
    return -1;
  }
  memset(buf, 0xa5, len);
  if (child_begin(role) < 0) rc = -1;
  for (i = 0; i < mine && rc == 0; i++) {
    uint64_t tag = ((uint64_t)role << 48) | (uint64_t)i;
    memcpy(buf, &tag, 8);
    memcpy(buf + len - 8, &tag, 8);
    rc = IMPL[J.kind].put(buf, len);
  }
  IMPL[J.kind].close(role);
  free(buf);
  return rc;
}

static int consumer(void) {
  size_t cap = msg_size(J.scen) + 64, len = 0, want = msg_size(J.scen);
  unsigned char *buf = malloc(cap);
  uint64_t next[MAX_PROCS] = {0};
  long i;
  int rc = 0;
  if (buf == NULL) {
    snprintf(SH->err, sizeof SH->err, "consumer: out of memory");
    atomic_fetch_add(&SH->ready, 1);
    return -1;
  }
  if (child_begin(0) < 0) rc = -1;
  for (i = 0; i < J.n && rc == 0; i++) {
    uint64_t head, tail, who;
    rc = IMPL[J.kind].get(buf, cap, &len);
    if (rc < 0) break;
    memcpy(&head, buf, 8);
    memcpy(&tail, buf + (len >= 8 ? len - 8 : 0), 8);
    who = head >> 48;
    if (len != want || head != tail || who < 1 || who > (uint64_t)J.producers ||
        (head & 0xffffffffffffu) != next[who]) {
      snprintf(SH->err, sizeof SH->err, "message %ld: %zu bytes, tags "
               "%llx/%llx: lost, torn or out of order", i, len,
               (unsigned long long)head, (unsigned long long)tail);
      rc = -1;
      break;
    }
    next[who]++;
    if (i % 256 == 0) atomic_store_explicit(&SH->got, i, memory_order_relaxed);
  }
  SH->t_end = bench_now_ns();
  atomic_store(&SH->done, 1);
  IMPL[J.kind].close(0);
  free(buf);
  return rc;
}

static int child_entry(const void *arg, size_t len) {
  int role = 0;
  if (len == sizeof role) memcpy(&role, arg, sizeof role);
  return (role == 0 ? consumer() : producer(role)) == 0 ? 0 : 1;
}

/* A CLOEXEC stream socketpair (the children inherit it through fork). */
static int make_socketpair(int sv[2]) {
#ifdef SOCK_CLOEXEC
  return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
#else /* macOS: set it right after; this program starts no threads */
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return -1;
  fcntl(sv[0], F_SETFD, FD_CLOEXEC);
  fcntl(sv[1], F_SETFD, FD_CLOEXEC);
  return 0;
#endif
}

/* Per-round set-up of what the children inherit; 0 or -1 with err. */
static int round_setup(char *err, size_t size) {
  SH->ready = 0;
  SH->go = 0;
  SH->bound = 0;
  SH->got = 0;
  SH->done = 0;
  SH->err[0] = '\0';
  SH->ring.head = SH->ring.tail = 0;
  if (J.kind == K_COND && (errno = cr_init()) != 0) {
    snprintf(err, size, "pthread_mutex_init / cond_init: %s", strerror(errno));
    return -1;
  }
  if (J.kind == K_MPROC) { /* what a failed round left */
    void *m;
    size_t len;
    while (mproc_queue_get_alloc(QUEUE, &m, &len, 0) == 0) mproc_free(m);
  }
  snprintf(SH->zpath, sizeof SH->zpath, "ipc:///tmp/mproc-bench-queue-%ld",
           (long)getpid());
  if (J.kind == K_SOCK && make_socketpair(SOCK) != 0) {
    snprintf(err, size, "socketpair: %s", strerror(errno));
    return -1;
  }
  return 0;
}

/* Wait for the children. When one fails (or 120 s pass), the others are
 * killed: a failed consumer leaves its producers blocked on a full queue,
 * a failed producer its consumer waiting for ever. Frees them; 0 if all
 * exited 0, else -1 with the first reason in err (unless err is NULL). */
static int reap(mproc_process **p, int nproc, char *err, size_t size) {
  double deadline = bench_now_ns() + 120e9;
  int i, left = nproc, failed = 0, code;
  for (i = 0; i < nproc; i++)
    if (p[i] == NULL) left--;
  while (left > 0) {
    int kill_all = failed || bench_now_ns() > deadline, waited = 0;
    for (i = 0; i < nproc; i++) {
      double t = kill_all ? MPROC_FOREVER : waited ? 0 : 0.1;
      if (p[i] == NULL) continue;
      /* Block on the first one alive (the consumer, while it runs), only
       * glance at the others: few wake-ups while the children measure. */
      waited = 1;
      if (kill_all) mproc_process_kill(p[i]);
      if (mproc_process_join(p[i], t) == MPROC_ETIMEDOUT) continue;
      code = -1;
      if ((mproc_process_exitcode(p[i], &code) != 0 || code != 0) &&
          !failed) {
        if (err && kill_all && !SH->err[0])
          snprintf(err, size, "a child hung (killed); the consumer had %ld "
                   "of %ld messages", (long)atomic_load(&SH->got), J.n);
        else if (err)
          snprintf(err, size, "%s: %s", i ? "producer" : "consumer",
                   SH->err[0] ? SH->err : "exit code not 0");
        failed = 1;
      }
      mproc_process_free(p[i]);
      p[i] = NULL;
      left--;
    }
  }
  return failed ? -1 : 0;
}

/* Start the consumer and the producers, then the clock; join them. The
 * rate in messages per second, or -1 with err. */
static double run_round(char *err, size_t size) {
  mproc_process *p[MAX_PROCS] = {NULL};
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  int i, rc = 0, failed = 0, nproc = J.producers + 1;
  double t0, deadline;

  if (round_setup(err, size) < 0) return -1;
  o.method = MPROC_START_FORK; /* the queues are measured, not this */
  for (i = 0; i < nproc && rc == 0; i++) {
    rc = mproc_process_new(&p[i], child_entry, &i, sizeof i, &o);
    if (rc == 0) rc = mproc_process_start(p[i]);
  }
  if (rc < 0) {
    snprintf(err, size, "start: %s (%s)", mproc_err_name(rc),
             mproc_last_error());
    failed = 1;
  }
  if (J.kind == K_SOCK) { /* the children have their ends */
    close(SOCK[0]);
    close(SOCK[1]);
  }
  deadline = bench_now_ns() + 10e9; /* a child that never gets ready: go anyway */
  while (!failed && atomic_load(&SH->ready) < nproc && bench_now_ns() < deadline)
    usleep(20);
  t0 = bench_now_ns();
  atomic_store(&SH->go, 1);
  if (reap(p, nproc, failed ? NULL : err, size) < 0) failed = 1;
  if (J.kind == K_ZMQ) unlink(SH->zpath + strlen("ipc://")); /* its socket */
  return failed ? -1 : (double)J.n / ((SH->t_end - t0) / 1e9);
}

static void measure(void) {
  static const char sect[S_COUNT] = {'a', 'b', 'c'};
  int r, k, s;
  for (r = 0; r < Z.rounds; r++)
    for (s = 0; s < S_COUNT; s++)
      for (k = 0; k < K_COUNT; k++) {
        series *x = &RES[k][s];
        double v;
        if (!RUN(sect[s]) || !IMPL[k].applies[s] || x->error[0]) continue;
        if ((MPROC_ONLY && k != K_MPROC) || (NO_ZMQ && k == K_ZMQ)) continue;
        J.kind = k;
        J.scen = s;
        J.producers = s == S_FOUR ? 4 : 1;
        J.n = Z.n[s];
        v = run_round(x->error, sizeof x->error);
        if (v > 0 && x->got < MAX_ROUNDS) x->v[x->got++] = v;
      }
}

/* ---- set-up ------------------------------------------------------------------------ */

static int setup(char *err, size_t size) {
  int rc;
  SH = mmap(NULL, sizeof *SH, PROT_READ | PROT_WRITE,
            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (SH == MAP_FAILED) {
    snprintf(err, size, "mmap: %s", strerror(errno));
    return -1;
  }
  rc = cr_init();
  if (rc != 0) { /* that row only: some systems lack pshared condvars */
    int s;
    for (s = 0; s < S_COUNT; s++)
      snprintf(RES[K_COND][s].error, sizeof RES[K_COND][s].error,
               "pshared pthread_mutex_init / cond_init: %s", strerror(rc));
  }
  rc = mproc_queue_new(&QUEUE, NULL);
  if (rc < 0) {
    snprintf(err, size, "mproc_queue_new: %s (%s)", mproc_err_name(rc),
             mproc_last_error());
    return -1;
  }
  return 0;
}

static void teardown(void) {
  mproc_queue_free(QUEUE);
  /* No pthread_cond_destroy: after a failed round it would wait for ever
   * for waiters that were killed. The mapping goes, and the objects. */
  if (SH != NULL && SH != MAP_FAILED) munmap(SH, sizeof *SH);
}

/* ---- the Python peer ---------------------------------------------------------------- */

enum { Y_QUEUE, Y_SIMPLE, Y_COUNT };
static const char *const Y_LABEL[Y_COUNT] = {"python Queue",
                                             "python SimpleQueue"};
static const char *const Y_KIND[Y_COUNT] = {"queue", "simple"};
static const char *const S_KEY[S_COUNT] = {"one", "four", "big"};

typedef struct pyres {
  long n;
  double value; /* messages per second */
} pyres;

static pyres PY[Y_COUNT][S_COUNT];

static void parse_python_line(const char *line) {
  char key[64];
  long n;
  double v;
  int y, s;
  if (!bench_result_line(line, key, &v, &n)) return;
  for (y = 0; y < Y_COUNT; y++)
    for (s = 0; s < S_COUNT; s++) {
      char want[64];
      snprintf(want, sizeof want, "%s_%s", Y_KIND[y], S_KEY[s]);
      if (strcmp(key, want) == 0) {
        PY[y][s].n = n;
        PY[y][s].value = v;
      }
    }
}

static void run_python(void) {
  char n1[32], n4[32], nb[32], only[8];
  const char *args[] = {"--one-n", n1, "--four-n", n4, "--big-n", nb,
                        "--only", only, NULL};
  /* Python is ~10-50x slower: fewer messages keep its part short. */
  snprintf(n1, sizeof n1, "%ld", Z.n[S_ONE] / 10);
  snprintf(n4, sizeof n4, "%ld", Z.n[S_FOUR] / 10);
  snprintf(nb, sizeof nb, "%ld", Z.n[S_BIG] / 5);
  snprintf(only, sizeof only, "%s", ONLY);
  (void)bench_python("queue.py", args, parse_python_line);
}

/* ---- report ------------------------------------------------------------------------ */

/* A ratio with the digits that matter: 0.004x, 0.95x, 1180x. */
static void fmt_ratio(char *buf, size_t size, double r) {
  snprintf(buf, size, r < 0.1 ? "%.3fx" : r < 100 ? "%.2fx" : "%.0fx", r);
}

/* Rates are printed in M msgs/s (a, b) or GB/s (c). */
static double unit(int s) { return s == S_BIG ? 1e9 / (double)BIG : 1e6; }
static const char *unit_name(int s) { return s == S_BIG ? "GB/s" : "M msg/s"; }

static void print_row(const char *label, double med, double lo, double hi,
                      double mproc, int s) {
  char ratio[32] = "-", range[48] = "-";
  if (lo > 0)
    snprintf(range, sizeof range, "%.2f..%.2f", lo / unit(s), hi / unit(s));
  if (mproc > 0) fmt_ratio(ratio, sizeof ratio, mproc / med);
  printf("  %-30s %9.3f %10.3f %15s %10s\n", label, med / unit(s),
         1e6 / med, range, ratio);
}

static void print_section(int s) {
  static const char *const title[S_COUNT] = {
      "a. 64-byte messages, 1 producer -> 1 consumer",
      "b. 64-byte messages, 4 producers -> 1 consumer",
      "c. 1 MiB messages, 1 producer -> 1 consumer"};
  stats m = summarise(&RES[K_MPROC][s]);
  int k, y;
  printf("\n%s: %ld messages, median of %d rounds\n", title[s], Z.n[s],
         Z.rounds);
  printf("  %-30s %9s %10s %15s %10s\n", "measurement", unit_name(s),
         "us/msg", "range", "mproc is");
  for (k = 0; k < K_COUNT; k++) {
    stats st = summarise(&RES[k][s]);
    if (!IMPL[k].applies[s] || (k == K_ZMQ && NO_ZMQ)) {
      if (k == K_ZMQ)
        printf("  %-30s %s\n", IMPL[k].label,
               NO_ZMQ && IMPL[k].applies[s] ? "skipped" : "not available");
      continue;
    }
    if (RES[k][s].error[0])
      printf("  %-30s error: %s\n", IMPL[k].label, RES[k][s].error);
    else if (st.n)
      print_row(IMPL[k].label, st.median, st.min, st.max, m.median, s);
  }
  for (y = 0; y < Y_COUNT; y++)
    if (PY[y][s].n) print_row(Y_LABEL[y], PY[y][s].value, 0, 0, m.median, s);
  if (PY[Y_QUEUE][s].n)
    printf("  (python: multiprocessing, %ld messages, median of 3 rounds)\n",
           PY[Y_QUEUE][s].n);
}

static void print_table(void) {
  static const struct {
    const char *check;
    int s, peer;
    double target; /* in the section's unit */
  } rows[] = {{"a. Queue 64 B 1->1, M msg/s", S_ONE, K_SPSC, 10.0},
              {"b. Queue 64 B 4->1, M msg/s", S_FOUR, K_COND, 6.0},
              {"c. Queue 1 MiB 1->1, GB/s", S_BIG, K_SPSC, 4.0}};
  size_t i;
  printf("\ntargets (medians; \"mproc/x\": mproc's rate over x's)\n");
  printf("%-28s %7s %-13s %-26s %7s %8s %7s %12s\n", "check", "mproc",
         "target", "peer", "peer", "mproc/x", "python", "mproc/python");
  for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    int s = rows[i].s;
    stats m = summarise(&RES[K_MPROC][s]), b = summarise(&RES[rows[i].peer][s]);
    const pyres *y = &PY[Y_QUEUE][s];
    char mv[32] = "-", tg[40], bv[32] = "-", br[32] = "-", yv[32] = "-",
         yr[32] = "-";
    if (!RUN("abc"[s])) continue;
    if (m.n) {
      double v = m.median / unit(s);
      snprintf(mv, sizeof mv, "%.2f", v);
      snprintf(tg, sizeof tg, ">= %.0f %s", rows[i].target,
               v >= rows[i].target ? "PASS" : "MISS");
    } else {
      snprintf(tg, sizeof tg, ">= %.0f ERROR", rows[i].target);
    }
    if (b.n) snprintf(bv, sizeof bv, "%.2f", b.median / unit(s));
    if (b.n && m.n) fmt_ratio(br, sizeof br, m.median / b.median);
    if (y->n) snprintf(yv, sizeof yv, "%.2f", y->value / unit(s));
    if (y->n && m.n) fmt_ratio(yr, sizeof yr, m.median / y->value);
    printf("%-28s %7s %-13s %-26s %7s %8s %7s %12s\n", rows[i].check, mv, tg,
           IMPL[rows[i].peer].label, bv, br, yv, yr);
  }
  printf("(python: multiprocessing.Queue; the other rows are in the sections "
         "above)\n");
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(const char *me) {
  printf("usage: %s [--quick] [--no-python] [--mproc-only] [--only "
         "SECTIONS]\n"
         "  --quick     a smoke run for CI: few messages, one round, no "
         "Python,\n              no ZeroMQ\n"
         "  --no-python skip the Python peers\n"
         "  --mproc-only measure only mproc's Queue (to profile it): no "
         "peers, no Python\n"
         "  --only      run only these of the sections a (64 B 1->1), b "
         "(64 B 4->1)\n              and c (1 MiB 1->1), e.g. --only ab\n"
         "env: MPROC_BENCH_DIR (where queue.py is, default %s),\n"
         "     MPROC_BENCH_PYTHON (interpreter, default python3)\n",
         me, MPROC_BENCH_DIR);
}

int main(int argc, char **argv) {
  char err[300] = "";
  int quick = 0, python = 1, rc, i;

  rc = mproc_init(argc, argv); /* a spawned mproc child never returns */
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
    } else if (strcmp(argv[i], "--no-python") == 0) {
      python = 0;
    } else if (strcmp(argv[i], "--mproc-only") == 0) {
      MPROC_ONLY = 1;
      python = 0;
    } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc &&
               strspn(argv[i + 1], "abc") == strlen(argv[i + 1])) {
      ONLY = argv[++i];
    } else {
      usage(argv[0]);
      return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  if (quick) {
    Z.n[S_ONE] = 20000;
    Z.n[S_FOUR] = 20000;
    Z.n[S_BIG] = 20;
    Z.rounds = 1;
    python = 0;
    NO_ZMQ = 1;
  }
  bench_banner("queue: messages between processes", rc);
  if (setup(err, sizeof err) < 0) {
    printf("error: set-up failed: %s\n", err);
    teardown();
    return 0;
  }
#ifdef MPROC_BENCH_ZMQ
  if (NO_ZMQ) printf("zeromq: skipped (--quick)\n");
#else
  printf("zeromq: not available (apt-get install libzmq3-dev)\n");
#endif
  fflush(stdout);
  measure();
  if (python)
    run_python();
  else
    printf("python: skipped%s\n", quick ? " (--quick)" : "");
  for (i = 0; i < S_COUNT; i++)
    if (RUN("abc"[i])) print_section(i);
  print_table();
  teardown();
  return 0; /* a miss is reported, never failed: machines are noisy */
}
