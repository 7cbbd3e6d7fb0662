/* mproc: a process worker of the worker set (see wset.h for the
 * protocol). It opens its task queue, the result queue and the slot
 * table by name, runs the initializer (a failure is reported once and
 * the worker exits), then takes batches of tasks until a stop message,
 * max_tasks tasks, too much resident memory, an idle timeout, or its
 * parent's end. Results are packed several to a message: a batch's
 * results go out when the batch is done, or sooner when they pass
 * FLUSH_COUNT or FLUSH_BYTES or have waited FLUSH_NS. Tasks are found by
 * registered name (MPROC_TASK), the same under every start method. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "wset.h"

MPROC_TASK(mproc__wset_worker_main);

#define FLUSH_BYTES ((size_t)256 << 10)
#define FLUSH_NS 2000000u /* 2 ms */
/* Results per message at most (a worker's death loses none of them:
 * they are in its hold area too, or were sent at once). */
#define FLUSH_COUNT 64

typedef struct worker {
  const wset_args *a;
  mproc_queue *tq, *rq;
  wset_slot *slot;
  wset_hold *hold;    /* this worker's hold area (wset.h) */
  unsigned char *out; /* the result message being packed */
  size_t len, cap;
  uint32_t count;     /* results in it */
  uint64_t first_ns;  /* about when its first result was added */
  uint64_t batch_ns;  /* when the batch being run was taken */
  uint64_t done;      /* tasks finished */
  char last_name[256];
  size_t last_len;
  mproc_task_fn last_fn;
  mproc_buf tb;       /* a task's result, its memory kept between tasks */
} worker;

/* A task result buffer larger than this is given back after its task. */
#define KEEP_BYTES ((size_t)64 << 10)

static int out_room(worker *w, size_t n) {
  size_t cap;
  unsigned char *p;
  if (w->len + n <= w->cap) return 0;
  cap = w->cap ? w->cap : 4096;
  while (cap < w->len + n) cap *= 2;
  if ((p = realloc(w->out, cap)) == NULL)
    return mproc__err(MPROC_ENOMEM, "worker: no memory for a %zu-byte "
                      "result message", cap);
  w->out = p;
  w->cap = cap;
  return 0;
}

/* Put the packed results (if any); their tasks become flushed. */
static int flush(worker *w) {
  wset_rbatch_hdr h;
  int rc;
  if (w->count == 0) return 0;
  memset(&h, 0, sizeof h);
  h.kind = WSET_R_RESULTS;
  h.count = w->count;
  h.worker = w->a->index;
  h.gen = w->a->gen;
  memcpy(w->out, &h, sizeof h);
  rc = mproc_queue_put(w->rq, w->out, w->len, MPROC_FOREVER);
  atomic_store(&w->slot->flushed, w->done);
  atomic_store(&w->hold->len, 0); /* sent: held no more */
  w->count = 0;
  w->len = sizeof h;
  if (w->cap > 4 * FLUSH_BYTES) { /* a huge result: give the memory back */
    free(w->out);
    w->out = NULL;
    w->cap = 0;
    if (out_room(w, sizeof h) < 0) return MPROC_ENOMEM;
  }
  return rc;
}

/* Copy the record at out[at..len) into the hold area; 1 if it fits. */
static int hold_record(worker *w, size_t at) {
  uint64_t used = atomic_load(&w->hold->len);
  size_t n = w->len - at;
  if (used + n > WSET_HOLD_CAP) return 0;
  memcpy((unsigned char *)(w->hold + 1) + used, w->out + at, n);
  atomic_store(&w->hold->len, used + n); /* the record is whole */
  return 1;
}

/* Pack a task's result; one that cannot be held is sent at once (before
 * the next task starts: a task that ran is never run again). */
static int add_result(worker *w, uint64_t id, int rc, const char *msg,
                      const void *data, size_t len) {
  wset_res_hdr h;
  size_t mlen = msg ? strlen(msg) + 1 : 0, at = w->len;
  int err, held;
  if ((err = out_room(w, sizeof h + mlen + len)) < 0) return err;
  memset(&h, 0, sizeof h);
  h.id = id;
  h.rc = rc;
  h.msg_len = mlen;
  h.len = len;
  memcpy(w->out + w->len, &h, sizeof h);
  if (mlen) memcpy(w->out + w->len + sizeof h, msg, mlen);
  if (len) memcpy(w->out + w->len + sizeof h + mlen, data, len);
  w->len += sizeof h + mlen + len;
  if (w->count++ == 0) w->first_ns = w->batch_ns;
  held = hold_record(w, at);
  /* The fault seam's "worker.result": dead with this result packed,
   * held when it fitted, not sent (tests: a held result outlives its
   * worker; a larger one is retried or fails). */
  (void)mproc__fault("worker.result");
  return held ? 0 : flush(w);
}

