/* A Semaphore limiting how many processes work at once, the pattern the
 * Python documentation describes for Semaphore ("limit the number of
 * concurrent accesses"), in Python's shape: no join, nothing kept.
 *
 *   def worker(sem, active, i):
 *       with sem:
 *           with active.get_lock(): active.value += 1; print(i, active.value)
 *           time.sleep(0.01)
 *           with active.get_lock(): active.value -= 1
 *   sem = Semaphore(2); active = Value('i', 0)
 *   for i in range(6): Process(target=worker, args=(sem, active, i)).start()
 *
 * Both objects travel in the pass list; the parent drops its handles right
 * after the starts. An optional argument picks the start method (1 fork,
 * 2 forkserver, 3 spawn).
 */
#include <stdio.h>
#include <stdlib.h>

#include <mproc.h>

static int add(mproc_array *v, int d) {
  mproc_rlock *l = NULL;
  int now;
  if (mproc_array_get_lock(v, &l) < 0) return -1; /* v.get_lock() */
  mproc_rlock_acquire(l, MPROC_FOREVER);
  now = *(int32_t *)mproc_array_ptr(v) += d;
  mproc_rlock_release(l);
  mproc_rlock_free(l);
  return now;
}

static int worker(const void *arg, size_t len) {
  int i = *(const int *)arg, now;
  mproc_sem *sem;
  mproc_array *active;
  (void)len;
  if (mproc_inherited(0, MPROC_KIND_SEM, &sem) ||
      mproc_inherited(1, MPROC_KIND_ARRAY, &active)) {
    fprintf(stderr, "worker %d: %s\n", i, mproc_last_error());
    return 1;
  }
  mproc_sem_acquire(sem, MPROC_FOREVER);
  now = add(active, +1);
  printf("worker %d: %d active%s\n", i, now,
         now > 2 ? " -- too many at once" : "");
  fflush(stdout);
  {
    volatile unsigned spin; /* a little work, as time.sleep(0.01) */
    for (spin = 0; spin < 2000000u; spin++) {
    }
  }
  add(active, -1);
  mproc_sem_release(sem);
  mproc_sem_free(sem);
  mproc_array_free(active);
  return now <= 2 ? 0 : 1; /* never more than two at once */
}
MPROC_TASK(worker);

int main(int argc, char **argv) {
  mproc_sem *sem;
  mproc_array *active;
  mproc_pass pass[2];
  mproc_process_opts opts = MPROC_PROCESS_OPTS_INIT;
  int i;
  mproc_init(argc, argv);
  if (argc > 1) mproc_set_start_method((mproc_start_method)atoi(argv[1]));
  if (mproc_sem_new(&sem, 2, MPROC_SEMAPHORE, NULL) ||
      mproc_value_new(&active, 'i', NULL, NULL))
    return 1;
  pass[0] = MPROC_PASS(sem);
  pass[1] = MPROC_PASS(active);
  opts.pass = pass;
  opts.n_pass = 2;
  for (i = 0; i < 6; i++) {
    mproc_process *p;
    if (mproc_process_new(&p, worker, &i, sizeof i, &opts) ||
        mproc_process_start(p)) {
      fprintf(stderr, "start: %s\n", mproc_last_error());
      return 1;
    }
    mproc_process_free(p); /* joined at exit, as in Python */
  }
  mproc_sem_free(sem);
  mproc_array_free(active);
  return 0;
}
