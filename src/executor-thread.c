/* mproc: the thread kind of executor — Python's ThreadPoolExecutor on
 * libuv threads.
 *
 * A submitter never meets the workers on a mutex. The queue is an
 * intrusive FIFO list (Vyukov's MPSC queue): a submitter appends with one
 * exchange on `tail` and then links the old tail to its future; a worker
 * takes one future at a time from `head`, under the workers' own lock
 * (`take_lock`: one consumer at a time), in O(1) — no walk over what was
 * pushed, so a deep backlog costs a taker one future's cache line, not a
 * chase through every line the submitter just wrote while the other
 * workers wait on the lock. A stub node keeps the list non-empty. One
 * future per take: a batch would strand queued tasks behind one that
 * blocks while other threads idle (CPython's saturation test).
 *
 * One 64-bit word, `counts`, holds the futures queued and not taken
 * (high half) and the takers on their way (low half: workers started,
 * back from a task or spinning — not in a task, not asleep), so a
 * submitter's one add sees both at one instant, and a worker's take
 * ends its count as a taker in the same step as the future's. A worker
 * back from a task takes the next future before it counts itself a
 * taker again (one change of the word per task under a backlog, not
 * two); only when there is none does it count itself back.
 *
 * Sleeping is an eventcount over `counts`: a worker that finds nothing
 * counts itself in `nsleepers`, under the sleep lock, before its step
 * out of the takers, which tells it whether a future came meanwhile; a
 * submitter adds to `counts` and then reads `nsleepers` (all
 * sequentially consistent), so either the worker sees the new future or
 * the submitter sees the sleeper and signals it (taking the sleep lock,
 * which the sleeper holds until it waits). Speed comes from not
 * sleeping and not waking:
 *   - no malloc per task besides the future itself (input copied in);
 *   - a worker that finds the queue empty spins a little (mproc__spin:
 *     not on one CPU, bounded, yielding) on the queued count before it
 *     sleeps;
 *   - a sleeper is woken only when more futures wait than there are
 *     takers on their way — spinning workers, workers returning from a
 *     task, sleepers already signalled — and a thread is started (up to
 *     max_workers, Python's _adjust_thread_count) only when no sleeper is
 *     left to wake. Every queued future therefore has a taker;
 *   - the wake-ups cascade: a submit signals at most one sleeper, and
 *     none while a signal is in flight; a worker that takes a future and
 *     still sees futures beyond the takers signals the next sleeper. The
 *     thread that fills the queue pays for one futex wake, not for all.
 *
 * Shutdown and breakage: a submitter counts itself in `submitting`
 * around its push and checks the flags after; shutdown (and breakage)
 * set the flag and then wait for `submitting` to drop to zero, so no
 * future is pushed after the workers may have seen an empty queue for
 * the last time. A worker runs the initializer first; if it fails the
 * executor is broken (Python's BrokenThreadPool): the queue is drained
 * with MPROC_EBROKEN and later submits are refused. shutdown
 * (cancel_futures) cancels what is still queued; a future a worker has
 * already taken runs, as Python's.
 *
 * Threads are started by submitters under `start_lock`, inside their
 * `submitting` count, so shutdown's join sees every thread that will
 * ever exist. */
#include <stdio.h>
#include <stdlib.h>

#include "futures-internal.h"
#include "object.h"
#include "platform.h"

/* Idle workers that may spin at once before they sleep. Two catch a
 * steady submitter where one left it waking a sleeper for every other
 * future; more take the CPU from the submitter (workers usually
 * outnumber CPUs). */
#define MAX_SPINNERS 2

typedef struct tpool tpool;
#define LINE 64

typedef struct tworker {
  uv_thread_t tid;
  int index;
  tpool *p;
} tworker;

