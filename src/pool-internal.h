/* mproc: multiprocessing.Pool, inside. A Pool is a process executor
 * (executor-process.c and the worker set, wset.h) plus this layer:
 *
 *   pool.c        the pool's life (new, close, terminate, join, free),
 *                 apply, and the map entry points (cutting into chunks)
 *   pool-job.c    a job — the state behind an AsyncResult and an imap
 *                 iterator: each chunk's future calls back into it as it
 *                 finishes (in the executor's reader thread), which files
 *                 results, the lowest failure and progress
 *   pool-imap.c   the imap iterators over a job
 *   pool-chunk.c  the chunk task (runs in the workers) and the parent's
 *                 reading of a chunk's result message
 *
 * A chunk is ONE executor task: its input message carries the user task's
 * registered name and all the chunk's records, and its output is ONE
 * message with every record's outcome. The worker set needs nothing new:
 * the chunk task is just another registered task.
 *
 * Chunk input:   [chunk_hdr][name (name_len bytes)]
 *                fixed:    count * item_size record bytes
 *                variable: count uint64 lengths, then the records' bytes
 * Chunk output:  [res_hdr] then, uniform (every record succeeded with the
 *                same length L = res_hdr.uniform): count * L bytes;
 *                general (res_hdr.uniform == POOL_GENERAL): per record
 *                [item_hdr][len bytes: the result, or when rc != 0 the
 *                failure message with its NUL].
 *
 * Lock order: a job's lock alone (never while a future's or the pool's
 * lock is held); user callbacks run with no mproc lock held except the
 * job's callback lock (which only serialises them). */
#ifndef MPROC_POOL_INTERNAL_H
#define MPROC_POOL_INTERNAL_H

#include <stdint.h>

#include "futures-internal.h"

typedef struct pool_chunk_hdr {
  uint32_t name_len, var;
  uint64_t count, item_size;
} pool_chunk_hdr;

#define POOL_GENERAL UINT64_MAX

typedef struct pool_res_hdr {
  uint64_t count, uniform;
} pool_res_hdr;

typedef struct pool_item_hdr {
  int32_t rc;
  uint32_t pad;
  uint64_t len;
} pool_item_hdr;

/** The chunk task (registered: workers find it under every start method). */
int mproc__pool_chunk_main(const void *in, size_t len, mproc_buf *out);

/** Reading one chunk's result message, record by record. */
typedef struct pool_view {
  const unsigned char *p; /* the message */
  size_t len, pos;        /* pos: the next record's offset */
  uint64_t count, uniform, k;
} pool_view;

/** Start reading a result message of `expect` records: 0, or
 *  MPROC_EINVAL if it is malformed (sentence set). */
int mproc__pool_view_init(pool_view *v, const void *data, size_t len,
                          uint64_t expect);
/** The next record: 0 with its bytes (the result, or the failure message
 *  when *rc != 0); MPROC_EINVAL when the message is malformed. */
int mproc__pool_view_next(pool_view *v, const unsigned char **d, size_t *n,
                          int *rc);

/* ---- jobs (pool-job.c) --------------------------------------------------- */

enum { JOB_APPLY = 1, JOB_MAP, JOB_IMAP };

/* Where an any-size map keeps each record's outcome (into a chunk
 * future's bytes, or its failure message). */
typedef struct pool_slot {
  const unsigned char *data;
  size_t len;
  int rc, code; /* 0, or the outcome (MPROC_ETASK...) and the task's code */
} pool_slot;

struct mproc_async {
  atomic_int refs; /* the user's handle + each chunk not yet filed */
  uv_mutex_t lock, cb_lock;
  uv_cond_t cond;
  int kind, unordered, discard;
  int direct; /* apply_async without callbacks: no done callback (below) */
  size_t n, nchunks, chunksize;
  mproc_future **fs; /* per chunk: our reference (NULL once dropped) */
  mproc_future *fs1; /* fs of a one-chunk job (an apply): no allocation */
  size_t chunks_done, items_done, reported;
  int complete, ready; /* outcome known; callbacks run (under lock) */
  size_t result_size;
  unsigned char *results; /* fixed-size results (ours when own_results) */
  int own_results;
  pool_slot *slots; /* any-size map: per record */
  int has_err, err, err_code;
  size_t err_item;
  char *err_msg;
  size_t *order; /* imap_unordered: chunks in the order they finished */
  unsigned char *chunk_ok; /* imap: 1 once chunk c is filed */
  mproc_pool_callback callback, error_callback;
  mproc_pool_progress_fn progress;
  void *arg;
};

/** A job of `kind` over n records in nchunks chunks (refs 1: the user's).
 *  NULL when out of memory (sentence set). */
mproc_async *mproc__job_new(int kind, size_t n, size_t nchunks,
                            size_t chunksize, const mproc_pool_call_opts *o);
/** Register the job's done callback on each chunk's future (one job
 *  reference each); only after the futures were enqueued. */
int mproc__job_watch(mproc_async *j);
/** Register the job's callback on chunk c's fresh future (not yet queued)
 *  and take the reference it holds. */
void mproc__job_watch_fresh(mproc_async *j, size_t c);
/** Finish a job with no chunks (an empty map) in this thread. */
void mproc__job_finish_empty(mproc_async *j);
void mproc__job_unref(mproc_async *j);
/** Under the job's lock: wait on its condition once, until `deadline`
 *  at most (mproc__deadline's form); 0 if the deadline has passed. */
int mproc__job_sleep(mproc_async *j, double deadline);
/** Wait until ready (0) or MPROC_ETIMEDOUT; `timeout` in backend form. */
int mproc__job_wait(mproc_async *j, double timeout);
/** The outcome of a ready job as mproc_async_get's code (sentence set). */
int mproc__job_outcome(const mproc_async *j);
/** A chunk future's failure as an outcome code, its task code and its
 *  message (for a future that did not finish with bytes). */
int mproc__chunk_failure(mproc_future *f, int *code, const char **msg);

/** Cancel what has not started of a job and drop the user's reference
 *  (imap's free: the running chunks finish and are dropped). */
void mproc__job_drop(mproc_async *j);
/** 1 while this thread runs one of a job's user callbacks. */
int mproc__job_in_callback(void);

/** The iterator around an imap job (pool-imap.c); it takes the job's
 *  reference. MPROC_ENOMEM leaves the job to the caller. */
int mproc__imap_new(mproc_async *j, mproc_imap **out);

#endif
