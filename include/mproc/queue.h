/** mproc: Queue, SimpleQueue and JoinableQueue — multiprocessing's queues,
 * for byte messages of any size, between any number of producer and
 * consumer processes.
 *
 * A queue lives in named shared memory: a ring of bytes plus its indices.
 * There is no feeder thread: when put returns, the message is in shared
 * memory, so a process may exit right after put without losing it (the
 * footgun of Python's Queue is gone). Messages from one producer arrive
 * in the order it put them.
 *
 * Process death: a message is committed by one store after it is written
 * whole, and removed by one store after a consumer has copied it whole. So
 * a producer killed inside put never delivers half a message, and a
 * consumer killed inside get leaves the message for another consumer. A
 * message larger than a quarter of the ring is streamed through it in
 * pieces (no other message interleaves); if its producer dies midway the
 * pieces are discarded, and if its consumer dies midway the rest is
 * skipped — that one message is lost, the queue goes on. The others never
 * block: the queue's internal locks hand over from a dead owner.
 *
 * Timeouts are seconds (MPROC_FOREVER blocks, 0 is the _nowait form); a
 * full or empty queue at the deadline gives MPROC_EFULL / MPROC_EEMPTY,
 * as Python's queue.Full / queue.Empty.
 * @file
 */
#ifndef MPROC_QUEUE_H
#define MPROC_QUEUE_H

#include <stddef.h>

#include "mproc/alloc.h"
#include "mproc/export.h"
#include "mproc/shared.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mproc_queue_kind {
  MPROC_QUEUE = 0,     /**< Queue(maxsize) */
  MPROC_SIMPLE_QUEUE,  /**< SimpleQueue: no maxsize */
  MPROC_JOINABLE_QUEUE /**< JoinableQueue: task_done() and join() */
} mproc_queue_kind;

/** Options (NULL: an unbounded Queue with a 1 MiB ring); start from
 *  MPROC_QUEUE_OPTS_INIT. */
typedef struct mproc_queue_opts {
  size_t size;           /**< sizeof(mproc_queue_opts), set by the
                              initialiser */
  const char *name;      /**< NULL: generated */
  int no_track;          /**< as mproc_shm_opts */
  mproc_queue_kind kind; /**< MPROC_QUEUE by default */
  long maxsize;          /**< most messages held; <= 0: no limit */
  size_t capacity;       /**< ring bytes (rounded up to a power of two,
                              4 KiB .. 1 GiB); 0: 1 MiB */
} mproc_queue_opts;

/** The defaults of mproc_queue_opts. */
#define MPROC_QUEUE_OPTS_INIT                                                  \
  { sizeof(mproc_queue_opts), NULL, 0, MPROC_QUEUE, 0, 0 }

typedef struct mproc_queue mproc_queue;

/**
 * Make a queue.
 * Errors: MPROC_EINVAL (out NULL, bad kind, negative maxsize with
 * SimpleQueue...), MPROC_ERANGE (capacity), and those of mproc_shm_new.
 * Ownership: free with mproc_queue_free().
 */
MPROC_EXTERN int mproc_queue_new(mproc_queue **out,
                                 const mproc_queue_opts *opts);
/** Open by name (errors as mproc_shm_open). */
MPROC_EXTERN int mproc_queue_open(mproc_queue **out, const char *name);

/**
 * Put a message of `len` bytes (0 allowed; any size). Blocks while the
 * queue holds maxsize messages or its ring has no room, up to `timeout`.
 * Errors: MPROC_EFULL (still full at the deadline), MPROC_ECLOSED (this
 * handle was closed), MPROC_EINVAL (NULL msg with len > 0, NaN timeout),
 * MPROC_EINTR (mproc_interrupt() while it waited for room or for the
 * lock, before any of the message went in: the queue is as a timeout
 * leaves it; once part of a large message is in, the put finishes).
 * Thread-safety: any thread, any process.
 */
MPROC_EXTERN int mproc_queue_put(mproc_queue *q, const void *msg, size_t len,
                                 double timeout);

/**
 * Take the oldest message into `buf` (capacity `cap`), storing its length
 * in *len. If it does not fit, returns MPROC_EBUFSIZE with the size needed
 * in *len and leaves the message in the queue (Python's BufferTooShort,
 * without losing the message). On every other failure *len is 0 (and the
 * contents of `buf` are unspecified).
 * Errors: MPROC_EEMPTY (nothing by the deadline), MPROC_EBUFSIZE,
 * MPROC_ECLOSED, MPROC_EINVAL (NULL len, NULL buf with cap > 0, NaN
 * timeout), MPROC_EINTR (mproc_interrupt() while it waited for a message
 * or for the lock: nothing was taken; a message already begun is taken
 * whole first).
 * Thread-safety: any thread, any process.
 * Ownership: `buf` stays the caller's.
 */
