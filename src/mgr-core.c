/* mproc: the manager server's object table, holds and dispatch (see
 * mgr-core.h for the lifetimes). */
#include <stdlib.h>
#include <string.h>

#include "futures-internal.h"
#include "internal.h"
#include "mgr-core.h"

static void key_of(uint32_t id, unsigned char k[4]) {
  k[0] = (unsigned char)id;
  k[1] = (unsigned char)(id >> 8);
  k[2] = (unsigned char)(id >> 16);
  k[3] = (unsigned char)(id >> 24);
}

mproc__mobj *mproc__mobj_get(mproc__msrv *s, uint32_t id) {
  unsigned char k[4];
  mproc__ment *e;
  key_of(id, k);
  e = mproc__mmap_find(&s->objs, k, 4);
  return e ? (mproc__mobj *)(void *)e->v.data : NULL;
}

static const char *type_name(int t) {
  static const char *const names[] = {
      "?",         "dict",      "list",          "Namespace", "Value",
      "Array",     "set",       "Queue",         "JoinableQueue", "Lock",
      "RLock",     "Semaphore", "BoundedSemaphore", "Condition", "Event",
      "Barrier",   "registered type"};
  return t > 0 && t < MPROC__T_COUNT ? names[t] : names[0];
}

/* What an object holds (its values' references dropped too). */
static void free_contents(mproc__msrv *s, mproc__mobj *o) {
  if (o->type == MPROC__T_REGISTERED) {
    if (o->mtype && o->mtype->destroy) o->mtype->destroy(o->state);
    o->mtype = NULL;
  } else {
    mproc__mdata_free(s, o);
    mproc__mblock_free(s, o);
  }
}

static void destroy(mproc__msrv *s, mproc__mobj *o) {
  unsigned char k[4];
  mproc__ment *e;
  /* Calls still waiting on it (their connections held no hold) end. */
  while (o->wait_head != NULL) {
    mproc__mwaiter *w = o->wait_head;
    mproc__mw_rewind_reply(&s->wreply, MPROC_ENOENT);
    mproc__mw_bytes(&s->wreply, "manager: the object was freed", 29);
    mproc__mwait_done(w);
  }
  free_contents(s, o);
  key_of(o->id, k);
  e = mproc__mmap_find(&s->objs, k, 4);
  if (e) mproc__mmap_remove(&s->objs, e);
  free(o);
}

/* Drop one hold; objects whose last hold went are freed here, the ones
 * their values held in turn after them (a list, not recursion). */
static void unhold(mproc__msrv *s, mproc__mobj *o) {
  if (--o->holds > 0) return;
  o->dnext = s->doomed;
  s->doomed = o;
  if (s->draining) return;
  s->draining = 1;
  while (s->doomed != NULL) {
    mproc__mobj *d = s->doomed;
    s->doomed = d->dnext;
    destroy(s, d);
  }
  s->draining = 0;
}

int mproc__mobj_ref(mproc__msrv *s, uint32_t id) {
  mproc__mobj *o = mproc__mobj_get(s, id);
  if (o == NULL)
    return mproc__err(MPROC_ENOENT, "manager: object %u does not exist",
                      (unsigned)id);
  o->holds++;
  return 0;
}

void mproc__mobj_unref(mproc__msrv *s, uint32_t id) {
  mproc__mobj *o = mproc__mobj_get(s, id);
  if (o != NULL) unhold(s, o);
}

void mproc__mval_clear(mproc__msrv *s, mproc__mval *v) {
  uint32_t ref = v->ref;
  free(v->data);
  v->data = NULL;
  v->len = 0;
  v->ref = 0;
  if (ref) mproc__mobj_unref(s, ref);
}

