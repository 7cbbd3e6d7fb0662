/* mproc: the process kind of executor — Python's ProcessPoolExecutor on
 * the worker set (wset.h: the queues, the slots, the crash protocol).
 *
 * In the parent, futures wait in a pending list until the feeder sends
 * them. Each worker incarnation has its own task queue and a window of
 * PP_WINDOW tasks in flight (sent, no outcome yet), so cancel() and
 * shutdown(cancel_futures) reach the rest (Python's pending_work_items
 * against its call queue), and the parent always knows which worker holds
 * which task. The feeder packs several pending tasks into one message for
 * the least loaded worker: about a quarter of a fair share of what is
 * pending (so a few tasks still spread over every worker), at most
 * PP_BATCH, or a map's chunk. Workers pack their results likewise, and
 * the reader unpacks them.
 *
 * Three libuv threads: the feeder sends (never under the pool lock: a put
 * blocks on a full ring until the worker takes from it, and the worker may
 * be waiting for room in the result ring, which only the reader makes — so
 * the reader must never be the one blocked on a task ring; a submit finds
 * the feeder asleep and a worker with nothing in flight puts into that
 * empty ring itself, which cannot block, and one sender at a time per
 * worker keeps the ring in FIFO order); the reader takes result messages,
 * finishes futures and resolves ended workers (executor-presolve.c) —
 * or a thread waiting in result() does, while it holds the reader token
 * (below: one wake-up less per round trip); the watcher
 * (executor-pwatch.c) waits on every worker's sentinel plus a wake-up,
 * reports each end, replaces workers, and stops tasks past their timeout.
 *
 * Lock order: the pool lock alone (never with a future's lock held); the
 * token's lock alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor-process.h"

/* ---- lists ------------------------------------------------------------------ */

void mproc__pp_fail_list(mproc_future *f, int outcome, const char *why) {
  mproc_future *next;
  for (; f != NULL; f = next) {
    next = f->next;
    f->next = NULL;
    /* A resent future is RUNNING already; a pending one may be cancelled. */
    if ((f->kflags & PP_F_RESENT) || atomic_load(&f->state) ==
        MPROC_FUTURE_RUNNING || mproc__future_start(f))
      mproc__future_finish(f, outcome, outcome, why);
    mproc__future_unref(f);
  }
}

void mproc__pp_requeue_front(ppool *p, mproc_future *head, mproc_future *tail,
                             size_t n) {
  if (head == NULL) return;
  tail->next = p->phead;
  p->phead = head;
  if (p->ptail == NULL) p->ptail = tail;
  p->npending += n;
}

/* Under the lock: every future in every incarnation's FIFO, as a list. */
static mproc_future *take_all_sent(ppool *p) {
  mproc_future *all = NULL;
  pinc *w;
  for (w = p->incs; w != NULL; w = w->next) {
    while (w->flen > 0) {
      mproc_future *f = w->fifo[w->fhead];
      w->fhead = (w->fhead + 1) % PP_WINDOW;
      w->flen--;
      w->resolved++;
      f->next = all;
      all = f;
    }
  }
  return all;
}

void mproc__pp_set_broken(ppool *p, const char *why) {
  mproc_future *pending, *sent;
  pinc *w;
  uv_mutex_lock(&p->lock);
  if (!p->broken) snprintf(p->broken_msg, sizeof p->broken_msg, "%s", why);
  p->broken = 1;
  pending = p->phead;
  p->phead = p->ptail = NULL;
  p->npending = 0;
  sent = take_all_sent(p);
  for (w = p->incs; w != NULL; w = w->next) w->alive = 0;
  mproc__pp_feed_kick(p);
  uv_mutex_unlock(&p->lock);
  mproc__pp_fail_list(pending, MPROC_EBROKEN, p->broken_msg);
  mproc__pp_fail_list(sent, MPROC_EBROKEN, p->broken_msg);
  (void)mproc_wakeup_signal(p->wake);
}

/* ---- feeding ---------------------------------------------------------------- */

/* Under the lock: the live incarnation that should get the next batch
 * (the fewest in flight), or NULL. */
static pinc *pick_worker(const ppool *p) {
  pinc *best = NULL;
  int i;
  for (i = 0; i < p->target; i++) {
    pinc *w = p->w[i];
    if (w == NULL || !w->alive || !w->ready || w->stopping || w->sending ||
        w->flen >= PP_WINDOW || w->quota == 0)
      continue;
    /* A worker with work in hand waits for a full batch (fewer, larger
     * messages); one running low is fed what there is. */
    if (w->flen >= PP_LOW && p->npending < PP_BATCH) continue;
    if (best == NULL || w->flen < best->flen) best = w;
  }
  return best;
}

