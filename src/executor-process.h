/* mproc: the process executor's pool state, shared by its files:
 * executor-process.c (feeding, the reader, the kind's operations),
 * executor-presolve.c (outcomes of an ended worker's tasks: retry,
 * resend, fail) and executor-pwatch.c (making the pool, starting and
 * watching workers, timeouts).
 *
 * Lock order: the pool lock alone (never with a future's lock held). The
 * feeder (or a submit, while the feeder sleeps) puts into a worker's task
 * queue without it (marking the incarnation `sending`: one sender at a
 * time per worker); the watcher closes that queue and waits for
 * `sending` to drop before it reports the end, so a put never outlives
 * the accounting. */
#ifndef MPROC_EXECUTOR_PROCESS_H
#define MPROC_EXECUTOR_PROCESS_H

#include "wset.h"

/* Tasks in flight per worker (sent, no outcome yet) and per message. */
#define PP_WINDOW 1024
#define PP_BATCH 256
#define PP_LOW 64 /* below this many in flight a worker is fed at once */
/* Bytes of tasks a submitting thread may put into an idle worker's ring
 * itself (far below the ring's capacity: the put never waits). */
#define PP_DIRECT_MAX ((size_t)64 << 10)

/* Who holds the reader token (ppool.tok). */
#define PP_TOK_NONE 0
#define PP_TOK_READER 1
#define PP_TOK_HELPER 2
/* The token holder's own message buffer (ppool.rbuf): messages up to this
 * size are read into it, larger ones into memory of their own. */
#define PP_RBUF_MAX ((size_t)64 << 10)

/* mproc_future.kflags of the process kind. */
#define PP_F_RESENT 1u   /* back in pending while RUNNING: do not start */
#define PP_F_CANCEL 2u   /* cancel() of the running task: ECANCELLED */

/* One incarnation of worker `index`: its process, its task queue and the
 * tasks sent to it that have no outcome yet, in send order. */
typedef struct pinc {
  struct pinc *next; /* p->incs */
  int index;
  uint64_t gen;
  mproc_queue *tq;
  mproc_process *proc;    /* the watcher's */
  mproc_future **fifo;    /* ring of PP_WINDOW: positions resolved.. */
  size_t fhead, flen;
  uint64_t resolved;      /* FIFO position of fifo[fhead] */
  int alive;              /* its process runs (until the watcher reaps) */
  int ready;              /* it said it runs: the feeder may send to it */
  uint64_t born_ns;       /* uv_hrtime() at its start (the watchdog) */
  int sending;            /* a sender (the feeder, a submit) puts into tq */
  int stopping;           /* its stop was sent */
  int quota;              /* tasks it may still get; -1: no limit */
  int kill_now;           /* the watcher should kill it */
  int killed;             /* the watcher has (the watcher's) */
  int kill_reason;        /* MPROC_ETIMEDOUT, MPROC_ECANCELLED, or 0 */
  uint64_t kill_pos;      /* the position of the task it was killed for */
} pinc;

