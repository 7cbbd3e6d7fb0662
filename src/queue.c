/* mproc: Queue, SimpleQueue and JoinableQueue on a byte ring in named
 * shared memory. See include/mproc/queue.h for the guarantees.
 *
 * Layout: the state below in the header page, the ring (a power of two of
 * bytes) as the segment's data. The ring holds records: a 16-byte header
 * {len, flags, total} and the payload, padded to 8 bytes. A message that
 * fits in a quarter of the ring is one record (FIRST|LAST); a larger one
 * is streamed as FIRST, middle and LAST records.
 *
 * Locking: producers serialise on put_lock and own `tail`; consumers
 * serialise on get_lock and own `head`: between the current producer and
 * the current consumer the ring is single-producer single-consumer, so
 * `tail` and `head` are each written by one side only. Lock order, where a
 * consumer needs both (to abort a dead producer's stream): get_lock, then
 * put_lock. The locks are lock words (sync-lock.c): a dead owner's lock
 * is handed over with MPROC_EOWNERDEAD, and the new owner repairs:
 *   - put_partial set: the dead producer was mid-stream. If the new owner
 *     (a producer) can also take get_lock at once, no consumer is inside:
 *     it removes the stream outright — moves tail back to stream_start
 *     when no consumer has begun it, else moves head up to tail (the
 *     consumer that began it is gone) — so a ring the dead stream filled
 *     never stops the next producer, whether or not anyone reads. If a
 *     consumer holds get_lock, that consumer is reading and makes room:
 *     the owner writes an ABORT record, which tells it to drop the pieces
 *     it has (a consumer stalled mid-stream does the same, holding both);
 *   - get_partial set: the dead consumer was mid-stream; skip records up
 *     to the LAST (or ABORT) of that message.
 * A record becomes visible by one store to `tail` after it is written, and
 * leaves by one store to `head` after it is read whole.
 *
 * Sleeping: each side counts its sleepers (put_sleepers, get_sleepers,
 * ...) before it sleeps on the other side's index; the other side stores
 * its index (seq_cst) and then reads the count, waking only if someone
 * sleeps — so the uncontended path makes no system call.
 *
 * Closing a handle (this process only): a sleeper counts itself in the
 * handle's `waiting` and then reads `closed`; close stores `closed` and
 * then reads `waiting` (all seq_cst), so one of them sees the other. Close
 * then wakes every word a sleeper may wait on until `waiting` is 0: a
 * sleeper that read closed == 0 just before the store is woken by a later
 * round, so no wake-up is lost. A wait for put_lock or get_lock is the
 * lock word's own (sync-lock.c); it is taken in slices of LOCK_SLICE and
 * checks `closed` between them. */
#include <stdlib.h>
#include <string.h>

#include "object.h"

#define REC_FIRST 1u
#define REC_LAST 2u
#define REC_ABORT 4u
#define HDR 16u
#define SLICE 0.1 /* how often a stalled stream checks its producer */
#define LOCK_SLICE 0.1 /* how often a wait for a queue lock checks close */

typedef struct rec {
  uint32_t len;   /* payload bytes in this record */
  uint32_t flags; /* REC_* */
  uint64_t total; /* the whole message's length (FIRST records) */
} rec;

typedef struct qstate {
  _Atomic uint32_t put_lock;
  uint32_t put_partial; /* a stream is open */
  uint32_t committing;  /* counts raised for a LAST record not yet out */
  uint32_t commit_tail; /* tail before that record */
  uint64_t put_seq;     /* put_lock acquisitions: a handle's cached head is
                           good while no one else has held put_lock */
  uint32_t stream_start; /* tail before the open stream's FIRST record */
  uint32_t pad0[9];
  _Atomic uint32_t tail;
  _Atomic uint32_t get_sleepers; /* consumers waiting for data: beside tail,
                                    so the producer's check is a hit */
  _Atomic uint32_t puts; /* messages put (counted before published) */
  uint32_t pad1[13];
  _Atomic uint32_t get_lock;
  uint32_t get_partial;
  uint64_t get_seq; /* get_lock acquisitions (as put_seq) */
  uint32_t pad2[12];
  _Atomic uint32_t head;
  _Atomic uint32_t put_sleepers; /* producers waiting for room */
  _Atomic uint32_t gets; /* messages taken; qsize = puts - gets */
  _Atomic uint32_t count_sleepers; /* producers waiting below maxsize */
  uint32_t pad3[12];
  _Atomic uint32_t unfinished; /* JoinableQueue */
  _Atomic uint32_t join_sleepers;
  uint32_t pad4[14];
  uint32_t capacity;
  uint32_t kind;
  int64_t maxsize;
} qstate;

