/* mproc: starting, waiting for and stopping children on Windows (spawn).
 *
 * Spawn protocol (the child's half is in child.c):
 *   1. The parent makes two anonymous pipes — the bootstrap pipe (parent
 *      writes) and the report pipe (child writes) — and a handle to
 *      itself with SYNCHRONIZE only, for the child's parent watch.
 *   2. It re-executes its own program, suspended, with
 *        "<exe>" --mproc-spawn=<boot read end>,<parent>,<report write end>
 *      The child inherits exactly those three handles and inheritable
 *      duplicates of our stdio, listed in PROC_THREAD_ATTRIBUTE_HANDLE_LIST;
 *      they are made inheritable for this one call and closed right after.
 *   3. It puts the child in the kill-on-close job, resumes it and writes
 *      into the bootstrap pipe a u64 count and that many u64 handle values
 *      (the pipe ends passed to the child: inheritable duplicates, also in
 *      the handle list, closed here after the call), then a u64 length and
 *      the bootstrap message.
 *   4. A child whose bootstrap fails writes its error sentence into the
 *      report pipe and exits with MPROC__BOOT_EXIT; the parent reads the
 *      sentence once the child has ended with that code.
 * The job (closed by the kernel when this process dies, however it dies)
 * and the child's watch on the parent handle make sure no child outlives
 * its parent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32.h"

#define STOP_TERM 1L
#define STOP_KILL 2L

struct mproc__os_proc {
  HANDLE process;       /* the sentinel */
  HANDLE report;        /* read end of the report pipe; NULL once read */
  DWORD pid;
  volatile LONG stops;  /* STOP_* asked of TerminateProcess (see below) */
  int reaped;
  int result;           /* once reaped: 0 or MPROC_EBOOTSTRAP */
  int exitcode;
  char boot_error[512]; /* the child's sentence when result is EBOOTSTRAP */
};

/* Handles the parent makes for one spawn; all NULL when not held. */
typedef struct spawn_io {
  HANDLE boot_r, boot_w;     /* bootstrap pipe: child reads, we write */
  HANDLE report_r, report_w; /* report pipe: child writes, we read */
  HANDLE parent;             /* ourselves, SYNCHRONIZE, for the child */
  HANDLE std[3];             /* inheritable duplicates of our stdio */
  HANDLE conn[MPROC__HANDLES_MAX]; /* inheritable duplicates of the
                                       pipe ends to pass */
  HANDLE conn_value[MPROC__HANDLES_MAX]; /* their values, for the child */
  size_t n_conn;
} spawn_io;

/* ---- the kill-on-close job ------------------------------------------------ */

static INIT_ONCE job_once = INIT_ONCE_STATIC_INIT;
static HANDLE job;
static DWORD job_err;

static BOOL CALLBACK job_create(PINIT_ONCE once, PVOID param, PVOID *ctx) {
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
  HANDLE j = CreateJobObjectW(NULL, NULL); /* not inheritable */
  (void)once, (void)param, (void)ctx;
  if (j == NULL) {
    job_err = GetLastError();
    return TRUE;
  }
  memset(&info, 0, sizeof info);
  /* KILL_ON_JOB_CLOSE: the kernel closes our handle when we die, however
   * we die, and that kills every child and grandchild in the job.
   * DIE_ON_UNHANDLED_EXCEPTION: a crashing worker ends at once instead of
   * waiting in an error-report dialog, so its parent sees the death.
   * BREAKAWAY_OK: user code may still start a process outside the job
   * with CREATE_BREAKAWAY_FROM_JOB. */
  info.BasicLimitInformation.LimitFlags =
      JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE |
      JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION |
      JOB_OBJECT_LIMIT_BREAKAWAY_OK;
  if (!SetInformationJobObject(j, JobObjectExtendedLimitInformation, &info,
                               sizeof info)) {
    job_err = GetLastError();
    CloseHandle(j);
    return TRUE;
  }
  job = j;
  return TRUE;
}

static HANDLE the_job(void) {
  InitOnceExecuteOnce(&job_once, job_create, NULL, NULL);
  return job;
}

int mproc__os_init(void) {
  if (the_job() == NULL)
    return mproc__win_err(job_err, "creating the kill-on-close job object "
                                   "for child processes");
  return 0;
}

/* ---- building the child's command line ------------------------------------ */

/* mproc_set_executable's program (UTF-16), or NULL for our own. */
static WCHAR *executable;

