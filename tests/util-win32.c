/* mproc tests: Windows helpers (the twin of util-posix.c). */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int tu_pid_alive(long pid) {
  /* A process object outlives its process while anyone holds a handle to
   * it (the parent's sentinel does): alive means not yet signalled. */
  HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
                         FALSE, (DWORD)pid);
  DWORD r;
  if (h == NULL) return GetLastError() == ERROR_ACCESS_DENIED;
  r = WaitForSingleObject(h, 0);
  CloseHandle(h);
  return r == WAIT_TIMEOUT;
}

long tu_handle_count(void) {
  DWORD n = 0, flags;
  uintptr_t v;
  if (!GetProcessHandleCount(GetCurrentProcess(), &n)) return -1;
  if (n > 0) return (long)n;
  /* Wine answers 0 (no process is without handles): count the valid
   * handle values instead. They are multiples of 4, and Wine's table
   * holds well under 65536 of them; the scan takes ~0.2 s there. */
  for (v = 4; v < (uintptr_t)4 * 65536; v += 4)
    if (GetHandleInformation((HANDLE)v, &flags)) n++;
  return (long)n;
}

void tu_sleep_ms(int ms) { Sleep(ms > 0 ? (DWORD)ms : 0); }

int tu_kill_pid(long pid) {
  HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)pid);
  BOOL ok;
  if (h == NULL) return -1;
  ok = TerminateProcess(h, 1);
  CloseHandle(h);
  return ok ? 0 : -1;
}

const char *tu_kill_pid_end(void) { return "exit code 1"; }

extern const char *tu_argv0;

/* This program again with a1 a2, started with si (inheriting handles
 * when `inherit`); its pid, or -1. */
static long spawn_self(const char *a1, const char *a2, STARTUPINFOA *si,
                       BOOL inherit) {
  char cmd[1024];
  PROCESS_INFORMATION pi;
  snprintf(cmd, sizeof cmd, "\"%s\" %s %s", tu_argv0, a1, a2);
  if (!CreateProcessA(NULL, cmd, NULL, NULL, inherit, 0, NULL, NULL, si, &pi))
    return -1;
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  return (long)pi.dwProcessId;
}

long tu_spawn_self(const char *a1, const char *a2) {
  STARTUPINFOA si;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  return spawn_self(a1, a2, &si, FALSE);
}

long tu_spawn_self_out(const char *a1, const char *a2, intptr_t *out) {
  STARTUPINFOA si;
  SECURITY_ATTRIBUTES sa;
  HANDLE hr, hw;
  long pid;
  *out = -1;
  sa.nLength = sizeof sa;
  sa.lpSecurityDescriptor = NULL;
  sa.bInheritHandle = TRUE;
  if (!CreatePipe(&hr, &hw, &sa, 0)) return -1;
  SetHandleInformation(hr, HANDLE_FLAG_INHERIT, 0);
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  /* Standard input too is a handle the child surely has: the pipe's
   * write end (a read of it fails at once), not this process's own
   * standard input, which may not be inheritable. */
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = hw;
  si.hStdOutput = hw;
  si.hStdError = hw;
  pid = spawn_self(a1, a2, &si, TRUE);
  CloseHandle(hw);
  if (pid < 0) {
    CloseHandle(hr);
    return -1;
  }
  *out = (intptr_t)hr;
  return pid;
}

long tu_read_to_eof(intptr_t r, char *buf, size_t cap, double seconds) {
  size_t kept = 0;
  int waited = 0;
  char chunk[4096];
  for (;;) {
    DWORD avail = 0, n = 0;
    if (!PeekNamedPipe((HANDLE)r, NULL, 0, NULL, &avail, NULL)) {
      if (cap > 0) buf[kept] = '\0';
      return GetLastError() == ERROR_BROKEN_PIPE ? (long)kept : -1;
    }
    if (avail == 0) {
      if (waited >= seconds * 1000) break;
      Sleep(5);
      waited += 5;
      continue;
    }
    if (!ReadFile((HANDLE)r, chunk,
                  avail < sizeof chunk ? avail : (DWORD)sizeof chunk, &n,
                  NULL))
      continue; /* a broken pipe: the peek above says so */
    if (cap > 0 && kept < cap - 1) {
      size_t take = n < cap - 1 - kept ? n : cap - 1 - kept;
      memcpy(buf + kept, chunk, take);
      kept += take;
    }
  }
  if (cap > 0) buf[kept] = '\0';
  return -1;
}

