/** mproc: process-shared synchronization — Lock, RLock, Semaphore,
 * BoundedSemaphore, Condition, Event and Barrier, as in multiprocessing.
 *
 * Every object lives in named shared memory: make it with _new (a name of
 * your choice or a generated one) and give it to a child in its pass list
 * (mproc_process_opts.pass, mproc/pass.h): the child takes it with
 * mproc_inherited(), ready to use under every start method, and holds it
 * from the start on, so the parent may free its handle at once. _open by
 * name is for processes that are not its children.
 *
 * Waits spin briefly, then sleep in the kernel (futex on Linux,
 * os_sync_wait_on_address / __ulock on macOS, a named semaphore on Windows
 * and in the generic POSIX fallback). Timeouts are seconds: MPROC_FOREVER
 * blocks, 0 polls, a negative value means 0; expiry returns
 * MPROC_ETIMEDOUT.
 *
 * Interrupting: mproc_interrupt() (async-signal-safe) makes every blocking
 * wait of this process return MPROC_EINTR — for a program whose own SIGINT
 * handler (or Windows console handler) wants Ctrl-C to end waits cleanly.
 * Polls (timeout 0) and acquires that need not wait are not interrupted.
 *
 * Owner death: a process that dies holding a Lock or RLock never deadlocks
 * the others. The next acquirer gets the lock with MPROC_EOWNERDEAD: it
 * holds it, and the state the lock protects may be half-updated; repair it
 * and go on. A process killed while waiting leaves Semaphore counts,
 * Condition waiters and Barrier state correct.
 *
 * Lifecycle verbs, the same on every type: _close ends this handle's use
 * (later calls on it return MPROC_ECLOSED; threads of this process blocked
 * in a wait on it — acquire, wait — are woken and return MPROC_ECLOSED;
 * its hold is released, and the last holder removes the name; other
 * handles, here and in other processes, are unaffected; closing twice is
 * harmless). _free releases the handle's memory and OS resources, closing
 * it first if it is open (NULL: a no-op). Each handle holds the object on
 * its own: two opens in one process are two holds, and freeing one leaves
 * the other working. Closing does not release a lock held through the
 * handle: the lock stays held for the others, as when its owner leaves.
 *
 * Thread-safety: every function may be called from any thread of any
 * process holding the object, _close too (it is how to end another
 * thread's wait), except _free, which must not race with any other call
 * on the handle: close, join the waiting threads, then free.
 * Ownership: _new/_open give a handle the caller frees with _free.
 * @file
 */
#ifndef MPROC_SYNC_H
#define MPROC_SYNC_H

#include <stddef.h>

#include "mproc/export.h"
#include "mproc/shared.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_lock mproc_lock;
typedef struct mproc_rlock mproc_rlock;
typedef struct mproc_sem mproc_sem;
typedef struct mproc_cond mproc_cond;
typedef struct mproc_event mproc_event;
typedef struct mproc_barrier mproc_barrier;

/* ---- Lock ---------------------------------------------------------------- */

/** A non-recursive lock. Errors: those of mproc_shm_new. */
MPROC_EXTERN int mproc_lock_new(mproc_lock **out, const mproc_sync_opts *opts);
/** Open by name. Errors: those of mproc_shm_open; MPROC_EINVAL if the name
 *  is another kind of object. */
MPROC_EXTERN int mproc_lock_open(mproc_lock **out, const char *name);
/**
 * Acquire, waiting up to `timeout` (0: try once). Returns 0,
 * MPROC_ETIMEDOUT, or MPROC_EOWNERDEAD (acquired; the previous owner died
 * holding it). Acquiring a Lock the caller holds waits (it is not
 * recursive), as in Python.
 * Errors: MPROC_EINVAL (NULL, a NaN timeout — also when the lock is
 * free), MPROC_EINTR (mproc_interrupt() during the wait; not acquired).
 */
MPROC_EXTERN int mproc_lock_acquire(mproc_lock *l, double timeout);
/** 1 if any process or thread holds the lock, 0 if it is free (a
 *  snapshot: Python 3.14's Lock.locked()). A lock whose owner died counts
 *  as held until the next acquire takes it over.
 *  Errors: MPROC_EINVAL if l is NULL.
 *  Thread-safety: any thread. Ownership: none. */
MPROC_EXTERN int mproc_lock_locked(const mproc_lock *l);
/** Release; any process or thread may release, as in Python.
 *  Errors: MPROC_ESTATE if it is not held. */
