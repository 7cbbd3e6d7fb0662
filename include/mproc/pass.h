/** mproc: passing shared objects to a child — the C form of handing
 * Python's Process(args=(lock, queue, conn)).
 *
 * A process's options carry one pass list (mproc_process_opts.pass). Every
 * object in it reaches the child ready to use, under every start method,
 * as mproc_inherited(i, kind, &out) for its index i in the list. The
 * child's hold on each object is taken before mproc_process_start returns,
 * so the parent may free its own handle, or return from main, right after
 * the start: the object lives while the child holds it.
 *
 * @code
 *   mproc_lock *lock;
 *   mproc_lock_new(&lock, NULL);
 *   mproc_pass pass[] = {MPROC_PASS(lock)};
 *   mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
 *   o.pass = pass;
 *   o.n_pass = 1;
 *   mproc_process_new(&p, work, NULL, 0, &o);
 *   mproc_process_start(p);
 *   mproc_lock_free(lock);                  // the child keeps its own hold
 *
 *   int work(const void *arg, size_t len) { // in the child
 *     mproc_lock *l;
 *     mproc_inherited(0, MPROC_KIND_LOCK, &l);
 *     ...
 *     mproc_lock_free(l);
 *   }
 * @endcode
 *
 * A raw pointer in the argument bytes is not a way to share: under spawn
 * and forkserver the child is another program image, where the address
 * means nothing (reading through it crashes or reads garbage); even under
 * fork it points into the child's private copy. Pass the object.
 * @file
 */
#ifndef MPROC_PASS_H
#define MPROC_PASS_H

#include <stddef.h>

#include "mproc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_shm mproc_shm;
typedef struct mproc_array mproc_array;
typedef struct mproc_lock mproc_lock;
typedef struct mproc_rlock mproc_rlock;
typedef struct mproc_sem mproc_sem;
typedef struct mproc_cond mproc_cond;
typedef struct mproc_event mproc_event;
typedef struct mproc_barrier mproc_barrier;
typedef struct mproc_queue mproc_queue;
typedef struct mproc_conn mproc_conn;
typedef struct mproc_proxy mproc_proxy;

/** What a pass list entry is. Semaphore and BoundedSemaphore are both
 *  MPROC_KIND_SEM, Value is an MPROC_KIND_ARRAY of one item, every Queue
 *  kind is MPROC_KIND_QUEUE. */
typedef enum mproc_kind {
  MPROC_KIND_NONE = 0,
  MPROC_KIND_SHM,     /**< mproc_shm */
  MPROC_KIND_ARRAY,   /**< mproc_array (Value, Array, Raw forms) */
  MPROC_KIND_LOCK,    /**< mproc_lock */
  MPROC_KIND_RLOCK,   /**< mproc_rlock */
  MPROC_KIND_SEM,     /**< mproc_sem */
  MPROC_KIND_COND,    /**< mproc_cond (its lock comes with it) */
  MPROC_KIND_EVENT,   /**< mproc_event */
  MPROC_KIND_BARRIER, /**< mproc_barrier */
  MPROC_KIND_QUEUE,   /**< mproc_queue */
  MPROC_KIND_CONN,    /**< mproc_conn: a pipe end */
  MPROC_KIND_PROXY    /**< mproc_proxy: a manager's proxy (manager.h) */
} mproc_kind;

/** One entry of a pass list: the kind and the object. */
typedef struct mproc_pass {
  mproc_kind kind;
  const void *obj;
} mproc_pass;

/** Most entries in one pass list. */
#define MPROC_PASS_MAX 32

#if !defined(__cplusplus)
/** An entry for `x`, its kind taken from its type (C11). */
#define MPROC_PASS(x)                                                          \
  ((mproc_pass){_Generic((x),                                                  \
                    mproc_shm *: MPROC_KIND_SHM,                               \
                    mproc_array *: MPROC_KIND_ARRAY,                           \
                    mproc_lock *: MPROC_KIND_LOCK,                             \
                    mproc_rlock *: MPROC_KIND_RLOCK,                           \
                    mproc_sem *: MPROC_KIND_SEM,                               \
                    mproc_cond *: MPROC_KIND_COND,                             \
                    mproc_event *: MPROC_KIND_EVENT,                           \
                    mproc_barrier *: MPROC_KIND_BARRIER,                       \
                    mproc_queue *: MPROC_KIND_QUEUE,                           \
                    mproc_conn *: MPROC_KIND_CONN,                             \
                    mproc_proxy *: MPROC_KIND_PROXY),                          \
                (const void *)(x)})
#endif

/**
 * In a child: take the i-th entry of the pass list its parent gave
 * (0-based), as a handle of this process. `out` is the address of a
 * handle of the kind's type (mproc_lock ** for MPROC_KIND_LOCK, ...).
 * Each entry can be taken once; entries the child never takes are
 * released when its target returns (and a child that dies holds nothing).
 * Errors: MPROC_EINVAL (out NULL; the entry is of another kind: the
 * sentence names both), MPROC_ENOENT (no i-th entry), MPROC_ESTATE (taken
 * already), and the object's own open errors.
 * Thread-safety: call from one thread at a time.
 * Ownership: the child owns *out; free it with the kind's _free function.
 */
MPROC_EXTERN int mproc_inherited(size_t i, mproc_kind kind, void *out);

/** How many entries this process's pass list has (0 in the main program).
 *  Thread-safety: any thread. */
MPROC_EXTERN size_t mproc_inherited_count(void);

/** The kind of the i-th entry; MPROC_KIND_NONE when there is none.
 *  Thread-safety: any thread. */
MPROC_EXTERN mproc_kind mproc_inherited_kind(size_t i);

/** The name of a kind ("lock", "queue", ...), for messages. */
MPROC_EXTERN const char *mproc_kind_name(mproc_kind kind);

#ifdef __cplusplus
}
#endif
#endif
