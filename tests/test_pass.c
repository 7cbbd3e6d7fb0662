/* mproc tests: the pass list — every shareable kind handed to a child and
 * used there, with the parent's handles dropped right after the start;
 * Python-shaped starts in a loop without keeping anything; a child that
 * still holds what it was given after its parent's main has returned; bad
 * pass lists. Every group runs under each start method. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mproc.h"
#include "procs.h"
#include "util.h"

static char created[512][MPROC_SHM_NAME_MAX + 1];
static int ncreated;
static char prefix[16];

static void remember(const char *name) {
  if (ncreated < 512)
    snprintf(created[ncreated++], sizeof created[0], "%s", name);
}

/* ---- every kind, used in the child ------------------------------------------ */

enum {
  E_SHM, E_VALUE, E_ARRAY, E_LOCK, E_RLOCK, E_SEM, E_BSEM, E_COND, E_COND_LOCK,
  E_EVENT, E_BARRIER, E_QUEUE, E_SIMPLE, E_JOINABLE, E_CONN, E_COUNT
};

#define TAKE(i, kind, out) CHILD_CHECK(mproc_inherited((i), (kind), (out)) == 0)

static int use_sync(void) {
  mproc_lock *l;
  mproc_rlock *r;
  mproc_sem *s, *b;
  mproc_cond *c, *c2;
  mproc_event *e;
  mproc_barrier *bar;
  TAKE(E_LOCK, MPROC_KIND_LOCK, &l);
  TAKE(E_RLOCK, MPROC_KIND_RLOCK, &r);
  TAKE(E_SEM, MPROC_KIND_SEM, &s);
  TAKE(E_BSEM, MPROC_KIND_SEM, &b);
  TAKE(E_COND, MPROC_KIND_COND, &c);
  TAKE(E_COND_LOCK, MPROC_KIND_COND, &c2);
  TAKE(E_EVENT, MPROC_KIND_EVENT, &e);
  TAKE(E_BARRIER, MPROC_KIND_BARRIER, &bar);
  CHILD_CHECK(mproc_lock_acquire(l, 10) == 0 && mproc_lock_release(l) == 0);
  CHILD_CHECK(mproc_rlock_acquire(r, 10) == 0);
  CHILD_CHECK(mproc_rlock_acquire(r, 10) == 0 && mproc_rlock_count(r) == 2);
  CHILD_CHECK(mproc_rlock_release(r) == 0 && mproc_rlock_release(r) == 0);
  CHILD_CHECK(mproc_sem_acquire(s, 10) == 0 && mproc_sem_value(s) == 2);
  CHILD_CHECK(mproc_sem_release(b) == MPROC_ERANGE); /* bounded at 1 */
  CHILD_CHECK(mproc_cond_acquire(c, 10) == 0);
  CHILD_CHECK(mproc_cond_notify_all(c) == 0 && mproc_cond_release(c) == 0);
  /* The condition's lock is the very Lock the parent made. */
  CHILD_CHECK(mproc_cond_acquire(c2, 10) == 0);
  CHILD_CHECK(mproc_lock_acquire(l, 0) == MPROC_ETIMEDOUT);
  CHILD_CHECK(mproc_cond_release(c2) == 0);
  CHILD_CHECK(mproc_event_set(e) == 0);
  CHILD_CHECK(mproc_barrier_wait(bar, 10) >= 0); /* one party */
  mproc_lock_free(l);
  mproc_rlock_free(r);
  mproc_sem_free(s);
  mproc_sem_free(b);
  mproc_cond_free(c);
  mproc_cond_free(c2);
  mproc_event_free(e);
  mproc_barrier_free(bar);
  return 0;
}

