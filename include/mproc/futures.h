/** mproc: concurrent.futures for C — executors, futures, wait and
 * as_completed.
 *
 *   static int square(const void *in, size_t len, mproc_buf *out) {
 *     int x;
 *     memcpy(&x, in, sizeof x);
 *     x *= x;
 *     return mproc_buf_write(out, &x, sizeof x);   // 0: the task succeeded
 *   }
 *   mproc_executor *ex;
 *   mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
 *   o.max_workers = 4;
 *   mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, &o);
 *   mproc_future *f;
 *   mproc_executor_submit(ex, square, &x, sizeof x, &f);
 *   const void *r; size_t n;
 *   mproc_future_result(f, MPROC_FOREVER, &r, &n);   // borrowed bytes
 *   mproc_future_free(f);
 *   mproc_executor_free(ex);                          // shutdown(wait) first
 *
 * One executor interface with kinds: MPROC_EXECUTOR_THREAD (Python's
 * ThreadPoolExecutor) and MPROC_EXECUTOR_PROCESS (ProcessPoolExecutor:
 * worker processes under any start method, tasks found by name, a worker
 * that dies fails only the task it held) and MPROC_EXECUTOR_MPI (worker
 * MPI ranks, in a library built with -DMPROC_WITH_MPI=ON: docs/mpi.md),
 * behind the same calls. A future follows Python's state
 * machine exactly: PENDING -> RUNNING -> FINISHED, or PENDING ->
 * CANCELLED -> CANCELLED_AND_NOTIFIED (once the executor has seen it).
 *
 * Tasks take bytes and give bytes: `int fn(const void *in, size_t in_len,
 * mproc_buf *out)`. The input is copied at submit (the caller may reuse
 * it at once); the task appends its result to `out`. Returning non-zero
 * fails the task: the caller gets MPROC_ETASK with that code and the
 * message given to mproc_task_fail(). A thread task takes any function
 * pointer; the process kind finds tasks by name (MPROC_TASK(fn)).
 *
 * Timeouts are seconds (MPROC_FOREVER blocks, 0 polls, negative means 0,
 * NaN is MPROC_EINVAL), as everywhere in mproc. See docs/futures.md.
 *
 * @file
 */
#ifndef MPROC_FUTURES_H
#define MPROC_FUTURES_H

#include <stddef.h>
#include <stdint.h>

#include "mproc/alloc.h"
#include "mproc/export.h"
#include "mproc/process.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tasks ------------------------------------------------------------------- */

/** A task's output: bytes appended by the task, and its failure message. */
typedef struct mproc_buf mproc_buf;

/** A task: bytes in, bytes out (appended to `out`); non-zero fails it. */
typedef int (*mproc_task_fn)(const void *in, size_t in_len, mproc_buf *out);

/**
 * Append n bytes to the task's result (the result may be of any size; it
 * grows geometrically).
 * Errors: MPROC_EINVAL (out NULL, or data NULL with n > 0), MPROC_ENOMEM.
 * Returning the code from the task fails the task with it.
 * Thread-safety: only from the task that owns out. Ownership: copies.
 */
MPROC_EXTERN int mproc_buf_write(mproc_buf *out, const void *data, size_t n);

/**
 * Append n uninitialised bytes and return where they start, for a task
 * that writes its result in place (NULL: out of memory, more than
 * PTRDIFF_MAX bytes in all, or out NULL; the sentence says which). The pointer is valid until the next write or
 * reserve on out.
 * Thread-safety: only from the task that owns out.
 */
MPROC_EXTERN void *mproc_buf_reserve(mproc_buf *out, size_t n);

/** Bytes written to out so far (0 for NULL). Errors: none.
 *  Thread-safety: from the task that owns out. Ownership: none taken. */
MPROC_EXTERN size_t mproc_buf_len(const mproc_buf *out);

/**
 * Record why the task fails — a printf-style message (any length) — and
 * return `code`, so a task ends with `return mproc_task_fail(out, 3, "no
 * such key %s", k);`. The code the caller sees is the task's return
 * value; a task that returns 0 after this call succeeds and the message
 * is dropped. A code of 0 is turned into -1 (a failure must be non-zero).
 * Thread-safety: only from the task that owns out.
 */
