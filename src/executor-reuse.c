/* mproc: the reusable executor — loky's get_reusable_executor. One
 * process executor per program, made by the first call and handed (a new
 * reference each time) to every later one: resized when a call asks for
 * another max_workers, replaced when it asks for another configuration
 * or the executor broke. Its workers idle out after idle_timeout (300 s
 * unless given, as loky) and come back on demand, so holding it costs no
 * processes while nothing runs.
 *
 * Lifetime: every reference is dropped with mproc_executor_free; the
 * executor itself stays for the next call until
 * mproc_executor_reusable_free(), or until its last reference is dropped
 * after it was replaced. The reuse lock guards `current` and every
 * reusable executor's refs; it is never held while an executor shuts
 * down. */
#include <stdlib.h>
#include <string.h>

#include "executor-process.h"

#define REUSE_SLOTS_MIN 64    /* workers a reusable executor can grow to */
#define REUSE_IDLE_DEFAULT 300.0

static uv_once_t reuse_once = UV_ONCE_INIT;
static uv_mutex_t reuse_lock;
static mproc_executor *current;

static void reuse_init(void) {
  if (uv_mutex_init(&reuse_lock) != 0) abort(); /* no memory at start */
}

/* 1 if ex was made with the configuration o asks for (max_workers
 * aside: that one is resized). */
static int same_config(const mproc_executor *ex, const mproc_executor_opts *o) {
  return ex->init == o->initializer && ex->method == o->method &&
         ex->initargs_len == o->initargs_len &&
         (o->initargs_len == 0 ||
          memcmp(ex->initargs, o->initargs, o->initargs_len) == 0) &&
         ex->max_tasks_per_child == o->max_tasks_per_child &&
         ex->on_worker_death == o->on_worker_death &&
         ex->retries == o->retries && ex->task_timeout == o->task_timeout &&
         ex->idle_timeout == o->idle_timeout &&
         ex->max_memory == o->max_memory_per_child && ex->pin == o->pin &&
         o->pin != MPROC_PIN_SETS && o->user == ex->user;
}

int mproc__reusable_drop(mproc_executor *ex) {
  int last;
  uv_once(&reuse_once, reuse_init);
  uv_mutex_lock(&reuse_lock);
  ex->refs--;
  last = ex->refs == 0 && ex != current;
  uv_mutex_unlock(&reuse_lock);
  return last;
}

/* Under the reuse lock: stop handing out `current`; 1 if the caller must
 * free it now (nobody holds it), else the last holder frees it. */
static int retire_current(mproc_executor **old) {
  *old = current;
  current = NULL;
  if (*old == NULL) return 0;
  (void)mproc_executor_shutdown(*old, 0); /* no wait: later submits fail */
  return (*old)->refs == 0;
}

int mproc_executor_get_reusable(mproc_executor **out,
                                const mproc_executor_opts *opts) {
  mproc_executor_opts o;
  mproc_executor *old = NULL;
  int rc, free_old = 0, n;
  if (out == NULL)
    return mproc__err(MPROC_EINVAL, "get_reusable: out is NULL");
  *out = NULL;
  if ((rc = mproc__opts_load(&o, sizeof o, opts, "get_reusable",
                             "MPROC_EXECUTOR_OPTS_INIT")) < 0 ||
      (rc = mproc__executor_check_opts(MPROC_EXECUTOR_PROCESS, &o)) < 0)
    return rc;
  if (o.idle_timeout == 0) o.idle_timeout = REUSE_IDLE_DEFAULT;
  n = o.max_workers > 0 ? o.max_workers : mproc_cpu_count();
  uv_once(&reuse_once, reuse_init);
  uv_mutex_lock(&reuse_lock);
  if (current != NULL &&
      (!same_config(current, &o) || !mproc__pp_usable(current->impl) ||
       (n != current->max_workers &&
        mproc__pp_resize(current->impl, n) < 0)))
    free_old = retire_current(&old);
  if (current == NULL) {
    rc = mproc__executor_build(&current, MPROC_EXECUTOR_PROCESS, &o,
                               n > REUSE_SLOTS_MIN ? n : REUSE_SLOTS_MIN, 0);
    if (rc == 0) current->reusable = 1;
  }
  if (current != NULL) {
    current->refs++;
    *out = current;
  }
  uv_mutex_unlock(&reuse_lock);
  if (free_old) {
    old->reusable = 0; /* nobody holds it: an ordinary free */
    mproc_executor_free(old);
  }
  return rc;
}

int mproc_executor_reusable_free(void) {
  mproc_executor *old = NULL;
  int free_old;
  uv_once(&reuse_once, reuse_init);
  uv_mutex_lock(&reuse_lock);
  free_old = retire_current(&old);
  uv_mutex_unlock(&reuse_lock);
  if (free_old) {
    old->reusable = 0;
    mproc_executor_free(old);
  }
  return 0;
}