static int t_every_kind(const void *arg, size_t len) {
  mproc_shm *shm;
  mproc_array *v, *a;
  mproc_queue *q, *sq, *jq;
  mproc_conn *conn;
  void *none = &none;
  int i, rc;
  (void)arg, (void)len;
  CHILD_CHECK(mproc_inherited_count() == E_COUNT);
  CHILD_CHECK(mproc_inherited_kind(E_CONN) == MPROC_KIND_CONN);
  CHILD_CHECK(mproc_inherited_kind(E_COUNT) == MPROC_KIND_NONE);
  /* A wrong kind or index is refused, with a sentence, and takes nothing. */
  CHILD_CHECK(mproc_inherited(E_LOCK, MPROC_KIND_SEM, &none) == MPROC_EINVAL);
  CHILD_CHECK(none == NULL);
  CHILD_CHECK(strstr(mproc_last_error(), "lock") != NULL);
  CHILD_CHECK(mproc_inherited(E_COUNT, MPROC_KIND_LOCK, &none) ==
              MPROC_ENOENT);
  CHILD_CHECK(mproc_inherited(0, MPROC_KIND_SHM, NULL) == MPROC_EINVAL);
  TAKE(E_SHM, MPROC_KIND_SHM, &shm);
  CHILD_CHECK(mproc_inherited(E_SHM, MPROC_KIND_SHM, &none) == MPROC_ESTATE);
  TAKE(E_VALUE, MPROC_KIND_ARRAY, &v);
  TAKE(E_ARRAY, MPROC_KIND_ARRAY, &a);
  TAKE(E_QUEUE, MPROC_KIND_QUEUE, &q);
  TAKE(E_SIMPLE, MPROC_KIND_QUEUE, &sq);
  TAKE(E_JOINABLE, MPROC_KIND_QUEUE, &jq);
  TAKE(E_CONN, MPROC_KIND_CONN, &conn);
  CHILD_CHECK(strcmp(mproc_shm_buf(shm), "from parent") == 0);
  strcpy((char *)mproc_shm_buf(shm) + 100, "from child");
  *(double *)mproc_array_ptr(v) = 3.25;
  for (i = 0; i < 10; i++) ((int32_t *)mproc_array_ptr(a))[i] = -i;
  rc = use_sync();
  if (rc) return rc;
  CHILD_CHECK(mproc_queue_put(q, "q", 2, 10) == 0);
  CHILD_CHECK(mproc_queue_put(sq, "s", 2, 10) == 0);
  CHILD_CHECK(mproc_queue_put(jq, "j", 2, 10) == 0);
  CHILD_CHECK(mproc_conn_send(conn, "done", 5) == 0);
  mproc_shm_free(shm);
  mproc_array_free(v);
  mproc_array_free(a);
  mproc_queue_free(q);
  mproc_queue_free(sq);
  mproc_queue_free(jq);
  mproc_conn_free(conn);
  return 0;
}
MPROC_TASK(t_every_kind);

typedef struct kept {
  mproc_shm *shm;
  mproc_array *v, *a;
  mproc_queue *q, *sq, *jq;
  mproc_event *e;
  mproc_conn *mine;
} kept;

/* Make one of each; `kp` keeps what the parent checks afterwards, and the
 * rest is only in the list. */
