/* mproc tests: multiprocessing.Pool — CPython's _TestPool scenarios as far
 * as they port, under every start method: apply and apply_async, map
 * (the seed's Pool(8).map over range(100)), chunksizes, starmap as a
 * record of arguments, map_async with results of any size, imap and
 * imap_unordered ordering, async timeouts, errors and error_callback,
 * callbacks before get() returns, progress, empty maps, the task's item
 * context. test_pool_more.c holds the lifecycle and worker-error cases.
 * Readiness is signalled through Queues, never slept for. */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_pool.h"
#include "util.h"

static char prefix[32];

/* ---- the tasks (registered: workers find them under every method) ------ */

int tpool_square(const void *in, size_t len, mproc_buf *out) {
  int x;
  if (len != sizeof x) return mproc_task_fail(out, 9, "want an int");
  memcpy(&x, in, sizeof x);
  x *= x;
  return mproc_buf_write(out, &x, sizeof x);
}
MPROC_TASK(tpool_square);

int tpool_fail13(const void *in, size_t len, mproc_buf *out) {
  int x;
  if (len != sizeof x) return mproc_task_fail(out, 9, "want an int");
  memcpy(&x, in, sizeof x);
  if (x == 13) return mproc_task_fail(out, 7, "unlucky %d", x);
  return mproc_buf_write(out, &x, sizeof x);
}
MPROC_TASK(tpool_fail13);

int tpool_mul(const void *in, size_t len, mproc_buf *out) {
  tpool_pair p;
  long r;
  if (len != sizeof p) return mproc_task_fail(out, 9, "want a pair");
  memcpy(&p, in, sizeof p);
  r = (long)p.a * p.b;
  return mproc_buf_write(out, &r, sizeof r);
}
MPROC_TASK(tpool_mul);

int tpool_pid(const void *in, size_t len, mproc_buf *out) {
  long pid = mproc_current_pid();
  (void)in, (void)len;
  return mproc_buf_write(out, &pid, sizeof pid);
}
MPROC_TASK(tpool_pid);

int tpool_item(const void *in, size_t len, mproc_buf *out) {
  uint64_t item = mproc_task_context(out)->item;
  (void)in, (void)len;
  return mproc_buf_write(out, &item, sizeof item);
}
MPROC_TASK(tpool_item);

int tpool_echo(const void *in, size_t len, mproc_buf *out) {
  return mproc_buf_write(out, in, len);
}
MPROC_TASK(tpool_echo);

int tpool_rec_task(const void *in, size_t len, mproc_buf *out) {
  tpool_rec r;
  mproc_queue *tell = NULL, *wait = NULL;
  long pid = mproc_current_pid();
  char b[8];
  size_t n;
  int got;
  if (len != sizeof r) return mproc_task_fail(out, 9, "want a record");
  memcpy(&r, in, sizeof r);
  if (r.x >= 0) return mproc_buf_write(out, &r.x, sizeof r.x);
  if (mproc_queue_open(&tell, r.tell) < 0 ||
      mproc_queue_open(&wait, r.wait) < 0) {
    mproc_queue_free(tell);
    return mproc_task_fail(out, 2, "open: %s", mproc_last_error());
  }
  (void)mproc_queue_put(tell, &pid, sizeof pid, MPROC_FOREVER);
  got = mproc_queue_get(wait, b, sizeof b, &n, 120.0);
  mproc_queue_free(tell);
  mproc_queue_free(wait);
  return got == 0 ? mproc_buf_write(out, &r.x, sizeof r.x)
                  : mproc_task_fail(out, 3, "never released");
}
MPROC_TASK(tpool_rec_task);

static int tpool_child_target(const void *arg, size_t len) {
  (void)arg, (void)len;
  return 0;
}
MPROC_TASK(tpool_child_target);

