/* mproc: the Windows listener group — Listener and Client over named
 * pipes (AF_PIPE) and TCP.
 *
 * Named pipes: as CPython's PipeListener, one instance always waits for
 * the next client (an overlapped ConnectNamedPipe); accepting takes the
 * connected instance and puts a fresh one in its place. Instances are
 * byte-mode (the common layer frames messages), overlapped, not
 * inheritable, and refuse remote clients (PIPE_REJECT_REMOTE_CLIENTS);
 * the first is made with FILE_FLAG_FIRST_PIPE_INSTANCE, so a name that
 * another process serves already is MPROC_EEXIST, not a shared pipe.
 *
 * TCP: the listening socket signals its event on FD_ACCEPT
 * (WSAEventSelect, which also makes it non-blocking: an accept after the
 * wait never blocks); an accepted socket inherits that selection, which
 * is undone so it is an ordinary blocking socket (sock.c). Without
 * SO_REUSEADDR (on Windows it lets another socket take the port), and
 * with SO_EXCLUSIVEADDRUSE, as Python's Listener on Windows. */
#include <winsock2.h>
#include <ws2tcpip.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../conn-internal.h"
#include "win32.h"

#define PIPE_BUF_SIZE (64 * 1024)

struct mproc__os_listener {
  int family;
  char address[MPROC_ADDRESS_MAX];
  wchar_t name[MPROC_ADDRESS_MAX]; /* AF_PIPE */
  HANDLE pending; /* AF_PIPE: the instance waiting */
  OVERLAPPED ov; /* its ConnectNamedPipe */
  SOCKET s; /* AF_INET */
  HANDLE ev; /* ov's event, or FD_ACCEPT's */
};

int mproc__os_local_family(void) { return MPROC_AF_PIPE; }

/* ---- named pipes ----------------------------------------------------------
 */

static int wide(const char *s, wchar_t *out, size_t cap) {
  if (MultiByteToWideChar(CP_UTF8, 0, s, -1, out, (int)cap) == 0)
    return mproc__win_err(GetLastError(), "pipe name \"%s\"", s);
  return 0;
}

