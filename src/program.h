/* mproc: program-level hook lists (src/program.c).
 *
 * A module that keeps process-wide state registers its own fork and exit
 * duties here, at init or at its first use, so that no file has to know
 * every module: adding a pool, an executor or a manager touches no
 * existing module's fork or exit code. */
#ifndef MPROC_PROGRAM_H
#define MPROC_PROGRAM_H

typedef void (*mproc__hook)(void);

/** Most hooks one list holds; a full list aborts (a library bug). */
#define MPROC__HOOKS_MAX 32

/** Run `fn` first thing in the child of every fork of this process, the
 *  library's own and the program's (after the backend's own resets), in
 *  registration order. For state that must not survive into a child: a
 *  cached pid, a lock another thread may have held, a list of the
 *  parent's children. `fn` runs in a fork child of a possibly threaded
 *  parent: async-signal-safe calls only, and as few stores as it can
 *  (each page a fork child first writes costs it a fault). Registering
 *  the same `fn` twice is a no-op; that check reads only, so a fork child
 *  re-registering what its parent had costs no page fault.
 *  Thread-safety: safe from any thread. */
void mproc__on_fork_child(mproc__hook fn);

/** Run `before` in the parent just before the library forks a child
 *  (the fork start method), and `after` in the parent right after it (in
 *  reverse order). For locks that keep a list whole in the child's copy.
 *  Either may be NULL. Thread-safety: safe from any thread. */
void mproc__on_fork_start(mproc__hook before, mproc__hook after);

/** Run `fn` among this process's exit duties: at the main program's exit
 *  (after mproc_init) and when a child's target returns, newest first, as
 *  atexit does. Thread-safety: safe from any thread. */
void mproc__on_exit(mproc__hook fn);

/** mproc__on_exit, but run before every duty registered there (newest
 *  first among these): for a duty that ends work the others would wait
 *  for — the process executor's shutdown, which must come before the
 *  children are joined, whichever module was used first.
 *  Thread-safety: safe from any thread. */
void mproc__on_exit_first(mproc__hook fn);

/** Register the one handler the backend runs in every fork child, if
 *  that is not done yet (the first fork-child hook does it too).
 *  mproc_init calls it before the forkserver is forked, so that no child
 *  of the server registers it (pthread_atfork costs a new child page
 *  faults). Thread-safety: safe from any thread. */
void mproc__program_init(void);

/** Called by process.c around its fork starts. */
void mproc__program_fork_before(void);
void mproc__program_fork_after(void);

/** Run the exit duties (init.c's atexit handler, a child's end). */
void mproc__program_exit(void);

#endif
