/* mproc: the manager's kinds that wait — Queue, JoinableQueue, Lock,
 * RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier.
 *
 * Nothing here blocks the loop. A call that cannot go on becomes a waiter
 * in its object's FIFO, with a libuv timer for its timeout (the wire's
 * timeout: negative is none). Whenever an object's state changes in a way
 * that may let a waiter go, mproc__mpoke() walks the FIFO and answers
 * every waiter that can go now, in arrival order; a timer that fires
 * answers its waiter with the timeout's outcome.
 *
 * A Condition's lock is an RLock of its own, or a Lock/RLock object it
 * holds (CREATE with a reference). Condition.wait releases the lock
 * whole, waits for a notify (stage 0), then waits on the lock's FIFO to
 * take it back at the same depth (stage 1) before its reply goes out:
 * Python's wait returns with the lock held, notified or not. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mgr-core.h"

#define UNUSED(x) (void)(x)

static mproc__mobj *lock_of(mproc__msrv *s, mproc__mobj *o) {
  mproc__mobj *l;
  if (o->type != MPROC__T_COND || o->bound == 0) return o;
  l = mproc__mobj_get(s, (uint32_t)o->bound);
  return l ? l : o;
}

/* ---- waiters -------------------------------------------------------------- */

static void unlink_waiter(mproc__mwaiter *w) {
  mproc__mobj *o = w->o;
  if (w->prev) w->prev->next = w->next;
  else o->wait_head = w->next;
  if (w->next) w->next->prev = w->prev;
  else o->wait_tail = w->prev;
  w->prev = w->next = NULL;
}

static void link_waiter(mproc__mobj *o, mproc__mwaiter *w) {
  w->o = o;
  w->prev = o->wait_tail;
  w->next = NULL;
  if (o->wait_tail) o->wait_tail->next = w;
  else o->wait_head = w;
  o->wait_tail = w;
}

static void timer_closed(uv_handle_t *h) { free(h->data); }

static void free_waiter(mproc__mwaiter *w) {
  if (w->c->waiting == w) w->c->waiting = NULL;
  free(w->item.data);
  w->item.data = NULL;
  if (w->timed) {
    w->timer.data = w;
    uv_close((uv_handle_t *)&w->timer, timer_closed);
  } else {
    free(w);
  }
}

void mproc__mwait_done(mproc__mwaiter *w) {
  mproc__mcli *c = w->c;
  unlink_waiter(w);
  free_waiter(w);
  mproc__msrv_send(c, &c->s->wreply);
}

static void timed_out(uv_timer_t *t);

