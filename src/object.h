/* mproc: the named shared object — the base of Value/Array, every
 * synchronization object and the queues, and of shared memory where the
 * program has no registry (Windows; elsewhere plain segments keep their
 * holders in the registry instead: registry.h, shm-plain.c).
 *
 * Layout of a segment: one header page (this header, then the kind's state
 * at MPROC__STATE_OFFSET), then the user's data for shm and arrays.
 *
 * Holder table protocol: every process that creates or opens the object
 * writes its pid into a free slot of `holders` (a slot whose pid is dead
 * counts as free), under `table_lock` (a word holding the locker's pid; a
 * dead locker's hold is stolen). On close it clears its slot; if no live
 * pid remains it sets `unlinked` and removes the name. An open that finds
 * `unlinked` set fails with MPROC_ENOENT, so nobody registers into an
 * object whose name is going away.
 */
#ifndef MPROC_OBJECT_H
#define MPROC_OBJECT_H

#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"
#include "platform.h"

#define MPROC__OBJ_MAGIC 0x314f504du /* "MPO1" */
#define MPROC__HOLDERS 128
#define MPROC__STATE_OFFSET 1024

/* The public mproc_kind values (mproc/pass.h); kept in segment headers. */
enum mproc__kind {
  MPROC__KIND_SHM = MPROC_KIND_SHM,
  MPROC__KIND_ARRAY = MPROC_KIND_ARRAY,
  MPROC__KIND_LOCK = MPROC_KIND_LOCK,
  MPROC__KIND_RLOCK = MPROC_KIND_RLOCK,
  MPROC__KIND_SEM = MPROC_KIND_SEM,
  MPROC__KIND_COND = MPROC_KIND_COND,
  MPROC__KIND_EVENT = MPROC_KIND_EVENT,
  MPROC__KIND_BARRIER = MPROC_KIND_BARRIER,
  MPROC__KIND_QUEUE = MPROC_KIND_QUEUE
};

#define MPROC__FLAG_NO_TRACK 1u

typedef struct mproc__hdr {
  uint32_t magic;
  uint32_t kind;
  _Atomic uint32_t ready; /* 1 once the creator has initialised it */
  uint32_t flags;
  uint64_t data_offset; /* user data (shm, array), from the base */
  uint64_t data_size;
  _Atomic uint32_t table_lock;
  _Atomic uint32_t unlinked;
  uint32_t reserved[2];
  mproc__park_words park; /* for the semaphore parking backends */
  _Atomic int32_t holders[MPROC__HOLDERS];
} mproc__hdr;

/* One handle on an object, which lives in a segment of its own (hdr set)
 * or in a slot of an arena (arena.h: slot set); both NULL once freed.
 * `state` and `data` point at the kind's state and the user's data
 * wherever they live. Each handle holds the object on its own (a slot of
 * its own in the holder table, also for two opens in one process), so
 * closing one never removes the name under another. `closed` is set once
 * by mproc__obj_close; the mapping stays until mproc__obj_free, so threads
 * still inside a call on a closed handle touch valid memory. `waiting`
 * counts this handle's threads inside an interruptible sleep
 * (mproc__sleep_obj): close wakes them until it is 0. */
struct mproc__arena;
typedef struct mproc__obj {
  mproc__os_shm seg; /* the object's own segment (unused in an arena) */
  mproc__hdr *hdr;
  struct mproc__arena *arena; /* the arena and slot of an arena object */
  void *slot;
  void *state;
  void *data;
  size_t data_size;
  mproc__os_park *park;
  long holder_pid; /* the pid registered in the table, 0 if none */
  _Atomic int closed;
  _Atomic uint32_t waiting;
  int slot_owed; /* arena: this handle's close was the last; its free
                    gives the slot back */
  char name[MPROC_SHM_NAME_MAX + 1];
} mproc__obj;

