/* mproc: the MPI kind of executor, the program's side — how a process
 * takes part in MPI, and where an executor's workers come from.
 *
 * mproc_init (mproc__mpi_boot) looks at the environment mpiexec gives its
 * ranks (Open MPI's OMPI_COMM_WORLD_SIZE, the PMI_SIZE of MPICH's Hydra).
 * Under mpiexec with more than one rank, and with MPI not yet initialized
 * by the program, it initializes MPI (MPI_THREAD_MULTIPLE): ranks 1..N-1
 * serve tasks until rank 0's program ends and never return (the static
 * mode of mpi4py.futures); rank 0 returns and runs main, and its MPI
 * executors use those ranks, one executor at a time. A process started
 * by MPI_Comm_spawn (argv holds --mproc-mpi-worker) serves its parent.
 * A program that initialized MPI itself keeps its ranks:
 * mproc_mpi_comm_executor() makes an executor over a communicator it
 * chooses (mpi4py's MPICommExecutor).
 *
 * Without mpiexec, an MPI executor spawns its workers with
 * MPI_Comm_spawn (Open MPI allows it, with oversubscription asked for in
 * the info); where spawning fails (Debian's MPICH) the executor reports
 * MPROC_ENOTSUP with MPI's reason.
 *
 * At exit, rank 0 shuts down the executors still alive, tells the static
 * ranks to stop and finalizes MPI if mproc initialized it.
 *
 * This file, like the rest of the kind, is built on POSIX only (no MPI
 * for MinGW), so it uses the POSIX backend's executable path directly. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "executor-mpi.h"
#include "mproc/mpi.h"
#include "object.h"
#include "platform.h"
#include "posix/posix.h"

#define WORKER_ARG "--mproc-mpi-worker"

static mpix_world world = {0, 0, 0, MPI_COMM_NULL, 0, NULL};
static uv_mutex_t world_lock;
static uv_once_t world_once = UV_ONCE_INIT;
static mproc_executor **live;
static size_t nlive, caplive;

/* The communicator mproc_mpi_comm_executor hands to the kind's init. */
static _Thread_local struct {
  int set, root;
  MPI_Comm comm;
} comm_req;

/* Buffers of sends to dead ranks that MPI_Cancel could not take back:
 * MPI may read them until it is finalized, so they stay reachable here
 * and are released after the MPI_Finalize this library makes. */
typedef struct stranded {
  struct stranded *next;
  void *buf;
  mproc_future *f;
} stranded;
static stranded *strands;
static uv_mutex_t strand_lock;

static void world_init(void) {
  if (uv_mutex_init(&world_lock) != 0 || uv_mutex_init(&strand_lock) != 0)
    abort();
}

void mproc__mpi_strand(void **buf, mproc_future **f) {
  stranded *s = malloc(sizeof *s);
  if (s != NULL) s->buf = *buf, s->f = *f;
  *buf = NULL; /* kept by MPI alone without s: a leak, never a misuse */
  *f = NULL;
  if (s == NULL) return;
  uv_once(&world_once, world_init);
  uv_mutex_lock(&strand_lock);
  s->next = strands;
  strands = s;
  uv_mutex_unlock(&strand_lock);
}

/* After MPI_Finalize: nothing reads the stranded buffers any more. */
static void free_strands(void) {
  stranded *s;
  uv_mutex_lock(&strand_lock);
  s = strands;
  strands = NULL;
  uv_mutex_unlock(&strand_lock);
  while (s != NULL) {
    stranded *next = s->next;
    free(s->buf);
    if (s->f) mproc__future_unref(s->f);
    free(s);
    s = next;
  }
}

mpix_world *mproc__mpi_world(void) { return &world; }

void mproc__mpi_world_lock(void) {
  uv_once(&world_once, world_init);
  uv_mutex_lock(&world_lock);
}

void mproc__mpi_world_unlock(void) { uv_mutex_unlock(&world_lock); }

int mproc__mpi_err(int code, int mpi_rc, const char *what) {
  char s[MPI_MAX_ERROR_STRING + 1];
  int n = 0;
  if (MPI_Error_string(mpi_rc, s, &n) != MPI_SUCCESS) n = 0;
  s[n] = '\0';
  return mproc__err(code, "%s: %s (MPI error %d)", what,
                    n ? s : "unknown error", mpi_rc);
}

/* Phases by time since the poller last found something: probe between
 * pauses for SPIN_NS (a quick answer costs no system call; the helping
 * waiter and the workers ask for longer), then between
 * yields until YIELD_NS (a busy node runs its other ranks meanwhile),
 * then sleep, 10 us doubling to 1 ms (an idle rank costs almost nothing:
 * bench/mpi measures it). */
