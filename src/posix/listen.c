/* mproc: the POSIX listener group — Listener and Client over AF_UNIX
 * stream sockets and TCP (IPv4, IPv6). A connection is an ordinary
 * socket end (conn.c): the same reads and writes as a Pipe's.
 *
 * The listening socket is non-blocking, so an accept after poll never
 * blocks (it is called with the connection list's lock held); accepted
 * and connected sockets are blocking and CLOEXEC from birth. TCP
 * connections get TCP_NODELAY: a message is one write, and a reply must
 * not wait for the peer's delayed acknowledgement.
 *
 * A generated AF_UNIX address is "listener" in a fresh mkdtemp folder
 * (mode 0700) under $TMPDIR or /tmp, so only this user can reach it, as
 * Python's get_temp_dir(); the path is unlinked at close, and the folder
 * removed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../conn-internal.h"
#include "posix.h"

struct mproc__os_listener {
  int fd;
  int family;
  int unlink_path; /* AF_UNIX: remove the path at close */
  char dir[MPROC_ADDRESS_MAX - 16]; /* a generated address's folder, or "" */
  char address[MPROC_ADDRESS_MAX];
};

int mproc__os_local_family(void) { return MPROC_AF_UNIX; }

static int unix_addr(const char *path, struct sockaddr_un *sa) {
  size_t n = strlen(path);
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (n >= sizeof sa->sun_path)
    return mproc__err(MPROC_ENAMETOOLONG,
                      "AF_UNIX path \"%s\" is %zu bytes; "
                      "the limit is %zu",
                      path, n, sizeof sa->sun_path - 1);
  memcpy(sa->sun_path, path, n);
  return 0;
}

/* Resolve "host:port" into *res (freeaddrinfo it). */
static int tcp_addr(const char *address, int passive, struct addrinfo **res) {
  char host[MPROC_ADDRESS_MAX], port[8];
  struct addrinfo hints;
  unsigned p;
  int r;
  if (mproc__addr_split(address, host, sizeof host, &p) < 0)
    return mproc__err(MPROC_EINVAL, "\"%s\" is no host:port address", address);
  snprintf(port, sizeof port, "%u", p);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  r = getaddrinfo(host, port, &hints, res);
  if (r != 0)
    return mproc__err(r == EAI_MEMORY ? MPROC_ENOMEM : MPROC_ENOENT,
                      "host \"%s\": %s", host, gai_strerror(r));
  return 0;
}

/* "host:port" of a bound socket, "[v6]:port" for IPv6. */
static void tcp_name(int fd, char *out, size_t cap) {
  struct sockaddr_storage ss;
  socklen_t n = sizeof ss;
  char ip[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (getsockname(fd, (struct sockaddr *)&ss, &n) == 0) {
    if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
      port = ntohs(s6->sin6_port);
      snprintf(out, cap, "[%s]:%u", ip, port);
      return;
    }
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  }
  snprintf(out, cap, "%s:%u", ip, port);
}

static int bind_listen(int fd, const struct sockaddr *sa, socklen_t n,
                       int backlog, const char *address, int *bound) {
  int fl;
  if (bind(fd, sa, n) != 0)
    return mproc__posix_err(errno, "bind to \"%s\"", address);
  *bound = 1;
  if (listen(fd, backlog) != 0)
    return mproc__posix_err(errno, "listen on \"%s\"", address);
  fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return mproc__posix_err(errno, "fcntl(O_NONBLOCK) on a listener");
  return 0;
}

static int listen_unix(mproc__os_listener *l, const char *address,
                       int backlog) {
  struct sockaddr_un sa;
  int rc;
  if (address == NULL) {
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || *tmp == '\0') tmp = "/tmp";
    if (strlen(tmp) + sizeof "/mproc-XXXXXX" > sizeof l->dir)
      return mproc__err(MPROC_ENAMETOOLONG,
                        "TMPDIR \"%s\" is too long for "
                        "an AF_UNIX address",
                        tmp);
    snprintf(l->dir, sizeof l->dir, "%s/mproc-XXXXXX", tmp);
    if (mkdtemp(l->dir) == NULL) {
      rc = mproc__posix_err(errno, "mkdtemp(\"%s\")", l->dir);
      l->dir[0] = '\0';
      return rc;
    }
    snprintf(l->address, sizeof l->address, "%s/listener", l->dir);
  } else {
    snprintf(l->address, sizeof l->address, "%s", address);
  }
  rc = unix_addr(l->address, &sa);
  if (rc == 0) rc = l->fd = mproc__posix_socket(AF_UNIX, SOCK_STREAM);
  if (rc < 0) return rc;
  /* The path is ours to remove once bound (never someone else's). */
  return bind_listen(l->fd, (struct sockaddr *)&sa, sizeof sa, backlog,
                     l->address, &l->unlink_path);
}

