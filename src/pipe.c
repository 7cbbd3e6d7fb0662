/* mproc: Pipe and Connection — message framing, argument checks, waiting
 * on many, and the connections a child receives. The bytes move through
 * the backend's pipe group (platform.h).
 *
 * Framing: Python's multiprocessing.connection framing, for every
 * connection (a Pipe's and a Listener's alike, so an mproc end and a
 * Python one speak the same bytes): a 4-byte big-endian signed length,
 * then the bytes; a body over 0x7fffffff has the length -1 (ff ff ff ff)
 * followed by an 8-byte big-endian length. One write carries header and
 * body, so a small message costs one system call to send and two to
 * receive (the length, then the bytes: reading exactly, never ahead,
 * keeps every byte not yet received in the OS, where a child given this
 * end finds it).
 *
 * A length read whose message did not fit the caller's buffer is kept in
 * the object (have_len), so the message waits for a bigger buffer.
 *
 * Every open connection of the process is on a list (`reg`), so that a
 * fork child can close the ends it was not given: fork copies every
 * descriptor, and a copy of a peer end left open in a child would keep
 * the end of file from ever reaching its peer. The list's lock is held
 * across a fork start (mproc__conn_fork_lock), so the child's copy of
 * the list is whole.
 *
 * Closing an end another thread uses: every call on the end counts itself
 * in `users`, then reads `closing`; close stores `closing`, then reads
 * `users` (all seq_cst), so either the call sees the close and returns
 * MPROC_ECLOSED, or the close sees the call and leaves the OS end to it:
 * the last user out closes it (never under a call still using it, so a
 * descriptor number is never reused under a wait). A call waiting for a
 * message also waits on the end's wake-up object, which close signals, so
 * a blocked recv or poll returns MPROC_ECLOSED at once. A recv that has
 * begun a message reads it whole first (the peer is sending it). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "mproc/wakeup.h"

#include "conn-internal.h"
#include "forklock.h"
#include "internal.h"
#include "platform.h"
#include "process-internal.h"
#include "program.h"

enum { CONN_READ = 1u, CONN_WRITE = 2u };

struct mproc_conn {
  mproc__os_conn *os; /* NULL once closed */
  unsigned flags;     /* CONN_READ | CONN_WRITE */
  int have_len;       /* `pending` is the next message's length */
  int broken;         /* an OS error cut a message: the stream is torn */
  uint64_t pending;
  atomic_int in_wait; /* listed in the mproc_conn_wait call under way */
  atomic_int closing;    /* mproc_conn_close was called */
  atomic_int os_done;    /* the OS end is closed (once) */
  atomic_uint users;     /* calls under way on the end (see below) */
  _Atomic(mproc_wakeup *) wake; /* made by the first blocking wait */
  struct mproc_conn *prev, *next; /* on `reg` while open */
};

static uv_once_t reg_once = UV_ONCE_INIT;
static mproc__forklock reg_lock_; /* forklock.h */
static mproc_conn *reg;           /* the open connections, newest first */

/* The list's fork duties go on the program's hook lists with its first
 * use (program.h): its lock held across the library's fork starts, and
 * made anew in the child of any fork. (A fork start racing the very first
 * connection's creation may miss the hold; the first connection is then
 * on the child's copy of the list or not in it at all, as for a process
 * whose list was empty.) */
static void reg_init(void) {
  mproc__forklock_init(&reg_lock_);
  mproc__on_fork_start(mproc__conn_fork_lock, mproc__conn_fork_unlock);
  mproc__on_fork_child(mproc__conn_reset_after_fork);
}

static void reg_lock(void) {
  uv_once(&reg_once, reg_init);
  mproc__forklock_lock(&reg_lock_);
}

static void reg_unlock(void) { mproc__forklock_unlock(&reg_lock_); }

/* Link c (lock held). */
static void reg_link(mproc_conn *c) {
  c->prev = NULL;
  c->next = reg;
  if (reg) reg->prev = c;
  reg = c;
}

/* Unlink c (lock held). */
static void reg_unlink(mproc_conn *c) {
  if (c->prev)
    c->prev->next = c->next;
  else if (reg == c)
    reg = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
}

