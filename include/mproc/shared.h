/** mproc: what every named shared object has in common (shared memory,
 * Value/Array, and the synchronization objects).
 * @file
 */
#ifndef MPROC_SHARED_H
#define MPROC_SHARED_H

#include "mproc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest name of a shared object, in characters from [A-Za-z0-9_.-]:
 *  short enough for macOS (30 after the slash) with room for the suffix
 *  of a parking semaphore. */
#define MPROC_SHM_NAME_MAX 24

/** Options for named shared objects; zeroed (or NULL) = defaults. */
typedef struct mproc_shm_opts {
  const char *name; /**< NULL: a generated random name */
  int no_track;     /**< 1: never removed automatically (track=False) */
} mproc_shm_opts;

/** The same options for the synchronization objects. */
typedef mproc_shm_opts mproc_sync_opts;

#ifdef __cplusplus
}
#endif
#endif