int mproc__os_set_executable(const char *path) {
  WCHAR *w = NULL;
  DWORD attr;
  int n;
  if (path != NULL) {
    n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    if (n <= 0)
      return mproc__err(MPROC_EINVAL, "mproc_set_executable: \"%s\" is not "
                                      "valid UTF-8",
                        path);
    w = malloc((size_t)n * sizeof *w);
    if (w == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
    MultiByteToWideChar(CP_UTF8, 0, path, -1, w, n);
    attr = GetFileAttributesW(w);
    if (attr == INVALID_FILE_ATTRIBUTES || (attr & FILE_ATTRIBUTE_DIRECTORY)) {
      DWORD err = attr == INVALID_FILE_ATTRIBUTES ? GetLastError()
                                                  : ERROR_FILE_NOT_FOUND;
      free(w);
      return mproc__win_err(err, "mproc_set_executable(\"%s\")", path);
    }
  }
  free(executable);
  executable = w;
  return 0;
}

/* The program to start: mproc_set_executable's, else this program's path,
 * from a buffer grown until it fits (long paths). */
static int exe_path(WCHAR **out) {
  DWORD size = MAX_PATH, n;
  WCHAR *buf = NULL;
  if (executable) {
    size_t len = wcslen(executable) + 1;
    buf = malloc(len * sizeof *buf);
    if (buf == NULL)
      return mproc__err(MPROC_ENOMEM, "out of memory for the program path");
    memcpy(buf, executable, len * sizeof *buf);
    *out = buf;
    return 0;
  }
  for (;;) {
    WCHAR *nb = realloc(buf, size * sizeof *nb);
    if (nb == NULL) {
      free(buf);
      return mproc__err(MPROC_ENOMEM, "out of memory for the program path");
    }
    buf = nb;
    n = GetModuleFileNameW(NULL, buf, size);
    if (n == 0) {
      DWORD err = GetLastError();
      free(buf);
      return mproc__win_err(err, "GetModuleFileNameW");
    }
    if (n < size) break;
    size *= 2;
  }
  *out = buf;
  return 0;
}

static int build_cmdline(WCHAR **out, const WCHAR *exe, const spawn_io *io) {
  /* A path cannot contain '"', so quoting it is enough for the child's
   * argument parser. */
  size_t len = wcslen(exe) + 3 * 24 + sizeof MPROC__SPAWN_FLAG + 8;
  WCHAR *cmd = malloc(len * sizeof *cmd);
  if (cmd == NULL)
    return mproc__err(MPROC_ENOMEM, "out of memory for the command line");
  _snwprintf(cmd, len, L"\"%ls\" %hs%llu,%llu,%llu", exe, MPROC__SPAWN_FLAG,
             (unsigned long long)(uintptr_t)io->boot_r,
             (unsigned long long)(uintptr_t)io->parent,
             (unsigned long long)(uintptr_t)io->report_w);
  cmd[len - 1] = L'\0';
  *out = cmd;
  return 0;
}

/* ---- the handles the child receives --------------------------------------- */

static void io_close(spawn_io *io) {
  size_t i;
  for (i = 0; i < io->n_conn; i++) mproc__win_close(io->conn[i]);
  mproc__win_close(io->boot_r);
  mproc__win_close(io->boot_w);
  mproc__win_close(io->report_r);
  mproc__win_close(io->report_w);
  mproc__win_close(io->parent);
  for (i = 0; i < 3; i++) mproc__win_close(io->std[i]);
  memset(io, 0, sizeof *io);
}

/* Close what only the child needed, once it has its copies. */
static void io_close_child_side(spawn_io *io) {
  size_t i;
  for (i = 0; i < io->n_conn; i++) mproc__win_close(io->conn[i]);
  io->n_conn = 0;
  mproc__win_close(io->boot_r);
  mproc__win_close(io->report_w);
  mproc__win_close(io->parent);
  for (i = 0; i < 3; i++) mproc__win_close(io->std[i]);
  io->boot_r = io->report_w = io->parent = NULL;
  io->std[0] = io->std[1] = io->std[2] = NULL;
}

/* Both pipes, non-inheritable; the child's ends become inheritable in
 * io_share() for the one CreateProcessW call that hands them over. */
static int io_pipes(spawn_io *io) {
  if (!CreatePipe(&io->boot_r, &io->boot_w, NULL, 64 * 1024))
    return mproc__win_err(GetLastError(), "CreatePipe (bootstrap pipe)");
  if (!CreatePipe(&io->report_r, &io->report_w, NULL, 4096))
    return mproc__win_err(GetLastError(), "CreatePipe (report pipe)");
  return 0;
}

/* A console pseudo-handle of Windows 7 (value ending in binary 11) cannot
 * be listed in PROC_THREAD_ATTRIBUTE_HANDLE_LIST; the console passes it on
 * by itself (CPython filters the same way). */
static int listable(HANDLE h) {
  return ((uintptr_t)h & 3) != 3 || GetFileType(h) != FILE_TYPE_CHAR;
}

/* Inheritable duplicates of the pipe ends to pass, listed in `list`. */
static int io_share_conns(spawn_io *io, const mproc__start *st, HANDLE *list,
                          DWORD *n) {
  HANDLE self = GetCurrentProcess();
  size_t i;
  for (i = 0; i < st->n_handles; i++) {
    if (!DuplicateHandle(self, (HANDLE)(intptr_t)st->handles[i], self,
                         &io->conn[i], 0, TRUE, DUPLICATE_SAME_ACCESS))
      return mproc__win_err(GetLastError(), "DuplicateHandle (pipe end %zu "
                                            "for the child)",
                            i);
    io->n_conn = i + 1;
    io->conn_value[i] = io->conn[i];
    list[(*n)++] = io->conn[i];
  }
  return 0;
}

/* Make the child's handles inheritable and list them in `list`. */
static int io_share(spawn_io *io, HANDLE *list, DWORD *n) {
  static const DWORD which[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
                                 STD_ERROR_HANDLE};
  HANDLE self = GetCurrentProcess();
  int i;
  *n = 0;
  if (!DuplicateHandle(self, self, self, &io->parent, SYNCHRONIZE, TRUE, 0))
    return mproc__win_err(GetLastError(), "DuplicateHandle (parent handle "
                                          "for the child)");
  if (!SetHandleInformation(io->boot_r, HANDLE_FLAG_INHERIT,
                            HANDLE_FLAG_INHERIT) ||
      !SetHandleInformation(io->report_w, HANDLE_FLAG_INHERIT,
                            HANDLE_FLAG_INHERIT))
    return mproc__win_err(GetLastError(), "SetHandleInformation");
  list[(*n)++] = io->boot_r;
  list[(*n)++] = io->report_w;
  list[(*n)++] = io->parent;
  /* Our stdio, so the child's output lands where ours does (a console,
   * a file, CTest's pipe). No stdio (a GUI program) is not an error. */
  for (i = 0; i < 3; i++) {
    HANDLE h = GetStdHandle(which[i]);
    if (h == NULL || h == INVALID_HANDLE_VALUE) continue;
    if (!DuplicateHandle(self, h, self, &io->std[i], 0, TRUE,
                         DUPLICATE_SAME_ACCESS)) {
      io->std[i] = NULL;
      continue;
    }
    if (listable(io->std[i])) list[(*n)++] = io->std[i];
  }
  return 0;
}

/* ---- creating the child ---------------------------------------------------- */

static int create_child(const WCHAR *exe, WCHAR *cmd, const spawn_io *io,
                        HANDLE *list, DWORD nlist, PROCESS_INFORMATION *pi) {
  STARTUPINFOEXW si;
  SIZE_T size = 0;
  DWORD err = 0;
  int attempt, rc = 0;

  memset(&si, 0, sizeof si);
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = io->std[0];
  si.StartupInfo.hStdOutput = io->std[1];
  si.StartupInfo.hStdError = io->std[2];
  InitializeProcThreadAttributeList(NULL, 1, 0, &size);
  si.lpAttributeList = HeapAlloc(GetProcessHeap(), 0, size);
  if (si.lpAttributeList == NULL)
    return mproc__err(MPROC_ENOMEM, "out of memory for the attribute list");
  if (!InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0, &size)) {
    rc = mproc__win_err(GetLastError(), "InitializeProcThreadAttributeList");
    HeapFree(GetProcessHeap(), 0, si.lpAttributeList);
    return rc;
  }
  if (!UpdateProcThreadAttribute(si.lpAttributeList, 0,
                                 PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list,
                                 nlist * sizeof *list, NULL, NULL)) {
    rc = mproc__win_err(GetLastError(), "UpdateProcThreadAttribute");
    goto cleanup;
  }
  /* Wine now and then fails a good call with ERROR_INTERNAL_ERROR; one
   * retry has always been enough. */
  for (attempt = 0; attempt < 2; attempt++) {
    if (CreateProcessW(exe, cmd, NULL, NULL, TRUE,
                       CREATE_SUSPENDED | EXTENDED_STARTUPINFO_PRESENT |
                           CREATE_UNICODE_ENVIRONMENT,
                       NULL, NULL, &si.StartupInfo, pi))
      goto cleanup;
    err = GetLastError();
    if (err != ERROR_INTERNAL_ERROR) break;
  }
  rc = mproc__win_err(err, "CreateProcessW");
cleanup:
  DeleteProcThreadAttributeList(si.lpAttributeList);
  HeapFree(GetProcessHeap(), 0, si.lpAttributeList);
  return rc;
}