/* Make the next instance and begin waiting for its client. */
static int pipe_instance(mproc__os_listener *l, int first) {
  DWORD err;
  HANDLE h = CreateNamedPipeW(l->name,
                              PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                                  (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
                              PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                  PIPE_REJECT_REMOTE_CLIENTS,
                              PIPE_UNLIMITED_INSTANCES, PIPE_BUF_SIZE,
                              PIPE_BUF_SIZE, 0, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    err = GetLastError();
    if (err == ERROR_ACCESS_DENIED && first)
      return mproc__err(MPROC_EEXIST, "named pipe \"%s\" is served already",
                        l->address);
    return mproc__win_err(err, "CreateNamedPipeW(\"%s\")", l->address);
  }
  memset(&l->ov, 0, sizeof l->ov);
  l->ov.hEvent = l->ev;
  ResetEvent(l->ev);
  l->pending = h;
  if (ConnectNamedPipe(h, &l->ov)) return 0;
  err = GetLastError();
  if (err == ERROR_PIPE_CONNECTED) { /* a client came first */
    SetEvent(l->ev);
    return 0;
  }
  if (err == ERROR_IO_PENDING) return 0;
  return mproc__win_err(err, "ConnectNamedPipe(\"%s\")", l->address);
}

static int listen_pipe(mproc__os_listener *l, const char *address) {
  unsigned char r[8];
  int rc;
  if (address == NULL) {
    rc = mproc__os_random(r, sizeof r);
    if (rc < 0) return rc;
    snprintf(l->address, sizeof l->address,
             "\\\\.\\pipe\\mproc-%lu-%02x%02x%02x%02x%02x%02x%02x%02x",
             (unsigned long)GetCurrentProcessId(), r[0], r[1], r[2], r[3], r[4],
             r[5], r[6], r[7]);
  } else {
    snprintf(l->address, sizeof l->address, "%s", address);
  }
  rc = wide(l->address, l->name, MPROC_ADDRESS_MAX);
  if (rc < 0) return rc;
  /* FILE_FLAG_FIRST_PIPE_INSTANCE refuses a served name on Windows, but
   * not under Wine: ask first whether the name exists (any answer but
   * "not found" means it does). */
  if (WaitNamedPipeW(l->name, 1) || GetLastError() != ERROR_FILE_NOT_FOUND)
    return mproc__err(MPROC_EEXIST, "named pipe \"%s\" is served already",
                      l->address);
  l->ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (l->ev == NULL) return mproc__win_err(GetLastError(), "CreateEventW");
  return pipe_instance(l, 1);
}

static int accept_pipe(mproc__os_listener *l, mproc__os_conn **out) {
  HANDLE h = l->pending;
  DWORD done = 0;
  int rc;
  if (h == NULL) return pipe_instance(l, 0) < 0 ? MPROC_EOS : MPROC_EAGAIN;
  if (!GetOverlappedResult(h, &l->ov, &done, FALSE)) {
    DWORD err = GetLastError();
    if (err == ERROR_IO_INCOMPLETE) return MPROC_EAGAIN;
    if (err != ERROR_PIPE_CONNECTED) {
      /* The client left before we took it: serve a fresh instance. */
      mproc__win_close(h);
      l->pending = NULL;
      rc = pipe_instance(l, 0);
      return rc < 0 ? rc : MPROC_EAGAIN;
    }
  }
  l->pending = NULL;
  rc = mproc__os_conn_adopt((mproc_handle)(intptr_t)h, out);
  if (rc < 0) {
    mproc__win_close(h);
    return rc;
  }
  rc = pipe_instance(l, 0); /* a failure shows at the next accept */
  if (rc < 0 && l->pending == NULL) SetEvent(l->ev);
  return 0;
}

static int connect_pipe(const char *address, double timeout,
                        mproc__os_conn **out) {
  wchar_t name[MPROC_ADDRESS_MAX];
  double deadline = mproc__deadline(timeout);
  HANDLE h;
  int rc = wide(address, name, MPROC_ADDRESS_MAX);
  if (rc < 0) return rc;
  for (;;) {
    DWORD err;
    h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                    FILE_FLAG_OVERLAPPED, NULL);
    if (h != INVALID_HANDLE_VALUE) break;
    err = GetLastError();
    if (err == ERROR_FILE_NOT_FOUND)
      return mproc__err(MPROC_ENOENT,
                        "connect: nothing listens on named "
                        "pipe \"%s\"",
                        address);
    if (err != ERROR_PIPE_BUSY)
      return mproc__win_err(err, "CreateFileW(\"%s\")", address);
    /* Every instance is taken: wait for the listener's next one. */
    if (deadline >= 0 && mproc__remaining(deadline) <= 0)
      return mproc__err(MPROC_ETIMEDOUT,
                        "connect: named pipe \"%s\" stayed "
                        "busy",
                        address);
    WaitNamedPipeW(name, mproc__win_wait_ms(deadline) > 1000
                             ? 1000
                             : mproc__win_wait_ms(deadline) + 1);
  }
  rc = mproc__os_conn_adopt((mproc_handle)(intptr_t)h, out);
  if (rc < 0) mproc__win_close(h);
  return rc;
}

/* ---- TCP -------------------------------------------------------------------
 */

static int wsa_err(const char *what, const char *address) {
  return mproc__win_err((DWORD)WSAGetLastError(), "%s \"%s\"", what, address);
}

/* Resolve "host:port" (freeaddrinfo *res). */
static int tcp_addr(const char *address, int passive, struct addrinfo **res) {
  char host[MPROC_ADDRESS_MAX], port[8];
  struct addrinfo hints;
  unsigned p;
  int r = mproc__win_wsa_init();
  if (r < 0) return r;
  if (mproc__addr_split(address, host, sizeof host, &p) < 0)
    return mproc__err(MPROC_EINVAL, "\"%s\" is no host:port address", address);
  snprintf(port, sizeof port, "%u", p);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  r = getaddrinfo(host, port, &hints, res);
  if (r != 0)
    return mproc__err(MPROC_ENOENT, "host \"%s\" does not resolve (error %d)",
                      host, r);
  return 0;
}

