/* mproc: a library child's start — the one up-call a backend makes for a
 * spawn or forkserver child (mproc__child_main, platform.h), and the
 * function a fork start runs in its child (mproc__child_run_fork).
 *
 * Both end the same way: the objects passed and not taken are released,
 * then the exit duties the modules registered run (program.h: a child
 * joins its own children before it exits, as Python's does), and the
 * target's code goes back to the backend, which exits with it. */
#include <stdio.h>

#include "child-main.h"
#include "child.h"
#include "current.h"
#include "internal.h"
#include "platform.h"
#include "process-internal.h"
#include "program.h"

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
