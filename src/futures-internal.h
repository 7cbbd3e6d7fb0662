/* mproc: futures and executors, inside (the shared part of every kind).
 *
 * Layout by mechanism:
 *   buf.c             mproc_buf (a task's output), mproc_task_fail, mproc_free
 *   future.c          the future and its state machine, done callbacks
 *   future-wait.c     waiters: result(timeout), mproc_wait, as_completed
 *   executor.c        the one executor interface: options, submit, the
 *                     completion queue (an event loop's handle), broken
 *   executor-map.c    map over fixed-size records, buffersize
 *   executor-thread.c the thread kind (ThreadPoolExecutor)
 *   executor-process.c, executor-pwatch.c, wset-worker.c
 *                     the process kind (ProcessPoolExecutor; wset.h)
 * A process or MPI kind adds one file with an mproc__executor_ops table
 * and reuses everything else: it runs a future with mproc__future_start
 * and mproc__future_finish (or mproc__future_run for an in-process call).
 *
 * Lock order: a future's lock (a stripe), then a waiter's lock (a finishing future
 * tells its waiters while it holds its own lock); the executor's
 * completion lock is taken alone; a kind's queue lock is never held while
 * a future's lock is taken. The executors' life lock (executor.c) is held
 * for reading by a waiter while a kind helps it (ops.help), around the
 * kind's own locks; mproc_executor_free of a helping kind takes it for
 * writing. So a done callback that runs in a helping waiter (the MPI and
 * process kinds finish futures there) must not free an MPI or process
 * executor.
 */
#ifndef MPROC_FUTURES_INTERNAL_H
#define MPROC_FUTURES_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include <uv.h>

#include "internal.h"

struct mproc_buf {
  unsigned char *data;
  size_t len, cap;
  char *msg; /* the failure message, or NULL */
  mproc_task_ctx ctx;
};

/** A malloc'd copy of s (strdup is not C11); NULL when out of memory. */
char *mproc__strdup(const char *s);

/** Free the buffer's memory and reset it to empty. */
void mproc__buf_reset(mproc_buf *b);

/* ---- waiters (future-wait.c) -------------------------------------------- */

typedef struct mproc__waiter mproc__waiter;

/* One waiter's registration on one future, linked into the future's list
 * while the future is not done (under the future's lock). */
typedef struct mproc__wnode {
  struct mproc__wnode *prev, *next;
  mproc__waiter *w;
  size_t idx;  /* the caller's index of the future */
  int linked;  /* in the future's list */
} mproc__wnode;

/** Tell waiter node n that its future is done (exc: with an exception).
 *  The caller holds the future's lock. */
void mproc__waiter_fire(mproc__wnode *n, int exc);

/* ---- futures (future.c) --------------------------------------------------- */

typedef struct mproc__cb {
  mproc_done_fn fn;
  void *arg;
  struct mproc__cb *next;
} mproc__cb;

/* Memory for many futures in one allocation (a Pool's map): freed with
 * the last of them. One allocation instead of one per task keeps a
 * repeated map from growing and trimming the heap each time (the page
 * faults cost more than the tasks). */
typedef struct mproc__fslab {
  atomic_size_t refs; /* futures carved + the maker's */
  size_t used, cap;
  _Alignas(16) unsigned char mem[];
} mproc__fslab;

/* About 170 bytes and the input: one allocation per task, a slot of the
 * executor's slab, or a part of a map's slab. */
