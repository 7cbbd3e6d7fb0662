/* mproc tests: the Manager across processes, under every start method
 * (the server's and the children's): proxies in the pass list used by a
 * child after the parent dropped its own; a Barrier and a Condition
 * between processes; a child SIGKILLed in the middle of a call, whose
 * lock the server releases; the server SIGKILLed while a child waits;
 * a remote client that inherits nothing (a separate program that knows
 * only the TCP address, the key and an id). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_manager.h"

#define TAKE(i, out) CHILD_CHECK(mproc_inherited((i), MPROC_KIND_PROXY, (out)) == 0)

static mproc_process *start_with(mproc_target fn, mproc_pass *pass, size_t n) {
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  o.pass = pass;
  o.n_pass = n;
  return tp_start_with(fn, NULL, 0, &o);
}

/* ---- a child changes what the parent made -------------------------------------- */

static int child_changes(const void *arg, size_t len) {
  mproc_proxy *d, *l, *q, *e;
  (void)arg, (void)len;
  TAKE(0, &d);
  TAKE(1, &l);
  TAKE(2, &q);
  TAKE(3, &e);
  CHILD_CHECK(mproc_dict_set(d, S("from"), S("child")) == 0);
  CHILD_CHECK(mproc_list_append(l, S("x")) == 0);
  CHILD_CHECK(mproc_mqueue_put(q, S("hello"), MPROC_FOREVER) == 0);
  CHILD_CHECK(mproc_mevent_set(e) == 0);
  mproc_proxy_free(d);
  mproc_proxy_free(l);
  mproc_proxy_free(q);
  mproc_proxy_free(e);
  return 0;
}
MPROC_TASK(child_changes);

static void test_child_changes(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *d, *l, *q, *e;
  mproc_pass pass[4];
  mproc_process *p;
  void *v;
  size_t n;
  int i;
  (void)state;
  TM_MAKE(mproc_manager_dict(m, &d));
  TM_MAKE(mproc_manager_list(m, &l));
  TM_MAKE(mproc_manager_queue(m, 0, &q));
  TM_MAKE(mproc_manager_event(m, &e));
  pass[0] = MPROC_PASS(d);
  pass[1] = MPROC_PASS(l);
  pass[2] = MPROC_PASS(q);
  pass[3] = MPROC_PASS(e);
  for (i = 0; i < 3; i++) { /* the proxies pass again and again */
    p = start_with(child_changes, pass, 4);
    if (i == 2) { /* the parent drops the list and event at once */
      mproc_proxy_free(l);
      mproc_proxy_free(e);
    }
    assert_int_equal(tp_join(p), 0);
    assert_int_equal(mproc_mqueue_get(q, 60, &v, &n), 0);
    assert_memory_equal(v, "hello", 5);
    mproc_free(v);
  }
  tm_expect(d, "from", "child");
  mproc_proxy_free(d);
  mproc_proxy_free(q);
  mproc_manager_free(m);
}

/* ---- Barrier and Condition between processes ------------------------------------ */

static int child_sync(const void *arg, size_t len) {
  mproc_proxy *b, *c, *flag;
  int idx;
  (void)arg, (void)len;
  TAKE(0, &b);
  TAKE(1, &c);
  TAKE(2, &flag);
  idx = mproc_mbarrier_wait(b, 60);
  CHILD_CHECK(idx == 0 || idx == 1);
  CHILD_CHECK(mproc_mlock_acquire(c, 60) == 0);
  CHILD_CHECK(mproc_ns_set(flag, "ready", S("1")) == 0);
  CHILD_CHECK(mproc_mcond_notify(c, 1) == 0);
  CHILD_CHECK(mproc_mlock_release(c) == 0);
  mproc_proxy_free(b);
  mproc_proxy_free(c);
  mproc_proxy_free(flag);
  return 0;
}
MPROC_TASK(child_sync);

