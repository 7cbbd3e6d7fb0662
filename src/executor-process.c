/* mproc: the process kind of executor — Python's ProcessPoolExecutor on
 * the worker set (wset.h: the queues, the slots, the crash protocol).
 *
 * In the parent, futures wait in a pending list until a feeder sends
 * them: at most max_inflight (4096 per worker: a window that keeps the
 * rings streaming) are in the task queue or running, so
 * cancel() and shutdown(cancel_futures) reach the rest (Python's
 * pending_work_items against its call queue). A sent future is RUNNING
 * and sits in a table by task id until its outcome arrives.
 *
 * Three libuv threads: the feeder sends pending futures (it alone puts
 * tasks, never under the pool lock: a put blocks on a full ring until
 * workers take from it, and workers may be waiting for room in the result
 * ring, which only the reader makes — so the reader must never be the one
 * blocked on the task ring); the reader takes result messages and
 * finishes futures; the watcher (executor-pwatch.c) waits on every
 * worker's sentinel plus a wake-up, turns a death into a "died" result for
 * the task in the worker's slot, and replaces the worker.
 *
 * Lock order: the pool lock alone (never with a future's lock held). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor-process.h"

/* ---- the table of sent futures, by task id ------------------------------ */

static void table_put(ppool *p, mproc_future *f) {
  mproc_future **b = &p->table[f->task & PP_TABLE_MASK];
  f->next = *b;
  *b = f;
  p->inflight++;
}

static mproc_future *table_take(ppool *p, uint64_t id) {
  mproc_future **b = &p->table[id & PP_TABLE_MASK], *f;
  for (; (f = *b) != NULL; b = &f->next)
    if (f->task == id) {
      *b = f->next;
      f->next = NULL;
      p->inflight--;
      return f;
    }
  return NULL;
}

/* Under the lock: unlink every sent future into one list. */
static mproc_future *table_take_all(ppool *p) {
  mproc_future *all = NULL, *f, *next;
  size_t i;
  for (i = 0; i <= PP_TABLE_MASK; i++) {
    for (f = p->table[i]; f != NULL; f = next) {
      next = f->next;
      f->next = all;
      all = f;
    }
    p->table[i] = NULL;
  }
  p->inflight = 0;
  return all;
}

static void feed_kick(ppool *p);

/* Finish (a RUNNING future) or drop (cancelled) a list linked by next. */
static void fail_list(mproc_future *f, int running, int outcome,
                      const char *why) {
  mproc_future *next;
  for (; f != NULL; f = next) {
    next = f->next;
    f->next = NULL;
    if (running || mproc__future_start(f))
      mproc__future_finish(f, outcome, outcome, why);
    mproc__future_unref(f);
  }
}

void mproc__pp_set_broken(ppool *p, const char *why) {
  mproc_future *pending, *sent;
  uv_mutex_lock(&p->lock);
  if (!p->broken) snprintf(p->broken_msg, sizeof p->broken_msg, "%s", why);
  p->broken = 1;
  pending = p->phead;
  p->phead = p->ptail = NULL;
  sent = table_take_all(p);
  feed_kick(p);
  uv_mutex_unlock(&p->lock);
  /* Wake feeders blocked on a ring nobody drains any more. */
  (void)mproc_queue_close(p->tq);
  fail_list(pending, 0, MPROC_EBROKEN, p->broken_msg);
  fail_list(sent, 1, MPROC_EBROKEN, p->broken_msg);
  (void)mproc_wakeup_signal(p->wake);
}

/* ---- feeding ---------------------------------------------------------------- */

