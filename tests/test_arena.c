/* mproc tests: arenas (src/arena.c, docs/arenas.md) — small objects in
 * shared slots. Many objects of mixed kinds made, passed to children and
 * opened by name there, used, freed in random order by several processes
 * while other holders are SIGKILLed at random: every object works, none
 * is disturbed by a neighbour, nothing is left. The allocator's fault
 * seam: a process killed inside allocate and inside free leaves the arena
 * usable (and removable). Names: the arena form, stale names, reserved
 * names; a killed program's arenas swept by its tracker; the process
 * executor's slot table and a passed manager proxy's ticket in arena
 * slots, not segments of their own. Every group runs under each start
 * method.
 *
 * Size: 100 000 objects in a plain build; 20 000 under a sanitizer; 1 500
 * on Windows and in the POSIX semaphore fallback build (each object there
 * has four named semaphores as its parking place). MPROC_TEST_ARENA_N
 * overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mproc.h"
#include "procpool-util.h"
#include "procs.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

#define NAME_LEN (MPROC_SHM_NAME_MAX + 1)
#define SURVIVORS 3
#define VICTIMS 2
#define PASSN 8 /* objects of each child's slice that come in its pass list */

static char prefix[16];

static uint32_t object_count(void) {
  const char *v = getenv("MPROC_TEST_ARENA_N");
  if (v && atoi(v) > 10) return (uint32_t)atoi(v);
#if defined(_WIN32) || defined(MPROC_TEST_PARKS_ON_SEMAPHORES)
  return 1500;
#elif defined(SANITIZED)
  return 20000;
#else
  return 100000;
#endif
}

/* ---- the objects: kind i % 5 -------------------------------------------- */

enum { O_LOCK, O_RLOCK, O_EVENT, O_VALUE, O_SEM, O_KINDS };

static mproc_kind pass_kind(uint32_t i) {
  static const mproc_kind k[O_KINDS] = {MPROC_KIND_LOCK, MPROC_KIND_RLOCK,
                                        MPROC_KIND_EVENT, MPROC_KIND_ARRAY,
                                        MPROC_KIND_SEM};
  return k[i % O_KINDS];
}

static int make_obj(uint32_t i, void **out) {
  long long v = (long long)i;
  switch (i % O_KINDS) {
  case O_LOCK: return mproc_lock_new((mproc_lock **)out, NULL);
  case O_RLOCK: return mproc_rlock_new((mproc_rlock **)out, NULL);
  case O_EVENT: return mproc_event_new((mproc_event **)out, NULL);
  case O_VALUE: return mproc_value_new((mproc_array **)out, 'q', &v, NULL);
  default: return mproc_sem_new((mproc_sem **)out, 0, MPROC_SEMAPHORE, NULL);
  }
}

static int open_obj(uint32_t i, const char *name, void **out) {
  switch (i % O_KINDS) {
  case O_LOCK: return mproc_lock_open((mproc_lock **)out, name);
  case O_RLOCK: return mproc_rlock_open((mproc_rlock **)out, name);
  case O_EVENT: return mproc_event_open((mproc_event **)out, name);
  case O_VALUE: return mproc_array_open((mproc_array **)out, name);
  default: return mproc_sem_open((mproc_sem **)out, name);
  }
}

static const char *obj_name(uint32_t i, void *h) {
  switch (i % O_KINDS) {
  case O_LOCK: return mproc_lock_name(h);
  case O_RLOCK: return mproc_rlock_name(h);
  case O_EVENT: return mproc_event_name(h);
  case O_VALUE: return mproc_array_name(h);
  default: return mproc_sem_name(h);
  }
}

static void free_obj(uint32_t i, void *h) {
  switch (i % O_KINDS) {
  case O_LOCK: mproc_lock_free(h); break;
  case O_RLOCK: mproc_rlock_free(h); break;
  case O_EVENT: mproc_event_free(h); break;
  case O_VALUE: mproc_array_free(h); break;
  default: mproc_sem_free(h); break;
  }
}

/* A survivor's use: 0 when every step worked and the object held what
 * only its own history can have put there. */
static int use_obj(uint32_t i, void *h) {
  long long *v;
  mproc_rlock *l;
  int rc;
  switch (i % O_KINDS) {
  case O_LOCK:
    if (mproc_lock_acquire(h, 30) != 0 || mproc_lock_locked(h) != 1) return 1;
    return mproc_lock_release(h) != 0;
  case O_RLOCK:
    if (mproc_rlock_acquire(h, 30) != 0 || mproc_rlock_acquire(h, 0) != 0 ||
        mproc_rlock_count(h) != 2)
      return 2;
    return mproc_rlock_release(h) != 0 || mproc_rlock_release(h) != 0;
  case O_EVENT:
    return mproc_event_is_set(h) != 0 || mproc_event_set(h) != 0;
  case O_VALUE:
    v = mproc_array_ptr(h);
    if (mproc_array_get_lock(h, &l) != 0) return 4;
    if (mproc_rlock_acquire(l, 30) != 0) {
      mproc_rlock_free(l);
      return 4;
    }
    if (*v != (long long)i) {
      mproc_rlock_release(l);
      mproc_rlock_free(l);
      return 5;
    }
    *v = (long long)i + 1;
    rc = mproc_rlock_release(l) != 0;
    mproc_rlock_free(l);
    return rc;
  default:
    return mproc_sem_value(h) != 0 || mproc_sem_release(h) != 0;
  }
}

