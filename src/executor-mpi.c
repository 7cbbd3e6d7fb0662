/* mproc: the MPI kind of executor, the root's side — futures reach worker
 * ranks as batches of tasks over MPI (the wire: executor-mpi.h).
 *
 * Pending futures wait in a list; dispatch() takes them in batches for
 * the rank with the fewest in flight, as long as that rank holds fewer
 * than WINDOW tasks: several batches are in flight per rank (pipelined),
 * and the rest stay cancellable. A batch is posted with MPI_Isend, so the
 * poller never blocks on a busy rank.
 *
 * Submitters only queue. One thread at a time calls MPI, holding
 * `token`: the receiver thread, or a thread waiting for a future
 * (m_help), which polls itself so that its answer needs no hand-over.
 * No MPI-internal lock is fought over, and the list of sends needs no
 * lock of ours (the token orders its users). The poller sends what is
 * pending, probes for answers (MPI_Improbe) with backoff when nothing
 * comes (a short spin, yields, then sleeps growing to 1 ms: an idle root
 * must not take a CPU from its ranks on an oversubscribed node), finishes
 * futures, reaps completed sends, and handles INITFAIL and CLOSED. The
 * receiver sleeps on a condition while nothing is pending or in flight.
 *
 * Failure: an MPI call that fails (MPI_ERRORS_RETURN is set on the
 * communicator) or a failed initializer makes the executor broken: every
 * pending and sent future fails with MPROC_EBROKEN and the message, and
 * later submits are refused.
 *
 * A dead rank: see executor-mpi.h (HELLO).
 *
 * Lock order: the pool lock alone; it is not held while a future's lock
 * is taken (mproc__future_start is a CAS; finishing happens outside). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor-mpi.h"
#include "object.h"
#include "platform.h"

#define TABLE_MASK 1023u  /* buckets per worker */
#define BATCH 256            /* tasks per message at most */
#define BATCH_BYTES (256 * 1024)
#define WINDOW 512           /* tasks in flight per rank at most */
#define RECV_LOOK_NS 200000u /* an idle receiver looks this long, then sleeps */
#define HELP_NS 10000000u    /* a waiter polls MPI this long at most */
#define WATCH_NS 20000000u   /* the workers' pids are looked at this often */
#define HELP_SPIN_NS 50000u  /* a waiter spins this long before it yields */
#define PARK_NS 1000000u     /* a receiver out of a waiter's way sleeps so */

typedef struct msend {
  void *buf;        /* freed when the send completes */
  mproc_future *f;  /* unreferenced when the send completes */
  int w;            /* the worker it goes to */
} msend;

typedef struct mpool {
  mproc_executor *ex;
  MPI_Comm comm;
  int owns, stop, is_static, nw;
  int *rank;     /* worker index -> rank in comm (the remote group: spawn) */
  int *index_of; /* rank -> worker index, or -1 */
  int nranks;
  size_t *wflight;
  uv_mutex_t lock;
  uv_cond_t rcond;    /* the receiver sleeps here */
  uv_cond_t idle_cond;/* a waiting shutdown sleeps here */
  mproc_future *phead, *ptail;
  _Atomic size_t npending; /* written under the lock */
  mproc_future **table; /* worker w's sent futures: TABLE_MASK + 1 buckets
                           from w * (TABLE_MASK + 1) */
  _Atomic size_t inflight; /* written under the lock */
  int shutdown, broken, mpi_failed, quit, closing, recv_idle;
  /* Per worker: closed (its CLOSED came) or dead, under the lock; nended
   * counts the workers that are either. wpid: the token holder's. */
  unsigned char *wclosed, *wdead;
  int nended, ndead;
  long *wpid;          /* its pid when on this host, else 0 (unwatched) */
  uint64_t next_watch; /* uv_hrtime of the next look at the pids */
  int survivable;      /* the MPI library goes on past a dead rank */
  char host[MPI_MAX_PROCESSOR_NAME + 1];
  char broken_msg[400];
  MPI_Request *reqs; /* the receiver's alone (and join's, after it) */
  msend *owners;
  size_t nsends, capsends;
  uv_thread_t receiver;
  uv_mutex_t join_lock;
  int joined;
  /* Who talks MPI now: the receiver or a helping waiter (ops.help), one
   * at a time (1 held). A shutdown's join keeps it for good. */
  atomic_int token;
  atomic_int helpers; /* waiters in m_help now: the receiver naps */
  _Atomic uint64_t helped; /* uv_hrtime when the last m_help ended */
} mpool;

/* ---- the table of sent futures ------------------------------------------- */

static void table_put(mpool *p, int w, mproc_future *f) {
  mproc_future **b = &p->table[(size_t)w * (TABLE_MASK + 1) +
                               (f->task & TABLE_MASK)];
  f->next = *b;
  *b = f;
}

static mproc_future *table_take(mpool *p, int w, uint64_t id) {
  mproc_future **b, *f;
  if (w < 0) return NULL;
  b = &p->table[(size_t)w * (TABLE_MASK + 1) + (id & TABLE_MASK)];
  for (; (f = *b) != NULL; b = &f->next)
    if (f->task == id) {
      *b = f->next;
      f->next = NULL;
      return f;
    }
  return NULL;
}

