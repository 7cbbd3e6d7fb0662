/* mproc: the manager's byte-keyed map (dict, set, Namespace, the object
 * table, a connection's holds). Chained hashing with a list in insertion
 * order, so keys() comes out in the order Python's dict gives. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mgr-core.h"

/* FNV-1a, 64-bit. Only authkey holders reach the server (see
 * docs/manager.md), so the hash need not resist chosen keys. */
uint64_t mproc__mhash(const void *k, size_t kl) {
  const unsigned char *p = k;
  uint64_t h = 1469598103934665603ull;
  size_t i;
  for (i = 0; i < kl; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

mproc__ment *mproc__mmap_find(const mproc__mmap *m, const void *k, size_t kl) {
  uint64_t h;
  mproc__ment *e;
  if (m->nslots == 0) return NULL;
  h = mproc__mhash(k, kl);
  for (e = m->slots[h & (m->nslots - 1)]; e != NULL; e = e->chain)
    if (e->hash == h && e->klen == kl && (kl == 0 || memcmp(e->key, k, kl) == 0))
      return e;
  return NULL;
}

static int grow(mproc__mmap *m) {
  size_t n = m->nslots ? m->nslots * 2 : 16, i;
  mproc__ment **slots = calloc(n, sizeof *slots);
  mproc__ment *e;
  if (slots == NULL) return MPROC_ENOMEM;
  for (e = m->head; e != NULL; e = e->next) {
    i = e->hash & (n - 1);
    e->chain = slots[i];
    slots[i] = e;
  }
  free(m->slots);
  m->slots = slots;
  m->nslots = n;
  return 0;
}

int mproc__mmap_put(mproc__mmap *m, const void *k, size_t kl,
                    mproc__ment **out, int *added) {
  mproc__ment *e = mproc__mmap_find(m, k, kl);
  size_t i;
  *added = 0;
  if (e == NULL) {
    if (m->count + 1 > m->nslots && grow(m) < 0)
      return mproc__err(MPROC_ENOMEM, "manager: out of memory");
    e = calloc(1, sizeof *e);
    if (e != NULL) e->key = malloc(kl ? kl : 1);
    if (e == NULL || e->key == NULL) {
      free(e);
      return mproc__err(MPROC_ENOMEM, "manager: out of memory");
    }
    if (kl) memcpy(e->key, k, kl);
    e->klen = kl;
    e->hash = mproc__mhash(k, kl);
    i = e->hash & (m->nslots - 1);
    e->chain = m->slots[i];
    m->slots[i] = e;
    e->prev = m->tail;
    if (m->tail) m->tail->next = e;
    else m->head = e;
    m->tail = e;
    m->count++;
    *added = 1;
  }
  *out = e;
  return 0;
}

void mproc__mmap_remove(mproc__mmap *m, mproc__ment *e) {
  mproc__ment **pp = &m->slots[e->hash & (m->nslots - 1)];
  while (*pp != e) pp = &(*pp)->chain;
  *pp = e->chain;
  if (e->prev) e->prev->next = e->next;
  else m->head = e->next;
  if (e->next) e->next->prev = e->prev;
  else m->tail = e->prev;
  m->count--;
  free(e->key);
  free(e);
}