/* The parent's check after every survivor's use. */
static int check_obj(uint32_t i, void *h) {
  switch (i % O_KINDS) {
  case O_LOCK: return mproc_lock_locked(h) != 0;
  case O_RLOCK: return mproc_rlock_locked(h) != 0;
  case O_EVENT: return mproc_event_is_set(h) != 1;
  case O_VALUE: return *(long long *)mproc_array_ptr(h) != (long long)i + 1;
  default: return mproc_sem_value(h) != 1;
  }
}

static void shuffle(uint32_t *order, uint32_t n, uint32_t seed) {
  uint32_t i, j, t;
  for (i = 0; i < n; i++) order[i] = i;
  for (i = n; i > 1; i--) {
    seed = seed * 1103515245u + 12345u;
    j = (seed >> 8) % i;
    t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
}

/* ---- the children -------------------------------------------------------- */

enum { ROLE_USE, ROLE_HOLD };

typedef struct job {
  int role;
  uint32_t lo, count, seed;
} job;

/* Open (or take from the pass list) the slice, use it or just look, then
 * free it in random order; a holder waits to be killed instead. */
static int t_slice(const void *arg, size_t len) {
  const job *j = arg;
  mproc_shm *names = NULL;
  char (*tab)[NAME_LEN];
  void **h;
  uint32_t *order, k;
  CHILD_CHECK(len == sizeof *j);
  CHILD_CHECK(mproc_inherited(0, MPROC_KIND_SHM, &names) == 0);
  tab = mproc_shm_buf(names);
  h = calloc(j->count, sizeof *h);
  order = calloc(j->count, sizeof *order);
  CHILD_CHECK(h && order);
  for (k = 0; k < j->count; k++) {
    uint32_t i = j->lo + k;
    if (k < PASSN)
      CHILD_CHECK(mproc_inherited(1 + k, pass_kind(i), &h[k]) == 0);
    else
      CHILD_CHECK(open_obj(i, tab[i], &h[k]) == 0);
    CHILD_CHECK(strcmp(obj_name(i, h[k]), tab[i]) == 0);
    if (j->role == ROLE_USE) CHILD_CHECK(use_obj(i, h[k]) == 0);
  }
  if (j->role == ROLE_HOLD) {
    tu_sleep_ms(60000); /* killed meanwhile */
    return 98;
  }
  shuffle(order, j->count, j->seed);
  for (k = 0; k < j->count; k++) free_obj(j->lo + order[k], h[order[k]]);
  free(h);
  free(order);
  mproc_shm_free(names);
  return 0;
}
MPROC_TASK(t_slice);

static mproc_process *start_slice(const job *j, mproc_shm *names,
                                  void *const *objs) {
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_pass pass[1 + PASSN];
  uint32_t k;
  pass[0].kind = MPROC_KIND_SHM;
  pass[0].obj = names;
  for (k = 0; k < PASSN; k++) {
    pass[1 + k].kind = pass_kind(j->lo + k);
    pass[1 + k].obj = objs[j->lo + k];
  }
  o.pass = pass;
  o.n_pass = 1 + PASSN;
  return tp_start_with(t_slice, j, sizeof *j, &o);
}

static void test_many_objects(void **state) {
  uint32_t n = object_count(), i, s, *order, seed = 12345;
  void **objs = calloc(n, sizeof *objs);
  mproc_process *use[SURVIVORS], *hold[VICTIMS];
  mproc_shm *names = NULL;
  char (*tab)[NAME_LEN];
  job j;
  (void)state;
  assert_non_null(objs);
  assert_int_equal(mproc_shm_new(&names, (size_t)n * NAME_LEN, NULL), 0);
  tab = mproc_shm_buf(names);
  for (i = 0; i < n; i++) {
    assert_int_equal(make_obj(i, &objs[i]), 0);
    snprintf(tab[i], NAME_LEN, "%s", obj_name(i, objs[i]));
  }
  /* Holders that only look, over slices that overlap the users'; killed
   * at random moments while the users work. */
  for (s = 0; s < VICTIMS; s++) {
    j.role = ROLE_HOLD;
    j.lo = n / 6 + s * (n / 3);
    j.count = n / 3;
    j.seed = seed + s;
    hold[s] = start_slice(&j, names, objs);
  }
  for (s = 0; s < SURVIVORS; s++) {
    j.role = ROLE_USE;
    j.lo = s * (n / SURVIVORS);
    j.count = s + 1 < SURVIVORS ? n / SURVIVORS : n - j.lo;
    j.seed = seed * 7 + s;
    use[s] = start_slice(&j, names, objs);
  }
  for (s = 0; s < VICTIMS; s++) {
    seed = seed * 1103515245u + 12345u;
    tu_sleep_ms((int)((seed >> 8) % 200));
    assert_int_equal(mproc_process_kill(hold[s]), 0);
  }
  for (s = 0; s < SURVIVORS; s++) assert_int_equal(tp_join(use[s]), 0);
  for (s = 0; s < VICTIMS; s++) {
    assert_int_equal(tp_join(hold[s]), -9); /* killed, not failed */
  }
  for (i = 0; i < n; i++)
    if (check_obj(i, objs[i]))
      fail_msg("object %u (%s, kind %u) is not as its user left it", i,
               tab[i], i % O_KINDS);
  order = calloc(n, sizeof *order);
  assert_non_null(order);
  shuffle(order, n, seed);
  for (i = 0; i < n; i++) free_obj(order[i], objs[order[i]]);
  free(order);
  free(objs);
  mproc_shm_free(names);
}

/* ---- the allocator's fault seam --------------------------------------- */

enum { F_ALLOC, F_FREE };

/* Make X (and for F_FREE Y), tell the parent their names, then die
 * inside the arena's allocate (making Z) or free (of Y). */
static int t_fault(const void *arg, size_t len) {
  int what;
  mproc_shm *names = NULL;
  mproc_event *ready = NULL, *go = NULL;
  mproc_lock *x = NULL, *y = NULL, *z = NULL;
  char (*tab)[NAME_LEN];
  CHILD_CHECK(len == sizeof what);
  memcpy(&what, arg, sizeof what);
  /* Armed before the first fault point (read once per process): the
   * third allocation (after X and Y), or the first free. */
  tu_setenv("MPROC_FAULT", what == F_ALLOC ? "arena.alloc:3" : "arena.free:1");
  CHILD_CHECK(mproc_inherited(0, MPROC_KIND_SHM, &names) == 0);
  CHILD_CHECK(mproc_inherited(1, MPROC_KIND_EVENT, &ready) == 0);
  CHILD_CHECK(mproc_inherited(2, MPROC_KIND_EVENT, &go) == 0);
  tab = mproc_shm_buf(names);
  CHILD_CHECK(mproc_lock_new(&x, NULL) == 0);
  CHILD_CHECK(mproc_lock_new(&y, NULL) == 0);
  snprintf(tab[0], NAME_LEN, "%s", mproc_lock_name(x));
  snprintf(tab[1], NAME_LEN, "%s", mproc_lock_name(y));
  CHILD_CHECK(mproc_lock_acquire(x, 0) == 0); /* and hold it, dying */
  CHILD_CHECK(mproc_event_set(ready) == 0);
  /* The parent holds X now: where the kernel counts holders (Windows)
   * the arena outlives us only so. */
  CHILD_CHECK(mproc_event_wait(go, 60) == 0);
  if (what == F_ALLOC)
    mproc_lock_new(&z, NULL);
  else
    mproc_lock_free(y);
  return 98; /* not killed */
}
MPROC_TASK(t_fault);

static void fault_case(int what) {
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_shm *names = NULL;
  mproc_event *ready = NULL, *go = NULL;
  mproc_lock *x = NULL, *y = NULL, *more[16];
  mproc_pass pass[3];
  mproc_process *p;
  char (*tab)[NAME_LEN], arena[NAME_LEN];
  int i;
  assert_int_equal(mproc_shm_new(&names, 2 * NAME_LEN, NULL), 0);
  assert_int_equal(mproc_event_new(&ready, NULL), 0);
  assert_int_equal(mproc_event_new(&go, NULL), 0);
  tab = mproc_shm_buf(names);
  pass[0].kind = MPROC_KIND_SHM;
  pass[0].obj = names;
  pass[1].kind = MPROC_KIND_EVENT;
  pass[1].obj = ready;
  pass[2].kind = MPROC_KIND_EVENT;
  pass[2].obj = go;
  o.pass = pass;
  o.n_pass = 3;
  p = tp_start_with(t_fault, &what, sizeof what, &o);
  assert_int_equal(mproc_event_wait(ready, 60), 0);
  assert_int_equal(mproc_lock_open(&x, tab[0]), 0);
  assert_int_equal(mproc_event_set(go), 0);
  assert_int_equal(tp_join(p), -9);
  /* X outlives its maker (we hold it), its lock taken over. */
  assert_int_equal(mproc_lock_acquire(x, 30), MPROC_EOWNERDEAD);
  assert_int_equal(mproc_lock_release(x), 0);
  /* Y: freed just before its maker died, or alive with a dead holder
   * (we hold it now). */
  if (what == F_FREE) {
    assert_int_equal(mproc_lock_open(&y, tab[1]), MPROC_ENOENT);
  } else {
    assert_int_equal(mproc_lock_open(&y, tab[1]), 0);
    mproc_lock_free(y);
  }
  /* The arena's allocator works on: a lock killed inside a change is
   * taken over and the change repaired. */
  for (i = 0; i < 16; i++) assert_int_equal(mproc_lock_new(&more[i], NULL), 0);
  for (i = 0; i < 16; i++) mproc_lock_free(more[i]);
  snprintf(arena, sizeof arena, "%s", tab[0]);
  *strrchr(arena, '.') = '\0';
  mproc_lock_free(x);
  mproc_event_free(go);
  mproc_event_free(ready);
  mproc_shm_free(names);
  /* With its last object the arena (the child's, or ours under fork)
   * goes, the slot its maker died in included. */
  for (i = 0; i < 100 && tu_count_shm(arena) > 0; i++) tu_sleep_ms(50);
  assert_true(tu_count_shm(arena) <= 0);
}

static void test_killed_in_alloc(void **state) {
  (void)state;
  fault_case(F_ALLOC);
}

static void test_killed_in_free(void **state) {
  (void)state;
  fault_case(F_FREE);
}

/* ---- names ------------------------------------------------------------------ */

static int t_open_lock(const void *arg, size_t len) {
  mproc_lock *l = NULL;
  CHILD_CHECK(len > 0);
  CHILD_CHECK(mproc_lock_open(&l, arg) == 0);
  CHILD_CHECK(mproc_lock_acquire(l, 30) == 0);
  CHILD_CHECK(mproc_lock_release(l) == 0);
  mproc_lock_free(l);
  return 0;
}
MPROC_TASK(t_open_lock);

static void test_names(void **state) {
  mproc_sync_opts o = MPROC_SYNC_OPTS_INIT;
  mproc_lock *a = NULL, *b = NULL, *c = NULL;
  mproc_event *e = NULL;
  char stale[NAME_LEN], user[NAME_LEN];
  const char *dot;
  (void)state;
  assert_int_equal(mproc_lock_new(&a, NULL), 0);
  dot = strrchr(mproc_lock_name(a), '.');
  assert_non_null(dot); /* <arena>.<slot><generation> */
  assert_true(strlen(mproc_lock_name(a)) <= MPROC_SHM_NAME_MAX);
  assert_int_equal(strncmp(mproc_lock_name(a), prefix, strlen(prefix)), 0);
  /* An unrelated process opens it by name. */
  assert_int_equal(tp_join(tp_start(t_open_lock, mproc_lock_name(a),
                                    strlen(mproc_lock_name(a)) + 1, NULL, 0)),
                   0);
  /* The wrong kind is refused with the right one named. */
  assert_int_equal(mproc_event_open(&e, mproc_lock_name(a)), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "lock"));
  /* A freed name stays gone, even once its slot holds another object. */
  snprintf(stale, sizeof stale, "%s", mproc_lock_name(a));
  assert_int_equal(mproc_lock_new(&b, NULL), 0); /* keeps the arena */
  mproc_lock_free(a);
  assert_int_equal(mproc_lock_new(&a, NULL), 0);
  assert_string_not_equal(mproc_lock_name(a), stale);
  assert_int_equal(mproc_lock_open(&c, stale), MPROC_ENOENT);
  /* Unlinked: no new opens, the holders go on. */
  assert_int_equal(mproc_lock_acquire(b, 0), 0);
  mproc_lock_free(a);
  /* A name the user chose is a segment of its own; the arena form is
   * reserved. */
  snprintf(user, sizeof user, "%s-u%ld", prefix, mproc_current_pid() % 100000);
  o.name = user;
  assert_int_equal(mproc_lock_new(&a, &o), 0);
  assert_string_equal(mproc_lock_name(a), user);
  mproc_lock_free(a);
  o.name = stale;
  assert_int_equal(mproc_lock_new(&a, &o), MPROC_EINVAL);
  assert_int_equal(mproc_lock_release(b), 0);
  mproc_lock_free(b);
}

