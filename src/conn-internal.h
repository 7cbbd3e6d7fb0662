/* mproc: what connection.c and auth.c share with pipe.c. */
#ifndef MPROC_CONN_INTERNAL_H
#define MPROC_CONN_INTERNAL_H

#include "mproc.h"
#include "platform.h"

/* pipe.c: a duplex connection around an OS end. attach is called with
 * the connection list's lock held (mproc__conn_fork_lock). */
mproc_conn *mproc__conn_alloc(void);
void mproc__conn_attach(mproc_conn *c, mproc__os_conn *os);

/* auth.c: Python's authkey handshake on a fresh connection, both
 * directions, before `deadline` (mproc__deadline form). The listener
 * delivers first; the client answers first. */
int mproc__auth_server(mproc_conn *c, const void *key, size_t key_len,
                       double deadline);
int mproc__auth_client(mproc_conn *c, const void *key, size_t key_len,
                       double deadline);

/* auth.c: compare two MACs in a time that says nothing about where they
 * differ (the manager's server checks answers with it too). */
int mproc__auth_equal(const unsigned char *a, const unsigned char *b,
                      size_t n);

/* connection.c: check `address` against `family` and settle the family
 * (dflt when there is no address); `what` begins the sentence. */
int mproc__addr_resolve(const char *address, mproc_family *family,
                        mproc_family dflt, const char *what);

/* connection.c: split "host:port" / "[v6]:port" into its parts. */
int mproc__addr_split(const char *address, char *host, size_t cap,
                      unsigned *port);

#endif
