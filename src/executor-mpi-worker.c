/* mproc: a worker rank of the MPI executor (the wire: executor-mpi.h).
 *
 * One thread: probe for the root's next message (with backoff when none
 * comes, so an idle rank sleeps instead of spinning: an oversubscribed
 * node keeps its CPUs for the ranks that work), run each task of a batch
 * in order, and send the answers back in batches: at the end of each
 * batch, or sooner when they fill FLUSH_BYTES or the oldest waited
 * FLUSH_NS (a batch of slow tasks must not hold back finished results).
 * Several batches may wait in MPI's queue at once: the root pipelines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor-mpi.h"
#include "platform.h"

#define FLUSH_BYTES ((size_t)256 * 1024)
#define FLUSH_NS ((uint64_t)200 * 1000)
/* Spin this long for the root's next message before yielding: the next
 * task of a submit().result() loop comes a few us after the answer, and a
 * yield on a busy node costs far more than that. */
#define SPIN_NS ((uint64_t)50 * 1000)

typedef struct wstate {
  MPI_Comm comm;
  int root, index;
  int broken;            /* this session's initializer failed */
  unsigned char *out;    /* answers not yet sent: [u32 count][...] */
  size_t out_len, out_cap;
  uint32_t out_count;
  uint64_t out_since;    /* uv_hrtime of the oldest unsent answer */
  unsigned char *in;     /* the message being read */
  size_t in_cap;
  char last_name[256];   /* a one-entry cache of the name lookup */
  mproc_task_fn last_fn;
} wstate;

static int flush(wstate *w) {
  int rc;
  if (w->out_count == 0) return MPI_SUCCESS;
  memcpy(w->out, &w->out_count, 4);
  rc = MPI_Send(w->out, (int)w->out_len, MPI_BYTE, w->root,
                MPIX_TAG_RESULTS, w->comm);
  w->out_len = 4;
  w->out_count = 0;
  return rc;
}

static int grow(unsigned char **buf, size_t *cap, size_t need) {
  size_t c = *cap ? *cap : 4096;
  unsigned char *n;
  while (c < need) c *= 2;
  if (c == *cap) return 0;
  if ((n = realloc(*buf, c)) == NULL) return -1;
  *buf = n;
  *cap = c;
  return 0;
}

/* A big answer alone: its header, then its bytes in pieces, uncopied. */
static int send_big(wstate *w, const mpix_res_hdr *h, const char *msg,
                    const unsigned char *data) {
  unsigned char head[sizeof *h + 1024];
  size_t ml = h->msg_len < 1024 ? h->msg_len : 1024, off;
  mpix_res_hdr hh = *h;
  int rc;
  hh.msg_len = (uint32_t)ml;
  memcpy(head, &hh, sizeof hh);
  if (ml) memcpy(head + sizeof hh, msg, ml);
  rc = MPI_Send(head, (int)(sizeof hh + ml), MPI_BYTE, w->root,
                MPIX_TAG_BIGRESULT, w->comm);
  for (off = 0; rc == MPI_SUCCESS && off < h->len; off += MPIX_PIECE) {
    size_t n = h->len - off < MPIX_PIECE ? (size_t)h->len - off : MPIX_PIECE;
    rc = MPI_Send(data + off, (int)n, MPI_BYTE, w->root, MPIX_TAG_PIECE,
                  w->comm);
  }
  return rc;
}

/* Queue (or send) one answer. */
static int answer(wstate *w, uint64_t id, int rc, const char *msg,
                  const unsigned char *data, size_t len) {
  mpix_res_hdr h;
  size_t ml = msg ? strlen(msg) : 0;
  int mrc;
  memset(&h, 0, sizeof h);
  h.id = id;
  h.rc = rc;
  h.len = rc == 0 ? len : 0;
  h.msg_len = (uint32_t)(ml < 65536 ? ml : 65535);
  if (h.len > MPIX_BIG) {
    if ((mrc = flush(w)) != MPI_SUCCESS) return mrc;
    return send_big(w, &h, msg, data);
  }
  if (grow(&w->out, &w->out_cap, w->out_len + sizeof h + h.msg_len + h.len)) {
    /* No memory for the answer: say so in a small one. */
    static const char oom[] = "worker: no memory for the task's result";
    if ((mrc = flush(w)) != MPI_SUCCESS) return mrc;
    if (grow(&w->out, &w->out_cap, 4 + sizeof h + sizeof oom)) return MPI_ERR_NO_MEM;
    h.rc = MPROC_ENOMEM;
    h.len = 0;
    h.msg_len = sizeof oom - 1;
    msg = oom;
  }
  if (w->out_count == 0) w->out_since = uv_hrtime();
  memcpy(w->out + w->out_len, &h, sizeof h);
  if (h.msg_len) memcpy(w->out + w->out_len + sizeof h, msg, h.msg_len);
  if (h.len) memcpy(w->out + w->out_len + sizeof h + h.msg_len, data, h.len);
  w->out_len += sizeof h + h.msg_len + h.len;
  w->out_count++;
  if (w->out_len >= FLUSH_BYTES || uv_hrtime() - w->out_since >= FLUSH_NS)
    return flush(w);
  return MPI_SUCCESS;
}

