/* Python's guide, "show the individual process IDs involved":
 *
 *   def info(title):
 *       print(title)
 *       print('module name:', __name__)
 *       print('parent process:', os.getppid())
 *       parent = parent_process()        # None in the main program
 *       if parent: print('parent name:', parent.name, parent.is_alive())
 *       print('process id:', os.getpid())
 *   def f(name):
 *       info('function f')
 *       print('hello', name)
 *   if __name__ == '__main__':
 *       info('main line')
 *       p = Process(target=f, args=('bob',))
 *       p.start()
 *       p.join()
 */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

static void info(const char *title) {
  printf("%s\n", title);
  printf("process name: %s\n", mproc_current_name());
  mproc_process *parent = mproc_parent_process(); /* NULL in main */
  printf("parent process: %ld\n", mproc_parent_pid());
  if (parent)
    printf("parent name: %s (alive: %d)\n", mproc_process_name(parent),
           mproc_process_is_alive(parent));
  printf("process id: %ld\n", mproc_current_pid());
  fflush(stdout);
}

static int f(const void *arg, size_t len) {
  info("function f");
  printf("hello %.*s\n", (int)len, (const char *)arg);
  /* The child knows its parent: the check makes the example a test. */
  return mproc_parent_process() != NULL &&
                 mproc_process_is_alive(mproc_parent_process()) == 1
             ? 0
             : 1;
}
MPROC_TASK(f);

int main(int argc, char **argv) {
  mproc_process *p;
  int code = -1;
  mproc_init(argc, argv);
  info("main line");
  if (mproc_process_new(&p, f, "bob", 3, NULL) != 0 ||
      mproc_process_start(p) != 0 ||
      mproc_process_join(p, MPROC_FOREVER) != 0 ||
      mproc_process_exitcode(p, &code) != 0) {
    fprintf(stderr, "error: %s\n", mproc_last_error());
    return 1;
  }
  mproc_process_free(p);
  return code;
}