MPROC_EXTERN int mproc_lock_release(mproc_lock *l);
/** The lock's name, for mproc_lock_open. Owned by the lock. */
MPROC_EXTERN const char *mproc_lock_name(const mproc_lock *l);
/** End this handle's use (see the top): blocked acquires on it return
 *  MPROC_ECLOSED, later calls too. Errors: MPROC_EINVAL (NULL).
 *  Thread-safety: any thread, also while others wait on it.
 *  Ownership: the handle is still the caller's, to free. */
MPROC_EXTERN int mproc_lock_close(mproc_lock *l);
/** Close if open, and free the handle (the lock lives on while other
 *  handles hold it). NULL is a no-op. Thread-safety: no other call on l
 *  may run meanwhile. Ownership: l is invalid afterwards. */
MPROC_EXTERN void mproc_lock_free(mproc_lock *l);

/* ---- RLock --------------------------------------------------------------- */

/** A recursive lock owned by one thread of one process. */
MPROC_EXTERN int mproc_rlock_new(mproc_rlock **out,
                                 const mproc_sync_opts *opts);
/** Open an RLock by name (made by mproc_rlock_new in any process).
 *  Errors: MPROC_ENOENT, MPROC_EINVAL (a name of another kind). */
MPROC_EXTERN int mproc_rlock_open(mproc_rlock **out, const char *name);
/** As mproc_lock_acquire (MPROC_EINVAL for a NaN timeout, MPROC_EINTR);
 *  the owner may acquire again (counted). */
MPROC_EXTERN int mproc_rlock_acquire(mproc_rlock *l, double timeout);
/** Release once. Errors: MPROC_EPERM if the caller is not the owner. */
MPROC_EXTERN int mproc_rlock_release(mproc_rlock *l);
/** How many times the calling thread holds it (0 if it is not the owner). */
MPROC_EXTERN int mproc_rlock_count(const mproc_rlock *l);
/** 1 if the calling thread owns the RLock, else 0 (Python's
 *  RLock._is_owned()). Errors: MPROC_EINVAL if l is NULL.
 *  Thread-safety: any thread (the answer is about the caller).
 *  Ownership: none. */
MPROC_EXTERN int mproc_rlock_is_owned(const mproc_rlock *l);
/** 1 if any thread of any process holds the RLock, 0 if it is free (a
 *  snapshot: Python 3.14's RLock.locked()). Errors: MPROC_EINVAL if l is
 *  NULL. Thread-safety: any thread. Ownership: none. */
MPROC_EXTERN int mproc_rlock_locked(const mproc_rlock *l);
/** The RLock's name, for mproc_rlock_open. Owned by the RLock. */
MPROC_EXTERN const char *mproc_rlock_name(const mproc_rlock *l);
/** End this handle's use (see the top; as mproc_lock_close).
 *  Errors: MPROC_EINVAL (NULL). Thread-safety: any thread.
 *  Ownership: the handle is still the caller's, to free. */
MPROC_EXTERN int mproc_rlock_close(mproc_rlock *l);
/** Close if open, and free the handle; also a handle from
 *  mproc_array_get_lock (before or after its array). NULL is a no-op.
 *  Thread-safety: no other call on l may run meanwhile.
 *  Ownership: l is invalid afterwards. */
MPROC_EXTERN void mproc_rlock_free(mproc_rlock *l);

/* ---- Semaphore, BoundedSemaphore ---------------------------------------- */

/** Which semaphore mproc_sem_new makes. */
typedef enum mproc_sem_kind {
  MPROC_SEMAPHORE = 0,        /**< Semaphore(value) */
  MPROC_BOUNDED_SEMAPHORE = 1 /**< BoundedSemaphore(value): release above
                                   the initial value is an error */
} mproc_sem_kind;

/**
 * A semaphore of `kind` with initial `value`:
 * `mproc_sem_new(&s, 2, MPROC_BOUNDED_SEMAPHORE, NULL)`.
 * Errors: MPROC_EINVAL (out NULL, value < 0, kind not a mproc_sem_kind),
 * MPROC_ERANGE (value > INT32_MAX), and those of mproc_shm_new.
 * Thread-safety: safe. Ownership: free with mproc_sem_free().
 */
MPROC_EXTERN int mproc_sem_new(mproc_sem **out, long value,
                               mproc_sem_kind kind,
                               const mproc_sync_opts *opts);
/** Open a semaphore by name. Errors: MPROC_ENOENT, MPROC_EINVAL (a name
 *  of another kind). */
