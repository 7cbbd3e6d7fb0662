/* bench/rawpool: see rawpool.h. A ring is a power-of-two byte buffer with
 * a head (consumer) and tail (producer) counter; a message is an 8-byte
 * header (its length; 0 marks "wrap to the start") and its bytes padded to
 * 8. The consumer spins a little on an empty ring, then raises `sleeping`
 * and waits on the tail with FUTEX_WAIT; the producer wakes it only when
 * the flag is up (one atomic load per message otherwise). A full ring
 * makes the producer spin and yield: the benchmark's rings are large
 * enough never to fill. */
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "rawpool.h"

#define RING_BYTES ((size_t)8 << 20)
#define SPIN 2000
/* Spinning pays only when the peer can run meanwhile: not on one CPU. */
static int spin_limit(void) {
  cpu_set_t s;
  if (sched_getaffinity(0, sizeof s, &s) != 0) return SPIN;
  return CPU_COUNT(&s) > 1 ? SPIN : 0;
}
static int g_spin = SPIN; /* set by rawpool_new; workers inherit it */
#define STOP UINT32_MAX

typedef struct ring {
  _Atomic uint32_t tail; /* producer: bytes published (mod 2^32) */
  _Atomic uint32_t sleeping;
  char pad0[56];
  _Atomic uint32_t head; /* consumer: bytes taken */
  char pad1[60];
  unsigned char buf[RING_BYTES];
} ring;

typedef struct chunk_hdr {
  uint32_t count, item_size;
} chunk_hdr;

struct rawpool {
  int workers;
  pid_t *pids;
  ring *rings; /* 2 per worker: tasks, results */
};

static void futex_wait(_Atomic uint32_t *w, uint32_t v) {
  syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}
static void futex_wake(_Atomic uint32_t *w) {
  syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Publish a message of n bytes (never larger than half the ring). */
static void ring_put(ring *r, const void *a, size_t an, const void *b,
                     size_t bn) {
  size_t need = 8 + pad8(an + bn);
  uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  size_t at = tail & (RING_BYTES - 1), room_to_end = RING_BYTES - at;
  uint64_t len;
  if (room_to_end < need) need += room_to_end; /* wrap first */
  while (RING_BYTES - (uint32_t)(tail - atomic_load_explicit(
             &r->head, memory_order_acquire)) < need)
    sched_yield();
  if (room_to_end < 8 + pad8(an + bn)) {
    len = 0;
    memcpy(r->buf + at, &len, sizeof len);
    tail += (uint32_t)room_to_end;
    at = 0;
  }
  len = an + bn;
  memcpy(r->buf + at, &len, sizeof len);
  memcpy(r->buf + at + 8, a, an);
  if (bn) memcpy(r->buf + at + 8 + an, b, bn);
  atomic_store_explicit(&r->tail, tail + (uint32_t)(8 + pad8(an + bn)),
                        memory_order_seq_cst);
  if (atomic_load_explicit(&r->sleeping, memory_order_seq_cst)) {
    atomic_store(&r->sleeping, 0);
    futex_wake(&r->tail);
  }
}

/* Wait for the next message; its bytes stay in place until ring_done. */
static const unsigned char *ring_get(ring *r, size_t *n) {
  uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  uint64_t len;
  int spins = 0, limit = g_spin;
  for (;;) {
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (tail != head) {
      size_t at = head & (RING_BYTES - 1);
      memcpy(&len, r->buf + at, sizeof len);
      if (len == 0) { /* wrap marker */
        head += (uint32_t)(RING_BYTES - at);
        atomic_store_explicit(&r->head, head, memory_order_release);
        continue;
      }
      *n = (size_t)len;
      return r->buf + at + 8;
    }
    if (++spins < limit) {
      bench_relax();
      continue;
    }
    atomic_store_explicit(&r->sleeping, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&r->tail, memory_order_seq_cst) == head)
      futex_wait(&r->tail, head);
    spins = 0;
  }
}

static void ring_done(ring *r, size_t n) {
  uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  atomic_store_explicit(&r->head, head + (uint32_t)(8 + pad8(n)),
                        memory_order_release);
}

/* The benchmark's task: nothing out for each record in. It is called
 * through a pointer the compiler cannot see through, as a pool calls a
 * user's function (else the loop over the records would vanish). */
static int noop_record(const unsigned char *rec, size_t n) {
  (void)rec, (void)n;
  return 0;
}
static int (*volatile task_fn)(const unsigned char *, size_t) = noop_record;

static void worker_main(ring *tasks, ring *results) {
  for (;;) {
    size_t n, k;
    const unsigned char *m = ring_get(tasks, &n);
    chunk_hdr h, out;
    memcpy(&h, m, sizeof h);
    if (h.count == STOP) _exit(0);
    for (k = 0; k < h.count; k++)
      (void)task_fn(m + sizeof h + k * h.item_size, h.item_size);
    ring_done(tasks, n);
    out.count = h.count;
    out.item_size = 0;
    ring_put(results, &out, sizeof out, NULL, 0);
  }
}

int rawpool_new(rawpool **out, int workers) {
  rawpool *p = calloc(1, sizeof *p);
  int i;
  *out = NULL;
  if (p == NULL) return -1;
  g_spin = spin_limit();
  p->workers = workers;
  p->pids = calloc((size_t)workers, sizeof *p->pids);
  p->rings = mmap(NULL, sizeof(ring) * 2 * (size_t)workers,
                  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p->pids == NULL || p->rings == MAP_FAILED) {
    free(p->pids);
    free(p);
    return -1;
  }
  for (i = 0; i < workers; i++) {
    pid_t pid = fork();
    if (pid == 0) worker_main(&p->rings[2 * i], &p->rings[2 * i + 1]);
    p->pids[i] = pid;
  }
  *out = p;
  return 0;
}

int rawpool_map(rawpool *p, const void *items, size_t n, size_t item_size,
                size_t chunksize) {
  const unsigned char *it = items;
  size_t c, nchunks = (n + chunksize - 1) / chunksize, got = 0;
  for (c = 0; c < nchunks; c++) {
    size_t first = c * chunksize;
    chunk_hdr h;
    h.count = (uint32_t)(n - first < chunksize ? n - first : chunksize);
    h.item_size = (uint32_t)item_size;
    ring_put(&p->rings[2 * (c % (size_t)p->workers)], &h, sizeof h,
             it + first * item_size, h.count * item_size);
  }
  for (c = 0; c < nchunks; c++) {
    ring *r = &p->rings[2 * (c % (size_t)p->workers) + 1];
    size_t len;
    const unsigned char *m = ring_get(r, &len);
    chunk_hdr h;
    memcpy(&h, m, sizeof h);
    got += h.count;
    ring_done(r, len);
  }
  return got == n ? 0 : -1;
}

int rawpool_apply(rawpool *p, const void *item, size_t item_size) {
  return rawpool_map(p, item, 1, item_size, 1);
}

void rawpool_free(rawpool *p) {
  chunk_hdr stop = {STOP, 0};
  int i, st;
  if (p == NULL) return;
  for (i = 0; i < p->workers; i++) {
    ring_put(&p->rings[2 * i], &stop, sizeof stop, NULL, 0);
    while (waitpid(p->pids[i], &st, 0) < 0) {
    }
  }
  munmap(p->rings, sizeof(ring) * 2 * (size_t)p->workers);
  free(p->pids);
  free(p);
}