struct mproc_future {
  atomic_int refs;
  _Atomic uint32_t state; /* mproc_future_state */
  _Atomic uint32_t hooks; /* waiters + callbacks registered (see future.c) */
  int outcome;      /* 0, MPROC_ETASK, MPROC_EBROKEN (set before FINISHED) */
  int task_code;    /* the task's return value, or the outcome */
  uint16_t chunk;   /* a map's chunksize, a hint to the kind (0: none) */
  uint8_t attempts; /* a kind's: times a worker died running it */
  uint8_t kflags;   /* a kind's flags, under the kind's lock */
  char *why;        /* the outcome's message (NULL: none) */
  mproc__wnode *waiters;       /* under the lock */
  mproc__cb *cbs, *cbs_tail;   /* under the lock */
  mproc__cb cb0;               /* the first callback (no allocation) */
  mproc__fslab *fslab;         /* its map's slab, or NULL */
  mproc_executor *ex;
  mproc_task_fn fn;
  uint64_t task;    /* the executor's task number */
  size_t item;      /* position in its map, MPROC__NO_ITEM for a submit */
  unsigned char *data; /* the result (set before FINISHED) */
  size_t len;
  size_t in_len;
  union {
    mproc_future *next;              /* a kind's queue */
    _Atomic(mproc_future *) anext;   /* the thread kind's lock-free list */
  };
  mproc_future *cnext; /* the executor's completion queue */
  struct mproc__slab *slab; /* where it lives; NULL: its own malloc */
  unsigned char in[];  /* the input, copied */
};

/* Futures with small inputs are cut from per-executor slabs of
 * MPROC__SLAB_SLOTS slots (future.c): no malloc and no free per task.
 * A slab is freed when its last future is, so a future that outlives its
 * executor keeps its slab. */
#define MPROC__SLAB_SLOTS 256
#define MPROC__SLAB_IN 24 /* inputs up to this many bytes */
typedef struct mproc__slab mproc__slab;

/** Give back the executor's current slab (executor_release; no submit
 *  runs any more). */
void mproc__slab_release(mproc_executor *ex);

/* A future's lock is one of a fixed set of stripes chosen by its address
 * (no mutex to make and destroy per future, 40 bytes less per task). No
 * code holds two futures' locks at once, so sharing a stripe cannot
 * deadlock. mproc__future_locks_init runs (once) before the first
 * executor exists. */
void mproc__future_locks_init(void);
uv_mutex_t *mproc__future_lock_of(const mproc_future *f);
static inline void mproc__future_lock(const mproc_future *f) {
  uv_mutex_lock(mproc__future_lock_of(f));
}
static inline void mproc__future_unlock(const mproc_future *f) {
  uv_mutex_unlock(mproc__future_lock_of(f));
}

/** The item of a submitted (not mapped) future. */
#define MPROC__NO_ITEM SIZE_MAX

/** A future for fn(in, len) with references for the caller and the
 *  executor (two); NULL when out of memory (sentence set). in NULL with
 *  len > 0: the caller writes the len input bytes into f->in before it
 *  enqueues the future (a Pool builds a chunk's message in place). */
mproc_future *mproc__future_new(mproc_executor *ex, mproc_task_fn fn,
                                const void *in, size_t len, size_t item);
/** A slab with room for futures whose inputs total `bytes` over `count`
 *  futures; NULL when out of memory (sentence set). */
mproc__fslab *mproc__fslab_new(size_t count, size_t bytes);
/** As mproc__future_new, carved from slab s (NULL: its own allocation,
 *  also when s is full). */
mproc_future *mproc__future_new_in(mproc__fslab *s, mproc_executor *ex,
                                   mproc_task_fn fn, const void *in,
                                   size_t len, size_t item);
/** Drop the maker's reference (the slab goes with its last future). */
void mproc__fslab_unref(mproc__fslab *s);
void mproc__future_ref(mproc_future *f);
void mproc__future_unref(mproc_future *f);

/** Cancel f only if it has not started (Python's cancel()); the public
 *  mproc_future_cancel also stops a running process task. 1 if f is
 *  cancelled. */
int mproc__future_cancel_pending(mproc_future *f);

/** Python's set_running_or_notify_cancel: 1 if the future is RUNNING now;
 *  0 if it was cancelled (it becomes CANCELLED_AND_NOTIFIED). */
int mproc__future_start(mproc_future *f);

/** Finish a RUNNING future: outcome 0 (the bytes in f->data), MPROC_ETASK
 *  with the task's code, or MPROC_EBROKEN; `why` is copied (may be NULL).
 *  Tells waiters, runs callbacks, queues the completion. */
void mproc__future_finish(mproc_future *f, int outcome, int code,
                          const char *why);

