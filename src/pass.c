/* mproc: the kind table, and passing shared objects to a child.
 *
 * The kind table gives every shareable kind one generic make, open, adopt
 * and free over its mproc__obj, plus pass hooks where a kind is more than
 * one object with a header (Condition: its lock comes along; shared
 * memory: plain segments hold in the registry). Pipe ends are not named
 * objects: they travel as their OS handle (pipe.c).
 *
 * Passing, in the parent (mproc_process_start): mproc__pass_prepare
 * describes each entry as segments (name, and the OS handles the child
 * needs: on Windows the mapping and parking semaphores, which the start
 * hands over with the pipe ends; on POSIX none, the child reopens the
 * name) and lists the handles in order; the backend starts the child;
 * mproc__pass_hold then counts the child's pid among each object's holders
 * before the start returns. From then on the parent's own handle may go:
 * on POSIX the child's pid keeps the name, on Windows its handles keep
 * the kernel objects. In the child, before the target runs, every entry
 * is adopted (opened as the holder it was counted as, no second hold) into
 * the table mproc_inherited() hands out; what the target never takes is
 * released when it returns. A child that dies first leaves a dead pid,
 * which no holder table counts.
 *
 * The boot message section (child.c calls the codec here):
 *   u32 n, then per entry: u32 kind, u32 nseg, and per segment
 *   u32 flags, u32 nh, u32 name length + name.
 * The handles travel beside the message in entry and segment order. */
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "process-internal.h"

/* ---- the kind table ------------------------------------------------------ */

static const mproc__kind_ops *const kinds[] = {
    NULL,                 &mproc__shm_ops,     &mproc__array_ops,
    &mproc__lock_ops,     &mproc__rlock_ops,   &mproc__sem_ops,
    &mproc__cond_ops,     &mproc__event_ops,   &mproc__barrier_ops,
    &mproc__queue_ops,    NULL /* pipe ends */, &mproc__proxy_ops};

const mproc__kind_ops *mproc__kind_ops_of(uint32_t kind) {
  return kind < sizeof kinds / sizeof kinds[0] ? kinds[kind] : NULL;
}

const char *mproc_kind_name(mproc_kind kind) {
  if (kind == MPROC_KIND_CONN) return "pipe end";
  if (kind == MPROC_KIND_PROXY) return "manager proxy";
  if (mproc__kind_ops_of((uint32_t)kind) == NULL) return "?";
  return mproc__kind_name((uint32_t)kind);
}

/* Store a handle through the address of a typed handle pointer (all
 * object pointers have one representation on the platforms we build). */
static void put_out(void *out, void *h) { memcpy(out, &h, sizeof h); }

