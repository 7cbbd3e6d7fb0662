/* mproc: proxies — the client side of every manager call, one round trip
 * each: a request built in the proxy's writer, sent on its own connection,
 * the reply read back (mgr-wire.h). The typed families below check the
 * proxy's type first, so a list proxy handed to mproc_dict_get fails with
 * a sentence instead of reaching the server. */
#include <stdlib.h>
#include <string.h>

#include "mgr-client.h"

#define EOF_SENTENCE                                                          \
  "manager: the server closed the connection (it shut down or died)"
#define CLOSED_SENTENCE "manager: the proxy was closed (mproc_proxy_close)"

/* ---- the connection and the round trip ----------------------------------- */

int mproc__mproxy_connect(mproc_proxy **out, const char *address,
                          const void *key, size_t key_len, double timeout) {
  mproc_proxy *p;
  int rc;
  *out = NULL;
  if (address == NULL || strlen(address) >= MPROC_ADDRESS_MAX)
    return mproc__err(MPROC_EINVAL, "manager: no address, or one over %d "
                                    "bytes",
                      MPROC_ADDRESS_MAX - 1);
  p = calloc(1, sizeof *p);
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  if (uv_mutex_init(&p->lock) != 0) {
    free(p);
    return mproc__err(MPROC_ENOMEM, "manager: uv_mutex_init failed");
  }
  p->pid = mproc_current_pid();
  snprintf(p->address, sizeof p->address, "%s", address);
  if (key != NULL) {
    p->key = malloc(key_len ? key_len : 1);
    if (p->key == NULL) {
      mproc__mproxy_free(p);
      return mproc__err(MPROC_ENOMEM, "manager: out of memory");
    }
    if (key_len) memcpy(p->key, key, key_len);
    p->key_len = key_len;
  }
  rc = mproc_client_connect(&p->conn, address, MPROC_FAMILY_DEFAULT, key,
                            key_len, timeout);
  if (rc < 0) {
    mproc__mproxy_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

void mproc__mreq(mproc_proxy *p, unsigned op, uint32_t id) {
  uv_mutex_lock(&p->lock);
  p->w.oom = 0;
  mproc__mw_request(&p->w, op, id);
}

int mproc__mrpc(mproc_proxy *p, mproc__mrep *rep) {
  size_t n = 0;
  int rc;
  rep->msg = NULL;
  if (atomic_load(&p->closed)) {
    uv_mutex_unlock(&p->lock);
    return mproc__err(MPROC_ECLOSED, CLOSED_SENTENCE);
  }
  if (p->w.oom) {
    uv_mutex_unlock(&p->lock);
    return mproc__err(MPROC_ENOMEM, "manager: out of memory for a request");
  }
  rc = p->conn ? mproc_conn_send(p->conn, p->w.buf, p->w.len) : MPROC_EEOF;
  if (rc == 0) rc = mproc_conn_recv_alloc(p->conn, &rep->msg, &n);
  uv_mutex_unlock(&p->lock);
  if (rc < 0 && atomic_load(&p->closed)) {
    /* mproc_proxy_close in another thread ended this call. */
    mproc_free(rep->msg);
    rep->msg = NULL;
    return mproc__err(MPROC_ECLOSED, CLOSED_SENTENCE);
  }
  if (rc == MPROC_EEOF || rc == MPROC_ECLOSED || rc == MPROC_EOS)
    return mproc__err(MPROC_EEOF, EOF_SENTENCE);
  if (rc < 0) return rc;
  if (n >= 11 && memcmp(rep->msg, "#CHALLENGE#", 11) == 0) {
    mproc__mrep_done(rep);
    return mproc__err(MPROC_EAUTH, "manager: the server wants an authkey, "
                                   "and none was given");
  }
  rc = mproc__mr_init(&rep->r, rep->msg, n);
  if (rc == 0 && rep->r.kind != MPROC__MW_REP)
    rc = mproc__err(MPROC_EINVAL, "manager protocol: the server sent a "
                                  "request");
  if (rc == 0 && rep->r.status < 0) {
    const unsigned char *why = (const unsigned char *)"";
    size_t wl = 0;
    (void)mproc__mr_bytes(&rep->r, &why, &wl, "sentence");
    rc = rep->r.status < -100 ? MPROC_EINVAL : rep->r.status;
    mproc__err(rc, "%.*s", (int)(wl > 400 ? 400 : wl), (const char *)why);
  }
  if (rc < 0) mproc__mrep_done(rep);
  return rc;
}

void mproc__mrep_done(mproc__mrep *rep) {
  mproc_free(rep->msg);
  rep->msg = NULL;
}

int mproc__mproxy_typed(mproc_proxy *p, mproc__mrep *rep) {
  int64_t t;
  mproc__mw_item it;
  int rc = mproc__mr_int(&rep->r, &t, "type");
  if (rc < 0) return rc;
  p->type = (int)t;
  if (mproc__mr_next(&rep->r, &it) == 1 && it.tag == MPROC__MW_BYTES &&
      it.len == 1)
    p->typecode = (char)it.p[0];
  return 0;
}

void mproc__mproxy_free(mproc_proxy *p) {
  if (p == NULL) return;
  mproc_conn_free(p->conn);
  mproc_array_free(p->ticket);
  mproc__mw_free(&p->w);
  free(p->key);
  uv_mutex_destroy(&p->lock);
  free(p);
}

int mproc__mproxy_take(mproc_proxy *p, unsigned op, uint32_t id, long pid) {
  mproc__mrep rep;
  int rc;
  mproc__mreq(p, op, id);
  if (pid) mproc__mw_int(&p->w, pid);
  rc = mproc__mrpc(p, &rep);
  if (rc == 0) {
    rc = mproc__mproxy_typed(p, &rep);
    mproc__mrep_done(&rep);
  }
  if (rc == 0) p->id = id;
  return rc;
}

/* Open by id: op INCREF (a new hold) or ADOPT (take a floating one). */
static int open_as(mproc_proxy **out, const char *address, const void *key,
                   size_t key_len, uint32_t id, unsigned op, double timeout) {
  mproc_proxy *p;
  int rc = mproc__mproxy_connect(&p, address, key, key_len, timeout);
  if (rc < 0) return rc;
  rc = mproc__mproxy_take(p, op, id,
                          op == MPROC__OP_ADOPT ? mproc_current_pid() : 0);
  if (rc < 0) {
    mproc__mproxy_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

int mproc__mproxy_adopt(const char *address, const void *key, size_t key_len,
                        uint32_t id, mproc_proxy **out) {
  return open_as(out, address, key, key_len, id, MPROC__OP_ADOPT, 60);
}

int mproc_proxy_open(mproc_proxy **out, const char *address,
                     const void *authkey, size_t key_len, uint32_t id,
                     double timeout) {
  if (out == NULL) return mproc__err(MPROC_EINVAL, "proxy_open: out is NULL");
  *out = NULL;
  if (id == 0) return mproc__err(MPROC_EINVAL, "proxy_open: id 0 is no object");
  return open_as(out, address, authkey, key_len, id, MPROC__OP_INCREF,
                 timeout);
}

uint32_t mproc_proxy_id(const mproc_proxy *p) { return p ? p->id : 0; }

mproc_proxy_type mproc_proxy_type_of(const mproc_proxy *p) {
  return p ? (mproc_proxy_type)p->type : (mproc_proxy_type)0;
}

const char *mproc_proxy_address(const mproc_proxy *p) {
  return p ? p->address : NULL;
}

int mproc_proxy_close(mproc_proxy *p) {
  if (p == NULL) return mproc__err(MPROC_EINVAL, "proxy_close: p is NULL");
  if (atomic_exchange(&p->closed, 1)) return 0;
  /* Wakes a recv waiting in another thread; the server sees the end and
   * drops the connection's holds, waiter and locks. */
  return p->conn ? mproc_conn_close(p->conn) : 0;
}

void mproc_proxy_free(mproc_proxy *p) {
  mproc__mrep rep;
  if (p == NULL) return;
  /* Only the process that made the handle speaks for its hold; a fork
   * child's copy of the connection is not its own. A closed proxy's
   * connection end dropped it already. */
  if (p->conn && p->id && p->pid == mproc_current_pid() &&
      !atomic_load(&p->closed)) {
    mproc__mreq(p, MPROC__OP_DECREF, p->id);
    if (mproc__mrpc(p, &rep) == 0) mproc__mrep_done(&rep);
  }
  mproc__mproxy_free(p);
}

/* ---- helpers for the typed calls ------------------------------------------ */

static const char *const type_names[] = {
    "?",     "dict",     "list",  "Namespace", "Value",
    "Array", "set",      "Queue", "JoinableQueue", "Lock",
    "RLock", "Semaphore", "BoundedSemaphore", "Condition", "Event",
    "Barrier", "registered"};

static const char *tname(int t) {
  return t > 0 && t <= MPROC_PROXY_REGISTERED ? type_names[t] : type_names[0];
}

/* p is a proxy of one of the types in mask (bit t). */
int mproc__mpx_check(const mproc_proxy *p, unsigned mask, const char *fn) {
  if (p == NULL) return mproc__err(MPROC_EINVAL, "%s: the proxy is NULL", fn);
  if (!(mask & (1u << p->type)))
    return mproc__err(MPROC_EINVAL, "%s: the proxy is a %s proxy", fn,
                      tname(p->type));
  return 0;
}


/* One request with an optional bytes item; the reply kept in *rep. */
int mproc__mpx_call(mproc_proxy *p, unsigned op, const void *b, size_t bl,
                  int with_b, mproc__mrep *rep) {
  mproc__mreq(p, op, p->id);
  if (with_b) mproc__mw_bytes(&p->w, b, bl);
  return mproc__mrpc(p, rep);
}

int mproc__mpx_done(mproc__mrep *rep, int rc) {
  mproc__mrep_done(rep);
  return rc;
}

/* The reply's next item as a malloc'd copy; MPROC_ESTATE for a proxy. */
int mproc__mpx_copy(mproc__mrep *rep, void **out, size_t *len) {
  mproc__mw_item it;
  int rc = mproc__mr_next(&rep->r, &it);
  *out = NULL;
  if (len) *len = 0;
  if (rc <= 0) return rc < 0 ? rc : mproc__err(MPROC_EINVAL, "manager: an "
                                                             "empty reply");
  if (it.tag == MPROC__MW_REF)
    return mproc__err(MPROC_ESTATE, "manager: the value is a proxy (object "
                                    "%u): use the _get_proxy call",
                      (unsigned)it.ref);
  if (it.tag != MPROC__MW_BYTES)
    return mproc__err(MPROC_EINVAL, "manager protocol: a value is no bytes");
  *out = malloc(it.len ? it.len : 1);
  if (*out == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  if (it.len) memcpy(*out, it.p, it.len);
  if (len) *len = it.len;
  return 0;
}

int mproc__mpx_int(mproc__mrep *rep, int64_t *v) {
  return mproc__mr_int(&rep->r, v, "result");
}

/* A reply 'r' item as a new proxy: the server took a floating hold. */
static int take_proxy(mproc_proxy *p, mproc__mrep *rep, mproc_proxy **out) {
  mproc__mw_item it;
  int rc = mproc__mr_next(&rep->r, &it);
  if (rc == 1 && it.tag != MPROC__MW_REF)
    return mproc__err(MPROC_ESTATE, "manager: the value is bytes, not a "
                                    "proxy");
  if (rc <= 0) return rc < 0 ? rc : mproc__err(MPROC_EINVAL, "manager: an "
                                                             "empty reply");
  return mproc__mproxy_adopt(p->address, p->key, p->key_len, it.ref, out);
}

struct mproc_items {
  size_t n;
  mproc_bytes *v;
  void *msg;
};

/* Every item of the reply as a snapshot (a proxy value: empty bytes). */
int mproc__mpx_items(mproc__mrep *rep, mproc_items **out) {
  mproc__mr probe = rep->r;
  mproc__mw_item it;
  mproc_items *s;
  size_t n = 0;
  int rc;
  while ((rc = mproc__mr_next(&probe, &it)) == 1) n++;
  if (rc < 0) return rc;
  s = calloc(1, sizeof *s);
  if (s) s->v = calloc(n ? n : 1, sizeof *s->v);
  if (s == NULL || s->v == NULL) {
    free(s);
    return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  }
  for (s->n = 0; mproc__mr_next(&rep->r, &it) == 1; s->n++) {
    s->v[s->n].data = it.tag == MPROC__MW_BYTES ? it.p : (const void *)"";
    s->v[s->n].len = it.tag == MPROC__MW_BYTES ? it.len : 0;
  }
  s->msg = rep->msg; /* the snapshot points into it */
  rep->msg = NULL;
  *out = s;
  return 0;
}

size_t mproc_items_count(const mproc_items *it) { return it ? it->n : 0; }

int mproc_items_get(const mproc_items *it, size_t i, const void **data,
                    size_t *len) {
  if (it == NULL || data == NULL || len == NULL)
    return mproc__err(MPROC_EINVAL, "items_get: a NULL argument");
  if (i >= it->n)
    return mproc__err(MPROC_ERANGE, "items_get: item %zu of %zu", i, it->n);
  *data = it->v[i].data;
  *len = it->v[i].len;
  return 0;
}

void mproc_items_free(mproc_items *it) {
  if (it == NULL) return;
  mproc_free(it->msg);
  free(it->v);
  free(it);
}

/* A bytes-keyed call of the types in mask, with an optional out value. */
int mproc__mpx_keyed(mproc_proxy *p, unsigned mask, unsigned op, const char *fn,
                 const void *k, size_t kl, void **v, size_t *vl) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(p, mask, fn);
  if (rc == 0 && k == NULL && kl > 0)
    rc = mproc__err(MPROC_EINVAL, "%s: the key is NULL", fn);
  if (rc == 0 && v != NULL && vl == NULL)
    rc = mproc__err(MPROC_EINVAL, "%s: the length pointer is NULL", fn);
  if (rc < 0) return rc;
  rc = mproc__mpx_call(p, op, k, kl, 1, &rep);
  if (rc < 0) return rc;
  return mproc__mpx_done(&rep, v ? mproc__mpx_copy(&rep, v, vl) : 0);
}

/* ---- dict -------------------------------------------------------------------- */

#define DICT MPROC__BIT(MPROC_PROXY_DICT)

int mproc_dict_set(mproc_proxy *d, const void *key, size_t klen,
                   const void *value, size_t vlen) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(d, DICT, "dict_set");
  if (rc == 0 && ((key == NULL && klen) || (value == NULL && vlen)))
    rc = mproc__err(MPROC_EINVAL, "dict_set: a NULL key or value");
  if (rc < 0) return rc;
  mproc__mreq(d, MPROC__OP_DICT_SET, d->id);
  mproc__mw_bytes(&d->w, key, klen);
  mproc__mw_bytes(&d->w, value, vlen);
  rc = mproc__mrpc(d, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, 0);
}

/* The proxy `v` may be stored in one of p's server's objects. */
static int same_server(const mproc_proxy *p, const mproc_proxy *v,
                       const char *fn) {
  if (v == NULL) return mproc__err(MPROC_EINVAL, "%s: the value is NULL", fn);
  if (strcmp(p->address, v->address) != 0)
    return mproc__err(MPROC_EINVAL, "%s: the value is a proxy of another "
                                    "manager (%s)",
                      fn, v->address);
  return 0;
}

int mproc_dict_set_proxy(mproc_proxy *d, const void *key, size_t klen,
                         const mproc_proxy *value) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(d, DICT, "dict_set_proxy");
  if (rc == 0) rc = same_server(d, value, "dict_set_proxy");
  if (rc == 0 && key == NULL && klen)
    rc = mproc__err(MPROC_EINVAL, "dict_set_proxy: the key is NULL");
  if (rc < 0) return rc;
  mproc__mreq(d, MPROC__OP_DICT_SET, d->id);
  mproc__mw_bytes(&d->w, key, klen);
  mproc__mw_ref(&d->w, value->id);
  rc = mproc__mrpc(d, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, 0);
}

int mproc_dict_get(mproc_proxy *d, const void *key, size_t klen, void **value,
                   size_t *vlen) {
  if (value == NULL)
    return mproc__err(MPROC_EINVAL, "dict_get: value is NULL");
  return mproc__mpx_keyed(d, DICT, MPROC__OP_DICT_GET, "dict_get", key, klen, value,
               vlen);
}

int mproc_dict_get_proxy(mproc_proxy *d, const void *key, size_t klen,
                         mproc_proxy **out) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(d, DICT, "dict_get_proxy");
  if (rc == 0 && out == NULL)
    rc = mproc__err(MPROC_EINVAL, "dict_get_proxy: out is NULL");
  if (rc < 0) return rc;
  *out = NULL;
  mproc__mreq(d, MPROC__OP_DICT_GET, d->id);
  mproc__mw_bytes(&d->w, key, klen);
  mproc__mw_none(&d->w); /* hold a referenced object for our ADOPT */
  rc = mproc__mrpc(d, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, take_proxy(d, &rep, out));
}

int mproc_dict_delete(mproc_proxy *d, const void *key, size_t klen) {
  return mproc__mpx_keyed(d, DICT, MPROC__OP_DICT_DEL, "dict_delete", key, klen, NULL,
               NULL);
}

/* An int-valued call: the result (>= 0) or an error. */
int mproc__mpx_intcall(mproc_proxy *p, unsigned mask, unsigned op, const char *fn,
                    const void *b, size_t bl, int with_b, int64_t *v) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(p, mask, fn);
  if (rc == 0 && with_b && b == NULL && bl > 0)
    rc = mproc__err(MPROC_EINVAL, "%s: a NULL argument", fn);
  if (rc < 0) return rc;
  rc = mproc__mpx_call(p, op, b, bl, with_b, &rep);
  if (rc < 0) return rc;
  return mproc__mpx_done(&rep, mproc__mpx_int(&rep, v));
}

