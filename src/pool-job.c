/* mproc: a Pool job — what an AsyncResult (apply_async, map_async) and an
 * imap iterator stand on. Each chunk's future calls on_chunk once it is
 * done, in the thread that finished it (the executor's reader, or the one
 * that terminated or cancelled it). on_chunk files the chunk under the
 * job's lock: fixed-size results are copied into their places (one memcpy
 * for a uniform chunk) and the future dropped; any-size ones are indexed
 * in place; the lowest failing item is kept. The chunk that completes the
 * job then calls progress, then callback or error_callback (serialised by
 * cb_lock, done increasing), and only then marks the job ready, so a
 * get() that returns has seen the callbacks run — Python's order. A get()
 * from inside the job's own callback returns at once (the outcome is
 * known there; CPython would deadlock). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mproc/pool.h"
#include "pool-internal.h"

static _Thread_local const mproc_async *in_callback;
static _Thread_local int in_any_callback; /* progress included */

int mproc__job_in_callback(void) { return in_any_callback > 0; }

mproc_async *mproc__job_new(int kind, size_t n, size_t nchunks,
                            size_t chunksize, const mproc_pool_call_opts *o) {
  mproc_async *j = calloc(1, sizeof *j);
  if (j == NULL) goto nomem;
  if (uv_mutex_init(&j->lock) != 0) goto nomem_free;
  if (uv_mutex_init(&j->cb_lock) != 0) goto nomem_lock;
  if (uv_cond_init(&j->cond) != 0) goto nomem_cblock;
  atomic_init(&j->refs, 1);
  j->kind = kind;
  j->n = n;
  j->nchunks = nchunks;
  j->chunksize = chunksize;
  if (o != NULL) {
    j->callback = o->callback;
    j->error_callback = o->error_callback;
    j->progress = o->progress;
    j->arg = o->arg;
  }
  if (nchunks == 1) {
    j->fs = &j->fs1;
  } else if (nchunks > 0 &&
             (j->fs = calloc(nchunks, sizeof *j->fs)) == NULL) {
    mproc__job_unref(j);
    goto nomem;
  }
  return j;
nomem_cblock:
  uv_mutex_destroy(&j->cb_lock);
nomem_lock:
  uv_mutex_destroy(&j->lock);
nomem_free:
  free(j);
nomem:
  mproc__err(MPROC_ENOMEM, "pool: out of memory for a job of %zu items", n);
  return NULL;
}

void mproc__job_unref(mproc_async *j) {
  size_t c;
  if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1)
    return;
  for (c = 0; c < j->nchunks && j->fs != NULL; c++)
    if (j->fs[c] != NULL) mproc__future_unref(j->fs[c]);
  if (j->fs != &j->fs1) free(j->fs);
  if (j->own_results) free(j->results);
  free(j->slots);
  free(j->err_msg);
  free(j->order);
  free(j->chunk_ok);
  uv_cond_destroy(&j->cond);
  uv_mutex_destroy(&j->cb_lock);
  uv_mutex_destroy(&j->lock);
  free(j);
}

int mproc__chunk_failure(mproc_future *f, int *code, const char **msg) {
  int s = (int)atomic_load(&f->state);
  if (s == MPROC_FUTURE_CANCELLED || s == MPROC_FUTURE_CANCELLED_AND_NOTIFIED) {
    *code = MPROC_ECANCELLED;
    *msg = "cancelled before it started (the pool was terminated, or its "
           "iterator freed)";
    return MPROC_ECANCELLED;
  }
  if (f->outcome == 0) {
    *code = 0;
    *msg = "";
    return 0;
  }
  *code = f->outcome == MPROC_ETASK ? f->task_code : f->outcome;
  *msg = f->why ? f->why : "";
  return f->outcome;
}

/* Under the lock: keep the failure if it is the lowest item so far. */
static void note_failure(mproc_async *j, size_t item, int err, int code,
                         const char *msg) {
  if (j->has_err && j->err_item <= item) return;
  free(j->err_msg);
  j->err_msg = mproc__strdup(msg); /* NULL if out of memory: "" then */
  j->has_err = 1;
  j->err = err;
  j->err_code = code;
  j->err_item = item;
}