MPROC_EXTERN int mproc_task_fail(mproc_buf *out, int code, const char *fmt,
                                 ...)
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__MINGW32__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/** Where a task runs: reachable from the task through its `out`. */
typedef struct mproc_task_ctx {
  int worker;    /**< the worker's index, 0 .. max_workers-1 */
  uint64_t task; /**< the executor's task number, 0, 1, ... in submit order */
  size_t item;   /**< the item's position in its map (0 for submit) */
  void *user;    /**< opts.user of the executor */
} mproc_task_ctx;

/**
 * The context of the running task (see mproc_task_ctx); NULL if out is
 * NULL. Thread-safety: from the task. Ownership: valid while it runs.
 */
MPROC_EXTERN const mproc_task_ctx *mproc_task_context(const mproc_buf *out);

/* ---- executors ---------------------------------------------------------------- */

typedef struct mproc_executor mproc_executor;
typedef struct mproc_future mproc_future;

/** The executor kinds: one interface, several ways to run workers. */
typedef enum mproc_executor_kind {
  MPROC_EXECUTOR_THREAD = 1,  /**< ThreadPoolExecutor: threads of this process */
  MPROC_EXECUTOR_PROCESS = 2, /**< ProcessPoolExecutor: worker processes */
  MPROC_EXECUTOR_MPI = 3      /**< MPI ranks (built with MPROC_WITH_MPI;
                                   else MPROC_ENOTSUP): see mproc/mpi.h */
} mproc_executor_kind;

/** A worker's initializer, run once in each worker before its first task;
 *  non-zero makes the executor broken (as Python's). */
typedef int (*mproc_init_fn)(const void *initargs, size_t len);

/** Executor options; start from MPROC_EXECUTOR_OPTS_INIT (it sets size,
 *  so later members can be added without breaking callers). */
typedef struct mproc_executor_opts {
  size_t size;              /**< sizeof(mproc_executor_opts) */
  int max_workers;          /**< 0: Python's default, min(32, cpus + 4) */
  mproc_init_fn initializer;/**< NULL: none */
  const void *initargs;     /**< copied at new */
  size_t initargs_len;
  void *user;               /**< handed to tasks in mproc_task_ctx.user
                                 (thread kind; NULL in a worker process) */
  /* The process kind (the thread kind ignores these): */
  int max_tasks_per_child;   /**< 0: no limit; else a worker is replaced
                                  after this many tasks */
  mproc_start_method method; /**< how workers start (0: the default) */
  int on_worker_death;       /**< MPROC_ON_DEATH_FAIL_TASK (0) or
                                  MPROC_ON_DEATH_BROKEN */
  /** Times a task whose worker died under it (or lost its result with
   *  it) is run again before it fails with MPROC_EWORKERDIED (0: never;
   *  at most 255). A task stopped for its timeout or cancelled is not. */
  int retries;
  /** Seconds a task may run: past it the task's worker is replaced and
   *  the task fails with MPROC_ETIMEDOUT (it is stopped between the
   *  timeout and a quarter more). 0 (the default) or MPROC_FOREVER: no
   *  limit, as Python. */
  double task_timeout;
  /** Resident memory (bytes, as the OS measures it) past which a worker
   *  is replaced, checked after each task (0: no limit). */
  uint64_t max_memory_per_child;
  /** Seconds a worker may idle before it exits; it comes back when work
   *  arrives (loky's timeout). 0 (the default) or MPROC_FOREVER: never. */
  double idle_timeout;
  /** Pin workers to CPUs: MPROC_PIN_NONE (0), MPROC_PIN_SPREAD (worker i
   *  on CPU i modulo the CPUs online), MPROC_PIN_SETS (worker i on set i
   *  modulo the number of sets). MPROC_ENOTSUP on macOS. */
  int pin;
  const int *pin_cpus; /**< MPROC_PIN_SETS: the sets, back to back (copied) */
  size_t pin_n;        /**< entries in pin_cpus (a multiple of pin_set) */
  size_t pin_set;      /**< CPUs per set (>= 1) */
} mproc_executor_opts;

