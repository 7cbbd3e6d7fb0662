/** mproc: named shared memory (multiprocessing.shared_memory.SharedMemory)
 * and typed shared values and arrays (Value, Array, RawValue, RawArray).
 *
 * A segment is created with a name (or a generated random one). A child
 * gets it in its pass list (mproc_process_opts.pass, mproc/pass.h), ready
 * to use under every start method; any process can also open it by name.
 * Names are short enough for macOS: at most MPROC_SHM_NAME_MAX characters
 * from [A-Za-z0-9_.-]. Segments are created exclusively, readable and
 * writable by the owner only, and sized in whole pages.
 *
 * Lifecycle verbs (as for every mproc type): mproc_shm_close ends this
 * handle's use (Python's close(): its hold goes; later calls on it give
 * MPROC_ECLOSED, the buffer pointer goes NULL), mproc_shm_unlink removes
 * the name (also after close, as Python's close() then unlink()), and
 * mproc_shm_free releases the handle and its mapping (closing first).
 *
 * Lifetime: each segment counts the handles of the program that hold it
 * (two opens in one process are two holds). The holder that closes it
 * last removes its name (so a segment still
 * used by another process of the program is never removed under it); a
 * process killed with SIGKILL stops counting as a holder, and the resource
 * tracker (which lives as long as the program; see docs/shm-sync.md)
 * removes what only dead processes held. `no_track` opts a segment out of
 * both: it then stays until mproc_shm_unlink (Python 3.13's track=False).
 * A process of another program may open a segment by name and use it, but
 * is not counted; nor is anyone beyond the program's registry limit (3072
 * live segments), where a segment's creator alone decides. Objects of the
 * other kinds (Value, Lock, ...) count holders across programs.
 * @file
 */
#ifndef MPROC_SHM_H
#define MPROC_SHM_H

#include <stddef.h>

#include "mproc/export.h"
#include "mproc/shared.h"
#include "mproc/sync.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_shm mproc_shm;

/**
 * Create a segment of at least `size` bytes (rounded up to whole pages),
 * zero-filled.
 * Errors: MPROC_EINVAL (out NULL, size 0, bad characters in the name),
 * MPROC_ERANGE (size too large for this machine), MPROC_ENAMETOOLONG,
 * MPROC_EEXIST (the name is taken), MPROC_ENOMEM, MPROC_EOS.
 * Thread-safety: safe. Ownership: free with mproc_shm_free().
 */
MPROC_EXTERN int mproc_shm_new(mproc_shm **out, size_t size,
                               const mproc_shm_opts *opts);

/**
 * Open an existing segment by name: a handle with a hold of its own (a
 * second open in the same process is a second hold).
 * Errors: MPROC_EINVAL, MPROC_ENAMETOOLONG, MPROC_ENOENT (no such segment,
 * or it was removed), MPROC_EOS.
 * Thread-safety: safe. Ownership: free with mproc_shm_free().
 */
MPROC_EXTERN int mproc_shm_open(mproc_shm **out, const char *name);

/** The mapped memory (page-aligned); NULL once the handle is closed (or
 *  shm is NULL). Pointers into it stay valid until mproc_shm_free. */
MPROC_EXTERN void *mproc_shm_buf(const mproc_shm *shm);
/** Its size in bytes (whole pages). */
MPROC_EXTERN size_t mproc_shm_size(const mproc_shm *shm);
/** Its name (pass it to another process to open it). */
MPROC_EXTERN const char *mproc_shm_name(const mproc_shm *shm);

/**
 * Remove the name now: later opens fail with MPROC_ENOENT; processes that
 * have it open keep using it. On Windows the name lives as long as a
 * handle does (the kernel counts them), so there unlink only stops this
 * library's own opens. Unlinking twice is harmless, and unlinking a closed
 * (not yet freed) handle works, as Python's close() then unlink().
 * Errors: MPROC_EINVAL (NULL).
 * Thread-safety: safe. Ownership: none.
 */
MPROC_EXTERN int mproc_shm_unlink(mproc_shm *shm);

/**
 * End this handle's use (Python's close()): its hold is released, so the
 * last holder's close removes the name (unless no_track); later calls on
 * the handle give MPROC_ECLOSED and mproc_shm_buf gives NULL. Other
 * handles, here and in other processes, are unaffected. The mapping stays
 * until mproc_shm_free, so pointers taken before still read valid memory.
 * Closing twice is harmless.
 * Errors: MPROC_EINVAL (NULL).
 * Thread-safety: safe. Ownership: the handle is still the caller's, to
 * free.
 */
