/* mproc: TCP connections on Windows — the socket half of the pipe group
 * (conn.c hands a socket end's operations to these). Reads and writes are
 * overlapped WSARecv / WSASend waited for on the end's own events, so one
 * thread may send while another receives, as on a named pipe.
 *
 * Readiness (poll, mproc_conn_wait): WSAEventSelect(FD_READ | FD_CLOSE)
 * arms the end's read event, then a one-byte MSG_PEEK says whether data
 * or the end of file is there already (arming first: nothing that comes
 * between is missed). WSAEventSelect makes the socket non-blocking; the
 * wait's end undoes both, so nothing stays armed between calls. */
#include <winsock2.h>
#include <ws2tcpip.h>

#include "win32.h"

static INIT_ONCE wsa_once = INIT_ONCE_STATIC_INIT;
static int wsa_rc;

static BOOL CALLBACK wsa_start(PINIT_ONCE once, PVOID arg, PVOID *ctx) {
  WSADATA d;
  int r = WSAStartup(MAKEWORD(2, 2), &d);
  (void)once, (void)arg, (void)ctx;
  wsa_rc = r ? mproc__win_err((DWORD)r, "WSAStartup") : 0;
  return TRUE;
}

int mproc__win_wsa_init(void) {
  InitOnceExecuteOnce(&wsa_once, wsa_start, NULL, NULL);
  return wsa_rc;
}

static int sock_err(int err, const char *what) {
  if (err == WSAECONNRESET || err == WSAECONNABORTED || err == WSAESHUTDOWN ||
      err == WSAENOTCONN || err == WSAENETRESET)
    return MPROC_EEOF;
  return mproc__win_err((DWORD)err, "%s on a socket", what);
}

/* Finish an overlapped socket call; 0 with *done, or the WSA error. */
static int finish(SOCKET s, WSAOVERLAPPED *ov, int r, DWORD *done) {
  DWORD flags = 0;
  int err;
  if (r == 0)
    return WSAGetOverlappedResult(s, ov, done, FALSE, &flags)
               ? 0
               : WSAGetLastError();
  err = WSAGetLastError();
  if (err != WSA_IO_PENDING) return err;
  return WSAGetOverlappedResult(s, ov, done, TRUE, &flags) ? 0
                                                           : WSAGetLastError();
}

int mproc__win_sock_read(uintptr_t sock, HANDLE ev, void *buf, size_t n,
                         size_t *got) {
  SOCKET s = (SOCKET)sock;
  char *p = buf;
  *got = 0;
  while (*got < n) {
    WSAOVERLAPPED ov;
    WSABUF b;
    DWORD done = 0, flags = 0;
    int err;
    b.len = n - *got > (1u << 30) ? (1u << 30) : (ULONG)(n - *got);
    b.buf = p + *got;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    ResetEvent(ev);
    err = finish(s, &ov, WSARecv(s, &b, 1, NULL, &flags, &ov, NULL), &done);
    if (err) return sock_err(err, "WSARecv");
    if (done == 0) return MPROC_EEOF;
    *got += done;
  }
  return 0;
}

static int send_all(SOCKET s, HANDLE ev, const char *p, size_t n) {
  while (n > 0) {
    WSAOVERLAPPED ov;
    WSABUF b;
    DWORD done = 0;
    int err;
    b.len = n > (1u << 30) ? (1u << 30) : (ULONG)n;
    b.buf = (char *)(uintptr_t)p;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    ResetEvent(ev);
    err = finish(s, &ov, WSASend(s, &b, 1, NULL, 0, &ov, NULL), &done);
    /* Non-blocking while another thread's wait has the socket armed. */
    if (err == WSAEWOULDBLOCK) {
      Sleep(1);
      continue;
    }
    if (err) return sock_err(err, "WSASend");
    p += done;
    n -= done;
  }
  return 0;
}

int mproc__win_sock_write(uintptr_t sock, HANDLE ev, const void *hdr, size_t hn,
                          const void *buf, size_t n) {
  char small[4096];
  int rc;
  if (hn <= sizeof small && n <= sizeof small - hn) {
    memcpy(small, hdr, hn);
    if (n) memcpy(small + hn, buf, n);
    return send_all((SOCKET)sock, ev, small, hn + n);
  }
  rc = send_all((SOCKET)sock, ev, hdr, hn);
  return rc < 0 ? rc : send_all((SOCKET)sock, ev, buf, n);
}

/* Disarm: back to a blocking socket with no event. */
static void disarm(SOCKET s, HANDLE ev) {
  u_long off = 0;
  WSAEventSelect(s, NULL, 0);
  ioctlsocket(s, FIONBIO, &off);
  ResetEvent(ev);
}

int mproc__win_sock_wait_begin(uintptr_t sock, HANDLE ev) {
  SOCKET s = (SOCKET)sock;
  char b;
  int r, err;
  ResetEvent(ev);
  if (WSAEventSelect(s, ev, FD_READ | FD_CLOSE) != 0)
    return mproc__win_err((DWORD)WSAGetLastError(), "WSAEventSelect");
  r = recv(s, &b, 1, MSG_PEEK);
  if (r >= 0) { /* data, or 0: the end of file */
    disarm(s, ev);
    return 1;
  }
  err = WSAGetLastError();
  if (err == WSAEWOULDBLOCK) return 0;
  disarm(s, ev);
  return sock_err(err, "recv(MSG_PEEK)") == MPROC_EEOF
             ? 1
             : mproc__win_err((DWORD)err, "recv(MSG_PEEK) on a socket");
}

int mproc__win_sock_wait_end(uintptr_t sock, HANDLE ev, int signalled) {
  disarm((SOCKET)sock, ev);
  return signalled;
}

void mproc__win_sock_close(uintptr_t sock) { closesocket((SOCKET)sock); }
