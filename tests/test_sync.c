/* mproc tests: shared memory, Value/Array and the synchronization objects
 * in one process (API, bad input, timeouts); the cross-process tests are in
 * test_sync_procs.c. Every group runs under each start method. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_sync.h"

static char created[256][64];
static int ncreated;

void remember_name(const char *name) {
  if (ncreated < 256) snprintf(created[ncreated++], sizeof created[0], "%s", name);
}

void run_children(mproc_target fn, const void *arg, size_t len, int n) {
  mproc_process *p[16];
  int i;
  assert_true(n <= 16);
  for (i = 0; i < n; i++) p[i] = tp_start(fn, arg, len, NULL, 0);
  for (i = 0; i < n; i++) assert_int_equal(tp_join(p[i]), 0);
}

/* ---- shared memory ------------------------------------------------------- */

static int t_shm_child(const void *arg, size_t len) {
  mproc_shm *s = NULL;
  char *buf;
  CHILD_CHECK(len == MPROC_SHM_NAME_MAX + 1);
  CHILD_CHECK(mproc_shm_open(&s, arg) == 0);
  buf = mproc_shm_buf(s);
  CHILD_CHECK(strcmp(buf, "from parent") == 0);
  CHILD_CHECK(mproc_shm_size(s) >= 10000);
  strcpy(buf + 5000, "from child");
  mproc_shm_free(s);
  return 0;
}
MPROC_TASK(t_shm_child);

static void test_shm_basics(void **state) {
  mproc_shm *s = NULL, *s2 = NULL;
  char name[MPROC_SHM_NAME_MAX + 1] = {0};
  (void)state;
  assert_int_equal(mproc_shm_new(&s, 10000, NULL), 0);
  remember_name(mproc_shm_name(s));
  assert_true(mproc_shm_size(s) >= 10000);
  assert_int_equal(mproc_shm_size(s) % 4096, 0);
  assert_int_equal(((uintptr_t)mproc_shm_buf(s)) % 4096, 0);
  assert_int_equal(((char *)mproc_shm_buf(s))[9999], 0); /* zero-filled */
  strcpy(mproc_shm_buf(s), "from parent");
  strcpy(name, mproc_shm_name(s));
  assert_int_equal(tp_join(tp_start(t_shm_child, name, sizeof name, NULL, 0)), 0);
  assert_string_equal((char *)mproc_shm_buf(s) + 5000, "from child");
  /* A second handle in the same process. */
  assert_int_equal(mproc_shm_open(&s2, name), 0);
  assert_string_equal(mproc_shm_buf(s2), "from parent");
  mproc_shm_free(s2);
  mproc_shm_free(s);
  /* The last holder closed it: the name is gone. */
  assert_int_equal(mproc_shm_open(&s2, name), MPROC_ENOENT);
  assert_null(s2);
}

