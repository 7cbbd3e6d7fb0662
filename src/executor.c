/* mproc: the one executor interface — options, submit, shutdown and the
 * completion queue an event loop watches. A kind (executor-thread.c,
 * executor-process.c, executor-mpi.c) supplies an mproc__executor_ops table:
 * how futures reach workers. Everything a caller sees of a future is
 * common code (future.c, future-wait.c).
 *
 * The completion queue: once mproc_executor_completion_handle() has been
 * called, every future that becomes done is appended (with a reference)
 * under the completion lock, then the wake-up object is signalled (one
 * atomic exchange when it is already set: a burst of completions costs one
 * system call). next_completed pops; when it finds the queue empty it
 * clears the wake-up and looks once more, so a completion that raced the
 * clear is either taken now or has signalled after the clear (wakeup.h's
 * protocol): none is lost, and the handle is not left ready for nothing. */
#include <stdlib.h>
#include <string.h>

#include "forklock.h"
#include "futures-internal.h"
#include "platform.h"
#include "program.h"

static _Thread_local mproc_executor *current_ex;

/* Executors of a kind that helps waiters (ops.help): while any lives, a
 * waiter takes `life` for reading around its help, and freeing such an
 * executor takes it for writing, so a waiter never reads a freed
 * executor through its future (a future outlives its executor). With
 * none alive a waiter skips the lock. */
static atomic_int helping;
static uv_rwlock_t life;
static uv_once_t life_once = UV_ONCE_INIT;

static void life_init(void) {
  if (uv_rwlock_init(&life) != 0) abort(); /* no memory at start */
}

void mproc__executor_help(mproc_future *f, double timeout) {
  if (atomic_load_explicit(&helping, memory_order_acquire) == 0) return;
  uv_rwlock_rdlock(&life);
  if (!mproc__state_done((int)atomic_load(&f->state)) &&
      f->ex->ops->help != NULL)
    f->ex->ops->help(f->ex, f, timeout);
  uv_rwlock_rdunlock(&life);
}

mproc_executor *mproc__executor_current(void) { return current_ex; }
void mproc__executor_set_current(mproc_executor *ex) { current_ex = ex; }

static const mproc__executor_ops *ops_of(mproc_executor_kind kind) {
  switch (kind) {
  case MPROC_EXECUTOR_THREAD:
    return &mproc__executor_thread_ops;
  case MPROC_EXECUTOR_PROCESS:
    return &mproc__executor_process_ops;
  case MPROC_EXECUTOR_MPI:
    return &mproc__executor_mpi_ops; /* executor-mpi*.c, or -none.c */
  default:
    return NULL;
  }
}

static int check_pin(const mproc_executor_opts *o) {
  size_t i;
  int online = mproc__os_cpu_online();
  if (o->pin == MPROC_PIN_NONE) return 0;
  if (o->pin != MPROC_PIN_SPREAD && o->pin != MPROC_PIN_SETS)
    return mproc__err(MPROC_EINVAL, "executor_new: pin is %d; use "
                      "MPROC_PIN_NONE, _SPREAD or _SETS", o->pin);
  if (!mproc__os_affinity_supported())
    return mproc__err(MPROC_ENOTSUP, "executor_new: this OS cannot pin "
                      "workers to CPUs (opts.pin)");
  if (o->pin == MPROC_PIN_SPREAD) return 0;
  if (o->pin_cpus == NULL || o->pin_set == 0 || o->pin_n < o->pin_set ||
      o->pin_n % o->pin_set != 0)
    return mproc__err(MPROC_EINVAL, "executor_new: MPROC_PIN_SETS wants "
                      "pin_cpus with pin_n entries, a multiple of pin_set "
                      "(>= 1); got %zu entries in sets of %zu", o->pin_n,
                      o->pin_set);
  for (i = 0; i < o->pin_n; i++)
    if (o->pin_cpus[i] < 0 || o->pin_cpus[i] >= online)
      return mproc__err(MPROC_EINVAL, "executor_new: pin_cpus[%zu] is %d; "
                        "the machine has CPUs 0 to %d", i, o->pin_cpus[i],
                        online - 1);
  return 0;
}