/* Close c's handle and take it off the list — both under the lock, so a
 * fork start never copies a handle that is on no list. */
static void conn_close(mproc_conn *c) {
  reg_lock();
  reg_unlink(c);
  mproc__os_conn_close(c->os);
  c->os = NULL;
  reg_unlock();
  c->have_len = 0;
}

/* Held across every fork start: a connection being made or closed by
 * another thread meanwhile is then either on the child's copy of the list
 * (and closed there) or not in the child at all. */
void mproc__conn_fork_lock(void) { reg_lock(); }

void mproc__conn_fork_unlock(void) { reg_unlock(); }

void mproc__conn_reset_after_fork(void) {
  mproc__forklock_after_fork(&reg_lock_);
}

void mproc__conn_fork_child(mproc_conn *const *keep, size_t n) {
  mproc_conn *c, *next;
  size_t i;
  /* Held at the fork by the thread that forked us (this one): made anew.
   * Nothing else is written when there is nothing to close. */
  mproc__forklock_after_fork(&reg_lock_);
  if (reg == NULL) return;
  for (c = reg; c; c = next) {
    next = c->next;
    for (i = 0; i < n && keep[i] != c; i++) {
    }
    /* Closed here either way: a passed end is reopened through
     * mproc_conn_inherited() on the same descriptor, so only the object
     * is dropped for it (the copy of the parent's object reads as
     * closed, as the others do). */
    if (i < n)
      mproc__os_conn_forget(c->os);
    else
      mproc__os_conn_close(c->os);
    c->os = NULL;
    /* The parent's kernel object: a close there would wake us. */
    mproc_wakeup_free(atomic_exchange(&c->wake, NULL));
    c->prev = c->next = NULL;
  }
  reg = NULL;
}

int mproc_pipe(mproc_pipe_kind kind, mproc_conn **a, mproc_conn **b) {
  mproc__os_conn *oa = NULL, *ob = NULL;
  int duplex = kind == MPROC_PIPE_DUPLEX;
  unsigned fa = duplex ? CONN_READ | CONN_WRITE : CONN_READ;
  unsigned fb = duplex ? CONN_READ | CONN_WRITE : CONN_WRITE;
  int rc;
  if (a == NULL || b == NULL)
    return mproc__err(MPROC_EINVAL, "mproc_pipe: a or b is NULL");
  mproc_conn *ca, *cb;
  *a = *b = NULL;
  if (kind != MPROC_PIPE_ONE_WAY && kind != MPROC_PIPE_DUPLEX)
    return mproc__err(MPROC_EINVAL, "mproc_pipe: kind %d is neither "
                                    "MPROC_PIPE_DUPLEX nor "
                                    "MPROC_PIPE_ONE_WAY",
                      (int)kind);
  ca = calloc(1, sizeof *ca);
  cb = calloc(1, sizeof *cb);
  if (ca == NULL || cb == NULL) {
    free(ca);
    free(cb);
    return mproc__err(MPROC_ENOMEM, "out of memory for a pipe");
  }
  /* Made and listed under the list's lock (see mproc__conn_fork_lock). */
  reg_lock();
  rc = mproc__os_conn_pair(duplex != 0, &oa, &ob);
  if (rc == 0) {
    ca->os = oa;
    ca->flags = fa;
    cb->os = ob;
    cb->flags = fb;
    reg_link(ca);
    reg_link(cb);
  }
  reg_unlock();
  if (rc < 0) {
    free(ca);
    free(cb);
    return rc;
  }
  *a = ca;
  *b = cb;
  return 0;
}

/* For connection.c (Listener, Client): a duplex connection around an OS
 * end. mproc__conn_alloc makes the object; mproc__conn_attach lists it
 * with its end and must be called with the list's lock held
 * (mproc__conn_fork_lock), in the same hold that made the end where the
 * backend can (accept), so no fork start copies an unlisted end. */
mproc_conn *mproc__conn_alloc(void) {
  mproc_conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    (void)mproc__err(MPROC_ENOMEM, "out of memory for a connection");
  return c;
}

