/* mproc tests: Listener and Client in one process (the client in a
 * thread) — every family of the platform, authkeys right, wrong and
 * missing, garbage and a 4 GiB length during the handshake, timeouts,
 * many connects, bad input. test_connection_procs.c has the cross-process
 * cases under every start method. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "test_connection.h"

static double now(void) { return (double)uv_hrtime() / 1e9; }

unsigned char tc_pattern(size_t i) { return (unsigned char)(i * 31 + 7); }

mproc_conn *tc_accept(mproc_listener *l, int want) {
  mproc_conn *c = NULL;
  int rc = mproc_listener_accept(l, 60, &c);
  if (rc != want)
    fprintf(stderr, "accept: %s (%s)\n", mproc_err_name(rc),
            mproc_last_error());
  assert_int_equal(rc, want);
  if (want != 0) assert_null(c);
  return c;
}

void tc_echo(mproc_conn *c) {
  void *m;
  size_t n;
  int rc;
  while ((rc = mproc_conn_recv_alloc(c, &m, &n)) == 0) {
    rc = mproc_conn_send(c, m, n);
    mproc_free(m);
    if (rc < 0) break;
  }
}

/* The addresses each test runs over: the local family's generated one
 * (AF_UNIX or a named pipe), TCP over IPv4 and over IPv6 loopback. */
static const char *const addrs[] = {NULL, "127.0.0.1:0", "[::1]:0"};
#define N_ADDRS (sizeof addrs / sizeof addrs[0])

/* A client in a thread: connects with `key` (NULL: none), then runs its
 * script; `rc` is connect's result. */
typedef struct client_job {
  const char *address;
  const char *key;
  double timeout;
  int rc;
  int echo_check; /* send "ping" and BIG_MSG, expect them back */
  const char *raw; /* bytes to write raw after connecting (no framing) */
  size_t raw_len;
  const char *say; /* one framed message to send after connecting */
  int cycles; /* connect and close this many times (rc: the last) */
  char why[256]; /* mproc_last_error() of a failure */
} client_job;

static int check_echo(mproc_conn *c) {
  unsigned char *m = malloc(BIG_MSG), *back = NULL;
  char buf[8];
  size_t n = 0, i, bad = 0;
  int rc;
  if (m == NULL) return MPROC_ENOMEM;
  for (i = 0; i < BIG_MSG; i++) m[i] = tc_pattern(i);
  rc = mproc_conn_send(c, "ping", 4);
  if (rc == 0) rc = mproc_conn_recv(c, buf, sizeof buf, &n);
  if (rc == 0 && (n != 4 || memcmp(buf, "ping", 4) != 0)) rc = MPROC_ESTATE;
  if (rc == 0) rc = mproc_conn_send(c, m, BIG_MSG);
  if (rc == 0) rc = mproc_conn_recv_alloc(c, (void **)&back, &n);
  for (i = 0; rc == 0 && i < BIG_MSG && n == BIG_MSG; i++)
    bad += back[i] != m[i];
  if (rc == 0 && (n != BIG_MSG || bad)) rc = MPROC_ESTATE;
  mproc_free(back);
  mproc_free(m);
  return rc;
}

static void client_thread(void *arg) {
  client_job *j = arg;
  int k;
  for (k = 0; k < (j->cycles ? j->cycles : 1); k++) {
    mproc_conn *c = NULL;
    j->rc = mproc_client_connect(&c, j->address, MPROC_FAMILY_DEFAULT, j->key,
                                 j->key ? strlen(j->key) : 0, j->timeout);
    if (j->rc == 0 && j->echo_check) j->rc = check_echo(c);
    if (j->rc == 0 && j->raw &&
        tu_write_raw((intptr_t)mproc_conn_handle(c), j->raw, j->raw_len) != 0)
      j->rc = MPROC_EOS;
    if (j->rc == 0 && j->say) {
      char buf[256];
      size_t n;
      j->rc = mproc_conn_send(c, j->say, strlen(j->say));
      /* Then read until the server has closed: its verdict and EOF. */
      while (j->rc == 0) j->rc = mproc_conn_recv(c, buf, sizeof buf, &n);
      if (j->rc == MPROC_EEOF) j->rc = 0;
    }
    if (j->rc == 0 && j->raw) { /* wait for the server to hang up */
      char buf[256];
      size_t n;
      int r;
      do r = mproc_conn_recv(c, buf, sizeof buf, &n);
      while (r == 0);
    }
    if (j->rc < 0) snprintf(j->why, sizeof j->why, "%s", mproc_last_error());
    mproc_conn_free(c);
    if (j->rc < 0) return;
  }
}