/* Try to start a process from a pool worker; the result is the code. */
int tpool_try_child(const void *in, size_t len, mproc_buf *out) {
  mproc_process *c = NULL;
  int rc;
  (void)in, (void)len;
  rc = mproc_process_new(&c, tpool_child_target, NULL, 0, NULL);
  if (rc == 0) {
    rc = mproc_process_start(c);
    if (rc == 0) (void)mproc_process_join(c, 60.0);
  }
  mproc_process_free(c);
  return mproc_buf_write(out, &rc, sizeof rc);
}
MPROC_TASK(tpool_try_child);

static int g_init_value;
int tpool_init(const void *args, size_t len) {
  if (len != sizeof g_init_value) return 1;
  memcpy(&g_init_value, args, len);
  return g_init_value < 0 ? 5 : 0;
}
MPROC_TASK(tpool_init);

int tpool_get_init(const void *in, size_t len, mproc_buf *out) {
  (void)in, (void)len;
  return mproc_buf_write(out, &g_init_value, sizeof g_init_value);
}
MPROC_TASK(tpool_get_init);

/* ---- helpers ------------------------------------------------------------- */

mproc_pool *tpool_new(int processes, mproc_pool_opts *o) {
  mproc_pool_opts d = MPROC_POOL_OPTS_INIT;
  mproc_pool *p = NULL;
  if (o == NULL) o = &d;
  o->processes = processes;
  o->method = g_method;
  if (mproc_pool_new(&p, o) != 0)
    fail_msg("pool_new: %s", mproc_last_error());
  return p;
}

void tpool_park_rec(tpool_rec *r, mproc_queue **tell, mproc_queue **wait) {
  memset(r, 0, sizeof *r);
  r->x = -1;
  assert_int_equal(mproc_queue_new(tell, NULL), 0);
  assert_int_equal(mproc_queue_new(wait, NULL), 0);
  snprintf(r->tell, sizeof r->tell, "%s", mproc_queue_name(*tell));
  snprintf(r->wait, sizeof r->wait, "%s", mproc_queue_name(*wait));
}

long tpool_parked_pid(mproc_queue *tell) {
  long pid = 0;
  size_t n;
  if (mproc_queue_get(tell, &pid, sizeof pid, &n, 120.0) != 0)
    fail_msg("no worker parked: %s", mproc_last_error());
  return pid;
}

void tpool_unpark(mproc_queue *tell, mproc_queue *wait, int release) {
  char go = 1;
  if (release) assert_int_equal(mproc_queue_put(wait, &go, 1, 30.0), 0);
  mproc_queue_free(tell);
  mproc_queue_free(wait);
}

int tpool_teardown(void **state) {
  int i, now;
  (void)state;
  if (tp_no_children_left(NULL) != 0) {
    fprintf(stderr, "a child is left\n");
    return -1;
  }
  now = tu_count_shm(prefix);
  for (i = 0; i < 100 && now > 0; i++) {
    tu_sleep_ms(50); /* a worker's last close may still be under way */
    now = tu_count_shm(prefix);
  }
  if (now > 0) {
    fprintf(stderr, "%d %s-* names left in /dev/shm\n", now, prefix);
    return -1;
  }
  return 0;
}

static int as_int(const void *d, size_t n) {
  int x;
  assert_int_equal(n, sizeof x);
  memcpy(&x, d, sizeof x);
  return x;
}

/* ---- apply --------------------------------------------------------------- */

