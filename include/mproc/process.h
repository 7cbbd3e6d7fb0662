/** mproc: processes, start methods and contexts — multiprocessing.Process.
 *
 * A process runs a target function `int fn(const void *arg, size_t len)` in
 * a new OS process. The argument bytes are copied to the child, whatever the
 * start method; the target's return value becomes the exit code.
 *
 * @code
 *   MPROC_TASK(work);                       // lets spawn/forkserver find it
 *   int main(int argc, char **argv) {
 *     mproc_init(argc, argv);               // a spawned child runs here
 *     mproc_process *p;
 *     mproc_process_new(&p, work, "hi", 2, NULL);
 *     mproc_process_start(p);
 *     mproc_process_join(p, MPROC_FOREVER);
 *     ...
 *   }
 * @endcode
 * @file
 */
#ifndef MPROC_PROCESS_H
#define MPROC_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "mproc/export.h"
#include "mproc/pass.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Block without a time limit (any timeout >= 1e18 s does the same). */
#define MPROC_FOREVER 1e300

/** Longest process name, in bytes, without the terminating NUL. */
#define MPROC_NAME_MAX 255

/** A process target. `arg` is the child's own copy of the argument bytes
 *  (NULL when `len` is 0); the return value is the exit code (0..255 on
 *  POSIX, any 32-bit value on Windows). */
typedef int (*mproc_target)(const void *arg, size_t len);

/** How children are started. */
typedef enum mproc_start_method {
  MPROC_START_DEFAULT = 0, /**< the context's / the program's method */
  MPROC_START_FORK,        /**< POSIX: fork(); the child is a copy */
  MPROC_START_FORKSERVER,  /**< POSIX: a server forked at mproc_init() */
  MPROC_START_SPAWN        /**< re-execute the program; mproc_init() runs */
} mproc_start_method;

/** A waitable OS object: a file descriptor on POSIX, a HANDLE on Windows. */
typedef intptr_t mproc_handle;

/**
 * "No handle": what the library returns where there is none (the sentinel
 * of a process not started or closed, the handle of a closed connection)
 * and what the handle waits refuse with MPROC_EINVAL. It is no valid
 * handle on any platform: not -1, which is a descriptor nowhere but is the
 * current-process pseudo-handle on Windows (waiting on it would wait for
 * the program itself to end), and not 0, which is standard input on POSIX.
 */
#define MPROC_NO_HANDLE ((mproc_handle)INTPTR_MIN)

typedef struct mproc_process mproc_process;
typedef struct mproc_context mproc_context;
typedef struct mproc_conn mproc_conn; /* mproc/pipe.h */

/* ---- program set-up ---------------------------------------------------- */

/**
 * Initialise mproc. Call it first thing in `main`, before any thread is
 * started, passing main's arguments. In a child started by spawn it never
 * returns: it runs the target and exits with its return value (the C form
 * of `if __name__ == "__main__"`): when the target returns, the child
 * ends as a program's normal exit does, running its atexit handlers (fork
 * and forkserver children end with _exit instead, running none). In the
 * main program it starts the resource tracker and the forkserver (on
 * platforms that have them; a tracker is also started by the first named
 * object made before this call) and arranges that at normal exit daemon
 * children are terminated and the others joined. A forkserver that dies
 * later is restarted by the next forkserver start. Set
 * MPROC_TRACKER_WARN=0 in the environment to silence the tracker's line
 * about objects the program left.
 * Calling it again is harmless. fork works without it; forkserver and spawn
 * need it (they fail with MPROC_ENOTINIT otherwise).
 * Errors: MPROC_EOS when the tracker or the forkserver cannot be started
 * (the program can still use the other methods; the next forkserver start
 * tries again).
 * Thread-safety: call once from the main thread. Ownership: none.
 */
MPROC_EXTERN int mproc_init(int argc, char **argv);

/** A function a forkserver runs once, when it starts (see below). */
typedef void (*mproc_preload_fn)(void *arg);

