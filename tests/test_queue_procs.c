/* mproc tests: queues across processes — many producers and consumers,
 * messages larger than the ring, and processes killed inside put and get
 * (through the library's fault-injection seam, MPROC_FAULT). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "test_queue.h"

#define NAME_LEN (MPROC_SHM_NAME_MAX + 1)

typedef struct qarg {
  char q[NAME_LEN];
  char aux[NAME_LEN];
  char fault[48]; /* MPROC_FAULT for the child, or "" */
  int id;
  int count;
  size_t size;
} qarg;

static qarg make_arg(const mproc_queue *q) {
  qarg a;
  memset(&a, 0, sizeof a);
  snprintf(a.q, sizeof a.q, "%s", mproc_queue_name(q));
  return a;
}

static mproc_queue *open_q(const qarg *a) {
  mproc_queue *q = NULL;
  if (a->fault[0]) tu_setenv("MPROC_FAULT", a->fault);
  if (mproc_queue_open(&q, a->q) != 0) return NULL;
  return q;
}

static unsigned char pattern(size_t i, int seed) {
  return (unsigned char)((i * 2654435761u) >> 13 ^ (unsigned)seed);
}

/* ---- a process exits right after put: nothing is lost ------------------- */

/* The handle stays open to the end; kept reachable, so that LeakSanitizer
 * does not count it when a spawned child's normal exit runs its check. */
static mproc_queue *kept_open;

static int t_put_and_exit(const void *arg, size_t len) {
  const qarg *a = arg;
  mproc_queue *q = open_q(a);
  int i;
  kept_open = q;
  CHILD_CHECK(len == sizeof *a && q != NULL);
  for (i = 0; i < a->count; i++) CHILD_CHECK(mproc_queue_put(q, &i, sizeof i, 30) == 0);
  return 0; /* no flush, no join: put returned, so it is there */
}
MPROC_TASK(t_put_and_exit);

void test_exit_right_after_put(void **state) {
  mproc_queue *q = NULL;
  qarg a;
  int i, v;
  size_t len;
  (void)state;
  assert_int_equal(mproc_queue_new(&q, NULL), 0);
  a = make_arg(q);
  a.count = 1000;
  assert_int_equal(tp_join(tp_start(t_put_and_exit, &a, sizeof a, NULL, 0)), 0);
  assert_int_equal(mproc_queue_qsize(q), 1000);
  for (i = 0; i < 1000; i++) {
    assert_int_equal(mproc_queue_get(q, &v, sizeof v, &len, 0), 0);
    assert_int_equal(v, i);
  }
  mproc_queue_free(q);
}

/* ---- messages larger than the ring ---------------------------------------- */

static int t_put_big(const void *arg, size_t len) {
  const qarg *a = arg;
  mproc_queue *q = open_q(a);
  unsigned char *m = malloc(a->size);
  size_t i;
  CHILD_CHECK(len == sizeof *a && q != NULL && m != NULL);
  for (i = 0; i < a->size; i++) m[i] = pattern(i, a->id);
  CHILD_CHECK(mproc_queue_put(q, m, a->size, 60) == 0);
  CHILD_CHECK(mproc_queue_put(q, "next", 4, 60) == 0);
  free(m);
  mproc_queue_free(q);
  return 0;
}
MPROC_TASK(t_put_big);

static void big_through(size_t size, size_t capacity) {
  mproc_queue *q = NULL;
  mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
  mproc_process *p;
  unsigned char *m = NULL;
  size_t len = 0, i, bad = 0;
  char next[8];
  qarg a;
  o.capacity = capacity;
  assert_int_equal(mproc_queue_new(&q, &o), 0);
  a = make_arg(q);
  a.size = size;
  a.id = 7;
  p = tp_start(t_put_big, &a, sizeof a, NULL, 0);
  assert_int_equal(mproc_queue_get_alloc(q, (void **)&m, &len, 120), 0);
  assert_int_equal(len, size);
  for (i = 0; i < size; i++) bad += m[i] != pattern(i, 7);
  assert_int_equal(bad, 0);
  mproc_free(m);
  assert_int_equal(mproc_queue_get(q, next, sizeof next, &len, 60), 0);
  assert_memory_equal(next, "next", 4);
  assert_int_equal(tp_join(p), 0);
  mproc_queue_free(q);
}