void mproc__conn_attach(mproc_conn *c, mproc__os_conn *os) {
  c->os = os;
  c->flags = CONN_READ | CONN_WRITE;
  reg_link(c);
}

/* The checks every operation starts with. `need` is CONN_READ or
 * CONN_WRITE (0: any end). */
static int check(const mproc_conn *c, unsigned need, const char *what) {
  if (c == NULL) return mproc__err(MPROC_EINVAL, "%s: connection is NULL", what);
  if (c->os == NULL)
    return mproc__err(MPROC_ECLOSED, "%s: the connection is closed", what);
  if (c->broken)
    return mproc__err(MPROC_ESTATE, "%s: an earlier system error cut a "
                                    "message in two; the stream is out of "
                                    "step (close the connection)",
                      what);
  if (need && !(c->flags & need))
    return mproc__err(MPROC_EPERM, "%s: this end of a one-way pipe only %s",
                      what, need == CONN_READ ? "sends" : "receives");
  return 0;
}

static int closed_error(const char *what) {
  return mproc__err(MPROC_ECLOSED, "%s: the connection is closed", what);
}

/* The OS end goes, once: by close, or by the last call out after it. The
 * wake-up object stays until the free: the close may still be signalling
 * it when the call it woke leaves. */
static void finish_close(mproc_conn *c) {
  if (atomic_exchange(&c->os_done, 1)) return;
  if (c->os) conn_close(c);
}

/* Begin a call on c (see the top): check() after counting ourselves, so
 * the OS end cannot go while we look at it. Every 0 is paired with a
 * leave(). */
static int enter(mproc_conn *c, unsigned need, const char *what) {
  int rc;
  if (c == NULL) return check(c, need, what);
  atomic_fetch_add(&c->users, 1);
  rc = atomic_load(&c->closing) ? closed_error(what) : check(c, need, what);
  if (rc < 0 && atomic_fetch_sub(&c->users, 1) == 1 &&
      atomic_load(&c->closing))
    finish_close(c);
  return rc;
}

static int leave(mproc_conn *c, int rc) {
  if (atomic_fetch_sub(&c->users, 1) == 1 && atomic_load(&c->closing))
    finish_close(c);
  return rc;
}

/* The end's wake-up object, made on its first blocking wait (by the one
 * thread that holds in_wait); close signals it. */
static int wake_handle(mproc_conn *c, mproc_handle *out) {
  mproc_wakeup *w = atomic_load(&c->wake);
  if (w == NULL) {
    int rc = mproc_wakeup_new(&w);
    if (rc < 0) return rc;
    atomic_store(&c->wake, w);
  }
  *out = mproc_wakeup_handle(w);
  return 0;
}

/* The header of a `len`-byte message; returns its size (4 or 12). */
static size_t frame_header(unsigned char *h, uint64_t len) {
  size_t i, n = 4;
  if (len > 0x7fffffffu) {
    memset(h, 0xff, 4);
    for (i = 0; i < 8; i++) h[4 + i] = (unsigned char)(len >> (56 - 8 * i));
    return 12;
  }
  for (i = 0; i < n; i++) h[i] = (unsigned char)(len >> (24 - 8 * i));
  return n;
}

static int conn_send(mproc_conn *c, const void *buf, size_t len) {
  unsigned char hdr[12];
  size_t hn;
  int rc;
  if (buf == NULL && len > 0)
    return mproc__err(MPROC_EINVAL, "send: buf is NULL but len is %zu", len);
  hn = frame_header(hdr, len);
  rc = mproc__os_conn_write(c->os, hdr, hn, buf, len);
  if (rc == MPROC_EEOF)
    return mproc__err(rc, "send: the peer end is closed (its process "
                          "closed it or died)");
  if (rc < 0) c->broken = 1; /* perhaps part of it went */
  return rc;
}

int mproc_conn_send(mproc_conn *c, const void *buf, size_t len) {
  int rc = enter(c, CONN_WRITE, "send");
  return rc < 0 ? rc : leave(c, conn_send(c, buf, len));
}

/* Wait until the end is readable, or the interrupt (mproc_interrupt):
 * 1 readable (data, or an end of file a read reports), 0 not in time,
 * MPROC_EINTR, or another error. The caller holds in_wait. */
