/* mproc: the process executor's workers — making the pool, starting
 * worker incarnations, and the watcher thread that waits on every
 * worker's sentinel (plus a wake-up for shutdown, termination, resends,
 * cancels and resizes), resolves each end (itself when the reader has
 * taken everything the worker committed, else through an END message
 * behind it: wset.h), replaces workers, starts idle-exited ones again on
 * demand, and stops tasks that run past the task timeout by killing their
 * worker. Only the watcher touches the process objects once it runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor-process.h"
#include "platform.h"

/* Workers that exit on their own without a task, one after another,
 * before the pool calls itself broken (a worker that cannot start). */
#define MAX_BAD_EXITS 8
#define TQ_CAPACITY ((size_t)1 << 20)
/* Seconds a worker may take to say it runs before it is replaced (a
 * spawn under Wine or a sanitizer on a loaded machine takes a second or
 * two; a stuck fork child never says it). */
#define START_TIMEOUT 20.0
/* Nanoseconds the replacement of a worker that died (a signal, a crash,
 * a non-zero exit) waits, so that the caller hears of the task it held
 * first. A fork copies the parent's page tables while the parent's other
 * threads wait (a write to a page the fork has write-protected waits for
 * it), and it ran just as the reader finished the dead worker's futures
 * and the caller woke: the caller saw MPROC_EWORKERDIED after the fork
 * had ended (bench/futures, 2 CPUs: 0.43 ms from a SIGKILL, against a
 * raw kill + waitpid's 0.05-0.1). Waiting for the reader's report alone
 * was not enough: the caller still woke beside the fork. A clean exit
 * (max_tasks_per_child, idle, stop) is replaced at once. */
#define REPLACE_DEFER_NS 1000000u
/* Seconds at most the watcher waits while it holds ended incarnations to
 * release (release_dead), so that their processes and queues are given
 * back soon when nothing else wakes it. */
#define RELEASE_WAIT 0.001

static void release_dead(ppool *p);

/* The CPUs worker i is pinned to (n 0: none). */
static void worker_cpus(const ppool *p, int i, int *one, const int **cpus,
                        size_t *n) {
  const mproc_executor *ex = p->ex;
  *cpus = NULL;
  *n = 0;
  if (ex->pin == MPROC_PIN_SPREAD) {
    *one = i % mproc__os_cpu_online();
    *cpus = one;
    *n = 1;
  } else if (ex->pin == MPROC_PIN_SETS && ex->pin_set > 0) {
    size_t sets = ex->pin_n / ex->pin_set;
    *cpus = ex->pin_cpus + ((size_t)i % sets) * ex->pin_set;
    *n = ex->pin_set;
  }
}

static int start_process(ppool *p, pinc *w) {
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_process *pr = NULL;
  char name[40];
  int one, rc;
  snprintf(name, sizeof name, "ProcessPoolWorker-%d", w->index);
  o.name = name;
  o.method = p->method;
  o.daemon = p->ex->daemon_workers;
  worker_cpus(p, w->index, &one, &o.cpus, &o.n_cpus);
  p->args->index = w->index;
  p->args->gen = w->gen;
  snprintf(p->args->tq, WSET_QNAME, "%s", mproc_queue_name(w->tq));
  memset(&p->slots[w->index], 0, sizeof p->slots[w->index]);
  atomic_store(&mproc__pp_hold(p, w->index)->len, 0);
  if ((rc = mproc_process_new(&pr, mproc__wset_worker_main, p->args,
                              p->args_len, &o)) < 0)
    return rc;
  if ((rc = mproc_process_start(pr)) < 0) {
    mproc_process_free(pr);
    return rc;
  }
  w->proc = pr;
  return 0;
}