#define SPIN_NS 5000u
#define YIELD_NS 2000000u

void mproc__mpi_backoff(uint64_t *since) { mproc__mpi_backoff_spin(since, SPIN_NS); }

void mproc__mpi_backoff_spin(uint64_t *since, uint64_t spin_ns) {
  uint64_t now = uv_hrtime(), idle;
  struct timespec ts;
  if (*since == 0) *since = now;
  idle = now - *since;
  if (idle < spin_ns) {
    mproc__pause(16);
    return;
  }
  if (idle < YIELD_NS) {
    mproc__os_yield();
    return;
  }
  idle = (idle - YIELD_NS) / 4; /* sleep about a quarter of the idle time */
  ts.tv_sec = 0;
  ts.tv_nsec = (long)(idle < 10000 ? 10000 : idle > 1000000 ? 1000000 : idle);
  (void)nanosleep(&ts, NULL);
}

/* The world size mpiexec announced to this process, or 0. */
static int env_size(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
  size_t i;
  for (i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    const char *v = getenv(vars[i]);
    if (v && atoi(v) > 0) return atoi(v);
  }
  return 0;
}

/* Open MPI writes to its TCP sockets without MSG_NOSIGNAL: the first
 * write to a rank that died raises SIGPIPE in whichever thread wrote,
 * and its default action would end this process, the root, where the
 * executor means to go on past the dead rank. For the MPI it initializes
 * this library ignores SIGPIPE (as Python does at start-up), unless the
 * program chose a disposition already; writes then fail with EPIPE, and
 * Open MPI reports the peer gone. */
static void ignore_sigpipe(void) {
  struct sigaction old;
  if (sigaction(SIGPIPE, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
      old.sa_handler == SIG_DFL) {
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    (void)sigaction(SIGPIPE, &ign, NULL);
  }
}

/* MPI_Finalize begins, in Open MPI, with a fence of every rank of the
 * job through its runtime (PMIx); a rank that died (which the executor
 * goes on past under --enable-recovery) can leave that fence waiting for
 * ever, now and then (the runtime's race, seen 2 runs in 8). The fence
 * guards messages still in flight at finalize; this library's own
 * protocol ends with STOP answered by STOPPED (mproc__mpi_stop), so no
 * message of ours is in flight, and the fence is left out for the MPI it
 * initializes: Open MPI's async_mpi_finalize, unless the environment
 * chose already (MPICH reads no such variable). */
static int init_mpi(void) {
  int provided = 0, rc;
  (void)setenv("OMPI_MCA_async_mpi_finalize", "1", 0);
  ignore_sigpipe();
  rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided);
  if (rc != MPI_SUCCESS) return mproc__mpi_err(MPROC_EOS, rc, "MPI_Init_thread");
  world.inited_by_us = 1;
  (void)MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  (void)MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
  if (provided < MPI_THREAD_MULTIPLE)
    return mproc__err(MPROC_ENOTSUP, "MPI gives thread level %d, not "
                      "MPI_THREAD_MULTIPLE: the MPI executor needs it",
                      provided);
  return 0;
}

/* A worker's whole life: serve, then leave MPI and the process. */
MPROC__NORETURN static void worker_life(MPI_Comm comm, int root, int index,
                                        int disconnect) {
  int rc = mproc__mpi_serve(comm, root, index);
  if (rc < 0)
    fprintf(stderr, "mproc: MPI worker %d: %s\n", index, mproc_last_error());
  if (disconnect) (void)MPI_Comm_disconnect(&comm);
  else (void)MPI_Comm_free(&comm);
  (void)MPI_Finalize();
  mproc__os_exit(rc < 0 ? 1 : 0);
  abort(); /* not reached */
}

/* How long the root waits for every STOPPED. */
#define STOP_WAIT_NS 5000000000u

int mproc__mpi_stop(MPI_Comm comm, const int *ranks, int n,
                    const unsigned char *skip) {
  int i, sent = 0, got = 0, rc = MPI_SUCCESS, r;
  uint64_t end, since = 0;
  for (i = 0; i < n; i++) {
    if (skip != NULL && skip[i]) continue;
    r = MPI_Send(NULL, 0, MPI_BYTE, ranks[i], MPIX_TAG_STOP, comm);
    if (r == MPI_SUCCESS) sent++;
    else if (rc == MPI_SUCCESS) rc = r;
  }
  end = uv_hrtime() + STOP_WAIT_NS;
  while (got < sent && uv_hrtime() < end) {
    MPI_Message msg;
    MPI_Status st;
    int flag = 0;
    if (MPI_Improbe(MPI_ANY_SOURCE, MPIX_TAG_STOPPED, comm, &flag, &msg,
                    &st) != MPI_SUCCESS)
      break;
    if (!flag) {
      mproc__mpi_backoff(&since);
      continue;
    }
    if (MPI_Mrecv(NULL, 0, MPI_BYTE, &msg, MPI_STATUS_IGNORE) != MPI_SUCCESS)
      break;
    got++;
    since = 0;
  }
  return rc;
}