/* Under the lock: a live incarnation that is due its stop message. */
static pinc *stop_due(const ppool *p) {
  int i;
  for (i = 0; i < p->nslots; i++) {
    pinc *w = p->w[i];
    if (w == NULL || !w->alive || w->stopping || w->sending) continue;
    if (i >= p->target ||
        (p->shutdown && p->phead == NULL && p->ends_unresolved == 0))
      return w;
  }
  return NULL;
}

/* Under the lock: the feeder has something to do. */
static int feed_due(const ppool *p) {
  return (!p->broken && p->phead != NULL && pick_worker(p) != NULL) ||
         stop_due(p) != NULL;
}

void mproc__pp_feed_kick(ppool *p) {
  if (p->feeder_idle && (feed_due(p) || p->feeder_quit))
    uv_cond_signal(&p->feed_cond);
}

/* Under the lock: how many tasks to send w now. */
static size_t batch_size(const ppool *p, const pinc *w) {
  size_t live = 0, b, room = PP_WINDOW - w->flen;
  int i;
  for (i = 0; i < p->target; i++)
    if (p->w[i] != NULL && p->w[i]->alive) live++;
  if (p->phead->chunk > 1)
    b = p->phead->chunk; /* a map's chunk: one message */
  else
    b = p->npending / (4 * (live ? live : 1));
  if (b > PP_BATCH && p->phead->chunk <= 1) b = PP_BATCH;
  if (b > p->npending) b = p->npending;
  if (b > room) b = room;
  if (w->quota >= 0 && b > (size_t)w->quota) b = (size_t)w->quota;
  return b ? b : 1;
}

/* Under the lock: the next b pending tasks would make a message far
 * smaller than a worker's ring. */
static int small_batch(const ppool *p, size_t b) {
  const mproc_future *f = p->phead;
  size_t bytes = 0;
  for (; f != NULL && b > 0; f = f->next, b--)
    if ((bytes += f->in_len + sizeof(wset_task_hdr) + 256) > PP_DIRECT_MAX)
      return 0;
  return 1;
}

/* Under the lock: move up to b pending futures into w's FIFO, started,
 * with a reference each for the feeder; their count. */
static size_t take_batch(ppool *p, pinc *w, size_t b, mproc_future **out,
                         mproc_future **dropped) {
  size_t k = 0;
  while (k < b && p->phead != NULL) {
    mproc_future *f = p->phead;
    p->phead = f->next;
    if (p->phead == NULL) p->ptail = NULL;
    p->npending--;
    f->next = NULL;
    if (!(f->kflags & PP_F_RESENT) && !mproc__future_start(f)) {
      f->next = *dropped; /* cancelled while pending */
      *dropped = f;
      continue;
    }
    f->kflags &= (uint8_t)~PP_F_RESENT;
    w->fifo[(w->fhead + w->flen) % PP_WINDOW] = f;
    w->flen++;
    if (w->quota > 0) w->quota--;
    /* The feeder's own reference while it reads f: the outcome may come
     * back (through a worker: no happens-before a sanitizer can see)
     * before the put returns. */
    mproc__future_ref(f);
    out[k++] = f;
  }
  return k;
}

/* The registered name of f's task and its length, looked up once per
 * run of futures with one function (fn: the last one looked up). */
static const char *name_of(const mproc_future *f, mproc_task_fn *fn,
                           const char **name, size_t *len) {
  if (*fn != f->fn || *name == NULL) {
    (void)mproc__task_lookup((mproc_fnptr)f->fn, name); /* at submit */
    *len = strlen(*name);
    *fn = f->fn;
  }
  return *name;
}

/* Pack fs[0..k) into one batch message (malloc'd) in *msg, *len. */
static int pack(mproc_future *const *fs, size_t k, unsigned char **msg,
                size_t *len) {
  wset_batch_hdr bh;
  size_t total = sizeof bh, i, off, nl = 0;
  unsigned char *m;
  const char *name = NULL;
  mproc_task_fn fn = NULL;
  for (i = 0; i < k; i++) {
    (void)name_of(fs[i], &fn, &name, &nl);
    total += sizeof(wset_task_hdr) + nl + fs[i]->in_len;
  }
  if ((m = malloc(total)) == NULL)
    return mproc__err(MPROC_ENOMEM, "executor: no memory for a %zu-byte "
                      "task message", total);
  memset(&bh, 0, sizeof bh);
  bh.count = (uint32_t)k;
  memcpy(m, &bh, sizeof bh);
  off = sizeof bh;
  for (i = 0; i < k; i++) {
    wset_task_hdr h;
    const mproc_future *f = fs[i];
    (void)name_of(f, &fn, &name, &nl);
    memset(&h, 0, sizeof h);
    h.id = f->task;
    h.item = f->item == MPROC__NO_ITEM ? 0 : f->item;
    h.in_len = f->in_len;
    h.name_len = (uint32_t)nl;
    memcpy(m + off, &h, sizeof h);
    off += sizeof h;
    memcpy(m + off, name, nl);
    off += nl;
    if (f->in_len) memcpy(m + off, f->in, f->in_len);
    off += f->in_len;
  }
  *msg = m;
  *len = total;
  return 0;
}

