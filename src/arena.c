/* mproc: arenas (arena.h): many small shared objects in a few segments.
 *
 * Layout. An arena is a segment of ARENA_SIZE bytes: a header page, then
 * `nslots` slots of one size class (192 bytes: every small kind and a
 * Value; 512: a Barrier, small arrays; 2048: arrays up to 1888 bytes). A
 * slot is a header of 128 bytes (its state, generation, kind, parking
 * words: one cache line; a table of SLOT_HOLDERS holder pids: another),
 * then the kind's state, then an array's data. Slot sizes are multiples of
 * the 64-byte cache line, so no object's hot word shares a line with
 * another object's.
 *
 * Allocation. The arena header's pid lock guards the free list (slots
 * linked by index), the never-used mark `fresh`, the `live` count and
 * `closed`. Each change under it is bracketed by `busy` = the locker's
 * pid: a locker that finds `busy` set took the lock over from a process
 * killed inside a change, and rebuilds the list and the count from the
 * slots' states (repair). Those are single atomic words and always say
 * the truth:
 *   FREE -> CLAIM|pid (taken under the arena lock)
 *        -> LIVE (initialised and published under the slot's table lock)
 *        -> FREEING|pid (the holder that found no other live holder)
 *        -> FREE (under the arena lock).
 * A process killed between the lock and the publication, or between
 * FREEING and the lock, leaves a slot whose pid is dead: repair and
 * collect take it back (collect runs when a free leaves few objects live,
 * at most once a second, and also frees LIVE slots whose holders all
 * died).
 *
 * Holders. A slot's table is the object model's (object.h), SLOT_HOLDERS
 * long, one entry per handle; past it, entries spill into the pool the
 * arena's slots share (the rest of the header page, SPILL_ENTRIES, taken
 * by compare and swap, tagged with the slot: a Lock passed to 20 children
 * at once is counted for each). A publish forgets the slot's spilled
 * entries. A handle that finds the pool full too stays uncounted
 * (holder_pid 0: its close drops nothing), as with a segment, but a slot
 * cannot outlive its last counted close the way a mapping does (it would
 * be given to another object while the uncounted handle still uses it):
 * the slot is pinned instead, and goes with its arena (docs/arenas.md).
 * The last counted close makes the slot FREEING; the free of that handle
 * gives it back (release), so calls still inside the closed handle never
 * touch a reused slot.
 *
 * Lifetime. The free that brings `live` to 0 sets `closed` (no allocation
 * in it again) and removes the arena's name; each process unmaps it when
 * its last handle into it goes. A process allocates in its current arena
 * of the class until it is full or closed, then makes another; a fork
 * child goes on in its parent's (the mapping is shared), other processes
 * make their own. The tracker knows an arena by its name, and sweeps it
 * whole once the program has ended (mproc__arena_sweep).
 *
 * Names. "<arena>.<slot: 3 base-36 digits><generation: 1-5 digits>". The
 * generation grows with every allocation of the slot, so a stale name
 * never opens a later object of the same slot. */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "arena.h"
#include "program.h"
#include "tracker.h"

#define ARENA_MAGIC 0x31414d50u /* "PMA1" */
#define ARENA_SIZE ((size_t)4 << 20)
#define ARENA_HDR 4096
#define NAME_RANDOM 6
#define SLOT_HDR 128
#define SLOT_HOLDERS 16
/* The rest of the header page: the spill pool of every slot's holders. */
#define SPILL_OFF 256
#define SPILL_ENTRIES ((ARENA_HDR - SPILL_OFF) / 8)
#define CLASSES 3
#define GEN_LIMIT 60466176u /* 36^5: generations take 1..5 digits */
#define IDX_DIGITS 3        /* 36^3 = 46656 slots at most */
#define FEW_LIVE 64         /* a free that leaves this few collects */

/* Three cache lines: the slot header, then one line of state (every small
 * kind, a Value of up to 32 bytes); a Barrier and arrays of up to 352
 * bytes; arrays of up to 1888 bytes. Multiples of 64, so slots never
 * share a cache line. */
static const uint32_t class_size[CLASSES] = {192, 512, 2048};

#define S_FREE 0u
#define S_LIVE 1u
#define S_CLAIM 0x80000000u
#define S_FREEING 0x40000000u
#define S_PID 0x3fffffffu
#define F_PINNED 1u