struct tpool {
  mproc_executor *ex;
  /* The submitters' side. */
  _Atomic(mproc_future *) tail; /* the newest, or the stub */
  atomic_int submitting;          /* submitters between check and push */
  /* Read by every submit: apart from the sleepers' counts, which the
   * workers change each time they look for work. */
  atomic_int shutdown, broken;
  char pad0[LINE];
  _Atomic uint64_t counts;        /* queued << 32 | takers (the top) */
  char pad1[LINE];
  /* The takers' side, under take_lock. */
  uv_mutex_t take_lock;
  mproc_future *head; /* the oldest, or the stub */
  mproc_future *stub; /* a future that is never run: the list's anchor */
  char pad2[LINE];
  /* Sleeping, under sleep_lock (the counts are atomics: submitters read
   * them without it). */
  uv_mutex_t sleep_lock;
  uv_cond_t cond;
  atomic_int nsleepers; /* waiting (exact under sleep_lock) */
  atomic_int nsignaled; /* signals sent that no sleeper has taken yet */
  atomic_int nspinning; /* of those, spinning (at most MAX_SPINNERS) */
  char broken_msg[200]; /* written before `broken` is set */
  /* Threads, under start_lock. */
  uv_mutex_t start_lock;
  int nthreads;
  atomic_int all_started; /* nthreads reached max_workers (set once) */
  tworker *workers;
  uv_mutex_t join_lock; /* one joiner at a time */
  int joined;           /* threads joined so far */
};

static int t_init(mproc_executor *ex) {
  tpool *p = calloc(1, sizeof *p);
  int locks = 0;
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "executor: out of memory");
  p->workers = calloc((size_t)ex->max_workers, sizeof *p->workers);
  p->stub = calloc(1, sizeof *p->stub);
  if (p->workers != NULL && p->stub != NULL &&
      uv_mutex_init(&p->take_lock) == 0) {
    locks = 1;
    if (uv_mutex_init(&p->sleep_lock) == 0) {
      locks = 2;
      if (uv_mutex_init(&p->start_lock) == 0) {
        locks = 3;
        if (uv_mutex_init(&p->join_lock) == 0) {
          locks = 4;
          if (uv_cond_init(&p->cond) == 0) locks = 5;
        }
      }
    }
  }
  if (locks < 5) {
    if (locks > 3) uv_mutex_destroy(&p->join_lock);
    if (locks > 2) uv_mutex_destroy(&p->start_lock);
    if (locks > 1) uv_mutex_destroy(&p->sleep_lock);
    if (locks > 0) uv_mutex_destroy(&p->take_lock);
    free(p->stub);
    free(p->workers);
    free(p);
    return mproc__err(MPROC_ENOMEM, "executor: out of memory for its "
                      "locks");
  }
  p->ex = ex;
  atomic_init(&p->stub->anext, NULL);
  atomic_init(&p->tail, p->stub);
  p->head = p->stub;
  atomic_init(&p->submitting, 0);
  atomic_init(&p->nsleepers, 0);
  atomic_init(&p->nsignaled, 0);
  atomic_init(&p->counts, 0);
  atomic_init(&p->nspinning, 0);
  atomic_init(&p->shutdown, 0);
  atomic_init(&p->broken, 0);
  ex->impl = p;
  return 0;
}

/* ---- the queue ---------------------------------------------------------- */

#define ONE_QUEUED ((uint64_t)1 << 32)
#define QUEUED(c) ((size_t)((c) >> 32))
#define TAKERS(c) ((size_t)((c) & 0xffffffffu))

static size_t queued(tpool *p) { return QUEUED(atomic_load(&p->counts)); }

/* Append the futures first..last (already linked by anext, oldest
 * first). Between the exchange and the link a taker sees the list end at
 * the old tail: it finds the count ahead of the list and looks again. */
static void push(tpool *p, mproc_future *first, mproc_future *last) {
  mproc_future *prev;
  atomic_store_explicit(&last->anext, NULL, memory_order_relaxed);
  prev = atomic_exchange_explicit(&p->tail, last, memory_order_acq_rel);
  atomic_store_explicit(&prev->anext, first, memory_order_release);
}