/** Run a started future's task in this thread as worker `worker` and
 *  return its code (the result or the message is kept in f);
 *  mproc__future_complete then finishes the future with it.
 *  mproc__future_run does both. */
int mproc__future_call(mproc_future *f, int worker);
void mproc__future_complete(mproc_future *f, int rc);
void mproc__future_run(mproc_future *f, int worker);

/** Under f's lock, before linking a waiter or a callback: count it and
 *  return 1 if f is already done (then nothing is counted: do not link).
 *  mproc__future_unhook uncounts one that is unlinked unfired. */
int mproc__future_hook(mproc_future *f);
void mproc__future_unhook(mproc_future *f);

/** Give a fresh future (made by mproc__future_new, not yet queued: no
 *  other thread sees it) its first done callback, without a lock or an
 *  allocation (a Pool's chunk). */
void mproc__future_watch_fresh(mproc_future *f, mproc_done_fn fn, void *arg);

/** Wait until f is done, at most `timeout` (backend form: MPROC__INF no
 *  limit): 0 or MPROC_ETIMEDOUT (future-wait.c). */
int mproc__future_wait1(mproc_future *f, double timeout);

/** A const future's atomics, for loads (clang refuses const atomics). */
static inline mproc_future *mproc__unconst(const mproc_future *f) {
  return (mproc_future *)(uintptr_t)f;
}

/** 1 for CANCELLED, CANCELLED_AND_NOTIFIED and FINISHED. */
static inline int mproc__state_done(int s) {
  return s >= MPROC_FUTURE_CANCELLED;
}

/* ---- executors (executor.c) ---------------------------------------------- */

/* A shutdown flag of executor.c's exit duty alone (never a caller's:
 * mproc_executor_shutdown refuses unknown bits). With MPROC_SHUTDOWN_WAIT
 * it also closes the kind's shared objects once the workers are joined,
 * so the program's last hold on their names goes now and nothing is left
 * for the resource tracker to sweep (and warn of); the mappings stay
 * until the executor's free, so a late atexit handler that still calls
 * into the executor touches valid memory (and gets MPROC_ESTATE). */
#define MPROC__SHUTDOWN_EXIT 0x100

/** A kind: how futures reach workers. Common code does the rest. */
typedef struct mproc__executor_ops {
  const char *name;
  /** Make the kind's state (ex->impl); workers may start later. */
  int (*init)(mproc_executor *ex);
  /** Schedule n new futures (each holds a reference for the kind, which
   *  it drops once the future is done). MPROC_ESTATE after shutdown,
   *  MPROC_EBROKEN when broken: then none is taken. */
  int (*enqueue)(mproc_executor *ex, mproc_future *const *fs, size_t n);
  /** mproc_executor_shutdown's work (flags checked; MPROC__SHUTDOWN_EXIT
   *  only from executor.c's exit duty). */
  int (*shutdown)(mproc_executor *ex, int flags);
  /** Release ex->impl (after a waiting shutdown). */
  void (*destroy)(mproc_executor *ex);
  /** terminate_workers / kill_workers; NULL: not for this kind. */
  int (*terminate)(mproc_executor *ex, int kill);
  /** Optional (NULL: none): work toward f in the thread that waits for
   *  it, for up to about `budget` seconds (MPROC__INF: the kind's own
   *  limit), before the waiter spins and sleeps. The MPI kind polls for
   *  answers there, saving the hand-over from its receiver thread; the
   *  process kind reads its result queue there (the reader token). */
  void (*help)(mproc_executor *ex, mproc_future *f, double budget);
  /** cancel() of a RUNNING future: 1 if the kind will stop it (it then
   *  finishes with MPROC_ECANCELLED), 0 if it cannot; NULL: never. */
  int (*cancel_running)(mproc_executor *ex, mproc_future *f);
  /** The program's end where the OS already ended this library's threads
   *  (a Windows DLL unloading): kill the kind's workers outright, from the
   *  exiting thread alone; NULL: nothing to kill (threads die with the
   *  process; MPI ranks are mpiexec's). */
  void (*kill_now)(mproc_executor *ex);
} mproc__executor_ops;