/* Worker w's sent futures (w < 0: everyone's), counted in *n. */
static mproc_future *table_take_all(mpool *p, int w, size_t *n) {
  mproc_future *all = NULL, *f, *next;
  size_t i = w < 0 ? 0 : (size_t)w * (TABLE_MASK + 1);
  size_t end = w < 0 ? (size_t)p->nw * (TABLE_MASK + 1) : i + TABLE_MASK + 1;
  *n = 0;
  for (; i < end; i++) {
    for (f = p->table[i]; f != NULL; f = next) {
      next = f->next;
      f->next = all;
      all = f;
      ++*n;
    }
    p->table[i] = NULL;
  }
  return all;
}

/* Finish (running) or drop (cancelled pending) a list linked by next. */
static void fail_list(mproc_future *f, int running, int outcome,
                      const char *why) {
  mproc_future *next;
  for (; f != NULL; f = next) {
    next = f->next;
    f->next = NULL;
    if (running || mproc__future_start(f))
      mproc__future_finish(f, outcome, outcome, why);
    mproc__future_unref(f);
  }
}

/* Fail everything with MPROC_EBROKEN; mpi: MPI itself failed (then
 * nothing more is said to the ranks). */
static void set_broken(mpool *p, int mpi, const char *why) {
  mproc_future *pending, *sent;
  size_t nsent;
  int i;
  uv_mutex_lock(&p->lock);
  if (!p->broken) snprintf(p->broken_msg, sizeof p->broken_msg, "%s", why);
  p->broken = 1;
  if (mpi) p->mpi_failed = 1;
  pending = p->phead;
  p->phead = p->ptail = NULL;
  atomic_store(&p->npending, 0);
  sent = table_take_all(p, -1, &nsent);
  for (i = 0; i < p->nw; i++) p->wflight[i] = 0;
  atomic_store(&p->inflight, 0);
  uv_cond_broadcast(&p->idle_cond);
  uv_cond_signal(&p->rcond);
  uv_mutex_unlock(&p->lock);
  fail_list(pending, 0, MPROC_EBROKEN, p->broken_msg);
  fail_list(sent, 1, MPROC_EBROKEN, p->broken_msg);
}

static void mpi_broken(mpool *p, int mpi_rc, const char *what) {
  char why[400];
  (void)mproc__mpi_err(MPROC_EBROKEN, mpi_rc, what);
  snprintf(why, sizeof why, "MPI executor broken: %s", mproc_last_error());
  set_broken(p, 1, why);
}

/* ---- sending ---------------------------------------------------------------- */

/* Post an Isend and remember what to release (the receiver's thread). */
static int post(mpool *p, const void *buf, size_t n, int w, int tag,
                void *owned, mproc_future *f) {
  int rc, dest = p->rank[w];
  if (p->nsends == p->capsends) {
    size_t cap = p->capsends ? p->capsends * 2 : 64;
    MPI_Request *r = realloc(p->reqs, cap * sizeof *r);
    msend *o = r ? realloc(p->owners, cap * sizeof *o) : NULL;
    if (r) p->reqs = r;
    if (o == NULL) return mproc__err(MPROC_ENOMEM, "MPI executor: out of "
                                     "memory for a send");
    p->owners = o;
    p->capsends = cap;
  }
  rc = MPI_Isend(buf, (int)n, MPI_BYTE, dest, tag, p->comm,
                 &p->reqs[p->nsends]);
  if (rc != MPI_SUCCESS) return mproc__mpi_err(MPROC_EBROKEN, rc, "MPI_Isend");
  p->owners[p->nsends].buf = owned;
  p->owners[p->nsends].f = f;
  p->owners[p->nsends].w = w;
  p->nsends++;
  return 0;
}

/* Release what completed sends held (the receiver's turn). */
static int reap_sends(mpool *p) {
  int rc = MPI_SUCCESS, outcount = 0, i;
  int idx[64];
  MPI_Status sts[64]; /* not MPI_STATUSES_IGNORE: MPICH's (MPI_Status *)1
                         upsets gcc's -Wstringop-overflow */
  while (p->nsends > 0) {
    int n = p->nsends < 64 ? (int)p->nsends : 64;
    rc = MPI_Testsome(n, p->reqs, &outcount, idx, sts);
    if (rc != MPI_SUCCESS || outcount == MPI_UNDEFINED || outcount == 0) break;
    for (i = 0; i < outcount; i++) {
      free(p->owners[idx[i]].buf);
      if (p->owners[idx[i]].f) mproc__future_unref(p->owners[idx[i]].f);
      p->reqs[idx[i]] = MPI_REQUEST_NULL;
    }
    /* Compact: drop the completed ones, keep the order of the rest. */
    {
      size_t r, w = 0;
      for (r = 0; r < p->nsends; r++)
        if (p->reqs[r] != MPI_REQUEST_NULL) {
          p->reqs[w] = p->reqs[r];
          p->owners[w] = p->owners[r];
          w++;
        }
      p->nsends = w;
    }
    if (outcount < n) break;
  }
  return rc;
}

static const char *task_name(const mproc_future *f) {
  const char *name = NULL;
  (void)mproc__task_lookup((mproc_fnptr)f->fn, &name); /* checked at submit */
  return name;
}