/* Under take_lock: unlink the head h, whose successor is next. */
static mproc_future *unlink_head(tpool *p, mproc_future *h,
                                 mproc_future *next) {
  p->head = next;
  atomic_store_explicit(&h->anext, NULL, memory_order_relaxed);
  return h;
}

/* Under take_lock: the oldest linked future, or NULL. The last one is
 * taken only once something (the stub, put back) is linked behind it,
 * so `head` never points at a future that is gone. */
static mproc_future *pop(tpool *p) {
  mproc_future *h = p->head;
  mproc_future *next = atomic_load_explicit(&h->anext, memory_order_acquire);
  if (h == p->stub) {
    if (next == NULL) return NULL;
    p->head = h = next;
    next = atomic_load_explicit(&h->anext, memory_order_acquire);
  }
  if (next != NULL) return unlink_head(p, h, next);
  if (atomic_load_explicit(&p->tail, memory_order_acquire) != h)
    return NULL; /* a submitter is between its exchange and its link */
  push(p, p->stub, p->stub);
  next = atomic_load_explicit(&h->anext, memory_order_acquire);
  return next != NULL ? unlink_head(p, h, next) : NULL;
}

/* Under take_lock: the oldest queued future, or NULL. A worker (`worker`
 * 1) stops counting as a taker in the same step; *c: counts after. */
static mproc_future *take(tpool *p, int worker, uint64_t *c) {
  mproc_future *f = pop(p);
  uint64_t d = ONE_QUEUED + (worker ? 1u : 0u);
  if (f != NULL) *c = atomic_fetch_sub(&p->counts, d) - d;
  return f;
}

/* Every queued future, oldest first (linked by anext). */
static mproc_future *take_all(tpool *p) {
  mproc_future *all = NULL, *tail = NULL, *f;
  uint64_t c;
  uv_mutex_lock(&p->take_lock);
  while ((f = take(p, 0, &c)) != NULL) {
    if (tail) atomic_store_explicit(&tail->anext, f, memory_order_relaxed);
    else all = f;
    tail = f;
  }
  uv_mutex_unlock(&p->take_lock);
  return all;
}

/* Set a flag (shutdown or broken) and wait for the submitters that
 * passed their check before it: after this, nothing more is pushed. */
static void close_submits(tpool *p, atomic_int *flag) {
  atomic_store(flag, 1);
  while (atomic_load(&p->submitting) > 0) mproc__os_yield();
}

static void wake_all(tpool *p) {
  uv_mutex_lock(&p->sleep_lock);
  uv_cond_broadcast(&p->cond);
  uv_mutex_unlock(&p->sleep_lock);
}

/* Fail every queued future with MPROC_EBROKEN (Python's
 * _initializer_failed); the caller holds no lock. */
static void drain_broken(tpool *p) {
  mproc_future *f = take_all(p), *next;
  for (; f != NULL; f = next) {
    next = atomic_load_explicit(&f->anext, memory_order_relaxed);
    atomic_store_explicit(&f->anext, NULL, memory_order_relaxed);
    if (mproc__future_start(f))
      mproc__future_finish(f, MPROC_EBROKEN, MPROC_EBROKEN, p->broken_msg);
    mproc__future_unref(f);
  }
}

/* Signal one sleeper if more futures wait than there are takers on their
 * way (`first`: only if no signal is in flight already). *need and
 * *sleepers: the futures short of a taker and the sleepers not yet
 * signalled, counted exactly under the sleep lock, before this signal. */
static void signal_one(tpool *p, int first, size_t *need, size_t *sleepers) {
  uint64_t c;
  size_t avail, takers, wake;
  int sl, sg;
  uv_mutex_lock(&p->sleep_lock);
  c = atomic_load(&p->counts);
  avail = QUEUED(c);
  sl = atomic_load(&p->nsleepers);
  sg = atomic_load(&p->nsignaled);
  takers = TAKERS(c) + (size_t)sg;
  *need = avail > takers ? avail - takers : 0;
  *sleepers = sl > sg ? (size_t)(sl - sg) : 0;
  wake = *need > 0 && *sleepers > 0 && (!first || sg == 0);
  if (wake) atomic_fetch_add(&p->nsignaled, 1);
  uv_mutex_unlock(&p->sleep_lock);
  /* Signalled after unlocking, so the woken worker does not block on the
   * lock we hold (on one CPU that costs two more switches); a sleeper
   * counted above is inside cond_wait, and one that wakes early finds
   * the queue itself. */
  if (wake) uv_cond_signal(&p->cond);
}

