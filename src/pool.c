/* mproc: multiprocessing.Pool — the pool's life and the calls that
 * schedule work (see pool-internal.h for the layout). The pool is a
 * process executor; every call here reaches it through the executor's
 * internal interface (futures-internal.h): apply is one future of the
 * user's task, a map is one future per chunk of the chunk task. Python's
 * ordering rules are kept in `state`: RUN until close (CLOSE) or
 * terminate (TERMINATE); join only after either. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mproc/pool.h"
#include "pool-internal.h"

enum { POOL_RUN = 0, POOL_CLOSE, POOL_TERMINATE };

struct mproc_pool {
  mproc_executor *ex;
  int processes;
  uv_mutex_t lock;
  int state;
  mproc_pool *prev, *next; /* the live pools (below) */
};

/* Python's Pool workers are daemonic, and so are ours: a program that
 * ends without closing its pool has them terminated by mproc's exit
 * duties, which would otherwise wait for workers that wait for work.
 * Where the pool's threads still run at exit (POSIX), the live pools are
 * also terminated and released first, by an exit handler registered with
 * the first pool (so it runs before mproc_init's): no worker is replaced
 * while the exit duties end them, and the queues are unlinked. (A DLL's
 * exit handlers run after Windows has ended the other threads: there the
 * daemon flag does the work.) */
static uv_once_t live_once = UV_ONCE_INIT;
static uv_mutex_t live_lock;
static mproc_pool *live;

static void terminate_live(void) {
  mproc_pool *p;
  uv_mutex_lock(&live_lock);
  for (p = live; p != NULL; p = p->next) {
    /* Terminated and released (its queues and segment unlinked): the
     * program is ending, nothing may use the pool any more. */
    (void)mproc_executor_terminate_workers(p->ex, MPROC_STOP_TERMINATE);
    mproc_executor_free(p->ex);
    p->ex = NULL;
  }
  live = NULL;
  uv_mutex_unlock(&live_lock);
}

static void live_init(void) {
  if (uv_mutex_init(&live_lock) != 0) abort(); /* no memory at start */
  atexit(terminate_live);
}

static void live_add(mproc_pool *p) {
  uv_once(&live_once, live_init);
  uv_mutex_lock(&live_lock);
  p->next = live;
  if (live) live->prev = p;
  live = p;
  uv_mutex_unlock(&live_lock);
}

static void live_remove(mproc_pool *p) {
  uv_mutex_lock(&live_lock);
  if (p->prev) p->prev->next = p->next; else live = p->next;
  if (p->next) p->next->prev = p->prev;
  uv_mutex_unlock(&live_lock);
}

static int executor_opts(const mproc_pool_opts *o, mproc_executor_opts *eo) {
  int rc = mproc__opts_load(eo, sizeof *eo, o->executor, "pool_new "
                            "(opts.executor)", "MPROC_EXECUTOR_OPTS_INIT");
  if (rc < 0) return rc;
  if (o->processes < 0)
    return mproc__err(MPROC_EINVAL, "pool_new: processes is %d; it must be "
                      ">= 1 (0: mproc_cpu_count())", o->processes);
  if (o->maxtasksperchild < 0)
    return mproc__err(MPROC_EINVAL, "pool_new: maxtasksperchild is %d; it "
                      "must be >= 1 (0: no limit)", o->maxtasksperchild);
  eo->max_workers = o->processes > 0 ? o->processes : mproc_cpu_count();
  eo->max_tasks_per_child = o->maxtasksperchild;
  eo->method = o->method != MPROC_START_DEFAULT ? o->method
               : o->ctx != NULL ? mproc_context_method(o->ctx)
               : MPROC_START_DEFAULT;
  eo->initializer = o->initializer;
  eo->initargs = o->initargs;
  eo->initargs_len = o->initargs_len;
  return 0;
}

