/* mproc: the manager server's leases — floating holds (HOLD) kept for a
 * child that has not yet opened its passed proxy, tied to its pid.
 *
 * A parent that passes a proxy asks for a floating hold before the start
 * (HOLD) and, once the child's pid is known, leases it to that pid
 * (LEASE). The child's ADOPT, which carries its pid, takes its lease
 * over. If the child dies first, the sweep (a timer while leases exist,
 * and every manager operation) finds its pid gone and drops the hold, so
 * the object is freed when nothing else holds it.
 *
 * The child may ADOPT before the parent's LEASE arrives (it runs as soon
 * as it starts). Then the ADOPT takes an unleased floating hold and
 * leaves a debt for its pid (n < 0), which the late LEASE pays instead of
 * leasing another child's hold. Debts of dead pids are dropped too. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mgr-core.h"
#include "platform.h"

#define SWEEP_MS 200

struct mproc__mlease {
  uint32_t id;
  long pid;
  long n; /* > 0: floating holds leased to pid; < 0: adopted before */
};

static mproc__mlease *find(mproc__msrv *s, uint32_t id, long pid) {
  size_t i;
  for (i = 0; i < s->n_leases; i++)
    if (s->leases[i].id == id && s->leases[i].pid == pid) return &s->leases[i];
  return NULL;
}

static void drop(mproc__msrv *s, mproc__mlease *l) {
  *l = s->leases[--s->n_leases];
  if (s->n_leases == 0 && s->sweep != NULL) uv_timer_stop(s->sweep);
}

static void on_sweep(uv_timer_t *t) { mproc__mlease_sweep(t->data); }

static mproc__mlease *add(mproc__msrv *s, uint32_t id, long pid) {
  mproc__mlease *l = find(s, id, pid);
  if (l != NULL) return l;
  if (s->n_leases == s->cap_leases) {
    size_t cap = s->cap_leases ? 2 * s->cap_leases : 8;
    mproc__mlease *n = realloc(s->leases, cap * sizeof *n);
    if (n == NULL) return NULL;
    s->leases = n;
    s->cap_leases = cap;
  }
  if (s->sweep == NULL && s->loop != NULL) {
    s->sweep = malloc(sizeof *s->sweep);
    if (s->sweep == NULL) return NULL;
    uv_timer_init(s->loop, s->sweep);
    uv_unref((uv_handle_t *)s->sweep); /* never keeps the server running */
    s->sweep->data = s;
  }
  if (s->n_leases == 0 && s->sweep != NULL)
    uv_timer_start(s->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
  l = &s->leases[s->n_leases++];
  l->id = id;
  l->pid = pid;
  l->n = 0;
  return l;
}

int mproc__mlease_pid(mproc__mr *r, long *pid, int optional) {
  mproc__mr probe = *r;
  mproc__mw_item it;
  int64_t v;
  int rc;
  *pid = 0;
  if (optional && mproc__mr_next(&probe, &it) != 1) return 0;
  rc = mproc__mr_int(r, &v, "pid");
  if (rc == 0) rc = mproc__mr_end(r);
  if (rc < 0) return rc;
  if (v <= 0 || v > INT32_MAX)
    return mproc__err(MPROC_EINVAL, "manager: pid %lld is no process id",
                      (long long)v);
  *pid = (long)v;
  return 0;
}

int mproc__mlease_lease(mproc__msrv *s, mproc__mobj *o, long pid) {
  mproc__mlease *l = find(s, o->id, pid);
  if (l != NULL && l->n < 0) { /* the child adopted first */
    if (++l->n == 0) drop(s, l);
    return 0;
  }
  if (o->floating - o->leased <= 0) return 0; /* nothing left to lease */
  l = add(s, o->id, pid);
  if (l == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  l->n++;
  o->leased++;
  return 0;
}

int mproc__mlease_adopt(mproc__msrv *s, mproc__mobj *o, long pid) {
  mproc__mlease *l = pid ? find(s, o->id, pid) : NULL;
  if (l != NULL && l->n > 0) {
    o->leased--;
    o->floating--;
    if (--l->n == 0) drop(s, l);
    return 0;
  }
  if (o->floating - o->leased > 0) {
    o->floating--;
    if (pid && (l = add(s, o->id, pid)) != NULL) l->n--; /* a debt */
    return 0;
  }
  o->holds++; /* nothing floats: a hold of its own */
  return 0;
}

void mproc__mlease_sweep(mproc__msrv *s) {
  size_t i = 0;
  while (i < s->n_leases) {
    mproc__mlease l = s->leases[i];
    mproc__mobj *o;
    if (mproc__os_pid_alive(l.pid)) {
      i++;
      continue;
    }
    drop(s, &s->leases[i]); /* the last one moves here: look at i again */
    if (l.n <= 0 || (o = mproc__mobj_get(s, l.id)) == NULL) continue;
    o->leased -= l.n;
    o->floating -= l.n;
    while (l.n-- > 0) mproc__mobj_unref(s, l.id);
  }
}

static void sweep_closed(uv_handle_t *h) { free(h); }

void mproc__mlease_free(mproc__msrv *s) {
  free(s->leases);
  s->leases = NULL;
  s->n_leases = s->cap_leases = 0;
  if (s->sweep != NULL) uv_close((uv_handle_t *)s->sweep, sweep_closed);
  s->sweep = NULL;
}