/* Write all of buf; false with GetLastError() set when the reader is gone. */
static BOOL write_all(HANDLE h, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    DWORD chunk = len > (1u << 20) ? (1u << 20) : (DWORD)len, done = 0;
    if (!WriteFile(h, p, chunk, &done, NULL)) return FALSE;
    p += done;
    len -= done;
  }
  return TRUE;
}

/* Hand the bootstrap message over. The child reads it in mproc_init; if it
 * ended first the write fails, and the start fails with it. */
static int send_boot(mproc__os_proc *p, spawn_io *io, const mproc__start *st) {
  uint64_t len = st->boot_len, hs[1 + MPROC__HANDLES_MAX];
  size_t i;
  DWORD err;
  hs[0] = st->n_handles;
  for (i = 0; i < st->n_handles; i++)
    hs[1 + i] = (uint64_t)(uintptr_t)io->conn_value[i];
  if (write_all(io->boot_w, hs, (1 + st->n_handles) * sizeof hs[0]) &&
      write_all(io->boot_w, &len, sizeof len) &&
      write_all(io->boot_w, st->boot, st->boot_len)) {
    mproc__win_close(io->boot_w);
    io->boot_w = NULL;
    return 0;
  }
  err = GetLastError();
  TerminateProcess(p->process, 1);
  WaitForSingleObject(p->process, INFINITE);
  return mproc__win_err(err, "sending the bootstrap message (%zu bytes) to "
                             "child process %lu",
                        st->boot_len, (unsigned long)p->pid);
}