static int wait_readable(mproc_conn *c, double timeout) {
  mproc_handle h[2];
  unsigned char r[2] = {0, 0};
  int rc = wake_handle(c, &h[1]), end;
  if (rc < 0) return rc;
  if (atomic_load(&c->closing)) return closed_error("a wait");
  rc = mproc__os_conn_wait_begin(c->os, &h[0]);
  if (rc != 0) return rc; /* ready now, or an error */
  rc = mproc__wait_handles_intr(h, 2, timeout, r);
  end = mproc__os_conn_wait_end(c->os, rc > 0 && r[0]);
  if (end > 0) return 1; /* what is ready wins over the interrupt */
  if (r[1] || atomic_load(&c->closing)) return closed_error("a wait");
  if (rc == MPROC_ETIMEDOUT || rc > 0) return 0;
  return rc;
}

/* Before a message's first byte: wait for it, interruptibly. Another
 * thread polls this end: read as before, uninterruptibly, rather than
 * share the end's one readiness wait. */
static int wait_message(mproc_conn *c, const char *what) {
  int rc;
  if (atomic_exchange(&c->in_wait, 1)) return 0;
  rc = wait_readable(c, MPROC__INF);
  atomic_store(&c->in_wait, 0);
  if (rc == MPROC_EINTR)
    return mproc__err(rc, "%s: interrupted by mproc_interrupt(); no "
                          "message was taken",
                      what);
  return rc < 0 ? rc : 0;
}

/* Read `n` header bytes; `first` says whether none was read before. */
static int read_header(mproc_conn *c, unsigned char *h, size_t n, int first,
                       const char *what) {
  size_t got = 0;
  int rc = mproc__os_conn_read(c->os, h, n, &got);
  if (rc == MPROC_EEOF)
    return mproc__err(rc, first && got == 0
                              ? "%s: end of file: the peer end is closed "
                                "(its process closed it or died)"
                              : "%s: end of file inside a message header: "
                                "the peer died while sending",
                      what);
  if (rc < 0 && (got > 0 || !first)) c->broken = 1;
  return rc;
}

/* Make the next message's length known (reading it if needed). Only the
 * wait for its first byte is interruptible: once a header is begun, the
 * message is read whole, so an interrupt never leaves half of one. */
static int next_len(mproc_conn *c, const char *what) {
  unsigned char h[8];
  uint64_t v = 0;
  size_t i;
  int rc;
  if (c->have_len) return 0;
  rc = wait_message(c, what);
  if (rc < 0) return rc;
  rc = read_header(c, h, 4, 1, what);
  if (rc < 0) return rc;
  for (i = 0; i < 4; i++) v = v << 8 | h[i];
  if (v == 0xffffffffu) { /* the long form: an 8-byte length follows */
    rc = read_header(c, h, 8, 0, what);
    if (rc < 0) return rc;
    for (v = 0, i = 0; i < 8; i++) v = v << 8 | h[i];
  } else if (v > 0x7fffffffu) {
    c->broken = 1;
    return mproc__err(MPROC_ESTATE, "%s: a negative message length (%lld) "
                                    "in the header: the peer does not speak "
                                    "the framing; close the connection",
                      what, (long long)v - 0x100000000LL);
  }
  c->pending = v;
  c->have_len = 1;
  return 0;
}

/* Read the pending message's bytes into buf (room for all of them). */
static int take_body(mproc_conn *c, void *buf, const char *what) {
  size_t n = (size_t)c->pending, got = 0;
  int rc = 0;
  if (n > 0) rc = mproc__os_conn_read(c->os, buf, n, &got);
  if (rc == MPROC_EEOF) {
    c->have_len = 0; /* the rest never comes: the message is lost */
    return mproc__err(rc, "%s: end of file after %zu of the %zu bytes of a "
                          "message: the peer died while sending",
                      what, got, n);
  }
  if (rc < 0) {
    c->broken = 1; /* an OS failure inside the message */
    return rc;
  }
  c->have_len = 0;
  return 0;
}