/* ---- holder tables (shm.c) --------------------------------------------------
 * The table of an object's holders, wherever it lives (a segment's header,
 * an arena slot): its pid lock, its `unlinked` gate and its pid slots.
 * The protocol is the one described at the top of this file. */
typedef struct mproc__holders {
  _Atomic uint32_t *lock;
  _Atomic uint32_t *unlinked;
  _Atomic int32_t *pid;
  int n;
  /* Where pid[] is full: a spill pool that other tables share (an arena's
   * slots), entries (tag << 32 | pid) taken and given back by compare and
   * swap, since each table's lock guards only its own; NULL: none. */
  _Atomic uint64_t *spill;
  int nspill;
  uint32_t tag; /* this table's entries in the pool; never 0 */
} mproc__holders;

static inline mproc__holders mproc__holders_view(_Atomic uint32_t *lock,
                                                 _Atomic uint32_t *unlinked,
                                                 _Atomic int32_t *pid, int n) {
  mproc__holders t;
  t.lock = lock;
  t.unlinked = unlinked;
  t.pid = pid;
  t.n = n;
  t.spill = NULL;
  t.nspill = 0;
  t.tag = 0;
  return t;
}
void mproc__holders_lock(const mproc__holders *t);
void mproc__holders_unlock(const mproc__holders *t);
/** Count `pid` (table locked): its slot if it has one and `reuse`, else a
 *  free one (a dead pid's counts as free). 0, or -1 when the table is
 *  full and `pid` stays uncounted. */
int mproc__holders_put(const mproc__holders *t, long pid, int reuse);
/** Register this process as a holder of `o` (table locked): 0, or
 *  MPROC_ENOENT when the object is being removed; `adopt`: take the hold
 *  the parent took for this child (no second slot, never ENOENT). */
int mproc__holders_add(mproc__obj *o, const mproc__holders *t, int adopt);
/** Clear the first slot of `pid` (table locked). */
void mproc__holders_drop(const mproc__holders *t, long pid);
/** Whether `pid` is counted. */
int mproc__holders_has(const mproc__holders *t, long pid);
/** Forget the table's spilled entries (locked; a slot made anew). */
void mproc__holders_clear_spill(const mproc__holders *t);
/** Whether a live process other than `except` is counted (table locked). */
int mproc__holders_live(const mproc__holders *t, long except);
/** A child adopting a passed object: wait (table unlocked) for the slot
 *  its parent writes for it right after the start (see shm.c). */
void mproc__holders_wait_for(const mproc__holders *t);

/* The most state bytes of each small kind, so that the arena (arena.c)
 * can tell whether an object fits a slot before it is made; each kind
 * checks its state struct against its figure. */
#define MPROC__LOCK_STATE 4
#define MPROC__RLOCK_STATE 16
#define MPROC__SEM_STATE 16
#define MPROC__EVENT_STATE 4
#define MPROC__COND_STATE 64
#define MPROC__BARRIER_STATE 288
#define MPROC__ARRAY_STATE 32
/** The kind of an open object (0 once closed). */
uint32_t mproc__obj_kind(const mproc__obj *o);

/** Initialises the kind's state of a new object before others can see it. */
typedef void (*mproc__obj_init)(void *state, void *arg);

int mproc__obj_create(mproc__obj *o, uint32_t kind, size_t data_size,
                      const mproc_shm_opts *opts, mproc__obj_init init,
                      void *arg);
int mproc__obj_open(mproc__obj *o, const char *name, uint32_t kind);
/** End this handle's use (idempotent): later calls on it give
 *  MPROC_ECLOSED (mproc__obj_check), its threads asleep in
 *  mproc__sleep_obj are woken with MPROC_ECLOSED, and its hold is released
 *  (the last holder removes the name: see the protocol above). The mapping
 *  stays until mproc__obj_free. */
void mproc__obj_close(mproc__obj *o);
/** Close if needed, then unmap and release the OS resources. A handle
 *  never opened (hdr NULL) is a no-op. */