/* Under the lock: record k of a chunk (at item) into its place. */
static void file_record(mproc_async *j, size_t item, const unsigned char *d,
                        size_t len, int rc) {
  char why[160];
  if (rc != 0) {
    note_failure(j, item, MPROC_ETASK, rc, (const char *)d);
    if (j->slots) j->slots[item] = (pool_slot){d, len, MPROC_ETASK, rc};
    return;
  }
  if (j->result_size > 0 && len != j->result_size) {
    snprintf(why, sizeof why, "item %zu's result is %zu bytes; the map's "
             "result_size is %zu", item, len, j->result_size);
    note_failure(j, item, MPROC_EBUFSIZE, MPROC_EBUFSIZE, why);
    return;
  }
  if (j->results)
    memcpy(j->results + item * j->result_size, d, len);
  else if (j->slots)
    j->slots[item] = (pool_slot){d, len, 0, 0};
}

/* Under the lock: a map chunk whose future finished with bytes. */
static void file_map_chunk(mproc_async *j, size_t first, size_t count,
                           mproc_future *f) {
  pool_view v;
  size_t k;
  if (mproc__pool_view_init(&v, f->data, f->len, count) < 0) {
    note_failure(j, first, MPROC_EINVAL, MPROC_EINVAL, mproc_last_error());
    return;
  }
  if (j->results && v.uniform == j->result_size) { /* the fast path */
    memcpy(j->results + first * j->result_size, v.p + v.pos,
           count * j->result_size);
    return;
  }
  if (v.uniform != POOL_GENERAL && j->discard)
    return; /* all succeeded, and nobody keeps the bytes */
  for (k = 0; k < count; k++) {
    const unsigned char *d;
    size_t len;
    int rc;
    if (mproc__pool_view_next(&v, &d, &len, &rc) < 0) {
      note_failure(j, first + k, MPROC_EINVAL, MPROC_EINVAL,
                   mproc_last_error());
      return;
    }
    file_record(j, first + k, d, len, rc);
  }
}

/* Under the lock: file chunk c (its future f is done). */
static void file_chunk(mproc_async *j, size_t c, mproc_future *f) {
  size_t first = c * j->chunksize, k;
  size_t count = j->n - first < j->chunksize ? j->n - first : j->chunksize;
  const char *msg;
  int code, err = mproc__chunk_failure(f, &code, &msg);
  if (j->kind == JOB_IMAP) {
    if (j->unordered) j->order[j->chunks_done] = c; else j->chunk_ok[c] = 1;
  } else if (err != 0) {
    note_failure(j, first, err, code, msg);
    for (k = 0; j->slots && k < count; k++)
      j->slots[first + k] = (pool_slot){(const unsigned char *)msg,
                                        strlen(msg) + 1, err, code};
  } else if (j->kind == JOB_MAP) {
    file_map_chunk(j, first, count, f);
  }
  j->chunks_done++;
  j->items_done += j->kind == JOB_APPLY ? 1 : count;
  /* Bytes nobody will read again go now (a long map's memory). */
  if (j->kind == JOB_MAP && (j->results != NULL || j->discard)) {
    j->fs[c] = NULL;
    mproc__future_unref(f);
  }
}

static void run_callbacks(mproc_async *j, size_t done, int final) {
  if ((j->progress == NULL || j->kind == JOB_APPLY) && !final) return;
  uv_mutex_lock(&j->cb_lock);
  in_any_callback++;
  if (j->progress && j->kind != JOB_APPLY && done > j->reported) {
    j->reported = done;
    j->progress(done, j->n, j->arg);
  }
  if (final) {
    mproc_pool_callback cb = j->has_err ? j->error_callback : j->callback;
    in_callback = j;
    if (cb) cb(j, j->arg);
    in_callback = NULL;
  }
  in_any_callback--;
  uv_mutex_unlock(&j->cb_lock);
}

static void mark_ready(mproc_async *j) {
  uv_mutex_lock(&j->lock);
  j->ready = 1;
  uv_cond_broadcast(&j->cond);
  uv_mutex_unlock(&j->lock);
}

