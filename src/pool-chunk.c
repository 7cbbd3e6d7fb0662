/* mproc: a Pool's chunk task and the reading of its result (the formats
 * are in pool-internal.h). The chunk task runs in a worker like any
 * task: it finds the user's task by name, runs it over each record with
 * the record's own context (mproc_task_ctx.item is the record's index in
 * the map), and packs every outcome into its one result. A record that
 * fails does not stop the chunk: its code and message travel in its
 * place, so map reports the lowest failing item and imap gives each
 * failure in its turn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mproc/pool.h"
#include "pool-internal.h"

MPROC_TASK(mproc__pool_chunk_main);

/* Append one record's outcome (general form). */
static int put_item(mproc_buf *out, int rc, const void *d, size_t n) {
  pool_item_hdr h;
  memset(&h, 0, sizeof h);
  h.rc = rc;
  h.len = n;
  if (mproc_buf_write(out, &h, sizeof h) < 0) return MPROC_ENOMEM;
  return mproc_buf_write(out, d, n);
}

/* The general form -> the uniform one, in place, when every record
 * succeeded with the same length (a map of fixed-size results: the
 * parent then copies a chunk with one memcpy). */
static void compact(mproc_buf *out, uint64_t count) {
  pool_res_hdr rh;
  pool_item_hdr h;
  size_t pos = sizeof rh, w = sizeof rh;
  uint64_t k, len = 0;
  for (k = 0; k < count; k++) {
    memcpy(&h, out->data + pos, sizeof h);
    if (h.rc != 0 || (k > 0 && h.len != len)) return;
    len = h.len;
    pos += sizeof h + (size_t)h.len;
  }
  for (k = 0, pos = sizeof rh; k < count; k++) {
    memmove(out->data + w, out->data + pos + sizeof h, (size_t)len);
    w += (size_t)len;
    pos += sizeof h + (size_t)len;
  }
  rh.count = count;
  rh.uniform = len;
  memcpy(out->data, &rh, sizeof rh);
  out->len = w;
}

/* Run fn over each record of the chunk. */
static int run_records(mproc_task_fn fn, const pool_chunk_hdr *ch,
                       const unsigned char *recs, size_t left,
                       mproc_buf *out) {
  const unsigned char *lens = recs;
  mproc_buf b;
  uint64_t k;
  int rc = 0;
  if (ch->var) {
    if (ch->count > left / sizeof(uint64_t))
      return mproc_task_fail(out, MPROC_EINVAL, "pool: a malformed chunk");
    recs += ch->count * sizeof(uint64_t);
    left -= (size_t)ch->count * sizeof(uint64_t);
  } else if (ch->item_size != 0 && ch->count > left / ch->item_size) {
    return mproc_task_fail(out, MPROC_EINVAL, "pool: a malformed chunk");
  }
  memset(&b, 0, sizeof b);
  for (k = 0; k < ch->count && rc == 0; k++) {
    uint64_t n = ch->item_size;
    int trc;
    if (ch->var) memcpy(&n, lens + k * sizeof n, sizeof n);
    if (n > left) {
      mproc__buf_reset(&b);
      return mproc_task_fail(out, MPROC_EINVAL, "pool: a malformed chunk");
    }
    b.len = 0;
    b.ctx = out->ctx;
    b.ctx.item = out->ctx.item + (size_t)k;
    trc = fn(n ? recs : NULL, (size_t)n, &b);
    if (trc == 0) {
      rc = put_item(out, 0, b.data, b.len);
    } else {
      const char *msg = b.msg ? b.msg : "";
      rc = put_item(out, trc, msg, strlen(msg) + 1);
      free(b.msg);
      b.msg = NULL;
    }
    recs += n;
    left -= (size_t)n;
  }
  mproc__buf_reset(&b);
  if (rc < 0)
    return mproc_task_fail(out, MPROC_ENOMEM, "pool: no memory for the "
                           "results of a chunk of %llu items",
                           (unsigned long long)ch->count);
  compact(out, ch->count);
  return 0;
}

int mproc__pool_chunk_main(const void *in, size_t len, mproc_buf *out) {
  const unsigned char *p = in;
  pool_chunk_hdr ch;
  pool_res_hdr rh;
  char name[256];
  mproc_task_fn fn;
  if (len < sizeof ch) return mproc_task_fail(out, MPROC_EINVAL, "pool: a "
                                              "malformed chunk");
  memcpy(&ch, p, sizeof ch);
  if (ch.name_len >= sizeof name || ch.name_len > len - sizeof ch)
    return mproc_task_fail(out, MPROC_EINVAL, "pool: a malformed chunk");
  memcpy(name, p + sizeof ch, ch.name_len);
  name[ch.name_len] = '\0';
  fn = (mproc_task_fn)mproc__task_find(name);
  if (fn == NULL)
    return mproc_task_fail(out, MPROC_ENOTREG, "task \"%s\" is not "
                           "registered in the worker (mark it MPROC_TASK)",
                           name);
  rh.count = ch.count;
  rh.uniform = POOL_GENERAL;
  if (mproc_buf_write(out, &rh, sizeof rh) < 0)
    return mproc_task_fail(out, MPROC_ENOMEM, "pool: out of memory");
  return run_records(fn, &ch, p + sizeof ch + ch.name_len,
                     len - sizeof ch - ch.name_len, out);
}

/* ---- the parent's side: reading a result ------------------------------------ */

static int malformed(void) {
  return mproc__err(MPROC_EINVAL, "pool: a malformed result message from a "
                    "worker");
}

int mproc__pool_view_init(pool_view *v, const void *data, size_t len,
                          uint64_t expect) {
  pool_res_hdr rh;
  memset(v, 0, sizeof *v);
  if (data == NULL || len < sizeof rh) return malformed();
  memcpy(&rh, data, sizeof rh);
  if (rh.count != expect) return malformed();
  if (rh.uniform != POOL_GENERAL &&
      (rh.uniform != 0 && rh.count > (len - sizeof rh) / rh.uniform))
    return malformed();
  v->p = data;
  v->len = len;
  v->pos = sizeof rh;
  v->count = rh.count;
  v->uniform = rh.uniform;
  return 0;
}

int mproc__pool_view_next(pool_view *v, const unsigned char **d, size_t *n,
                          int *rc) {
  pool_item_hdr h;
  if (v->k >= v->count) return malformed();
  v->k++;
  if (v->uniform != POOL_GENERAL) {
    *d = v->p + v->pos;
    *n = (size_t)v->uniform;
    *rc = 0;
    v->pos += (size_t)v->uniform;
    return 0;
  }
  if (v->len - v->pos < sizeof h) return malformed();
  memcpy(&h, v->p + v->pos, sizeof h);
  v->pos += sizeof h;
  if (h.len > v->len - v->pos) return malformed();
  if (h.rc != 0 && (h.len == 0 || v->p[v->pos + h.len - 1] != '\0'))
    return malformed();
  *d = v->p + v->pos;
  *n = (size_t)h.len;
  *rc = h.rc;
  v->pos += (size_t)h.len;
  return 0;
}