static mproc_listener *listen_on(const char *address, const char *key) {
  mproc_listener *l = NULL;
  int rc = mproc_listener_new(&l, address, MPROC_FAMILY_DEFAULT, 0, key,
                              key ? strlen(key) : 0);
  if (rc != 0)
    fprintf(stderr, "listen on %s: %s\n", address ? address : "(generated)",
            mproc_last_error());
  assert_int_equal(rc, 0);
  return l;
}

static void start_client(uv_thread_t *t, client_job *j, mproc_listener *l,
                         const char *key) {
  j->address = mproc_listener_address(l);
  j->key = key;
  if (j->timeout == 0) j->timeout = 60;
  assert_int_equal(uv_thread_create(t, client_thread, j), 0);
}

/* ---- every family, with and without a key ---------------------------------
 */

static void roundtrip(const char *address, const char *key) {
  mproc_listener *l = listen_on(address, key);
  client_job j;
  uv_thread_t t;
  mproc_conn *c;
  mproc_wait_obj w;
  memset(&j, 0, sizeof j);
  j.echo_check = 1;
  start_client(&t, &j, l, key);
  c = tc_accept(l, 0);
  memset(&w, 0, sizeof w);
  w.conn = c; /* an accepted connection is an ordinary one */
  assert_int_equal(mproc_conn_wait(&w, 1, 60), 1);
  assert_int_equal(mproc_conn_poll(c, 60), 1);
  tc_echo(c);
  uv_thread_join(&t);
  assert_int_equal(j.rc, 0);
  mproc_conn_free(c);
  mproc_listener_free(l);
}

static void test_roundtrip_families(void **state) {
  size_t i;
  (void)state;
  for (i = 0; i < N_ADDRS; i++) {
    roundtrip(addrs[i], KEY);
    roundtrip(addrs[i], NULL);
    roundtrip(addrs[i], ""); /* an empty key is a key, as in Python */
  }
}

static void test_addresses(void **state) {
  mproc_listener *l;
  const char *a;
  (void)state;
  l = listen_on(NULL, NULL);
  a = mproc_listener_address(l);
  if (mproc_listener_family(l) == MPROC_AF_UNIX)
    assert_int_equal(a[0], '/');
  else
    assert_memory_equal(a, "\\\\.\\pipe\\", 9);
  mproc_listener_free(l);
  l = listen_on("127.0.0.1:0", NULL);
  assert_int_equal(mproc_listener_family(l), MPROC_AF_INET);
  a = mproc_listener_address(l);
  assert_memory_equal(a, "127.0.0.1:", 10);
  assert_true(atoi(a + 10) > 0); /* the port the OS picked */
  mproc_listener_free(l);
  l = listen_on("[::1]:0", NULL);
  assert_memory_equal(mproc_listener_address(l), "[::1]:", 6);
  mproc_listener_free(l);
}

/* ---- authkeys: wrong and missing -------------------------------------------
 */

static void test_wrong_key(void **state) {
  size_t i;
  (void)state;
  for (i = 0; i < N_ADDRS; i++) {
    mproc_listener *l = listen_on(addrs[i], KEY);
    client_job j;
    uv_thread_t t;
    mproc_conn *c;
    memset(&j, 0, sizeof j);
    start_client(&t, &j, l, "not the key");
    tc_accept(l, MPROC_EAUTH);
    assert_non_null(strstr(mproc_last_error(), "authkey"));
    uv_thread_join(&t);
    assert_int_equal(j.rc, MPROC_EAUTH);
    /* The listener goes on: the next client with the key gets in. */
    memset(&j, 0, sizeof j);
    j.echo_check = 1;
    start_client(&t, &j, l, KEY);
    c = tc_accept(l, 0);
    tc_echo(c);
    uv_thread_join(&t);
    assert_int_equal(j.rc, 0);
    mproc_conn_free(c);
    mproc_listener_free(l);
  }
}

static void test_missing_key(void **state) {
  mproc_listener *l;
  client_job j;
  uv_thread_t t;
  mproc_conn *c;
  (void)state;
  /* The listener has a key, the client none: its first message is no
   * answer, and accept refuses it. */
  l = listen_on(NULL, KEY);
  memset(&j, 0, sizeof j);
  j.say = "hello";
  start_client(&t, &j, l, NULL);
  tc_accept(l, MPROC_EAUTH);
  uv_thread_join(&t);
  assert_int_equal(j.rc, 0);
  mproc_listener_free(l);
  /* The client has a key, the listener none: what the server sends is no
   * challenge, and connect refuses it. */
  l = listen_on(NULL, NULL);
  memset(&j, 0, sizeof j);
  start_client(&t, &j, l, KEY);
  c = tc_accept(l, 0);
  assert_int_equal(mproc_conn_send(c, "hello", 5), 0);
  uv_thread_join(&t);
  assert_int_equal(j.rc, MPROC_EAUTH);
  mproc_conn_free(c);
  mproc_listener_free(l);
}

