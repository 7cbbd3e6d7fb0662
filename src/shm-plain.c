/* mproc: the public shared memory API (SharedMemory).
 *
 * Where the program has a registry (src/registry.h; every POSIX process
 * does) a segment is plain: exactly the user's bytes, rounded up to pages,
 * with its holders and its tracking kept in the registry, so creating and
 * removing one costs the system calls a raw shm_open cycle makes and a few
 * writes to memory already mapped. Where it has none (Windows, whose
 * kernel counts holders) a segment is a named object with a header page,
 * like every other shared object (object.h). See docs/shm-sync.md. */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "arena.h"
#include "object.h"
#include "registry.h"
#include "tracker.h"

enum shm_mode {
  SHM_OBJECT, /* header page and data: a backend without a registry */
  SHM_REG,    /* plain; its holders are counted in the registry */
  SHM_OWNED,  /* plain; the registry was full: the creator's close removes
               * it, the tracker hears of it by datagram */
  SHM_PLAIN   /* plain and uncounted: no_track, or not in our registry
               * (another program's, or an SHM_OWNED one) */
};

struct mproc_shm {
  mproc__obj obj; /* SHM_OBJECT; otherwise only seg and name are used */
  int mode;
  int unlinked;  /* this handle removed the name */
  uint32_t hold; /* the process whose hold this handle is; 0: none */
  mproc__reg_ref ref;
};

/* ---- create -------------------------------------------------------------- */

typedef struct plain_ctx {
  mproc_shm *s;
  size_t size;
  int track;
} plain_ctx;

static int create_plain(void *ctx, const char *name) {
  plain_ctx *c = ctx;
  mproc_shm *s = c->s;
  int rc;
  strcpy(s->obj.name, name);
  s->mode = SHM_PLAIN;
  /* Entered before the name exists, so an open never sees the segment
   * without its entry. */
  if (c->track) {
    rc = mproc__reg_create(name, &s->ref);
    if (rc < 0) return rc;
    s->mode = rc == 0 ? SHM_REG : SHM_OWNED;
  }
  rc = mproc__os_shm_create(&s->obj.seg, name, c->size);
  if (rc < 0) {
    if (s->mode == SHM_REG) mproc__reg_drop(&s->ref);
    return rc;
  }
  if (s->mode == SHM_OWNED) {
    rc = mproc__track(name, 1);
    if (rc < 0) {
      mproc__os_shm_close(&s->obj.seg);
      mproc__os_shm_unlink(name);
      return rc;
    }
  }
  if (s->mode == SHM_REG) mproc__reg_publish(&s->ref);
  if (s->mode != SHM_PLAIN) s->hold = mproc__self_id();
  return 0;
}

