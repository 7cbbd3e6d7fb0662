/* mproc tests: the Manager's lifetimes and the later list calls —
 * mproc_proxy_close waking a call blocked in another thread; a proxy
 * passed to a child that is killed before it opens it (the server frees
 * the object once the child's pid is gone); a SIGKILLed server's folder
 * removed by the parent, and the folder of a program that ended without
 * freeing its manager removed by its tracker; the list's reverse and
 * sort. Run once, with the
 * default start method, from test_manager.c's main. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "test_manager.h"

extern const char *tu_argv0; /* util.c */

/* ---- mproc_proxy_close wakes a blocked call ----------------------------------- */

typedef struct close_job {
  mproc_proxy *p;
  int op; /* 0 barrier wait, 1 lock acquire, 2 queue get */
  int rc;
  char why[200]; /* the thread's mproc_last_error() */
} close_job;

static void close_waiter(void *arg) {
  close_job *j = arg;
  void *v = NULL;
  size_t n;
  if (j->op == 0) j->rc = mproc_mbarrier_wait(j->p, MPROC_FOREVER);
  else if (j->op == 1) j->rc = mproc_mlock_acquire(j->p, MPROC_FOREVER);
  else j->rc = mproc_mqueue_get(j->p, MPROC_FOREVER, &v, &n);
  snprintf(j->why, sizeof j->why, "%s", mproc_last_error());
  mproc_free(v);
}

static mproc_proxy *open_again(mproc_manager *m, const mproc_proxy *p) {
  size_t kl;
  const void *key = mproc_manager_authkey(m, &kl);
  mproc_proxy *q = NULL;
  TM_MAKE(mproc_proxy_open(&q, mproc_manager_address(m), key, kl,
                           mproc_proxy_id(p), 60));
  return q;
}

static void run_closed(close_job *j, uv_thread_t *t, mproc_proxy *p, int op) {
  j->p = p;
  j->op = op;
  j->rc = 1;
  assert_int_equal(uv_thread_create(t, close_waiter, j), 0);
}

static void test_proxy_close_wakes(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *b, *b2, *l, *l2, *l3, *q, *q2;
  close_job j;
  uv_thread_t t;
  int waiting = 0, broken = 0, i;
  void *v;
  size_t n;
  (void)state;
  assert_int_equal(mproc_proxy_close(NULL), MPROC_EINVAL);
  /* A barrier's wait: the server says when the thread waits in it. */
  TM_MAKE(mproc_manager_barrier(m, 2, &b));
  b2 = open_again(m, b);
  run_closed(&j, &t, b2, 0);
  for (i = 0; i < 6000 && waiting == 0; i++) {
    assert_int_equal(mproc_mbarrier_info(b, NULL, &waiting, NULL), 0);
    if (waiting == 0) tu_sleep_ms(10);
  }
  assert_int_equal(waiting, 1);
  assert_int_equal(mproc_proxy_close(b2), 0);
  uv_thread_join(&t);
  assert_int_equal(j.rc, MPROC_ECLOSED);
  assert_non_null(strstr(j.why, "closed"));
  assert_int_equal(mproc_proxy_close(b2), 0); /* twice: 0 */
  assert_int_equal(mproc_mbarrier_info(b2, NULL, NULL, NULL), MPROC_ECLOSED);
  /* The server dropped the waiter: a party that gives up breaks it. */
  for (i = 0; i < 6000 && broken == 0; i++) {
    assert_int_equal(mproc_mbarrier_info(b, NULL, NULL, &broken), 0);
    if (broken == 0) tu_sleep_ms(10);
  }
  assert_int_equal(broken, 1);
  mproc_proxy_free(b2);
  /* A lock's acquire: the closed proxy never gets the lock for good. */
  TM_MAKE(mproc_manager_lock(m, &l));
  l2 = open_again(m, l);
  assert_int_equal(mproc_mlock_acquire(l, 0), 0);
  run_closed(&j, &t, l2, 1);
  assert_int_equal(mproc_proxy_close(l2), 0);
  uv_thread_join(&t);
  assert_int_equal(j.rc, MPROC_ECLOSED);
  assert_int_equal(mproc_mlock_acquire(l2, 0), MPROC_ECLOSED);
  assert_int_equal(mproc_mlock_release(l), 0);
  l3 = open_again(m, l);
  assert_int_equal(mproc_mlock_acquire(l3, 60), 0);
  assert_int_equal(mproc_mlock_release(l3), 0);
  mproc_proxy_free(l2);
  /* A queue's get; the other proxy of the queue goes on. */
  TM_MAKE(mproc_manager_queue(m, 0, &q));
  q2 = open_again(m, q);
  run_closed(&j, &t, q2, 2);
  assert_int_equal(mproc_proxy_close(q2), 0);
  uv_thread_join(&t);
  assert_int_equal(j.rc, MPROC_ECLOSED);
  assert_int_equal(mproc_mqueue_put(q2, S("x"), 0), MPROC_ECLOSED);
  mproc_proxy_free(q2);
  assert_int_equal(mproc_mqueue_put(q, S("x"), 0), 0);
  assert_int_equal(mproc_mqueue_qsize(q, &n), 0);
  assert_int_equal(mproc_mqueue_get(q, 60, &v, &n), 0);
  assert_int_equal(n, 1);
  mproc_free(v);
  /* A closed proxy's hold is gone: the object goes with the last one. */
  assert_int_equal(mproc_proxy_close(q), 0);
  q2 = NULL;
  for (i = 0; i < 6000; i++) {
    size_t kl;
    const void *key = mproc_manager_authkey(m, &kl);
    int rc = mproc_proxy_open(&q2, mproc_manager_address(m), key, kl,
                              mproc_proxy_id(q), 60);
    if (rc == MPROC_ENOENT) break;
    assert_int_equal(rc, 0);
    mproc_proxy_free(q2);
    q2 = NULL;
    tu_sleep_ms(10);
  }
  assert_null(q2);
  mproc_proxy_free(q);
  mproc_proxy_free(l3);
  mproc_proxy_free(l);
  mproc_proxy_free(b);
  mproc_manager_free(m);
}