int mproc_dict_contains(mproc_proxy *d, const void *key, size_t klen) {
  int64_t v = 0;
  int rc = mproc__mpx_intcall(d, DICT, MPROC__OP_DICT_CONTAINS, "dict_contains", key,
                    klen, 1, &v);
  return rc < 0 ? rc : (int)v;
}

int mproc__mpx_len(mproc_proxy *p, unsigned mask, unsigned op, const char *fn,
                    size_t *n) {
  int64_t v = 0;
  int rc;
  if (n == NULL) return mproc__err(MPROC_EINVAL, "%s: n is NULL", fn);
  rc = mproc__mpx_intcall(p, mask, op, fn, NULL, 0, 0, &v);
  *n = rc < 0 ? 0 : (size_t)v;
  return rc;
}

int mproc_dict_len(mproc_proxy *d, size_t *n) {
  return mproc__mpx_len(d, DICT, MPROC__OP_DICT_LEN, "dict_len", n);
}

int mproc__mpx_snapshot(mproc_proxy *p, unsigned mask, unsigned op, const char *fn,
                    mproc_items **out) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(p, mask, fn);
  if (rc == 0 && out == NULL) rc = mproc__err(MPROC_EINVAL, "%s: out is NULL", fn);
  if (rc < 0) return rc;
  *out = NULL;
  rc = mproc__mpx_call(p, op, NULL, 0, 0, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, mproc__mpx_items(&rep, out));
}

