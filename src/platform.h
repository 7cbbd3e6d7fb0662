/* mproc: the backend contract.
 *
 * The common layer (the src folder) is written once and calls only these
 * functions for anything the operating system does; each backend
 * (src/posix, src/win32) implements them once. CMake picks the backend's
 * files; nothing in the common layer tests the platform.
 *
 * Conventions: functions return 0 or a negative MPROC_E* code and set
 * mproc_last_error() on failure (OS errors are translated here, never
 * passed up raw). Timeouts are seconds; MPROC__INF (any negative value)
 * means no limit — the common layer has already turned the public
 * conventions (MPROC_FOREVER, negative = 0) into this form.
 */
#ifndef MPROC_PLATFORM_H
#define MPROC_PLATFORM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mproc/process.h"
#include "mproc/shm.h"

#define MPROC__INF (-1.0)

/* ---- misc group ---------------------------------------------------------- */

/** The calling process's id. */
long mproc__os_getpid(void);

/** Usable CPUs (affinity, cgroup quota); at least 1. */
int mproc__os_cpu_count(void);

/** Fill `buf` with `n` cryptographically random bytes. */
int mproc__os_random(void *buf, size_t n);

/** End the calling process now with `code`, after flushing stdio, without
 *  running atexit handlers (the child's _exit). */
void mproc__os_exit(int code);

/** Run `fn` in the child after every fork() of this process, however it
 *  was forked (pthread_atfork; a no-op where there is no fork), after the
 *  backend's own resets. Only program.c calls it, once: the modules
 *  register with its hook list (program.h). */
void mproc__os_atfork_child(void (*fn)(void));

/** This process's resident memory in bytes, as the OS counts it (Linux
 *  /proc/self/statm, macOS task_info, Windows the working set). */
int mproc__os_rss(uint64_t *bytes);

/** 1 if a process can be pinned to CPUs here (0: macOS). */
int mproc__os_affinity_supported(void);

/** CPUs online in the machine, whatever this process's affinity (>= 1). */
int mproc__os_cpu_online(void);

/** Give the CPU to another runnable thread, if any (sched_yield). */
void mproc__os_yield(void);

/** 1 if the exit duties now run after the OS has ended this process's
 *  other threads (Windows: a DLL's exit handlers run while the process
 *  detaches it, after ExitProcess ended every other thread); 0 where
 *  they still run (POSIX; a program linked with the static library). */
int mproc__os_exit_threads_gone(void);

/** Die at once, as from SIGKILL (the fault-injection seam, src/fault.c). */
void mproc__os_kill_self(void);

/** The platform's default start method and whether it has `m`. */
mproc_start_method mproc__os_default_method(void);
int mproc__os_method_supported(mproc_start_method m);

/** Wait for any of `n` handles to be ready (see mproc_wait_handles). The
 *  common layer has refused negative values (MPROC_NO_HANDLE, -1); the
 *  backend refuses the rest of what is no open waitable handle (a closed
 *  descriptor or HANDLE, NULL on Windows) with MPROC_EINVAL at once,
 *  before it blocks, naming the index. Safe from many threads at once. */
int mproc__os_wait_handles(const mproc_handle *h, size_t n, double timeout,
                           unsigned char *ready);

/* ---- wake-up group (mproc/wakeup.h) ------------------------------------- */

/* A waitable object that any thread can make ready: an eventfd (Linux), a
 * non-blocking pipe (other POSIX), a manual-reset Event (Windows). The
 * common layer (src/wakeup.c) keeps the "set" flag that coalesces many
 * signals into one system call; the backend only moves the handle between
 * ready and not ready. Not inherited by children. */
typedef struct mproc__os_wakeup mproc__os_wakeup;

int mproc__os_wakeup_new(mproc__os_wakeup **out);
/** Make the handle ready. Async-signal-safe on POSIX (a write(2), errno
 *  kept); sets no sentence. 0 or MPROC_EOS. */