MPROC_EXTERN int mproc_sem_open(mproc_sem **out, const char *name);
/** Decrement, waiting up to `timeout` while the value is 0. Returns 0 or
 *  MPROC_ETIMEDOUT. Errors: MPROC_EINVAL (NULL, NaN timeout), MPROC_EINTR
 *  (mproc_interrupt() during the wait). */
MPROC_EXTERN int mproc_sem_acquire(mproc_sem *s, double timeout);
/** Increment and wake one waiter. Errors: MPROC_ERANGE when a bounded
 *  semaphore would exceed its initial value, or the value would overflow. */
MPROC_EXTERN int mproc_sem_release(mproc_sem *s);
/** The current value (a snapshot). Errors (negative): MPROC_EINVAL,
 *  MPROC_ECLOSED. */
MPROC_EXTERN long mproc_sem_value(const mproc_sem *s);
/** The semaphore's name, for mproc_sem_open. Owned by the semaphore. */
MPROC_EXTERN const char *mproc_sem_name(const mproc_sem *s);
/** End this handle's use (see the top): blocked acquires on it return
 *  MPROC_ECLOSED. Errors: MPROC_EINVAL (NULL). Thread-safety: any thread.
 *  Ownership: the handle is still the caller's, to free. */
MPROC_EXTERN int mproc_sem_close(mproc_sem *s);
/** Close if open, and free the handle. NULL is a no-op.
 *  Thread-safety: no other call on s may run meanwhile. */
MPROC_EXTERN void mproc_sem_free(mproc_sem *s);

/* ---- Condition ----------------------------------------------------------- */

/**
 * A condition variable over `lock` or `rlock` (at most one non-NULL; both
 * NULL: a new RLock of its own, as Python's Condition()). The condition
 * remembers the lock's name, so mproc_cond_open opens both.
 * Errors: MPROC_EINVAL (out NULL, both locks given), MPROC_ECLOSED (the
 * lock given is closed), and those of mproc_shm_new and mproc_lock_open.
 * Thread-safety: safe.
 * Ownership: the condition takes a handle of its own on a lock given to
 * it, so the condition and the caller's lock handle are freed in any
 * order. Free the condition with mproc_cond_free().
 */
MPROC_EXTERN int mproc_cond_new(mproc_cond **out, mproc_lock *lock,
                                mproc_rlock *rlock,
                                const mproc_sync_opts *opts);
/** Open a condition (and its lock) by name. Errors: MPROC_ENOENT,
 *  MPROC_EINVAL (a name of another kind). */
MPROC_EXTERN int mproc_cond_open(mproc_cond **out, const char *name);
/** Acquire / release the underlying lock (results as for that lock). */
MPROC_EXTERN int mproc_cond_acquire(mproc_cond *c, double timeout);
/** Release the underlying lock (MPROC_ESTATE / MPROC_EPERM as that
 *  lock's release). */
MPROC_EXTERN int mproc_cond_release(mproc_cond *c);
/**
 * Release the lock, wait for a notify or `timeout`, re-acquire the lock
 * (fully, for an RLock held recursively). Returns 0 when notified,
 * MPROC_ETIMEDOUT, or MPROC_EOWNERDEAD from the re-acquire. Like any
 * condition variable it may return 0 spuriously (rarely: a wait that
 * begins just after a notify may take that notify's wake-up while an older
 * waiter waits on); loop on your predicate or use mproc_cond_wait_for.
 * The lock is held again on every return but MPROC_EPERM / MPROC_EINVAL /
 * MPROC_ECLOSED. Errors: MPROC_ECLOSED (the handle is, or was while
 * waiting, closed: the wait ends without re-taking the lock, which a
 * closed handle could not release); MPROC_EPERM if the caller does not hold the lock; MPROC_EINTR
 * (mproc_interrupt(); the lock is re-acquired); MPROC_ERANGE with 65535
 * waiters.
 */
MPROC_EXTERN int mproc_cond_wait(mproc_cond *c, double timeout);
/** Wait until pred(arg) returns non-zero or `timeout` passes; returns 0
 *  when the predicate holds, MPROC_ETIMEDOUT otherwise. The lock is held
 *  whenever pred runs. */
MPROC_EXTERN int mproc_cond_wait_for(mproc_cond *c, int (*pred)(void *arg),
                                     void *arg, double timeout);
/** Wake up to n waiters: at most n waits inside mproc_cond_wait return
 *  for it (the lock must be held: MPROC_EPERM otherwise). */