/* A big task: its header alone, then the input in pieces, uncopied. */
static int post_big(mpool *p, int w, mproc_future *f, const char *name) {
  mpix_task_hdr h;
  size_t nl = strlen(name), off;
  unsigned char *m = malloc(sizeof h + nl);
  int rc;
  if (m == NULL) return mproc__err(MPROC_ENOMEM, "MPI executor: no memory");
  memset(&h, 0, sizeof h);
  h.id = f->task;
  h.item = f->item == MPROC__NO_ITEM ? 0 : f->item;
  h.in_len = f->in_len;
  h.name_len = (uint32_t)nl;
  memcpy(m, &h, sizeof h);
  memcpy(m + sizeof h, name, nl);
  if ((rc = post(p, m, sizeof h + nl, w, MPIX_TAG_BIGTASK, m, NULL)) < 0) {
    free(m);
    return rc;
  }
  for (off = 0; off < f->in_len; off += MPIX_PIECE) {
    size_t n = f->in_len - off < MPIX_PIECE ? f->in_len - off : MPIX_PIECE;
    mproc__future_ref(f); /* the send reads f->in until it completes */
    if ((rc = post(p, f->in + off, n, w, MPIX_TAG_PIECE, NULL, f)) < 0) {
      mproc__future_unref(f);
      return rc;
    }
  }
  return 0;
}

/* Pack the small tasks of fs into one TASKS message and post it, then
 * post each big one; fs hold the dispatcher's references. A task of the
 * same function as the one before it in the batch carries no name
 * (name_len 0: names are never empty), and the name is looked up once
 * per run of one function. */
static int send_batch(mpool *p, int w, mproc_future **fs, size_t k) {
  size_t i, total = 4, off = 4, nl = 0;
  uint32_t count = 0;
  unsigned char *m = NULL;
  int rc = 0;
  mproc_task_fn last = NULL;
  const char *name = NULL;
  for (i = 0; i < k; i++) {
    if (fs[i]->in_len > MPIX_BIG) continue;
    if (fs[i]->fn != last) {
      last = fs[i]->fn;
      total += strlen(task_name(fs[i]));
    }
    total += sizeof(mpix_task_hdr) + fs[i]->in_len;
  }
  if (total > 4 && (m = malloc(total)) == NULL)
    return mproc__err(MPROC_ENOMEM, "MPI executor: no memory for a batch");
  for (i = 0, last = NULL; m != NULL && i < k; i++) {
    mpix_task_hdr h;
    if (fs[i]->in_len > MPIX_BIG) continue;
    memset(&h, 0, sizeof h);
    if (fs[i]->fn != last) {
      last = fs[i]->fn;
      name = task_name(fs[i]);
      nl = strlen(name);
      h.name_len = (uint32_t)nl;
    }
    h.id = fs[i]->task;
    h.item = fs[i]->item == MPROC__NO_ITEM ? 0 : fs[i]->item;
    h.in_len = fs[i]->in_len;
    memcpy(m + off, &h, sizeof h);
    memcpy(m + off + sizeof h, name, h.name_len);
    if (h.in_len) memcpy(m + off + sizeof h + h.name_len, fs[i]->in, h.in_len);
    off += sizeof h + h.name_len + h.in_len;
    count++;
  }
  if (m) memcpy(m, &count, 4);
  if (m != NULL && (rc = post(p, m, total, w, MPIX_TAG_TASKS, m, NULL)) < 0)
    free(m);
  for (i = 0; rc == 0 && i < k; i++)
    if (fs[i]->in_len > MPIX_BIG) rc = post_big(p, w, fs[i], task_name(fs[i]));
  return rc;
}

/* Under the lock: the worker with room and the fewest in flight, or -1. */
static int pick_worker(const mpool *p) {
  int i, best = -1;
  for (i = 0; i < p->nw; i++)
    if (!p->wdead[i] && p->wflight[i] < WINDOW &&
        (best < 0 || p->wflight[i] < p->wflight[best]))
      best = i;
  return best;
}

/* Under the lock: take up to BATCH pending futures for worker w (started:
 * RUNNING, in the table, with a reference for the sender); cancelled ones
 * go to *dropped. */
static size_t take_batch(mpool *p, int w, mproc_future **fs,
                         mproc_future **dropped) {
  size_t room = WINDOW - p->wflight[w], share, k = 0;
  size_t live = (size_t)(p->nw - p->ndead);
  share = (atomic_load(&p->npending) + live - 1) / live;
  if (share < room) room = share;
  if (room > BATCH) room = BATCH;
  while (k < room && p->phead != NULL) {
    mproc_future *f = p->phead;
    p->phead = f->next;
    if (p->phead == NULL) p->ptail = NULL;
    atomic_store(&p->npending, atomic_load(&p->npending) - 1);
    f->next = NULL;
    if (!mproc__future_start(f)) { /* cancelled while pending */
      f->next = *dropped;
      *dropped = f;
      continue;
    }
    mproc__future_ref(f);
    table_put(p, w, f);
    fs[k++] = f;
  }
  p->wflight[w] += k;
  atomic_store(&p->inflight, atomic_load(&p->inflight) + k);
  return k;
}

