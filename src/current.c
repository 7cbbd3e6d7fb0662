/* mproc: who this process is — its name, identity and parent (Python's
 * current_process(), parent_process()) — and becoming a library child
 * (current.h). */
#include <stdio.h>

#include "current.h"
#include "init.h"
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