/* ---- every small kind in a slot ------------------------------------------------ */

/* Whether a generated name is an arena object's ("<arena>.<slot><gen>";
 * a segment's has no dot). */
static int in_arena(const char *name) {
  return strncmp(name, prefix, strlen(prefix)) == 0 &&
         strchr(name + strlen(prefix), '.') != NULL;
}

/* The child: opens the four by name, takes both units of the bounded
 * semaphore, fills the array, wakes the condition, meets the parent at the
 * barrier. arg: the four names, NUL-separated. */
static int t_small_kinds(const void *arg, size_t len) {
  const char *n[4];
  mproc_cond *c = NULL;
  mproc_sem *s = NULL;
  mproc_barrier *b = NULL;
  mproc_array *a = NULL;
  int i;
  CHILD_CHECK(len > 0 && ((const char *)arg)[len - 1] == '\0');
  n[0] = arg;
  for (i = 1; i < 4; i++) n[i] = n[i - 1] + strlen(n[i - 1]) + 1;
  CHILD_CHECK(mproc_cond_open(&c, n[0]) == 0);
  CHILD_CHECK(mproc_sem_open(&s, n[1]) == 0);
  CHILD_CHECK(mproc_barrier_open(&b, n[2]) == 0);
  CHILD_CHECK(mproc_array_open(&a, n[3]) == 0);
  CHILD_CHECK(mproc_array_len(a) == 1000);
  CHILD_CHECK(mproc_sem_acquire(s, 30) == 0 && mproc_sem_acquire(s, 30) == 0);
  memset(mproc_array_ptr(a), 0x5a, 1000);
  CHILD_CHECK(mproc_cond_acquire(c, 30) == 0);
  CHILD_CHECK(mproc_cond_notify_all(c) == 0 && mproc_cond_release(c) == 0);
  CHILD_CHECK(mproc_barrier_wait(b, 30) >= 0);
  mproc_cond_free(c);
  mproc_sem_free(s);
  mproc_barrier_free(b);
  mproc_array_free(a);
  return 0;
}
MPROC_TASK(t_small_kinds);

