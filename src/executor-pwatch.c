/* mproc: the process executor's workers — making the pool, starting
 * workers, and the watcher thread that waits on every worker's sentinel
 * (plus a wake-up for shutdown and termination) and turns a death into
 * the outcome of exactly the task the worker's slot names (wset.h). A
 * dead worker is replaced at once; every other task goes on. With
 * MPROC_ON_DEATH_BROKEN the executor turns broken instead (Python's
 * BrokenProcessPool). Only the watcher touches the process objects once
 * it runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor-process.h"

/* Workers that exit on their own without a task, one after another,
 * before the pool calls itself broken (a worker that cannot start). */
#define MAX_BAD_EXITS 8

static int start_worker(ppool *p, int i) {
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_process *pr = NULL;
  char name[40];
  int rc;
  snprintf(name, sizeof name, "ProcessPoolWorker-%d", i);
  o.name = name;
  o.method = p->method;
  o.daemon = p->ex->daemon_workers;
  p->args->index = i;
  atomic_store(&p->slots[i], 0);
  if ((rc = mproc_process_new(&pr, mproc__wset_worker_main, p->args,
                              p->args_len, &o)) < 0)
    return rc;
  if ((rc = mproc_process_start(pr)) < 0) {
    mproc_process_free(pr);
    return rc;
  }
  p->procs[i] = pr;
  return 0;
}

void mproc__pp_kill_all(ppool *p) {
  int i;
  for (i = 0; i < p->ex->max_workers; i++) {
    if (p->procs[i] == NULL) continue;
    (void)mproc_process_kill(p->procs[i]);
    (void)mproc_process_join(p->procs[i], MPROC_FOREVER);
    mproc_process_free(p->procs[i]);
    p->procs[i] = NULL;
  }
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
  snprintf(p->args->tq, WSET_QNAME, "%s", mproc_queue_name(p->tq));
  snprintf(p->args->rq, WSET_QNAME, "%s", mproc_queue_name(p->rq));
  snprintf(p->args->shm, WSET_QNAME, "%s", mproc_shm_name(p->shm));
  if (init) snprintf(p->args->init, sizeof p->args->init, "%s", init);
  p->args->initargs_len = ex->initargs_len;
  if (ex->initargs_len)
    memcpy(p->args + 1, ex->initargs, ex->initargs_len);
  return 0;
}

void mproc__pp_free(ppool *p) {
  if (p == NULL) return;
  mproc_queue_free(p->tq);
  mproc_queue_free(p->rq);
  mproc_shm_free(p->shm);
  mproc_wakeup_free(p->wake);
  uv_mutex_destroy(&p->lock);
  uv_mutex_destroy(&p->join_lock);
  uv_cond_destroy(&p->feed_cond);
  free(p->procs);
  free(p->args);
  free(p);
}

static int make_objects(ppool *p) {
  mproc_queue_opts qo = MPROC_QUEUE_OPTS_INIT;
  int rc, n = p->ex->max_workers;
  qo.kind = MPROC_SIMPLE_QUEUE;
  qo.capacity = (size_t)4 << 20;
  if ((rc = mproc_wakeup_new(&p->wake)) < 0 ||
      (rc = mproc_queue_new(&p->tq, &qo)) < 0 ||
      (rc = mproc_queue_new(&p->rq, &qo)) < 0 ||
      (rc = mproc_shm_new(&p->shm, (size_t)n * sizeof(uint64_t), NULL)) < 0)
    return rc;
  p->slots = mproc_shm_buf(p->shm);
  if ((p->procs = calloc((size_t)n, sizeof *p->procs)) == NULL)
    return mproc__err(MPROC_ENOMEM, "executor: out of memory");
  return make_args(p);
}

int mproc__pp_new(mproc_executor *ex, ppool **out) {
  ppool *p = calloc(1, sizeof *p);
  int rc, i;
  *out = NULL;
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "executor: out of memory");
  if (uv_mutex_init(&p->lock) != 0) {
    free(p);
    return mproc__err(MPROC_ENOMEM, "executor: cannot make a mutex");
  }
  if (uv_mutex_init(&p->join_lock) != 0) {
    uv_mutex_destroy(&p->lock);
    free(p);
    return mproc__err(MPROC_ENOMEM, "executor: cannot make a mutex");
  }
  if (uv_cond_init(&p->feed_cond) != 0) {
    uv_mutex_destroy(&p->join_lock);
    uv_mutex_destroy(&p->lock);
    free(p);
    return mproc__err(MPROC_ENOMEM, "executor: cannot make a condition");
  }
  p->ex = ex;
  p->method = ex->method;
  p->on_death = ex->on_worker_death;
  p->max_inflight = (size_t)ex->max_workers * 4096;
  if ((rc = make_objects(p)) < 0) goto fail;
  for (i = 0; i < ex->max_workers; i++)
    if ((rc = start_worker(p, i)) < 0) goto fail;
  *out = p;
  return 0;
