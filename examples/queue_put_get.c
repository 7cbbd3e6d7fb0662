/* Python's guide, "Exchanging objects between processes — Queues":
 *
 *   from multiprocessing import Process, Queue
 *   def f(q):
 *       q.put([42, None, 'hello'])
 *   if __name__ == '__main__':
 *       q = Queue()
 *       p = Process(target=f, args=(q,))
 *       p.start()
 *       print(q.get())    # prints "[42, None, 'hello']"
 *       p.join()
 *
 * Messages are bytes. The queue travels in the pass list (Python's args)
 * and the child takes it ready to use, under every start method. It may
 * exit as soon as put returns: the message is already in shared memory.
 * The process object is dropped at once, as Python's is: the program's
 * exit joins the child. An optional argument picks the start method.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mproc.h>

static int f(const void *arg, size_t len) {
  mproc_queue *q;
  const char msg[] = "[42, None, 'hello']";
  (void)arg, (void)len;
  if (mproc_inherited(0, MPROC_KIND_QUEUE, &q) != 0) return 1;
  mproc_queue_put(q, msg, sizeof msg, MPROC_FOREVER);
  mproc_queue_free(q);
  return 0;
}
MPROC_TASK(f);

int main(int argc, char **argv) {
  mproc_queue *q;
  mproc_process *p;
  mproc_pass pass[1];
  mproc_process_opts opts = MPROC_PROCESS_OPTS_INIT;
  char buf[64];
  size_t len = 0;
  mproc_init(argc, argv);
  if (argc > 1) mproc_set_start_method((mproc_start_method)atoi(argv[1]));
  if (mproc_queue_new(&q, NULL) != 0) return 1;
  pass[0] = MPROC_PASS(q);
  opts.pass = pass;
  opts.n_pass = 1;
  if (mproc_process_new(&p, f, NULL, 0, &opts) || mproc_process_start(p)) {
    fprintf(stderr, "start: %s\n", mproc_last_error());
    return 1;
  }
  mproc_process_free(p); /* joined at exit, as in Python */
  if (mproc_queue_get(q, buf, sizeof buf, &len, MPROC_FOREVER) != 0) {
    fprintf(stderr, "get: %s\n", mproc_last_error());
    return 1;
  }
  printf("%s\n", buf);
  mproc_queue_free(q);
  return 0;
}