static void proc_release(mproc__os_proc *p) {
  if (p == NULL) return;
  mproc__win_close(p->process);
  mproc__win_close(p->report);
  free(p);
}

int mproc__os_proc_start(mproc__os_proc **out, const mproc__start *st) {
  spawn_io io;
  HANDLE list[6 + MPROC__HANDLES_MAX], job_h;
  DWORD nlist = 0;
  WCHAR *exe = NULL, *cmd = NULL;
  PROCESS_INFORMATION pi;
  mproc__os_proc *p = NULL;
  int rc;

  memset(&io, 0, sizeof io);
  *out = NULL;
  if (st->method != MPROC_START_SPAWN)
    return mproc__err(MPROC_ENOTSUP, "Windows starts children by spawn "
                                     "only");
  p = calloc(1, sizeof *p);
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  job_h = the_job(); /* made here too when a spawned child starts its own */
  if ((rc = exe_path(&exe)) < 0 || (rc = io_pipes(&io)) < 0 ||
      (rc = io_share(&io, list, &nlist)) < 0 ||
      (rc = io_share_conns(&io, st, list, &nlist)) < 0 ||
      (rc = build_cmdline(&cmd, exe, &io)) < 0)
    goto cleanup;
  rc = create_child(exe, cmd, &io, list, nlist, &pi);
  io_close_child_side(&io); /* the child has its copies, or no child */
  if (rc < 0) goto cleanup;
  p->process = pi.hProcess;
  p->pid = pi.dwProcessId;
  /* Job before the first instruction runs, so even a grandchild it starts
   * at once is in it. Failure is tolerated: old Windows and Wine refuse
   * nested jobs when we are in a job ourselves, and the child's parent
   * watch still holds. */
  if (job_h) AssignProcessToJobObject(job_h, pi.hProcess);
  ResumeThread(pi.hThread);
  CloseHandle(pi.hThread);
  rc = send_boot(p, &io, st);
  if (rc < 0) goto cleanup;
  p->report = io.report_r;
  io.report_r = NULL;
  *out = p;
  p = NULL;
cleanup:
  io_close(&io);
  proc_release(p);
  free(exe);
  free(cmd);
  return rc;
}

/* ---- waiting ------------------------------------------------------------- */

/* The exit code with Python's meaning: minus the signal number when we
 * terminated or killed the child (CPython's TERMINATE convention). Wine
 * keeps only the low 8 bits, so there the low byte is matched, but only
 * after we asked for that stop. */
static int translate(mproc__os_proc *p, DWORD code) {
  LONG stops = InterlockedOr(&p->stops, 0);
  if (code == MPROC__TERM_CODE ||
      ((stops & STOP_TERM) && code == (MPROC__TERM_CODE & 0xff)))
    return -15;
  if (code == MPROC__KILL_CODE ||
      ((stops & STOP_KILL) && code == (MPROC__KILL_CODE & 0xff)))
    return -9;
  return (int)code;
}

