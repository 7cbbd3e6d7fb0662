/* mproc: the process worker set, inside — what the parent
 * (executor-process.c) and a worker (wset-worker.c) agree on.
 *
 * Two queues (the Queue family, in shared memory) and one segment:
 *   task queue    parent -> workers: [task_hdr][name][input]
 *   result queue  workers (and the parent's watcher) -> parent's reader:
 *                 [res_hdr][msg (msg_len bytes, NUL included)][result]
 *   slots         one 64-bit word per worker in the pool's segment: 0 idle,
 *                 task id + 1 while the worker runs that task (written
 *                 before it starts, cleared after its result is committed),
 *                 SLOT_STOPPED once it took a stop message.
 *
 * The crash protocol: a worker that dies leaves its slot set. The
 * parent's watcher sees the sentinel, reads the slot and puts a "died"
 * result for that id into the result queue. A result the worker committed
 * before dying is already in the ring ahead of it (the ring is one FIFO;
 * the worker's commit happened before its death was visible), so the
 * reader takes the first message for an id and drops any later one:
 * exactly one outcome per task, never none. */
#ifndef MPROC_WSET_H
#define MPROC_WSET_H

#include <stdint.h>

#include "futures-internal.h"

#define WSET_ID_STOP UINT64_MAX            /* task queue: exit */
#define WSET_ID_QUIT UINT64_MAX            /* result queue: the reader ends */
#define WSET_ID_INITFAIL (UINT64_MAX - 1)  /* result: initializer failed */
#define WSET_SLOT_STOPPED UINT64_MAX
#define WSET_QNAME 64

typedef struct wset_task_hdr {
  uint64_t id, item;
  uint32_t name_len, pad;
} wset_task_hdr;

typedef struct wset_res_hdr {
  uint64_t id;
  int32_t rc, worker;
  uint64_t msg_len;
} wset_res_hdr;

/* A worker's argument bytes (then initargs_len bytes of initargs). */
typedef struct wset_args {
  int32_t index, max_tasks;
  char tq[WSET_QNAME], rq[WSET_QNAME], shm[WSET_QNAME];
  char init[256]; /* the initializer's registered name, or "" */
  uint64_t initargs_len;
} wset_args;

/** A worker's process target (registered as a task: every start method). */
int mproc__wset_worker_main(const void *arg, size_t len);

/** Put a result message for `id` (msg may be NULL; data of any size). */
int mproc__wset_put_result(mproc_queue *rq, uint64_t id, int rc, int worker,
                           const char *msg, const void *data, size_t len);

#endif
