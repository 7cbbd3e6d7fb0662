/* mproc: the proxies of Value, Array, set, the queues and the sync kinds
 * (client side; the server's half is mgr-data.c and mgr-block.c). A call
 * that waits sends its timeout, and the server answers when the wait is
 * over: the client just reads its one reply, so a server that dies while
 * it waits ends the read with MPROC_EEOF. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mgr-client.h"

/* The wire's timeout: negative is none, as the backend's form. */
static int wire_timeout(double timeout, double *out, const char *fn) {
  int rc = mproc__timeout(timeout, out);
  if (rc < 0)
    return mproc__err(MPROC_EINVAL, "%s: the timeout is NaN", fn);
  return 0;
}

/* One call with a timeout item (and an optional bytes item first). */
static int timed(mproc_proxy *p, unsigned op, const void *b, size_t bl,
                 int with_b, double timeout, const char *fn,
                 mproc__mrep *rep) {
  double t;
  int rc = wire_timeout(timeout, &t, fn);
  if (rc < 0) return rc;
  mproc__mreq(p, op, p->id);
  if (with_b) mproc__mw_bytes(&p->w, b, bl);
  mproc__mw_f64(&p->w, t);
  return mproc__mrpc(p, rep);
}

/* ---- Value and Array --------------------------------------------------------- */

#define VAL MPROC__BIT(MPROC_PROXY_VALUE)
#define ARR MPROC__BIT(MPROC_PROXY_ARRAY)

/* Read n items from start into out (a Value: start 0, n 1). */
static int read_items(mproc_proxy *p, unsigned op, size_t start, size_t n,
                      void *out) {
  mproc__mrep rep;
  mproc__mw_item it;
  size_t es = mproc_typecode_size(p->typecode);
  int rc;
  mproc__mreq(p, op, p->id);
  if (op == MPROC__OP_ARRAY_READ) {
    mproc__mw_int(&p->w, (int64_t)start);
    mproc__mw_int(&p->w, (int64_t)n);
  }
  rc = mproc__mrpc(p, &rep);
  if (rc < 0) return rc;
  rc = mproc__mr_take(&rep.r, MPROC__MW_BYTES, &it, "data");
  if (rc == 0 && it.len != n * es)
    rc = mproc__err(MPROC_EINVAL, "manager protocol: %zu bytes for %zu "
                                  "items of %zu",
                    it.len, n, es);
  if (rc == 0 && it.len) memcpy(out, it.p, it.len);
  return mproc__mpx_done(&rep, rc);
}

static int write_items(mproc_proxy *p, unsigned op, size_t start, size_t n,
                       const void *in) {
  mproc_bytes b;
  int64_t at = (int64_t)start;
  size_t es = mproc_typecode_size(p->typecode);
  if (n > ((size_t)-1) / (es ? es : 1))
    return mproc__err(MPROC_ERANGE, "marray_write: n is out of range");
  b.data = in;
  b.len = n * es;
  return mproc__mpx_many(p, op, &at, op == MPROC__OP_ARRAY_WRITE, &b, 1,
                         "marray_write");
}

int mproc_mvalue_get(mproc_proxy *v, void *out) {
  int rc = mproc__mpx_check(v, VAL, "mvalue_get");
  if (rc == 0 && out == NULL)
    rc = mproc__err(MPROC_EINVAL, "mvalue_get: out is NULL");
  return rc < 0 ? rc : read_items(v, MPROC__OP_VALUE_GET, 0, 1, out);
}

int mproc_mvalue_set(mproc_proxy *v, const void *in) {
  int rc = mproc__mpx_check(v, VAL, "mvalue_set");
  if (rc == 0 && in == NULL) rc = mproc__err(MPROC_EINVAL, "mvalue_set: in is NULL");
  return rc < 0 ? rc : write_items(v, MPROC__OP_VALUE_SET, 0, 1, in);
}

