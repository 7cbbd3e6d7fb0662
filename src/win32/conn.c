/* mproc: the Windows pipe group — a Connection is one end of an
 * overlapped byte-mode named pipe, \\.\pipe\mproc-<pid>-<random>, made
 * with one instance and connected at once, as CPython's Pipe() does.
 * Byte mode: the messages are framed by the common layer, as on POSIX.
 *
 * Every operation is overlapped and then waited for, so one thread can
 * write while another reads. Readiness (poll, mproc_conn_wait) is a
 * zero-byte overlapped read: it completes when data arrives or the peer
 * is gone, and consumes nothing; its event (manual-reset) is what
 * mproc__os_wait_handles waits on. A wait that ends without it is
 * cancelled, so nothing stays pending between calls and an end can be
 * passed to a child at any time.
 *
 * A TCP end (a Listener's or Client's, connection.c) is the same object
 * around a socket (`sock`); its operations are sock.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32.h"

#define PIPE_BUF_SIZE (64 * 1024)
/* A header and a message up to this size go in one WriteFile. */
#define SMALL_MSG 4096

struct mproc__os_conn {
  HANDLE h;
  HANDLE rev;      /* reads and the readiness wait */
  HANDLE wev;      /* writes */
  OVERLAPPED wait; /* the zero-byte read, while `waiting` */
  int waiting;
  int sock; /* h is a SOCKET: sock.c does the work */
};

static char zero_buf[1];

