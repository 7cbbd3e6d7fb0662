/* bench/sync: process-shared synchronization, measured in one run beside
 * its peers, with the ratios printed.
 *
 *   sync [--quick] [--no-python] [--only SECTIONS]
 *
 * a. Uncontended Lock: acquire+release pairs per second in one process —
 *    mproc_lock (and the RLock every Value carries) beside a pthread mutex
 *    made PTHREAD_PROCESS_SHARED in a MAP_SHARED mapping.
 * b. Contended Value: two processes, one per CPU, each add 1 to a shared
 *    int64 n times, each time under the lock — a Value('q') with its RLock
 *    (mproc_array_get_lock), a RawValue('q') under a plain mproc_lock, and
 *    a counter under a pshared pthread mutex. Increments per second over
 *    the span from the first start to the last end, and how often the lock
 *    changed hands.
 * c. Ping-pong: one process signals, the other waits and signals back;
 *    round-trip microseconds — an mproc Semaphore pair and an mproc Event
 *    pair beside a raw futex pair (FUTEX_WAIT / FUTEX_WAKE on two words,
 *    no spinning: the kernel's blocking floor) and a raw sem_t pair
 *    (sem_init pshared). Both processes on one CPU, on two CPUs, or
 *    unpinned. mproc decides once per process, at its first wait, whether
 *    to spin, from the CPUs the process may use; so each placement is run
 *    pinned before that first wait (a process pinned to one CPU never
 *    spins) and, for mproc, pinned after it ("spins": the decision made
 *    with every CPU usable, as for an unpinned program whose processes
 *    happen to share a CPU, or to sit on two).
 * Then Python's multiprocessing runs bench/sync.py, which prints
 * "RESULT <key> value=<v> n=<n>" lines parsed here.
 *
 * Children are mproc processes started with fork (the parent's handles
 * work in them as is); their start is not timed. Each measurement is
 * repeated in interleaved rounds and the median round is reported. The
 * parent never waits on an mproc object itself, so each child makes its
 * own spin decision. A miss prints MISS, never a failing exit code
 * (benchmarks do not fail CI: shared machines are noisy). Linux only: the
 * raw baseline is the futex system call. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mproc.h>

#include "common.h"


#define MAX_ROUNDS 15

/* ---- sizes (set in main from the mode) ----------------------------------- */

static struct {
  long lock_n;      /* a: pairs per round */
  int lock_rounds;  /* a: rounds */
  long value_n;     /* b: increments per process per round */
  int value_rounds; /* b: rounds */
  long pp_n;        /* c: timed round trips per round */
  long pp_warm;     /* c: untimed round trips first */
  int pp_rounds;    /* c: rounds */
} Z = {500000, 9, 500000, 5, 3000, 300, 5};

/* ---- clock, series, statistics -------------------------------------------- */

typedef struct series {
  const char *label;
  int got;                 /* rounds recorded */
  double v[MAX_ROUNDS];    /* one value per round */
  char error[300];
} series;

typedef bench_stats stats;

static stats summarise(const series *s) {
  stats none = {0, 0, 0, 0, 0, 0};
  if (s->error[0]) return none;
  return bench_stats_of(s->v, (size_t)s->got);
}

static void record(series *s, double v) {
  if (s->got < MAX_ROUNDS) s->v[s->got++] = v;
}

/* ---- state shared with the children ---------------------------------------- */

/* One MAP_SHARED page set up before the children fork. The raw baselines
 * keep their words here; the mproc objects live in their own segments.
 * Each hot word has a cache line of its own, as each mproc object has a
 * page of its own. */
typedef struct shared {
  alignas(64) _Atomic int ready; /* children that are set up */
  _Atomic int go;                /* the parent's start signal */
  double t_start[2], t_end[2];   /* per role, CLOCK_MONOTONIC ns */
  long handoffs[2];              /* b: increments that followed the other's */
  double rtt_ns;                 /* ping-pong: the pinger's mean */
  char err[256];                 /* a child's failure */
  alignas(64) pthread_mutex_t mutex;
  int64_t counter; /* beside its mutex, as such code is usually written */
  alignas(64) _Atomic uint32_t fa;
  alignas(64) _Atomic uint32_t fb;
  alignas(64) sem_t sa;
  alignas(64) sem_t sb;
} shared;

static shared *SH;

/* The job the children run: set by the parent before each fork. */
typedef struct job {
  int kind;
  int cpu[2];    /* each role's CPU, -1: not pinned */
  int pre_spin;  /* make the first mproc wait before pinning */
  long n, warm;
} job;

static job J;
static const char *ONLY = "abc"; /* the sections to run (--only) */
#define RUN(section) (strchr(ONLY, (section)) != NULL)
static int CPU0 = -1, CPU1 = -1; /* the CPUs used for pinning */