fail:
  if (p->procs) mproc__pp_kill_all(p);
  mproc__pp_free(p);
  return rc;
}

/* ---- the watcher -------------------------------------------------------------- */

static void describe_end(char *buf, size_t n, int code) {
  if (code < 0)
    snprintf(buf, n, "killed by signal %d", -code);
  else
    snprintf(buf, n, "exit code %d", code);
}

/* Worker i has ended: give its task (if any) its outcome, replace it. */
static void reap(ppool *p, int i) {
  mproc_process *pr = p->procs[i];
  uint64_t slot = atomic_exchange(&p->slots[i], 0);
  int code = 0, replace, stops, rc;
  long pid = mproc_process_pid(pr);
  char how[64], why[300];
  (void)mproc_process_join(pr, MPROC_FOREVER); /* it has ended: no wait */
  (void)mproc_process_exitcode(pr, &code);
  mproc_process_free(pr);
  p->procs[i] = NULL;
  describe_end(how, sizeof how, code);
  if (slot != 0 && slot != WSET_SLOT_STOPPED) {
    snprintf(why, sizeof why, "%sworker %d (pid %ld) died (%s) while "
             "running task %llu", p->on_death ? "executor broken: " : "", i,
             pid, how, (unsigned long long)(slot - 1));
    if (p->on_death == MPROC_ON_DEATH_BROKEN) {
      mproc__pp_set_broken(p, why);
      uv_mutex_lock(&p->lock);
      if (!p->terminated) p->terminated = 2; /* Python ends the rest */
      uv_mutex_unlock(&p->lock);
    } else {
      (void)mproc__wset_put_result(p->rq, slot - 1, MPROC_EWORKERDIED, i,
                                   why, NULL, 0);
    }
    p->bad_exits = 0;
  } else if (slot == 0 && code != 0) {
    p->bad_exits++;
  }
  uv_mutex_lock(&p->lock);
  replace = slot != WSET_SLOT_STOPPED && !p->broken && !p->terminated;
  stops = p->stops_sent;
  uv_mutex_unlock(&p->lock);
  if (!replace) return;
  if (p->bad_exits > MAX_BAD_EXITS) {
    snprintf(why, sizeof why, "executor broken: workers keep ending before "
             "they run a task (the last: %s)", how);
    mproc__pp_set_broken(p, why);
    return;
  }
  if ((rc = start_worker(p, i)) < 0) {
    snprintf(why, sizeof why, "executor broken: a worker could not be "
             "replaced: %s", mproc_last_error());
    mproc__pp_set_broken(p, why);
    return;
  }
  if (stops) mproc__pp_send_stops(p, 1); /* it missed the round of stops */
}

/* One round: end the workers if asked, wait, reap. 0 when done. */
static int watch_once(ppool *p, mproc_handle *h, int *who,
                      unsigned char *ready, int *killed) {
  int i, k = 1, alive = 0, stop, term, rc;
  uv_mutex_lock(&p->lock);
  term = p->terminated;
  stop = p->shutdown || p->broken || term;
  uv_mutex_unlock(&p->lock);
  for (i = 0; i < p->ex->max_workers; i++) {
    if (p->procs[i] == NULL) continue;
    if (term && !*killed)
      (void)(term == 2 ? mproc_process_kill(p->procs[i])
                       : mproc_process_terminate(p->procs[i]));
    who[k] = i;
    h[k++] = mproc_process_sentinel(p->procs[i]);
    alive++;
  }
  if (term) *killed = 1;
  if (alive == 0 && stop) return 0;
  h[0] = mproc_wakeup_handle(p->wake);
  rc = mproc_wait_handles(h, (size_t)k, MPROC_FOREVER, ready);
  if (rc < 0) {
    mproc__pp_set_broken(p, "executor broken: waiting on the workers "
                         "failed");
    mproc__pp_kill_all(p);
    return 0;
  }
  if (ready[0]) (void)mproc_wakeup_clear(p->wake);
  for (i = 1; i < k; i++)
    if (ready[i]) reap(p, who[i]);
  return 1;
}

static void watcher_main(void *arg) {
  ppool *p = arg;
  size_t n = (size_t)p->ex->max_workers + 1;
  mproc_handle *h = malloc(n * sizeof *h);
  int *who = malloc(n * sizeof *who), killed = 0;
  unsigned char *ready = malloc(n);
  if (h == NULL || who == NULL || ready == NULL) {
    mproc__pp_set_broken(p, "executor broken: out of memory in the watcher");
    mproc__pp_kill_all(p);
  } else {
    while (watch_once(p, h, who, ready, &killed)) {
    }
  }
  free(h);
  free(who);
  free(ready);
}

int mproc__pp_start_watcher(ppool *p) {
  if (uv_thread_create(&p->watcher, watcher_main, p) != 0)
    return mproc__err(MPROC_EOS, "executor: cannot start the watcher thread");
  return 0;
}
