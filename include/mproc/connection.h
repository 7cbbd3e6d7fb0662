/** mproc: Listener and Client — multiprocessing.connection's Listener,
 * accept and Client, with Python's authkey handshake.
 *
 * A Listener waits for connections on an address; each accepted one, and
 * each one a Client makes, is an ordinary duplex mproc_conn: send, recv,
 * poll and mproc_conn_wait work on it as on a Pipe's end, and it speaks
 * Python's framing, so either side may be a Python program.
 *
 *   mproc_listener *l;
 *   mproc_listener_new(&l, "127.0.0.1:6000", MPROC_FAMILY_DEFAULT, 0,
 *                      "secret", 6);
 *   mproc_conn *c;
 *   mproc_listener_accept(l, MPROC_FOREVER, &c);   // handshake included
 *   ...                                            // elsewhere:
 *   mproc_client_connect(&c, "127.0.0.1:6000", MPROC_FAMILY_DEFAULT,
 *                        "secret", 6, MPROC_FOREVER);
 *
 * Addresses are strings: "/path" (or any path) for AF_UNIX on POSIX,
 * "\\.\pipe\name" for a Windows named pipe, "host:port" for TCP (IPv4,
 * "[v6]:port" or a name; port 0 at a Listener: one the OS picks). Without
 * a family, the address says which (as Python's address_type); without
 * an address, a Listener makes one: a fresh AF_UNIX path in a private
 * directory on POSIX, a random pipe name on Windows, 127.0.0.1 with an OS
 * port for TCP. mproc_listener_address gives the address clients use.
 *
 * Authkey: with a key (any bytes, any length; NULL: none), accept and
 * connect run Python 3.12's HMAC-SHA256 challenge and response in both
 * directions before they return; either side that finds the other
 * without the key fails with MPROC_EAUTH. See docs/connection.md for the
 * security model and Python interoperability.
 *
 * On Windows, mproc_conn_handle of a TCP connection is its SOCKET, and a
 * TCP connection cannot be passed to a child (MPROC_ENOTSUP).
 *
 * @file
 */
#ifndef MPROC_CONNECTION_H
#define MPROC_CONNECTION_H

#include <stddef.h>

#include "mproc/export.h"
#include "mproc/pipe.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Address families (Python's 'AF_UNIX', 'AF_PIPE', 'AF_INET'). */
typedef enum mproc_family {
  MPROC_FAMILY_DEFAULT = 0, /**< from the address; none: AF_UNIX (POSIX)
                                 or AF_PIPE (Windows) */
  MPROC_AF_UNIX = 1, /**< a Unix domain stream socket (POSIX) */
  MPROC_AF_PIPE = 2, /**< a named pipe (Windows) */
  MPROC_AF_INET = 3 /**< TCP, over IPv4 or IPv6 */
} mproc_family;

typedef struct mproc_listener mproc_listener;

/** Longest address string, with its terminating NUL. */
#define MPROC_ADDRESS_MAX 256

/**
 * Listen on `address` (NULL: make one) of `family` with room for
 * `backlog` waiting connections (0 or less: 1, Python's default), and
 * authenticate each accepted connection with `authkey` (`key_len` bytes;
 * NULL: no authentication). An AF_UNIX path is created here and removed
 * at close.
 * Errors: MPROC_EINVAL (out NULL, a malformed address, a family the
 * address does not fit), MPROC_ENOTSUP (a family this platform lacks:
 * AF_PIPE on POSIX, AF_UNIX on Windows), MPROC_ENAMETOOLONG (a path or
 * name longer than the OS takes), MPROC_EEXIST (the address is in use),
 * MPROC_ENOENT (a host name that does not resolve), MPROC_EPERM,
 * MPROC_ENOMEM, MPROC_EOS.
 * Thread-safety: safe. Ownership: the caller frees *out with
 * mproc_listener_free(); the key is copied.
 */
MPROC_EXTERN int mproc_listener_new(mproc_listener **out, const char *address,
                                    mproc_family family, int backlog,
                                    const void *authkey, size_t key_len);

/**
 * Wait up to `timeout` seconds (MPROC_FOREVER: no limit; negative: 0)
 * for a connection and, with an authkey, authenticate it; the time limit
 * covers the handshake too. On success *out is the connection.
 * Errors: MPROC_ETIMEDOUT (no connection came, or the peer did not finish
 * the handshake in time: that connection is closed), MPROC_EAUTH (the
 * peer has not the key, sent no valid answer, or refused ours: the
 * connection is closed, the listener goes on), MPROC_EEOF (the peer
 * closed or died during the handshake), MPROC_ECLOSED (the listener is
 * closed), MPROC_EINVAL (l or out NULL, NaN timeout), MPROC_ENOMEM,
 * MPROC_EOS.
 * Thread-safety: one thread accepts on a listener at a time.
 * Ownership: the caller frees *out with mproc_conn_free().
 */
MPROC_EXTERN int mproc_listener_accept(mproc_listener *l, double timeout,
                                       mproc_conn **out);

/**
 * The address clients connect to ("127.0.0.1:41234" once the OS has
 * picked the port), or NULL if l is NULL.
 * Thread-safety: safe. Ownership: owned by l, valid until it is freed.
 */
MPROC_EXTERN const char *mproc_listener_address(const mproc_listener *l);

/** The listener's family, never MPROC_FAMILY_DEFAULT (0 if l is NULL).
 *  Thread-safety: safe. */
MPROC_EXTERN mproc_family mproc_listener_family(const mproc_listener *l);

/**
 * Stop listening: the OS object is released and an AF_UNIX path (with
 * the private directory of a generated one) removed. Connections already
 * accepted stay open. Later accepts return MPROC_ECLOSED, and an accept
 * blocked in another thread returns MPROC_ECLOSED within about 0.1 s (the
 * OS listener is released when it has returned, never under it). Closing
 * twice is harmless.
 * Errors: MPROC_EINVAL (l NULL).
 * Thread-safety: any thread, also while another accepts on l.
 * Ownership: the listener is still the caller's, to free.
 */
MPROC_EXTERN int mproc_listener_close(mproc_listener *l);

/** Close if needed, and free the object. NULL is a no-op.
 *  Thread-safety: no other call on l may run meanwhile (close, join the
 *  accepting threads, then free). Ownership: l is invalid afterwards. */
MPROC_EXTERN void mproc_listener_free(mproc_listener *l);

/**
 * Connect to a Listener at `address` (Python's Client) and, with an
 * authkey (NULL: none), answer its challenge and then challenge it, all
 * within `timeout` seconds (MPROC_FOREVER: no limit).
 * Errors: MPROC_EINVAL (out or address NULL, a malformed address, NaN
 * timeout), MPROC_ENOTSUP (a family this platform lacks), MPROC_ENOENT
 * (nobody listens there; a host that does not resolve), MPROC_EAUTH (the
 * listener refused our answer, wants a key we were not given, or failed
 * our challenge), MPROC_ETIMEDOUT, MPROC_EEOF (the listener closed the
 * connection during the handshake), MPROC_ENAMETOOLONG, MPROC_EPERM,
 * MPROC_ENOMEM, MPROC_EOS.
 * Thread-safety: safe. Ownership: the caller frees *out with
 * mproc_conn_free(); the key is read only during the call.
 */
MPROC_EXTERN int mproc_client_connect(mproc_conn **out, const char *address,
                                      mproc_family family, const void *authkey,
                                      size_t key_len, double timeout);

#ifdef __cplusplus
}
#endif
#endif
