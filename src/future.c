/* mproc: the future — Python's state machine, done callbacks, results.
 *
 * States (Python's): PENDING -> RUNNING -> FINISHED when a worker takes
 * and runs it (mproc__future_start, mproc__future_finish); PENDING ->
 * CANCELLED by mproc_future_cancel, then CANCELLED_AND_NOTIFIED when the
 * executor reaches it. Every change happens under the future's lock; the
 * state is also an atomic so done()/running() read it without the lock
 * (the release store of a terminal state publishes the result).
 *
 * One difference from CPython, on purpose: a cancel tells mproc_wait and
 * as_completed waiters at once (CPython's waiters learn of it only when
 * the executor calls set_running_or_notify_cancel), so a wait never
 * sleeps on a future that is already cancelled.
 *
 * The worker's path takes no lock when nobody waits: start is a CAS
 * (PENDING -> RUNNING; cancel makes PENDING -> CANCELLED by CAS too, so
 * exactly one wins), and finish publishes FINISHED and then looks at
 * `hooks`, the count of registered waiters and callbacks, taking the lock
 * only if it is not zero. A registrant, under the lock, counts itself in
 * `hooks` and then reads the state (both sequentially consistent): either
 * it sees FINISHED and does not link, or the finisher sees its count and
 * takes the lock, which it can only get after the registrant has linked.
 * Nothing is lost between them.
 *
 * References: the caller's (mproc_future_free) and the kind's (dropped
 * once the future is done and the worker is through with it), plus one
 * per queued completion. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "futures-internal.h"
#include "object.h"

#define NO_ITEM MPROC__NO_ITEM

/* The lock stripes: a power of two, several per CPU the pool may use. */
#define STRIPES 256
static uv_mutex_t stripes[STRIPES];
static uv_once_t stripes_once = UV_ONCE_INIT;

static void stripes_init(void) {
  int i;
  for (i = 0; i < STRIPES; i++)
    if (uv_mutex_init(&stripes[i]) != 0) abort(); /* no memory at start */
}

void mproc__future_locks_init(void) { uv_once(&stripes_once, stripes_init); }

uv_mutex_t *mproc__future_lock_of(const mproc_future *f) {
  uintptr_t a = (uintptr_t)f >> 4;
  return &stripes[(a ^ (a >> 8)) & (STRIPES - 1)];
}

/* ---- slabs ----------------------------------------------------------------
 *
 * A slab's slots are handed out once each, in order (`cursor`, under the
 * executor's slab lock: an uncontended lock costs less than a malloc and
 * its free, and no submitter can then hold a slab that is being freed),
 * and never reused; `live` counts the slots not yet freed (all of them
 * from the start, handed out or not) plus one while the slab is its
 * executor's current one. The submit that finds the slab used up
 * installs a new one and drops the old one's extra count; a future's
 * last unref drops one; the last drop frees the slab. The executor's
 * release drops its current slab's extra count and the slots never
 * handed out. */
struct mproc__slab {
  atomic_int live;
  unsigned cursor; /* under the executor's slab_lock */
  _Alignas(16) unsigned char mem[];
};

#define SLOT_SIZE \
  ((sizeof(mproc_future) + MPROC__SLAB_IN + 15) / 16 * 16)

static void slab_drop(mproc__slab *s, int n) {
  if (atomic_fetch_sub_explicit(&s->live, n, memory_order_acq_rel) == n)
    free(s);
}

/* A slot of ex's current slab, or NULL (out of memory: the caller
 * mallocs). */
static mproc_future *slab_alloc(mproc_executor *ex) {
  mproc__slab *s, *old = NULL;
  mproc_future *f = NULL;
  uv_mutex_lock(&ex->slab_lock);
  s = ex->slab;
  if (s == NULL || s->cursor == MPROC__SLAB_SLOTS) {
    old = s;
    s = malloc(sizeof *s + MPROC__SLAB_SLOTS * SLOT_SIZE);
    if (s != NULL) {
      atomic_init(&s->live, MPROC__SLAB_SLOTS + 1);
      s->cursor = 0;
    } else {
      old = NULL; /* it stays: a later submit replaces it */
    }
    if (s != NULL) ex->slab = s;
  }
  if (s != NULL && s->cursor < MPROC__SLAB_SLOTS) {
    f = (mproc_future *)(void *)(s->mem + s->cursor++ * SLOT_SIZE);
    f->slab = s;
  }
  uv_mutex_unlock(&ex->slab_lock);
  if (old != NULL) slab_drop(old, 1);
  return f;
}

