/** mproc: multiprocessing.Pool for C — apply, map, imap and AsyncResult.
 *
 *   static int square(const void *in, size_t len, mproc_buf *out) {
 *     int x;
 *     memcpy(&x, in, sizeof x);
 *     x *= x;
 *     return mproc_buf_write(out, &x, sizeof x);
 *   }
 *   MPROC_TASK(square);                       // workers find it by name
 *
 *   mproc_pool *pool;
 *   mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
 *   o.processes = 5;
 *   mproc_pool_new(&pool, &o);                // with Pool(5) as p:
 *   int in[3] = {1, 2, 3}, out[3];
 *   mproc_pool_map(pool, square, in, 3, sizeof in[0],
 *                  out, sizeof out[0], NULL);  //   p.map(f, [1, 2, 3])
 *   mproc_pool_free(pool);                    // the block's end: terminate
 *
 * A Pool is the process executor (mproc/futures.h) seen through Python's
 * Pool calls: the same worker set, so a worker that dies (SIGKILL, a
 * crash, the OOM killer) fails only the task it held, with
 * MPROC_EWORKERDIED, and is replaced; the pool goes on (CPython's Pool
 * hangs). Tasks are the executor's: `int fn(const void *in, size_t len,
 * mproc_buf *out)`, registered with MPROC_TASK.
 *
 * Maps cut their items into chunks (Python's chunksize; its default,
 * ceil(n / (4 * processes)), when 0 is given): a chunk travels to a worker
 * as ONE message and its results come back as ONE message, which is where
 * map's speed comes from. Items are fixed-size records (n items of
 * item_size bytes: what C callers hold; starmap's "tuples of arguments"
 * are a struct record) or, in the _var forms, (pointer, length) pairs.
 * Results are either fixed-size (result_size bytes each, written into the
 * caller's array) or of any size (read from the mproc_async).
 *
 * Timeouts are seconds (MPROC_FOREVER blocks, 0 polls, negative means 0,
 * NaN is MPROC_EINVAL). See docs/pool.md.
 *
 * @file
 */
#ifndef MPROC_POOL_H
#define MPROC_POOL_H

#include <stddef.h>

#include "mproc/export.h"
#include "mproc/futures.h"
#include "mproc/process.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_pool mproc_pool;
/** Python's AsyncResult (of apply_async and map_async). */
typedef struct mproc_async mproc_async;
/** Python's IMapIterator (of imap and imap_unordered). */
typedef struct mproc_imap mproc_imap;

/** Pool options; start from MPROC_POOL_OPTS_INIT (it sets size and the
 *  defaults, so later members can be added without breaking callers). */
typedef struct mproc_pool_opts {
  size_t size;               /**< sizeof(mproc_pool_opts) */
  int processes;             /**< 0: mproc_cpu_count(), as Python's */
  mproc_start_method method; /**< how workers start (0: ctx, then the
                                  program's default) */
  const mproc_context *ctx;  /**< Python's context= (NULL: none) */
  int maxtasksperchild;      /**< 0: workers live as long as the pool;
                                  else one is replaced after this many
                                  tasks (a chunk is one task, as Python's) */
  mproc_init_fn initializer; /**< run once in each worker (NULL: none);
                                  registered with MPROC_TASK */
  const void *initargs;      /**< copied at new */
  size_t initargs_len;
  /** The executor's options for everything the Pool does not name here
   *  (robustness: on_worker_death, and what the executor adds later);
   *  NULL: its defaults. Its max_workers, max_tasks_per_child, method,
   *  initializer and initargs are ignored: the members above decide. */
  const mproc_executor_opts *executor;
} mproc_pool_opts;

#define MPROC_POOL_OPTS_INIT                                                   \
  { sizeof(mproc_pool_opts), 0, MPROC_START_DEFAULT, NULL, 0, NULL, NULL, 0,   \
    NULL }

