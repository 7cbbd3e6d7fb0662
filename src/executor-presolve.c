/* mproc: the process executor's accounting when a worker incarnation
 * ends (the reader thread, on the watcher's END message; wset.h has the
 * protocol; or the watcher itself, when the reader has already taken all
 * the incarnation committed: mproc__pp_end_now). Every task still in the
 * incarnation's FIFO gets exactly one fate by its position against the
 * slot's counters: its result from the worker's hold area (it ran; the
 * result was not sent), sent again (it never began, or a retry is left),
 * finished with the reason the watcher stopped it (MPROC_ETIMEDOUT,
 * MPROC_ECANCELLED), or failed with MPROC_EWORKERDIED; with
 * MPROC_ON_DEATH_BROKEN a death breaks the executor instead, and after
 * terminate_workers nothing is sent again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor-process.h"

/* The futures of one fate, linked by next, with their shared sentence. */
typedef struct fate {
  mproc_future *head, *tail;
  size_t n;
  int outcome;
  char pre[300], post[120];
} fate;

static void fate_add(fate *l, mproc_future *f) {
  f->next = NULL;
  if (l->tail) l->tail->next = f; else l->head = f;
  l->tail = f;
  l->n++;
}

void mproc__pp_inc_free(pinc *w) {
  if (w == NULL) return;
  mproc_queue_free(w->tq);
  free(w->fifo);
  free(w);
}

/* Under the lock: unlink w from the pool's list of incarnations. */
static void inc_unlink(ppool *p, pinc *w) {
  pinc **q;
  for (q = &p->incs; *q != NULL; q = &(*q)->next)
    if (*q == w) {
      *q = w->next;
      return;
    }
}

/* 1 if the worker chose to end (its tasks were flushed). */
static int clean_end(const wset_end *e) {
  return e->state == WSET_ST_STOPPED || e->state == WSET_ST_IDLE ||
         e->state == WSET_ST_MEMORY || e->state == WSET_ST_MAXTASKS;
}

typedef struct fates {
  fate resend, died, lost, stopped, cancelled, broken, held;
} fates;

/* The held record of task `id` in held[0..len), or NULL; *h its header. */
static const unsigned char *find_held(const unsigned char *held, size_t len,
                                      uint64_t id, wset_res_hdr *h) {
  size_t off = 0, rest;
  while (len - off >= sizeof *h) {
    memcpy(h, held + off, sizeof *h);
    rest = len - off - sizeof *h;
    if (h->msg_len > rest || h->len > rest - h->msg_len) return NULL;
    if (h->id == id) return held + off;
    off += sizeof *h + (size_t)(h->msg_len + h->len);
  }
  return NULL;
}

/* Under the lock: the fate of the task at position pos. */
static void sort_one(ppool *p, const pinc *w, const wset_end *e,
                     const unsigned char *held, mproc_future *f,
                     uint64_t pos, fates *fs) {
  int ran = pos < e->started;
  int running = ran && pos + 1 == e->started && e->started > e->finished;
  wset_res_hdr h;
  if (f->kflags & PP_F_CANCEL) {
    fate_add(&fs->cancelled, f);
  } else if (p->broken || p->terminated) {
    fate_add(ran ? &fs->died : &fs->broken, f);
  } else if (!ran) {
    f->kflags |= PP_F_RESENT; /* never begun: sent again */
    fate_add(&fs->resend, f);
  } else if (!running &&
             find_held(held, (size_t)e->held_len, f->task, &h) != NULL) {
    fate_add(&fs->held, f); /* it ran; its result outlived the worker */
  } else if (running && w->kill_reason && pos == w->kill_pos) {
    fate_add(&fs->stopped, f);
  } else if (p->on_death == MPROC_ON_DEATH_BROKEN) {
    fate_add(&fs->broken, f);
  } else if (f->attempts < p->retries) {
    f->attempts++;
    f->kflags |= PP_F_RESENT;
    fate_add(&fs->resend, f);
  } else {
    fate_add(running ? &fs->died : &fs->lost, f);
  }
}

/* Finish the futures whose results were held, outside the lock. */
static void finish_held(fate *l, const wset_end *e,
                        const unsigned char *held) {
  mproc_future *f, *next;
  for (f = l->head; f != NULL; f = next) {
    wset_res_hdr h;
    const unsigned char *r;
    next = f->next;
    f->next = NULL;
    r = find_held(held, (size_t)e->held_len, f->task, &h);
    if (r != NULL) /* found when sorted */
      (void)mproc__pp_finish_one(f, &h, r + sizeof h,
                                 r + sizeof h + h.msg_len, NULL);
    mproc__future_unref(f);
  }
}

static void fates_init(fates *fs, const pinc *w, const ppool *p,
                       const char *how) {
  const char *left = p->retries ? " (no retry left)" : "";
  memset(fs, 0, sizeof *fs);
  fs->died.outcome = fs->lost.outcome = MPROC_EWORKERDIED;
  fs->cancelled.outcome = MPROC_ECANCELLED;
  fs->broken.outcome = MPROC_EBROKEN;
  fs->stopped.outcome = w->kill_reason ? w->kill_reason : MPROC_ETIMEDOUT;
  /* Each sentence is pre, the task's number, post. */
  snprintf(fs->died.pre, sizeof fs->died.pre, "%s while running task ", how);
  snprintf(fs->died.post, sizeof fs->died.post, "%s", left);
  snprintf(fs->lost.pre, sizeof fs->lost.pre, "%s after running task ", how);
  snprintf(fs->lost.post, sizeof fs->lost.post, ", before its result was "
           "sent%s", left);
  snprintf(fs->cancelled.pre, sizeof fs->cancelled.pre, "task ");
  snprintf(fs->cancelled.post, sizeof fs->cancelled.post, " was cancelled "
           "while it ran; its worker was replaced");
  snprintf(fs->stopped.pre, sizeof fs->stopped.pre, "task ");
  if (w->kill_reason == MPROC_ECANCELLED)
    snprintf(fs->stopped.post, sizeof fs->stopped.post, " was cancelled "
             "while it ran; its worker was replaced");
  else
    snprintf(fs->stopped.post, sizeof fs->stopped.post, " ran past its "
             "timeout of %g s; its worker was replaced", p->task_timeout);
  snprintf(fs->broken.pre, sizeof fs->broken.pre, "executor broken: %s "
           "(task ", how);
  snprintf(fs->broken.post, sizeof fs->broken.post, ")");
}

