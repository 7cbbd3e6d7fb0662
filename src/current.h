/* mproc: this process (src/current.c) — its name and identity, its
 * parent as a process object, whether it is daemonic — and a library
 * child's start. mproc__child_main, the backend's up-call for spawn and
 * forkserver children, is declared in platform.h. */
#ifndef MPROC_CURRENT_H
#define MPROC_CURRENT_H

#include <stddef.h>

#include "mproc/process.h"

/** The identity of this process's n-th child ("3:1:2" style) into out. */
void mproc__identity_child(char *out, size_t size, unsigned long n);

/** This process's name (Python's current_process().name). */
const char *mproc__current_name_now(void);

/** 1 if this process is a daemonic child. */
int mproc__current_is_daemon(void);

/** Become the child described: a library child named `name`, started by
 *  `parent` (named `parent_name`, which may be this process's current
 *  name: it is copied first) with `method`, which becomes this process's
 *  default (Python's children keep their parent's context). */
void mproc__current_become(const char *name, const char *identity,
                           long parent, int daemon, mproc_start_method method,
                           const char *parent_name);

/** What a fork start runs in its child (mproc__start.fork_main): the
 *  target of the process object `fork_ctx`; returns the exit code. */
int mproc__child_run_fork(void *fork_ctx);

#endif