/**
 * Register `fn(arg)` to run in the forkserver once, right after the server
 * is forked and before it starts any child, so that every forkserver child
 * begins with its work done — libraries loaded, tables built, caches warm
 * (Python's set_forkserver_preload, with a function instead of module
 * names). Register it before mproc_init() to have the first server run
 * it; a server started later (one restarted after it died, or the one a
 * fork child starts for itself) runs the function registered at that
 * moment. Passing NULL removes it. The function runs in the server
 * process, whose state is copied into each child it forks: it must not
 * start threads or processes, nor wait on the program. It is not run for
 * fork or spawn children, and on platforms without a forkserver
 * (Windows) the call has no effect.
 * Errors: none (returns 0).
 * Thread-safety: call from the main thread, before processes are started
 * from other threads. Ownership: `arg` must stay valid while servers may
 * start (the server gets a copy of the program's memory when it starts).
 */
MPROC_EXTERN int mproc_set_forkserver_preload(mproc_preload_fn fn, void *arg);

/**
 * Set the program's default start method (Python's set_start_method).
 * Defaults: forkserver on Linux, spawn on macOS and Windows; in a child,
 * the method that started it (a spawned child starts its own children
 * with spawn unless told otherwise).
 * Errors: MPROC_ENOTSUP for a method this platform lacks; MPROC_EINVAL for
 * a value that is not a method.
 * Thread-safety: call before starting processes from other threads.
 */
MPROC_EXTERN int mproc_set_start_method(mproc_start_method method);

/** The program's default start method (never MPROC_START_DEFAULT). */
MPROC_EXTERN mproc_start_method mproc_get_start_method(void);

/** "fork", "forkserver", "spawn" (or "default"); NULL for a bad value. */
MPROC_EXTERN const char *mproc_start_method_name(mproc_start_method method);

/** Whether this platform can start processes with `method` (1) or not (0). */
MPROC_EXTERN int mproc_start_method_supported(mproc_start_method method);

/**
 * The start methods this platform has (Python's get_all_start_methods()),
 * the program's default first, then the others in the order fork, spawn,
 * forkserver. Stores up to `cap` of them in `out` and returns how many
 * there are (1 to 3), which may exceed `cap`; `out` may be NULL when cap
 * is 0.
 * Errors: MPROC_EINVAL (out NULL with cap > 0).
 * Thread-safety: safe (it reads the default as mproc_get_start_method).
 * Ownership: `out` is the caller's.
 */
MPROC_EXTERN int mproc_get_all_start_methods(mproc_start_method *out,
                                             size_t cap);

/**
 * The program that the spawn start method runs for a child (Python's
 * set_executable()): another binary that registers the same tasks
 * (MPROC_TASK) and calls mproc_init(argc, argv) first in its main. NULL
 * goes back to this program's own image (the default). It applies to
 * spawn starts made after the call, in this process; fork and forkserver
 * children are copies of this program and are unaffected. A task the other
 * binary lacks fails in the child, at join, as MPROC_EBOOTSTRAP.
 * Errors: MPROC_EINVAL (an empty path), MPROC_ENOENT (no executable file
 * at `path`), MPROC_ENOMEM.
 * Thread-safety: call at set-up time, not while other threads start
 * processes. Ownership: the path is copied.
 */
MPROC_EXTERN int mproc_set_executable(const char *path);

/**
 * A context that starts processes with a chosen method (get_context()).
 * MPROC_START_DEFAULT picks the program's default at creation time.
 * Errors: MPROC_EINVAL (out NULL, bad method), MPROC_ENOTSUP, MPROC_ENOMEM.
 * Ownership: free with mproc_context_free() once no process_new uses it.
 */
MPROC_EXTERN int mproc_context_new(mproc_context **out,
                                   mproc_start_method method);
/** The method of a context. */
MPROC_EXTERN mproc_start_method mproc_context_method(const mproc_context *ctx);
/** Free a context; NULL is a no-op. Processes made with it are unaffected. */
MPROC_EXTERN void mproc_context_free(mproc_context *ctx);

/* ---- registering targets ---------------------------------------------- */

/** Any function pointer, as stored by the task registry. */
typedef void (*mproc_fnptr)(void);

/**
 * Register `fn` under `name` so that children started by spawn or
 * forkserver can find it. MPROC_TASK() registers at load time; call this
 * yourself only for functions you cannot mark with the macro. Registering
 * the same pair twice is harmless.
 * Errors: MPROC_EINVAL (NULL or empty name, NULL fn), MPROC_EEXIST (the name
 * is taken by another function; the sentence says where each came from),
 * MPROC_ENAMETOOLONG, MPROC_ENOMEM.
 * Thread-safety: call before starting processes. Ownership: the name is
 * copied.
 */