/* Send pending futures while some worker has room. */
static void dispatch(mpool *p) {
  for (;;) {
    mproc_future *fs[BATCH], *dropped = NULL;
    size_t k = 0, i;
    int w = -1, rc;
    uv_mutex_lock(&p->lock);
    if (!p->broken && p->phead != NULL && (w = pick_worker(p)) >= 0)
      k = take_batch(p, w, fs, &dropped);
    if (p->phead == NULL && atomic_load(&p->inflight) == 0)
      uv_cond_broadcast(&p->idle_cond);
    uv_mutex_unlock(&p->lock);
    while (dropped != NULL) {
      mproc_future *next = dropped->next;
      dropped->next = NULL;
      mproc__future_unref(dropped);
      dropped = next;
    }
    if (k == 0) {
      if (w < 0) return;
      continue; /* only cancelled ones: look again */
    }
    rc = send_batch(p, w, fs, k);
    for (i = 0; i < k; i++) mproc__future_unref(fs[i]);
    if (rc < 0) {
      char why[400];
      snprintf(why, sizeof why, "MPI executor broken: a batch could not be "
               "sent to worker %d: %s", w, mproc_last_error());
      set_broken(p, rc == MPROC_EBROKEN, why);
      return;
    }
  }
}

/* ---- receiving ---------------------------------------------------------------- */

/* Finish f from a result: data (len bytes) is moved in when `own`. */
static void finish_one(mproc_future *f, const mpix_res_hdr *h,
                       const char *msg, unsigned char *data, int own) {
  char *why = NULL;
  if (h->msg_len && (why = malloc(h->msg_len + 1)) != NULL) {
    memcpy(why, msg, h->msg_len);
    why[h->msg_len] = '\0';
  }
  if (h->rc == 0) {
    f->len = (size_t)h->len;
    if (f->len > 0 && own) {
      f->data = data;
      data = NULL;
    } else if (f->len > 0 && (f->data = malloc(f->len)) != NULL) {
      memcpy(f->data, data, f->len);
    } else if (f->len > 0) {
      f->len = 0;
      mproc__future_finish(f, MPROC_EBROKEN, MPROC_ENOMEM, "MPI executor: "
                           "no memory for the result");
      goto done;
    }
    mproc__future_finish(f, 0, 0, NULL);
  } else if (h->rc == MPROC_EBROKEN || h->rc == MPROC_EWORKERDIED) {
    mproc__future_finish(f, h->rc, h->rc, why);
  } else {
    mproc__future_finish(f, MPROC_ETASK, h->rc, why);
  }
done:
  if (own) free(data);
  free(why);
}

/* Under the lock: count k answers of worker w as no longer in flight. */
static void landed(mpool *p, int w, size_t k) {
  if (w >= 0 && p->wflight[w] >= k) p->wflight[w] -= k;
  if (atomic_load(&p->inflight) >= k)
    atomic_store(&p->inflight, atomic_load(&p->inflight) - k);
  if (p->phead == NULL && atomic_load(&p->inflight) == 0)
    uv_cond_broadcast(&p->idle_cond); /* a waiting shutdown goes on */
}

static void on_results(mpool *p, int w, unsigned char *m, size_t n) {
  uint32_t count, i = 0;
  size_t off = 4;
  if (n < 4) return;
  memcpy(&count, m, 4);
  while (i < count) {
    /* One lock for up to BATCH answers, then finish them outside it. */
    mproc_future *fs[BATCH];
    size_t offs[BATCH], k = 0, taken = 0, j;
    uv_mutex_lock(&p->lock);
    for (; i < count && k < BATCH; i++, k++) {
      mpix_res_hdr h;
      if (off + sizeof h > n) break;
      memcpy(&h, m + off, sizeof h);
      if (h.msg_len > n - off - sizeof h ||
          h.len > n - off - sizeof h - h.msg_len)
        break;
      offs[k] = off;
      if ((fs[k] = table_take(p, w, h.id)) != NULL) taken++;
      off += sizeof h + h.msg_len + (size_t)h.len;
    }
    landed(p, w, taken);
    uv_mutex_unlock(&p->lock);
    for (j = 0; j < k; j++) {
      mpix_res_hdr h;
      if (fs[j] == NULL) continue;
      memcpy(&h, m + offs[j], sizeof h);
      finish_one(fs[j], &h, (const char *)m + offs[j] + sizeof h,
                 m + offs[j] + sizeof h + h.msg_len, 0);
      mproc__future_unref(fs[j]);
    }
    if (k < BATCH && i < count) break; /* malformed: stop here */
  }
}

/* A big result: the header came in m; the data follows in pieces. */
static int on_big_result(mpool *p, int w, int src, unsigned char *m,
                         size_t n) {
  mpix_res_hdr h;
  mproc_future *f;
  unsigned char *data = NULL;
  size_t off;
  int rc;
  if (n < sizeof h) return MPI_SUCCESS;
  memcpy(&h, m, sizeof h);
  if (h.len > 0 && (data = malloc((size_t)h.len)) == NULL) {
    mproc__err(MPROC_ENOMEM, "MPI executor: no memory for a %llu-byte "
               "result", (unsigned long long)h.len);
    return MPI_ERR_NO_MEM;
  }
  for (off = 0; off < h.len; off += MPIX_PIECE) {
    size_t k = h.len - off < MPIX_PIECE ? (size_t)h.len - off : MPIX_PIECE;
    rc = MPI_Recv(data + off, (int)k, MPI_BYTE, src, MPIX_TAG_PIECE, p->comm,
                  MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
      free(data);
      return rc;
    }
  }
  uv_mutex_lock(&p->lock);
  f = table_take(p, w, h.id);
  if (f) landed(p, w, 1);
  uv_mutex_unlock(&p->lock);
  if (f) {
    h.msg_len = h.msg_len <= n - sizeof h ? h.msg_len : 0;
    finish_one(f, &h, (const char *)m + sizeof h, data, 1);
    mproc__future_unref(f);
  } else {
    free(data);
  }
  return MPI_SUCCESS;
}

