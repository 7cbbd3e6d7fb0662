/* mproc: the Process object and the list of this process's children.
 *
 * Locking: `children_lock` guards the children list and every field a
 * second thread can read through mproc_active_children() (state, exitcode,
 * in_wait). A blocking wait runs without the lock, with in_wait set, so
 * active_children never polls a child another thread is waiting on (two
 * waiters would race for the exit status). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "child.h"
#include "current.h"
#include "forklock.h"
#include "init.h"
#include "internal.h"
#include "platform.h"
#include "process-internal.h"
#include "program.h"
#include "registry.h"
#include "tracker.h"

static uv_once_t lock_once = UV_ONCE_INIT;
/* The children lock (forklock.h: a fork child keeps it cheaply). */
static mproc__forklock children_lock;
static mproc_process *children; /* started by this process, newest first */
static unsigned long child_counter;

static void children_reset_after_fork(void);
static void exit_children(void);

/* With the list's first use, its duties go on the program's hook lists
 * (program.h): a fork child starts with no children, and the exit duties
 * terminate daemonic children and join the rest. */
static void lock_init(void) {
  mproc__forklock_init(&children_lock);
  mproc__on_fork_child(children_reset_after_fork);
  mproc__on_exit(exit_children);
}

static void lock(void) {
  uv_once(&lock_once, lock_init);
  mproc__forklock_lock(&children_lock);
}

static void unlock(void) { mproc__forklock_unlock(&children_lock); }

static void children_reset_after_fork(void) {
  /* The child has none of its parent's children. The list nodes stay
   * allocated (they are the parent's objects, copied). Nothing is stored
   * when there is nothing to clear: a fork child that never starts
   * processes then takes no fault here. */
  mproc__forklock_after_fork(&children_lock);
  if (children) children = NULL;
  if (child_counter) child_counter = 0;
}

static void list_add(mproc_process *p) {
  p->next = children;
  p->prev = NULL;
  if (children) children->prev = p;
  children = p;
}

static void list_remove(mproc_process *p) {
  if (p->prev)
    p->prev->next = p->next;
  else if (children == p)
    children = p->next;
  if (p->next) p->next->prev = p->prev;
  p->next = p->prev = NULL;
}

static void release(mproc_process *p) {
  free(p->arg);
  free(p->pass);
  free(p->cpus);
  free(p);
}

/* Record the end of a child (lock held). */
static void set_ended(mproc_process *p, int rc, int code) {
  p->state = MPROC__ENDED;
  p->exitcode = code;
  p->boot_failed = rc == MPROC_EBOOTSTRAP;
  if (p->boot_failed) {
    snprintf(p->boot_error, sizeof p->boot_error, "%s", mproc_last_error());
  }
}

/* Poll one child without blocking (lock held, not in_wait). Frees a
 * detached child that ended. Returns 1 if it still runs. */
static int poll_locked(mproc_process *p) {
  int code = 0, rc;
  if (p->state != MPROC__STARTED) return 0;
  if (p->in_wait) return 1;
  rc = mproc__os_proc_wait(p->os, 0, &code);
  if (rc == MPROC_ETIMEDOUT) return 1;
  set_ended(p, rc, code);
  if (p->detached) {
    list_remove(p);
    mproc__os_proc_free(p->os);
    release(p);
  }
  return 0;
}

static void reap_detached_locked(void) {
  mproc_process *p = children, *next;
  for (; p; p = next) {
    next = p->next;
    if (p->detached) poll_locked(p);
  }
}

/* A child's CPU list: listed, in range, where the OS can pin. */
static int check_cpus(const int *cpus, size_t n) {
  int online = mproc__os_cpu_online();
  size_t i;
  if (n == 0) return 0;
  if (cpus == NULL)
    return mproc__err(MPROC_EINVAL, "process_new: cpus is NULL but n_cpus "
                      "is %zu", n);
  if (!mproc__os_affinity_supported())
    return mproc__err(MPROC_ENOTSUP, "process_new: this OS cannot pin a "
                      "process to CPUs (opts.cpus)");
  for (i = 0; i < n; i++)
    if (cpus[i] < 0 || cpus[i] >= online)
      return mproc__err(MPROC_EINVAL, "process_new: cpus[%zu] is %d; the "
                        "machine has CPUs 0 to %d", i, cpus[i], online - 1);
  return 0;
}

