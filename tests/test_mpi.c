/* mproc tests: the MPI kind of executor (built with -DMPROC_WITH_MPI=ON).
 *
 * Run as `mpiexec -n 4 test_mpi` (static mode: mproc_init turns ranks
 * 1..3 into workers; rank 0 runs this suite), `test_mpi spawn` without
 * mpiexec (spawn mode: Open MPI; with an MPI that cannot spawn the suite
 * checks the MPROC_ENOTSUP sentence instead, and fails when
 * MPROC_TEST_MPI_SPAWN=1 says spawning must work), `mpiexec -n 3 test_mpi
 * comm` (the program initializes MPI itself: the communicator executor),
 * and `mpiexec -n 3 test_mpi die` (a rank dies: the job must end, not
 * hang; CTest expects it to fail). Under Open MPI, `mpiexec
 * --enable-recovery -n 4 test_mpi survive` and `test_mpi spawn-survive`
 * (spawn mode, orte_enable_recovery set) kill a rank with SIGKILL in the
 * middle of the work: only the futures it held fail, with
 * MPROC_EWORKERDIED, and the rest completes on the other ranks.
 *
 * Workers are MPI ranks, not children: a task reports a failed check by
 * returning non-zero (its message reaches the future), never by a CMocka
 * assert. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <mpi.h>

#include "mproc.h"
#include "mproc/mpi.h"
#include "util.h"

static int mode_spawn; /* the executors spawn their workers */

/* ---- tasks (registered: the ranks find them by name) ---------------------- */

static int square(const void *in, size_t len, mproc_buf *out) {
  int64_t x;
  if (len != sizeof x) return mproc_task_fail(out, 5, "want 8 bytes, got %zu", len);
  memcpy(&x, in, sizeof x);
  x *= x;
  return mproc_buf_write(out, &x, sizeof x);
}
MPROC_TASK(square);

/* Input: any bytes; result: their count, a checksum, then the bytes
 * reversed. */
static int reverse(const void *in, size_t len, mproc_buf *out) {
  const unsigned char *p = in;
  uint64_t sum = 0, n = len;
  unsigned char *r;
  size_t i;
  for (i = 0; i < len; i++) sum = sum * 31 + p[i];
  if (mproc_buf_write(out, &n, 8) || mproc_buf_write(out, &sum, 8)) return -1;
  if ((r = mproc_buf_reserve(out, len)) == NULL && len) return -1;
  for (i = 0; i < len; i++) r[i] = p[len - 1 - i];
  return 0;
}
MPROC_TASK(reverse);

/* Input: a size; result: that many bytes, byte i = i * 7. */
static int make_bytes(const void *in, size_t len, mproc_buf *out) {
  uint64_t n;
  unsigned char *r;
  size_t i;
  if (len != 8) return -1;
  memcpy(&n, in, 8);
  if ((r = mproc_buf_reserve(out, (size_t)n)) == NULL && n) return -1;
  for (i = 0; i < n; i++) r[i] = (unsigned char)(i * 7);
  return 0;
}
MPROC_TASK(make_bytes);

static int fails(const void *in, size_t len, mproc_buf *out) {
  (void)in;
  return mproc_task_fail(out, 7, "no luck with %zu bytes", len);
}
MPROC_TASK(fails);

/* Sleep the milliseconds given, then answer the worker's index. */
static int nap(const void *in, size_t len, mproc_buf *out) {
  int32_t ms = 0, w;
  if (len == sizeof ms) memcpy(&ms, in, sizeof ms);
  if (ms > 0) tu_sleep_ms(ms);
  w = mproc_task_context(out)->worker;
  return mproc_buf_write(out, &w, sizeof w);
}
MPROC_TASK(nap);

static int not_registered(const void *in, size_t len, mproc_buf *out) {
  (void)in;
  (void)len;
  (void)out;
  return 0;
}

static int32_t init_value; /* set by the initializer, in each worker */

static int set_value(const void *args, size_t len) {
  if (len != sizeof init_value) return 9;
  memcpy(&init_value, args, sizeof init_value);
  return init_value < 0 ? 3 : 0; /* a negative value fails the initializer */
}
MPROC_TASK(set_value);

