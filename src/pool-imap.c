/* mproc: Pool.imap and imap_unordered — an iterator over a job. The job
 * files each chunk as it finishes (pool-job.c): in order, a flag per
 * chunk; unordered, the chunk's number appended to `order`. next() takes
 * the next chunk that is there (waiting on the job's condition, with the
 * caller's timeout), then gives its records one by one from the chunk's
 * result message, each failure in its turn (Python's iterator raises for
 * that item and goes on). */
#include <stdlib.h>
#include <string.h>

#include "mproc/pool.h"
#include "pool-internal.h"

struct mproc_imap {
  mproc_async *j;
  size_t pos;        /* chunks taken so far */
  size_t chunk, k, count; /* the chunk being given, its next record */
  int have;          /* a chunk is being given */
  int chunk_err, chunk_code; /* a failed chunk's outcome */
  const char *chunk_msg;
  pool_view v;
  int has_err, err_code; /* the last next's failure */
  const char *err_msg;
};

int mproc__imap_new(mproc_async *j, mproc_imap **out) {
  mproc_imap *it = calloc(1, sizeof *it);
  if (it == NULL) return mproc__err(MPROC_ENOMEM, "pool_imap: out of memory");
  it->j = j;
  *out = it;
  return 0;
}

/* Under the job's lock: the number of the next chunk that is filed, or
 * SIZE_MAX if none is yet. */
static size_t next_filed(const mproc_imap *it) {
  const mproc_async *j = it->j;
  if (j->unordered) return it->pos < j->chunks_done ? j->order[it->pos]
                                                    : SIZE_MAX;
  return j->chunk_ok[it->pos] ? it->pos : SIZE_MAX;
}

/* Wait for the next chunk and start giving it: 0, MPROC_ETIMEDOUT. */
static int take_chunk(mproc_imap *it, double timeout) {
  mproc_async *j = it->j;
  double deadline = mproc__deadline(timeout);
  size_t c;
  mproc_future *f;
  uv_mutex_lock(&j->lock);
  while ((c = next_filed(it)) == SIZE_MAX && mproc__job_sleep(j, deadline)) {
  }
  uv_mutex_unlock(&j->lock);
  if (c == SIZE_MAX) return MPROC_ETIMEDOUT;
  f = j->fs[c];
  it->pos++;
  it->chunk = c;
  it->k = 0;
  it->count = j->n - c * j->chunksize < j->chunksize ? j->n - c * j->chunksize
                                                      : j->chunksize;
  it->have = 1;
  it->chunk_err = mproc__chunk_failure(f, &it->chunk_code, &it->chunk_msg);
  if (it->chunk_err == 0 &&
      mproc__pool_view_init(&it->v, f->data, f->len, it->count) < 0) {
    it->chunk_err = it->chunk_code = MPROC_EINVAL;
    it->chunk_msg = "a malformed result message from a worker";
  }
  return 0;
}

static int give_failure(mproc_imap *it, size_t item, int err, int code,
                        const char *msg) {
  it->has_err = 1;
  it->err_code = code;
  it->err_msg = msg;
  return mproc__err(err, "pool_imap: item %zu failed (%s, code %d): %s",
                    item, mproc_err_name(err), code, msg);
}

int mproc_imap_next(mproc_imap *it, double timeout, const void **data,
                    size_t *len, size_t *item) {
  const unsigned char *d;
  size_t n, at;
  double t;
  int rc, trc;
  if (data) *data = NULL;
  if (len) *len = 0;
  if (item) *item = 0;
  if (it == NULL) return mproc__err(MPROC_EINVAL, "imap_next: NULL");
  if ((rc = mproc__timeout(timeout, &t)) < 0) return rc;
  it->has_err = 0;
  if (!it->have || it->k == it->count) {
    it->have = 0;
    if (it->pos == it->j->nchunks) return MPROC_EEOF;
    if (take_chunk(it, t) < 0)
      return mproc__err(MPROC_ETIMEDOUT, "imap_next: no result within %g s",
                        timeout);
  }
  at = it->chunk * it->j->chunksize + it->k++;
  if (item) *item = at;
  if (it->chunk_err != 0)
    return give_failure(it, at, it->chunk_err, it->chunk_code,
                        it->chunk_msg);
  if (mproc__pool_view_next(&it->v, &d, &n, &trc) < 0) {
    it->chunk_err = it->chunk_code = MPROC_EINVAL;
    it->chunk_msg = "a malformed result message from a worker";
    return give_failure(it, at, MPROC_EINVAL, MPROC_EINVAL, it->chunk_msg);
  }
  if (trc != 0)
    return give_failure(it, at, MPROC_ETASK, trc, (const char *)d);
  if (data) *data = d;
  if (len) *len = n;
  return 0;
}

int mproc_imap_error(const mproc_imap *it, int *code, const char **msg) {
  if (it == NULL) return mproc__err(MPROC_EINVAL, "imap_error: NULL");
  if (!it->has_err)
    return mproc__err(MPROC_ESTATE, "imap_error: the last next did not fail");
  if (code) *code = it->err_code;
  if (msg) *msg = it->err_msg;
  return 0;
}

void mproc_imap_free(mproc_imap *it) {
  if (it == NULL) return;
  mproc__job_drop(it->j);
  free(it);
}