int mproc_process_new(mproc_process **out, mproc_target target,
                      const void *arg, size_t len,
                      const mproc_process_opts *user_opts) {
  mproc_process *p = NULL;
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  const mproc_process_opts *opts = &o;
  mproc_start_method m;
  size_t name_len = 0;
  const char *name;
  int rc;

  if (out == NULL) return mproc__err(MPROC_EINVAL, "out is NULL");
  *out = NULL;
  rc = mproc__opts_load(&o, sizeof o, user_opts, "process_new",
                        "MPROC_PROCESS_OPTS_INIT");
  if (rc < 0) return rc;
  name = o.name;
  if (target == NULL)
    return mproc__err(MPROC_EINVAL, "process target is NULL");
  if (arg == NULL && len > 0)
    return mproc__err(MPROC_EINVAL, "arg is NULL but len is %zu", len);
  rc = mproc__pass_check(opts->pass, opts->n_pass);
  if (rc < 0) return rc;
  if (name) {
    name_len = strlen(name);
    if (name_len > MPROC_NAME_MAX)
      return mproc__err(MPROC_ENAMETOOLONG,
                        "process name is %zu bytes; the limit is %d",
                        name_len, MPROC_NAME_MAX);
  }
  if ((rc = check_cpus(opts->cpus, opts->n_cpus)) < 0) return rc;
  m = opts->method;
  if (m == MPROC_START_DEFAULT && opts->ctx)
    m = mproc_context_method(opts->ctx);
  if (m == MPROC_START_DEFAULT) m = mproc_get_start_method();
  if (mproc_start_method_name(m) == NULL)
    return mproc__err(MPROC_EINVAL, "start method %d is not a method",
                      (int)m);
  if (!mproc__os_method_supported(m))
    return mproc__err(MPROC_ENOTSUP,
                      "the %s start method is not available on this "
                      "platform",
                      mproc_start_method_name(m));

  p = calloc(1, sizeof *p);
  if (p == NULL) goto nomem;
  if (len > 0) {
    p->arg = malloc(len);
    if (p->arg == NULL) goto nomem;
    memcpy(p->arg, arg, len);
  }
  if (opts->n_pass > 0) {
    p->pass = malloc(opts->n_pass * sizeof *p->pass);
    if (p->pass == NULL) goto nomem;
    memcpy(p->pass, opts->pass, opts->n_pass * sizeof *p->pass);
    p->n_pass = opts->n_pass;
  }
  if (opts->n_cpus > 0) {
    p->cpus = malloc(opts->n_cpus * sizeof *p->cpus);
    if (p->cpus == NULL) goto nomem;
    memcpy(p->cpus, opts->cpus, opts->n_cpus * sizeof *p->cpus);
    p->n_cpus = opts->n_cpus;
  }
  p->arg_len = len;
  p->target = target;
  p->method = m;
  p->daemon = opts->daemon != 0;
  p->state = MPROC__NEW;

  lock();
  child_counter++;
  mproc__identity_child(p->identity, sizeof p->identity, child_counter);
  unlock();
  if (name)
    memcpy(p->name, name, name_len + 1);
  else
    snprintf(p->name, sizeof p->name, "Process-%s", p->identity);
  *out = p;
  return 0;

nomem:
  if (p) free(p->arg);
  if (p) free(p->pass);
  if (p) free(p->cpus);
  free(p);
  return mproc__err(MPROC_ENOMEM, "out of memory for a %zu-byte argument",
                    len);
}

/* The parent's object (mproc_parent_process) is not ours to drive. */
static int not_for_parent(const mproc_process *p, const char *what) {
  return mproc__err(MPROC_EPERM,
                    "%s: \"%s\" is this process's parent "
                    "(mproc_parent_process); it can be asked for its name, "
                    "pid, liveness and sentinel, and joined, nothing else",
                    what, p->name);
}