struct mproc_queue {
  mproc__obj obj;
  qstate *st;
  unsigned char *ring;
  uint32_t mask;
  _Atomic int closed;       /* mproc_queue_close was called on this handle */
  _Atomic uint32_t waiting; /* this handle's threads inside sleep_on */
  /* The other side's index as this handle last read it, and whether it
   * may be used: it may while no other handle took the lock since this
   * one released it (put_seq / get_seq unchanged), as head and tail only
   * grow and only the lock holder moves its own. */
  uint64_t put_seen, get_seen;
  uint32_t head_cache, tail_cache;
  int put_valid, get_valid;
  int streak; /* the last get found a record at once: a stream is flowing */
};

/* ---- ring access --------------------------------------------------------- */

static uint32_t rec_size(uint32_t len) { return HDR + ((len + 7u) & ~7u); }

static void ring_write(mproc_queue *q, uint32_t pos, const void *src,
                       size_t n) {
  size_t off = pos & q->mask, first = q->st->capacity - off;
  if (first > n) first = n;
  memcpy(q->ring + off, src, first);
  memcpy(q->ring, (const char *)src + first, n - first);
}

static void ring_read(const mproc_queue *q, uint32_t pos, void *dst,
                      size_t n) {
  size_t off = pos & q->mask, first = q->st->capacity - off;
  if (first > n) first = n;
  memcpy(dst, q->ring + off, first);
  memcpy((char *)dst + first, q->ring, n - first);
}

static uint32_t max_chunk(const mproc_queue *q) {
  return q->st->capacity / 4 - HDR;
}

/* ---- waiting ------------------------------------------------------------- */

static int closed_err(const mproc_queue *q, const char *what) {
  return mproc__err(MPROC_ECLOSED, "%s on queue \"%s\": this handle is "
                                   "closed",
                    what, q->obj.name);
}

/* Sleep while *word == seen, counted in *sleepers (see the top); a close
 * of this handle ends the sleep with MPROC_ECLOSED. intr: mproc_interrupt
 * ends it too (MPROC_EINTR) — only where a timeout could end it, so an
 * interrupt leaves the queue exactly as a timeout would: before a message
 * is begun (a put before its first record, a get before it takes one) and
 * in join. Once begun, a message is finished whatever comes. */
static int sleep_on(mproc_queue *q, _Atomic uint32_t *word, uint32_t seen,
                    _Atomic uint32_t *sleepers, double deadline, int intr) {
  int rc;
  /* Spin before counting ourselves: a counted spinner makes every put
   * pay a futex wake that finds nobody in the kernel. */
  if (mproc__spin(word, seen)) return 0;
  atomic_fetch_add(&q->waiting, 1);
  if (atomic_load(&q->closed)) {
    rc = MPROC_ECLOSED;
  } else {
    atomic_fetch_add(sleepers, 1);
    rc = atomic_load(word) != seen ? 0
         : intr ? mproc__wait_intr(&q->obj, word, seen, deadline)
                : mproc__wait(&q->obj, word, seen, deadline);
    atomic_fetch_sub(sleepers, 1);
    if (atomic_load(&q->closed)) rc = MPROC_ECLOSED;
  }
  atomic_fetch_sub(&q->waiting, 1);
  return rc == MPROC_ECLOSED ? closed_err(q, "a wait") : rc;
}

/* Take one of the queue's lock words by `deadline`: 0 holding it (from a
 * dead owner too), MPROC_ETIMEDOUT, or MPROC_ECLOSED once this handle is
 * closed (checked between slices, and after taking it). */
