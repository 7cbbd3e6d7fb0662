/* mproc: named shared objects with a header page (the holder table), and
 * names. See object.h for the protocol; the public shared memory API is in
 * shm-plain.c. */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "arena.h"
#include "object.h"
#include "registry.h"
#include "tracker.h"

/* ---- names --------------------------------------------------------------- */

int mproc__check_name(const char *name) {
  size_t i, len;
  if (name == NULL) return mproc__err(MPROC_EINVAL, "name is NULL");
  len = strlen(name);
  if (len == 0) return mproc__err(MPROC_EINVAL, "name is empty");
  if (len > MPROC_SHM_NAME_MAX)
    return mproc__err(MPROC_ENAMETOOLONG,
                      "name \"%.40s%s\" is %zu characters; the limit is %d "
                      "(macOS allows 30 in all)",
                      name, len > 40 ? "..." : "", len, MPROC_SHM_NAME_MAX);
  for (i = 0; i < len; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          (c == '.' && i > 0)))
      return mproc__err(MPROC_EINVAL,
                        "name \"%s\" has '%c' at %zu; use A-Z a-z 0-9 _ - "
                        "and . (not first)",
                        name, c, i);
  }
  return 0;
}

/* The prefix of generated names: "mp", or MPROC_NAME_PREFIX when it is 1
 * to 8 characters of [a-z0-9] (so a program's objects can be told apart
 * from another's, say in /dev/shm). */
static const char *name_prefix(void) {
  const char *p = getenv("MPROC_NAME_PREFIX");
  size_t i, n = p ? strlen(p) : 0;
  if (n == 0 || n > 8) return "mp";
  for (i = 0; i < n; i++)
    if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')))
      return "mp";
  return p;
}

/* Random bytes for names, fetched 25 names' worth at a time: a system
 * call (~0.3 us) per name was most of what creating a segment cost beyond
 * the raw shm_open cycle. Per thread; a fork child (another pid) refills,
 * so that parent and child never draw the same bytes. */
#define NAME_RANDOM 10
static int name_bytes(unsigned char out[NAME_RANDOM]) {
  static _Thread_local unsigned char pool[25 * NAME_RANDOM];
  static _Thread_local size_t used = sizeof pool;
  static _Thread_local uint32_t owner;
  uint32_t me = mproc__self_id();
  if (used == sizeof pool || owner != me) {
    int rc = mproc__os_random(pool, sizeof pool);
    if (rc < 0) return rc;
    used = 0;
    owner = me;
  }
  memcpy(out, pool + used, NAME_RANDOM);
  memset(pool + used, 0, NAME_RANDOM); /* drawn once */
  used += NAME_RANDOM;
  return 0;
}

int mproc__random_name(char out[MPROC_SHM_NAME_MAX + 1], int len) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  const char *prefix = name_prefix();
  size_t n = strlen(prefix);
  unsigned char r[NAME_RANDOM];
  int i, rc = name_bytes(r);
  if (rc < 0) return rc;
  if (len > NAME_RANDOM) len = NAME_RANDOM;
  memcpy(out, prefix, n);
  out[n] = '-';
  for (i = 0; i < len; i++) out[n + 1 + i] = alphabet[r[i] % 36];
  out[n + 1 + (size_t)len] = '\0';
  return 0;
}

/* ---- the holder table ---------------------------------------------------- */

void mproc__holders_lock(const mproc__holders *t) {
  mproc__pidlock_acquire(t->lock);
}
void mproc__holders_unlock(const mproc__holders *t) {
  mproc__pidlock_release(t->lock);
}

/* A segment's table, in its header. */
static mproc__holders hdr_holders(mproc__hdr *h) {
  return mproc__holders_view(&h->table_lock, &h->unlinked, h->holders,
                             MPROC__HOLDERS);
}

/* ---- the spill pool: entries (tag << 32 | pid) of several tables ---------- */

static uint64_t spill_entry(const mproc__holders *t, long pid) {
  return (uint64_t)t->tag << 32 | (uint32_t)(int32_t)pid;
}

static int32_t entry_pid(uint64_t e) { return (int32_t)(uint32_t)e; }

static int spill_find(const mproc__holders *t, long pid) {
  uint64_t want = spill_entry(t, pid);
  int i;
  for (i = 0; i < t->nspill; i++)
    if (atomic_load(&t->spill[i]) == want) return i;
  return -1;
}

/* An empty entry, else one whose pid died (any table's: a dead process
 * holds nothing): 0, or -1 when every entry is live. */