static int get_value(const void *in, size_t len, mproc_buf *out) {
  (void)in;
  (void)len;
  return mproc_buf_write(out, &init_value, sizeof init_value);
}
MPROC_TASK(get_value);

/* One rank per node with a local pool inside (docs/mpi.md): the task
 * maps square over 1..n with a process executor of its own. */
static int local_pool(const void *in, size_t len, mproc_buf *out) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex = NULL;
  mproc_map *m = NULL;
  int64_t items[16], sum = 0, n = 0, i;
  const void *d;
  size_t dl;
  int rc;
  if (len == sizeof n) memcpy(&n, in, sizeof n);
  if (n < 1 || n > 16) return mproc_task_fail(out, 2, "n must be 1..16");
  for (i = 0; i < n; i++) items[i] = i + 1;
  o.max_workers = 2;
  /* spawn: a fresh program image; fork (also the forkserver's) after
   * MPI_Init is what MPI libraries warn against. */
  o.method = MPROC_START_SPAWN;
  if ((rc = mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, &o)) != 0 ||
      (rc = mproc_executor_map(ex, square, items, (size_t)n, 8, NULL, &m)) != 0) {
    mproc_executor_free(ex);
    return mproc_task_fail(out, 3, "local pool: %s", mproc_last_error());
  }
  while ((rc = mproc_map_next(m, &d, &dl)) == 0) {
    int64_t v;
    memcpy(&v, d, sizeof v);
    sum += v;
  }
  mproc_map_free(m);
  mproc_executor_free(ex);
  if (rc != MPROC_EEOF)
    return mproc_task_fail(out, 4, "local map: %s", mproc_last_error());
  return mproc_buf_write(out, &sum, sizeof sum);
}
MPROC_TASK(local_pool);

static int die(const void *in, size_t len, mproc_buf *out) {
  (void)in;
  (void)len;
  (void)out;
  abort();
}
MPROC_TASK(die);

/* square, except that -1 kills the rank running it outright. */
static int square_or_die(const void *in, size_t len, mproc_buf *out) {
  int64_t x;
  if (len != sizeof x) return mproc_task_fail(out, 5, "want 8 bytes");
  memcpy(&x, in, sizeof x);
  if (x == -1) kill(getpid(), SIGKILL);
  x *= x;
  return mproc_buf_write(out, &x, sizeof x);
}
MPROC_TASK(square_or_die);

/* ---- helpers ------------------------------------------------------------------- */

static mproc_executor *make(const mproc_executor_opts *o) {
  mproc_executor *ex = NULL;
  mproc_executor_opts d = MPROC_EXECUTOR_OPTS_INIT;
  int rc;
  if (mode_spawn && o == NULL) {
    d.max_workers = 3;
    o = &d;
  }
  rc = mproc_executor_new(&ex, MPROC_EXECUTOR_MPI, o);
  if (rc != 0) fprintf(stderr, "executor_new: %s\n", mproc_last_error());
  assert_int_equal(rc, 0);
  assert_non_null(ex);
  return ex;
}

static int64_t result_i64(mproc_future *f) {
  const void *d;
  size_t n;
  int64_t v = 0;
  int rc = mproc_future_result(f, 120, &d, &n);
  if (rc != 0) fprintf(stderr, "result: %s\n", mproc_last_error());
  assert_int_equal(rc, 0);
  assert_int_equal(n, sizeof v);
  memcpy(&v, d, sizeof v);
  return v;
}

/* ---- the tests ----------------------------------------------------------------- */

static void test_submit_result(void **state) {
  mproc_executor *ex = make(NULL);
  mproc_future *fs[200];
  int64_t i;
  (void)state;
  assert_true(mproc_executor_max_workers(ex) >= 1);
  for (i = 0; i < 200; i++)
    assert_int_equal(mproc_executor_submit(ex, square, &i, sizeof i, &fs[i]), 0);
  for (i = 0; i < 200; i++) {
    assert_int_equal(result_i64(fs[i]), i * i);
    assert_int_equal(mproc_future_state_of(fs[i]), MPROC_FUTURE_FINISHED);
    mproc_future_free(fs[i]);
  }
  /* one at a time, each a round trip */
  for (i = 0; i < 50; i++) {
    mproc_future *f;
    assert_int_equal(mproc_executor_submit(ex, square, &i, sizeof i, &f), 0);
    assert_int_equal(result_i64(f), i * i);
    mproc_future_free(f);
  }
  mproc_executor_free(ex);
}