/* The parent ends when its sentinel is ready. */
static int parent_wait(const mproc_process *p, double timeout) {
  mproc_handle h = mproc__os_parent_sentinel();
  unsigned char ready = 0;
  int rc;
  if (h == MPROC_NO_HANDLE)
    return mproc__err(MPROC_ENOTSUP, "no handle to the parent \"%s\" "
                                     "(pid %ld) to wait on",
                      p->name, p->pid);
  rc = mproc__wait_handles_intr(&h, 1, timeout, &ready);
  if (rc == MPROC_ETIMEDOUT)
    return mproc__err(MPROC_ETIMEDOUT, "the parent \"%s\" is still "
                                       "running",
                      p->name);
  return rc < 0 ? rc : 0;
}

static int check_started(mproc_process *p, const char *what) {
  if (p == NULL) return mproc__err(MPROC_EINVAL, "process is NULL");
  if (p->is_parent) return not_for_parent(p, what);
  if (p->state == MPROC__CLOSED)
    return mproc__err(MPROC_ECLOSED, "%s: process \"%s\" is closed", what,
                      p->name);
  if (p->state == MPROC__NEW)
    return mproc__err(MPROC_ESTATE,
                      "%s: process \"%s\" has not been started", what,
                      p->name);
  if (p->creator_pid != mproc__os_getpid())
    return mproc__err(MPROC_EPERM,
                      "%s: process \"%s\" was started by process %ld, not "
                      "by this one",
                      what, p->name, p->creator_pid);
  return 0;
}

static int start_checks(const mproc_process *p) {
  if (p == NULL) return mproc__err(MPROC_EINVAL, "process is NULL");
  if (p->is_parent) return not_for_parent(p, "start");
  if (p->state == MPROC__CLOSED)
    return mproc__err(MPROC_ECLOSED, "process \"%s\" is closed", p->name);
  if (p->state != MPROC__NEW)
    return mproc__err(MPROC_ESTATE,
                      "process \"%s\" was already started; a process "
                      "object can be started only once",
                      p->name);
  if (mproc__current_is_daemon())
    return mproc__err(MPROC_EPERM,
                      "daemonic processes are not allowed to have children "
                      "(as in Python)");
  if (p->method != MPROC_START_FORK && !mproc__initialized())
    return mproc__err(MPROC_ENOTINIT,
                      "the %s start method needs mproc_init(argc, argv) "
                      "at the top of main()",
                      mproc_start_method_name(p->method));
  return 0;
}

/* Start through the backend with the boot message and pass list made. */
static int start_child(mproc_process *p, mproc__start *st) {
  int rc, by_fork = p->method == MPROC_START_FORK;
  p->creator_pid = mproc__os_getpid();
  /* Fork and forkserver children share this process's registry (a
   * program that never called mproc_init makes it now), and a
   * forkserver's children its tracker: both exist before the fork. */
  if (p->method != MPROC_START_SPAWN) (void)mproc__reg_ready();
  if (p->method == MPROC_START_FORKSERVER) {
    rc = mproc__tracker_ensure();
    if (rc < 0) return rc;
  }
  /* fork: the modules' locks that keep their lists whole in the child's
   * copy (the open connections, pipe.c) are held across it. */
  if (by_fork) mproc__program_fork_before();
  rc = mproc__os_proc_start(&p->os, st);
  if (by_fork) mproc__program_fork_after();
  if (rc < 0) return rc;
  /* The child's hold on what it was passed, before we return: the caller
   * may drop its own handles next. (Asking a forkserver child's pid waits
   * for the server's answer; without a pass list it is asked on need.) */
  if (p->n_pass > 0)
    mproc__pass_hold(p->pass, p->n_pass, mproc__os_proc_pid(p->os));
  /* Pinning the child needs its pid (a forkserver start waits for it). */
  if (p->n_cpus > 0 &&
      (rc = mproc__os_proc_affinity(p->os, p->cpus, p->n_cpus)) < 0) {
    int code;
    (void)mproc__os_proc_signal(p->os, MPROC__SIG_KILL);
    (void)mproc__os_proc_wait(p->os, MPROC__INF, &code);
    mproc__os_proc_free(p->os);
    p->os = NULL;
    return rc;
  }
  return 0;
}