typedef struct slot {
  _Atomic uint32_t state;
  _Atomic uint32_t gen;
  _Atomic uint32_t kind;
  _Atomic uint32_t flags;
  _Atomic uint32_t table_lock;
  _Atomic uint32_t unlinked;
  uint32_t data_size;
  uint32_t next; /* free list: the next free slot + 1 (arena locked) */
  mproc__park_words park;
  _Atomic int32_t holders[SLOT_HOLDERS];
} slot;
_Static_assert(sizeof(slot) == SLOT_HDR, "a slot header is 128 bytes");

typedef struct arena_hdr {
  _Atomic uint32_t magic; /* written last by the creator */
  uint32_t slot_size;
  uint32_t nslots;
  uint32_t cls;
  _Atomic uint32_t lock; /* pid lock */
  _Atomic uint32_t busy; /* pid of a change under way */
  _Atomic uint32_t closed;
  _Atomic uint32_t live; /* slots not FREE; written under the lock */
  uint32_t free_head;    /* first free slot + 1; 0: none */
  uint32_t fresh;        /* slots [fresh, nslots) were never used */
  uint64_t collect_at;
} arena_hdr;

_Static_assert(sizeof(arena_hdr) <= SPILL_OFF, "the spill pool follows");

/* This process's mapping of an arena. */
struct mproc__arena {
  struct mproc__arena *next;
  mproc__os_shm seg;
  arena_hdr *h;
  long refs;   /* handles of this process into it (maps_lock) */
  int current; /* this process allocates in it */
  char name[MPROC_SHM_NAME_MAX + 1];
};

/* ---- this process's arenas ----------------------------------------------- */

static uv_once_t maps_once = UV_ONCE_INIT;
static uv_mutex_t maps_lock;
static mproc__arena *maps;
static mproc__arena *current[CLASSES];

/* A fork child may inherit the mutex locked by a thread it does not have. */
static void maps_after_fork(void) { uv_mutex_init(&maps_lock); }

static void exit_arenas(void);

static void maps_init(void) {
  uv_mutex_init(&maps_lock);
  mproc__on_fork_child(maps_after_fork);
  mproc__on_exit(exit_arenas);
}

static void maps_enter(void) {
  uv_once(&maps_once, maps_init);
  uv_mutex_lock(&maps_lock);
}

static void maps_leave(void) { uv_mutex_unlock(&maps_lock); }

/* Drop a handle's reference (maps locked): a closed arena stops being
 * current; one neither current nor referenced is unmapped. */
static void unref_locked(mproc__arena *a) {
  mproc__arena **p;
  if (atomic_load(&a->h->closed) && a->current) {
    current[a->h->cls] = NULL;
    a->current = 0;
  }
  if (--a->refs > 0 || a->current) return;
  for (p = &maps; *p && *p != a; p = &(*p)->next) {
  }
  if (*p) *p = a->next;
  mproc__os_shm_close(&a->seg);
  free(a);
}

static void unref(mproc__arena *a) {
  maps_enter();
  unref_locked(a);
  maps_leave();
}

static slot *slot_at(const arena_hdr *h, uint32_t i) {
  return (slot *)(uintptr_t)((const char *)h + ARENA_HDR +
                             (size_t)i * h->slot_size);
}

/* A slot's table, spilling into its arena's pool past SLOT_HOLDERS. */
static mproc__holders slot_holders(arena_hdr *h, slot *s) {
  mproc__holders t = mproc__holders_view(&s->table_lock, &s->unlinked,
                                         s->holders, SLOT_HOLDERS);
  t.spill = (_Atomic uint64_t *)(void *)((char *)h + SPILL_OFF);
  t.nspill = SPILL_ENTRIES;
  t.tag = (uint32_t)(((char *)s - ((char *)h + ARENA_HDR)) / h->slot_size) + 1;
  return t;
}

/* ---- names ----------------------------------------------------------------- */

static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";

static int digit_of(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  return -1;
}