/* Start incarnation of worker i and make it the one the feeder sees. */
static int start_inc(ppool *p, int i) {
  mproc_queue_opts qo = MPROC_QUEUE_OPTS_INIT;
  pinc *w = calloc(1, sizeof *w);
  int rc;
  if (w == NULL || (w->fifo = malloc(PP_WINDOW * sizeof *w->fifo)) == NULL) {
    free(w);
    return mproc__err(MPROC_ENOMEM, "executor: out of memory");
  }
  qo.kind = MPROC_SIMPLE_QUEUE;
  qo.capacity = TQ_CAPACITY;
  if ((rc = mproc_queue_new(&w->tq, &qo)) < 0) {
    mproc__pp_inc_free(w);
    return rc;
  }
  w->index = i;
  w->gen = ++p->gens;
  w->quota = p->ex->max_tasks_per_child > 0 ? p->ex->max_tasks_per_child : -1;
  if ((rc = start_process(p, w)) < 0) {
    mproc__pp_inc_free(w);
    return rc;
  }
  uv_mutex_lock(&p->lock);
  w->alive = 1;
  w->born_ns = uv_hrtime();
  w->next = p->incs;
  p->incs = w;
  p->w[i] = w;
  p->need[i] = 0;
  if (p->early_ready == w->gen) w->ready = 1; /* its READY was read */
  mproc__pp_feed_kick(p);
  uv_mutex_unlock(&p->lock);
  return 0;
}

void mproc__pp_kill_all(ppool *p) {
  pinc *w, *next;
  for (w = p->incs; w != NULL; w = next) {
    next = w->next;
    if (w->proc != NULL) {
      (void)mproc_process_kill(w->proc);
      (void)mproc_process_join(w->proc, MPROC_FOREVER);
      mproc_process_free(w->proc);
    }
    mproc__pp_inc_free(w);
  }
  p->incs = NULL;
}

static int make_args(ppool *p) {
  mproc_executor *ex = p->ex;
  const char *init = NULL;
  if (ex->init != NULL && mproc__task_lookup((mproc_fnptr)ex->init, &init) < 0)
    return mproc__err(MPROC_ENOTREG, "process executor: the initializer is "
                      "not registered; mark it MPROC_TASK(fn) so that "
                      "workers can find it by name");
  p->args_len = sizeof *p->args + ex->initargs_len;
  if ((p->args = calloc(1, p->args_len)) == NULL)
    return mproc__err(MPROC_ENOMEM, "executor: out of memory");
  p->args->max_tasks = ex->max_tasks_per_child;
  p->args->max_memory = ex->max_memory;
  p->args->idle_timeout = ex->idle_timeout;
  p->args->timed = ex->task_timeout > 0;
  snprintf(p->args->rq, WSET_QNAME, "%s", mproc_queue_name(p->rq));
  snprintf(p->args->shm, WSET_QNAME, "%s", mproc_array_name(p->slot_table));
  snprintf(p->args->hold, WSET_QNAME, "%s", mproc_shm_name(p->hold));
  if (init) snprintf(p->args->init, sizeof p->args->init, "%s", init);
  p->args->initargs_len = ex->initargs_len;
  if (ex->initargs_len)
    memcpy(p->args + 1, ex->initargs, ex->initargs_len);
  return 0;
}

void mproc__pp_free(ppool *p) {
  if (p == NULL) return;
  mproc__pp_kill_all(p); /* none left after a join: frees the records */
  release_dead(p);       /* none either: the watcher's exit released them */
  mproc_queue_free(p->rq);
  mproc_array_free(p->slot_table);
  mproc_shm_free(p->hold);
  mproc_wakeup_free(p->wake);
  uv_mutex_destroy(&p->lock);
  uv_mutex_destroy(&p->join_lock);
  uv_cond_destroy(&p->feed_cond);
  uv_cond_destroy(&p->sent_cond);
  uv_mutex_destroy(&p->tok_lock);
  uv_cond_destroy(&p->tok_cond);
  free(p->rbuf);
  free(p->w);
  free(p->need);
  free(p->args);
  free(p);
}

