/* mproc: executor map over fixed-size records — Python's Executor.map,
 * with 3.14's buffersize.
 *
 * The futures of the items in flight sit in a ring indexed by item
 * position (capacity n, or buffersize). Without buffersize every item is
 * submitted at the call, in batches (one queue lock per batch). With it,
 * buffersize items are submitted at the call and each mproc_map_next
 * submits one more before it waits, exactly as CPython's result_iterator
 * does. Results come in order; a failure, a timeout or freeing the map
 * cancels what has not started (CPython's finally: future.cancel()). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "futures-internal.h"

#define SUBMIT_BATCH 256

struct mproc_map {
  mproc_executor *ex;
  mproc_task_fn fn;
  const unsigned char *items;
  size_t n, item_size, buffersize, cap;
  uint16_t chunk; /* the chunksize hint for the kind */
  mproc_future **ring;
  size_t next_submit, next_result;
  double deadline;
  mproc_future *last; /* the previous result's future: its bytes are lent */
  int finished;
  int has_err, err_code;
  size_t err_item;
  char *err_msg;
};

/* Submit items [next_submit, next_submit + count). */
static int submit_range(mproc_map *m, size_t count) {
  mproc_future *batch[SUBMIT_BATCH];
  size_t k, i;
  int rc;
  while (count > 0) {
    k = count < SUBMIT_BATCH ? count : SUBMIT_BATCH;
    for (i = 0; i < k; i++) {
      size_t item = m->next_submit + i;
      batch[i] = mproc__future_new(m->ex, m->fn,
                                   m->items + item * m->item_size,
                                   m->item_size, item);
      if (batch[i] == NULL) break;
      batch[i]->chunk = m->chunk;
    }
    rc = i < k ? MPROC_ENOMEM : m->ex->ops->enqueue(m->ex, batch, i);
    if (rc < 0) {
      while (i-- > 0) {
        mproc__future_unref(batch[i]);
        mproc__future_unref(batch[i]);
      }
      return rc;
    }
    for (i = 0; i < k; i++) m->ring[(m->next_submit + i) % m->cap] = batch[i];
    m->next_submit += k;
    count -= k;
  }
  return 0;
}

/* Cancel and drop every future still in flight; the map is finished. */
static void finish(mproc_map *m) {
  size_t i;
  for (i = m->next_result; i < m->next_submit; i++) {
    mproc_future *f = m->ring[i % m->cap];
    (void)mproc__future_cancel_pending(f); /* running ones go on, as Python's */
    mproc__future_unref(f);
  }
  m->next_result = m->next_submit;
  m->finished = 1;
}

void mproc_map_free(mproc_map *m) {
  if (m == NULL) return;
  if (m->last) mproc__future_unref(m->last);
  finish(m);
  free(m->ring);
  free(m->err_msg);
  free(m);
}

static int check_map(mproc_executor *ex, mproc_task_fn fn, const void *items,
                     size_t n, size_t item_size, const mproc_map_opts *o,
                     mproc_map **out, double *t) {
  if (ex == NULL || fn == NULL || out == NULL || (items == NULL && n > 0))
    return mproc__err(MPROC_EINVAL, "map: %s is NULL",
                      ex == NULL ? "the executor" : fn == NULL ? "fn"
                      : out == NULL ? "out" : "items");
  if (item_size == 0 && n > 0)
    return mproc__err(MPROC_EINVAL, "map: item_size is 0");
  if (n > 0 && item_size > SIZE_MAX / n)
    return mproc__err(MPROC_EINVAL, "map: %zu items of %zu bytes overflow",
                      n, item_size);
  if (o != NULL && o->size < sizeof *o)
    return mproc__err(MPROC_EINVAL, "map: opts.size is %zu, want %zu: start "
                      "from MPROC_MAP_OPTS_INIT", o->size, sizeof *o);
  if (o != NULL && o->chunksize < 1)
    return mproc__err(MPROC_EINVAL, "map: chunksize must be >= 1");
  return mproc__timeout(o ? o->timeout : MPROC_FOREVER, t);
}

int mproc_executor_map(mproc_executor *ex, mproc_task_fn fn, const void *items,
                       size_t n, size_t item_size, const mproc_map_opts *opts,
                       mproc_map **out) {
  mproc_map *m;
  double t;
  int rc;
  if (out) *out = NULL;
  if ((rc = check_map(ex, fn, items, n, item_size, opts, out, &t)) < 0)
    return rc;
  m = calloc(1, sizeof *m);
  if (m == NULL) return mproc__err(MPROC_ENOMEM, "map: out of memory");
  m->ex = ex;
  m->fn = fn;
  m->items = items;
  m->n = n;
  m->item_size = item_size;
  m->buffersize = opts ? opts->buffersize : 0;
  m->chunk = opts == NULL || opts->chunksize <= 1 ? 0
             : opts->chunksize > UINT16_MAX ? UINT16_MAX
             : (uint16_t)opts->chunksize;
  /* next submits one more before it takes a result: buffersize + 1. */
  m->cap = m->buffersize && m->buffersize < n ? m->buffersize + 1 : n;
  if (m->cap == 0) m->cap = 1;
  m->deadline = mproc__deadline(t);
  m->ring = malloc(m->cap * sizeof *m->ring);
  if (m->ring == NULL) {
    size_t cap = m->cap;
    free(m);
    return mproc__err(MPROC_ENOMEM, "map: out of memory for %zu futures", cap);
  }
  rc = submit_range(m, m->buffersize && m->buffersize < n ? m->buffersize : n);
  if (rc < 0) {
    mproc_map_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static void record_error(mproc_map *m, mproc_future *f) {
  int code = 0;
  const char *msg = "";
  char buf[512];
  snprintf(buf, sizeof buf, "%s", mproc_last_error()); /* keep result's */
  (void)mproc_future_exception(f, 0, &code, &msg);
  m->has_err = 1;
  m->err_item = m->next_result;
  m->err_code = code;
  free(m->err_msg);
  m->err_msg = mproc__strdup(msg);
  mproc__err(MPROC_ETASK, "%s", buf);
}

int mproc_map_next(mproc_map *m, const void **data, size_t *len) {
  mproc_future *f;
  double left;
  int rc;
  if (data) *data = NULL;
  if (len) *len = 0;
  if (m == NULL) return mproc__err(MPROC_EINVAL, "map_next: map is NULL");
  if (m->last) {
    mproc__future_unref(m->last);
    m->last = NULL;
  }
  if (m->finished || m->next_result == m->n) {
    m->finished = 1;
    return MPROC_EEOF;
  }
  if (m->buffersize && m->next_submit < m->n &&
      (rc = submit_range(m, 1)) < 0) {
    finish(m);
    return rc;
  }
  f = m->ring[m->next_result % m->cap];
  left = m->deadline < 0 ? MPROC_FOREVER : mproc__remaining(m->deadline);
  rc = mproc_future_result(f, left, data, len);
  if (rc < 0) {
    if (rc == MPROC_ETASK) record_error(m, f);
    finish(m); /* cancels f too on a timeout (_result_or_cancel) */
    return rc;
  }
  m->next_result++;
  m->last = f;
  return 0;
}

int mproc_map_error(const mproc_map *m, size_t *item, int *code,
                    const char **msg) {
  if (m == NULL) return mproc__err(MPROC_EINVAL, "map_error: map is NULL");
  if (!m->has_err) return mproc__err(MPROC_ESTATE, "map_error: no task failed");
  if (item) *item = m->err_item;
  if (code) *code = m->err_code;
  if (msg) *msg = m->err_msg ? m->err_msg : "";
  return 0;
}