/* The arena part: 1..8 of [a-z0-9], '-', NAME_RANDOM of [a-z0-9]. */
static int is_arena_base(const char *s, size_t len) {
  const char *dash = memchr(s, '-', len);
  size_t i, pre = dash ? (size_t)(dash - s) : 0;
  if (dash == NULL || pre == 0 || pre > 8 || len != pre + 1 + NAME_RANDOM)
    return 0;
  for (i = 0; i < len; i++)
    if (i != pre && digit_of(s[i]) < 0) return 0;
  return 1;
}

int mproc__arena_is_name(const char *name) {
  const char *dot = name ? strrchr(name, '.') : NULL;
  size_t i, tail;
  if (dot == NULL) return 0;
  tail = strlen(dot + 1);
  if (tail < IDX_DIGITS + 1 || tail > IDX_DIGITS + 5) return 0;
  for (i = 0; i < tail; i++)
    if (digit_of(dot[1 + i]) < 0) return 0;
  return is_arena_base(name, (size_t)(dot - name));
}

static void object_name(char *out, const char *arena, uint32_t idx,
                        uint32_t gen) {
  char g[8];
  int n = 0, i;
  size_t len = strlen(arena);
  memcpy(out, arena, len);
  out[len++] = '.';
  for (i = IDX_DIGITS - 1; i >= 0; i--, idx /= 36) out[len + (size_t)i] = digits[idx % 36];
  len += IDX_DIGITS;
  do {
    g[n++] = digits[gen % 36];
    gen /= 36;
  } while (gen > 0);
  while (n > 0) out[len++] = g[--n];
  out[len] = '\0';
}

/* Split a name mproc__arena_is_name accepted. */
static void parse_name(const char *name, char *arena, uint32_t *idx,
                       uint32_t *gen) {
  const char *dot = strrchr(name, '.'), *p;
  int i;
  memcpy(arena, name, (size_t)(dot - name));
  arena[dot - name] = '\0';
  *idx = 0;
  for (i = 0; i < IDX_DIGITS; i++) *idx = *idx * 36 + (uint32_t)digit_of(dot[1 + i]);
  *gen = 0;
  for (p = dot + 1 + IDX_DIGITS; *p; p++) *gen = *gen * 36 + (uint32_t)digit_of(*p);
}

/* ---- the arena lock, repair and collect ---------------------------------- */

static int dead(uint32_t pid) { return !mproc__os_pid_alive((long)pid); }

/* Rebuild the free list and the count from the slots' states, taking back
 * the slots of processes that died claiming or freeing them. Locked. */
static void repair(arena_hdr *h) {
  uint32_t i, live = 0;
  if (h->fresh > h->nslots) h->fresh = h->nslots;
  h->free_head = 0;
  for (i = h->fresh; i-- > 0;) {
    slot *s = slot_at(h, i);
    uint32_t st = atomic_load(&s->state);
    if ((st & (S_CLAIM | S_FREEING)) && dead(st & S_PID)) {
      atomic_store(&s->state, S_FREE);
      st = S_FREE;
    }
    if (st == S_FREE) {
      s->next = h->free_head;
      h->free_head = i + 1;
    } else {
      live++;
    }
  }
  atomic_store(&h->live, live);
}

static void arena_lock(arena_hdr *h) {
  mproc__pidlock_acquire(&h->lock);
  if (atomic_load(&h->busy) != 0) repair(h); /* its locker died in a change */
  atomic_store(&h->busy, mproc__self_id());
}

static void arena_unlock(arena_hdr *h) {
  atomic_store(&h->busy, 0);
  mproc__pidlock_release(&h->lock);
}

static void slot_park_unlink(const char *arena, uint32_t idx, uint32_t gen) {
  char name[MPROC_SHM_NAME_MAX + 1];
  object_name(name, arena, idx, gen);
  mproc__os_park_unlink(name);
}

/* Whether the LIVE slot's holders are all dead: then it is FREEING by us
 * (its table locked meanwhile). Pinned slots may have uncounted holders. */
static int abandoned(arena_hdr *h, slot *s) {
  mproc__holders t = slot_holders(h, s);
  int gone = 0;
  if (atomic_load(&s->flags) & F_PINNED) return 0;
  if (mproc__holders_has(&t, (long)mproc__self_id())) return 0; /* ours */
  mproc__holders_lock(&t);
  if (atomic_load(&s->state) == S_LIVE && !mproc__holders_live(&t, 0)) {
    atomic_store(&s->unlinked, 1);
    atomic_store(&s->state, S_FREEING | mproc__self_id());
    gone = 1;
  }
  mproc__holders_unlock(&t);
  return gone;
}