/**
 * Make a pool of worker processes, all started here (Python's Pool()).
 * opts NULL: all defaults. A failing initializer does not fail this call:
 * the pool turns broken and every later call and pending result reports
 * it with MPROC_EBROKEN and the initializer's code in the sentence (where
 * CPython's Pool restarts failing workers for ever).
 * Errors: MPROC_EINVAL (out NULL, opts->size too small, processes < 0,
 * maxtasksperchild < 0, initargs NULL with a length, bad executor
 * options), MPROC_ENOTSUP (a start method this platform lacks),
 * MPROC_ENOTREG (an unregistered initializer), MPROC_ENOTINIT (spawn or
 * forkserver without mproc_init), MPROC_ENOMEM, MPROC_EOS.
 * Thread-safety: safe. Ownership: free with mproc_pool_free().
 */
MPROC_EXTERN int mproc_pool_new(mproc_pool **out, const mproc_pool_opts *opts);

/** The number of worker processes (the resolved default when 0 was given).
 *  Errors: MPROC_EINVAL (NULL). Thread-safety: safe. Ownership: none. */
MPROC_EXTERN int mproc_pool_processes(const mproc_pool *pool);

/**
 * Python's close(): no more work is accepted (later calls give
 * MPROC_ESTATE); the workers exit once what is queued has finished.
 * Calling it again, or after terminate, is allowed.
 * Errors: MPROC_EINVAL (NULL). Thread-safety: safe (not with free).
 */
MPROC_EXTERN int mproc_pool_close(mproc_pool *pool);

/**
 * Python's terminate(): stop the workers at once (SIGTERM; Windows:
 * TerminateProcess) without finishing outstanding work, and return when
 * they have ended. Every result still pending fails: a task that was
 * running with MPROC_EWORKERDIED, one not yet taken with MPROC_EBROKEN or
 * MPROC_ECANCELLED. Later calls give MPROC_ESTATE.
 * Errors: MPROC_EINVAL (NULL), MPROC_ESTATE (from one of the pool's own
 * callbacks: it would wait for itself).
 * Thread-safety: safe (not with free). Ownership: none.
 */
MPROC_EXTERN int mproc_pool_terminate(mproc_pool *pool);

/**
 * Python's join(): wait for the workers to exit. Only after close or
 * terminate (Python's ordering rule); after close every pending result is
 * ready when it returns. Calling it again is allowed.
 * Errors: MPROC_EINVAL (NULL), MPROC_ESTATE (the pool is still running:
 * call mproc_pool_close or mproc_pool_terminate first; or called from one
 * of the pool's callbacks).
 * Thread-safety: safe (not with free). Ownership: none.
 */
MPROC_EXTERN int mproc_pool_join(mproc_pool *pool);

/**
 * Release the pool. A pool still running is terminated first, as Python's
 * `with Pool() as p:` block ends with terminate(); after close it is
 * joined (the queued work finishes). Results and iterators stay valid
 * (pending ones fail). NULL is a no-op. Errors: none.
 * Thread-safety: no other call on pool may run or follow; not from one
 * of its callbacks. Ownership: pool is gone.
 */
MPROC_EXTERN void mproc_pool_free(mproc_pool *pool);

/* ---- call options ------------------------------------------------------------ */

/** A callback of apply_async / map_async: called once the result is
 *  complete, in the pool's result thread (keep it short: it holds up
 *  other results, as in Python). Inside it, mproc_async_get(ar, 0, ...)
 *  and mproc_async_error() read the outcome; ar is borrowed. */
typedef void (*mproc_pool_callback)(mproc_async *ar, void *arg);

/** A map's progress: `done` of `total` items have their outcome. Called
 *  in the pool's result thread after each chunk, with done increasing,
 *  the last call with done == total (before the map's callbacks). */
typedef void (*mproc_pool_progress_fn)(size_t done, size_t total, void *arg);

/** Options of apply_async, map, map_async and imap; start from
 *  MPROC_POOL_CALL_OPTS_INIT. */
typedef struct mproc_pool_call_opts {
  size_t size;                         /**< sizeof(mproc_pool_call_opts) */
  size_t chunksize;                    /**< maps: 0 is Python's default,
                                            ceil(n / (4 * processes)) for
                                            map, 1 for imap */
  mproc_pool_callback callback;        /**< async: on success (NULL: none) */
  mproc_pool_callback error_callback;  /**< async: on failure (NULL: none) */
  mproc_pool_progress_fn progress;     /**< maps: as chunks finish */
  void *arg;                           /**< handed to the three callbacks */
} mproc_pool_call_opts;

