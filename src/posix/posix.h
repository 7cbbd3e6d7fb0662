/* mproc: what the POSIX backend's files share. */
#ifndef MPROC_POSIX_H
#define MPROC_POSIX_H

#include <spawn.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "internal.h"
#include "platform.h"

/* The send flag that keeps a write to a socket whose reader is gone from
 * raising SIGPIPE: MSG_NOSIGNAL where the system has it; elsewhere
 * (macOS) our sockets carry SO_NOSIGPIPE instead (os-darwin.c). */
#if defined(MSG_NOSIGNAL) && !defined(__APPLE__)
#define MPROC__POSIX_NOSIGNAL MSG_NOSIGNAL
#else
#define MPROC__POSIX_NOSIGNAL 0
#endif

/* error.c: translate errno, set the sentence "<what>: <strerror>". */
int mproc__posix_err(int err, const char *fmt, ...) MPROC__PRINTF(2, 3);

/* fd.c */
/* Never retried (see close(2)). errno is left as close() leaves it: callers
 * translate errno before they close anything. */
void mproc__posix_close(int fd);
int mproc__posix_dup_cloexec(int fd, int min);
int mproc__posix_set_cloexec(int fd);
/* Read exactly n bytes; returns n, fewer on EOF, or a negative code. */
ssize_t mproc__posix_read_full(int fd, void *buf, size_t n);
/* Write all n bytes to a socket, never raising SIGPIPE. */
int mproc__posix_send_all(int fd, const void *buf, size_t n);
/* 1 ready, 0 timed out, negative code; timeout < 0 waits forever. */
int mproc__posix_poll_in(int fd, double timeout);
/* poll(2) timeout in ms from seconds, rounded up, or -1 for forever. */
int mproc__posix_ms(double timeout);
/* Python's exitcode from a wait status. */
int mproc__posix_exitcode(int status);
/* waitpid without WNOHANG, retrying EINTR. */
int mproc__posix_waitpid(pid_t pid, int *status);

/* os-<system>.c: what differs between Linux, macOS and the rest. */
int mproc__posix_pipe(int fds[2]);                  /* both CLOEXEC */
int mproc__posix_socketpair(int type, int fds[2]);  /* CLOEXEC, no SIGPIPE */
int mproc__posix_socket(int domain, int type);      /* the same, one socket */
int mproc__posix_accept(int fd); /* CLOEXEC, no SIGPIPE, blocking; or < 0 */
const char *mproc__posix_exe_path(void);            /* for posix_spawn */
/* After the file actions that place the spawned child's descriptors at
 * 3 .. top-1 (`used` has bit n set for each fd 3+n that is placed), make
 * every other descriptor above 2 close in the child: glibc's
 * addclosefrom_np on Linux (else a close action per inheritable
 * descriptor), POSIX_SPAWN_CLOEXEC_DEFAULT on macOS (ORed into *flags). */
int mproc__posix_spawn_only_these(posix_spawn_file_actions_t *fa,
                                  short *flags, int top, unsigned used);
/* This process's command line, read from the system (before main, where
 * no argv is at hand): up to `max` pointers into `buf` (n bytes) or into
 * the process's own argv; the count. */
int mproc__posix_own_args(char *buf, size_t n, char **argv, int max);
/* sendmsg that never raises SIGPIPE (EPIPE -> MPROC_EEOF), and recvmsg
 * that makes received descriptors CLOEXEC; both retry EINTR and return
 * bytes or a negative code. */
struct msghdr;
ssize_t mproc__posix_sendmsg(int fd, const struct msghdr *m);
ssize_t mproc__posix_recvmsg(int fd, struct msghdr *m);
/* Whether the calling thread is the process's main thread; and, in a fork
 * child, forgetting what was known (the forking thread is the main one now). */
int mproc__posix_is_main_thread(void);
/** Ask the kernel to back [p, p + n) with huge pages, where it can
 *  (os-linux.c: MADV_HUGEPAGE; elsewhere nothing). */
void mproc__posix_hugepages(void *p, size_t n);
void mproc__posix_main_thread_after_fork(void);
/* In a new child: make sure it ends when its parent `ppid` ends. `fd` is
 * the read end of the parent's death pipe (EOF once the parent is gone);
 * `direct` says the parent is single-threaded or forked from its main
 * thread, so a parent-death signal is exact where the OS has one. */
void mproc__posix_watch_parent(int fd, long ppid, int direct);

/* misc.c: every signal back to its default action (in a helper process
 * forked from the program — the forkserver, the tracker — which must not
 * run the program's handlers: a crash must end it, not longjmp into the
 * program's code). Call with all signals blocked. */
void mproc__posix_default_signals(void);

/* deathwatch.c: the portable watch, a thread blocked on the death pipe. */
void mproc__posix_watch_thread(int fd);
/* The read end of this process's death pipe, made on first use. Its write
 * end stays open only in this process, so children see EOF when it dies. */
int mproc__posix_death_fd(void);
/* In a fork child: forget the parent's death pipe, return its read end. */
int mproc__posix_death_after_fork(void);
/* The read end of our own parent's death pipe, kept as its sentinel
 * (mproc__os_parent_sentinel); closed in our fork children. */
void mproc__posix_set_parent_fd(int fd);
void mproc__posix_parent_fd_after_fork(void);

/* start.c: the start lock serialises fd creation and fork so that no
 * child inherits a sibling's private pipe ends. */
