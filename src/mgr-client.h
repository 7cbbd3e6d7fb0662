/* mproc: the manager's client side, shared by manager.c (the manager
 * handle, starting the server, passing proxies) and manager-proxy.c (the
 * typed proxy calls, one round trip each). */
#ifndef MPROC_MGR_CLIENT_H
#define MPROC_MGR_CLIENT_H

#include <stdatomic.h>

#include <uv.h>

#include "internal.h"
#include "mgr-wire.h"

struct mproc_proxy {
  uv_mutex_t lock;  /* one call at a time on the connection */
  mproc_conn *conn;
  atomic_int closed; /* mproc_proxy_close: calls return MPROC_ECLOSED */
  uint32_t id;
  int type;
  char typecode;    /* Value, Array */
  long pid;         /* the process that made this handle */
  mproc_array *ticket; /* what a child gets to reach us (manager-pass.c) */
  mproc__mw w;      /* the request being built */
  char address[MPROC_ADDRESS_MAX];
  unsigned char *key;
  size_t key_len;
};

/* A reply: the message (free with mproc__mrep_done) and its reader. */
typedef struct mproc__mrep {
  void *msg;
  mproc__mr r;
} mproc__mrep;

/* A proxy with a fresh connection to the server (no object yet). */
int mproc__mproxy_connect(mproc_proxy **out, const char *address,
                          const void *key, size_t key_len, double timeout);
/* Begin a request on p (takes p's lock; build into p->w). */
void mproc__mreq(mproc_proxy *p, unsigned op, uint32_t id);
/* Send p->w and wait for the reply (releases p's lock). 0 with *rep to
 * read, or the server's error code with its sentence; MPROC_EEOF when the
 * server is gone. */
int mproc__mrpc(mproc_proxy *p, mproc__mrep *rep);
void mproc__mrep_done(mproc__mrep *rep);
/* Send op (INCREF or ADOPT) for `id` on p and take the object's type:
 * p then stands for it. pid (not 0): ADOPT's item, the adopting child. */
int mproc__mproxy_take(mproc_proxy *p, unsigned op, uint32_t id, long pid);
/* Take the reply's type items (INCREF, ADOPT) into p. */
int mproc__mproxy_typed(mproc_proxy *p, mproc__mrep *rep);
/* A proxy for object `id` on p's server, held by a floating hold the
 * server took for it and leased to this process's pid (ADOPT). */
int mproc__mproxy_adopt(const char *address, const void *key, size_t key_len,
                        uint32_t id, mproc_proxy **out);
/* Free the handle without telling the server (the connection's end drops
 * the holds). */
void mproc__mproxy_free(mproc_proxy *p);

/* Helpers of the typed calls (manager-proxy.c). */
#define MPROC__BIT(t) (1u << (t))
/* p is a proxy of one of the types in mask (MPROC__BIT(type)). */
int mproc__mpx_check(const mproc_proxy *p, unsigned mask, const char *fn);
/* One request with an optional bytes item. */
int mproc__mpx_call(mproc_proxy *p, unsigned op, const void *b, size_t bl,
                    int with_b, mproc__mrep *rep);
/* Free the reply, return rc. */
int mproc__mpx_done(mproc__mrep *rep, int rc);
/* The reply's next bytes item, copied (mproc_free it). */
int mproc__mpx_copy(mproc__mrep *rep, void **out, size_t *len);
int mproc__mpx_int(mproc__mrep *rep, int64_t *v);
/* Every item of the reply as a snapshot. */
int mproc__mpx_items(mproc__mrep *rep, mproc_items **out);
/* A call with a bytes key and an optional value back. */
int mproc__mpx_keyed(mproc_proxy *p, unsigned mask, unsigned op,
                     const char *fn, const void *k, size_t kl, void **v,
                     size_t *vl);
/* A call with an optional bytes item and an int back. */
int mproc__mpx_intcall(mproc_proxy *p, unsigned mask, unsigned op,
                       const char *fn, const void *b, size_t bl, int with_b,
                       int64_t *v);
int mproc__mpx_len(mproc_proxy *p, unsigned mask, unsigned op, const char *fn,
                   size_t *n);
int mproc__mpx_snapshot(mproc_proxy *p, unsigned mask, unsigned op,
                        const char *fn, mproc_items **out);
/* A request of ni ints then n byte strings, no result. */
int mproc__mpx_many(mproc_proxy *p, unsigned op, const int64_t *ints,
                    size_t ni, const mproc_bytes *v, size_t n, const char *fn);

#endif
