/* mproc: the memory of handles (mproc_lock *, mproc_event *, ...).
 *
 * A program may hold 100 000 small objects, so 100 000 handles of a few
 * hundred bytes: 15-30 MB of private heap whose page table entries every
 * fork copies (docs/bench-objects.md: most of what a fork with many live
 * objects costs once the objects themselves live in arenas). Handles of
 * the one-object kinds come from chunks of 2 MiB that the backend maps as
 * huge pages where the kernel has them (mproc__os_chunk_new), one free
 * list per size class (multiples of 64 bytes up to 512). A fork then
 * copies one entry per chunk. Chunks are kept for the process's life.
 * Sanitizer builds (MPROC_PLAIN_HANDLES) use calloc, so that their heap
 * checks and leak reports cover handles. */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "object.h"
#include "program.h"

#ifdef MPROC_PLAIN_HANDLES

void *mproc__handle_new(size_t size) { return calloc(1, size); }
void mproc__handle_free(void *p) { free(p); }

#else

#define CHUNK ((size_t)2 << 20)
#define STEP 64
#define CLASSES 8 /* 64 .. 512 bytes */
#define MAX_CHUNKS 4096

typedef struct chunk {
  char *base;
  size_t used; /* bytes handed out from the start */
  int cls;
} chunk;

static struct {
  uv_mutex_t lock;
  chunk chunks[MAX_CHUNKS];
  int n;
  int open[CLASSES]; /* the chunk each class carves from + 1; 0: none */
  void *free_list[CLASSES];
} hs;
static uv_once_t hs_once = UV_ONCE_INIT;

/* A fork child may inherit the mutex locked by a thread it lacks. */
static void hs_after_fork(void) { uv_mutex_init(&hs.lock); }

static void hs_init(void) {
  uv_mutex_init(&hs.lock);
  mproc__on_fork_child(hs_after_fork);
}

/* The chunk holding p (locked), or NULL: a calloc'd handle. */
static chunk *chunk_of(const void *p) {
  int i;
  for (i = 0; i < hs.n; i++)
    if ((const char *)p >= hs.chunks[i].base &&
        (const char *)p < hs.chunks[i].base + CHUNK)
      return &hs.chunks[i];
  return NULL;
}

/* Carve a block of class c (locked). */
static void *carve(int c) {
  size_t size = (size_t)(c + 1) * STEP;
  chunk *k = hs.open[c] ? &hs.chunks[hs.open[c] - 1] : NULL;
  void *p;
  if (k == NULL || k->used + size > CHUNK) {
    char *base;
    if (hs.n == MAX_CHUNKS || (base = mproc__os_chunk_new(CHUNK)) == NULL)
      return NULL;
    k = &hs.chunks[hs.n++];
    k->base = base;
    k->used = 0;
    k->cls = c;
    hs.open[c] = hs.n;
  }
  p = k->base + k->used;
  k->used += size;
  return p;
}

void *mproc__handle_new(size_t size) {
  int c = size == 0 ? 0 : (int)((size - 1) / STEP);
  void *p;
  if (c >= CLASSES) return calloc(1, size);
  uv_once(&hs_once, hs_init);
  uv_mutex_lock(&hs.lock);
  p = hs.free_list[c];
  if (p)
    memcpy(&hs.free_list[c], p, sizeof p);
  else
    p = carve(c);
  uv_mutex_unlock(&hs.lock);
  if (p == NULL) return calloc(1, size); /* no chunk to be had */
  memset(p, 0, (size_t)(c + 1) * STEP);
  return p;
}

void mproc__handle_free(void *p) {
  chunk *k;
  if (p == NULL) return;
  uv_once(&hs_once, hs_init);
  uv_mutex_lock(&hs.lock);
  k = chunk_of(p);
  if (k) {
    memcpy(p, &hs.free_list[k->cls], sizeof p);
    hs.free_list[k->cls] = p;
  }
  uv_mutex_unlock(&hs.lock);
  if (k == NULL) free(p);
}

#endif