int mproc__os_wakeup_set(mproc__os_wakeup *w);
/** Make the handle not ready (read what is there / ResetEvent); returns 1
 *  if it was ready, 0 if not. Never blocks. */
int mproc__os_wakeup_drain(mproc__os_wakeup *w);
mproc_handle mproc__os_wakeup_handle(const mproc__os_wakeup *w);
void mproc__os_wakeup_free(mproc__os_wakeup *w);

/* ---- process group ------------------------------------------------------- */

/**
 * Backend set-up, from mproc_init() in the main program (not in a spawned
 * child), once the registry is mapped and the tracker runs: the POSIX
 * backend forks its forkserver here, the Windows backend makes its
 * kill-on-close job object.
 */
int mproc__os_init(void);

/** The function registered with mproc_set_forkserver_preload (NULL: none)
 *  and its argument, handed to the backend: a forkserver runs it once
 *  when it starts. */
void mproc__os_set_forkserver_preload(void (*fn)(void *), void *arg);

/**
 * If this process was started by spawn, read the child's bootstrap message,
 * run it with mproc__child_main() and exit: never returns then. Returns 0
 * when the process is not a spawned child.
 */
int mproc__os_child_entry(int argc, char **argv);

/** What the backend needs to start one child. */
typedef struct mproc__start {
  mproc_start_method method; /* resolved: never MPROC_START_DEFAULT */
  /* fork: what the child runs (the library's state it inherited is reset
   * by then: the fork-child hooks ran, program.h); the backend exits with
   * the code it returns. */
  int (*fork_main)(void *fork_ctx);
  void *fork_ctx;
  /* spawn, forkserver: the encoded bootstrap message the child hands to
   * mproc__child_main(). */
  const void *boot;
  size_t boot_len;
  /* spawn, forkserver: handles the child receives (pipe ends, and on
   * Windows the handles of the objects passed), in order. The backend
   * hands them over its own way and gives the child's values to
   * mproc__child_main(). (fork: the child has them already.) */
  const mproc_handle *handles;
  size_t n_handles;
} mproc__start;

/** In a spawn or forkserver child, once the bootstrap message named its
 *  parent, before the target runs: make sure this process ends when that
 *  parent ends (POSIX: the death-pipe watch; Windows watches the parent's
 *  handle from the start and returns 0). 0 or MPROC_EBOOTSTRAP. */
int mproc__os_watch_parent(long parent_pid);

typedef struct mproc__os_proc mproc__os_proc;

/** Start a child. On success *out holds the running child. */
int mproc__os_proc_start(mproc__os_proc **out, const mproc__start *st);

/**
 * Wait up to `timeout` for the child to end. Returns 0 and stores the exit
 * code (Python's meaning) once it has ended; MPROC_ETIMEDOUT while it runs.
 * If the child reported a bootstrap failure, returns MPROC_EBOOTSTRAP with
 * its sentence as the last error (and still stores the exit code). After a
 * 0 or MPROC_EBOOTSTRAP return the child is reaped; calling again returns
 * the same result without waiting.
 */
int mproc__os_proc_wait(mproc__os_proc *p, double timeout, int *exitcode);

/** What mproc__os_proc_signal sends. */
enum {
  MPROC__SIG_TERM, /* SIGTERM / TerminateProcess (reads -15) */
  MPROC__SIG_KILL, /* SIGKILL / TerminateProcess (reads -9) */
  MPROC__SIG_INT   /* SIGINT; MPROC_ENOTSUP where there is none (Windows) */
};

/** Send a stop request (MPROC__SIG_*). A child already reaped is left
 *  alone (returns 0). */
int mproc__os_proc_signal(mproc__os_proc *p, int sig);

long mproc__os_proc_pid(const mproc__os_proc *p);
/** Pin a started child to the n CPUs listed (indices from 0).
 *  MPROC_ENOTSUP where the OS cannot (macOS), MPROC_ERANGE for a CPU the
 *  call cannot name, MPROC_EOS. */