/* A worker's take left counts at c: if futures still wait beyond the
 * takers on their way and a sleeper is left, wake one — the wake-up
 * cascade (libuv's threads wake on every submit; here the submitter
 * signals one sleeper and each woken worker, once it has taken a
 * future, signals the next while the backlog lasts, so the futex wakes
 * are paid by workers, not by the thread that fills the queue). */
static void cascade(tpool *p, uint64_t c) {
  size_t need, sleepers;
  if (QUEUED(c) <= TAKERS(c) ||
      atomic_load(&p->nsleepers) <= atomic_load(&p->nsignaled))
    return;
  signal_one(p, 0, &need, &sleepers);
}

/* After a task: the next queued future, taken before the last one is
 * finished, so a worker goes from task to task without counting itself
 * a taker in between (one add on `counts` less per task, the word every
 * submit adds to). With nothing to take the worker counts itself awake
 * again instead — before the future is finished, so a submit made as
 * soon as that result is seen finds a taker instead of starting a thread
 * (Python's idle thread reuse). */
static mproc_future *next_or_awake(tpool *p) {
  mproc_future *g;
  uint64_t c = 0;
  uv_mutex_lock(&p->take_lock);
  g = pop(p);
  if (g != NULL) c = atomic_fetch_sub(&p->counts, ONE_QUEUED) - ONE_QUEUED;
  uv_mutex_unlock(&p->take_lock);
  if (g == NULL) atomic_fetch_add(&p->counts, 1);
  else cascade(p, c);
  return g;
}

/* Run one future; returns the next one this worker is to run (NULL: the
 * worker counts as a taker again). */
static mproc_future *run_one(tpool *p, mproc_future *f, int index) {
  mproc_future *g;
  if (mproc__future_start(f)) {
    int rc = mproc__future_call(f, index);
    g = next_or_awake(p);
    mproc__future_complete(f, rc);
  } else {
    g = next_or_awake(p);
  }
  mproc__future_unref(f);
  return g;
}

/* 1 once a worker may end: shut down (or broken), no submitter that
 * passed its check before the flag still pushing, and nothing queued. */
static int ending(tpool *p) {
  return (atomic_load(&p->shutdown) || atomic_load(&p->broken)) &&
         atomic_load(&p->submitting) == 0 && queued(p) == 0;
}

/* A spinner's condition: something is queued. */
static int has_queued(void *arg) {
  tpool *p = arg;
  return QUEUED(atomic_load_explicit(&p->counts, memory_order_relaxed)) > 0;
}

/* Nothing to take: spin on the queued count, then sleep until there is work,
 * shutdown or breakage. Returns 1 if the worker is to end. */
