/* mproc tests: the Manager in one process — every proxy kind's calls and
 * Python's error cases, nested proxies released with their owner,
 * registered types, names, bad input, a blocked call that holds up no
 * one else, shutdown waking a blocked call; and the wire's robustness:
 * wrong, missing and replayed authkeys, garbage, a 4 GiB length header,
 * malformed requests, thousands of connects. test_manager_procs.c has
 * the cross-process cases under every start method. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "test_manager.h"

mproc_manager *tm_start(const char *address) {
  mproc_manager_opts o = MPROC_MANAGER_OPTS_INIT;
  mproc_manager *m = NULL;
  int rc;
  o.address = address;
  o.method = g_method;
  rc = mproc_manager_start(&m, &o);
  if (rc != 0) fail_msg("manager_start: %s", mproc_last_error());
  return m;
}

void tm_expect(mproc_proxy *d, const char *key, const char *value) {
  void *v = NULL;
  size_t n = 0;
  int rc = mproc_dict_get(d, key, strlen(key), &v, &n);
  if (rc != 0) fail_msg("dict_get(%s): %s", key, mproc_last_error());
  assert_int_equal(n, strlen(value));
  assert_memory_equal(v, value, n);
  mproc_free(v);
}

static void expect_items(mproc_items *it, const char *const *want, size_t n) {
  size_t i, len;
  const void *p;
  assert_int_equal(mproc_items_count(it), n);
  for (i = 0; i < n; i++) {
    assert_int_equal(mproc_items_get(it, i, &p, &len), 0);
    assert_int_equal(len, strlen(want[i]));
    assert_memory_equal(p, want[i], len);
  }
  mproc_items_free(it);
}

/* ---- dict ------------------------------------------------------------------ */