int mproc__os_proc_affinity(mproc__os_proc *p, const int *cpus, size_t n);
mproc_handle mproc__os_proc_sentinel(const mproc__os_proc *p);

/** Release the OS resources. The child must have been reaped
 *  (mproc__os_proc_wait returned 0 or MPROC_EBOOTSTRAP). */
void mproc__os_proc_free(mproc__os_proc *p);

/** In a child the library started: a handle that becomes ready when the
 *  parent ends (the read end of its death pipe on POSIX, a handle to the
 *  parent process on Windows); MPROC_NO_HANDLE when there is none (the main program).
 *  The backend keeps it open for the life of the process. */
mproc_handle mproc__os_parent_sentinel(void);

/** The program spawn re-executes: `path` (UTF-8), or NULL for this
 *  program's own image. MPROC_ENOENT when `path` is not an executable
 *  file, MPROC_ENOMEM. */
int mproc__os_set_executable(const char *path);


/* ---- pipe group ---------------------------------------------------------- */

/* One end of a byte stream between processes: a socket on POSIX, an
 * overlapped named pipe on Windows. The backend moves bytes; the common
 * layer (pipe.c) frames messages and checks arguments. */
typedef struct mproc__os_conn mproc__os_conn;

/** A connected pair, not inheritable. duplex: both ends read and write;
 *  else `a` only reads and `b` only writes. */
int mproc__os_conn_pair(int duplex, mproc__os_conn **a, mproc__os_conn **b);

/** Wrap a handle this process received from its parent (it now owns it;
 *  the backend makes it non-inheritable). */
int mproc__os_conn_adopt(mproc_handle h, mproc__os_conn **out);

/** Read exactly n bytes (n > 0), blocking. Returns 0; MPROC_EEOF when the
 *  stream ended first (*got says how many bytes came); another code. */
int mproc__os_conn_read(mproc__os_conn *c, void *buf, size_t n, size_t *got);

/** Write hn bytes of `hdr` then n bytes of `buf`, all of them, blocking;
 *  MPROC_EEOF when the reader is gone (never a signal). */
int mproc__os_conn_write(mproc__os_conn *c, const void *hdr, size_t hn,
                         const void *buf, size_t n);

/** 1 when a read would not block (data or end of file), 0 after timeout
 *  (MPROC__INF: no limit). */
int mproc__os_conn_poll(mproc__os_conn *c, double timeout);

/** Waiting on many (mproc_conn_wait): begin returns 1 when the end is
 *  ready now, else 0 with *h set to a handle mproc__os_wait_handles can
 *  wait on (ready stays set once ready); end — called for every begin
 *  that returned 0 — takes that wait's result and returns 1 if the end
 *  is ready, 0 if not (on Windows it cancels the pending wait). */
int mproc__os_conn_wait_begin(mproc__os_conn *c, mproc_handle *h);
int mproc__os_conn_wait_end(mproc__os_conn *c, int signalled);

/** The OS handle (fd / HANDLE) for passing to a child. */
mproc_handle mproc__os_conn_handle(const mproc__os_conn *c);

/** 1 if the end can be passed to a child (Windows: not a TCP socket). */
int mproc__os_conn_passable(const mproc__os_conn *c);

/** Close the handle and free. */
void mproc__os_conn_close(mproc__os_conn *c);

/** Free, leaving the handle open (in a fork child, for an end passed to
 *  it, which mproc__os_conn_adopt wraps again). */
void mproc__os_conn_forget(mproc__os_conn *c);

/* ---- listener group (connection.c: Listener and Client) ----------------- */

/* The address families, as mproc_family (never MPROC_FAMILY_DEFAULT here). */
typedef struct mproc__os_listener mproc__os_listener;

/** The family of a Listener made without an address or family: AF_UNIX
 *  on POSIX, AF_PIPE on Windows. */
