/* mproc: the MPI kind when the library is built without MPI (the
 * default, and always on Windows): the kind exists and says why it
 * cannot run. CMake builds this file instead of executor-mpi*.c. */
#include "futures-internal.h"

static int none_init(mproc_executor *ex) {
  (void)ex;
  return mproc__err(MPROC_ENOTSUP, "executor_new: this mproc was built "
                    "without MPI; configure it with -DMPROC_WITH_MPI=ON (Open "
                    "MPI or MPICH, POSIX only) for MPROC_EXECUTOR_MPI");
}

int mproc__mpi_boot(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return 0;
}

/* Never reached: init fails first. */
static int none_enqueue(mproc_executor *ex, mproc_future *const *fs, size_t n) {
  (void)ex;
  (void)fs;
  (void)n;
  return MPROC_ENOTSUP;
}
static int none_shutdown(mproc_executor *ex, int flags) {
  (void)ex;
  (void)flags;
  return 0;
}
static void none_destroy(mproc_executor *ex) { (void)ex; }

const mproc__executor_ops mproc__executor_mpi_ops = {
    "MPI", none_init, none_enqueue, none_shutdown, none_destroy, NULL, NULL,
    NULL, NULL};