/* mproc objects, made once by the parent and inherited by every child. */
static struct {
  mproc_lock *lock;     /* a */
  mproc_array *value;   /* b: Value('q') with its RLock */
  mproc_rlock *vlock;   /* b: its lock, a handle of its own */
  mproc_array *raw;     /* b: RawValue('q') */
  mproc_lock *rawlock;  /* b: the plain Lock around it */
  /* a, b: the same, named, so segments of their own, not arena slots (how
   * every object was before the arenas: docs/arenas.md) */
  mproc_lock *seglock;
  mproc_array *rawseg;
  mproc_lock *rawseglock;
  mproc_sem *sa, *sb;   /* c */
  mproc_event *ea, *eb; /* c */
  mproc_event *never;   /* never set: a first wait, made before pinning */
} M;

/* Record why a child failed: rc < 0 is an mproc code, rc > 0 means errno
 * says (the raw baselines). */
static void child_fail(const char *what, int rc) {
  snprintf(SH->err, sizeof SH->err, "%s: %s (%s)", what,
           rc < 0 ? mproc_err_name(rc) : strerror(errno),
           rc < 0 ? mproc_last_error() : "");
}

static int pin(int cpu) {
  cpu_set_t set;
  if (cpu < 0) return 0;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    child_fail("sched_setaffinity", 1);
    return -1;
  }
  return 0;
}

/* Set up a child's placement, report ready, and wait for the start. */
static int child_begin(int role) {
  if (J.pre_spin) /* mproc caches "more than one CPU" here, then spins */
    (void)mproc_event_wait(M.never, 1e-6);
  if (pin(J.cpu[role]) < 0) {
    atomic_fetch_add(&SH->ready, 1); /* do not keep the parent waiting */
    return -1;
  }
  atomic_fetch_add(&SH->ready, 1);
  while (!atomic_load(&SH->go)) sched_yield();
  return 0;
}

/* ---- children ---------------------------------------------------------------- */

static int (*BODY)(int role); /* what the next children run */

static int child_entry(const void *arg, size_t len) {
  int role = 0;
  if (len == sizeof role) memcpy(&role, arg, sizeof role);
  return BODY(role) == 0 ? 0 : 1;
}

/* Fork two mproc children running body(0) and body(1), start them
 * together, and wait for both; 0 once both exited 0. */
static int run_pair(int (*body)(int role), char *err, size_t size) {
  mproc_process *p[2] = {NULL, NULL};
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  int i, rc = 0, code, failed = 0;
  double deadline;

  BODY = body;
  atomic_store(&SH->ready, 0);
  atomic_store(&SH->go, 0);
  SH->err[0] = '\0';
  o.method = MPROC_START_FORK; /* the sync objects are measured, not this */
  for (i = 0; i < 2 && rc == 0; i++) {
    rc = mproc_process_new(&p[i], child_entry, &i, sizeof i, &o);
    if (rc == 0) rc = mproc_process_start(p[i]);
  }
  if (rc < 0) {
    snprintf(err, size, "start: %s (%s)", mproc_err_name(rc),
             mproc_last_error());
    failed = 1;
  }
  /* Start both at once; a child that never gets ready does not hang us. */
  deadline = bench_now_ns() + 10e9;
  while (!failed && atomic_load(&SH->ready) < 2 && bench_now_ns() < deadline)
    usleep(50);
  atomic_store(&SH->go, 1);
  for (i = 0; i < 2; i++) {
    if (p[i] == NULL) continue;
    if (mproc_process_join(p[i], 120.0) == MPROC_ETIMEDOUT) {
      mproc_process_kill(p[i]);
      mproc_process_join(p[i], MPROC_FOREVER);
      if (!failed) snprintf(err, size, "a child hung (killed)");
      failed = 1;
    }
    code = -1;
    if (mproc_process_exitcode(p[i], &code) == 0 && code != 0 && !failed) {
      snprintf(err, size, "child %d: %s", i,
               SH->err[0] ? SH->err : "exit code not 0");
      failed = 1;
    }
    mproc_process_free(p[i]);
  }
  return failed ? -1 : 0;
}

/* ---- a. uncontended Lock ------------------------------------------------------ */

enum { L_MPROC, L_RLOCK, L_PTHREAD, L_SEG, L_COUNT };

static series LS[L_COUNT] = {
    {"mproc_lock", 0, {0}, ""},
    {"mproc_rlock (a Value's lock)", 0, {0}, ""},
    {"pthread mutex, pshared", 0, {0}, ""},
    {"mproc_lock, own segment", 0, {0}, ""},
};