static int check_size(const mproc_conn *c, const char *what) {
  if (c->pending > (uint64_t)SIZE_MAX)
    return mproc__err(MPROC_ERANGE, "%s: the message is %llu bytes, more "
                                    "than this process can address",
                      what, (unsigned long long)c->pending);
  return 0;
}

static int conn_recv(mproc_conn *c, void *buf, size_t cap, size_t *len) {
  int rc;
  if (len == NULL) return mproc__err(MPROC_EINVAL, "recv: len is NULL");
  if (buf == NULL && cap > 0)
    return mproc__err(MPROC_EINVAL, "recv: buf is NULL but cap is %zu", cap);
  rc = next_len(c, "recv");
  if (rc == 0) rc = check_size(c, "recv");
  if (rc < 0) return rc;
  *len = (size_t)c->pending;
  if (c->pending > cap)
    return mproc__err(MPROC_EBUFSIZE, "recv: the message is %zu bytes, the "
                                      "buffer %zu; it stays for the next "
                                      "recv",
                      *len, cap);
  return take_body(c, buf, "recv");
}

int mproc_conn_recv(mproc_conn *c, void *buf, size_t cap, size_t *len) {
  int rc = enter(c, CONN_READ, "recv");
  return rc < 0 ? rc : leave(c, conn_recv(c, buf, cap, len));
}

static int conn_recv_alloc(mproc_conn *c, void **out, size_t *len) {
  void *buf = NULL;
  int rc;
  if (out == NULL || len == NULL)
    return mproc__err(MPROC_EINVAL, "recv_alloc: out or len is NULL");
  *out = NULL;
  *len = 0;
  rc = next_len(c, "recv_alloc");
  if (rc == 0) rc = check_size(c, "recv_alloc");
  if (rc < 0) return rc;
  if (c->pending > 0) {
    buf = malloc((size_t)c->pending);
    if (buf == NULL)
      return mproc__err(MPROC_ENOMEM, "recv_alloc: out of memory for a "
                                      "%llu-byte message; it stays for the "
                                      "next recv",
                        (unsigned long long)c->pending);
  }
  *len = (size_t)c->pending;
  rc = take_body(c, buf, "recv_alloc");
  if (rc < 0) {
    free(buf);
    *len = 0;
    return rc;
  }
  *out = buf;
  return 0;
}

int mproc_conn_recv_alloc(mproc_conn *c, void **out, size_t *len) {
  int rc = enter(c, CONN_READ, "recv_alloc");
  return rc < 0 ? rc : leave(c, conn_recv_alloc(c, out, len));
}

static int conn_poll(mproc_conn *c, double timeout) {
  double t;
  int rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  if (c->have_len) return 1;
  /* One waiter per end (on Windows a wait is an overlapped read of the
   * end's own). */
  if (atomic_exchange(&c->in_wait, 1))
    return mproc__err(MPROC_EINVAL, "poll: another thread waits on this "
                                    "connection");
  rc = t == 0 ? mproc__os_conn_poll(c->os, 0) : wait_readable(c, t);
  atomic_store(&c->in_wait, 0);
  return rc;
}

int mproc_conn_poll(mproc_conn *c, double timeout) {
  int rc = enter(c, CONN_READ, "poll");
  return rc < 0 ? rc : leave(c, conn_poll(c, timeout));
}

int mproc_conn_readable(const mproc_conn *c) {
  return c != NULL && (c->flags & CONN_READ) != 0;
}

int mproc_conn_writable(const mproc_conn *c) {
  return c != NULL && (c->flags & CONN_WRITE) != 0;
}

mproc_handle mproc_conn_handle(const mproc_conn *c) {
  if (c == NULL || atomic_load(&c->closing) || c->os == NULL)
    return MPROC_NO_HANDLE;
  return mproc__os_conn_handle(c->os);
}

int mproc_conn_close(mproc_conn *c) {
  mproc_wakeup *w;
  if (c == NULL) return mproc__err(MPROC_EINVAL, "close: connection is NULL");
  if (atomic_exchange(&c->closing, 1)) return 0;
  w = atomic_load(&c->wake);
  if (w != NULL) (void)mproc_wakeup_signal(w);
  if (atomic_load(&c->users) == 0) finish_close(c); /* else the last user */
  return 0;
}