MPROC_EXTERN int mproc_cond_notify(mproc_cond *c, int n);
/** Wake every waiter (the lock must be held: MPROC_EPERM otherwise). */
MPROC_EXTERN int mproc_cond_notify_all(mproc_cond *c);
/** The condition's name, for mproc_cond_open. Owned by it. */
MPROC_EXTERN const char *mproc_cond_name(const mproc_cond *c);
/** End this handle's use (see the top), with the condition's own handle
 *  on its lock: waits on it return MPROC_ECLOSED without the lock, and so
 *  do acquires through it. A lock handle of the caller's is unaffected.
 *  Errors: MPROC_EINVAL (NULL). Thread-safety: any thread.
 *  Ownership: the handle is still the caller's, to free. */
MPROC_EXTERN int mproc_cond_close(mproc_cond *c);
/** Close if open, and free the handle and its own lock handle (before or
 *  after the caller's lock). NULL is a no-op.
 *  Thread-safety: no other call on c may run meanwhile. */
MPROC_EXTERN void mproc_cond_free(mproc_cond *c);

/* ---- Event --------------------------------------------------------------- */

MPROC_EXTERN int mproc_event_new(mproc_event **out,
                                 const mproc_sync_opts *opts);
/** Open an Event by name. Errors: MPROC_ENOENT, MPROC_EINVAL (a name of
 *  another kind). */
MPROC_EXTERN int mproc_event_open(mproc_event **out, const char *name);
/** Set the flag and wake every waiter: every wait under way at the set
 *  returns 0, even if mproc_event_clear() follows at once. */
MPROC_EXTERN int mproc_event_set(mproc_event *e);
/** Clear the flag. */
MPROC_EXTERN int mproc_event_clear(mproc_event *e);
/** 1 if set, 0 if not (a snapshot). Errors (negative): MPROC_EINVAL,
 *  MPROC_ECLOSED. */
MPROC_EXTERN int mproc_event_is_set(const mproc_event *e);
/** Wait until set (or set and cleared again meanwhile). Returns 0 or
 *  MPROC_ETIMEDOUT. Errors: MPROC_EINVAL, MPROC_EINTR (mproc_interrupt()
 *  during the wait). */
MPROC_EXTERN int mproc_event_wait(mproc_event *e, double timeout);
/** The Event's name, for mproc_event_open. Owned by the Event. */
MPROC_EXTERN const char *mproc_event_name(const mproc_event *e);
/** End this handle's use (see the top): waits on it return
 *  MPROC_ECLOSED. Errors: MPROC_EINVAL (NULL). Thread-safety: any thread.
 *  Ownership: the handle is still the caller's, to free. */
MPROC_EXTERN int mproc_event_close(mproc_event *e);
/** Close if open, and free the handle. NULL is a no-op.
 *  Thread-safety: no other call on e may run meanwhile. */
MPROC_EXTERN void mproc_event_free(mproc_event *e);

/* ---- Barrier ------------------------------------------------------------- */

/** Called by one party (the last to arrive) before the others are
 *  released; in the process of that party. */
typedef void (*mproc_barrier_action)(void *arg);

/**
 * A barrier for `parties` (1..32767). `action` (may be NULL) runs in the
 * process of the last party to arrive, before the others are released. A
 * barrier opened by name has no action unless given one with
 * mproc_barrier_set_action.
 * Errors: MPROC_EINVAL (parties out of range), those of mproc_shm_new.
 */
MPROC_EXTERN int mproc_barrier_new(mproc_barrier **out, int parties,
                                   mproc_barrier_action action, void *arg,
                                   const mproc_sync_opts *opts);
/** Open a barrier by name (without an action). Errors: MPROC_ENOENT,
 *  MPROC_EINVAL (a name of another kind). */
MPROC_EXTERN int mproc_barrier_open(mproc_barrier **out, const char *name);
/** Set this process's action (NULL: none), run when this process's
 *  party arrives last. */
MPROC_EXTERN void mproc_barrier_set_action(mproc_barrier *b,
                                           mproc_barrier_action action,
                                           void *arg);
/**
 * Wait until all parties have arrived. Returns the arrival index
 * (0..parties-1, unique per round), or MPROC_EBROKEN if the barrier is or
 * becomes broken (reset, abort, or another party's timeout — also one of
 * these while the last party runs the action: then that party gets
 * MPROC_EBROKEN too), or MPROC_ETIMEDOUT when fewer than all parties
 * arrived in time — which also breaks the barrier for every waiter, as in
 * Python (so a party that died makes the others fail by their timeouts
 * instead of hanging forever). A party whose timeout expires while the
 * action runs arrived in time: it gets MPROC_EBROKEN. A waiter of a round
 * that was reset gets MPROC_EBROKEN however late it runs: after a reset,
 * new arrivals wait (within their timeout) until every waiter of before
 * the reset has left.
 * Errors: MPROC_EINTR (mproc_interrupt(); it breaks the barrier, as a
 * timeout does), MPROC_EINVAL.
 */