/* A Condition, a BoundedSemaphore, a Barrier and a 1000-byte Array are
 * arena objects that work across processes; a 4 KiB Array is a segment of
 * its own. */
static void test_every_small_kind(void **state) {
  mproc_cond *c;
  mproc_sem *s;
  mproc_barrier *b;
  mproc_array *a, *big;
  char names[4 * NAME_LEN];
  size_t off = 0;
  const char *n[4];
  mproc_process *p;
  int i;
  (void)state;
  assert_int_equal(mproc_cond_new(&c, NULL, NULL, NULL), 0);
  assert_int_equal(mproc_sem_new(&s, 2, MPROC_BOUNDED_SEMAPHORE, NULL), 0);
  assert_int_equal(mproc_barrier_new(&b, 2, NULL, NULL, NULL), 0);
  assert_int_equal(mproc_array_new(&a, 'b', 1000, NULL, NULL), 0);
  assert_int_equal(mproc_array_new(&big, 'b', 4096, NULL, NULL), 0);
  n[0] = mproc_cond_name(c);
  n[1] = mproc_sem_name(s);
  n[2] = mproc_barrier_name(b);
  n[3] = mproc_array_name(a);
  for (i = 0; i < 4; i++) {
    assert_true(in_arena(n[i]));
    memcpy(names + off, n[i], strlen(n[i]) + 1);
    off += strlen(n[i]) + 1;
  }
  assert_false(in_arena(mproc_array_name(big)));
  assert_int_equal(mproc_cond_acquire(c, 30), 0);
  p = tp_start(t_small_kinds, names, off, NULL, 0);
  /* woken by the child's notify_all (the wait gives the lock up) */
  assert_int_equal(mproc_cond_wait(c, 60), 0);
  assert_int_equal(mproc_cond_release(c), 0);
  assert_true(mproc_barrier_wait(b, 60) >= 0);
  assert_int_equal(tp_join(p), 0);
  for (i = 0; i < 1000; i++)
    assert_int_equal(((unsigned char *)mproc_array_ptr(a))[i], 0x5a);
  assert_int_equal(mproc_sem_acquire(s, 0), MPROC_ETIMEDOUT); /* both taken */
  assert_int_equal(mproc_sem_release(s), 0);
  assert_int_equal(mproc_sem_release(s), 0);
  assert_int_equal(mproc_sem_release(s), MPROC_ERANGE); /* bounded at 2 */
  mproc_cond_free(c);
  mproc_sem_free(s);
  mproc_barrier_free(b);
  mproc_array_free(a);
  mproc_array_free(big);
}

