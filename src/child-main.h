/* mproc: a library child's start (src/child-main.c). mproc__child_main,
 * the backend's up-call for spawn and forkserver children, is declared in
 * platform.h. */
#ifndef MPROC_CHILD_MAIN_H
#define MPROC_CHILD_MAIN_H

/** What a fork start runs in its child (mproc__start.fork_main): the
 *  target of the process object `fork_ctx`; returns the exit code. */
int mproc__child_run_fork(void *fork_ctx);

#endif