/* One round of n acquire+release pairs; pairs per second, or -1. */
static double lock_round(int kind, long n, char *err, size_t size) {
  double t0, t1;
  long i;
  int rc = 0;
  t0 = bench_now_ns();
  switch (kind) {
  case L_MPROC:
    for (i = 0; i < n && rc == 0; i++) {
      rc = mproc_lock_acquire(M.lock, MPROC_FOREVER);
      if (rc == 0) rc = mproc_lock_release(M.lock);
    }
    break;
  case L_RLOCK:
    for (i = 0; i < n && rc == 0; i++) {
      rc = mproc_rlock_acquire(M.vlock, MPROC_FOREVER);
      if (rc == 0) rc = mproc_rlock_release(M.vlock);
    }
    break;
  case L_SEG:
    for (i = 0; i < n && rc == 0; i++) {
      rc = mproc_lock_acquire(M.seglock, MPROC_FOREVER);
      if (rc == 0) rc = mproc_lock_release(M.seglock);
    }
    break;
  default:
    for (i = 0; i < n && rc == 0; i++) {
      rc = -pthread_mutex_lock(&SH->mutex);
      if (rc == 0) rc = -pthread_mutex_unlock(&SH->mutex);
    }
    break;
  }
  t1 = bench_now_ns();
  if (rc < 0) {
    if (kind == L_PTHREAD)
      snprintf(err, size, "pthread_mutex: %s", strerror(-rc));
    else
      snprintf(err, size, "%s (%s)", mproc_err_name(rc), mproc_last_error());
    return -1;
  }
  return (double)n / ((t1 - t0) / 1e9);
}

static void measure_lock(void) {
  int r, k;
  for (k = 0; k < L_COUNT; k++) /* warm-up: caches, the PLT, the CPU clock */
    lock_round(k, Z.lock_n / 10 + 1, LS[k].error, sizeof LS[k].error);
  for (r = 0; r < Z.lock_rounds; r++)
    for (k = 0; k < L_COUNT; k++) {
      double v;
      if (LS[k].error[0]) continue;
      v = lock_round(k, Z.lock_n, LS[k].error, sizeof LS[k].error);
      if (v > 0) record(&LS[k], v);
    }
}

/* ---- b. contended Value ------------------------------------------------------- */

enum { V_VALUE, V_LOCK, V_PTHREAD, V_SEG, V_COUNT };

static series VS[V_COUNT] = {
    {"mproc Value('q') + its RLock", 0, {0}, ""},
    {"mproc RawValue('q') + Lock", 0, {0}, ""},
    {"pthread mutex, pshared", 0, {0}, ""},
    {"the same, own segments", 0, {0}, ""},
};

/* One increment; counts a hand-off when the other process incremented
 * since this one last did (how often the lock changed hands). */
#define INCREMENT(c, last, handoffs)                                           \
  do {                                                                         \
    int64_t x_ = *(c);                                                         \
    if (x_ != (last)) (handoffs)++;                                            \
    *(c) = (last) = x_ + 1;                                                    \
  } while (0)

static int value_body(int role) {
  volatile int64_t *c;
  int64_t last = -1;
  long i, handoffs = 0;
  int rc = 0;
  if (child_begin(role) < 0) return 1;
  SH->t_start[role] = bench_now_ns();
  switch (J.kind) {
  case V_VALUE:
    c = mproc_array_ptr(M.value);
    for (i = 0; i < J.n && rc == 0; i++) {
      rc = mproc_rlock_acquire(M.vlock, MPROC_FOREVER);
      if (rc < 0) break;
      INCREMENT(c, last, handoffs);
      rc = mproc_rlock_release(M.vlock);
    }
    break;
  case V_LOCK:
  case V_SEG: {
    mproc_lock *l = J.kind == V_LOCK ? M.rawlock : M.rawseglock;
    c = mproc_array_ptr(J.kind == V_LOCK ? M.raw : M.rawseg);
    for (i = 0; i < J.n && rc == 0; i++) {
      rc = mproc_lock_acquire(l, MPROC_FOREVER);
      if (rc < 0) break;
      INCREMENT(c, last, handoffs);
      rc = mproc_lock_release(l);
    }
    break;
  }
  default:
    c = &SH->counter;
    for (i = 0; i < J.n && rc == 0; i++) {
      if ((rc = pthread_mutex_lock(&SH->mutex)) != 0) break;
      INCREMENT(c, last, handoffs);
      rc = pthread_mutex_unlock(&SH->mutex);
    }
    if (rc > 0) errno = rc; /* and rc stays > 0: errno says */
    break;
  }
  SH->t_end[role] = bench_now_ns();
  SH->handoffs[role] = handoffs;
  if (rc != 0) {
    child_fail(J.kind == V_PTHREAD ? "pthread_mutex" : "lock", rc);
    return 1;
  }
  return 0;
}

/* Hand-offs per 1000 increments, per round (beside VS). */
static series HS[V_COUNT];
static int low_overlap; /* rounds where the two ran < 80% of the time together */

static volatile int64_t *value_counter(int kind) {
  return kind == V_VALUE  ? mproc_array_ptr(M.value)
         : kind == V_LOCK ? mproc_array_ptr(M.raw)
         : kind == V_SEG  ? mproc_array_ptr(M.rawseg)
                          : &SH->counter;
}