void mproc_conn_free(mproc_conn *c) {
  if (c == NULL) return;
  mproc_conn_close(c);
  finish_close(c); /* no call may run now: the end goes in any case */
  mproc_wakeup_free(atomic_exchange(&c->wake, NULL));
  free(c);
}

/* ---- waiting on many ------------------------------------------------------ */

/* What one mproc_conn_wait call holds: for each object still to wait on,
 * its handle and its index in objs; after each connection's handle, its
 * wake-up object's (index | WAKE), which a close of the end signals. */
#define WAKE ((size_t)1 << (sizeof(size_t) * 8 - 1))
typedef struct wait_set {
  mproc_handle *h;
  size_t *at;
  unsigned char *ready;
  size_t n;
} wait_set;

/* End every begun connection wait and set `ready` from the wait. Returns
 * 1 if a listed end was closed meanwhile. */
static int wait_finish(mproc_wait_obj *objs, wait_set *w, int waited) {
  size_t k;
  int closed = 0;
  for (k = 0; k < w->n; k++) {
    mproc_wait_obj *o = &objs[w->at[k] & ~WAKE];
    int sig = waited && w->ready[k];
    if (w->at[k] & WAKE) continue;
    if (o->conn && atomic_load(&o->conn->closing)) closed = 1;
    o->ready = o->conn ? mproc__os_conn_wait_end(o->conn->os, sig) > 0 : sig;
    /* Only now: another thread's wait may begin on it (on Windows with
     * the same OVERLAPPED, which the end above may still be cancelling). */
    if (o->conn) {
      atomic_store(&o->conn->in_wait, 0);
      leave(o->conn, 0);
    }
  }
  return closed;
}

static void set_add(wait_set *w, mproc_handle h, size_t at) {
  w->h[w->n] = h;
  w->at[w->n] = at;
  w->n++;
}

/* Check every object; begin the connection waits; sort out what is ready
 * now. On failure every wait begun is ended. */
static int wait_prepare(mproc_wait_obj *objs, size_t n, wait_set *w,
                        size_t *now) {
  size_t i;
  int rc;
  for (i = 0; i < n; i++) {
    mproc_wait_obj *o = &objs[i];
    mproc_handle h = o->handle;
    o->ready = 0;
    if (o->conn) {
      int mine = 0, in = enter(o->conn, CONN_READ, "wait");
      mproc_handle wake = MPROC_NO_HANDLE;
      rc = in == MPROC_EPERM ? MPROC_EINVAL : in;
      if (rc == 0 && atomic_exchange(&o->conn->in_wait, 1))
        rc = mproc__err(MPROC_EINVAL, "the connection is listed twice, or "
                                      "another thread waits on it");
      else if (rc == 0)
        mine = 1;
      if (rc == 0 && o->conn->have_len) rc = 1;
      if (rc == 0) rc = wake_handle(o->conn, &wake);
      /* After the wake-up is installed: a close from now on signals it. */
      if (rc == 0 && atomic_load(&o->conn->closing))
        rc = closed_error("wait");
      if (rc == 0) rc = mproc__os_conn_wait_begin(o->conn->os, &h);
      if (rc != 0 && mine) atomic_store(&o->conn->in_wait, 0);
      if (rc != 0 && in == 0) leave(o->conn, 0);
      if (rc < 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", mproc_last_error());
        wait_finish(objs, w, 0);
        return mproc__err(rc, "wait: object %zu of %zu: %s", i, n, why);
      }
      if (rc == 1) {
        o->ready = 1;
        (*now)++;
        continue;
      }
      set_add(w, h, i);
      set_add(w, wake, i | WAKE);
      continue;
    }
    if ((rc = mproc__check_handle(h, i, n, "wait")) < 0) {
      wait_finish(objs, w, 0);
      return rc;
    }
    set_add(w, h, i);
  }
  return 0;
}