static int qlock(mproc_queue *q, _Atomic uint32_t *w, double deadline) {
  for (;;) {
    double left = mproc__remaining(deadline);
    int rc;
    if (atomic_load_explicit(&q->closed, memory_order_relaxed))
      return closed_err(q, "a wait");
    /* Interruptible: no message is begun while a lock is awaited. */
    rc = mproc__lockword_acquire_intr(&q->obj, w,
                                      deadline < 0 || left > LOCK_SLICE
                                          ? LOCK_SLICE
                                          : left);
    if (rc == 0 || rc == MPROC_EOWNERDEAD) {
      if (!atomic_load(&q->closed)) return 0;
      mproc__lockword_release(&q->obj, w); /* repairs stay flagged */
      return closed_err(q, "a wait");
    }
    if (rc != MPROC_ETIMEDOUT || (deadline >= 0 && left <= LOCK_SLICE))
      return rc;
  }
}

static void wake_if(mproc_queue *q, _Atomic uint32_t *word,
                    _Atomic uint32_t *sleepers) {
  if (atomic_load(sleepers) > 0) mproc__wake(&q->obj, word, INT32_MAX);
}

/* Producer: wait until `need` bytes are free (intr: see sleep_on). */
static int wait_room(mproc_queue *q, uint32_t need, double deadline,
                     int intr) {
  for (;;) {
    uint32_t tail = atomic_load_explicit(&q->st->tail, memory_order_relaxed);
    uint32_t head;
    int rc;
    if (q->put_valid && q->st->capacity - (tail - q->head_cache) >= need)
      return 0; /* no need to look at the consumer's cache line */
    head = atomic_load(&q->st->head);
    q->head_cache = head;
    q->put_valid = 1;
    if (q->st->capacity - (tail - head) >= need) return 0;
    rc = sleep_on(q, &q->st->head, head, &q->st->put_sleepers, deadline,
                  intr);
    if (rc < 0) return rc;
  }
}

/* Producer: append one record (room already there) and publish it. */
static void append(mproc_queue *q, const rec *r, const void *payload) {
  uint32_t tail = atomic_load_explicit(&q->st->tail, memory_order_relaxed);
  ring_write(q, tail, r, HDR);
  if (r->len) ring_write(q, tail + HDR, payload, r->len);
  atomic_store(&q->st->tail, tail + rec_size(r->len));
  wake_if(q, &q->st->tail, &q->st->get_sleepers);
}

/* ---- put ----------------------------------------------------------------- */

/* Remove a dead producer's open stream from the ring (put_lock held);
 * 1 if done, 0 if a consumer holds get_lock (see the top). Trying
 * get_lock without waiting keeps the lock order's promise: nobody waits
 * for get_lock while holding put_lock. */
static int reclaim_stream(mproc_queue *q) {
  qstate *st = q->st;
  uint32_t head, tail, start = st->stream_start;
  int rc = mproc__lockword_acquire(&q->obj, &st->get_lock, 0);
  if (rc != 0 && rc != MPROC_EOWNERDEAD) return 0;
  st->get_seq++; /* every consumer's cached tail is void now */
  head = atomic_load(&st->head);
  tail = atomic_load(&st->tail);
  if (mproc__fault("put.reclaim")) return 0;
  if (start - head <= tail - head) {
    atomic_store(&st->tail, start); /* nobody began it: it never was */
  } else {
    atomic_store(&st->head, tail); /* its reader is gone: drop the rest */
    st->get_partial = 0;
  }
  atomic_signal_fence(memory_order_seq_cst); /* the move, then the flag */
  st->put_partial = 0;
  mproc__lockword_release(&q->obj, &st->get_lock);
  return 1;
}

/* Close a dead producer's open stream: remove it, or end it with an ABORT
 * record once a reading consumer has made room. have_get: the caller is
 * a consumer holding get_lock (it is the reader; it only writes ABORT). */
static int close_stream(mproc_queue *q, int have_get, double deadline) {
  rec r = {0, REC_ABORT, 0};
  for (;;) {
    double until = mproc__deadline(SLICE);
    int rc;
    if (!have_get && reclaim_stream(q)) return 0;
    if (deadline >= 0 && deadline < until) until = deadline;
    /* A producer's repair before its own message: interruptible, and
     * left flagged for the next owner, as a timeout leaves it. */
    rc = wait_room(q, HDR, until, !have_get);
    if (rc == 0) break;
    if (rc != MPROC_ETIMEDOUT || have_get ||
        (deadline >= 0 && mproc__remaining(deadline) <= 0))
      return rc;
  }
  append(q, &r, NULL);
  q->st->put_partial = 0;
  return 0;
}