int mproc_pool_new(mproc_pool **out, const mproc_pool_opts *user_opts) {
  mproc_pool_opts o;
  mproc_executor_opts eo;
  mproc_pool *p;
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "pool_new: out is NULL");
  *out = NULL;
  if ((rc = mproc__opts_load(&o, sizeof o, user_opts, "pool_new",
                             "MPROC_POOL_OPTS_INIT")) < 0 ||
      (rc = executor_opts(&o, &eo)) < 0)
    return rc;
  if ((p = calloc(1, sizeof *p)) == NULL || uv_mutex_init(&p->lock) != 0) {
    free(p);
    return mproc__err(MPROC_ENOMEM, "pool_new: out of memory");
  }
  if ((rc = mproc__executor_make(&p->ex, MPROC_EXECUTOR_PROCESS, &eo, 1)) < 0) {
    uv_mutex_destroy(&p->lock);
    free(p);
    return rc;
  }
  p->processes = eo.max_workers;
  live_add(p);
  *out = p;
  return 0;
}

int mproc_pool_processes(const mproc_pool *pool) {
  if (pool == NULL) return mproc__err(MPROC_EINVAL, "pool_processes: NULL");
  return pool->processes;
}

/* MPROC_ESTATE unless the pool takes work. */
static int check_running(mproc_pool *p, const char *what) {
  int s;
  uv_mutex_lock(&p->lock);
  s = p->state;
  uv_mutex_unlock(&p->lock);
  if (s == POOL_RUN) return 0;
  return mproc__err(MPROC_ESTATE, "%s: the pool is %s (Python's \"Pool not "
                    "running\")", what, s == POOL_CLOSE ? "closed"
                    : "terminated");
}

int mproc_pool_close(mproc_pool *pool) {
  if (pool == NULL) return mproc__err(MPROC_EINVAL, "pool_close: NULL");
  uv_mutex_lock(&pool->lock);
  if (pool->state == POOL_RUN) pool->state = POOL_CLOSE;
  uv_mutex_unlock(&pool->lock);
  return mproc_executor_shutdown(pool->ex, 0);
}

int mproc_pool_terminate(mproc_pool *pool) {
  if (pool == NULL) return mproc__err(MPROC_EINVAL, "pool_terminate: NULL");
  if (mproc__job_in_callback())
    return mproc__err(MPROC_ESTATE, "pool_terminate: not from one of the "
                      "pool's callbacks (it would wait for itself)");
  uv_mutex_lock(&pool->lock);
  pool->state = POOL_TERMINATE;
  uv_mutex_unlock(&pool->lock);
  return mproc_executor_terminate_workers(pool->ex, MPROC_STOP_TERMINATE);
}

int mproc_pool_join(mproc_pool *pool) {
  int s;
  if (pool == NULL) return mproc__err(MPROC_EINVAL, "pool_join: NULL");
  uv_mutex_lock(&pool->lock);
  s = pool->state;
  uv_mutex_unlock(&pool->lock);
  if (s == POOL_RUN)
    return mproc__err(MPROC_ESTATE, "pool_join: the pool is still running; "
                      "call mproc_pool_close or mproc_pool_terminate first");
  if (mproc__job_in_callback())
    return mproc__err(MPROC_ESTATE, "pool_join: not from one of the pool's "
                      "callbacks (it would wait for itself)");
  return mproc_executor_shutdown(pool->ex, MPROC_SHUTDOWN_WAIT);
}

void mproc_pool_free(mproc_pool *pool) {
  int s;
  if (pool == NULL) return;
  if (pool->ex == NULL) { /* released at exit (terminate_live) */
    uv_mutex_destroy(&pool->lock);
    free(pool);
    return;
  }
  uv_mutex_lock(&pool->lock);
  s = pool->state;
  uv_mutex_unlock(&pool->lock);
  if (s == POOL_RUN) (void)mproc_pool_terminate(pool); /* Python's __exit__ */
  live_remove(pool);
  mproc_executor_free(pool->ex); /* joins */
  uv_mutex_destroy(&pool->lock);
  free(pool);
}

/* ---- apply ------------------------------------------------------------------- */