/* Put a message into w's queue, the lock dropped; the caller set
 * w->sending under the lock (w stays valid until it drops). */
static void send_to(ppool *p, pinc *w, const void *m, size_t n) {
  int rc;
  uv_mutex_unlock(&p->lock);
  rc = mproc_queue_put(w->tq, m, n, MPROC_FOREVER);
  uv_mutex_lock(&p->lock);
  w->sending = 0;
  /* A failed put (not the watcher's close of a dead worker's queue):
   * replace the worker; its end resolves what it held (wset.h). */
  if (rc < 0 && w->alive) {
    w->kill_now = 1;
    (void)mproc_wakeup_signal(p->wake);
  }
  uv_cond_broadcast(&p->sent_cond);
}

static void send_stop(ppool *p, pinc *w) {
  wset_batch_hdr bh;
  memset(&bh, 0, sizeof bh);
  bh.flags = WSET_BATCH_STOP;
  w->stopping = 1;
  w->sending = 1;
  send_to(p, w, &bh, sizeof bh);
}

/* Under the lock, returns with it: send w one batch of what is pending. */
static void feed_to(ppool *p, pinc *w) {
  mproc_future *fs[PP_WINDOW], *dropped = NULL;
  unsigned char *m = NULL;
  size_t k, n = 0, i;
  {
    k = take_batch(p, w, batch_size(p, w), fs, &dropped);
    if (k > 0) {
      w->sending = 1; /* from here: the watcher waits before it ends w */
      uv_mutex_unlock(&p->lock);
      if (pack(fs, k, &m, &n) < 0) m = NULL;
      uv_mutex_lock(&p->lock);
      if (m != NULL) {
        send_to(p, w, m, n);
      } else {
        w->sending = 0;
        uv_cond_broadcast(&p->sent_cond);
        if (w->alive) { /* no memory: replaced, its tasks resolved */
          w->kill_now = 1;
          (void)mproc_wakeup_signal(p->wake);
        }
      }
    }
    uv_mutex_unlock(&p->lock);
    free(m);
    for (i = 0; i < k; i++) mproc__future_unref(fs[i]);
    mproc__pp_fail_list(dropped, 0, NULL); /* cancelled: only unreffed */
    uv_mutex_lock(&p->lock);
  }
}

static int feed_one(ppool *p) {
  pinc *w;
  if (!p->broken && p->phead != NULL && (w = pick_worker(p)) != NULL) {
    feed_to(p, w);
    return 1;
  }
  if ((w = stop_due(p)) != NULL) {
    send_stop(p, w);
    return 1;
  }
  return 0;
}

static void feeder_main(void *arg) {
  ppool *p = arg;
  uv_mutex_lock(&p->lock);
  for (;;) {
    if (feed_one(p)) continue;
    if (p->feeder_quit) break;
    p->feeder_idle = 1;
    uv_cond_wait(&p->feed_cond, &p->lock);
    p->feeder_idle = 0;
  }
  uv_mutex_unlock(&p->lock);
}

/* ---- the reader thread ------------------------------------------------------ */

/* Under the lock: the incarnation `gen` (NULL once resolved). */
static pinc *inc_of(const ppool *p, uint64_t gen) {
  pinc *w;
  for (w = p->incs; w != NULL; w = w->next)
    if (w->gen == gen) return w;
  return NULL;
}

/* The outcome of one result record for f; 1 if it took `whole` (the
 * message's memory, which then becomes the result). */
int mproc__pp_finish_one(mproc_future *f, const wset_res_hdr *h,
                         const unsigned char *msg, const unsigned char *data,
                         unsigned char *whole) {
  int took = 0;
  if (f->kflags & PP_F_CANCEL) {
    mproc__future_finish(f, MPROC_ECANCELLED, MPROC_ECANCELLED,
                         "the task was cancelled while it ran");
  } else if (h->rc == 0) {
    if (h->len > 0) {
      if (whole != NULL) {
        memmove(whole, data, (size_t)h->len);
        f->data = whole;
        took = 1;
      } else if ((f->data = malloc((size_t)h->len)) != NULL) {
        memcpy(f->data, data, (size_t)h->len);
      }
      if (f->data == NULL) {
        mproc__future_finish(f, MPROC_ENOMEM, MPROC_ENOMEM, "executor: no "
                             "memory for the task's result");
        return 0;
      }
      f->len = (size_t)h->len;
    }
    mproc__future_finish(f, 0, 0, NULL); /* f->data is the caller's now */
  } else {
    mproc__future_finish(f, MPROC_ETASK, h->rc,
                         h->msg_len ? (const char *)msg : NULL);
  }
  return took;
}