char mproc_mvalue_typecode(mproc_proxy *v) {
  return mproc__mpx_check(v, VAL | ARR, "mvalue_typecode") < 0 ? '\0'
                                                               : v->typecode;
}

int mproc_marray_len(mproc_proxy *a, size_t *n) {
  return mproc__mpx_len(a, ARR, MPROC__OP_ARRAY_LEN, "marray_len", n);
}

int mproc_marray_read(mproc_proxy *a, size_t start, size_t n, void *out) {
  int rc = mproc__mpx_check(a, ARR, "marray_read");
  if (rc == 0 && out == NULL && n > 0)
    rc = mproc__err(MPROC_EINVAL, "marray_read: out is NULL");
  return rc < 0 ? rc : read_items(a, MPROC__OP_ARRAY_READ, start, n, out);
}

int mproc_marray_write(mproc_proxy *a, size_t start, size_t n, const void *in) {
  int rc = mproc__mpx_check(a, ARR, "marray_write");
  if (rc == 0 && in == NULL && n > 0)
    rc = mproc__err(MPROC_EINVAL, "marray_write: in is NULL");
  return rc < 0 ? rc : write_items(a, MPROC__OP_ARRAY_WRITE, start, n, in);
}

/* ---- set --------------------------------------------------------------------- */

#define SET MPROC__BIT(MPROC_PROXY_SET)

int mproc_set_add(mproc_proxy *s, const void *item, size_t len) {
  return mproc__mpx_keyed(s, SET, MPROC__OP_SET_ADD, "set_add", item, len,
                          NULL, NULL);
}

int mproc_set_discard(mproc_proxy *s, const void *item, size_t len) {
  return mproc__mpx_keyed(s, SET, MPROC__OP_SET_DISCARD, "set_discard", item,
                          len, NULL, NULL);
}

int mproc_set_remove(mproc_proxy *s, const void *item, size_t len) {
  return mproc__mpx_keyed(s, SET, MPROC__OP_SET_REMOVE, "set_remove", item,
                          len, NULL, NULL);
}

int mproc_set_contains(mproc_proxy *s, const void *item, size_t len) {
  int64_t v = 0;
  int rc = mproc__mpx_intcall(s, SET, MPROC__OP_SET_CONTAINS, "set_contains",
                              item, len, 1, &v);
  return rc < 0 ? rc : (int)v;
}

int mproc_set_len(mproc_proxy *s, size_t *n) {
  return mproc__mpx_len(s, SET, MPROC__OP_SET_LEN, "set_len", n);
}

int mproc_set_items(mproc_proxy *s, mproc_items **out) {
  return mproc__mpx_snapshot(s, SET, MPROC__OP_SET_ITEMS, "set_items", out);
}

int mproc_set_pop(mproc_proxy *s, void **item, size_t *len) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(s, SET, "set_pop");
  if (rc == 0 && (item == NULL || len == NULL))
    rc = mproc__err(MPROC_EINVAL, "set_pop: item or len is NULL");
  if (rc < 0) return rc;
  rc = mproc__mpx_call(s, MPROC__OP_SET_POP, NULL, 0, 0, &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, mproc__mpx_copy(&rep, item, len));
}

int mproc_set_clear(mproc_proxy *s) {
  int rc = mproc__mpx_check(s, SET, "set_clear");
  return rc < 0 ? rc : mproc__mpx_many(s, MPROC__OP_SET_CLEAR, NULL, 0, NULL,
                                       0, "set_clear");
}

/* ---- queues ------------------------------------------------------------------ */

#define QS (MPROC__BIT(MPROC_PROXY_QUEUE) | MPROC__BIT(MPROC_PROXY_JOINABLE_QUEUE))
#define JQ MPROC__BIT(MPROC_PROXY_JOINABLE_QUEUE)