int mproc__os_local_family(void);

/** A server on a libuv loop (the manager's) writes to sockets whose peer
 *  may be gone: make that an error, not a fatal signal (POSIX: SIGPIPE
 *  ignored in this process; Windows: nothing to do). */
void mproc__os_server_signals(void);

/** Listen on `address` of `family` (MPROC_AF_*; the common layer has
 *  checked that the address fits the family). address NULL: make a fresh
 *  one of that family. Returns MPROC_ENOTSUP for a family the platform
 *  lacks. The listener's handles are not inheritable. */
int mproc__os_listen(int family, const char *address, int backlog,
                     mproc__os_listener **out);

/** The address clients use (a port or path the OS picked filled in). */
const char *mproc__os_listener_address(const mproc__os_listener *l);

/** 1 when a connection waits to be accepted, 0 after `timeout`
 *  (MPROC__INF: no limit). */
int mproc__os_listener_wait(mproc__os_listener *l, double timeout);

/** Take the waiting connection without blocking (after _wait gave 1).
 *  MPROC_EAGAIN when it went away meanwhile. Called with the connection
 *  list's lock held (pipe.c): it must not block. */
int mproc__os_accept(mproc__os_listener *l, mproc__os_conn **out);

/** Close (an AF_UNIX path is unlinked, with a generated one's private
 *  folder) and free. */
void mproc__os_listener_close(mproc__os_listener *l);

/** Connect to `address` of `family`, within `timeout`. MPROC_ENOENT when
 *  nothing listens there. The handle is not inheritable. */
int mproc__os_connect(int family, const char *address, double timeout,
                      mproc__os_conn **out);

/* ---- crypto group: HMAC for the authkey handshake (auth.c) -------------- */

enum { MPROC__HMAC_MD5 = 1, MPROC__HMAC_SHA256 = 2 };

/** HMAC of `msg` under `key` with `alg`, from the platform's or a
 *  well-kept library (never hand-written); writes the digest to `out`
 *  (room for 32 bytes) and returns its length, or MPROC_ENOTSUP for an
 *  algorithm this build lacks, or another code. */
int mproc__os_hmac(int alg, const void *key, size_t key_len, const void *msg,
                   size_t len, unsigned char *out);

/** POSIX: do the crypto library's one-time set-up now (OpenSSL reads its
 *  configuration and loads its provider on the first HMAC: ~1 ms of CPU).
 *  The forkserver calls it before it forks any child, so that each child
 *  (a manager's server, which answers its first client with two HMACs)
 *  starts with it done. */
void mproc__os_hmac_warm(void);

/* ---- shm group ----------------------------------------------------------- */

/** The page size: segment sizes are multiples of it. */
size_t mproc__os_page_size(void);

/** A mapped segment. `handle` is the backend's (Windows keeps the mapping
 *  handle open: the kernel removes the object with its last handle). */
typedef struct mproc__os_shm {
  void *base;
  size_t size;
  intptr_t handle;
} mproc__os_shm;

/** Create `name` (the bare name: the backend adds "/" or "Local\")
 *  exclusively, owner-only, zero-filled, `size` bytes (a page multiple),
 *  and map it. MPROC_EEXIST if the name is taken. */
int mproc__os_shm_create(mproc__os_shm *s, const char *name, size_t size);
/** Open and map an existing segment whole. MPROC_ENOENT if absent. */
int mproc__os_shm_open(mproc__os_shm *s, const char *name);
void mproc__os_shm_close(mproc__os_shm *s);
/** Remove the name; 0 if it is already gone. */
int mproc__os_shm_unlink(const char *name);

/* Passing a segment to a child (src/pass.c). Where the kernel counts
 * handles (Windows) the child must get a handle of its own before the
 * start returns, or the segment may go with the parent's last one: pass
 * gives that handle. Where names live until unlinked (POSIX) it gives
 * MPROC_NO_HANDLE and the child reopens the name (its hold is its pid in
 * the holder tables). adopt maps what the child received: the handle, or
 * the name when it is MPROC_NO_HANDLE; it owns the handle from then on. */