static mproc_task_fn find_task(worker *w, const char *name, size_t len) {
  if (w->last_fn == NULL || len != w->last_len ||
      memcmp(name, w->last_name, len) != 0) {
    w->last_len = len;
    w->last_fn = (mproc_task_fn)mproc__task_find(name);
    snprintf(w->last_name, sizeof w->last_name, "%s", name);
  }
  return w->last_fn;
}

/* Run one task record; 0 to go on, < 0 when the result queue failed. */
static int run_task(worker *w, const wset_task_hdr *h, const char *name,
                    const unsigned char *in) {
  mproc_task_fn fn;
  mproc_buf *b = &w->tb;
  int rc;
  if (w->a->timed) atomic_store(&w->slot->start_ns, uv_hrtime());
  atomic_store(&w->slot->started, w->done + 1); /* before it runs */
  if ((fn = find_task(w, name, h->name_len)) == NULL) {
    char why[400];
    snprintf(why, sizeof why, "task \"%s\" is not registered in the worker "
             "(mark it MPROC_TASK)", name);
    w->done++;
    atomic_store(&w->slot->finished, w->done);
    return add_result(w, h->id, MPROC_ENOTREG, why, NULL, 0);
  }
  b->len = 0; /* the memory of the last task's result is reused */
  memset(&b->ctx, 0, sizeof b->ctx);
  b->ctx.worker = w->a->index;
  b->ctx.task = h->id;
  b->ctx.item = (size_t)h->item;
  rc = fn(h->in_len ? in : NULL, (size_t)h->in_len, b);
  w->done++;
  atomic_store(&w->slot->finished, w->done);
  if (rc == 0)
    rc = add_result(w, h->id, 0, NULL, b->data, b->len);
  else
    rc = add_result(w, h->id, rc, b->msg, NULL, 0);
  free(b->msg);
  b->msg = NULL;
  if (b->cap > KEEP_BYTES) mproc__buf_reset(b);
  return rc;
}

/* 1 when the worker should end after this task (and says why). */
static int should_end(worker *w) {
  uint64_t rss;
  if (w->a->max_tasks > 0 && w->done >= (uint64_t)w->a->max_tasks) {
    atomic_store(&w->slot->state, WSET_ST_MAXTASKS);
    return 1;
  }
  if (w->a->max_memory > 0 && mproc__os_rss(&rss) == 0 &&
      rss > w->a->max_memory) {
    atomic_store(&w->slot->state, WSET_ST_MEMORY);
    return 1;
  }
  return 0;
}

/* Run a batch message; 1 to end the worker, 0 to go on, < 0 failure. */
static int run_batch(worker *w, const unsigned char *m, size_t n) {
  wset_batch_hdr bh;
  size_t off = sizeof bh;
  uint32_t k;
  int rc;
  memcpy(&bh, m, sizeof bh);
  w->batch_ns = uv_hrtime();
  if (bh.flags & WSET_BATCH_STOP) {
    atomic_store(&w->slot->state, WSET_ST_STOPPED);
    return 1;
  }
  for (k = 0; k < bh.count; k++) {
    wset_task_hdr h;
    char name[256];
    if (off + sizeof h > n) return MPROC_EINVAL;
    memcpy(&h, m + off, sizeof h);
    off += sizeof h;
    if (h.name_len >= sizeof name || h.name_len + h.in_len > n - off)
      return MPROC_EINVAL; /* a malformed message: the parent's bug */
    memcpy(name, m + off, h.name_len);
    name[h.name_len] = '\0';
    off += h.name_len;
    if ((rc = run_task(w, &h, name, m + off)) < 0) return rc;
    off += (size_t)h.in_len;
    if (should_end(w)) return 1;
    /* The clock is read every 16th task only (a read per no-op task
     * costs a tenth of the worker's time). */
    if (w->len >= FLUSH_BYTES || w->count >= FLUSH_COUNT ||
        ((k & 15) == 15 && uv_hrtime() - w->first_ns >= FLUSH_NS))
      if ((rc = flush(w)) < 0) return rc;
  }
  return 0;
}