void test_huge_message(void **state) {
  (void)state;
  big_through((size_t)100 << 20, (size_t)1 << 20); /* 100 MiB, 1 MiB ring */
}

void test_ring_sized_message(void **state) {
  (void)state;
  big_through((size_t)1 << 20, (size_t)1 << 20);
  big_through(((size_t)1 << 20) / 4 - 16, (size_t)1 << 20); /* one record */
}

/* ---- 4 producers x 4 consumers, random sizes ------------------------------ */

#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 25000
#define MAX_MSG 65536

typedef struct msg_head {
  uint32_t producer, seq, len, sum;
} msg_head;

static uint32_t rng(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

static uint32_t checksum(const unsigned char *p, size_t n) {
  uint32_t h = 2166136261u;
  size_t i;
  for (i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static int t_producer(const void *arg, size_t len) {
  const qarg *a = arg;
  mproc_queue *q = open_q(a);
  unsigned char *m = malloc(MAX_MSG);
  uint32_t s = 0x9e3779b9u * (uint32_t)(a->id + 1);
  int i;
  CHILD_CHECK(len == sizeof *a && q != NULL && m != NULL);
  for (i = 0; i < a->count; i++) {
    msg_head h;
    /* Log-uniform sizes from 16 B to 64 KiB. */
    size_t size = (size_t)16 << (rng(&s) % 13);
    size_t j;
    size += rng(&s) % size;
    if (size > MAX_MSG) size = MAX_MSG;
    for (j = sizeof h; j < size; j++) m[j] = (unsigned char)rng(&s);
    h.producer = (uint32_t)a->id;
    h.seq = (uint32_t)i;
    h.len = (uint32_t)size;
    h.sum = checksum(m + sizeof h, size - sizeof h);
    memcpy(m, &h, sizeof h);
    CHILD_CHECK(mproc_queue_put(q, m, size, 60) == 0);
  }
  free(m);
  mproc_queue_free(q);
  return 0;
}
MPROC_TASK(t_producer);

static int t_consumer(const void *arg, size_t len) {
  const qarg *a = arg;
  mproc_queue *q = open_q(a);
  mproc_array *seen = NULL;
  _Atomic unsigned char *marks;
  unsigned char *m = malloc(MAX_MSG);
  int64_t last[PRODUCERS];
  int i;
  CHILD_CHECK(len == sizeof *a && q != NULL && m != NULL);
  CHILD_CHECK(mproc_array_open(&seen, a->aux) == 0);
  marks = (_Atomic unsigned char *)mproc_array_ptr(seen);
  for (i = 0; i < PRODUCERS; i++) last[i] = -1;
  for (;;) {
    msg_head h;
    size_t got = 0;
    CHILD_CHECK(mproc_queue_get(q, m, MAX_MSG, &got, 60) == 0);
    if (got == 0) break; /* the parent's stop message */
    CHILD_CHECK(got >= sizeof h);
    memcpy(&h, m, sizeof h);
    CHILD_CHECK(h.producer < PRODUCERS && h.seq < PER_PRODUCER);
    CHILD_CHECK(h.len == got);
    CHILD_CHECK(h.sum == checksum(m + sizeof h, got - sizeof h));
    CHILD_CHECK((int64_t)h.seq > last[h.producer]); /* FIFO per producer */
    last[h.producer] = h.seq;
    CHILD_CHECK(atomic_fetch_add(&marks[h.producer * PER_PRODUCER + h.seq],
                                 1) == 0); /* exactly once */
  }
  free(m);
  mproc_array_free(seen);
  mproc_queue_free(q);
  return 0;
}
MPROC_TASK(t_consumer);

void test_many_producers_consumers(void **state) {
  mproc_queue *q = NULL;
  mproc_array *seen = NULL;
  mproc_process *prod[PRODUCERS], *cons[CONSUMERS];
  mproc_value_opts vo = MPROC_VALUE_OPTS_INIT;
  unsigned char *marks;
  qarg a;
  int i, missing = 0;
  (void)state;
  assert_int_equal(mproc_queue_new(&q, NULL), 0);
  vo.raw = 1;
  assert_int_equal(mproc_array_new(&seen, 'B', PRODUCERS * PER_PRODUCER,
                                   NULL, &vo),
                   0);
  a = make_arg(q);
  snprintf(a.aux, sizeof a.aux, "%s", mproc_array_name(seen));
  a.count = PER_PRODUCER;
  for (i = 0; i < CONSUMERS; i++) cons[i] = tp_start(t_consumer, &a, sizeof a, NULL, 0);
  for (i = 0; i < PRODUCERS; i++) {
    a.id = i;
    prod[i] = tp_start(t_producer, &a, sizeof a, NULL, 0);
  }
  for (i = 0; i < PRODUCERS; i++) assert_int_equal(tp_join(prod[i]), 0);
  for (i = 0; i < CONSUMERS; i++)
    assert_int_equal(mproc_queue_put(q, NULL, 0, 60), 0);
  for (i = 0; i < CONSUMERS; i++) assert_int_equal(tp_join(cons[i]), 0);
  marks = mproc_array_ptr(seen);
  for (i = 0; i < PRODUCERS * PER_PRODUCER; i++) missing += marks[i] != 1;
  assert_int_equal(missing, 0);
  assert_int_equal(mproc_queue_qsize(q), 0);
  mproc_array_free(seen);
  mproc_queue_free(q);
}

/* ---- JoinableQueue across processes ---------------------------------------- */

static int t_worker(const void *arg, size_t len) {
  const qarg *a = arg;
  mproc_queue *q = open_q(a);
  CHILD_CHECK(len == sizeof *a && q != NULL);
  for (;;) {
    int v;
    size_t got;
    CHILD_CHECK(mproc_queue_get(q, &v, sizeof v, &got, 60) == 0);
    CHILD_CHECK(mproc_queue_task_done(q) == 0);
    if (v < 0) break;
  }
  mproc_queue_free(q);
  return 0;
}
MPROC_TASK(t_worker);

void test_joinable_across(void **state) {
  mproc_queue *q = NULL;
  mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
  mproc_process *w[2];
  qarg a;
  int i, stop = -1;
  (void)state;
  o.kind = MPROC_JOINABLE_QUEUE;
  assert_int_equal(mproc_queue_new(&q, &o), 0);
  a = make_arg(q);
  for (i = 0; i < 200; i++) assert_int_equal(mproc_queue_put(q, &i, sizeof i, 10), 0);
  for (i = 0; i < 2; i++) w[i] = tp_start(t_worker, &a, sizeof a, NULL, 0);
  /* join returns exactly when every task_done has been called */
  assert_int_equal(mproc_queue_join(q, 60), 0);
  assert_int_equal(mproc_queue_qsize(q), 0);
  for (i = 0; i < 2; i++) assert_int_equal(mproc_queue_put(q, &stop, sizeof stop, 10), 0);
  assert_int_equal(mproc_queue_join(q, 60), 0);
  for (i = 0; i < 2; i++) assert_int_equal(tp_join(w[i]), 0);
  mproc_queue_free(q);
}

/* ---- processes killed inside put and get ------------------------------------ */

static int t_put_n(const void *arg, size_t len) {
  const qarg *a = arg;
  mproc_queue *q = open_q(a);
  int i;
  CHILD_CHECK(len == sizeof *a && q != NULL);
  for (i = 1; i <= a->count; i++)
    CHILD_CHECK(mproc_queue_put(q, &i, sizeof i, 30) == 0);
  return 0;
}
MPROC_TASK(t_put_n);

void test_producer_killed_before_commit(void **state) {
  mproc_queue *q = NULL;
  qarg a;
  int v;
  size_t len;
  (void)state;
  assert_int_equal(mproc_queue_new(&q, NULL), 0);
  a = make_arg(q);
  a.count = 5;
  snprintf(a.fault, sizeof a.fault, "put.before_commit:3");
  assert_int_equal(tp_join(tp_start(t_put_n, &a, sizeof a, NULL, 0)), -9);
  /* Messages 1 and 2 are there; the 3rd was never published. */
  assert_int_equal(mproc_queue_put(q, "after", 6, 5), 0); /* repairs */
  assert_int_equal(mproc_queue_qsize(q), 3);
  assert_int_equal(mproc_queue_get(q, &v, sizeof v, &len, 0), 0);
  assert_int_equal(v, 1);
  assert_int_equal(mproc_queue_get(q, &v, sizeof v, &len, 0), 0);
  assert_int_equal(v, 2);
  {
    char buf[8];
    assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 0), 0);
    assert_string_equal(buf, "after");
  }
  assert_int_equal(mproc_queue_get(q, &v, sizeof v, &len, 0), MPROC_EEMPTY);
  assert_int_equal(mproc_queue_qsize(q), 0);
  mproc_queue_free(q);
}

/* Receives whatever comes (the stream, as it is put), and must end up
 * with "next": the pieces of the aborted message are dropped. */
static int t_get_expect_next(const void *arg, size_t len) {
  const qarg *a = arg;
  mproc_queue *q = open_q(a);
  void *m = NULL;
  size_t got;
  CHILD_CHECK(len == sizeof *a && q != NULL);
  CHILD_CHECK(mproc_queue_get_alloc(q, &m, &got, 60) == 0);
  CHILD_CHECK(got == 4 && memcmp(m, "next", 4) == 0);
  mproc_free(m);
  mproc_queue_free(q);
  return 0;
}
MPROC_TASK(t_get_expect_next);

void test_producer_killed_mid_stream(void **state) {
  mproc_queue *q = NULL;
  mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
  mproc_process *c;
  qarg a;
  char buf[16];
  size_t len;
  (void)state;
  o.capacity = 65536;
  assert_int_equal(mproc_queue_new(&q, &o), 0);
  a = make_arg(q);
  /* A consumer is already inside get, receiving the stream. */
  c = tp_start(t_get_expect_next, &a, sizeof a, NULL, 0);
  a.size = (size_t)1 << 20;
  snprintf(a.fault, sizeof a.fault, "put.mid_stream:5");
  assert_int_equal(tp_join(tp_start(t_put_big, &a, sizeof a, NULL, 0)), -9);
  /* The consumer drops the pieces and takes the next message. */
  assert_int_equal(mproc_queue_put(q, "next", 4, 30), 0);
  assert_int_equal(tp_join(c), 0);
  /* And with no consumer waiting: the next producer closes the stream. */
  a.fault[0] = '\0';
  snprintf(a.fault, sizeof a.fault, "put.mid_stream:2");
  assert_int_equal(tp_join(tp_start(t_put_big, &a, sizeof a, NULL, 0)), -9);
  assert_int_equal(mproc_queue_put(q, "next", 4, 30), 0);
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 30), 0);
  assert_int_equal(len, 4);
  assert_memory_equal(buf, "next", 4);
  assert_int_equal(mproc_queue_qsize(q), 0);
  mproc_queue_free(q);
}