/* A timeout option: 0 or MPROC_FOREVER none, else > 0 seconds. */
static int check_limit(double t, const char *what) {
  if (t != t || t < 0)
    return mproc__err(MPROC_EINVAL, "executor_new: %s must be > 0 seconds "
                      "(0 or MPROC_FOREVER: no limit)", what);
  return 0;
}

int mproc__executor_check_opts(mproc_executor_kind kind,
                               const mproc_executor_opts *o) {
  int rc;
  if (ops_of(kind) == NULL)
    return mproc__err(MPROC_EINVAL, "executor_new: unknown kind %d",
                      (int)kind);
  if (o->max_workers < 0)
    return mproc__err(MPROC_EINVAL, "executor_new: max_workers is %d; it "
                      "must be > 0 (0: the default)", o->max_workers);
  if (o->max_tasks_per_child < 0)
    return mproc__err(MPROC_EINVAL, "executor_new: max_tasks_per_child is "
                      "%d; it must be >= 1 (0: no limit)",
                      o->max_tasks_per_child);
  if (o->on_worker_death != MPROC_ON_DEATH_FAIL_TASK &&
      o->on_worker_death != MPROC_ON_DEATH_BROKEN)
    return mproc__err(MPROC_EINVAL, "executor_new: on_worker_death is %d; "
                      "use MPROC_ON_DEATH_FAIL_TASK or MPROC_ON_DEATH_BROKEN",
                      o->on_worker_death);
  if (kind == MPROC_EXECUTOR_PROCESS && o->method != MPROC_START_DEFAULT &&
      mproc_start_method_supported(o->method) != 1)
    return mproc__err(MPROC_ENOTSUP, "executor_new: start method %d is not "
                      "available on this platform", (int)o->method);
  if (o->initargs == NULL && o->initargs_len > 0)
    return mproc__err(MPROC_EINVAL, "executor_new: initargs is NULL but "
                      "initargs_len is %zu", o->initargs_len);
  if (o->retries < 0 || o->retries > 255)
    return mproc__err(MPROC_EINVAL, "executor_new: retries is %d; it must "
                      "be 0 to 255", o->retries);
  if ((rc = check_limit(o->task_timeout, "task_timeout")) < 0 ||
      (rc = check_limit(o->idle_timeout, "idle_timeout")) < 0)
    return rc;
  return kind == MPROC_EXECUTOR_PROCESS ? check_pin(o) : 0;
}

/* The executor's copy of the options that need one. */
static int copy_opts(mproc_executor *ex, const mproc_executor_opts *o) {
  if (o->max_workers > 0) ex->max_workers = o->max_workers;
  ex->init = o->initializer;
  ex->user = o->user;
  ex->max_tasks_per_child = o->max_tasks_per_child;
  ex->method = o->method;
  ex->on_worker_death = o->on_worker_death;
  ex->retries = o->retries;
  ex->task_timeout = o->task_timeout >= 1e18 ? 0 : o->task_timeout;
  ex->idle_timeout = o->idle_timeout >= 1e18 ? 0 : o->idle_timeout;
  ex->max_memory = o->max_memory_per_child;
  ex->max_slots = ex->max_workers;
  ex->pin = o->pin;
  if (o->initargs_len > 0) {
    if ((ex->initargs = malloc(o->initargs_len)) == NULL)
      return mproc__err(MPROC_ENOMEM, "executor_new: out of memory");
    memcpy(ex->initargs, o->initargs, o->initargs_len);
    ex->initargs_len = o->initargs_len;
  }
  if (o->pin == MPROC_PIN_SETS) {
    if ((ex->pin_cpus = malloc(o->pin_n * sizeof *ex->pin_cpus)) == NULL)
      return mproc__err(MPROC_ENOMEM, "executor_new: out of memory");
    memcpy(ex->pin_cpus, o->pin_cpus, o->pin_n * sizeof *ex->pin_cpus);
    ex->pin_n = o->pin_n;
    ex->pin_set = o->pin_set;
  }
  return 0;
}

static void executor_release(mproc_executor *ex) {
  mproc_future *f, *next;
  for (f = ex->chead; f != NULL; f = next) {
    next = f->cnext;
    mproc__future_unref(f);
  }
  mproc_wakeup_free(ex->wake);
  mproc__slab_release(ex);
  uv_mutex_destroy(&ex->slab_lock);
  uv_mutex_destroy(&ex->clock);
  free(ex->initargs);
  free(ex->pin_cpus);
  free(ex);
}