/* Take one matched message and act on it. */
static int on_message(mpool *p, MPI_Message *msg, MPI_Status *st) {
  int count = 0, rc, src = st->MPI_SOURCE, tag = st->MPI_TAG;
  int w = src >= 0 && src < p->nranks ? p->index_of[src] : -1;
  unsigned char *m;
  MPI_Get_count(st, MPI_BYTE, &count);
  m = malloc(count > 0 ? (size_t)count + 1 : 1);
  if (m == NULL) {
    mproc__err(MPROC_ENOMEM, "MPI executor: no memory for a %d-byte answer",
               count);
    return MPI_ERR_NO_MEM;
  }
  rc = MPI_Mrecv(m, count, MPI_BYTE, msg, MPI_STATUS_IGNORE);
  if (rc != MPI_SUCCESS) {
    free(m);
    return rc;
  }
  m[count] = '\0';
  switch (tag) {
  case MPIX_TAG_RESULTS:
    on_results(p, w, m, (size_t)count);
    break;
  case MPIX_TAG_BIGRESULT:
    rc = on_big_result(p, w, src, m, (size_t)count);
    break;
  case MPIX_TAG_INITFAIL:
    set_broken(p, 0, count > 0 ? (const char *)m
                               : "MPI executor broken: an initializer failed");
    break;
  case MPIX_TAG_CLOSED:
    uv_mutex_lock(&p->lock);
    if (w >= 0 && !p->wclosed[w] && !p->wdead[w]) p->nended++;
    if (w >= 0) p->wclosed[w] = 1;
    uv_cond_broadcast(&p->idle_cond);
    uv_mutex_unlock(&p->lock);
    break;
  case MPIX_TAG_HELLO:
    if (w >= 0 && count >= 8) {
      int64_t pid;
      memcpy(&pid, m, 8);
      /* Watched only on this host: a pid elsewhere means nothing here. */
      p->wpid[w] = strcmp((const char *)m + 8, p->host) == 0 ? (long)pid : 0;
    }
    break;
  default:
    break; /* nothing else is sent to the root */
  }
  free(m);
  return rc;
}

/* Under the lock: the receiver has something to do. */
static int recv_due(const mpool *p) {
  return ((atomic_load(&p->inflight) > 0 || atomic_load(&p->npending) > 0) &&
          !p->mpi_failed) ||
         (p->closing && !p->mpi_failed && p->nended < p->nw);
}

/* The receiver steps aside while a waiter polls (m_help takes every
 * answer, not only its own): it sleeps until a waiter gives up with its
 * future not done, a close, or PARK_NS, whichever comes first, and
 * submits do not wake it (recv_idle 2), so a submit().result() loop
 * costs no wake-up and no third thread on the CPUs the ranks need. */
static void park(mpool *p) {
  uv_mutex_lock(&p->lock);
  if (!p->quit && !p->closing) {
    p->recv_idle = 2;
    (void)uv_cond_timedwait(&p->rcond, &p->lock, PARK_NS);
    p->recv_idle = 0;
  }
  uv_mutex_unlock(&p->lock);
}

/* Sleep until there is something to do; 0 when the receiver ends. The
 * busy path takes no lock (two atomics): a poll that locked the pool each
 * round would fight the submitters for it. */
static int receiver_wait(mpool *p, uint64_t *since) {
  int due;
  if (atomic_load(&p->inflight) > 0 || atomic_load(&p->npending) > 0)
    return 1;
  {
    /* A look first (spin, then yield, RECV_LOOK_NS): a submitter that
     * goes on (a result, then the next submit) must not pay a wake-up
     * each time. */
    uint64_t now = uv_hrtime(), until = now + RECV_LOOK_NS, i = 0;
    /* A waiter that helped just now will likely help with the next
     * round too (submit().result() in a loop): leave it the CPU. */
    if (now - atomic_load(&p->helped) < PARK_NS) {
      park(p);
      return 1;
    }
    while (atomic_load(&p->npending) == 0 && uv_hrtime() < until)
      if (i++ < 1000) mproc__pause(16); else mproc__os_yield();
  }
  uv_mutex_lock(&p->lock);
  while (!recv_due(p) && !p->quit) {
    p->recv_idle = 1;
    uv_cond_wait(&p->rcond, &p->lock);
    p->recv_idle = 0;
  }
  due = recv_due(p);
  uv_mutex_unlock(&p->lock);
  *since = 0;
  return due;
}

/* ---- dead ranks ------------------------------------------------------------------ */

/* Worker w's pid is gone (the token holder): read what it sent before it
 * died, then fail the futures it still held, or break the executor where
 * MPI does not go on past a dead rank. */
