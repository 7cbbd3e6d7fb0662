/* mproc: the bootstrap message's codec (child.h).
 *
 * Layout (byte order of the parent's CPU; parent and child are the same
 * executable on the same machine):
 *   u32 magic, u32 version, i64 parent pid, u32 daemon, u32 start method,
 *   u32 len + name, u32 len + identity, u32 len + task name,
 *   u32 len + the parent's name, u32 len + the pass list's section,
 *   u64 len + padding to a multiple of 16 + the argument bytes.
 * The passed handles travel beside the message, the backend's way, in the
 * pass list's order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "internal.h"

#define BOOT_MAGIC 0x3142504du /* "MPB1" */
#define BOOT_VERSION 5u

/* The argument bytes start at a multiple of ARG_ALIGN in the message,
 * which the child reads into aligned memory: the target may cast them to
 * any type, as under fork. */
#define ARG_ALIGN 16u

static size_t arg_padding(size_t at) {
  return (ARG_ALIGN - at % ARG_ALIGN) % ARG_ALIGN;
}

/* Copy at most n bytes of src, up to its NUL, and terminate dst (which
 * has room for n + 1). A loop, not strlen + memcpy: this runs on every
 * child's start path, where each libc routine first called costs the new
 * process a page fault on its code (~1.3 us); the early exit keeps
 * compilers from turning it back into a memcpy call. */
static void copy_str(char *dst, const char *src, size_t n) {
  size_t i = 0;
  for (; i < n && src[i] != '\0'; i++) dst[i] = src[i];
  dst[i] = '\0';
}

/* ---- encoding ------------------------------------------------------------ */

typedef struct wbuf {
  unsigned char *p;
  size_t n;
} wbuf;

static void put(wbuf *w, const void *src, size_t len) {
  if (len) memcpy(w->p + w->n, src, len);
  w->n += len;
}

static void put_u32(wbuf *w, uint32_t v) { put(w, &v, sizeof v); }

static void put_bytes(wbuf *w, const void *s, size_t len) {
  put_u32(w, (uint32_t)len);
  put(w, s, len);
}

int mproc__boot_encode(const mproc__boot *b, void **out, size_t *len) {
  int64_t parent = b->parent_pid;
  uint64_t arg_len = b->arg_len;
  size_t ln = strlen(b->name), li = strlen(b->identity);
  size_t lt = strlen(b->task), lp = strlen(b->parent_name), need;
  wbuf w;

  if (b->pass_len > UINT32_MAX)
    return mproc__err(MPROC_EINVAL, "the pass list's section is %zu bytes",
                      b->pass_len);
  need = 5 * 4 + 8 + 5 * 4 + ln + li + lt + lp + b->pass_len + 8 +
         ARG_ALIGN + b->arg_len;
  w.p = calloc(1, need);
  w.n = 0;
  if (w.p == NULL)
    return mproc__err(MPROC_ENOMEM, "out of memory for a %zu-byte "
                                    "bootstrap message",
                      need);
  put_u32(&w, BOOT_MAGIC);
  put_u32(&w, BOOT_VERSION);
  put(&w, &parent, sizeof parent);
  put_u32(&w, (uint32_t)b->daemon);
  put_u32(&w, (uint32_t)b->method);
  put_bytes(&w, b->name, ln);
  put_bytes(&w, b->identity, li);
  put_bytes(&w, b->task, lt);
  put_bytes(&w, b->parent_name, lp);
  put_bytes(&w, b->pass, b->pass_len);
  put(&w, &arg_len, sizeof arg_len);
  w.n += arg_padding(w.n); /* zeroed by calloc */
  put(&w, b->arg, b->arg_len);
  *out = w.p;
  *len = w.n;
  return 0;
}

/* ---- decoding ------------------------------------------------------------ */

typedef struct rbuf {
  const unsigned char *p;
  size_t n, at;
  int bad;
} rbuf;

static const void *take(rbuf *r, size_t len) {
  const void *at;
  if (r->bad || r->n - r->at < len) {
    r->bad = 1;
    return NULL;
  }
  at = r->p + r->at;
  r->at += len;
  return at;
}

static uint32_t take_u32(rbuf *r) {
  uint32_t v = 0;
  const void *s = take(r, sizeof v);
  if (s) memcpy(&v, s, sizeof v);
  return v;
}

/* Copy a string field into dst (NUL-terminated); too long = bad. */
static void take_str(rbuf *r, char *dst, size_t size) {
  uint32_t len = take_u32(r);
  const void *s;
  if (len >= size) r->bad = 1;
  s = take(r, len);
  if (s == NULL) {
    dst[0] = '\0';
    return;
  }
  copy_str(dst, s, len); /* names hold no NUL; not memcpy: see copy_str */
}

static int bad_message(size_t len) {
  return mproc__err(MPROC_EBOOTSTRAP,
                    "the bootstrap message from the parent is malformed "
                    "(%zu bytes); parent and child must be the same program",
                    len);
}

int mproc__boot_decode(const void *msg, size_t len, mproc__boot *b) {
  rbuf r = {msg, len, 0, 0};
  int64_t parent = 0;
  uint64_t arg_len = 0;
  const void *s;

  if (take_u32(&r) != BOOT_MAGIC || take_u32(&r) != BOOT_VERSION)
    return bad_message(len);
  s = take(&r, sizeof parent);
  if (s) memcpy(&parent, s, sizeof parent);
  b->parent_pid = (long)parent;
  b->daemon = take_u32(&r) != 0;
  b->method = (mproc_start_method)take_u32(&r);
  take_str(&r, b->name, sizeof b->name);
  take_str(&r, b->identity, sizeof b->identity);
  take_str(&r, b->task, sizeof b->task);
  take_str(&r, b->parent_name, sizeof b->parent_name);
  b->pass_len = take_u32(&r);
  b->pass = take(&r, b->pass_len);
  s = take(&r, sizeof arg_len);
  if (s) memcpy(&arg_len, s, sizeof arg_len);
  take(&r, arg_padding(r.at));
  if (r.bad || arg_len != r.n - r.at) return bad_message(len);
  b->arg_len = (size_t)arg_len;
  b->arg = arg_len ? r.p + r.at : NULL;
  return 0;
}
