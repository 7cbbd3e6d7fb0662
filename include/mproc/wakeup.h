/** mproc: the wake-up object — one OS handle that any thread (and, on
 * POSIX, a signal handler) can make ready, and that poll(2),
 * WaitForMultipleObjects, a libuv loop and the library's own handle waits
 * (mproc_wait_handles, mproc_conn_wait) can wait on. It is the way to wake
 * a thread blocked on sentinels and connections, and the completion handle
 * an event loop watches for a pool or an executor.
 *
 *   mproc_wakeup *w;
 *   mproc_wakeup_new(&w);
 *   // waiter: sentinels, connections and the wake-up in one wait
 *   o[n].conn = NULL; o[n].handle = mproc_wakeup_handle(w);
 *   mproc_conn_wait(o, n + 1, MPROC_FOREVER);
 *   if (o[n].ready) { mproc_wakeup_clear(w); ...look at your own state... }
 *   // any other thread, or a signal handler:
 *   mproc_wakeup_signal(w);
 *
 * Semantics: a flag with a handle. signal sets it (the handle becomes
 * readable / signalled); it stays set — every wait, by any number of
 * threads, sees it ready — until clear. Many signals before a clear
 * coalesce into one ready state (one system call: later signals only see
 * the flag set), so a producer may signal once per item. clear resets it
 * and says whether it was set. The consumer's loop is therefore: wait;
 * clear; then collect everything its own state holds (a queue of
 * completions). A signal that begins after clear returned is never lost;
 * one that runs while clear runs may be consumed by it, which is why the
 * consumer collects after clearing.
 *
 * Why not auto-reset: a wait that checks readiness after the OS wake-up
 * (mproc_wait_handles on Windows tests each handle) would consume the
 * signal it reports; two waiters would race for one signal; and libuv's
 * uv_poll is level-triggered. With an explicit clear, who consumes is
 * the caller's decision.
 *
 * The handle: an eventfd on Linux, the read end of a non-blocking pipe on
 * other POSIX systems (readable while set; watch it with uv_poll_init and
 * UV_READABLE), a manual-reset Event on Windows (signalled while set;
 * wait on it, or RegisterWaitForSingleObject and uv_async_send to reach a
 * libuv loop: libuv polls only sockets on Windows). Do not read, write,
 * reset or close the handle yourself: use clear and free. The object
 * belongs to the process that made it: it is not passed to children (a
 * fork child's copy of the descriptors is the same kernel object; do not
 * use it there).
 *
 * @file
 */
#ifndef MPROC_WAKEUP_H
#define MPROC_WAKEUP_H

#include "mproc/export.h"
#include "mproc/process.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_wakeup mproc_wakeup;

/**
 * Make a wake-up object, not set. Its handle is not inherited by children.
 * Errors: MPROC_EINVAL (out NULL), MPROC_ENOMEM, MPROC_EOS (out of
 * descriptors / handles).
 * Thread-safety: safe. Ownership: free it with mproc_wakeup_free().
 */
MPROC_EXTERN int mproc_wakeup_new(mproc_wakeup **out);

/**
 * Set the object: its handle becomes ready and stays so until
 * mproc_wakeup_clear(). Setting a set object does nothing (no system
 * call). Never blocks.
 * Errors: MPROC_EINVAL (w NULL), MPROC_EOS (the OS refused the write:
 * the handle was closed behind the library's back), MPROC_ECLOSED (after
 * mproc_wakeup_close). It sets no
 * mproc_last_error() sentence, since it may run in a signal handler,
 * where formatting one is not safe: the code says it all.
 * Thread-safety: safe from any thread at any time, concurrently with
 * clear and waits; async-signal-safe on POSIX (an atomic exchange and
 * write(2); errno is preserved), so a SIGINT handler may call it. Not
 * while another thread frees w.
 */
MPROC_EXTERN int mproc_wakeup_signal(mproc_wakeup *w);

/**
 * Reset the object (drain its handle), so waits block on it again.
 * Returns 1 if it was set, 0 if not, or a negative code. Never blocks.
 * Errors: MPROC_EINVAL (w NULL), MPROC_ECLOSED.
 * Thread-safety: safe with signal and with waits in other threads; two
 * threads clearing at once both succeed (one of them, or both, may get
 * the 1). Not from a signal handler.
 */
MPROC_EXTERN int mproc_wakeup_clear(mproc_wakeup *w);

/**
 * The OS handle to wait on (see the top of this header), valid until
 * free; MPROC_NO_HANDLE if w is NULL. Pass it to mproc_wait_handles,
 * mproc_conn_wait (an mproc_wait_obj with conn NULL), poll, uv_poll or
 * WaitForMultipleObjects.
 * Thread-safety: safe. Ownership: the object keeps it; never close it.
 */
MPROC_EXTERN mproc_handle mproc_wakeup_handle(const mproc_wakeup *w);

/**
 * End the object's use: it becomes set for good, so every thread waiting
 * on its handle wakes; later signal and clear return MPROC_ECLOSED and
 * mproc_wakeup_handle gives MPROC_NO_HANDLE. The handle itself stays
 * valid (and ready) until mproc_wakeup_free, so a wait that still lists
 * it is safe. Closing twice is harmless.
 * Errors: MPROC_EINVAL (w NULL).
 * Thread-safety: any thread, also while others wait on the handle (the
 * way to end their waits before a free). Not from a signal handler.
 * Ownership: the object is still the caller's, to free.
 */
MPROC_EXTERN int mproc_wakeup_close(mproc_wakeup *w);

/**
 * Release the object and its handle, closed or not. NULL is a no-op.
 * Thread-safety: no thread may be signalling, clearing or waiting on it
 * meanwhile (a wait would report the closed handle as MPROC_EINVAL, or
 * wait on whatever reuses its number): close it, let the waiters leave,
 * then free. Ownership: w is invalid afterwards.
 */
MPROC_EXTERN void mproc_wakeup_free(mproc_wakeup *w);

#ifdef __cplusplus
}
#endif
#endif