static void check_map(mproc_executor *ex, size_t n, size_t chunk,
                      size_t buffersize) {
  int64_t *items = malloc(n * sizeof *items);
  mproc_map_opts mo = MPROC_MAP_OPTS_INIT;
  mproc_map *m;
  const void *d;
  size_t i, len;
  assert_non_null(items);
  for (i = 0; i < n; i++) items[i] = (int64_t)i - 7;
  mo.chunksize = chunk;
  mo.buffersize = buffersize;
  mo.timeout = 300;
  assert_int_equal(mproc_executor_map(ex, square, items, n, sizeof *items,
                                      &mo, &m), 0);
  for (i = 0; i < n; i++) {
    int64_t v;
    assert_int_equal(mproc_map_next(m, &d, &len), 0);
    assert_int_equal(len, sizeof v);
    memcpy(&v, d, sizeof v);
    assert_int_equal(v, items[i] * items[i]);
  }
  assert_int_equal(mproc_map_next(m, &d, &len), MPROC_EEOF);
  mproc_map_free(m);
  free(items);
}

static void test_map_in_order(void **state) {
  mproc_executor *ex = make(NULL);
  (void)state;
  check_map(ex, 20000, 1, 0);
  check_map(ex, 20000, 1000, 0);
  check_map(ex, 5000, 1, 64); /* buffersize: at most 64 in flight */
  check_map(ex, 1, 1, 0);
  check_map(ex, 0, 1, 0);
  mproc_executor_free(ex);
}

/* Bytes of any size both ways, above and below the big-message limit. */
static void test_large_payloads(void **state) {
  static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 3u << 20};
  mproc_executor *ex = make(NULL);
  size_t k, i;
  (void)state;
  for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t n = sizes[k];
    unsigned char *in = malloc(n ? n : 1);
    uint64_t sum = 0, got[2];
    const unsigned char *d;
    const void *dv;
    size_t len;
    mproc_future *f;
    for (i = 0; i < n; i++) {
      in[i] = (unsigned char)(i * 13 + k);
      sum = sum * 31 + in[i];
    }
    assert_int_equal(mproc_executor_submit(ex, reverse, in, n, &f), 0);
    assert_int_equal(mproc_future_result(f, 120, &dv, &len), 0);
    d = dv;
    assert_int_equal(len, 16 + n);
    memcpy(got, d, 16);
    assert_int_equal(got[0], n);
    assert_int_equal(got[1], sum);
    for (i = 0; i < n; i++) assert_int_equal(d[16 + i], in[n - 1 - i]);
    mproc_future_free(f);
    free(in);
  }
  {
    uint64_t n = 5u << 20;
    mproc_future *f;
    void *data;
    size_t len;
    assert_int_equal(mproc_executor_submit(ex, make_bytes, &n, 8, &f), 0);
    assert_int_equal(mproc_future_take(f, 120, &data, &len), 0);
    assert_int_equal(len, n);
    for (i = 0; i < n; i += 4099)
      assert_int_equal(((unsigned char *)data)[i], (unsigned char)(i * 7));
    mproc_free(data);
    mproc_future_free(f);
  }
  mproc_executor_free(ex);
}

static void test_task_failure(void **state) {
  mproc_executor *ex = make(NULL);
  mproc_future *f;
  int code = 0;
  const char *msg = NULL;
  char x[3] = "ab";
  (void)state;
  assert_int_equal(mproc_executor_submit(ex, fails, x, 3, &f), 0);
  assert_int_equal(mproc_future_result(f, 120, NULL, NULL), MPROC_ETASK);
  assert_non_null(strstr(mproc_last_error(), "no luck with 3 bytes"));
  assert_int_equal(mproc_future_exception(f, 0, &code, &msg), MPROC_ETASK);
  assert_int_equal(code, 7);
  assert_string_equal(msg, "no luck with 3 bytes");
  mproc_future_free(f);
  /* an unregistered function is refused at submit */
  assert_int_equal(mproc_executor_submit(ex, not_registered, NULL, 0, &f),
                   MPROC_ENOTREG);
  assert_null(f);
  assert_non_null(strstr(mproc_last_error(), "MPROC_TASK"));
  mproc_executor_free(ex);
}