int mproc_dict_keys(mproc_proxy *d, mproc_items **out) {
  return mproc__mpx_snapshot(d, DICT, MPROC__OP_DICT_KEYS, "dict_keys", out);
}

int mproc_dict_values(mproc_proxy *d, mproc_items **out) {
  return mproc__mpx_snapshot(d, DICT, MPROC__OP_DICT_VALUES, "dict_values", out);
}

int mproc_dict_items(mproc_proxy *d, mproc_items **out) {
  return mproc__mpx_snapshot(d, DICT, MPROC__OP_DICT_ITEMS, "dict_items", out);
}

/* A request carrying n byte strings (update: pairs, extend, set_slice). */
int mproc__mpx_many(mproc_proxy *p, unsigned op, const int64_t *ints, size_t ni,
                const mproc_bytes *v, size_t n, const char *fn) {
  mproc__mrep rep;
  size_t i;
  int rc;
  if (v == NULL && n > 0) return mproc__err(MPROC_EINVAL, "%s: NULL items", fn);
  for (i = 0; i < n; i++)
    if (v[i].data == NULL && v[i].len > 0)
      return mproc__err(MPROC_EINVAL, "%s: item %zu is NULL", fn, i);
  mproc__mreq(p, op, p->id);
  for (i = 0; i < ni; i++) mproc__mw_int(&p->w, ints[i]);
  for (i = 0; i < n; i++) mproc__mw_bytes(&p->w, v[i].data, v[i].len);
  rc = mproc__mrpc(p, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, 0);
}