MPROC_EXTERN int mproc_queue_get(mproc_queue *q, void *buf, size_t cap,
                                 size_t *len, double timeout);

/**
 * As mproc_queue_get into a buffer it allocates (*msg; NULL for an empty
 * message). On any failure *msg is NULL and *len is 0, so freeing *msg
 * after a failed call is harmless.
 * Errors: as mproc_queue_get, but never MPROC_EBUFSIZE; MPROC_ENOMEM when
 * the message cannot be allocated (it stays in the queue); MPROC_EINVAL
 * for a NULL msg.
 * Thread-safety: any thread, any process.
 * Ownership: the caller owns *msg and releases it with mproc_free().
 */
MPROC_EXTERN int mproc_queue_get_alloc(mproc_queue *q, void **msg,
                                       size_t *len, double timeout);

/**
 * Messages in the queue now (a snapshot; Python's qsize()).
 * Errors (negative): MPROC_ECLOSED on a closed handle (Python raises
 * there), MPROC_EINVAL for NULL.
 * Thread-safety: any thread, any process.
 */
MPROC_EXTERN long mproc_queue_qsize(const mproc_queue *q);
/**
 * 1 if the queue holds no message now, else 0 (a snapshot; empty()).
 * Errors (negative): as mproc_queue_qsize.
 * Thread-safety: any thread, any process.
 */
MPROC_EXTERN int mproc_queue_empty(const mproc_queue *q);
/**
 * 1 if maxsize messages are in the queue now, else 0 (always 0 without
 * a maxsize; a snapshot, as Python's full()).
 * Errors (negative): as mproc_queue_qsize.
 * Thread-safety: any thread, any process.
 */
MPROC_EXTERN int mproc_queue_full(const mproc_queue *q);

/** JoinableQueue: one put's task is finished. Errors: MPROC_ESTATE when
 *  called more times than messages were put; MPROC_EINVAL for another
 *  kind of queue. */
MPROC_EXTERN int mproc_queue_task_done(mproc_queue *q);
/** JoinableQueue: wait until every put has had its task_done. Returns 0,
 *  or MPROC_ETIMEDOUT, or MPROC_ECLOSED (this handle is, or was while
 *  waiting, closed), or MPROC_EINTR (mproc_interrupt()). task_done works on a closed handle, so a task taken
 *  before the close can still be finished. */
MPROC_EXTERN int mproc_queue_join(mproc_queue *q, double timeout);

/**
 * Close this handle: it puts and gets no more. Later put, get, get_alloc,
 * join, qsize, empty and full on it return MPROC_ECLOSED, and calls
 * blocked on it in other threads of this process return MPROC_ECLOSED:
 * those waiting for a message, for room or for join at once, those
 * waiting for a queue lock another handle holds within about 0.1 s. Other
 * handles (here and in other processes) and what was put are unaffected.
 * A put woken in the middle of a streamed message delivers nothing (the
 * next producer removes its pieces); a get woken there loses that one
 * message, as when a consumer dies there. Then this handle's hold is
 * released: the last holder's close removes the name (each handle holds
 * on its own, so another handle in this process keeps the queue). Closing
 * twice is harmless. Close does not free: it returns once every blocked
 * call has been woken, not once they have returned, and the handle (its
 * mapping included) stays valid until mproc_queue_free.
 * Errors: MPROC_EINVAL for NULL.
 * Thread-safety: any thread, also while others are blocked on the handle
 * (the way to end their waits).
 * Ownership: the handle is still the caller's, to free.
 */
MPROC_EXTERN int mproc_queue_close(mproc_queue *q);
/** The queue's name, for mproc_queue_open in another process. Owned by
 *  the queue; valid until it is freed. */
MPROC_EXTERN const char *mproc_queue_name(const mproc_queue *q);
/** Ring capacity in bytes. */
MPROC_EXTERN size_t mproc_queue_capacity(const mproc_queue *q);
/**
 * Close the handle if it is open (mproc_queue_close), unmap and free it.
 * NULL is a no-op.
 * Thread-safety: must not race with any other call on the same handle:
 * to stop threads blocked on it, mproc_queue_close it, join those
 * threads, then free.
 * Ownership: q is invalid afterwards.
 */
MPROC_EXTERN void mproc_queue_free(mproc_queue *q);

#ifdef __cplusplus
}
#endif
#endif
