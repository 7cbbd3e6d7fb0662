/* mproc: the program's shared-memory registry. See registry.h for who
 * shares it and the entry protocol; docs/shm-sync.md for why. */
#include <string.h>

#include <uv.h>

#include "object.h"
#include "registry.h"
#include "tracker.h"

enum { FREE = 0, TOMB, CREATING, LIVE, REMOVING };

typedef struct reg_entry {
  _Atomic uint32_t state;
  int32_t holders; /* first holder record + 1; 0: none */
  uint64_t gen;
  uint32_t adds; /* holders ever added: a close's check ran unchanged */
  char name[MPROC_SHM_NAME_MAX + 1];
} reg_entry;

typedef struct reg_holder {
  int32_t pid;
  int32_t next; /* next record + 1 in the entry's list or the free list */
} reg_holder;

typedef struct registry {
  _Atomic uint32_t lock; /* pid lock: every field below is under it */
  uint32_t used;         /* entries CREATING, LIVE or REMOVING */
  uint64_t next_gen;
  int32_t free_holders; /* free list head + 1 */
  int32_t fresh;        /* records [fresh, MPROC__REG_HOLDERS) never used */
  uint64_t barren_at; /* when a collection last found no dead holder */
  reg_entry e[MPROC__REG_ENTRIES];
  reg_holder h[MPROC__REG_HOLDERS];
} registry;

#define MASK (MPROC__REG_ENTRIES - 1)

static registry *reg;
static uv_once_t reg_once = UV_ONCE_INIT;

static void map_registry(void) {
  mproc__os_shm s;
  size_t page = mproc__os_page_size(), off;
  int fresh = 0;
  size_t size = (sizeof(registry) + page - 1) / page * page;
  if (mproc__os_registry(&s, size, &fresh) < 0) return;
  /* Fault every page in now, so that creating and removing a segment
   * later only touches memory already mapped (the point of it all). */
  if (fresh)
    for (off = 0; off < s.size; off += page)
      ((volatile char *)s.base)[off] = 0;
  reg = s.base;
}

int mproc__reg_ready(void) {
  uv_once(&reg_once, map_registry);
  return reg != NULL;
}

static void lock(void) { mproc__pidlock_acquire(&reg->lock); }
static void unlock(void) { mproc__pidlock_release(&reg->lock); }

static uint32_t hash(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h & MASK;
}

/* ---- holder records ------------------------------------------------------ */

static int32_t take_record(void) {
  int32_t r = reg->free_holders;
  if (r) {
    reg->free_holders = reg->h[r - 1].next;
    return r;
  }
  if (reg->fresh < MPROC__REG_HOLDERS) return ++reg->fresh;
  return 0;
}

static void give_record(int32_t r) {
  reg->h[r - 1].next = reg->free_holders;
  reg->free_holders = r;
}

static int alive(int32_t pid, int32_t *dead);

/* Out of records: take back every dead holder's (rare, and slow: a
 * liveness check per record, under the program's lock). A collection that
 * found nothing is not repeated for a second, so a pool full of live
 * holders costs one scan a second, not one per create or open. */
static void collect_dead(void) {
  int32_t dead = 0, *link, r;
  int32_t before = reg->free_holders;
  uint64_t now = uv_hrtime();
  uint32_t i;
  if (reg->barren_at != 0 && now - reg->barren_at < (uint64_t)1e9) return;
  for (i = 0; i < MPROC__REG_ENTRIES; i++)
    for (link = &reg->e[i].holders; (r = *link) != 0;) {
      if (reg->e[i].state < CREATING || !alive(reg->h[r - 1].pid, &dead)) {
        *link = reg->h[r - 1].next;
        give_record(r);
      } else {
        link = &reg->h[r - 1].next;
      }
    }
  reg->barren_at = reg->free_holders == before ? now : 0;
}