int mproc_dict_update(mproc_proxy *d, const mproc_bytes *pairs, size_t n) {
  int rc = mproc__mpx_check(d, DICT, "dict_update");
  if (rc == 0 && n > ((size_t)-1) / 4)
    rc = mproc__err(MPROC_ERANGE, "dict_update: n is out of range");
  return rc < 0 ? rc : mproc__mpx_many(d, MPROC__OP_DICT_UPDATE, NULL, 0, pairs, 2 * n,
                            "dict_update");
}

int mproc_dict_pop(mproc_proxy *d, const void *key, size_t klen, void **value,
                   size_t *vlen) {
  if (value == NULL) return mproc__err(MPROC_EINVAL, "dict_pop: value is NULL");
  return mproc__mpx_keyed(d, DICT, MPROC__OP_DICT_POP, "dict_pop", key, klen, value, vlen);
}

int mproc_dict_setdefault(mproc_proxy *d, const void *key, size_t klen,
                          const void *dflt, size_t dlen, void **value,
                          size_t *vlen) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(d, DICT, "dict_setdefault");
  if (rc == 0 && (value == NULL || vlen == NULL || (key == NULL && klen) ||
                  (dflt == NULL && dlen)))
    rc = mproc__err(MPROC_EINVAL, "dict_setdefault: a NULL argument");
  if (rc < 0) return rc;
  mproc__mreq(d, MPROC__OP_DICT_SETDEFAULT, d->id);
  mproc__mw_bytes(&d->w, key, klen);
  mproc__mw_bytes(&d->w, dflt, dlen);
  rc = mproc__mrpc(d, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, mproc__mpx_copy(&rep, value, vlen));
}