static int on_chunk(mproc_future *f, void *arg) {
  mproc_async *j = arg;
  size_t c = j->kind == JOB_APPLY ? 0 : mproc_future_item(f) / j->chunksize;
  size_t done;
  int final;
  int quiet = j->callback == NULL && j->error_callback == NULL &&
              (j->progress == NULL || j->kind == JOB_APPLY);
  uv_mutex_lock(&j->lock);
  file_chunk(j, c, f);
  done = j->items_done;
  final = j->chunks_done == j->nchunks;
  if (final) j->complete = 1;
  /* Without callbacks the job is ready at once: one wake-up of a get()
   * (two would cost a waiter an extra sleep on one CPU). */
  if (final && quiet) j->ready = 1;
  if (j->kind == JOB_IMAP || j->ready) uv_cond_broadcast(&j->cond);
  uv_mutex_unlock(&j->lock);
  if (quiet) {
    mproc__job_unref(j);
    return 0;
  }
  run_callbacks(j, done, final);
  if (final) mark_ready(j);
  mproc__job_unref(j);
  return 0;
}

/* A direct job (apply_async with no callbacks) registers nothing on its
 * future: get() waits on the future itself (one wake-up, as the
 * executor's result()), and the first call that sees it done files it. */
static int direct_settle(mproc_async *j) {
  if (!mproc_future_done(j->fs[0])) return 0;
  uv_mutex_lock(&j->lock);
  if (!j->ready) {
    file_chunk(j, 0, j->fs[0]);
    j->complete = j->ready = 1;
  }
  uv_mutex_unlock(&j->lock);
  return 1;
}

int mproc__job_watch(mproc_async *j) {
  size_t c;
  int rc = 0;
  if (j->kind == JOB_APPLY && j->callback == NULL &&
      j->error_callback == NULL) {
    j->direct = 1;
    return 0;
  }
  for (c = 0; c < j->nchunks; c++) {
    atomic_fetch_add(&j->refs, 1);
    if (mproc_future_add_done_callback(j->fs[c], on_chunk, j) < 0) {
      /* Out of memory for the callback: wait for this chunk here, then
       * file it as its callback would have. */
      (void)mproc__future_wait1(j->fs[c], -1.0); /* no limit */
      (void)on_chunk(j->fs[c], j);
      rc = MPROC_ENOMEM;
    }
  }
  return rc;
}

void mproc__job_watch_fresh(mproc_async *j, size_t c) {
  atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed); /* unqueued */
  mproc__future_watch_fresh(j->fs[c], on_chunk, j);
}

void mproc__job_finish_empty(mproc_async *j) {
  uv_mutex_lock(&j->lock);
  j->complete = 1;
  uv_mutex_unlock(&j->lock);
  run_callbacks(j, 0, 1);
  mark_ready(j);
}

int mproc__job_sleep(mproc_async *j, double deadline) {
  double left = mproc__remaining(deadline);
  if (left == 0) return 0;
  if (left < 0 || left > 1e6)
    uv_cond_wait(&j->cond, &j->lock);
  else
    (void)uv_cond_timedwait(&j->cond, &j->lock, (uint64_t)(left * 1e9));
  return 1;
}

int mproc__job_wait(mproc_async *j, double timeout) {
  double deadline = mproc__deadline(timeout);
  int ready;
  if (in_callback == j) return 0; /* its outcome is known: see the top */
  if (j->direct) /* result()'s wait, with its spin where it pays */
    return mproc_future_result(j->fs[0], timeout < 0 ? MPROC_FOREVER
                                         : timeout, NULL, NULL)
                   != MPROC_ETIMEDOUT && direct_settle(j)
           ? 0 : MPROC_ETIMEDOUT;
  uv_mutex_lock(&j->lock);
  while (!j->ready && mproc__job_sleep(j, deadline)) {
  }
  ready = j->ready;
  uv_mutex_unlock(&j->lock);
  return ready ? 0 : MPROC_ETIMEDOUT;
}

int mproc__job_outcome(const mproc_async *j) {
  if (!j->has_err) return 0;
  if (j->kind == JOB_APPLY)
    return mproc__err(j->err, "pool: the task failed (%s, code %d): %s",
                      mproc_err_name(j->err), j->err_code,
                      j->err_msg ? j->err_msg : "");
  return mproc__err(j->err, "pool: item %zu failed (%s, code %d): %s",
                    j->err_item, mproc_err_name(j->err), j->err_code,
                    j->err_msg ? j->err_msg : "");
}

/* ---- the AsyncResult calls ----------------------------------------------------- */

int mproc_async_wait(mproc_async *ar, double timeout) {
  double t;
  int rc;
  if (ar == NULL) return mproc__err(MPROC_EINVAL, "async_wait: NULL");
  if ((rc = mproc__timeout(timeout, &t)) < 0) return rc;
  if (mproc__job_wait(ar, t) < 0)
    return mproc__err(MPROC_ETIMEDOUT, "async: not ready within %g s",
                      timeout);
  return 0;
}

