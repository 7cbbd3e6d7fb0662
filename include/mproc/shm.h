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
 * Lifetime: each segment counts the processes of the program that hold
 * it. The holder that closes it last removes its name (so a segment still
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
 * Thread-safety: safe. Ownership: close with mproc_shm_close().
 */
MPROC_EXTERN int mproc_shm_new(mproc_shm **out, size_t size,
                               const mproc_shm_opts *opts);

/**
 * Open an existing segment by name.
 * Errors: MPROC_EINVAL, MPROC_ENAMETOOLONG, MPROC_ENOENT (no such segment,
 * or it was removed), MPROC_EOS.
 */
MPROC_EXTERN int mproc_shm_open(mproc_shm **out, const char *name);

/** The mapped memory (page-aligned), valid until close. */
MPROC_EXTERN void *mproc_shm_buf(const mproc_shm *shm);
/** Its size in bytes (whole pages). */
MPROC_EXTERN size_t mproc_shm_size(const mproc_shm *shm);
/** Its name (pass it to another process to open it). */
MPROC_EXTERN const char *mproc_shm_name(const mproc_shm *shm);

/**
 * Remove the name now: later opens fail with MPROC_ENOENT; processes that
 * have it open keep using it. On Windows the name lives as long as a
 * handle does (the kernel counts them), so there unlink only stops this
 * library's own opens. Unlinking twice is harmless.
 */
MPROC_EXTERN int mproc_shm_unlink(mproc_shm *shm);

/**
 * Unmap and release this process's hold; the last holder removes the name
 * (unless no_track). NULL is a no-op. Returns 0 or MPROC_EOS.
 * Ownership: `shm` is freed; pointers into the buffer become invalid.
 */
MPROC_EXTERN int mproc_shm_close(mproc_shm *shm);

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
/** The items: zero-copy access to the shared memory. */
MPROC_EXTERN void *mproc_array_ptr(const mproc_array *a);
/** The number of elements. */
MPROC_EXTERN size_t mproc_array_len(const mproc_array *a);
/** The typecode the array was made with ('b', 'i', 'd', ...). */
MPROC_EXTERN char mproc_array_typecode(const mproc_array *a);
/** The array's name, for mproc_array_open. Owned by the array. */
MPROC_EXTERN const char *mproc_array_name(const mproc_array *a);
/** The lock (borrowed, valid until the array is freed); NULL when raw. */
MPROC_EXTERN mproc_rlock *mproc_array_get_lock(mproc_array *a);
/** Release this process's hold (see mproc_shm_close). NULL is a no-op. */
MPROC_EXTERN void mproc_array_free(mproc_array *a);

/** Value(typecode, init): an array of one item. */
#define mproc_value_new(out, typecode, init, opts)                             \
  mproc_array_new((out), (typecode), 1, (init), (opts))

#ifdef __cplusplus
}
#endif
#endif