/* 1 while the process that started this worker runs. */
static int parent_alive(void) {
  mproc_process *pp = mproc_parent_process();
  return pp == NULL || mproc_process_is_alive(pp) == 1;
}

static int serve(worker *w) {
  double idle = 0, step = 1.0;
  int rc;
  if (w->a->idle_timeout > 0 && w->a->idle_timeout < step)
    step = w->a->idle_timeout;
  for (;;) {
    void *m = NULL;
    size_t n = 0;
    rc = mproc_queue_get_alloc(w->tq, &m, &n, step);
    if (rc == MPROC_EEMPTY) {
      if (!parent_alive()) return 1; /* orphaned: nobody will stop us */
      idle += step;
      if (w->a->idle_timeout > 0 && idle >= w->a->idle_timeout) {
        atomic_store(&w->slot->state, WSET_ST_IDLE);
        return 0;
      }
      continue;
    }
    if (rc < 0) return 1;
    idle = 0;
    rc = n >= sizeof(wset_batch_hdr) ? run_batch(w, m, n) : 0;
    free(m);
    if (rc == 0) rc = flush(w);
    else if (rc > 0) return flush(w) < 0 ? 1 : 0;
    if (rc < 0) return 1;
  }
}

/* Tell the parent this worker runs: only then is it sent tasks (a worker
 * stuck in its start — a fork child of a threaded parent that inherited a
 * held lock — holds none, and the watcher replaces it). */
static int say_ready(worker *w) {
  wset_rbatch_hdr h;
  memset(&h, 0, sizeof h);
  h.kind = WSET_R_READY;
  h.worker = w->a->index;
  h.gen = w->a->gen;
  return mproc_queue_put(w->rq, &h, sizeof h, MPROC_FOREVER);
}

static int report_initfail(worker *w, int irc, int found) {
  char why[400];
  wset_rbatch_hdr h;
  size_t mlen;
  if (found)
    snprintf(why, sizeof why, "executor broken: a worker's initializer "
             "failed with code %d; no task can run", irc);
  else
    snprintf(why, sizeof why, "executor broken: the initializer \"%s\" is "
             "not registered in the worker (MPROC_TASK)", w->a->init);
  mlen = strlen(why) + 1;
  memset(&h, 0, sizeof h);
  h.kind = WSET_R_INITFAIL;
  h.worker = w->a->index;
  h.gen = w->a->gen;
  if (out_room(w, sizeof h + mlen) < 0) return 1;
  memcpy(w->out, &h, sizeof h);
  memcpy(w->out + sizeof h, why, mlen);
  atomic_store(&w->slot->state, WSET_ST_INITFAIL);
  (void)mproc_queue_put(w->rq, w->out, sizeof h + mlen, MPROC_FOREVER);
  return 1;
}

int mproc__wset_worker_main(const void *arg, size_t len) {
  wset_args a;
  worker w;
  mproc_array *table = NULL;
  mproc_shm *hold = NULL;
  int rc = 1;
  if (len < sizeof a) return 3;
  memcpy(&a, arg, sizeof a);
  memset(&w, 0, sizeof w);
  w.a = &a;
  if (mproc_queue_open(&w.tq, a.tq) < 0 || mproc_queue_open(&w.rq, a.rq) < 0 ||
      mproc_array_open(&table, a.shm) < 0 ||
      out_room(&w, sizeof(wset_rbatch_hdr)) < 0)
    goto cleanup;
  w.slot = wset_slots_of(mproc_array_ptr(table)) + a.index;
  if (mproc_shm_open(&hold, a.hold) < 0) goto cleanup;
  w.hold = (wset_hold *)((unsigned char *)mproc_shm_buf(hold) +
                         (size_t)a.index * WSET_HOLD_BYTES);
  w.len = sizeof(wset_rbatch_hdr);
  if (a.init[0] != '\0') {
    mproc_init_fn init = (mproc_init_fn)mproc__task_find(a.init);
    int irc = init ? init(a.initargs_len ? (const char *)arg + sizeof a : NULL,
                          (size_t)a.initargs_len)
                   : MPROC_ENOTREG;
    if (irc != 0) {
      rc = report_initfail(&w, irc, init != NULL);
      goto cleanup;
    }
  }
  if (say_ready(&w) < 0) goto cleanup;
  rc = serve(&w);
cleanup:
  mproc__buf_reset(&w.tb);
  free(w.out);
  mproc_queue_free(w.tq);
  mproc_queue_free(w.rq);
  mproc_array_free(table);
  mproc_shm_free(hold);
  return rc;
}