int mproc__mval_from(mproc__msrv *s, mproc__mval *v,
                     const mproc__mw_item *it) {
  mproc__mval n = {0, 0, NULL};
  if (it->tag == MPROC__MW_REF) {
    int rc = mproc__mobj_ref(s, it->ref);
    if (rc < 0) return rc;
    n.ref = it->ref;
  } else if (it->tag == MPROC__MW_BYTES) {
    n.data = malloc(it->len ? it->len : 1);
    if (n.data == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
    if (it->len) memcpy(n.data, it->p, it->len);
    n.len = it->len;
  } else {
    return mproc__err(MPROC_EINVAL, "manager protocol: a value must be "
                                    "bytes or a reference");
  }
  mproc__mval_clear(s, v);
  *v = n;
  return 0;
}

int mproc__mval_take(mproc__msrv *s, mproc__mr *r, mproc__mval *v,
                     const char *what) {
  mproc__mw_item it;
  int rc = mproc__mr_next(r, &it);
  if (rc < 0) return rc;
  if (rc == 0)
    return mproc__err(MPROC_EINVAL, "manager protocol: the %s is missing",
                      what);
  return mproc__mval_from(s, v, &it);
}

void mproc__mval_put(mproc__mw *w, const mproc__mval *v) {
  if (v->ref)
    mproc__mw_ref(w, v->ref);
  else
    mproc__mw_bytes(w, v->data, v->len);
}

int mproc__mval_eq(const mproc__mval *a, const mproc__mval *b) {
  if (a->ref || b->ref) return a->ref == b->ref;
  return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* ---- a connection's holds ----------------------------------------------- */

static int cli_hold(mproc__mcli *c, uint32_t id) {
  unsigned char k[4];
  mproc__ment *e;
  int added, rc;
  key_of(id, k);
  rc = mproc__mmap_put(&c->holds, k, 4, &e, &added);
  if (rc < 0) return rc;
  e->v.len++;
  return 0;
}

static int cli_unhold(mproc__mcli *c, uint32_t id) {
  unsigned char k[4];
  mproc__ment *e;
  key_of(id, k);
  e = mproc__mmap_find(&c->holds, k, 4);
  if (e == NULL)
    return mproc__err(MPROC_ESTATE, "manager: this connection holds no "
                                    "object %u",
                      (unsigned)id);
  if (--e->v.len == 0) mproc__mmap_remove(&c->holds, e);
  mproc__mobj_unref(c->s, id);
  return 0;
}

/* ---- CREATE and the manager's own ops ------------------------------------ */

static int create_registered(mproc__msrv *s, mproc__mobj *o, mproc__mr *r) {
  const unsigned char *name, *arg;
  size_t nl, al;
  int rc = mproc__mr_bytes(r, &name, &nl, "type name");
  if (rc == 0) rc = mproc__mr_bytes(r, &arg, &al, "argument");
  if (rc == 0) rc = mproc__mr_end(r);
  if (rc < 0) return rc;
  (void)s;
  o->mtype = mproc__mtype_find((const char *)name, nl);
  if (o->mtype == NULL)
    return mproc__err(MPROC_ENOENT, "manager: the server has no registered "
                                    "type \"%.*s\"",
                      (int)(nl > 64 ? 64 : nl), (const char *)name);
  rc = o->mtype->create(&o->state, al ? arg : NULL, al);
  if (rc < 0)
    return mproc__err(rc > 0 ? MPROC_EINVAL : rc, "manager: creating a \"%s\" "
                                                  "failed",
                      o->mtype->name);
  return 0;
}

/* Read CREATE's items (type, then the type's) and add the object to the
 * table with no hold yet. */
static int new_object(mproc__msrv *s, mproc__mr *r, mproc__mobj **out) {
  mproc__mobj *o;
  mproc__ment *e;
  unsigned char k[4];
  int64_t type;
  int added, rc = mproc__mr_int(r, &type, "type");
  if (rc < 0) return rc;
  if (type <= 0 || type >= MPROC__T_COUNT)
    return mproc__err(MPROC_EINVAL, "manager: no object type %lld",
                      (long long)type);
  o = calloc(1, sizeof *o);
  if (o == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  o->type = (int)type;
  if (type == MPROC__T_REGISTERED)
    rc = create_registered(s, o, r);
  else if (type <= MPROC__T_SET)
    rc = mproc__mdata_create(s, o, r);
  else
    rc = mproc__mblock_create(s, o, r);
  if (rc < 0 && o->type == MPROC__T_REGISTERED) o->mtype = NULL; /* none */
  if (rc == 0) {
    do { /* ids wrap after 4 G objects: skip 0 and those still alive */
      o->id = ++s->next_id;
    } while (o->id == 0 || mproc__mobj_get(s, o->id) != NULL);
    key_of(o->id, k);
    rc = mproc__mmap_put(&s->objs, k, 4, &e, &added);
  }
  if (rc < 0) {
    free_contents(s, o);
    free(o);
    return rc;
  }
  e->v.data = (unsigned char *)(void *)o;
  *out = o;
  return 0;
}

static int op_create(mproc__mcli *c, mproc__mr *r, mproc__mw *w) {
  mproc__mobj *o;
  int rc = new_object(c->s, r, &o);
  if (rc < 0) return rc;
  o->holds = 1;
  rc = cli_hold(c, o->id);
  if (rc < 0) {
    unhold(c->s, o);
    return rc;
  }
  mproc__mw_ref(w, o->id);
  return 0;
}

/* NAMED: b name, then CREATE's items. The object registered under the
 * name (made now if there is none; the name holds it until shutdown),
 * with a floating hold for the caller's ADOPT: BaseManager.register's
 * typeid that hands every client the same object. */
static int op_named(mproc__mcli *c, mproc__mr *r, mproc__mw *w) {
  mproc__msrv *s = c->s;
  const unsigned char *name;
  size_t nl;
  mproc__ment *e;
  mproc__mobj *o = NULL;
  mproc__mr probe;
  int64_t type;
  int added, rc = mproc__mr_bytes(r, &name, &nl, "name");
  if (rc == 0 && (nl == 0 || nl > 255))
    rc = mproc__err(MPROC_EINVAL, "manager: a name is 1 to 255 bytes");
  probe = *r;
  if (rc == 0) rc = mproc__mr_int(&probe, &type, "type");
  if (rc < 0) return rc;
  e = mproc__mmap_find(&s->names, name, nl);
  if (e != NULL) {
    o = mproc__mobj_get(s, (uint32_t)e->v.len);
    if (o != NULL && o->type != type)
      return mproc__err(MPROC_EINVAL, "manager: \"%.*s\" is a %s",
                        (int)nl, (const char *)name, type_name(o->type));
  }
  if (o == NULL) {
    rc = mproc__mmap_put(&s->names, name, nl, &e, &added);
    if (rc == 0) rc = new_object(s, r, &o);
    if (rc < 0) {
      if (e && added) mproc__mmap_remove(&s->names, e);
      return rc;
    }
    o->holds = 1; /* the name's */
    e->v.len = o->id;
  }
  o->holds++;
  o->floating++;
  mproc__mw_ref(w, o->id);
  return 0;
}

static void put_type(mproc__mw *w, const mproc__mobj *o) {
  mproc__mw_int(w, o->type);
  if (o->type == MPROC__T_VALUE || o->type == MPROC__T_ARRAY)
    mproc__mw_bytes(w, &o->typecode, 1);
}

static int op_manager(mproc__mcli *c, mproc__mr *r, mproc__mw *w) {
  mproc__msrv *s = c->s;
  mproc__mobj *o = NULL;
  long pid = 0;
  int rc = 0;
  if (s->n_leases > 0) mproc__mlease_sweep(s);
  switch (r->op) {
  case MPROC__OP_PING:
    mproc__mw_int(w, MPROC__MW_VERSION);
    mproc__mw_int(w, MPROC__MW_REVISION);
    return 0;
  case MPROC__OP_SHUTDOWN:
    s->stopping = 1;
    return 0;
  case MPROC__OP_CREATE:
    return op_create(c, r, w);
  case MPROC__OP_NAMED:
    return op_named(c, r, w);
  default:
    break;
  }
  o = mproc__mobj_get(s, r->id);
  if (o == NULL)
    return mproc__err(MPROC_ENOENT, "manager: object %u does not exist",
                      (unsigned)r->id);
  switch (r->op) {
  case MPROC__OP_INCREF:
    rc = cli_hold(c, o->id);
    if (rc < 0) return rc;
    o->holds++;
    put_type(w, o);
    return 0;
  case MPROC__OP_DECREF:
    return cli_unhold(c, o->id);
  case MPROC__OP_HOLD:
    o->holds++;
    o->floating++;
    return 0;
  case MPROC__OP_ADOPT: /* [i pid]: a child's, which may hold a lease */
    rc = mproc__mlease_pid(r, &pid, 1);
    if (rc == 0) rc = cli_hold(c, o->id);
    if (rc == 0) rc = mproc__mlease_adopt(s, o, pid);
    if (rc < 0) return rc;
    put_type(w, o);
    return 0;
  case MPROC__OP_LEASE: /* i pid */
    rc = mproc__mlease_pid(r, &pid, 0);
    return rc < 0 ? rc : mproc__mlease_lease(s, o, pid);
  case MPROC__OP_TYPEOF:
    put_type(w, o);
    return 0;
  default:
    return mproc__err(MPROC_EINVAL, "manager protocol: no operation %u",
                      r->op);
  }
}

/* ---- registered types ---------------------------------------------------- */

static int op_call(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                   mproc__mw *w) {
  const unsigned char *m, *arg;
  size_t ml, al;
  char method[256];
  mproc_buf out;
  int rc = mproc__mr_bytes(r, &m, &ml, "method name");
  (void)c;
  if (rc == 0) rc = mproc__mr_bytes(r, &arg, &al, "argument");
  if (rc == 0) rc = mproc__mr_end(r);
  if (rc < 0) return rc;
  if (ml == 0 || ml >= sizeof method || memchr(m, 0, ml) != NULL)
    return mproc__err(MPROC_EINVAL, "manager: a method name is 1 to %zu "
                                    "bytes without NUL",
                      sizeof method - 1);
  memcpy(method, m, ml);
  method[ml] = '\0';
  memset(&out, 0, sizeof out);
  rc = o->mtype->call(o->state, method, al ? arg : NULL, al, &out);
  if (rc == 0 && out.msg == NULL) {
    mproc__mw_bytes(w, out.data, out.len);
  } else {
    if (rc >= 0) rc = MPROC_ETASK;
    mproc__err(rc, "%s.%s: %s", o->mtype->name, method,
               out.msg ? out.msg : "failed");
  }
  mproc__buf_reset(&out);
  return rc;
}

/* ---- dispatch ------------------------------------------------------------ */

void mproc__msrv_init(mproc__msrv *s, uv_loop_t *loop, mproc__msend_fn send,
                      mproc__mstop_fn stop) {
  memset(s, 0, sizeof *s);
  s->loop = loop;
  s->send = send;
  s->stop = stop;
}

void mproc__mcli_init(mproc__mcli *c, mproc__msrv *s) {
  memset(c, 0, sizeof *c);
  c->s = s;
}

void mproc__msrv_send(mproc__mcli *c, mproc__mw *w) {
  if (w->oom) {
    mproc__mw_rewind_reply(w, MPROC_ENOMEM);
    mproc__mw_bytes(w, "manager: out of memory for the reply", 36);
  }
  if (!c->gone && !w->oom) c->s->send(c, w->buf, w->len);
}

static void error_reply(mproc__mw *w, int rc) {
  const char *why = mproc_last_error();
  mproc__mw_rewind_reply(w, rc);
  mproc__mw_bytes(w, why, strlen(why));
}

/* *held: the object the call is on, held during it (the call may drop
 * the last hold of things that held it: a cycle nobody else holds). */
static int dispatch(mproc__mcli *c, mproc__mr *r, mproc__mw *w,
                    mproc__mobj **held) {
  mproc__mobj *o;
  mproc__mop op;
  if (r->kind != MPROC__MW_REQ)
    return mproc__err(MPROC_EINVAL, "manager protocol: a reply sent to "
                                    "the server");
  if (r->op < 100) return op_manager(c, r, w);
  o = mproc__mobj_get(c->s, r->id);
  if (o == NULL)
    return mproc__err(MPROC_ENOENT, "manager: object %u does not exist",
                      (unsigned)r->id);
  if (r->op == MPROC__OP_CALL && o->type == MPROC__T_REGISTERED) {
    op = op_call;
  } else {
    op = mproc__mdata_op(o->type, r->op);
    if (op == NULL) op = mproc__mblock_op(o->type, r->op);
  }
  if (op == NULL)
    return mproc__err(MPROC_EINVAL, "manager: operation %u is not one of "
                                    "a %s",
                      r->op, type_name(o->type));
  o->holds++;
  *held = o;
  return op(c, o, r, w);
}

int mproc__msrv_request(mproc__mcli *c, const void *msg, size_t len) {
  mproc__msrv *s = c->s;
  mproc__mw *w = &s->reply;
  mproc__mobj *held = NULL;
  mproc__mr r;
  int rc;
  if (c->waiting != NULL) return -1; /* one call at a time per connection */
  mproc__mw_rewind_reply(w, 0);
  rc = mproc__mr_init(&r, msg, len);
  if (rc == 0) rc = dispatch(c, &r, w, &held);
  if (rc != MPROC__PENDING) {
    if (rc < 0) error_reply(w, rc);
    mproc__msrv_send(c, w);
  }
  if (held != NULL) unhold(s, held);
  if (s->stopping && s->stop) s->stop(s);
  return 0;
}

void mproc__mcli_end(mproc__mcli *c) {
  mproc__msrv *s = c->s;
  c->gone = 1;
  mproc__mblock_client_end(c);
  while (c->holds.head != NULL) {
    mproc__ment *e = c->holds.head;
    uint32_t id = (uint32_t)e->key[0] | (uint32_t)e->key[1] << 8 |
                  (uint32_t)e->key[2] << 16 | (uint32_t)e->key[3] << 24;
    size_t n = e->v.len;
    mproc__mmap_remove(&c->holds, e);
    while (n-- > 0) mproc__mobj_unref(s, id);
  }
  free(c->holds.slots);
  c->holds.slots = NULL;
  c->holds.nslots = 0;
}

void mproc__msrv_free(mproc__msrv *s) {
  /* Every connection has ended; what is left is held by floating holds,
   * values, or cycles: free it all, breaking references first. */
  mproc__ment *e;
  for (e = s->objs.head; e != NULL; e = e->next) {
    mproc__mobj *o = (mproc__mobj *)(void *)e->v.data;
    o->holds = 1 << 30; /* no frees while values drop their references */
  }
  for (e = s->objs.head; e != NULL; e = e->next) {
    free_contents(s, (mproc__mobj *)(void *)e->v.data);
  }
  while (s->objs.head != NULL) {
    mproc__mobj *o = (mproc__mobj *)(void *)s->objs.head->v.data;
    mproc__mmap_remove(&s->objs, s->objs.head);
    free(o);
  }
  free(s->objs.slots);
  s->objs.slots = NULL;
  s->objs.nslots = 0;
  while (s->names.head != NULL) mproc__mmap_remove(&s->names, s->names.head);
  free(s->names.slots);
  s->names.slots = NULL;
  s->names.nslots = 0;
  mproc__mw_free(&s->reply);
  mproc__mw_free(&s->wreply);
  mproc__mlease_free(s);
}