int mproc_mqueue_put(mproc_proxy *q, const void *item, size_t len,
                     double timeout) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(q, QS, "mqueue_put");
  if (rc == 0 && item == NULL && len)
    rc = mproc__err(MPROC_EINVAL, "mqueue_put: item is NULL");
  if (rc < 0) return rc;
  rc = timed(q, MPROC__OP_Q_PUT, item, len, 1, timeout, "mqueue_put", &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, 0);
}

int mproc_mqueue_get(mproc_proxy *q, double timeout, void **item,
                     size_t *len) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(q, QS, "mqueue_get");
  if (rc == 0 && (item == NULL || len == NULL))
    rc = mproc__err(MPROC_EINVAL, "mqueue_get: item or len is NULL");
  if (rc < 0) return rc;
  *item = NULL;
  rc = timed(q, MPROC__OP_Q_GET, NULL, 0, 0, timeout, "mqueue_get", &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, mproc__mpx_copy(&rep, item, len));
}

int mproc_mqueue_qsize(mproc_proxy *q, size_t *n) {
  return mproc__mpx_len(q, QS, MPROC__OP_Q_QSIZE, "mqueue_qsize", n);
}

int mproc_mqueue_task_done(mproc_proxy *q) {
  int rc = mproc__mpx_check(q, JQ, "mqueue_task_done");
  return rc < 0 ? rc : mproc__mpx_many(q, MPROC__OP_Q_TASK_DONE, NULL, 0, NULL,
                                       0, "mqueue_task_done");
}

int mproc_mqueue_join(mproc_proxy *q, double timeout) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(q, JQ, "mqueue_join");
  if (rc < 0) return rc;
  rc = timed(q, MPROC__OP_Q_JOIN, NULL, 0, 0, timeout, "mqueue_join", &rep);
  return rc < 0 ? rc : mproc__mpx_done(&rep, 0);
}

/* ---- the sync kinds ----------------------------------------------------------- */

#define LOCKS                                                                  \
  (MPROC__BIT(MPROC_PROXY_LOCK) | MPROC__BIT(MPROC_PROXY_RLOCK) |              \
   MPROC__BIT(MPROC_PROXY_CONDITION))
#define SEMS                                                                   \
  (MPROC__BIT(MPROC_PROXY_SEMAPHORE) |                                         \
   MPROC__BIT(MPROC_PROXY_BOUNDED_SEMAPHORE))
#define COND MPROC__BIT(MPROC_PROXY_CONDITION)
#define EVENT MPROC__BIT(MPROC_PROXY_EVENT)
#define BARRIER MPROC__BIT(MPROC_PROXY_BARRIER)

/* A call with a timeout and an int result (or none). */
static int timed_int(mproc_proxy *p, unsigned mask, unsigned op, double t,
                     const char *fn, int64_t *v) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(p, mask, fn);
  if (rc < 0) return rc;
  rc = timed(p, op, NULL, 0, 0, t, fn, &rep);
  if (rc < 0) return rc;
  return mproc__mpx_done(&rep, v ? mproc__mpx_int(&rep, v) : 0);
}

int mproc_mlock_acquire(mproc_proxy *l, double timeout) {
  return timed_int(l, LOCKS | SEMS, MPROC__OP_ACQUIRE, timeout,
                   "mlock_acquire", NULL);
}

int mproc_mlock_release(mproc_proxy *l) {
  int rc = mproc__mpx_check(l, LOCKS | SEMS, "mlock_release");
  return rc < 0 ? rc : mproc__mpx_many(l, MPROC__OP_RELEASE, NULL, 0, NULL, 0,
                                       "mlock_release");
}

int mproc_mlock_locked(mproc_proxy *l) {
  int64_t v = 0;
  int rc = mproc__mpx_intcall(l, LOCKS | SEMS, MPROC__OP_LOCKED,
                              "mlock_locked", NULL, 0, 0, &v);
  return rc < 0 ? rc : (int)v;
}