static void at_exit(void) {
  size_t i;
  int r, n = 0, *ranks;
  mproc__mpi_world_lock();
  for (i = 0; i < nlive; i++)
    (void)mproc_executor_shutdown(live[i], MPROC_SHUTDOWN_WAIT |
                                  MPROC_SHUTDOWN_CANCEL_FUTURES);
  if (world.static_root) {
    if ((ranks = malloc((size_t)world.size * sizeof *ranks)) != NULL) {
      for (r = 1; r < world.size; r++)
        if (!atomic_load(&world.dead[r])) ranks[n++] = r;
      (void)mproc__mpi_stop(world.comm, ranks, n, NULL);
      free(ranks);
    }
    (void)MPI_Comm_free(&world.comm);
    world.static_root = 0;
  }
  if (world.inited_by_us) {
    int fin = 0;
    (void)MPI_Finalized(&fin);
    if (!fin) (void)MPI_Finalize();
    free_strands();
  }
  mproc__mpi_world_unlock();
}

int mproc__mpi_boot(int argc, char **argv) {
  int i, rc, inited = 0, rank = 0;
  for (i = 1; i < argc; i++)
    if (argv[i] && strcmp(argv[i], WORKER_ARG) == 0) {
      MPI_Comm parent = MPI_COMM_NULL;
      if ((rc = init_mpi()) < 0 ||
          MPI_Comm_get_parent(&parent) != MPI_SUCCESS ||
          parent == MPI_COMM_NULL) {
        fprintf(stderr, "mproc: %s: not started by MPI_Comm_spawn (%s)\n",
                WORKER_ARG, rc < 0 ? mproc_last_error() : "no parent");
        mproc__os_exit(2);
      }
      (void)MPI_Comm_set_errhandler(parent, MPI_ERRORS_RETURN);
      (void)MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      worker_life(parent, 0, rank, 1);
    }
  if (env_size() < 2) return 0;
  if (MPI_Initialized(&inited) != MPI_SUCCESS || inited) return 0;
  rc = init_mpi();
  if (world.inited_by_us) atexit(at_exit);
  if (rc < 0) return rc;
  (void)MPI_Comm_size(MPI_COMM_WORLD, &world.size);
  (void)MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (world.size < 2) return 0;
  if ((world.dead = calloc((size_t)world.size, sizeof *world.dead)) == NULL)
    return mproc__err(MPROC_ENOMEM, "mproc_init: no memory");
  if ((rc = MPI_Comm_dup(MPI_COMM_WORLD, &world.comm)) != MPI_SUCCESS)
    return mproc__mpi_err(MPROC_EOS, rc, "MPI_Comm_dup");
  (void)MPI_Comm_set_errhandler(world.comm, MPI_ERRORS_RETURN);
  if (rank != 0) worker_life(world.comm, 0, rank - 1, 0);
  world.static_root = 1;
  return 0;
}

/* MPROC_ENOTSUP unless MPI runs at MPI_THREAD_MULTIPLE (the root's
 * submitters and its receiver call MPI at once). */
static int need_multiple(const char *who) {
  int level = 0;
  (void)MPI_Query_thread(&level);
  if (level < MPI_THREAD_MULTIPLE)
    return mproc__err(MPROC_ENOTSUP, "%s: MPI runs at thread level %d; it "
                      "needs MPI_THREAD_MULTIPLE (MPI_Init_thread)", who,
                      level);
  return 0;
}

int mproc__mpi_ensure_init(void) {
  int inited = 0, rc;
  if (MPI_Initialized(&inited) != MPI_SUCCESS)
    return mproc__err(MPROC_EOS, "MPI_Initialized failed");
  if (!inited) {
    rc = init_mpi();
    if (world.inited_by_us) atexit(at_exit);
    return rc;
  }
  return need_multiple("MPI executor");
}

