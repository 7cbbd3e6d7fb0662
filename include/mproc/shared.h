/** mproc: what every named shared object has in common (shared memory,
 * Value/Array, and the synchronization objects).
 * @file
 */
#ifndef MPROC_SHARED_H
#define MPROC_SHARED_H

#include <stddef.h>

#include "mproc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest name of a shared object, in characters from [A-Za-z0-9_.-]:
 *  short enough for macOS (30 after the slash) with room for the suffix
 *  of a parking semaphore. */
#define MPROC_SHM_NAME_MAX 24

/** Options for named shared objects (NULL: defaults). Start from
 *  MPROC_SHM_OPTS_INIT: it sets `size`, so members can be added later
 *  without breaking callers. */
typedef struct mproc_shm_opts {
  size_t size;      /**< sizeof(mproc_shm_opts), set by the initialiser */
  const char *name; /**< NULL: a generated random name */
  int no_track;     /**< 1: never removed automatically (track=False) */
} mproc_shm_opts;

/** The defaults of mproc_shm_opts. */
#define MPROC_SHM_OPTS_INIT { sizeof(mproc_shm_opts), NULL, 0 }

/** The same options for the synchronization objects. */
typedef mproc_shm_opts mproc_sync_opts;
/** The defaults of mproc_sync_opts. */
#define MPROC_SYNC_OPTS_INIT MPROC_SHM_OPTS_INIT

#ifdef __cplusplus
}
#endif
#endif