static mproc_task_fn find(wstate *w, const char *name, size_t n) {
  if (n >= sizeof w->last_name) return NULL;
  if (w->last_fn && strncmp(w->last_name, name, n) == 0 &&
      w->last_name[n] == '\0')
    return w->last_fn;
  memcpy(w->last_name, name, n);
  w->last_name[n] = '\0';
  w->last_fn = (mproc_task_fn)mproc__task_find(w->last_name);
  return w->last_fn;
}

/* Run one task and queue its answer. */
static int run(wstate *w, const mpix_task_hdr *h, const char *name,
               const unsigned char *in) {
  mproc_task_fn fn;
  mproc_buf b;
  int rc;
  if (w->broken)
    return answer(w, h->id, MPROC_EBROKEN, "MPI executor broken: a worker's "
                  "initializer failed", NULL, 0);
  if ((fn = find(w, name, h->name_len)) == NULL) {
    char why[400];
    snprintf(why, sizeof why, "task \"%.*s\" is not registered in worker "
             "rank %d (mark it MPROC_TASK)", (int)(h->name_len < 256 ?
             h->name_len : 256), name, w->index + 1);
    return answer(w, h->id, MPROC_ENOTREG, why, NULL, 0);
  }
  memset(&b, 0, sizeof b);
  b.ctx.worker = w->index;
  b.ctx.task = h->id;
  b.ctx.item = (size_t)h->item;
  rc = fn(h->in_len ? in : NULL, (size_t)h->in_len, &b);
  rc = rc == 0 ? answer(w, h->id, 0, NULL, b.data, b.len)
               : answer(w, h->id, rc, b.msg, NULL, 0);
  mproc__buf_reset(&b);
  return rc;
}

/* A batch: a task without a name (name_len 0) runs the function of the
 * one before it. */
static int on_tasks(wstate *w, size_t n) {
  uint32_t count, i;
  size_t off = 4;
  int rc = MPI_SUCCESS;
  const char *name = "";
  uint32_t name_len = 0;
  if (n < 4) return MPI_SUCCESS;
  memcpy(&count, w->in, 4);
  for (i = 0; i < count && rc == MPI_SUCCESS; i++) {
    mpix_task_hdr h;
    if (off + sizeof h > n) break;
    memcpy(&h, w->in + off, sizeof h);
    if (h.name_len > n - off - sizeof h ||
        h.in_len > n - off - sizeof h - h.name_len)
      break;
    off += sizeof h;
    if (h.name_len) {
      name = (const char *)w->in + off;
      name_len = h.name_len;
      off += h.name_len;
    }
    h.name_len = name_len;
    rc = run(w, &h, name, w->in + off);
    off += (size_t)h.in_len;
  }
  return rc == MPI_SUCCESS ? flush(w) : rc;
}

static int on_big_task(wstate *w, size_t n) {
  mpix_task_hdr h;
  unsigned char *in = NULL;
  size_t off;
  int rc = MPI_SUCCESS;
  if (n < sizeof h) return MPI_SUCCESS;
  memcpy(&h, w->in, sizeof h);
  if (h.in_len > 0 && (in = malloc((size_t)h.in_len)) == NULL)
    return MPI_ERR_NO_MEM;
  for (off = 0; rc == MPI_SUCCESS && off < h.in_len; off += MPIX_PIECE) {
    size_t k = h.in_len - off < MPIX_PIECE ? (size_t)h.in_len - off : MPIX_PIECE;
    rc = MPI_Recv(in + off, (int)k, MPI_BYTE, w->root, MPIX_TAG_PIECE, w->comm,
                  MPI_STATUS_IGNORE);
  }
  if (rc == MPI_SUCCESS && h.name_len <= n - sizeof h)
    rc = run(w, &h, (const char *)w->in + sizeof h, in);
  free(in);
  return rc == MPI_SUCCESS ? flush(w) : rc;
}