/** How a process executor pins its workers (mproc_executor_opts.pin). */
enum {
  MPROC_PIN_NONE = 0,   /**< the OS decides (the default) */
  MPROC_PIN_SPREAD = 1, /**< one CPU per worker, round robin */
  MPROC_PIN_SETS = 2    /**< a set of CPUs per worker (pin_cpus) */
};

/** What a process executor does when a worker dies running a task. */
enum {
  /** Only that task fails (MPROC_EWORKERDIED, with the signal in the
   *  message); the worker is replaced and everything else goes on. */
  MPROC_ON_DEATH_FAIL_TASK = 0,
  /** Python's BrokenProcessPool: every pending and later future fails
   *  with MPROC_EBROKEN and the other workers are killed. */
  MPROC_ON_DEATH_BROKEN = 1
};

#define MPROC_EXECUTOR_OPTS_INIT                                               \
  { sizeof(mproc_executor_opts), 0, NULL, NULL, 0, NULL, 0,                   \
    MPROC_START_DEFAULT, MPROC_ON_DEATH_FAIL_TASK, 0, 0, 0, 0,               \
    MPROC_PIN_NONE, NULL, 0, 0 }

/**
 * Make an executor of `kind` (opts NULL: all defaults). Thread workers
 * start on demand, as Python's ThreadPoolExecutor: a submit that finds no
 * idle worker starts one until max_workers run. Process workers
 * (max_workers defaults to mproc_cpu_count(), as Python's) all start
 * here; the initializer must be registered (MPROC_TASK). The MPI kind
 * uses the ranks mpiexec started (all of them when max_workers is 0; one
 * such executor at a time) or, without mpiexec, spawns max_workers
 * (default mproc_cpu_count()) with MPI_Comm_spawn.
 * Errors: MPROC_EINVAL (out NULL, unknown kind, opts->size too small,
 * max_workers < 0, max_tasks_per_child < 0, bad on_worker_death),
 * MPROC_ENOTSUP (the MPI kind in a library built without MPI, or whose
 * MPI cannot spawn ranks (the sentence has MPI's reason), or with
 * max_tasks_per_child; a start method this platform lacks), MPROC_ESTATE
 * (MPI kind: another executor uses this mpiexec run's ranks),
 * MPROC_ENOTREG (an unregistered initializer, process and MPI kinds),
 * MPROC_ENOTINIT (spawn or forkserver without mproc_init), MPROC_ENOMEM,
 * MPROC_EOS.
 * Thread-safety: safe. Ownership: free with mproc_executor_free().
 */
MPROC_EXTERN int mproc_executor_new(mproc_executor **out,
                                    mproc_executor_kind kind,
                                    const mproc_executor_opts *opts);

/**
 * Schedule fn(in, len) and give its future in *out. The input is copied.
 * The process kind needs fn registered (MPROC_TASK) and sends the input
 * to a worker; a worker that dies running it fails the future with
 * MPROC_EWORKERDIED (the message names the signal or exit code).
 * Errors: MPROC_EINVAL (ex, fn or out NULL; in NULL with len > 0),
 * MPROC_ENOTREG (process kind: fn not registered),
 * MPROC_ESTATE (after shutdown: Python's RuntimeError), MPROC_EBROKEN
 * (an initializer failed), MPROC_ENOMEM, MPROC_EOS (a worker thread could
 * not start and none runs).
 * Thread-safety: safe, from any number of threads (not with free).
 * Ownership: free *out with mproc_future_free(); the future may outlive
 * the executor.
 */
MPROC_EXTERN int mproc_executor_submit(mproc_executor *ex, mproc_task_fn fn,
                                       const void *in, size_t len,
                                       mproc_future **out);

/** Flags of mproc_executor_shutdown. */
enum {
  MPROC_SHUTDOWN_WAIT = 1,          /**< join the workers (Python's wait=True) */
  MPROC_SHUTDOWN_CANCEL_FUTURES = 2 /**< cancel what has not started */
};

