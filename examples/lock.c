/* Python's guide, "Synchronization between processes":
 *
 *   from multiprocessing import Process, Lock
 *   def f(l, i):
 *       l.acquire()
 *       try:
 *           print('hello world', i)
 *       finally:
 *           l.release()
 *   if __name__ == '__main__':
 *       lock = Lock()
 *       for num in range(10):
 *           Process(target=f, args=(lock, num)).start()
 */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

typedef struct job {
  char lock[MPROC_SHM_NAME_MAX + 1];
  int num;
} job;

static int f(const void *arg, size_t len) {
  const job *j = arg;
  mproc_lock *l;
  (void)len;
  if (mproc_lock_open(&l, j->lock) != 0) return 1;
  mproc_lock_acquire(l, MPROC_FOREVER);
  printf("hello world %d\n", j->num); /* one line at a time */
  fflush(stdout);
  mproc_lock_release(l);
  mproc_lock_free(l);
  return 0;
}
MPROC_TASK(f);

int main(int argc, char **argv) {
  mproc_process *p[10];
  mproc_lock *lock;
  job j;
  int num, failed = 0;
  mproc_init(argc, argv);
  if (mproc_lock_new(&lock, NULL) != 0) return 1;
  memset(&j, 0, sizeof j);
  strcpy(j.lock, mproc_lock_name(lock));
  for (num = 0; num < 10; num++) {
    j.num = num;
    mproc_process_new(&p[num], f, &j, sizeof j, NULL);
    mproc_process_start(p[num]);
  }
  for (num = 0; num < 10; num++) { /* Python joins them at exit */
    int code = -1;
    mproc_process_join(p[num], MPROC_FOREVER);
    mproc_process_exitcode(p[num], &code);
    failed |= code != 0;
    mproc_process_free(p[num]);
  }
  mproc_lock_free(lock);
  return failed;
}