static int listen_tcp(mproc__os_listener *l, const char *address, int backlog) {
  struct addrinfo *res = NULL;
  int one = 1, bound = 0;
  int rc = tcp_addr(address ? address : "127.0.0.1:0", 1, &res);
  if (rc < 0) return rc;
  rc = l->fd = mproc__posix_socket(res->ai_family, SOCK_STREAM);
  if (rc >= 0) {
    /* As Python's SocketListener on POSIX: a restarted server rebinds. */
    (void)setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    rc = bind_listen(l->fd, res->ai_addr, res->ai_addrlen, backlog,
                     address ? address : "127.0.0.1:0", &bound);
  }
  freeaddrinfo(res);
  if (rc == 0) tcp_name(l->fd, l->address, sizeof l->address);
  return rc;
}

int mproc__os_listen(int family, const char *address, int backlog,
                     mproc__os_listener **out) {
  mproc__os_listener *l;
  int rc;
  if (family == MPROC_AF_PIPE)
    return mproc__err(MPROC_ENOTSUP, "named pipes (AF_PIPE) are Windows "
                                     "only; use AF_UNIX or TCP");
  l = calloc(1, sizeof *l);
  if (l == NULL)
    return mproc__err(MPROC_ENOMEM, "out of memory for a listener");
  l->fd = -1;
  l->family = family;
  rc = family == MPROC_AF_UNIX ? listen_unix(l, address, backlog)
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
  return mproc__posix_poll_in(l->fd, timeout);
}

static void nodelay(int fd, int family) {
  int one = 1;
  if (family == MPROC_AF_INET)
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int mproc__os_accept(mproc__os_listener *l, mproc__os_conn **out) {
  int fd = mproc__posix_accept(l->fd), rc;
  if (fd < 0) {
    /* Gone meanwhile (the client gave up): wait again. */
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED ||
        errno == EINTR)
      return MPROC_EAGAIN;
    return fd;
  }
  nodelay(fd, l->family);
  rc = mproc__os_conn_adopt((mproc_handle)fd, out);
  if (rc < 0) mproc__posix_close(fd);
  return rc;
}

void mproc__os_listener_close(mproc__os_listener *l) {
  if (l == NULL) return;
  mproc__posix_close(l->fd);
  if (l->unlink_path) (void)unlink(l->address);
  if (l->dir[0]) (void)rmdir(l->dir);
  free(l);
}

/* connect(2) within `timeout`: non-blocking, then poll for the result. */
static int connect_within(int fd, const struct sockaddr *sa, socklen_t n,
                          double timeout, const char *address) {
  int fl = fcntl(fd, F_GETFL), err = 0, r;
  socklen_t len = sizeof err;
  struct pollfd pfd;
  double deadline = mproc__deadline(timeout);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return mproc__posix_err(errno, "fcntl(O_NONBLOCK)");
  r = connect(fd, sa, n);
  if (r != 0 && errno != EINPROGRESS && errno != EINTR && errno != EAGAIN)
    return mproc__posix_err(errno, "connect to \"%s\"", address);
  while (r != 0) {
    pfd.fd = fd;
    pfd.events = POLLOUT;
    pfd.revents = 0;
    r = poll(&pfd, 1, mproc__posix_ms(mproc__remaining(deadline)));
    if (r == 0)
      return mproc__err(MPROC_ETIMEDOUT,
                        "connect to \"%s\": no answer in "
                        "time",
                        address);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return mproc__posix_err(errno, "poll (connect)");
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err) return mproc__posix_err(err, "connect to \"%s\"", address);
    r = 0;
  }
  if (fcntl(fd, F_SETFL, fl) < 0)
    return mproc__posix_err(errno, "fcntl (clearing O_NONBLOCK)");
  return 0;
}

int mproc__os_connect(int family, const char *address, double timeout,
                      mproc__os_conn **out) {
  struct sockaddr_un sa;
  struct addrinfo *res = NULL, *ai;
  int fd = -1, rc;
  if (family == MPROC_AF_PIPE)
    return mproc__err(MPROC_ENOTSUP, "named pipes (AF_PIPE) are Windows "
                                     "only; use AF_UNIX or TCP");
  if (family == MPROC_AF_UNIX) {
    rc = unix_addr(address, &sa);
    if (rc == 0) rc = fd = mproc__posix_socket(AF_UNIX, SOCK_STREAM);
    if (rc >= 0)
      rc = connect_within(fd, (struct sockaddr *)&sa, sizeof sa, timeout,
                          address);
  } else {
    rc = tcp_addr(address, 0, &res);
    for (ai = res; rc == 0 && ai; ai = ai->ai_next) {
      rc = fd = mproc__posix_socket(ai->ai_family, SOCK_STREAM);
      if (rc >= 0)
        rc = connect_within(fd, ai->ai_addr, ai->ai_addrlen, timeout, address);
      if (rc == 0 || ai->ai_next == NULL) break;
      mproc__posix_close(fd); /* the next address of the name */
      fd = -1;
      rc = 0;
    }
    if (res) freeaddrinfo(res);
    if (rc == 0) nodelay(fd, family);
  }
  if (rc == 0) rc = mproc__os_conn_adopt((mproc_handle)fd, out);
  if (rc < 0) mproc__posix_close(fd);
  return rc < 0 ? rc : 0;
}