int mproc_conn_wait(mproc_wait_obj *objs, size_t n, double timeout) {
  wait_set w = {NULL, NULL, NULL, 0};
  size_t now = 0, i;
  double t;
  int rc, count = 0;

  if (objs == NULL && n > 0)
    return mproc__err(MPROC_EINVAL, "wait: objs is NULL but n is %zu", n);
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  if (n > SIZE_MAX / sizeof *w.h / 2)
    return mproc__err(MPROC_EINVAL, "wait: %zu objects is too many", n);
  if (n > 0) { /* room for a wake-up after each connection */
    w.h = malloc(2 * n * sizeof *w.h);
    w.at = malloc(2 * n * sizeof *w.at);
    w.ready = calloc(2 * n, 1);
    if (w.h == NULL || w.at == NULL || w.ready == NULL) {
      rc = mproc__err(MPROC_ENOMEM, "wait: out of memory for %zu objects", n);
      goto cleanup;
    }
  }
  rc = wait_prepare(objs, n, &w, &now);
  if (rc < 0) goto cleanup;
  /* Something is ready already: only look at the rest. */
  if (w.n > 0 || now == 0)
    rc = mproc__wait_handles_intr(w.h, w.n, now ? 0 : t, w.ready);
  if (rc < 0 && rc != MPROC_ETIMEDOUT && rc != MPROC_EINTR) {
    wait_finish(objs, &w, 0);
    goto cleanup;
  }
  if (wait_finish(objs, &w, rc >= 0)) {
    rc = mproc__err(MPROC_ECLOSED, "wait: a listed connection was closed "
                                   "during the wait");
    goto cleanup;
  }
  /* Interrupted: unless a connection turned ready as its wait ended. */
  for (i = 0; i < n; i++) count += objs[i].ready != 0;
  if (rc == MPROC_EINTR && count == 0) goto cleanup;
  count = 0;
  for (i = 0; i < n; i++) count += objs[i].ready != 0;
  rc = count > 0 ? count
                 : mproc__err(MPROC_ETIMEDOUT, "wait: none of the %zu objects "
                                               "became ready in time",
                              n);
cleanup:
  free(w.h);
  free(w.at);
  free(w.ready);
  return rc;
}

/* ---- passing to children -------------------------------------------------- */

int mproc__conn_pass_info(const mproc_conn *c, mproc_handle *h,
                          uint32_t *flags) {
  int rc = c && atomic_load(&c->closing)
               ? closed_error("passing a connection to a child")
               : check(c, 0, "passing a connection to a child");
  if (rc < 0) return rc;
  if (c->have_len)
    return mproc__err(MPROC_ESTATE, "passing a connection to a child: this "
                                    "process has begun receiving a message "
                                    "on it (a recv gave MPROC_EBUFSIZE); "
                                    "receive that message first");
  if (!mproc__os_conn_passable(c->os))
    return mproc__err(MPROC_ENOTSUP, "passing a connection to a child: a TCP "
                                     "connection cannot be passed on this "
                                     "platform; give the child the address "
                                     "to connect to instead");
  *h = mproc__os_conn_handle(c->os);
  *flags = c->flags;
  return 0;
}

/* A pipe end a parent passed (pass.c, when the child takes it). */
int mproc__conn_adopt(mproc_handle h, uint32_t flags, mproc_conn **out) {
  mproc__os_conn *os = NULL;
  mproc_conn *c = calloc(1, sizeof *c);
  int rc;
  *out = NULL;
  if (c == NULL)
    return mproc__err(MPROC_ENOMEM, "out of memory for a connection");
  /* Adopted and listed under the list's lock, as mproc_pipe's. */
  reg_lock();
  rc = mproc__os_conn_adopt(h, &os);
  if (rc == 0) {
    c->os = os;
    c->flags = flags;
    reg_link(c);
  }
  reg_unlock();
  if (rc < 0) {
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

/* A passed end the child never took: closed, so it does not keep the
 * pipe open. */
void mproc__conn_discard(mproc_handle h) {
  mproc__os_conn *os = NULL;
  if (mproc__os_conn_adopt(h, &os) == 0) mproc__os_conn_close(os);
}

int mproc_conn_inherited(size_t i, mproc_conn **out) {
  return mproc_inherited(i, MPROC_KIND_CONN, out);
}