/* Take back what dead processes left (locked): abandoned objects, and the
 * slots repair takes back. At most once a second per arena. */
static void collect(mproc__arena *a) {
  arena_hdr *h = a->h;
  uint64_t now = uv_hrtime();
  uint32_t i;
  if (h->collect_at != 0 && now - h->collect_at < (uint64_t)1e9) return;
  h->collect_at = now;
  for (i = 0; i < h->fresh; i++) {
    slot *s = slot_at(h, i);
    if (atomic_load(&s->state) == S_LIVE && abandoned(h, s)) {
      slot_park_unlink(a->name, i, atomic_load(&s->gen));
      atomic_store(&s->state, S_FREE);
    }
  }
  repair(h);
}

/* ---- allocate and free ----------------------------------------------------- */

/* Take a slot (CLAIM|me): its index, or -1 when the arena is full or
 * closed. */
static int64_t claim(mproc__arena *a) {
  arena_hdr *h = a->h;
  uint32_t me = mproc__self_id(), i = 0;
  int64_t got = -1;
  arena_lock(h);
  if (!atomic_load(&h->closed)) {
    if (h->free_head != 0) {
      i = h->free_head - 1;
      atomic_store(&slot_at(h, i)->state, S_CLAIM | me);
      mproc__fault("arena.alloc");
      h->free_head = slot_at(h, i)->next;
      got = i;
    } else if (h->fresh < h->nslots) {
      i = h->fresh;
      atomic_store(&slot_at(h, i)->state, S_CLAIM | me);
      mproc__fault("arena.alloc");
      h->fresh++;
      got = i;
    }
    if (got >= 0) atomic_store(&h->live, atomic_load(&h->live) + 1);
  }
  arena_unlock(h);
  return got;
}

/* Give slot i back (it is CLAIM or FREEING by us). The free that empties
 * the arena closes it and removes its name. */
static void release(mproc__arena *a, uint32_t i) {
  arena_hdr *h = a->h;
  slot *s = slot_at(h, i);
  uint32_t live;
  int empty = 0;
  arena_lock(h);
  atomic_store(&s->state, S_FREE);
  mproc__fault("arena.free");
  s->next = h->free_head;
  h->free_head = i + 1;
  live = atomic_load(&h->live);
  atomic_store(&h->live, live > 0 ? live - 1 : 0);
  if (live - 1 == FEW_LIVE || (live > 1 && live - 1 < FEW_LIVE &&
                                h->collect_at == 0))
    collect(a);
  if (atomic_load(&h->live) == 0) {
    atomic_store(&h->closed, 1);
    empty = 1;
  }
  arena_unlock(h);
  if (empty) {
    mproc__os_shm_unlink(a->name);
    (void)mproc__track(a->name, 0); /* at worst swept again: no-op */
  }
}