int mproc_shm_new(mproc_shm **out, size_t size,
                  const mproc_shm_opts *user_opts) {
  mproc_shm *s;
  mproc_shm_opts o = MPROC_SHM_OPTS_INIT;
  const mproc_shm_opts *opts = &o;
  plain_ctx ctx;
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "out is NULL");
  *out = NULL;
  rc = mproc__opts_load(&o, sizeof o, user_opts, "shm_new",
                        "MPROC_SHM_OPTS_INIT");
  if (rc < 0) return rc;
  if (size == 0)
    return mproc__err(MPROC_EINVAL, "shared memory size must be positive");
  s = calloc(1, sizeof *s);
  if (s == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  if (!mproc__reg_ready()) {
    s->mode = SHM_OBJECT;
    rc = mproc__obj_create(&s->obj, MPROC__KIND_SHM, size, opts, NULL, NULL);
  } else {
    ctx.s = s;
    ctx.track = !opts->no_track;
    rc = mproc__data_size(size, &ctx.size);
    if (rc == 0)
      rc = mproc__create_named(opts->name, create_plain, &ctx);
  }
  if (rc < 0) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* ---- open ---------------------------------------------------------------- */

/* A segment with no entry in our registry may be another kind of mproc
 * object (which has a header): refuse it as SharedMemory. */
static int check_not_object(const mproc_shm *s) {
  const mproc__hdr *h = s->obj.seg.base;
  if (s->obj.seg.size < mproc__os_page_size() || h->magic != MPROC__OBJ_MAGIC ||
      h->kind == MPROC__KIND_SHM || h->kind > MPROC__KIND_QUEUE)
    return 0;
  return mproc__err(MPROC_EINVAL, "\"%s\" is a %s, not a shared memory",
                    s->obj.name, mproc__kind_name(h->kind));
}

/* Take a hold in the registry first, then open the name, then check the
 * entry is still live: had its segment been removed (and the name made
 * again) between the two, the mapping would be another segment's. */
static int open_registered(mproc_shm *s, const char *name) {
  int rc = mproc__os_shm_open(&s->obj.seg, name);
  if (rc == 0 && mproc__reg_live(&s->ref)) {
    s->mode = SHM_REG;
    s->hold = mproc__self_id();
    return 0;
  }
  if (rc == 0) mproc__os_shm_close(&s->obj.seg);
  if (mproc__reg_detach(&s->ref)) { /* ours was the last hold */
    mproc__os_shm_unlink(name);
    mproc__reg_drop(&s->ref);
  }
  if (rc == 0 || rc == MPROC_ENOENT)
    rc = mproc__err(MPROC_ENOENT, "shared memory \"%s\" is being removed",
                    name);
  return rc;
}

/* `adopt`: a child opening a segment passed to it (its hold was taken by
 * the parent: mproc__reg_hold_for). */
static int open_plain(mproc_shm *s, const char *name, int adopt) {
  int rc, tries;
  strcpy(s->obj.name, name);
  /* Its creator publishes the entry right after the create. */
  for (tries = 0;; tries++) {
    rc = mproc__reg_attach_as(name, &s->ref, adopt);
    if (rc != MPROC__REG_BUSY || tries == 2000) break;
    uv_sleep(1);
  }
  if (rc == MPROC__REG_FOUND) return open_registered(s, name);
  if (rc < 0) return rc;
  /* Not ours (another program's, a header object, an owned or untracked
   * segment), or a creator stuck for 2 s: uncounted. */
  s->mode = SHM_PLAIN;
  rc = mproc__os_shm_open(&s->obj.seg, name);
  if (rc == MPROC_ENOENT)
    return mproc__err(rc, "no shared memory named \"%s\"", name);
  if (rc < 0) return rc;
  rc = check_not_object(s);
  if (rc < 0) mproc__os_shm_close(&s->obj.seg);
  return rc;
}

/* A name of the arena form is a small object's, never shared memory:
 * refused naming its kind (or MPROC_ENOENT). */
static int check_not_in_arena(const char *name) {
  mproc__obj o;
  int rc;
  if (!mproc__arena_is_name(name)) return 0;
  rc = mproc__arena_open(&o, name, MPROC__KIND_SHM, NULL);
  if (rc == 1) return 0; /* no such arena: looked for as a segment */
  if (rc == 0) { /* not reached: no shared memory lives in an arena */
    mproc__obj_free(&o);
    rc = mproc__err(MPROC_EINVAL, "\"%s\" is not a shared memory", name);
  }
  return rc;
}

int mproc_shm_open(mproc_shm **out, const char *name) {
  mproc_shm *s;
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "out is NULL");
  *out = NULL;
  rc = mproc__check_name(name);
  if (rc < 0) return rc;
  rc = check_not_in_arena(name);
  if (rc < 0) return rc;
  s = calloc(1, sizeof *s);
  if (s == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  if (!mproc__reg_ready()) {
    s->mode = SHM_OBJECT;
    rc = mproc__obj_open(&s->obj, name, MPROC__KIND_SHM);
  } else {
    rc = open_plain(s, name, 0);
  }
  if (rc < 0) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* ---- use ----------------------------------------------------------------- */

void *mproc_shm_buf(const mproc_shm *s) {
  if (s == NULL || atomic_load(&s->obj.closed)) return NULL;
  return s->mode == SHM_OBJECT ? mproc__obj_data(&s->obj) : s->obj.seg.base;
}

size_t mproc_shm_size(const mproc_shm *s) {
  if (s == NULL) return 0;
  return s->mode == SHM_OBJECT ? s->obj.data_size
                               : s->obj.seg.size;
}

const char *mproc_shm_name(const mproc_shm *s) {
  return s ? s->obj.name : NULL;
}

/* ---- unlink and close ---------------------------------------------------- */

/* Remove the name of a segment this handle decided to remove. */
static void remove_name(mproc_shm *s) {
  mproc__os_shm_unlink(s->obj.name);
  if (s->mode == SHM_REG) mproc__reg_drop(&s->ref);
  if (s->mode == SHM_OWNED) (void)mproc__track(s->obj.name, 0);
}

int mproc_shm_unlink(mproc_shm *s) {
  if (s == NULL) return mproc__err(MPROC_EINVAL, "shared memory is NULL");
  if (s->mode == SHM_OBJECT) return mproc__obj_unlink(&s->obj);
  if (s->unlinked) return 0;
  s->unlinked = 1;
  /* A registered segment may be gone already (its last holder closed, or
   * another handle unlinked it), and its name be another segment's now. */
  if (s->mode == SHM_PLAIN) {
    /* An uncounted handle of a segment the registry lists (a creator
     * stuck past the open's patience, no holder record left): the entry
     * goes with the name, or it would outlive it and remove a later
     * segment of the same name. */
    mproc__reg_ref ref;
    int listed = mproc__reg_unlink_name(s->obj.name, &ref);
    mproc__os_shm_unlink(s->obj.name);
    if (listed) mproc__reg_drop(&ref);
    return 0;
  }
  if (s->mode != SHM_REG || mproc__reg_unlink(&s->ref)) remove_name(s);
  return 0;
}

/* Close: this handle's hold goes (the last holder removes the name); the
 * mapping stays until mproc_shm_free, so a thread still copying out of
 * the buffer reads valid memory. */
int mproc_shm_close(mproc_shm *s) {
  int last = 0;
  if (s == NULL) return mproc__err(MPROC_EINVAL, "shared memory is NULL");
  if (s->mode == SHM_OBJECT) {
    mproc__obj_close(&s->obj);
    return 0;
  }
  if (atomic_exchange(&s->obj.closed, 1)) return 0;
  /* A handle inherited through fork holds nothing: its hold is the
   * parent's. */
  if (s->hold != 0 && s->hold == mproc__self_id() && !s->unlinked)
    last = s->mode == SHM_OWNED || mproc__reg_detach(&s->ref);
  s->hold = 0;
  if (last) {
    remove_name(s);
    s->unlinked = 1; /* a later unlink must not remove a new namesake */
  }
  return 0;
}

void mproc_shm_free(mproc_shm *s) {
  if (s == NULL) return;
  mproc_shm_close(s);
  if (s->mode == SHM_OBJECT)
    mproc__obj_free(&s->obj);
  else
    mproc__os_shm_close(&s->obj.seg);
  free(s);
}

/* ---- passing to a child (the kind table's hooks) ------------------------- */

static int shm_pass(const void *h, mproc__pass_seg *segs, size_t *nseg) {
  const mproc_shm *s = h;
  *nseg = 1;
  if (s->mode == SHM_OBJECT) return mproc__obj_pass(&s->obj, segs);
  if (atomic_load(&s->obj.closed))
    return mproc__err(MPROC_ECLOSED, "pass of shared memory \"%s\": this "
                                     "handle is closed",
                      s->obj.name);
  memset(segs, 0, sizeof *segs);
  strcpy(segs->name, s->obj.name);
  segs->h[0] = mproc__os_shm_pass(&s->obj.seg);
  segs->nh = segs->h[0] != MPROC_NO_HANDLE;
  return 0;
}

/* An uncounted segment (no_track, or one the full registry left to its
 * creator) has no holders to join: it lives as its creator decides. */
static void shm_hold(const void *h, long pid) {
  mproc_shm *s = (mproc_shm *)(uintptr_t)h;
  if (s->mode == SHM_OBJECT) mproc__obj_hold_for(&s->obj, pid);
  if (s->mode == SHM_REG) mproc__reg_hold_for(&s->ref, pid);
}

static int shm_adopt(void **out, const mproc__pass_seg *segs, size_t nseg) {
  mproc_shm *s;
  int rc;
  (void)nseg;
  s = calloc(1, sizeof *s);
  if (s == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  if (!mproc__reg_ready()) {
    s->mode = SHM_OBJECT;
    rc = mproc__obj_adopt(&s->obj, segs, MPROC__KIND_SHM);
  } else {
    rc = open_plain(s, segs->name, 1);
  }
  if (rc < 0) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

static void shm_free(void *h) { mproc_shm_free(h); }

const mproc__kind_ops mproc__shm_ops = {MPROC__KIND_SHM, sizeof(mproc_shm),
                                        NULL,     shm_pass,
                                        shm_hold, shm_adopt,
                                        shm_free};
