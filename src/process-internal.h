/* mproc: the Process object's layout (process.c; current.c keeps the
 * parent's object and runs a fork child's target from it), and
 * what pass.c and pipe.c offer the start of a child. Not for the
 * backends. */
#ifndef MPROC_PROCESS_INTERNAL_H
#define MPROC_PROCESS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "child.h"
#include "mproc/pipe.h"
#include "mproc/process.h"
#include "platform.h"

enum { MPROC__NEW, MPROC__STARTED, MPROC__ENDED, MPROC__CLOSED };

struct mproc_process {
  mproc_target target;
  void *arg;
  size_t arg_len;
  char name[MPROC_NAME_MAX + 1];
  char identity[MPROC__IDENTITY_MAX];
  int daemon;
  mproc_start_method method;
  int state;
  int in_wait;     /* a thread blocks in the backend wait */
  int detached;    /* freed while running: reaped and freed later */
  int boot_failed; /* the child reported a bootstrap failure */
  int is_parent;   /* mproc_parent_process()'s object: no os, not ours */
  int exitcode;
  long pid;
  long creator_pid;
  mproc__os_proc *os;
  mproc_pass *pass; /* what the child receives (the caller's objects) */
  size_t n_pass;
  int *cpus;        /* the affinity set at start (NULL: none) */
  size_t n_cpus;
  struct mproc__passing *passing; /* during the start only */
  char boot_error[256];
  struct mproc_process *next, *prev;
};

/* pass.c: the pass list (see there). In the parent: check it at
 * mproc_process_new; at the start describe it (the handles go to the
 * backend, the rest into the boot message), and count the child's pid as
 * a holder of every object before the start returns. In the child: decode
 * and adopt (spawn, forkserver) or adopt from the fork's copies; release
 * what the target did not take when it returns. */
typedef struct mproc__passing mproc__passing;
int mproc__pass_check(const mproc_pass *pass, size_t n);
int mproc__pass_prepare(const mproc_pass *pass, size_t n,
                        mproc__passing **out);
const mproc_handle *mproc__pass_handles(const mproc__passing *ps, size_t *n);
void mproc__pass_hold(const mproc_pass *pass, size_t n, long pid);
void mproc__pass_free(mproc__passing *ps);
size_t mproc__pass_encoded_size(const mproc__passing *ps, size_t n);
size_t mproc__pass_encode(const mproc__passing *ps, size_t n,
                          unsigned char *out);
int mproc__pass_decode(const void *msg, size_t len, size_t *used,
                       const mproc_handle *h, size_t nh);
int mproc__pass_fork_child(const mproc_pass *pass, size_t n);
void mproc__pass_release(void);

/* pipe.c: a connection's handle and flags for passing it to a child
 * (MPROC_ECLOSED / MPROC_ESTATE when it cannot be passed); a passed end
 * made a connection again in the child, or closed untaken. */
int mproc__conn_pass_info(const mproc_conn *c, mproc_handle *h,
                          uint32_t *flags);
int mproc__conn_adopt(mproc_handle h, uint32_t flags, mproc_conn **out);
void mproc__conn_discard(mproc_handle h);
/* Held across a fork start, so that the child's copy of the list of open
 * connections is whole; in the fork child, before the target runs,
 * mproc__conn_fork_child closes every copied end (the `keep` ones are
 * only forgotten: their descriptors are the child's passed ends). */
void mproc__conn_fork_lock(void);
void mproc__conn_fork_unlock(void);
void mproc__conn_fork_child(mproc_conn *const *keep, size_t n);
/* In the child of any fork (a fork-child hook, program.h): the list's
 * lock, if another thread held it at the fork, is made anew (the
 * connections stay, as Python's fork children keep them). */
void mproc__conn_reset_after_fork(void);

#endif