/* ---- a child killed before it opens its proxy ---------------------------------- */

static int child_never_opens(const void *arg, size_t len) {
  (void)arg, (void)len;
  return 97; /* not reached: killed while its pass list is adopted */
}
MPROC_TASK(child_never_opens);

/* Under one start method: the parent passes two dicts and drops one at
 * once; the child dies as it is about to open the first. */
static void killed_before_open(mproc_start_method method) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *d, *d2 = NULL, *keep;
  mproc_pass pass[2];
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  mproc_process *p;
  size_t kl;
  const void *key = mproc_manager_authkey(m, &kl);
  uint32_t id;
  int rc;
  TM_MAKE(mproc_manager_dict(m, &d));
  TM_MAKE(mproc_manager_dict(m, &keep));
  id = mproc_proxy_id(d);
  pass[0] = MPROC_PASS(d);
  pass[1] = MPROC_PASS(keep);
  o.pass = pass;
  o.n_pass = 2;
  o.method = method;
  /* The child kills itself as it is about to open its first proxy (the
   * fault point in the pass list's adopt, before its target runs). */
  tu_setenv("MPROC_FAULT", "proxy.adopt:1");
  rc = mproc_process_new(&p, child_never_opens, NULL, 0, &o);
  if (rc == 0) rc = mproc_process_start(p);
  tu_setenv("MPROC_FAULT", "");
  if (rc != 0) fail_msg("start: %s", mproc_last_error());
  mproc_proxy_free(d); /* the parent drops its proxy at once */
  assert_true(tp_join(p) != 0);
  /* The child's pid is gone: the server dropped its leases, and the dict
   * nothing else held went with them (every manager operation sweeps). */
  assert_int_equal(mproc_proxy_open(&d2, mproc_manager_address(m), key, kl,
                                    id, 60),
                   MPROC_ENOENT);
  assert_null(d2);
  /* The other object, still held by the parent, lives. */
  assert_int_equal(mproc_dict_set(keep, S("k"), S("v")), 0);
  TM_MAKE(mproc_proxy_open(&d2, mproc_manager_address(m), key, kl,
                           mproc_proxy_id(keep), 60));
  tm_expect(d2, "k", "v");
  mproc_proxy_free(d2);
  mproc_proxy_free(keep);
  mproc_manager_free(m);
}