/* A new arena of class cls, this process's current one (maps locked). */
static int make_arena(int cls, mproc__arena **out) {
  mproc__arena *a = calloc(1, sizeof *a);
  arena_hdr *h;
  int rc = MPROC_EEXIST, tries;
  if (a == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
  for (tries = 0; rc == MPROC_EEXIST && tries < 8; tries++) {
    rc = mproc__random_name(a->name, NAME_RANDOM);
    if (rc == 0) rc = mproc__os_shm_create(&a->seg, a->name, ARENA_SIZE);
  }
  if (rc == 0) {
    /* Tracked before anyone can open it, as every object is. */
    rc = mproc__track(a->name, 1);
    if (rc < 0) {
      mproc__os_shm_close(&a->seg);
      mproc__os_shm_unlink(a->name);
    }
  }
  if (rc < 0) {
    free(a);
    return rc;
  }
  h = a->h = a->seg.base;
  h->slot_size = class_size[cls];
  h->nslots = (uint32_t)((ARENA_SIZE - ARENA_HDR) / class_size[cls]);
  h->cls = (uint32_t)cls;
  atomic_store(&h->magic, ARENA_MAGIC);
  a->current = 1;
  a->next = maps;
  maps = a;
  current[cls] = a;
  *out = a;
  return 0;
}

/* This process's current arena of class cls, with a reference. */
static int current_arena(int cls, mproc__arena **out) {
  mproc__arena *a;
  int rc = 0;
  maps_enter();
  a = current[cls];
  if (a && atomic_load(&a->h->closed)) {
    a->refs++;
    unref_locked(a); /* no longer current; unmapped if unused */
    a = NULL;
  }
  if (a == NULL) rc = make_arena(cls, &a);
  if (rc == 0) a->refs++;
  maps_leave();
  *out = a;
  return rc;
}

/* The full arena a stops being current. */
static void retire(mproc__arena *a) {
  maps_enter();
  if (a->current) {
    current[a->h->cls] = NULL;
    a->current = 0;
  }
  unref_locked(a);
  maps_leave();
}

/* ---- objects ------------------------------------------------------------- */

static size_t state_cap(uint32_t kind) {
  switch (kind) {
  case MPROC__KIND_LOCK: return MPROC__LOCK_STATE;
  case MPROC__KIND_RLOCK: return MPROC__RLOCK_STATE;
  case MPROC__KIND_SEM: return MPROC__SEM_STATE;
  case MPROC__KIND_EVENT: return MPROC__EVENT_STATE;
  case MPROC__KIND_COND: return MPROC__COND_STATE;
  case MPROC__KIND_BARRIER: return MPROC__BARRIER_STATE;
  case MPROC__KIND_ARRAY: return MPROC__ARRAY_STATE;
  default: return 0;
  }
}

/* The size class that fits the kind's state and data_size bytes of data
 * (and where the data begins), or -1. */
static int class_of(uint32_t kind, size_t data_size, size_t *data_off) {
  size_t cap = state_cap(kind), off;
  int c;
  if (cap == 0) return -1;
  off = SLOT_HDR + (cap + 15) / 16 * 16;
  for (c = 0; c < CLASSES; c++)
    if (off <= class_size[c] && data_size <= class_size[c] - off) {
      *data_off = off;
      return c;
    }
  return -1;
}

size_t mproc__arena_slot_bytes(uint32_t kind, size_t data_size) {
  size_t off;
  int c = class_of(kind, data_size, &off);
  return c < 0 ? 0 : class_size[c];
}

static void attach(mproc__obj *o, mproc__arena *a, uint32_t idx,
                   uint32_t gen) {
  slot *s = slot_at(a->h, idx);
  size_t off = SLOT_HDR + (state_cap(atomic_load(&s->kind)) + 15) / 16 * 16;
  memset(o, 0, sizeof *o);
  object_name(o->name, a->name, idx, gen);
  o->arena = a;
  o->slot = s;
  o->state = (char *)s + SLOT_HDR;
  o->data = (char *)s + off; /* data_size: once published (under its lock) */
}

/* Initialise the claimed slot and publish it, this process its holder. */
static void publish(mproc__obj *o, uint32_t kind, size_t data_size,
                    mproc__obj_init init, void *arg) {
  slot *s = o->slot;
  mproc__holders t = slot_holders(o->arena->h, s);
  mproc__holders_lock(&t);
  mproc__holders_clear_spill(&t); /* the slot's earlier objects' holders */
  atomic_store(&s->flags, 0);
  atomic_store(&s->unlinked, 0);
  memset(&s->park, 0, sizeof s->park);
  memset((char *)s + SLOT_HDR, 0, o->arena->h->slot_size - SLOT_HDR);
  s->data_size = (uint32_t)data_size;
  if (init) init(o->state, arg);
  (void)mproc__holders_put(&t, (long)mproc__self_id(), 0); /* an empty table */
  o->holder_pid = (long)mproc__self_id();
  atomic_store(&s->kind, kind);
  atomic_store(&s->state, S_LIVE);
  mproc__holders_unlock(&t);
}

int mproc__arena_create(mproc__obj *o, uint32_t kind, size_t data_size,
                        mproc__obj_init init, void *arg) {
  mproc__arena *a = NULL;
  size_t off;
  int64_t idx = -1;
  uint32_t gen;
  slot *s;
  int rc, cls = class_of(kind, data_size, &off), tries;
  if (cls < 0) return 1;
  for (tries = 0; idx < 0 && tries < 4; tries++) {
    rc = current_arena(cls, &a);
    if (rc < 0) return rc;
    idx = claim(a);
    if (idx < 0) retire(a);
  }
  if (idx < 0)
    return mproc__err(MPROC_ENOMEM, "no arena slot for a %s after 4 new "
                                    "arenas",
                      mproc__kind_name(kind));
  s = slot_at(a->h, (uint32_t)idx);
  gen = atomic_load(&s->gen) % (GEN_LIMIT - 1) + 1;
  atomic_store(&s->gen, gen);
  atomic_store(&s->kind, kind);
  attach(o, a, (uint32_t)idx, gen);
  rc = mproc__os_park_open(&o->park, o->name, &s->park, 1);
  if (rc < 0) {
    release(a, (uint32_t)idx);
    unref(a);
    memset(o, 0, sizeof *o);
    return rc;
  }
  publish(o, kind, data_size, init, arg);
  o->data_size = data_size;
  return 0;
}

/* Map the arena `name` (or find it mapped), with a reference: 0, or 1
 * when there is no arena of that name. `h`: the mapping a parent passed
 * (Windows), owned from now on. */
static int arena_get(const char *name, mproc_handle h, mproc__arena **out) {
  mproc__arena *a;
  mproc__os_shm seg;
  int rc, spins;
  maps_enter();
  for (a = maps; a; a = a->next)
    if (strcmp(a->name, name) == 0 && !atomic_load(&a->h->closed)) break;
  if (a == NULL || h != MPROC_NO_HANDLE) {
    rc = mproc__os_shm_adopt(&seg, name, h);
    if (rc < 0) {
      maps_leave();
      return rc == MPROC_ENOENT ? 1 : rc;
    }
    if (a) {
      mproc__os_shm_close(&seg); /* mapped already: the passed one goes */
    } else {
      const arena_hdr *ah = seg.base;
      for (spins = 0; seg.size >= ARENA_SIZE &&
                      atomic_load(&ah->magic) != ARENA_MAGIC && spins < 100;
           spins++)
        uv_sleep(1); /* its creator is between two instructions */
      if (seg.size < ARENA_SIZE || atomic_load(&ah->magic) != ARENA_MAGIC) {
        mproc__os_shm_close(&seg);
        maps_leave();
        return 1;
      }
      a = calloc(1, sizeof *a);
      if (a == NULL) {
        mproc__os_shm_close(&seg);
        maps_leave();
        return mproc__err(MPROC_ENOMEM, "out of memory");
      }
      a->seg = seg;
      a->h = seg.base;
      strcpy(a->name, name);
      a->next = maps;
      maps = a;
    }
  }
  a->refs++;
  maps_leave();
  *out = a;
  return 0;
}

/* Register in the slot (`seg`: as the holder the parent counted). */
static int join_slot(mproc__obj *o, uint32_t kind, uint32_t gen,
                     const char *name, int adopt) {
  slot *s = o->slot;
  mproc__holders t = slot_holders(o->arena->h, s);
  long me = (long)mproc__self_id();
  int rc = 0;
  if (adopt) mproc__holders_wait_for(&t);
  mproc__holders_lock(&t);
  if (atomic_load(&s->state) != S_LIVE || atomic_load(&s->gen) != gen)
    rc = mproc__err(MPROC_ENOENT, "no shared object named \"%s\"", name);
  else if (atomic_load(&s->kind) != kind)
    rc = mproc__err(MPROC_EINVAL, "\"%s\" is a %s, not a %s", name,
                    mproc__kind_name(atomic_load(&s->kind)),
                    mproc__kind_name(kind));
  else if (!adopt && atomic_load(&s->unlinked))
    rc = mproc__err(MPROC_ENOENT, "shared object \"%s\" is being removed",
                    name);
  else if (mproc__holders_put(&t, me, adopt) < 0)
    atomic_fetch_or(&s->flags, F_PINNED); /* uncounted: holder_pid 0 */
  else
    o->holder_pid = me;
  mproc__holders_unlock(&t);
  return rc;
}

/* Open the object's parking place. Where the kernel counts handles
 * (Windows) it went with the last process that had it open, while the
 * slot lives on in an arena others hold: made anew then (its names are
 * this generation's alone), and opened if another opener was first. */
static int open_park(mproc__obj *o, slot *s) {
  int rc = mproc__os_park_open(&o->park, o->name, &s->park, 0), tries;
  for (tries = 0; rc == MPROC_ENOENT && tries < 4; tries++) {
    rc = mproc__os_park_open(&o->park, o->name, &s->park, 1);
    if (rc == MPROC_EEXIST)
      rc = mproc__os_park_open(&o->park, o->name, &s->park, 0);
  }
  return rc;
}

int mproc__arena_open(mproc__obj *o, const char *name, uint32_t kind,
                      const mproc__pass_seg *seg) {
  char aname[MPROC_SHM_NAME_MAX + 1];
  mproc__arena *a = NULL;
  uint32_t idx, gen;
  slot *s;
  int rc;
  parse_name(name, aname, &idx, &gen);
  rc = arena_get(aname, seg && seg->nh > 0 ? seg->h[0] : MPROC_NO_HANDLE,
                 &a);
  if (rc != 0) return rc;
  if (idx >= a->h->nslots) {
    unref(a);
    return mproc__err(MPROC_ENOENT, "no shared object named \"%s\"", name);
  }
  s = slot_at(a->h, idx);
  attach(o, a, idx, gen);
  rc = join_slot(o, kind, gen, name, seg != NULL);
  if (rc == 0 && seg && seg->nh > 1)
    rc = mproc__os_park_adopt(&o->park, o->name, &s->park, seg->h + 1,
                              seg->nh - 1);
  else if (rc == 0)
    rc = open_park(o, s);
  if (rc < 0) {
    mproc__arena_close(o); /* gives the hold back, if counted */
    mproc__arena_free(o);
    memset(o, 0, sizeof *o);
    return rc;
  }
  o->data_size = s->data_size;
  return 0;
}

static uint32_t slot_index(const mproc__obj *o) {
  const mproc__arena *a = o->arena;
  return (uint32_t)(((const char *)o->slot - ((const char *)a->h + ARENA_HDR)) /
                    a->h->slot_size);
}

/* The close: this handle's hold goes. The last counted holder makes the
 * slot FREEING (no open finds it) but gives it back only at its free, so
 * threads still inside a call on the closed handle never touch a slot
 * another object was given meanwhile; if it dies in between, repair and
 * collect take the slot back (its FREEING pid is dead). */
void mproc__arena_close(mproc__obj *o) {
  slot *s = o->slot;
  mproc__holders t;
  long me = (long)mproc__self_id();
  /* A handle inherited through fork drops nothing (its hold is the
   * parent's), nor does an uncounted one (the slot is pinned). */
  if (s == NULL || o->holder_pid != me) return;
  t = slot_holders(o->arena->h, s);
  mproc__holders_lock(&t);
  mproc__holders_drop(&t, me);
  if (!(atomic_load(&s->flags) & F_PINNED) &&
      atomic_load(&s->state) == S_LIVE && !mproc__holders_live(&t, 0)) {
    atomic_store(&s->unlinked, 1);
    atomic_store(&s->state, S_FREEING | mproc__self_id());
    o->slot_owed = 1;
  }
  mproc__holders_unlock(&t);
  o->holder_pid = 0;
}

/* The free (after the close): the parking place, the slot if the close
 * made it FREEING, and the reference on the arena's mapping. */
void mproc__arena_free(mproc__obj *o) {
  mproc__arena *a = o->arena;
  if (o->slot == NULL) return;
  mproc__os_park_close(o->park);
  o->park = NULL;
  if (o->slot_owed) {
    mproc__os_park_unlink(o->name);
    release(a, slot_index(o));
    o->slot_owed = 0;
  }
  unref(a);
  o->slot = NULL;
  o->arena = NULL;
}

int mproc__arena_unlink(mproc__obj *o) {
  /* The name goes now (opens fail); the slot with the last holder. */
  atomic_store(&((slot *)o->slot)->unlinked, 1);
  return 0;
}

int mproc__arena_pass(const mproc__obj *o, mproc__pass_seg *seg) {
  memset(seg, 0, sizeof *seg);
  strcpy(seg->name, o->name);
  seg->h[0] = mproc__os_shm_pass(&o->arena->seg);
  if (seg->h[0] == MPROC_NO_HANDLE) return 0; /* reopened by name */
  seg->nh = 1 + (uint32_t)mproc__os_park_pass(o->park, seg->h + 1);
  return 0;
}

void mproc__arena_hold_for(mproc__obj *o, long pid) {
  slot *s = o->slot;
  mproc__holders t = slot_holders(o->arena->h, s);
  mproc__holders_lock(&t); /* pids as the slots keep them: 30 bits */
  if (mproc__holders_put(&t, (long)((uint32_t)pid & MPROC__LOCK_PID), 1) < 0)
    atomic_fetch_or(&s->flags, F_PINNED);
  mproc__holders_unlock(&t);
}

uint32_t mproc__arena_kind(const mproc__obj *o) {
  return atomic_load(&((slot *)o->slot)->kind);
}

/* ---- the program's end ---------------------------------------------------- */

/* An arena whose objects were all closed, not all freed (handles kept
 * mapped to the end: the process executor's, closed at exit), keeps its
 * name, which only the free that empties it removes, and none comes: the
 * tracker would sweep it. So at the program's end an arena of this
 * process with nothing LIVE or being claimed, only slots it freed or is
 * freeing itself, is closed (no allocation in it again) and its names
 * go now; the mapping stays for the handles still in it, whose frees, if
 * any come, find the names gone (harmless). One with a live object is the
 * tracker's as before. */
static void exit_arenas(void) {
  mproc__arena *a;
  uint32_t me = mproc__self_id();
  maps_enter();
  for (a = maps; a != NULL; a = a->next) {
    arena_hdr *h = a->h;
    uint32_t i;
    int idle = 1;
    arena_lock(h);
    for (i = 0; i < h->fresh && i < h->nslots && idle; i++) {
      uint32_t st = atomic_load(&slot_at(h, i)->state);
      idle = st == S_FREE || st == (S_FREEING | me);
    }
    if (idle && !atomic_load(&h->closed)) {
      for (i = 0; i < h->fresh && i < h->nslots; i++)
        if (atomic_load(&slot_at(h, i)->state) != S_FREE)
          slot_park_unlink(a->name, i, atomic_load(&slot_at(h, i)->gen));
      atomic_store(&h->closed, 1);
    } else {
      idle = 0;
    }
    arena_unlock(h);
    if (idle) {
      mproc__os_shm_unlink(a->name);
      (void)mproc__track(a->name, 0);
    }
  }
  maps_leave();
}

/* ---- the tracker's sweep ------------------------------------------------- */

/* Count what is left (locked): live holders, and the program's leftovers
 * by kind when none. */
static int arena_left(arena_hdr *h, unsigned *count, size_t nkinds,
                      int tally) {
  uint32_t i;
  int left = 0;
  for (i = 0; i < h->fresh && i < h->nslots; i++) {
    slot *s = slot_at(h, i);
    mproc__holders t = slot_holders(h, s);
    uint32_t kind = atomic_load(&s->kind);
    if (atomic_load(&s->state) != S_LIVE) continue;
    if (!tally && mproc__holders_live(&t, 0)) left++;
    if (tally && kind < nkinds) count[kind]++;
  }
  return left;
}

int mproc__arena_sweep(const char *name, unsigned *count, size_t nkinds) {
  mproc__os_shm seg;
  arena_hdr *h;
  uint32_t i;
  int left;
  if (!is_arena_base(name, strlen(name))) return -1;
  if (mproc__os_shm_open(&seg, name) < 0) return -1;
  h = seg.base;
  if (seg.size < ARENA_SIZE || atomic_load(&h->magic) != ARENA_MAGIC) {
    mproc__os_shm_close(&seg);
    return -1;
  }
  arena_lock(h);
  left = arena_left(h, count, nkinds, 0);
  if (left == 0) {
    (void)arena_left(h, count, nkinds, 1);
    for (i = 0; i < h->fresh && i < h->nslots; i++)
      if (atomic_load(&slot_at(h, i)->state) != S_FREE)
        slot_park_unlink(name, i, atomic_load(&slot_at(h, i)->gen));
    atomic_store(&h->closed, 1);
  }
  arena_unlock(h);
  if (left == 0) mproc__os_shm_unlink(name);
  mproc__os_shm_close(&seg);
  return left == 0;
}