void mproc__obj_free(mproc__obj *o);
/** The sentence and MPROC_ECLOSED of mproc__obj_check (shm.c). */
int mproc__obj_check_fail(const mproc__obj *o, const char *what);
/** MPROC_ECLOSED with a sentence naming `what` and the object once the
 *  handle is closed, else 0. Inline: every call on a handle begins with
 *  it, and an uncontended Lock's acquire and release are a few
 *  nanoseconds each (a call into shm.c per operation cost bin/sync's
 *  Lock row a third of its rate). */
static inline int mproc__obj_check(const mproc__obj *o, const char *what) {
  if (!atomic_load_explicit(&o->closed, memory_order_relaxed) &&
      (o->slot != NULL || o->hdr != NULL)) /* most small objects: a slot */
    return 0;
  return mproc__obj_check_fail(o, what);
}
/** Remove the name now (also through a closed handle). */
int mproc__obj_unlink(mproc__obj *o);

/* ---- passing to a child (shm.c, pass.c) ------------------------------------
 * A passed object travels as one or two segments (a Condition brings its
 * lock): each its name and the OS handles the child needs (Windows: the
 * mapping and the parking semaphores; none on POSIX, where the child
 * reopens the name). In the parent the handles are the parent's, in the
 * child the values it received. */
#define MPROC__PASS_SEGS 2
#define MPROC__SEG_HANDLES (1 + MPROC__PARK_SEMS)
typedef struct mproc__pass_seg {
  char name[MPROC_SHM_NAME_MAX + 1];
  uint32_t flags; /* a pipe end's flags */
  uint32_t nh;
  mproc_handle h[MPROC__SEG_HANDLES];
} mproc__pass_seg;

/** Describe the object for a child: MPROC_ECLOSED when closed. */
int mproc__obj_pass(const mproc__obj *o, mproc__pass_seg *seg);
/** Count process `pid` among the holders (the child's hold, taken by the
 *  parent before the start returns; idempotent). */
void mproc__obj_hold_for(mproc__obj *o, long pid);
/** In the child: open what the parent passed, as the holder it was
 *  counted as (no second slot). */
int mproc__obj_adopt(mproc__obj *o, const mproc__pass_seg *seg,
                     uint32_t kind);

/* ---- handle memory (handles.c) ----------------------------------------------
 * Zeroed memory for a handle, from huge-page chunks where it fits (so a
 * fork copies little of a program holding many handles); release with
 * mproc__handle_free, which also takes memory from calloc. NULL when out
 * of memory. */
void *mproc__handle_new(size_t size);
void mproc__handle_free(void *p);

/* ---- the kind table (pass.c) -----------------------------------------------
 * Every shareable kind's handle begins with its mproc__obj (an RLock's
 * with the one it owns). Generic make/open/adopt/free allocate the handle,
 * create, open or adopt the object, and let `attach` point the handle's
 * fields into the state; kinds with more than one object or no header
 * (Condition, shared memory, pipe ends) give their own pass hooks. */
typedef struct mproc__kind_ops {
  uint32_t kind;
  size_t handle_size;
  void (*attach)(void *h); /* after create, open or adopt; may be NULL */
  /* Pass hooks, NULL for the generic one-object ones. */
  int (*pass)(const void *h, mproc__pass_seg *segs, size_t *nseg);
  void (*hold)(const void *h, long pid);
  int (*adopt)(void **out, const mproc__pass_seg *segs, size_t nseg);
  void (*free)(void *h); /* NULL: close the object, free the handle */
} mproc__kind_ops;

const mproc__kind_ops *mproc__kind_ops_of(uint32_t kind);
/** Make a new object of `kind`; `out` is the address of the typed handle
 *  pointer (mproc_lock **, ...), set to NULL on failure. */
int mproc__kind_make(uint32_t kind, void *out, size_t data_size,
                     const mproc_shm_opts *opts, mproc__obj_init init,
                     void *arg);
