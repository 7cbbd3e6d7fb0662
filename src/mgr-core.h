/* mproc: the manager server's objects and dispatch, apart from its
 * transport (mgr-server.c), so that the fuzz target can feed requests
 * straight in.
 *
 *   mgr-core.c     object table, holds per connection, CREATE and the
 *                  manager's own ops, dispatch, a connection's end
 *   mgr-map.c      the byte-keyed map under dict, set and Namespace
 *   mgr-data.c     dict, list, Namespace, Value, Array, set
 *   mgr-block.c    queue, the sync kinds, waiters and their timers
 *   mgr-server.c   the libuv loop: listening, the authkey handshake,
 *                  framing, writes
 *
 * Everything here runs on the server loop's one thread.
 *
 * Lifetimes: an object lives while it has holds. A connection's holds
 * are counted per object (it gets one at CREATE and each INCREF or
 * ADOPT); a value that refers to an object (a list held in a dict) is
 * one hold, dropped when the value is replaced or its owner freed;
 * a HOLD is a floating hold a child takes over by ADOPT, leased to the
 * child's pid (LEASE, mgr-lease.c) so that it goes if the child dies
 * before it adopts. A connection
 * that ends drops its holds, its waiter and the locks it owns. */
#ifndef MPROC_MGR_CORE_H
#define MPROC_MGR_CORE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "mgr-wire.h"
#include "mproc.h"

/* ---- values and the map -------------------------------------------------- */

/* A stored value: bytes, or (ref != 0) a hold on another object. */
typedef struct mproc__mval {
  uint32_t ref;
  size_t len;
  unsigned char *data;
} mproc__mval;

typedef struct mproc__ment {
  struct mproc__ment *chain, *prev, *next; /* hash chain; insertion order */
  uint64_t hash;
  size_t klen;
  unsigned char *key;
  mproc__mval v;
} mproc__ment;

typedef struct mproc__mmap {
  mproc__ment **slots;
  size_t nslots, count;
  mproc__ment *head, *tail;
} mproc__mmap;

mproc__ment *mproc__mmap_find(const mproc__mmap *m, const void *k, size_t kl);
/* Find or add key k (a new entry's value is empty bytes); *added says
 * which. MPROC_ENOMEM. */
int mproc__mmap_put(mproc__mmap *m, const void *k, size_t kl,
                    mproc__ment **out, int *added);
/* Unlink e and free its key and entry; its value is the caller's. */
void mproc__mmap_remove(mproc__mmap *m, mproc__ment *e);
uint64_t mproc__mhash(const void *k, size_t kl);

/* ---- the server's state -------------------------------------------------- */

typedef struct mproc__msrv mproc__msrv;
typedef struct mproc__mcli mproc__mcli;
typedef struct mproc__mobj mproc__mobj;
typedef struct mproc__mwaiter mproc__mwaiter;
typedef struct mproc__mlease mproc__mlease;

/* A waiting call: its reply goes out when its condition holds. */
struct mproc__mwaiter {
  mproc__mwaiter *prev, *next; /* the object's FIFO */
  mproc__mcli *c;
  mproc__mobj *o;
  unsigned op;
  int stage;           /* Condition: 0 waiting for notify, 1 for the lock */
  int result;          /* Condition: what the wait returns once relocked */
  long count;          /* Condition: the RLock depth to restore */
  uint64_t gen;        /* Barrier: the generation waited for */
  long index;          /* Barrier: this waiter's arrival index */
  mproc__mval item;    /* Queue put: the item */
  int timed;           /* the timer runs */
  uv_timer_t timer;
};

struct mproc__mobj {
  uint32_t id;
  int type;
  long holds;
  long floating;       /* holds taken by HOLD for a child's ADOPT */
  long leased;         /* of those, leased to a child's pid (LEASE) */
  mproc__mobj *dnext;  /* the list of objects being freed */
  mproc__mwaiter *wait_head, *wait_tail;
  mproc__mmap map;     /* dict, set, Namespace */
  mproc__mval *items;  /* list; queue (a ring from `head`) */
  size_t n, cap, head;
  char typecode;       /* Value, Array */
  size_t esize;        /* Value, Array: bytes per element */
  unsigned char *raw;  /* Value, Array: n * esize bytes */
  long maxsize;        /* queue: 0 no limit */
  long unfinished;     /* JoinableQueue */
  mproc__mcli *owner;  /* Lock, RLock, Condition: who holds it */
  long count;          /* RLock/Condition depth; semaphore value */
  long bound;          /* BoundedSemaphore: the initial value */
  int flag;            /* Event: set; Barrier: broken */
  long parties, arrived; /* Barrier */
  uint64_t gen;          /* Barrier */
  const struct mproc_mtype *mtype; /* registered */
  void *state;                     /* registered */
};

/* A connection the core sees. The transport embeds it. */
struct mproc__mcli {
  mproc__msrv *s;
  mproc__mmap holds;       /* key: u32 id; value len: the count */
  mproc__mwaiter *waiting; /* its one pending call */
  int gone;                /* ended: replies are dropped */
};