/* ---- the program's end ------------------------------------------------------ */

/* Python's ProcessPoolExecutor at interpreter exit (_python_exit): a
 * program that ends with process executors still live has each shut
 * down — the work already submitted runs, then the workers are told to
 * stop and joined — before process.c's exit duty joins the children,
 * which would otherwise wait for workers that wait for work. Where the
 * OS ended the executors' threads before the exit duties ran (a Windows
 * DLL), nothing can tell a worker to stop any more: the workers are
 * killed. A Pool's executor is not listed: its workers are daemonic,
 * and pool.c ends live pools itself. */
static uv_once_t live_once = UV_ONCE_INIT;
static mproc__forklock live_lock;
static mproc_executor *live;

static void exit_executors(void) {
  mproc_executor *ex, *all;
  int gone;
  if (live == NULL) return; /* the common case: nothing left running */
  gone = mproc__os_exit_threads_gone();
  mproc__forklock_lock(&live_lock);
  all = live; /* taken whole: a callback run below may free an executor */
  live = NULL;
  for (ex = all; ex != NULL; ex = ex->live_next) ex->live = 0;
  mproc__forklock_unlock(&live_lock);
  for (ex = all; ex != NULL; ex = ex->live_next) {
    /* Not ops.terminate: it would hand the kill to the kind's threads
     * and join them, and they are gone. */
    if (gone) {
      if (ex->ops->kill_now != NULL) ex->ops->kill_now(ex);
    } else {
      (void)ex->ops->shutdown(ex, MPROC_SHUTDOWN_WAIT | MPROC__SHUTDOWN_EXIT);
    }
  }
}

/* A fork child has none of its parent's executors (their threads are
 * not here); nothing is stored when there are none. */
static void live_reset_after_fork(void) {
  mproc__forklock_after_fork(&live_lock);
  if (live) live = NULL;
}

static void live_init(void) {
  mproc__forklock_init(&live_lock);
  mproc__on_fork_child(live_reset_after_fork);
  mproc__on_exit_first(exit_executors); /* before the children are joined */
}

static void live_add(mproc_executor *ex) {
  uv_once(&live_once, live_init);
  mproc__forklock_lock(&live_lock);
  ex->live_prev = NULL;
  ex->live_next = live;
  if (live) live->live_prev = ex;
  live = ex;
  ex->live = 1;
  mproc__forklock_unlock(&live_lock);
}

static void live_remove(mproc_executor *ex) {
  mproc__forklock_lock(&live_lock);
  if (ex->live) {
    if (ex->live_prev) ex->live_prev->live_next = ex->live_next;
    else live = ex->live_next;
    if (ex->live_next) ex->live_next->live_prev = ex->live_prev;
    ex->live = 0;
  }
  mproc__forklock_unlock(&live_lock);
}

/* Make an executor from loaded options; slots: the most workers it may
 * be resized to (the reusable executor). */
int mproc__executor_build(mproc_executor **out, mproc_executor_kind kind,
                          const mproc_executor_opts *o, int slots,
                          int daemon_workers) {
  mproc_executor *ex;
  int rc, cpus;
  mproc__future_locks_init();
  ex = calloc(1, sizeof *ex);
  if (ex == NULL || uv_mutex_init(&ex->clock) != 0) {
    free(ex);
    return mproc__err(MPROC_ENOMEM, "executor_new: out of memory");
  }
  if (uv_mutex_init(&ex->slab_lock) != 0) {
    uv_mutex_destroy(&ex->clock);
    free(ex);
    return mproc__err(MPROC_ENOMEM, "executor_new: out of memory");
  }
  ex->slab = NULL;
  ex->ops = ops_of(kind);
  cpus = mproc_cpu_count();
  /* Python's defaults: min(32, cpus + 4) threads; cpus processes; the
   * MPI kind resolves 0 itself (every rank mpiexec gave, or cpus). */
  ex->max_workers = kind == MPROC_EXECUTOR_PROCESS ? cpus
                    : kind == MPROC_EXECUTOR_MPI ? 0
                    : cpus + 4 < 32 ? cpus + 4 : 32;
  /* Spinning pays only where the thread it waits for can run meanwhile:
   * this process may use more than one CPU (affinity counts: a process
   * pinned to one CPU would spin against its own workers). */
  ex->spin = cpus > 1;
  if ((rc = copy_opts(ex, o)) < 0) {
    executor_release(ex);
    return rc;
  }
  if (slots > ex->max_slots) ex->max_slots = slots;
  ex->daemon_workers = daemon_workers;
  atomic_init(&ex->seq, 0);
  atomic_init(&ex->notify, 0);
  if ((rc = ex->ops->init(ex)) < 0) {
    executor_release(ex);
    return rc;
  }
  if (ex->ops->help != NULL) {
    uv_once(&life_once, life_init);
    atomic_fetch_add(&helping, 1);
  }
  if (ex->ops == &mproc__executor_process_ops && !daemon_workers)
    live_add(ex);
  *out = ex;
  return 0;
}