/**
 * Python's shutdown(wait, cancel_futures): refuse later submits
 * (MPROC_ESTATE), cancel pending futures if asked, let the workers finish
 * what is queued, and with MPROC_SHUTDOWN_WAIT return once they have
 * exited. Calling it again is allowed (a later call may wait).
 * Errors: MPROC_EINVAL (ex NULL, unknown flags), MPROC_ESTATE (from a
 * task of this executor with MPROC_SHUTDOWN_WAIT: it would wait for
 * itself).
 * Thread-safety: safe (not with free).
 */
MPROC_EXTERN int mproc_executor_shutdown(mproc_executor *ex, int flags);

/**
 * Shut down (waiting, as Python's `with` block ends) and release the
 * executor. Futures stay valid. NULL is a no-op. Errors: none.
 * Thread-safety: no other call on ex may run or follow; not from one of
 * its tasks (it would wait for itself). Ownership: ex is gone; queued
 * completions are released.
 */
MPROC_EXTERN void mproc_executor_free(mproc_executor *ex);

/** How mproc_executor_terminate_workers stops the workers. */
typedef enum mproc_stop_how {
  MPROC_STOP_TERMINATE = 0, /**< terminate_workers(): SIGTERM */
  MPROC_STOP_KILL = 1       /**< kill_workers(): SIGKILL */
} mproc_stop_how;

/**
 * Python 3.14's terminate_workers() (MPROC_STOP_TERMINATE) and
 * kill_workers() (MPROC_STOP_KILL) for the process kind: shut down
 * cancelling what has not been sent, stop every worker at once with
 * SIGTERM (SIGKILL; TerminateProcess on Windows), and return when they
 * have ended. A task that was running fails with MPROC_EWORKERDIED; one
 * sent but not yet taken fails with MPROC_EBROKEN. Every future is done
 * on return; later submits give MPROC_ESTATE.
 * Errors: MPROC_EINVAL (NULL, `how` not a mproc_stop_how), MPROC_ENOTSUP
 * (the thread kind: threads cannot be stopped), MPROC_ESTATE (from one of
 * its tasks).
 * Thread-safety: safe (not with free). Ownership: none.
 */
MPROC_EXTERN int mproc_executor_terminate_workers(mproc_executor *ex,
                                                  mproc_stop_how how);

/**
 * loky's get_reusable_executor(): the program's one reusable process
 * executor, made by the first call with opts (NULL: defaults) and handed
 * to every later call. A call that asks for another max_workers resizes
 * it (up to max(64, the first max_workers); its queued work goes on); one
 * that asks for another configuration (initializer, start method, limits,
 * ...), or finds it broken, gets a new one (the old one is shut down
 * without waiting: its holders' later submits give MPROC_ESTATE, what it
 * runs finishes). Workers idle out after opts.idle_timeout (0: 300 s, as
 * loky) and come back when work arrives.
 * Errors: those of mproc_executor_new (process kind), MPROC_EINVAL (out
 * NULL).
 * Thread-safety: safe. Ownership: *out is a new reference: drop it with
 * mproc_executor_free() (that does not stop the executor while the
 * program's reusable slot holds it; see mproc_executor_reusable_free).
 */
MPROC_EXTERN int mproc_executor_get_reusable(mproc_executor **out,
                                             const mproc_executor_opts *opts);

/**
 * Release the program's reusable executor: later get_reusable calls make
 * a new one. If no reference is held it shuts down (waiting) and is freed
 * now; otherwise it is shut down without waiting and freed by the last
 * mproc_executor_free. Call it before the program ends (Python does it
 * at exit), or the workers' shared objects are left to the resource
 * tracker. Errors: none (returns 0).
 * Thread-safety: safe (not from one of its tasks). Ownership: none.
 */
MPROC_EXTERN int mproc_executor_reusable_free(void);

/** The executor's max_workers (the resolved default when 0 was given).
 *  Errors: MPROC_EINVAL (NULL). Thread-safety: safe. Ownership: none. */
MPROC_EXTERN int mproc_executor_max_workers(const mproc_executor *ex);