static void test_wait_and_as_completed(void **state) {
  mproc_executor *ex = make(NULL);
  mproc_future *fs[30], *g;
  unsigned char done[30];
  mproc_as_completed *it;
  int32_t ms;
  int i, seen = 0, workers = mproc_executor_max_workers(ex);
  uint32_t used = 0;
  (void)state;
  for (i = 0; i < 30; i++) {
    ms = (i % 3) * 10;
    assert_int_equal(mproc_executor_submit(ex, nap, &ms, sizeof ms, &fs[i]), 0);
  }
  assert_int_equal(mproc_wait(fs, 30, 120, MPROC_ALL_COMPLETED, done), 30);
  for (i = 0; i < 30; i++) assert_int_equal(done[i], 1);
  assert_int_equal(mproc_as_completed_new(&it, fs, 30, 120), 0);
  while (mproc_as_completed_next(it, &g) == 0) {
    const void *d;
    int32_t w;
    assert_int_equal(mproc_future_result(g, 0, &d, NULL), 0);
    memcpy(&w, d, sizeof w);
    assert_true(w >= 0 && w < workers);
    used |= 1u << w;
    seen++;
  }
  assert_int_equal(seen, 30);
  assert_true(used != 0);
  mproc_as_completed_free(it);
  for (i = 0; i < 30; i++) mproc_future_free(fs[i]);
  mproc_executor_free(ex);
}

/* More futures than the ranks' windows hold: the tail is still pending
 * and can be cancelled; the rest finish. */
static void test_cancel_pending(void **state) {
  enum { N = 2400 };
  mproc_executor *ex = make(NULL);
  mproc_future **fs = calloc(N, sizeof *fs);
  int32_t ms = 1;
  int i, cancelled = 0, finished = 0;
  (void)state;
  assert_non_null(fs);
  for (i = 0; i < N; i++)
    assert_int_equal(mproc_executor_submit(ex, nap, &ms, sizeof ms, &fs[i]), 0);
  for (i = N - 1; i >= N - 200; i--) cancelled += mproc_future_cancel(fs[i]);
  assert_true(cancelled > 0);
  for (i = 0; i < N; i++) {
    int rc = mproc_future_result(fs[i], 300, NULL, NULL);
    if (rc == MPROC_ECANCELLED) {
      assert_int_equal(mproc_future_cancelled(fs[i]), 1);
      assert_true(i >= N - 200);
    } else {
      assert_int_equal(rc, 0);
      finished++;
    }
  }
  assert_int_equal(finished + cancelled, N);
  for (i = 0; i < N; i++) mproc_future_free(fs[i]);
  /* shutdown(cancel_futures) cancels what is pending; later submits fail */
  for (i = 0; i < N; i++)
    assert_int_equal(mproc_executor_submit(ex, nap, &ms, sizeof ms, &fs[i]), 0);
  assert_int_equal(mproc_executor_shutdown(ex, MPROC_SHUTDOWN_WAIT |
                                           MPROC_SHUTDOWN_CANCEL_FUTURES), 0);
  cancelled = 0;
  for (i = 0; i < N; i++) {
    assert_true(mproc_future_done(fs[i]) == 1);
    cancelled += mproc_future_cancelled(fs[i]);
    mproc_future_free(fs[i]);
  }
  assert_true(cancelled > 0);
  assert_int_equal(mproc_executor_submit(ex, nap, &ms, sizeof ms, &fs[0]),
                   MPROC_ESTATE);
  mproc_executor_free(ex);
  free(fs);
}