int mproc_pool_apply(mproc_pool *pool, mproc_task_fn fn, const void *in,
                     size_t len, void **out, size_t *out_len) {
  mproc_future *f = NULL;
  void *d = NULL;
  size_t n = 0;
  int rc;
  if (out) *out = NULL;
  if (out_len) *out_len = 0;
  if (pool == NULL) return mproc__err(MPROC_EINVAL, "pool_apply: NULL pool");
  if ((rc = check_running(pool, "pool_apply")) < 0 ||
      (rc = mproc_executor_submit(pool->ex, fn, in, len, &f)) < 0)
    return rc;
  rc = mproc_future_take(f, MPROC_FOREVER, &d, &n);
  mproc_future_free(f);
  if (rc < 0) return rc;
  if (out) *out = d; else mproc_free(d);
  if (out_len) *out_len = n;
  return 0;
}

static int load_call_opts(mproc_pool_call_opts *o, const mproc_pool_call_opts *u,
                          const char *what) {
  return mproc__opts_load(o, sizeof *o, u, what, "MPROC_POOL_CALL_OPTS_INIT");
}

int mproc_pool_apply_async(mproc_pool *pool, mproc_task_fn fn, const void *in,
                           size_t len, const mproc_pool_call_opts *opts,
                           mproc_async **out) {
  mproc_pool_call_opts o;
  mproc_async *j;
  int rc;
  if (out) *out = NULL;
  if (pool == NULL || out == NULL)
    return mproc__err(MPROC_EINVAL, "pool_apply_async: %s is NULL",
                      pool ? "out" : "the pool");
  if ((rc = load_call_opts(&o, opts, "pool_apply_async")) < 0 ||
      (rc = check_running(pool, "pool_apply_async")) < 0)
    return rc;
  if ((j = mproc__job_new(JOB_APPLY, 1, 1, 1, &o)) == NULL)
    return MPROC_ENOMEM;
  if ((rc = mproc_executor_submit(pool->ex, fn, in, len, &j->fs[0])) < 0) {
    mproc__job_unref(j);
    return rc;
  }
  (void)mproc__job_watch(j);
  *out = j;
  return 0;
}

/* ---- maps: cutting items into chunks ------------------------------------------- */

/* What a map call was given, in one place. */
typedef struct map_args {
  mproc_task_fn fn;
  const unsigned char *items;    /* fixed records, or NULL */
  const mproc_pool_item *vitems; /* variable ones, or NULL */
  size_t n, item_size;
  const char *name; /* the task's registered name */
} map_args;

/* The size of the chunk message for items [first, first + count). */
static int chunk_size(const map_args *a, size_t first, size_t count,
                      size_t *need) {
  size_t n = sizeof(pool_chunk_hdr) + strlen(a->name), i;
  if (a->vitems == NULL) {
    *need = n + count * a->item_size; /* checked against overflow */
    return 0;
  }
  n += count * sizeof(uint64_t);
  for (i = 0; i < count; i++) {
    if (a->vitems[first + i].len > SIZE_MAX - n)
      return mproc__err(MPROC_ENOMEM, "pool: a chunk's size overflows");
    n += a->vitems[first + i].len;
  }
  *need = n;
  return 0;
}

/* Write the chunk message for items [first, first + count) at buf. */
static void fill_chunk(const map_args *a, size_t first, size_t count,
                       unsigned char *buf) {
  pool_chunk_hdr h;
  size_t i, off;
  memset(&h, 0, sizeof h);
  h.name_len = (uint32_t)strlen(a->name);
  h.var = a->vitems != NULL;
  h.count = count;
  h.item_size = a->vitems ? 0 : a->item_size;
  memcpy(buf, &h, sizeof h);
  memcpy(buf + sizeof h, a->name, h.name_len);
  off = sizeof h + h.name_len;
  if (a->vitems == NULL) {
    memcpy(buf + off, a->items + first * a->item_size, count * a->item_size);
    return;
  }
  for (i = 0; i < count; i++) {
    uint64_t l = a->vitems[first + i].len;
    memcpy(buf + off + i * sizeof l, &l, sizeof l);
  }
  off += count * sizeof(uint64_t);
  for (i = 0; i < count; i++) {
    const mproc_pool_item *it = &a->vitems[first + i];
    if (it->len) memcpy(buf + off, it->data, it->len);
    off += it->len;
  }
}

#define SLAB_MAX ((size_t)16 << 20)
/* One slab for the job's futures when they are many and small (a slab
 * lives until its last future goes: a map of large chunks frees each as
 * it is filed instead). NULL: one allocation each. */