extern const mproc__executor_ops mproc__executor_thread_ops;
extern const mproc__executor_ops mproc__executor_process_ops;
extern const mproc__executor_ops mproc__executor_mpi_ops;

struct mproc_executor {
  const mproc__executor_ops *ops;
  void *impl;
  int max_workers;
  int spin; /* more than one usable CPU: idle workers may spin first */
  mproc_init_fn init;
  void *initargs;
  size_t initargs_len;
  void *user;
  int max_tasks_per_child;   /* process kind */
  mproc_start_method method; /* process kind */
  int on_worker_death;       /* process kind */
  int retries;               /* process kind: see mproc_executor_opts */
  double task_timeout;       /* process kind: seconds, 0 none */
  uint64_t max_memory;       /* process kind: bytes, 0 none */
  double idle_timeout;       /* process kind: seconds, 0 none */
  int max_slots;             /* process kind: workers it may grow to */
  int pin;                   /* process kind: MPROC_PIN_* */
  int *pin_cpus;             /* process kind: pin sets, copied */
  size_t pin_n, pin_set;
  int reusable; /* the program's reusable executor (executor-reuse.c) */
  int refs;     /* its references, under the reuse lock */
  int daemon_workers;        /* process kind: workers are daemonic (Pool) */
  int live;                  /* on executor.c's list of live executors */
  mproc_executor *live_prev, *live_next;
  atomic_uint_fast64_t seq; /* task numbers */
  /* The completion queue, on when wake != NULL (notify set). */
  atomic_int notify;
  uv_mutex_t clock;
  mproc_wakeup *wake;
  mproc_future *chead, *ctail;
  /* The slab futures are cut from (future.c), under slab_lock. */
  mproc__slab *slab;
  uv_mutex_t slab_lock;
};

/** mproc_executor_new, with daemonic process workers when asked (a
 *  Pool's, as Python's: terminated by the program's exit duties, which
 *  otherwise wait for workers that wait for work; they may not start
 *  processes of their own). */
int mproc__executor_make(mproc_executor **out, mproc_executor_kind kind,
                         const mproc_executor_opts *opts, int daemon_workers);

/** mproc__executor_make after the options were loaded and checked; the
 *  process kind makes room for `slots` workers (resizing: the reusable
 *  executor). */
int mproc__executor_build(mproc_executor **out, mproc_executor_kind kind,
                          const mproc_executor_opts *o, int slots,
                          int daemon_workers);

/** The options' checks of mproc_executor_new (loaded options). */
int mproc__executor_check_opts(mproc_executor_kind kind,
                               const mproc_executor_opts *o);

/** mproc_executor_free of a reusable executor: drop the reference; 1 if
 *  the executor itself is to be freed now (executor-reuse.c). */
int mproc__reusable_drop(mproc_executor *ex);

/** For a kind's enqueue, under its queue lock: refuse (MPROC_ESTATE after
 *  shutdown, MPROC_EBROKEN with broken_msg) or append fs to the list
 *  head..tail (linked by next). 0 when appended. */
int mproc__kind_accept(mproc_future **head, mproc_future **tail,
                       mproc_future *const *fs, size_t n, int shutdown,
                       int broken, const char *broken_msg);
/** MPROC_ENOTREG (with a sentence naming `who`) unless every future's
 *  task is registered (MPROC_TASK): kinds that find tasks by name. */
int mproc__tasks_registered(mproc_future *const *fs, size_t n,
                            const char *who);

/** Queue a done future for mproc_executor_next_completed (if on). */
void mproc__executor_completed(mproc_executor *ex, mproc_future *f);

/** A waiter's turn to help (see ops.help): called by result/take/
 *  exception on a future that is not done, with the backend-form
 *  timeout. Safe against the executor being freed meanwhile (a lock that
 *  mproc_executor_free of a helping kind takes for writing). */
void mproc__executor_help(mproc_future *f, double timeout);

/** The executor whose task the calling thread runs (NULL: none). */
mproc_executor *mproc__executor_current(void);
void mproc__executor_set_current(mproc_executor *ex);

#endif