static void rank_died(mpool *p, int w) {
  mproc_future *held;
  MPI_Message msg;
  MPI_Status st;
  size_t n = 0;
  int flag = 1, all;
  char why[400];
  while (flag &&
         MPI_Improbe(p->rank[w], MPI_ANY_TAG, p->comm, &flag, &msg, &st) ==
             MPI_SUCCESS &&
         flag)
    if (on_message(p, &msg, &st) != MPI_SUCCESS) break;
  if (!p->survivable) {
    snprintf(why, sizeof why, "MPI executor broken: worker rank %d (pid %ld) "
             "died, and this MPI library cannot go on past a dead rank "
             "(Open MPI can, under mpiexec --enable-recovery)", p->rank[w],
             p->wpid[w]);
    set_broken(p, 1, why);
    return;
  }
  uv_mutex_lock(&p->lock);
  if (!p->wclosed[w]) p->nended++;
  p->wdead[w] = 1;
  all = ++p->ndead == p->nw;
  held = table_take_all(p, w, &n);
  landed(p, w, n);
  p->wflight[w] = 0;
  uv_cond_broadcast(&p->idle_cond);
  uv_mutex_unlock(&p->lock);
  snprintf(why, sizeof why, "worker rank %d (pid %ld) died while it held "
           "this task (%zu tasks failed with it)", p->rank[w], p->wpid[w], n);
  fail_list(held, 1, MPROC_EWORKERDIED, why);
  if (p->is_static) mproc__mpi_rank_died(p->rank[w]);
  if (all) set_broken(p, 1, "MPI executor broken: every worker rank died");
}

/* Every WATCH_NS, look at the pids of the workers on this host. */
static void watch_ranks(mpool *p) {
  uint64_t now = uv_hrtime();
  int w;
  if (now < p->next_watch) return;
  p->next_watch = now + WATCH_NS;
  for (w = 0; w < p->nw && !p->broken; w++)
    if (p->wpid[w] > 0 && !p->wdead[w] && !mproc__os_pid_alive(p->wpid[w]))
      rank_died(p, w);
}

/* One round of the MPI work, by the holder of the token: look at the
 * ranks' pids (now and then), send what is pending, release completed
 * sends, take one answer. 1 if an answer came, 0 if none, -1 when MPI
 * failed (the executor is broken then). */
static int poll_once(mpool *p) {
  MPI_Message msg;
  MPI_Status st;
  int flag = 0, rc;
  watch_ranks(p);
  if (atomic_load(&p->npending) > 0) dispatch(p);
  if (p->nsends > 0 && (rc = reap_sends(p)) != MPI_SUCCESS) {
    mpi_broken(p, rc, "MPI_Testsome");
    return -1;
  }
  rc = MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, p->comm, &flag, &msg, &st);
  if (rc == MPI_SUCCESS && flag) rc = on_message(p, &msg, &st);
  if (rc != MPI_SUCCESS) {
    mpi_broken(p, rc, "receiving the workers' answers");
    return -1;
  }
  return flag;
}

static int take_token(mpool *p) { return atomic_exchange(&p->token, 1) == 0; }
static void give_token(mpool *p) { atomic_store(&p->token, 0); }

/* The thread that talks MPI while the executor runs (submitters only
 * queue), unless a waiter helps: no MPI-internal lock is fought over, and
 * the sends need no lock of ours (the token orders their holders). */
static void receiver_main(void *arg) {
  mpool *p = arg;
  uint64_t since = 0;
  while (receiver_wait(p, &since)) {
    int found = 0;
    if (atomic_load(&p->helpers) > 0) {
      park(p);
      continue;
    }
    if (take_token(p)) {
      found = poll_once(p);
      give_token(p);
    }
    if (found > 0) since = 0;
    else if (found == 0) mproc__mpi_backoff(&since);
  }
}

/* A waiter polls MPI itself while its future is not done (the budget, at
 * most HELP_NS): an answer it takes needs no hand-over from the receiver,
 * which backs off meanwhile. So submit().result() costs about one MPI
 * round trip between two processes, as a raw ping-pong does. */
static void m_help(mproc_executor *ex, mproc_future *f, double budget) {
  mpool *p = ex->impl;
  uint64_t end = uv_hrtime() + (budget < 0 || budget * 1e9 > HELP_NS
                                    ? HELP_NS : (uint64_t)(budget * 1e9));
  uint64_t since = 0;
  atomic_fetch_add(&p->helpers, 1);
  while (!mproc__state_done((int)atomic_load(&f->state)) &&
         uv_hrtime() < end) {
    int found = 0;
    if (take_token(p)) {
      found = poll_once(p);
      give_token(p);
    }
    if (found < 0) break;
    if (found > 0) since = 0;
    else mproc__mpi_backoff_spin(&since, HELP_SPIN_NS);
  }
  atomic_store(&p->helped, uv_hrtime());
  atomic_fetch_sub(&p->helpers, 1);
  if (!mproc__state_done((int)atomic_load(&f->state))) {
    /* Given up (the budget): the receiver takes over now. */
    uv_mutex_lock(&p->lock);
    if (p->recv_idle) uv_cond_signal(&p->rcond);
    uv_mutex_unlock(&p->lock);
  }
}

/* ---- the kind's operations ------------------------------------------------ */

static int m_enqueue(mproc_executor *ex, mproc_future *const *fs, size_t n) {
  mpool *p = ex->impl;
  int rc = mproc__tasks_registered(fs, n, "MPI executor");
  if (rc < 0) return rc;
  uv_mutex_lock(&p->lock);
  rc = mproc__kind_accept(&p->phead, &p->ptail, fs, n, p->shutdown,
                          p->broken, p->broken_msg);
  if (rc == 0) {
    atomic_store(&p->npending, atomic_load(&p->npending) + n);
    if (p->recv_idle == 1) uv_cond_signal(&p->rcond);
  }
  uv_mutex_unlock(&p->lock);
  return rc;
}

/* Tell every live worker `tag` (CLOSE or STOP), blocking (a few bytes
 * each). */