static mproc__fslab *chunks_slab(const mproc_async *j, const map_args *a) {
  size_t c, need = 0, total = 0;
  if (j->nchunks < 64) return NULL;
  for (c = 0; c < j->nchunks; c++) {
    size_t first = c * j->chunksize;
    size_t count = a->n - first < j->chunksize ? a->n - first : j->chunksize;
    if (chunk_size(a, first, count, &need) < 0 || need > SLAB_MAX - total)
      return NULL;
    total += need;
  }
  return mproc__fslab_new(j->nchunks, total);
}

/* Make chunks [c0, c1)'s futures (not yet scheduled), each message built
 * in the future's own input (one copy of the items), each with the job's
 * callback. */
static int make_chunks(mproc_pool *pool, mproc_async *j, const map_args *a,
                       mproc__fslab *slab, size_t c0, size_t c1) {
  size_t c, need = 0;
  int rc = 0;
  for (c = c0; c < c1 && rc == 0; c++) {
    size_t first = c * j->chunksize;
    size_t count = a->n - first < j->chunksize ? a->n - first : j->chunksize;
    if ((rc = chunk_size(a, first, count, &need)) < 0) break;
    j->fs[c] = mproc__future_new_in(slab, pool->ex, mproc__pool_chunk_main,
                                    NULL, need, first);
    if (j->fs[c] == NULL)
      rc = MPROC_ENOMEM;
    else
      fill_chunk(a, first, count, j->fs[c]->in);
    /* Its callback now, while the future is in this CPU's cache and no
     * worker's result can race the registration. */
    if (rc == 0) mproc__job_watch_fresh(j, c);
  }
  return rc;
}

/* Chunks made and queued per step of a slab job: the workers start on the
 * first while the rest are made, and each future is queued while it is
 * still in this CPU's cache. */
#define SLICE 512

/* A slab job's later slice could not be queued (the pool was closed or
 * broke meanwhile): its chunks and the rest fail through their callbacks,
 * as the queued ones do at the shutdown. */
static void fail_rest(mproc_pool *pool, mproc_async *j, const map_args *a,
                      mproc__fslab *slab, size_t c0, size_t c1) {
  size_t c;
  (void)make_chunks(pool, j, a, slab, c1, j->nchunks); /* the slab has room */
  for (c = c0; c < j->nchunks; c++) {
    mproc_future *f = j->fs[c];
    if (f == NULL) continue;
    if (mproc__future_start(f))
      mproc__future_finish(f, MPROC_EBROKEN, MPROC_EBROKEN, "pool: closed "
                           "while the map was being submitted");
    mproc__future_unref(f); /* the kind's: it was never queued */
  }
}

/* Schedule a job's chunk futures; on failure none runs and the job is
 * released. */
static int schedule(mproc_pool *pool, mproc_async *j, const map_args *a) {
  mproc__fslab *slab = chunks_slab(j, a);
  size_t c, c0 = 0, c1 = j->nchunks;
  int rc = 0;
  for (c0 = 0; c0 < j->nchunks && rc == 0; c0 = c1) {
    c1 = slab && j->nchunks - c0 > SLICE ? c0 + SLICE : j->nchunks;
    if ((rc = make_chunks(pool, j, a, slab, c0, c1)) == 0)
      rc = pool->ex->ops->enqueue(pool->ex, j->fs + c0, c1 - c0);
    if (rc < 0 && c0 > 0) { /* some chunks run already */
      fail_rest(pool, j, a, slab, c0, c1);
      rc = 0;
      break;
    }
  }
  mproc__fslab_unref(slab); /* its futures hold it now */
  if (rc < 0) {
    for (c = 0; c < j->nchunks; c++)
      if (j->fs[c] != NULL) {
        /* No callback will run: the job reference it held goes too. */
        if (j->fs[c]->cbs != NULL) atomic_fetch_sub(&j->refs, 1);
        mproc__future_unref(j->fs[c]); /* the kind's */
      }
    mproc__job_unref(j); /* and ours, with the job */
    return rc;
  }
  return 0;
}

