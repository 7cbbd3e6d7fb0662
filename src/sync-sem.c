/* mproc: Semaphore, BoundedSemaphore and Event.
 *
 * Semaphore: `value` is the count; `sleepers` counts processes asleep in
 * acquire, so release makes the wake system call only when someone may
 * sleep. A sleeper that is killed leaves `sleepers` one too high, which
 * costs later releases a useless wake, never a lost one. Release adds
 * (seq_cst) and then reads `sleepers`; acquire counts itself (seq_cst) and
 * the kernel re-checks `value` before sleeping: either the releaser sees
 * the sleeper or the sleeper sees the new value.
 *
 * Event: the word holds a SET bit, a SLEEPERS bit (someone may sleep on
 * the word) and, above them, a count of sets: set() of a clear event adds
 * one and wakes only when SLEEPERS was on. A waiter notes the count when
 * it starts and returns as soon as the count differs, set or not: so a
 * set() followed at once by clear() still releases every waiter that was
 * waiting at the set, as Python's wait returns True (a bare flag let a
 * waiter that woke late see it clear again and sleep on). The count wraps
 * after 2^30 sets, far more than can happen during one wait. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "object.h"

typedef struct sem_state {
  _Atomic uint32_t value;
  _Atomic uint32_t sleepers;
  uint32_t max; /* bounded: the initial value; else UINT32_MAX / 2 */
  uint32_t bounded;
} sem_state;

struct mproc_sem {
  mproc__obj obj;
  sem_state *st;
};

struct mproc_event {
  mproc__obj obj;
  _Atomic uint32_t *word;
};

_Static_assert(MPROC__SEM_STATE >= sizeof(sem_state), "a semaphore fits its arena slot");
_Static_assert(MPROC__EVENT_STATE >= sizeof(uint32_t), "an event fits its arena slot");

typedef struct sem_init_arg {
  uint32_t value, bounded;
} sem_init_arg;

static void sem_init(void *state, void *arg) {
  sem_state *st = state;
  const sem_init_arg *a = arg;
  atomic_store(&st->value, a->value);
  atomic_store(&st->sleepers, 0);
  st->bounded = a->bounded;
  st->max = a->bounded ? a->value : INT32_MAX;
}

static void sem_attach(void *h) {
  mproc_sem *s = h;
  s->st = mproc__obj_state(&s->obj);
}

const mproc__kind_ops mproc__sem_ops = {MPROC__KIND_SEM, sizeof(mproc_sem),
                                        sem_attach, NULL, NULL, NULL, NULL};

int mproc_sem_new(mproc_sem **out, long value, mproc_sem_kind kind,
                  const mproc_sync_opts *opts) {
  sem_init_arg a;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "out is NULL");
  *out = NULL;
  if (kind != MPROC_SEMAPHORE && kind != MPROC_BOUNDED_SEMAPHORE)
    return mproc__err(MPROC_EINVAL, "semaphore kind %d is neither "
                                    "MPROC_SEMAPHORE nor "
                                    "MPROC_BOUNDED_SEMAPHORE",
                      (int)kind);
  if (value < 0)
    return mproc__err(MPROC_EINVAL, "semaphore value %ld is negative",
                      value);
  if (value > INT32_MAX)
    return mproc__err(MPROC_ERANGE, "semaphore value %ld is over %ld", value,
                      (long)INT32_MAX);
  a.value = (uint32_t)value;
  a.bounded = kind == MPROC_BOUNDED_SEMAPHORE;
  return mproc__kind_make(MPROC__KIND_SEM, out, 0, opts, sem_init, &a);
}

int mproc_sem_open(mproc_sem **out, const char *name) {
  return mproc__kind_open(MPROC__KIND_SEM, out, name);
}

static int try_take(sem_state *st) {
  uint32_t v = atomic_load(&st->value);
  while (v > 0)
    if (atomic_compare_exchange_weak(&st->value, &v, v - 1)) return 1;
  return 0;
}

static int sem_check(const mproc_sem *s, const char *what) {
  if (s == NULL) return mproc__err(MPROC_EINVAL, "%s: semaphore is NULL", what);
  return mproc__obj_check(&s->obj, what);
}

int mproc_sem_acquire(mproc_sem *s, double timeout) {
  double t, deadline;
  int rc = sem_check(s, "acquire");
  if (rc < 0) return rc;
  if (timeout != timeout) return mproc__timeout(timeout, &t); /* NaN */
  if (try_take(s->st)) return 0;
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  deadline = mproc__deadline(t);
  while (t > 0 || t < 0) {
    if (mproc__spin(&s->st->value, 0) && try_take(s->st)) return 0;
    atomic_fetch_add(&s->st->sleepers, 1);
    rc = atomic_load(&s->st->value) != 0
             ? 0
             : mproc__wait_intr(&s->obj, &s->st->value, 0,
                           deadline);
    atomic_fetch_sub(&s->st->sleepers, 1);
    if (try_take(s->st)) return 0;
    if (rc == MPROC_ETIMEDOUT) break;
    if (rc < 0) return rc;
  }
  return mproc__err(MPROC_ETIMEDOUT, "semaphore \"%s\" stayed at 0",
                    s->obj.name);
}