int mproc_dict_clear(mproc_proxy *d) {
  int rc = mproc__mpx_check(d, DICT, "dict_clear");
  return rc < 0 ? rc : mproc__mpx_many(d, MPROC__OP_DICT_CLEAR, NULL, 0, NULL, 0,
                            "dict_clear");
}

/* ---- list ---------------------------------------------------------------------- */

#define LIST MPROC__BIT(MPROC_PROXY_LIST)

int mproc_list_append(mproc_proxy *l, const void *value, size_t len) {
  mproc_bytes b;
  int rc = mproc__mpx_check(l, LIST, "list_append");
  b.data = value;
  b.len = len;
  return rc < 0 ? rc : mproc__mpx_many(l, MPROC__OP_LIST_APPEND, NULL, 0, &b, 1,
                            "list_append");
}

int mproc_list_append_proxy(mproc_proxy *l, const mproc_proxy *value) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(l, LIST, "list_append_proxy");
  if (rc == 0) rc = same_server(l, value, "list_append_proxy");
  if (rc < 0) return rc;
  mproc__mreq(l, MPROC__OP_LIST_APPEND, l->id);
  mproc__mw_ref(&l->w, value->id);
  rc = mproc__mrpc(l, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, 0);
}

int mproc_list_extend(mproc_proxy *l, const mproc_bytes *values, size_t n) {
  int rc = mproc__mpx_check(l, LIST, "list_extend");
  return rc < 0 ? rc : mproc__mpx_many(l, MPROC__OP_LIST_EXTEND, NULL, 0, values, n,
                            "list_extend");
}

