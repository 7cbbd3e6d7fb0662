/* mproc: the process worker set, inside — what the parent
 * (executor-process.c, executor-pwatch.c, executor-presolve.c) and a
 * worker (wset-worker.c) agree on.
 *
 * Queues (the Queue family, in shared memory) and one segment:
 *   task queue    one per worker incarnation, parent -> that worker:
 *                 batches [batch_hdr][task_hdr name input]...
 *   result queue  one, every worker (and the parent's watcher) -> the
 *                 parent's reader: [rbatch_hdr] then, for results,
 *                 count x [res_hdr][msg (msg_len bytes, NUL included)][data]
 *   slots         one wset_slot per worker index in the pool's slot
 *                 table, zeroed by the parent before each incarnation
 *                 starts. The table is a raw byte Array (shared memory's
 *                 small-object path): up to WSET_ARENA_SLOTS workers it
 *                 takes an arena slot (docs/arenas.md), more get a
 *                 segment of its own. Each process aligns the data to a
 *                 cache line (wset_slots_of).
 *
 * The crash protocol. The parent alone decides which worker gets which
 * task: it appends every task it sends to that incarnation's list (its
 * "FIFO", positions 0, 1, ... in send order), and the worker runs its
 * queue in that order. The worker counts in its slot: `started` before a
 * task begins, `finished` after it returns, `flushed` after the message
 * holding its result is committed (several results per message). When an
 * incarnation ends (any way: killed, crashed, recycled, stopped) the
 * watcher puts an END message carrying the slot's counters into the
 * result queue. Everything the worker committed is ahead of it (the ring
 * is one FIFO and the worker's puts happened before its end was seen), so
 * when the reader reaches END, the FIFO holds exactly the tasks without an
 * outcome, and their positions say what happened to each:
 *   pos <  finished                 it ran, its result was not sent: the
 *                                   result from the hold area (below),
 *                                   else retried or MPROC_EWORKERDIED
 *   pos == started - 1 (> finished) it was running: the watcher's reason
 *                                   (MPROC_ETIMEDOUT, MPROC_ECANCELLED),
 *                                   else retried or MPROC_EWORKERDIED
 *   pos >= started                  it never began: sent again
 * Exactly one outcome per task, and a dead worker fails only what it held.
 *
 * The hold area. A task runs at most once unless retries are on, so a
 * result that ran must outlive its worker: each worker index has
 * WSET_HOLD_BYTES in the pool's hold segment, where the worker copies
 * every result record it packs (the same bytes as in its message) and
 * then raises `len`; a flush empties it. A record that does not fit is
 * sent before the next task starts. When the incarnation ends, the
 * watcher copies the held records into the END message, and the reader
 * matches them to the FIFO's tasks by task id (a record whose message
 * was sent is no longer in the FIFO, and is ignored).
 */
#ifndef MPROC_WSET_H
#define MPROC_WSET_H

#include <stdint.h>

#include "futures-internal.h"

#define WSET_QNAME 64

/* A worker's slot: written by the worker, read by the parent. */
typedef struct wset_slot {
  _Atomic uint64_t started;  /* tasks begun by this incarnation */
  _Atomic uint64_t finished; /* tasks whose function returned */
  _Atomic uint64_t flushed;  /* tasks whose results are committed */
  _Atomic uint64_t start_ns; /* uv_hrtime() at the current task's start
                                (written only when a task timeout is set) */
  _Atomic uint32_t state;    /* WSET_ST_*: why the worker ended */
  uint32_t pad[7];           /* one cache line per worker */
} wset_slot;

/* The slot table's bytes for n workers: n lines and room to align them
 * (an arena object's data starts on 32 bytes, not 64). Arrays of up to
 * 1888 bytes live in an arena (arena.c): 28 lines and the 63 fit, and the
 * parent's and 28 workers' holds do too (16 in the slot, the rest in the
 * arena's spill pool: docs/arenas.md). A larger table is given a page at
 * least, more than a slot takes, so it is a segment of its own (whose
 * size is rounded to pages anyway). */