/* ---- the pool's and the manager's own small state ----------------------------- */

/* A child given a dict proxy: it sets "k" to "v". */
static int t_use_proxy(const void *arg, size_t len) {
  mproc_proxy *d = NULL;
  (void)arg, (void)len;
  CHILD_CHECK(mproc_inherited(0, MPROC_KIND_PROXY, &d) == 0);
  CHILD_CHECK(mproc_dict_set(d, "k", 1, "v", 1) == 0);
  mproc_proxy_free(d);
  return 0;
}
MPROC_TASK(t_use_proxy);

#define MAX_NAMES 256

static int listed(char (*names)[64], int n, const char *name) {
  int i;
  for (i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0) return 1;
  return 0;
}

/* A name of /dev/shm the executor or the proxy made: an arena ("<prefix>-"
 * and 6 characters; segments have 10), one of the executor's queues (the
 * result queue, each worker's task queue), or a large segment (the
 * workers' result hold areas, 64 KiB each: large objects keep a segment
 * of their own), or a parking semaphore (the fallback build). Anything
 * else is a segment of their own small state: 0. */
static int new_name_ok(const char *name) {
  mproc_queue *q = NULL;
  mproc_shm *shm = NULL;
  int big;
  /* an object's parking semaphore in the fallback build ("<name>#w0") */
  if (strchr(name, '#') != NULL) return 1;
  if (strlen(name) == strlen(prefix) + 1 + 6) return 1;
  if (mproc_queue_open(&q, name) == 0) {
    mproc_queue_free(q);
    return 1;
  }
  if (mproc_shm_open(&shm, name) != 0) return 0;
  big = mproc_shm_size(shm) >= ((size_t)64 << 10);
  mproc_shm_free(shm);
  return big;
}

