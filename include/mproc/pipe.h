/** mproc: Pipe and Connection — multiprocessing.Pipe(), Connection's
 * send_bytes / recv_bytes / recv_bytes_into / poll / close, and
 * multiprocessing.connection.wait().
 *
 * A pipe is a pair of connected ends. Each send puts one framed message
 * into the stream — Python's framing: a 4-byte big-endian length (-1 and
 * an 8-byte one past 2 GiB), then the bytes — and each recv takes one
 * whole message out, whatever its size (0 bytes up to what memory holds).
 * Listener and Client (connection.h) make connections of the same kind.
 *
 * @code
 *   mproc_conn *parent, *child;
 *   mproc_pipe(MPROC_PIPE_DUPLEX, &parent, &child);              // Pipe()
 *   mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
 *   mproc_pass pass[] = {MPROC_PASS(child)};     // Process(args=(child,))
 *   o.pass = pass; o.n_pass = 1;                 // the child gets `child`
 *   mproc_process_new(&p, work, NULL, 0, &o);
 *   mproc_process_start(p);
 *   mproc_conn_free(child);                      // ours: EOF works then
 *   mproc_conn_recv_alloc(parent, &msg, &len);   // what work() sent
 *
 *   // in work(): mproc_conn *c; mproc_conn_inherited(0, &c);
 *   //            mproc_conn_send(c, "hi", 2); mproc_conn_free(c);
 * @endcode
 *
 * End of file: once every copy of the peer end is closed — closed by its
 * process, or its process died or was killed — recv returns MPROC_EEOF
 * (after the messages already sent), poll reports the end ready, and send
 * returns MPROC_EEOF. Nothing ever raises SIGPIPE. A child holds only the
 * ends it was given, under every start method: a fork child closes its
 * copies of the parent's other connections before its target runs (they
 * read as closed there, MPROC_ECLOSED), so a peer end never stays open in
 * a child by accident — stricter than Python, whose fork children keep
 * every copy. Descriptors that are not mproc connections are untouched.
 *
 * Thread-safety (as Python's Connection): one thread may send while
 * another receives on the same end; two threads must not receive (or two
 * send) on one end at once, and no thread may use an end another thread
 * is closing or freeing.
 * @file
 */
#ifndef MPROC_PIPE_H
#define MPROC_PIPE_H

#include <stddef.h>

#include "mproc/alloc.h"
#include "mproc/export.h"
#include "mproc/process.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_conn mproc_conn;

/** Which pipe mproc_pipe makes (Python's Pipe(duplex)). */
typedef enum mproc_pipe_kind {
  MPROC_PIPE_ONE_WAY = 0, /**< Pipe(False): `*a` receives, `*b` sends */
  MPROC_PIPE_DUPLEX = 1   /**< Pipe(): both ends send and receive */
} mproc_pipe_kind;

/**
 * Make a pipe of `kind`: `mproc_pipe(MPROC_PIPE_DUPLEX, &a, &b)`. With
 * MPROC_PIPE_ONE_WAY `*a` only receives and `*b` only sends, as
 * Pipe(False) returns (reader, writer). The OS handles are not inherited
 * by any child unless passed (mproc_process_opts.pass).
 * Errors: MPROC_EINVAL (a or b NULL, kind not a mproc_pipe_kind),
 * MPROC_ENOMEM, MPROC_EOS (out of descriptors / handles).
 * Thread-safety: safe. Ownership: free each end with mproc_conn_free().
 */
MPROC_EXTERN int mproc_pipe(mproc_pipe_kind kind, mproc_conn **a,
                            mproc_conn **b);

/**
 * Send one message of `len` bytes (0 allowed, any size). Blocks until the
 * whole message is in the pipe (a large one while the peer reads it).
 * Errors: MPROC_EEOF (the peer end is closed: its process closed it or
 * died), MPROC_ECLOSED (this end was closed), MPROC_EPERM (a receive-only
 * end), MPROC_EINVAL (c NULL, buf NULL with len > 0), MPROC_EOS,
 * MPROC_ESTATE (an earlier system error cut a message in two: the stream
 * is out of step; close the connection).
 * Thread-safety: one sender per end at a time. Ownership: buf is read
 * only during the call.
 */
MPROC_EXTERN int mproc_conn_send(mproc_conn *c, const void *buf, size_t len);

/**
 * Receive the next message into `buf` (capacity `cap`) and store its
 * length in *len. Blocks until a message comes or the peer is gone. If
 * the message is longer than `cap`, returns MPROC_EBUFSIZE with its
 * length in *len and keeps it for the next recv (Python's BufferTooShort,
 * without losing the message).
 * Errors: MPROC_EEOF (the peer closed or died and every message it sent
 * has been received; also when it died in the middle of a message, which
 * is then lost), MPROC_EBUFSIZE, MPROC_ESTATE (as mproc_conn_send),
 * MPROC_ECLOSED, MPROC_EPERM (a send-only
 * end), MPROC_EINVAL (c or len NULL, buf NULL with cap > 0), MPROC_ERANGE
 * (a message larger than this process can address), MPROC_EOS,
 * MPROC_EINTR (mproc_interrupt() while it waited for a message to begin:
 * nothing was taken; once a message's first bytes are in, it is received
 * whole).
 * Thread-safety: one receiver per end at a time.
 */
MPROC_EXTERN int mproc_conn_recv(mproc_conn *c, void *buf, size_t cap,
                                 size_t *len);

/**
 * As mproc_conn_recv, into a buffer it allocates: *out (mproc_free() it; NULL
 * for an empty message), *len its length. On MPROC_ENOMEM the message
 * stays for a later recv.
 * Errors: those of mproc_conn_recv except MPROC_EBUFSIZE; MPROC_ENOMEM.
 * Ownership: the caller frees *out with mproc_free().
 */