mproc_handle mproc__os_shm_pass(const mproc__os_shm *s);
int mproc__os_shm_adopt(mproc__os_shm *s, const char *name, mproc_handle h);

/** Private zero-filled memory of `size` bytes (a multiple of 2 MiB) for
 *  the library's own allocations (handles.c), backed by huge pages where
 *  the kernel gives them (Linux: MADV_HUGEPAGE; POSIX aligns the chunk to
 *  `size` for that). NULL when there is none; never freed. */
void *mproc__os_chunk_new(size_t size);

/** Most OS handles one start hands to a child (pipe ends, and on Windows
 *  the mappings and parking semaphores of the objects passed). */
#define MPROC__HANDLES_MAX 320

/** 1 if a process with this id exists, 0 if not (its holds are void). */
int mproc__os_pid_alive(long pid);

/** The program's registry (src/registry.h): an unnamed shared segment of
 *  `size` bytes, mapped in *s. In a spawned child, the one its parent
 *  passed (*fresh 0); otherwise a new zero-filled one (*fresh 1), which
 *  this process and the processes it starts share. MPROC_ENOTSUP where the
 *  backend keeps none (Windows: the kernel counts holders). */
int mproc__os_registry(mproc__os_shm *s, size_t size, int *fresh);

/* ---- wait group ---------------------------------------------------------- */

/** Per-object parking state. Kernels that wait on an address (futex,
 *  __ulock) need none; where the kernel cannot (Windows, the generic POSIX
 *  fallback) src/park-sem.c parks sleepers on named semaphores, keeping
 *  its bookkeeping in `words`, which live in the object's shared memory. */
typedef struct mproc__os_park mproc__os_park;

#define MPROC__PARK_SEMS 4
typedef struct mproc__park_words {
  _Atomic uint32_t lock;  /* pid of the holder, 0 when free */
  _Atomic uint32_t gen;   /* wake generation */
  _Atomic uint32_t idx;   /* the semaphore the current generation sleeps on */
  _Atomic uint32_t count; /* sleepers registered in the current generation */
  _Atomic uint32_t out[MPROC__PARK_SEMS]; /* units posted, not yet taken */
} mproc__park_words;

int mproc__os_park_open(mproc__os_park **out, const char *name,
                        mproc__park_words *words, int create);
void mproc__os_park_close(mproc__os_park *p);
void mproc__os_park_unlink(const char *name);
/** The handles a child needs for this parking place (as
 *  mproc__os_shm_pass): up to MPROC__PARK_SEMS into h; returns how many,
 *  0 when the child reopens it by name. */
size_t mproc__os_park_pass(const mproc__os_park *p, mproc_handle *h);
/** Open the parking place of an object a parent passed, from the n
 *  handles it passed (n == 0: by name). Owns the handles. */
int mproc__os_park_adopt(mproc__os_park **out, const char *name,
                         mproc__park_words *words, const mproc_handle *h,
                         size_t n);

/** Sleep while *addr == expected, at most `timeout` (MPROC__INF: no
 *  limit). Returns 0 when woken (possibly spuriously, or because the value
 *  already differs) or MPROC_ETIMEDOUT. */
int mproc__os_wait(mproc__os_park *p, _Atomic uint32_t *addr,
                   uint32_t expected, double timeout);
/** Wake up to n sleepers on addr (INT32_MAX: all). */
void mproc__os_wake(mproc__os_park *p, _Atomic uint32_t *addr, int n);
/** Wake every sleeper on addr from a signal handler (mproc_interrupt):
 *  async-signal-safe, never blocks. It may give up (park-sem: when its
 *  pid-lock is held, perhaps by the very thread the signal hit); the
 *  sleeper's own slice then ends its sleep (wait.c). Called only for an
 *  addr some thread of this process sleeps on now. */