/* Finish the futures of a results message; an owned message (malloc'd)
 * is freed or becomes a result, else it is the reader's buffer. */
static void take_results(ppool *p, unsigned char *m, size_t n, int owned,
                         const wset_rbatch_hdr *bh) {
  mproc_future *fs[PP_WINDOW];
  size_t offs[PP_WINDOW], off = sizeof *bh, k = bh->count, i, j;
  wset_res_hdr h;
  pinc *w;
  if (k > PP_WINDOW) k = PP_WINDOW; /* never: a worker answers per batch */
  uv_mutex_lock(&p->lock);
  w = inc_of(p, bh->gen);
  for (i = 0; i < k; i++) {
    fs[i] = NULL;
    if (w == NULL || w->flen == 0) continue; /* broken took them */
    fs[i] = w->fifo[w->fhead];
    w->fhead = (w->fhead + 1) % PP_WINDOW;
    w->flen--;
    w->resolved++;
  }
  mproc__pp_feed_kick(p);
  uv_mutex_unlock(&p->lock);
  /* Find each record first, then finish from the last to the first: a
   * caller gathering in order sleeps on the first, so it wakes once the
   * whole message is done instead of once per future. */
  for (i = 0; i < k; i++) {
    if (off + sizeof(wset_res_hdr) > n) break;
    offs[i] = off;
    memcpy(&h, m + off, sizeof h);
    if (h.msg_len + h.len > n - off - sizeof h) break;
    off += sizeof h + (size_t)(h.msg_len + h.len);
  }
  for (j = k; j-- > 0;) {
    const unsigned char *msg;
    if (fs[j] == NULL) continue;
    if (j >= i) { /* a truncated message: never, but no hang */
      mproc__future_finish(fs[j], MPROC_EBROKEN, MPROC_EBROKEN,
                           "executor: a malformed result message");
      continue;
    }
    memcpy(&h, m + offs[j], sizeof h);
    msg = m + offs[j] + sizeof h;
    if (fs[j]->task != h.id) /* never: the FIFO and the worker agree */
      mproc__future_finish(fs[j], MPROC_EBROKEN, MPROC_EBROKEN, "executor: "
                           "a worker answered for another task");
    else if (mproc__pp_finish_one(fs[j], &h, msg, msg + h.msg_len,
                                  owned && bh->count == 1 && h.len > 4096
                                      ? m
                                      : NULL))
      m = NULL; /* the result's memory now */
  }
  for (i = 0; i < k; i++)
    if (fs[i] != NULL) mproc__future_unref(fs[i]);
  if (owned) free(m);
}

/* The holder's next message, within `timeout` (seconds): into p->rbuf (up
 * to PP_RBUF_MAX; *owned 0), or a larger one allocated for it (*owned 1: a
 * lone large result keeps that memory, no copy). A get that times out
 * takes nothing, so a helper that gives up loses no message. */
static int read_msg(ppool *p, double timeout, unsigned char **m, size_t *n,
                    int *owned) {
  int rc;
  for (;;) {
    *owned = 0;
    *m = p->rbuf;
    rc = mproc_queue_get(p->rq, p->rbuf, p->rcap, n, timeout);
    if (rc != MPROC_EBUFSIZE) return rc;
    if (*n > PP_RBUF_MAX) break;
    {
      unsigned char *nb = realloc(p->rbuf, *n);
      if (nb == NULL) break;
      p->rbuf = nb;
      p->rcap = *n;
    }
  }
  *owned = 1;
  return mproc_queue_get_alloc(p->rq, (void **)m, n, timeout);
}

/* An END message of incarnation `gen`: what it held (executor-presolve.c). */
static void take_end(ppool *p, uint64_t gen, unsigned char *m, size_t n) {
  wset_end e;
  char *how = (char *)m + sizeof(wset_rbatch_hdr) + sizeof e;
  size_t room = n - sizeof(wset_rbatch_hdr) - sizeof e;
  memcpy(&e, (char *)m + sizeof(wset_rbatch_hdr), sizeof e);
  if (e.how_len == 0 || e.how_len > room) e.how_len = (uint32_t)room;
  if (e.held_len > room - e.how_len) e.held_len = 0; /* never */
  how[e.how_len - 1] = '\0';
  mproc__pp_resolve_end(p, gen, &e, how,
                        (const unsigned char *)how + e.how_len);
}

