/* mproc tests: small platform helpers (util-posix.c, util-win32.c) and the
 * child-side check macro. */
#ifndef MPROC_TESTS_UTIL_H
#define MPROC_TESTS_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* 1 if a process with that id runs (a zombie counts as ended). */
int tu_pid_alive(long pid);
/* Open descriptors (POSIX) or handles (Windows) of this process. */
long tu_handle_count(void);
void tu_sleep_ms(int ms);
/* Kill a process by id outright; 0 on success. */
int tu_kill_pid(long pid);
/* How a worker's death message tells that end: "killed by signal 9"
 * (POSIX: SIGKILL), "exit code 1" (Windows: TerminateProcess(h, 1)). */
const char *tu_kill_pid_end(void);

/* A child never calls a CMocka assert (its longjmp would run the rest of
 * the suite inside the child): it prints where and exits non-zero. */
#define CHILD_CHECK(cond)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: child check failed: %s\n", __FILE__, __LINE__,  \
              #cond);                                                          \
      fflush(stderr);                                                          \
      return 99;                                                               \
    }                                                                          \
  } while (0)

/* Run this test program again as a separate program with two arguments
 * (a role and its argument); tu_set_argv0 records main's argv[0] first.
 * Returns the pid, or -1. tu_wait_pid waits for it and returns its exit
 * code (negative signal number if killed). */
void tu_set_argv0(const char *argv0);
long tu_spawn_self(const char *a1, const char *a2);
int tu_wait_pid(long pid);

/* tu_spawn_self with the child's standard output and error going into a
 * pipe; *out is its read end (not inheritable), for tu_read_to_eof. The
 * child's own children inherit the write end, so its end of file comes
 * once the whole tree (a resource tracker too) has ended. -1 on failure. */
long tu_spawn_self_out(const char *a1, const char *a2, intptr_t *out);
/* Read r until every write end is closed, keeping up to cap - 1 bytes in
 * buf (NUL-terminated; the rest is read and dropped): the count kept, or
 * -1 if the end did not come within `seconds`. Closes nothing. */
long tu_read_to_eof(intptr_t r, char *buf, size_t cap, double seconds);

/* fork() where the platform has it (0 in the child, the pid in the
 * parent), -1 where it does not. */
long tu_fork(void);
/* _exit without flushing or atexit handlers. */
void tu_exit(int code);
/* How many names in the shared memory file system (Linux /dev/shm) start
 * with `prefix`; -1 where there is no such place to look. */
int tu_count_shm(const char *prefix);
/* The names tu_count_shm counts, into names[0..max) (a "sem." prefix
 * dropped, each cut to 63 characters): how many there are (-1 where there
 * is no such place). */
int tu_list_shm(const char *prefix, char (*names)[64], int max);
/* tu_count_shm, waiting up to 5 s for it to reach 0 (a child's last close
 * may still be under way). */
int tu_count_shm_settled(const char *prefix);

/* White-box peek: read the 32-bit word at `offset` in the shared memory
 * object `name` (an mproc object's segment), as another process sees it;
 * 0 on success. For tests that must know a waiter is asleep. */
int tu_peek_u32(const char *name, size_t offset, uint32_t *out);
/* The same at `offset` of the segment `name` itself (tu_peek_u32 reads an
 * arena object's state, at offsets from 1024 on, in its arena's slot). */
int tu_peek_raw(const char *name, size_t offset, uint32_t *out);

/* Send SIGINT to a process (POSIX); -1 where there is no such signal. */
int tu_sigint_pid(long pid);

/* Make a descriptor non-blocking (O_NONBLOCK) where that exists, as a
 * caller's own poll loop would; 0 if done, -1 where it does not apply. */
int tu_set_nonblocking(intptr_t handle);

/* A pipe whose write end is inheritable (POSIX: no CLOEXEC; Windows:
 * bInheritHandle), as a program's own careless descriptor would be; its
 * read end is not. 0 on success. tu_pipe_eof waits up to `seconds` for
 * the read end to see every write end closed (1), else 0. */
int tu_inheritable_pipe(intptr_t *r, intptr_t *w);
int tu_pipe_eof(intptr_t r, double seconds);
void tu_close_handle(intptr_t h);

/* SIGINT in this process: back to the default action (catch 0), or
 * caught by a handler that raises tu_sigint_seen (catch 1). No-ops where
 * there is no SIGINT to speak of (Windows). */
void tu_sigint(int catch_it);
extern volatile int tu_sigint_seen;

/* The path of an executable next to this test program (".exe" added on
 * Windows). */
void tu_sibling_exe(char *buf, size_t n, const char *name);
/* Write raw bytes to a connection's OS handle (a socket on POSIX, an
 * overlapped named pipe on Windows), bypassing the framing; 0 on success. */
int tu_write_raw(intptr_t handle, const void *buf, size_t n);

/* setenv where the platform has it. */
void tu_setenv(const char *name, const char *value);

/* A unique temporary file name for this test run. */
void tu_temp_path(char *buf, size_t n, const char *tag);
/* Write a number to a file atomically (write then rename). */
int tu_write_long(const char *path, long v);
/* Wait up to `seconds` for the file and read it; 0 on success. */
int tu_read_long(const char *path, long *v, double seconds);

/* As an event loop takes an executor's completions: wait on its completion
 * handle h (up to `seconds` each time), take every completed future with
 * mproc_executor_next_completed until `total` were taken; each must be
 * done and have a task number below total not seen before (seen[] holds
 * total bytes, zeroed here); check(f, k, arg), when not NULL, looks at
 * each before it is freed. 0, or -1 with *why naming what went wrong. */
struct mproc_executor;
struct mproc_future;
int tu_drain_completions(struct mproc_executor *ex, intptr_t h, size_t total,
                         double seconds, unsigned char *seen,
                         void (*check)(struct mproc_future *f, size_t k,
                                       void *arg),
                         void *arg, const char **why);

#endif