int mproc_async_get(mproc_async *ar, double timeout, const void **data,
                    size_t *len) {
  int rc;
  if (data) *data = NULL;
  if (len) *len = 0;
  if ((rc = mproc_async_wait(ar, timeout)) < 0) return rc;
  if ((rc = mproc__job_outcome(ar)) < 0) return rc;
  if (ar->kind == JOB_APPLY) {
    if (data) *data = ar->fs[0]->data;
    if (len) *len = ar->fs[0]->len;
  } else if (ar->result_size > 0) {
    if (data) *data = ar->results;
    if (len) *len = ar->n * ar->result_size;
  }
  return 0;
}

int mproc_async_ready(const mproc_async *ar) {
  mproc_async *j = (mproc_async *)(uintptr_t)ar;
  int r;
  if (ar == NULL) return mproc__err(MPROC_EINVAL, "async_ready: NULL");
  if (j->direct) return direct_settle(j);
  uv_mutex_lock(&j->lock);
  r = j->ready;
  uv_mutex_unlock(&j->lock);
  return r || in_callback == ar;
}

int mproc_async_successful(const mproc_async *ar) {
  int r = mproc_async_ready(ar);
  if (r < 0) return r;
  if (r == 0)
    return mproc__err(MPROC_ESTATE, "async_successful: the result is not "
                      "ready (Python raises ValueError)");
  return !ar->has_err;
}

int mproc_async_item(mproc_async *ar, size_t i, const void **data,
                     size_t *len) {
  int r = mproc_async_ready(ar);
  if (data) *data = NULL;
  if (len) *len = 0;
  if (r < 0) return r;
  if (i >= (ar->kind == JOB_APPLY ? 1 : ar->n))
    return mproc__err(MPROC_EINVAL, "async_item: item %zu of %zu", i,
                      ar->kind == JOB_APPLY ? (size_t)1 : ar->n);
  if (r == 0) return mproc__err(MPROC_ESTATE, "async_item: not ready");
  if (ar->kind == JOB_APPLY) return mproc_async_get(ar, 0, data, len);
  if (ar->slots != NULL) {
    pool_slot s = ar->slots[i];
    if (s.rc != 0)
      return mproc__err(s.rc, "pool: item %zu failed (%s, code %d): %s", i,
                        mproc_err_name(s.rc), s.code, (const char *)s.data);
    if (data) *data = s.data;
    if (len) *len = s.len;
    return 0;
  }
  /* A fixed-size map that failed is failed as a whole (Python's get()
   * raises): its other records' places are not all written. */
  if (ar->has_err) return mproc__job_outcome(ar);
  if (ar->results == NULL)
    return mproc__err(MPROC_ESTATE, "async_item: the results were dropped");
  if (data) *data = ar->results + i * ar->result_size;
  if (len) *len = ar->result_size;
  return 0;
}

int mproc_async_error(const mproc_async *ar, size_t *item, int *code,
                      const char **msg) {
  int r = mproc_async_ready(ar);
  if (r < 0) return r;
  if (r == 0) return mproc__err(MPROC_ESTATE, "async_error: not ready");
  if (!ar->has_err) return mproc__err(MPROC_ESTATE, "async_error: no item "
                                      "failed");
  if (item) *item = ar->err_item;
  if (code) *code = ar->err_code;
  if (msg) *msg = ar->err_msg ? ar->err_msg : "";
  return 0;
}

void mproc__job_drop(mproc_async *j) {
  size_t c;
  for (c = 0; c < j->nchunks; c++)
    if (j->fs[c] != NULL) /* what has not started; running chunks finish */
      (void)mproc__future_cancel_pending(j->fs[c]);
  mproc__job_unref(j);
}

void mproc_async_free(mproc_async *ar) {
  if (ar == NULL) return;
  /* The caller's results array may go with its handle: chunks that
   * finish later are dropped instead of written into it. */
  uv_mutex_lock(&ar->lock);
  if (!ar->ready && ar->results != NULL && !ar->own_results) {
    ar->results = NULL;
    ar->discard = 1;
  }
  uv_mutex_unlock(&ar->lock);
  mproc__job_unref(ar);
}