static int send_task(ppool *p, mproc_future *f) {
  unsigned char small[4096], *buf = small;
  wset_task_hdr h;
  const char *name = NULL;
  size_t total;
  int rc;
  (void)mproc__task_lookup((mproc_fnptr)f->fn, &name); /* checked at submit */
  memset(&h, 0, sizeof h);
  h.id = f->task;
  h.item = f->item == MPROC__NO_ITEM ? 0 : f->item;
  h.name_len = (uint32_t)strlen(name);
  total = sizeof h + h.name_len + f->in_len;
  if (total > sizeof small && (buf = malloc(total)) == NULL)
    return mproc__err(MPROC_ENOMEM, "executor: no memory for a %zu-byte task",
                      total);
  memcpy(buf, &h, sizeof h);
  memcpy(buf + sizeof h, name, h.name_len);
  if (f->in_len) memcpy(buf + sizeof h + h.name_len, f->in, f->in_len);
  rc = mproc_queue_put(p->tq, buf, total, MPROC_FOREVER);
  if (buf != small) free(buf);
  return rc;
}

void mproc__pp_send_stops(ppool *p, int n) {
  wset_task_hdr h;
  memset(&h, 0, sizeof h);
  h.id = WSET_ID_STOP;
  while (n-- > 0)
    if (mproc_queue_put(p->tq, &h, sizeof h, MPROC_FOREVER) < 0) break;
}

/* Under the lock: the feeder has something to do. */
static int feed_due(const ppool *p) {
  return (!p->broken && p->phead != NULL && p->inflight < p->max_inflight) ||
         (p->shutdown && p->phead == NULL && !p->stops_sent);
}

/* Under the lock: wake the feeder if it sleeps and has work. */
static void feed_kick(ppool *p) {
  if (p->feeder_idle && (feed_due(p) || p->feeder_quit))
    uv_cond_signal(&p->feed_cond);
}

/* Send pending futures while there is room in flight; after shutdown,
 * once nothing is pending, send each worker its stop (once). */
static void feed(ppool *p) {
  for (;;) {
    mproc_future *f = NULL;
    int stops = 0, rc;
    uv_mutex_lock(&p->lock);
    if (!p->broken && p->phead != NULL && p->inflight < p->max_inflight) {
      f = p->phead;
      p->phead = f->next;
      if (p->phead == NULL) p->ptail = NULL;
      table_put(p, f);
    } else if (p->shutdown && p->phead == NULL && !p->stops_sent) {
      p->stops_sent = 1;
      stops = p->ex->max_workers;
    }
    uv_mutex_unlock(&p->lock);
    if (f == NULL) {
      if (stops) mproc__pp_send_stops(p, stops);
      return;
    }
    if (!mproc__future_start(f)) { /* cancelled while pending */
      uv_mutex_lock(&p->lock);
      f = table_take(p, f->task);
      uv_mutex_unlock(&p->lock);
      if (f) mproc__future_unref(f);
      continue;
    }
    /* The feeder's own reference while it reads f: the outcome may come
     * back (through a worker: no happens-before a sanitizer can see)
     * before send_task returns, and the last unref orders the free. */
    mproc__future_ref(f);
    rc = send_task(p, f);
    if (rc < 0) {
      char why[300];
      mproc_future *g;
      snprintf(why, sizeof why, "executor: the task could not be sent to "
               "the workers: %s", mproc_last_error());
      uv_mutex_lock(&p->lock);
      g = table_take(p, f->task); /* NULL: broken meanwhile took it */
      uv_mutex_unlock(&p->lock);
      if (g != NULL)
        fail_list(g, 1, rc == MPROC_ECLOSED ? MPROC_EBROKEN : rc, why);
    }
    mproc__future_unref(f);
  }
}

static void feeder_main(void *arg) {
  ppool *p = arg;
  for (;;) {
    uv_mutex_lock(&p->lock);
    while (!feed_due(p) && !p->feeder_quit) {
      p->feeder_idle = 1;
      uv_cond_wait(&p->feed_cond, &p->lock);
      p->feeder_idle = 0;
    }
    if (!feed_due(p) && p->feeder_quit) {
      uv_mutex_unlock(&p->lock);
      return;
    }
    uv_mutex_unlock(&p->lock);
    feed(p);
  }
}