int mproc__executor_make(mproc_executor **out, mproc_executor_kind kind,
                         const mproc_executor_opts *opts, int daemon_workers) {
  mproc_executor_opts o;
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "executor_new: out is NULL");
  *out = NULL;
  if ((rc = mproc__opts_load(&o, sizeof o, opts, "executor_new",
                             "MPROC_EXECUTOR_OPTS_INIT")) < 0 ||
      (rc = mproc__executor_check_opts(kind, &o)) < 0)
    return rc;
  return mproc__executor_build(out, kind, &o, 0, daemon_workers);
}

int mproc_executor_new(mproc_executor **out, mproc_executor_kind kind,
                       const mproc_executor_opts *opts) {
  return mproc__executor_make(out, kind, opts, 0);
}

int mproc_executor_submit(mproc_executor *ex, mproc_task_fn fn, const void *in,
                          size_t len, mproc_future **out) {
  mproc_future *f;
  int rc;
  if (out) *out = NULL;
  if (ex == NULL || fn == NULL || out == NULL || (in == NULL && len > 0))
    return mproc__err(MPROC_EINVAL, "submit: %s is NULL",
                      ex == NULL ? "the executor" : fn == NULL ? "fn"
                      : out == NULL ? "out" : "in (with len > 0)");
  f = mproc__future_new(ex, fn, in, len, MPROC__NO_ITEM);
  if (f == NULL) return MPROC_ENOMEM;
  if ((rc = ex->ops->enqueue(ex, &f, 1)) < 0) {
    mproc__future_unref(f);
    mproc__future_unref(f);
    return rc;
  }
  *out = f;
  return 0;
}

int mproc_executor_shutdown(mproc_executor *ex, int flags) {
  if (ex == NULL) return mproc__err(MPROC_EINVAL, "shutdown: executor is NULL");
  if (flags & ~(MPROC_SHUTDOWN_WAIT | MPROC_SHUTDOWN_CANCEL_FUTURES))
    return mproc__err(MPROC_EINVAL, "shutdown: unknown flags 0x%x", flags);
  if ((flags & MPROC_SHUTDOWN_WAIT) && current_ex == ex)
    return mproc__err(MPROC_ESTATE, "shutdown: a task cannot wait for its "
                      "own executor's workers (it would wait for itself)");
  return ex->ops->shutdown(ex, flags);
}

void mproc_executor_free(mproc_executor *ex) {
  if (ex == NULL) return;
  if (ex->reusable && !mproc__reusable_drop(ex)) return; /* still held */
  if (ex->ops == &mproc__executor_process_ops && !ex->daemon_workers)
    live_remove(ex);
  (void)ex->ops->shutdown(ex, MPROC_SHUTDOWN_WAIT);
  if (ex->ops->help != NULL) {
    uv_rwlock_wrlock(&life); /* no waiter is inside ex's help now */
    ex->ops->destroy(ex);
    executor_release(ex);
    atomic_fetch_sub(&helping, 1);
    uv_rwlock_wrunlock(&life);
    return;
  }
  ex->ops->destroy(ex);
  executor_release(ex);
}