/* Copy src into dst (cap bytes), cut to fit (every string here is
 * bounded by its field already): on every start, where snprintf's format
 * parsing would cost more than the copy. */
static void copy_in(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* The bootstrap message of a spawn or forkserver start (child.h): who
 * the child is, its target by name, the pass list's section, the
 * argument. */
static int encode_boot(const mproc_process *p, void **out, size_t *len) {
  unsigned char small[512], *pass = small;
  const char *task = NULL;
  mproc__boot b;
  int rc = mproc__task_lookup((mproc_fnptr)p->target, &task);

  if (rc == MPROC_EEXIST) return rc;
  if (task == NULL)
    return mproc__err(MPROC_ENOTREG,
                      "the target of process \"%s\" is not registered: the "
                      "%s start method finds it by name, so add "
                      "MPROC_TASK(your_function) at file scope next to the "
                      "function (or call mproc_task_register)",
                      p->name, mproc_start_method_name(p->method));
  if (strlen(task) > MPROC__TASK_NAME_MAX)
    return mproc__err(MPROC_ENAMETOOLONG, "task name \"%.40s...\" is %zu "
                                          "bytes; the limit is %d",
                      task, strlen(task), MPROC__TASK_NAME_MAX);
  b.parent_pid = mproc__os_getpid();
  b.daemon = p->daemon;
  b.method = p->method;
  copy_in(b.name, sizeof b.name, p->name);
  copy_in(b.identity, sizeof b.identity, p->identity);
  copy_in(b.task, sizeof b.task, task);
  copy_in(b.parent_name, sizeof b.parent_name, mproc__current_name_now());
  b.pass_len = mproc__pass_encoded_size(p->passing, p->n_pass);
  if (b.pass_len > sizeof small && (pass = malloc(b.pass_len)) == NULL)
    return mproc__err(MPROC_ENOMEM, "out of memory");
  b.pass_len = mproc__pass_encode(p->passing, p->n_pass, pass);
  b.pass = pass;
  b.arg = p->arg;
  b.arg_len = p->arg_len;
  rc = mproc__boot_encode(&b, out, len);
  if (pass != small) free(pass);
  return rc;
}

int mproc_process_start(mproc_process *p) {
  mproc__start st;
  void *boot = NULL;
  size_t boot_len = 0;
  int rc = start_checks(p);

  if (rc < 0) return rc;
  rc = mproc__pass_prepare(p->pass, p->n_pass, &p->passing);
  if (rc < 0) return rc;
  memset(&st, 0, sizeof st);
  st.method = p->method;
  st.handles = mproc__pass_handles(p->passing, &st.n_handles);
  if (p->method == MPROC_START_FORK) {
    st.fork_main = mproc__child_run_fork;
    st.fork_ctx = p;
  } else {
    rc = encode_boot(p, &boot, &boot_len);
    st.boot = boot;
    st.boot_len = boot_len;
  }
  if (rc == 0) {
    lock();
    reap_detached_locked();
    unlock();
    rc = start_child(p, &st);
  }
  free(boot);
  mproc__pass_free(p->passing);
  p->passing = NULL;
  if (rc < 0) return rc;
  /* The pid is asked of the backend when wanted (mproc_process_pid): a
   * forkserver start does not wait for it. */
  lock();
  p->state = MPROC__STARTED;
  list_add(p);
  unlock();
  return 0;
}

/* Wait for the child's end: its sentinel first, with the interrupt
 * (mproc__wait_handles_intr), then the backend's wait, which collects the
 * exit status (and under forkserver may wait a little longer, for the
 * child to be gone). Returns as mproc__os_proc_wait, or MPROC_EINTR. */
static int join_wait(mproc_process *p, double t, int *code) {
  mproc_handle h = mproc__os_proc_sentinel(p->os);
  double deadline = mproc__deadline(t);
  unsigned char ready = 0;
  int rc;
  if (t != 0 && h != MPROC_NO_HANDLE && h >= 0) {
    rc = mproc__wait_handles_intr(&h, 1, t, &ready);
    if (rc == MPROC_ETIMEDOUT)
      return mproc__err(rc, "process \"%s\" is still running", p->name);
    if (rc < 0) return rc;
  }
  return mproc__os_proc_wait(p->os, t < 0 ? t : mproc__remaining(deadline),
                             code);
}

int mproc_process_join(mproc_process *p, double timeout) {
  double t;
  int rc, code = 0;

  if (p && p->is_parent) {
    rc = mproc__timeout(timeout, &t);
    return rc < 0 ? rc : parent_wait(p, t);
  }
  rc = check_started(p, "join");
  if (rc < 0) return rc;
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  lock();
  if (p->state == MPROC__ENDED || p->in_wait) {
    /* Ended, or another thread waits: report what is known. */
    int ended = p->state == MPROC__ENDED;
    unlock();
    if (!ended) return mproc__err(MPROC_ESTATE, "another thread is "
                                                "joining process \"%s\"",
                                  p->name);
    goto report;
  }
  p->in_wait = 1;
  unlock();
  rc = join_wait(p, t, &code);
  lock();
  p->in_wait = 0;
  if (rc == MPROC_ETIMEDOUT) {
    unlock();
    return rc;
  }
  if (rc < 0 && rc != MPROC_EBOOTSTRAP) {
    unlock();
    return rc;
  }
  set_ended(p, rc, code);
  unlock();
report:
  if (p->boot_failed)
    return mproc__err(MPROC_EBOOTSTRAP, "%s", p->boot_error);
  return 0;
}

int mproc_process_is_alive(mproc_process *p) {
  int alive;
  if (p == NULL) return mproc__err(MPROC_EINVAL, "process is NULL");
  if (p->is_parent) {
    int rc = parent_wait(p, 0);
    return rc == MPROC_ETIMEDOUT ? 1 : rc == 0 ? 0 : rc;
  }
  if (p->state == MPROC__CLOSED)
    return mproc__err(MPROC_ECLOSED, "is_alive: process \"%s\" is closed",
                      p->name);
  if (p->state != MPROC__STARTED) return 0;
  if (p->creator_pid != mproc__os_getpid()) return 0;
  lock();
  alive = poll_locked(p);
  unlock();
  return alive;
}

static int send_stop(mproc_process *p, int sig) {
  static const char *const what[] = {"terminate", "kill", "interrupt"};
  int rc = check_started(p, what[sig]);
  if (rc < 0) return rc;
  if (p->state == MPROC__ENDED) return 0;
  return mproc__os_proc_signal(p->os, sig);
}

int mproc_process_terminate(mproc_process *p) {
  return send_stop(p, MPROC__SIG_TERM);
}
int mproc_process_kill(mproc_process *p) {
  return send_stop(p, MPROC__SIG_KILL);
}
int mproc_process_interrupt(mproc_process *p) {
  return send_stop(p, MPROC__SIG_INT);
}

int mproc_process_exitcode(mproc_process *p, int *exitcode) {
  int ended;
  if (p == NULL || exitcode == NULL)
    return mproc__err(MPROC_EINVAL, "process or exitcode pointer is NULL");
  if (p->is_parent)
    return mproc__err(MPROC_ENOTSUP, "the exit code of the parent \"%s\" "
                                     "is not known to its child",
                      p->name);
  if (p->state == MPROC__NEW)
    return mproc__err(MPROC_ESTATE, "process \"%s\" has not been started",
                      p->name);
  if (p->state == MPROC__STARTED) {
    if (p->creator_pid != mproc__os_getpid())
      return mproc__err(MPROC_EPERM, "process \"%s\" was started by "
                                     "another process",
                        p->name);
    lock();
    poll_locked(p);
    unlock();
  }
  lock();
  ended = p->state == MPROC__ENDED || p->state == MPROC__CLOSED;
  if (ended) *exitcode = p->exitcode;
  unlock();
  if (!ended)
    return mproc__err(MPROC_EAGAIN, "process \"%s\" is still running",
                      p->name);
  return 0;
}

long mproc_process_pid(const mproc_process *p) {
  if (p == NULL) return 0;
  return p->os ? mproc__os_proc_pid(p->os) : p->pid; /* p->pid: once closed */
}

const char *mproc_process_name(const mproc_process *p) {
  return p ? p->name : NULL;
}

int mproc_process_daemon(const mproc_process *p) { return p ? p->daemon : 0; }

int mproc_process_set_daemon(mproc_process *p, int daemon) {
  if (p == NULL) return mproc__err(MPROC_EINVAL, "process is NULL");
  if (p->is_parent) return not_for_parent(p, "set_daemon");
  if (p->state != MPROC__NEW)
    return mproc__err(MPROC_ESTATE, "the daemon flag of process \"%s\" can "
                                    "only be set before start",
                      p->name);
  p->daemon = daemon != 0;
  return 0;
}

mproc_start_method mproc_process_method(const mproc_process *p) {
  return p ? p->method : MPROC_START_DEFAULT;
}

mproc_handle mproc_process_sentinel(const mproc_process *p) {
  if (p && p->is_parent) return mproc__os_parent_sentinel();
  if (p == NULL || p->os == NULL || p->state == MPROC__CLOSED)
    return MPROC_NO_HANDLE;
  return mproc__os_proc_sentinel(p->os);
}

int mproc_process_close(mproc_process *p) {
  if (p == NULL) return mproc__err(MPROC_EINVAL, "process is NULL");
  if (p->is_parent) return not_for_parent(p, "close");
  if (p->state == MPROC__CLOSED) return 0;
  if (p->state == MPROC__STARTED && mproc_process_is_alive(p))
    return mproc__err(MPROC_ESTATE,
                      "cannot close process \"%s\": it is still running",
                      p->name);
  lock();
  if (p->os) {
    list_remove(p);
    p->pid = mproc__os_proc_pid(p->os);
    mproc__os_proc_free(p->os);
    p->os = NULL;
  }
  p->state = MPROC__CLOSED;
  unlock();
  return 0;
}

void mproc_process_free(mproc_process *p) {
  if (p == NULL || p->is_parent) return; /* the parent's is borrowed */
  if (p->os && p->creator_pid != mproc__os_getpid()) {
    /* A copy inherited through fork: the child is not ours to reap. */
    release(p);
    return;
  }
  lock();
  if (p->state == MPROC__STARTED && poll_locked(p)) {
    p->detached = 1; /* reaped and freed once it ends */
    unlock();
    return;
  }
  if (p->os) {
    list_remove(p);
    mproc__os_proc_free(p->os);
  }
  unlock();
  release(p);
}

int mproc_active_children(mproc_process **out, size_t cap) {
  mproc_process *p, *next;
  int n = 0;
  if (out == NULL && cap > 0)
    return mproc__err(MPROC_EINVAL, "out is NULL but cap is %zu", cap);
  lock();
  for (p = children; p; p = next) {
    next = p->next; /* poll_locked may free a detached child */
    if (p->detached) {
      poll_locked(p);
      continue;
    }
    if (poll_locked(p)) {
      if ((size_t)n < cap) out[n] = p;
      n++;
    }
  }
  unlock();
  return n;
}

static void exit_children(void) {
  /* Python's _exit_function: terminate daemonic children, join the rest.
   * Detached children (freed while running) are joined too. */
  mproc_process *p, *next;
  if (children == NULL) return; /* the common case in a child: no work */
  lock();
  for (p = children; p; p = p->next)
    if (p->state == MPROC__STARTED && p->daemon && !p->in_wait)
      mproc__os_proc_signal(p->os, MPROC__SIG_TERM);
  for (p = children; p; p = next) {
    int code = 0, rc;
    next = p->next;
    if (p->state != MPROC__STARTED || p->in_wait) continue;
    rc = mproc__os_proc_wait(p->os, MPROC__INF, &code);
    set_ended(p, rc, code);
    if (p->detached) {
      list_remove(p);
      mproc__os_proc_free(p->os);
      release(p);
    }
  }
  unlock();
}
