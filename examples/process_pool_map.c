/* Python's ProcessPoolExecutor example from the concurrent.futures docs,
 * in C:
 *
 *   PRIMES = [112272535095293, 112582705942171, 112272535095293,
 *             115280095190773, 115797848077099, 1099726899285419]
 *   def is_prime(n): ...
 *   def main():
 *       with concurrent.futures.ProcessPoolExecutor() as executor:
 *           for number, prime in zip(PRIMES, executor.map(is_prime, PRIMES)):
 *               print('%d is prime: %s' % (number, prime))
 *   if __name__ == '__main__':
 *       main()
 *
 * The task is registered by name (MPROC_TASK) so that workers started by
 * spawn or forkserver find it; mproc_init() at the top of main is the C
 * form of the `__main__` guard. The map is over fixed-size records: one
 * uint64_t in, one byte out. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mproc.h>

static const uint64_t PRIMES[] = {112272535095293ULL, 112582705942171ULL,
                                  112272535095293ULL, 115280095190773ULL,
                                  115797848077099ULL, 1099726899285419ULL};
#define NPRIMES (sizeof PRIMES / sizeof PRIMES[0])

static int is_prime(const void *in, size_t len, mproc_buf *out) {
  uint64_t n, i, limit;
  unsigned char prime = 1;
  if (len != sizeof n) return mproc_task_fail(out, 1, "want a uint64_t");
  memcpy(&n, in, sizeof n);
  if (n < 2) {
    prime = 0;
  } else if (n == 2) {
    prime = 1;
  } else if (n % 2 == 0) {
    prime = 0;
  } else {
    limit = (uint64_t)floor(sqrt((double)n));
    for (i = 3; i <= limit; i += 2)
      if (n % i == 0) {
        prime = 0;
        break;
      }
  }
  return mproc_buf_write(out, &prime, 1);
}
MPROC_TASK(is_prime);

int main(int argc, char **argv) {
  mproc_executor *ex;
  mproc_map *m;
  const void *r;
  size_t len, i;
  int rc;
  if (mproc_init(argc, argv) != 0) {
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
    return 1;
  }
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_PROCESS, NULL) != 0 ||
      mproc_executor_map(ex, is_prime, PRIMES, NPRIMES, sizeof PRIMES[0],
                         NULL, &m) != 0) {
    fprintf(stderr, "executor: %s\n", mproc_last_error());
    return 1;
  }
  for (i = 0; (rc = mproc_map_next(m, &r, &len)) == 0; i++)
    printf("%" PRIu64 " is prime: %s\n", PRIMES[i],
           *(const unsigned char *)r ? "True" : "False");
  if (rc != MPROC_EEOF) fprintf(stderr, "map: %s\n", mproc_last_error());
  mproc_map_free(m);
  mproc_executor_free(ex); /* the `with` block's shutdown(wait=True) */
  return rc == MPROC_EEOF ? 0 : 1;
}