static void make_all(mproc_pass *pass, kept *kp, void **drop, size_t *ndrop) {
  mproc_shm *shm;
  mproc_array *v, *a;
  mproc_lock *l;
  mproc_rlock *r;
  mproc_sem *s, *b;
  mproc_cond *c, *c2;
  mproc_event *e;
  mproc_barrier *bar;
  mproc_queue *q, *sq, *jq;
  mproc_queue_opts qo = MPROC_QUEUE_OPTS_INIT;
  mproc_conn *mine, *theirs;
  assert_int_equal(mproc_shm_new(&shm, 4096, NULL), 0);
  strcpy(mproc_shm_buf(shm), "from parent");
  assert_int_equal(mproc_value_new(&v, 'd', NULL, NULL), 0);
  assert_int_equal(mproc_array_new(&a, 'i', 10, NULL, NULL), 0);
  assert_int_equal(mproc_lock_new(&l, NULL), 0);
  assert_int_equal(mproc_rlock_new(&r, NULL), 0);
  assert_int_equal(mproc_sem_new(&s, 3, MPROC_SEMAPHORE, NULL), 0);
  assert_int_equal(mproc_sem_new(&b, 1, MPROC_BOUNDED_SEMAPHORE, NULL), 0);
  assert_int_equal(mproc_cond_new(&c, NULL, NULL, NULL), 0);
  assert_int_equal(mproc_cond_new(&c2, l, NULL, NULL), 0);
  assert_int_equal(mproc_event_new(&e, NULL), 0);
  assert_int_equal(mproc_barrier_new(&bar, 1, NULL, NULL, NULL), 0);
  assert_int_equal(mproc_queue_new(&q, NULL), 0);
  qo.kind = MPROC_SIMPLE_QUEUE;
  assert_int_equal(mproc_queue_new(&sq, &qo), 0);
  qo.kind = MPROC_JOINABLE_QUEUE;
  assert_int_equal(mproc_queue_new(&jq, &qo), 0);
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &mine, &theirs), 0);
  pass[E_SHM] = MPROC_PASS(shm);
  pass[E_VALUE] = MPROC_PASS(v);
  pass[E_ARRAY] = MPROC_PASS(a);
  pass[E_LOCK] = MPROC_PASS(l);
  pass[E_RLOCK] = MPROC_PASS(r);
  pass[E_SEM] = MPROC_PASS(s);
  pass[E_BSEM] = MPROC_PASS(b);
  pass[E_COND] = MPROC_PASS(c);
  pass[E_COND_LOCK] = MPROC_PASS(c2);
  pass[E_EVENT] = MPROC_PASS(e);
  pass[E_BARRIER] = MPROC_PASS(bar);
  pass[E_QUEUE] = MPROC_PASS(q);
  pass[E_SIMPLE] = MPROC_PASS(sq);
  pass[E_JOINABLE] = MPROC_PASS(jq);
  pass[E_CONN] = MPROC_PASS(theirs);
  remember(mproc_shm_name(shm));
  remember(mproc_array_name(v));
  remember(mproc_array_name(a));
  remember(mproc_lock_name(l));
  remember(mproc_rlock_name(r));
  remember(mproc_sem_name(s));
  remember(mproc_sem_name(b));
  remember(mproc_cond_name(c));
  remember(mproc_cond_name(c2));
  remember(mproc_event_name(e));
  remember(mproc_barrier_name(bar));
  remember(mproc_queue_name(q));
  remember(mproc_queue_name(sq));
  remember(mproc_queue_name(jq));
  kp->shm = shm, kp->v = v, kp->a = a, kp->q = q, kp->sq = sq, kp->jq = jq;
  kp->e = e, kp->mine = mine;
  /* The condition goes before its lock: free in any order. */
  drop[0] = c2, drop[1] = l, drop[2] = r, drop[3] = s, drop[4] = b;
  drop[5] = c, drop[6] = bar, drop[7] = theirs;
  *ndrop = 8;
}

static void drop_all(void **d) {
  mproc_cond_free(d[0]);
  mproc_lock_free(d[1]);
  mproc_rlock_free(d[2]);
  mproc_sem_free(d[3]);
  mproc_sem_free(d[4]);
  mproc_cond_free(d[5]);
  mproc_barrier_free(d[6]);
  mproc_conn_free(d[7]);
}

static void expect_msg(mproc_queue *q, const char *want) {
  char buf[8];
  size_t n = 0;
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &n, 60), 0);
  assert_string_equal(buf, want);
}

static void test_every_kind(void **state) {
  mproc_pass pass[E_COUNT];
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_process *p;
  kept k;
  void *drop[8];
  size_t ndrop, n = 0;
  char buf[8];
  int i;
  (void)state;
  make_all(pass, &k, drop, &ndrop);
  o.pass = pass;
  o.n_pass = E_COUNT;
  p = tp_start_with(t_every_kind, NULL, 0, &o);
  /* Right after the start: the child holds its own. */
  drop_all(drop);
  assert_int_equal(mproc_conn_recv(k.mine, buf, sizeof buf, &n), 0);
  assert_string_equal(buf, "done");
  assert_int_equal(tp_join(p), 0);
  assert_string_equal((char *)mproc_shm_buf(k.shm) + 100, "from child");
  assert_true(*(double *)mproc_array_ptr(k.v) == 3.25);
  for (i = 0; i < 10; i++)
    assert_int_equal(((int32_t *)mproc_array_ptr(k.a))[i], -i);
  assert_true(mproc_event_is_set(k.e));
  expect_msg(k.q, "q");
  expect_msg(k.sq, "s");
  expect_msg(k.jq, "j");
  mproc_shm_unlink(k.shm);
  mproc_shm_free(k.shm);
  mproc_array_free(k.v);
  mproc_array_free(k.a);
  mproc_queue_free(k.q);
  mproc_queue_free(k.sq);
  mproc_queue_free(k.jq);
  mproc_event_free(k.e);
  mproc_conn_free(k.mine);
}