/**
 * The executor's completion handle, for an event loop: a wake-up object
 * (the semantics of mproc/wakeup.h) that is ready while completed futures wait
 * to be taken with mproc_executor_next_completed(). The first call turns
 * completion queueing on: from then on every future of the executor
 * (submits and maps) that finishes or is cancelled is queued. POSIX: a
 * descriptor for poll/uv_poll (UV_READABLE); Windows: an Event
 * (RegisterWaitForSingleObject + uv_async; see examples/). MPROC_NO_HANDLE
 * if ex is NULL or the wake-up could not be made (the sentence says why).
 * Thread-safety: safe. Ownership: the executor keeps it; never close it.
 */
MPROC_EXTERN mproc_handle mproc_executor_completion_handle(mproc_executor *ex);

/**
 * Take the next completed future, without blocking. The loop's turn:
 * mproc_executor_next_completed until MPROC_EEMPTY; the handle is cleared
 * by the call that finds the queue empty, so a completion that comes
 * later makes it ready again (never lost).
 * Errors: MPROC_EINVAL (NULL), MPROC_EEMPTY (none now), MPROC_ESTATE
 * (completion queueing is off: call completion_handle first).
 * Thread-safety: safe. Ownership: *out is a new reference: free it with
 * mproc_future_free() (the submitter's own reference is separate).
 */
MPROC_EXTERN int mproc_executor_next_completed(mproc_executor *ex,
                                               mproc_future **out);

/* ---- map ------------------------------------------------------------------------ */

typedef struct mproc_map mproc_map;

/** map options; start from MPROC_MAP_OPTS_INIT. */
typedef struct mproc_map_opts {
  size_t size;       /**< sizeof(mproc_map_opts) */
  double timeout;    /**< from the map call, for the whole iteration */
  size_t chunksize;  /**< >= 1; the thread kind ignores it, as Python's */
  size_t buffersize; /**< 0: submit all at once; else at most this many
                          items in flight, the rest taken as results are
                          consumed (Python 3.14) */
} mproc_map_opts;

#define MPROC_MAP_OPTS_INIT { sizeof(mproc_map_opts), MPROC_FOREVER, 1, 0 }

/**
 * Python's executor.map over fixed-size records: items holds n records of
 * item_size bytes, each task gets one; results come back in order through
 * mproc_map_next(). items must stay valid and unchanged until the map is
 * freed when buffersize > 0 (taken lazily); otherwise it is copied at once.
 * Errors: MPROC_EINVAL (NULL arguments, item_size 0 with n > 0, chunksize
 * 0, NaN timeout, opts->size too small), MPROC_ESTATE, MPROC_EBROKEN,
 * MPROC_ENOMEM (nothing is left scheduled then).
 * Thread-safety: safe as submit. Ownership: free *out with mproc_map_free().
 */
MPROC_EXTERN int mproc_executor_map(mproc_executor *ex, mproc_task_fn fn,
                                    const void *items, size_t n,
                                    size_t item_size,
                                    const mproc_map_opts *opts,
                                    mproc_map **out);

/**
 * The next result in order: 0 with the bytes in *data and *len (borrowed:
 * valid until the next call or free). MPROC_EEOF once all n are given.
 * MPROC_ETIMEDOUT (the map's timeout passed), MPROC_ETASK (that item's
 * task failed: mproc_map_error gives its code and message),
 * MPROC_EBROKEN, MPROC_ECANCELLED: as Python's iterator raising, the map
 * then cancels what has not started and later calls give MPROC_EEOF.
 * Thread-safety: one thread at a time per map.
 */
MPROC_EXTERN int mproc_map_next(mproc_map *m, const void **data, size_t *len);

/**
 * The failed item's index, task code and message after MPROC_ETASK.
 * Errors: MPROC_EINVAL (m NULL), MPROC_ESTATE (no task failed).
 * Thread-safety: as mproc_map_next. Ownership: msg is borrowed, valid
 * until the map is freed; item, code and msg may be NULL.
 */
MPROC_EXTERN int mproc_map_error(const mproc_map *m, size_t *item, int *code,
                                 const char **msg);

/** Cancel what has not started and release the map (the executor finishes
 *  what runs; bytes lent by mproc_map_next end here). NULL is a no-op.
 *  Errors: none. Thread-safety: not while another call on m runs.
 *  Ownership: m is gone afterwards. */
