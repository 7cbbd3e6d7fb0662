/* mproc: Listener and Client (multiprocessing.connection) — addresses and
 * families, the listener object, and the authkey handshake around the
 * backend's listener group (platform.h). The connections are pipe.c's.
 *
 * Address forms, as Python's address_type decides: "\\..." is a named
 * pipe; "host:port" (a port of digits after the last colon, "[v6]:port"
 * for IPv6) is TCP; anything else is an AF_UNIX path.
 *
 * Closing a listener another thread accepts on: accept counts itself in
 * `users` and then reads `closing`; close stores `closing` and then reads
 * `users`, so one sees the other. Accept waits in slices of CLOSE_CHECK
 * and looks at `closing` between them (the backend's listener wait takes
 * no wake-up object); the last user out releases the OS listener, so it
 * never goes under a wait. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn-internal.h"
#include "internal.h"
#include "process-internal.h"

#define CLOSE_CHECK 0.1 /* how often an accept looks for a close */

struct mproc_listener {
  mproc__os_listener *os; /* NULL once the OS listener is released */
  atomic_int closing;     /* mproc_listener_close was called */
  atomic_int os_done;     /* the OS listener is released (once) */
  atomic_uint users;      /* accepts under way */
  mproc_family family;
  char address[MPROC_ADDRESS_MAX];
  unsigned char *key; /* NULL: no authentication */
  size_t key_len;
};

int mproc__addr_split(const char *address, char *host, size_t cap,
                      unsigned *port) {
  const char *colon = strrchr(address, ':'), *h = address, *p;
  size_t hn;
  unsigned long v = 0;
  if (colon == NULL || colon[1] == '\0') return MPROC_EINVAL;
  for (p = colon + 1; *p; p++) {
    if (*p < '0' || *p > '9' || v > 65535) return MPROC_EINVAL;
    v = v * 10 + (unsigned long)(*p - '0');
  }
  if (v > 65535) return MPROC_EINVAL;
  hn = (size_t)(colon - address);
  if (hn >= 2 && address[0] == '[' && address[hn - 1] == ']') {
    h = address + 1; /* [v6]:port */
    hn -= 2;
  } else if (memchr(address, ':', hn) != NULL) {
    return MPROC_EINVAL; /* a bare IPv6 address needs its brackets */
  }
  if (hn == 0 || hn >= cap || memchr(h, '/', hn) != NULL) return MPROC_EINVAL;
  memcpy(host, h, hn);
  host[hn] = '\0';
  *port = (unsigned)v;
  return 0;
}

/* The family `address` names, as Python's address_type. */
static mproc_family family_of(const char *address) {
  char host[MPROC_ADDRESS_MAX];
  unsigned port;
  if (address[0] == '\\' && address[1] == '\\') return MPROC_AF_PIPE;
  if (mproc__addr_split(address, host, sizeof host, &port) == 0)
    return MPROC_AF_INET;
  return MPROC_AF_UNIX;
}

/* Check the address against the family and settle the family. */
int mproc__addr_resolve(const char *address, mproc_family *family, mproc_family dflt,
                   const char *what) {
  mproc_family f = *family;
  if (f != MPROC_FAMILY_DEFAULT && f != MPROC_AF_UNIX && f != MPROC_AF_PIPE &&
      f != MPROC_AF_INET)
    return mproc__err(MPROC_EINVAL, "%s: %d is no address family", what,
                      (int)f);
  if (address == NULL) {
    *family = f == MPROC_FAMILY_DEFAULT ? dflt : f;
    return 0;
  }
  if (address[0] == '\0' || strlen(address) >= MPROC_ADDRESS_MAX)
    return mproc__err(MPROC_EINVAL,
                      "%s: the address is empty or longer "
                      "than %d bytes",
                      what, MPROC_ADDRESS_MAX - 1);
  if (f == MPROC_FAMILY_DEFAULT) f = family_of(address);
  if (f != family_of(address))
    return mproc__err(MPROC_EINVAL,
                      "%s: \"%s\" is not an address of the "
                      "family asked for (%s)",
                      what, address,
                      f == MPROC_AF_INET   ? "TCP: host:port"
                      : f == MPROC_AF_PIPE ? "named pipe: \\\\.\\pipe\\name"
                                           : "AF_UNIX: a path");
  *family = f;
  return 0;
}

int mproc_listener_new(mproc_listener **out, const char *address,
                       mproc_family family, int backlog, const void *authkey,
                       size_t key_len) {
  mproc_listener *l;
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "listener: out is NULL");
  *out = NULL;
  if (authkey == NULL && key_len > 0)
    return mproc__err(MPROC_EINVAL,
                      "listener: authkey is NULL but key_len "
                      "is %zu",
                      key_len);
  rc = mproc__addr_resolve(address, &family, (mproc_family)mproc__os_local_family(),
               "listener");
  if (rc < 0) return rc;
  l = calloc(1, sizeof *l);
  if (l == NULL)
    return mproc__err(MPROC_ENOMEM, "out of memory for a listener");
  l->family = family;
  if (authkey) {
    l->key = malloc(key_len ? key_len : 1);
    if (l->key == NULL) {
      free(l);
      return mproc__err(MPROC_ENOMEM, "out of memory for an authkey");
    }
    if (key_len) memcpy(l->key, authkey, key_len);
    l->key_len = key_len;
  }
  rc = mproc__os_listen(family, address, backlog > 0 ? backlog : 1, &l->os);
  if (rc < 0) {
    mproc_listener_free(l);
    return rc;
  }
  snprintf(l->address, sizeof l->address, "%s",
           mproc__os_listener_address(l->os));
  *out = l;
  return 0;
}

