/* mproc: this process — who it is (its name, identity and parent:
 * Python's current_process(), parent_process()) and a library child's
 * start: the one up-call a backend makes for a spawn or forkserver child
 * (mproc__child_main, platform.h), and the function a fork start runs in
 * its child (mproc__child_run_fork). One file, so that a child's start
 * path touches one page of library code for both (each page a fork child
 * first touches costs it a fault).
 *
 * Both starts end the same way: the objects passed and not taken are
 * released, then the exit duties the modules registered run (program.h:
 * a child joins its own children before it exits, as Python's does), and
 * the target's code goes back to the backend, which exits with it. */
#include <stdio.h>

#include "child.h"
#include "current.h"
#include "init.h"
#include "internal.h"
#include "platform.h"
#include "process-internal.h"
#include "program.h"

static char current_name[MPROC_NAME_MAX + 1] = "MainProcess";
static char current_identity[MPROC__IDENTITY_MAX];
static long current_parent;
static int current_daemon;
/* The parent as a process object (Python's parent_process()): set when
 * this process becomes a child of the library, dropped in the children of
 * the program's own fork(). Its name is the parent's current_name. */
static mproc_process parent_obj;
static int have_parent;

const char *mproc_current_name(void) { return current_name; }
const char *mproc__current_name_now(void) { return current_name; }
mproc_process *mproc_parent_process(void) {
  return have_parent ? &parent_obj : NULL;
}
long mproc_parent_pid(void) { return current_parent; }
long mproc_current_pid(void) { return mproc__os_getpid(); }
int mproc__current_is_daemon(void) { return current_daemon; }

static void forget_parent(void);

void mproc__identity_child(char *out, size_t size, unsigned long n) {
  /* A process about to have children registers its fork duty now, so
   * that its fork children find it registered (see become). */
  mproc__on_fork_child(forget_parent);
  if (current_identity[0])
    snprintf(out, size, "%s:%lu", current_identity, n);
  else
    snprintf(out, size, "%lu", n);
}

/* A fork child of a library child is no child of that parent: the
 * program's own fork() gives no parent_process (a library fork start
 * becomes the child again right after). No store when nothing changes. */
static void forget_parent(void) {
  if (have_parent) have_parent = 0;
}

/* As child.c's: a loop, not strlen + memcpy (the child's start path). */
static void copy_str(char *dst, const char *src, size_t n) {
  size_t i = 0;
  for (; i < n && src[i] != '\0'; i++) dst[i] = src[i];
  dst[i] = '\0';
}

void mproc__current_become(const char *name, const char *identity,
                           long parent, int daemon, mproc_start_method method,
                           const char *parent_name) {
  /* Registered here, where have_parent is first set; a fork child finds
   * it registered by its parent already (a read, no store). */
  mproc__on_fork_child(forget_parent);
  copy_str(parent_obj.name, parent_name, sizeof parent_obj.name - 1);
  parent_obj.pid = parent;
  parent_obj.method = MPROC_START_DEFAULT;
  parent_obj.state = MPROC__STARTED;
  parent_obj.is_parent = 1;
  have_parent = 1;
  copy_str(current_name, name, sizeof current_name - 1);
  copy_str(current_identity, identity, sizeof current_identity - 1);
  current_parent = parent;
  current_daemon = daemon;
  mproc__set_child_method(method);
}

/* ---- a library child's start ---------------------------------------------- */

static int finish(int code) {
  mproc__pass_release(); /* what the target did not take */
  mproc__program_exit();
  return code;
}

int mproc__child_run_fork(void *fork_ctx) {
  mproc_process *p = fork_ctx;
  /* The objects and ends passed, from the copies fork made (checked at
   * start); every other copied end is closed. */
  int rc = mproc__pass_fork_child(p->pass, p->n_pass);
  if (rc < 0) {
    fprintf(stderr, "mproc: process \"%s\": %s\n", p->name,
            mproc_last_error());
    return MPROC__BOOT_EXIT;
  }
  mproc__current_become(p->name, p->identity, p->creator_pid, p->daemon,
                        p->method, mproc__current_name_now());
  return finish(p->target(p->arg, p->arg_len));
}

/* The pass list: its objects adopted with the handles that came. */
static int adopt_pass(const mproc__boot *b, const mproc_handle *h, size_t n,
                      size_t len) {
  size_t used = 0;
  int rc = mproc__pass_decode(b->pass, b->pass_len, &used, h, n);
  if (rc < 0) return rc;
  if (used != b->pass_len) {
    mproc__pass_release();
    return mproc__err(MPROC_EBOOTSTRAP,
                      "the bootstrap message from the parent is malformed "
                      "(%zu bytes: its pass list is %zu bytes, not %zu)",
                      len, used, b->pass_len);
  }
  return 0;
}

/* The target the message names, or why there is none. */
static int find_target(const mproc__boot *b, mproc_target *out) {
  int rc = mproc__task_clash(b->task);
  if (rc < 0) return mproc__err(MPROC_EBOOTSTRAP, "%s", mproc_last_error());
  *out = (mproc_target)mproc__task_find(b->task);
  if (*out == NULL)
    return mproc__err(MPROC_EBOOTSTRAP,
                      "process \"%s\": task \"%s\" is not registered in the "
                      "child program; mark it with MPROC_TASK(%s)",
                      b->name, b->task, b->task);
  return 0;
}

int mproc__child_main(const void *msg, size_t len, const mproc_handle *h,
                      size_t n, int *exitcode) {
  mproc__boot b;
  mproc_target target = NULL;
  int rc = mproc__boot_decode(msg, len, &b);

  if (rc < 0) return rc;
  if (mproc_start_method_name(b.method) == NULL)
    return mproc__err(MPROC_EBOOTSTRAP,
                      "the bootstrap message from the parent is malformed "
                      "(%zu bytes: start method %d)",
                      len, (int)b.method);
  rc = mproc__os_watch_parent(b.parent_pid);
  if (rc < 0) return rc;
  rc = adopt_pass(&b, h, n, len);
  if (rc < 0) return rc;
  rc = find_target(&b, &target);
  if (rc < 0) {
    mproc__pass_release();
    return rc;
  }
  mproc__current_become(b.name, b.identity, b.parent_pid, b.daemon, b.method,
                        b.parent_name);
  *exitcode = finish(target(b.arg, b.arg_len));
  return 0;
}