MPROC_EXTERN int mproc_conn_recv_alloc(mproc_conn *c, void **out,
                                       size_t *len);

/**
 * Whether a message (or the end of file) can be received without
 * blocking, waiting up to `timeout` seconds for one (0: just look;
 * MPROC_FOREVER: no limit; negative: 0, as in Python). Returns 1 if so,
 * 0 if the time ran out.
 * Errors: MPROC_ECLOSED, MPROC_EPERM (a send-only end), MPROC_EINVAL (c
 * NULL, NaN timeout, another thread polls or waits on this end),
 * MPROC_EOS, MPROC_EINTR (mproc_interrupt() while it waited; never for
 * timeout 0, nor when the end is readable).
 * Thread-safety: as mproc_conn_recv; one thread polls or waits on an end
 * at a time.
 */
MPROC_EXTERN int mproc_conn_poll(mproc_conn *c, double timeout);

/** 1 if the end can receive, 0 if not (or c is NULL). */
MPROC_EXTERN int mproc_conn_readable(const mproc_conn *c);
/** 1 if the end can send, 0 if not (or c is NULL). */
MPROC_EXTERN int mproc_conn_writable(const mproc_conn *c);

/**
 * The OS handle of the end: a socket descriptor on POSIX (readable when a
 * message or the end of file waits, for your own poll/epoll loop), the
 * named-pipe HANDLE on Windows (Python's fileno()); MPROC_NO_HANDLE once
 * closed (or c NULL). Do not close it or read from it. It may be made
 * non-blocking: send and recv still move whole messages, waiting as
 * needed. On Windows it is not a waitable object: wait with
 * mproc_conn_wait().
 */
MPROC_EXTERN mproc_handle mproc_conn_handle(const mproc_conn *c);

/**
 * Close the end (Python's close()): this handle's use ends and its OS
 * handle is released, so the peer sees the end of file once no other copy
 * of this end is open (a child's copy, passed to it, is unaffected).
 * Later calls other than close and free return MPROC_ECLOSED. A recv or
 * poll blocked on the end in another thread, waiting for a message, is
 * woken and returns MPROC_ECLOSED; a recv that has begun reading a
 * message reads it whole first; so does an mproc_conn_wait() that lists
 * the end (it returns MPROC_ECLOSED). The OS handle is released when the
 * last such call has returned, never under it. Closing twice is
 * harmless.
 * Errors: MPROC_EINVAL (c NULL).
 * Thread-safety: any thread, also while another uses the end (the way to
 * end its wait). Ownership: the object is still the caller's, to free.
 */
MPROC_EXTERN int mproc_conn_close(mproc_conn *c);

/** Close if needed, and free the object. NULL is a no-op.
 *  Thread-safety: no other call on c may run meanwhile (close, join the
 *  threads using it, then free). Ownership: c is invalid afterwards. */
MPROC_EXTERN void mproc_conn_free(mproc_conn *c);

/* ---- waiting on many (multiprocessing.connection.wait) ------------------ */

/** One thing to wait for: a connection, or any handle that
 *  mproc_wait_handles() takes (a process sentinel, a wake-up object's
 *  handle: mproc/wakeup.h, which lets another thread or a signal handler
 *  end the wait). */
typedef struct mproc_wait_obj {
  mproc_conn *conn;    /**< a receiving end, ready when a message or the
                            end of file waits; or NULL to use `handle` */
  mproc_handle handle; /**< used when conn is NULL */
  int ready;           /**< out: 1 if ready, else 0 */
} mproc_wait_obj;

/**
 * Wait until at least one of the `n` objects is ready or `timeout`
 * passes (seconds; MPROC_FOREVER: no limit; negative: 0), and set each
 * object's `ready`. Returns how many are ready (>= 1), or
 * MPROC_ETIMEDOUT. Any number of objects, on every platform (Windows
 * included: no 64-handle limit, no thread started per call). A
 * connection may appear only once.
 * Errors, all at once whatever the timeout: MPROC_EINVAL (objs NULL with
 * n > 0, NaN timeout, a send-only connection, a `handle` that is no open
 * waitable handle: MPROC_NO_HANDLE — the sentinel of a process not
 * started —, a negative value, a closed descriptor or HANDLE; the
 * sentence names the object's index), MPROC_ECLOSED (a closed
 * connection; also one closed by another thread during the wait, which
 * ends the wait at once), MPROC_ENOMEM, MPROC_EOS; MPROC_EINTR
 * (mproc_interrupt() while it waited and nothing was ready; never for
 * timeout 0).
 * Thread-safety: a connection is waited on (or polled) by one thread at
 * a time, and no other thread receives on it meanwhile; a connection that
 * another thread's wait lists gives MPROC_EINVAL.
 */
MPROC_EXTERN int mproc_conn_wait(mproc_wait_obj *objs, size_t n,
                                 double timeout);

/* ---- in a child: the connections its parent passed ---------------------- */

/**
 * In a child: entry i of its pass list (mproc_process_opts.pass), a pipe
 * end, ready to use under every start method: the same as
 * mproc_inherited(i, MPROC_KIND_CONN, out). Each can be taken once.
 * Errors: MPROC_ENOENT (no entry i), MPROC_EINVAL (out NULL, or entry i
 * is another kind), MPROC_ESTATE (taken already), MPROC_ENOMEM.
 * Thread-safety: call from one thread. Ownership: the child owns *out;
 * free it with mproc_conn_free().
 */
MPROC_EXTERN int mproc_conn_inherited(size_t i, mproc_conn **out);

#ifdef __cplusplus
}
#endif
#endif
