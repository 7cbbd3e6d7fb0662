/* mproc: the spawned child's side of the spawn protocol (see process.c).
 *
 * mproc_init() calls mproc__os_child_entry() first thing. When the command
 * line carries MPROC__SPAWN_FLAG this process is a child: it starts the
 * parent watch, reads the bootstrap message, runs it and exits; it never
 * returns to main(). */
#include <process.h> /* _cexit */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "win32.h"

typedef struct child_handles {
  HANDLE boot;   /* read end of the bootstrap pipe */
  HANDLE parent; /* the parent process, SYNCHRONIZE */
  HANDLE report; /* write end of the report pipe */
} child_handles;

static uv_thread_t watch_thread;
/* The parent process (SYNCHRONIZE), kept open: the watch waits on it, and
 * it is the parent's sentinel (mproc_parent_process). */
static HANDLE parent_handle;

mproc_handle mproc__os_parent_sentinel(void) {
  return parent_handle ? (mproc_handle)(intptr_t)parent_handle
                       : MPROC_NO_HANDLE;
}

/* The target returned: end as a program's normal exit does, since a
 * spawned child is a fresh program — _cexit runs the atexit handlers and
 * flushes stdio — but without ExitProcess's DLL detach (see
 * mproc__os_exit), which could deadlock on a lock another thread held. */
static void exit_normal(int code) {
  _cexit();
  mproc__os_exit(code);
}

/* Parse "<boot>,<parent>,<report>" (decimal handle values). */
static int parse_flag(const char *s, child_handles *ch) {
  unsigned long long v[3];
  char *end;
  int i;
  for (i = 0; i < 3; i++) {
    v[i] = strtoull(s, &end, 10);
    if (end == s || *end != (i < 2 ? ',' : '\0')) return -1;
    s = end + (i < 2);
  }
  ch->boot = (HANDLE)(uintptr_t)v[0];
  ch->parent = (HANDLE)(uintptr_t)v[1];
  ch->report = (HANDLE)(uintptr_t)v[2];
  return 0;
}

static const char *find_flag(int argc, char **argv) {
  size_t len = strlen(MPROC__SPAWN_FLAG);
  int i;
  if (argv == NULL) return NULL;
  for (i = 1; i < argc && argv[i]; i++)
    if (strncmp(argv[i], MPROC__SPAWN_FLAG, len) == 0) return argv[i] + len;
  return NULL;
}

/* The child's end of a failed bootstrap: tell the parent why (it reads
 * the sentence once we have ended) and exit with the agreed code. */
static void fail(HANDLE report) {
  const char *msg = mproc_last_error();
  DWORD done = 0;
  if (report != NULL) WriteFile(report, msg, (DWORD)strlen(msg), &done, NULL);
  mproc__os_exit(MPROC__BOOT_EXIT);
}

/* The parent watch: when the parent ends — even by TerminateProcess, which
 * gives it no chance to stop us — this child ends too. The job object
 * does the same where it works; this covers nested jobs that old Windows
 * and Wine refuse, and grandchildren whose own parent (a child) dies. */
static void watch_parent(void *arg) {
  HANDLE parent = arg;
  if (WaitForSingleObject(parent, INFINITE) == WAIT_OBJECT_0)
    TerminateProcess(GetCurrentProcess(), 1);
}

static int start_watch(HANDLE parent) {
  uv_thread_options_t opts;
  int rc;
  opts.flags = UV_THREAD_HAS_STACK_SIZE;
  opts.stack_size = 64 * 1024; /* it only waits */
  rc = uv_thread_create_ex(&watch_thread, &opts, watch_parent, parent);
  if (rc != 0)
    return mproc__err(MPROC_EBOOTSTRAP,
                      "cannot start the thread that watches the parent: %s",
                      uv_strerror(rc));
  return 0;
}