/* What the child never takes is released when its target returns. */
static int t_take_nothing(const void *arg, size_t len) {
  (void)arg, (void)len;
  return mproc_inherited_count() == E_COUNT ? 0 : 98;
}
MPROC_TASK(t_take_nothing);

static void test_untaken_released(void **state) {
  mproc_pass pass[E_COUNT];
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  kept k;
  void *drop[8];
  size_t ndrop, n = 0;
  char buf[8];
  (void)state;
  make_all(pass, &k, drop, &ndrop);
  o.pass = pass;
  o.n_pass = E_COUNT;
  assert_int_equal(tp_join(tp_start_with(t_take_nothing, NULL, 0, &o)), 0);
  drop_all(drop);
  /* The child's copy of the pipe end went with it: our end reads EOF. */
  assert_int_equal(mproc_conn_recv(k.mine, buf, sizeof buf, &n), MPROC_EEOF);
  mproc_shm_free(k.shm);
  mproc_array_free(k.v);
  mproc_array_free(k.a);
  mproc_queue_free(k.q);
  mproc_queue_free(k.sq);
  mproc_queue_free(k.jq);
  mproc_event_free(k.e);
  mproc_conn_free(k.mine);
}

/* ---- Python's shape: start in a loop, keep nothing -------------------------- */

#define LOOP 20

static int t_lock_loop(const void *arg, size_t len) {
  mproc_lock *l;
  mproc_queue *q;
  int i;
  CHILD_CHECK(len == sizeof i);
  memcpy(&i, arg, sizeof i);
  TAKE(0, MPROC_KIND_LOCK, &l);
  TAKE(1, MPROC_KIND_QUEUE, &q);
  CHILD_CHECK(mproc_lock_acquire(l, 60) == 0);
  CHILD_CHECK(mproc_queue_put(q, &i, sizeof i, 60) == 0);
  CHILD_CHECK(mproc_lock_release(l) == 0);
  mproc_lock_free(l);
  mproc_queue_free(q);
  return 0;
}
MPROC_TASK(t_lock_loop);

static void test_loop_without_handles(void **state) {
  mproc_lock *l;
  mproc_queue *q, *mine;
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_process *p;
  mproc_pass pass[2];
  int i, seen[LOOP] = {0};
  char name[MPROC_SHM_NAME_MAX + 1];
  (void)state;
  assert_int_equal(mproc_queue_new(&q, NULL), 0);
  snprintf(name, sizeof name, "%s", mproc_queue_name(q));
  remember(name);
  assert_int_equal(mproc_queue_open(&mine, name), 0);
  assert_int_equal(mproc_lock_new(&l, NULL), 0);
  remember(mproc_lock_name(l));
  pass[0] = MPROC_PASS(l);
  pass[1] = MPROC_PASS(q);
  o.pass = pass;
  o.n_pass = 2;
  for (i = 0; i < LOOP; i++) {
    p = tp_start_with(t_lock_loop, &i, sizeof i, &o);
    mproc_process_free(p); /* detached: joined at exit, like Python's */
  }
  mproc_lock_free(l);
  mproc_queue_free(q);
  for (i = 0; i < LOOP; i++) {
    int got = -1;
    size_t n = 0;
    assert_int_equal(mproc_queue_get(mine, &got, sizeof got, &n, 60), 0);
    assert_true(got >= 0 && got < LOOP && !seen[got]);
    seen[got] = 1;
  }
  mproc_queue_free(mine);
}

/* ---- the child outlives its parent's handles and main ---------------------- */

/* The grandchild: waits until its parent has dropped everything and left
 * main, then uses what it was given and reports through a file. */