static void test_apply(void **state) {
  mproc_pool *p = tpool_new(2, NULL);
  mproc_async *ar;
  void *r = NULL;
  const void *d;
  const char *msg;
  size_t n, item;
  int x = 7, code;
  (void)state;
  assert_int_equal(mproc_pool_processes(p), 2);
  assert_int_equal(mproc_pool_apply(p, tpool_square, &x, sizeof x, &r, &n), 0);
  assert_int_equal(as_int(r, n), 49);
  mproc_free(r);
  assert_int_equal(mproc_pool_apply_async(p, tpool_square, &x, sizeof x, NULL,
                                          &ar), 0);
  assert_int_equal(mproc_async_get(ar, 120.0, &d, &n), 0);
  assert_int_equal(as_int(d, n), 49);
  assert_int_equal(mproc_async_ready(ar), 1);
  assert_int_equal(mproc_async_successful(ar), 1);
  assert_int_equal(mproc_async_item(ar, 0, &d, &n), 0);
  assert_int_equal(as_int(d, n), 49);
  mproc_async_free(ar);
  /* A failing task: the code and message reach the caller. */
  x = 13;
  assert_int_equal(mproc_pool_apply(p, tpool_fail13, &x, sizeof x, NULL,
                                    NULL), MPROC_ETASK);
  assert_non_null(strstr(mproc_last_error(), "unlucky 13"));
  assert_int_equal(mproc_pool_apply_async(p, tpool_fail13, &x, sizeof x,
                                          NULL, &ar), 0);
  assert_int_equal(mproc_async_get(ar, 120.0, NULL, NULL), MPROC_ETASK);
  assert_int_equal(mproc_async_successful(ar), 0);
  assert_int_equal(mproc_async_error(ar, &item, &code, &msg), 0);
  assert_int_equal(item, 0);
  assert_int_equal(code, 7);
  assert_string_equal(msg, "unlucky 13");
  mproc_async_free(ar);
  mproc_pool_free(p);
}

/* ---- map ----------------------------------------------------------------- */

static void test_map(void **state) {
  static const size_t sizes[] = {0, 1, 7, 1000};
  mproc_pool *p = tpool_new(2, NULL);
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  int in[100], out[100], i;
  size_t s;
  (void)state;
  for (i = 0; i < 100; i++) in[i] = i;
  /* Pool(8).map(test, range(100)) with 2 workers, every chunksize. */
  for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    o.chunksize = sizes[s];
    memset(out, 0, sizeof out);
    assert_int_equal(mproc_pool_map(p, tpool_square, in, 100, sizeof in[0],
                                    out, sizeof out[0], &o), 0);
    for (i = 0; i < 100; i++) assert_int_equal(out[i], i * i);
  }
  /* Results dropped: only success is reported. */
  assert_int_equal(mproc_pool_map(p, tpool_square, in, 100, sizeof in[0],
                                  NULL, 0, NULL), 0);
  mproc_pool_free(p);
}

/* Each record's chunk: the executor's task number of the chunk it ran in. */
static int tpool_chunk_of(const void *in, size_t len, mproc_buf *out) {
  uint64_t t = mproc_task_context(out)->task;
  (void)in, (void)len;
  return mproc_buf_write(out, &t, sizeof t);
}
MPROC_TASK(tpool_chunk_of);

/* chunksize 0 is Python's default: divmod(n, 4 * processes), one more when
 * there is a remainder. 1001 items on 2 workers: chunks of 126, so 8
 * chunks, each a run of consecutive items. */
static void test_default_chunksize(void **state) {
  enum { N = 1001, CHUNK = 126 };
  mproc_pool *p = tpool_new(2, NULL);
  static char in[N];
  static uint64_t out[N];
  int i, chunks = 0;
  (void)state;
  assert_int_equal(mproc_pool_map(p, tpool_chunk_of, in, N, 1, out,
                                  sizeof out[0], NULL), 0);
  for (i = 0; i < N; i++) {
    if (i % CHUNK == 0) {
      chunks++;
      if (i > 0) assert_true(out[i] != out[i - 1]); /* a new chunk */
    } else {
      assert_true(out[i] == out[i - 1]); /* the same chunk */
    }
  }
  assert_int_equal(chunks, (N + CHUNK - 1) / CHUNK);
  mproc_pool_free(p);
}

