/* mproc: the manager's wire codec (see mgr-wire.h and
 * docs/manager-protocol.md). The reader is the one piece of the server
 * that sees a peer's bytes first, and the fuzz target's subject: every
 * length is checked against what is left before it is used. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mgr-wire.h"

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p) {
  return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

int mproc__mr_init(mproc__mr *r, const void *msg, size_t len) {
  const unsigned char *p = msg;
  memset(r, 0, sizeof *r);
  if (msg == NULL || len < MPROC__MW_HDR)
    return mproc__err(MPROC_EINVAL, "manager protocol: a %zu-byte message "
                                    "is shorter than its %d-byte header",
                      len, MPROC__MW_HDR);
  if (p[0] != MPROC__MW_REQ && p[0] != MPROC__MW_REP)
    return mproc__err(MPROC_EINVAL, "manager protocol: the message starts "
                                    "with byte 0x%02x, not 'M' or 'R'",
                      p[0]);
  r->kind = p[0];
  r->version = p[1];
  if (p[1] != MPROC__MW_VERSION)
    return mproc__err(MPROC_ENOTSUP, "manager protocol: the peer speaks "
                                     "version %d; this mproc speaks %d",
                      p[1], MPROC__MW_VERSION);
  r->op = (unsigned)p[2] | (unsigned)p[3] << 8;
  r->id = get32(p + 4);
  r->status = (int32_t)get32(p + 4);
  r->p = p + MPROC__MW_HDR;
  r->end = p + len;
  return 0;
}

static int bad(const char *why) {
  return mproc__err(MPROC_EINVAL, "manager protocol: malformed item (%s)",
                    why);
}

int mproc__mr_next(mproc__mr *r, mproc__mw_item *it) {
  size_t left = (size_t)(r->end - r->p);
  uint64_t u;
  memset(it, 0, sizeof *it);
  if (left == 0) return 0;
  it->tag = *r->p++;
  left--;
  switch (it->tag) {
  case MPROC__MW_BYTES:
    if (left < 4) return bad("a cut bytes length");
    it->len = get32(r->p);
    if (left - 4 < it->len) return bad("bytes longer than the message");
    it->p = r->p + 4;
    r->p += 4 + it->len;
    return 1;
  case MPROC__MW_INT:
  case MPROC__MW_F64:
    if (left < 8) return bad("a cut number");
    u = get64(r->p);
    it->i = (int64_t)u;
    memcpy(&it->f, &u, sizeof it->f);
    r->p += 8;
    return 1;
  case MPROC__MW_REF:
    if (left < 4) return bad("a cut reference");
    it->ref = get32(r->p);
    r->p += 4;
    return 1;
  case MPROC__MW_NONE:
    return 1;
  default:
    return bad("an unknown tag");
  }
}

int mproc__mr_take(mproc__mr *r, int tag, mproc__mw_item *it,
                   const char *what) {
  int rc = mproc__mr_next(r, it);
  if (rc < 0) return rc;
  if (rc == 0)
    return mproc__err(MPROC_EINVAL, "manager protocol: the %s is missing",
                      what);
  if (it->tag != tag)
    return mproc__err(MPROC_EINVAL, "manager protocol: the %s has tag '%c', "
                                    "want '%c'",
                      what, it->tag, tag);
  return 0;
}

int mproc__mr_int(mproc__mr *r, int64_t *v, const char *what) {
  mproc__mw_item it;
  int rc = mproc__mr_take(r, MPROC__MW_INT, &it, what);
  *v = rc < 0 ? 0 : it.i;
  return rc;
}

int mproc__mr_f64(mproc__mr *r, double *v, const char *what) {
  mproc__mw_item it;
  int rc = mproc__mr_take(r, MPROC__MW_F64, &it, what);
  *v = rc < 0 ? 0 : it.f;
  return rc;
}

int mproc__mr_bytes(mproc__mr *r, const unsigned char **p, size_t *n,
                    const char *what) {
  mproc__mw_item it;
  int rc = mproc__mr_take(r, MPROC__MW_BYTES, &it, what);
  *p = it.p;
  *n = it.len;
  return rc;
}

int mproc__mr_end(mproc__mr *r) {
  if (r->p != r->end)
    return mproc__err(MPROC_EINVAL, "manager protocol: %zu bytes after the "
                                    "last argument",
                      (size_t)(r->end - r->p));
  return 0;
}

/* ---- the writer ---------------------------------------------------------- */