static int indexed(mproc_proxy *l, unsigned op, long i, int hold,
                   mproc__mrep *rep) {
  mproc__mreq(l, op, l->id);
  mproc__mw_int(&l->w, i);
  if (hold) mproc__mw_none(&l->w);
  return mproc__mrpc(l, rep);
}

int mproc_list_get(mproc_proxy *l, long i, void **value, size_t *len) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(l, LIST, "list_get");
  if (rc == 0 && (value == NULL || len == NULL))
    rc = mproc__err(MPROC_EINVAL, "list_get: value or len is NULL");
  if (rc < 0) return rc;
  rc = indexed(l, MPROC__OP_LIST_GET, i, 0, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, mproc__mpx_copy(&rep, value, len));
}

int mproc_list_get_proxy(mproc_proxy *l, long i, mproc_proxy **out) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(l, LIST, "list_get_proxy");
  if (rc == 0 && out == NULL)
    rc = mproc__err(MPROC_EINVAL, "list_get_proxy: out is NULL");
  if (rc < 0) return rc;
  *out = NULL;
  rc = indexed(l, MPROC__OP_LIST_GET, i, 1, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, take_proxy(l, &rep, out));
}

int mproc_list_set(mproc_proxy *l, long i, const void *value, size_t len) {
  mproc_bytes b;
  int64_t at = i;
  int rc = mproc__mpx_check(l, LIST, "list_set");
  b.data = value;
  b.len = len;
  return rc < 0 ? rc : mproc__mpx_many(l, MPROC__OP_LIST_SET, &at, 1, &b, 1, "list_set");
}