static int check_map(mproc_pool *pool, const map_args *a, size_t result_size,
                     const char *what) {
  size_t i;
  const char *name;
  int rc;
  if (pool == NULL || a->fn == NULL)
    return mproc__err(MPROC_EINVAL, "%s: %s is NULL", what,
                      pool ? "fn" : "the pool");
  if (a->n > 0 && a->items == NULL && a->vitems == NULL)
    return mproc__err(MPROC_EINVAL, "%s: items is NULL with n = %zu", what,
                      a->n);
  if (a->vitems == NULL && a->n > 0 &&
      (a->item_size == 0 || a->item_size > SIZE_MAX / a->n))
    return mproc__err(MPROC_EINVAL, "%s: %zu items of %zu bytes: item_size "
                      "must be > 0 and the total must fit", what, a->n,
                      a->item_size);
  if (result_size > 0 && a->n > SIZE_MAX / result_size)
    return mproc__err(MPROC_EINVAL, "%s: %zu results of %zu bytes overflow",
                      what, a->n, result_size);
  for (i = 0; a->vitems && i < a->n; i++)
    if (a->vitems[i].data == NULL && a->vitems[i].len > 0)
      return mproc__err(MPROC_EINVAL, "%s: item %zu has NULL data and "
                        "length %zu", what, i, a->vitems[i].len);
  if ((rc = mproc__task_lookup((mproc_fnptr)a->fn, &name)) < 0)
    return rc == MPROC_ENOTREG
           ? mproc__err(MPROC_ENOTREG, "%s: the task function is not "
                        "registered; mark it MPROC_TASK(fn) so that workers "
                        "can find it by name", what)
           : rc;
  return check_running(pool, what);
}

/* The shared body of every map: check, make the job, schedule it. */
static int start_map(mproc_pool *pool, map_args *a, int kind, int unordered,
                     void *results, size_t result_size, int discard,
                     const mproc_pool_call_opts *uo, const char *what,
                     mproc_async **out) {
  mproc_pool_call_opts o;
  size_t cs, nchunks;
  mproc_async *j;
  int rc;
  *out = NULL;
  if ((rc = load_call_opts(&o, uo, what)) < 0 ||
      (rc = check_map(pool, a, result_size, what)) < 0)
    return rc;
  (void)mproc__task_lookup((mproc_fnptr)a->fn, &a->name);
  cs = o.chunksize;
  if (cs == 0 && kind == JOB_MAP) {
    size_t per = (size_t)pool->processes * 4; /* Python's divmod rule */
    cs = a->n / per + (a->n % per != 0);
  }
  if (cs == 0) cs = 1;
  nchunks = a->n / cs + (a->n % cs != 0);
  if ((j = mproc__job_new(kind, a->n, nchunks, cs, &o)) == NULL)
    return MPROC_ENOMEM;
  j->unordered = unordered;
  j->discard = discard;
  j->result_size = result_size;
  j->results = results;
  if (kind == JOB_MAP && result_size > 0 && results == NULL && !discard &&
      a->n > 0) {
    j->own_results = 1;
    j->results = malloc(a->n * result_size);
  }
  if (kind == JOB_MAP && result_size == 0 && !discard && a->n > 0)
    j->slots = calloc(a->n, sizeof *j->slots);
  if (kind == JOB_IMAP)
    j->order = calloc(nchunks ? nchunks : 1, sizeof *j->order),
    j->chunk_ok = calloc(nchunks ? nchunks : 1, 1);
  if ((j->own_results && j->results == NULL) ||
      (kind == JOB_MAP && result_size == 0 && !discard && a->n > 0 &&
       j->slots == NULL) ||
      (kind == JOB_IMAP && (j->order == NULL || j->chunk_ok == NULL))) {
    mproc__job_unref(j);
    return mproc__err(MPROC_ENOMEM, "%s: out of memory for %zu results",
                      what, a->n);
  }
  if (nchunks == 0)
    mproc__job_finish_empty(j);
  else if ((rc = schedule(pool, j, a)) < 0)
    return rc;
  *out = j;
  return 0;
}