/* ---- the reader thread ------------------------------------------------------ */

static void finish_from(mproc_future *f, unsigned char *m, size_t n,
                        const wset_res_hdr *h) {
  const char *msg = h->msg_len ? (const char *)m + sizeof *h : NULL;
  if (h->rc == 0) {
    size_t off = sizeof *h + (size_t)h->msg_len;
    f->len = n - off;
    if (f->len > 0) {
      memmove(m, m + off, f->len); /* the message's memory becomes the result */
      f->data = m;
      m = NULL;
    }
    mproc__future_finish(f, 0, 0, NULL);
  } else if (h->rc == MPROC_EWORKERDIED) {
    mproc__future_finish(f, MPROC_EWORKERDIED, MPROC_EWORKERDIED, msg);
  } else {
    mproc__future_finish(f, MPROC_ETASK, h->rc, msg);
  }
  free(m);
}

static void reader_main(void *arg) {
  ppool *p = arg;
  for (;;) {
    void *m = NULL;
    size_t n = 0;
    wset_res_hdr h;
    mproc_future *f;
    int rc = mproc_queue_get_alloc(p->rq, &m, &n, MPROC_FOREVER);
    if (rc == MPROC_ECLOSED) break;
    if (rc < 0 || n < sizeof h) {
      free(m);
      continue;
    }
    memcpy(&h, m, sizeof h);
    if (h.id == WSET_ID_QUIT) {
      free(m);
      break;
    }
    if (h.id == WSET_ID_INITFAIL) {
      ((char *)m)[n - 1] = '\0';
      mproc__pp_set_broken(p, h.msg_len ? (char *)m + sizeof h
                                        : "executor broken: initializer");
      free(m);
      continue;
    }
    uv_mutex_lock(&p->lock);
    f = table_take(p, h.id);
    feed_kick(p);
    uv_mutex_unlock(&p->lock);
    if (f == NULL) { /* a second outcome (see wset.h), or broken */
      free(m);
      continue;
    }
    finish_from(f, m, n, &h);
    mproc__future_unref(f);
  }
}

/* ---- the kind's operations -------------------------------------------------- */

static int p_enqueue(mproc_executor *ex, mproc_future *const *fs, size_t n) {
  ppool *p = ex->impl;
  const char *name;
  size_t i;
  for (i = 0; i < n; i++)
    if (mproc__task_lookup((mproc_fnptr)fs[i]->fn, &name) < 0)
      return mproc__err(MPROC_ENOTREG, "process executor: the task function "
                        "is not registered; mark it MPROC_TASK(fn) so that "
                        "workers can find it by name");
  uv_mutex_lock(&p->lock);
  if (p->shutdown || p->broken) {
    int rc = p->shutdown ? mproc__err(MPROC_ESTATE, "cannot schedule new "
                                      "futures after shutdown")
                         : mproc__err(MPROC_EBROKEN, "%s", p->broken_msg);
    uv_mutex_unlock(&p->lock);
    return rc;
  }
  for (i = 0; i < n; i++) {
    fs[i]->next = NULL;
    if (p->ptail) p->ptail->next = fs[i]; else p->phead = fs[i];
    p->ptail = fs[i];
  }
  feed_kick(p);
  uv_mutex_unlock(&p->lock);
  return 0;
}

/* Wait for the watcher to see every worker gone, then end both threads
 * and fail what no worker will answer (inputs lost with a dead taker). */