MPROC_EXTERN void mproc_map_free(mproc_map *m);

/* ---- futures -------------------------------------------------------------------- */

/** Python's future states. */
typedef enum mproc_future_state {
  MPROC_FUTURE_PENDING = 0,
  MPROC_FUTURE_RUNNING = 1,
  MPROC_FUTURE_CANCELLED = 2,
  MPROC_FUTURE_CANCELLED_AND_NOTIFIED = 3,
  MPROC_FUTURE_FINISHED = 4
} mproc_future_state;

/** The state now, an mproc_future_state. Errors: MPROC_EINVAL (NULL).
 *  Thread-safety: safe (a snapshot). Ownership: none. */
MPROC_EXTERN int mproc_future_state_of(const mproc_future *f);

/**
 * Cancel the future if it has not started: 1 if it is cancelled now (or
 * already was), 0 if it has finished (Python's cancel()). Waiters and
 * done callbacks are told at once. A RUNNING future of the thread kind
 * gives 0, as Python's; one of the process kind gives 1 and its worker is
 * replaced: the future then finishes (FINISHED, not CANCELLED) with
 * MPROC_ECANCELLED, whether or not its result arrived meanwhile.
 * Errors: MPROC_EINVAL (NULL). Thread-safety: safe.
 */
MPROC_EXTERN int mproc_future_cancel(mproc_future *f);
/** 1 if cancelled, else 0. Errors: MPROC_EINVAL (NULL).
 *  Thread-safety: safe. Ownership: none. */
MPROC_EXTERN int mproc_future_cancelled(const mproc_future *f);
/** 1 if running now, else 0. Errors: MPROC_EINVAL (NULL).
 *  Thread-safety: safe. Ownership: none. */
MPROC_EXTERN int mproc_future_running(const mproc_future *f);
/** 1 if cancelled or finished, else 0. Errors: MPROC_EINVAL (NULL).
 *  Thread-safety: safe. Ownership: none. */
MPROC_EXTERN int mproc_future_done(const mproc_future *f);

/**
 * Wait up to `timeout` for the result: 0 with the task's bytes in
 * *data and *len (either may be NULL; borrowed, valid until the future is
 * freed or taken). Errors: MPROC_ETASK (the task failed: its code and
 * message by mproc_future_exception, the sentence has both),
 * MPROC_ECANCELLED, MPROC_EBROKEN (an initializer failed),
 * MPROC_EWORKERDIED (process kind: the worker running it died; the
 * sentence names the signal), MPROC_ETIMEDOUT, MPROC_EINVAL (NULL f, NaN
 * timeout).
 * Thread-safety: safe, from many threads at once.
 */
MPROC_EXTERN int mproc_future_result(mproc_future *f, double timeout,
                                     const void **data, size_t *len);

/**
 * As mproc_future_result, but move the bytes out: *data is the caller's
 * (release with mproc_free; NULL for an empty result). Later result calls
 * see an empty result. Thread-safety: one taker.
 */
MPROC_EXTERN int mproc_future_take(mproc_future *f, double timeout,
                                   void **data, size_t *len);

/**
 * Python's exception(timeout): 0 if the future finished without one
 * (*code 0, *msg ""); MPROC_ETASK with the task's code and message;
 * MPROC_EBROKEN (code MPROC_EBROKEN, msg why); MPROC_EWORKERDIED (code
 * MPROC_EWORKERDIED, msg which worker and signal); MPROC_ECANCELLED (Python
 * raises CancelledError; a process task cancelled while it ran has code
 * and msg too); MPROC_ETIMEDOUT (the wait's timeout passed, or — with
 * code and msg — the task ran past opts.task_timeout); MPROC_EINVAL.
 * code and msg may be NULL; msg is borrowed, valid until the future is
 * freed.
 * Thread-safety: safe.
 */
MPROC_EXTERN int mproc_future_exception(mproc_future *f, double timeout,
                                        int *code, const char **msg);

/** A done callback; a non-zero return is a failure, reported on stderr
 *  and otherwise ignored (Python logs the exception and goes on). */
typedef int (*mproc_done_fn)(mproc_future *f, void *arg);