static void test_starmap_records(void **state) {
  mproc_pool *p = tpool_new(2, NULL);
  tpool_pair pairs[30];
  long out[30];
  int i;
  (void)state;
  /* starmap(mul, zip(range(30), range(30, 60))): a record of arguments. */
  for (i = 0; i < 30; i++) pairs[i] = (tpool_pair){i, 30 + i};
  assert_int_equal(mproc_pool_map(p, tpool_mul, pairs, 30, sizeof pairs[0],
                                  out, sizeof out[0], NULL), 0);
  for (i = 0; i < 30; i++) assert_int_equal(out[i], (long)i * (30 + i));
  mproc_pool_free(p);
}

/* imap over items of any size, in order and unordered. */
static void imap_var_both_ways(mproc_pool *p) {
  enum { N = 25 };
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  mproc_pool_item items[N];
  unsigned char buf[N * 50], seen[N];
  int i, f;
  mproc_imap *it;
  const void *d;
  size_t n, item;
  for (i = 0; i < N * 50; i++) buf[i] = (unsigned char)i;
  for (i = 0; i < N; i++) items[i] = (mproc_pool_item){buf + i * 37, (size_t)i * 2};
  o.chunksize = 4;
  for (f = 0; f < 2; f++) {
    memset(seen, 0, sizeof seen);
    assert_int_equal(mproc_pool_imap_var(p, tpool_echo, items, N,
                                         f ? MPROC_IMAP_UNORDERED : 0, &o,
                                         &it), 0);
    for (i = 0; i < N; i++) {
      assert_int_equal(mproc_imap_next(it, 120.0, &d, &n, &item), 0);
      if (!f) assert_int_equal(item, (size_t)i);
      assert_true(item < N && !seen[item]);
      seen[item] = 1;
      assert_int_equal(n, item * 2);
      if (n) assert_memory_equal(d, buf + item * 37, n);
    }
    assert_int_equal(mproc_imap_next(it, 0, &d, &n, &item), MPROC_EEOF);
    mproc_imap_free(it);
  }
}

static void test_map_async_any_size(void **state) {
  enum { N = 40 };
  mproc_pool *p = tpool_new(2, NULL);
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  mproc_pool_item items[N];
  unsigned char *bufs[N];
  int sq[N], i;
  mproc_async *ar;
  const void *d;
  size_t n, k;
  (void)state;
  for (i = 0; i < N; i++) {
    size_t len = (size_t)i * 997; /* 0 .. ~39 KB, item 0 empty */
    bufs[i] = malloc(len ? len : 1);
    assert_non_null(bufs[i]);
    for (k = 0; k < len; k++) bufs[i][k] = (unsigned char)(i + k);
    items[i] = (mproc_pool_item){bufs[i], len};
  }
  o.chunksize = 3;
  assert_int_equal(mproc_pool_map_var_async(p, tpool_echo, items, N, &o, &ar),
                   0);
  for (i = 0; i < N; i++) free(bufs[i]); /* copied at the call */
  assert_int_equal(mproc_async_get(ar, 120.0, &d, &n), 0);
  assert_null(d);
  for (i = 0; i < N; i++) {
    const unsigned char *b;
    assert_int_equal(mproc_async_item(ar, (size_t)i, &d, &n), 0);
    assert_int_equal(n, (size_t)i * 997);
    b = d;
    for (k = 0; k < n; k += 101) assert_int_equal(b[k], (unsigned char)(i + k));
  }
  assert_int_equal(mproc_async_item(ar, N, &d, &n), MPROC_EINVAL);
  mproc_async_free(ar);
  /* Fixed-size results kept in the AsyncResult: one array. */
  for (i = 0; i < N; i++) sq[i] = i;
  assert_int_equal(mproc_pool_map_async(p, tpool_square, sq, N, sizeof sq[0],
                                        NULL, sizeof(int), NULL, &ar), 0);
  assert_int_equal(mproc_async_get(ar, 120.0, &d, &n), 0);
  assert_int_equal(n, N * sizeof(int));
  for (i = 0; i < N; i++) assert_int_equal(((const int *)d)[i], i * i);
  mproc_async_free(ar);
  imap_var_both_ways(p);
  mproc_pool_free(p);
}

