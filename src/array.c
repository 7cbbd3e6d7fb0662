/* mproc: Value and Array (and their Raw forms): typed items in a shared
 * segment, with an RLock in the header unless raw. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "object.h"

typedef struct array_state {
  mproc__rlock_state lock;
  uint64_t n;
  uint32_t item;
  char typecode;
  char raw;
} array_state;

_Static_assert(MPROC__ARRAY_STATE >= sizeof(array_state), "an array's state fits its arena slot");

struct mproc_array {
  mproc__obj obj;
  array_state *st;
};

size_t mproc_typecode_size(char t) {
  switch (t) {
  case 'b': case 'B': case 'c': return 1;
  case 'h': case 'H': return 2;
  case 'i': case 'I': case 'f': return 4;
  case 'l': case 'L': return sizeof(long);
  case 'q': case 'Q': case 'd': return 8;
  default: return 0;
  }
}

typedef struct array_init_arg {
  char typecode;
  char raw;
  size_t n, item;
} array_init_arg;

static void array_init(void *state, void *arg) {
  array_state *st = state;
  const array_init_arg *a = arg;
  mproc__rlock_init_state(&st->lock, NULL);
  st->n = a->n;
  st->item = (uint32_t)a->item;
  st->typecode = a->typecode;
  st->raw = a->raw;
}

static void array_attach(void *h) {
  mproc_array *a = h;
  a->st = mproc__obj_state(&a->obj);
}

const mproc__kind_ops mproc__array_ops = {MPROC__KIND_ARRAY,
                                          sizeof(mproc_array),
                                          array_attach,
                                          NULL,
                                          NULL,
                                          NULL,
                                          NULL};

int mproc_array_new(mproc_array **out, char typecode, size_t n,
                    const void *init, const mproc_value_opts *user_opts) {
  mproc_shm_opts so = MPROC_SHM_OPTS_INIT;
  mproc_value_opts vo = MPROC_VALUE_OPTS_INIT;
  const mproc_value_opts *opts = &vo;
  array_init_arg arg;
  size_t item = mproc_typecode_size(typecode);
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "out is NULL");
  *out = NULL;
  rc = mproc__opts_load(&vo, sizeof vo, user_opts, "array_new",
                        "MPROC_VALUE_OPTS_INIT");
  if (rc < 0) return rc;
  if (item == 0)
    return mproc__err(MPROC_EINVAL, "typecode '%c' is not one of b B h H i "
                                    "I l L q Q f d c",
                      typecode ? typecode : '?');
  if (n == 0) return mproc__err(MPROC_EINVAL, "array length is 0");
  if (n > ((size_t)1 << 46) / item)
    return mproc__err(MPROC_ERANGE, "%zu items of %zu bytes is too large",
                      n, item);
  so.name = opts->name;
  so.no_track = opts->no_track;
  arg.typecode = typecode;
  arg.raw = opts->raw;
  arg.n = n;
  arg.item = item;
  rc = mproc__kind_make(MPROC__KIND_ARRAY, out, n * item, &so, array_init,
                        &arg);
  if (rc == 0 && init) memcpy(mproc__obj_data(&(*out)->obj), init, n * item);
  return rc;
}

int mproc_array_open(mproc_array **out, const char *name) {
  return mproc__kind_open(MPROC__KIND_ARRAY, out, name);
}

static int array_check(const mproc_array *a, const char *what) {
  if (a == NULL) return mproc__err(MPROC_EINVAL, "%s: array is NULL", what);
  return mproc__obj_check(&a->obj, what);
}

void *mproc_array_ptr(const mproc_array *a) {
  if (a == NULL || atomic_load(&a->obj.closed)) return NULL;
  return mproc__obj_data(&a->obj);
}

size_t mproc_array_len(const mproc_array *a) {
  return a ? (size_t)a->st->n : 0;
}

char mproc_array_typecode(const mproc_array *a) {
  return a ? a->st->typecode : '\0';
}

const char *mproc_array_name(const mproc_array *a) {
  return a ? a->obj.name : NULL;
}

/* The lock is a handle of its own on the array's object (opened again by
 * name, with its own hold), so the array and its lock are freed in any
 * order. */
int mproc_array_get_lock(mproc_array *a, mproc_rlock **out) {
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "get_lock: out is NULL");
  *out = NULL;
  rc = array_check(a, "get_lock");
  if (rc < 0) return rc;
  if (a->st->raw)
    return mproc__err(MPROC_EINVAL, "array \"%s\" is raw (RawValue / "
                                    "RawArray): it has no lock",
                      a->obj.name);
  return mproc__rlock_of(a->obj.name, MPROC__KIND_ARRAY,
                         offsetof(array_state, lock), out);
}

int mproc_array_close(mproc_array *a) {
  return mproc__kind_close(a, "array");
}

void mproc_array_free(mproc_array *a) { mproc__kind_free(a); }
