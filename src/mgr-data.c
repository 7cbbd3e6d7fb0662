/* mproc: the manager's plain data kinds — dict, list, Namespace, Value,
 * Array and set — as request handlers on the server loop. None of them
 * waits; each answers at once. Python's semantics: negative indices
 * from the end, slices clamped, KeyError/IndexError/ValueError as
 * MPROC_ENOENT/MPROC_ERANGE/MPROC_ENOENT. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mgr-core.h"

#define UNUSED(x) (void)(x)

static int nokey(void) {
  return mproc__err(MPROC_ENOENT, "manager: no such key");
}

static int key_of(mproc__mr *r, const unsigned char **k, size_t *kl) {
  return mproc__mr_bytes(r, k, kl, "key");
}

static void map_clear(mproc__msrv *s, mproc__mmap *m) {
  while (m->head != NULL) {
    mproc__ment *e = m->head;
    mproc__mval v = e->v;
    mproc__mmap_remove(m, e);
    mproc__mval_clear(s, &v);
  }
}

/* A get with a trailing 'n' item asks for a floating hold on the object
 * a reference value names: the client's new proxy ADOPTs it, so the
 * object cannot go between this reply and that proxy's first call. */
static void hold_for_adopt(mproc__msrv *s, mproc__mr *r, const mproc__mval *v) {
  mproc__mw_item it;
  mproc__mobj *t;
  if (mproc__mr_next(r, &it) != 1 || it.tag != MPROC__MW_NONE || !v->ref)
    return;
  t = mproc__mobj_get(s, v->ref);
  if (t == NULL) return;
  t->holds++;
  t->floating++;
}

/* ---- dict ----------------------------------------------------------------- */

/* The entry of the request's key: 0, or MPROC_ENOENT (KeyError). */
static int entry_of(mproc__mobj *o, mproc__mr *r, mproc__ment **e) {
  const unsigned char *k;
  size_t kl;
  int rc = key_of(r, &k, &kl);
  if (rc < 0) return rc;
  *e = mproc__mmap_find(&o->map, k, kl);
  return *e ? 0 : nokey();
}

static int d_get(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  mproc__ment *e;
  int rc = entry_of(o, r, &e);
  if (rc < 0) return rc;
  mproc__mval_put(w, &e->v);
  hold_for_adopt(c->s, r, &e->v);
  return 0;
}

/* Store key -> the next item. */
static int put_pair(mproc__msrv *s, mproc__mobj *o, mproc__mr *r,
                    const unsigned char *k, size_t kl) {
  mproc__mval v = {0, 0, NULL};
  mproc__ment *e;
  int added, rc = mproc__mval_take(s, r, &v, "value");
  if (rc == 0) rc = mproc__mmap_put(&o->map, k, kl, &e, &added);
  if (rc < 0) {
    mproc__mval_clear(s, &v);
    return rc;
  }
  {
    mproc__mval old = e->v;
    e->v = v;
    mproc__mval_clear(s, &old);
  }
  return 0;
}

static int d_set(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  const unsigned char *k;
  size_t kl;
  int rc = key_of(r, &k, &kl);
  UNUSED(w);
  if (rc == 0) rc = put_pair(c->s, o, r, k, kl);
  return rc;
}

static int d_update(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                    mproc__mw *w) {
  int rc = 0;
  UNUSED(w);
  while (rc == 0 && r->p != r->end) {
    const unsigned char *k;
    size_t kl;
    rc = key_of(r, &k, &kl);
    if (rc == 0) rc = put_pair(c->s, o, r, k, kl);
  }
  return rc;
}

static int d_del(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  mproc__ment *e;
  int rc = entry_of(o, r, &e);
  if (rc < 0) return rc;
  if (r->op == MPROC__OP_DICT_POP || r->op == MPROC__OP_SET_POP)
    mproc__mval_put(w, &e->v);
  {
    mproc__mval v = e->v;
    mproc__mmap_remove(&o->map, e);
    mproc__mval_clear(c->s, &v);
  }
  return 0;
}