static void test_child_killed_before_open(void **state) {
  (void)state;
  /* The methods whose child gets the environment of its start (a
   * forkserver's children have the server's, set before the variable). */
  if (mproc_start_method_supported(MPROC_START_FORK))
    killed_before_open(MPROC_START_FORK);
  killed_before_open(MPROC_START_SPAWN);
}

/* ---- the lease of a child that adopts before the parent's LEASE ---------------- */

/* One raw request on c (op, id, an optional pid item): the reply's status. */
static int raw_call(mproc_conn *c, unsigned op, uint32_t id, long pid) {
  unsigned char m[17] = {'M', 1};
  int64_t v = pid;
  void *r = NULL;
  size_t n = 0, len = 8;
  int32_t status = 1;
  int rc;
  m[2] = (unsigned char)op;
  m[3] = (unsigned char)(op >> 8);
  memcpy(m + 4, &id, 4); /* little-endian hosts, as the others */
  if (pid) {
    m[8] = 'i';
    memcpy(m + 9, &v, 8);
    len = 17;
  }
  rc = mproc_conn_send(c, m, len);
  if (rc == 0) rc = mproc_conn_recv_alloc(c, &r, &n);
  if (rc == 0 && n >= 8) memcpy(&status, (unsigned char *)r + 4, 4);
  mproc_free(r);
  return rc < 0 ? rc : status;
}

static void test_lease_after_adopt(void **state) {
  mproc_manager *m = tm_start(NULL);
  const char *at = mproc_manager_address(m);
  size_t kl;
  const void *key = mproc_manager_authkey(m, &kl);
  mproc_proxy *d, *again = NULL;
  mproc_conn *parent, *child;
  long me = mproc_current_pid(), gone = 2147483647L; /* never a live pid */
  uint32_t id;
  int i, rc = 0;
  (void)state;
  TM_MAKE(mproc_manager_dict(m, &d));
  id = mproc_proxy_id(d);
  TM_MAKE(mproc_client_connect(&parent, at, MPROC_FAMILY_DEFAULT, key, kl, 10));
  TM_MAKE(mproc_client_connect(&child, at, MPROC_FAMILY_DEFAULT, key, kl, 10));
  /* Two children are passed the dict: two floating holds. The first
   * adopts before its lease arrives (a debt for its pid, which the LEASE
   * pays); the second dies before it adopts. */
  assert_int_equal(raw_call(parent, 6 /* HOLD */, id, 0), 0);
  assert_int_equal(raw_call(parent, 6, id, 0), 0);
  assert_int_equal(raw_call(child, 7 /* ADOPT */, id, me), 0);
  assert_int_equal(raw_call(parent, 10 /* LEASE */, id, me), 0);
  assert_int_equal(raw_call(parent, 10, id, gone), 0);
  /* Bad pids. */
  assert_int_equal(raw_call(parent, 10, id, -3), MPROC_EINVAL);
  assert_int_equal(raw_call(parent, 10, id, 0), MPROC_EINVAL);
  mproc_proxy_free(d);
  mproc_conn_free(child); /* the first child ends after using it */
  mproc_conn_free(parent);
  /* Nothing holds it now: the second child's lease went with its pid
   * (had the first lease taken the other hold, our live pid would keep
   * the dict). The server sees the child's connection end when it does:
   * ask until the dict is gone. */
  for (i = 0; i < 6000; i++) {
    rc = mproc_proxy_open(&again, at, key, kl, id, 60);
    if (rc != 0) break;
    mproc_proxy_free(again);
    again = NULL;
    tu_sleep_ms(10);
  }
  assert_int_equal(rc, MPROC_ENOENT);
  mproc_manager_free(m);
}

/* ---- a SIGKILLed server: its folder removed, blocked clients woken ------------ */

/* 1 if the path exists (a file or a folder). */
static int exists(const char *path) {
  uv_fs_t req;
  int rc = uv_fs_stat(NULL, &req, path, NULL);
  uv_fs_req_cleanup(&req);
  return rc == 0;
}