/* After a producer died holding put_lock (or a repair could not finish
 * in time): undo the counts of a message it had not published, and close
 * a stream it had left open. A live producer never releases put_lock with
 * either flag set, so finding one set means a repair is due. */
static int put_repair(mproc_queue *q, int have_get, double deadline) {
  if (q->st->committing) {
    if (atomic_load(&q->st->tail) != q->st->commit_tail) {
      q->st->put_partial = 0; /* its LAST record is out: the message is */
    } else {
      atomic_store_explicit(&q->st->puts, atomic_load_explicit(&q->st->puts, memory_order_relaxed) - 1, memory_order_relaxed);
      if (q->st->kind == MPROC_JOINABLE_QUEUE)
        atomic_fetch_sub(&q->st->unfinished, 1);
    }
    q->st->committing = 0;
  }
  return q->st->put_partial ? close_stream(q, have_get, deadline) : 0;
}

static int put_lock(mproc_queue *q, double deadline) {
  int rc = qlock(q, &q->st->put_lock, deadline);
  if (rc == 0) {
    q->put_valid = q->st->put_seq == q->put_seen;
    q->st->put_seq++;
  }
  if (rc == 0 && (q->st->committing || q->st->put_partial)) {
    rc = put_repair(q, 0, deadline);
    if (rc < 0) mproc__lockword_release(&q->obj, &q->st->put_lock);
  }
  return rc;
}

static int wait_below_maxsize(mproc_queue *q, double deadline) {
  for (;;) {
    uint32_t g, n;
    int rc;
    if (q->st->maxsize <= 0) return 0;
    g = atomic_load(&q->st->gets);
    n = atomic_load_explicit(&q->st->puts, memory_order_relaxed) - g;
    if ((int64_t)(int32_t)n < q->st->maxsize) return 0;
    rc = sleep_on(q, &q->st->gets, g, &q->st->count_sleepers, deadline, 1);
    if (rc < 0) return rc;
  }
}

static int put_locked(mproc_queue *q, const unsigned char *msg, size_t len,
                      double deadline) {
  size_t done = 0;
  int rc = wait_below_maxsize(q, deadline);
  if (rc < 0) return rc;
  do {
    rec r;
    size_t left = len - done;
    r.len = left > max_chunk(q) ? max_chunk(q) : (uint32_t)left;
    r.flags = (done == 0 ? REC_FIRST : 0) | (done + r.len == len ? REC_LAST : 0);
    r.total = len;
    /* Once part of a message is out, finish it whatever the deadline: a
     * timeout mid-stream would leave the consumer half a message. */
    rc = wait_room(q, rec_size(r.len), done ? MPROC__INF : deadline,
                   done == 0);
    if (rc < 0) return rc;
    if (r.flags & REC_LAST) {
      /* Count the message before a consumer can take it (its task_done
       * must find it counted), remembering how to undo that if we die
       * before the record is out (put_repair). */
      q->st->commit_tail = atomic_load(&q->st->tail);
      q->st->committing = 1;
      atomic_store_explicit(&q->st->puts, atomic_load_explicit(&q->st->puts, memory_order_relaxed) + 1, memory_order_relaxed);
      if (q->st->kind == MPROC_JOINABLE_QUEUE)
        atomic_fetch_add(&q->st->unfinished, 1);
    } else if (done == 0) {
      q->st->stream_start = atomic_load_explicit(&q->st->tail,
                                                 memory_order_relaxed);
      atomic_signal_fence(memory_order_seq_cst); /* start, then the flag */
      q->st->put_partial = 1;
    }
    if (mproc__fault("put.before_commit")) return 0;
    append(q, &r, msg + done);
    done += r.len;
    if (!(r.flags & REC_LAST) && mproc__fault("put.mid_stream")) return 0;
  } while (done < len);
  /* put_partial first: a repair that finds committing alone set with
   * tail past commit_tail knows the message is out (put_repair). */
  q->st->put_partial = 0;
  atomic_signal_fence(memory_order_seq_cst);
  q->st->committing = 0;
  return 0;
}