int tu_wait_pid(long pid) {
  HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
                         FALSE, (DWORD)pid);
  DWORD code = 0;
  if (h == NULL) return -1000; /* already gone and reaped */
  WaitForSingleObject(h, INFINITE);
  GetExitCodeProcess(h, &code);
  CloseHandle(h);
  return (int)code;
}

long tu_fork(void) { return -1; }

void tu_exit(int code) { ExitProcess((UINT)code); }

int tu_count_shm(const char *prefix) {
  (void)prefix; /* kernel objects: nothing to list */
  return -1;
}

int tu_list_shm(const char *prefix, char (*names)[64], int max) {
  (void)prefix, (void)names, (void)max; /* as tu_count_shm */
  return -1;
}

void tu_setenv(const char *name, const char *value) {
  _putenv_s(name, value);
}

int tu_set_nonblocking(intptr_t handle) {
  (void)handle; /* named pipes: no such mode for our handles */
  return -1;
}

int tu_inheritable_pipe(intptr_t *r, intptr_t *w) {
  SECURITY_ATTRIBUTES sa;
  HANDLE hr, hw;
  sa.nLength = sizeof sa;
  sa.lpSecurityDescriptor = NULL;
  sa.bInheritHandle = TRUE;
  if (!CreatePipe(&hr, &hw, &sa, 0)) return -1;
  SetHandleInformation(hr, HANDLE_FLAG_INHERIT, 0);
  *r = (intptr_t)hr;
  *w = (intptr_t)hw;
  return 0;
}

int tu_pipe_eof(intptr_t r, double seconds) {
  int waited = 0;
  for (;;) {
    DWORD avail = 0;
    if (!PeekNamedPipe((HANDLE)r, NULL, 0, NULL, &avail, NULL))
      return GetLastError() == ERROR_BROKEN_PIPE;
    if (waited >= seconds * 1000) return 0;
    Sleep(5);
    waited += 5;
  }
}

void tu_close_handle(intptr_t h) { CloseHandle((HANDLE)h); }

volatile int tu_sigint_seen;

void tu_sigint(int catch_it) { (void)catch_it; }

void tu_sibling_exe(char *buf, size_t n, const char *name) {
  char self[MAX_PATH * 4];
  DWORD len = GetModuleFileNameA(NULL, self, sizeof self);
  char *cut = NULL, *p;
  if (len == 0 || len >= sizeof self) self[0] = '\0';
  for (p = self; *p; p++)
    if (*p == '\\' || *p == '/') cut = p;
  if (cut) cut[1] = '\0';
  else self[0] = '\0';
  snprintf(buf, n, "%s%s.exe", self, name);
}

int tu_peek_raw(const char *name, size_t offset, uint32_t *out) {
  wchar_t wname[64];
  HANDLE h;
  void *base;
  swprintf(wname, 64, L"Local\\%hs", name);
  h = OpenFileMappingW(FILE_MAP_READ, FALSE, wname);
  if (h == NULL) return -1;
  base = MapViewOfFile(h, FILE_MAP_READ, 0, 0, offset + 4);
  CloseHandle(h);
  if (base == NULL) return -1;
  *out = __atomic_load_n((const uint32_t *)((char *)base + offset),
                         __ATOMIC_SEQ_CST);
  UnmapViewOfFile(base);
  return 0;
}

int tu_sigint_pid(long pid) {
  (void)pid;
  return -1;
}

int tu_write_raw(intptr_t handle, const void *buf, size_t n) {
  /* A named pipe end opened overlapped: an OVERLAPPED write, waited for. */
  OVERLAPPED ov;
  DWORD done = 0;
  BOOL ok;
  memset(&ov, 0, sizeof ov);
  ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (ov.hEvent == NULL) return -1;
  ok = WriteFile((HANDLE)handle, buf, (DWORD)n, NULL, &ov);
  if (!ok && GetLastError() == ERROR_IO_PENDING) ok = TRUE;
  ok = ok && GetOverlappedResult((HANDLE)handle, &ov, &done, TRUE);
  CloseHandle(ov.hEvent);
  return ok && done == n ? 0 : -1;
}