static void join_all(ppool *p) {
  wset_res_hdr h;
  mproc_future *left;
  uv_mutex_lock(&p->join_lock);
  if (!p->joined) {
    uv_thread_join(&p->watcher);
    /* No worker is left: wake a feeder blocked on the task ring, end it. */
    (void)mproc_queue_close(p->tq);
    uv_mutex_lock(&p->lock);
    p->feeder_quit = 1;
    feed_kick(p);
    uv_mutex_unlock(&p->lock);
    uv_thread_join(&p->feeder);
    memset(&h, 0, sizeof h);
    h.id = WSET_ID_QUIT;
    (void)mproc_queue_put(p->rq, &h, sizeof h, MPROC_FOREVER);
    uv_thread_join(&p->reader);
    uv_mutex_lock(&p->lock);
    left = table_take_all(p);
    uv_mutex_unlock(&p->lock);
    fail_list(left, 1, MPROC_EBROKEN, p->terminated
              ? "executor: its workers were terminated before this task "
                "finished"
              : "executor: no worker answered for this task (its worker "
                "died while taking it)");
    p->joined = 1;
  }
  uv_mutex_unlock(&p->join_lock);
}

static int p_shutdown(mproc_executor *ex, int flags) {
  ppool *p = ex->impl;
  mproc_future *cancelled = NULL;
  uv_mutex_lock(&p->lock);
  p->shutdown = 1;
  if (flags & MPROC_SHUTDOWN_CANCEL_FUTURES) {
    cancelled = p->phead;
    p->phead = p->ptail = NULL;
  }
  uv_mutex_unlock(&p->lock);
  while (cancelled != NULL) {
    mproc_future *next = cancelled->next;
    cancelled->next = NULL;
    (void)mproc_future_cancel(cancelled); /* stays CANCELLED, as Python's */
    mproc__future_unref(cancelled);
    cancelled = next;
  }
  uv_mutex_lock(&p->lock);
  feed_kick(p); /* the stops, once nothing is pending */
  uv_mutex_unlock(&p->lock);
  (void)mproc_wakeup_signal(p->wake);
  if (flags & MPROC_SHUTDOWN_WAIT) join_all(p);
  return 0;
}

static int p_terminate(mproc_executor *ex, int kill) {
  ppool *p = ex->impl;
  (void)p_shutdown(ex, MPROC_SHUTDOWN_CANCEL_FUTURES);
  uv_mutex_lock(&p->lock);
  p->terminated = kill ? 2 : 1;
  uv_mutex_unlock(&p->lock);
  (void)mproc_wakeup_signal(p->wake);
  join_all(p);
  return 0;
}

static void p_destroy(mproc_executor *ex) {
  ppool *p = ex->impl;
  mproc__pp_free(p);
  ex->impl = NULL;
}

static int p_init(mproc_executor *ex) {
  ppool *p;
  int rc = mproc__pp_new(ex, &p);
  if (rc < 0) return rc;
  ex->impl = p;
  if (uv_thread_create(&p->reader, reader_main, p) != 0) {
    mproc__pp_free(p);
    ex->impl = NULL;
    return mproc__err(MPROC_EOS, "executor: cannot start the reader thread");
  }
  if (uv_thread_create(&p->feeder, feeder_main, p) != 0)
    rc = mproc__err(MPROC_EOS, "executor: cannot start the feeder thread");
  else if ((rc = mproc__pp_start_watcher(p)) < 0)
    p->feeder_quit = 2; /* started: end it below */
  if (rc < 0) {
    /* No watcher: stop the workers here, then end the other threads. */
    wset_res_hdr h;
    mproc__pp_kill_all(p);
    if (p->feeder_quit == 2) {
      uv_mutex_lock(&p->lock);
      feed_kick(p);
      uv_mutex_unlock(&p->lock);
      uv_thread_join(&p->feeder);
    }
    memset(&h, 0, sizeof h);
    h.id = WSET_ID_QUIT;
    (void)mproc_queue_put(p->rq, &h, sizeof h, MPROC_FOREVER);
    uv_thread_join(&p->reader);
    mproc__pp_free(p);
    ex->impl = NULL;
    return rc;
  }
  return 0;
}

const mproc__executor_ops mproc__executor_process_ops = {
    "process", p_init, p_enqueue, p_shutdown, p_destroy, p_terminate, NULL};