static int tell_all(mpool *p, int tag) {
  int i, rc = MPI_SUCCESS, dead;
  for (i = 0; i < p->nw && rc == MPI_SUCCESS; i++) {
    uv_mutex_lock(&p->lock); /* the poller may mark it dead meanwhile */
    dead = p->wdead[i];
    uv_mutex_unlock(&p->lock);
    if (!dead) rc = MPI_Send(NULL, 0, MPI_BYTE, p->rank[i], tag, p->comm);
  }
  return rc;
}

/* Wait for every answer, end the session (CLOSE, then every CLOSED), stop
 * the receiver; spawned and communicator workers are told to STOP. */
static void join_all(mpool *p) {
  int rc;
  uv_mutex_lock(&p->join_lock);
  if (p->joined) {
    uv_mutex_unlock(&p->join_lock);
    return;
  }
  uv_mutex_lock(&p->lock);
  while (!p->broken && (p->phead != NULL || atomic_load(&p->inflight) > 0))
    uv_cond_wait(&p->idle_cond, &p->lock);
  uv_mutex_unlock(&p->lock);
  if (!p->mpi_failed && (rc = tell_all(p, MPIX_TAG_CLOSE)) != MPI_SUCCESS)
    mpi_broken(p, rc, "MPI_Send (close)");
  uv_mutex_lock(&p->lock);
  p->closing = 1;
  uv_cond_signal(&p->rcond);
  while (!p->mpi_failed && p->nended < p->nw)
    uv_cond_wait(&p->idle_cond, &p->lock);
  p->quit = 1;
  uv_cond_signal(&p->rcond);
  uv_mutex_unlock(&p->lock);
  uv_thread_join(&p->receiver);
  while (!take_token(p)) mproc__os_yield(); /* helpers poll no more */
  /* no one marks a worker dead any more: wdead is read unlocked */
  if (!p->mpi_failed && p->stop &&
      (rc = mproc__mpi_stop(p->comm, p->rank, p->nw, p->wdead)) != MPI_SUCCESS)
    mpi_broken(p, rc, "MPI_Send (stop)");
  if (!p->mpi_failed) {
    MPI_Status st;
    int done = 0;
    /* A send to a dead rank may never complete: cancelled, its buffer
     * stranded (MPI may read it until MPI_Finalize) if the cancel failed. */
    for (size_t i = 0; i < p->nsends; i++)
      if (!p->wdead[p->owners[i].w]) (void)MPI_Wait(&p->reqs[i], &st);
      else if (MPI_Cancel(&p->reqs[i]) == MPI_SUCCESS &&
               MPI_Test(&p->reqs[i], &done, &st) == MPI_SUCCESS && !done)
        mproc__mpi_strand(&p->owners[i].buf, &p->owners[i].f);
    (void)reap_sends(p);
    for (size_t i = 0; i < p->nsends; i++) {
      free(p->owners[i].buf);
      if (p->owners[i].f) mproc__future_unref(p->owners[i].f);
    }
    p->nsends = 0;
  }
  p->joined = 1;
  uv_mutex_unlock(&p->join_lock);
}

static int m_shutdown(mproc_executor *ex, int flags) {
  mpool *p = ex->impl;
  mproc_future *cancelled = NULL;
  uv_mutex_lock(&p->lock);
  p->shutdown = 1;
  if (flags & MPROC_SHUTDOWN_CANCEL_FUTURES) {
    cancelled = p->phead;
    p->phead = p->ptail = NULL;
    atomic_store(&p->npending, 0);
    uv_cond_broadcast(&p->idle_cond);
  }
  uv_mutex_unlock(&p->lock);
  while (cancelled != NULL) {
    mproc_future *next = cancelled->next;
    cancelled->next = NULL;
    (void)mproc_future_cancel(cancelled);
    mproc__future_unref(cancelled);
    cancelled = next;
  }
  if (flags & MPROC_SHUTDOWN_WAIT) join_all(p);
  return 0;
}

static int m_terminate(mproc_executor *ex, int kill) {
  (void)ex;
  return mproc__err(MPROC_ENOTSUP, "terminate_workers(%d): MPI ranks cannot "
                    "be stopped one by one (MPI has no call for it); use "
                    "shutdown with MPROC_SHUTDOWN_CANCEL_FUTURES", kill);
}

static void pool_free(mpool *p) {
  if (p == NULL) return;
  /* owns: 1 a duplicate to free, 2 a spawn's intercommunicator to
   * disconnect (collective with the workers, who disconnect after STOP). */
  if (p->owns == 2 && !p->mpi_failed) (void)MPI_Comm_disconnect(&p->comm);
  else if (p->owns) (void)MPI_Comm_free(&p->comm);
  uv_mutex_destroy(&p->lock);
  uv_mutex_destroy(&p->join_lock);
  uv_cond_destroy(&p->rcond);
  uv_cond_destroy(&p->idle_cond);
  free(p->reqs);
  free(p->owners);
  free(p->rank);
  free(p->index_of);
  free(p->wflight);
  free(p->table);
  free(p->wclosed);
  free(p->wdead);
  free(p->wpid);
  free(p);
}

static void m_destroy(mproc_executor *ex) {
  mpool *p = ex->impl;
  int is_static = p->is_static;
  pool_free(p);
  ex->impl = NULL;
  mproc__mpi_pool_ended(ex, is_static);
}