static int spill_put(const mproc__holders *t, long pid) {
  uint64_t want = spill_entry(t, pid), e;
  int i, pass;
  for (pass = 0; pass < 2; pass++)
    for (i = 0; i < t->nspill; i++) {
      e = atomic_load(&t->spill[i]);
      if (pass == 0 ? e != 0 : e == 0 || mproc__os_pid_alive(entry_pid(e)))
        continue;
      if (atomic_compare_exchange_strong(&t->spill[i], &e, want)) return 0;
    }
  return -1;
}

void mproc__holders_clear_spill(const mproc__holders *t) {
  int i;
  for (i = 0; i < t->nspill; i++) {
    uint64_t e = atomic_load(&t->spill[i]);
    if (e != 0 && (uint32_t)(e >> 32) == t->tag)
      (void)atomic_compare_exchange_strong(&t->spill[i], &e, 0);
  }
}

/* A full table (and spill pool) leaves `pid` uncounted: a segment then
 * outlives it until the tracker's sweep (an arena slot is pinned:
 * arena.c). */
int mproc__holders_put(const mproc__holders *t, long pid, int reuse) {
  int i, free_slot = -1;
  for (i = 0; i < t->n; i++) {
    int32_t p = atomic_load(&t->pid[i]);
    if (reuse && p == (int32_t)pid) return 0;
    if (free_slot < 0 && (p == 0 || (p != pid && !mproc__os_pid_alive(p)))) {
      free_slot = i;
      if (!reuse) break;
    }
  }
  if (free_slot < 0 && reuse && t->spill && spill_find(t, pid) >= 0) return 0;
  if (free_slot < 0) return t->spill ? spill_put(t, pid) : -1;
  atomic_store(&t->pid[free_slot], (int32_t)pid);
  return 0;
}

void mproc__holders_drop(const mproc__holders *t, long pid) {
  int i;
  uint64_t e;
  for (i = 0; i < t->n; i++)
    if (atomic_load(&t->pid[i]) == (int32_t)pid) {
      atomic_store(&t->pid[i], 0);
      return;
    }
  if (t->spill && (i = spill_find(t, pid)) >= 0) {
    e = spill_entry(t, pid);
    (void)atomic_compare_exchange_strong(&t->spill[i], &e, 0);
  }
}

/* Register this process (table locked). 0 or MPROC_ENOENT when the object
 * is being removed. `adopt`: a child taking the hold its parent took for
 * it (mproc__obj_hold_for) — no second slot, and no ENOENT: that hold
 * kept the object. */
int mproc__holders_add(mproc__obj *o, const mproc__holders *t, int adopt) {
  long me = mproc__os_getpid();
  if (!adopt && atomic_load(t->unlinked))
    return mproc__err(MPROC_ENOENT, "shared object \"%s\" is being removed",
                      o->name);
  /* Uncounted when the table is full: the handle then drops no slot at
   * its close (it would drop another handle's hold). */
  if (mproc__holders_put(t, me, adopt) == 0) o->holder_pid = me;
  return 0;
}

int mproc__holders_has(const mproc__holders *t, long pid) {
  int i;
  for (i = 0; i < t->n; i++)
    if (atomic_load(&t->pid[i]) == (int32_t)pid) return 1;
  return t->spill != NULL && spill_find(t, pid) >= 0;
}

/* A child adopting a passed object waits (table unlocked) for the slot its
 * parent writes right after the start: were the child to write its own,
 * a child that ends before the parent gets there would leave a slot the
 * parent then fills with its pid, counted until that pid is reaped. Only
 * a parent that never gets there (killed in between; then we die too)
 * costs the wait, after which the child counts itself. */
void mproc__holders_wait_for(const mproc__holders *t) {
  long me = mproc__os_getpid();
  int tries;
  for (tries = 0; tries < 10000 && !mproc__holders_has(t, me); tries++)
    if (tries < 100)
      mproc__os_yield();
    else
      uv_sleep(1);
}

int mproc__holders_live(const mproc__holders *t, long except) {
  int i;
  for (i = 0; i < t->n; i++) {
    int32_t p = atomic_load(&t->pid[i]);
    if (p != 0 && p != except && mproc__os_pid_alive(p)) return 1;
  }
  for (i = 0; i < t->nspill; i++) {
    uint64_t e = atomic_load(&t->spill[i]);
    int32_t p = entry_pid(e);
    if (e != 0 && (uint32_t)(e >> 32) == t->tag && p != except &&
        mproc__os_pid_alive(p))
      return 1;
  }
  return 0;
}

static void remove_name(const char *name) {
  mproc__os_shm_unlink(name);
  mproc__os_park_unlink(name);
}

