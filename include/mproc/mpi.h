/** mproc: the MPI kind of executor, the parts that name MPI types.
 *
 * Only in a library built with -DMPROC_WITH_MPI=ON (POSIX: Open MPI or
 * MPICH); include it after building with MPI, and compile with the MPI
 * library's flags (mpicc, or pkg-config ompi-c / mpich). The everyday
 * path needs nothing from here: under `mpiexec -n N ./prog`,
 * mproc_init(argc, argv) turns ranks 1..N-1 into workers that never
 * return, and rank 0 makes its executor with
 * mproc_executor_new(&ex, MPROC_EXECUTOR_MPI, &opts). Without mpiexec the
 * same call spawns workers (MPI_Comm_spawn) where the MPI library can.
 * See docs/mpi.md.
 *
 * @file
 */
#ifndef MPROC_MPI_H
#define MPROC_MPI_H

#include <mpi.h>

#include "mproc/export.h"
#include "mproc/futures.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * How many ranks serve as static workers (N-1 under `mpiexec -n N`, in
 * rank 0 after mproc_init); 0 when the program runs without mpiexec, with
 * one rank, or initialized MPI itself before mproc_init (then it keeps
 * its ranks: see mproc_mpi_comm_executor).
 * Errors: none. Thread-safety: safe. Ownership: none.
 */
MPROC_EXTERN int mproc_mpi_static_workers(void);

/**
 * mpi4py's MPICommExecutor: an executor whose workers are the other ranks
 * of `comm`, for a program that initialized MPI itself (with
 * MPI_Init_thread and MPI_THREAD_MULTIPLE). Collective: every rank of
 * comm calls it with the same root. At `root` it returns at once with the
 * executor in *out; at every other rank it serves tasks until the root's
 * executor is shut down, then returns 0 with *out NULL (so `if (ex)`
 * guards the root's work, as `if executor is not None` does in Python).
 * Tasks are found by registered name (MPROC_TASK) in the serving ranks.
 * Errors: MPROC_EINVAL (out NULL, comm MPI_COMM_NULL or an
 * intercommunicator, root out of range, a one-rank comm, bad opts),
 * MPROC_ESTATE (MPI not initialized), MPROC_ENOTSUP (MPI below
 * MPI_THREAD_MULTIPLE), MPROC_ENOTREG (an unregistered initializer),
 * MPROC_EOS (an MPI call failed; the sentence has MPI's words),
 * MPROC_ENOMEM. On an error at the root the other ranks are released
 * (they return 0 with *out NULL).
 * Thread-safety: one call per communicator at a time, as any collective.
 * Ownership: comm stays the caller's (the executor uses a duplicate);
 * free *out with mproc_executor_free() before MPI_Finalize.
 */
MPROC_EXTERN int mproc_mpi_comm_executor(mproc_executor **out, MPI_Comm comm,
                                         int root,
                                         const mproc_executor_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