MPROC_EXTERN int mproc_shm_close(mproc_shm *shm);

/**
 * Close the handle if it is open, unmap it and free it. NULL is a no-op.
 * Thread-safety: no other call on this handle may run meanwhile.
 * Ownership: `shm` is freed; pointers into the buffer become invalid.
 */
MPROC_EXTERN void mproc_shm_free(mproc_shm *shm);

/* ---- Value and Array ---------------------------------------------------- */

/**
 * Python's typecodes: 'b' int8, 'B' uint8, 'h' int16, 'H' uint16, 'i'
 * int32, 'I' uint32, 'l' long, 'L' unsigned long, 'q' int64, 'Q' uint64,
 * 'f' float, 'd' double, and 'c' for raw bytes (char).
 * Returns the item size, or 0 for an unknown typecode.
 */
MPROC_EXTERN size_t mproc_typecode_size(char typecode);

/** Options for Value/Array (NULL: defaults); start from
 *  MPROC_VALUE_OPTS_INIT. */
typedef struct mproc_value_opts {
  size_t size;      /**< sizeof(mproc_value_opts), set by the initialiser */
  const char *name; /**< NULL: generated */
  int no_track;     /**< as mproc_shm_opts */
  int raw;          /**< 1: RawValue/RawArray, no lock */
} mproc_value_opts;

/** The defaults of mproc_value_opts. */
#define MPROC_VALUE_OPTS_INIT { sizeof(mproc_value_opts), NULL, 0, 0 }

typedef struct mproc_array mproc_array;

/**
 * A shared array of `n` items of `typecode` (a Value is an array of 1),
 * initialised from `init` (n items) or zeroed when `init` is NULL. Unless
 * opts->raw, it carries a recursive lock (Python's default RLock).
 * Errors: MPROC_EINVAL (bad typecode, n == 0), MPROC_ERANGE (too large),
 * and those of mproc_shm_new.
 * Ownership: free with mproc_array_free().
 */
MPROC_EXTERN int mproc_array_new(mproc_array **out, char typecode, size_t n,
                                 const void *init,
                                 const mproc_value_opts *opts);
/** Open by name. Errors as mproc_shm_open, MPROC_EINVAL if the name is a
 *  shared object of another kind. */
MPROC_EXTERN int mproc_array_open(mproc_array **out, const char *name);
/** The items: zero-copy access to the shared memory; NULL once the
 *  handle is closed. Pointers stay valid until mproc_array_free. */
MPROC_EXTERN void *mproc_array_ptr(const mproc_array *a);
/** The number of elements. */
MPROC_EXTERN size_t mproc_array_len(const mproc_array *a);
/** The typecode the array was made with ('b', 'i', 'd', ...). */
MPROC_EXTERN char mproc_array_typecode(const mproc_array *a);
/** The array's name, for mproc_array_open. Owned by the array. */
MPROC_EXTERN const char *mproc_array_name(const mproc_array *a);
/**
 * The array's lock (Python's get_lock()): a new RLock handle the caller
 * owns, with a hold of its own on the array, so the array and the lock
 * are freed in any order. Every handle from get_lock (also another
 * process's) is the same recursive lock.
 * Errors: MPROC_EINVAL (a or out NULL; a raw array has no lock),
 * MPROC_ECLOSED, and those of mproc_array_open.
 * Thread-safety: safe. Ownership: free *out with mproc_rlock_free().
 */
MPROC_EXTERN int mproc_array_get_lock(mproc_array *a, mproc_rlock **out);
/**
 * End this handle's use: its hold is released (the last holder removes
 * the name), later calls on it give MPROC_ECLOSED (mproc_array_ptr NULL);
 * lock handles taken from it are unaffected. Closing twice is harmless.
 * Errors: MPROC_EINVAL (NULL). Thread-safety: safe.
 * Ownership: the handle is still the caller's, to free.
 */
MPROC_EXTERN int mproc_array_close(mproc_array *a);
/** Close if open, unmap and free the handle. NULL is a no-op.
 *  Thread-safety: no other call on this handle may run meanwhile.
 *  Ownership: a is invalid afterwards. */
MPROC_EXTERN void mproc_array_free(mproc_array *a);

/** Value(typecode, init): an array of one item. */
#define mproc_value_new(out, typecode, init, opts)                             \
  mproc_array_new((out), (typecode), 1, (init), (opts))

#ifdef __cplusplus
}
#endif
#endif