int mproc_pool_map_async(mproc_pool *pool, mproc_task_fn fn, const void *items,
                         size_t n, size_t item_size, void *results,
                         size_t result_size, const mproc_pool_call_opts *opts,
                         mproc_async **out) {
  map_args a = {fn, items, NULL, n, item_size, NULL};
  if (out == NULL)
    return mproc__err(MPROC_EINVAL, "pool_map_async: out is NULL");
  if (results != NULL && result_size == 0)
    return mproc__err(MPROC_EINVAL, "pool_map_async: results given with "
                      "result_size 0");
  return start_map(pool, &a, JOB_MAP, 0, results, result_size, 0, opts,
                   "pool_map_async", out);
}

int mproc_pool_map_var_async(mproc_pool *pool, mproc_task_fn fn,
                             const mproc_pool_item *items, size_t n,
                             const mproc_pool_call_opts *opts,
                             mproc_async **out) {
  map_args a = {fn, NULL, items, n, 0, NULL};
  if (out == NULL)
    return mproc__err(MPROC_EINVAL, "pool_map_var_async: out is NULL");
  if (items == NULL && n > 0)
    return mproc__err(MPROC_EINVAL, "pool_map_var_async: items is NULL");
  return start_map(pool, &a, JOB_MAP, 0, NULL, 0, 0, opts,
                   "pool_map_var_async", out);
}

int mproc_pool_map(mproc_pool *pool, mproc_task_fn fn, const void *items,
                   size_t n, size_t item_size, void *results,
                   size_t result_size, const mproc_pool_call_opts *opts) {
  map_args a = {fn, items, NULL, n, item_size, NULL};
  mproc_async *j;
  int rc;
  if ((results == NULL) != (result_size == 0))
    return mproc__err(MPROC_EINVAL, "pool_map: results and result_size go "
                      "together (both given, or NULL and 0 to drop the "
                      "results); for results of any size use "
                      "mproc_pool_map_async");
  rc = start_map(pool, &a, JOB_MAP, 0, results, result_size, results == NULL,
                 opts, "pool_map", &j);
  if (rc < 0) return rc;
  rc = mproc_async_get(j, MPROC_FOREVER, NULL, NULL);
  mproc_async_free(j);
  return rc;
}

/* ---- imap ---------------------------------------------------------------------- */

static int start_imap(mproc_pool *pool, map_args *a, int unordered,
                      const mproc_pool_call_opts *o, const char *what,
                      mproc_imap **out) {
  mproc_async *j;
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "%s: out is NULL", what);
  *out = NULL;
  rc = start_map(pool, a, JOB_IMAP, unordered, NULL, 0, 0, o, what, &j);
  if (rc < 0) return rc;
  if ((rc = mproc__imap_new(j, out)) < 0) mproc__job_drop(j);
  return rc;
}

int mproc_pool_imap(mproc_pool *pool, mproc_task_fn fn, const void *items,
                    size_t n, size_t item_size,
                    const mproc_pool_call_opts *opts, mproc_imap **out) {
  map_args a = {fn, items, NULL, n, item_size, NULL};
  return start_imap(pool, &a, 0, opts, "pool_imap", out);
}

int mproc_pool_imap_unordered(mproc_pool *pool, mproc_task_fn fn,
                              const void *items, size_t n, size_t item_size,
                              const mproc_pool_call_opts *opts,
                              mproc_imap **out) {
  map_args a = {fn, items, NULL, n, item_size, NULL};
  return start_imap(pool, &a, 1, opts, "pool_imap_unordered", out);
}

int mproc_pool_imap_var(mproc_pool *pool, mproc_task_fn fn,
                        const mproc_pool_item *items, size_t n, int flags,
                        const mproc_pool_call_opts *opts, mproc_imap **out) {
  map_args a = {fn, NULL, items, n, 0, NULL};
  if (flags & ~MPROC_IMAP_UNORDERED)
    return mproc__err(MPROC_EINVAL, "pool_imap_var: unknown flags 0x%x",
                      flags);
  if (items == NULL && n > 0)
    return mproc__err(MPROC_EINVAL, "pool_imap_var: items is NULL");
  return start_imap(pool, &a, flags & MPROC_IMAP_UNORDERED, opts,
                    "pool_imap_var", out);
}