int mproc_executor_terminate_workers(mproc_executor *ex, mproc_stop_how how) {
  if (ex == NULL)
    return mproc__err(MPROC_EINVAL, "terminate_workers: executor is NULL");
  if (how != MPROC_STOP_TERMINATE && how != MPROC_STOP_KILL)
    return mproc__err(MPROC_EINVAL, "terminate_workers: %d is neither "
                      "MPROC_STOP_TERMINATE nor MPROC_STOP_KILL", (int)how);
  if (ex->ops->terminate == NULL)
    return mproc__err(MPROC_ENOTSUP, "terminate_workers: the %s kind's "
                      "workers cannot be stopped (threads)", ex->ops->name);
  if (current_ex == ex)
    return mproc__err(MPROC_ESTATE, "terminate_workers: not from a task of "
                      "the executor itself");
  return ex->ops->terminate(ex, how == MPROC_STOP_KILL);
}

int mproc_executor_max_workers(const mproc_executor *ex) {
  if (ex == NULL) return mproc__err(MPROC_EINVAL, "max_workers: NULL");
  return ex->max_workers;
}

/* ---- what kinds share ------------------------------------------------------ */

int mproc__kind_accept(mproc_future **head, mproc_future **tail,
                       mproc_future *const *fs, size_t n, int shutdown,
                       int broken, const char *broken_msg) {
  size_t i;
  if (shutdown)
    return mproc__err(MPROC_ESTATE, "cannot schedule new futures after "
                      "shutdown");
  if (broken) return mproc__err(MPROC_EBROKEN, "%s", broken_msg);
  for (i = 0; i < n; i++) {
    fs[i]->next = NULL;
    if (*tail) (*tail)->next = fs[i]; else *head = fs[i];
    *tail = fs[i];
  }
  return 0;
}

int mproc__tasks_registered(mproc_future *const *fs, size_t n,
                            const char *who) {
  const char *name;
  size_t i;
  for (i = 0; i < n; i++)
    if (mproc__task_lookup((mproc_fnptr)fs[i]->fn, &name) < 0)
      return mproc__err(MPROC_ENOTREG, "%s: the task function is not "
                        "registered; mark it MPROC_TASK(fn) so that workers "
                        "can find it by name", who);
  return 0;
}

/* ---- the completion queue ------------------------------------------------- */

void mproc__executor_completed(mproc_executor *ex, mproc_future *f) {
  if (!atomic_load_explicit(&ex->notify, memory_order_acquire)) return;
  mproc__future_ref(f);
  uv_mutex_lock(&ex->clock);
  f->cnext = NULL;
  if (ex->ctail) ex->ctail->cnext = f; else ex->chead = f;
  ex->ctail = f;
  uv_mutex_unlock(&ex->clock);
  (void)mproc_wakeup_signal(ex->wake);
}

mproc_handle mproc_executor_completion_handle(mproc_executor *ex) {
  mproc_handle h = MPROC_NO_HANDLE;
  if (ex == NULL) {
    mproc__err(MPROC_EINVAL, "completion_handle: executor is NULL");
    return h;
  }
  uv_mutex_lock(&ex->clock);
  if (ex->wake == NULL && mproc_wakeup_new(&ex->wake) == 0)
    atomic_store_explicit(&ex->notify, 1, memory_order_release);
  if (ex->wake != NULL) h = mproc_wakeup_handle(ex->wake);
  uv_mutex_unlock(&ex->clock);
  return h;
}

static mproc_future *pop_completed(mproc_executor *ex) {
  mproc_future *f;
  uv_mutex_lock(&ex->clock);
  f = ex->chead;
  if (f) {
    ex->chead = f->cnext;
    if (ex->chead == NULL) ex->ctail = NULL;
    f->cnext = NULL;
  }
  uv_mutex_unlock(&ex->clock);
  return f;
}

int mproc_executor_next_completed(mproc_executor *ex, mproc_future **out) {
  mproc_future *f;
  if (out) *out = NULL;
  if (ex == NULL || out == NULL)
    return mproc__err(MPROC_EINVAL, "next_completed: %s is NULL",
                      ex ? "out" : "executor");
  if (!atomic_load_explicit(&ex->notify, memory_order_acquire))
    return mproc__err(MPROC_ESTATE, "next_completed: completion queueing "
                      "is off; call mproc_executor_completion_handle first");
  if ((f = pop_completed(ex)) == NULL) {
    (void)mproc_wakeup_clear(ex->wake);
    if ((f = pop_completed(ex)) == NULL) return MPROC_EEMPTY;
  }
  *out = f;
  return 0;
}