/** Open the object `name` of `kind`. */
int mproc__kind_open(uint32_t kind, void *out, const char *name);
/** In a child: adopt one passed object of `kind` (a one-object kind). */
int mproc__kind_adopt(uint32_t kind, void *out, const mproc__pass_seg *seg);
/** Free the object (closing it first) and the handle (NULL: no-op). */
void mproc__kind_free(void *h);
/** Close a one-object handle (mproc__obj_close): 0, or MPROC_EINVAL for
 *  NULL with a sentence naming `what`. Closing twice is 0. */
int mproc__kind_close(void *h, const char *what);

/* The kinds' entries, defined next to their code. */
extern const mproc__kind_ops mproc__shm_ops, mproc__array_ops,
    mproc__lock_ops, mproc__rlock_ops, mproc__sem_ops, mproc__cond_ops,
    mproc__event_ops, mproc__barrier_ops, mproc__queue_ops,
    mproc__proxy_ops;

static inline void *mproc__obj_state(const mproc__obj *o) { return o->state; }
static inline void *mproc__obj_data(const mproc__obj *o) { return o->data; }

/* ---- waiting (wait.c) ----------------------------------------------------- */

/** Spin briefly (never on one CPU), then sleep while *addr == expected,
 *  until `deadline` (mproc__deadline form). 0 or MPROC_ETIMEDOUT. */
int mproc__wait(mproc__obj *o, _Atomic uint32_t *addr, uint32_t expected,
                double deadline);
void mproc__wake(mproc__obj *o, _Atomic uint32_t *addr, int n);
/** mproc__wait that mproc_interrupt() ends: also MPROC_EINTR (with its
 *  sentence), and a close of the handle: MPROC_ECLOSED (mproc__sleep_obj).
 *  Its sleeps last at most a slice (early returns of 0). */
int mproc__wait_intr(mproc__obj *o, _Atomic uint32_t *addr,
                     uint32_t expected, double deadline);
/** mproc__sleep on a word of `o`'s object, which a close of the handle
 *  ends too: MPROC_ECLOSED (with its sentence), also when the handle is
 *  closed already. What every public wait sleeps in. */
int mproc__sleep_obj(mproc__obj *o, _Atomic uint32_t *addr,
                     uint32_t expected, double timeout);
/** Wake every thread of this process asleep in mproc__sleep_obj on `o`,
 *  until none is left or two sleep slices have passed (their sleeps
 *  return MPROC_ECLOSED). Called by mproc__obj_close after it sets
 *  `closed`. */
void mproc__wake_closed(mproc__obj *o);
/** The interruptible kernel sleep under mproc__wait_intr, for any word a
 *  wait sleeps on (queue, pipe and process waits may use it too): as
 *  mproc__os_wait, plus MPROC_EINTR. `timeout` in seconds (MPROC__INF). */
int mproc__sleep(mproc__os_park *park, _Atomic uint32_t *addr,
                 uint32_t expected, double timeout);
/** MPROC_EINTR (with its sentence) while an interrupt is pending, else 0:
 *  for waits that block elsewhere (poll, WaitForMultipleObjects) to check
 *  before and after each bounded sleep. */
int mproc__intr_check(void);
/** Spin until *addr != expected for at most the spin budget; returns 1 if
 *  it changed. */
int mproc__spin(_Atomic uint32_t *addr, uint32_t expected);
/** The same budget, until ready(arg) returns non-zero (a condition on
 *  something other than one 32-bit word); returns 1 if it did. */
int mproc__spin_until(int (*ready)(void *), void *arg);
/* n pause instructions: a few nanoseconds each, no system call. */
void mproc__pause(unsigned n);

/** A tiny lock in shared memory holding its owner's pid: held for a few
 *  instructions, and taken over from an owner that died holding it. */
void mproc__pidlock_acquire(_Atomic uint32_t *w);
void mproc__pidlock_release(_Atomic uint32_t *w);