MPROC_EXTERN int mproc_barrier_wait(mproc_barrier *b, double timeout);
/** Return to the empty state; current waiters get MPROC_EBROKEN. */
MPROC_EXTERN int mproc_barrier_reset(mproc_barrier *b);
/** Break it: current and future waiters get MPROC_EBROKEN until reset. */
MPROC_EXTERN int mproc_barrier_abort(mproc_barrier *b);
/** 1 if the barrier is broken, else 0. Errors (negative): MPROC_EINVAL,
 *  MPROC_ECLOSED. */
MPROC_EXTERN int mproc_barrier_broken(const mproc_barrier *b);
/** How many parties wait now (a snapshot). Errors (negative):
 *  MPROC_EINVAL, MPROC_ECLOSED. */
MPROC_EXTERN int mproc_barrier_n_waiting(const mproc_barrier *b);
/** The number of parties. */
MPROC_EXTERN int mproc_barrier_parties(const mproc_barrier *b);
/** The barrier's name, for mproc_barrier_open. Owned by the barrier. */
MPROC_EXTERN const char *mproc_barrier_name(const mproc_barrier *b);
/** End this handle's use (see the top): a wait on it returns
 *  MPROC_ECLOSED and breaks the barrier, as a party that gives up does
 *  (MPROC_EBROKEN instead when every party had arrived). Errors:
 *  MPROC_EINVAL (NULL). Thread-safety: any thread.
 *  Ownership: the handle is still the caller's, to free. */
MPROC_EXTERN int mproc_barrier_close(mproc_barrier *b);
/** Close if open, and free the handle. NULL is a no-op.
 *  Thread-safety: no other call on b may run meanwhile. */
MPROC_EXTERN void mproc_barrier_free(mproc_barrier *b);

/* ---- Interrupting waits ------------------------------------------------- */

/**
 * Make every blocking mproc wait of this process return MPROC_EINTR
 * promptly: the waits blocked now, in every thread, and every wait that
 * would block from now on, until mproc_interrupt_clear(). Covered: the
 * acquires and waits of this header (Lock, RLock, Semaphore, Condition,
 * Event, Barrier); queue put, get and join (mproc/queue.h: only before a
 * message is begun, so nothing is lost); mproc_conn_recv, mproc_conn_poll
 * and mproc_conn_wait (mproc/pipe.h); mproc_process_join and
 * mproc_wait_handles (mproc/process.h). Process-wide: a child, forked
 * or not, starts with no interrupt and does not see its parent's. A wait that need not block (a free lock, a set event,
 * timeout 0) is not interrupted. A Condition wait re-acquires its lock
 * before it returns MPROC_EINTR; an interrupted Barrier wait breaks the
 * barrier.
 *
 * Async-signal-safe: call it from a SIGINT handler (on Windows from a
 * console control handler, which runs in a thread of its own). A thread
 * asleep in the kernel is woken at once; one that the signal caught on its
 * way into the kernel returns within 0.25 s (0.1 s with semaphore
 * parking: Windows, MPROC_WAIT_FALLBACK). Handle waits (poll,
 * WaitForMultipleObjects) are woken through a wake-up object the library
 * makes on the first of them; an interrupt that races with
 * mproc_interrupt_clear costs such a wait at most 1 s.
 * Thread-safety: any thread, any time. Ownership: none.
 */
MPROC_EXTERN void mproc_interrupt(void);
/** End the interrupt: blocking waits block again. Returns 1 if an
 *  interrupt was pending, else 0. Call it once the threads that must see
 *  the interrupt have seen it (a wait woken by it returns MPROC_EINTR even
 *  after the clear; one that had not yet blocked does not).
 *  Async-signal-safe. Thread-safety: any thread. Ownership: none. */
MPROC_EXTERN int mproc_interrupt_clear(void);
/** 1 while an interrupt is pending, else 0. Async-signal-safe.
 *  Thread-safety: any thread. Ownership: none. */
MPROC_EXTERN int mproc_interrupted(void);

#ifdef __cplusplus
}
#endif
#endif
