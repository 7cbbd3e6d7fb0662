/* mproc tests: plain shared memory and the program's registry
 * (src/registry.h) — holders counted across processes under every start
 * method, killed holders, and the fallback when the registry is full. */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "test_sync.h"

#include "../src/registry.h" /* MPROC__REG_LIMIT */

/* A child that opens shared memory `a`, checks and writes it, tells the
 * parent (event `b`) and, unless n == 1, waits for event `c` before it
 * closes; n == 1 never closes (it is killed). */
static int t_hold_shm(const void *arg, size_t len) {
  const names_arg *n = arg;
  mproc_event *ready = NULL, *go = NULL;
  mproc_shm *s = NULL;
  CHILD_CHECK(len == sizeof *n);
  CHILD_CHECK(mproc_event_open(&ready, n->b) == 0);
  CHILD_CHECK(n->n == 1 || mproc_event_open(&go, n->c) == 0);
  CHILD_CHECK(mproc_shm_open(&s, n->a) == 0);
  CHILD_CHECK(strcmp(mproc_shm_buf(s), "parent") == 0);
  strcpy((char *)mproc_shm_buf(s) + 100, "child");
  CHILD_CHECK(mproc_event_set(ready) == 0);
  if (n->n == 1)
    for (;;) tu_sleep_ms(1000);
  CHILD_CHECK(mproc_event_wait(go, 60) == 0);
  mproc_shm_free(s);
  mproc_event_free(go);
  mproc_event_free(ready);
  return 0;
}
MPROC_TASK(t_hold_shm);

typedef struct holder_run {
  mproc_event *ready, *go;
  mproc_process *p;
  names_arg n;
} holder_run;

/* Start t_hold_shm on `s` and wait until it holds it. */
static void start_holder(holder_run *r, mproc_shm *s, int mode) {
  memset(r, 0, sizeof *r);
  assert_int_equal(mproc_event_new(&r->ready, NULL), 0);
  assert_int_equal(mproc_event_new(&r->go, NULL), 0);
  remember_name(mproc_event_name(r->ready));
  remember_name(mproc_event_name(r->go));
  snprintf(r->n.a, sizeof r->n.a, "%s", mproc_shm_name(s));
  snprintf(r->n.b, sizeof r->n.b, "%s", mproc_event_name(r->ready));
  snprintf(r->n.c, sizeof r->n.c, "%s", mproc_event_name(r->go));
  r->n.n = mode;
  strcpy(mproc_shm_buf(s), "parent");
  r->p = tp_start(t_hold_shm, &r->n, sizeof r->n, NULL, 0);
  assert_int_equal(mproc_event_wait(r->ready, 60), 0);
  assert_string_equal((char *)mproc_shm_buf(s) + 100, "child");
}

static void end_holder(holder_run *r, int expect) {
  if (r->n.n != 1) assert_int_equal(mproc_event_set(r->go), 0);
  assert_int_equal(tp_join(r->p), expect);
  mproc_event_free(r->go);
  mproc_event_free(r->ready);
}

/* A new segment of `size` bytes (its name in `name`), held by a child. */
static mproc_shm *new_held(holder_run *r, size_t size, char *name, int mode) {
  mproc_shm *s = NULL;
  assert_int_equal(mproc_shm_new(&s, size, NULL), 0);
  strcpy(name, mproc_shm_name(s));
  remember_name(name);
  start_holder(r, s, mode);
  return s;
}

/* A child that opened the segment by name holds it: the parent's close
 * leaves it, the child's removes it. Under every start method (so the
 * registry reaches fork, forkserver and spawned children alike). */
void test_shm_child_holds(void **state) {
  mproc_shm *t = NULL;
  char name[MPROC_SHM_NAME_MAX + 1];
  holder_run r;
  (void)state;
  mproc_shm_free(new_held(&r, 5000, name, 0));
  assert_int_equal(mproc_shm_open(&t, name), 0); /* still there */
  assert_string_equal((char *)mproc_shm_buf(t) + 100, "child");
  mproc_shm_free(t);
  assert_int_equal(mproc_shm_open(&t, name), 0); /* our holds came, went */
  mproc_shm_free(t);
  end_holder(&r, 0);
  assert_int_equal(mproc_shm_open(&t, name), MPROC_ENOENT);
}