static int t_get_one(const void *arg, size_t len) {
  const qarg *a = arg;
  mproc_queue *q = open_q(a);
  void *m = NULL;
  size_t got;
  CHILD_CHECK(len == sizeof *a && q != NULL);
  CHILD_CHECK(mproc_queue_get_alloc(q, &m, &got, 60) == 0);
  mproc_free(m);
  return 0;
}
MPROC_TASK(t_get_one);

void test_consumer_killed_before_consume(void **state) {
  mproc_queue *q = NULL;
  qarg a;
  char buf[8];
  size_t len;
  (void)state;
  assert_int_equal(mproc_queue_new(&q, NULL), 0);
  assert_int_equal(mproc_queue_put(q, "one", 4, 0), 0);
  assert_int_equal(mproc_queue_put(q, "two", 4, 0), 0);
  a = make_arg(q);
  snprintf(a.fault, sizeof a.fault, "get.before_consume:1");
  assert_int_equal(tp_join(tp_start(t_get_one, &a, sizeof a, NULL, 0)), -9);
  /* It had copied "one" but not taken it: another consumer gets it. */
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 5), 0);
  assert_string_equal(buf, "one");
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 5), 0);
  assert_string_equal(buf, "two");
  mproc_queue_free(q);
}

void test_consumer_killed_mid_stream(void **state) {
  mproc_queue *q = NULL;
  mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
  mproc_process *p;
  qarg a;
  char buf[16];
  size_t len;
  (void)state;
  o.capacity = 65536;
  assert_int_equal(mproc_queue_new(&q, &o), 0);
  a = make_arg(q);
  a.size = (size_t)1 << 20;
  p = tp_start(t_put_big, &a, sizeof a, NULL, 0); /* the big one, then "next" */
  snprintf(a.fault, sizeof a.fault, "get.mid_stream:3");
  assert_int_equal(tp_join(tp_start(t_get_one, &a, sizeof a, NULL, 0)), -9);
  /* The rest of the big message is skipped; "next" arrives intact. */
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 60), 0);
  assert_int_equal(len, 4);
  assert_memory_equal(buf, "next", 4);
  assert_int_equal(tp_join(p), 0);
  assert_int_equal(mproc_queue_qsize(q), 0);
  mproc_queue_free(q);
}

