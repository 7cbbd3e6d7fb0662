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

/* The records' outcomes as they are packed into the chunk's result. The
 * packing is optimistic: while every record succeeds with the length of
 * the first, only their bytes are appended (the uniform form: a map of
 * fixed-size results costs one copy per record and the parent one memcpy
 * per chunk); the first record that differs turns what was written into
 * the general form, once. */
typedef struct packer {
  mproc_buf *out;
  uint64_t count, k, len; /* records, records packed, the uniform length */
  int uniform;
} packer;

/* Rewrite the k uniform records packed so far in the general form. */
static int to_general(packer *pk) {
  mproc_buf *out = pk->out;
  size_t rec = sizeof(pool_item_hdr) + (size_t)pk->len, i;
  size_t need = sizeof(pool_res_hdr) + (size_t)pk->k * rec;
  unsigned char *nb = malloc(need > out->cap ? need : out->cap);
  pool_item_hdr h;
  if (nb == NULL) return MPROC_ENOMEM;
  memcpy(nb, out->data, sizeof(pool_res_hdr));
  memset(&h, 0, sizeof h);
  h.len = pk->len;
  for (i = 0; i < pk->k; i++) {
    unsigned char *at = nb + sizeof(pool_res_hdr) + i * rec;
    memcpy(at, &h, sizeof h);
    memcpy(at + sizeof h,
           out->data + sizeof(pool_res_hdr) + i * (size_t)pk->len,
           (size_t)pk->len);
  }
  free(out->data);
  out->data = nb;
  out->cap = need > out->cap ? need : out->cap;
  out->len = need;
  pk->uniform = 0;
  return 0;
}

/* Pack one record's outcome: its result (rc 0) or its failure message. */
static int pack(packer *pk, int rc, const void *d, size_t n) {
  pool_item_hdr h;
  unsigned char *p;
  if (pk->uniform) {
    if (pk->k == 0 && rc == 0) {
      pk->len = n;
      /* Room for all the chunk's records at once, if they keep to n. */
      if (n > 0 && pk->count <= SIZE_MAX / n &&
          mproc_buf_reserve(pk->out, (size_t)pk->count * n) != NULL)
        pk->out->len -= (size_t)pk->count * n;
    }
    if (rc == 0 && n == pk->len) {
      pk->k++;
      return mproc_buf_write(pk->out, d, n);
    }
    if (to_general(pk) < 0) return MPROC_ENOMEM;
  }
  memset(&h, 0, sizeof h);
  h.rc = rc;
  h.len = n;
  if ((p = mproc_buf_reserve(pk->out, sizeof h + n)) == NULL)
    return MPROC_ENOMEM;
  memcpy(p, &h, sizeof h);
  if (n) memcpy(p + sizeof h, d, n);
  pk->k++;
  return 0;
}

/* Run fn over each record of the chunk (after the result header). */
static int run_records(mproc_task_fn fn, const pool_chunk_hdr *ch,
                       const unsigned char *recs, size_t left,
                       mproc_buf *out) {
  const unsigned char *lens = recs;
  packer pk = {out, ch->count, 0, 0, 1};
  pool_res_hdr rh;
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
      rc = pack(&pk, 0, b.data, b.len);
    } else {
      const char *msg = b.msg ? b.msg : "";
      rc = pack(&pk, trc, msg, strlen(msg) + 1);
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
  rh.count = ch->count;
  rh.uniform = pk.uniform ? pk.len : POOL_GENERAL;
  memcpy(out->data, &rh, sizeof rh);
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
  memset(&rh, 0, sizeof rh); /* written in full once the records ran */
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