static int t_after_parent(const void *arg, size_t len) {
  mproc_array *v;
  mproc_queue *q;
  mproc_conn *c;
  char path[512], buf[8];
  size_t n = 0;
  long got = -1;
  CHILD_CHECK(len < sizeof path);
  memcpy(path, arg, len);
  path[len] = '\0';
  TAKE(0, MPROC_KIND_ARRAY, &v);
  TAKE(1, MPROC_KIND_QUEUE, &q);
  TAKE(2, MPROC_KIND_CONN, &c);
  CHILD_CHECK(mproc_conn_recv(c, buf, sizeof buf, &n) == 0); /* "left" */
  CHILD_CHECK(mproc_queue_get(q, &got, sizeof got, &n, 60) == 0);
  *(long *)mproc_array_ptr(v) = got + 1;
  CHILD_CHECK(tu_write_long(path, *(long *)mproc_array_ptr(v)) == 0);
  mproc_array_free(v);
  mproc_queue_free(q);
  mproc_conn_free(c);
  return 0;
}
MPROC_TASK(t_after_parent);

/* A program (a role of this binary): start the grandchild, drop every
 * handle, say so, and return from main; its exit joins the grandchild. */
static int role_parent(int argc, char **argv) {
  mproc_array *v;
  mproc_queue *q;
  mproc_conn *mine, *theirs;
  mproc_pass pass[3];
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_process *p;
  long forty = 40;
  const char *path = argc >= 3 ? strchr(argv[2], ':') : NULL;
  if (path == NULL || mproc_init(argc, argv) != 0) return 90;
  path++;
  o.method = (mproc_start_method)atoi(argv[2]);
  if (mproc_value_new(&v, 'l', NULL, NULL) || mproc_queue_new(&q, NULL) ||
      mproc_pipe(MPROC_PIPE_DUPLEX, &mine, &theirs))
    return 91;
  mproc_queue_put(q, &forty, sizeof forty, 10);
  pass[0] = MPROC_PASS(v);
  pass[1] = MPROC_PASS(q);
  pass[2] = MPROC_PASS(theirs);
  o.pass = pass;
  o.n_pass = 3;
  if (mproc_process_new(&p, t_after_parent, path, strlen(path), &o) ||
      mproc_process_start(p))
    return 92;
  mproc_process_free(p);
  mproc_array_free(v);
  mproc_queue_free(q);
  mproc_conn_free(theirs);
  mproc_conn_send(mine, "left", 5);
  mproc_conn_free(mine);
  return 0;
}

static void test_child_after_parent(void **state) {
  char path[512], arg[600];
  long pid, got = 0;
  (void)state;
  tu_temp_path(path, sizeof path, "after");
  snprintf(arg, sizeof arg, "%d:%s", (int)g_method, path);
  pid = tu_spawn_self("--role-parent", arg);
  assert_true(pid > 0);
  assert_int_equal(tu_wait_pid(pid), 0);
  /* The program's exit joined the grandchild, which wrote 40 + 1. */
  assert_int_equal(tu_read_long(path, &got, 60), 0);
  assert_int_equal(got, 41);
  remove(path);
}

/* ---- bad pass lists ---------------------------------------------------------- */

static int t_never(const void *arg, size_t len) {
  (void)arg, (void)len;
  return 0;
}
MPROC_TASK(t_never);