static int read_all(HANDLE h, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    DWORD chunk = len > (1u << 20) ? (1u << 20) : (DWORD)len, got = 0;
    if (!ReadFile(h, p, chunk, &got, NULL) || got == 0) {
      DWORD err = GetLastError();
      mproc__win_err(err, "reading the bootstrap message from the parent");
      return mproc__err(MPROC_EBOOTSTRAP, "%s", mproc_last_error());
    }
    p += got;
    len -= got;
  }
  return 0;
}

/* The handles passed beside the message (the pass list's), as this
 * process sees them. */
static mproc_handle received[MPROC__HANDLES_MAX];
static size_t n_received;

/* The parent is watched from the start (start_watch, before the message
 * is read): nothing more to do once the message names it. */
int mproc__os_watch_parent(long parent_pid) {
  (void)parent_pid;
  return 0;
}

/* Read the passed handle values (a u64 count, then u64s): ours now,
 * inherited only to reach us. */
static int read_handles(HANDLE h) {
  uint64_t n = 0, v[MPROC__HANDLES_MAX];
  size_t i;
  int rc = read_all(h, &n, sizeof n);
  if (rc < 0) return rc;
  if (n > MPROC__HANDLES_MAX)
    return mproc__err(MPROC_EBOOTSTRAP, "the parent passed %llu handles; "
                                        "the limit is %d",
                      (unsigned long long)n, MPROC__HANDLES_MAX);
  if (n > 0) rc = read_all(h, v, (size_t)n * sizeof v[0]);
  if (rc < 0) return rc;
  for (i = 0; i < n; i++) {
    received[i] = (mproc_handle)(uintptr_t)v[i];
    SetHandleInformation((HANDLE)(uintptr_t)v[i], HANDLE_FLAG_INHERIT, 0);
  }
  n_received = (size_t)n;
  return 0;
}

/* Read the handles, the u64 length and the message it announces. */
static int read_boot(HANDLE h, void **msg, size_t *len) {
  uint64_t n = 0;
  int rc = read_handles(h);
  void *buf;
  if (rc == 0) rc = read_all(h, &n, sizeof n);
  if (rc < 0) return rc;
  if (n > (uint64_t)SIZE_MAX - 1)
    return mproc__err(MPROC_EBOOTSTRAP, "bootstrap message of %llu bytes "
                                        "is too large",
                      (unsigned long long)n);
  buf = malloc(n ? (size_t)n : 1);
  if (buf == NULL)
    return mproc__err(MPROC_EBOOTSTRAP, "out of memory for a %llu-byte "
                                        "bootstrap message",
                      (unsigned long long)n);
  rc = read_all(h, buf, (size_t)n);
  if (rc < 0) {
    free(buf);
    return rc;
  }
  *msg = buf;
  *len = (size_t)n;
  return 0;
}

int mproc__os_child_entry(int argc, char **argv) {
  const char *flag = find_flag(argc, argv);
  child_handles ch = {NULL, NULL, NULL};
  void *msg = NULL;
  size_t len = 0;
  int rc;

  if (flag == NULL) return 0;
  if (parse_flag(flag, &ch) < 0) {
    /* No report pipe to answer on: stderr is all there is. */
    fprintf(stderr, "mproc: malformed %s argument \"%s\"\n", MPROC__SPAWN_FLAG,
            flag);
    mproc__os_exit(MPROC__BOOT_EXIT);
  }
  /* The three handles were inheritable only to reach us: a process this
   * child starts by other means (system(), popen) must not get them, or
   * it would hold our report pipe open and keep our parent waiting. */
  SetHandleInformation(ch.boot, HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation(ch.parent, HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation(ch.report, HANDLE_FLAG_INHERIT, 0);
  parent_handle = ch.parent;
  rc = start_watch(ch.parent);
  if (rc < 0) fail(ch.report);
  rc = read_boot(ch.boot, &msg, &len);
  CloseHandle(ch.boot);
  if (rc < 0) fail(ch.report);
  {
    int code = 0;
    rc = mproc__child_main(msg, len, received, n_received, &code);
    if (rc < 0) fail(ch.report);
    free(msg);
    exit_normal(code);
  }
  return 0; /* not reached */
}
