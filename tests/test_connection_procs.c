/* mproc tests: Listener and Client across processes, under every start
 * method — a child that knows only the address and the key connects; a
 * child with the wrong key; a child killed in the middle of the
 * handshake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_connection.h"

/* The child's argument: the key to use (NUL-terminated), then the
 * address. */
typedef struct child_arg {
  char key[32];
  char address[MPROC_ADDRESS_MAX];
} child_arg;

int tc_is_windows(void) {
  mproc_listener *l = NULL;
  int w;
  assert_int_equal(mproc_listener_new(&l, NULL, 0, 0, NULL, 0), 0);
  w = mproc_listener_family(l) == MPROC_AF_PIPE; /* the local family */
  mproc_listener_free(l);
  return w;
}

static mproc_process *start_child(mproc_target fn, mproc_listener *l,
                                  const char *key) {
  child_arg a;
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  memset(&a, 0, sizeof a);
  snprintf(a.key, sizeof a.key, "%s", key ? key : "");
  snprintf(a.address, sizeof a.address, "%s", mproc_listener_address(l));
  return tp_start_with(fn, &a, sizeof a, &o);
}

/* ---- a child client: messages both ways, a large one too -------------------
 */

static int t_client(const void *arg, size_t len) {
  const child_arg *a = arg;
  mproc_conn *c = NULL;
  unsigned char *m = malloc(BIG_MSG);
  void *back = NULL;
  size_t i, n = 0, bad = 0;
  CHILD_CHECK(len == sizeof *a && m != NULL);
  CHILD_CHECK(mproc_client_connect(&c, a->address, MPROC_FAMILY_DEFAULT, a->key,
                                   strlen(a->key), 60) == 0);
  for (i = 0; i < BIG_MSG; i++) m[i] = tc_pattern(i);
  CHILD_CHECK(mproc_conn_send(c, m, BIG_MSG) == 0);
  CHILD_CHECK(mproc_conn_recv_alloc(c, &back, &n) == 0);
  CHILD_CHECK(n == BIG_MSG);
  for (i = 0; i < n; i++) bad += ((unsigned char *)back)[i] != m[i];
  CHILD_CHECK(bad == 0);
  mproc_free(back);
  free(m);
  mproc_conn_free(c);
  return 0;
}
MPROC_TASK(t_client);

void test_child_client(void **state) {
  static const char *const addrs[] = {NULL, "127.0.0.1:0"};
  size_t i;
  (void)state;
  for (i = 0; i < 2; i++) {
    mproc_listener *l = NULL;
    mproc_process *p;
    mproc_conn *c;
    assert_int_equal(mproc_listener_new(&l, addrs[i], 0, 0, KEY, KEY_LEN), 0);
    p = start_child(t_client, l, KEY);
    c = tc_accept(l, 0);
    tc_echo(c);
    assert_int_equal(tp_join(p), 0);
    mproc_conn_free(c);
    mproc_listener_free(l);
  }
}

/* ---- the wrong key: refused on both sides -----------------------------------
 */

static int t_wrong_key(const void *arg, size_t len) {
  const child_arg *a = arg;
  mproc_conn *c = NULL;
  int rc;
  CHILD_CHECK(len == sizeof *a);
  rc = mproc_client_connect(&c, a->address, MPROC_FAMILY_DEFAULT, a->key,
                            strlen(a->key), 60);
  CHILD_CHECK(rc == MPROC_EAUTH && c == NULL);
  return 0;
}
MPROC_TASK(t_wrong_key);

void test_child_wrong_key(void **state) {
  mproc_listener *l = NULL;
  mproc_process *p;
  (void)state;
  assert_int_equal(mproc_listener_new(&l, "127.0.0.1:0", 0, 0, KEY, KEY_LEN),
                   0);
  p = start_child(t_wrong_key, l, "wrong");
  tc_accept(l, MPROC_EAUTH);
  assert_int_equal(tp_join(p), 0);
  mproc_listener_free(l);
}

/* ---- killed in the middle of the handshake ----------------------------------
 */