static void test_barrier_condition(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *b, *c, *flag;
  mproc_pass pass[3];
  mproc_process *p;
  void *v = NULL;
  size_t n;
  int idx, rc, rounds = 0;
  (void)state;
  TM_MAKE(mproc_manager_barrier(m, 2, &b));
  TM_MAKE(mproc_manager_condition(m, NULL, &c));
  TM_MAKE(mproc_manager_namespace(m, &flag));
  pass[0] = MPROC_PASS(b);
  pass[1] = MPROC_PASS(c);
  pass[2] = MPROC_PASS(flag);
  assert_int_equal(mproc_mlock_acquire(c, 60), 0);
  p = start_with(child_sync, pass, 3);
  assert_int_equal(mproc_mlock_release(c), 0);
  idx = mproc_mbarrier_wait(b, 60);
  assert_true(idx == 0 || idx == 1);
  /* wait_for(ready): the predicate checked with the lock held. */
  assert_int_equal(mproc_mlock_acquire(c, 60), 0);
  while ((rc = mproc_ns_get(flag, "ready", &v, &n)) == MPROC_ENOENT &&
         rounds++ < 1000)
    assert_true(mproc_mcond_wait(c, 60) >= 0);
  assert_int_equal(rc, 0);
  mproc_free(v);
  assert_int_equal(mproc_mlock_release(c), 0);
  assert_int_equal(tp_join(p), 0);
  mproc_proxy_free(b);
  mproc_proxy_free(c);
  mproc_proxy_free(flag);
  mproc_manager_free(m);
}

/* ---- a child killed in the middle of a call ------------------------------------- */

static int child_hangs(const void *arg, size_t len) {
  mproc_proxy *l, *q, *e;
  void *v;
  size_t n;
  (void)arg, (void)len;
  TAKE(0, &l);
  TAKE(1, &q);
  TAKE(2, &e);
  CHILD_CHECK(mproc_mlock_acquire(l, 60) == 0);
  CHILD_CHECK(mproc_mevent_set(e) == 0);
  (void)mproc_mqueue_get(q, MPROC_FOREVER, &v, &n); /* killed in here */
  return 98;
}
MPROC_TASK(child_hangs);

static void test_child_killed_mid_call(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *l, *q, *e;
  mproc_pass pass[3];
  mproc_process *p;
  void *v;
  size_t n;
  (void)state;
  TM_MAKE(mproc_manager_lock(m, &l));
  TM_MAKE(mproc_manager_queue(m, 0, &q));
  TM_MAKE(mproc_manager_event(m, &e));
  pass[0] = MPROC_PASS(l);
  pass[1] = MPROC_PASS(q);
  pass[2] = MPROC_PASS(e);
  p = start_with(child_hangs, pass, 3);
  assert_int_equal(mproc_mevent_wait(e, 60), 1); /* it holds the lock */
  assert_int_equal(mproc_mlock_acquire(l, 0), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_process_kill(p), 0);
  assert_true(tp_join(p) != 0);
  /* Its connection ended: the lock it held is released, and the get it
   * waited in no longer takes the next item. */
  assert_int_equal(mproc_mlock_acquire(l, 60), 0);
  assert_int_equal(mproc_mqueue_put(q, S("item"), 0), 0);
  assert_int_equal(mproc_mqueue_get(q, 0, &v, &n), 0);
  mproc_free(v);
  mproc_proxy_free(l);
  mproc_proxy_free(q);
  mproc_proxy_free(e);
  mproc_manager_free(m);
}

/* ---- the server killed while a child waits --------------------------------------- */

static int child_waits(const void *arg, size_t len) {
  mproc_proxy *b;
  int rc;
  (void)arg, (void)len;
  TAKE(0, &b);
  rc = mproc_mbarrier_wait(b, MPROC_FOREVER); /* the server dies meanwhile */
  if (rc != MPROC_EEOF) fprintf(stderr, "child: %s\n", mproc_last_error());
  CHILD_CHECK(rc == MPROC_EEOF);
  mproc_proxy_free(b);
  return 0;
}
MPROC_TASK(child_waits);

