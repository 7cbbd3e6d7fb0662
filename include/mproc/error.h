/** mproc: the error model.
 *
 * Every public function that can fail returns 0 (or a non-negative count)
 * on success and a negative MPROC_E* code on failure. The code says what
 * kind of failure; mproc_last_error() says what exactly happened, in a
 * sentence (which name was too long, which system call failed and why).
 * Operating system error numbers never escape: the backends translate them.
 * @file
 */
#ifndef MPROC_ERROR_H
#define MPROC_ERROR_H

#include "mproc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The one table: X(NAME, value, description). */
#define MPROC_ERROR_TABLE(X)                                                   \
  X(EINVAL, -1, "invalid argument")                                           \
  X(ENOMEM, -2, "out of memory")                                              \
  X(ESTATE, -3, "operation not valid in the object's current state")          \
  X(ETIMEDOUT, -4, "timed out")                                               \
  X(ECLOSED, -5, "object is closed")                                          \
  X(ENOTREG, -6, "function is not registered with MPROC_TASK")                \
  X(EOS, -7, "operating system call failed")                                  \
  X(EBOOTSTRAP, -8, "child process failed to bootstrap")                      \
  X(EPERM, -9, "operation not permitted")                                     \
  X(ENAMETOOLONG, -10, "name too long")                                       \
  X(EEXIST, -11, "object already exists")                                     \
  X(ENOENT, -12, "no such object")                                            \
  X(ENOTSUP, -13, "not supported on this platform")                           \
  X(ERANGE, -14, "value out of range")                                        \
  X(ENOTINIT, -15, "mproc_init() was not called")                             \
  X(EAGAIN, -16, "resource temporarily unavailable")                          \
  X(EOWNERDEAD, -17, "previous owner died holding the lock")                  \
  X(EEOF, -18, "end of file: the peer closed or died")                        \
  X(EFULL, -19, "full")                                                       \
  X(EEMPTY, -20, "empty")                                                     \
  X(EBUFSIZE, -21, "buffer too small")                                        \
  X(EWORKERDIED, -22, "worker process died")                                  \
  X(EBROKEN, -23, "broken (barrier reset, worker died, initializer failed)")  \
  X(EINTR, -24, "interrupted by mproc_interrupt()")                           \
  X(ETASK, -25, "the task failed")                                            \
  X(ECANCELLED, -26, "the future was cancelled")                             \
  X(EAUTH, -27, "authentication failed")

/** The error codes, all negative. */
typedef enum mproc_error {
  MPROC_OK = 0,
#define MPROC__ERR_ENUM(name, value, text) MPROC_##name = (value),
  MPROC_ERROR_TABLE(MPROC__ERR_ENUM)
#undef MPROC__ERR_ENUM
} mproc_error;

/**
 * A short static description of `code` ("timed out"); "unknown error" for a
 * value that is not a code, "success" for 0 or a positive value.
 * Thread-safety: safe. Ownership: static storage, do not free.
 */
MPROC_EXTERN const char *mproc_strerror(int code);

/**
 * The code's symbolic name ("MPROC_ETIMEDOUT"); "MPROC_UNKNOWN" otherwise.
 * Thread-safety: safe. Ownership: static storage, do not free.
 */
MPROC_EXTERN const char *mproc_err_name(int code);

/**
 * The detail sentence of the last failure in the calling thread, e.g.
 * "process name is 300 bytes; the limit is 255". Empty when no call in this
 * thread has failed yet. A later failing call replaces it; successful calls
 * leave it alone.
 * Thread-safety: thread-local. Ownership: valid until the next mproc call
 * in the same thread; copy it to keep it.
 */
MPROC_EXTERN const char *mproc_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
