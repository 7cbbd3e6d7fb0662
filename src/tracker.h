/* mproc: the resource tracker's client calls (src/tracker.c), and the
 * sweeps it runs once the program has ended (implemented with the
 * objects: shm.c, registry.c). */
#ifndef MPROC_TRACKER_H
#define MPROC_TRACKER_H

#include <stdint.h>

/** Tell the program's resource tracker that `name` was created (tracked
 *  1), so that it sweeps it once the program has ended, or removed
 *  (tracked 0), so that it forgets it. Starts the tracker if this process
 *  has none yet (an object made before mproc_init), and restarts one that
 *  cannot be reached; returns 0, or the code of that failure (the object
 *  is then not tracked: the caller fails its create). Always 0 where the
 *  backend has no helper process (the kernel counts holders). Thread-
 *  safety: safe from any thread. */
int mproc__track(const char *name, int tracked);

/** The same for a file in a private folder of the program (a manager's
 *  generated AF_UNIX path, "<folder>/manager"): once the program has
 *  ended the tracker removes the file, then the folder if that leaves it
 *  empty. `path` is absolute, under MPROC_ADDRESS_MAX bytes (longer:
 *  MPROC_EINVAL). Returns as mproc__track. */
int mproc__track_file(const char *path, int tracked);

/** Remove the file `path`, then its folder if that leaves it empty (what
 *  the tracker does to a tracked file; a manager's parent too, for a
 *  killed server's). */
void mproc__remove_file_and_folder(const char *path);

/** Make sure a tracker runs for this program: 0, or why not. */
int mproc__tracker_ensure(void);

/** Check-and-remove what only dead processes held: the tracker calls it
 *  for each name it was told of. Returns 1 once gone; *kind is then the
 *  object's kind (object.h) if this call removed it, 0 if it was gone
 *  already. */
int mproc__shm_sweep(const char *name, uint32_t *kind);
/** The same for every segment of the program's registry: removes what no
 *  live process holds (*removed: how many); returns how many live
 *  processes still hold. */
int mproc__shm_sweep_registry(int *removed);

#endif