MPROC_EXTERN int mproc_task_register(const char *name, mproc_fnptr fn);

/**
 * What MPROC_TASK() calls: mproc_task_register() that also records where
 * the macro stood. A clash (two functions under one name, as two `static`
 * functions of the same name in two files give) cannot be reported at
 * load time, so it is remembered: starting either function by spawn or
 * forkserver then fails with MPROC_EEXIST and a sentence naming both
 * file:line places (fork, which needs no name, still works).
 * Errors, Thread-safety, Ownership: as mproc_task_register() (`file` is
 * kept, not copied: pass a string literal such as __FILE__).
 */
MPROC_EXTERN int mproc_task_register_at(const char *name, mproc_fnptr fn,
                                        const char *file, int line);

/** Register `fn` at load time under its own name. Use at file scope. */
#define MPROC_TASK(fn)                                                         \
  static void mproc__register_##fn(void) __attribute__((constructor));         \
  static void mproc__register_##fn(void) {                                     \
    (void)mproc_task_register_at(#fn, (mproc_fnptr)(fn), __FILE__, __LINE__);  \
  }                                                                            \
  struct mproc__task_semicolon_##fn

/* ---- Process ---------------------------------------------------------- */

/** Options for mproc_process_new() (NULL: defaults); start from
 *  MPROC_PROCESS_OPTS_INIT. */
typedef struct mproc_process_opts {
  size_t size;               /**< sizeof(mproc_process_opts), set by the
                                  initialiser */
  const char *name;          /**< NULL: "Process-N" (":M" in children) */
  int daemon;                /**< terminated at the parent's normal exit */
  mproc_start_method method; /**< overrides ctx and the program default */
  const mproc_context *ctx;  /**< method from a context (get_context()) */
  /** Shared objects and pipe ends the child receives, as
   *  mproc_inherited(0 to n_pass - 1), ready to use under every start
   *  method (at most MPROC_PASS_MAX; see mproc/pass.h). The array is
   *  copied. The objects must stay open until mproc_process_start
   *  returns; from then on the child holds its own reference, so the
   *  caller may free its handles at once. Pipe ends stay the caller's
   *  too: close or free yours after the start, so that the end of file
   *  reaches the peer. */
  const mproc_pass *pass;
  size_t n_pass;
  /** The CPUs (indices from 0, below mproc_cpu_count's machine total) the
   *  child may run on, set right after it starts (the first instants
   *  of its start run unpinned). The array is copied. n_cpus 0: as the
   *  parent. Linux sched_setaffinity, Windows SetProcessAffinityMask
   *  (CPUs 0-63); MPROC_ENOTSUP on macOS, which cannot pin a process. */
  const int *cpus;
  size_t n_cpus;
} mproc_process_opts;

/** The defaults of mproc_process_opts. */
#define MPROC_PROCESS_OPTS_INIT                                                \
  { sizeof(mproc_process_opts), NULL, 0, MPROC_START_DEFAULT, NULL, NULL, 0,  \
    NULL, 0 }

/**
 * Create a process object (not started) that will run target(arg, len).
 * The argument bytes (any size, 0 allowed) are copied now.
 * Errors: MPROC_EINVAL (NULL out or target, arg NULL with len > 0, bad
 * method, pass NULL with n_pass > 0, an entry with a NULL object or an
 * unknown kind, the same object twice), MPROC_ERANGE (n_pass over
 * MPROC_PASS_MAX), MPROC_ENAMETOOLONG
 * (name over MPROC_NAME_MAX bytes),
 * MPROC_ENOTSUP (method not on this platform), MPROC_ENOMEM.
 * Thread-safety: a process object is used by one thread at a time.
 * Ownership: free with mproc_process_free().
 */
MPROC_EXTERN int mproc_process_new(mproc_process **out, mproc_target target,
                                   const void *arg, size_t len,
                                   const mproc_process_opts *opts);

/**
 * Start the child. Under spawn and forkserver the target must be
 * registered (MPROC_TASK).
 * With a pass list, the child's hold on every object is taken before this
 * returns (POSIX: the child's pid joins the object's holders; Windows: the
 * child gets its own handles to the object).
 * Errors: MPROC_ESTATE (started before), MPROC_ECLOSED (an object or
 * connection to pass was closed), MPROC_ERANGE (the objects need more OS
 * handles than one start can pass), MPROC_ENOTREG, MPROC_EEXIST (MPROC_TASK gave the
 * target's name to two functions: the sentence names both places),
 * MPROC_ENOTINIT
 * (spawn/forkserver without mproc_init()), MPROC_EPERM (a daemon process
 * may not have children, as in Python), MPROC_EOS.
 */
