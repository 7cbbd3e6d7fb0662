/* Python's guide, "contexts and start methods":
 *
 *   import multiprocessing as mp
 *   def foo(q):
 *       q.put('hello')
 *   if __name__ == '__main__':
 *       mp.set_start_method('spawn')
 *       ...
 *       ctx = mp.get_context('spawn')
 *
 * In C every method the platform has is tried, through
 * mproc_set_start_method and through a context. (Queues come with their
 * own module; here the child answers through its exit code.)
 */
#include <stdio.h>

#include <mproc.h>

static int foo(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  printf("hello from %s (pid %ld)\n", mproc_current_name(),
         mproc_current_pid());
  return 42;
}
MPROC_TASK(foo);

static int run(const mproc_context *ctx) {
  mproc_process *p;
  mproc_process_opts opts = MPROC_PROCESS_OPTS_INIT;
  int code = -1;
  opts.ctx = ctx; /* NULL: the program's default method */
  if (mproc_process_new(&p, foo, NULL, 0, &opts) != 0 ||
      mproc_process_start(p) != 0 ||
      mproc_process_join(p, MPROC_FOREVER) != 0 ||
      mproc_process_exitcode(p, &code) != 0) {
    fprintf(stderr, "error: %s\n", mproc_last_error());
    return 1;
  }
  printf("%s: exit code %d\n", mproc_start_method_name(mproc_process_method(p)),
         code);
  mproc_process_free(p);
  return code == 42 ? 0 : 1;
}

int main(int argc, char **argv) {
  mproc_start_method all[] = {MPROC_START_FORK, MPROC_START_FORKSERVER,
                              MPROC_START_SPAWN};
  int i, failed = 0;
  mproc_init(argc, argv);
  printf("default start method: %s\n",
         mproc_start_method_name(mproc_get_start_method()));
  for (i = 0; i < 3; i++) {
    mproc_context *ctx;
    if (!mproc_start_method_supported(all[i])) continue;
    mproc_set_start_method(all[i]); /* set_start_method('...') */
    failed |= run(NULL);
    mproc_context_new(&ctx, all[i]); /* get_context('...') */
    failed |= run(ctx);
    mproc_context_free(ctx);
  }
  return failed;
}