static SOCKET new_socket(int af) {
  SOCKET s =
      WSASocketW(af, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
  if (s != INVALID_SOCKET)
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
  return s;
}

static void tcp_name(SOCKET s, char *out, size_t cap) {
  struct sockaddr_storage ss;
  int n = sizeof ss;
  char ip[64] = "?";
  unsigned port = 0;
  if (getsockname(s, (struct sockaddr *)&ss, &n) == 0) {
    if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
      snprintf(out, cap, "[%s]:%u", ip, (unsigned)ntohs(s6->sin6_port));
      return;
    }
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  }
  snprintf(out, cap, "%s:%u", ip, port);
}

static int listen_tcp(mproc__os_listener *l, const char *address, int backlog) {
  struct addrinfo *res = NULL;
  const char *a = address ? address : "127.0.0.1:0";
  BOOL one = TRUE;
  int rc = tcp_addr(a, 1, &res);
  if (rc < 0) return rc;
  l->s = new_socket(res->ai_family);
  if (l->s == INVALID_SOCKET) rc = wsa_err("socket for", a);
  if (rc == 0) {
    (void)setsockopt(l->s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (char *)&one,
                     sizeof one);
    if (bind(l->s, res->ai_addr, (int)res->ai_addrlen) != 0)
      rc = wsa_err("bind to", a);
    else if (listen(l->s, backlog) != 0)
      rc = wsa_err("listen on", a);
  }
  freeaddrinfo(res);
  if (rc < 0) return rc;
  l->ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (l->ev == NULL) return mproc__win_err(GetLastError(), "CreateEventW");
  if (WSAEventSelect(l->s, l->ev, FD_ACCEPT) != 0)
    return wsa_err("WSAEventSelect on", a);
  tcp_name(l->s, l->address, sizeof l->address);
  return 0;
}

static int accept_tcp(mproc__os_listener *l, mproc__os_conn **out) {
  WSANETWORKEVENTS ne;
  u_long off = 0;
  SOCKET c;
  int rc;
  /* Reset the event before accept re-enables FD_ACCEPT: a second client
   * already waiting then sets it again. */
  (void)WSAEnumNetworkEvents(l->s, l->ev, &ne);
  c = accept(l->s, NULL, NULL);
  if (c == INVALID_SOCKET) {
    int err = WSAGetLastError();
    if (err == WSAEWOULDBLOCK || err == WSAECONNRESET || err == WSAEINTR)
      return MPROC_EAGAIN;
    return mproc__win_err((DWORD)err, "accept on \"%s\"", l->address);
  }
  SetHandleInformation((HANDLE)c, HANDLE_FLAG_INHERIT, 0);
  WSAEventSelect(c, NULL, 0); /* inherited from the listener */
  ioctlsocket(c, FIONBIO, &off);
  {
    BOOL one = TRUE;
    (void)setsockopt(c, IPPROTO_TCP, TCP_NODELAY, (char *)&one, sizeof one);
  }
  rc = mproc__win_conn_socket((uintptr_t)c, out);
  if (rc < 0) closesocket(c);
  return rc;
}

/* connect within `timeout`: non-blocking, then select for the result. */
static int connect_one(SOCKET s, const struct addrinfo *ai, double timeout,
                       const char *address) {
  u_long on = 1, off = 0;
  fd_set w, e;
  struct timeval tv, *tvp = NULL;
  int err = 0, n = sizeof err, r;
  ioctlsocket(s, FIONBIO, &on);
  if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) != 0 &&
      WSAGetLastError() != WSAEWOULDBLOCK)
    return wsa_err("connect to", address);
  FD_ZERO(&w);
  FD_ZERO(&e);
  FD_SET(s, &w);
  FD_SET(s, &e);
  if (timeout >= 0) {
    tv.tv_sec = (long)timeout;
    tv.tv_usec = (long)((timeout - (double)tv.tv_sec) * 1e6);
    tvp = &tv;
  }
  r = select(0, NULL, &w, &e, tvp);
  if (r == 0)
    return mproc__err(MPROC_ETIMEDOUT, "connect to \"%s\": no answer in time",
                      address);
  if (r < 0) return wsa_err("select (connect) for", address);
  if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &n) != 0)
    err = WSAGetLastError();
  if (err) return mproc__win_err((DWORD)err, "connect to \"%s\"", address);
  ioctlsocket(s, FIONBIO, &off);
  return 0;
}