MPROC_EXTERN int mproc_process_start(mproc_process *p);

/**
 * Wait until the child ends or `timeout` seconds pass (MPROC_FOREVER: no
 * limit; negative: 0, as in Python). Returns 0 once the child has ended,
 * MPROC_ETIMEDOUT if it still runs. A bootstrap failure in the child (it
 * could not find its target, say) is returned here as MPROC_EBOOTSTRAP
 * with the child's own sentence in mproc_last_error().
 * For the parent's object (mproc_parent_process) it waits for the parent
 * to end.
 * Errors: MPROC_ESTATE (not started), MPROC_ECLOSED (closed), MPROC_EPERM
 * (the calling process is not the one that started the child),
 * MPROC_EINVAL (NaN), MPROC_EINTR (mproc_interrupt() while it waited: the
 * child runs on; join it again later).
 */
MPROC_EXTERN int mproc_process_join(mproc_process *p, double timeout);

/**
 * 1 while the child runs, 0 before start and after it ended (the end is
 * then recorded, as a join with timeout 0 would). For the parent's object
 * (mproc_parent_process), 1 while the parent runs.
 * Errors: MPROC_ECLOSED after mproc_process_close (as join and
 * terminate), MPROC_EINVAL (NULL). A process object inherited through
 * fork from the process that started it reads 0.
 * Thread-safety: as every call on one process object (one thread at a
 * time). Ownership: none.
 */
MPROC_EXTERN int mproc_process_is_alive(mproc_process *p);

/**
 * Ask the child to stop: SIGTERM on POSIX, TerminateProcess on Windows
 * (the exit code then reads -SIGTERM, as CPython reports it). A child
 * that already ended is left alone (returns 0).
 * Errors: MPROC_ESTATE (not started or closed), MPROC_EPERM (not the
 * parent), MPROC_EOS.
 */
MPROC_EXTERN int mproc_process_terminate(mproc_process *p);

/** Like terminate, with SIGKILL (TerminateProcess on Windows, -SIGKILL). */
MPROC_EXTERN int mproc_process_kill(mproc_process *p);

/**
 * Send SIGINT to the child (Python 3.14's interrupt()): a child without a
 * handler of its own ends with exit code -2 (-SIGINT); one with a handler
 * decides for itself. A child that already ended is left alone (returns 0).
 * Errors: MPROC_ENOTSUP on Windows, which has no way to deliver Ctrl-C to
 * one arbitrary process (GenerateConsoleCtrlEvent reaches a whole console
 * process group, and a child's group has Ctrl-C disabled); MPROC_ESTATE
 * (not started), MPROC_ECLOSED, MPROC_EPERM (not the parent), MPROC_EOS.
 * Thread-safety: as terminate. Ownership: none.
 */
MPROC_EXTERN int mproc_process_interrupt(mproc_process *p);

/**
 * The exit code, with Python's meaning: the target's return value, or
 * minus the signal number when a signal killed the child.
 * Returns 0 and stores the code once the child has ended; MPROC_ESTATE if
 * it was never started; MPROC_EAGAIN while it still runs (Python's None).
 * Does not block.
 */
MPROC_EXTERN int mproc_process_exitcode(mproc_process *p, int *exitcode);

/** The child's process id; 0 before start. For a forkserver child the
 *  server reports it after start returns: the first call may wait for it
 *  (briefly), and 0 means the server could not fork (join then reports
 *  MPROC_EBOOTSTRAP). */
MPROC_EXTERN long mproc_process_pid(const mproc_process *p);

/** The name (static until free). */
MPROC_EXTERN const char *mproc_process_name(const mproc_process *p);

/** The daemon flag. */
MPROC_EXTERN int mproc_process_daemon(const mproc_process *p);

/**
 * Set the daemon flag; only before start (MPROC_ESTATE otherwise).
 */
MPROC_EXTERN int mproc_process_set_daemon(mproc_process *p, int daemon);

/** The start method the process uses (resolved at creation). */
MPROC_EXTERN mproc_start_method mproc_process_method(const mproc_process *p);