static void test_server_killed_folder(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *q, *b, *b2;
  close_job j;
  uv_thread_t t;
  char dir[MPROC_ADDRESS_MAX], *slash;
  int waiting = 0, i;
  const char *at = mproc_manager_address(m);
  int is_path = at[0] == '/'; /* AF_UNIX; Windows: a named pipe */
  (void)state;
  snprintf(dir, sizeof dir, "%s", at);
  slash = strrchr(dir, '/');
  if (slash) *slash = '\0';
  if (is_path) {
    assert_true(exists(at));
    assert_true(exists(dir));
  }
  TM_MAKE(mproc_manager_queue(m, 0, &q));
  TM_MAKE(mproc_manager_barrier(m, 2, &b));
  b2 = open_again(m, b);
  run_closed(&j, &t, b, 0);
  for (i = 0; i < 6000 && waiting == 0; i++) {
    assert_int_equal(mproc_mbarrier_info(b2, NULL, &waiting, NULL), 0);
    if (waiting == 0) tu_sleep_ms(10);
  }
  assert_int_equal(waiting, 1);
  assert_int_equal(tu_kill_pid(mproc_manager_pid(m)), 0);
  uv_thread_join(&t);
  assert_int_equal(j.rc, MPROC_EEOF); /* the blocked call woke */
  assert_int_equal(mproc_mqueue_put(q, S("x"), 0), MPROC_EEOF);
  assert_int_equal(mproc_manager_shutdown(m), MPROC_EEOF);
  if (is_path) { /* no leftovers in the temporary folder */
    assert_false(exists(at));
    assert_false(exists(dir));
  }
  mproc_proxy_free(q);
  mproc_proxy_free(b);
  mproc_proxy_free(b2);
  mproc_manager_free(m); /* a dead server: no hang */
}

/* ---- list.reverse() and list.sort() -------------------------------------------- */

static void expect_list(mproc_proxy *l, const char *const *want, size_t n) {
  mproc_items *it;
  const void *p;
  size_t i, len;
  assert_int_equal(mproc_list_slice(l, 0, 1000, &it), 0);
  assert_int_equal(mproc_items_count(it), n);
  for (i = 0; i < n; i++) {
    assert_int_equal(mproc_items_get(it, i, &p, &len), 0);
    assert_int_equal(len, strlen(want[i]));
    if (len) assert_memory_equal(p, want[i], len);
  }
  mproc_items_free(it);
}

static void test_list_reverse_sort(void **state) {
  mproc_manager *m = tm_start(NULL);
  mproc_proxy *l, *d, *inner, *got;
  mproc_bytes v[6] = {{"b", 1}, {"a", 1}, {"ab", 2}, {"", 0}, {"a", 1},
                      {"\xff", 1}};
  static const char *const rev[] = {"\xff", "a", "", "ab", "a", "b"};
  static const char *const up[] = {"", "a", "a", "ab", "b", "\xff"};
  static const char *const down[] = {"\xff", "b", "ab", "a", "a", ""};
  (void)state;
  TM_MAKE(mproc_manager_list(m, &l));
  TM_MAKE(mproc_manager_dict(m, &d));
  assert_int_equal(mproc_list_sort(l, 0), 0); /* empty: nothing to do */
  assert_int_equal(mproc_list_reverse(l), 0);
  assert_int_equal(mproc_list_extend(l, v, 6), 0);
  assert_int_equal(mproc_list_reverse(l), 0);
  expect_list(l, rev, 6);
  assert_int_equal(mproc_list_sort(l, 0), 0); /* bytes order: unsigned */
  expect_list(l, up, 6);
  assert_int_equal(mproc_list_sort(l, MPROC_LIST_SORT_REVERSE), 0);
  expect_list(l, down, 6);
  /* Bad input: flags, another kind of proxy, a proxy in the list. */
  assert_int_equal(mproc_list_sort(l, 6), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "flags"));
  assert_int_equal(mproc_list_sort(d, 0), MPROC_EINVAL);
  assert_int_equal(mproc_list_reverse(d), MPROC_EINVAL);
  assert_int_equal(mproc_list_reverse(NULL), MPROC_EINVAL);
  TM_MAKE(mproc_manager_list(m, &inner));
  assert_int_equal(mproc_list_append_proxy(l, inner), 0);
  assert_int_equal(mproc_list_sort(l, 0), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "proxy"));
  assert_int_equal(mproc_list_reverse(l), 0); /* a reference moves too */
  TM_MAKE(mproc_list_get_proxy(l, 0, &got));
  assert_int_equal(mproc_proxy_id(got), mproc_proxy_id(inner));
  mproc_proxy_free(got);
  mproc_proxy_free(inner);
  mproc_proxy_free(d);
  mproc_proxy_free(l);
  mproc_manager_free(m);
}