static int d_contains(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                      mproc__mw *w) {
  const unsigned char *k;
  size_t kl;
  int rc = key_of(r, &k, &kl);
  UNUSED(c);
  if (rc == 0) mproc__mw_int(w, mproc__mmap_find(&o->map, k, kl) != NULL);
  return rc;
}

static int d_len(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  UNUSED(c);
  UNUSED(r);
  mproc__mw_int(w, (int64_t)(o->type == MPROC__T_LIST ? o->n : o->map.count));
  return 0;
}

static int d_walk(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  mproc__ment *e;
  int keys = r->op != MPROC__OP_DICT_VALUES;
  int vals = r->op == MPROC__OP_DICT_VALUES || r->op == MPROC__OP_DICT_ITEMS;
  UNUSED(c);
  for (e = o->map.head; e != NULL; e = e->next) {
    if (keys) mproc__mw_bytes(w, e->key, e->klen);
    if (vals) mproc__mval_put(w, &e->v);
  }
  return 0;
}

static int d_setdefault(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                        mproc__mw *w) {
  const unsigned char *k;
  size_t kl;
  mproc__ment *e;
  int rc = key_of(r, &k, &kl);
  if (rc < 0) return rc;
  e = mproc__mmap_find(&o->map, k, kl);
  if (e == NULL) {
    rc = put_pair(c->s, o, r, k, kl);
    if (rc < 0) return rc;
    e = mproc__mmap_find(&o->map, k, kl);
  }
  mproc__mval_put(w, &e->v);
  return 0;
}

static int d_clear(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  UNUSED(r);
  UNUSED(w);
  map_clear(c->s, &o->map);
  return 0;
}

/* ---- list ---------------------------------------------------------------- */