static void test_server_killed(void **state) {
  mproc_manager *m = tm_start("127.0.0.1:0");
  mproc_proxy *b;
  mproc_pass pass[1];
  mproc_process *p;
  int waiting = 0, i;
  (void)state;
  TM_MAKE(mproc_manager_barrier(m, 2, &b));
  pass[0] = MPROC_PASS(b);
  p = start_with(child_waits, pass, 1);
  /* The server says when the child waits in it (no sleep decides). */
  for (i = 0; i < 6000 && waiting == 0; i++) {
    assert_int_equal(mproc_mbarrier_info(b, NULL, &waiting, NULL), 0);
    if (waiting == 0) tu_sleep_ms(10);
  }
  assert_int_equal(waiting, 1);
  assert_int_equal(tu_kill_pid(mproc_manager_pid(m)), 0);
  assert_int_equal(tp_join(p), 0); /* its wait ended with MPROC_EEOF */
  assert_int_equal(mproc_mbarrier_info(b, NULL, NULL, NULL), MPROC_EEOF);
  mproc_proxy_free(b);
  mproc_manager_free(m); /* a dead server: no hang */
}

/* ---- a remote client that inherits nothing ---------------------------------------- */

static void hex(const unsigned char *p, size_t n, char *out) {
  size_t i;
  for (i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
}

/* argv[2]: "ADDRESS|KEYHEX|ID" (no spaces: a Windows command line would
 * split them): open the dict by id and write to it. */
static int role_remote(const char *spec) {
  char address[MPROC_ADDRESS_MAX], keyhex[65];
  unsigned char key[32];
  unsigned id, i, b;
  mproc_proxy *d;
  CHILD_CHECK(sscanf(spec, "%255[^|]|%64[^|]|%u", address, keyhex, &id) == 3);
  for (i = 0; i < 32; i++) {
    CHILD_CHECK(sscanf(keyhex + 2 * i, "%2x", &b) == 1);
    key[i] = (unsigned char)b;
  }
  CHILD_CHECK(mproc_proxy_open(&d, address, key, 32, id, 60) == 0);
  CHILD_CHECK(mproc_dict_set(d, S("remote"), S("yes")) == 0);
  mproc_proxy_free(d);
  return 0;
}

int tm_role(int argc, char **argv, int *code) {
  if (tm_life_role(argc, argv, code)) return 1;
  if (argc >= 3 && strcmp(argv[1], "--role-remote") == 0) {
    *code = role_remote(argv[2]);
    return 1;
  }
  return 0;
}

static void test_remote(void **state) {
  mproc_manager *m = tm_start("127.0.0.1:0");
  mproc_proxy *d;
  char spec[MPROC_ADDRESS_MAX + 100], keyhex[65];
  long pid;
  size_t kl;
  const void *key = mproc_manager_authkey(m, &kl);
  (void)state;
  assert_int_equal(kl, 32);
  TM_MAKE(mproc_manager_dict(m, &d));
  hex(key, 32, keyhex);
  snprintf(spec, sizeof spec, "%s|%s|%u", mproc_manager_address(m), keyhex,
           (unsigned)mproc_proxy_id(d));
  pid = tu_spawn_self("--role-remote", spec);
  assert_true(pid > 0);
  assert_int_equal(tu_wait_pid(pid), 0);
  tm_expect(d, "remote", "yes");
  mproc_proxy_free(d);
  mproc_manager_free(m);
}

const struct CMUnitTest tm_proc_tests[] = {
    cmocka_unit_test_teardown(test_child_changes, tp_no_children_left),
    cmocka_unit_test_teardown(test_barrier_condition, tp_no_children_left),
    cmocka_unit_test_teardown(test_child_killed_mid_call, tp_no_children_left),
    cmocka_unit_test_teardown(test_server_killed, tp_no_children_left),
    cmocka_unit_test_teardown(test_remote, tp_no_children_left),
};
const size_t tm_n_proc_tests = sizeof tm_proc_tests / sizeof tm_proc_tests[0];