static void test_map_errors(void **state) {
  mproc_pool *p = tpool_new(2, NULL);
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  int in[40], out[40], i, code;
  int64_t wide[40]; /* not long: 4 bytes on Windows */
  mproc_async *ar;
  const char *msg;
  size_t item;
  (void)state;
  for (i = 0; i < 40; i++) in[i] = i;
  o.chunksize = 4;
  /* The whole map fails with the lowest failing item (no fail-fast: the
   * other chunks still run, as CPython's test_map_no_failfast). */
  assert_int_equal(mproc_pool_map(p, tpool_fail13, in, 40, sizeof in[0], out,
                                  sizeof out[0], &o), MPROC_ETASK);
  assert_non_null(strstr(mproc_last_error(), "item 13"));
  assert_non_null(strstr(mproc_last_error(), "unlucky 13"));
  assert_int_equal(mproc_pool_map_async(p, tpool_fail13, in, 40, sizeof in[0],
                                        out, sizeof out[0], &o, &ar), 0);
  assert_int_equal(mproc_async_get(ar, 120.0, NULL, NULL), MPROC_ETASK);
  assert_int_equal(mproc_async_error(ar, &item, &code, &msg), 0);
  assert_int_equal(item, 13);
  assert_int_equal(code, 7);
  assert_string_equal(msg, "unlucky 13");
  assert_int_equal(mproc_async_successful(ar), 0);
  mproc_async_free(ar);
  /* A result of the wrong size fails its item with MPROC_EBUFSIZE. */
  assert_int_equal(mproc_pool_map(p, tpool_square, in, 40, sizeof in[0], wide,
                                  sizeof wide[0], &o), MPROC_EBUFSIZE);
  assert_non_null(strstr(mproc_last_error(), "item 0"));
  mproc_pool_free(p);
}

static void test_task_item_context(void **state) {
  mproc_pool *p = tpool_new(2, NULL);
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  int in[50];
  uint64_t out[50];
  int i;
  (void)state;
  memset(in, 0, sizeof in);
  o.chunksize = 6;
  assert_int_equal(mproc_pool_map(p, tpool_item, in, 50, sizeof in[0], out,
                                  sizeof out[0], &o), 0);
  for (i = 0; i < 50; i++) assert_int_equal(out[i], (uint64_t)i);
  mproc_pool_free(p);
}

/* ---- imap ------------------------------------------------------------------ */

static void test_imap_order(void **state) {
  static const size_t sizes[] = {0, 1, 3, 100};
  mproc_pool *p = tpool_new(2, NULL);
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  int in[60], i;
  size_t s, item;
  mproc_imap *it;
  const void *d;
  size_t n;
  (void)state;
  for (i = 0; i < 60; i++) in[i] = i;
  for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    o.chunksize = sizes[s];
    assert_int_equal(mproc_pool_imap(p, tpool_square, in, 60, sizeof in[0],
                                     &o, &it), 0);
    for (i = 0; i < 60; i++) {
      assert_int_equal(mproc_imap_next(it, 120.0, &d, &n, &item), 0);
      assert_int_equal(item, (size_t)i);
      assert_int_equal(as_int(d, n), i * i);
    }
    assert_int_equal(mproc_imap_next(it, 120.0, &d, &n, &item), MPROC_EEOF);
    mproc_imap_free(it);
  }
  mproc_pool_free(p);
}