int mproc_queue_put(mproc_queue *q, const void *msg, size_t len,
                    double timeout) {
  double t, deadline;
  int rc;
  if (q == NULL) return mproc__err(MPROC_EINVAL, "queue is NULL");
  if (msg == NULL && len > 0)
    return mproc__err(MPROC_EINVAL, "msg is NULL but len is %zu", len);
  if (atomic_load_explicit(&q->closed, memory_order_relaxed))
    return closed_err(q, "put");
  if (len > (size_t)UINT32_MAX * 4)
    return mproc__err(MPROC_ERANGE, "a %zu-byte message is too large", len);
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  deadline = mproc__deadline(t);
  rc = put_lock(q, deadline);
  if (rc == 0) {
    rc = put_locked(q, msg, len, deadline);
    q->put_seen = q->st->put_seq;
    mproc__lockword_release(&q->obj, &q->st->put_lock);
  }
  if (rc == MPROC_ETIMEDOUT)
    return mproc__err(MPROC_EFULL, "queue \"%s\" is full", q->obj.name);
  return rc;
}

/* ---- get ----------------------------------------------------------------- */

/* A consumer stalled mid-stream whose producer died: abort the stream in
 * its place (get_lock held; lock order get_lock -> put_lock). */
static void rescue_stream(mproc_queue *q) {
  int rc = mproc__lockword_acquire(&q->obj, &q->st->put_lock, 0);
  if (rc == MPROC_EOWNERDEAD || rc == 0) {
    q->st->put_seq++;
    q->put_valid = 0;
    if (q->st->committing || q->st->put_partial)
      (void)put_repair(q, 1, mproc__deadline(SLICE));
    mproc__lockword_release(&q->obj, &q->st->put_lock);
  }
}

/* Wait for a record at head; fill *r. mid_stream: a stream is open, so
 * keep waiting (checking its producer) whatever the deadline. */
static int next_record(mproc_queue *q, rec *r, int mid_stream,
                       double deadline) {
  int waited = 0;
  for (;;) {
    uint32_t head = atomic_load_explicit(&q->st->head, memory_order_relaxed);
    int rc;
    if (!(q->get_valid && q->tail_cache != head)) {
      q->tail_cache = atomic_load(&q->st->tail);
      q->get_valid = 1;
    }
    if (q->tail_cache != head) {
      ring_read(q, head, r, HDR);
      q->streak = !waited;
      return 0;
    }
    if (q->streak) {
      /* Caught up with a flowing stream: give the producer ~1 us to write
       * a few records before pulling tail's line back (re-reading it at
       * once would make each put wait for the line). Only then: a get
       * that had to wait keeps its latency. */
      q->streak = 0;
      mproc__pause(64);
      continue;
    }
    waited = 1;
    if (!mid_stream) {
      rc = sleep_on(q, &q->st->tail, head, &q->st->get_sleepers, deadline,
                    1);
      if (rc < 0) return rc;
      continue;
    }
    rc = sleep_on(q, &q->st->tail, head, &q->st->get_sleepers,
                  mproc__deadline(SLICE), 0);
    if (rc == MPROC_ETIMEDOUT) rescue_stream(q);
    else if (rc < 0) return rc;
  }
}

static void consume(mproc_queue *q, const rec *r) {
  uint32_t head = atomic_load_explicit(&q->st->head, memory_order_relaxed);
  atomic_store(&q->st->head, head + rec_size(r->len));
  wake_if(q, &q->st->head, &q->st->put_sleepers);
}

static void message_gone(mproc_queue *q) {
  uint32_t g = atomic_load_explicit(&q->st->gets, memory_order_relaxed) + 1;
  if (q->st->maxsize <= 0) { /* nobody sleeps on gets */
    atomic_store_explicit(&q->st->gets, g, memory_order_release);
    return;
  }
  atomic_store(&q->st->gets, g);
  wake_if(q, &q->st->gets, &q->st->count_sleepers);
}