/* ---- garbage and huge lengths during the handshake -------------------------
 */

static void raw_attempt(const char *bytes, size_t n) {
  mproc_listener *l = listen_on(NULL, KEY);
  client_job j;
  uv_thread_t t;
  double t0 = now();
  memset(&j, 0, sizeof j);
  j.raw = bytes;
  j.raw_len = n;
  start_client(&t, &j, l, NULL);
  tc_accept(l, MPROC_EAUTH);
  assert_true(now() - t0 < 30); /* refused, not waited out */
  uv_thread_join(&t);
  assert_int_equal(j.rc, 0);
  mproc_listener_free(l);
}

static void test_garbage_handshake(void **state) {
  static const char http[] = "GET / HTTP/1.0\r\n\r\n";
  /* The long form announcing 4 GiB, and a 2 GiB - 1 short form: refused
   * on the header alone, no body is read or allocated. */
  static const char four_gib[] =
      "\xff\xff\xff\xff\x00\x00\x00\x01\x00\x00\x00\x00";
  static const char two_gib[] = "\x7f\xff\xff\xff"
                                "abc";
  static const char negative[] = "\x80\x00\x00\x00";
  static const char limit[] = "\x00\x00\x01\x01"; /* 257 bytes */
  (void)state;
  raw_attempt(http, sizeof http - 1);
  raw_attempt(four_gib, sizeof four_gib - 1);
  raw_attempt(two_gib, sizeof two_gib - 1);
  raw_attempt(negative, sizeof negative - 1);
  raw_attempt(limit, sizeof limit - 1);
}

/* ---- time limits ----------------------------------------------------------
 */

static void test_timeouts(void **state) {
  mproc_listener *l;
  mproc_conn *c = (mproc_conn *)1;
  client_job j;
  uv_thread_t t;
  double t0;
  size_t i;
  (void)state;
  for (i = 0; i < N_ADDRS; i++) {
    l = listen_on(addrs[i], KEY);
    assert_int_equal(mproc_listener_accept(l, 0, &c), MPROC_ETIMEDOUT);
    assert_null(c);
    t0 = now();
    assert_int_equal(mproc_listener_accept(l, 0.2, &c), MPROC_ETIMEDOUT);
    assert_true(now() - t0 < 30);
    assert_int_equal(mproc_listener_accept(l, NAN, &c), MPROC_EINVAL);
    /* A client that never answers: accept's time covers the handshake
     * (the client waits until the server hangs up). */
    memset(&j, 0, sizeof j);
    j.say = NULL;
    j.raw = "";
    j.raw_len = 0;
    start_client(&t, &j, l, NULL);
    assert_int_equal(mproc_listener_accept(l, 0.5, &c), MPROC_ETIMEDOUT);
    uv_thread_join(&t);
    /* A listener that never answers: the client's handshake times out. */
    memset(&j, 0, sizeof j);
    j.timeout = 0.3;
    start_client(&t, &j, l, KEY);
    uv_thread_join(&t);
    if (j.rc != MPROC_ETIMEDOUT)
      fprintf(stderr, "address %zu: %s (%s)\n", i, mproc_err_name(j.rc), j.why);
    assert_int_equal(j.rc, MPROC_ETIMEDOUT);
    mproc_listener_free(l);
  }
}

/* ---- many connects and disconnects ------------------------------------------
 */

static void test_many_connects(void **state) {
  size_t i;
  (void)state;
  for (i = 0; i < N_ADDRS; i++) {
    mproc_listener *l = listen_on(addrs[i], KEY);
    client_job j;
    uv_thread_t t;
    long before = tu_handle_count();
    int k;
    memset(&j, 0, sizeof j);
    j.cycles = 200;
    start_client(&t, &j, l, KEY);
    for (k = 0; k < j.cycles; k++) mproc_conn_free(tc_accept(l, 0));
    uv_thread_join(&t);
    assert_int_equal(j.rc, 0);
    assert_int_equal(tu_handle_count(), before); /* nothing leaked */
    mproc_listener_free(l);
  }
}