static void test_imap_unordered(void **state) {
  mproc_pool *p = tpool_new(2, NULL);
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  unsigned char seen[200];
  int in[200], i;
  mproc_imap *it;
  const void *d;
  size_t n, item;
  (void)state;
  for (i = 0; i < 200; i++) in[i] = i;
  memset(seen, 0, sizeof seen);
  o.chunksize = 7;
  assert_int_equal(mproc_pool_imap_unordered(p, tpool_square, in, 200,
                                             sizeof in[0], &o, &it), 0);
  for (i = 0; i < 200; i++) {
    assert_int_equal(mproc_imap_next(it, 120.0, &d, &n, &item), 0);
    assert_true(item < 200);
    assert_int_equal(seen[item], 0);
    seen[item] = 1;
    assert_int_equal(as_int(d, n), (int)(item * item));
  }
  assert_int_equal(mproc_imap_next(it, 0, &d, &n, &item), MPROC_EEOF);
  mproc_imap_free(it);
  mproc_pool_free(p);
}

/* imap raises for the failing item and goes on past it. */
static void test_imap_failure_goes_on(void **state) {
  mproc_pool *p = tpool_new(2, NULL);
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  int in[30], i, code;
  mproc_imap *it;
  const void *d;
  const char *msg;
  size_t n, item;
  (void)state;
  for (i = 0; i < 30; i++) in[i] = i;
  o.chunksize = 4;
  assert_int_equal(mproc_pool_imap(p, tpool_fail13, in, 30, sizeof in[0], &o,
                                   &it), 0);
  for (i = 0; i < 30; i++) {
    int rc = mproc_imap_next(it, 120.0, &d, &n, &item);
    assert_int_equal(item, (size_t)i);
    if (i == 13) {
      assert_int_equal(rc, MPROC_ETASK);
      assert_int_equal(mproc_imap_error(it, &code, &msg), 0);
      assert_int_equal(code, 7);
      assert_string_equal(msg, "unlucky 13");
    } else {
      assert_int_equal(rc, 0);
      assert_int_equal(as_int(d, n), i);
      assert_int_equal(mproc_imap_error(it, &code, &msg), MPROC_ESTATE);
    }
  }
  assert_int_equal(mproc_imap_next(it, 1.0, &d, &n, &item), MPROC_EEOF);
  mproc_imap_free(it);
  mproc_pool_free(p);
}

/* get(timeout) and next(timeout) on a task held in its worker; both can
 * be asked again, and give the result once it is released. */
static void test_async_timeouts(void **state) {
  mproc_pool *p = tpool_new(2, NULL);
  mproc_queue *tell, *wait;
  tpool_rec r;
  mproc_async *ar;
  mproc_imap *it;
  const void *d;
  size_t n, item;
  (void)state;
  tpool_park_rec(&r, &tell, &wait);
  assert_int_equal(mproc_pool_apply_async(p, tpool_rec_task, &r, sizeof r,
                                          NULL, &ar), 0);
  (void)tpool_parked_pid(tell);
  assert_int_equal(mproc_async_get(ar, 0.05, &d, &n), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_async_wait(ar, 0), MPROC_ETIMEDOUT);
  assert_int_equal(mproc_async_ready(ar), 0);
  assert_int_equal(mproc_async_successful(ar), MPROC_ESTATE);
  assert_int_equal(mproc_async_item(ar, 0, &d, &n), MPROC_ESTATE);
  assert_int_equal(mproc_async_get(ar, NAN, &d, &n), MPROC_EINVAL);
  tpool_unpark(tell, wait, 1);
  assert_int_equal(mproc_async_get(ar, 120.0, &d, &n), 0);
  assert_int_equal(as_int(d, n), -1);
  mproc_async_free(ar);
  /* The same through imap's next. */
  tpool_park_rec(&r, &tell, &wait);
  assert_int_equal(mproc_pool_imap(p, tpool_rec_task, &r, 1, sizeof r, NULL,
                                   &it), 0);
  (void)tpool_parked_pid(tell);
  assert_int_equal(mproc_imap_next(it, 0.05, &d, &n, &item), MPROC_ETIMEDOUT);
  tpool_unpark(tell, wait, 1);
  assert_int_equal(mproc_imap_next(it, 120.0, &d, &n, &item), 0);
  assert_int_equal(as_int(d, n), -1);
  assert_int_equal(mproc_imap_next(it, 120.0, &d, &n, &item), MPROC_EEOF);
  mproc_imap_free(it);
  mproc_pool_free(p);
}