static int reserve(mproc__mobj *o, size_t more) {
  size_t cap;
  mproc__mval *v;
  if (o->cap - o->n >= more) return 0;
  cap = o->cap ? o->cap : 8;
  while (cap - o->n < more) {
    if (cap > ((size_t)-1) / (4 * sizeof *v))
      return mproc__err(MPROC_ENOMEM, "manager: a list too long");
    cap *= 2;
  }
  v = realloc(o->items, cap * sizeof *v);
  if (v == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  o->items = v;
  o->cap = cap;
  return 0;
}

/* Python's index: negative from the end, then 0..n-1 (or ERANGE). */
static int index_of(const mproc__mobj *o, mproc__mr *r, size_t *at) {
  int64_t i;
  int rc = mproc__mr_int(r, &i, "index");
  if (rc < 0) return rc;
  if (i < 0) i += (int64_t)o->n;
  if (i < 0 || (uint64_t)i >= o->n)
    return mproc__err(MPROC_ERANGE, "manager: list index out of range "
                                    "(the list has %zu items)",
                      o->n);
  *at = (size_t)i;
  return 0;
}

/* Python's slice bound: negative from the end, clamped to 0..n. */
static size_t clamp(const mproc__mobj *o, int64_t i) {
  if (i < 0) i += (int64_t)o->n;
  if (i < 0) return 0;
  if ((uint64_t)i > o->n) return o->n;
  return (size_t)i;
}

/* Insert the request's remaining values at `at`. */
static int insert_rest(mproc__msrv *s, mproc__mobj *o, mproc__mr *r,
                       size_t at) {
  mproc__mr probe = *r;
  mproc__mw_item it;
  size_t n = 0, i;
  int rc;
  while ((rc = mproc__mr_next(&probe, &it)) == 1) n++;
  if (rc < 0 || n == 0) return rc; /* (an empty list has no array yet) */
  rc = reserve(o, n);
  if (rc < 0) return rc;
  memmove(o->items + at + n, o->items + at, (o->n - at) * sizeof *o->items);
  memset(o->items + at, 0, n * sizeof *o->items);
  o->n += n;
  for (i = 0; i < n && rc == 0; i++) rc = mproc__mval_take(s, r, &o->items[at + i], "value");
  if (rc < 0) { /* undo: the slots not filled are empty bytes */
    for (i = 0; i < n; i++) mproc__mval_clear(s, &o->items[at + i]);
    memmove(o->items + at, o->items + at + n,
            (o->n - at - n) * sizeof *o->items);
    o->n -= n;
  }
  return rc;
}

static int l_append(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                    mproc__mw *w) {
  UNUSED(w);
  return insert_rest(c->s, o, r, o->n);
}

static int l_get(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  size_t at = 0;
  int rc = index_of(o, r, &at);
  if (rc < 0) return rc;
  mproc__mval_put(w, &o->items[at]);
  hold_for_adopt(c->s, r, &o->items[at]);
  return 0;
}

static int l_set(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  size_t at = 0;
  mproc__mval v = {0, 0, NULL};
  int rc = index_of(o, r, &at);
  UNUSED(w);
  if (rc == 0) rc = mproc__mval_take(c->s, r, &v, "value");
  if (rc == 0) {
    mproc__mval old = o->items[at];
    o->items[at] = v;
    mproc__mval_clear(c->s, &old);
  }
  return rc;
}

static int bounds(mproc__mobj *o, mproc__mr *r, size_t *lo, size_t *hi) {
  int64_t a, b;
  int rc = mproc__mr_int(r, &a, "start");
  if (rc == 0) rc = mproc__mr_int(r, &b, "stop");
  if (rc < 0) return rc;
  *lo = clamp(o, a);
  *hi = clamp(o, b);
  if (*hi < *lo) *hi = *lo;
  return 0;
}

static int l_slice(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                   mproc__mw *w) {
  size_t lo, hi, i;
  int rc = bounds(o, r, &lo, &hi);
  UNUSED(c);
  for (i = lo; rc == 0 && i < hi; i++) mproc__mval_put(w, &o->items[i]);
  return rc;
}

static void cut(mproc__msrv *s, mproc__mobj *o, size_t lo, size_t hi) {
  size_t i;
  mproc__mval *gone;
  size_t n = hi - lo;
  if (n == 0) return;
  /* Unlink first: dropping a reference may free other objects, so the
   * list is whole before any value goes. */
  gone = malloc(n * sizeof *gone);
  if (gone != NULL) memcpy(gone, o->items + lo, n * sizeof *gone);
  memmove(o->items + lo, o->items + hi, (o->n - hi) * sizeof *o->items);
  o->n -= n;
  for (i = 0; gone != NULL && i < n; i++) mproc__mval_clear(s, &gone[i]);
  free(gone);
}

static int l_set_slice(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                       mproc__mw *w) {
  size_t lo, hi;
  int rc = bounds(o, r, &lo, &hi);
  UNUSED(w);
  if (rc == 0) rc = insert_rest(c->s, o, r, hi);
  if (rc == 0) cut(c->s, o, lo, hi);
  return rc;
}

static int l_pop(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  size_t at = 0;
  int rc = index_of(o, r, &at);
  if (rc < 0) return rc;
  mproc__mval_put(w, &o->items[at]);
  cut(c->s, o, at, at + 1);
  return 0;
}

static int l_insert(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                    mproc__mw *w) {
  int64_t i;
  int rc = mproc__mr_int(r, &i, "index");
  UNUSED(w);
  return rc < 0 ? rc : insert_rest(c->s, o, r, clamp(o, i));
}

/* index, count, remove: compare with the request's one value. */
static int l_find(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  mproc__mw_item it;
  mproc__mval v = {0, 0, NULL};
  size_t i, hits = 0;
  int rc = mproc__mr_take(r, MPROC__MW_BYTES, &it, "value");
  if (rc < 0) return rc;
  v.data = (unsigned char *)(uintptr_t)it.p;
  v.len = it.len;
  for (i = 0; i < o->n; i++) {
    if (!mproc__mval_eq(&o->items[i], &v)) continue;
    if (r->op == MPROC__OP_LIST_INDEX) {
      mproc__mw_int(w, (int64_t)i);
      return 0;
    }
    if (r->op == MPROC__OP_LIST_REMOVE) {
      cut(c->s, o, i, i + 1);
      return 0;
    }
    hits++;
  }
  if (r->op != MPROC__OP_LIST_COUNT)
    return mproc__err(MPROC_ENOENT, "manager: the value is not in the list");
  mproc__mw_int(w, (int64_t)hits);
  return 0;
}

/* reverse, and sort as Python's bytes compare (a stable merge sort:
 * equal items keep their order, with reverse too, as list.sort). */
static int l_reverse(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                     mproc__mw *w) {
  size_t i;
  int rc = mproc__mr_end(r);
  UNUSED(c);
  UNUSED(w);
  for (i = 0; rc == 0 && i < o->n / 2; i++) {
    mproc__mval t = o->items[i];
    o->items[i] = o->items[o->n - 1 - i];
    o->items[o->n - 1 - i] = t;
  }
  return rc;
}

static int bytes_cmp(const mproc__mval *a, const mproc__mval *b) {
  size_t n = a->len < b->len ? a->len : b->len;
  int d = n ? memcmp(a->data, b->data, n) : 0;
  if (d != 0) return d;
  return a->len < b->len ? -1 : a->len > b->len;
}

/* Sort v[0..n-1] with tmp of n; `sign` -1 for reverse. */
static void merge_sort(mproc__mval *v, mproc__mval *tmp, size_t n, int sign) {
  size_t width, lo;
  for (width = 1; width < n; width *= 2) {
    for (lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t a = lo, b = mid, k = lo;
      while (a < mid && b < hi)
        tmp[k++] = sign * bytes_cmp(&v[b], &v[a]) < 0 ? v[b++] : v[a++];
      while (a < mid) tmp[k++] = v[a++];
      while (b < hi) tmp[k++] = v[b++];
    }
    memcpy(v, tmp, n * sizeof *v);
  }
}

static int l_sort(mproc__mcli *c, mproc__mobj *o, mproc__mr *r,
                  mproc__mw *w) {
  int64_t flags;
  mproc__mval *tmp;
  size_t i;
  int rc = mproc__mr_int(r, &flags, "flags");
  UNUSED(c);
  UNUSED(w);
  if (rc == 0) rc = mproc__mr_end(r);
  if (rc < 0) return rc;
  if (flags & ~(int64_t)1)
    return mproc__err(MPROC_EINVAL, "manager: sort flags 0x%llx: only "
                                    "MPROC_LIST_SORT_REVERSE (1) is known",
                      (unsigned long long)flags);
  for (i = 0; i < o->n; i++)
    if (o->items[i].ref)
      return mproc__err(MPROC_EINVAL, "manager: item %zu is a proxy, and "
                                      "only byte strings sort",
                        i);
  if (o->n < 2) return 0;
  tmp = malloc(o->n * sizeof *tmp);
  if (tmp == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  merge_sort(o->items, tmp, o->n, flags & 1 ? -1 : 1);
  free(tmp);
  return 0;
}

/* ---- Namespace ------------------------------------------------------------ */

static int ns_name(mproc__mr *r, const unsigned char **k, size_t *kl) {
  int rc = mproc__mr_bytes(r, k, kl, "attribute name");
  if (rc < 0) return rc;
  if (*kl == 0 || *kl > 255 || (*k)[0] == '_' || memchr(*k, 0, *kl))
    return mproc__err(MPROC_EINVAL, "manager: a Namespace attribute name "
                                    "is 1 to 255 bytes, without NUL, not "
                                    "starting with '_'");
  return 0;
}

static int ns_op(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  const unsigned char *k;
  size_t kl;
  mproc__ment *e;
  int rc;
  if (r->op == MPROC__OP_NS_NAMES) return d_walk(c, o, r, w);
  rc = ns_name(r, &k, &kl);
  if (rc < 0) return rc;
  if (r->op == MPROC__OP_NS_SET) return put_pair(c->s, o, r, k, kl);
  e = mproc__mmap_find(&o->map, k, kl);
  if (e == NULL)
    return mproc__err(MPROC_ENOENT, "manager: the Namespace has no "
                                    "attribute \"%.*s\"",
                      (int)kl, (const char *)k);
  if (r->op == MPROC__OP_NS_GET) {
    mproc__mval_put(w, &e->v);
  } else {
    mproc__mval v = e->v;
    mproc__mmap_remove(&o->map, e);
    mproc__mval_clear(c->s, &v);
  }
  return 0;
}

/* ---- Value and Array ------------------------------------------------------ */

static int span(mproc__mobj *o, int64_t start, int64_t count, size_t *off,
                size_t *len) {
  if (start < 0 || count < 0 || (uint64_t)start > o->n ||
      (uint64_t)count > o->n - (size_t)start)
    return mproc__err(MPROC_ERANGE, "manager: %lld items from %lld are past "
                                    "the end of an Array of %zu",
                      (long long)count, (long long)start, o->n);
  *off = (size_t)start * o->esize;
  *len = (size_t)count * o->esize;
  return 0;
}

static int v_op(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  int64_t start = 0, count = (int64_t)o->n;
  const unsigned char *p;
  size_t off = 0, len = 0, n;
  int rc = 0;
  UNUSED(c);
  switch (r->op) {
  case MPROC__OP_TYPECODE:
    mproc__mw_bytes(w, &o->typecode, 1);
    return 0;
  case MPROC__OP_ARRAY_LEN:
    mproc__mw_int(w, (int64_t)o->n);
    return 0;
  case MPROC__OP_ARRAY_READ:
    rc = mproc__mr_int(r, &start, "start");
    if (rc == 0) rc = mproc__mr_int(r, &count, "count");
    /* fall through */
  case MPROC__OP_VALUE_GET:
    if (rc == 0) rc = span(o, start, count, &off, &len);
    if (rc == 0) mproc__mw_bytes(w, o->raw + off, len);
    return rc;
  default: /* VALUE_SET, ARRAY_WRITE */
    if (r->op == MPROC__OP_ARRAY_WRITE) rc = mproc__mr_int(r, &start, "start");
    if (rc == 0) rc = mproc__mr_bytes(r, &p, &n, "data");
    if (rc < 0) return rc;
    if (n % o->esize != 0)
      return mproc__err(MPROC_EINVAL, "manager: %zu bytes are no whole "
                                      "number of '%c' items",
                        n, o->typecode);
    rc = span(o, start, (int64_t)(n / o->esize), &off, &len);
    if (rc == 0 && len) memcpy(o->raw + off, p, len);
    return rc;
  }
}

/* ---- set ----------------------------------------------------------------- */

static int s_op(mproc__mcli *c, mproc__mobj *o, mproc__mr *r, mproc__mw *w) {
  const unsigned char *k;
  size_t kl;
  mproc__ment *e;
  int added, rc;
  switch (r->op) {
  case MPROC__OP_SET_LEN:
    return d_len(c, o, r, w);
  case MPROC__OP_SET_ITEMS:
    return d_walk(c, o, r, w);
  case MPROC__OP_SET_CLEAR:
    return d_clear(c, o, r, w);
  case MPROC__OP_SET_POP:
    if (o->map.head == NULL)
      return mproc__err(MPROC_ENOENT, "manager: pop from an empty set");
    mproc__mw_bytes(w, o->map.head->key, o->map.head->klen);
    mproc__mmap_remove(&o->map, o->map.head);
    return 0;
  default:
    break;
  }
  rc = key_of(r, &k, &kl);
  if (rc < 0) return rc;
  e = mproc__mmap_find(&o->map, k, kl);
  switch (r->op) {
  case MPROC__OP_SET_ADD:
    return e ? 0 : mproc__mmap_put(&o->map, k, kl, &e, &added);
  case MPROC__OP_SET_CONTAINS:
    mproc__mw_int(w, e != NULL);
    return 0;
  default: /* DISCARD, REMOVE */
    if (e == NULL)
      return r->op == MPROC__OP_SET_REMOVE ? nokey() : 0;
    mproc__mmap_remove(&o->map, e);
    return 0;
  }
}

/* ---- tables --------------------------------------------------------------- */

mproc__mop mproc__mdata_op(int type, unsigned op) {
  static const mproc__mop dict[] = {d_get,  d_set,    d_del,         d_contains,
                                    d_len,  d_walk,   d_walk,        d_update,
                                    d_del,  d_setdefault, d_clear,   d_walk};
  static const mproc__mop list[] = {l_append, l_append, l_get,    l_set,
                                    l_slice,  l_set_slice, l_pop, l_insert,
                                    d_len,    l_find,   l_find,   l_find,
                                    l_reverse, l_sort};
  switch (type) {
  case MPROC__T_DICT:
    if (op >= MPROC__OP_DICT_GET && op <= MPROC__OP_DICT_VALUES)
      return dict[op - MPROC__OP_DICT_GET];
    return NULL;
  case MPROC__T_LIST:
    if (op >= MPROC__OP_LIST_APPEND && op <= MPROC__OP_LIST_SORT)
      return list[op - MPROC__OP_LIST_APPEND];
    return NULL;
  case MPROC__T_NS:
    return op >= MPROC__OP_NS_GET && op <= MPROC__OP_NS_NAMES ? ns_op : NULL;
  case MPROC__T_VALUE:
    return op == MPROC__OP_VALUE_GET || op == MPROC__OP_VALUE_SET ||
                   op == MPROC__OP_TYPECODE
               ? v_op
               : NULL;
  case MPROC__T_ARRAY:
    return op >= MPROC__OP_ARRAY_READ && op <= MPROC__OP_TYPECODE ? v_op : NULL;
  case MPROC__T_SET:
    return op >= MPROC__OP_SET_ADD && op <= MPROC__OP_SET_CLEAR ? s_op : NULL;
  default:
    return NULL;
  }
}

/* CREATE's items: Value: b typecode, b init; Array: b typecode, i n,
 * b init (empty: zeros). */
int mproc__mdata_create(mproc__msrv *s, mproc__mobj *o, mproc__mr *r) {
  const unsigned char *tc, *init;
  size_t tl, il;
  int64_t n = 1;
  int rc;
  UNUSED(s);
  if (o->type != MPROC__T_VALUE && o->type != MPROC__T_ARRAY)
    return mproc__mr_end(r);
  rc = mproc__mr_bytes(r, &tc, &tl, "typecode");
  if (rc == 0 && o->type == MPROC__T_ARRAY) rc = mproc__mr_int(r, &n, "length");
  if (rc == 0) rc = mproc__mr_bytes(r, &init, &il, "initial value");
  if (rc == 0) rc = mproc__mr_end(r);
  if (rc < 0) return rc;
  if (tl != 1 || (o->esize = mproc_typecode_size((char)tc[0])) == 0)
    return mproc__err(MPROC_EINVAL, "manager: not a typecode");
  if (n < 0 || (uint64_t)n > (MPROC__MW_MAX / o->esize))
    return mproc__err(MPROC_ERANGE, "manager: an Array of %lld items is out "
                                    "of range",
                      (long long)n);
  o->typecode = (char)tc[0];
  o->n = (size_t)n;
  if (il != 0 && il != o->n * o->esize)
    return mproc__err(MPROC_EINVAL, "manager: the initial value is %zu "
                                    "bytes, want %zu",
                      il, o->n * o->esize);
  o->raw = calloc(o->n ? o->n : 1, o->esize);
  if (o->raw == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  if (il) memcpy(o->raw, init, il);
  return 0;
}

void mproc__mdata_free(mproc__msrv *s, mproc__mobj *o) {
  size_t i;
  switch (o->type) {
  case MPROC__T_DICT:
  case MPROC__T_NS:
  case MPROC__T_SET:
    map_clear(s, &o->map);
    free(o->map.slots);
    o->map.slots = NULL;
    o->map.nslots = 0;
    break;
  case MPROC__T_LIST:
    for (i = 0; i < o->n; i++) mproc__mval_clear(s, &o->items[i]);
    free(o->items);
    o->items = NULL;
    o->n = o->cap = 0;
    break;
  case MPROC__T_VALUE:
  case MPROC__T_ARRAY:
    free(o->raw);
    o->raw = NULL;
    break;
  default:
    break;
  }
}