int mproc__mwait(mproc__mcli *c, mproc__mobj *o, unsigned op, double timeout,
                 mproc__mwaiter **out) {
  mproc__mwaiter *w = calloc(1, sizeof *w);
  if (w == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  w->c = c;
  w->op = op;
  link_waiter(o, w);
  c->waiting = w;
  if (timeout >= 0 && c->s->loop != NULL) {
    double ms = ceil(timeout * 1000.0);
    uv_timer_init(c->s->loop, &w->timer);
    w->timer.data = w;
    w->timed = 1;
    uv_timer_start(&w->timer, timed_out, ms > 9e15 ? (uint64_t)9e15 : (uint64_t)ms, 0);
  }
  if (out) *out = w;
  return MPROC__PENDING;
}

static void reply_int(mproc__msrv *s, int64_t v) {
  mproc__mw_rewind_reply(&s->wreply, 0);
  mproc__mw_int(&s->wreply, v);
}

static void reply_err(mproc__msrv *s, int code, const char *why) {
  mproc__mw_rewind_reply(&s->wreply, code);
  mproc__mw_bytes(&s->wreply, why, strlen(why));
}

/* ---- locks --------------------------------------------------------------- */

static int lk_can(const mproc__mobj *l, const mproc__mcli *c) {
  return l->count == 0 || (l->type != MPROC__T_LOCK && l->owner == c);
}

static void lk_take(mproc__mobj *l, mproc__mcli *c, long depth) {
  if (l->count == 0) l->owner = c;
  l->count += depth;
}

static int lk_release(mproc__msrv *s, mproc__mobj *l, mproc__mcli *c) {
  if (l->count == 0)
    return mproc__err(MPROC_ESTATE, "manager: release of an unlocked lock");
  if (l->type != MPROC__T_LOCK && l->owner != c)
    return mproc__err(MPROC_EPERM, "manager: release of an RLock another "
                                   "connection owns");
  if (l->type == MPROC__T_LOCK)
    l->count = 0;
  else
    l->count--;
  if (l->count == 0) l->owner = NULL;
  UNUSED(s);
  mproc__mpoke(l);
  return 0;
}

/* ---- queue ring ----------------------------------------------------------- */

static int q_push(mproc__mobj *o, mproc__mval *v) {
  if (o->n == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 16, i;
    mproc__mval *items = malloc(cap * sizeof *items);
    if (items == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
    for (i = 0; i < o->n; i++) items[i] = o->items[(o->head + i) % o->cap];
    free(o->items);
    o->items = items;
    o->cap = cap;
    o->head = 0;
  }
  o->items[(o->head + o->n) % o->cap] = *v;
  o->n++;
  if (o->type == MPROC__T_JQUEUE) o->unfinished++;
  memset(v, 0, sizeof *v);
  return 0;
}

static mproc__mval q_pop(mproc__mobj *o) {
  mproc__mval v = o->items[o->head];
  o->head = (o->head + 1) % o->cap;
  o->n--;
  return v;
}

static int q_room(const mproc__mobj *o) {
  return o->maxsize <= 0 || (long)o->n < o->maxsize;
}

/* ---- letting waiters go --------------------------------------------------- */

/* Answer w if its condition holds now: 1 if it went. */
static int try_go(mproc__msrv *s, mproc__mobj *o, mproc__mwaiter *w) {
  mproc__mval v;
  switch (w->op) {
  case MPROC__OP_Q_GET:
    if (o->n == 0) return 0;
    v = q_pop(o);
    mproc__mw_rewind_reply(&s->wreply, 0);
    mproc__mw_bytes(&s->wreply, v.data, v.len);
    free(v.data);
    return 1;
  case MPROC__OP_Q_PUT:
    if (!q_room(o) || q_push(o, &w->item) < 0) return 0;
    mproc__mw_rewind_reply(&s->wreply, 0);
    return 1;
  case MPROC__OP_Q_JOIN:
    if (o->unfinished != 0) return 0;
    mproc__mw_rewind_reply(&s->wreply, 0);
    return 1;
  case MPROC__OP_ACQUIRE:
    if (o->type == MPROC__T_SEM || o->type == MPROC__T_BSEM) {
      if (o->count == 0) return 0;
      o->count--;
    } else {
      if (!lk_can(o, w->c)) return 0;
      lk_take(o, w->c, 1);
    }
    mproc__mw_rewind_reply(&s->wreply, 0);
    return 1;
  case MPROC__OP_COND_WAIT: /* on the lock's FIFO: stage 1 */
    if (w->stage != 1 || !lk_can(o, w->c)) return 0;
    lk_take(o, w->c, w->count);
    reply_int(s, w->result);
    return 1;
  case MPROC__OP_EVENT_WAIT:
    if (!o->flag) return 0;
    reply_int(s, 1);
    return 1;
  default:
    return 0;
  }
}

void mproc__mpoke(mproc__mobj *o) {
  int moved = 1;
  while (moved) {
    mproc__mwaiter *w;
    moved = 0;
    for (w = o->wait_head; w != NULL; w = w->next) {
      mproc__msrv *s = w->c->s;
      if (try_go(s, o, w)) {
        mproc__mwait_done(w);
        moved = 1;
        break;
      }
    }
  }
}

/* A waiting Condition call moves to its lock's FIFO (stage 1): the tail
 * of the same FIFO when the Condition has its own lock. The caller pokes
 * the lock (mproc__mpoke) once it has moved all it moves. */
static mproc__mobj *cond_to_lock(mproc__msrv *s, mproc__mwaiter *w,
                                 int result) {
  mproc__mobj *l = lock_of(s, w->o);
  unlink_waiter(w);
  if (w->timed) uv_timer_stop(&w->timer);
  w->stage = 1;
  w->result = result;
  link_waiter(l, w);
  return l;
}

static void barrier_break(mproc__msrv *s, mproc__mobj *o) {
  o->flag = 1;
  o->arrived = 0;
  while (o->wait_head != NULL) {
    reply_err(s, MPROC_EBROKEN, "manager: the Barrier is broken");
    mproc__mwait_done(o->wait_head);
  }
}

static void timed_out(uv_timer_t *t) {
  mproc__mwaiter *w = t->data;
  mproc__msrv *s = w->c->s;
  switch (w->op) {
  case MPROC__OP_Q_GET:
    reply_err(s, MPROC_EEMPTY, "manager: the queue stayed empty");
    break;
  case MPROC__OP_Q_PUT:
    reply_err(s, MPROC_EFULL, "manager: the queue stayed full");
    break;
  case MPROC__OP_EVENT_WAIT:
    reply_int(s, 0);
    break;
  case MPROC__OP_COND_WAIT:
    mproc__mpoke(cond_to_lock(s, w, 0));
    return;
  case MPROC__OP_BARRIER_WAIT:
    barrier_break(s, w->o); /* Python: a timeout breaks the barrier */
    return;
  default:
    reply_err(s, MPROC_ETIMEDOUT, "manager: timed out");
    break;
  }
  mproc__mwait_done(w);
}

/* ---- handlers ------------------------------------------------------------- */

static int take_timeout(mproc__mr *r, double *t) {
  int rc = mproc__mr_f64(r, t, "timeout");
  if (rc == 0 && isnan(*t))
    return mproc__err(MPROC_EINVAL, "manager: the timeout is NaN");
  return rc;
}

static int q_op(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  mproc__mwaiter *wt;
  mproc__mval v = {0, 0, NULL};
  double t = 0;
  int rc = 0;
  switch (r->op) {
  case MPROC__OP_Q_QSIZE:
    mproc__mw_int(w, (int64_t)o->n);
    return 0;
  case MPROC__OP_Q_TASK_DONE:
    if (o->type != MPROC__T_JQUEUE)
      return mproc__err(MPROC_EINVAL, "manager: task_done of a plain Queue");
    if (o->unfinished == 0)
      return mproc__err(MPROC_ESTATE, "manager: task_done() called too many "
                                      "times");
    if (--o->unfinished == 0) mproc__mpoke(o);
    return 0;
  case MPROC__OP_Q_JOIN:
    if (o->type != MPROC__T_JQUEUE)
      return mproc__err(MPROC_EINVAL, "manager: join of a plain Queue");
    rc = take_timeout(r, &t);
    if (rc < 0 || o->unfinished == 0) return rc;
    if (t == 0) return mproc__err(MPROC_ETIMEDOUT, "manager: timed out");
    return mproc__mwait(c, o, r->op, t, NULL);
  case MPROC__OP_Q_GET:
    rc = take_timeout(r, &t);
    if (rc < 0) return rc;
    if (o->n > 0) {
      v = q_pop(o);
      mproc__mw_bytes(w, v.data, v.len);
      free(v.data);
      mproc__mpoke(o); /* room for a waiting put */
      return 0;
    }
    if (t == 0) return mproc__err(MPROC_EEMPTY, "manager: the queue is empty");
    return mproc__mwait(c, o, r->op, t, NULL);
  default: /* Q_PUT */
    rc = mproc__mval_take(c->s, r, &v, "item");
    if (rc == 0 && v.ref) rc = mproc__err(MPROC_EINVAL, "manager: a queue "
                                                        "holds bytes");
    if (rc == 0) rc = take_timeout(r, &t);
    if (rc == 0 && q_room(o)) {
      rc = q_push(o, &v);
      if (rc == 0) mproc__mpoke(o);
    } else if (rc == 0 && t == 0) {
      rc = mproc__err(MPROC_EFULL, "manager: the queue is full");
    } else if (rc == 0) {
      rc = mproc__mwait(c, o, r->op, t, &wt);
      if (rc == MPROC__PENDING) {
        wt->item = v;
        memset(&v, 0, sizeof v);
      }
    }
    mproc__mval_clear(c->s, &v);
    return rc;
  }
}

static int acquire(mproc__mcli *c, mproc__mobj *o, mproc__mr *r) {
  double t;
  mproc__mobj *l = lock_of(c->s, o);
  int rc = take_timeout(r, &t);
  if (rc < 0) return rc;
  if (o->type == MPROC__T_SEM || o->type == MPROC__T_BSEM) {
    if (o->count > 0) {
      o->count--;
      return 0;
    }
  } else if (lk_can(l, c)) {
    lk_take(l, c, 1);
    return 0;
  }
  if (t == 0) return mproc__err(MPROC_ETIMEDOUT, "manager: not acquired");
  return mproc__mwait(c, l, MPROC__OP_ACQUIRE, t, NULL);
}

static int release(mproc__mcli *c, mproc__mobj *o) {
  if (o->type == MPROC__T_SEM || o->type == MPROC__T_BSEM) {
    if (o->type == MPROC__T_BSEM && o->count >= o->bound)
      return mproc__err(MPROC_ERANGE, "manager: BoundedSemaphore released "
                                      "too many times");
    o->count++;
    mproc__mpoke(o);
    return 0;
  }
  return lk_release(c->s, lock_of(c->s, o), c);
}

static int cond_wait(mproc__mcli *c, mproc__mobj *o, mproc__mr *r) {
  mproc__mobj *l = lock_of(c->s, o);
  mproc__mwaiter *w;
  double t;
  long depth;
  int rc = take_timeout(r, &t);
  if (rc < 0) return rc;
  if (l->count == 0 || l->owner != c)
    return mproc__err(MPROC_EPERM, "manager: wait on an un-acquired "
                                   "Condition");
  depth = l->type == MPROC__T_LOCK ? 1 : l->count;
  rc = mproc__mwait(c, o, MPROC__OP_COND_WAIT, t, &w);
  if (rc < 0) return rc;
  w->count = depth;
  l->count = 0;
  l->owner = NULL;
  if (t == 0) cond_to_lock(c->s, w, 0);
  mproc__mpoke(l);
  return rc;
}

static int cond_notify(mproc__mcli *c, mproc__mobj *o, mproc__mr *r) {
  mproc__mobj *l = lock_of(c->s, o);
  int64_t n;
  int rc = mproc__mr_int(r, &n, "count");
  if (rc < 0) return rc;
  if (l->count == 0 || l->owner != c)
    return mproc__err(MPROC_EPERM, "manager: notify on an un-acquired "
                                   "Condition");
  /* Move the first n calls still waiting for a notify (stage 0); the ones
   * moved go to the tail, where this walk meets them again as stage 1
   * (when the Condition is its own lock) and passes them by. Nothing is
   * answered during the walk: the notifier holds the lock. */
  {
    mproc__mwaiter *w = o->wait_head, *next;
    size_t left = 0;
    for (; w != NULL; w = w->next)
      if (w->op == MPROC__OP_COND_WAIT && w->stage == 0) left++;
    for (w = o->wait_head; w != NULL && n != 0 && left > 0; w = next) {
      next = w->next;
      if (w->op != MPROC__OP_COND_WAIT || w->stage != 0) continue;
      left--;
      cond_to_lock(c->s, w, 1);
      if (n > 0) n--;
    }
  }
  return 0;
}

static int barrier_wait(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                        mproc__mw *w) {
  mproc__mwaiter *wt;
  double t;
  long index;
  int rc = take_timeout(r, &t);
  if (rc < 0) return rc;
  if (o->flag) return mproc__err(MPROC_EBROKEN, "manager: the Barrier is "
                                                "broken");
  index = o->arrived++;
  if (o->arrived == o->parties) {
    while (o->wait_head != NULL) {
      reply_int(c->s, o->wait_head->index);
      mproc__mwait_done(o->wait_head);
    }
    o->arrived = 0;
    o->gen++;
    mproc__mw_int(w, index);
    return 0;
  }
  if (t == 0) {
    barrier_break(c->s, o);
    return mproc__err(MPROC_EBROKEN, "manager: the Barrier broke (timeout)");
  }
  rc = mproc__mwait(c, o, MPROC__OP_BARRIER_WAIT, t, &wt);
  if (rc < 0) {
    o->arrived--;
    return rc;
  }
  wt->index = index;
  wt->gen = o->gen;
  return rc;
}

static int sync_op(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                   mproc__mw *w) {
  mproc__mobj *l = lock_of(c->s, o);
  switch (r->op) {
  case MPROC__OP_ACQUIRE:
    return acquire(c, o, r);
  case MPROC__OP_RELEASE:
    return release(c, o);
  case MPROC__OP_LOCKED:
    mproc__mw_int(w, o->type == MPROC__T_SEM || o->type == MPROC__T_BSEM
                         ? o->count == 0
                         : l->count > 0);
    return 0;
  case MPROC__OP_SEM_VALUE:
    mproc__mw_int(w, o->count);
    return 0;
  case MPROC__OP_COND_WAIT:
    return cond_wait(c, o, r);
  case MPROC__OP_COND_NOTIFY:
    return cond_notify(c, o, r);
  case MPROC__OP_EVENT_SET:
    o->flag = 1;
    mproc__mpoke(o);
    return 0;
  case MPROC__OP_EVENT_CLEAR:
    o->flag = 0;
    return 0;
  case MPROC__OP_EVENT_IS_SET:
    mproc__mw_int(w, o->flag);
    return 0;
  case MPROC__OP_EVENT_WAIT: {
    double t;
    int rc = take_timeout(r, &t);
    if (rc < 0) return rc;
    if (o->flag || t == 0) {
      mproc__mw_int(w, o->flag);
      return 0;
    }
    return mproc__mwait(c, o, r->op, t, NULL);
  }
  case MPROC__OP_BARRIER_WAIT:
    return barrier_wait(c, o, r, w);
  case MPROC__OP_BARRIER_RESET:
    barrier_break(c->s, o);
    o->flag = 0;
    o->gen++;
    return 0;
  case MPROC__OP_BARRIER_ABORT:
    barrier_break(c->s, o);
    return 0;
  default: /* BARRIER_INFO */
    mproc__mw_int(w, o->parties);
    mproc__mw_int(w, o->arrived);
    mproc__mw_int(w, o->flag);
    return 0;
  }
}

/* ---- tables --------------------------------------------------------------- */

mproc__mop mproc__mblock_op(int type, unsigned op) {
  switch (type) {
  case MPROC__T_QUEUE:
  case MPROC__T_JQUEUE:
    return op >= MPROC__OP_Q_PUT && op <= MPROC__OP_Q_JOIN ? q_op : NULL;
  case MPROC__T_LOCK:
  case MPROC__T_RLOCK:
    return op >= MPROC__OP_ACQUIRE && op <= MPROC__OP_LOCKED ? sync_op : NULL;
  case MPROC__T_SEM:
  case MPROC__T_BSEM:
    return op >= MPROC__OP_ACQUIRE && op <= MPROC__OP_SEM_VALUE ? sync_op
                                                                : NULL;
  case MPROC__T_COND:
    return (op >= MPROC__OP_ACQUIRE && op <= MPROC__OP_LOCKED) ||
                   op == MPROC__OP_COND_WAIT || op == MPROC__OP_COND_NOTIFY
               ? sync_op
               : NULL;
  case MPROC__T_EVENT:
    return op >= MPROC__OP_EVENT_SET && op <= MPROC__OP_EVENT_WAIT ? sync_op
                                                                   : NULL;
  case MPROC__T_BARRIER:
    return op >= MPROC__OP_BARRIER_WAIT && op <= MPROC__OP_BARRIER_INFO
               ? sync_op
               : NULL;
  default:
    return NULL;
  }
}

/* CREATE's items: queues i maxsize; semaphores i value; Barrier i
 * parties; Condition 'r' lock or 'n'. */
int mproc__mblock_create(mproc__msrv *s, mproc__mobj *o, mproc__mr *r) {
  mproc__mw_item it;
  int64_t v = 0;
  int rc = 0;
  switch (o->type) {
  case MPROC__T_QUEUE:
  case MPROC__T_JQUEUE:
    rc = mproc__mr_int(r, &v, "maxsize");
    o->maxsize = v > 0 && v < (int64_t)1 << 40 ? (long)v : 0;
    break;
  case MPROC__T_SEM:
  case MPROC__T_BSEM:
  case MPROC__T_BARRIER:
    rc = mproc__mr_int(r, &v, "value");
    if (rc == 0 && (v < (o->type == MPROC__T_BARRIER) || v > 0x7fffffff))
      rc = mproc__err(MPROC_EINVAL, "manager: %lld is out of range for a %s",
                      (long long)v,
                      o->type == MPROC__T_BARRIER ? "Barrier's parties"
                                                  : "semaphore's value");
    o->count = o->type == MPROC__T_BARRIER ? 0 : (long)v;
    o->bound = o->type == MPROC__T_BSEM ? (long)v : 0;
    o->parties = o->type == MPROC__T_BARRIER ? (long)v : 0;
    break;
  case MPROC__T_COND:
    rc = mproc__mr_next(r, &it);
    if (rc == 1 && it.tag == MPROC__MW_REF) {
      mproc__mobj *l = mproc__mobj_get(s, it.ref);
      if (l == NULL || (l->type != MPROC__T_LOCK && l->type != MPROC__T_RLOCK))
        return mproc__err(MPROC_EINVAL, "manager: a Condition's lock must be "
                                        "a Lock or RLock of this manager");
      l->holds++;
      o->bound = (long)it.ref; /* the lock object it holds */
      rc = 0;
    } else if (rc == 1 && it.tag != MPROC__MW_NONE) {
      rc = mproc__err(MPROC_EINVAL, "manager: a Condition's lock is a "
                                    "reference or nothing");
    } else if (rc == 1) {
      rc = 0;
    }
    break;
  default:
    break;
  }
  return rc < 0 ? rc : mproc__mr_end(r);
}

void mproc__mblock_free(mproc__msrv *s, mproc__mobj *o) {
  if (o->type == MPROC__T_QUEUE || o->type == MPROC__T_JQUEUE) {
    while (o->n > 0) {
      mproc__mval v = q_pop(o);
      free(v.data);
    }
    free(o->items);
    o->items = NULL;
    o->cap = 0;
  }
  if (o->type == MPROC__T_COND && o->bound != 0) {
    uint32_t id = (uint32_t)o->bound;
    o->bound = 0;
    mproc__mobj_unref(s, id);
  }
}

void mproc__mblock_client_end(mproc__mcli *c) {
  mproc__msrv *s = c->s;
  mproc__ment *e;
  mproc__mwaiter *w = c->waiting;
  if (w != NULL) {
    mproc__mobj *o = w->o;
    unsigned op = w->op;
    unlink_waiter(w);
    free_waiter(w);
    if (op == MPROC__OP_BARRIER_WAIT) barrier_break(s, o);
    else mproc__mpoke(o); /* a dead waiter may have stood first */
  }
  /* The locks it owned: released, as a dead thread's would not be, but a
   * dead process's must be, or every other client waits forever. */
  for (e = s->objs.head; e != NULL; e = e->next) {
    mproc__mobj *o = (mproc__mobj *)(void *)e->v.data;
    if ((o->type == MPROC__T_LOCK || o->type == MPROC__T_RLOCK ||
         o->type == MPROC__T_COND) &&
        o->owner == c && o->count > 0) {
      o->count = 0;
      o->owner = NULL;
      mproc__mpoke(o);
    }
  }
}