/* HELLO: this rank's pid and host, so that the root can see it die. */
static int hello(wstate *w) {
  unsigned char m[8 + MPI_MAX_PROCESSOR_NAME];
  int64_t pid = (int64_t)mproc__os_getpid();
  int len = 0;
  if (MPI_Get_processor_name((char *)m + 8, &len) != MPI_SUCCESS) len = 0;
  memcpy(m, &pid, 8);
  return MPI_Send(m, 8 + len, MPI_BYTE, w->root, MPIX_TAG_HELLO, w->comm);
}

/* A session begins: say HELLO, run the initializer; a failure is told
 * once. */
static int on_open(wstate *w, size_t n) {
  mpix_open_hdr h;
  char name[256], why[400];
  mproc_init_fn init;
  int irc;
  w->broken = 0;
  if ((irc = hello(w)) != MPI_SUCCESS) return irc;
  if (n < sizeof h) return MPI_SUCCESS;
  memcpy(&h, w->in, sizeof h);
  if (h.name_len == 0) return MPI_SUCCESS;
  if (h.name_len >= sizeof name || h.initargs_len > n - sizeof h - h.name_len)
    return MPI_SUCCESS;
  memcpy(name, w->in + sizeof h, h.name_len);
  name[h.name_len] = '\0';
  init = (mproc_init_fn)mproc__task_find(name);
  irc = init ? init(h.initargs_len ? w->in + sizeof h + h.name_len : NULL,
                    (size_t)h.initargs_len)
             : MPROC_ENOTREG;
  if (irc == 0) return MPI_SUCCESS;
  w->broken = 1;
  if (init)
    snprintf(why, sizeof why, "MPI executor broken: the initializer failed "
             "with code %d on worker rank %d; no task can run", irc,
             w->index + 1);
  else
    snprintf(why, sizeof why, "MPI executor broken: the initializer \"%s\" "
             "is not registered in worker rank %d (MPROC_TASK)", name,
             w->index + 1);
  return MPI_Send(why, (int)strlen(why), MPI_BYTE, w->root, MPIX_TAG_INITFAIL,
                  w->comm);
}

/* Wait for the root's next message: its tag and size. */
static int next_message(wstate *w, MPI_Message *msg, int *tag, size_t *n) {
  uint64_t since = 0;
  for (;;) {
    MPI_Status st;
    int flag = 0, count = 0, rc;
    rc = MPI_Improbe(w->root, MPI_ANY_TAG, w->comm, &flag, msg, &st);
    if (rc != MPI_SUCCESS) return rc;
    if (flag) {
      (void)MPI_Get_count(&st, MPI_BYTE, &count);
      *tag = st.MPI_TAG;
      *n = count > 0 ? (size_t)count : 0;
      return MPI_SUCCESS;
    }
    mproc__mpi_backoff_spin(&since, SPIN_NS);
  }
}

static int serve_loop(wstate *w) {
  for (;;) {
    MPI_Message msg;
    int tag = 0, rc;
    size_t n = 0;
    if ((rc = next_message(w, &msg, &tag, &n)) != MPI_SUCCESS) return rc;
    if (grow(&w->in, &w->in_cap, n + 1)) return MPI_ERR_NO_MEM;
    rc = MPI_Mrecv(w->in, (int)n, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return rc;
    switch (tag) {
    case MPIX_TAG_OPEN: rc = on_open(w, n); break;
    case MPIX_TAG_TASKS: rc = on_tasks(w, n); break;
    case MPIX_TAG_BIGTASK: rc = on_big_task(w, n); break;
    case MPIX_TAG_CLOSE:
      w->broken = 0;
      if ((rc = flush(w)) == MPI_SUCCESS)
        rc = MPI_Send(NULL, 0, MPI_BYTE, w->root, MPIX_TAG_CLOSED, w->comm);
      break;
    case MPIX_TAG_STOP: /* answered: the root then knows it arrived */
      if ((rc = flush(w)) != MPI_SUCCESS) return rc;
      return MPI_Send(NULL, 0, MPI_BYTE, w->root, MPIX_TAG_STOPPED, w->comm);
    default: break; /* unknown: dropped */
    }
    if (rc != MPI_SUCCESS) return rc;
  }
}

int mproc__mpi_serve(MPI_Comm comm, int root, int index) {
  wstate w;
  int rc;
  memset(&w, 0, sizeof w);
  w.comm = comm;
  w.root = root;
  w.index = index;
  if (grow(&w.out, &w.out_cap, 4096))
    return mproc__err(MPROC_ENOMEM, "MPI worker: no memory");
  w.out_len = 4;
  rc = serve_loop(&w);
  free(w.out);
  free(w.in);
  if (rc == MPI_ERR_NO_MEM)
    return mproc__err(MPROC_ENOMEM, "MPI worker: out of memory");
  return rc == MPI_SUCCESS ? 0 : mproc__mpi_err(MPROC_EOS, rc, "MPI worker");
}