/* Handle one message of the result queue (the token holder's work);
 * its kind (0: too short to have one). */
static uint32_t take_msg(ppool *p, unsigned char *m, size_t n, int owned) {
  wset_rbatch_hdr h;
  if (n < sizeof h) {
    if (owned) free(m);
    return 0;
  }
  memcpy(&h, m, sizeof h);
  if (h.kind == WSET_R_RESULTS) {
    take_results(p, m, n, owned, &h);
    return h.kind;
  }
  if (h.kind == WSET_R_READY) {
    pinc *w;
    uv_mutex_lock(&p->lock);
    if ((w = inc_of(p, h.gen)) != NULL)
      w->ready = 1;
    else if (h.gen > p->early_ready) /* not listed yet: start_inc looks */
      p->early_ready = h.gen;
    mproc__pp_feed_kick(p);
    uv_mutex_unlock(&p->lock);
  }
  if (h.kind == WSET_R_INITFAIL) {
    ((char *)m)[n - 1] = '\0';
    mproc__pp_set_broken(p, n > sizeof h ? (char *)m + sizeof h
                                         : "executor broken: initializer");
  } else if (h.kind == WSET_R_END && n >= sizeof h + sizeof(wset_end) + 1) {
    take_end(p, h.gen, m, n);
  }
  if (owned) free(m);
  return h.kind;
}

/* ---- the reader token ------------------------------------------------------- */

/* A waiter in result() reads the result queue itself (ops.help) when it
 * takes the token: the worker's put wakes the waiter, not the reader that
 * would wake it (one context switch less a round trip on one CPU). Only
 * the holder gets and handles messages, one at a time in queue order
 * (results before their worker's END). The reader in its get is asked out
 * with a YIELD message (what is ahead of it is handled first); after a
 * help it stays parked PARK_NS (help_release). A helper reads HELP_NS at
 * most, looking at its future every HELP_SLICE (a cancel or a broken pool
 * finishes it without a message). */
#define PARK_NS 1000000u
#define HELP_NS 20000000u
#define HELP_SLICE 0.002
#define HELP_TASKS 8 /* help only with this many in flight or fewer */

/* The executor whose queue this thread reads as a helper (no nesting: a
 * done callback that waits runs inside a help). */
static _Thread_local ppool *helping;

/* The reader thread's turn to hold the token: while a helper holds it, or
 * one asked for it, or one helped within PARK_NS (and handed nothing
 * back), it waits. 0: the reader ends (a QUIT was taken). */
static int reader_claim(ppool *p) {
  int ok;
  uv_mutex_lock(&p->tok_lock);
  atomic_store(&p->parked, 1);
  while (!p->tok_quit &&
         (p->tok != PP_TOK_NONE || p->tok_waiters > 0 ||
          (!p->tok_back && uv_hrtime() - p->helped_ns < PARK_NS)))
    (void)uv_cond_timedwait(&p->tok_cond, &p->tok_lock, PARK_NS);
  atomic_store(&p->parked, 0);
  ok = !p->tok_quit;
  if (ok) p->tok = PP_TOK_READER;
  p->tok_back = 0;
  uv_mutex_unlock(&p->tok_lock);
  return ok;
}

/* A YIELD message reached the reader: 1 if it gave the token to the
 * helpers that asked, 0 if they all went away meanwhile (it keeps it). */
static int reader_yield(ppool *p) {
  int give;
  uv_mutex_lock(&p->tok_lock);
  p->tok_asked = 0;
  if ((give = p->tok_waiters > 0) != 0) {
    p->tok = PP_TOK_NONE;
    uv_cond_broadcast(&p->tok_cond);
  }
  uv_mutex_unlock(&p->tok_lock);
  return give;
}

/* The reader ends (a QUIT, or its queue closed): helpers stop asking. */
static void tok_quit(ppool *p) {
  uv_mutex_lock(&p->tok_lock);
  p->tok_quit = 1;
  p->tok = PP_TOK_NONE;
  uv_cond_broadcast(&p->tok_cond);
  uv_mutex_unlock(&p->tok_lock);
}

static void reader_main(void *arg) {
  ppool *p = arg;
  helping = p; /* a done callback's wait here must not ask itself out */
  while (reader_claim(p)) {
    for (;;) {
      unsigned char *m = NULL;
      size_t n = 0;
      int owned, rc = read_msg(p, MPROC_FOREVER, &m, &n, &owned);
      uint32_t kind;
      if (rc == MPROC_ECLOSED) {
        tok_quit(p);
        return;
      }
      if (rc < 0) continue;
      kind = take_msg(p, m, n, owned);
      if (kind == WSET_R_QUIT) {
        tok_quit(p);
        return;
      }
      if (kind == WSET_R_YIELD && reader_yield(p)) break;
    }
  }
}