/* Skip the rest of a message a dead consumer had begun. */
static int skip_partial(mproc_queue *q) {
  while (q->st->get_partial) {
    rec r;
    int rc = next_record(q, &r, 1, MPROC__INF);
    if (rc < 0) return rc;
    consume(q, &r);
    if (r.flags & REC_ABORT) q->st->get_partial = 0;
    if (r.flags & REC_LAST) {
      q->st->get_partial = 0;
      message_gone(q);
    }
  }
  return 0;
}

/* A stream at head that is already followed by an ABORT in the ring was
 * never a message: drop it (so it cannot make a small buffer fail with
 * MPROC_EBUFSIZE forever). Returns 1 if dropped. */
static int drop_if_aborted(mproc_queue *q, const rec *first) {
  uint32_t head = atomic_load_explicit(&q->st->head, memory_order_relaxed);
  uint32_t tail = atomic_load(&q->st->tail), at = head;
  rec r = *first;
  for (;;) {
    if (r.flags & REC_LAST) return 0;
    if (r.flags & REC_ABORT) break;
    at += rec_size(r.len);
    if (at == tail) return 0; /* the rest is still to come */
    ring_read(q, at, &r, HDR);
  }
  atomic_store(&q->st->head, at + rec_size(r.len));
  wake_if(q, &q->st->head, &q->st->put_sleepers);
  return 1;
}

/* Copy one whole message into dst (or a malloc'd buffer when dst is NULL
 * and *heap is given). Returns 0, MPROC_EBUFSIZE (nothing consumed), or a
 * wait error. */
static int get_locked(mproc_queue *q, unsigned char *dst, size_t cap,
                      size_t *len, void **heap, double deadline) {
  for (;;) {
    rec r;
    size_t done = 0;
    int rc = next_record(q, &r, 0, deadline);
    if (rc < 0) return rc;
    if (!(r.flags & REC_FIRST)) { /* an ABORT, or debris: drop it */
      consume(q, &r);
      continue;
    }
    if (heap) {
      dst = r.total ? malloc((size_t)r.total) : NULL;
      if (r.total && dst == NULL)
        return mproc__err(MPROC_ENOMEM, "no memory for a %zu-byte message",
                          (size_t)r.total);
      *heap = dst;
    } else if (r.total > cap) {
      if (drop_if_aborted(q, &r)) continue;
      *len = (size_t)r.total; /* the size needed: the one failure with *len */
      return mproc__err(MPROC_EBUFSIZE, "the message is %zu bytes; the "
                                        "buffer holds %zu",
                        (size_t)r.total, cap);
    }
    for (;;) {
      uint32_t head = atomic_load_explicit(&q->st->head, memory_order_relaxed);
      if (r.len) ring_read(q, head + HDR, dst + done, r.len);
      done += r.len;
      if (mproc__fault("get.before_consume")) return 0;
      if (!(r.flags & REC_LAST)) q->st->get_partial = 1;
      consume(q, &r);
      if (r.flags & REC_LAST) break;
      if (mproc__fault("get.mid_stream")) return 0;
      rc = next_record(q, &r, 1, MPROC__INF);
      if (rc < 0) return rc;
      if (r.flags & REC_ABORT) break; /* its producer died */
    }
    q->st->get_partial = 0;
    if (r.flags & REC_ABORT) {
      consume(q, &r);
      if (heap) {
        free(*heap);
        *heap = NULL; /* the next wait may time out: no dangling *msg */
      }
      continue; /* that message never was: take the next */
    }
    message_gone(q);
    *len = (size_t)r.total;
    return 0;
  }
}

/* Take get_lock by `deadline`; 0 holding it (from a dead owner too: the
 * repair state is in get_partial, not in how the lock was taken). */
static int get_lock(mproc_queue *q, double deadline) {
  int rc = qlock(q, &q->st->get_lock, deadline);
  if (rc == 0) {
    q->get_valid = q->st->get_seq == q->get_seen;
    q->st->get_seq++;
  }
  return rc;
}

