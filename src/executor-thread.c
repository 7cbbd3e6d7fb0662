/* mproc: the thread kind of executor — Python's ThreadPoolExecutor on
 * libuv threads.
 *
 * One queue of futures (intrusive list) under one mutex with one
 * condition variable; a worker takes one future at a time (a batch would
 * strand queued tasks behind one that blocks, while other threads idle).
 * Speed comes from not sleeping and not waking:
 *   - no malloc per task besides the future itself (input copied into it);
 *   - a worker that finds the queue empty spins a little (mproc__spin: not
 *     on one CPU, bounded, yielding) on `avail` before it sleeps, so a
 *     steady submitter keeps it busy without a single wake-up;
 *   - a submit wakes a sleeper only when the queue holds more futures than
 *     there are takers on their way — spinning workers, workers returning
 *     from a task, sleepers already signalled — and starts a thread (up to
 *     max_workers, Python's _adjust_thread_count) only when no sleeper is
 *     left to wake. Every queued future therefore has a taker, and no two
 *     submits wake one sleeper twice.
 *
 * A worker runs the initializer first; if it fails the executor is broken
 * (Python's BrokenThreadPool): the queue is drained with MPROC_EBROKEN and
 * later submits are refused. shutdown(cancel_futures) cancels what is
 * still queued; a future a worker has already taken runs, as Python's.
 *
 * Threads are created under the queue lock (a handful per executor), so
 * shutdown's join sees every thread that will ever exist. */
#include <stdio.h>
#include <stdlib.h>

#include "futures-internal.h"
#include "object.h"

/* One spinner is enough to catch a steady submitter; more would take the
 * CPU from the submitter itself (workers usually outnumber CPUs). */
#define MAX_SPINNERS 1

typedef struct tpool tpool;

typedef struct tworker {
  uv_thread_t tid;
  int index;
  tpool *p;
} tworker;

struct tpool {
  mproc_executor *ex;
  uv_mutex_t lock;
  uv_cond_t cond;
  mproc_future *head, *tail;
  size_t qlen;
  int nthreads;
  int nidle;     /* asleep on cond */
  int nsignaled; /* signals sent that no sleeper has taken yet */
  int nspinning; /* awake, looking at avail before they sleep */
  atomic_int nreturning;   /* back from a task, not yet at the queue */
  _Atomic uint32_t avail;  /* qlen (capped), for spinners outside the lock */
  int shutdown, broken;
  char broken_msg[200];
  tworker *workers;
  uv_mutex_t join_lock; /* one joiner at a time */
  int joined;           /* threads joined so far */
};

static int t_init(mproc_executor *ex) {
  tpool *p = calloc(1, sizeof *p);
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "executor: out of memory");
  p->workers = calloc((size_t)ex->max_workers, sizeof *p->workers);
  if (p->workers == NULL || uv_mutex_init(&p->lock) != 0) {
    free(p->workers);
    free(p);
    return mproc__err(MPROC_ENOMEM, "executor: out of memory");
  }
  if (uv_cond_init(&p->cond) != 0 || uv_mutex_init(&p->join_lock) != 0) {
    uv_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
    return mproc__err(MPROC_ENOMEM, "executor: cannot make a condition");
  }
  p->ex = ex;
  atomic_init(&p->nreturning, 0);
  atomic_init(&p->avail, 0);
  ex->impl = p;
  return 0;
}

/* Fail every queued future with MPROC_EBROKEN (Python's
 * _initializer_failed); the caller holds no lock. */
static void drain_broken(tpool *p) {
  mproc_future *f, *next;
  uv_mutex_lock(&p->lock);
  f = p->head;
  p->head = p->tail = NULL;
  p->qlen = 0;
  atomic_store_explicit(&p->avail, 0, memory_order_relaxed);
  uv_mutex_unlock(&p->lock);
  for (; f != NULL; f = next) {
    next = f->next;
    if (mproc__future_start(f))
      mproc__future_finish(f, MPROC_EBROKEN, MPROC_EBROKEN, p->broken_msg);
    mproc__future_unref(f);
  }
}

/* Run one future. The worker counts itself as returning once the task
 * has returned, before the future is finished, so a submit made as soon
 * as that result is seen finds a taker instead of starting a thread
 * (Python's idle thread reuse). */
static void run_one(tpool *p, mproc_future *f, int index) {
  if (mproc__future_start(f)) {
    int rc = mproc__future_call(f, index);
    atomic_fetch_add_explicit(&p->nreturning, 1, memory_order_relaxed);
    mproc__future_complete(f, rc);
  } else {
    atomic_fetch_add_explicit(&p->nreturning, 1, memory_order_relaxed);
  }
  mproc__future_unref(f);
}

/* Under p->lock: take the first future. */
static mproc_future *take(tpool *p) {
  mproc_future *f = p->head;
  p->head = f->next;
  if (p->head == NULL) p->tail = NULL;
  f->next = NULL;
  p->qlen--;
  atomic_store_explicit(&p->avail, p->qlen > 0xffffffffu ? 0xffffffffu
                        : (uint32_t)p->qlen, memory_order_relaxed);
  return f;
}

/* Under p->lock, queue empty: spin outside the lock, then sleep until
 * there is work, shutdown or breakage. */