/* A holder killed with SIGKILL does not keep the segment: the parent's
 * close, the last by a live process, removes it. */
void test_shm_killed_holder(void **state) {
  mproc_shm *s, *t = NULL;
  char name[MPROC_SHM_NAME_MAX + 1];
  holder_run r;
  (void)state;
  s = new_held(&r, 100, name, 1);
  assert_int_equal(mproc_process_kill(r.p), 0);
  end_holder(&r, -9);
  mproc_shm_free(s);
  assert_int_equal(mproc_shm_open(&t, name), MPROC_ENOENT);
}

/* A fork child draws names of its own: the parent's next generated name
 * is not the child's (they share the parent's unused random bytes unless
 * the child refills). */
void test_shm_names_after_fork(void **state) {
  mproc_shm *x = NULL, *c = NULL;
  long pid;
  (void)state;
  if (g_method != mproc_get_start_method()) skip(); /* once is enough */
  assert_int_equal(mproc_shm_new(&x, 100, NULL), 0);
  remember_name(mproc_shm_name(x));
  pid = tu_fork();
  if (pid < 0) {
    mproc_shm_free(x);
    skip(); /* no fork here */
  }
  if (pid == 0) {
    mproc_shm *b = NULL;
    int ok = mproc_shm_new(&b, 100, NULL) == 0;
    if (ok) strcpy(mproc_shm_buf(x), mproc_shm_name(b));
    mproc_shm_free(b);
    tu_exit(ok ? 0 : 1);
  }
  assert_int_equal(tu_wait_pid(pid), 0);
  assert_int_equal(mproc_shm_new(&c, 100, NULL), 0);
  assert_true(((char *)mproc_shm_buf(x))[0] != '\0');
  assert_string_not_equal(mproc_shm_name(c), (char *)mproc_shm_buf(x));
  mproc_shm_free(c);
  mproc_shm_free(x);
}

/* ---- many processes and threads at once --------------------------------- */

#define CYCLES 300

typedef struct churn_arg {
  char name[MPROC_SHM_NAME_MAX + 1]; /* the shared segment */
  int bad;                           /* failed calls, per thread */
} churn_arg;

/* Create, open again, close both; and open and close the shared segment
 * between: the registry's lock and probing under contention. */
static void churn(void *arg) {
  churn_arg *a = arg;
  int i;
  for (i = 0; i < CYCLES; i++) {
    mproc_shm *x = NULL, *y = NULL, *z = NULL;
    if (mproc_shm_new(&x, 4096, NULL) != 0 ||
        mproc_shm_open(&y, mproc_shm_name(x)) != 0 ||
        mproc_shm_open(&z, a->name) != 0)
      a->bad++;
    mproc_shm_free(y);
    mproc_shm_free(x);
    mproc_shm_free(z);
  }
}

static int t_churn(const void *arg, size_t len) {
  churn_arg a[2];
  uv_thread_t t;
  CHILD_CHECK(len == sizeof a[0]);
  memcpy(&a[0], arg, sizeof a[0]);
  a[1] = a[0];
  CHILD_CHECK(uv_thread_create(&t, churn, &a[1]) == 0);
  churn(&a[0]);
  CHILD_CHECK(uv_thread_join(&t) == 0);
  CHILD_CHECK(a[0].bad == 0 && a[1].bad == 0);
  return 0;
}
MPROC_TASK(t_churn);

/* Four processes of two threads each make and remove segments while they
 * all open and close one shared segment: every call succeeds, the shared
 * one stays until its creator closes it, and nothing is left (the suite's
 * last test counts /dev/shm). */