static unsigned char *room(mproc__mw *w, size_t n) {
  if (w->oom) return NULL;
  if (w->cap - w->len < n) {
    size_t cap = w->cap ? w->cap : 64;
    unsigned char *b;
    while (cap - w->len < n) {
      if (cap > ((size_t)-1) / 2) {
        w->oom = 1;
        return NULL;
      }
      cap *= 2;
    }
    b = realloc(w->buf, cap);
    if (b == NULL) {
      w->oom = 1;
      return NULL;
    }
    w->buf = b;
    w->cap = cap;
  }
  w->len += n;
  return w->buf + w->len - n;
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

static void header(mproc__mw *w, int kind, unsigned op, uint32_t word) {
  unsigned char *p;
  w->len = 0;
  p = room(w, MPROC__MW_HDR);
  if (p == NULL) return;
  p[0] = (unsigned char)kind;
  p[1] = MPROC__MW_VERSION;
  p[2] = (unsigned char)op;
  p[3] = (unsigned char)(op >> 8);
  put32(p + 4, word);
}

void mproc__mw_request(mproc__mw *w, unsigned op, uint32_t id) {
  header(w, MPROC__MW_REQ, op, id);
}

void mproc__mw_reply(mproc__mw *w, int32_t status) {
  header(w, MPROC__MW_REP, 0, (uint32_t)status);
}

void mproc__mw_rewind_reply(mproc__mw *w, int32_t status) {
  w->oom = 0;
  mproc__mw_reply(w, status);
}

unsigned char *mproc__mw_bytes_reserve(mproc__mw *w, size_t n) {
  unsigned char *p;
  if (n > 0xffffffffu) {
    w->oom = 1;
    return NULL;
  }
  p = room(w, 5 + n);
  if (p == NULL) return NULL;
  p[0] = MPROC__MW_BYTES;
  put32(p + 1, (uint32_t)n);
  return p + 5;
}

void mproc__mw_bytes(mproc__mw *w, const void *data, size_t n) {
  unsigned char *p = mproc__mw_bytes_reserve(w, n);
  if (p != NULL && n > 0) memcpy(p, data, n);
}

void mproc__mw_int(mproc__mw *w, int64_t v) {
  unsigned char *p = room(w, 9);
  uint64_t u = (uint64_t)v;
  if (p == NULL) return;
  p[0] = MPROC__MW_INT;
  put32(p + 1, (uint32_t)u);
  put32(p + 5, (uint32_t)(u >> 32));
}

void mproc__mw_f64(mproc__mw *w, double v) {
  unsigned char *p = room(w, 9);
  uint64_t u;
  if (p == NULL) return;
  memcpy(&u, &v, sizeof u);
  p[0] = MPROC__MW_F64;
  put32(p + 1, (uint32_t)u);
  put32(p + 5, (uint32_t)(u >> 32));
}

void mproc__mw_ref(mproc__mw *w, uint32_t id) {
  unsigned char *p = room(w, 5);
  if (p == NULL) return;
  p[0] = MPROC__MW_REF;
  put32(p + 1, id);
}

void mproc__mw_none(mproc__mw *w) {
  unsigned char *p = room(w, 1);
  if (p != NULL) p[0] = MPROC__MW_NONE;
}

void mproc__mw_free(mproc__mw *w) {
  free(w->buf);
  memset(w, 0, sizeof *w);
}
