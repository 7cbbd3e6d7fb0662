/* mproc: the process executor's pool state, shared by its two files:
 * executor-process.c (feeding, the reader, the kind's operations) and
 * executor-pwatch.c (making the pool, starting and watching workers). */
#ifndef MPROC_EXECUTOR_PROCESS_H
#define MPROC_EXECUTOR_PROCESS_H

#include "wset.h"

#define PP_TABLE_MASK 4095u

typedef struct ppool {
  mproc_executor *ex;
  uv_mutex_t lock;
  mproc_queue *tq, *rq;
  mproc_shm *shm;
  _Atomic uint64_t *slots;
  mproc_process **procs; /* the watcher's (and init's, before it starts) */
  wset_args *args;       /* a worker's argument bytes, index patched */
  size_t args_len;
  mproc_start_method method;
  int max_tasks, on_death;
  mproc_future *phead, *ptail; /* pending, not sent */
  mproc_future *table[PP_TABLE_MASK + 1];
  size_t inflight, max_inflight;
  int shutdown, stops_sent, broken;
  int terminated; /* 1 terminate, 2 kill: the watcher ends the workers */
  char broken_msg[300];
  mproc_wakeup *wake; /* the watcher's */
  uv_thread_t reader, watcher, feeder;
  uv_cond_t feed_cond; /* the feeder sleeps here */
  int feeder_idle, feeder_quit;
  uv_mutex_t join_lock;
  int joined;
  int bad_exits; /* the watcher's */
} ppool;

/** Make the pool's queues, slots and workers (executor-pwatch.c). */
int mproc__pp_new(mproc_executor *ex, ppool **out);
/** Release what mproc__pp_new made (workers ended first). */
void mproc__pp_free(ppool *p);
/** Start the watcher thread; it ends once every worker is gone after
 *  shutdown, breakage or termination. */
int mproc__pp_start_watcher(ppool *p);
/** Kill and join every worker (only while no watcher runs). */
void mproc__pp_kill_all(ppool *p);
/** Fail everything with MPROC_EBROKEN and refuse later submits. */
void mproc__pp_set_broken(ppool *p, const char *why);
/** Put n stop messages into the task queue. */
void mproc__pp_send_stops(ppool *p, int n);

#endif
