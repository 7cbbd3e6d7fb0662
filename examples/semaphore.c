/* A Semaphore limiting how many processes work at once, the pattern the
 * Python documentation describes for Semaphore ("limit the number of
 * concurrent accesses"):
 *
 *   def worker(sem, active, i):
 *       with sem:
 *           with active.get_lock(): active.value += 1; print(i, active.value)
 *           time.sleep(0.01)
 *           with active.get_lock(): active.value -= 1
 *   sem = Semaphore(2); active = Value('i', 0)
 *   for i in range(6): Process(target=worker, args=(sem, active, i)).start()
 */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

typedef struct job {
  char sem[MPROC_SHM_NAME_MAX + 1];
  char active[MPROC_SHM_NAME_MAX + 1];
  int i;
} job;

static int add(mproc_array *v, int d) {
  mproc_rlock *l = mproc_array_get_lock(v);
  int now;
  mproc_rlock_acquire(l, MPROC_FOREVER);
  now = *(int32_t *)mproc_array_ptr(v) += d;
  mproc_rlock_release(l);
  return now;
}

static int worker(const void *arg, size_t len) {
  const job *j = arg;
  mproc_sem *sem;
  mproc_array *active;
  int now;
  (void)len;
  if (mproc_sem_open(&sem, j->sem) || mproc_array_open(&active, j->active))
    return 1;
  mproc_sem_acquire(sem, MPROC_FOREVER);
  now = add(active, +1);
  printf("worker %d: %d active\n", j->i, now);
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
  mproc_process *p[6];
  mproc_sem *sem;
  mproc_array *active;
  job j;
  int i, failed = 0;
  mproc_init(argc, argv);
  if (mproc_sem_new(&sem, 2, 0, NULL) ||
      mproc_value_new(&active, 'i', NULL, NULL))
    return 1;
  memset(&j, 0, sizeof j);
  strcpy(j.sem, mproc_sem_name(sem));
  strcpy(j.active, mproc_array_name(active));
  for (i = 0; i < 6; i++) {
    j.i = i;
    mproc_process_new(&p[i], worker, &j, sizeof j, NULL);
    mproc_process_start(p[i]);
  }
  for (i = 0; i < 6; i++) {
    int code = -1;
    mproc_process_join(p[i], MPROC_FOREVER);
    mproc_process_exitcode(p[i], &code);
    failed |= code != 0;
    mproc_process_free(p[i]);
  }
  mproc_sem_free(sem);
  mproc_array_free(active);
  return failed;
}