int mproc_list_slice(mproc_proxy *l, long start, long stop, mproc_items **out) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(l, LIST, "list_slice");
  if (rc == 0 && out == NULL)
    rc = mproc__err(MPROC_EINVAL, "list_slice: out is NULL");
  if (rc < 0) return rc;
  *out = NULL;
  mproc__mreq(l, MPROC__OP_LIST_SLICE, l->id);
  mproc__mw_int(&l->w, start);
  mproc__mw_int(&l->w, stop);
  rc = mproc__mrpc(l, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, mproc__mpx_items(&rep, out));
}

int mproc_list_set_slice(mproc_proxy *l, long start, long stop,
                         const mproc_bytes *values, size_t n) {
  int64_t b[2];
  int rc = mproc__mpx_check(l, LIST, "list_set_slice");
  b[0] = start;
  b[1] = stop;
  return rc < 0 ? rc : mproc__mpx_many(l, MPROC__OP_LIST_SET_SLICE, b, 2, values, n,
                            "list_set_slice");
}

int mproc_list_pop(mproc_proxy *l, long i, void **value, size_t *len) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(l, LIST, "list_pop");
  if (rc == 0 && (value == NULL || len == NULL))
    rc = mproc__err(MPROC_EINVAL, "list_pop: value or len is NULL");
  if (rc < 0) return rc;
  rc = indexed(l, MPROC__OP_LIST_POP, i, 0, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, mproc__mpx_copy(&rep, value, len));
}

int mproc_list_insert(mproc_proxy *l, long i, const void *value, size_t len) {
  mproc_bytes b;
  int64_t at = i;
  int rc = mproc__mpx_check(l, LIST, "list_insert");
  b.data = value;
  b.len = len;
  return rc < 0 ? rc : mproc__mpx_many(l, MPROC__OP_LIST_INSERT, &at, 1, &b, 1,
                            "list_insert");
}

