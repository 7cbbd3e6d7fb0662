/* Python's guide, "Synchronization between processes", in its own shape:
 * processes started in a loop, no join, the lock dropped, the program
 * ending; all of them still print.
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
 *       for num in range(20):
 *           Process(target=f, args=(lock, num)).start()
 *
 * The lock goes in each process's pass list (Python's args): the child
 * takes it ready to use, under every start method, and holds it from the
 * start on, so the parent may free its handle at once. As in Python, the
 * program's exit waits for the children. An optional argument picks the
 * start method (1 fork, 2 forkserver, 3 spawn).
 */
#include <stdio.h>
#include <stdlib.h>

#include <mproc.h>

static int f(const void *arg, size_t len) {
  mproc_lock *l;
  int i = *(const int *)arg;
  (void)len;
  if (mproc_inherited(0, MPROC_KIND_LOCK, &l) != 0) {
    fprintf(stderr, "child %d: %s\n", i, mproc_last_error());
    return 1;
  }
  mproc_lock_acquire(l, MPROC_FOREVER);
  printf("hello world %d\n", i); /* one line at a time */
  fflush(stdout);
  mproc_lock_release(l);
  mproc_lock_free(l);
  return 0;
}
MPROC_TASK(f);

int main(int argc, char **argv) {
  mproc_lock *lock;
  mproc_pass pass[1];
  mproc_process_opts opts = MPROC_PROCESS_OPTS_INIT;
  int num;
  mproc_init(argc, argv);
  if (argc > 1) mproc_set_start_method((mproc_start_method)atoi(argv[1]));
  if (mproc_lock_new(&lock, NULL) != 0) return 1;
  pass[0] = MPROC_PASS(lock);
  opts.pass = pass;
  opts.n_pass = 1;
  for (num = 0; num < 20; num++) {
    mproc_process *p;
    if (mproc_process_new(&p, f, &num, sizeof num, &opts) != 0 ||
        mproc_process_start(p) != 0) {
      fprintf(stderr, "start: %s\n", mproc_last_error());
      return 1;
    }
    mproc_process_free(p); /* still running: joined at exit, as in Python */
  }
  mproc_lock_free(lock); /* the children hold their own */
  return 0;
}