static int add_holder(reg_entry *e, int32_t pid) {
  int32_t r = take_record();
  if (r == 0) {
    collect_dead();
    r = take_record();
  }
  if (r == 0) return -1;
  reg->h[r - 1].pid = pid;
  reg->h[r - 1].next = e->holders;
  e->holders = r;
  e->adds++;
  return 0;
}

/* Whether `pid` lives; *dead remembers the last dead one (a sweep meets
 * the same dead program's pid on every entry, and asking costs a few
 * system calls). */
static int alive(int32_t pid, int32_t *dead) {
  if (pid == *dead) return 0;
  if (mproc__os_pid_alive(pid)) return 1;
  *dead = pid;
  return 0;
}

/* Drop the dead holders' records met before the first live one; 1 if
 * there is a live one. (Used where the answer must come under the lock:
 * an attach that meets a CREATING entry, and the tracker's sweep.) */
static int prune(reg_entry *e, int32_t *dead) {
  int32_t *link = &e->holders, r;
  while ((r = *link) != 0) {
    reg_holder *h = &reg->h[r - 1];
    if (alive(h->pid, dead)) return 1;
    *link = h->next;
    give_record(r);
  }
  return 0;
}

/* Drop the first record of `pid` (n == 1, pids = {pid}) or every record
 * of the `n` pids. */
static void drop_pids(reg_entry *e, const int32_t *pids, int n) {
  int32_t *link = &e->holders, r;
  int i, hit;
  while ((r = *link) != 0) {
    for (i = 0, hit = 0; i < n && !hit; i++) hit = reg->h[r - 1].pid == pids[i];
    if (!hit) {
      link = &reg->h[r - 1].next;
      continue;
    }
    *link = reg->h[r - 1].next;
    give_record(r);
    if (n == 1) return;
  }
}

/* ---- entries ------------------------------------------------------------- */

static int in_use(uint32_t st) { return st >= CREATING; }

/* The entry `name` in one of the states CREATING or LIVE, else one being
 * removed (*removing set), else -1. */
static int32_t find(const char *name, int *removing) {
  uint32_t i = hash(name), n;
  int32_t gone = -1;
  for (n = 0; n < MPROC__REG_ENTRIES; n++, i = (i + 1) & MASK) {
    reg_entry *e = &reg->e[i];
    uint32_t st = atomic_load_explicit(&e->state, memory_order_relaxed);
    if (st == FREE) break;
    if (!in_use(st) || strcmp(e->name, name) != 0) continue;
    if (st != REMOVING) return (int32_t)i;
    gone = (int32_t)i;
  }
  if (removing) *removing = gone >= 0;
  return -1;
}

static reg_entry *entry_of(const mproc__reg_ref *ref) {
  reg_entry *e = &reg->e[ref->idx];
  return e->gen == ref->gen &&
                 in_use(atomic_load_explicit(&e->state, memory_order_relaxed))
             ? e
             : NULL;
}

/* Free the entry (locked): a tombstone, or FREE when it ends a probe run,
 * taking the tombstones just before it along. */
static void forget(reg_entry *e) {
  uint32_t i = (uint32_t)(e - reg->e);
  while (e->holders) {
    int32_t r = e->holders;
    e->holders = reg->h[r - 1].next;
    give_record(r);
  }
  reg->used--;
  if (atomic_load(&reg->e[(i + 1) & MASK].state) != FREE) {
    atomic_store(&e->state, TOMB);
    return;
  }
  atomic_store(&e->state, FREE);
  for (i = (i - 1) & MASK; atomic_load(&reg->e[i].state) == TOMB;
       i = (i - 1) & MASK)
    atomic_store(&reg->e[i].state, FREE);
}