static int make_objects(ppool *p) {
  mproc_queue_opts qo = MPROC_QUEUE_OPTS_INIT;
  mproc_value_opts vo = MPROC_VALUE_OPTS_INIT;
  int rc, n = p->nslots;
  vo.raw = 1;
  qo.kind = MPROC_SIMPLE_QUEUE;
  qo.capacity = (size_t)4 << 20;
  if ((rc = mproc_wakeup_new(&p->wake)) < 0 ||
      (rc = mproc_queue_new(&p->rq, &qo)) < 0 ||
      (rc = mproc_array_new(&p->slot_table, 'c', wset_table_bytes(n), NULL,
                            &vo)) < 0)
    return rc;
  p->slots = wset_slots_of(mproc_array_ptr(p->slot_table));
  p->rcap = PP_RBUF_MAX; /* none: every message gets memory of its own */
  if ((p->rbuf = malloc(p->rcap)) == NULL) p->rcap = 0;
  if ((rc = mproc_shm_new(&p->hold, (size_t)n * WSET_HOLD_BYTES, NULL)) < 0)
    return rc;
  if ((p->w = calloc((size_t)n, sizeof *p->w)) == NULL ||
      (p->need = calloc((size_t)n, 1)) == NULL)
    return mproc__err(MPROC_ENOMEM, "executor: out of memory");
  return make_args(p);
}

static int init_sync(ppool *p) {
  if (uv_mutex_init(&p->lock) != 0) goto fail0;
  if (uv_mutex_init(&p->join_lock) != 0) goto fail1;
  if (uv_cond_init(&p->feed_cond) != 0) goto fail2;
  if (uv_cond_init(&p->sent_cond) != 0) goto fail3;
  if (uv_mutex_init(&p->tok_lock) != 0) goto fail4;
  if (uv_cond_init(&p->tok_cond) != 0) goto fail5;
  return 0;
fail5:
  uv_mutex_destroy(&p->tok_lock);
fail4:
  uv_cond_destroy(&p->sent_cond);
fail3:
  uv_cond_destroy(&p->feed_cond);
fail2:
  uv_mutex_destroy(&p->join_lock);
fail1:
  uv_mutex_destroy(&p->lock);
fail0:
  return mproc__err(MPROC_ENOMEM, "executor: cannot make a mutex");
}

int mproc__pp_new(mproc_executor *ex, ppool **out) {
  ppool *p = calloc(1, sizeof *p);
  int rc, i;
  *out = NULL;
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "executor: out of memory");
  if ((rc = init_sync(p)) < 0) {
    free(p);
    return rc;
  }
  p->ex = ex;
  p->method = ex->method;
  p->on_death = ex->on_worker_death;
  p->retries = ex->retries;
  p->task_timeout = ex->task_timeout;
  p->target = ex->max_workers;
  p->nslots = ex->max_workers > ex->max_slots ? ex->max_workers
                                              : ex->max_slots;
  if ((rc = make_objects(p)) < 0) goto fail;
  for (i = 0; i < p->target; i++)
    if ((rc = start_inc(p, i)) < 0) goto fail;
  *out = p;
  return 0;
fail:
  mproc__pp_free(p);
  return rc;
}

int mproc__pp_usable(ppool *p) {
  int ok;
  uv_mutex_lock(&p->lock);
  ok = !p->shutdown && !p->broken && !p->terminated;
  uv_mutex_unlock(&p->lock);
  return ok;
}

int mproc__pp_resize(ppool *p, int n) {
  int i;
  if (n < 1 || n > p->nslots)
    return mproc__err(MPROC_ERANGE, "executor: %d workers asked; this "
                      "executor holds 1 to %d", n, p->nslots);
  uv_mutex_lock(&p->lock);
  if (p->shutdown || p->broken) {
    uv_mutex_unlock(&p->lock);
    return mproc__err(MPROC_ESTATE, "executor: resize after shutdown");
  }
  p->target = n;
  for (i = 0; i < p->nslots; i++) p->need[i] = i < n && p->w[i] == NULL;
  p->ex->max_workers = n;
  mproc__pp_feed_kick(p); /* stops for the workers past n */
  uv_mutex_unlock(&p->lock);
  (void)mproc_wakeup_signal(p->wake);
  return 0;
}