static void test_initializer(void **state) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex;
  mproc_future *f;
  int32_t v = 41, got;
  const void *d;
  int i;
  (void)state;
  if (mode_spawn) o.max_workers = 3;
  o.initializer = set_value;
  o.initargs = &v;
  o.initargs_len = sizeof v;
  ex = make(&o);
  for (i = 0; i < 20; i++) {
    assert_int_equal(mproc_executor_submit(ex, get_value, NULL, 0, &f), 0);
    assert_int_equal(mproc_future_result(f, 120, &d, NULL), 0);
    memcpy(&got, d, sizeof got);
    assert_int_equal(got, 41);
    mproc_future_free(f);
  }
  mproc_executor_free(ex);
  /* a failing initializer breaks the executor, with the reason */
  v = -1;
  ex = make(&o);
  {
    int rc = mproc_executor_submit(ex, get_value, NULL, 0, &f);
    if (rc == 0) {
      assert_int_equal(mproc_future_result(f, 120, NULL, NULL), MPROC_EBROKEN);
      mproc_future_free(f);
    } else {
      assert_int_equal(rc, MPROC_EBROKEN);
    }
    assert_non_null(strstr(mproc_last_error(), "initializer failed"));
  }
  mproc_executor_free(ex);
}

static void test_bad_input(void **state) {
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex, *ex2 = NULL;
  mproc_future *f;
  (void)state;
  o.max_tasks_per_child = 3;
  assert_int_equal(mproc_executor_new(&ex2, MPROC_EXECUTOR_MPI, &o),
                   MPROC_ENOTSUP);
  assert_null(ex2);
  ex = make(NULL);
  assert_int_equal(mproc_executor_submit(ex, NULL, NULL, 0, &f), MPROC_EINVAL);
  assert_int_equal(mproc_executor_submit(ex, square, NULL, 4, &f),
                   MPROC_EINVAL);
  assert_int_equal(mproc_executor_terminate_workers(ex, MPROC_STOP_TERMINATE),
                   MPROC_ENOTSUP);
  assert_non_null(strstr(mproc_last_error(), "MPI"));
  if (!mode_spawn) {
    /* the ranks of this run serve one executor at a time */
    assert_int_equal(mproc_executor_new(&ex2, MPROC_EXECUTOR_MPI, NULL),
                     MPROC_ESTATE);
    assert_null(ex2);
    assert_true(mproc_mpi_static_workers() >= 1);
  }
  assert_int_equal(mproc_executor_shutdown(ex, 0), 0);
  assert_int_equal(mproc_executor_shutdown(ex, MPROC_SHUTDOWN_WAIT), 0);
  assert_int_equal(mproc_executor_submit(ex, square, NULL, 0, &f),
                   MPROC_ESTATE);
  mproc_executor_free(ex);
  mproc_executor_free(NULL);
}

/* An executor used from several threads at once, with a completion
 * handle: every future reaches the completion queue. */
static void test_completion_queue(void **state) {
  mproc_executor *ex = make(NULL);
  mproc_future *fs[100], *g;
  int64_t i;
  int got = 0, tries = 0;
  (void)state;
  assert_true(mproc_executor_completion_handle(ex) != MPROC_NO_HANDLE);
  for (i = 0; i < 100; i++)
    assert_int_equal(mproc_executor_submit(ex, square, &i, sizeof i, &fs[i]), 0);
  for (i = 0; i < 100; i++) (void)result_i64(fs[i]);
  while (got < 100 && tries++ < 1000) {
    if (mproc_executor_next_completed(ex, &g) == 0) {
      got++;
      mproc_future_free(g);
    }
  }
  assert_int_equal(got, 100);
  for (i = 0; i < 100; i++) mproc_future_free(fs[i]);
  mproc_executor_free(ex);
}

static void test_local_pool_in_a_rank(void **state) {
  mproc_executor *ex = make(NULL);
  mproc_future *fs[3];
  int64_t n = 10;
  int i;
  (void)state;
  for (i = 0; i < 3; i++)
    assert_int_equal(mproc_executor_submit(ex, local_pool, &n, 8, &fs[i]), 0);
  for (i = 0; i < 3; i++) {
    assert_int_equal(result_i64(fs[i]), 385); /* 1 + 4 + ... + 100 */
    mproc_future_free(fs[i]);
  }
  mproc_executor_free(ex);
}

static const struct CMUnitTest suite[] = {
    cmocka_unit_test(test_submit_result),
    cmocka_unit_test(test_map_in_order),
    cmocka_unit_test(test_large_payloads),
    cmocka_unit_test(test_task_failure),
    cmocka_unit_test(test_wait_and_as_completed),
    cmocka_unit_test(test_cancel_pending),
    cmocka_unit_test(test_initializer),
    cmocka_unit_test(test_bad_input),
    cmocka_unit_test(test_completion_queue),
    cmocka_unit_test(test_local_pool_in_a_rank),
};