int mproc_msem_value(mproc_proxy *s, long *v) {
  int64_t x = 0;
  int rc;
  if (v == NULL) return mproc__err(MPROC_EINVAL, "msem_value: v is NULL");
  rc = mproc__mpx_intcall(s, SEMS, MPROC__OP_SEM_VALUE, "msem_value", NULL, 0,
                          0, &x);
  *v = (long)x;
  return rc;
}

int mproc_mcond_wait(mproc_proxy *c, double timeout) {
  int64_t v = 0;
  int rc = timed_int(c, COND, MPROC__OP_COND_WAIT, timeout, "mcond_wait", &v);
  return rc < 0 ? rc : (int)v;
}

int mproc_mcond_notify(mproc_proxy *c, int n) {
  int64_t k = n;
  int rc = mproc__mpx_check(c, COND, "mcond_notify");
  return rc < 0 ? rc : mproc__mpx_many(c, MPROC__OP_COND_NOTIFY, &k, 1, NULL,
                                       0, "mcond_notify");
}

static int event_call(mproc_proxy *e, unsigned op, const char *fn) {
  int rc = mproc__mpx_check(e, EVENT, fn);
  return rc < 0 ? rc : mproc__mpx_many(e, op, NULL, 0, NULL, 0, fn);
}

int mproc_mevent_set(mproc_proxy *e) {
  return event_call(e, MPROC__OP_EVENT_SET, "mevent_set");
}

int mproc_mevent_clear(mproc_proxy *e) {
  return event_call(e, MPROC__OP_EVENT_CLEAR, "mevent_clear");
}

int mproc_mevent_is_set(mproc_proxy *e) {
  int64_t v = 0;
  int rc = mproc__mpx_intcall(e, EVENT, MPROC__OP_EVENT_IS_SET, "mevent_is_set",
                              NULL, 0, 0, &v);
  return rc < 0 ? rc : (int)v;
}

int mproc_mevent_wait(mproc_proxy *e, double timeout) {
  int64_t v = 0;
  int rc = timed_int(e, EVENT, MPROC__OP_EVENT_WAIT, timeout, "mevent_wait", &v);
  return rc < 0 ? rc : (int)v;
}

int mproc_mbarrier_wait(mproc_proxy *b, double timeout) {
  int64_t v = 0;
  int rc = timed_int(b, BARRIER, MPROC__OP_BARRIER_WAIT, timeout,
                     "mbarrier_wait", &v);
  return rc < 0 ? rc : (int)v;
}

int mproc_mbarrier_reset(mproc_proxy *b) {
  int rc = mproc__mpx_check(b, BARRIER, "mbarrier_reset");
  return rc < 0 ? rc : mproc__mpx_many(b, MPROC__OP_BARRIER_RESET, NULL, 0,
                                       NULL, 0, "mbarrier_reset");
}

int mproc_mbarrier_abort(mproc_proxy *b) {
  int rc = mproc__mpx_check(b, BARRIER, "mbarrier_abort");
  return rc < 0 ? rc : mproc__mpx_many(b, MPROC__OP_BARRIER_ABORT, NULL, 0,
                                       NULL, 0, "mbarrier_abort");
}

int mproc_mbarrier_info(mproc_proxy *b, int *parties, int *n_waiting,
                        int *broken) {
  mproc__mrep rep;
  int64_t v[3] = {0, 0, 0};
  int rc = mproc__mpx_check(b, BARRIER, "mbarrier_info");
  if (rc < 0) return rc;
  rc = mproc__mpx_call(b, MPROC__OP_BARRIER_INFO, NULL, 0, 0, &rep);
  if (rc < 0) return rc;
  rc = mproc__mpx_int(&rep, &v[0]);
  if (rc == 0) rc = mproc__mpx_int(&rep, &v[1]);
  if (rc == 0) rc = mproc__mpx_int(&rep, &v[2]);
  if (parties) *parties = (int)v[0];
  if (n_waiting) *n_waiting = (int)v[1];
  if (broken) *broken = (int)v[2];
  return mproc__mpx_done(&rep, rc);
}