/* The outcome for each fate's futures, outside the lock. */
static void finish_fate(fate *l) {
  mproc_future *f, *next;
  char why[600];
  for (f = l->head; f != NULL; f = next) {
    next = f->next;
    f->next = NULL;
    snprintf(why, sizeof why, "%s%llu%s", l->pre, (unsigned long long)f->task,
             l->post);
    mproc__future_finish(f, l->outcome, l->outcome, why);
    mproc__future_unref(f);
  }
}

/* Under the lock: unlink w and give each task in its FIFO its fate (the
 * resent ones go back to the head of pending); 1 if the end breaks the
 * executor (Python's BrokenProcessPool: a worker died holding tasks). */
static int sort_end(ppool *p, pinc *w, const wset_end *e, const char *how,
                    const unsigned char *held, fates *fs) {
  int breaks;
  inc_unlink(p, w);
  fates_init(fs, w, p, how);
  while (w->flen > 0) {
    mproc_future *f = w->fifo[w->fhead];
    w->fhead = (w->fhead + 1) % PP_WINDOW;
    w->flen--;
    sort_one(p, w, e, held, f, w->resolved++, fs);
  }
  breaks = p->on_death == MPROC_ON_DEATH_BROKEN && !clean_end(e) &&
           fs->broken.n > 0 && !p->broken && !p->terminated;
  mproc__pp_requeue_front(p, fs->resend.head, fs->resend.tail,
                          fs->resend.n);
  mproc__pp_feed_kick(p);
  return breaks;
}

/* Outside the lock: break the executor if the end does, then give the
 * sorted futures their outcomes. */
static void finish_end(ppool *p, fates *fs, int breaks, const wset_end *e,
                       const char *how, const unsigned char *held) {
  if (breaks) {
    char why[400];
    snprintf(why, sizeof why, "executor broken: %s", how);
    mproc__pp_set_broken(p, why);
    uv_mutex_lock(&p->lock);
    if (!p->terminated) p->terminated = 2; /* Python ends the rest */
    uv_mutex_unlock(&p->lock);
    (void)mproc_wakeup_signal(p->wake);
  }
  finish_held(&fs->held, e, held);
  finish_fate(&fs->died);
  finish_fate(&fs->lost);
  finish_fate(&fs->stopped);
  finish_fate(&fs->cancelled);
  finish_fate(&fs->broken);
}

void mproc__pp_resolve_end(ppool *p, uint64_t gen, const wset_end *e,
                           const char *how, const unsigned char *held) {
  fates fs;
  pinc *w;
  int breaks;
  uv_mutex_lock(&p->lock);
  for (w = p->incs; w != NULL && w->gen != gen; w = w->next) {
  }
  if (w == NULL) { /* never: each incarnation ends once */
    p->ends_unresolved--;
    mproc__pp_feed_kick(p);
    uv_mutex_unlock(&p->lock);
    return;
  }
  breaks = sort_end(p, w, e, how, held, &fs);
  p->ends_unresolved--;
  /* After the count: with shutdown, the last end resolved is what makes
   * the stops due (stop_due); kicked before it, the feeder slept on and
   * a replacement never got its stop (the executor's free hung). */
  mproc__pp_feed_kick(p);
  uv_mutex_unlock(&p->lock);
  (void)mproc_wakeup_signal(p->wake); /* the watcher: resent work, ends */
  finish_end(p, &fs, breaks, e, how, held);
  mproc__pp_inc_free(w);
}

int mproc__pp_end_now(ppool *p, pinc *w, const char *how) {
  const wset_slot *s = &p->slots[w->index];
  wset_end e;
  fates fs;
  int breaks;
  memset(&e, 0, sizeof e);
  uv_mutex_lock(&p->lock);
  e.started = atomic_load(&s->started);
  e.finished = atomic_load(&s->finished);
  e.flushed = atomic_load(&s->flushed);
  e.state = atomic_load(&s->state);
  /* The reader has taken every result the worker committed: those of the
   * first `flushed` tasks, and no message is left uncounted (a message
   * is put after `finished` rises and before `flushed` does). So the
   * FIFO holds only the tasks at `finished` and after: none can have a
   * held result, and no message of w's can follow. A sender in w's
   * queue, or READY not yet read: the END message (reap). */
  if (w->sending || !w->ready || e.finished != e.flushed ||
      e.flushed != w->resolved) {
    uv_mutex_unlock(&p->lock);
    return 0;
  }
  w->alive = 0; /* nothing is sent to it from here */
  breaks = sort_end(p, w, &e, how, NULL, &fs);
  uv_mutex_unlock(&p->lock);
  finish_end(p, &fs, breaks, &e, how, NULL);
  return 1;
}