/* Under the pool lock: messages are due that a waiter may not be there
 * to read (results of tasks in flight or pending, ends to resolve). */
static int work_due(const ppool *p) {
  const pinc *w;
  if (p->phead != NULL || p->ends_unresolved > 0) return 1;
  for (w = p->incs; w != NULL; w = w->next)
    if (w->flen > 0) return 1;
  return 0;
}

/* Under the pool lock: few enough tasks are pending or in flight that the
 * waiter's result is near (a round trip). With more, the reader thread
 * finishes futures in parallel with a gatherer freeing them, which a
 * helper doing both would serialise. */
static int help_pays(const ppool *p) {
  size_t n = p->npending;
  const pinc *w;
  for (w = p->incs; w != NULL && n <= HELP_TASKS; w = w->next) n += w->flen;
  return n <= HELP_TASKS;
}

/* A parked reader takes the queue back now. */
static void wake_parked(ppool *p) {
  if (!atomic_load(&p->parked)) return; /* it reads (no lock for a gather) */
  uv_mutex_lock(&p->tok_lock);
  if (p->tok == PP_TOK_NONE && !p->tok_back) {
    p->tok_back = 1;
    uv_cond_broadcast(&p->tok_cond);
  }
  uv_mutex_unlock(&p->tok_lock);
}

/* Ask the reader thread out of its get. */
static void ask_yield(ppool *p, uint64_t deadline) {
  uint64_t now = uv_hrtime();
  uv_mutex_unlock(&p->tok_lock); /* a put may wait for room */
  if (mproc__pp_post_yield(p, now < deadline ? (double)(deadline - now) / 1e9
                                             : 0) < 0) {
    uv_mutex_lock(&p->tok_lock);
    p->tok_asked = 0; /* not sent: the next helper asks again */
    return;
  }
  uv_mutex_lock(&p->tok_lock);
}

/* Take the token for a helper by `deadline` (uv_hrtime ns): 1 if taken;
 * 0 if another helper holds it or the reader did not yield in time. */
static int help_claim(ppool *p, uint64_t deadline) {
  int ok = 0;
  uv_mutex_lock(&p->tok_lock);
  if (p->tok == PP_TOK_READER && !p->tok_quit) {
    p->tok_waiters++;
    if (!p->tok_asked) {
      p->tok_asked = 1;
      ask_yield(p, deadline);
    }
    while (p->tok == PP_TOK_READER && !p->tok_quit && p->tok_asked) {
      uint64_t now = uv_hrtime();
      if (now >= deadline) break;
      (void)uv_cond_timedwait(&p->tok_cond, &p->tok_lock, deadline - now);
    }
    p->tok_waiters--;
  }
  if (p->tok == PP_TOK_NONE && !p->tok_quit) {
    p->tok = PP_TOK_HELPER;
    ok = 1;
  } else if (p->tok == PP_TOK_HELPER) {
    atomic_store(&p->tok_missed, 1); /* that helper hands the queue back */
  }
  uv_mutex_unlock(&p->tok_lock);
  return ok;
}

/* Give the token back. The reader takes the queue at once to end (quit),
 * or with work due if the helper gave up (it will sleep) or another
 * waiter found the token taken (it sleeps). Else it stays parked: the
 * next result() comes at once, and handing the queue back and forth
 * costs a YIELD a message (a waiter that does not help, mproc_wait's,
 * hears within PARK_NS; waking the reader at each large submit instead
 * made a gather slower, 1.8 against 2.5 M/s). */
static void help_release(ppool *p, int quit, int gave_up) {
  int back = quit;
  if (atomic_exchange(&p->tok_missed, 0)) gave_up = 1;
  if (!back && gave_up) {
    uv_mutex_lock(&p->lock);
    back = work_due(p);
    uv_mutex_unlock(&p->lock);
  }
  uv_mutex_lock(&p->tok_lock);
  p->tok = PP_TOK_NONE;
  p->helped_ns = uv_hrtime();
  if (quit) p->tok_quit = 1;
  if (back) {
    p->tok_back = 1;
    uv_cond_broadcast(&p->tok_cond);
  }
  uv_mutex_unlock(&p->tok_lock);
}

/* ops.help: a waiter reads the result queue until f is done (or for
 * `budget` seconds, HELP_NS at most), if it can take the token. */