/* ---- the watcher -------------------------------------------------------------- */

static void describe_end(char *buf, size_t n, int i, long pid, int code) {
  if (code < 0)
    snprintf(buf, n, "worker %d (pid %ld) died (killed by signal %d)", i,
             pid, -code);
  else
    snprintf(buf, n, "worker %d (pid %ld) died (exit code %d)", i, pid, code);
}

wset_hold *mproc__pp_hold(const ppool *p, int i) {
  return (wset_hold *)((unsigned char *)mproc_shm_buf(p->hold) +
                       (size_t)i * WSET_HOLD_BYTES);
}

/* Put the END message of w (its process has ended), with the results it
 * held (wset.h). */
static void post_end(ppool *p, const pinc *w, int code, const char *how) {
  unsigned char small[sizeof(wset_rbatch_hdr) + sizeof(wset_end) + 200];
  unsigned char *buf = small;
  wset_rbatch_hdr h;
  wset_end e;
  wset_slot *s = &p->slots[w->index];
  const wset_hold *hd = mproc__pp_hold(p, w->index);
  size_t hl = strlen(how) + 1, held = (size_t)atomic_load(&hd->len);
  memset(&h, 0, sizeof h);
  h.kind = WSET_R_END;
  h.worker = w->index;
  h.gen = w->gen;
  memset(&e, 0, sizeof e);
  e.started = atomic_load(&s->started);
  e.finished = atomic_load(&s->finished);
  e.flushed = atomic_load(&s->flushed);
  e.state = atomic_load(&s->state);
  e.code = code;
  if (hl > 200) hl = 200;
  if (held > WSET_HOLD_CAP) held = 0; /* never: a worker's bug */
  /* No memory for the held results: their tasks fail (EWORKERDIED). */
  if (held > 0 && (buf = malloc(sizeof small + held)) == NULL) {
    buf = small;
    held = 0;
  }
  e.how_len = (uint32_t)hl;
  e.held_len = held;
  memcpy(buf, &h, sizeof h);
  memcpy(buf + sizeof h, &e, sizeof e);
  memcpy(buf + sizeof h + sizeof e, how, hl);
  buf[sizeof h + sizeof e + hl - 1] = '\0';
  if (held) memcpy(buf + sizeof h + sizeof e + hl, hd + 1, held);
  (void)mproc_queue_put(p->rq, buf, sizeof h + sizeof e + hl + held,
                        MPROC_FOREVER);
  if (buf != small) free(buf);
}

int mproc__pp_post_yield(ppool *p, double timeout) {
  wset_rbatch_hdr h;
  memset(&h, 0, sizeof h);
  h.kind = WSET_R_YIELD;
  return mproc_queue_put(p->rq, &h, sizeof h, timeout);
}

/* Incarnation w has ended: resolve its tasks (at once when the reader
 * has taken all it committed, else through an END message behind it),
 * stop the feeder using it, decide whether index i comes back. The tasks
 * come first: the caller waiting on the task the worker held is woken
 * before the process, the queue and the record are released (after the
 * next wait, when the watcher resolved it: release_dead). */