#define MPROC_POOL_CALL_OPTS_INIT                                              \
  { sizeof(mproc_pool_call_opts), 0, NULL, NULL, NULL, NULL }

/* ---- apply ---------------------------------------------------------------------- */

/**
 * Python's apply(): run fn(in, len) in a worker and wait for its result.
 * *out gets the result bytes (the caller's: release with mproc_free; NULL
 * for an empty result), *out_len their length; either may be NULL to drop
 * them.
 * Errors: MPROC_EINVAL (pool or fn NULL, in NULL with len > 0),
 * MPROC_ENOTREG (fn not registered), MPROC_ESTATE (closed or terminated),
 * MPROC_ETASK (the task failed: the sentence has its code and message),
 * MPROC_EWORKERDIED (its worker died; the sentence names the signal),
 * MPROC_EBROKEN (an initializer failed), MPROC_ENOMEM.
 * Thread-safety: safe, from any number of threads.
 */
MPROC_EXTERN int mproc_pool_apply(mproc_pool *pool, mproc_task_fn fn,
                                  const void *in, size_t len, void **out,
                                  size_t *out_len);

/**
 * Python's apply_async(): schedule fn(in, len) and give its AsyncResult.
 * The input is copied. opts may be NULL; its callback or error_callback
 * runs once the outcome is known, before mproc_async_get returns it.
 * Errors: as mproc_pool_apply's up to the scheduling (MPROC_EINVAL,
 * MPROC_ENOTREG, MPROC_ESTATE, MPROC_EBROKEN, MPROC_ENOMEM; opts->size
 * too small); the task's own outcome comes from mproc_async_get.
 * Thread-safety: safe. Ownership: free *out with mproc_async_free().
 */
MPROC_EXTERN int mproc_pool_apply_async(mproc_pool *pool, mproc_task_fn fn,
                                        const void *in, size_t len,
                                        const mproc_pool_call_opts *opts,
                                        mproc_async **out);

/* ---- map ------------------------------------------------------------------------ */

/**
 * Python's map(): run fn over n records of item_size bytes (items[i] is
 * the bytes at items + i * item_size) in chunks, wait, and write each
 * result into results + i * result_size. Every result must be exactly
 * result_size bytes (else that item fails with MPROC_EBUFSIZE). results
 * NULL (result_size 0) drops the results and only reports failure; for
 * results of any size use mproc_pool_map_async. n == 0 returns 0 at once.
 * A failure does not stop the other chunks (as Python's); the call
 * returns the failure of the lowest failing item, and the sentence names
 * the item, the task's code and message.
 * Errors: MPROC_EINVAL (pool or fn NULL, items NULL with n > 0,
 * item_size 0, results NULL with result_size > 0 or the other way round,
 * sizes that overflow, opts->size too small), MPROC_ENOTREG,
 * MPROC_ESTATE, MPROC_ETASK, MPROC_EWORKERDIED, MPROC_EBROKEN,
 * MPROC_EBUFSIZE, MPROC_ECANCELLED (terminated), MPROC_ENOMEM.
 * Thread-safety: safe. Ownership: items and results are the caller's;
 * results is written until the call returns.
 */
MPROC_EXTERN int mproc_pool_map(mproc_pool *pool, mproc_task_fn fn,
                                const void *items, size_t n, size_t item_size,
                                void *results, size_t result_size,
                                const mproc_pool_call_opts *opts);

/**
 * Python's map_async(): as mproc_pool_map without waiting. With
 * result_size > 0 every result must be that size; they are written into
 * `results` if given, else
 * kept in the AsyncResult (mproc_async_get gives them as one array);
 * `results` is written until the result is ready or freed.
 * With result_size 0 results are of any size: read each with
 * mproc_async_item. items are copied (the caller may reuse them at once).
 * Errors: as mproc_pool_map's up to the scheduling; the outcome comes from
 * mproc_async_get. Thread-safety: safe.
 * Ownership: free *out with mproc_async_free().
 */