static int new_handle(const mproc__kind_ops *k, void *out, void **h) {
  if (out == NULL) return mproc__err(MPROC_EINVAL, "out is NULL");
  put_out(out, NULL);
  /* Kinds that free their handles themselves allocate them with calloc
   * elsewhere too: theirs stay on the C heap. */
  *h = k->free ? calloc(1, k->handle_size) : mproc__handle_new(k->handle_size);
  if (*h == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  return 0;
}

static int finish_handle(const mproc__kind_ops *k, void *out, void *h,
                         int rc) {
  if (rc < 0) {
    mproc__handle_free(h);
    return rc;
  }
  if (k->attach) k->attach(h);
  put_out(out, h);
  return 0;
}

int mproc__kind_make(uint32_t kind, void *out, size_t data_size,
                     const mproc_shm_opts *opts, mproc__obj_init init,
                     void *arg) {
  const mproc__kind_ops *k = mproc__kind_ops_of(kind);
  void *h;
  int rc = new_handle(k, out, &h);
  if (rc < 0) return rc;
  rc = mproc__obj_create(h, kind, data_size, opts, init, arg);
  return finish_handle(k, out, h, rc);
}

int mproc__kind_open(uint32_t kind, void *out, const char *name) {
  const mproc__kind_ops *k = mproc__kind_ops_of(kind);
  void *h;
  int rc = new_handle(k, out, &h);
  if (rc < 0) return rc;
  if (name == NULL) {
    mproc__handle_free(h);
    return mproc__err(MPROC_EINVAL, "name is NULL");
  }
  rc = mproc__obj_open(h, name, kind);
  return finish_handle(k, out, h, rc);
}

void mproc__kind_free(void *h) {
  if (h == NULL) return;
  mproc__obj_free(h);
  mproc__handle_free(h);
}

int mproc__kind_close(void *h, const char *what) {
  if (h == NULL) return mproc__err(MPROC_EINVAL, "%s is NULL", what);
  mproc__obj_close(h);
  return 0;
}

/* The generic hooks: one object at the start of the handle. */
static int kind_pass(const mproc__kind_ops *k, const void *h,
                     mproc__pass_seg *segs, size_t *nseg) {
  const mproc__obj *o = h;
  if (k->pass) return k->pass(h, segs, nseg);
  *nseg = 1;
  /* The header says what the object is: a Lock listed as a Semaphore is
   * refused here, not misread in the child. */
  if (mproc__obj_kind(o) != 0 && mproc__obj_kind(o) != k->kind)
    return mproc__err(MPROC_EINVAL, "\"%s\" is a %s, but it is listed as "
                                    "a %s",
                      o->name, mproc__kind_name(mproc__obj_kind(o)),
                      mproc__kind_name(k->kind));
  return mproc__obj_pass(h, segs);
}

static void kind_hold(const mproc__kind_ops *k, const void *h, long pid) {
  if (k->hold)
    k->hold(h, pid);
  else
    mproc__obj_hold_for((mproc__obj *)(uintptr_t)h, pid);
}

static int kind_adopt(const mproc__kind_ops *k, void **out,
                      const mproc__pass_seg *segs, size_t nseg) {
  void *h;
  int rc;
  if (k->adopt) return k->adopt(out, segs, nseg);
  if (nseg != 1)
    return mproc__err(MPROC_EBOOTSTRAP, "a passed %s came as %zu objects",
                      mproc__kind_name(k->kind), nseg);
  rc = new_handle(k, out, &h);
  if (rc < 0) return rc;
  rc = mproc__obj_adopt(h, segs, k->kind);
  return finish_handle(k, out, h, rc);
}

int mproc__kind_adopt(uint32_t kind, void *out, const mproc__pass_seg *seg) {
  return kind_adopt(mproc__kind_ops_of(kind), out, seg, 1);
}

static void kind_release(uint32_t kind, void *h) {
  const mproc__kind_ops *k = mproc__kind_ops_of(kind);
  if (k && k->free)
    k->free(h);
  else
    mproc__kind_free(h);
}

/* ---- the parent's side --------------------------------------------------- */

struct mproc__passing {
  uint32_t kind[MPROC_PASS_MAX];
  size_t nseg[MPROC_PASS_MAX];
  mproc__pass_seg seg[MPROC_PASS_MAX][MPROC__PASS_SEGS];
  mproc_handle handles[MPROC__HANDLES_MAX];
  size_t n_handles;
};

static int known_kind(mproc_kind k) {
  return k == MPROC_KIND_CONN || mproc__kind_ops_of((uint32_t)k) != NULL;
}

int mproc__pass_check(const mproc_pass *pass, size_t n) {
  size_t i, j;
  if (n == 0) return 0;
  if (pass == NULL)
    return mproc__err(MPROC_EINVAL, "pass is NULL but n_pass is %zu", n);
  if (n > MPROC_PASS_MAX)
    return mproc__err(MPROC_ERANGE, "%zu objects to pass; the limit is %d",
                      n, MPROC_PASS_MAX);
  for (i = 0; i < n; i++) {
    if (!known_kind(pass[i].kind))
      return mproc__err(MPROC_EINVAL, "pass[%zu] has kind %d, which is not "
                                      "a kind of shareable object",
                        i, (int)pass[i].kind);
    if (pass[i].obj == NULL)
      return mproc__err(MPROC_EINVAL, "pass[%zu] (a %s) is NULL", i,
                        mproc_kind_name(pass[i].kind));
    for (j = 0; j < i; j++)
      if (pass[j].obj == pass[i].obj)
        return mproc__err(MPROC_EINVAL, "pass[%zu] repeats pass[%zu]", i, j);
  }
  return 0;
}

static int describe(const mproc_pass *e, uint32_t *kind,
                    mproc__pass_seg *segs, size_t *nseg) {
  *kind = (uint32_t)e->kind;
  if (e->kind == MPROC_KIND_CONN) {
    memset(segs, 0, sizeof *segs);
    *nseg = 1;
    segs->nh = 1;
    return mproc__conn_pass_info(e->obj, &segs->h[0], &segs->flags);
  }
  return kind_pass(mproc__kind_ops_of(*kind), e->obj, segs, nseg);
}

int mproc__pass_prepare(const mproc_pass *pass, size_t n,
                        mproc__passing **out) {
  mproc__passing *ps;
  size_t i, s, k;
  int rc = 0;
  *out = NULL;
  if (n == 0) return 0;
  ps = calloc(1, sizeof *ps);
  if (ps == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  for (i = 0; i < n && rc == 0; i++) {
    rc = describe(&pass[i], &ps->kind[i], ps->seg[i], &ps->nseg[i]);
    for (s = 0; s < ps->nseg[i] && rc == 0; s++)
      for (k = 0; k < ps->seg[i][s].nh && rc == 0; k++) {
        if (ps->n_handles == MPROC__HANDLES_MAX)
          rc = mproc__err(MPROC_ERANGE, "the pass list needs more than %d "
                                        "OS handles",
                          MPROC__HANDLES_MAX);
        else
          ps->handles[ps->n_handles++] = ps->seg[i][s].h[k];
      }
  }
  if (rc < 0) {
    free(ps);
    return rc;
  }
  *out = ps;
  return 0;
}

const mproc_handle *mproc__pass_handles(const mproc__passing *ps,
                                        size_t *n) {
  *n = ps ? ps->n_handles : 0;
  return ps ? ps->handles : NULL;
}

void mproc__pass_hold(const mproc_pass *pass, size_t n, long pid) {
  size_t i;
  for (i = 0; i < n; i++)
    if (pass[i].kind != MPROC_KIND_CONN)
      kind_hold(mproc__kind_ops_of((uint32_t)pass[i].kind), pass[i].obj, pid);
}

void mproc__pass_free(mproc__passing *ps) { free(ps); }

/* ---- the codec ----------------------------------------------------------- */

size_t mproc__pass_encoded_size(const mproc__passing *ps, size_t n) {
  size_t i, s, need = 4;
  for (i = 0; ps && i < n; i++) {
    need += 8;
    for (s = 0; s < ps->nseg[i]; s++)
      need += 12 + strlen(ps->seg[i][s].name);
  }
  return need;
}

static unsigned char *put32(unsigned char *p, uint32_t v) {
  memcpy(p, &v, 4);
  return p + 4;
}

size_t mproc__pass_encode(const mproc__passing *ps, size_t n,
                          unsigned char *out) {
  unsigned char *p = put32(out, ps ? (uint32_t)n : 0);
  size_t i, s;
  for (i = 0; ps && i < n; i++) {
    p = put32(p, ps->kind[i]);
    p = put32(p, (uint32_t)ps->nseg[i]);
    for (s = 0; s < ps->nseg[i]; s++) {
      const mproc__pass_seg *g = &ps->seg[i][s];
      uint32_t len = (uint32_t)strlen(g->name);
      p = put32(p, g->flags);
      p = put32(p, g->nh);
      p = put32(p, len);
      memcpy(p, g->name, len);
      p += len;
    }
  }
  return (size_t)(p - out);
}

/* ---- the child's side ---------------------------------------------------- */

static struct {
  uint32_t kind;
  void *h;             /* the adopted object, NULL for a pipe end */
  mproc_handle conn;   /* a pipe end's handle, adopted when taken */
  uint32_t conn_flags;
  int taken;
} inherited[MPROC_PASS_MAX];
static size_t n_inherited;

size_t mproc_inherited_count(void) { return n_inherited; }

mproc_kind mproc_inherited_kind(size_t i) {
  return i < n_inherited ? (mproc_kind)inherited[i].kind : MPROC_KIND_NONE;
}

/* Adopt entry i from its segments (the child's handle values). */
static int adopt_entry(size_t i, uint32_t kind, const mproc__pass_seg *segs,
                       size_t nseg) {
  const mproc__kind_ops *k = mproc__kind_ops_of(kind);
  inherited[i].kind = kind;
  inherited[i].taken = 0;
  inherited[i].h = NULL;
  if (kind == MPROC_KIND_CONN) {
    inherited[i].conn = segs->h[0];
    inherited[i].conn_flags = segs->flags;
    return 0;
  }
  if (k == NULL || nseg == 0)
    return mproc__err(MPROC_EBOOTSTRAP, "the parent passed an object of "
                                        "unknown kind %u",
                      kind);
  return kind_adopt(k, &inherited[i].h, segs, nseg);
}

void mproc__pass_release(void) {
  size_t i;
  for (i = 0; i < n_inherited; i++) {
    if (inherited[i].taken) continue;
    inherited[i].taken = 1;
    if (inherited[i].kind == MPROC_KIND_CONN)
      mproc__conn_discard(inherited[i].conn);
    else
      kind_release(inherited[i].kind, inherited[i].h);
  }
  n_inherited = 0;
}

/* Decode the section and adopt every entry, with the handles that came
 * beside the message. Objects adopted before a failure are released. */
int mproc__pass_decode(const void *msg, size_t len, size_t *used,
                       const mproc_handle *h, size_t nh) {
  const unsigned char *p = msg, *end = p + len;
  mproc__pass_seg segs[MPROC__PASS_SEGS];
  uint32_t n, i, s, kind, nseg, at = 0;
  int rc = 0;
#define TAKE32(v)                                                              \
  do {                                                                         \
    if (end - p < 4) goto bad;                                                 \
    memcpy(&(v), p, 4);                                                        \
    p += 4;                                                                    \
  } while (0)
  TAKE32(n);
  if (n > MPROC_PASS_MAX) goto bad;
  n_inherited = 0;
  for (i = 0; i < n && rc == 0; i++) {
    TAKE32(kind);
    TAKE32(nseg);
    if (nseg > MPROC__PASS_SEGS) goto bad;
    memset(segs, 0, sizeof segs);
    for (s = 0; s < nseg; s++) {
      uint32_t namelen, k;
      TAKE32(segs[s].flags);
      TAKE32(segs[s].nh);
      TAKE32(namelen);
      if (segs[s].nh > MPROC__SEG_HANDLES || namelen > MPROC_SHM_NAME_MAX ||
          (size_t)(end - p) < namelen || nh - at < segs[s].nh)
        goto bad;
      memcpy(segs[s].name, p, namelen);
      p += namelen;
      for (k = 0; k < segs[s].nh; k++) segs[s].h[k] = h[at++];
    }
    rc = adopt_entry(i, kind, segs, nseg);
    if (rc == 0) n_inherited = i + 1;
  }
#undef TAKE32
  if (rc == 0 && at != nh)
    rc = mproc__err(MPROC_EBOOTSTRAP, "the parent passed %zu handles for "
                                      "objects that use %u",
                    nh, (unsigned)at);
  if (rc < 0) {
    mproc__pass_release();
    return rc < 0 && rc != MPROC_EBOOTSTRAP
               ? mproc__err(MPROC_EBOOTSTRAP, "%s", mproc_last_error())
               : rc;
  }
  *used = (size_t)(p - (const unsigned char *)msg);
  return 0;
bad:
  mproc__pass_release();
  *used = 0;
  return mproc__err(MPROC_EBOOTSTRAP, "the pass list in the bootstrap "
                                      "message is malformed");
}

/* In a fork child: describe the new pass list from the parent's handles,
 * copied by the fork, while the copied pipe ends are still whole; close
 * every other copied end (mproc__conn_fork_child); drop what this process
 * itself was given (the copies are its parent's hold); adopt the list. */
static int fork_child_adopt(const mproc_pass *pass, size_t n);

int mproc__pass_fork_child(const mproc_pass *pass, size_t n) {
  /* The common start passes nothing: no table, no stack to touch (each
   * page a new process touches costs it a fault). */
  if (n == 0 && n_inherited == 0) {
    mproc__conn_fork_child(NULL, 0);
    return 0;
  }
  return fork_child_adopt(pass, n);
}

static int fork_child_adopt(const mproc_pass *pass, size_t n) {
  mproc__pass_seg segs[MPROC_PASS_MAX][MPROC__PASS_SEGS];
  mproc_conn *keep[MPROC_PASS_MAX] = {NULL};
  uint32_t kind[MPROC_PASS_MAX];
  size_t i, s, nseg[MPROC_PASS_MAX], nkeep = 0;
  int rc = 0;
  for (i = 0; i < n && rc == 0; i++) {
    memset(segs[i], 0, sizeof segs[i]);
    rc = describe(&pass[i], &kind[i], segs[i], &nseg[i]);
    if (kind[i] == MPROC_KIND_CONN)
      keep[nkeep++] = (mproc_conn *)(uintptr_t)pass[i].obj;
    else
      for (s = 0; s < nseg[i]; s++) segs[i][s].nh = 0; /* by name */
  }
  mproc__conn_fork_child(keep, nkeep);
  mproc__pass_release();
  for (i = 0; i < n && rc == 0; i++) {
    rc = adopt_entry(i, kind[i], segs[i], nseg[i]);
    if (rc == 0) n_inherited = i + 1;
  }
  if (rc < 0) mproc__pass_release();
  return rc;
}

int mproc_inherited(size_t i, mproc_kind kind, void *out) {
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "inherited: out is NULL");
  put_out(out, NULL);
  if (i >= n_inherited)
    return mproc__err(MPROC_ENOENT, "inherited: entry %zu was not passed; "
                                    "this process has %zu",
                      i, n_inherited);
  if (inherited[i].kind != (uint32_t)kind)
    return mproc__err(MPROC_EINVAL, "inherited: entry %zu is a %s, not a %s",
                      i, mproc_kind_name((mproc_kind)inherited[i].kind),
                      mproc_kind_name(kind));
  if (inherited[i].taken)
    return mproc__err(MPROC_ESTATE, "inherited: entry %zu was taken already",
                      i);
  if (kind == MPROC_KIND_CONN) {
    mproc_conn *c = NULL;
    rc = mproc__conn_adopt(inherited[i].conn, inherited[i].conn_flags, &c);
    if (rc < 0) return rc;
    put_out(out, c);
  } else {
    put_out(out, inherited[i].h);
  }
  inherited[i].taken = 1;
  return 0;
}