/* Read the child's report, if it wrote one. The child has ended, so the
 * pipe holds all it will ever hold: peek first and never block. */
static int read_report(mproc__os_proc *p) {
  DWORD avail = 0, got = 0;
  if (p->report == NULL) return 0;
  if (!PeekNamedPipe(p->report, NULL, 0, NULL, &avail, NULL) || avail == 0)
    return 0;
  if (avail > sizeof p->boot_error - 1) avail = sizeof p->boot_error - 1;
  if (!ReadFile(p->report, p->boot_error, avail, &got, NULL) || got == 0)
    return 0;
  p->boot_error[got] = '\0';
  return 1;
}

static int reap(mproc__os_proc *p) {
  DWORD code = 0;
  if (!GetExitCodeProcess(p->process, &code))
    return mproc__win_err(GetLastError(), "GetExitCodeProcess on process "
                                          "%lu",
                          (unsigned long)p->pid);
  p->exitcode = translate(p, code);
  p->result = 0;
  if (code == MPROC__BOOT_EXIT && read_report(p)) p->result = MPROC_EBOOTSTRAP;
  mproc__win_close(p->report);
  p->report = NULL;
  p->reaped = 1;
  return 0;
}

int mproc__os_proc_wait(mproc__os_proc *p, double timeout, int *exitcode) {
  double deadline = mproc__deadline(timeout);
  int rc;
  while (!p->reaped) {
    DWORD r = WaitForSingleObject(p->process, mproc__win_wait_ms(deadline));
    if (r == WAIT_OBJECT_0) {
      rc = reap(p);
      if (rc < 0) return rc;
    } else if (r == WAIT_FAILED) {
      return mproc__win_err(GetLastError(), "WaitForSingleObject on process "
                                            "%lu",
                            (unsigned long)p->pid);
    } else if (deadline >= 0 && mproc__remaining(deadline) <= 0) {
      return MPROC_ETIMEDOUT;
    }
  }
  *exitcode = p->exitcode;
  if (p->result == MPROC_EBOOTSTRAP)
    return mproc__err(MPROC_EBOOTSTRAP, "%s", p->boot_error);
  return 0;
}

/* ---- stopping ------------------------------------------------------------ */

int mproc__os_proc_signal(mproc__os_proc *p, int sig) {
  int hard = sig == MPROC__SIG_KILL;
  LONG bit = hard ? STOP_KILL : STOP_TERM, before;
  DWORD err;
  if (sig == MPROC__SIG_INT)
    /* GenerateConsoleCtrlEvent reaches a console process group, not one
     * process, and CTRL_C_EVENT only group 0 (every process on the
     * console): there is no sound way to interrupt one child. */
    return mproc__err(MPROC_ENOTSUP,
                      "interrupt: Windows cannot send Ctrl-C to one "
                      "process; use terminate, or an Event the child "
                      "watches");
  if (p->reaped || WaitForSingleObject(p->process, 0) == WAIT_OBJECT_0)
    return 0; /* already ended: left alone */
  /* Recorded before the call: a waiter may see the end the moment
   * TerminateProcess returns, and must then know it was ours. */
  before = InterlockedOr(&p->stops, bit);
  if (TerminateProcess(p->process, hard ? MPROC__KILL_CODE
                                        : MPROC__TERM_CODE))
    return 0;
  err = GetLastError();
  /* It ended by itself in between: its own exit code stands. */
  if (!(before & bit)) InterlockedAnd(&p->stops, ~bit);
  if (WaitForSingleObject(p->process, 0) == WAIT_OBJECT_0) return 0;
  return mproc__win_err(err, "TerminateProcess on process %lu",
                        (unsigned long)p->pid);
}

long mproc__os_proc_pid(const mproc__os_proc *p) { return (long)p->pid; }

mproc_handle mproc__os_proc_sentinel(const mproc__os_proc *p) {
  return (mproc_handle)(intptr_t)p->process;
}

void mproc__os_proc_free(mproc__os_proc *p) { proc_release(p); }

int mproc__os_proc_affinity(mproc__os_proc *p, const int *cpus, size_t n) {
  DWORD_PTR mask = 0;
  size_t i;
  for (i = 0; i < n; i++) {
    if (cpus[i] < 0 || cpus[i] >= (int)(8 * sizeof mask))
      return mproc__err(MPROC_ERANGE, "affinity: CPU %d is past the %d one "
                        "process group holds", cpus[i],
                        (int)(8 * sizeof mask));
    mask |= (DWORD_PTR)1 << cpus[i];
  }
  if (!SetProcessAffinityMask(p->process, mask))
    return mproc__win_err(GetLastError(), "SetProcessAffinityMask");
  return 0;
}