static void p_help(mproc_executor *ex, mproc_future *f, double budget) {
  ppool *p = ex->impl;
  uint64_t now = uv_hrtime(), end = now + HELP_NS;
  int quit = 0, pays = 0;
  if (helping != NULL) return;
  /* A future far behind the newest one is a gather's: the reader reads
   * (the pool lock is left alone, the reader and the feeder want it). */
  if (atomic_load_explicit(&ex->seq, memory_order_relaxed) - f->task <=
      HELP_TASKS) {
    uv_mutex_lock(&p->lock);
    pays = help_pays(p);
    uv_mutex_unlock(&p->lock);
  }
  if (!pays) {
    wake_parked(p); /* this waiter sleeps: the reader must read now */
    return;
  }
  if (budget >= 0 && budget < HELP_NS / 1e9)
    end = now + (uint64_t)(budget * 1e9);
  if (!help_claim(p, end)) return;
  helping = p;
  while (!mproc__state_done((int)atomic_load(&f->state)) &&
         (now = uv_hrtime()) < end) {
    unsigned char *m;
    size_t n;
    double left = (double)(end - now) / 1e9;
    int owned, rc = read_msg(p, left < HELP_SLICE ? left : HELP_SLICE, &m,
                             &n, &owned);
    if (rc == MPROC_EEMPTY) continue;
    if (rc < 0) break; /* closed, interrupted: the reader's to see */
    if (take_msg(p, m, n, owned) == WSET_R_QUIT) {
      quit = 1;
      break;
    }
  }
  helping = NULL;
  help_release(p, quit, !mproc__state_done((int)atomic_load(&f->state)));
}

/* ---- the kind's operations -------------------------------------------------- */

/* Under the lock, returns with it: while the feeder sleeps, the submitting
 * thread puts the new tasks into an idle worker's ring itself (one thread
 * hop less for a round trip). Only a worker with nothing in flight: its
 * ring is empty, so the put never waits for room (a submit from a done
 * callback on the reader's thread cannot block on a worker that waits
 * for the reader). A worker being sent to is the feeder's to skip. */
static void direct_feed(ppool *p) {
  pinc *w;
  if (!p->feeder_idle || p->broken || p->phead == NULL ||
      (w = pick_worker(p)) == NULL || w->flen != 0 ||
      !small_batch(p, batch_size(p, w)))
    return;
  feed_to(p, w);
}

static int p_enqueue(mproc_executor *ex, mproc_future *const *fs, size_t n) {
  ppool *p = ex->impl;
  const char *name;
  size_t i;
  for (i = 0; i < n; i++)
    if ((i == 0 || fs[i]->fn != fs[i - 1]->fn) &&
        mproc__task_lookup((mproc_fnptr)fs[i]->fn, &name) < 0)
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
  p->npending += n;
  direct_feed(p);
  mproc__pp_feed_kick(p);
  /* Workers that idled out come back on demand (the watcher starts them). */
  if (ex->idle_timeout > 0) (void)mproc_wakeup_signal(p->wake);
  uv_mutex_unlock(&p->lock);
  return 0;
}

/* Wait for the watcher to see every worker gone, then end both threads
 * and fail what no worker will answer. */
static void join_all(ppool *p) {
  wset_rbatch_hdr h;
  mproc_future *left, *sent;
  uv_mutex_lock(&p->join_lock);
  if (!p->joined) {
    uv_thread_join(&p->watcher);
    uv_mutex_lock(&p->lock);
    p->feeder_quit = 1;
    mproc__pp_feed_kick(p);
    uv_mutex_unlock(&p->lock);
    uv_thread_join(&p->feeder);
    memset(&h, 0, sizeof h);
    h.kind = WSET_R_QUIT;
    (void)mproc_queue_put(p->rq, &h, sizeof h, MPROC_FOREVER);
    uv_thread_join(&p->reader);
    uv_mutex_lock(&p->lock);
    left = p->phead;
    p->phead = p->ptail = NULL;
    p->npending = 0;
    sent = take_all_sent(p);
    uv_mutex_unlock(&p->lock);
    mproc__pp_fail_list(sent, MPROC_EBROKEN, p->terminated
                        ? "executor: its workers were terminated before "
                          "this task finished"
                        : "executor: no worker answered for this task");
    mproc__pp_fail_list(left, MPROC_EBROKEN, p->broken
                        ? p->broken_msg
                        : "executor: its workers ended before this task ran");
    p->joined = 1;
  }
  uv_mutex_unlock(&p->join_lock);
}

/* The program is ending with the executor unfreed and its workers joined
 * (MPROC__SHUTDOWN_EXIT): the last holder's close removes each name (the
 * workers' task queues went with their incarnations). Closed, not freed:
 * nothing reads these after the join, but a handle stays mapped until
 * mproc__pp_free, should a later exit handler free the executor. */