static int get_common(mproc_queue *q, void *buf, size_t cap, size_t *len,
                      void **heap, double timeout) {
  double t, deadline;
  int rc;
  if (len) *len = 0;
  if (q == NULL || len == NULL)
    return mproc__err(MPROC_EINVAL, "queue or len is NULL");
  if (!heap && buf == NULL && cap > 0)
    return mproc__err(MPROC_EINVAL, "buf is NULL but cap is %zu", cap);
  if (atomic_load_explicit(&q->closed, memory_order_relaxed))
    return closed_err(q, "get");
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  deadline = mproc__deadline(t);
  rc = get_lock(q, deadline);
  if (rc == 0) {
    /* A consumer that died, or whose wait failed, mid-stream left the
     * rest of that message for us to skip. */
    if (q->st->get_partial) rc = skip_partial(q);
    if (rc == 0) rc = get_locked(q, buf, cap, len, heap, deadline);
    q->get_seen = q->st->get_seq;
    mproc__lockword_release(&q->obj, &q->st->get_lock);
  }
  if (rc < 0 && rc != MPROC_EBUFSIZE) {
    /* Outputs on failure: nothing to free, nothing to read. */
    *len = 0;
    if (heap && *heap) {
      free(*heap);
      *heap = NULL;
    }
  }
  if (rc == MPROC_ETIMEDOUT)
    return mproc__err(MPROC_EEMPTY, "queue \"%s\" is empty", q->obj.name);
  return rc;
}

int mproc_queue_get(mproc_queue *q, void *buf, size_t cap, size_t *len,
                    double timeout) {
  return get_common(q, buf, cap, len, NULL, timeout);
}

int mproc_queue_get_alloc(mproc_queue *q, void **msg, size_t *len,
                          double timeout) {
  if (msg == NULL) {
    if (len) *len = 0;
    return mproc__err(MPROC_EINVAL, "msg is NULL");
  }
  *msg = NULL;
  return get_common(q, NULL, 0, len, msg, timeout);
}

/* ---- the rest ------------------------------------------------------------ */

/* 0 if q may be asked about its size; else the error, with its sentence. */
static int check_open(const mproc_queue *q, const char *what) {
  if (q == NULL) return mproc__err(MPROC_EINVAL, "%s of a NULL queue", what);
  if (atomic_load_explicit(&q->closed, memory_order_relaxed))
    return closed_err(q, what);
  return 0;
}

static long count(const mproc_queue *q) {
  uint32_t g = atomic_load(&q->st->gets);
  int32_t n = (int32_t)(atomic_load(&q->st->puts) - g);
  return n > 0 ? n : 0;
}

long mproc_queue_qsize(const mproc_queue *q) {
  int rc = check_open(q, "qsize");
  return rc < 0 ? rc : count(q);
}

int mproc_queue_empty(const mproc_queue *q) {
  int rc = check_open(q, "empty");
  return rc < 0 ? rc : count(q) == 0;
}

int mproc_queue_full(const mproc_queue *q) {
  int rc = check_open(q, "full");
  if (rc < 0) return rc;
  return q->st->maxsize > 0 && count(q) >= q->st->maxsize;
}

static int need_joinable(const mproc_queue *q, const char *what) {
  if (q == NULL) return mproc__err(MPROC_EINVAL, "queue is NULL");
  if (q->st->kind != MPROC_JOINABLE_QUEUE)
    return mproc__err(MPROC_EINVAL, "%s on queue \"%s\", which is not a "
                                    "JoinableQueue",
                      what, q->obj.name);
  return 0;
}

int mproc_queue_task_done(mproc_queue *q) {
  uint32_t v;
  int rc = need_joinable(q, "task_done");
  if (rc < 0) return rc;
  v = atomic_load(&q->st->unfinished);
  do {
    if (v == 0)
      return mproc__err(MPROC_ESTATE, "task_done on queue \"%s\" called "
                                      "more times than items were put",
                        q->obj.name);
  } while (!atomic_compare_exchange_weak(&q->st->unfinished, &v, v - 1));
  if (v == 1) wake_if(q, &q->st->unfinished, &q->st->join_sleepers);
  return 0;
}

int mproc_queue_join(mproc_queue *q, double timeout) {
  double t, deadline;
  int rc = need_joinable(q, "join");
  if (rc < 0) return rc;
  if (atomic_load_explicit(&q->closed, memory_order_relaxed))
    return closed_err(q, "join");
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  deadline = mproc__deadline(t);
  for (;;) {
    uint32_t v = atomic_load(&q->st->unfinished);
    if (v == 0) return 0;
    rc = sleep_on(q, &q->st->unfinished, v, &q->st->join_sleepers, deadline,
                  1);
    if (rc == MPROC_ETIMEDOUT)
      return mproc__err(rc, "queue \"%s\" has %u unfinished tasks",
                        q->obj.name, atomic_load(&q->st->unfinished));
    if (rc < 0) return rc;
  }
}