/* How the core sends a finished reply, and stops the server. */
typedef void (*mproc__msend_fn)(mproc__mcli *c, const void *msg, size_t len);
typedef void (*mproc__mstop_fn)(mproc__msrv *s);

struct mproc__msrv {
  uv_loop_t *loop;
  mproc__mmap objs;  /* key: u32 id; value data: the object */
  mproc__mmap names; /* NAMED objects: value len is the id */
  uint32_t next_id;
  mproc__msend_fn send;
  mproc__mstop_fn stop;
  void *user;
  mproc__mw reply;  /* the reply to the request being served */
  mproc__mw wreply; /* replies to waiters that go meanwhile */
  mproc__mobj *doomed; /* holds gone, to be freed (no deep recursion) */
  mproc__mlease *leases; /* mgr-lease.c */
  size_t n_leases, cap_leases;
  uv_timer_t *sweep;     /* runs while there are leases */
  int draining;
  int stopping;
};

void mproc__msrv_init(mproc__msrv *s, uv_loop_t *loop, mproc__msend_fn send,
                      mproc__mstop_fn stop);
/* Free every object (after every connection ended). */
void mproc__msrv_free(mproc__msrv *s);
void mproc__mcli_init(mproc__mcli *c, mproc__msrv *s);
/* One request from c; a reply goes out through send now or later. A
 * malformed message gets an error reply (status MPROC_EINVAL); 0, or -1
 * when the connection should be dropped (a second call while one waits). */
int mproc__msrv_request(mproc__mcli *c, const void *msg, size_t len);
/* c ended: drop its waiter, holds and locks. Its timers may still be
 * closing: the transport frees c only after mproc__mcli_idle says 1. */
void mproc__mcli_end(mproc__mcli *c);

/* ---- what the kind files share with mgr-core.c --------------------------- */

/* Handler: 0 reply in s->reply, negative error (sentence set), or
 * MPROC__PENDING when a waiter was queued. */
#define MPROC__PENDING 1
typedef int (*mproc__mop)(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                          mproc__mw *w);

mproc__mobj *mproc__mobj_get(mproc__msrv *s, uint32_t id);
/* A hold for a value that refers to `id`: 0 or MPROC_ENOENT. */
int mproc__mobj_ref(mproc__msrv *s, uint32_t id);
void mproc__mobj_unref(mproc__msrv *s, uint32_t id);
/* Free a value's bytes and drop its hold. */
void mproc__mval_clear(mproc__msrv *s, mproc__mval *v);
/* Set v from a request item ('b' or 'r'); v is cleared first. */
int mproc__mval_from(mproc__msrv *s, mproc__mval *v, const mproc__mw_item *it);
/* Take the next item as a value. */
int mproc__mval_take(mproc__msrv *s, mproc__mr *r, mproc__mval *v,
                     const char *what);
void mproc__mval_put(mproc__mw *w, const mproc__mval *v);
int mproc__mval_eq(const mproc__mval *a, const mproc__mval *b);

/* The handler of op for an object of type t (NULL: none). */
mproc__mop mproc__mdata_op(int type, unsigned op);
mproc__mop mproc__mblock_op(int type, unsigned op);
/* Type constructors' state: read the CREATE items after the type. */
int mproc__mdata_create(mproc__msrv *s, mproc__mobj *o, mproc__mr *r);
int mproc__mblock_create(mproc__msrv *s, mproc__mobj *o, mproc__mr *r);
/* Free what a data/blocking object holds. */
void mproc__mdata_free(mproc__msrv *s, mproc__mobj *o);
void mproc__mblock_free(mproc__msrv *s, mproc__mobj *o);

/* Waiters: queue w on o with a timeout (MPROC__INF: none). */
int mproc__mwait(mproc__mcli *c, mproc__mobj *o, unsigned op, double timeout,
                 mproc__mwaiter **out);
/* Send w's reply (built in s->wreply) and free w. */
void mproc__mwait_done(mproc__mwaiter *w);
/* Let every waiter of o that can go, go. */
void mproc__mpoke(mproc__mobj *o);
/* c ended: its waiter, and the locks it owned. */
void mproc__mblock_client_end(mproc__mcli *c);

/* Leases (mgr-lease.c). Read a request's pid item (optional: it may be
 * missing, *pid 0) and the end. */
int mproc__mlease_pid(mproc__mr *r, long *pid, int optional);
/* LEASE: one of o's unleased floating holds is kept for pid. */
int mproc__mlease_lease(mproc__msrv *s, mproc__mobj *o, long pid);
/* ADOPT's accounting (the connection's hold is taken by the caller):
 * pid's lease, else an unleased floating hold, else a new hold. */
int mproc__mlease_adopt(mproc__msrv *s, mproc__mobj *o, long pid);
/* Drop the leases of pids that are gone. */
void mproc__mlease_sweep(mproc__msrv *s);
/* The leases and the sweep timer (closed: the loop must run once more). */
void mproc__mlease_free(mproc__msrv *s);

/* Send the reply in `w` to c. */
void mproc__msrv_send(mproc__mcli *c, mproc__mw *w);
/* Registered types (manager.c keeps the table). */
const struct mproc_mtype *mproc__mtype_find(const char *name, size_t len);

#endif