void mproc__slab_release(mproc_executor *ex) {
  mproc__slab *s = ex->slab;
  if (s == NULL) return;
  ex->slab = NULL;
  slab_drop(s, (int)(MPROC__SLAB_SLOTS - s->cursor) + 1);
}

static mproc_future *future_init(mproc_future *f, mproc_executor *ex,
                                 mproc_task_fn fn, const void *in, size_t len,
                                 size_t item);

/* A future's bytes in a slab, rounded for alignment. */
static size_t slab_part(size_t len) {
  return (sizeof(mproc_future) + len + 15) & ~(size_t)15;
}

mproc__fslab *mproc__fslab_new(size_t count, size_t bytes) {
  mproc__fslab *s;
  size_t cap = count * slab_part(0) + bytes + count * 16;
  if (count > SIZE_MAX / (slab_part(0) + 16) ||
      bytes > SIZE_MAX - sizeof *s - count * (slab_part(0) + 16) ||
      (s = malloc(sizeof *s + cap)) == NULL) {
    mproc__err(MPROC_ENOMEM, "out of memory for %zu futures", count);
    return NULL;
  }
  atomic_init(&s->refs, 1);
  s->used = 0;
  s->cap = cap;
  return s;
}

void mproc__fslab_unref(mproc__fslab *s) {
  if (s != NULL &&
      atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
    free(s);
}

mproc_future *mproc__future_new_in(mproc__fslab *s, mproc_executor *ex,
                                   mproc_task_fn fn, const void *in,
                                   size_t len, size_t item) {
  mproc_future *f;
  if (s == NULL || len > SIZE_MAX - sizeof *f - 16 ||
      s->cap - s->used < slab_part(len))
    return mproc__future_new(ex, fn, in, len, item);
  f = (mproc_future *)(void *)(s->mem + s->used);
  s->used += slab_part(len);
  atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
  f->slab = NULL;
  f->fslab = s;
  return future_init(f, ex, fn, in, len, item);
}

mproc_future *mproc__future_new(mproc_executor *ex, mproc_task_fn fn,
                                const void *in, size_t len, size_t item) {
  mproc_future *f = NULL;
  if (len > SIZE_MAX - sizeof *f) {
    mproc__err(MPROC_ENOMEM, "task input of %zu bytes is too large", len);
    return NULL;
  }
  if (len <= MPROC__SLAB_IN) f = slab_alloc(ex);
  if (f == NULL) {
    f = malloc(sizeof *f + len);
    if (f == NULL) {
      mproc__err(MPROC_ENOMEM, "submit: out of memory for a future");
      return NULL;
    }
    f->slab = NULL;
  }
  f->fslab = NULL;
  return future_init(f, ex, fn, in, len, item);
}

/* The fields of a new future whose memory (and `slab`/`fslab`) is set. */
static mproc_future *future_init(mproc_future *f, mproc_executor *ex,
                                 mproc_task_fn fn, const void *in, size_t len,
                                 size_t item) {
  atomic_init(&f->refs, 2);
  atomic_init(&f->state, MPROC_FUTURE_PENDING);
  atomic_init(&f->hooks, 0);
  f->outcome = f->task_code = 0;
  f->chunk = 0;
  f->attempts = f->kflags = 0;
  f->why = NULL;
  f->waiters = NULL;
  f->cbs = f->cbs_tail = NULL;
  f->ex = ex;
  f->fn = fn;
  f->task = (uint64_t)atomic_fetch_add_explicit(&ex->seq, 1,
                                                memory_order_relaxed);
  f->item = item;
  f->data = NULL;
  f->len = 0;
  f->in_len = len;
  f->next = f->cnext = NULL;
  if (len && in) memcpy(f->in, in, len); /* NULL: the caller fills it */
  return f;
}

void mproc__future_ref(mproc_future *f) {
  atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

void mproc__future_unref(mproc_future *f) {
  mproc__cb *c, *next;
  if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
    return;
  for (c = f->cbs; c != NULL; c = next) {
    next = c->next;
    if (c != &f->cb0) free(c); /* the first is the future's own */
  }
  free(f->data);
  free(f->why);
  if (f->fslab != NULL) mproc__fslab_unref(f->fslab);
  else if (f->slab != NULL) slab_drop(f->slab, 1);
  else free(f);
}

void mproc_future_free(mproc_future *f) {
  if (f != NULL) mproc__future_unref(f);
}

static int state(const mproc_future *f) {
  return (int)atomic_load_explicit(&mproc__unconst(f)->state,
                                   memory_order_acquire);
}

int mproc__future_hook(mproc_future *f) {
  atomic_fetch_add(&f->hooks, 1); /* seq_cst: see the top */
  if (mproc__state_done((int)atomic_load(&f->state))) {
    atomic_fetch_sub(&f->hooks, 1);
    return 1;
  }
  return 0;
}

void mproc__future_watch_fresh(mproc_future *f, mproc_done_fn fn,
                               void *arg) {
  f->cb0.fn = fn;
  f->cb0.arg = arg;
  f->cb0.next = NULL;
  f->cbs = f->cbs_tail = &f->cb0;
  atomic_store_explicit(&f->hooks, 1, memory_order_relaxed); /* queued later */
}

void mproc__future_unhook(mproc_future *f) {
  atomic_fetch_sub_explicit(&f->hooks, 1, memory_order_relaxed);
}

int mproc_future_state_of(const mproc_future *f) {
  if (f == NULL) return mproc__err(MPROC_EINVAL, "future is NULL");
  return state(f);
}

int mproc_future_cancelled(const mproc_future *f) {
  int s;
  if (f == NULL) return mproc__err(MPROC_EINVAL, "future is NULL");
  s = state(f);
  return s == MPROC_FUTURE_CANCELLED || s == MPROC_FUTURE_CANCELLED_AND_NOTIFIED;
}

int mproc_future_running(const mproc_future *f) {
  if (f == NULL) return mproc__err(MPROC_EINVAL, "future is NULL");
  return state(f) == MPROC_FUTURE_RUNNING;
}

int mproc_future_done(const mproc_future *f) {
  if (f == NULL) return mproc__err(MPROC_EINVAL, "future is NULL");
  return mproc__state_done(state(f));
}

size_t mproc_future_item(const mproc_future *f) {
  if (f == NULL) return 0;
  return f->item != NO_ITEM ? f->item : (size_t)f->task;
}

uint64_t mproc_future_task(const mproc_future *f) { return f ? f->task : 0; }

/* Under f->lock: tell every registered waiter, and unlink them. */
static void tell_waiters(mproc_future *f, int exc) {
  mproc__wnode *n = f->waiters, *next;
  for (; n != NULL; n = next) {
    next = n->next;
    n->linked = 0;
    n->prev = n->next = NULL;
    mproc__waiter_fire(n, exc);
  }
  f->waiters = NULL;
}

static void call_one(mproc_future *f, mproc_done_fn fn, void *arg) {
  int rc = fn(f, arg);
  if (rc != 0) {
    /* Python logs "exception calling callback for <Future>" and goes on. */
    fprintf(stderr, "mproc: done callback of future %" PRIu64
            " failed with %d; ignored\n", f->task, rc);
  }
}

/* After the terminal state is set (lock released): the callbacks taken
 * off the future, in order, then the completion queue. */
static void after_done(mproc_future *f, mproc__cb *cbs) {
  mproc__cb *c;
  for (c = cbs; c != NULL; c = c->next) call_one(f, c->fn, c->arg);
  mproc__executor_completed(f->ex, f);
}

/* PENDING -> CANCELLED; 1 if cancelled (now or before), 0 if not, with
 * the state it found in *found. */
static int cancel_pending(mproc_future *f, uint32_t *found) {
  uint32_t s = MPROC_FUTURE_PENDING;
  mproc__cb *cbs;
  mproc__future_lock(f);
  if (!atomic_compare_exchange_strong(&f->state, &s, MPROC_FUTURE_CANCELLED)) {
    mproc__future_unlock(f);
    *found = s;
    return s == MPROC_FUTURE_CANCELLED ||
           s == MPROC_FUTURE_CANCELLED_AND_NOTIFIED;
  }
  tell_waiters(f, 0);
  cbs = f->cbs;
  mproc__future_unlock(f);
  after_done(f, cbs);
  *found = MPROC_FUTURE_PENDING;
  return 1;
}

int mproc__future_cancel_pending(mproc_future *f) {
  uint32_t s;
  return cancel_pending(f, &s);
}

int mproc_future_cancel(mproc_future *f) {
  uint32_t s;
  if (f == NULL) return mproc__err(MPROC_EINVAL, "future_cancel: NULL");
  if (cancel_pending(f, &s)) return 1;
  /* A running task of a kind that can stop one (the process kind
   * replaces its worker): it finishes with MPROC_ECANCELLED. */
  if (s == MPROC_FUTURE_RUNNING && f->ex->ops->cancel_running != NULL)
    return f->ex->ops->cancel_running(f->ex, f);
  return 0;
}

int mproc__future_start(mproc_future *f) {
  uint32_t s = MPROC_FUTURE_PENDING;
  if (atomic_compare_exchange_strong_explicit(&f->state, &s,
                                              MPROC_FUTURE_RUNNING,
                                              memory_order_acquire,
                                              memory_order_acquire))
    return 1;
  /* Cancelled (only cancel changes a PENDING future besides us). */
  s = MPROC_FUTURE_CANCELLED;
  (void)atomic_compare_exchange_strong(&f->state, &s,
                                       MPROC_FUTURE_CANCELLED_AND_NOTIFIED);
  return 0;
}

void mproc__future_finish(mproc_future *f, int outcome, int code,
                          const char *why) {
  mproc__cb *cbs = NULL;
  f->outcome = outcome;
  f->task_code = code;
  if (why != NULL) f->why = mproc__strdup(why); /* NULL if out of memory */
  atomic_store(&f->state, MPROC_FUTURE_FINISHED); /* seq_cst: see the top */
  if (atomic_load(&f->hooks) != 0) {
    mproc__future_lock(f);
    tell_waiters(f, outcome != 0);
    cbs = f->cbs;
    mproc__future_unlock(f);
  }
  after_done(f, cbs);
}

int mproc__future_call(mproc_future *f, int worker) {
  mproc_buf b;
  int rc;
  memset(&b, 0, sizeof b);
  b.ctx.worker = worker;
  b.ctx.task = f->task;
  b.ctx.item = f->item != NO_ITEM ? f->item : 0;
  b.ctx.user = f->ex->user;
  rc = f->fn(f->in_len ? f->in : NULL, f->in_len, &b);
  if (rc == 0) {
    f->data = b.data;
    f->len = b.len;
    free(b.msg);
  } else {
    free(b.data);
    f->why = b.msg; /* the task's message moves over, no copy */
  }
  return rc;
}

void mproc__future_complete(mproc_future *f, int rc) {
  mproc__future_finish(f, rc == 0 ? 0 : MPROC_ETASK, rc, NULL);
}

void mproc__future_run(mproc_future *f, int worker) {
  mproc__future_complete(f, mproc__future_call(f, worker));
}

/* The outcome of a done future as a return code with its sentence. */
static int outcome_of(const mproc_future *f) {
  int s = state(f);
  if (s != MPROC_FUTURE_FINISHED)
    return mproc__err(MPROC_ECANCELLED, "future of task %" PRIu64
                      " was cancelled", f->task);
  if (f->outcome == MPROC_ETASK)
    return mproc__err(MPROC_ETASK, "task %" PRIu64 " failed with code %d%s%s",
                      f->task, f->task_code, f->why ? ": " : "",
                      f->why ? f->why : "");
  if (f->outcome != 0)
    return mproc__err(f->outcome, "%s", f->why ? f->why : "executor broken");
  return 0;
}

/* Wait for f to be done: a short spin first (mproc__spin: bounded, and
 * yielding, so on one CPU it hands the CPU to the worker instead of
 * sleeping), which saves the sleep and wake-up of a quick task; then a
 * waiter. */
static int wait_done(mproc_future *f, double timeout) {
  double t;
  uint32_t s;
  int rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  s = (uint32_t)state(f);
  if (mproc__state_done((int)s)) return 0;
  if (t != 0) { /* a kind may work toward f here (ops.help) */
    mproc__executor_help(f, t);
    s = (uint32_t)state(f);
    if (mproc__state_done((int)s)) return 0;
  }
  if (t != 0 && mproc__spin(&f->state, s)) {
    s = (uint32_t)state(f);
    if (mproc__state_done((int)s) ||
        (mproc__spin(&f->state, s) && mproc__state_done(state(f))))
      return 0;
  }
  return mproc__future_wait1(f, t);
}

int mproc_future_result(mproc_future *f, double timeout, const void **data,
                        size_t *len) {
  int rc;
  if (data) *data = NULL;
  if (len) *len = 0;
  if (f == NULL) return mproc__err(MPROC_EINVAL, "future_result: NULL");
  if ((rc = wait_done(f, timeout)) < 0) return rc;
  if ((rc = outcome_of(f)) < 0) return rc;
  if (data) *data = f->data;
  if (len) *len = f->len;
  return 0;
}

int mproc_future_take(mproc_future *f, double timeout, void **data,
                      size_t *len) {
  int rc;
  if (data) *data = NULL;
  if (len) *len = 0;
  if (f == NULL || data == NULL)
    return mproc__err(MPROC_EINVAL, "future_take: %s is NULL",
                      f ? "data" : "future");
  if ((rc = wait_done(f, timeout)) < 0) return rc;
  if ((rc = outcome_of(f)) < 0) return rc;
  *data = f->data;
  if (len) *len = f->len;
  f->data = NULL;
  f->len = 0;
  return 0;
}

int mproc_future_exception(mproc_future *f, double timeout, int *code,
                           const char **msg) {
  int rc;
  if (code) *code = 0;
  if (msg) *msg = "";
  if (f == NULL) return mproc__err(MPROC_EINVAL, "future_exception: NULL");
  if ((rc = wait_done(f, timeout)) < 0) return rc;
  rc = outcome_of(f);
  /* Every failure a finished future holds (a task's, a dead worker's, a
   * stopped task's MPROC_ETIMEDOUT or MPROC_ECANCELLED) has its sentence. */
  if (rc < 0 && state(f) == MPROC_FUTURE_FINISHED) {
    if (code) *code = f->task_code;
    if (msg) *msg = f->why ? f->why : "";
  }
  return rc;
}

int mproc_future_add_done_callback(mproc_future *f, mproc_done_fn fn,
                                   void *arg) {
  mproc__cb *c;
  if (f == NULL || fn == NULL)
    return mproc__err(MPROC_EINVAL, "add_done_callback: %s is NULL",
                      f ? "fn" : "future");
  if (mproc__state_done(state(f))) {
    call_one(f, fn, arg); /* already done: now, in this thread (Python) */
    return 0;
  }
  mproc__future_lock(f);
  if (mproc__future_hook(f)) {
    mproc__future_unlock(f);
    call_one(f, fn, arg);
    return 0;
  }
  /* The first callback lives in the future (a Pool's chunk has one: no
   * allocation per task); later ones are allocated. */
  c = f->cbs == NULL ? &f->cb0 : malloc(sizeof *c);
  if (c == NULL) {
    mproc__future_unhook(f);
    mproc__future_unlock(f);
    return mproc__err(MPROC_ENOMEM, "add_done_callback: out of memory");
  }
  c->fn = fn;
  c->arg = arg;
  c->next = NULL;
  if (f->cbs_tail) f->cbs_tail->next = c; else f->cbs = c;
  f->cbs_tail = c;
  mproc__future_unlock(f);
  return 0;
}
