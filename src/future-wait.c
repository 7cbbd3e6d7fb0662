/* mproc: waiting on futures — result(timeout), mproc_wait, as_completed.
 *
 * CPython's _Waiter in C: a waiter is a mutex, a condition variable and
 * counters; it registers one node on each future it waits for (in the
 * future's list, under the future's lock). A future that becomes done
 * fires each node while it holds its own lock (future lock, then waiter
 * lock) and signals under the waiter's lock, so the waiter may be
 * destroyed as soon as it has taken the lock of every future it
 * registered on once more (unregister does that for every node, fired or
 * not): after that no finishing thread can still touch it. */
#include <stdlib.h>
#include <string.h>

#include "futures-internal.h"

struct mproc__waiter {
  uv_mutex_t m;
  uv_cond_t c;
  size_t events;     /* nodes fired */
  size_t exceptions; /* of them, futures that finished with an exception */
  size_t *order;     /* as_completed: the fired indices, in order */
  size_t norder;
};

void mproc__waiter_fire(mproc__wnode *n, int exc) {
  mproc__waiter *w = n->w;
  uv_mutex_lock(&w->m);
  w->events++;
  if (exc) w->exceptions++;
  if (w->order) w->order[w->norder++] = n->idx;
  uv_cond_signal(&w->c);
  uv_mutex_unlock(&w->m);
}

static int waiter_init(mproc__waiter *w, size_t *order) {
  w->events = w->exceptions = w->norder = 0;
  w->order = order;
  if (uv_mutex_init(&w->m) != 0)
    return mproc__err(MPROC_ENOMEM, "wait: cannot make a mutex");
  if (uv_cond_init(&w->c) != 0) {
    uv_mutex_destroy(&w->m);
    return mproc__err(MPROC_ENOMEM, "wait: cannot make a condition");
  }
  return 0;
}

static void waiter_destroy(mproc__waiter *w) {
  uv_cond_destroy(&w->c);
  uv_mutex_destroy(&w->m);
}

static int exc_of(const mproc_future *f) {
  return atomic_load_explicit(&mproc__unconst(f)->state,
                              memory_order_acquire) == MPROC_FUTURE_FINISHED &&
         f->outcome != 0;
}

/* Link node n on f unless f is done: 0 if linked, 1 if done (and then,
 * for as_completed, the index is recorded at once). */
static int reg(mproc_future *f, mproc__wnode *n, mproc__waiter *w, size_t idx) {
  n->w = w;
  n->idx = idx;
  n->prev = NULL;
  mproc__future_lock(f);
  if (mproc__future_hook(f)) {
    n->linked = 0;
    n->next = NULL;
    if (w->order) {
      uv_mutex_lock(&w->m);
      w->order[w->norder++] = idx;
      uv_mutex_unlock(&w->m);
    }
    mproc__future_unlock(f);
    return 1;
  }
  n->next = f->waiters;
  if (f->waiters) f->waiters->prev = n;
  f->waiters = n;
  n->linked = 1;
  mproc__future_unlock(f);
  return 0;
}

/* Take f's lock once more (see the top), unlinking n if still linked. */
static void unreg(mproc_future *f, mproc__wnode *n) {
  mproc__future_lock(f);
  if (n->linked) {
    if (n->prev) n->prev->next = n->next; else f->waiters = n->next;
    if (n->next) n->next->prev = n->prev;
    n->linked = 0;
    mproc__future_unhook(f);
  }
  mproc__future_unlock(f);
}

/* Predicates over the waiter, under w->m. */
typedef int (*wait_pred)(const mproc__waiter *w, const void *arg);

/* Block until pred holds or the deadline passes; returns pred. */
static int block(mproc__waiter *w, wait_pred pred, const void *arg,
                 double deadline) {
  int ok;
  uv_mutex_lock(&w->m);
  while (!(ok = pred(w, arg))) {
    double left;
    if (deadline < 0) {
      uv_cond_wait(&w->c, &w->m);
      continue;
    }
    left = mproc__remaining(deadline);
    if (left <= 0) break;
    if (left > 1e9) left = 1e9; /* 31 years a round: no uint64 overflow */
    (void)uv_cond_timedwait(&w->c, &w->m, (uint64_t)(left * 1e9) + 1);
  }
  uv_mutex_unlock(&w->m);
  return ok;
}

static int any_event(const mproc__waiter *w, const void *arg) {
  (void)arg;
  return w->events > 0;
}

int mproc__future_wait1(mproc_future *f, double timeout) {
  mproc__waiter w;
  mproc__wnode n;
  int rc, done;
  if ((rc = waiter_init(&w, NULL)) < 0) return rc;
  done = reg(f, &n, &w, 0) ||
         block(&w, any_event, NULL, mproc__deadline(timeout));
  unreg(f, &n);
  waiter_destroy(&w);
  if (!done)
    return mproc__err(MPROC_ETIMEDOUT, "future of task %llu not done "
                      "within %g s", (unsigned long long)f->task,
                      timeout);
  return 0;
}

/* ---- mproc_wait ---------------------------------------------------------- */

typedef struct wait_goal {
  mproc_return_when when;
  size_t need;     /* futures not done at registration */
  size_t had_done; /* done at registration */
  size_t had_exc;  /* of them, with an exception */
} wait_goal;

static int goal_met(const mproc__waiter *w, const void *arg) {
  const wait_goal *g = arg;
  switch (g->when) {
  case MPROC_FIRST_COMPLETED:
    return g->had_done > 0 || w->events > 0;
  case MPROC_FIRST_EXCEPTION:
    return g->had_exc > 0 || w->exceptions > 0 || w->events >= g->need;
  default:
    return w->events >= g->need;
  }
}