void mproc__os_wake_intr(mproc__os_park *p, _Atomic uint32_t *addr);

/* ---- helper group: the program's helper process ------------------------- */

/* One helper process per program: the resource tracker, whose policy is
 * the common layer's (src/tracker.c). The backend offers the mechanism: a
 * process that runs `fn` until the program has ended (and for as long
 * after as fn takes), untouched by the signals a terminal or a service
 * manager sends the whole process group; and a datagram channel to it,
 * whose client end every process of the program holds (fork children
 * inherit it, spawned children are handed it by the spawn protocol). */

enum {
  MPROC__HELPER_IF_NONE = 1, /* start one unless this process has a client end */
  MPROC__HELPER_REPLACE = 2  /* start a new one (ours cannot be reached) */
};

/** Start the helper running fn() (the backend ends the process when fn
 *  returns), with a fresh channel whose client end becomes this
 *  process's. `how`: MPROC__HELPER_*. 0; MPROC_ENOTSUP where the backend
 *  has none (Windows: the kernel counts holders, src/tracker.c says why);
 *  another code. Thread-safety: serialised with the starts. */
int mproc__os_helper_start(void (*fn)(void), int how);
/** 1 if this process has a client end (started here, inherited through
 *  fork, or handed over by the spawn protocol), else 0. */
int mproc__os_helper_have(void);
/** Send one message of n bytes (at most 1024) to the helper: 0; 1 when
 *  nobody receives (the helper died); or another code. Never blocks for
 *  long, never raises a signal. */
int mproc__os_helper_send(const void *msg, size_t n);
/** In the helper: the next message (at most cap bytes) into buf, waiting
 *  for one; its length, or 0 once the program has ended (its main
 *  process is gone, or no client end is left) and every message sent
 *  before that is taken. */
int mproc__os_helper_recv(void *buf, size_t cap);

/* ---- named semaphores (only for backends that use src/park-sem.c) -------- */

typedef struct mproc__os_sem mproc__os_sem;
/** Create (exclusively) or open the counting semaphore `name` + `suffix`. */
int mproc__os_sem_open(mproc__os_sem **out, const char *name,
                       const char *suffix, int create);
void mproc__os_sem_close(mproc__os_sem *s);
void mproc__os_sem_unlink(const char *name, const char *suffix);
/** The handle a child needs (Windows), MPROC_NO_HANDLE to reopen by name
 *  (POSIX); adopt wraps a passed handle. */
mproc_handle mproc__os_sem_pass(const mproc__os_sem *s);
int mproc__os_sem_adopt(mproc__os_sem **out, mproc_handle h);
/** Take one unit, waiting at most `timeout` (MPROC__INF: no limit); 0 or
 *  MPROC_ETIMEDOUT (also for a wait the backend had to cut short). */
int mproc__os_sem_wait(mproc__os_sem *s, double timeout);
void mproc__os_sem_post(mproc__os_sem *s, uint32_t n);

/* ---- called by the backends, implemented in the common layer ------------- */

/**
 * The one up-call for a child's start: in a spawn or forkserver child,
 * decode the bootstrap message, adopt the `n` handles that came beside it
 * (mproc__start.handles, as this process sees them), find the target and
 * run it. Calls mproc__os_watch_parent() before the target runs. Returns
 * 0 with the target's exit code in *exitcode (any int: a target may
 * return a negative code); on a bootstrap failure returns a negative
 * MPROC_E* code with the sentence in mproc_last_error(), which the backend
 * sends to the parent before exiting with MPROC__BOOT_EXIT. `msg` must be
 * 16-byte aligned and stay valid until the process exits (the target's
 * argument points into it, and is then aligned for any type).
 */
int mproc__child_main(const void *msg, size_t len, const mproc_handle *h,
                      size_t n, int *exitcode);

/** The exit code of a child whose bootstrap failed. */
#define MPROC__BOOT_EXIT 120

#endif
