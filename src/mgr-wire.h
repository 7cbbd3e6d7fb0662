/* mproc: the manager's wire format (docs/manager-protocol.md), shared by
 * the client (manager.c, manager-proxy.c), the server (mgr-*.c) and the
 * fuzz target.
 *
 * A message is one Python-framed Connection message:
 *   request: 'M', version, u16 op, u32 object id, items...
 *   reply:   'R', version, u16 0,  i32 status,   items...
 * all integers little-endian. An item is a tag byte and its data:
 *   'b' u32 length + bytes | 'i' i64 | 'f' f64 (IEEE 754) | 'r' u32 id |
 *   'n' (nothing).
 * No code, function pointer or address travels: an object is its id, a
 * method its op number (or, for registered types, a name in a 'b' item).
 *
 * The reader never reads past its buffer and never allocates: every item
 * it hands out points into the message. */
#ifndef MPROC_MGR_WIRE_H
#define MPROC_MGR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define MPROC__MW_VERSION 1
/* Operations added within version 1 (PING's second item): 2 has LEASE,
 * ADOPT's pid, LIST_REVERSE and LIST_SORT. */
#define MPROC__MW_REVISION 2
#define MPROC__MW_HDR 8
#define MPROC__MW_REQ 'M'
#define MPROC__MW_REP 'R'

/* Item tags. */
enum {
  MPROC__MW_BYTES = 'b',
  MPROC__MW_INT = 'i',
  MPROC__MW_F64 = 'f',
  MPROC__MW_REF = 'r',
  MPROC__MW_NONE = 'n'
};

/* Operations (the u16 of a request). Object ids are 32-bit, 0 = none. */
enum {
  /* the manager itself (id 0) */
  MPROC__OP_PING = 1,
  MPROC__OP_SHUTDOWN,
  MPROC__OP_CREATE,   /* i type, then the type's constructor items */
  MPROC__OP_INCREF,   /* id: one more hold for this connection */
  MPROC__OP_DECREF,   /* id: one hold less */
  MPROC__OP_HOLD,     /* id: a hold for a child that will ADOPT it */
  MPROC__OP_ADOPT,    /* id: take a HOLD (or a new hold) for this connection */
  MPROC__OP_TYPEOF,   /* id: its type */
  MPROC__OP_NAMED,    /* b name, then CREATE's items: the shared object */
  MPROC__OP_LEASE,    /* id, i pid: a floating hold kept for that child */
  /* dict */
  MPROC__OP_DICT_GET = 100,
  MPROC__OP_DICT_SET,
  MPROC__OP_DICT_DEL,
  MPROC__OP_DICT_CONTAINS,
  MPROC__OP_DICT_LEN,
  MPROC__OP_DICT_KEYS,
  MPROC__OP_DICT_ITEMS,
  MPROC__OP_DICT_UPDATE,
  MPROC__OP_DICT_POP,
  MPROC__OP_DICT_SETDEFAULT,
  MPROC__OP_DICT_CLEAR,
  MPROC__OP_DICT_VALUES,
  /* list */
  MPROC__OP_LIST_APPEND = 200,
  MPROC__OP_LIST_EXTEND,
  MPROC__OP_LIST_GET,
  MPROC__OP_LIST_SET,
  MPROC__OP_LIST_SLICE,
  MPROC__OP_LIST_SET_SLICE,
  MPROC__OP_LIST_POP,
  MPROC__OP_LIST_INSERT,
  MPROC__OP_LIST_LEN,
  MPROC__OP_LIST_INDEX,
  MPROC__OP_LIST_COUNT,
  MPROC__OP_LIST_REMOVE,
  MPROC__OP_LIST_REVERSE, /* revision 2 */
  MPROC__OP_LIST_SORT,    /* revision 2: i flags (1: reverse) */
  /* namespace */
  MPROC__OP_NS_GET = 300,
  MPROC__OP_NS_SET,
  MPROC__OP_NS_DEL,
  MPROC__OP_NS_NAMES,
  /* value and array */
  MPROC__OP_VALUE_GET = 400,
  MPROC__OP_VALUE_SET,
  MPROC__OP_ARRAY_READ,  /* i start, i count */
  MPROC__OP_ARRAY_WRITE, /* i start, b items */
  MPROC__OP_ARRAY_LEN,
  MPROC__OP_TYPECODE,
  /* set */
  MPROC__OP_SET_ADD = 500,
  MPROC__OP_SET_DISCARD,
  MPROC__OP_SET_REMOVE,
  MPROC__OP_SET_CONTAINS,
  MPROC__OP_SET_LEN,
  MPROC__OP_SET_ITEMS,
  MPROC__OP_SET_POP,
  MPROC__OP_SET_CLEAR,
  /* queue */
  MPROC__OP_Q_PUT = 600, /* b item, f timeout */
  MPROC__OP_Q_GET,       /* f timeout */
  MPROC__OP_Q_QSIZE,
  MPROC__OP_Q_TASK_DONE,
  MPROC__OP_Q_JOIN, /* f timeout */
  /* the sync kinds (f timeout where they wait) */
  MPROC__OP_ACQUIRE = 700,
  MPROC__OP_RELEASE,
  MPROC__OP_LOCKED,
  MPROC__OP_SEM_VALUE,
  MPROC__OP_COND_WAIT,
  MPROC__OP_COND_NOTIFY, /* i n (negative: all) */
  MPROC__OP_EVENT_SET,
  MPROC__OP_EVENT_CLEAR,
  MPROC__OP_EVENT_IS_SET,
  MPROC__OP_EVENT_WAIT,
  MPROC__OP_BARRIER_WAIT,
  MPROC__OP_BARRIER_RESET,
  MPROC__OP_BARRIER_ABORT,
  MPROC__OP_BARRIER_INFO, /* -> i parties, i n_waiting, i broken */
  /* registered types */
  MPROC__OP_CALL = 800 /* b method, b argument */
};