static void close_objects(ppool *p) {
  (void)mproc_queue_close(p->rq);
  (void)mproc_array_close(p->slot_table);
  (void)mproc_shm_close(p->hold);
}

static int p_shutdown(mproc_executor *ex, int flags) {
  ppool *p = ex->impl;
  mproc_future *cancelled = NULL, *keep = NULL, *keep_tail = NULL, *next;
  size_t kept = 0;
  uv_mutex_lock(&p->lock);
  p->shutdown = 1;
  if (flags & MPROC_SHUTDOWN_CANCEL_FUTURES) {
    cancelled = p->phead;
    p->phead = p->ptail = NULL;
    p->npending = 0;
  }
  uv_mutex_unlock(&p->lock);
  for (; cancelled != NULL; cancelled = next) {
    next = cancelled->next;
    cancelled->next = NULL;
    /* A resent future is RUNNING: it is not cancelled (as Python's). */
    if (!(cancelled->kflags & PP_F_RESENT) &&
        mproc__future_cancel_pending(cancelled)) {
      mproc__future_unref(cancelled); /* stays CANCELLED, as Python's */
      continue;
    }
    if (keep_tail) keep_tail->next = cancelled; else keep = cancelled;
    keep_tail = cancelled;
    kept++;
  }
  uv_mutex_lock(&p->lock);
  mproc__pp_requeue_front(p, keep, keep_tail, kept);
  mproc__pp_feed_kick(p); /* the stops, once nothing is pending */
  uv_mutex_unlock(&p->lock);
  (void)mproc_wakeup_signal(p->wake);
  if (flags & MPROC_SHUTDOWN_WAIT) {
    join_all(p);
    if (flags & MPROC__SHUTDOWN_EXIT) close_objects(p);
  }
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

/* cancel() of a RUNNING future: find the worker that holds it; if it runs
 * it now, have the watcher replace that worker. Either way its outcome
 * will be MPROC_ECANCELLED. */
static int p_cancel_running(mproc_executor *ex, mproc_future *f) {
  ppool *p = ex->impl;
  int found = 0;
  pinc *w;
  uv_mutex_lock(&p->lock);
  for (w = p->incs; w != NULL && !found; w = w->next) {
    size_t i;
    for (i = 0; i < w->flen; i++) {
      uint64_t pos = w->resolved + i, started;
      if (w->fifo[(w->fhead + i) % PP_WINDOW] != f) continue;
      found = 1;
      f->kflags |= PP_F_CANCEL;
      started = atomic_load(&p->slots[w->index].started);
      if (w->alive && pos + 1 == started && !w->kill_reason) {
        w->kill_reason = MPROC_ECANCELLED;
        w->kill_pos = pos;
        w->kill_now = 1;
      }
      break;
    }
  }
  if (!found) { /* resent (back in pending, RUNNING): out, cancelled */
    mproc_future **g, *prev = NULL;
    for (g = &p->phead; *g != NULL; prev = *g, g = &(*g)->next)
      if (*g == f) {
        *g = f->next;
        if (p->ptail == f) p->ptail = prev;
        p->npending--;
        f->next = NULL;
        found = 2;
        break;
      }
  }
  uv_mutex_unlock(&p->lock);
  if (found == 2) {
    mproc__future_finish(f, MPROC_ECANCELLED, MPROC_ECANCELLED,
                         "the task was cancelled before it ran again");
    mproc__future_unref(f);
  } else if (found) {
    (void)mproc_wakeup_signal(p->wake);
  }
  return found != 0;
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
    mproc__pp_kill_all(p);
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
    wset_rbatch_hdr h;
    mproc__pp_kill_all(p);
    if (p->feeder_quit == 2) {
      uv_mutex_lock(&p->lock);
      mproc__pp_feed_kick(p);
      uv_mutex_unlock(&p->lock);
      uv_thread_join(&p->feeder);
    }
    memset(&h, 0, sizeof h);
    h.kind = WSET_R_QUIT;
    (void)mproc_queue_put(p->rq, &h, sizeof h, MPROC_FOREVER);
    uv_thread_join(&p->reader);
    mproc__pp_free(p);
    ex->impl = NULL;
    return rc;
  }
  return 0;
}

/* The program's end with this library's threads gone (ops.kill_now):
 * p_terminate cannot serve, it hands the kill to the watcher thread and
 * joins the threads, which are gone (a lock one held stays held). */
static void p_kill_now(mproc_executor *ex) { mproc__pp_kill_all(ex->impl); }

const mproc__executor_ops mproc__executor_process_ops = {
    "process", p_init, p_enqueue, p_shutdown, p_destroy, p_terminate, p_help,
    p_cancel_running, p_kill_now};