int mproc__reg_create(const char *name, mproc__reg_ref *ref) {
  uint32_t i;
  reg_entry *e;
  int rc;
  if (!mproc__reg_ready()) return 1;
  /* Its sweep is the tracker's: a segment made before mproc_init (or in a
   * program that never calls it) starts one. */
  rc = mproc__tracker_ensure();
  if (rc < 0) return rc;
  lock();
  if (find(name, NULL) >= 0) {
    /* Ours and alive (or being created): the exclusive create would fail
     * anyway, and a second entry could make the tracker remove the name
     * of a segment the new entry never owned. */
    unlock();
    return mproc__err(MPROC_EEXIST, "shared memory \"%s\" exists", name);
  }
  if (reg->used >= MPROC__REG_LIMIT) goto full;
  for (i = hash(name); in_use(atomic_load(&reg->e[i].state));
       i = (i + 1) & MASK) {
  }
  e = &reg->e[i];
  e->holders = 0;
  if (add_holder(e, (int32_t)mproc__self_id()) < 0) goto full;
  strcpy(e->name, name);
  e->gen = ++reg->next_gen;
  atomic_store(&e->state, CREATING);
  reg->used++;
  ref->idx = (int32_t)i;
  ref->gen = e->gen;
  unlock();
  return 0;
full:
  unlock();
  return 1;
}

void mproc__reg_publish(const mproc__reg_ref *ref) {
  atomic_store(&reg->e[ref->idx].state, LIVE);
}

static int has_holder(const reg_entry *e, int32_t pid) {
  int32_t r;
  for (r = e->holders; r != 0; r = reg->h[r - 1].next)
    if (reg->h[r - 1].pid == pid) return 1;
  return 0;
}

void mproc__reg_hold_for(const mproc__reg_ref *ref, long pid) {
  int32_t id = (int32_t)((uint32_t)pid & MPROC__LOCK_PID);
  reg_entry *e;
  if (reg == NULL || pid <= 0) return;
  lock();
  e = entry_of(ref);
  if (e && atomic_load(&e->state) == LIVE && !has_holder(e, id))
    (void)add_holder(e, id); /* no record left: uncounted, as with open */
  unlock();
}

int mproc__reg_attach(const char *name, mproc__reg_ref *ref) {
  return mproc__reg_attach_as(name, ref, 0);
}

/* A child adopting a passed segment waits for the record its parent adds
 * right after the start (see shm.c's wait_for_slot for why). */
static void wait_for_record(const char *name) {
  int32_t me = (int32_t)mproc__self_id();
  int tries, removing = 0, found = 0;
  for (tries = 0; tries < 10000 && !found; tries++) {
    int32_t i;
    lock();
    i = find(name, &removing);
    found = i < 0 || has_holder(&reg->e[i], me);
    unlock();
    if (found) break;
    if (tries < 100)
      mproc__os_yield();
    else
      uv_sleep(1);
  }
}

int mproc__reg_attach_as(const char *name, mproc__reg_ref *ref, int adopt) {
  int removing = 0, rc = MPROC__REG_ABSENT;
  int32_t i, dead = 0;
  if (!mproc__reg_ready()) return MPROC__REG_ABSENT;
  if (adopt) wait_for_record(name);
  lock();
  i = find(name, &removing);
  if (i >= 0 && atomic_load(&reg->e[i].state) == CREATING &&
      !prune(&reg->e[i], &dead)) {
    /* Its creator died before it published the entry. It may have died
     * inside its exclusive create (then a segment leaks), or before it
     * (then the name may be something else's, not ours to count or to
     * remove): forget the entry, and never remove the name. */
    forget(&reg->e[i]);
    i = find(name, &removing);
  }
  if (i >= 0) {
    reg_entry *e = &reg->e[i];
    if (atomic_load(&e->state) == CREATING) {
      rc = MPROC__REG_BUSY;
    } else if ((adopt && has_holder(e, (int32_t)mproc__self_id())) ||
               add_holder(e, (int32_t)mproc__self_id()) == 0) {
      ref->idx = i;
      ref->gen = e->gen;
      rc = MPROC__REG_FOUND;
    } /* no record left: an unregistered user, as with a full table */
  } else if (removing) {
    rc = MPROC_ENOENT;
  }
  unlock();
  if (rc == MPROC_ENOENT)
    mproc__err(rc, "shared memory \"%s\" is being removed", name);
  return rc;
}