static void reap(ppool *p, pinc *w) {
  int code = 0, i = w->index, done;
  long pid = mproc_process_pid(w->proc);
  uint32_t state;
  uint64_t started;
  char how[160];
  (void)mproc_process_join(w->proc, MPROC_FOREVER); /* it has ended */
  (void)mproc_process_exitcode(w->proc, &code);
  describe_end(how, sizeof how, i, pid, code);
  /* Resolved here, no message follows: a waiter reading the result
   * queue for one of w's tasks (the reader token) sleeps in its get until
   * a YIELD wakes it (else until the get times out, 2 ms). Not waited
   * for: a full queue has a reader busy with it. */
  if ((done = mproc__pp_end_now(p, w, how)) != 0)
    (void)mproc__pp_post_yield(p, 0);
  if (!done) {
    mproc_process_free(w->proc);
    w->proc = NULL;
    uv_mutex_lock(&p->lock);
    w->alive = 0;
    uv_mutex_unlock(&p->lock);
    (void)mproc_queue_close(w->tq); /* ends a put the feeder is blocked in */
  }
  uv_mutex_lock(&p->lock);
  while (w->sending) uv_cond_wait(&p->sent_cond, &p->lock);
  if (p->w[i] == w) p->w[i] = NULL;
  if (!done) p->ends_unresolved++;
  state = atomic_load(&p->slots[i].state);
  started = atomic_load(&p->slots[i].started);
  /* Stopped or idle: it comes back only on demand (pending work). */
  p->need[i] = i < p->target && state != WSET_ST_STOPPED &&
               state != WSET_ST_IDLE && state != WSET_ST_INITFAIL;
  uv_mutex_unlock(&p->lock);
  if (code != 0 && p->replace_at == 0)
    p->replace_at = uv_hrtime() + REPLACE_DEFER_NS;
  if (done) {
    w->next = p->dead; /* resolved and unlinked: the watcher's */
    p->dead = w;
  } else {
    post_end(p, w, code, how); /* the reader frees w after it */
  }
  if (state == WSET_ST_RUN && started == 0 && code != 0)
    p->bad_exits++;
  else
    p->bad_exits = 0;
}

/* Release the incarnations whose ends the watcher resolved itself: their
 * processes, queues (no sender: end_now) and records. After the wait that
 * follows their reap, not in it: a caller woken there and queued behind
 * the watcher on its CPU runs first instead of waiting out this work. */
static void release_dead(ppool *p) {
  pinc *w, *next;
  for (w = p->dead; w != NULL; w = next) {
    next = w->next;
    mproc_process_free(w->proc);
    mproc__pp_inc_free(w);
  }
  p->dead = NULL;
}

/* Start the workers that are due: replacements, and idle ones when work
 * waits (not until REPLACE_DEFER_NS after a worker died). 0, or the pool
 * is broken. */
static void ensure_workers(ppool *p) {
  int i, want;
  char why[300];
  if (p->replace_at != 0 && uv_hrtime() < p->replace_at) return;
  p->replace_at = 0;
  for (i = 0; i < p->nslots; i++) {
    uv_mutex_lock(&p->lock);
    want = i < p->target && p->w[i] == NULL && !p->broken &&
           !p->terminated && (p->need[i] || p->npending > 0);
    uv_mutex_unlock(&p->lock);
    if (!want) continue;
    if (p->bad_exits > MAX_BAD_EXITS) {
      mproc__pp_set_broken(p, "executor broken: workers keep ending before "
                           "they run a task");
      return;
    }
    if (start_inc(p, i) < 0) {
      snprintf(why, sizeof why, "executor broken: a worker could not be "
               "started: %s", mproc_last_error());
      mproc__pp_set_broken(p, why);
      return;
    }
  }
}

/* Under the lock: mark w if its start has taken past START_TIMEOUT (it
 * never said it runs); the seconds until it would. */
static double check_start(pinc *w, uint64_t now) {
  double age = (double)(now - w->born_ns) / 1e9;
  if (w->ready || w->kill_now) return -1;
  if (age < START_TIMEOUT) return START_TIMEOUT - age;
  w->kill_now = 1; /* it holds no task: its replacement gets the work */
  return -1;
}

/* Mark the workers whose task ran past the timeout, and those stuck in
 * their start; the seconds until the next check (-1: none due). A task
 * is stopped between its timeout and a quarter more (a task that starts
 * is seen at the next check). */