/**
 * A handle that becomes ready (readable fd on POSIX, signalled HANDLE on
 * Windows) when the child ends; MPROC_NO_HANDLE before start and after
 * close. For the parent's object (mproc_parent_process), ready when the
 * parent ends. Wait on it with
 * mproc_wait_handles() or your own event loop; do not close it, and do not
 * read from it. Valid until close/free.
 */
MPROC_EXTERN mproc_handle mproc_process_sentinel(const mproc_process *p);

/**
 * Release the OS resources of an ended process (Python's close()). Later
 * calls other than free, pid, name and exitcode return MPROC_ECLOSED
 * (is_alive included).
 * Errors: MPROC_ESTATE if the child still runs. Closing twice is harmless.
 */
MPROC_EXTERN int mproc_process_close(mproc_process *p);

/**
 * Free the object; NULL is a no-op. A child that still runs is not killed:
 * it is detached (its exit is reaped by the library; a daemon child is
 * still terminated at program exit).
 */
MPROC_EXTERN void mproc_process_free(mproc_process *p);

/* ---- waiting on many ---------------------------------------------------- */

/**
 * Wait until at least one of `n` handles (process sentinels, wake-up
 * objects' handles: mproc/wakeup.h) is ready, or `timeout` passes. Sets
 * ready[i] to 1 for each ready handle, 0 otherwise. Returns the number
 * ready (>= 1), or MPROC_ETIMEDOUT. Any number of handles (no 64-handle
 * limit on Windows, and no thread started per call: past 64 the library
 * hands chunks to helper threads it keeps). A handle must stay ready once
 * ready (sentinels and wake-ups do; on Windows an auto-reset event would
 * lose its signal to the check) and appear only once.
 * Errors: MPROC_EINVAL at once, whatever the timeout, for NULL arrays with
 * n > 0, a NaN timeout, or a handle that is no open waitable handle
 * (MPROC_NO_HANDLE, a negative value, a closed descriptor or HANDLE; the
 * sentence names its index); MPROC_ENOMEM; MPROC_EOS; MPROC_EINTR
 * (mproc_interrupt() while it waited and nothing was ready; never for
 * timeout 0).
 * Thread-safety: safe; any number of threads may wait at once, on the
 * same handles too. Ownership: the arrays are used only during the call.
 */
MPROC_EXTERN int mproc_wait_handles(const mproc_handle *handles, size_t n,
                                    double timeout, unsigned char *ready);

/* ---- the current program ----------------------------------------------- */

/** Usable CPUs: affinity mask and cgroup CPU quota where the OS tells;
 *  at least 1. */
MPROC_EXTERN int mproc_cpu_count(void);

/** The calling process's id. */
MPROC_EXTERN long mproc_current_pid(void);

/** "MainProcess" in the main program; the process name in a child. */
MPROC_EXTERN const char *mproc_current_name(void);

/** The id of the process that started this one with mproc; 0 in the main
 *  program (Python's parent_process() is None). */
MPROC_EXTERN long mproc_parent_pid(void);

/**
 * The process that started this one, as a process object (Python's
 * parent_process()); NULL in the main program and in a child of the
 * program's own fork(). Ask it with mproc_process_name, _pid, _is_alive,
 * _sentinel (ready once the parent has ended) and _join(timeout) (returns
 * 0 once the parent has ended, MPROC_ETIMEDOUT before). Every other call
 * on it is MPROC_EPERM (start, terminate, kill, interrupt, close,
 * set_daemon) or MPROC_ENOTSUP (exitcode: not known to a child);
 * mproc_process_free on it does nothing.
 * Children never outlive their parent here: once the parent ends, this
 * child is killed too (at once where the OS has a parent-death signal,
 * otherwise by its watch thread within moments), so a join on the parent
 * is a way to wait for the end, not to outlive it.
 * Errors: none (NULL is the answer in the main program).
 * Thread-safety: safe; the object is shared by the whole process.
 * Ownership: borrowed, valid for the life of the process.
 */
MPROC_EXTERN mproc_process *mproc_parent_process(void);

/**
 * The started children of this process that still run (joining those that
 * ended, as Python's active_children()). Stores up to `cap` pointers in
 * `out` (borrowed: do not free them through this array) and returns how
 * many run, which may exceed `cap`. `out` may be NULL when cap is 0.
 * Thread-safety: safe.
 */
MPROC_EXTERN int mproc_active_children(mproc_process **out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
