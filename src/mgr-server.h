/* mproc: the manager server's transport (mgr-server.c), as the client
 * side (manager.c) starts and runs it. */
#ifndef MPROC_MGR_SERVER_H
#define MPROC_MGR_SERVER_H

#include <stddef.h>

typedef struct mproc__mserver mproc__mserver;

/* Listen on `address` (NULL: a fresh local one) of `family` (an
 * mproc_family), letting in only peers with the key (NULL: anyone). */
int mproc__mserver_open(mproc__mserver **out, const char *address, int family,
                        const void *key, size_t key_len);
/* The address clients use (a TCP port 0 resolved). */
const char *mproc__mserver_address(const mproc__mserver *s);
/* Serve until a client asks for shutdown. */
int mproc__mserver_run(mproc__mserver *s);
/* End every connection, free every object, remove a generated address. */
void mproc__mserver_free(mproc__mserver *s);

#endif