/* The session's opening: the initializer's name and arguments. */
static int open_session(mpool *p) {
  mproc_executor *ex = p->ex;
  mpix_open_hdr h;
  const char *name = "";
  unsigned char *m;
  size_t n;
  int i, rc = MPI_SUCCESS;
  if (ex->init && mproc__task_lookup((mproc_fnptr)ex->init, &name) < 0)
    return mproc__err(MPROC_ENOTREG, "MPI executor: the initializer is not "
                      "registered; mark it MPROC_TASK(fn)");
  memset(&h, 0, sizeof h);
  h.name_len = (uint32_t)strlen(name);
  h.initargs_len = ex->initargs_len;
  n = sizeof h + h.name_len + ex->initargs_len;
  if (n > (size_t)INT32_MAX)
    return mproc__err(MPROC_EINVAL, "MPI executor: initargs of %zu bytes "
                      "are too large (the limit is 2 GiB)", ex->initargs_len);
  if ((m = malloc(n)) == NULL)
    return mproc__err(MPROC_ENOMEM, "MPI executor: no memory");
  memcpy(m, &h, sizeof h);
  memcpy(m + sizeof h, name, h.name_len);
  if (ex->initargs_len)
    memcpy(m + sizeof h + h.name_len, ex->initargs, ex->initargs_len);
  for (i = 0; i < p->nw && rc == MPI_SUCCESS; i++)
    rc = MPI_Send(m, (int)n, MPI_BYTE, p->rank[i], MPIX_TAG_OPEN, p->comm);
  free(m);
  return rc == MPI_SUCCESS ? 0 : mproc__mpi_err(MPROC_EOS, rc, "MPI_Send (open)");
}

static int pool_alloc(mpool **out, mproc_executor *ex, MPI_Comm comm,
                      const int *ranks, int n) {
  mpool *p = calloc(1, sizeof *p);
  int i;
  *out = NULL;
  if (p == NULL) return mproc__err(MPROC_ENOMEM, "MPI executor: no memory");
  p->ex = ex;
  p->comm = comm;
  p->nw = n;
  for (i = 0; i < n; i++)
    if (ranks[i] + 1 > p->nranks) p->nranks = ranks[i] + 1;
  p->rank = malloc((size_t)n * sizeof *p->rank);
  p->index_of = malloc((size_t)p->nranks * sizeof *p->index_of);
  p->wflight = calloc((size_t)n, sizeof *p->wflight);
  p->table = calloc((size_t)n * (TABLE_MASK + 1), sizeof *p->table);
  p->wclosed = calloc((size_t)n, 1);
  p->wdead = calloc((size_t)n, 1);
  p->wpid = calloc((size_t)n, sizeof *p->wpid);
  if (p->rank == NULL || p->index_of == NULL || p->wflight == NULL ||
      p->table == NULL || p->wclosed == NULL || p->wdead == NULL ||
      p->wpid == NULL || uv_mutex_init(&p->lock) != 0) {
    free(p->rank);
    free(p->index_of);
    free(p->wflight);
    free(p->table);
    free(p->wclosed);
    free(p->wdead);
    free(p->wpid);
    free(p);
    return mproc__err(MPROC_ENOMEM, "MPI executor: no memory");
  }
  {
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (MPI_Get_processor_name(p->host, &len) != MPI_SUCCESS) len = 0;
    p->host[len] = '\0';
    /* Open MPI's ranks talk on past a dead peer (its launcher decides
     * whether the job lives); MPICH's do not. */
    if (MPI_Get_library_version(lib, &len) != MPI_SUCCESS) len = 0;
    lib[len < (int)sizeof lib ? len : (int)sizeof lib - 1] = '\0';
    p->survivable = strstr(lib, "Open MPI") != NULL;
  }
  if (uv_mutex_init(&p->join_lock) != 0 ||
      uv_cond_init(&p->rcond) != 0 || uv_cond_init(&p->idle_cond) != 0)
    abort(); /* libuv aborts on these itself; no partial state to undo */
  for (i = 0; i < p->nranks; i++) p->index_of[i] = -1;
  for (i = 0; i < n; i++) {
    p->rank[i] = ranks[i];
    p->index_of[ranks[i]] = i;
  }
  atomic_init(&p->inflight, 0);
  atomic_init(&p->npending, 0);
  atomic_init(&p->token, 0);
  atomic_init(&p->helpers, 0);
  atomic_init(&p->helped, 0);
  *out = p;
  return 0;
}

int mproc__mpi_pool_start(mproc_executor *ex, MPI_Comm comm, const int *ranks,
                          int n, int owns, int stop) {
  mpool *p;
  int rc;
  if ((rc = pool_alloc(&p, ex, comm, ranks, n)) < 0) return rc;
  p->owns = owns;
  p->stop = stop;
  p->is_static = !owns && !stop;
  ex->max_workers = n;
  if ((rc = open_session(p)) < 0) {
    p->owns = 0; /* the caller still holds comm on failure */
    pool_free(p);
    return rc;
  }
  if (uv_thread_create(&p->receiver, receiver_main, p) != 0) {
    p->owns = 0;
    pool_free(p);
    return mproc__err(MPROC_EOS, "MPI executor: cannot start its receiver "
                      "thread");
  }
  ex->impl = p;
  return 0;
}

static int m_init(mproc_executor *ex) { return mproc__mpi_executor_init(ex); }

const mproc__executor_ops mproc__executor_mpi_ops = {
    "MPI", m_init, m_enqueue, m_shutdown, m_destroy, m_terminate, m_help,
    NULL, NULL};
