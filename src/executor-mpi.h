/* mproc: the MPI kind of executor, inside — what the root (the rank that
 * runs main: executor-mpi.c) and a worker rank (executor-mpi-worker.c)
 * agree on, and the program-wide MPI state (executor-mpi-boot.c).
 *
 * Built only with -DMPROC_WITH_MPI=ON (POSIX: no MPI for MinGW); without
 * it executor-mpi-none.c stands in and the kind says MPROC_ENOTSUP.
 *
 * The wire, on one communicator (a dup of the world, of the program's
 * comm, or the intercommunicator of MPI_Comm_spawn), root <-> worker:
 *   OPEN     root -> worker: [open_hdr][initializer name][initargs]: a
 *            session (one executor's life) begins; the worker runs the
 *            initializer. A failure answers INITFAIL [message], and the
 *            worker then answers each task of the session with
 *            MPROC_EBROKEN without running it.
 *   TASKS    root -> worker: [u32 count] then count x
 *            [task_hdr][name][input]: a batch of small tasks; a task of
 *            the same function as the one before it has no name
 *            (name_len 0: registered names are never empty).
 *   BIGTASK  root -> worker: [task_hdr][name], then the input in PIECE
 *            messages of at most MPIX_PIECE bytes each, sent straight from
 *            the future's memory (no copy).
 *   CLOSE    root -> worker: the session ends; the worker answers CLOSED
 *            after every earlier result.
 *   STOP     root -> worker: leave the serve loop (end of program, or of a
 *            spawned or communicator executor); the worker answers
 *            STOPPED, so nothing is in flight when both finalize
 *            (without Open MPI's finalize fence: executor-mpi-boot.c).
 *   RESULTS  worker -> root: [u32 count] then count x [res_hdr][msg][data].
 *   BIGRESULT worker -> root: [res_hdr][msg], then the data in PIECEs,
 *            received straight into the future's result buffer.
 *   HELLO    worker -> root, the answer to each OPEN (before anything
 *            else): [int64 pid][MPI_Get_processor_name]: the root watches
 *            the pids of the ranks on its own host (a gone pid: a dead
 *            rank).
 *
 * A dead rank (watched in executor-mpi.c): each worker answers OPEN with HELLO (its pid and host);
 * the poller looks at the pids of the workers on its own host every
 * WATCH_NS (mproc__os_pid_alive). A rank whose pid is gone is dead: first
 * what it sent before it died is read, then, where the job survives a
 * dead rank (Open MPI, when mpiexec runs with --enable-recovery or the
 * singleton of spawn mode has orte_enable_recovery set; otherwise its
 * launcher ends the whole job at once), only the futures that rank held
 * fail with MPROC_EWORKERDIED, and the rest goes on over the other ranks
 * (a static rank stays out of later executors too). Under other MPI
 * libraries (MPICH: its launcher ends the job, and its ch4 cannot talk
 * past a dead peer) the executor becomes broken with the reason, so
 * nothing waits forever. Ranks on other hosts are not watched: there the
 * launcher's own abort is what ends a wait.
 *
 * MPI keeps messages from one sender on one communicator and tag in
 * order; the root posts a header and its pieces under one lock, and each
 * side reads a header's pieces before it looks at the next message, so a
 * piece is never taken for another message. */
#ifndef MPROC_EXECUTOR_MPI_H
#define MPROC_EXECUTOR_MPI_H

#include <mpi.h>
#include <stdint.h>

#include "futures-internal.h"

enum {
  MPIX_TAG_OPEN = 1,
  MPIX_TAG_TASKS = 2,
  MPIX_TAG_BIGTASK = 3,
  MPIX_TAG_PIECE = 4,
  MPIX_TAG_CLOSE = 5,
  MPIX_TAG_STOP = 6,
  MPIX_TAG_RESULTS = 10,
  MPIX_TAG_BIGRESULT = 11,
  MPIX_TAG_INITFAIL = 12,
  MPIX_TAG_CLOSED = 13,
  MPIX_TAG_HELLO = 14,
  MPIX_TAG_STOPPED = 15
};

/* Inputs and results above this size travel alone, in pieces, uncopied. */
#define MPIX_BIG ((size_t)64 * 1024)
/* One MPI message carries at most this many bytes (counts are int). */
#define MPIX_PIECE ((size_t)1 << 30)