/* ---- the other modes --------------------------------------------------------- */

/* Spawn mode where MPI cannot spawn: a clear MPROC_ENOTSUP. */
static int spawn_suite(void) {
  mproc_executor *ex = NULL;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  const char *must = getenv("MPROC_TEST_MPI_SPAWN");
  int rc;
  o.max_workers = 2;
  rc = mproc_executor_new(&ex, MPROC_EXECUTOR_MPI, &o);
  if (rc == MPROC_ENOTSUP) {
    printf("spawn mode: not supported here: %s\n", mproc_last_error());
    if (strstr(mproc_last_error(), "MPI_Comm_spawn") == NULL) return 1;
    return must && strcmp(must, "1") == 0 ? 1 : 0;
  }
  if (rc != 0) {
    fprintf(stderr, "spawn: %s\n", mproc_last_error());
    return 1;
  }
  mproc_executor_free(ex);
  mode_spawn = 1;
  return cmocka_run_group_tests_name("mpi_spawn", suite, NULL, NULL);
}

/* The program's own MPI and communicator: ranks 1.. serve inside the
 * call; the root runs a map over them. */
static int comm_suite(void) {
  mproc_executor *ex = NULL;
  int rank = 0, rc, fails_n = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (mproc_mpi_static_workers() != 0) fails_n++; /* the program kept its ranks */
  rc = mproc_mpi_comm_executor(&ex, MPI_COMM_WORLD, 0, NULL);
  if (rc != 0) {
    fprintf(stderr, "rank %d: comm_executor: %s\n", rank, mproc_last_error());
    fails_n++;
  } else if (ex != NULL) {
    int64_t items[500];
    mproc_map *m;
    const void *d;
    size_t i, len;
    for (i = 0; i < 500; i++) items[i] = (int64_t)i;
    if (mproc_executor_map(ex, square, items, 500, 8, NULL, &m) != 0) {
      fails_n++;
    } else {
      for (i = 0; i < 500; i++) {
        int64_t v = -1;
        if (mproc_map_next(m, &d, &len) == 0) memcpy(&v, d, 8);
        if (v != (int64_t)(i * i)) fails_n++;
      }
      mproc_map_free(m);
    }
    mproc_executor_free(ex);
    printf("comm executor: root done, %d failures\n", fails_n);
  }
  /* bad input, at every rank (no collective happens) */
  if (mproc_mpi_comm_executor(&ex, MPI_COMM_NULL, 0, NULL) != MPROC_EINVAL)
    fails_n++;
  if (mproc_mpi_comm_executor(&ex, MPI_COMM_WORLD, 99, NULL) != MPROC_EINVAL)
    fails_n++;
  if (mproc_mpi_comm_executor(&ex, MPI_COMM_SELF, 0, NULL) != MPROC_EINVAL)
    fails_n++;
  MPI_Finalize();
  return fails_n ? 1 : 0;
}

/* A rank dies running a task: the job must end (the launcher aborts it)
 * or the future must fail; waiting forever is the bug. */
static int die_suite(void) {
  mproc_executor *ex = NULL;
  mproc_future *f = NULL;
  int rc;
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_MPI, NULL) != 0) return 2;
  if (mproc_executor_submit(ex, die, NULL, 0, &f) != 0) return 2;
  rc = mproc_future_result(f, MPROC_FOREVER, NULL, NULL);
  printf("die: the future ended with %s: %s\n", mproc_err_name(rc),
         mproc_last_error());
  return rc == MPROC_EWORKERDIED || rc == MPROC_EBROKEN ? 3 : 4;
}

/* A map of every item on the executor: 0 when all are right. */
static int map_all(mproc_executor *ex, size_t n) {
  int64_t *items = malloc(n * sizeof *items);
  mproc_map *m = NULL;
  const void *d;
  size_t i, len;
  int bad = 0;
  if (items == NULL) return 1;
  for (i = 0; i < n; i++) items[i] = (int64_t)i;
  if (mproc_executor_map(ex, square_or_die, items, n, 8, NULL, &m) != 0) {
    fprintf(stderr, "survive: map: %s\n", mproc_last_error());
    free(items);
    return 1;
  }
  for (i = 0; i < n; i++) {
    int64_t v = -1;
    if (mproc_map_next(m, &d, &len) == 0 && len == 8) memcpy(&v, d, 8);
    else fprintf(stderr, "survive: map item %zu: %s\n", i, mproc_last_error());
    if (v != items[i] * items[i]) bad++;
  }
  mproc_map_free(m);
  free(items);
  return bad;
}