static void test_shm_bad_input(void **state) {
  mproc_shm *s = NULL, *t = NULL;
  mproc_shm_opts o = MPROC_SHM_OPTS_INIT;
  char name[40];
  (void)state;
  assert_int_equal(mproc_shm_new(NULL, 10, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_shm_new(&s, 0, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_shm_new(&s, (size_t)-1, NULL), MPROC_ERANGE);
  o.name = "this-name-is-far-too-long-for-macos";
  assert_int_equal(mproc_shm_new(&s, 10, &o), MPROC_ENAMETOOLONG);
  assert_non_null(strstr(mproc_last_error(), "limit"));
  o.name = "bad/name";
  assert_int_equal(mproc_shm_new(&s, 10, &o), MPROC_EINVAL);
  o.name = "";
  assert_int_equal(mproc_shm_new(&s, 10, &o), MPROC_EINVAL);
  assert_int_equal(mproc_shm_open(&s, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_shm_open(&s, "mp-does-not-exist"), MPROC_ENOENT);
  snprintf(name, sizeof name, "t%ld-x", mproc_current_pid());
  o.name = name;
  assert_int_equal(mproc_shm_new(&s, 10, &o), 0);
  remember_name(name);
  assert_string_equal(mproc_shm_name(s), name);
  assert_int_equal(mproc_shm_new(&t, 10, &o), MPROC_EEXIST);
  assert_int_equal(mproc_shm_unlink(s), 0);
  assert_int_equal(mproc_shm_unlink(s), 0); /* twice is harmless */
  assert_int_equal(mproc_shm_open(&t, name), MPROC_ENOENT);
  assert_int_equal(mproc_shm_close(s), 0);
  assert_int_equal(mproc_shm_close(s), 0); /* closing twice is harmless */
  assert_int_equal(mproc_shm_close(NULL), MPROC_EINVAL);
  mproc_shm_free(s);
  mproc_shm_free(NULL); /* a no-op */
  /* Another kind of object under that name is refused. */
  {
    mproc_lock *l = NULL;
    mproc_array *a = NULL;
    assert_int_equal(mproc_lock_new(&l, NULL), 0);
    remember_name(mproc_lock_name(l));
    assert_int_equal(mproc_array_open(&a, mproc_lock_name(l)), MPROC_EINVAL);
    assert_non_null(strstr(mproc_last_error(), "lock"));
    mproc_lock_free(l);
  }
}

static void test_shm_no_track(void **state) {
  mproc_shm *s = NULL, *t = NULL;
  mproc_shm_opts o = MPROC_SHM_OPTS_INIT;
  char name[MPROC_SHM_NAME_MAX + 1];
  (void)state;
  o.no_track = 1;
  assert_int_equal(mproc_shm_new(&s, 100, &o), 0);
  strcpy(name, mproc_shm_name(s));
  remember_name(name);
  mproc_shm_free(s);
#ifdef _WIN32
  /* The kernel removes a mapping with its last handle: nothing outlives
   * its last close on Windows (docs/shm-sync.md). */
  assert_int_equal(mproc_shm_open(&t, name), MPROC_ENOENT);
  return;
#endif
  /* Not removed by its last close: it waits for an explicit unlink. */
  assert_int_equal(mproc_shm_open(&t, name), 0);
  assert_int_equal(mproc_shm_unlink(t), 0);
  mproc_shm_free(t);
  assert_int_equal(mproc_shm_open(&t, name), MPROC_ENOENT);
}

/* ---- values and arrays --------------------------------------------------- */

static void test_array_basics(void **state) {
  double init[3] = {1.5, 2.5, 3.5};
  mproc_array *a = NULL, *b = NULL, *v = NULL;
  mproc_rlock *l = NULL, *l2 = NULL;
  mproc_value_opts o = MPROC_VALUE_OPTS_INIT;
  int32_t one = 7;
  (void)state;
  assert_int_equal(mproc_typecode_size('d'), 8);
  assert_int_equal(mproc_typecode_size('h'), 2);
  assert_int_equal(mproc_typecode_size('x'), 0);
  assert_int_equal(mproc_array_new(&a, 'd', 3, init, NULL), 0);
  remember_name(mproc_array_name(a));
  assert_int_equal(mproc_array_len(a), 3);
  assert_int_equal(mproc_array_typecode(a), 'd');
  assert_true(((double *)mproc_array_ptr(a))[2] == 3.5);
  assert_int_equal(mproc_array_open(&b, mproc_array_name(a)), 0);
  ((double *)mproc_array_ptr(b))[1] = 9.0; /* zero-copy, shared */
  assert_true(((double *)mproc_array_ptr(a))[1] == 9.0);
  assert_int_equal(mproc_array_get_lock(a, &l), 0);
  assert_non_null(l);
  assert_int_equal(mproc_array_get_lock(b, &l2), 0); /* the same RLock */
  assert_int_equal(mproc_rlock_acquire(l, 0), 0);
  assert_int_equal(mproc_rlock_acquire(l2, 0), 0);
  assert_int_equal(mproc_rlock_count(l), 2);
  assert_int_equal(mproc_rlock_release(l2), 0);
  assert_int_equal(mproc_rlock_release(l), 0);
  mproc_rlock_free(l2); /* owned: before its array */
  mproc_array_free(b);
  mproc_array_free(a);
  assert_int_equal(mproc_rlock_acquire(l, 0), 0); /* and after */
  assert_int_equal(mproc_rlock_release(l), 0);
  mproc_rlock_free(l);

  o.raw = 1;
  assert_int_equal(mproc_value_new(&v, 'i', &one, &o), 0);
  remember_name(mproc_array_name(v));
  assert_int_equal(mproc_array_get_lock(v, &l), MPROC_EINVAL);
  assert_null(l);
  assert_int_equal(*(int32_t *)mproc_array_ptr(v), 7);
  mproc_array_free(v);

  assert_int_equal(mproc_array_new(&v, 'z', 1, NULL, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_array_new(&v, 'i', 0, NULL, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_array_new(&v, 'q', (size_t)1 << 62, NULL, NULL),
                   MPROC_ERANGE);
  mproc_array_free(NULL);
}

/* ---- locks --------------------------------------------------------------- */

static void test_lock_api(void **state) {
  mproc_lock *l = NULL, *l2 = NULL;
  mproc_rlock *r = NULL;
  (void)state;
  assert_int_equal(mproc_lock_new(&l, NULL), 0);
  remember_name(mproc_lock_name(l));
  assert_int_equal(mproc_lock_release(l), MPROC_ESTATE); /* not held */
  assert_int_equal(mproc_lock_acquire(l, 0), 0);
  assert_int_equal(mproc_lock_acquire(l, 0), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_lock_acquire(l, -1), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_lock_acquire(l, 0.05), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_lock_acquire(l, 0.0 / 0.0), MPROC_EINVAL);
  assert_int_equal(mproc_lock_open(&l2, mproc_lock_name(l)), 0);
  assert_int_equal(mproc_lock_release(l2), 0); /* any holder may release */
  assert_int_equal(mproc_lock_acquire(l2, MPROC_FOREVER), 0);
  assert_int_equal(mproc_lock_release(l), 0);
  mproc_lock_free(l2);
  mproc_lock_free(l);
  mproc_lock_free(NULL);
  assert_int_equal(mproc_lock_acquire(NULL, 0), MPROC_EINVAL);

  assert_int_equal(mproc_rlock_new(&r, NULL), 0);
  remember_name(mproc_rlock_name(r));
  assert_int_equal(mproc_rlock_release(r), MPROC_EPERM);
  assert_int_equal(mproc_rlock_acquire(r, 0), 0);
  assert_int_equal(mproc_rlock_acquire(r, 0), 0);
  assert_int_equal(mproc_rlock_count(r), 2);
  assert_int_equal(mproc_rlock_release(r), 0);
  assert_int_equal(mproc_rlock_release(r), 0);
  assert_int_equal(mproc_rlock_release(r), MPROC_EPERM);
  mproc_rlock_free(r);
}

static void test_semaphore_api(void **state) {
  mproc_sem *s = NULL;
  (void)state;
  assert_int_equal(mproc_sem_new(&s, -1, MPROC_SEMAPHORE, NULL), MPROC_EINVAL);
  if (LONG_MAX > INT32_MAX) /* long is 32 bits on Windows */
    assert_int_equal(mproc_sem_new(&s, (long)(LONG_MAX / 2), MPROC_SEMAPHORE, NULL),
                     MPROC_ERANGE);
  assert_int_equal(mproc_sem_new(&s, 2, MPROC_BOUNDED_SEMAPHORE, NULL), 0);
  remember_name(mproc_sem_name(s));
  assert_int_equal(mproc_sem_release(s), MPROC_ERANGE); /* bounded */
  assert_non_null(strstr(mproc_last_error(), "too many"));
  assert_int_equal(mproc_sem_acquire(s, 0), 0);
  assert_int_equal(mproc_sem_acquire(s, 0), 0);
  assert_int_equal(mproc_sem_value(s), 0);
  assert_int_equal(mproc_sem_acquire(s, 0), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_sem_acquire(s, 0.05), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_sem_release(s), 0);
  assert_int_equal(mproc_sem_release(s), 0);
  assert_int_equal(mproc_sem_value(s), 2);
  mproc_sem_free(s);
}

static void test_event_api(void **state) {
  mproc_event *e = NULL;
  (void)state;
  assert_int_equal(mproc_event_new(&e, NULL), 0);
  remember_name(mproc_event_name(e));
  assert_int_equal(mproc_event_is_set(e), 0);
  assert_int_equal(mproc_event_wait(e, 0.05), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_event_set(e), 0);
  assert_int_equal(mproc_event_is_set(e), 1);
  assert_int_equal(mproc_event_wait(e, MPROC_FOREVER), 0);
  assert_int_equal(mproc_event_clear(e), 0);
  assert_int_equal(mproc_event_wait(e, 0), MPROC_ETIMEDOUT);
  mproc_event_free(e);
}

static int pred_count(void *arg) { return ++*(int *)arg >= 3; }
static int pred_true(void *arg) { return ++*(int *)arg > 0; }

static void test_condition_api(void **state) {
  mproc_cond *c = NULL;
  mproc_lock *l = NULL;
  int calls = 0;
  (void)state;
  assert_int_equal(mproc_cond_new(&c, NULL, NULL, NULL), 0);
  remember_name(mproc_cond_name(c));
  assert_int_equal(mproc_cond_wait(c, 0), MPROC_EPERM); /* lock not held */
  assert_int_equal(mproc_cond_notify(c, 1), MPROC_EPERM);
  assert_int_equal(mproc_cond_acquire(c, MPROC_FOREVER), 0);
  assert_int_equal(mproc_cond_acquire(c, MPROC_FOREVER), 0); /* an RLock */
  assert_int_equal(mproc_cond_wait(c, 0.05), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_cond_notify(c, -1), MPROC_EINVAL);
  assert_int_equal(mproc_cond_notify_all(c), 0);
  assert_int_equal(mproc_cond_wait_for(c, pred_count, &calls, 0.05),
                   MPROC_ETIMEDOUT);
  assert_true(calls >= 2); /* checked before and after the wait */
  calls = 0;
  assert_int_equal(mproc_cond_wait_for(c, pred_true, &calls, 5), 0);
  assert_int_equal(calls, 1);
  assert_int_equal(mproc_cond_release(c), 0);
  assert_int_equal(mproc_cond_release(c), 0);
  mproc_cond_free(c);

  assert_int_equal(mproc_lock_new(&l, NULL), 0);
  remember_name(mproc_lock_name(l));
  assert_int_equal(mproc_cond_new(&c, l, NULL, NULL), 0);
  remember_name(mproc_cond_name(c));
  assert_int_equal(mproc_cond_acquire(c, 1), 0);
  assert_int_equal(mproc_cond_wait(c, 0.02), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_lock_release(l), 0); /* the same lock */
  mproc_cond_free(c);
  mproc_lock_free(l);
}

static void test_barrier_api(void **state) {
  mproc_barrier *b = NULL;
  (void)state;
  assert_int_equal(mproc_barrier_new(&b, 0, NULL, NULL, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_barrier_new(&b, 40000, NULL, NULL, NULL),
                   MPROC_EINVAL);
  assert_int_equal(mproc_barrier_new(&b, 1, NULL, NULL, NULL), 0);
  remember_name(mproc_barrier_name(b));
  assert_int_equal(mproc_barrier_wait(b, 1), 0); /* one party: through */
  mproc_barrier_free(b);
  assert_int_equal(mproc_barrier_new(&b, 2, NULL, NULL, NULL), 0);
  remember_name(mproc_barrier_name(b));
  assert_int_equal(mproc_barrier_parties(b), 2);
  assert_int_equal(mproc_barrier_wait(b, 0.05), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_barrier_broken(b), 1);
  assert_int_equal(mproc_barrier_wait(b, 1), MPROC_EBROKEN);
  assert_int_equal(mproc_barrier_reset(b), 0);
  assert_int_equal(mproc_barrier_broken(b), 0);
  assert_int_equal(mproc_barrier_n_waiting(b), 0);
  assert_int_equal(mproc_barrier_abort(b), 0);
  assert_int_equal(mproc_barrier_wait(b, 1), MPROC_EBROKEN);
  mproc_barrier_free(b);
}

/* ---- the resource tracker ------------------------------------------------ */

static int t_open_and_sleep(const void *arg, size_t len) {
  mproc_shm *s = NULL;
  (void)len;
  CHILD_CHECK(mproc_shm_open(&s, arg) == 0);
  for (;;) tu_sleep_ms(1000);
}
MPROC_TASK(t_open_and_sleep);

/* A separate program: creates `name`, has a child open it too, and dies by
 * SIGKILL without closing anything. */
static int role_leaker(int argc, char **argv, const char *name) {
  mproc_shm *s = NULL;
  mproc_process *p = NULL;
  mproc_shm_opts o = MPROC_SHM_OPTS_INIT;
  char arg[MPROC_SHM_NAME_MAX + 1] = {0};
  mproc_init(argc, argv);
  o.name = name;
  if (mproc_shm_new(&s, 4096, &o) != 0) return 2;
  snprintf(arg, sizeof arg, "%s", name);
  if (mproc_process_new(&p, t_open_and_sleep, arg, strlen(arg) + 1, NULL) ||
      mproc_process_start(p))
    return 3;
  tu_sleep_ms(200); /* let the child open it */
  tu_kill_pid(mproc_current_pid());
  return 4;
}

static char prefix[16]; /* MPROC_NAME_PREFIX of this run */

/* How many names of this run are in /dev/shm (-1: no such place). */
static int count_ours(void) {
  char dash[20];
  snprintf(dash, sizeof dash, "%s-", prefix);
  return tu_count_shm(dash);
}

/* Run `role` as a separate program that leaks `name` (and dies): its
 * tracker must remove it once the program and its children are gone. */
static void leak_and_wait_for_sweep(const char *role, const char *tag) {
  char name[MPROC_SHM_NAME_MAX + 1];
  mproc_shm *s = NULL;
  long pid;
  int i, rc = 0;
  snprintf(name, sizeof name, "t%ld-%s", mproc_current_pid(), tag);
  remember_name(name);
  pid = tu_spawn_self(role, name);
  assert_true(pid > 0);
  assert_true(tu_wait_pid(pid) != 0); /* it killed itself */
  /* Its tracker sweeps once the program and its child are gone. */
  for (i = 0; i < 100; i++) {
    rc = mproc_shm_open(&s, name);
    if (rc == MPROC_ENOENT) break;
    if (rc == 0) mproc_shm_free(s);
    tu_sleep_ms(100);
  }
  assert_int_equal(rc, MPROC_ENOENT);
}

static void test_tracker_sweeps_killed_program(void **state) {
  (void)state;
  if (g_method != mproc_get_start_method()) skip(); /* once is enough */
  leak_and_wait_for_sweep("--role-leaker", "leak");
}

/* The same with the leaker's registry full: its segments there and the
 * one beyond it (tracked by datagram) are all removed; test_nothing_left
 * counts the former (they carry this run's prefix). */
static void test_tracker_sweeps_full_registry(void **state) {
  int i;
  (void)state;
#ifdef _WIN32
  skip(); /* no registry */
#endif
  if (g_method != mproc_get_start_method()) skip();
  leak_and_wait_for_sweep("--role-leaker-full", "leakf");
  /* The tracker removes the full registry's segments in the same sweep,
   * a pass that may take a few rounds while the program is dying. */
  for (i = 0; i < 100 && count_ours() > 0; i++) tu_sleep_ms(100);
}

/* Run last: every object the suite made is gone. */
static void test_nothing_left(void **state) {
  int i, now;
  (void)state;
  now = count_ours();
  if (now > 0) fail_msg("%d %s-* names left in /dev/shm", now, prefix);
  for (i = 0; i < ncreated; i++) {
    mproc_shm *s = NULL;
    mproc_lock *l = NULL;
    int a = mproc_shm_open(&s, created[i]);
    int b = mproc_lock_open(&l, created[i]);
    if (a != MPROC_ENOENT || b != MPROC_ENOENT)
      fail_msg("shared object \"%s\" was left behind", created[i]);
  }
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shm_basics),
      cmocka_unit_test(test_shm_bad_input),
      cmocka_unit_test(test_shm_no_track),
      cmocka_unit_test(test_array_basics),
      cmocka_unit_test(test_lock_api),
      cmocka_unit_test(test_semaphore_api),
      cmocka_unit_test(test_event_api),
      cmocka_unit_test(test_condition_api),
      cmocka_unit_test(test_barrier_api),
      cmocka_unit_test(test_value_counter_locked),
      cmocka_unit_test(test_raw_value_races),
      cmocka_unit_test(test_semaphore_limits),
      cmocka_unit_test(test_condition_producer_consumer),
      cmocka_unit_test(test_event_handoff),
      cmocka_unit_test(test_barrier_rounds),
      cmocka_unit_test(test_lock_owner_death),
      cmocka_unit_test(test_rlock_owner_death),
      cmocka_unit_test(test_killed_holder_releases_name),
      cmocka_unit_test(test_killed_waiters),
      cmocka_unit_test(test_plain_fork_child),
      cmocka_unit_test(test_shm_child_holds),
      cmocka_unit_test(test_shm_killed_holder),
      cmocka_unit_test(test_shm_registry_full),
      cmocka_unit_test(test_shm_churn),
      cmocka_unit_test(test_shm_names_after_fork),
      cmocka_unit_test(test_event_set_then_clear),
      cmocka_unit_test(test_condition_notify_n),
      cmocka_unit_test(test_barrier_abort_in_action),
      cmocka_unit_test(test_barrier_timeout_in_action),
      cmocka_unit_test(test_barrier_reset_late_waiter),
      cmocka_unit_test(test_barrier_reset_after_death),
      cmocka_unit_test(test_interrupt_threads),
      cmocka_unit_test(test_interrupt_child),
      cmocka_unit_test(test_lock_locked_and_checks),
      cmocka_unit_test(test_tracker_sweeps_killed_program),
      cmocka_unit_test(test_tracker_sweeps_full_registry),
      cmocka_unit_test(test_nothing_left),
  };
  int failed = 0;
  tu_set_argv0(argv[0]);
  if (argc >= 3 && strcmp(argv[1], "--role-leaker") == 0)
    return role_leaker(1, argv, argv[2]);
  if (argc >= 3 && strcmp(argv[1], "--role-leaker-full") == 0)
    return role_leaker_full(1, argv, argv[2]);
  /* Our generated names get a prefix of their own (children inherit it),
   * so the last test can look for leftovers of this run alone. */
  if (getenv("MPROC_NAME_PREFIX")) { /* a child: the parent's prefix */
    snprintf(prefix, sizeof prefix, "%s", getenv("MPROC_NAME_PREFIX"));
  } else {
    snprintf(prefix, sizeof prefix, "ts%ld", mproc_current_pid() % 1000000);
    tu_setenv("MPROC_NAME_PREFIX", prefix);
  }
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  failed += TP_RUN_PER_METHOD("sync", tests);
  return failed ? 1 : 0;
}