/* ---- bad input --------------------------------------------------------------
 */

static void test_bad_input(void **state) {
  mproc_listener *l = NULL, *l2 = NULL;
  mproc_conn *c = NULL;
  char path[300];
  int local;
  (void)state;
  assert_int_equal(mproc_listener_new(NULL, NULL, 0, 0, NULL, 0), MPROC_EINVAL);
  assert_int_equal(mproc_listener_new(&l, NULL, 0, 0, NULL, 3), MPROC_EINVAL);
  assert_int_equal(mproc_listener_new(&l, "h:99999", MPROC_AF_INET, 0, NULL, 0),
                   MPROC_EINVAL);
  assert_int_equal(mproc_listener_new(&l, "::1:80", MPROC_AF_INET, 0, NULL, 0),
                   MPROC_EINVAL); /* IPv6 needs its brackets */
  assert_int_equal(mproc_listener_new(&l, "/tmp/x", MPROC_AF_INET, 0, NULL, 0),
                   MPROC_EINVAL);
  assert_int_equal(
      mproc_listener_new(&l, "1.2.3.4:5", MPROC_AF_UNIX, 0, NULL, 0),
      MPROC_EINVAL);
  assert_int_equal(mproc_listener_new(&l, NULL, (mproc_family)9, 0, NULL, 0),
                   MPROC_EINVAL);
  assert_int_equal(mproc_listener_new(&l, "", 0, 0, NULL, 0), MPROC_EINVAL);
  assert_null(l);
  assert_int_equal(mproc_client_connect(&c, NULL, 0, NULL, 0, 1), MPROC_EINVAL);
  assert_int_equal(mproc_client_connect(NULL, "1.2.3.4:5", 0, NULL, 0, 1),
                   MPROC_EINVAL);
  assert_int_equal(mproc_client_connect(&c, "127.0.0.1:1", 0, NULL, 0, NAN),
                   MPROC_EINVAL);
  assert_int_equal(mproc_listener_accept(NULL, 1, &c), MPROC_EINVAL);
  assert_int_equal(mproc_listener_close(NULL), MPROC_EINVAL);
  assert_null(mproc_listener_address(NULL));
  mproc_listener_free(NULL);
  /* The other platform's local family. */
  l = listen_on(NULL, NULL);
  local = mproc_listener_family(l);
  assert_int_equal(
      mproc_listener_new(&l2,
                         local == MPROC_AF_UNIX ? "\\\\.\\pipe\\x" : "/tmp/x",
                         0, 0, NULL, 0),
      MPROC_ENOTSUP);
  /* The same address twice; nobody there once closed. */
  assert_int_equal(
      mproc_listener_new(&l2, mproc_listener_address(l), 0, 0, NULL, 0),
      MPROC_EEXIST);
  snprintf(path, sizeof path, "%s", mproc_listener_address(l));
  assert_int_equal(mproc_listener_close(l), 0);
  assert_int_equal(mproc_listener_close(l), 0);
  assert_int_equal(mproc_listener_accept(l, 0, &c), MPROC_ECLOSED);
  assert_int_equal(mproc_client_connect(&c, path, 0, NULL, 0, 5), MPROC_ENOENT);
  mproc_listener_free(l);
  if (local == MPROC_AF_UNIX) { /* the path was removed at close */
    char longp[200];
    FILE *f = fopen(path, "r");
    assert_null(f);
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(mproc_listener_new(&l2, longp, 0, 0, NULL, 0),
                     MPROC_ENAMETOOLONG);
  }
}

int main(int argc, char **argv) {
  const struct CMUnitTest local[] = {
      cmocka_unit_test(test_roundtrip_families),
      cmocka_unit_test(test_addresses),
      cmocka_unit_test(test_wrong_key),
      cmocka_unit_test(test_missing_key),
      cmocka_unit_test(test_garbage_handshake),
      cmocka_unit_test(test_timeouts),
      cmocka_unit_test(test_many_connects),
      cmocka_unit_test(test_bad_input),
  };
  const struct CMUnitTest procs[] = {
      cmocka_unit_test(test_child_client),
      cmocka_unit_test(test_child_wrong_key),
      cmocka_unit_test(test_child_killed_mid_handshake),
      cmocka_unit_test(test_child_given_accepted),
  };
  int failed = 0;
  tu_set_argv0(argv[0]);
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  failed += cmocka_run_group_tests_name("connection", local, NULL, NULL);
  failed += TP_RUN_PER_METHOD("connection", procs);
  return failed ? 1 : 0;
}