static int wait_for_work(tpool *p) {
  if (ending(p)) return 1;
  if (p->ex->spin) {
    int found = 0;
    if (atomic_fetch_add(&p->nspinning, 1) < MAX_SPINNERS)
      found = mproc__spin_until(has_queued, p);
    atomic_fetch_sub(&p->nspinning, 1); /* before counts is read again */
    /* Still counted as a taker: back to take it, without the sleep
     * lock's round of counting out and in again. */
    if (found) return 0;
  }
  /* Each move between the counts adds to the next before it takes from
   * the last, except the signalled one's: a submitter reading them
   * without the lock may miss a worker (then it looks again under the
   * lock), never count one twice. */
  uv_mutex_lock(&p->sleep_lock);
  atomic_fetch_add(&p->nsleepers, 1); /* seq_cst: see the top */
  if (QUEUED(atomic_fetch_sub(&p->counts, 1)) == 0 &&
      !atomic_load(&p->shutdown) && !atomic_load(&p->broken)) {
    uv_cond_wait(&p->cond, &p->sleep_lock);
    /* nsignaled changes under sleep_lock only. */
    if (atomic_load(&p->nsignaled) > 0) atomic_fetch_sub(&p->nsignaled, 1);
  }
  atomic_fetch_add(&p->counts, 1);
  atomic_fetch_sub(&p->nsleepers, 1);
  uv_mutex_unlock(&p->sleep_lock);
  if (ending(p)) return 1;
  /* Shut down, but a submitter is still inside (it will be refused, or
   * its future taken): let it run instead of looping on the locks. */
  if (atomic_load(&p->shutdown) || atomic_load(&p->broken)) mproc__os_yield();
  return 0;
}

static void worker_main(void *arg) {
  tworker *w = arg;
  tpool *p = w->p;
  mproc_executor *ex = p->ex;
  mproc_future *f;
  mproc__executor_set_current(ex);
  if (ex->init != NULL) {
    int rc = ex->init(ex->initargs, ex->initargs_len);
    if (rc != 0) {
      uv_mutex_lock(&p->start_lock); /* one writer of the message */
      if (!atomic_load(&p->broken))
        snprintf(p->broken_msg, sizeof p->broken_msg, "executor broken: a "
                 "worker's initializer failed with %d; no task can run", rc);
      uv_mutex_unlock(&p->start_lock);
      close_submits(p, &p->broken);
      drain_broken(p);
      wake_all(p);
      atomic_fetch_sub(&p->counts, 1);
      return;
    }
  }
  for (;;) {
    uint64_t c = 0;
    uv_mutex_lock(&p->take_lock);
    f = take(p, 1, &c);
    uv_mutex_unlock(&p->take_lock);
    if (f != NULL) cascade(p, c);
    while (f != NULL) f = run_one(p, f, w->index);
    /* Nothing taken: a future is counted before it is linked; look
     * again. */
    if (queued(p) > 0) {
      mproc__os_yield();
      continue;
    }
    if (wait_for_work(p)) break;
  }
  atomic_fetch_sub(&p->counts, 1);
}

/* Under start_lock: start a worker (awake from the start); 0, or
 * MPROC_EOS. */
static int start_worker(tpool *p) {
  tworker *w = &p->workers[p->nthreads];
  w->index = p->nthreads;
  w->p = p;
  atomic_fetch_add(&p->counts, 1);
  if (uv_thread_create(&w->tid, worker_main, w) != 0) {
    atomic_fetch_sub(&p->counts, 1);
    return mproc__err(MPROC_EOS, "executor: cannot start worker thread %d",
                      p->nthreads);
  }
  p->nthreads++;
  if (p->nthreads == p->ex->max_workers) atomic_store(&p->all_started, 1);
  return 0;
}

/* After a push (c: counts just after it was counted): wake a sleeper or
 * start threads for the futures that no taker on its way will take.
 * Inside the submitter's count. 1 if no thread could be started and
 * none runs (the executor is broken). */
static int find_takers(tpool *p, uint64_t c) {
  mproc_executor *ex = p->ex;
  size_t need, sleepers, i;
  int rc = 0, sg;
  /* A woken sleeper leaves nsignaled before it joins the takers: it is
   * never counted twice. */
  if (QUEUED(c) <= TAKERS(c)) return 0; /* no look at the sleepers' line */
  sg = atomic_load(&p->nsignaled);
  if (QUEUED(c) <= TAKERS(c) + (size_t)sg) return 0;
  /* Every worker started, and nobody asleep (a sleeper counts itself
   * before it checks the queue, so one not counted yet will see this
   * future) or a signal in flight (the woken worker signals the next
   * once it has taken a future): no lock to take. */
  if (atomic_load(&p->all_started) &&
      (sg > 0 || atomic_load(&p->nsleepers) == 0))
    return 0;
  /* The sleepers are signalled one by one along the cascade; threads
   * are started here for what they cannot take. */
  signal_one(p, 1, &need, &sleepers);
  if (need <= sleepers) return 0;
  uv_mutex_lock(&p->start_lock);
  for (i = sleepers; i < need && p->nthreads < ex->max_workers; i++)
    if ((rc = start_worker(p)) < 0) break;
  if (rc < 0 && p->nthreads == 0) {
    /* No worker at all: the executor cannot run anything. */
    snprintf(p->broken_msg, sizeof p->broken_msg, "executor broken: %s",
             mproc_last_error());
    atomic_store(&p->broken, 1);
    uv_mutex_unlock(&p->start_lock);
    return 1;
  }
  uv_mutex_unlock(&p->start_lock);
  return 0;
}