/* Removed by its holders: the tracker can forget it. */
static void remove_tracked(mproc__obj *o) {
  remove_name(o->name);
  if (!(o->hdr->flags & MPROC__FLAG_NO_TRACK))
    (void)mproc__track(o->name, 0); /* at worst swept again: no-op */
}

/* ---- objects ------------------------------------------------------------- */

int mproc__data_size(size_t size, size_t *rounded) {
  size_t page = mproc__os_page_size();
  if (size > ((size_t)1 << 46))
    return mproc__err(MPROC_ERANGE, "%zu bytes is more shared memory than "
                                    "this library maps (64 TiB)",
                      size);
  *rounded = (size + page - 1) / page * page;
  return 0;
}

int mproc__create_named(const char *name, mproc__create_fn fn, void *ctx) {
  char gen[MPROC_SHM_NAME_MAX + 1];
  int rc, tries;
  if (name) {
    rc = mproc__check_name(name);
    if (rc == 0) rc = fn(ctx, name);
  } else {
    /* A generated name is taken only by a one-in-36^10 chance. */
    for (tries = 0, rc = MPROC_EEXIST; rc == MPROC_EEXIST && tries < 8;
         tries++) {
      rc = mproc__random_name(gen, NAME_RANDOM);
      if (rc == 0) rc = fn(ctx, gen);
    }
  }
  if (rc == MPROC_EEXIST)
    mproc__err(rc, "a shared object named \"%s\" already exists",
               name ? name : gen);
  return rc;
}

typedef struct obj_create_ctx {
  mproc__obj *o;
  size_t total;
} obj_create_ctx;

static int create_obj_named(void *ctx, const char *name) {
  obj_create_ctx *c = ctx;
  memset(c->o, 0, sizeof *c->o);
  strcpy(c->o->name, name);
  return mproc__os_shm_create(&c->o->seg, name, c->total);
}

/* An object with a segment of its own (a header page, then the data). */
static int create_segment(mproc__obj *o, uint32_t kind, size_t data_size,
                          const mproc_shm_opts *opts, mproc__obj_init init,
                          void *arg) {
  size_t page = mproc__os_page_size(), data = 0;
  obj_create_ctx ctx;
  mproc__holders t;
  int rc = mproc__data_size(data_size, &data);
  if (rc < 0) return rc;
  ctx.o = o;
  ctx.total = page + data;
  rc = mproc__create_named(opts->name, create_obj_named, &ctx);
  if (rc < 0) return rc;
  o->hdr = o->seg.base;
  o->hdr->magic = MPROC__OBJ_MAGIC;
  o->hdr->kind = kind;
  o->hdr->flags = opts->no_track ? MPROC__FLAG_NO_TRACK : 0;
  o->hdr->data_offset = page;
  o->hdr->data_size = data;
  o->state = (char *)o->seg.base + MPROC__STATE_OFFSET;
  o->data = (char *)o->seg.base + page;
  o->data_size = data;
  rc = mproc__os_park_open(&o->park, o->name,
                           &o->hdr->park, 1);
  if (rc < 0) {
    mproc__os_shm_close(&o->seg);
    mproc__os_shm_unlink(o->name);
    return rc;
  }
  /* Tracked before anyone can open it: an object the tracker cannot
   * know of is not made (mproc__track says why). */
  if (!(o->hdr->flags & MPROC__FLAG_NO_TRACK)) {
    rc = mproc__track(o->name, 1);
    if (rc < 0) {
      mproc__os_park_close(o->park);
      mproc__os_park_unlink(o->name);
      mproc__os_shm_close(&o->seg);
      mproc__os_shm_unlink(o->name);
      return rc;
    }
  }
  if (init) init(mproc__obj_state(o), arg);
  t = hdr_holders(o->hdr);
  mproc__holders_add(o, &t, 0);
  atomic_store(&o->hdr->ready, 1);
  return 0;
}

int mproc__obj_create(mproc__obj *o, uint32_t kind, size_t data_size,
                      const mproc_shm_opts *user_opts, mproc__obj_init init,
                      void *arg) {
  mproc_shm_opts opts = MPROC_SHM_OPTS_INIT;
  int rc = mproc__opts_load(&opts, sizeof opts, user_opts, "new",
                            "MPROC_SYNC_OPTS_INIT (or MPROC_SHM_OPTS_INIT)");
  if (rc < 0) return rc;
  /* Small objects with generated names live in an arena (1: not this
   * one); a name the user chose is a segment of its own, where any
   * program looks for it, as is an untracked object (it may outlive the
   * program, an arena may not). */
  if (opts.name == NULL && !opts.no_track) {
    rc = mproc__arena_create(o, kind, data_size, init, arg);
    if (rc != 1) return rc;
  } else if (opts.name && mproc__arena_is_name(opts.name)) {
    return mproc__err(MPROC_EINVAL, "name \"%s\" has the form of an arena "
                                    "object's name; choose another",
                      opts.name);
  }
  return create_segment(o, kind, data_size, &opts, init, arg);
}