/* Under the world lock. */
static int add_live(mproc_executor *ex) {
  if (nlive == caplive) {
    size_t cap = caplive ? caplive * 2 : 4;
    mproc_executor **n = realloc(live, cap * sizeof *n);
    if (n == NULL) return mproc__err(MPROC_ENOMEM, "MPI executor: no memory");
    live = n;
    caplive = cap;
  }
  live[nlive++] = ex;
  return 0;
}

void mproc__mpi_rank_died(int world_rank) {
  if (world.dead && world_rank > 0 && world_rank < world.size)
    atomic_store(&world.dead[world_rank], 1);
}

void mproc__mpi_pool_ended(mproc_executor *ex, int is_static) {
  size_t i;
  mproc__mpi_world_lock();
  for (i = 0; i < nlive; i++)
    if (live[i] == ex) {
      live[i] = live[--nlive];
      break;
    }
  if (is_static) world.busy = 0;
  mproc__mpi_world_unlock();
}

/* ---- where workers come from ------------------------------------------------- */

static int *seq_ranks(int n, int skip) {
  int *r = malloc((size_t)(n > 0 ? n : 1) * sizeof *r), i, k = 0;
  for (i = 0; r != NULL && k < n; i++)
    if (i != skip) r[k++] = i;
  if (r == NULL) mproc__err(MPROC_ENOMEM, "MPI executor: no memory");
  return r;
}

/* The world's ranks 1.. that are alive. */
static int start_static(mproc_executor *ex) {
  int n = 0, *ranks, rc, r;
  if (world.busy)
    return mproc__err(MPROC_ESTATE, "MPI executor: another MPI executor uses "
                      "the %d ranks of this mpiexec run; free it first (one "
                      "at a time)", world.size - 1);
  if ((ranks = seq_ranks(world.size, -1)) == NULL) return MPROC_ENOMEM;
  for (r = 1; r < world.size; r++)
    if (!atomic_load(&world.dead[r]) &&
        (ex->max_workers <= 0 || n < ex->max_workers))
      ranks[n++] = r;
  if (n == 0) {
    free(ranks);
    return mproc__err(MPROC_EBROKEN, "MPI executor: every worker rank of "
                      "this mpiexec run has died");
  }
  rc = mproc__mpi_pool_start(ex, world.comm, ranks, n, 0, 0);
  free(ranks);
  if (rc == 0) world.busy = 1;
  return rc;
}

static int start_comm(mproc_executor *ex) {
  int size = 0, n, *ranks, rc;
  (void)MPI_Comm_size(comm_req.comm, &size);
  n = size - 1;
  if ((ranks = seq_ranks(n, comm_req.root)) == NULL) return MPROC_ENOMEM;
  rc = mproc__mpi_pool_start(ex, comm_req.comm, ranks, n, 1, 1);
  free(ranks);
  return rc;
}

static int start_spawned(mproc_executor *ex) {
  int n = ex->max_workers > 0 ? ex->max_workers : mproc_cpu_count();
  int rc, *ranks = NULL, *errs = NULL, i;
  char arg0[] = WORKER_ARG, *exe = NULL, *args[2];
  MPI_Comm inter = MPI_COMM_NULL;
  MPI_Info info = MPI_INFO_NULL;
  args[0] = arg0;
  args[1] = NULL;
  if ((rc = mproc__mpi_ensure_init()) < 0) return rc;
  exe = realpath(mproc__posix_exe_path(), NULL);
  errs = malloc((size_t)n * sizeof *errs);
  ranks = seq_ranks(n, -1);
  if (exe == NULL || errs == NULL || ranks == NULL) {
    rc = mproc__err(MPROC_ENOMEM, "MPI executor: cannot find this program's "
                    "path or no memory");
    goto cleanup;
  }
  (void)MPI_Info_create(&info);
  /* Open MPI: more workers than cores are fine (they back off when idle). */
  (void)MPI_Info_set(info, "map_by", ":OVERSUBSCRIBE");
  rc = MPI_Comm_spawn(exe, args, n, info, 0, MPI_COMM_SELF, &inter, errs);
  for (i = 0; rc == MPI_SUCCESS && i < n; i++)
    if (errs[i] != MPI_SUCCESS) rc = errs[i];
  if (rc != MPI_SUCCESS) {
    char why[MPI_MAX_ERROR_STRING + 64];
    (void)mproc__mpi_err(MPROC_ENOTSUP, rc, "MPI_Comm_spawn");
    snprintf(why, sizeof why, "%s", mproc_last_error());
    rc = mproc__err(MPROC_ENOTSUP, "MPI executor: this MPI library could not "
                    "start %d worker ranks from a running program (%s); run "
                    "the program under mpiexec -n N instead (static mode)",
                    n, why);
    if (inter != MPI_COMM_NULL) (void)MPI_Comm_free(&inter);
    goto cleanup;
  }
  (void)MPI_Comm_set_errhandler(inter, MPI_ERRORS_RETURN);
  rc = mproc__mpi_pool_start(ex, inter, ranks, n, 2, 1);
  if (rc < 0) (void)MPI_Comm_free(&inter);
cleanup:
  if (info != MPI_INFO_NULL) (void)MPI_Info_free(&info);
  free(exe);
  free(errs);
  free(ranks);
  return rc;
}