static int conn_wrap(HANDLE h, mproc__os_conn **out) {
  mproc__os_conn *c = calloc(1, sizeof *c);
  DWORD err;
  if (c == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  c->h = h;
  c->rev = CreateEventW(NULL, TRUE, FALSE, NULL);
  c->wev = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (c->rev && c->wev) {
    *out = c;
    return 0;
  }
  err = GetLastError();
  mproc__win_close(c->rev);
  mproc__win_close(c->wev);
  free(c);
  return mproc__win_err(err, "CreateEventW (pipe end)");
}

/* Connect our own client to the server end just made. */
static int connect_server(HANDLE server) {
  OVERLAPPED ov;
  DWORD done, err;
  int rc = 0;
  memset(&ov, 0, sizeof ov);
  ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (ov.hEvent == NULL)
    return mproc__win_err(GetLastError(), "CreateEventW");
  if (!ConnectNamedPipe(server, &ov)) {
    err = GetLastError();
    if (err == ERROR_IO_PENDING) {
      if (!GetOverlappedResult(server, &ov, &done, TRUE))
        rc = mproc__win_err(GetLastError(), "ConnectNamedPipe");
    } else if (err != ERROR_PIPE_CONNECTED) {
      rc = mproc__win_err(err, "ConnectNamedPipe");
    }
  }
  CloseHandle(ov.hEvent);
  return rc;
}

/* The two handles of a new pipe, not inheritable (no security attributes). */
static int make_pipe(int duplex, HANDLE *server, HANDLE *client) {
  unsigned char rnd[8];
  wchar_t name[96];
  DWORD open_mode = (duplex ? PIPE_ACCESS_DUPLEX : PIPE_ACCESS_INBOUND) |
                    FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE;
  int rc = mproc__os_random(rnd, sizeof rnd);
  if (rc < 0) return rc;
  _snwprintf(name, sizeof name / sizeof name[0],
             L"\\\\.\\pipe\\mproc-%lu-%02x%02x%02x%02x%02x%02x%02x%02x",
             (unsigned long)GetCurrentProcessId(), rnd[0], rnd[1], rnd[2],
             rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
  name[sizeof name / sizeof name[0] - 1] = L'\0';
  *server = CreateNamedPipeW(name, open_mode,
                             PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                 PIPE_REJECT_REMOTE_CLIENTS,
                             1, PIPE_BUF_SIZE, PIPE_BUF_SIZE, 0, NULL);
  if (*server == INVALID_HANDLE_VALUE) {
    *server = NULL;
    return mproc__win_err(GetLastError(), "CreateNamedPipeW");
  }
  *client = CreateFileW(name, duplex ? GENERIC_READ | GENERIC_WRITE
                                     : GENERIC_WRITE | FILE_READ_ATTRIBUTES,
                        0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
  if (*client == INVALID_HANDLE_VALUE) {
    *client = NULL;
    return mproc__win_err(GetLastError(), "CreateFileW (pipe client)");
  }
  return connect_server(*server);
}

int mproc__os_conn_pair(int duplex, mproc__os_conn **a, mproc__os_conn **b) {
  HANDLE server = NULL, client = NULL;
  int rc = make_pipe(duplex, &server, &client);
  *a = *b = NULL;
  if (rc == 0) rc = conn_wrap(server, a);
  if (rc == 0) rc = conn_wrap(client, b);
  if (rc == 0) return 0;
  if (*a) {
    mproc__os_conn_close(*a); /* closes server */
    *a = NULL;
  } else {
    mproc__win_close(server);
  }
  mproc__win_close(client);
  return rc;
}

int mproc__win_conn_socket(uintptr_t sock, mproc__os_conn **out) {
  int rc = conn_wrap((HANDLE)sock, out);
  if (rc == 0) (*out)->sock = 1;
  return rc;
}

int mproc__os_conn_adopt(mproc_handle h, mproc__os_conn **out) {
  HANDLE hh = (HANDLE)(intptr_t)h;
  /* Inherited to reach us only: a process we start by other means must
   * not hold it (it would keep the end of file from our peer). */
  SetHandleInformation(hh, HANDLE_FLAG_INHERIT, 0);
  return conn_wrap(hh, out);
}

/* Finish an overlapped call; returns 0 with *done, or the Windows error. */
static DWORD finish(HANDLE h, OVERLAPPED *ov, BOOL ok, DWORD *done) {
  DWORD err;
  if (ok) return GetOverlappedResult(h, ov, done, FALSE) ? 0 : GetLastError();
  err = GetLastError();
  if (err != ERROR_IO_PENDING) return err;
  return GetOverlappedResult(h, ov, done, TRUE) ? 0 : GetLastError();
}

static int io_err(DWORD err, const char *what) {
  if (err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA ||
      err == ERROR_PIPE_NOT_CONNECTED)
    return MPROC_EEOF;
  return mproc__win_err(err, "%s on a pipe end", what);
}

int mproc__os_conn_read(mproc__os_conn *c, void *buf, size_t n, size_t *got) {
  char *p = buf;
  if (c->sock)
    return mproc__win_sock_read((uintptr_t)c->h, c->rev, buf, n, got);
  *got = 0;
  while (*got < n) {
    OVERLAPPED ov;
    DWORD chunk = n - *got > (1u << 30) ? (1u << 30) : (DWORD)(n - *got);
    DWORD done = 0, err;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = c->rev;
    ResetEvent(c->rev);
    err = finish(c->h, &ov, ReadFile(c->h, p + *got, chunk, NULL, &ov),
                 &done);
    if (err) return io_err(err, "ReadFile");
    if (done == 0) return MPROC_EEOF;
    *got += done;
  }
  return 0;
}

static int write_all(mproc__os_conn *c, const char *p, size_t n) {
  while (n > 0) {
    OVERLAPPED ov;
    DWORD chunk = n > (1u << 30) ? (1u << 30) : (DWORD)n, done = 0, err;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = c->wev;
    ResetEvent(c->wev);
    err = finish(c->h, &ov, WriteFile(c->h, p, chunk, NULL, &ov), &done);
    if (err) return io_err(err, "WriteFile");
    p += done;
    n -= done;
  }
  return 0;
}

int mproc__os_conn_write(mproc__os_conn *c, const void *hdr, size_t hn,
                         const void *buf, size_t n) {
  char small[SMALL_MSG];
  int rc;
  if (c->sock)
    return mproc__win_sock_write((uintptr_t)c->h, c->wev, hdr, hn, buf, n);
  if (hn <= sizeof small && n <= sizeof small - hn) {
    memcpy(small, hdr, hn);
    if (n) memcpy(small + hn, buf, n);
    return write_all(c, small, hn + n);
  }
  rc = write_all(c, hdr, hn);
  return rc < 0 ? rc : write_all(c, buf, n);
}

/* ---- readiness ------------------------------------------------------------ */

int mproc__os_conn_wait_begin(mproc__os_conn *c, mproc_handle *h) {
  DWORD avail = 0, err;
  if (c->sock) {
    int rc = mproc__win_sock_wait_begin((uintptr_t)c->h, c->rev);
    c->waiting = rc == 0;
    if (rc == 0) *h = (mproc_handle)(intptr_t)c->rev;
    return rc;
  }
  if (!PeekNamedPipe(c->h, NULL, 0, NULL, &avail, NULL)) {
    err = GetLastError();
    if (io_err(err, "PeekNamedPipe") == MPROC_EEOF) return 1;
    return mproc__win_err(err, "PeekNamedPipe on a pipe end");
  }
  if (avail > 0) return 1;
  memset(&c->wait, 0, sizeof c->wait);
  c->wait.hEvent = c->rev;
  ResetEvent(c->rev);
  if (ReadFile(c->h, zero_buf, 0, NULL, &c->wait)) {
    /* Done at once: data came in the meantime, or a peer is gone. */
    ResetEvent(c->rev);
    return 1;
  }
  err = GetLastError();
  if (err == ERROR_IO_PENDING) {
    c->waiting = 1;
    *h = (mproc_handle)(intptr_t)c->rev;
    return 0;
  }
  if (io_err(err, "ReadFile") == MPROC_EEOF) return 1;
  return mproc__win_err(err, "ReadFile (zero bytes) on a pipe end");
}

int mproc__os_conn_wait_end(mproc__os_conn *c, int signalled) {
  DWORD done = 0, err = 0;
  if (!c->waiting) return signalled;
  c->waiting = 0;
  if (c->sock)
    return mproc__win_sock_wait_end((uintptr_t)c->h, c->rev, signalled);
  if (!signalled) CancelIoEx(c->h, &c->wait);
  /* Collect it (cancelled, or done meanwhile: then it counts). */
  if (!GetOverlappedResult(c->h, &c->wait, &done, TRUE))
    err = GetLastError();
  ResetEvent(c->rev);
  if (err == ERROR_OPERATION_ABORTED) return 0;
  return 1; /* data, or an error a read will report (end of file) */
}

int mproc__os_conn_poll(mproc__os_conn *c, double timeout) {
  double deadline = mproc__deadline(timeout);
  mproc_handle h;
  int rc = mproc__os_conn_wait_begin(c, &h);
  if (rc != 0) return rc;
  for (;;) {
    DWORD r = WaitForSingleObject(c->rev, mproc__win_wait_ms(deadline));
    if (r == WAIT_OBJECT_0) return mproc__os_conn_wait_end(c, 1);
    if (r == WAIT_FAILED) {
      DWORD err = GetLastError();
      mproc__os_conn_wait_end(c, 0);
      return mproc__win_err(err, "WaitForSingleObject on a pipe end");
    }
    if (deadline >= 0 && mproc__remaining(deadline) <= 0)
      return mproc__os_conn_wait_end(c, 0);
  }
}

mproc_handle mproc__os_conn_handle(const mproc__os_conn *c) {
  return (mproc_handle)(intptr_t)c->h;
}

/* A socket would reach the child as a handle it takes for a pipe's. */
int mproc__os_conn_passable(const mproc__os_conn *c) { return !c->sock; }

static void release(mproc__os_conn *c, int close_pipe) {
  if (c == NULL) return;
  if (c->waiting) mproc__os_conn_wait_end(c, 0);
  if (close_pipe && c->sock)
    mproc__win_sock_close((uintptr_t)c->h);
  else if (close_pipe)
    mproc__win_close(c->h);
  mproc__win_close(c->rev);
  mproc__win_close(c->wev);
  free(c);
}

void mproc__os_conn_close(mproc__os_conn *c) { release(c, 1); }
void mproc__os_conn_forget(mproc__os_conn *c) { release(c, 0); }