/* ---- a program that ends without freeing its manager ------------------------- */

/* A program of its own: start a manager, write its address to the file
 * `spec` + 2 names, then end at once without freeing it: "x|file" with
 * _exit, "k|file" killed (SIGKILL where there is one). */
static int role_manager_left(int argc, char **argv) {
  mproc_manager *m = NULL;
  FILE *f;
  const char *spec = argv[2];
  if (mproc_init(argc, argv) != 0) return 2;
  if (mproc_manager_start(&m, NULL) != 0) return 3;
  f = fopen(spec + 2, "w");
  if (f == NULL) return 4;
  fprintf(f, "%s", mproc_manager_address(m));
  if (fclose(f) != 0) return 5;
  if (spec[0] == 'k') tu_kill_pid(mproc_current_pid());
  tu_exit(0);
  return 6;
}

int tm_life_role(int argc, char **argv, int *code) {
  if (argc >= 3 && strcmp(argv[1], "--role-manager-left") == 0) {
    *code = role_manager_left(argc, argv);
    return 1;
  }
  return 0;
}

/* Run the role; its manager's address (a generated AF_UNIX path in a
 * private folder, or a named pipe on Windows) must be gone, with the
 * folder, once its tracker has swept: waited for, at most 20 s. */
static void manager_left_swept(char how) {
  char spec[300], file[260], at[MPROC_ADDRESS_MAX], dir[MPROC_ADDRESS_MAX];
  char *slash;
  FILE *f;
  long pid;
  int i, st;
  size_t n;
  snprintf(file, sizeof file, "%s.tm-left-%ld", tu_argv0,
           mproc_current_pid());
  snprintf(spec, sizeof spec, "%c|%s", how, file);
  pid = tu_spawn_self("--role-manager-left", spec);
  assert_true(pid > 0);
  st = tu_wait_pid(pid);
  if (how == 'x') assert_int_equal(st, 0);
  f = fopen(file, "r");
  assert_non_null(f);
  n = fread(at, 1, sizeof at - 1, f);
  at[n] = '\0';
  fclose(f);
  remove(file);
  if (at[0] != '/') return; /* a named pipe: the kernel's to remove */
  snprintf(dir, sizeof dir, "%s", at);
  slash = strrchr(dir, '/');
  assert_non_null(slash);
  *slash = '\0';
  for (i = 0; i < 400 && exists(dir); i++) tu_sleep_ms(50);
  if (exists(at) || exists(dir))
    fail_msg("the ended program's manager left \"%s\" behind", dir);
}

static void test_manager_left_folder(void **state) {
  (void)state;
  manager_left_swept('x');
  manager_left_swept('k');
}

const struct CMUnitTest tm_life_tests[] = {
    cmocka_unit_test_teardown(test_proxy_close_wakes, tp_no_children_left),
    cmocka_unit_test_teardown(test_child_killed_before_open,
                              tp_no_children_left),
    cmocka_unit_test_teardown(test_lease_after_adopt, tp_no_children_left),
    cmocka_unit_test_teardown(test_server_killed_folder, tp_no_children_left),
    cmocka_unit_test_teardown(test_manager_left_folder, tp_no_children_left),
    cmocka_unit_test_teardown(test_list_reverse_sort, tp_no_children_left),
};
const size_t tm_n_life_tests = sizeof tm_life_tests / sizeof tm_life_tests[0];