/* ---- outputs on failure ------------------------------------------------------ */

/* A producer killed mid-stream while nobody reads: a get takes the pieces,
 * finds the stream aborted and then times out on the empty queue. Its
 * outputs must say "nothing": *msg NULL (never the buffer it freed, which
 * a caller's free would free twice) and *len 0 — for get_alloc and get. */
void test_get_outputs_after_dead_stream(void **state) {
  mproc_queue *q = NULL;
  mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
  unsigned char *buf = malloc((size_t)1 << 20);
  void *m = NULL;
  size_t len;
  qarg a;
  (void)state;
  assert_non_null(buf);
  o.capacity = 65536;
  assert_int_equal(mproc_queue_new(&q, &o), 0);
  a = make_arg(q);
  a.size = (size_t)1 << 20;
  snprintf(a.fault, sizeof a.fault, "put.mid_stream:2");
  assert_int_equal(tp_join(tp_start(t_put_big, &a, sizeof a, NULL, 0)), -9);
  len = 12345;
  assert_int_equal(mproc_queue_get_alloc(q, &m, &len, 1.0), MPROC_EEMPTY);
  assert_null(m);
  assert_int_equal(len, 0);
  mproc_free(m); /* what a caller does after any get: must be harmless */
  /* The same through a buffer big enough for the aborted message. */
  assert_int_equal(tp_join(tp_start(t_put_big, &a, sizeof a, NULL, 0)), -9);
  len = 12345;
  assert_int_equal(mproc_queue_get(q, buf, (size_t)1 << 20, &len, 1.0),
                   MPROC_EEMPTY);
  assert_int_equal(len, 0);
  assert_int_equal(mproc_queue_qsize(q), 0);
  assert_int_equal(mproc_queue_put(q, "next", 4, 5), 0);
  assert_int_equal(mproc_queue_get_alloc(q, &m, &len, 5), 0);
  assert_int_equal(len, 4);
  assert_memory_equal(m, "next", 4);
  mproc_free(m);
  free(buf);
  mproc_queue_free(q);
}