static void value_round(int kind) {
  series *s = &VS[kind];
  volatile int64_t *c = value_counter(kind);
  double t0, t1;
  if (s->error[0]) return;
  *c = 0;
  J.kind = kind;
  J.n = Z.value_n;
  /* One CPU each, so that the two really contend (unpinned, both may sit
   * on one CPU's run queue for a while); pinned after mproc's first wait,
   * so it spins as an unpinned process on this machine would. */
  J.cpu[0] = CPU1 < 0 ? -1 : CPU0;
  J.cpu[1] = CPU1;
  J.pre_spin = 1;
  if (run_pair(value_body, s->error, sizeof s->error) < 0) return;
  if (*c != 2 * (int64_t)Z.value_n) {
    snprintf(s->error, sizeof s->error,
             "lost updates: the counter is %lld, not %lld", (long long)*c,
             2 * (long long)Z.value_n);
    return;
  }
  t0 = SH->t_start[0] < SH->t_start[1] ? SH->t_start[0] : SH->t_start[1];
  t1 = SH->t_end[0] > SH->t_end[1] ? SH->t_end[0] : SH->t_end[1];
  {
    /* The time both ran, as a share of the span: low when one finished
     * before the other got a CPU (the machine was busy elsewhere). */
    double a = SH->t_start[0] > SH->t_start[1] ? SH->t_start[0]
                                               : SH->t_start[1];
    double b = SH->t_end[0] < SH->t_end[1] ? SH->t_end[0] : SH->t_end[1];
    if (b - a < 0.8 * (t1 - t0)) low_overlap++;
  }
  record(s, 2.0 * (double)Z.value_n / ((t1 - t0) / 1e9));
  record(&HS[kind], (double)(SH->handoffs[0] + SH->handoffs[1]) * 1000.0 /
                        (2.0 * (double)Z.value_n));
}

static void measure_value(void) {
  int r, k;
  for (r = 0; r < Z.value_rounds; r++)
    for (k = 0; k < V_COUNT; k++) value_round(k);
}

/* ---- c. ping-pong ---------------------------------------------------------------- */

enum { P_SEM, P_EVENT, P_FUTEX, P_RAWSEM, P_COUNT };
/* Where the two processes run, and whether mproc has decided to spin
 * before the pinning (it decides once, from the usable CPUs of the process
 * at its first wait: a process pinned to one CPU never spins). */
enum { PL_ONE, PL_ONE_SPIN, PL_TWO_SPIN, PL_TWO, PL_FREE, PL_COUNT };

static const struct placement {
  const char *label;
  int pinned, across, pre_spin;
} PL[PL_COUNT] = {
    {"1 CPU", 1, 0, 0},         /* mproc sees 1 CPU: never spins */
    {"1 CPU, spins", 1, 0, 1},  /* mproc saw 2 CPUs: spins on one */
    {"2 CPUs, spins", 1, 1, 1}, /* mproc saw 2 CPUs: spins */
    {"2 CPUs", 1, 1, 0},        /* each pinned first: never spins */
    {"unpinned", 0, 0, 0},      /* the scheduler places them */
};

static const char *const P_LABEL[P_COUNT] = {
    "mproc Semaphore pair", "mproc Event pair", "raw futex pair",
    "raw sem_t pair (pshared)"};
static series PS[P_COUNT][PL_COUNT];