static void test_pool_state_in_arenas(void **state) {
  static char before[MAX_NAMES][64], after[MAX_NAMES][64];
  mproc_executor *ex = NULL;
  mproc_manager_opts mo = MPROC_MANAGER_OPTS_INIT;
  mproc_manager *m = NULL;
  mproc_proxy *d = NULL;
  mproc_future *f[2];
  mproc_pass pass[1];
  mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
  void *v = NULL;
  size_t vn = 0;
  int nb, na, i, x = 7, queues = 0;
  char bad[64] = "";
  (void)state;
  nb = tu_list_shm(prefix, before, MAX_NAMES);
  mo.method = g_method;
  assert_int_equal(mproc_manager_start(&m, &mo), 0);
  assert_int_equal(mproc_manager_dict(m, &d), 0);
  ex = pp_new(2, NULL);
  for (i = 0; i < 2; i++) /* every worker has opened the slot table */
    f[i] = pp_submit(ex, pp_square, &x, sizeof x);
  for (i = 0; i < 2; i++) {
    const void *r = NULL;
    size_t rn = 0;
    assert_int_equal(mproc_future_result(f[i], 120, &r, &rn), 0);
    assert_int_equal(rn, sizeof x);
    assert_int_equal(*(const int *)r, 49);
    mproc_future_free(f[i]);
  }
  pass[0].kind = MPROC_KIND_PROXY;
  pass[0].obj = d;
  po.pass = pass;
  po.n_pass = 1;
  assert_int_equal(tp_join(tp_start_with(t_use_proxy, NULL, 0, &po)), 0);
  assert_int_equal(mproc_dict_get(d, "k", 1, &v, &vn), 0);
  assert_int_equal(vn, 1);
  assert_memory_equal(v, "v", 1);
  mproc_free(v);
  if (nb >= 0) { /* where names are seen: the ticket is still the proxy's */
    na = tu_list_shm(prefix, after, MAX_NAMES);
    assert_true(na >= 0 && na <= MAX_NAMES && nb <= MAX_NAMES);
    for (i = 0; i < na; i++)
      if (!listed(before, nb, after[i])) {
        if (!new_name_ok(after[i])) snprintf(bad, sizeof bad, "%s", after[i]);
        queues += strlen(after[i]) != strlen(prefix) + 1 + 6 &&
                  strchr(after[i], '#') == NULL;
      }
  }
  mproc_executor_free(ex);
  mproc_proxy_free(d);
  mproc_manager_free(m);
  if (bad[0])
    fail_msg("\"%s\" is a segment of its own (not an arena, not a queue)",
             bad);
  /* the result queue, two task queues and the hold areas' segment */
  assert_true(queues <= 4);
}

/* ---- the tracker sweeps an arena ------------------------------------------ */

/* A program that makes objects of every small kind (three arenas, one
 * per size class), starts a child that holds one of them, and kills
 * itself: its tracker removes the arenas once the program is gone. */
static int t_hold_forever(const void *arg, size_t len) {
  mproc_lock *l = NULL;
  (void)len;
  if (mproc_lock_open(&l, arg) != 0) return 2;
  tu_sleep_ms(600000); /* dies with its program: the kill-on-parent-death */
  return 0;
}
MPROC_TASK(t_hold_forever);

static int role_arena_leaker(int argc, char **argv) {
  mproc_lock *l = NULL;
  mproc_barrier *b = NULL;
  mproc_array *a = NULL;
  mproc_process *p = NULL;
  void *o;
  uint32_t i;
  mproc_init(argc, argv);
  for (i = 0; i < 50; i++)
    if (make_obj(i, &o) != 0) return 2;
  if (mproc_lock_new(&l, NULL) || mproc_barrier_new(&b, 2, NULL, NULL, NULL) ||
      mproc_array_new(&a, 'd', 100, NULL, NULL))
    return 3;
  if (mproc_process_new(&p, t_hold_forever, mproc_lock_name(l),
                        strlen(mproc_lock_name(l)) + 1, NULL) ||
      mproc_process_start(p))
    return 4;
  tu_sleep_ms(200); /* let the child open it */
  tu_kill_pid(mproc_current_pid());
  return 5;
}