MPROC_EXTERN int mproc_pool_map_async(mproc_pool *pool, mproc_task_fn fn,
                                      const void *items, size_t n,
                                      size_t item_size, void *results,
                                      size_t result_size,
                                      const mproc_pool_call_opts *opts,
                                      mproc_async **out);

/** One item of a _var map: `len` bytes at `data`. */
typedef struct mproc_pool_item {
  const void *data;
  size_t len;
} mproc_pool_item;

/**
 * map_async over items of any size: items[i].len bytes at items[i].data
 * (copied at the call). Results as mproc_pool_map_async with result_size
 * 0 (of any size, by mproc_async_item).
 * Errors: as mproc_pool_map_async (MPROC_EINVAL also for an item with
 * NULL data and a length). Thread-safety: safe.
 * Ownership: free *out with mproc_async_free().
 */
MPROC_EXTERN int mproc_pool_map_var_async(mproc_pool *pool, mproc_task_fn fn,
                                          const mproc_pool_item *items,
                                          size_t n,
                                          const mproc_pool_call_opts *opts,
                                          mproc_async **out);

/* ---- AsyncResult ---------------------------------------------------------------- */

/**
 * Python's get(timeout): wait for the outcome. 0 on success, with *data
 * and *len (either may be NULL; borrowed, valid until mproc_async_free):
 * apply_async: the result bytes; a fixed-size map: the n results as one
 * array of n * result_size bytes; a map of any-size results: NULL and 0
 * (use mproc_async_item).
 * Errors: MPROC_ETIMEDOUT (not ready yet: it may be asked again),
 * MPROC_ETASK, MPROC_EWORKERDIED, MPROC_EBROKEN, MPROC_EBUFSIZE,
 * MPROC_ECANCELLED (the outcome: mproc_async_error gives the item, code
 * and message; the sentence has them too), MPROC_EINVAL (ar NULL, NaN
 * timeout).
 * Thread-safety: safe, from many threads. From the result's own callback
 * it returns at once (the outcome is known there).
 */
MPROC_EXTERN int mproc_async_get(mproc_async *ar, double timeout,
                                 const void **data, size_t *len);

/**
 * Python's wait(timeout): 0 once ready, MPROC_ETIMEDOUT if not within
 * timeout. Errors: MPROC_EINVAL (NULL, NaN). Thread-safety: safe.
 */
MPROC_EXTERN int mproc_async_wait(mproc_async *ar, double timeout);

/** Python's ready(): 1 when the outcome is known and the callbacks have
 *  run, else 0. Errors: MPROC_EINVAL (NULL). Thread-safety: safe. */
MPROC_EXTERN int mproc_async_ready(const mproc_async *ar);

/** Python's successful(): 1 if it completed without failure, 0 if it
 *  failed. Errors: MPROC_EINVAL (NULL), MPROC_ESTATE (not ready yet:
 *  Python's ValueError). Thread-safety: safe. */
MPROC_EXTERN int mproc_async_successful(const mproc_async *ar);

/**
 * Item i's result of a ready map (or i == 0 of apply_async): 0 with the
 * bytes borrowed in *data and *len (valid until mproc_async_free). An
 * item that failed gives its outcome (MPROC_ETASK, MPROC_EWORKERDIED, ...)
 * with the task's code and message in the sentence.
 * Errors: MPROC_EINVAL (NULL ar, i >= n), MPROC_ESTATE (not ready).
 * Thread-safety: safe once ready. Ownership: none taken.
 */
MPROC_EXTERN int mproc_async_item(mproc_async *ar, size_t i,
                                  const void **data, size_t *len);

/**
 * After a failure: the lowest failing item (0 for apply_async), its
 * outcome code in *code (the task's return value for MPROC_ETASK, else
 * the MPROC_E* outcome) and its message (borrowed, valid until free).
 * Any of the three may be NULL.
 * Errors: MPROC_EINVAL (NULL ar), MPROC_ESTATE (not ready, or no item
 * failed). Thread-safety: safe once ready.
 */