static int t_die_mid_handshake(const void *arg, size_t len) {
  const child_arg *a = arg;
  mproc_conn *c = NULL;
  char buf[256];
  size_t n;
  CHILD_CHECK(len == sizeof *a);
  /* No key: the connection is ours at once; read the challenge, then die
   * without answering. */
  CHILD_CHECK(mproc_client_connect(&c, a->address, MPROC_FAMILY_DEFAULT, NULL,
                                   0, 60) == 0);
  CHILD_CHECK(mproc_conn_recv(c, buf, sizeof buf, &n) == 0);
  CHILD_CHECK(n > 11 && memcmp(buf, "#CHALLENGE#", 11) == 0);
  tu_kill_pid(mproc_current_pid());
  return 98; /* not reached */
}
MPROC_TASK(t_die_mid_handshake);

void test_child_killed_mid_handshake(void **state) {
  static const char *const addrs[] = {NULL, "127.0.0.1:0"};
  size_t i;
  (void)state;
  for (i = 0; i < 2; i++) {
    mproc_listener *l = NULL;
    mproc_process *p;
    int code;
    assert_int_equal(mproc_listener_new(&l, addrs[i], 0, 0, KEY, KEY_LEN), 0);
    p = start_child(t_die_mid_handshake, l, NULL);
    tc_accept(l, MPROC_EEOF);
    code = tp_join(p);
    assert_true(code != 0 && code != 98 && code != 99);
    /* The listener serves the next client. */
    p = start_child(t_client, l, KEY);
    {
      mproc_conn *c = tc_accept(l, 0);
      tc_echo(c);
      mproc_conn_free(c);
    }
    assert_int_equal(tp_join(p), 0);
    mproc_listener_free(l);
  }
}

/* ---- an accepted connection passed to a child
 * -------------------------------- */

static int t_echo_inherited(const void *arg, size_t len) {
  mproc_conn *c = NULL;
  char buf[64];
  size_t n;
  (void)arg, (void)len;
  CHILD_CHECK(mproc_conn_inherited(0, &c) == 0);
  CHILD_CHECK(mproc_conn_recv(c, buf, sizeof buf, &n) == 0);
  CHILD_CHECK(mproc_conn_send(c, buf, n) == 0);
  mproc_conn_free(c);
  return 0;
}
MPROC_TASK(t_echo_inherited);

void test_child_given_accepted(void **state) {
  static const char *const addrs[] = {NULL, "127.0.0.1:0"};
  size_t i;
  (void)state;
  for (i = 0; i < 2; i++) {
    mproc_listener *l = NULL;
    mproc_conn *mine = NULL, *theirs;
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    mproc_pass pass;
    mproc_process *p = NULL;
    char buf[64];
    size_t n;
    int windows_tcp, rc;
    assert_int_equal(mproc_listener_new(&l, addrs[i], 0, 0, NULL, 0), 0);
    /* The connect returns once the OS has queued it; accept takes it. */
    assert_int_equal(
        mproc_client_connect(&mine, mproc_listener_address(l), 0, NULL, 0, 60),
        0);
    theirs = tc_accept(l, 0);
    windows_tcp = i == 1 && tc_is_windows();
    pass = MPROC_PASS(theirs);
    o.pass = &pass;
    o.n_pass = 1;
    if (windows_tcp) { /* a socket is no pipe handle there: refused */
      o.method = g_method;
      rc = mproc_process_new(&p, t_echo_inherited, NULL, 0, &o);
      if (rc == 0) rc = mproc_process_start(p);
      assert_int_equal(rc, MPROC_ENOTSUP);
      mproc_process_free(p);
    } else {
      p = tp_start_with(t_echo_inherited, NULL, 0, &o);
      assert_int_equal(mproc_conn_send(mine, "over", 4), 0);
      assert_int_equal(mproc_conn_recv(mine, buf, sizeof buf, &n), 0);
      assert_int_equal(n, 4);
      assert_int_equal(tp_join(p), 0);
    }
    mproc_conn_free(theirs);
    mproc_conn_free(mine);
    mproc_listener_free(l);
  }
}