static int t_enqueue(mproc_executor *ex, mproc_future *const *fs, size_t n) {
  tpool *p = ex->impl;
  uint64_t c;
  size_t i;
  int none;
  if (n == 0) return 0;
  atomic_fetch_add(&p->submitting, 1); /* seq_cst: see close_submits */
  if (atomic_load(&p->shutdown) || atomic_load(&p->broken)) {
    int rc = atomic_load(&p->shutdown)
                 ? mproc__err(MPROC_ESTATE, "cannot schedule new futures "
                              "after shutdown")
                 : mproc__err(MPROC_EBROKEN, "%s", p->broken_msg);
    atomic_fetch_sub(&p->submitting, 1);
    return rc;
  }
  /* Counted first (a taker that sees the count and not yet the future
   * looks again), then linked oldest first and appended whole. */
  c = atomic_fetch_add(&p->counts, (uint64_t)n << 32) + ((uint64_t)n << 32);
  for (i = 0; i + 1 < n; i++)
    atomic_store_explicit(&fs[i]->anext, fs[i + 1], memory_order_relaxed);
  push(p, fs[0], fs[n - 1]);
  none = find_takers(p, c);
  atomic_fetch_sub(&p->submitting, 1);
  if (none) drain_broken(p); /* they fail with MPROC_EBROKEN */
  return 0;
}

static void join_all(tpool *p) {
  int n;
  uv_mutex_lock(&p->join_lock);
  uv_mutex_lock(&p->start_lock);
  n = p->nthreads; /* no more start after shutdown */
  uv_mutex_unlock(&p->start_lock);
  for (; p->joined < n; p->joined++)
    uv_thread_join(&p->workers[p->joined].tid);
  uv_mutex_unlock(&p->join_lock);
}

static int t_shutdown(mproc_executor *ex, int flags) {
  tpool *p = ex->impl;
  mproc_future *f, *next;
  close_submits(p, &p->shutdown);
  if (flags & MPROC_SHUTDOWN_CANCEL_FUTURES) {
    for (f = take_all(p); f != NULL; f = next) {
      next = atomic_load_explicit(&f->anext, memory_order_relaxed);
      atomic_store_explicit(&f->anext, NULL, memory_order_relaxed);
      (void)mproc_future_cancel(f); /* stays CANCELLED, as Python's */
      mproc__future_unref(f);
    }
  }
  wake_all(p);
  if (flags & MPROC_SHUTDOWN_WAIT) join_all(p);
  return 0;
}

static void t_destroy(mproc_executor *ex) {
  tpool *p = ex->impl;
  drain_broken(p); /* none left after a join; a broken pool's, if any */
  uv_cond_destroy(&p->cond);
  uv_mutex_destroy(&p->take_lock);
  uv_mutex_destroy(&p->sleep_lock);
  uv_mutex_destroy(&p->start_lock);
  uv_mutex_destroy(&p->join_lock);
  free(p->stub);
  free(p->workers);
  free(p);
  ex->impl = NULL;
}

const mproc__executor_ops mproc__executor_thread_ops = {
    "thread", t_init, t_enqueue, t_shutdown, t_destroy, NULL, NULL, NULL,
    NULL};