/* ---- callbacks and progress ----------------------------------------------- */

typedef struct cb_log {
  int calls, errors, value, in_cb_get;
  size_t last_done, total, progress_calls, err_item;
  int monotonic, before_callback;
} cb_log;

static void on_result(mproc_async *ar, void *arg) {
  cb_log *l = arg;
  const void *d;
  size_t n;
  /* get() from the result's own callback returns at once. */
  l->in_cb_get = mproc_async_get(ar, 0, &d, &n);
  if (l->in_cb_get == 0 && n == sizeof(int)) memcpy(&l->value, d, n);
  l->before_callback = l->last_done == l->total;
  l->calls++;
}

static void on_error(mproc_async *ar, void *arg) {
  cb_log *l = arg;
  (void)mproc_async_error(ar, &l->err_item, NULL, NULL);
  l->errors++;
}

static void on_progress(size_t done, size_t total, void *arg) {
  cb_log *l = arg;
  if (done <= l->last_done && l->progress_calls > 0) l->monotonic = 0;
  l->last_done = done;
  l->total = total;
  l->progress_calls++;
}

static void test_callbacks(void **state) {
  mproc_pool *p = tpool_new(2, NULL);
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  cb_log l;
  mproc_async *ar;
  int in[100], out[100], x = 6, i;
  (void)state;
  memset(&l, 0, sizeof l);
  l.monotonic = 1;
  o.callback = on_result;
  o.error_callback = on_error;
  o.arg = &l;
  assert_int_equal(mproc_pool_apply_async(p, tpool_square, &x, sizeof x, &o,
                                          &ar), 0);
  /* Once get() returns, the callback has run (Python's order). */
  assert_int_equal(mproc_async_get(ar, 120.0, NULL, NULL), 0);
  assert_int_equal(l.calls, 1);
  assert_int_equal(l.in_cb_get, 0);
  assert_int_equal(l.value, 36);
  assert_int_equal(l.errors, 0);
  mproc_async_free(ar);
  /* error_callback, and progress for a map. */
  for (i = 0; i < 100; i++) in[i] = i;
  memset(&l, 0, sizeof l);
  l.monotonic = 1;
  o.progress = on_progress;
  o.chunksize = 9;
  assert_int_equal(mproc_pool_map_async(p, tpool_fail13, in, 100,
                                        sizeof in[0], out, sizeof out[0], &o,
                                        &ar), 0);
  assert_int_equal(mproc_async_wait(ar, 120.0), 0);
  assert_int_equal(l.errors, 1);
  assert_int_equal(l.calls, 0);
  assert_int_equal(l.err_item, 13);
  assert_int_equal(l.last_done, 100);
  assert_int_equal(l.total, 100);
  assert_true(l.monotonic);
  assert_true(l.progress_calls >= 1 && l.progress_calls <= 12);
  mproc_async_free(ar);
  /* A successful map's callback, after its last progress. */
  memset(&l, 0, sizeof l);
  l.monotonic = 1;
  assert_int_equal(mproc_pool_map(p, tpool_square, in, 100, sizeof in[0],
                                  out, sizeof out[0], &o), 0);
  assert_int_equal(l.calls, 1);
  assert_true(l.before_callback);
  assert_int_equal(l.last_done, 100);
  /* A callback without keeping the AsyncResult still runs. */
  memset(&l, 0, sizeof l);
  o.progress = NULL;
  assert_int_equal(mproc_pool_apply_async(p, tpool_square, &x, sizeof x, &o,
                                          &ar), 0);
  mproc_async_free(ar);
  assert_int_equal(mproc_pool_close(p), 0);
  assert_int_equal(mproc_pool_join(p), 0);
  assert_int_equal(l.calls, 1);
  assert_int_equal(l.value, 36);
  mproc_pool_free(p);
}