/* ---- a dead producer's stream never blocks the next producer ---------------- */

/* A 64 KiB ring holds exactly 4 records of a streamed message: a producer
 * killed after the 4th leaves the ring full of a message that never was. */
#define SMALL_RING 65536
#define FULL_RING_PIECES "4"

static mproc_queue *small_ring(qarg *a) {
  mproc_queue *q = NULL;
  mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
  o.capacity = SMALL_RING;
  assert_int_equal(mproc_queue_new(&q, &o), 0);
  *a = make_arg(q);
  a->size = (size_t)1 << 20;
  return q;
}

/* Kill a producer inside a put of a.size bytes at `fault`. */
static void kill_producer(qarg a, const char *fault) {
  snprintf(a.fault, sizeof a.fault, "%s", fault);
  assert_int_equal(tp_join(tp_start(t_put_big, &a, sizeof a, NULL, 0)), -9);
}

static void expect_next(mproc_queue *q) {
  char buf[16];
  size_t len;
  assert_int_equal(mproc_queue_get(q, buf, sizeof buf, &len, 30), 0);
  assert_int_equal(len, 4);
  assert_memory_equal(buf, "next", 4);
  assert_int_equal(mproc_queue_qsize(q), 0);
}

void test_dead_stream_full_ring(void **state) {
  qarg a;
  mproc_queue *q = small_ring(&a);
  int round;
  (void)state;
  /* Nobody reads: the put still goes in, on the producer's repair (5 s:
   * time enough to see the dead producer's lock, never the ring's room,
   * which no consumer would make). */
  kill_producer(a, "put.mid_stream:" FULL_RING_PIECES);
  assert_int_equal(mproc_queue_qsize(q), 0);
  assert_int_equal(mproc_queue_put(q, "next", 4, 5), 0);
  assert_int_equal(mproc_queue_qsize(q), 1);
  expect_next(q);
  /* The producer repairing while a consumer starts reading the dead
   * stream: either repair may win; the consumer gets "next" either way. */
  for (round = 0; round < 3; round++) {
    mproc_process *c;
    kill_producer(a, "put.mid_stream:" FULL_RING_PIECES);
    c = tp_start(t_get_expect_next, &a, sizeof a, NULL, 0);
    assert_int_equal(mproc_queue_put(q, "next", 4, 30), 0);
    assert_int_equal(tp_join(c), 0);
    assert_int_equal(mproc_queue_qsize(q), 0);
  }
  mproc_queue_free(q);
}