MPROC_EXTERN int mproc_async_error(const mproc_async *ar, size_t *item,
                                   int *code, const char **msg);

/**
 * Release the AsyncResult. Work still running goes on and its callbacks
 * still run (Python's apply_async(f, callback=cb) without keeping the
 * result is a common shape); only the results are dropped (a map stops
 * writing into the caller's results array here). NULL is a
 * no-op. Errors: none. Thread-safety: not while another call on ar runs;
 * not from its own callback. Ownership: ar is gone.
 */
MPROC_EXTERN void mproc_async_free(mproc_async *ar);

/* ---- imap ----------------------------------------------------------------------- */

/**
 * Python's imap(): as map_async over fixed-size records, but results are
 * taken one by one, in item order, with mproc_imap_next, as soon as each
 * one's chunk is done. chunksize 0 means 1 (Python's imap default).
 * Results of any size. items are copied at the call.
 * Errors: as mproc_pool_map_async's up to the scheduling.
 * Thread-safety: safe. Ownership: free *out with mproc_imap_free().
 */
MPROC_EXTERN int mproc_pool_imap(mproc_pool *pool, mproc_task_fn fn,
                                 const void *items, size_t n,
                                 size_t item_size,
                                 const mproc_pool_call_opts *opts,
                                 mproc_imap **out);

/** Python's imap_unordered(): as mproc_pool_imap, but results come in
 *  the order their chunks finish (mproc_imap_next gives each item's
 *  index). Errors, thread-safety, ownership: as mproc_pool_imap. */
MPROC_EXTERN int mproc_pool_imap_unordered(mproc_pool *pool, mproc_task_fn fn,
                                           const void *items, size_t n,
                                           size_t item_size,
                                           const mproc_pool_call_opts *opts,
                                           mproc_imap **out);

/** imap over items of any size (see mproc_pool_map_var_async); flags 0
 *  (in order) or MPROC_IMAP_UNORDERED. Errors: as mproc_pool_imap, and
 *  MPROC_EINVAL for unknown flags. Thread-safety, ownership: the same. */
MPROC_EXTERN int mproc_pool_imap_var(mproc_pool *pool, mproc_task_fn fn,
                                     const mproc_pool_item *items, size_t n,
                                     int flags,
                                     const mproc_pool_call_opts *opts,
                                     mproc_imap **out);

/** Flags of mproc_pool_imap_var. */
enum { MPROC_IMAP_UNORDERED = 1 };

/**
 * Python's next(timeout): the next result, 0 with its bytes borrowed in
 * *data and *len (valid until the next call or free) and its item index
 * in *item (any of the three may be NULL). MPROC_EEOF once every item was
 * given. MPROC_ETIMEDOUT: nothing came within timeout; ask again. An item
 * that failed is given in its turn with its outcome (MPROC_ETASK,
 * MPROC_EWORKERDIED, MPROC_EBROKEN, MPROC_ECANCELLED; mproc_imap_error
 * has the code and message) and the iteration goes on past it, as
 * Python's iterator raising for that item.
 * Errors: also MPROC_EINVAL (NULL it, NaN timeout).
 * Thread-safety: one thread at a time per iterator.
 */
MPROC_EXTERN int mproc_imap_next(mproc_imap *it, double timeout,
                                 const void **data, size_t *len,
                                 size_t *item);

/** The failed item's code (the task's return value for MPROC_ETASK, else
 *  the outcome) and message after mproc_imap_next gave a failure.
 *  Errors: MPROC_EINVAL (NULL it), MPROC_ESTATE (the last next did not
 *  fail). Thread-safety: as mproc_imap_next. Ownership: msg is borrowed
 *  until the next call; either pointer may be NULL. */
MPROC_EXTERN int mproc_imap_error(const mproc_imap *it, int *code,
                                  const char **msg);

/** Release the iterator: what has not started is cancelled, what runs
 *  finishes in the workers and is dropped. NULL is a no-op. Errors: none.
 *  Thread-safety: not while next runs. Ownership: it is gone. */
MPROC_EXTERN void mproc_imap_free(mproc_imap *it);

#ifdef __cplusplus
}
#endif
#endif