int mproc_sem_release(mproc_sem *s) {
  uint32_t v;
  int rc = sem_check(s, "release");
  if (rc < 0) return rc;
  v = atomic_load(&s->st->value);
  do {
    if (v >= s->st->max)
      return mproc__err(MPROC_ERANGE,
                        s->st->bounded
                            ? "bounded semaphore \"%s\" released too many "
                              "times (its value would exceed %u)"
                            : "semaphore \"%s\" would exceed %u",
                        s->obj.name, s->st->max);
  } while (!atomic_compare_exchange_weak(&s->st->value, &v, v + 1));
  if (atomic_load(&s->st->sleepers) > 0) mproc__wake(&s->obj, &s->st->value, 1);
  return 0;
}

long mproc_sem_value(const mproc_sem *s) {
  int rc = sem_check(s, "value");
  if (rc < 0) return rc;
  return (long)atomic_load(&s->st->value);
}

const char *mproc_sem_name(const mproc_sem *s) {
  return s ? s->obj.name : NULL;
}

int mproc_sem_close(mproc_sem *s) {
  return mproc__kind_close(s, "semaphore");
}

void mproc_sem_free(mproc_sem *s) { mproc__kind_free(s); }

/* ---- Event --------------------------------------------------------------- */

#define EV_SET 1u
#define EV_SLEEPERS 2u
#define EV_ONE_SET 4u /* the count of sets starts at bit 2 */
#define EV_SETS(v) ((v) >> 2)

static void event_init(void *state, void *arg) {
  (void)arg;
  memset(state, 0, sizeof(uint32_t));
}

static void event_attach(void *h) {
  mproc_event *e = h;
  e->word = mproc__obj_state(&e->obj);
}

const mproc__kind_ops mproc__event_ops = {MPROC__KIND_EVENT,
                                          sizeof(mproc_event),
                                          event_attach,
                                          NULL,
                                          NULL,
                                          NULL,
                                          NULL};

int mproc_event_new(mproc_event **out, const mproc_sync_opts *opts) {
  return mproc__kind_make(MPROC__KIND_EVENT, out, 0, opts, event_init, NULL);
}

int mproc_event_open(mproc_event **out, const char *name) {
  return mproc__kind_open(MPROC__KIND_EVENT, out, name);
}

static int event_check(const mproc_event *e, const char *what) {
  if (e == NULL) return mproc__err(MPROC_EINVAL, "%s: event is NULL", what);
  return mproc__obj_check(&e->obj, what);
}

int mproc_event_set(mproc_event *e) {
  uint32_t v;
  int rc = event_check(e, "set");
  if (rc < 0) return rc;
  v = atomic_load(e->word);
  do
    if (v & EV_SET) return 0; /* set already: nobody waits */
  while (!atomic_compare_exchange_weak(e->word, &v,
                                       ((v + EV_ONE_SET) & ~EV_SLEEPERS) |
                                           EV_SET));
  if (v & EV_SLEEPERS) mproc__wake(&e->obj, e->word, INT32_MAX);
  return 0;
}

int mproc_event_clear(mproc_event *e) {
  int rc = event_check(e, "clear");
  if (rc < 0) return rc;
  atomic_fetch_and(e->word, ~EV_SET);
  return 0;
}

int mproc_event_is_set(const mproc_event *e) {
  int rc = event_check(e, "is_set");
  if (rc < 0) return rc;
  return (atomic_load(e->word) & EV_SET) != 0;
}

int mproc_event_wait(mproc_event *e, double timeout) {
  double t, deadline;
  uint32_t v, sets;
  int rc = event_check(e, "wait");
  if (rc < 0) return rc;
  v = atomic_load(e->word);
  if (v & EV_SET) return 0;
  rc = mproc__timeout(timeout, &t);
  if (rc < 0) return rc;
  deadline = mproc__deadline(t);
  sets = EV_SETS(v);
  for (;;) {
    v = atomic_load(e->word);
    if ((v & EV_SET) || EV_SETS(v) != sets) return 0;
    if (!(v & EV_SLEEPERS) &&
        !atomic_compare_exchange_strong(e->word, &v, v | EV_SLEEPERS))
      continue;
    rc = mproc__wait_intr(&e->obj, e->word, v | EV_SLEEPERS, deadline);
    if (rc == 0) continue;
    v = atomic_load(e->word); /* a set that came meanwhile wins */
    if ((v & EV_SET) || EV_SETS(v) != sets) return 0;
    if (rc == MPROC_ETIMEDOUT)
      return mproc__err(rc, "event \"%s\" was not set in time", e->obj.name);
    return rc;
  }
}

const char *mproc_event_name(const mproc_event *e) {
  return e ? e->obj.name : NULL;
}

int mproc_event_close(mproc_event *e) {
  return mproc__kind_close(e, "event");
}

void mproc_event_free(mproc_event *e) { mproc__kind_free(e); }