/* Run `role` in a program of its own whose names start with `tag` and
 * this pid; its exit status. Once it has ended, no name of it may be left
 * in /dev/shm (its tracker removes what it left) where names are seen. */
static int run_role_swept(const char *role, const char *tag) {
  char role_prefix[16];
  long pid;
  int i, st;
  snprintf(role_prefix, sizeof role_prefix, "%s%ld", tag,
           mproc_current_pid() % 100000);
  tu_setenv("MPROC_NAME_PREFIX", role_prefix);
  pid = tu_spawn_self(role, "x");
  tu_setenv("MPROC_NAME_PREFIX", prefix);
  assert_true(pid > 0);
  st = tu_wait_pid(pid);
  if (tu_count_shm("") < 0) return st; /* nothing to count on Windows */
  for (i = 0; i < 200 && tu_count_shm(role_prefix) > 0; i++) tu_sleep_ms(50);
  assert_int_equal(tu_count_shm(role_prefix), 0);
  return st;
}

static void test_tracker_sweeps_arenas(void **state) {
  (void)state;
  if (g_method != mproc_get_start_method() || tu_count_shm("") < 0)
    skip(); /* once is enough; and nothing to count on Windows */
  assert_true(run_role_swept("--role-arena-leaker", "tk") != 0); /* killed */
}

/* ---- a full holder table ---------------------------------------------------- */

/* `n` handles on one Lock in one process: a hold per handle fills the
 * slot's 16-entry table, the next ones spill into the arena's pool (480
 * entries), any past that are uncounted and pin the slot. Freeing the 16
 * in the table first must leave the object whole for the rest (still
 * opened by name, its slot not given to the next object). Then with
 * every hold counted (n = 40) the last free removes the object (its name
 * opens no more); a pinned one (n = 520) lives on until the arena goes,
 * with the tracker's sweep. */
static int full_table(int n) {
  mproc_lock **h = calloc((size_t)n, sizeof *h), *x = NULL, *m = NULL;
  char name[NAME_LEN];
  int i, rc;
  if (h == NULL || mproc_lock_new(&h[0], NULL) != 0) return 2;
  snprintf(name, sizeof name, "%s", mproc_lock_name(h[0]));
  for (i = 1; i < n; i++)
    if (mproc_lock_open(&h[i], name) != 0) return 3;
  for (i = 0; i < 16; i++) mproc_lock_free(h[i]);
  if (mproc_lock_new(&m, NULL) != 0) return 4;
  if (strcmp(mproc_lock_name(m), name) == 0) return 5;
  for (i = 16; i < n; i++)
    if (mproc_lock_acquire(h[i], 10) != 0 || mproc_lock_release(h[i]) != 0)
      return 6;
  if (mproc_lock_open(&x, name) != 0) return 7; /* the name lives on */
  mproc_lock_free(x);
  for (i = 16; i < n; i++) mproc_lock_free(h[i]);
  free(h);
  rc = mproc_lock_open(&x, name);
  if (rc == 0) mproc_lock_free(x);
  mproc_lock_free(m);
  return n <= 16 + 480 ? (rc == MPROC_ENOENT ? 0 : 8) : (rc == 0 ? 0 : 9);
}

static int role_full_table(int argc, char **argv) {
  int rc;
  mproc_init(argc, argv);
  if ((rc = full_table(40)) != 0) return rc;
  return full_table(520) ? 10 : 0;
}

/* A Lock passed to 24 children that all hold it at once (25 holders, past
 * the slot's table of 16): each child's hold is counted, so when they have
 * ended and the parent frees its handle the object is gone (a pinned slot
 * would keep it, and its arena, to the program's end). */
#define MANY_KIDS 24
static int t_hold_then_go(const void *arg, size_t len) {
  mproc_lock *l = NULL;
  mproc_event *go = NULL;
  mproc_queue *q = NULL;
  int one = 1;
  (void)arg, (void)len;
  CHILD_CHECK(mproc_inherited(0, MPROC_KIND_LOCK, &l) == 0);
  CHILD_CHECK(mproc_inherited(1, MPROC_KIND_EVENT, &go) == 0);
  CHILD_CHECK(mproc_inherited(2, MPROC_KIND_QUEUE, &q) == 0);
  CHILD_CHECK(mproc_lock_acquire(l, 60) == 0 && mproc_lock_release(l) == 0);
  CHILD_CHECK(mproc_queue_put(q, &one, sizeof one, 60) == 0);
  CHILD_CHECK(mproc_event_wait(go, 60) == 0);
  mproc_lock_free(l);
  mproc_event_free(go);
  mproc_queue_free(q);
  return 0;
}
MPROC_TASK(t_hold_then_go);