static void test_bad_pass_lists(void **state) {
  mproc_pass pass[MPROC_PASS_MAX + 1];
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_process *p = NULL;
  mproc_lock *l;
  mproc_sem *s;
  mproc_conn *a, *b;
  size_t i;
  (void)state;
  assert_int_equal(mproc_lock_new(&l, NULL), 0);
  assert_int_equal(mproc_sem_new(&s, 1, MPROC_SEMAPHORE, NULL), 0);
  remember(mproc_lock_name(l));
  remember(mproc_sem_name(s));
  assert_int_equal(mproc_pipe(MPROC_PIPE_DUPLEX, &a, &b), 0);
  o.method = g_method;
  o.n_pass = 1; /* and no list */
  assert_int_equal(mproc_process_new(&p, t_never, NULL, 0, &o), MPROC_EINVAL);
  o.pass = pass;
  pass[0].kind = MPROC_KIND_LOCK; /* a NULL entry */
  pass[0].obj = NULL;
  assert_int_equal(mproc_process_new(&p, t_never, NULL, 0, &o), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "NULL"));
  pass[0].kind = (mproc_kind)77; /* not a kind */
  pass[0].obj = l;
  assert_int_equal(mproc_process_new(&p, t_never, NULL, 0, &o), MPROC_EINVAL);
  pass[0] = MPROC_PASS(l); /* the same object twice */
  pass[1] = MPROC_PASS(s);
  pass[2] = MPROC_PASS(l);
  o.n_pass = 3;
  assert_int_equal(mproc_process_new(&p, t_never, NULL, 0, &o), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "repeats"));
  for (i = 0; i <= MPROC_PASS_MAX; i++) pass[i] = MPROC_PASS(l);
  o.n_pass = MPROC_PASS_MAX + 1;
  assert_int_equal(mproc_process_new(&p, t_never, NULL, 0, &o), MPROC_ERANGE);
  /* A Lock listed as a Semaphore: refused at the start, nothing started. */
  pass[0].kind = MPROC_KIND_SEM;
  pass[0].obj = l;
  o.n_pass = 1;
  assert_int_equal(mproc_process_new(&p, t_never, NULL, 0, &o), 0);
  assert_int_equal(mproc_process_start(p), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "listed as"));
  mproc_process_free(p);
  /* A closed pipe end. */
  pass[0] = MPROC_PASS(l);
  pass[1] = MPROC_PASS(b);
  o.n_pass = 2;
  assert_int_equal(mproc_process_new(&p, t_never, NULL, 0, &o), 0);
  mproc_conn_close(b);
  assert_int_equal(mproc_process_start(p), MPROC_ECLOSED);
  mproc_process_free(p);
  /* Outside a child: nothing was passed. */
  assert_int_equal(mproc_inherited_count(), 0);
  {
    mproc_lock *none = l;
    assert_int_equal(mproc_inherited(0, MPROC_KIND_LOCK, &none),
                     MPROC_ENOENT);
    assert_null(none);
  }
  assert_string_equal(mproc_kind_name(MPROC_KIND_CONN), "pipe end");
  mproc_conn_free(a);
  mproc_conn_free(b);
  mproc_sem_free(s);
  mproc_lock_free(l);
}

/* ---- nothing left ------------------------------------------------------------ */

static void test_nothing_left(void **state) {
  int i, now = tu_count_shm_settled(prefix);
  (void)state;
  if (now > 0) {
    char names[8][64];
    int k = tu_list_shm(prefix, names, 8);
    for (i = 0; i < k && i < 8; i++) print_error("left: %s\n", names[i]);
    fail_msg("%d %s-* names left in /dev/shm", now, prefix);
  }
  for (i = 0; i < ncreated; i++) {
    mproc_shm *s = NULL;
    mproc_lock *l = NULL;
    int a = mproc_shm_open(&s, created[i]);
    int b = mproc_lock_open(&l, created[i]);
    mproc_shm_free(s);
    mproc_lock_free(l);
    if (a != MPROC_ENOENT || b != MPROC_ENOENT)
      fail_msg("shared object \"%s\" was left behind", created[i]);
  }
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_kind),
      cmocka_unit_test(test_untaken_released),
      cmocka_unit_test(test_loop_without_handles),
      cmocka_unit_test(test_child_after_parent),
      cmocka_unit_test(test_bad_pass_lists),
      cmocka_unit_test(test_nothing_left),
  };
  tu_set_argv0(argv[0]);
  if (argc >= 3 && strcmp(argv[1], "--role-parent") == 0)
    return role_parent(argc, argv);
  if (getenv("MPROC_NAME_PREFIX")) {
    snprintf(prefix, sizeof prefix, "%s", getenv("MPROC_NAME_PREFIX"));
  } else {
    snprintf(prefix, sizeof prefix, "tp%ld", mproc_current_pid() % 1000000);
    tu_setenv("MPROC_NAME_PREFIX", prefix);
  }
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  return TP_RUN_PER_METHOD("pass", tests) ? 1 : 0;
}