/* Take one waiting connection: made and listed in one hold of the
 * connection list's lock, so no fork start copies it unlisted. */
static int take(mproc_listener *l, mproc_conn **out) {
  mproc__os_conn *os = NULL;
  mproc_conn *c = mproc__conn_alloc();
  int rc;
  if (c == NULL) return MPROC_ENOMEM;
  mproc__conn_fork_lock();
  rc = mproc__os_accept(l->os, &os);
  if (rc == 0) mproc__conn_attach(c, os);
  mproc__conn_fork_unlock();
  if (rc < 0) {
    mproc_conn_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

static void release_os(mproc_listener *l) {
  if (atomic_exchange(&l->os_done, 1)) return;
  if (l->os) mproc__os_listener_close(l->os);
  l->os = NULL;
}

static int closed_error(void) {
  return mproc__err(MPROC_ECLOSED, "accept: the listener is closed");
}

/* Wait for a connection by `deadline` in slices, ending at a close: 1
 * ready, MPROC_ETIMEDOUT, MPROC_ECLOSED or another error. */
static int wait_incoming(mproc_listener *l, double deadline) {
  for (;;) {
    double left = mproc__remaining(deadline);
    int rc;
    if (atomic_load(&l->closing)) return closed_error();
    rc = mproc__os_listener_wait(l->os, deadline < 0 || left > CLOSE_CHECK
                                            ? CLOSE_CHECK
                                            : left);
    if (rc != 0) return rc;
    if (deadline >= 0 && mproc__remaining(deadline) <= 0)
      return mproc__err(MPROC_ETIMEDOUT,
                        "accept: no connection to %s came in time",
                        l->address);
  }
}

static int accept_one(mproc_listener *l, double deadline, mproc_conn **out) {
  mproc_conn *c = NULL;
  int rc;
  do {
    rc = wait_incoming(l, deadline);
    if (rc > 0) rc = take(l, &c);
  } while (rc == MPROC_EAGAIN);
  if (rc < 0) return rc;
  if (l->key) rc = mproc__auth_server(c, l->key, l->key_len, deadline);
  if (rc < 0) {
    mproc_conn_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int mproc_listener_accept(mproc_listener *l, double timeout, mproc_conn **out) {
  double t;
  int rc;
  if (l == NULL || out == NULL)
    return mproc__err(MPROC_EINVAL, "accept: listener or out is NULL");
  *out = NULL;
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  atomic_fetch_add(&l->users, 1);
  rc = atomic_load(&l->closing) ? closed_error()
                                : accept_one(l, mproc__deadline(t), out);
  if (atomic_fetch_sub(&l->users, 1) == 1 && atomic_load(&l->closing))
    release_os(l);
  return rc;
}

const char *mproc_listener_address(const mproc_listener *l) {
  return l ? l->address : NULL;
}

mproc_family mproc_listener_family(const mproc_listener *l) {
  return l ? l->family : MPROC_FAMILY_DEFAULT;
}

int mproc_listener_close(mproc_listener *l) {
  if (l == NULL) return mproc__err(MPROC_EINVAL, "listener close: l is NULL");
  if (atomic_exchange(&l->closing, 1)) return 0;
  if (atomic_load(&l->users) == 0) release_os(l); /* else the last accept */
  return 0;
}

void mproc_listener_free(mproc_listener *l) {
  if (l == NULL) return;
  mproc_listener_close(l);
  release_os(l); /* no accept may run now */
  free(l->key);
  free(l);
}

/* Wrap a connected OS end. The end was made outside the list's lock (a
 * connect blocks): a fork start by another thread in that window gives
 * its child a copy that the child does not close before its target. */
static int wrap(mproc__os_conn *os, mproc_conn **out) {
  mproc_conn *c = mproc__conn_alloc();
  if (c == NULL) {
    mproc__os_conn_close(os);
    return MPROC_ENOMEM;
  }
  mproc__conn_fork_lock();
  mproc__conn_attach(c, os);
  mproc__conn_fork_unlock();
  *out = c;
  return 0;
}

int mproc_client_connect(mproc_conn **out, const char *address,
                         mproc_family family, const void *authkey,
                         size_t key_len, double timeout) {
  mproc__os_conn *os = NULL;
  mproc_conn *c = NULL;
  double t, deadline;
  int rc;
  if (out == NULL || address == NULL)
    return mproc__err(MPROC_EINVAL, "client: out or address is NULL");
  *out = NULL;
  if (authkey == NULL && key_len > 0)
    return mproc__err(MPROC_EINVAL,
                      "client: authkey is NULL but key_len is "
                      "%zu",
                      key_len);
  rc = mproc__timeout(timeout, &t);
  if (rc == 0)
    rc = mproc__addr_resolve(address, &family, (mproc_family)mproc__os_local_family(),
                 "client");
  if (rc < 0) return rc;
  deadline = mproc__deadline(t);
  rc = mproc__os_connect(family, address, t, &os);
  if (rc == 0) rc = wrap(os, &c);
  if (rc < 0) return rc;
  if (authkey)
    rc = mproc__auth_client(c, key_len ? authkey : "", key_len, deadline);
  if (rc < 0) {
    mproc_conn_free(c);
    return rc;
  }
  *out = c;
  return 0;
}