/**
 * Call fn(f, arg) once the future is done (cancelled or finished) — in the
 * thread that completes it, or at once in this thread if it already is.
 * The completing thread may be one of the executor's own (a worker thread,
 * the process kind's reader or watcher) or a thread waiting in
 * mproc_future_result on the same executor (the process and MPI kinds
 * read results there); a callback must not free the executor.
 * Callbacks run in the order added.
 * Errors: MPROC_EINVAL (NULL f or fn), MPROC_ENOMEM.
 * Thread-safety: safe. Ownership: f is borrowed by the callback (it may
 * read the result; it must not free the last reference it does not own).
 */
MPROC_EXTERN int mproc_future_add_done_callback(mproc_future *f,
                                                mproc_done_fn fn, void *arg);

/**
 * The item index of a map's future (its position in the map), or the task
 * number of a submitted one. Errors: none (0 for NULL).
 * Thread-safety: safe. Ownership: none.
 */
MPROC_EXTERN size_t mproc_future_item(const mproc_future *f);

/** The future's task number (mproc_task_ctx.task: 0, 1, ... in the order
 *  the executor made its futures, submits and map items alike).
 *  Errors: none (0 for NULL). Thread-safety: safe. Ownership: none. */
MPROC_EXTERN uint64_t mproc_future_task(const mproc_future *f);

/** Drop this reference; the future lives on while the executor or a
 *  queued completion holds it. NULL is a no-op. Errors: none.
 *  Thread-safety: not while another thread uses this reference (waits on
 *  it, reads its bytes). Ownership: the reference is gone. */
MPROC_EXTERN void mproc_future_free(mproc_future *f);

/* ---- wait and as_completed ------------------------------------------------------ */

/** When mproc_wait returns (Python's return_when). */
typedef enum mproc_return_when {
  MPROC_FIRST_COMPLETED = 1,
  MPROC_FIRST_EXCEPTION = 2,
  MPROC_ALL_COMPLETED = 3
} mproc_return_when;

/**
 * Python's concurrent.futures.wait: block until the condition holds or
 * `timeout` passes, then set done[i] = 1 for each future that is done
 * (cancelled or finished), 0 otherwise, and return how many are done. A
 * timeout is not an error (Python returns the two sets). FIRST_EXCEPTION
 * returns when a future finished with an exception (task failure or
 * broken; cancelled ones do not count), or all are done. A future may
 * appear more than once. done may be NULL.
 * Errors: MPROC_EINVAL (fs NULL with n > 0, a NULL entry, bad
 * return_when, NaN timeout), MPROC_ENOMEM.
 * Thread-safety: safe.
 */
MPROC_EXTERN int mproc_wait(mproc_future *const *fs, size_t n, double timeout,
                            mproc_return_when return_when,
                            unsigned char *done);

typedef struct mproc_as_completed mproc_as_completed;

/**
 * Python's as_completed(fs, timeout): an iterator that yields each
 * distinct future once, as it completes (those already done first). The
 * timeout counts from this call.
 * Errors: MPROC_EINVAL (NULL out, fs NULL with n > 0, a NULL entry, NaN),
 * MPROC_ENOMEM. Thread-safety: safe. Ownership: the iterator borrows the
 * futures (keep them until it is freed); free it with
 * mproc_as_completed_free().
 */
MPROC_EXTERN int mproc_as_completed_new(mproc_as_completed **out,
                                        mproc_future *const *fs, size_t n,
                                        double timeout);

/**
 * The next completed future in *out (borrowed, one of fs). MPROC_EEOF
 * when every future was given; MPROC_ETIMEDOUT when the timeout passed
 * first ("k (of n) futures unfinished"); the iterator may be asked again.
 * Thread-safety: one thread at a time per iterator.
 */
MPROC_EXTERN int mproc_as_completed_next(mproc_as_completed *it,
                                         mproc_future **out);

/** Release the iterator (it unregisters from futures still running).
 *  NULL is a no-op. Errors: none. Thread-safety: not while next runs.
 *  Ownership: it is gone; the futures are untouched. */
MPROC_EXTERN void mproc_as_completed_free(mproc_as_completed *it);

#ifdef __cplusplus
}
#endif
#endif