static double check_timeouts(ppool *p) {
  double t = p->task_timeout, next = -1, s;
  uint64_t now = uv_hrtime();
  pinc *w;
  if (t > 0) next = t / 4 > 0.001 ? t / 4 : 0.001;
  uv_mutex_lock(&p->lock);
  for (w = p->incs; w != NULL; w = w->next) {
    wset_slot *sl = &p->slots[w->index];
    uint64_t st, fi;
    double ran;
    if (!w->alive || w->proc == NULL) continue;
    if ((s = check_start(w, now)) >= 0 && (next < 0 || s < next)) next = s;
    if (t <= 0 || w->kill_reason) continue;
    st = atomic_load(&sl->started);
    fi = atomic_load(&sl->finished);
    if (st <= fi) continue;
    ran = (double)(now - atomic_load(&sl->start_ns)) / 1e9;
    if (ran >= t) {
      w->kill_reason = MPROC_ETIMEDOUT;
      w->kill_pos = st - 1;
      w->kill_now = 1;
    } else if (t - ran < next) {
      next = t - ran;
    }
  }
  uv_mutex_unlock(&p->lock);
  return next;
}

/* One round: end workers if asked, wait, reap. 0 when done. */
static int watch_once(ppool *p, mproc_handle *h, pinc **who,
                      unsigned char *ready) {
  int k = 1, alive = 0, stop, term, rc, i;
  double t = check_timeouts(p), r;
  pinc *w;
  /* A replacement held back (ensure_workers) is due at replace_at. */
  if (p->replace_at != 0) {
    uint64_t now = uv_hrtime();
    r = now < p->replace_at ? (double)(p->replace_at - now) / 1e9 : 0;
    if (t < 0 || r < t) t = r;
  }
  if (p->dead != NULL && (t < 0 || t > RELEASE_WAIT)) t = RELEASE_WAIT;
  uv_mutex_lock(&p->lock);
  term = p->terminated;
  stop = p->shutdown || p->broken || term;
  for (w = p->incs; w != NULL; w = w->next) {
    if (w->proc == NULL) continue;
    if ((term || w->kill_now) && !w->killed) {
      (void)(term == 1 ? mproc_process_terminate(w->proc)
                       : mproc_process_kill(w->proc));
      w->killed = 1;
    }
    who[k] = w;
    h[k++] = mproc_process_sentinel(w->proc);
    alive++;
  }
  if (alive == 0 && stop && p->ends_unresolved == 0 &&
      (p->npending == 0 || p->broken || term)) {
    uv_mutex_unlock(&p->lock);
    return 0;
  }
  uv_mutex_unlock(&p->lock);
  h[0] = mproc_wakeup_handle(p->wake);
  rc = mproc_wait_handles(h, (size_t)k, t < 0 ? MPROC_FOREVER : t, ready);
  release_dead(p);
  if (rc < 0 && rc != MPROC_ETIMEDOUT && rc != MPROC_EINTR) {
    mproc__pp_set_broken(p, "executor broken: waiting on the workers "
                         "failed");
    uv_mutex_lock(&p->lock);
    p->terminated = 2;
    uv_mutex_unlock(&p->lock);
    return 1;
  }
  if (rc >= 0 && ready[0]) (void)mproc_wakeup_clear(p->wake);
  for (i = 1; rc >= 0 && i < k; i++)
    if (ready[i]) reap(p, who[i]);
  ensure_workers(p);
  return 1;
}

static void watcher_main(void *arg) {
  ppool *p = arg;
  size_t n = (size_t)p->nslots * 2 + 1;
  mproc_handle *h = malloc(n * sizeof *h);
  pinc **who = malloc(n * sizeof *who);
  unsigned char *ready = malloc(n);
  if (h == NULL || who == NULL || ready == NULL) {
    mproc__pp_set_broken(p, "executor broken: out of memory in the watcher");
    uv_mutex_lock(&p->lock);
    p->terminated = 2;
    uv_mutex_unlock(&p->lock);
    free(h);
    free(who);
    free(ready);
    return; /* the workers are killed at free */
  }
  while (watch_once(p, h, who, ready)) {
  }
  release_dead(p);
  free(h);
  free(who);
  free(ready);
}

int mproc__pp_start_watcher(ppool *p) {
  if (uv_thread_create(&p->watcher, watcher_main, p) != 0)
    return mproc__err(MPROC_EOS, "executor: cannot start the watcher thread");
  return 0;
}
