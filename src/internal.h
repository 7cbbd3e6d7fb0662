/* mproc: internals shared by the common layer and the backends. */
#ifndef MPROC_INTERNAL_H
#define MPROC_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "mproc.h"

/* CMake sets MPROC_PRINTF_FORMAT to gnu_printf for MinGW, whose C99
 * printf (__USE_MINGW_ANSI_STDIO) is the one the library calls. */
#ifndef MPROC_PRINTF_FORMAT
#define MPROC_PRINTF_FORMAT printf
#endif
#if defined(__GNUC__) || defined(__clang__)
#define MPROC__PRINTF(f, a) __attribute__((format(MPROC_PRINTF_FORMAT, f, a)))
#define MPROC__NORETURN __attribute__((noreturn))
#else
#define MPROC__PRINTF(f, a)
#define MPROC__NORETURN
#endif

/** Set the calling thread's last-error sentence and return `code`. */
int mproc__err(int code, const char *fmt, ...) MPROC__PRINTF(2, 3);
int mproc__verr(int code, const char *fmt, va_list ap) MPROC__PRINTF(2, 0);

/** Turn a public timeout into the backend's form: NaN -> MPROC_EINVAL,
 *  negative -> 0, >= 1e18 -> MPROC__INF. */
int mproc__timeout(double timeout, double *out);
/* Copy a caller's option struct (its first member is `size_t size`, set by
 * MPROC_X_OPTS_INIT) into dst (dst_size bytes; zeroed first, so members
 * the caller's older struct lacks keep their zero defaults) and set
 * dst's size. src NULL: all defaults. Errors: MPROC_EINVAL (size 0 or
 * smaller than the first version: the struct was not initialised with
 * `init`), MPROC_ENOTSUP (a larger struct from a newer mproc whose extra
 * members are set). `what` names the caller in the sentence. */
int mproc__opts_load(void *dst, size_t dst_size, const void *src,
                     const char *what, const char *init);

/** Monotonic clock in seconds. */
double mproc__now(void);

/** Seconds left until `deadline` (MPROC__INF stays), clamped at 0. */
double mproc__remaining(double deadline);
/** A deadline from a backend-form timeout (MPROC__INF stays). */
double mproc__deadline(double timeout);

/** mproc__os_wait_handles that mproc_interrupt() ends: the process's
 *  interrupt wake-up object joins the set. The count of ready handles,
 *  MPROC_ETIMEDOUT, MPROC_EINTR (nothing ready; with its sentence), or
 *  another error. timeout 0 is a plain poll (never interrupted); what is
 *  ready wins over a pending interrupt. Handles are checked by the
 *  caller (mproc__check_handle). */
int mproc__wait_handles_intr(const mproc_handle *h, size_t n, double timeout,
                             unsigned char *ready);
/** Refuse what cannot be a waitable handle (MPROC_NO_HANDLE, negative
 *  values) with MPROC_EINVAL and a sentence naming index i of n and `what`
 *  (wait.c); the backend's wait refuses closed handles. */
int mproc__check_handle(mproc_handle h, size_t i, size_t n, const char *what);

/** Task registry. find: the function registered as `name` (NULL if none,
 *  or if two functions claim the name). lookup: the name of `fn` in
 *  *name; MPROC_ENOTREG (no sentence) if it has none, MPROC_EEXIST with a
 *  sentence naming both places if MPROC_TASK gave its name to two
 *  functions. clash: that MPROC_EEXIST for a name, else 0. */
mproc_fnptr mproc__task_find(const char *name);
int mproc__task_lookup(mproc_fnptr fn, const char **name);
int mproc__task_clash(const char *name);

/** The fault-injection seam (fault.c): 1 never returns; see there. */
int mproc__fault(const char *point);

/** mproc_init's MPI step (executor-mpi-boot.c; a no-op without MPI): under
 *  mpiexec, ranks other than 0 serve as workers and never return. */
int mproc__mpi_boot(int argc, char **argv);

#endif