/* A consumer began the stream and died; the producer then filled the ring
 * and died: the next producer drops the rest (no consumer needed). */
void test_dead_stream_dead_reader(void **state) {
  qarg a, c;
  mproc_queue *q = small_ring(&a);
  mproc_process *reader, *writer;
  (void)state;
  c = a;
  snprintf(c.fault, sizeof c.fault, "get.mid_stream:2"); /* reads 2 pieces */
  reader = tp_start(t_get_one, &c, sizeof c, NULL, 0);
  /* 6 pieces: the 5th and 6th fit only once the reader took 2, so the
   * ring is full again when the writer dies. */
  snprintf(a.fault, sizeof a.fault, "put.mid_stream:6");
  writer = tp_start(t_put_big, &a, sizeof a, NULL, 0);
  assert_int_equal(tp_join(reader), -9);
  assert_int_equal(tp_join(writer), -9);
  a.fault[0] = '\0';
  assert_int_equal(mproc_queue_put(q, "next", 4, 5), 0);
  expect_next(q);
  mproc_queue_free(q);
}

/* A producer killed inside that repair (holding both locks): the next one
 * finishes it. */
void test_dead_stream_repair_killed(void **state) {
  qarg a;
  mproc_queue *q = small_ring(&a);
  (void)state;
  kill_producer(a, "put.mid_stream:" FULL_RING_PIECES);
  kill_producer(a, "put.reclaim:1");
  assert_int_equal(mproc_queue_put(q, "next", 4, 5), 0);
  expect_next(q);
  mproc_queue_free(q);
}

/* ---- close wakes the calls blocked on the handle ----------------------------- */

/* A thread blocked on one handle. `delay_ms` only varies where the call
 * is when close comes (before its wait, inside it): every interleaving
 * must end in MPROC_ECLOSED, so nothing here waits for readiness. */
typedef struct blocked {
  mproc_queue *q;
  int op; /* 0 get, 1 put, 2 join */
  _Atomic int started;
  int rc;
} blocked;

static void blocked_call(void *arg) {
  blocked *b = arg;
  char buf[8];
  size_t len = 5;
  atomic_store(&b->started, 1);
  if (b->op == 0) {
    b->rc = mproc_queue_get(b->q, buf, sizeof buf, &len, 60);
    if (len != 0) b->rc = 1000; /* outputs on failure */
  } else if (b->op == 1) {
    b->rc = mproc_queue_put(b->q, "x", 1, 60);
  } else {
    b->rc = mproc_queue_join(b->q, 60);
  }
}

/* Block `op` on a new handle of q in a thread, close that handle, and
 * check the call returns MPROC_ECLOSED (not at its 60 s timeout). The
 * closed handle goes to *keep, freed by the caller at the end: freeing a
 * second handle of this process now would remove the name (shm.c counts
 * one hold per process), and the next open would fail. */