int mproc__mpi_executor_init(mproc_executor *ex) {
  int rc;
  if (ex->max_tasks_per_child > 0)
    return mproc__err(MPROC_ENOTSUP, "MPI executor: max_tasks_per_child "
                      "cannot apply: MPI ranks are not replaced");
  mproc__mpi_world_lock();
  if (comm_req.set) rc = start_comm(ex);
  else if (world.static_root) rc = start_static(ex);
  else rc = start_spawned(ex);
  if (rc == 0 && (rc = add_live(ex)) < 0) {
    /* Cannot track it for the exit: stop it now. */
    mproc__mpi_world_unlock();
    (void)ex->ops->shutdown(ex, MPROC_SHUTDOWN_WAIT);
    ex->ops->destroy(ex);
    return rc;
  }
  mproc__mpi_world_unlock();
  return rc;
}

/* ---- the public calls (mproc/mpi.h) ------------------------------------------- */

int mproc_mpi_static_workers(void) {
  int n;
  mproc__mpi_world_lock();
  n = world.static_root ? world.size - 1 : 0;
  mproc__mpi_world_unlock();
  return n;
}

static int check_comm(MPI_Comm comm, int root, int *rank, int *size) {
  int inited = 0, inter = 0;
  if (MPI_Initialized(&inited) != MPI_SUCCESS || !inited)
    return mproc__err(MPROC_ESTATE, "mpi_comm_executor: MPI is not "
                      "initialized (call MPI_Init_thread first)");
  if (comm == MPI_COMM_NULL)
    return mproc__err(MPROC_EINVAL, "mpi_comm_executor: comm is "
                      "MPI_COMM_NULL");
  if (MPI_Comm_test_inter(comm, &inter) != MPI_SUCCESS || inter)
    return mproc__err(MPROC_EINVAL, "mpi_comm_executor: comm must be an "
                      "intracommunicator");
  (void)MPI_Comm_size(comm, size);
  (void)MPI_Comm_rank(comm, rank);
  if (root < 0 || root >= *size)
    return mproc__err(MPROC_EINVAL, "mpi_comm_executor: root %d is not a "
                      "rank of the %d-rank communicator", root, *size);
  if (*size < 2)
    return mproc__err(MPROC_EINVAL, "mpi_comm_executor: the communicator "
                      "has one rank: no worker would be left");
  return need_multiple("mpi_comm_executor");
}

int mproc_mpi_comm_executor(mproc_executor **out, MPI_Comm comm, int root,
                            const mproc_executor_opts *opts) {
  MPI_Comm dup = MPI_COMM_NULL;
  int rank = 0, size = 0, rc, r;
  if (out == NULL)
    return mproc__err(MPROC_EINVAL, "mpi_comm_executor: out is NULL");
  *out = NULL;
  if ((rc = check_comm(comm, root, &rank, &size)) < 0) return rc;
  if ((rc = MPI_Comm_dup(comm, &dup)) != MPI_SUCCESS)
    return mproc__mpi_err(MPROC_EOS, rc, "mpi_comm_executor: MPI_Comm_dup");
  (void)MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
  if (rank != root) {
    rc = mproc__mpi_serve(dup, root, rank < root ? rank : rank - 1);
    (void)MPI_Comm_free(&dup);
    return rc < 0 ? rc : 0;
  }
  comm_req.set = 1;
  comm_req.root = root;
  comm_req.comm = dup;
  rc = mproc_executor_new(out, MPROC_EXECUTOR_MPI, opts);
  comm_req.set = 0;
  if (rc < 0) {
    /* The other ranks serve already: release them. */
    char why[512];
    int *ranks = malloc((size_t)size * sizeof *ranks), n = 0;
    snprintf(why, sizeof why, "%s", mproc_last_error());
    for (r = 0; ranks != NULL && r < size; r++)
      if (r != root) ranks[n++] = r;
    if (ranks != NULL) (void)mproc__mpi_stop(dup, ranks, n, NULL);
    free(ranks);
    (void)MPI_Comm_free(&dup);
    return mproc__err(rc, "%s", why);
  }
  return 0;
}