int mproc_list_len(mproc_proxy *l, size_t *n) {
  return mproc__mpx_len(l, LIST, MPROC__OP_LIST_LEN, "list_len", n);
}

int mproc_list_index(mproc_proxy *l, const void *value, size_t len,
                     size_t *i) {
  int64_t v = 0;
  int rc;
  if (i == NULL) return mproc__err(MPROC_EINVAL, "list_index: i is NULL");
  rc = mproc__mpx_intcall(l, LIST, MPROC__OP_LIST_INDEX, "list_index", value, len, 1, &v);
  *i = (size_t)v;
  return rc;
}

int mproc_list_count(mproc_proxy *l, const void *value, size_t len,
                     size_t *n) {
  int64_t v = 0;
  int rc;
  if (n == NULL) return mproc__err(MPROC_EINVAL, "list_count: n is NULL");
  rc = mproc__mpx_intcall(l, LIST, MPROC__OP_LIST_COUNT, "list_count", value, len, 1, &v);
  *n = (size_t)v;
  return rc;
}

int mproc_list_remove(mproc_proxy *l, const void *value, size_t len) {
  return mproc__mpx_keyed(l, LIST, MPROC__OP_LIST_REMOVE, "list_remove", value, len, NULL,
               NULL);
}

int mproc_list_reverse(mproc_proxy *l) {
  int rc = mproc__mpx_check(l, LIST, "list_reverse");
  return rc < 0 ? rc : mproc__mpx_many(l, MPROC__OP_LIST_REVERSE, NULL, 0, NULL,
                                       0, "list_reverse");
}

int mproc_list_sort(mproc_proxy *l, unsigned flags) {
  int64_t f = flags;
  int rc = mproc__mpx_check(l, LIST, "list_sort");
  if (rc == 0 && (flags & ~MPROC_LIST_SORT_REVERSE))
    rc = mproc__err(MPROC_EINVAL, "list_sort: unknown flags 0x%x",
                    flags & ~MPROC_LIST_SORT_REVERSE);
  return rc < 0 ? rc : mproc__mpx_many(l, MPROC__OP_LIST_SORT, &f, 1, NULL, 0,
                                       "list_sort");
}

/* ---- Namespace ------------------------------------------------------------------ */

#define NS MPROC__BIT(MPROC_PROXY_NAMESPACE)

static int ns_name(const char *name, const char *fn) {
  if (name == NULL) return mproc__err(MPROC_EINVAL, "%s: name is NULL", fn);
  return 0;
}

int mproc_ns_set(mproc_proxy *ns, const char *name, const void *value,
                 size_t len) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(ns, NS, "ns_set");
  if (rc == 0) rc = ns_name(name, "ns_set");
  if (rc == 0 && value == NULL && len)
    rc = mproc__err(MPROC_EINVAL, "ns_set: value is NULL");
  if (rc < 0) return rc;
  mproc__mreq(ns, MPROC__OP_NS_SET, ns->id);
  mproc__mw_bytes(&ns->w, name, strlen(name));
  mproc__mw_bytes(&ns->w, value, len);
  rc = mproc__mrpc(ns, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, 0);
}

int mproc_ns_get(mproc_proxy *ns, const char *name, void **value,
                 size_t *len) {
  int rc = ns_name(name, "ns_get");
  if (rc == 0 && value == NULL)
    rc = mproc__err(MPROC_EINVAL, "ns_get: value is NULL");
  return rc < 0 ? rc : mproc__mpx_keyed(ns, NS, MPROC__OP_NS_GET, "ns_get", name,
                             strlen(name), value, len);
}

int mproc_ns_delete(mproc_proxy *ns, const char *name) {
  int rc = ns_name(name, "ns_delete");
  return rc < 0 ? rc : mproc__mpx_keyed(ns, NS, MPROC__OP_NS_DEL, "ns_delete", name,
                             strlen(name), NULL, NULL);
}