static int connect_tcp(const char *address, double timeout,
                       mproc__os_conn **out) {
  struct addrinfo *res = NULL, *ai;
  SOCKET s = INVALID_SOCKET;
  BOOL one = TRUE;
  int rc = tcp_addr(address, 0, &res);
  for (ai = res; rc == 0 && ai; ai = ai->ai_next) {
    s = new_socket(ai->ai_family);
    rc = s == INVALID_SOCKET ? wsa_err("socket for", address)
                             : connect_one(s, ai, timeout, address);
    if (rc == 0 || ai->ai_next == NULL) break;
    closesocket(s);
    s = INVALID_SOCKET;
    rc = 0;
  }
  if (res) freeaddrinfo(res);
  if (rc == 0) {
    (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (char *)&one, sizeof one);
    rc = mproc__win_conn_socket((uintptr_t)s, out);
  }
  if (rc < 0 && s != INVALID_SOCKET) closesocket(s);
  return rc;
}

/* ---- the contract -----------------------------------------------------------
 */

int mproc__os_listen(int family, const char *address, int backlog,
                     mproc__os_listener **out) {
  mproc__os_listener *l;
  int rc;
  if (family == MPROC_AF_UNIX)
    return mproc__err(MPROC_ENOTSUP, "AF_UNIX listeners are POSIX only; "
                                     "use a named pipe or TCP on Windows");
  l = calloc(1, sizeof *l);
  if (l == NULL)
    return mproc__err(MPROC_ENOMEM, "out of memory for a listener");
  l->family = family;
  l->s = INVALID_SOCKET;
  rc = family == MPROC_AF_PIPE ? listen_pipe(l, address)
                               : listen_tcp(l, address, backlog);
  if (rc < 0) {
    mproc__os_listener_close(l);
    return rc;
  }
  *out = l;
  return 0;
}

const char *mproc__os_listener_address(const mproc__os_listener *l) {
  return l->address;
}

int mproc__os_listener_wait(mproc__os_listener *l, double timeout) {
  double deadline = mproc__deadline(timeout);
  for (;;) {
    DWORD r = WaitForSingleObject(l->ev, mproc__win_wait_ms(deadline));
    if (r == WAIT_OBJECT_0) return 1;
    if (r == WAIT_FAILED)
      return mproc__win_err(GetLastError(), "WaitForSingleObject (accept)");
    if (deadline >= 0 && mproc__remaining(deadline) <= 0) return 0;
  }
}

int mproc__os_accept(mproc__os_listener *l, mproc__os_conn **out) {
  return l->family == MPROC_AF_PIPE ? accept_pipe(l, out) : accept_tcp(l, out);
}

void mproc__os_listener_close(mproc__os_listener *l) {
  DWORD done;
  if (l == NULL) return;
  if (l->pending) {
    CancelIoEx(l->pending, &l->ov);
    (void)GetOverlappedResult(l->pending, &l->ov, &done, TRUE);
    mproc__win_close(l->pending);
  }
  if (l->s != INVALID_SOCKET) closesocket(l->s);
  mproc__win_close(l->ev);
  free(l);
}

int mproc__os_connect(int family, const char *address, double timeout,
                      mproc__os_conn **out) {
  if (family == MPROC_AF_UNIX)
    return mproc__err(MPROC_ENOTSUP, "AF_UNIX is POSIX only; use a named "
                                     "pipe or TCP on Windows");
  return family == MPROC_AF_PIPE ? connect_pipe(address, timeout, out)
                                 : connect_tcp(address, timeout, out);
}