int mproc_queue_close(mproc_queue *q) {
  if (q == NULL) return mproc__err(MPROC_EINVAL, "queue is NULL");
  atomic_store(&q->closed, 1);
  /* Wake this handle's sleepers (see the top); others' wake spuriously
   * and sleep on. Each round lets a sleeper about to sleep get there. */
  while (atomic_load(&q->waiting) > 0) {
    mproc__wake(&q->obj, &q->st->tail, INT32_MAX);
    mproc__wake(&q->obj, &q->st->head, INT32_MAX);
    mproc__wake(&q->obj, &q->st->gets, INT32_MAX);
    mproc__wake(&q->obj, &q->st->unfinished, INT32_MAX);
    mproc__os_yield();
  }
  /* Then the handle's hold goes (the last holder removes the name); the
   * mapping stays until the free, for calls still on their way out. */
  mproc__obj_close(&q->obj);
  return 0;
}

const char *mproc_queue_name(const mproc_queue *q) {
  return q ? q->obj.name : NULL;
}

size_t mproc_queue_capacity(const mproc_queue *q) {
  return q ? q->st->capacity : 0;
}

/* ---- making and opening ------------------------------------------------- */

typedef struct qinit {
  uint32_t capacity, kind;
  int64_t maxsize;
} qinit;

static void queue_init(void *state, void *arg) {
  const qinit *a = arg;
  qstate *st = state;
  memset(st, 0, sizeof *st);
  st->capacity = a->capacity;
  st->kind = a->kind;
  st->maxsize = a->maxsize;
}

static void attach(void *h) {
  mproc_queue *q = h;
  q->st = mproc__obj_state(&q->obj);
  q->ring = mproc__obj_data(&q->obj);
  q->mask = q->st->capacity - 1;
}

int mproc_queue_new(mproc_queue **out, const mproc_queue_opts *user_opts) {
  mproc_shm_opts so = MPROC_SHM_OPTS_INIT;
  mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
  qinit a;
  size_t cap, pow2 = 4096;
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "out is NULL");
  *out = NULL;
  rc = mproc__opts_load(&o, sizeof o, user_opts, "queue_new",
                        "MPROC_QUEUE_OPTS_INIT");
  if (rc < 0) return rc;
  cap = o.capacity ? o.capacity : (size_t)1 << 20;
  a.kind = (uint32_t)o.kind;
  a.maxsize = o.maxsize;
  if (a.kind > MPROC_JOINABLE_QUEUE)
    return mproc__err(MPROC_EINVAL, "queue kind %u is not a kind", a.kind);
  if (a.maxsize < 0)
    return mproc__err(MPROC_EINVAL, "maxsize %lld is negative; 0 means no "
                                    "limit",
                      (long long)a.maxsize);
  if (a.kind == MPROC_SIMPLE_QUEUE) a.maxsize = 0;
  if (a.maxsize > INT32_MAX) a.maxsize = INT32_MAX;
  if (cap > ((size_t)1 << 30))
    return mproc__err(MPROC_ERANGE, "queue capacity %zu is over 1 GiB", cap);
  while (pow2 < cap) pow2 <<= 1;
  a.capacity = (uint32_t)pow2;
  so.name = o.name;
  so.no_track = o.no_track;
  return mproc__kind_make(MPROC__KIND_QUEUE, out, pow2, &so, queue_init, &a);
}

int mproc_queue_open(mproc_queue **out, const char *name) {
  return mproc__kind_open(MPROC__KIND_QUEUE, out, name);
}

const mproc__kind_ops mproc__queue_ops = {MPROC__KIND_QUEUE,
                                          sizeof(mproc_queue),
                                          attach,
                                          NULL,
                                          NULL,
                                          NULL,
                                          NULL};

void mproc_queue_free(mproc_queue *q) { mproc__kind_free(q); }