static void test_empty(void **state) {
  mproc_pool *p = tpool_new(2, NULL);
  mproc_pool_call_opts o = MPROC_POOL_CALL_OPTS_INIT;
  mproc_async *ar;
  mproc_imap *it;
  cb_log l;
  const void *d;
  size_t n, item;
  int out[1];
  (void)state;
  memset(&l, 0, sizeof l);
  o.callback = on_result;
  o.arg = &l;
  assert_int_equal(mproc_pool_map(p, tpool_square, NULL, 0, sizeof(int), out,
                                  sizeof out[0], NULL), 0);
  assert_int_equal(mproc_pool_map_async(p, tpool_square, NULL, 0, sizeof(int),
                                        NULL, sizeof(int), &o, &ar), 0);
  assert_int_equal(mproc_async_ready(ar), 1);
  assert_int_equal(mproc_async_get(ar, 0, &d, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(l.calls, 1); /* CPython skips it; a C caller waits on it */
  mproc_async_free(ar);
  assert_int_equal(mproc_pool_imap(p, tpool_square, NULL, 0, sizeof(int), NULL,
                                   &it), 0);
  assert_int_equal(mproc_imap_next(it, 0, &d, &n, &item), MPROC_EEOF);
  mproc_imap_free(it);
  mproc_pool_free(p);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_apply, tpool_teardown),
      cmocka_unit_test_teardown(test_map, tpool_teardown),
      cmocka_unit_test_teardown(test_default_chunksize, tpool_teardown),
      cmocka_unit_test_teardown(test_starmap_records, tpool_teardown),
      cmocka_unit_test_teardown(test_map_async_any_size, tpool_teardown),
      cmocka_unit_test_teardown(test_map_errors, tpool_teardown),
      cmocka_unit_test_teardown(test_task_item_context, tpool_teardown),
      cmocka_unit_test_teardown(test_imap_order, tpool_teardown),
      cmocka_unit_test_teardown(test_imap_unordered, tpool_teardown),
      cmocka_unit_test_teardown(test_imap_failure_goes_on, tpool_teardown),
      cmocka_unit_test_teardown(test_async_timeouts, tpool_teardown),
      cmocka_unit_test_teardown(test_callbacks, tpool_teardown),
      cmocka_unit_test_teardown(test_empty, tpool_teardown),
      cmocka_unit_test_teardown(test_pool_terminate, tpool_teardown),
      cmocka_unit_test_teardown(test_pool_close_join_order, tpool_teardown),
      cmocka_unit_test_teardown(test_pool_worker_killed, tpool_teardown),
      cmocka_unit_test_teardown(test_pool_killed_runs_once, tpool_teardown),
      cmocka_unit_test_teardown(test_pool_maxtasksperchild, tpool_teardown),
      cmocka_unit_test_teardown(test_pool_initializer, tpool_teardown),
      cmocka_unit_test_teardown(test_pool_bad_args, tpool_teardown),
      cmocka_unit_test_teardown(test_pool_defaults, tpool_teardown),
      cmocka_unit_test_teardown(test_pool_leaked_pool_exits, tpool_teardown),
      cmocka_unit_test_teardown(test_pool_daemonic_workers, tpool_teardown),
      cmocka_unit_test_teardown(test_pool_free_map_early, tpool_teardown),
  };
  tu_set_argv0(argv[0]);
  if (argc >= 3 && strcmp(argv[1], "--role-leak-pool") == 0)
    return tpool_role_leak(argv, argv[2]);
  if (getenv("MPROC_NAME_PREFIX")) {
    snprintf(prefix, sizeof prefix, "%s", getenv("MPROC_NAME_PREFIX"));
  } else {
    snprintf(prefix, sizeof prefix, "tpl%ld", mproc_current_pid() % 1000000);
    tu_setenv("MPROC_NAME_PREFIX", prefix);
  }
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  return TP_RUN_PER_METHOD("pool", tests) ? 1 : 0;
}
