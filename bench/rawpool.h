/* bench/rawpool: the raw C process pool the Pool benchmark measures
 * mproc against — forked workers, one single-producer single-consumer
 * byte ring per direction per worker in anonymous shared memory, futex
 * sleeps with a spin first. No names, no registry, no crash handling,
 * no futures: the floor of what a process pool costs here (Linux). */
#ifndef MPROC_BENCH_RAWPOOL_H
#define MPROC_BENCH_RAWPOOL_H

#include <stddef.h>

typedef struct rawpool rawpool;

/* Fork `workers` workers (0 on success). Each runs every record of a
 * chunk through a no-op (a record in, nothing out), as the benchmark's
 * mproc task does. */
int rawpool_new(rawpool **out, int workers);
/* Map n records of item_size bytes in chunks of `chunksize`, round robin
 * over the workers, and wait for every chunk's result; 0 on success. */
int rawpool_map(rawpool *p, const void *items, size_t n, size_t item_size,
                size_t chunksize);
/* One record to worker 0 and its result back (apply().get()); 0. */
int rawpool_apply(rawpool *p, const void *item, size_t item_size);
/* Stop and reap the workers, release the memory. */
void rawpool_free(rawpool *p);

#endif