#define WSET_ARENA_SLOTS 28
_Static_assert(WSET_ARENA_SLOTS * sizeof(wset_slot) + 63 <= 1888,
               "the arena table fits the largest slot class");
static inline size_t wset_table_bytes(int n) {
  size_t b = (size_t)n * sizeof(wset_slot) + 63;
  return n <= WSET_ARENA_SLOTS || b >= 4096 ? b : 4096;
}

/* The table's first slot in the Array's data `p`. Every mapping of a
 * shared object starts on a page, so each process finds the same one. */
static inline wset_slot *wset_slots_of(void *p) {
  return (wset_slot *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

/* A worker's hold area: this header, then records [res_hdr msg data]. */
#define WSET_HOLD_BYTES ((size_t)64 << 10)
typedef struct wset_hold {
  _Atomic uint64_t len; /* bytes of whole records after the header */
  uint64_t pad[7];
} wset_hold;
#define WSET_HOLD_CAP (WSET_HOLD_BYTES - sizeof(wset_hold))

/* How a worker ended (its slot's state; RUN: it did not say, a death). */
enum {
  WSET_ST_RUN = 0,
  WSET_ST_STOPPED = 1,  /* took a stop message */
  WSET_ST_IDLE = 2,     /* idled past idle_timeout (comes back on demand) */
  WSET_ST_MEMORY = 3,   /* resident memory over max_memory_per_child */
  WSET_ST_MAXTASKS = 4, /* ran max_tasks_per_child tasks */
  WSET_ST_INITFAIL = 5  /* the initializer failed */
};

/* Task queue. */
#define WSET_BATCH_STOP 1u
typedef struct wset_batch_hdr {
  uint32_t count, flags;
} wset_batch_hdr;

typedef struct wset_task_hdr {
  uint64_t id, item, in_len;
  uint32_t name_len, pad;
} wset_task_hdr;

/* Result queue. */
enum {
  WSET_R_RESULTS = 1, /* count results of `gen`, in its FIFO order */
  WSET_R_INITFAIL = 2,/* the initializer failed: the message follows */
  WSET_R_END = 3,     /* the watcher: incarnation `gen` ended (wset_end) */
  WSET_R_QUIT = 4,    /* the parent: the reader ends */
  WSET_R_READY = 5,   /* incarnation `gen` runs (queues open, initializer
                         done): the feeder may send it tasks */
  WSET_R_YIELD = 6    /* the parent: a waiter asks the reader thread for
                         the result queue (executor-process.c) */
};

typedef struct wset_rbatch_hdr {
  uint32_t kind, count;
  int32_t worker, pad;
  uint64_t gen;
} wset_rbatch_hdr;

typedef struct wset_res_hdr {
  uint64_t id;
  int32_t rc, pad;
  uint64_t msg_len, len;
} wset_res_hdr;

/* An END message: [rbatch_hdr][wset_end][how (how_len bytes, NUL
 * included)][held records (held_len bytes)]. */
typedef struct wset_end {
  uint64_t started, finished, flushed;
  int32_t code;  /* exit code (negative: killed by that signal) */
  uint32_t state;
  uint32_t how_len, pad;
  uint64_t held_len;
} wset_end;

/* A worker's argument bytes (then initargs_len bytes of initargs). */
typedef struct wset_args {
  int32_t index, max_tasks;
  uint64_t gen;
  uint64_t max_memory; /* bytes of resident memory; 0: no limit */
  double idle_timeout; /* seconds; 0: never */
  int32_t timed;       /* write start_ns (a task timeout is set) */
  int32_t pad;
  char tq[WSET_QNAME], rq[WSET_QNAME], shm[WSET_QNAME];
  char hold[WSET_QNAME]; /* the hold segment (nslots x WSET_HOLD_BYTES) */
  char init[256]; /* the initializer's registered name, or "" */
  uint64_t initargs_len;
} wset_args;

/** A worker's process target (registered as a task: every start method). */
int mproc__wset_worker_main(const void *arg, size_t len);

#endif