static void close_under(mproc_queue *q, int op, int delay_ms,
                        mproc_queue **keep) {
  blocked b;
  uv_thread_t t;
  double t0;
  memset(&b, 0, sizeof b);
  assert_int_equal(mproc_queue_open(&b.q, mproc_queue_name(q)), 0);
  b.op = op;
  t0 = (double)uv_hrtime() / 1e9;
  assert_int_equal(uv_thread_create(&t, blocked_call, &b), 0);
  while (!atomic_load(&b.started)) tu_sleep_ms(1);
  if (delay_ms) tu_sleep_ms(delay_ms);
  assert_int_equal(mproc_queue_close(b.q), 0);
  assert_int_equal(uv_thread_join(&t), 0);
  assert_int_equal(b.rc, MPROC_ECLOSED);
  assert_true((double)uv_hrtime() / 1e9 - t0 < 30); /* not the timeout */
  /* The closed handle answers nothing but stays valid until freed. */
  assert_int_equal(mproc_queue_qsize(b.q), MPROC_ECLOSED);
  assert_int_equal(mproc_queue_empty(b.q), MPROC_ECLOSED);
  assert_int_equal(mproc_queue_full(b.q), MPROC_ECLOSED);
  *keep = b.q;
}

/* A child that announces itself on `aux` and then blocks in get on q
 * (holding its get_lock) until the parent's "bye". */
static int t_ready_then_get(const void *arg, size_t len) {
  const qarg *a = arg;
  mproc_queue *q = open_q(a), *r = NULL;
  char buf[8];
  size_t got;
  CHILD_CHECK(len == sizeof *a && q != NULL);
  CHILD_CHECK(mproc_queue_open(&r, a->aux) == 0);
  CHILD_CHECK(mproc_queue_put(r, "ready", 5, 30) == 0);
  CHILD_CHECK(mproc_queue_get(q, buf, sizeof buf, &got, 60) == 0);
  CHILD_CHECK(got == 3 && memcmp(buf, "bye", 3) == 0);
  mproc_queue_free(r);
  mproc_queue_free(q);
  return 0;
}
MPROC_TASK(t_ready_then_get);

void test_close_wakes_blocked(void **state) {
  mproc_queue *q = NULL, *full = NULL, *jq = NULL, *ready = NULL;
  mproc_queue *keep[7];
  mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
  mproc_process *c;
  qarg a;
  char buf[8];
  size_t len;
  int d, i, n = 0;
  (void)state;
  assert_int_equal(mproc_queue_new(&q, NULL), 0);
  o.maxsize = 1;
  assert_int_equal(mproc_queue_new(&full, &o), 0);
  assert_int_equal(mproc_queue_put(full, "a", 1, 0), 0);
  o.kind = MPROC_JOINABLE_QUEUE;
  assert_int_equal(mproc_queue_new(&jq, &o), 0);
  assert_int_equal(mproc_queue_put(jq, "t", 1, 0), 0); /* one unfinished */
  for (d = 0; d <= 50; d += 50) {
    close_under(q, 0, d, &keep[n++]);    /* get on an empty queue */
    close_under(full, 1, d, &keep[n++]); /* put on a full one */
    close_under(jq, 2, d, &keep[n++]);   /* join, a task unfinished */
  }
  /* A get waiting for get_lock, which another process holds. */
  assert_int_equal(mproc_queue_new(&ready, NULL), 0);
  a = make_arg(q);
  snprintf(a.aux, sizeof a.aux, "%s", mproc_queue_name(ready));
  c = tp_start(t_ready_then_get, &a, sizeof a, NULL, 0);
  assert_int_equal(mproc_queue_get(ready, buf, sizeof buf, &len, 60), 0);
  close_under(q, 0, 50, &keep[n++]);
  /* Other handles, here and in the child, are untouched. */
  assert_int_equal(mproc_queue_qsize(full), 1);
  assert_int_equal(mproc_queue_put(q, "bye", 3, 10), 0);
  assert_int_equal(tp_join(c), 0);
  assert_int_equal(mproc_queue_qsize(q), 0);
  for (i = 0; i < n; i++) mproc_queue_free(keep[i]);
  mproc_queue_free(ready);
  mproc_queue_free(jq);
  mproc_queue_free(full);
  mproc_queue_free(q);
}