/* The caller removes the name: REMOVING unless someone already is. */
static int mark_removing(reg_entry *e) {
  if (e == NULL || atomic_load(&e->state) == REMOVING) return 0;
  atomic_store(&e->state, REMOVING);
  return 1;
}

#define CHECK_MAX 32

/* Whether anyone else still holds it is asked outside the lock: on Linux
 * each liveness check reads /proc, and the lock is the whole program's.
 * Under the lock the caller drops its record and copies the others' pids;
 * if all of those are dead, it drops their records — unless a holder came
 * meanwhile — and looks again. */
int mproc__reg_detach(const mproc__reg_ref *ref) {
  int32_t me = (int32_t)mproc__self_id(), pids[CHECK_MAX], dead = 0, r;
  uint32_t adds = 0;
  int n = 0, i, dropped = 0, last = 0;
  reg_entry *e;
  for (;;) {
    lock();
    e = entry_of(ref);
    if (e && dropped && e->adds == adds) drop_pids(e, pids, n);
    if (e && !dropped) drop_pids(e, &me, 1);
    dropped = 1;
    n = 0;
    if (e && atomic_load(&e->state) != REMOVING)
      for (r = e->holders; r != 0 && n < CHECK_MAX; r = reg->h[r - 1].next)
        pids[n++] = reg->h[r - 1].pid;
    if (e && n == 0) last = mark_removing(e);
    adds = e ? e->adds : 0;
    unlock();
    if (n == 0) return last;
    for (i = 0; i < n; i++)
      if (alive(pids[i], &dead)) return 0;
  }
}

int mproc__reg_unlink(const mproc__reg_ref *ref) {
  int go;
  lock();
  go = mark_removing(entry_of(ref));
  unlock();
  return go;
}

int mproc__reg_unlink_name(const char *name, mproc__reg_ref *ref) {
  int32_t i;
  int go = 0;
  if (!mproc__reg_ready()) return 0;
  lock();
  i = find(name, NULL);
  if (i >= 0 && atomic_load(&reg->e[i].state) == LIVE) {
    go = mark_removing(&reg->e[i]);
    ref->idx = i;
    ref->gen = reg->e[i].gen;
  }
  unlock();
  return go;
}

void mproc__reg_drop(const mproc__reg_ref *ref) {
  reg_entry *e;
  lock();
  e = entry_of(ref);
  if (e) forget(e);
  unlock();
}

int mproc__reg_live(const mproc__reg_ref *ref) {
  reg_entry *e;
  int live;
  lock();
  e = entry_of(ref);
  live = e != NULL && atomic_load(&e->state) == LIVE;
  unlock();
  return live;
}

int mproc__reg_has(const char *name) {
  int32_t i;
  if (!mproc__reg_ready()) return 0;
  lock();
  i = find(name, NULL);
  unlock();
  return i >= 0;
}

/* The tracker, once the program has ended: remove every segment no live
 * process holds. A REMOVING entry whose remover died may share its name
 * with a newer live entry: then only the entry goes. A CREATING one was
 * never published: only the entry goes (a creator SIGKILLed inside its
 * create leaks its segment: a few system calls wide, and better than
 * removing a name that was not ours). */
int mproc__shm_sweep_registry(int *removed) {
  uint32_t i;
  int left = 0;
  int32_t dead = 0;
  *removed = 0;
  if (reg == NULL) return 0;
  lock();
  for (i = 0; i < MPROC__REG_ENTRIES; i++) {
    reg_entry *e = &reg->e[i];
    uint32_t st = atomic_load(&e->state);
    if (!in_use(st)) continue;
    if (prune(e, &dead)) {
      left++;
      continue;
    }
    /* Never published: the creator died before or inside its create,
     * and the name may be another object's (see mproc__reg_attach). */
    if (st == LIVE || (st == REMOVING && find(e->name, NULL) < 0))
      mproc__os_shm_unlink(e->name);
    if (st == LIVE) ++*removed; /* left by the program */
    forget(e);
  }
  unlock();
  return left;
}