static void test_passed_to_many(void **state) {
  mproc_lock *l, *x = NULL;
  mproc_event *go;
  mproc_queue *q;
  mproc_process *p[MANY_KIDS];
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_pass pass[3];
  char name[NAME_LEN];
  int i, got;
  size_t n;
  (void)state;
  assert_int_equal(mproc_lock_new(&l, NULL), 0);
  assert_int_equal(mproc_event_new(&go, NULL), 0);
  assert_int_equal(mproc_queue_new(&q, NULL), 0);
  snprintf(name, sizeof name, "%s", mproc_lock_name(l));
  pass[0] = MPROC_PASS(l);
  pass[1] = MPROC_PASS(go);
  pass[2] = MPROC_PASS(q);
  o.pass = pass;
  o.n_pass = 3;
  for (i = 0; i < MANY_KIDS; i++)
    p[i] = tp_start_with(t_hold_then_go, NULL, 0, &o);
  for (i = 0; i < MANY_KIDS; i++) /* then every child holds the lock */
    assert_int_equal(mproc_queue_get(q, &got, sizeof got, &n, 60), 0);
  assert_int_equal(mproc_event_set(go), 0);
  for (i = 0; i < MANY_KIDS; i++) assert_int_equal(tp_join(p[i]), 0);
  mproc_lock_free(l);
  assert_int_equal(mproc_lock_open(&x, name), MPROC_ENOENT);
  mproc_event_free(go);
  mproc_queue_free(q);
}

static void test_full_table_pins(void **state) {
  (void)state;
  if (g_method != mproc_get_start_method()) skip(); /* once is enough */
  assert_int_equal(run_role_swept("--role-full-table", "tf"), 0);
}

/* The slot table of a process executor with 28 workers is an arena object
 * (WSET_ARENA_SLOTS) held by 29 processes, 13 of them in the spill pool:
 * every task runs, and when the executor is freed the table goes with it
 * (test_nothing_left, next, finds no name left). */
static void test_wide_executor_table(void **state) {
  enum { W = 28, N = 2 * W };
  mproc_executor *ex;
  mproc_future *f[N];
  int i, x;
  (void)state;
  ex = pp_new(W, NULL);
  for (i = 0; i < N; i++) {
    x = i;
    f[i] = pp_submit(ex, pp_square, &x, sizeof x);
  }
  for (i = 0; i < N; i++) {
    const void *r = NULL;
    size_t rn = 0;
    assert_int_equal(mproc_future_result(f[i], 120, &r, &rn), 0);
    assert_int_equal(rn, sizeof x);
    assert_int_equal(*(const int *)r, i * i);
    mproc_future_free(f[i]);
  }
  assert_int_equal(mproc_executor_max_workers(ex), W);
  mproc_executor_free(ex);
}

/* ---- nothing left ----------------------------------------------------------- */

static void test_nothing_left(void **state) {
  int now = tu_count_shm_settled(prefix);
  (void)state;
  if (now > 0) fail_msg("%d %s-* names left in /dev/shm", now, prefix);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_names, tp_no_children_left),
      cmocka_unit_test_teardown(test_every_small_kind, tp_no_children_left),
      cmocka_unit_test_teardown(test_killed_in_alloc, tp_no_children_left),
      cmocka_unit_test_teardown(test_killed_in_free, tp_no_children_left),
      cmocka_unit_test_teardown(test_many_objects, tp_no_children_left),
      cmocka_unit_test_teardown(test_pool_state_in_arenas,
                                tp_no_children_left),
      cmocka_unit_test(test_tracker_sweeps_arenas),
      cmocka_unit_test(test_full_table_pins),
      cmocka_unit_test_teardown(test_passed_to_many, tp_no_children_left),
      cmocka_unit_test_teardown(test_wide_executor_table, tp_no_children_left),
      cmocka_unit_test(test_nothing_left),
  };
  tu_set_argv0(argv[0]);
  if (argc >= 3 && strcmp(argv[1], "--role-arena-leaker") == 0)
    return role_arena_leaker(argc, argv);
  if (argc >= 3 && strcmp(argv[1], "--role-full-table") == 0)
    return role_full_table(argc, argv);
  if (getenv("MPROC_NAME_PREFIX")) {
    snprintf(prefix, sizeof prefix, "%s", getenv("MPROC_NAME_PREFIX"));
  } else {
    snprintf(prefix, sizeof prefix, "ta%ld", mproc_current_pid() % 1000000);
    tu_setenv("MPROC_NAME_PREFIX", prefix);
  }
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  return TP_RUN_PER_METHOD("arena", tests) ? 1 : 0;
}
