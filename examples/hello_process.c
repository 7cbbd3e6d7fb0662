/* The first example of Python's multiprocessing guide, in C:
 *
 *   from multiprocessing import Process
 *   def f(name):
 *       print('hello', name)
 *   if __name__ == '__main__':
 *       p = Process(target=f, args=('bob',))
 *       p.start()
 *       p.join()
 */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

static int f(const void *arg, size_t len) {
  printf("hello %.*s\n", (int)len, (const char *)arg);
  return 0;
}
MPROC_TASK(f); /* spawn and forkserver find the target by name */

int main(int argc, char **argv) {
  mproc_process *p;
  int rc, code = -1;
  /* The C form of `if __name__ == '__main__'`: a spawned child runs f in
   * here and exits. */
  mproc_init(argc, argv);
  rc = mproc_process_new(&p, f, "bob", strlen("bob"), NULL);
  if (rc == 0) rc = mproc_process_start(p);
  if (rc == 0) rc = mproc_process_join(p, MPROC_FOREVER);
  if (rc == 0) rc = mproc_process_exitcode(p, &code);
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", mproc_err_name(rc), mproc_last_error());
    return 1;
  }
  mproc_process_free(p);
  return code;
}