static void test_dict(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *d;
  mproc_items *it;
  mproc_bytes pairs[4] = {{"c", 1}, {"3", 1}, {"a", 1}, {"10", 2}};
  static const char *const keys[] = {"a", "b", "c"};
  static const char *const items[] = {"a", "10", "b", "2", "c", "3"};
  void *v;
  size_t n;
  (void)state;
  TM_MAKE(mproc_manager_dict(m, &d));
  assert_int_equal(mproc_proxy_type_of(d), MPROC_PROXY_DICT);
  assert_int_equal(mproc_dict_set(d, S("a"), S("1")), 0);
  assert_int_equal(mproc_dict_set(d, S("b"), S("2")), 0);
  tm_expect(d, "a", "1");
  assert_int_equal(mproc_dict_contains(d, S("a")), 1);
  assert_int_equal(mproc_dict_contains(d, S("zz")), 0);
  assert_int_equal(mproc_dict_get(d, S("zz"), &v, &n), MPROC_ENOENT);
  assert_int_equal(mproc_dict_update(d, pairs, 2), 0);
  assert_int_equal(mproc_dict_len(d, &n), 0);
  assert_int_equal(n, 3);
  assert_int_equal(mproc_dict_keys(d, &it), 0);
  expect_items(it, keys, 3);
  assert_int_equal(mproc_dict_items(d, &it), 0);
  expect_items(it, items, 6);
  assert_int_equal(mproc_dict_setdefault(d, S("a"), S("x"), &v, &n), 0);
  assert_int_equal(n, 2);
  mproc_free(v);
  assert_int_equal(mproc_dict_setdefault(d, S("new"), S("x"), &v, &n), 0);
  assert_memory_equal(v, "x", 1);
  mproc_free(v);
  assert_int_equal(mproc_dict_pop(d, S("new"), &v, &n), 0);
  mproc_free(v);
  assert_int_equal(mproc_dict_pop(d, S("new"), &v, &n), MPROC_ENOENT);
  assert_int_equal(mproc_dict_delete(d, S("b")), 0);
  assert_int_equal(mproc_dict_delete(d, S("b")), MPROC_ENOENT);
  /* Empty keys and values, and big ones, are bytes like any. */
  assert_int_equal(mproc_dict_set(d, "", 0, "", 0), 0);
  tm_expect(d, "", "");
  {
    size_t big = 3 << 20;
    char *b = malloc(big);
    assert_non_null(b);
    memset(b, 'q', big);
    assert_int_equal(mproc_dict_set(d, S("big"), b, big), 0);
    assert_int_equal(mproc_dict_get(d, S("big"), &v, &n), 0);
    assert_int_equal(n, big);
    assert_memory_equal(v, b, big);
    mproc_free(v);
    free(b);
  }
  assert_int_equal(mproc_dict_clear(d), 0);
  assert_int_equal(mproc_dict_len(d, &n), 0);
  assert_int_equal(n, 0);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* ---- list ------------------------------------------------------------------ */

static void test_list(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *l;
  mproc_items *it;
  mproc_bytes abc[3] = {{"a", 1}, {"b", 1}, {"c", 1}};
  mproc_bytes xy[2] = {{"x", 1}, {"y", 1}};
  static const char *const all[] = {"z", "a", "x", "y", "c", "a"};
  static const char *const tail[] = {"c", "a"};
  void *v;
  size_t n;
  (void)state;
  TM_MAKE(mproc_manager_list(m, &l));
  assert_int_equal(mproc_list_extend(l, abc, 3), 0);
  assert_int_equal(mproc_list_append(l, S("a")), 0);
  assert_int_equal(mproc_list_get(l, -1, &v, &n), 0);
  assert_memory_equal(v, "a", 1);
  mproc_free(v);
  assert_int_equal(mproc_list_get(l, 4, &v, &n), MPROC_ERANGE);
  assert_int_equal(mproc_list_get(l, -5, &v, &n), MPROC_ERANGE);
  assert_int_equal(mproc_list_set_slice(l, 1, 2, xy, 2), 0); /* a x y c a */
  assert_int_equal(mproc_list_insert(l, -100, S("z")), 0);   /* clamped */
  assert_int_equal(mproc_list_slice(l, 0, 100, &it), 0);
  expect_items(it, all, 6);
  assert_int_equal(mproc_list_slice(l, -2, 100, &it), 0);
  expect_items(it, tail, 2);
  assert_int_equal(mproc_list_slice(l, 4, 2, &it), 0);
  expect_items(it, NULL, 0);
  assert_int_equal(mproc_list_count(l, S("a"), &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(mproc_list_index(l, S("x"), &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(mproc_list_index(l, S("nope"), &n), MPROC_ENOENT);
  assert_int_equal(mproc_list_remove(l, S("a")), 0); /* the first */
  assert_int_equal(mproc_list_remove(l, S("nope")), MPROC_ENOENT);
  assert_int_equal(mproc_list_pop(l, 0, &v, &n), 0);
  assert_memory_equal(v, "z", 1);
  mproc_free(v);
  assert_int_equal(mproc_list_set(l, 0, S("X")), 0);
  assert_int_equal(mproc_list_set(l, 10, S("X")), MPROC_ERANGE);
  assert_int_equal(mproc_list_set_slice(l, 0, 100, NULL, 0), 0); /* del */
  assert_int_equal(mproc_list_len(l, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(mproc_list_pop(l, -1, &v, &n), MPROC_ERANGE);
  mproc_proxy_free(l);
  mproc_manager_free(m);
}

/* ---- Namespace, Value, Array, set ------------------------------------------ */

static void test_ns_value_array_set(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *ns, *v, *a, *s;
  int32_t init[4] = {1, 2, 3, 4}, got[4], two[2] = {20, 30};
  double d = 0;
  void *x;
  size_t n;
  mproc_items *it;
  (void)state;
  TM_MAKE(mproc_manager_namespace(m, &ns));
  assert_int_equal(mproc_ns_set(ns, "x", S("10")), 0);
  assert_int_equal(mproc_ns_get(ns, "x", &x, &n), 0);
  assert_int_equal(n, 2);
  mproc_free(x);
  assert_int_equal(mproc_ns_get(ns, "y", &x, &n), MPROC_ENOENT);
  assert_int_equal(mproc_ns_set(ns, "_private", S("1")), MPROC_EINVAL);
  assert_int_equal(mproc_ns_set(ns, "", S("1")), MPROC_EINVAL);
  assert_int_equal(mproc_ns_delete(ns, "x"), 0);
  assert_int_equal(mproc_ns_delete(ns, "x"), MPROC_ENOENT);

  TM_MAKE(mproc_manager_value(m, 'd', NULL, &v));
  assert_int_equal(mproc_mvalue_typecode(v), 'd');
  assert_int_equal(mproc_mvalue_get(v, &d), 0);
  assert_true(d == 0.0);
  d = 3.1415927;
  assert_int_equal(mproc_mvalue_set(v, &d), 0);
  d = 0;
  assert_int_equal(mproc_mvalue_get(v, &d), 0);
  assert_true(d == 3.1415927);

  TM_MAKE(mproc_manager_array(m, 'i', 4, init, &a));
  assert_int_equal(mproc_marray_len(a, &n), 0);
  assert_int_equal(n, 4);
  assert_int_equal(mproc_marray_write(a, 1, 2, two), 0);
  assert_int_equal(mproc_marray_read(a, 0, 4, got), 0);
  assert_int_equal(got[0], 1);
  assert_int_equal(got[1], 20);
  assert_int_equal(got[2], 30);
  assert_int_equal(got[3], 4);
  assert_int_equal(mproc_marray_read(a, 3, 2, got), MPROC_ERANGE);
  assert_int_equal(mproc_marray_write(a, 5, 1, two), MPROC_ERANGE);
  assert_int_equal(mproc_manager_array(m, 'z', 1, NULL, &s), MPROC_EINVAL);
  assert_null(s);

  TM_MAKE(mproc_manager_set(m, &s));
  assert_int_equal(mproc_set_add(s, S("a")), 0);
  assert_int_equal(mproc_set_add(s, S("a")), 0);
  assert_int_equal(mproc_set_add(s, S("b")), 0);
  assert_int_equal(mproc_set_len(s, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(mproc_set_contains(s, S("a")), 1);
  assert_int_equal(mproc_set_remove(s, S("zz")), MPROC_ENOENT);
  assert_int_equal(mproc_set_discard(s, S("zz")), 0);
  assert_int_equal(mproc_set_discard(s, S("a")), 0);
  assert_int_equal(mproc_set_items(s, &it), 0);
  assert_int_equal(mproc_items_count(it), 1);
  mproc_items_free(it);
  assert_int_equal(mproc_set_pop(s, &x, &n), 0);
  mproc_free(x);
  assert_int_equal(mproc_set_pop(s, &x, &n), MPROC_ENOENT);
  mproc_proxy_free(ns);
  mproc_proxy_free(v);
  mproc_proxy_free(a);
  mproc_proxy_free(s);
  mproc_manager_free(m);
}

/* ---- queues and the sync kinds in one process -------------------------------- */

static void test_queue(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *q, *j;
  void *v;
  size_t n;
  (void)state;
  TM_MAKE(mproc_manager_queue(m, 2, &q));
  assert_int_equal(mproc_mqueue_put(q, S("1"), 0), 0);
  assert_int_equal(mproc_mqueue_put(q, S("2"), 0), 0);
  assert_int_equal(mproc_mqueue_put(q, S("3"), 0), MPROC_EFULL);
  assert_int_equal(mproc_mqueue_put(q, S("3"), 0.05), MPROC_EFULL);
  assert_int_equal(mproc_mqueue_qsize(q, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(mproc_mqueue_get(q, 0, &v, &n), 0);
  assert_memory_equal(v, "1", 1); /* FIFO */
  mproc_free(v);
  assert_int_equal(mproc_mqueue_get(q, 1, &v, &n), 0);
  mproc_free(v);
  assert_int_equal(mproc_mqueue_get(q, 0, &v, &n), MPROC_EEMPTY);
  assert_int_equal(mproc_mqueue_get(q, 0.05, &v, &n), MPROC_EEMPTY);
  assert_int_equal(mproc_mqueue_get(q, NAN, &v, &n), MPROC_EINVAL);
  assert_int_equal(mproc_mqueue_task_done(q), MPROC_EINVAL); /* plain */
  TM_MAKE(mproc_manager_joinable_queue(m, 0, &j));
  assert_int_equal(mproc_mqueue_join(j, 0), 0);
  assert_int_equal(mproc_mqueue_put(j, S("w"), 0), 0);
  assert_int_equal(mproc_mqueue_join(j, 0.05), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_mqueue_get(j, 0, &v, &n), 0);
  mproc_free(v);
  assert_int_equal(mproc_mqueue_task_done(j), 0);
  assert_int_equal(mproc_mqueue_task_done(j), MPROC_ESTATE);
  assert_int_equal(mproc_mqueue_join(j, 10), 0);
  mproc_proxy_free(q);
  mproc_proxy_free(j);
  mproc_manager_free(m);
}

static void test_sync(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *l, *l2, *r, *r2, *s, *b, *e, *c, *bar;
  long v;
  int parties, waiting, broken;
  (void)state;
  TM_MAKE(mproc_manager_lock(m, &l));
  TM_MAKE(mproc_proxy_open(&l2, mproc_manager_address(m),
                           mproc_manager_authkey(m, NULL),
                           32, mproc_proxy_id(l), 10));
  assert_int_equal(mproc_mlock_acquire(l, 0), 0);
  assert_int_equal(mproc_mlock_locked(l2), 1);
  assert_int_equal(mproc_mlock_acquire(l2, 0), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_mlock_acquire(l2, 0.05), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_mlock_release(l2), 0); /* a Lock: anyone may */
  assert_int_equal(mproc_mlock_release(l), MPROC_ESTATE);
  TM_MAKE(mproc_manager_rlock(m, &r));
  TM_MAKE(mproc_proxy_open(&r2, mproc_manager_address(m),
                           mproc_manager_authkey(m, NULL), 32,
                           mproc_proxy_id(r), 10));
  assert_int_equal(mproc_mlock_acquire(r, 0), 0);
  assert_int_equal(mproc_mlock_acquire(r, 0), 0); /* recursive */
  assert_int_equal(mproc_mlock_acquire(r2, 0), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_mlock_release(r2), MPROC_EPERM);
  assert_int_equal(mproc_mlock_release(r), 0);
  assert_int_equal(mproc_mlock_release(r), 0);
  assert_int_equal(mproc_mlock_acquire(r2, 0), 0);
  assert_int_equal(mproc_mlock_release(r2), 0);
  TM_MAKE(mproc_manager_semaphore(m, 2, &s));
  assert_int_equal(mproc_mlock_acquire(s, 0), 0);
  assert_int_equal(mproc_msem_value(s, &v), 0);
  assert_int_equal(v, 1);
  assert_int_equal(mproc_mlock_release(s), 0);
  assert_int_equal(mproc_mlock_release(s), 0); /* unbounded: 3 */
  mproc_proxy_free(s);
  TM_MAKE(mproc_manager_bounded_semaphore(m, 1, &b));
  assert_int_equal(mproc_mlock_release(b), MPROC_ERANGE);
  assert_int_equal(mproc_manager_semaphore(m, -1, &s), MPROC_EINVAL);
  mproc_proxy_free(s);
  TM_MAKE(mproc_manager_event(m, &e));
  assert_int_equal(mproc_mevent_is_set(e), 0);
  assert_int_equal(mproc_mevent_wait(e, 0.05), 0);
  assert_int_equal(mproc_mevent_set(e), 0);
  assert_int_equal(mproc_mevent_wait(e, MPROC_FOREVER), 1);
  assert_int_equal(mproc_mevent_clear(e), 0);
  TM_MAKE(mproc_manager_condition(m, l, &c));
  assert_int_equal(mproc_mcond_wait(c, 0), MPROC_EPERM);
  assert_int_equal(mproc_mlock_acquire(c, 0), 0);
  assert_int_equal(mproc_mlock_locked(l), 1); /* the lock it was given */
  assert_int_equal(mproc_mcond_wait(c, 0.05), 0); /* timed out, relocked */
  assert_int_equal(mproc_mlock_locked(l), 1);
  assert_int_equal(mproc_mcond_notify(c, -1), 0);
  assert_int_equal(mproc_mlock_release(c), 0);
  assert_int_equal(mproc_mcond_notify(c, 1), MPROC_EPERM);
  TM_MAKE(mproc_manager_barrier(m, 1, &bar));
  assert_int_equal(mproc_mbarrier_wait(bar, 1), 0);
  assert_int_equal(mproc_mbarrier_info(bar, &parties, &waiting, &broken), 0);
  assert_int_equal(parties, 1);
  assert_int_equal(broken, 0);
  assert_int_equal(mproc_mbarrier_abort(bar), 0);
  assert_int_equal(mproc_mbarrier_wait(bar, 1), MPROC_EBROKEN);
  assert_int_equal(mproc_mbarrier_reset(bar), 0);
  assert_int_equal(mproc_mbarrier_wait(bar, 1), 0);
  assert_int_equal(mproc_manager_barrier(m, 0, &s), MPROC_EINVAL);
  mproc_proxy_free(l);
  mproc_proxy_free(l2);
  mproc_proxy_free(r);
  mproc_proxy_free(r2);
  mproc_proxy_free(b);
  mproc_proxy_free(e);
  mproc_proxy_free(c);
  mproc_proxy_free(bar);
  mproc_manager_free(m);
}

/* ---- a waiting call blocks nobody; shutdown wakes it ------------------------- */

typedef struct waiter_job {
  mproc_proxy *q;
  double timeout;
  int rc;
} waiter_job;

static void waiter(void *arg) {
  waiter_job *j = arg;
  void *v = NULL;
  size_t n;
  j->rc = mproc_mqueue_get(j->q, j->timeout, &v, &n);
  mproc_free(v);
}

static void test_blocking_and_shutdown(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *q, *d, *e;
  waiter_job j;
  uv_thread_t t;
  int i;
  (void)state;
  TM_MAKE(mproc_manager_queue(m, 0, &q));
  TM_MAKE(mproc_manager_dict(m, &d));
  TM_MAKE(mproc_manager_event(m, &e));
  j.q = q;
  j.timeout = MPROC_FOREVER;
  j.rc = 1;
  assert_int_equal(uv_thread_create(&t, waiter, &j), 0);
  /* While the get waits in the server, other calls go on. */
  for (i = 0; i < 200; i++)
    assert_int_equal(mproc_dict_set(d, S("k"), S("v")), 0);
  assert_int_equal(mproc_mevent_wait(e, 0.01), 0);
  assert_int_equal(j.rc, 1); /* still waiting: nothing was put */
  assert_int_equal(mproc_manager_shutdown(m), 0);
  uv_thread_join(&t);
  assert_int_equal(j.rc, MPROC_EEOF);
  assert_int_equal(mproc_dict_set(d, S("k"), S("v")), MPROC_EEOF);
  assert_int_equal(mproc_manager_shutdown(m), 0); /* twice: harmless */
  mproc_proxy_free(q);
  mproc_proxy_free(d);
  mproc_proxy_free(e);
  mproc_manager_free(m);
}

/* ---- Condition: notify_all wakes every waiter, with its own lock ----------- */

typedef struct cond_job {
  mproc_proxy *c;
  uv_sem_t in; /* posted once the waiter holds the lock */
  int rc;
} cond_job;

static void cond_waiter(void *arg) {
  cond_job *j = arg;
  j->rc = mproc_mlock_acquire(j->c, 60);
  uv_sem_post(&j->in);
  if (j->rc == 0) j->rc = mproc_mcond_wait(j->c, 60);
  if (mproc_mlock_release(j->c) != 0) j->rc = -100;
}

static void test_condition_notify_all(void **state) {
  mproc_manager *m = tm_start(NULL);
  const void *key = mproc_manager_authkey(m, NULL);
  mproc_proxy *c;
  cond_job j[2];
  uv_thread_t t[2];
  int i;
  (void)state;
  TM_MAKE(mproc_manager_condition(m, NULL, &c));
  for (i = 0; i < 2; i++) {
    TM_MAKE(mproc_proxy_open(&j[i].c, mproc_manager_address(m), key, 32,
                             mproc_proxy_id(c), 10));
    assert_int_equal(uv_sem_init(&j[i].in, 0), 0);
    j[i].rc = 1;
    assert_int_equal(uv_thread_create(&t[i], cond_waiter, &j[i]), 0);
    uv_sem_wait(&j[i].in);
  }
  /* Taking the lock proves both wait: each held it until its wait. */
  assert_int_equal(mproc_mlock_acquire(c, 60), 0);
  assert_int_equal(mproc_mcond_notify(c, -1), 0);
  assert_int_equal(mproc_mlock_release(c), 0);
  for (i = 0; i < 2; i++) {
    uv_thread_join(&t[i]);
    assert_int_equal(j[i].rc, 1);
    uv_sem_destroy(&j[i].in);
    mproc_proxy_free(j[i].c);
  }
  mproc_proxy_free(c);
  mproc_manager_free(m);
}

/* ---- nested proxies, names, open by id ---------------------------------------- */

static void test_nested(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *d, *l, *l2, *again, *n1, *n2;
  const void *key = mproc_manager_authkey(m, NULL);
  uint32_t lid;
  size_t n;
  void *v;
  (void)state;
  TM_MAKE(mproc_manager_dict(m, &d));
  TM_MAKE(mproc_manager_list(m, &l));
  lid = mproc_proxy_id(l);
  assert_int_equal(mproc_list_append(l, S("inner")), 0);
  assert_int_equal(mproc_dict_set_proxy(d, S("l"), l), 0);
  mproc_proxy_free(l); /* the dict holds it now */
  assert_int_equal(mproc_dict_get(d, S("l"), &v, &n), MPROC_ESTATE);
  TM_MAKE(mproc_dict_get_proxy(d, S("l"), &l2));
  assert_int_equal(mproc_proxy_type_of(l2), MPROC_PROXY_LIST);
  assert_int_equal(mproc_list_len(l2, &n), 0);
  assert_int_equal(n, 1);
  mproc_proxy_free(l2);
  /* Released with its owner: once the dict's value goes, so does it. */
  assert_int_equal(mproc_dict_delete(d, S("l")), 0);
  assert_int_equal(mproc_proxy_open(&again, mproc_manager_address(m), key, 32,
                                    lid, 10),
                   MPROC_ENOENT);
  assert_null(again);
  assert_int_equal(mproc_dict_get_proxy(d, S("zz"), &again), MPROC_ENOENT);
  /* Names: every asker gets the one object. */
  TM_MAKE(mproc_manager_get(m, "jobs", MPROC_PROXY_QUEUE, &n1));
  TM_MAKE(mproc_manager_get(m, "jobs", MPROC_PROXY_QUEUE, &n2));
  assert_int_equal(mproc_proxy_id(n1), mproc_proxy_id(n2));
  assert_int_equal(mproc_manager_get(m, "jobs", MPROC_PROXY_DICT, &again),
                   MPROC_EINVAL);
  assert_int_equal(mproc_manager_get(m, "v", MPROC_PROXY_VALUE, &again),
                   MPROC_EINVAL);
  mproc_proxy_free(n1);
  mproc_proxy_free(n2);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

/* ---- a registered type ------------------------------------------------------------ */

static int counter_create(void **state, const void *arg, size_t len) {
  long *c = calloc(1, sizeof *c);
  if (c == NULL) return MPROC_ENOMEM;
  if (len == sizeof *c) memcpy(c, arg, len);
  *state = c;
  return 0;
}

static int counter_call(void *state, const char *method, const void *arg,
                        size_t len, mproc_buf *out) {
  long *c = state;
  (void)arg, (void)len;
  if (strcmp(method, "incr") == 0) (*c)++;
  else if (strcmp(method, "fail") == 0)
    return mproc_task_fail(out, MPROC_ERANGE, "asked to fail");
  else if (strcmp(method, "get") != 0)
    return mproc_task_fail(out, MPROC_EINVAL, "no method %s", method);
  return mproc_buf_write(out, c, sizeof *c);
}

static void counter_destroy(void *state) { free(state); }

static const mproc_mtype counter = {"counter", counter_create, counter_call,
                                    counter_destroy};
MPROC_MANAGER_TYPE(counter);

static void test_registered(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *c, *x;
  long start = 41, *got;
  void *v;
  size_t n;
  (void)state;
  TM_MAKE(mproc_manager_create(m, "counter", &start, sizeof start, &c));
  assert_int_equal(mproc_proxy_type_of(c), MPROC_PROXY_REGISTERED);
  assert_int_equal(mproc_proxy_call(c, "incr", NULL, 0, &v, &n), 0);
  got = v;
  assert_int_equal(n, sizeof *got);
  assert_int_equal(*got, 42);
  mproc_free(v);
  assert_int_equal(mproc_proxy_call(c, "fail", NULL, 0, &v, &n), MPROC_ERANGE);
  assert_non_null(strstr(mproc_last_error(), "asked to fail"));
  assert_int_equal(mproc_proxy_call(c, "nope", NULL, 0, &v, &n), MPROC_EINVAL);
  assert_int_equal(mproc_manager_create(m, "no-such", NULL, 0, &x),
                   MPROC_ENOENT);
  assert_int_equal(mproc_manager_register(&counter), 0); /* again: fine */
  mproc_proxy_free(c);
  mproc_manager_free(m);
}

/* ---- bad input -------------------------------------------------------------------- */

static void test_bad_input(void **state) {
  mproc_manager_opts o = MPROC_MANAGER_OPTS_INIT;
  mproc_manager_opts zero;
  mproc_manager *m = NULL, *bad = NULL;
  mproc_proxy *d, *l, *none = NULL;
  void *v;
  size_t n;
  (void)state;
  memset(&zero, 0, sizeof zero); /* an opts struct that skipped INIT */
  assert_int_equal(mproc_manager_start(&bad, &zero), MPROC_EINVAL);
  assert_int_equal(mproc_manager_start(NULL, &o), MPROC_EINVAL);
  o.address = "";
  assert_int_equal(mproc_manager_start(&bad, &o), MPROC_EINVAL);
  o.address = NULL;
  o.authkey = NULL;
  o.key_len = 3;
  assert_int_equal(mproc_manager_start(&bad, &o), MPROC_EINVAL);
  o.key_len = 0;
  o.timeout = NAN;
  assert_int_equal(mproc_manager_start(&bad, &o), MPROC_EINVAL);
  assert_null(bad);
  m = tm_start(NULL);
  TM_MAKE(mproc_manager_dict(m, &d));
  TM_MAKE(mproc_manager_list(m, &l));
  assert_int_equal(mproc_dict_get(l, S("k"), &v, &n), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "list proxy"));
  assert_int_equal(mproc_list_append(d, S("k")), MPROC_EINVAL);
  assert_int_equal(mproc_dict_set(NULL, S("k"), S("v")), MPROC_EINVAL);
  assert_int_equal(mproc_dict_set(d, NULL, 3, S("v")), MPROC_EINVAL);
  assert_int_equal(mproc_dict_get(d, S("k"), NULL, &n), MPROC_EINVAL);
  assert_int_equal(mproc_manager_dict(NULL, &none), MPROC_EINVAL);
  assert_int_equal(mproc_manager_dict(m, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_mqueue_put(d, S("x"), 0), MPROC_EINVAL);
  assert_int_equal(mproc_proxy_open(&none, mproc_manager_address(m), NULL, 0,
                                    0, 1),
                   MPROC_EINVAL);
  assert_int_equal(mproc_manager_connect(&bad, NULL, NULL, 0, 1), MPROC_EINVAL);
  assert_int_equal(mproc_manager_shutdown(NULL), MPROC_EINVAL);
  assert_null(mproc_manager_address(NULL));
  assert_int_equal(mproc_proxy_id(NULL), 0);
  mproc_proxy_free(NULL);
  mproc_manager_free(NULL);
  mproc_items_free(NULL);
  mproc_proxy_free(d);
  mproc_proxy_free(l);
  mproc_manager_free(m);
}

/* ---- the wire: keys, garbage, malformed requests, many connects ----------------- */

static void test_auth(void **state) {
  mproc_manager *m = tm_start("127.0.0.1:0");
  mproc_manager *c = NULL;
  const char *at = mproc_manager_address(m);
  mproc_conn *raw;
  mproc_proxy *d;
  (void)state;
  assert_int_equal(mproc_manager_connect(&c, at, "wrong", 5, 10), MPROC_EAUTH);
  assert_null(c);
  assert_int_equal(mproc_manager_connect(&c, at, NULL, 0, 10), MPROC_EAUTH);
  /* Garbage instead of an answer, and a 4 GiB length header: the server
   * drops the connection without reading on, and goes on serving. */
  TM_MAKE(mproc_client_connect(&raw, at, MPROC_FAMILY_DEFAULT, NULL, 0, 10));
  assert_int_equal(mproc_conn_send(raw, S("garbage that is no answer")), 0);
  {
    void *msg = NULL;
    size_t n;
    int rc;
    while ((rc = mproc_conn_recv_alloc(raw, &msg, &n)) == 0) mproc_free(msg);
    assert_int_equal(rc, MPROC_EEOF);
  }
  mproc_conn_free(raw);
  TM_MAKE(mproc_manager_connect(&c, at, mproc_manager_authkey(m, NULL), 32, 10));
  TM_MAKE(mproc_manager_dict(c, &d));
  assert_int_equal(mproc_dict_set(d, S("still"), S("serving")), 0);
  mproc_proxy_free(d);
  mproc_manager_free(c); /* a connected manager: the server goes on */
  mproc_manager_free(m);
}

/* A client with the key, in a thread: it answers whatever challenge the
 * test's keyless listener sends (and then fails: nobody welcomes it). */
typedef struct answerer {
  const char *address;
  const void *key;
} answerer;

static void answer_thread(void *arg) {
  answerer *a = arg;
  mproc_conn *c = NULL;
  (void)mproc_client_connect(&c, a->address, MPROC_FAMILY_DEFAULT, a->key, 32,
                             30);
  mproc_conn_free(c);
}

static void recv_is(mproc_conn *c, const char *want) {
  void *m = NULL;
  size_t n = 0;
  assert_int_equal(mproc_conn_recv_alloc(c, &m, &n), 0);
  assert_int_equal(n, strlen(want));
  assert_memory_equal(m, want, n);
  mproc_free(m);
}

/* A replayed answer: the right answer to one connection's challenge
 * (got by relaying it to a real key holder) fails on another, whose
 * challenge is fresh; on its own connection it is welcome. */
static void test_replayed_answer(void **state) {
  mproc_manager *m = tm_start("127.0.0.1:0");
  const char *at = mproc_manager_address(m);
  mproc_listener *l;
  mproc_conn *a, *b, *relay;
  answerer job;
  uv_thread_t t;
  void *ca = NULL, *cb = NULL, *ans = NULL;
  size_t can, cbn, ansn;
  (void)state;
  TM_MAKE(mproc_client_connect(&a, at, MPROC_FAMILY_DEFAULT, NULL, 0, 10));
  TM_MAKE(mproc_client_connect(&b, at, MPROC_FAMILY_DEFAULT, NULL, 0, 10));
  assert_int_equal(mproc_conn_recv_alloc(a, &ca, &can), 0);
  assert_int_equal(mproc_conn_recv_alloc(b, &cb, &cbn), 0);
  assert_true(can != cbn || memcmp(ca, cb, can) != 0); /* fresh each */
  TM_MAKE(mproc_listener_new(&l, "127.0.0.1:0", MPROC_FAMILY_DEFAULT, 1,
                             NULL, 0));
  job.address = mproc_listener_address(l);
  job.key = mproc_manager_authkey(m, NULL);
  assert_int_equal(uv_thread_create(&t, answer_thread, &job), 0);
  TM_MAKE(mproc_listener_accept(l, 30, &relay));
  assert_int_equal(mproc_conn_send(relay, ca, can), 0);
  assert_int_equal(mproc_conn_recv_alloc(relay, &ans, &ansn), 0);
  mproc_conn_free(relay); /* the answerer gets no verdict and ends */
  uv_thread_join(&t);
  assert_int_equal(mproc_conn_send(b, ans, ansn), 0);
  recv_is(b, "#FAILURE#");
  assert_int_equal(mproc_conn_send(a, ans, ansn), 0);
  recv_is(a, "#WELCOME#");
  mproc_free(ca);
  mproc_free(cb);
  mproc_free(ans);
  mproc_conn_free(a);
  mproc_conn_free(b);
  mproc_listener_free(l);
  mproc_manager_free(m);
}

/* Send one raw request with a key on a fresh connection; the reply's
 * status (or the connection's error). */
static int raw_status(const char *at, const void *key, const void *msg,
                      size_t len) {
  mproc_conn *c;
  void *r = NULL;
  size_t n = 0;
  int32_t status = 1;
  int rc = mproc_client_connect(&c, at, MPROC_FAMILY_DEFAULT, key, 32, 10);
  if (rc < 0) return rc;
  rc = mproc_conn_send(c, msg, len);
  if (rc == 0) rc = mproc_conn_recv_alloc(c, &r, &n);
  if (rc == 0 && n >= 8 && ((unsigned char *)r)[0] == 'R')
    memcpy(&status, (unsigned char *)r + 4, 4); /* little-endian hosts */
  mproc_free(r);
  mproc_conn_free(c);
  return rc < 0 ? rc : status;
}

static void test_malformed(void **state) {
  mproc_manager *m = tm_start(NULL);
  const char *at = mproc_manager_address(m);
  const void *key = mproc_manager_authkey(m, NULL);
  static const unsigned char ping[] = {'M', 1, 1, 0, 0, 0, 0, 0};
  static const unsigned char v9[] = {'M', 9, 1, 0, 0, 0, 0, 0};
  static const unsigned char noop[] = {'M', 1, 0x99, 0x99, 0, 0, 0, 0};
  static const unsigned char cut[] = {'M', 1, 100, 0, 1, 0, 0, 0, 'b', 9, 9};
  static const unsigned char tag[] = {'M', 1, 3, 0, 0, 0, 0, 0, 'z'};
  static const unsigned char type[] = {'M', 1, 3, 0, 0, 0, 0, 0, 'i', 99,
                                       0, 0, 0, 0, 0, 0, 0};
  static const unsigned char nobj[] = {'M', 1, 100, 0, 7, 7, 7, 7};
  static const unsigned char rep[] = {'R', 1, 0, 0, 0, 0, 0, 0};
  mproc_conn *c;
  int i;
  (void)state;
  assert_int_equal(raw_status(at, key, ping, sizeof ping), 0);
  assert_int_equal(raw_status(at, key, "", 0), MPROC_EINVAL);
  assert_int_equal(raw_status(at, key, "junk", 4), MPROC_EINVAL);
  assert_int_equal(raw_status(at, key, v9, sizeof v9), MPROC_ENOTSUP);
  assert_int_equal(raw_status(at, key, noop, sizeof noop), MPROC_ENOENT);
  assert_int_equal(raw_status(at, key, cut, sizeof cut), MPROC_ENOENT);
  assert_int_equal(raw_status(at, key, tag, sizeof tag), MPROC_EINVAL);
  assert_int_equal(raw_status(at, key, type, sizeof type), MPROC_EINVAL);
  assert_int_equal(raw_status(at, key, nobj, sizeof nobj), MPROC_ENOENT);
  assert_int_equal(raw_status(at, key, rep, sizeof rep), MPROC_EINVAL);
  /* Length headers of 4 GiB (the long form), 2 GiB - 1 and a negative
   * one after the handshake, and garbage: the connection is dropped
   * before anything is allocated; the server goes on. */
  {
    static const char *const heads[] = {
        "\xff\xff\xff\xff\x00\x00\x00\x01\x00\x00\x00\x00",
        "\x7f\xff\xff\xff", "\x80\x00\x00\x01"};
    static const size_t lens[] = {12, 4, 4};
    for (i = 0; i < 3; i++) {
      void *r = NULL;
      size_t n;
      TM_MAKE(mproc_client_connect(&c, at, MPROC_FAMILY_DEFAULT, key, 32, 10));
      assert_int_equal(tu_write_raw((intptr_t)mproc_conn_handle(c), heads[i],
                                    lens[i]),
                       0);
      assert_int_equal(mproc_conn_recv_alloc(c, &r, &n), MPROC_EEOF);
      mproc_conn_free(c);
    }
  }
  /* Thousands of connects and disconnects, half of them authenticated
   * (the others hang up during the handshake). */
  for (i = 0; i < 2000; i++) {
    int rc = mproc_client_connect(&c, at, MPROC_FAMILY_DEFAULT,
                                  i % 2 ? key : NULL, i % 2 ? 32 : 0, 30);
    if (rc != 0) fail_msg("connect %d: %s", i, mproc_last_error());
    mproc_conn_free(c);
  }
  assert_int_equal(raw_status(at, key, ping, sizeof ping), 0);
  mproc_manager_free(m);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_dict, tp_no_children_left),
      cmocka_unit_test_teardown(test_list, tp_no_children_left),
      cmocka_unit_test_teardown(test_ns_value_array_set, tp_no_children_left),
      cmocka_unit_test_teardown(test_queue, tp_no_children_left),
      cmocka_unit_test_teardown(test_sync, tp_no_children_left),
      cmocka_unit_test_teardown(test_blocking_and_shutdown,
                                tp_no_children_left),
      cmocka_unit_test_teardown(test_condition_notify_all,
                                tp_no_children_left),
      cmocka_unit_test_teardown(test_nested, tp_no_children_left),
      cmocka_unit_test_teardown(test_registered, tp_no_children_left),
      cmocka_unit_test_teardown(test_bad_input, tp_no_children_left),
      cmocka_unit_test_teardown(test_auth, tp_no_children_left),
      cmocka_unit_test_teardown(test_malformed, tp_no_children_left),
      cmocka_unit_test_teardown(test_replayed_answer, tp_no_children_left),
  };
  int code, fails;
  tu_set_argv0(argv[0]);
  if (tm_role(argc, argv, &code)) return code;
  if (getenv("MPROC_NAME_PREFIX") == NULL) {
    char prefix[16];
    snprintf(prefix, sizeof prefix, "tm%ld", mproc_current_pid() % 1000000);
    tu_setenv("MPROC_NAME_PREFIX", prefix);
  }
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  g_method = MPROC_START_DEFAULT;
  fails = cmocka_run_group_tests_name("manager", tests, NULL, NULL);
  fails += _cmocka_run_group_tests("manager-life", tm_life_tests,
                                   tm_n_life_tests, NULL, NULL);
  fails += tp_run_per_method("manager-procs", tm_proc_tests, tm_n_proc_tests);
  return fails ? 1 : 0;
}
