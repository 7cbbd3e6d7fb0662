/** mproc: releasing what the library allocates for the caller.
 *
 * Every buffer an mproc call allocates and hands over — a message from
 * mproc_queue_get_alloc() or mproc_conn_recv_alloc(), a result from
 * mproc_future_take(), a name or list the library returns for keeps — is
 * released with mproc_free(), never with free(): on Windows the library
 * (a DLL) and the program may use different C runtimes, each with a heap
 * of its own.
 * @file
 */
#ifndef MPROC_ALLOC_H
#define MPROC_ALLOC_H

#include "mproc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Release a buffer the library allocated and handed over (for example by
 * mproc_queue_get_alloc(), mproc_conn_recv_alloc() or
 * mproc_future_take()). NULL is a no-op.
 * Thread-safety: safe. Ownership: p is gone afterwards.
 */
MPROC_EXTERN void mproc_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