typedef struct ppool {
  mproc_executor *ex;
  uv_mutex_t lock;
  uv_cond_t feed_cond;   /* the feeder sleeps here */
  uv_cond_t sent_cond;   /* the watcher waits for `sending` to drop */
  mproc_queue *rq;
  mproc_array *slot_table; /* wset.h: the slots' Array */
  wset_slot *slots;
  mproc_shm *hold;       /* the workers' hold areas (wset.h) */
  int nslots;            /* capacity of slots and w */
  int target;            /* workers wanted (0..nslots) */
  pinc **w;              /* the current incarnation of each index */
  unsigned char *need;   /* index must be (re)started */
  pinc *incs;            /* every incarnation not yet resolved */
  uint64_t gens;
  /* A READY that came before the watcher listed its incarnation (it does
   * once the start returns; a fork child may say it runs before): its
   * gen, which start_inc applies. */
  uint64_t early_ready;
  int ends_unresolved;   /* END messages the reader has not handled */
  wset_args *args;       /* a worker's argument bytes, index patched */
  size_t args_len;
  mproc_start_method method;
  int on_death, retries;
  double task_timeout;   /* seconds; 0: none */
  mproc_future *phead, *ptail; /* pending, not sent */
  size_t npending;
  int shutdown, broken;
  int terminated; /* 1 terminate, 2 kill: the watcher ends the workers */
  char broken_msg[300];
  mproc_wakeup *wake; /* the watcher's */
  uv_thread_t reader, watcher, feeder;
  int feeder_idle, feeder_quit;
  uv_mutex_t join_lock;
  int joined;
  int bad_exits; /* the watcher's */
  /* The reader token (executor-process.c): whoever holds it takes the
   * result queue and handles its messages, the reader thread or a waiter
   * (ops.help). Under tok_lock, taken alone. */
  uv_mutex_t tok_lock;
  uv_cond_t tok_cond;  /* the parked reader and helpers wait here */
  int tok;             /* PP_TOK_* */
  int tok_waiters;     /* helpers waiting for the reader to yield */
  int tok_asked;       /* a YIELD message is on its way to the reader */
  int tok_back;        /* a helper left work in flight: reader, take over */
  int tok_quit;        /* a QUIT was taken: the reader ends */
  atomic_int tok_missed; /* a waiter found a helper holding the token */
  atomic_int parked;     /* the reader thread waits for the token */
  uint64_t helped_ns;  /* uv_hrtime() when the last help ended */
  unsigned char *rbuf; /* the holder's message buffer (rcap bytes) */
  size_t rcap;
  /* The watcher's: until when replacements wait after a worker died
   * (uv_hrtime ns; 0: they do not; executor-pwatch.c REPLACE_DEFER_NS). */
  uint64_t replace_at;
  /* The watcher's: incarnations it resolved itself, to release (their
   * processes and queues) after its next wait (executor-pwatch.c). */
  pinc *dead;
} ppool;

/** Make the pool's queues, slots and first workers (executor-pwatch.c). */
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
/** Under the lock: wake the feeder if it sleeps and has work. */
void mproc__pp_feed_kick(ppool *p);

/** Under the lock: put futures back at the head of pending, in order. */
void mproc__pp_requeue_front(ppool *p, mproc_future *head,
                             mproc_future *tail, size_t n);
/** Finish (running) or drop (cancelled) a list linked by next, taking
 *  each future's kind reference. */
void mproc__pp_fail_list(mproc_future *f, int outcome, const char *why);

/** Set the number of workers (1..nslots): more start, extra ones get
 *  their stop (the reusable executor). */
int mproc__pp_resize(ppool *p, int n);

/** 1 while the pool takes work (not shut down, not broken). */
int mproc__pp_usable(ppool *p);

/** The reader's work for an END message of incarnation `gen`
 *  (executor-presolve.c); held: e->held_len bytes of held records. */
void mproc__pp_resolve_end(ppool *p, uint64_t gen, const wset_end *e,
                           const char *how, const unsigned char *held);
/** Put a YIELD on the result queue within `timeout` (executor-pwatch.c):
 *  whoever reads it wakes (a helper looks at its future again; the
 *  reader thread gives the token to helpers that asked). */
int mproc__pp_post_yield(ppool *p, double timeout);
/** The watcher's shortcut for an incarnation whose process has ended
 *  (executor-presolve.c): when the reader has taken everything w
 *  committed, resolve w's tasks now, as its END would, and unlink w
 *  (the watcher frees it); 0 (nothing done) if an END is needed. */
int mproc__pp_end_now(ppool *p, pinc *w, const char *how);
/** The outcome of one result record for f (executor-process.c); 1 if
 *  it took `whole` (malloc'd memory that becomes the result). */
int mproc__pp_finish_one(mproc_future *f, const wset_res_hdr *h,
                         const unsigned char *msg, const unsigned char *data,
                         unsigned char *whole);
/** Worker i's hold area. */
wset_hold *mproc__pp_hold(const ppool *p, int i);
/** Free an incarnation whose end was resolved (its queue is closed). */
void mproc__pp_inc_free(pinc *w);

#endif