typedef struct mpix_open_hdr {
  uint64_t initargs_len;
  uint32_t name_len, pad;
} mpix_open_hdr;

typedef struct mpix_task_hdr {
  uint64_t id, item, in_len;
  uint32_t name_len, pad;
} mpix_task_hdr;

typedef struct mpix_res_hdr {
  uint64_t id, len;
  int32_t rc;
  uint32_t msg_len; /* the message's bytes, without a NUL */
} mpix_res_hdr;

/* ---- the program's MPI state (executor-mpi-boot.c) ------------------------ */

/** How this process takes part in MPI: what mproc_init found. */
typedef struct mpix_world {
  int inited_by_us; /* mproc called MPI_Init_thread: it finalizes at exit */
  int static_root;  /* rank 0 of an mpiexec run that mproc_init set up */
  int size;         /* MPI_COMM_WORLD's size then */
  MPI_Comm comm;    /* the static workers' communicator (a dup of world) */
  int busy;         /* a static executor uses the ranks now */
  _Atomic unsigned char *dead; /* size entries: 1 for a rank seen dead */
} mpix_world;

/** The program's state; the root's calls are serialized by its lock. */
mpix_world *mproc__mpi_world(void);
void mproc__mpi_world_lock(void);
void mproc__mpi_world_unlock(void);

/** Make sure MPI is initialized (MPI_THREAD_MULTIPLE) for a spawn-mode
 *  executor: MPROC_ENOTSUP with the reason where the library lacks it. */
int mproc__mpi_ensure_init(void);

/** Set the sentence for an MPI error code ("<what>: <MPI's words>") and
 *  return `code`. */
int mproc__mpi_err(int code, int mpi_rc, const char *what);

/** One idle round of a poller that has found nothing since *since (a
 *  uv_hrtime; 0: just now, set here): spin, then yield, then sleep up to
 *  1 ms. The poller sets *since = 0 when it finds something. */
void mproc__mpi_backoff(uint64_t *since);
/** The same with spin_ns of spinning first (a waiter that expects its
 *  answer within a round trip spins longer than an idle poller). */
void mproc__mpi_backoff_spin(uint64_t *since, uint64_t spin_ns);

/** The kind's init: static workers, the program's communicator
 *  (mproc_mpi_comm_executor), or spawned ones. */
int mproc__mpi_executor_init(mproc_executor *ex);

/** A static rank (of MPI_COMM_WORLD) was seen dead: later static
 *  executors leave it out, and the exit tells it nothing. No lock. */
void mproc__mpi_rank_died(int world_rank);

/* Take *buf (and the reference *f, may be NULL) of a send MPI could not
 * cancel, clearing both; released after this library's MPI_Finalize. */
void mproc__mpi_strand(void **buf, mproc_future **f);

/** Tell ranks[i] of comm STOP (0 <= i < n, but not where skip[i], skip
 *  may be NULL) and wait for each one's STOPPED, at most a few seconds in
 *  all (a rank that dies meanwhile answers nothing): then no message of
 *  this library is in flight, and MPI may be finalized without a fence.
 *  MPI_SUCCESS or the first send's error. */
int mproc__mpi_stop(MPI_Comm comm, const int *ranks, int n,
                    const unsigned char *skip);

/** A pool is gone: a static one frees the world's ranks for the next. */
void mproc__mpi_pool_ended(mproc_executor *ex, int is_static);

/* ---- a worker (executor-mpi-worker.c) -------------------------------------- */

/** Serve tasks from `root` of `comm` until STOP; 0, or < 0 when MPI
 *  failed (the sentence says how). `index` is this worker's number. */
int mproc__mpi_serve(MPI_Comm comm, int root, int index);

/* ---- the root (executor-mpi.c) ---------------------------------------------- */

/** Make the kind's state for workers `ranks[0..n)` of comm (copied);
 *  `owns` tells it to free comm at the end (1: MPI_Comm_free; 2:
 *  MPI_Comm_disconnect, a spawn's intercommunicator), and
 *  `stop` to send STOP at the end (spawn and communicator executors). */
int mproc__mpi_pool_start(mproc_executor *ex, MPI_Comm comm,
                          const int *ranks, int n, int owns, int stop);

#endif