/* Object types (the i item of CREATE); mproc_proxy_type numbers. */
enum {
  MPROC__T_DICT = 1,
  MPROC__T_LIST,
  MPROC__T_NS,
  MPROC__T_VALUE,
  MPROC__T_ARRAY,
  MPROC__T_SET,
  MPROC__T_QUEUE,
  MPROC__T_JQUEUE,
  MPROC__T_LOCK,
  MPROC__T_RLOCK,
  MPROC__T_SEM,
  MPROC__T_BSEM,
  MPROC__T_COND,
  MPROC__T_EVENT,
  MPROC__T_BARRIER,
  MPROC__T_REGISTERED,
  MPROC__T_COUNT
};

/* One decoded item; `p` points into the message. */
typedef struct mproc__mw_item {
  int tag;
  const unsigned char *p;
  size_t len;
  int64_t i;
  double f;
  uint32_t ref;
} mproc__mw_item;

typedef struct mproc__mr {
  const unsigned char *p, *end;
  int kind;       /* MPROC__MW_REQ or MPROC__MW_REP */
  int version;
  unsigned op;    /* request */
  uint32_t id;    /* request */
  int32_t status; /* reply */
} mproc__mr;

/* Decode the header: 0, or MPROC_EINVAL with a sentence (too short, not a
 * request or reply, another version: MPROC_ENOTSUP). */
int mproc__mr_init(mproc__mr *r, const void *msg, size_t len);
/* The next item: 1, 0 at the end, MPROC_EINVAL when malformed. */
int mproc__mr_next(mproc__mr *r, mproc__mw_item *it);
/* The next item, which must have `tag`: 0 or MPROC_EINVAL ("argument
 * `what`"). */
int mproc__mr_take(mproc__mr *r, int tag, mproc__mw_item *it,
                   const char *what);
int mproc__mr_int(mproc__mr *r, int64_t *v, const char *what);
int mproc__mr_f64(mproc__mr *r, double *v, const char *what);
int mproc__mr_bytes(mproc__mr *r, const unsigned char **p, size_t *n,
                    const char *what);
/* 0 when every item was read, else MPROC_EINVAL. */
int mproc__mr_end(mproc__mr *r);

/* A message under construction: a malloc'd buffer. A failed growth sets
 * `oom`; the finished message is then refused (MPROC_ENOMEM). */
typedef struct mproc__mw {
  unsigned char *buf;
  size_t len, cap;
  int oom;
} mproc__mw;

void mproc__mw_request(mproc__mw *w, unsigned op, uint32_t id);
void mproc__mw_reply(mproc__mw *w, int32_t status);
/* Restart as a reply (the buffer is kept). */
void mproc__mw_rewind_reply(mproc__mw *w, int32_t status);
void mproc__mw_bytes(mproc__mw *w, const void *p, size_t n);
void mproc__mw_int(mproc__mw *w, int64_t v);
void mproc__mw_f64(mproc__mw *w, double v);
void mproc__mw_ref(mproc__mw *w, uint32_t id);
void mproc__mw_none(mproc__mw *w);
/* Room for n more bytes of a 'b' item's body: returns the place and
 * writes its header; NULL on oom. */
unsigned char *mproc__mw_bytes_reserve(mproc__mw *w, size_t n);
void mproc__mw_free(mproc__mw *w);

/* Largest manager message either side takes (a longer length header is
 * refused before anything is allocated). */
#define MPROC__MW_MAX ((size_t)256 << 20)

#endif