void mproc__posix_start_lock(void);
void mproc__posix_start_unlock(void);
void mproc__posix_start_lock_reset(void);
/* Before any fork() of the library: registers the handler that resets the
 * library's inherited state in every fork child (ours and the program's),
 * before the library's own child code runs. */
void mproc__posix_atfork_init(void);
/* A service process of the program (the forkserver, the helper): forked
 * with a datagram socket pair, every signal back to its default and those
 * in `ignore` ignored (before the mask is lifted), then run(sock, death,
 * client) in it — its end of the pair, the read end of the program's
 * death pipe, and its copy of the client end when keep_client (else -1);
 * run never returns. Start lock held. *client: the program's new end. */
typedef struct mproc__posix_service {
  const char *what; /* for the error sentence */
  const int *ignore;
  size_t n_ignore;
  int keep_client;
  void (*run)(int sock, int death, int client);
} mproc__posix_service;
int mproc__posix_fork_service(const mproc__posix_service *s, int *client,
                              pid_t *pid);
/* The fds this process holds for its own parent (its sentinel end, its
 * boot socket; a forkserver child also its status pipe): closed in any
 * child we fork, so only we keep them open. set replaces the first, add
 * keeps one more. */
void mproc__posix_set_self_fd(int fd);
void mproc__posix_add_self_fd(int fd);
void mproc__posix_close_self_fd(void);

/* helper.c: the helper process's (the resource tracker's) client end (-1
 * if none), passed to spawned children, and adopting it in one. */
int mproc__posix_helper_fd(void);
void mproc__posix_helper_adopt(int fd);

/* shm.c: the registry's descriptor (-1 if none), passed to spawned
 * children, and adopted by one before it maps it. */
int mproc__posix_registry_fd(void);
void mproc__posix_registry_adopt(int fd);

struct mproc__os_proc {
  mproc_start_method method;
  pid_t pid; /* -1: not read yet (forkserver); 0: the server did not start it */
  int sentinel; /* ready when the child ended */
  int back;     /* spawn/forkserver: the bootstrap socket (reports), or -1 */
  int status;   /* forkserver: the server's pid/status pipe, or -1 */
  pid_t owner;  /* forkserver: the process that started it */
  int reaped;
  int exitcode;
  int exit_reported; /* the child sent its exit code before ending */
  int exit_record;   /* forkserver: that code, from the status pipe */
  int status_seen;   /* forkserver: the server sent the wait status */
  int wait_status;
  int boot_failed;
  char boot_error[256];
};

/* Records a spawn or forkserver child sends back on its bootstrap socket:
 * a u32 tag, then an error sentence of that length, or (tag REPORT_EXIT)
 * an i32 exit code — the target's return value, sent just before _exit, so
 * the parent of a forkserver child learns it without a round trip through
 * the server. Deaths by signal still come from the server's wait status. */
#define MPROC__REPORT_EXIT 0xffffffffu

/* The child side of spawn and forkserver: read the bootstrap message from
 * `boot` and run it; never returns. `os_parent` is the pid the OS knows as
 * our parent, or 0 when it is the one that sent us. The exit record goes
 * to `exit_fd` (a forkserver child's status pipe), or to `boot` when it
 * is -1. */
void mproc__posix_boot_child(int boot, int death, int direct, long os_parent,
                             int exit_fd) MPROC__NORETURN;

int mproc__posix_fork_start(mproc__os_proc *p, const mproc__start *st);
int mproc__posix_spawn_start(mproc__os_proc *p, const mproc__start *st);
/* In a spawned child, before mproc_init (a constructor making a named
 * object): adopt the program's registry, tracker and forkserver from the
 * descriptors the spawn protocol passed, so that nothing is made anew.
 * Once per process; a no-op in any other process. */
void mproc__posix_adopt_early(void);
int mproc__posix_forkserver_start(mproc__os_proc *p, const mproc__start *st);
int mproc__posix_forkserver_init(void);
/* The program's server socket (-1 if none), and adopting it in a spawned
 * child, which gets it as an inherited descriptor. */
int mproc__posix_forkserver_fd(void);
void mproc__posix_forkserver_adopt(int fd);
/* A forkserver child's pid: the first word on its status pipe, read on
 * first need (a start does not wait for it). 0 if the server closed the
 * pipe without one (it could not start the child), and in a process that
 * inherited the object through fork before the pid was read. */
long mproc__posix_forkserver_pid(mproc__os_proc *p);
/* Read the forkserver's status word once the sentinel is ready (a missing
 * pid becomes a bootstrap failure). */
int mproc__posix_forkserver_status(mproc__os_proc *p);
/* Send the bootstrap message — a u64 length, then the bytes — from byte
 * *sent on. The connections to pass (st->handles) ride on the length, as
 * SCM_RIGHTS; the child's read_boot collects them. With all = 0 only what the socket takes now (the forkserver
 * sends ahead of its request, so the child need not wait for us). */
int mproc__posix_send_boot(int fd, const mproc__start *st, size_t *sent,
                           int all);
/* Send up to n bytes: all of them (blocking), or what fits now (0 if
 * nothing does). Never raises SIGPIPE. */
ssize_t mproc__posix_send_some(int fd, const void *buf, size_t n, int all);
/* Collect the record the child sent before it ended (an error sentence or
 * its exit code), if any. `block`: wait for it or for EOF (the child has
 * ended or is about to); else take only what is there now. */
void mproc__posix_read_report(mproc__os_proc *p, int block);

#endif