static void wait_for_work(tpool *p) {
  if (p->shutdown || p->broken) return;
  if (p->ex->spin && p->nspinning < MAX_SPINNERS) {
    p->nspinning++;
    uv_mutex_unlock(&p->lock);
    (void)mproc__spin(&p->avail, 0);
    uv_mutex_lock(&p->lock);
    p->nspinning--;
  }
  while (p->head == NULL && !p->shutdown && !p->broken) {
    p->nidle++;
    uv_cond_wait(&p->cond, &p->lock);
    p->nidle--;
    if (p->nsignaled > 0) p->nsignaled--;
  }
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
      uv_mutex_lock(&p->lock);
      if (!p->broken)
        snprintf(p->broken_msg, sizeof p->broken_msg, "executor broken: a "
                 "worker's initializer failed with %d; no task can run", rc);
      p->broken = 1;
      uv_mutex_unlock(&p->lock);
      drain_broken(p);
      return;
    }
  }
  uv_mutex_lock(&p->lock);
  for (;;) {
    if (p->head == NULL) wait_for_work(p);
    if (p->head == NULL) break; /* shut down (or broken) and drained */
    f = take(p);
    uv_mutex_unlock(&p->lock);
    run_one(p, f, w->index);
    uv_mutex_lock(&p->lock);
    atomic_fetch_sub_explicit(&p->nreturning, 1, memory_order_relaxed);
  }
  uv_mutex_unlock(&p->lock);
}

/* Under p->lock: start a worker; 0, or MPROC_EOS. */
static int start_worker(tpool *p) {
  tworker *w = &p->workers[p->nthreads];
  w->index = p->nthreads;
  w->p = p;
  if (uv_thread_create(&w->tid, worker_main, w) != 0)
    return mproc__err(MPROC_EOS, "executor: cannot start worker thread %d",
                      p->nthreads);
  p->nthreads++;
  return 0;
}

static int t_enqueue(mproc_executor *ex, mproc_future *const *fs, size_t n) {
  tpool *p = ex->impl;
  size_t i, wake, need, takers, sleepers;
  int rc = 0;
  uv_mutex_lock(&p->lock);
  if (p->shutdown || p->broken) {
    rc = p->shutdown ? mproc__err(MPROC_ESTATE, "cannot schedule new futures "
                                  "after shutdown")
                     : mproc__err(MPROC_EBROKEN, "%s", p->broken_msg);
    uv_mutex_unlock(&p->lock);
    return rc;
  }
  for (i = 0; i < n; i++) {
    fs[i]->next = NULL;
    if (p->tail) p->tail->next = fs[i]; else p->head = fs[i];
    p->tail = fs[i];
  }
  p->qlen += n;
  atomic_store_explicit(&p->avail, p->qlen > 0xffffffffu ? 0xffffffffu
                        : (uint32_t)p->qlen, memory_order_relaxed);
  /* Takers on their way; beyond them wake sleepers, then start threads. */
  takers = (size_t)p->nspinning + (size_t)p->nsignaled +
           (size_t)atomic_load_explicit(&p->nreturning, memory_order_relaxed);
  need = p->qlen > takers ? p->qlen - takers : 0;
  sleepers = p->nidle > p->nsignaled ? (size_t)(p->nidle - p->nsignaled) : 0;
  wake = need < sleepers ? need : sleepers;
  p->nsignaled += (int)wake;
  for (i = wake; i < need && p->nthreads < ex->max_workers; i++)
    if ((rc = start_worker(p)) < 0) break;
  if (rc < 0 && p->nthreads > 0) rc = 0; /* the running ones will do */
  if (rc < 0) {
    /* No worker at all: take the futures back out (they are the last n). */
    p->head = p->tail = NULL;
    p->qlen = 0;
    atomic_store_explicit(&p->avail, 0, memory_order_relaxed);
  }
  uv_mutex_unlock(&p->lock);
  /* Signal after unlocking, so the woken worker does not block on the lock
   * we hold (a sleeper counted above is inside cond_wait; if it wakes
   * early it finds the queue itself). */
  for (i = 0; i < wake; i++) uv_cond_signal(&p->cond);
  return rc;
}

static void join_all(tpool *p) {
  int n;
  uv_mutex_lock(&p->join_lock);
  uv_mutex_lock(&p->lock);
  n = p->nthreads; /* no more start after shutdown */
  uv_mutex_unlock(&p->lock);
  for (; p->joined < n; p->joined++)
    uv_thread_join(&p->workers[p->joined].tid);
  uv_mutex_unlock(&p->join_lock);
}

static int t_shutdown(mproc_executor *ex, int flags) {
  tpool *p = ex->impl;
  mproc_future *cancelled = NULL, *f, *next;
  uv_mutex_lock(&p->lock);
  p->shutdown = 1;
  if (flags & MPROC_SHUTDOWN_CANCEL_FUTURES) {
    cancelled = p->head;
    p->head = p->tail = NULL;
    p->qlen = 0;
    atomic_store_explicit(&p->avail, 0, memory_order_relaxed);
  }
  uv_cond_broadcast(&p->cond);
  uv_mutex_unlock(&p->lock);
  for (f = cancelled; f != NULL; f = next) {
    next = f->next;
    (void)mproc_future_cancel(f); /* stays CANCELLED, as Python's */
    mproc__future_unref(f);
  }
  if (flags & MPROC_SHUTDOWN_WAIT) join_all(p);
  return 0;
}

static void t_destroy(mproc_executor *ex) {
  tpool *p = ex->impl;
  uv_cond_destroy(&p->cond);
  uv_mutex_destroy(&p->lock);
  uv_mutex_destroy(&p->join_lock);
  free(p->workers);
  free(p);
  ex->impl = NULL;
}

const mproc__executor_ops mproc__executor_thread_ops = {
    "thread", t_init, t_enqueue, t_shutdown, t_destroy, NULL, NULL, NULL};