static long futex(_Atomic uint32_t *w, int op, uint32_t val) {
  return syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

/* Signal side `which` (0: a, 1: b). */
static int pp_signal(int which) {
  _Atomic uint32_t *w = which ? &SH->fb : &SH->fa;
  switch (J.kind) {
  case P_SEM: return mproc_sem_release(which ? M.sb : M.sa);
  case P_EVENT: return mproc_event_set(which ? M.eb : M.ea);
  case P_FUTEX:
    atomic_store(w, 1);
    futex(w, FUTEX_WAKE, 1);
    return 0;
  default:
    return sem_post(which ? &SH->sb : &SH->sa) != 0; /* 1: errno says */
  }
}

/* Wait for side `which` to be signalled, and consume the signal. */
static int pp_wait(int which) {
  _Atomic uint32_t *w = which ? &SH->fb : &SH->fa;
  mproc_event *e = which ? M.eb : M.ea;
  int rc;
  switch (J.kind) {
  case P_SEM: return mproc_sem_acquire(which ? M.sb : M.sa, MPROC_FOREVER);
  case P_EVENT:
    rc = mproc_event_wait(e, MPROC_FOREVER);
    return rc < 0 ? rc : mproc_event_clear(e);
  case P_FUTEX:
    while (atomic_load(w) == 0) futex(w, FUTEX_WAIT, 0);
    atomic_store(w, 0);
    return 0;
  default:
    while (sem_wait(which ? &SH->sb : &SH->sa) != 0)
      if (errno != EINTR) return 1; /* errno says */
    return 0;
  }
}

/* Role 0 signals a and waits for b, role 1 the mirror image; role 0 times
 * the round trips after the warm-up. */
static int pp_body(int role) {
  long i, total = J.warm + J.n;
  double t0 = 0;
  int rc = 0;
  if (child_begin(role) < 0) return 1;
  for (i = 0; i < total && rc == 0; i++) {
    if (role == 0) {
      if (i == J.warm) t0 = bench_now_ns();
      rc = pp_signal(0);
      if (rc == 0) rc = pp_wait(1);
    } else {
      rc = pp_wait(0);
      if (rc == 0) rc = pp_signal(1);
    }
  }
  if (role == 0) SH->rtt_ns = (bench_now_ns() - t0) / (double)J.n;
  if (rc != 0) {
    child_fail(P_LABEL[J.kind], rc);
    return 1;
  }
  return 0;
}

static void pp_round(int kind, int place) {
  series *s = &PS[kind][place];
  if (s->error[0] || s->label == NULL) return;
  J.kind = kind;
  J.n = Z.pp_n;
  J.warm = Z.pp_warm;
  J.pre_spin = PL[place].pre_spin;
  J.cpu[0] = PL[place].pinned ? CPU0 : -1;
  J.cpu[1] = !PL[place].pinned ? -1 : PL[place].across ? CPU1 : CPU0;
  if (run_pair(pp_body, s->error, sizeof s->error) < 0) return;
  record(s, SH->rtt_ns / 1e3);
}

static void measure_pingpong(void) {
  int r, k, pl;
  for (k = 0; k < P_COUNT; k++)
    for (pl = 0; pl < PL_COUNT; pl++) {
      /* The raw baselines never spin: when they are pinned is moot. */
      if (PL[pl].pre_spin && (k == P_FUTEX || k == P_RAWSEM)) continue;
      PS[k][pl].label = P_LABEL[k];
      if (PL[pl].across && CPU1 < 0)
        snprintf(PS[k][pl].error, sizeof PS[k][pl].error,
                 "only one usable CPU");
    }
  for (r = 0; r < Z.pp_rounds; r++)
    for (k = 0; k < P_COUNT; k++)
      for (pl = 0; pl < PL_COUNT; pl++) pp_round(k, pl);
}

/* ---- set-up ------------------------------------------------------------------------ */

/* The named twins (segments of their own): a Lock, a RawValue('q') and
 * its Lock. */
static int named(mproc_lock **l, mproc_array **v, mproc_lock **vl) {
  mproc_sync_opts so = MPROC_SYNC_OPTS_INIT;
  mproc_value_opts vo = MPROC_VALUE_OPTS_INIT;
  char n1[32], n2[32], n3[32];
  int64_t zero = 0;
  int rc;
  long pid = (long)getpid();
  snprintf(n1, sizeof n1, "bsync%ld-l", pid);
  snprintf(n2, sizeof n2, "bsync%ld-v", pid);
  snprintf(n3, sizeof n3, "bsync%ld-vl", pid);
  so.name = n1;
  rc = mproc_lock_new(l, &so);
  vo.raw = 1;
  vo.name = n2;
  if (rc == 0) rc = mproc_value_new(v, 'q', &zero, &vo);
  so.name = n3;
  if (rc == 0) rc = mproc_lock_new(vl, &so);
  return rc;
}

static int setup(char *err, size_t size) {
  pthread_mutexattr_t ma;
  mproc_value_opts vo = MPROC_VALUE_OPTS_INIT;
  int64_t zero = 0;
  int rc;
  SH = mmap(NULL, sizeof *SH, PROT_READ | PROT_WRITE,
            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (SH == MAP_FAILED) {
    snprintf(err, size, "mmap: %s", strerror(errno));
    return -1;
  }
  memset(SH, 0, sizeof *SH);
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  rc = pthread_mutex_init(&SH->mutex, &ma);
  pthread_mutexattr_destroy(&ma);
  if (rc != 0 || sem_init(&SH->sa, 1, 0) != 0 || sem_init(&SH->sb, 1, 0) != 0) {
    snprintf(err, size, "pthread_mutex_init / sem_init: %s",
             strerror(rc ? rc : errno));
    return -1;
  }
  rc = mproc_lock_new(&M.lock, NULL);
  if (rc == 0) rc = mproc_value_new(&M.value, 'q', &zero, NULL);
  if (rc == 0) rc = mproc_array_get_lock(M.value, &M.vlock);
  vo.raw = 1;
  if (rc == 0) rc = mproc_value_new(&M.raw, 'q', &zero, &vo);
  if (rc == 0) rc = mproc_lock_new(&M.rawlock, NULL);
  if (rc == 0) rc = named(&M.seglock, &M.rawseg, &M.rawseglock);
  if (rc == 0) rc = mproc_sem_new(&M.sa, 0, MPROC_SEMAPHORE, NULL);
  if (rc == 0) rc = mproc_sem_new(&M.sb, 0, MPROC_SEMAPHORE, NULL);
  if (rc == 0) rc = mproc_event_new(&M.ea, NULL);
  if (rc == 0) rc = mproc_event_new(&M.eb, NULL);
  if (rc == 0) rc = mproc_event_new(&M.never, NULL);
  if (rc < 0) {
    snprintf(err, size, "%s (%s)", mproc_err_name(rc), mproc_last_error());
    return -1;
  }
  return 0;
}

static void teardown(void) {
  mproc_lock_free(M.lock);
  mproc_rlock_free(M.vlock);
  mproc_array_free(M.value);
  mproc_array_free(M.raw);
  mproc_lock_free(M.rawlock);
  mproc_lock_free(M.seglock);
  mproc_array_free(M.rawseg);
  mproc_lock_free(M.rawseglock);
  mproc_sem_free(M.sa);
  mproc_sem_free(M.sb);
  mproc_event_free(M.ea);
  mproc_event_free(M.eb);
  mproc_event_free(M.never);
  if (SH != NULL && SH != MAP_FAILED) {
    pthread_mutex_destroy(&SH->mutex);
    sem_destroy(&SH->sa);
    sem_destroy(&SH->sb);
    munmap(SH, sizeof *SH);
  }
}

/* The first two CPUs this process may run on (CPU1 stays -1 with one). */
static void pick_cpus(void) {
  cpu_set_t set;
  int c;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return;
  for (c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set)) {
      if (CPU0 < 0)
        CPU0 = c;
      else if (CPU1 < 0)
        CPU1 = c;
    }
}

/* ---- the Python peer ---------------------------------------------------------------- */

/* Python never spins: its pairs are measured on 1 CPU, 2 CPUs, unpinned. */
enum { Y_LOCK, Y_VALUE, Y_SEM_ONE, Y_SEM_TWO, Y_SEM_FREE, Y_EVENT_ONE,
       Y_EVENT_TWO, Y_EVENT_FREE, Y_COUNT };

typedef struct pyres {
  const char *key;
  long n;
  double value; /* pairs/s, increments/s or round-trip us */
} pyres;

static pyres PY[Y_COUNT] = {
    {"lock", 0, 0},      {"value", 0, 0},     {"sem_one", 0, 0},
    {"sem_two", 0, 0},   {"sem_free", 0, 0},  {"event_one", 0, 0},
    {"event_two", 0, 0}, {"event_free", 0, 0}};

static void parse_python_line(const char *line) {
  char key[64];
  long n;
  double v;
  int i;
  if (!bench_result_line(line, key, &v, &n)) return;
  for (i = 0; i < Y_COUNT; i++)
    if (strcmp(key, PY[i].key) == 0) {
      PY[i].n = n;
      PY[i].value = v;
    }
}

static void run_python(void) {
  char a_lock[32], a_value[32], a_pp[32], cpus[64], only[8];
  const char *args[] = {"--lock-n", a_lock, "--value-n", a_value, "--pp-n",
                        a_pp, "--cpus", cpus, "--only", only, NULL};
  /* Python is ~3-20x slower: fewer iterations keep its part short. */
  snprintf(a_lock, sizeof a_lock, "%ld", Z.lock_n * 2);
  snprintf(a_value, sizeof a_value, "%ld", Z.value_n / 5);
  snprintf(a_pp, sizeof a_pp, "%ld", Z.pp_n);
  snprintf(cpus, sizeof cpus, "%d,%d", CPU0, CPU1);
  snprintf(only, sizeof only, "%s", ONLY);
  (void)bench_python("sync.py", args, parse_python_line);
}

/* ---- report ------------------------------------------------------------------------ */

static void print_rate_rows(const series *s, int count, const pyres *py,
                            const char *pylabel, const series *extra) {
  int k;
  for (k = 0; k < count; k++) {
    stats st = summarise(&s[k]);
    if (s[k].error[0]) {
      printf("  %-32s error: %s\n", s[k].label, s[k].error);
      continue;
    }
    printf("  %-32s %10.2f %9.1f %9.2f..%-8.2f", s[k].label,
           st.median / 1e6, 1e9 / st.median, st.min / 1e6, st.max / 1e6);
    if (extra) printf(" %11.1f", summarise(&extra[k]).median);
    printf("\n");
  }
  if (py->n)
    printf("  %-32s %10.2f %9.1f %11s\n", pylabel, py->value / 1e6,
           1e9 / py->value, "-");
}

static void print_lock(void) {
  printf("\na. uncontended Lock: acquire+release pairs/s, median of %d rounds "
         "x %ld\n",
         Z.lock_rounds, Z.lock_n);
  printf("  %-32s %10s %9s %20s\n", "measurement", "M pairs/s", "ns/pair",
         "range M pairs/s");
  print_rate_rows(LS, L_COUNT, &PY[Y_LOCK], "python multiprocessing.Lock",
                  NULL);
}

static void print_value(void) {
  printf("\nb. contended Value: 2 processes x %ld increments under the lock,"
         " median of %d rounds\n",
         Z.value_n, Z.value_rounds);
  printf("  %-32s %10s %9s %20s %11s\n", "measurement", "M incr/s",
         "ns/incr", "range M incr/s", "handoffs/1k");
  print_rate_rows(VS, V_COUNT, &PY[Y_VALUE], "python Value('q')+get_lock()",
                  HS);
  printf("  (handoffs/1k: increments per 1000 that came right after the "
         "other process's;\n  a fair lock alternates (1000), an unfair one "
         "lets its holder run on. %s)\n",
         CPU1 < 0 ? "One usable\n  CPU: both share it."
                  : "Each process\n  has a CPU of its own.");
  if (low_overlap)
    printf("  note: in %d round(s) the two ran together less than 80%% of the "
           "time: the\n  machine was busy elsewhere, those rounds measure "
           "less contention\n",
           low_overlap);
}

static void print_pingpong(void) {
  int k, pl;
  printf("\nc. ping-pong: round trip in us, median of %d rounds x %ld "
         "(CPUs %d and %d)\n",
         Z.pp_rounds, Z.pp_n, CPU0, CPU1);
  printf("  %-26s", "measurement");
  for (pl = 0; pl < PL_COUNT; pl++) printf(" %13s", PL[pl].label);
  printf("\n");
  for (k = 0; k < P_COUNT; k++) {
    printf("  %-26s", P_LABEL[k]);
    for (pl = 0; pl < PL_COUNT; pl++) {
      const series *s = &PS[k][pl];
      stats st = summarise(s);
      char cell[32] = "-";
      if (s->label != NULL && s->error[0])
        snprintf(cell, sizeof cell, "error");
      else if (st.n)
        snprintf(cell, sizeof cell, "%.2f", st.median);
      printf(" %13s", cell);
    }
    printf("\n");
  }
  for (k = 0; k < 2; k++) {
    const pyres *y = &PY[k ? Y_EVENT_ONE : Y_SEM_ONE];
    char c[3][32];
    for (pl = 0; pl < 3; pl++) {
      if (y[pl].n)
        snprintf(c[pl], sizeof c[pl], "%.2f", y[pl].value);
      else
        snprintf(c[pl], sizeof c[pl], "n/a");
    }
    printf("  %-26s %13s %13s %13s %13s %13s\n",
           k ? "python Event pair" : "python Semaphore pair", c[0], "-", "-",
           c[1], c[2]);
  }
  for (k = 0; k < P_COUNT; k++)
    for (pl = 0; pl < PL_COUNT; pl++)
      if (PS[k][pl].label != NULL && PS[k][pl].error[0])
        printf("  error: %s, %s: %s\n", P_LABEL[k], PL[pl].label,
               PS[k][pl].error);
  printf("  \"spins\": pinned after mproc's first wait, so each process keeps "
         "the decision\n  it made then with %d usable CPU(s): spin before "
         "sleeping when more than one.\n  Otherwise pinned before it: a "
         "process pinned to one CPU never spins.\n  The raw pairs and Python "
         "never spin (-: same as unmarked).\n",
         mproc_cpu_count());
}

typedef struct target_row {
  const char *check, *peer;
  const series *m, *b;
  int rate;      /* 1: higher is better (rates); 0: lower (times) */
  double target; /* the bound on mproc/peer */
  const pyres *py;
} target_row;

/* A ratio with the digits that matter: 0.004x, 0.95x, 1180x. */
static void fmt_ratio(char *buf, size_t size, double r) {
  snprintf(buf, size, r < 0.1 ? "%.3fx" : r < 100 ? "%.2fx" : "%.0fx", r);
}

static void print_target(const target_row *t) {
  stats m = summarise(t->m), b = summarise(t->b);
  if (!m.n && !b.n && !t->m->error[0] && !t->b->error[0]) return; /* --only */
  char mv[32] = "-", bv[32] = "-", ratio[32] = "-", target[40], pyv[32] = "-";
  int ok;
  if (m.n) snprintf(mv, sizeof mv, t->rate ? "%.2fM" : "%.2f",
                    t->rate ? m.median / 1e6 : m.median);
  if (b.n) snprintf(bv, sizeof bv, t->rate ? "%.2fM" : "%.2f",
                    t->rate ? b.median / 1e6 : b.median);
  if (m.n && b.n) {
    double r = m.median / b.median;
    ok = t->rate ? r >= t->target : r <= t->target;
    fmt_ratio(ratio, sizeof ratio, r);
    snprintf(target, sizeof target, "%s %.1fx %s", t->rate ? ">=" : "<=",
             t->target, ok ? "PASS" : "MISS");
  } else {
    snprintf(target, sizeof target, "%s %.1fx ERROR", t->rate ? ">=" : "<=",
             t->target);
  }
  if (t->py && t->py->n && m.n)
    fmt_ratio(pyv, sizeof pyv,
              t->rate ? m.median / t->py->value : t->py->value / m.median);
  printf("%-34s %9s %9s %-19s %7s %-14s %9s\n", t->check, mv, bv, t->peer,
         ratio, target, pyv);
}

static void print_table(void) {
  const target_row rows[] = {
      {"a. Lock pairs/s", "pthread mutex", &LS[L_MPROC], &LS[L_PTHREAD], 1,
       1.0, &PY[Y_LOCK]},
      {"b. Value+RLock incr/s", "pthread mutex", &VS[V_VALUE],
       &VS[V_PTHREAD], 1, 0.9, &PY[Y_VALUE]},
      {"b. RawValue+Lock incr/s", "pthread mutex", &VS[V_LOCK],
       &VS[V_PTHREAD], 1, 0.9, &PY[Y_VALUE]},
      /* an object in an arena (the default) is no slower than one in a
       * segment of its own (as before the arenas): no shared line */
      {"a. Lock in an arena, pairs/s", "own segment", &LS[L_MPROC],
       &LS[L_SEG], 1, 0.9, NULL},
      {"b. RawValue+Lock in an arena", "own segments", &VS[V_LOCK],
       &VS[V_SEG], 1, 0.9, NULL},
      {"c. Semaphore 1 CPU, us", "futex 1 CPU", &PS[P_SEM][PL_ONE],
       &PS[P_FUTEX][PL_ONE], 0, 1.2, &PY[Y_SEM_ONE]},
      {"c. Event 1 CPU, us", "futex 1 CPU", &PS[P_EVENT][PL_ONE],
       &PS[P_FUTEX][PL_ONE], 0, 1.2, &PY[Y_EVENT_ONE]},
      {"c. Semaphore 1 CPU, spins, us", "futex 1 CPU",
       &PS[P_SEM][PL_ONE_SPIN], &PS[P_FUTEX][PL_ONE], 0, 1.2,
       &PY[Y_SEM_ONE]},
      {"c. Event 1 CPU, spins, us", "futex 1 CPU", &PS[P_EVENT][PL_ONE_SPIN],
       &PS[P_FUTEX][PL_ONE], 0, 1.2, &PY[Y_EVENT_ONE]},
      {"c. Semaphore 2 CPUs, spins, us", "futex 2 CPUs",
       &PS[P_SEM][PL_TWO_SPIN], &PS[P_FUTEX][PL_TWO], 0, 0.5,
       &PY[Y_SEM_TWO]},
      {"c. Event 2 CPUs, spins, us", "futex 2 CPUs",
       &PS[P_EVENT][PL_TWO_SPIN], &PS[P_FUTEX][PL_TWO], 0, 0.5,
       &PY[Y_EVENT_TWO]},
      {"c. Semaphore 2 CPUs, us", "futex 2 CPUs", &PS[P_SEM][PL_TWO],
       &PS[P_FUTEX][PL_TWO], 0, 0.5, &PY[Y_SEM_TWO]},
      {"c. Event 2 CPUs, us", "futex 2 CPUs", &PS[P_EVENT][PL_TWO],
       &PS[P_FUTEX][PL_TWO], 0, 0.5, &PY[Y_EVENT_TWO]},
  };
  size_t i;
  printf("\ntargets (ratios of medians; rates in millions per second)\n");
  printf("%-34s %9s %9s %-19s %7s %-14s %9s\n", "check", "mproc", "peer",
         "peer is", "ratio", "target", "python is");
  for (i = 0; i < sizeof rows / sizeof rows[0]; i++) print_target(&rows[i]);
  printf("(python is: how many times slower Python's multiprocessing is "
         "than mproc; under 1x: faster)\n");
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(const char *me) {
  printf("usage: %s [--quick] [--no-python] [--only SECTIONS]\n"
         "  --quick     a smoke run for CI: few iterations, no Python\n"
         "  --no-python skip the Python peers\n"
         "  --only      run only these of the sections a (lock), b (value) "
         "and c\n              (ping-pong), e.g. --only bc\n"
         "env: MPROC_BENCH_DIR (where sync.py is, default %s),\n"
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
    } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc &&
               strspn(argv[i + 1], "abc") == strlen(argv[i + 1])) {
      ONLY = argv[++i];
    } else {
      usage(argv[0]);
      return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  if (quick) {
    Z.lock_n = 20000;
    Z.lock_rounds = 2;
    Z.value_n = 5000;
    Z.value_rounds = 1;
    Z.pp_n = 100;
    Z.pp_warm = 10;
    Z.pp_rounds = 1;
    python = 0;
  }
  bench_banner("sync: process-shared Lock, Value, Semaphore and Event", rc);
  pick_cpus();
  if (setup(err, sizeof err) < 0) {
    printf("error: set-up failed: %s\n", err);
    teardown();
    return 0;
  }
  printf("measuring:%s%s%s\n",
         RUN('a') ? " a. uncontended lock," : "",
         RUN('b') ? " b. contended value," : "",
         RUN('c') ? " c. ping-pong" : "");
  fflush(stdout);
  if (RUN('a')) measure_lock();
  if (RUN('b')) measure_value();
  if (RUN('c')) measure_pingpong();
  if (python)
    run_python();
  else
    printf("python: skipped%s\n", quick ? " (--quick)" : "");
  if (RUN('a')) print_lock();
  if (RUN('b')) print_value();
  if (RUN('c')) print_pingpong();
  print_table();
  teardown();
  return 0; /* a miss is reported, never failed: machines are noisy */
}