static int check_list(mproc_future *const *fs, size_t n, const char *who) {
  size_t i;
  if (fs == NULL && n > 0)
    return mproc__err(MPROC_EINVAL, "%s: the future list is NULL", who);
  for (i = 0; i < n; i++)
    if (fs[i] == NULL)
      return mproc__err(MPROC_EINVAL, "%s: future %zu of %zu is NULL", who,
                        i, n);
  return 0;
}

int mproc_wait(mproc_future *const *fs, size_t n, double timeout,
               mproc_return_when when, unsigned char *done) {
  mproc__waiter w;
  mproc__wnode *nodes;
  wait_goal g = {when, 0, 0, 0};
  size_t i, count = 0;
  double t;
  int rc;
  if ((rc = check_list(fs, n, "wait")) < 0) return rc;
  if (when < MPROC_FIRST_COMPLETED || when > MPROC_ALL_COMPLETED)
    return mproc__err(MPROC_EINVAL, "wait: return_when %d is not "
                      "FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED",
                      (int)when);
  if ((rc = mproc__timeout(timeout, &t)) < 0) return rc;
  if (n == 0) return 0;
  nodes = malloc(n * sizeof *nodes);
  if (nodes == NULL) return mproc__err(MPROC_ENOMEM, "wait: out of memory");
  if ((rc = waiter_init(&w, NULL)) < 0) {
    free(nodes);
    return rc;
  }
  for (i = 0; i < n; i++) {
    if (reg(fs[i], &nodes[i], &w, i)) {
      g.had_done++;
      g.had_exc += (size_t)exc_of(fs[i]);
    } else {
      g.need++;
    }
  }
  (void)block(&w, goal_met, &g, mproc__deadline(t));
  for (i = 0; i < n; i++) unreg(fs[i], &nodes[i]);
  waiter_destroy(&w);
  free(nodes);
  for (i = 0; i < n; i++) {
    int d = mproc__state_done(
        atomic_load_explicit(&fs[i]->state, memory_order_acquire));
    if (done) done[i] = (unsigned char)d;
    count += (size_t)d;
  }
  return count > (size_t)0x7fffffff ? 0x7fffffff : (int)count;
}

/* ---- as_completed -------------------------------------------------------- */

struct mproc_as_completed {
  mproc__waiter w;
  mproc_future **fs; /* distinct */
  mproc__wnode *nodes;
  size_t *order;
  size_t n, taken;
  double deadline;
};

static int cmp_ptr(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (mproc_future *const *)a;
  uintptr_t y = (uintptr_t) * (mproc_future *const *)b;
  return (x > y) - (x < y);
}

/* Copy fs without duplicates (Python takes a set). */
static size_t distinct(mproc_future **dst, mproc_future *const *fs, size_t n) {
  size_t i, k = 0;
  if (n == 0) return 0;
  memcpy(dst, fs, n * sizeof *dst);
  qsort(dst, n, sizeof *dst, cmp_ptr);
  for (i = 0; i < n; i++)
    if (k == 0 || dst[k - 1] != dst[i]) dst[k++] = dst[i];
  return k;
}

void mproc_as_completed_free(mproc_as_completed *it) {
  size_t i;
  if (it == NULL) return;
  for (i = 0; i < it->n; i++) unreg(it->fs[i], &it->nodes[i]);
  waiter_destroy(&it->w);
  free(it->fs);
  free(it->nodes);
  free(it->order);
  free(it);
}

int mproc_as_completed_new(mproc_as_completed **out, mproc_future *const *fs,
                           size_t n, double timeout) {
  mproc_as_completed *it;
  double t;
  size_t i, cap = n ? n : 1;
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "as_completed: out is NULL");
  *out = NULL;
  if ((rc = check_list(fs, n, "as_completed")) < 0) return rc;
  if ((rc = mproc__timeout(timeout, &t)) < 0) return rc;
  it = calloc(1, sizeof *it);
  if (it == NULL ||
      (it->fs = malloc(cap * sizeof *it->fs)) == NULL ||
      (it->nodes = malloc(cap * sizeof *it->nodes)) == NULL ||
      (it->order = malloc(cap * sizeof *it->order)) == NULL ||
      waiter_init(&it->w, it->order) < 0) {
    if (it) {
      free(it->fs);
      free(it->nodes);
      free(it->order);
    }
    free(it);
    return mproc__err(MPROC_ENOMEM, "as_completed: out of memory");
  }
  it->deadline = mproc__deadline(t);
  it->n = distinct(it->fs, fs, n);
  for (i = 0; i < it->n; i++) (void)reg(it->fs[i], &it->nodes[i], &it->w, i);
  *out = it;
  return 0;
}

static int has_next(const mproc__waiter *w, const void *arg) {
  return w->norder > *(const size_t *)arg;
}

int mproc_as_completed_next(mproc_as_completed *it, mproc_future **out) {
  size_t idx;
  if (out) *out = NULL;
  if (it == NULL || out == NULL)
    return mproc__err(MPROC_EINVAL, "as_completed_next: %s is NULL",
                      it ? "out" : "iterator");
  if (it->taken == it->n) return MPROC_EEOF;
  if (!block(&it->w, has_next, &it->taken, it->deadline))
    return mproc__err(MPROC_ETIMEDOUT, "as_completed: %zu (of %zu) futures "
                      "unfinished", it->n - it->taken, it->n);
  uv_mutex_lock(&it->w.m);
  idx = it->order[it->taken++];
  uv_mutex_unlock(&it->w.m);
  *out = it->fs[idx];
  return 0;
}