/* A rank is killed in the middle of N tasks: the futures it held fail
 * with MPROC_EWORKERDIED and say so, every other one finishes right, and
 * the executor (and, static, the next one) goes on over the others. */
static int survive_suite(int spawn) {
  enum { N = 3000, KILLED = 1000 };
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_executor *ex = NULL;
  mproc_future **fs = calloc(N, sizeof *fs);
  int64_t i;
  int died = 0, ok = 0, bad = 0, rc;
  if (fs == NULL) return 2;
  if (spawn) o.max_workers = 3;
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_MPI, &o) != 0) {
    fprintf(stderr, "survive: executor_new: %s\n", mproc_last_error());
    return 2;
  }
  for (i = 0; i < N; i++) {
    int64_t x = i == KILLED ? -1 : i;
    if (mproc_executor_submit(ex, square_or_die, &x, 8, &fs[i]) != 0) return 2;
  }
  for (i = 0; i < N; i++) {
    const void *d;
    size_t len;
    int64_t v = -1;
    rc = mproc_future_result(fs[i], 300, &d, &len);
    if (rc == MPROC_EWORKERDIED) {
      died++;
      if (strstr(mproc_last_error(), "died") == NULL) bad++;
    } else if (rc == 0 && len == 8) {
      memcpy(&v, d, 8);
      ok++;
      if (v != i * i) bad++;
    } else {
      fprintf(stderr, "survive: task %lld: %s: %s\n", (long long)i,
              mproc_err_name(rc), mproc_last_error());
      bad++;
    }
  }
  if (mproc_future_result(fs[KILLED], 0, NULL, NULL) != MPROC_EWORKERDIED)
    bad++;
  printf("survive: %d finished, %d failed with their rank, %d wrong\n", ok,
         died, bad);
  /* what the dead rank held is at most its window; the rest finished */
  if (died < 1 || ok < N - 600) bad++;
  for (i = 0; i < N; i++) mproc_future_free(fs[i]);
  free(fs);
  /* the map goes on over the other ranks */
  bad += map_all(ex, 5000);
  mproc_executor_free(ex);
  if (!spawn) {
    /* a later static executor leaves the dead rank out */
    if (mproc_executor_new(&ex, MPROC_EXECUTOR_MPI, NULL) != 0) {
      fprintf(stderr, "survive: executor_new again: %s\n", mproc_last_error());
      return 2;
    }
    if (mproc_executor_max_workers(ex) != mproc_mpi_static_workers() - 1) bad++;
    bad += map_all(ex, 5000);
    mproc_executor_free(ex);
  }
  printf("survive: %s\n", bad ? "FAILED" : "ok");
  return bad ? 1 : 0;
}

int main(int argc, char **argv) {
  int rc;
  if (argc > 1 && strcmp(argv[1], "comm") == 0) {
    /* MPI first: then mproc_init leaves the ranks to the program. */
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    if (mproc_init(argc, argv) != 0) return 2;
    return comm_suite();
  }
  /* Under mpiexec ranks 1..N-1 serve from here and never return. */
  rc = mproc_init(argc, argv);
  if (rc != 0) {
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
    return 2;
  }
  if (argc > 1 && strcmp(argv[1], "spawn") == 0) return spawn_suite();
  if (argc > 1 && strcmp(argv[1], "die") == 0) return die_suite();
  if (argc > 1 && strcmp(argv[1], "spawn-survive") == 0)
    return survive_suite(1);
  if (argc > 1 && strcmp(argv[1], "survive") == 0)
    return mproc_mpi_static_workers() >= 2 ? survive_suite(0) : 2;
  if (mproc_mpi_static_workers() < 1) {
    fprintf(stderr, "test_mpi: run me under mpiexec -n 4 (static mode), or "
            "with the argument spawn\n");
    return 2;
  }
  return cmocka_run_group_tests_name("mpi_static", suite, NULL, NULL);
}