const char *mproc__kind_name(uint32_t kind) {
  static const char *names[] = {"?",         "shared memory", "array",
                                "lock",      "rlock",         "semaphore",
                                "condition", "event",         "barrier",
                                "queue"};
  return kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

/* Check a freshly mapped segment is a ready object of `kind`, and open
 * its parking place (from the passed handles when `seg`). */
static int check_mapped(mproc__obj *o, uint32_t kind,
                        const mproc__pass_seg *seg) {
  mproc__hdr *h = o->hdr = o->seg.base;
  int spins;
  /* The creator publishes `ready` last; it is between two instructions. */
  for (spins = 0; !atomic_load(&h->ready) && spins < 2000; spins++)
    uv_sleep(1);
  if (!atomic_load(&h->ready) || h->magic != MPROC__OBJ_MAGIC ||
      o->seg.size < mproc__os_page_size())
    return mproc__err(MPROC_EINVAL, "\"%s\" is not an mproc shared object",
                      o->name);
  if (h->kind != kind)
    return mproc__err(MPROC_EINVAL, "\"%s\" is a %s, not a %s", o->name,
                      mproc__kind_name(h->kind), mproc__kind_name(kind));
  o->state = (char *)o->seg.base + MPROC__STATE_OFFSET;
  o->data = (char *)o->seg.base + h->data_offset;
  o->data_size = h->data_size;
  if (seg && seg->nh > 1)
    return mproc__os_park_adopt(&o->park, o->name, &h->park, seg->h + 1,
                                seg->nh - 1);
  return mproc__os_park_open(&o->park, o->name, &h->park, 0);
}

static int open_mapped(mproc__obj *o, uint32_t kind,
                       const mproc__pass_seg *seg) {
  mproc__holders t;
  int rc = check_mapped(o, kind, seg);
  if (rc < 0) goto fail;
  t = hdr_holders(o->hdr);
  if (seg) mproc__holders_wait_for(&t);
  mproc__holders_lock(&t);
  rc = mproc__holders_add(o, &t, seg != NULL);
  mproc__holders_unlock(&t);
  if (rc < 0) {
    mproc__os_park_close(o->park);
    goto fail;
  }
  return 0;
fail:
  mproc__os_shm_close(&o->seg);
  return rc;
}

int mproc__obj_open(mproc__obj *o, const char *name, uint32_t kind) {
  int rc = mproc__check_name(name);
  if (rc < 0) return rc;
  if (mproc__arena_is_name(name)) {
    rc = mproc__arena_open(o, name, kind, NULL);
    if (rc != 1) return rc;
  }
  if (mproc__reg_has(name))
    return mproc__err(MPROC_EINVAL, "\"%s\" is a shared memory, not a %s",
                      name, mproc__kind_name(kind));
  memset(o, 0, sizeof *o);
  strcpy(o->name, name);
  rc = mproc__os_shm_open(&o->seg, name);
  if (rc == MPROC_ENOENT)
    return mproc__err(rc, "no shared object named \"%s\"", name);
  if (rc < 0) return rc;
  return open_mapped(o, kind, NULL);
}

/* ---- passing to a child -------------------------------------------------- */

/* A handle whose free has run (or that was never opened). */
static int freed(const mproc__obj *o) { return o->hdr == NULL && o->slot == NULL; }

uint32_t mproc__obj_kind(const mproc__obj *o) {
  if (o->slot) return mproc__arena_kind(o);
  return o->hdr ? o->hdr->kind : 0;
}

int mproc__obj_pass(const mproc__obj *o, mproc__pass_seg *seg) {
  int rc = mproc__obj_check(o, "pass");
  if (rc < 0) return rc;
  if (o->slot) return mproc__arena_pass(o, seg);
  memset(seg, 0, sizeof *seg);
  strcpy(seg->name, o->name);
  seg->h[0] = mproc__os_shm_pass(&o->seg);
  if (seg->h[0] == MPROC_NO_HANDLE) return 0; /* reopened by name */
  seg->nh = 1 + (uint32_t)mproc__os_park_pass(o->park, seg->h + 1);
  return 0;
}

void mproc__obj_hold_for(mproc__obj *o, long pid) {
  mproc__holders t;
  if (pid <= 0 || freed(o) || atomic_load(&o->closed)) return;
  if (o->slot) {
    mproc__arena_hold_for(o, pid);
    return;
  }
  t = hdr_holders(o->hdr);
  mproc__holders_lock(&t);
  (void)mproc__holders_put(&t, pid, 1);
  mproc__holders_unlock(&t);
}

int mproc__obj_adopt(mproc__obj *o, const mproc__pass_seg *seg,
                     uint32_t kind) {
  int rc;
  if (mproc__arena_is_name(seg->name)) {
    rc = mproc__arena_open(o, seg->name, kind, seg);
    if (rc != 1) return rc;
  }
  memset(o, 0, sizeof *o);
  strcpy(o->name, seg->name);
  rc = mproc__os_shm_adopt(&o->seg, seg->name,
                           seg->nh > 0 ? seg->h[0] : MPROC_NO_HANDLE);
  if (rc == MPROC_ENOENT)
    return mproc__err(rc, "passed shared object \"%s\" is gone (was it "
                          "unlinked before the child started?)",
                      seg->name);
  if (rc < 0) return rc;
  return open_mapped(o, kind, seg);
}

/* Release this handle's hold: its own slot. Another slot of this
 * process (a second open, a second handle) is a hold like any other's,
 * so `last` is decided over every live slot left. */
static void release_hold(mproc__obj *o) {
  mproc__hdr *h = o->hdr;
  long me = mproc__os_getpid();
  mproc__holders t;
  int last = 0;
  /* A handle inherited through fork is only unmapped at its free: its
   * hold is the parent's. An uncounted one (a full table) has none. */
  if (o->holder_pid != me) return;
  t = hdr_holders(h);
  mproc__holders_lock(&t);
  mproc__holders_drop(&t, me);
  if (!(h->flags & MPROC__FLAG_NO_TRACK) && !mproc__holders_live(&t, 0) &&
      !atomic_exchange(&h->unlinked, 1))
    last = 1;
  mproc__holders_unlock(&t);
  o->holder_pid = 0;
  if (last) remove_tracked(o);
}

void mproc__obj_close(mproc__obj *o) {
  if (freed(o) || atomic_exchange(&o->closed, 1)) return;
  mproc__wake_closed(o);
  if (o->slot)
    mproc__arena_close(o);
  else
    release_hold(o);
}

void mproc__obj_free(mproc__obj *o) {
  if (freed(o)) return;
  mproc__obj_close(o);
  if (o->slot) {
    mproc__arena_free(o);
    return;
  }
  mproc__os_park_close(o->park);
  o->park = NULL;
  mproc__os_shm_close(&o->seg);
  o->hdr = NULL;
}

int mproc__obj_check_fail(const mproc__obj *o, const char *what) {
  if (freed(o) || atomic_load_explicit(&o->closed, memory_order_relaxed))
    return mproc__err(MPROC_ECLOSED, "%s on %s \"%s\": this handle is "
                                     "closed",
                      what, freed(o) ? "object"
                                     : mproc__kind_name(mproc__obj_kind(o)),
                      o->name);
  return 0;
}

/* Also through a closed handle (Python's close() then unlink()): the
 * name is the object's, and the mapping lasts until the free. */
int mproc__obj_unlink(mproc__obj *o) {
  if (freed(o))
    return mproc__err(MPROC_ECLOSED, "unlink of \"%s\": the handle is "
                                     "freed",
                      o->name);
  if (o->slot) return mproc__arena_unlink(o);
  if (!atomic_exchange(&o->hdr->unlinked, 1)) remove_tracked(o);
  return 0;
}

int mproc__shm_sweep(const char *name, uint32_t *kind) {
  mproc__os_shm seg;
  mproc__hdr *h;
  int gone = 1;
  *kind = 0;
  if (mproc__reg_has(name)) return 1; /* the registry's sweep's */
  if (mproc__os_shm_open(&seg, name) < 0) {
    mproc__os_park_unlink(name); /* the segment went; its semaphore too */
    return 1;
  }
  h = seg.base;
  if (seg.size >= mproc__os_page_size() && h->magic == MPROC__OBJ_MAGIC) {
    mproc__holders t = hdr_holders(h);
    mproc__holders_lock(&t);
    if (mproc__holders_live(&t, 0))
      gone = 0;
    else if (!atomic_exchange(&h->unlinked, 1))
      *kind = h->kind; /* left by the program, not removed by it */
    mproc__holders_unlock(&t);
  }
  if (gone) remove_name(name);
  mproc__os_shm_close(&seg);
  return gone;
}