void test_shm_churn(void **state) {
  mproc_shm *s = NULL, *t = NULL;
  churn_arg a;
  char name[MPROC_SHM_NAME_MAX + 1];
  (void)state;
  assert_int_equal(mproc_shm_new(&s, 4096, NULL), 0);
  strcpy(name, mproc_shm_name(s));
  remember_name(name);
  memset(&a, 0, sizeof a);
  strcpy(a.name, name);
  run_children(t_churn, &a, sizeof a, 4);
  assert_int_equal(mproc_shm_open(&t, name), 0);
  mproc_shm_free(t);
  mproc_shm_free(s);
  assert_int_equal(mproc_shm_open(&t, name), MPROC_ENOENT);
}

/* Fill the registry with `n` segments (generated names). */
static int fill(mproc_shm **v, int n) {
  int i;
  for (i = 0; i < n; i++)
    if (mproc_shm_new(&v[i], 4096, NULL) != 0) return -1;
  return 0;
}

static void drain(mproc_shm **v, int n) {
  int i;
  for (i = 0; i < n; i++) mproc_shm_free(v[i]);
}

/* With the registry full, segments still work: created by their creator
 * alone (it removes them at its close, even while others use them — the
 * documented fallback), tracked by datagram. */
void test_shm_registry_full(void **state) {
  static mproc_shm *fillers[MPROC__REG_LIMIT];
  mproc_shm *s = NULL, *t = NULL;
  mproc_shm_opts o = MPROC_SHM_OPTS_INIT;
  char name[MPROC_SHM_NAME_MAX + 1];
  holder_run r;
  (void)state;
#ifdef _WIN32
  skip(); /* no registry: the kernel counts holders (docs/shm-sync.md) */
#endif
  if (g_method != mproc_get_start_method()) skip(); /* once is enough */
  assert_int_equal(fill(fillers, MPROC__REG_LIMIT), 0);
  snprintf(name, sizeof name, "t%ld-full", mproc_current_pid());
  o.name = name;
  assert_int_equal(mproc_shm_new(&s, 4096, &o), 0);
  remember_name(name);
  start_holder(&r, s, 0);
  assert_int_equal(mproc_shm_open(&t, name), 0);
  mproc_shm_free(t); /* an uncounted handle's close removes nothing */
  mproc_shm_free(s); /* the creator's does */
  assert_int_equal(mproc_shm_open(&t, name), MPROC_ENOENT);
  end_holder(&r, 0);
  drain(fillers, MPROC__REG_LIMIT);
  /* Room again: counted as before. */
  assert_int_equal(mproc_shm_new(&s, 4096, &o), 0);
  start_holder(&r, s, 0);
  mproc_shm_free(s);
  assert_int_equal(mproc_shm_open(&t, name), 0);
  mproc_shm_free(t);
  end_holder(&r, 0);
  assert_int_equal(mproc_shm_open(&t, name), MPROC_ENOENT);
}

/* A separate program (see test_tracker_sweeps_killed_program): fills its
 * registry, creates `name` beyond it, has a child open that, and dies by
 * SIGKILL. Its tracker must remove all of them. */
int role_leaker_full(int argc, char **argv, const char *name) {
  static mproc_shm *fillers[MPROC__REG_LIMIT];
  mproc_shm *s = NULL;
  mproc_event *ready = NULL;
  mproc_process *p = NULL;
  mproc_shm_opts o = MPROC_SHM_OPTS_INIT;
  names_arg n;
  mproc_init(argc, argv);
  if (fill(fillers, MPROC__REG_LIMIT) != 0) return 2;
  o.name = name;
  if (mproc_shm_new(&s, 4096, &o) != 0) return 3;
  strcpy(mproc_shm_buf(s), "parent");
  if (mproc_event_new(&ready, NULL) != 0) return 4;
  memset(&n, 0, sizeof n);
  snprintf(n.a, sizeof n.a, "%s", name);
  snprintf(n.b, sizeof n.b, "%s", mproc_event_name(ready));
  n.n = 1; /* holds it until killed */
  if (mproc_process_new(&p, t_hold_shm, &n, sizeof n, NULL) ||
      mproc_process_start(p))
    return 5;
  if (mproc_event_wait(ready, 60) != 0) return 6;
  tu_kill_pid(mproc_current_pid());
  return 7;
}