/** This process's id as stored in lock words (30 bits). */
uint32_t mproc__self_id(void);
/** A process-unique id for the calling thread (never 0). */
uint64_t mproc__thread_id(void);

/* ---- the lock word (sync-lock.c), shared by Lock, RLock, Value ------------ */

#define MPROC__LOCK_PID 0x3fffffffu
#define MPROC__LOCK_CONTENDED 0x40000000u

int mproc__lockword_acquire(mproc__obj *o, _Atomic uint32_t *w,
                            double timeout);
/** As mproc__lockword_acquire, and mproc_interrupt() ends its wait
 *  (MPROC_EINTR): what the public acquires use. */
int mproc__lockword_acquire_intr(mproc__obj *o, _Atomic uint32_t *w,
                                 double timeout);
int mproc__lockword_release(mproc__obj *o, _Atomic uint32_t *w);
/** A Lock's object (Condition passes it along). */
mproc__obj *mproc__lock_obj(const mproc_lock *l);
/** A new handle on the same Lock / RLock, holding it on its own (what a
 *  Condition keeps, so it and the caller's handle are freed in any
 *  order). */
int mproc__lock_dup(const mproc_lock *src, mproc_lock **out);
int mproc__rlock_dup(const mproc_rlock *src, mproc_rlock **out);
/** Release a Lock without the closed check (Condition's undo). */
int mproc__lock_release_any(mproc_lock *l);
/** Whether the calling process holds a Lock (Condition's check). */
int mproc__lock_held_by_me(const mproc_lock *l);
/** Acquire without limit, not interruptible (Condition's re-acquire). */
int mproc__lock_reacquire(mproc_lock *l);

/* The RLock state, also embedded in every Value/Array with a lock. */
typedef struct mproc__rlock_state {
  _Atomic uint32_t word;
  uint32_t count;          /* written by the owner only */
  _Atomic uint64_t thread; /* the owner's mproc__thread_id, 0 if free */
} mproc__rlock_state;

struct mproc_rlock {
  mproc__obj own; /* used when this handle owns its object */
  mproc__obj *obj;
  mproc__rlock_state *st;
};

void mproc__rlock_init_state(void *state, void *arg);
/** A new RLock handle, with a hold of its own, on the object `name` of
 *  `kind` whose RLock state lies `offset` bytes into its state (0 for an
 *  RLock, the lock of an array's state for mproc_array_get_lock). */
int mproc__rlock_of(const char *name, uint32_t kind, size_t offset,
                    mproc_rlock **out);
/** Wrap embedded RLock state as a borrowed handle. */
void mproc__rlock_borrow(mproc_rlock *l, mproc__obj *o,
                         mproc__rlock_state *st);
/** Release fully, returning the count; re-take with the count (Condition). */
int mproc__rlock_release_all(mproc_rlock *l, uint32_t *count);
int mproc__rlock_reacquire(mproc_rlock *l, uint32_t count);

/* ---- names and sizes (shm.c) ---------------------------------------------- */

/** Check a user name: 1..MPROC_SHM_NAME_MAX of [A-Za-z0-9_.-]. */
int mproc__check_name(const char *name);
/** A generated name: the prefix, '-', then `n` random [a-z0-9] (n <= 10). */
int mproc__random_name(char out[MPROC_SHM_NAME_MAX + 1], int n);

/** Make something under `name` (checked), or under a generated name when
 *  it is NULL (retried while taken): `fn` returns 0, MPROC_EEXIST or an
 *  error. The EEXIST sentence is set here. */
typedef int (*mproc__create_fn)(void *ctx, const char *name);
int mproc__create_named(const char *name, mproc__create_fn fn, void *ctx);

/** A data size rounded up to pages; MPROC_ERANGE beyond what we map. */
int mproc__data_size(size_t size, size_t *rounded);

/** "lock", "shared memory", ... for error sentences. */
const char *mproc__kind_name(uint32_t kind);

#endif
