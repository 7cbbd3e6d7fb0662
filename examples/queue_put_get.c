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
 * Messages are bytes; the child gets the queue's name and opens it. It may
 * exit as soon as put returns: the message is already in shared memory.
 */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

static int f(const void *arg, size_t len) {
  mproc_queue *q;
  const char msg[] = "[42, None, 'hello']";
  (void)len;
  if (mproc_queue_open(&q, arg) != 0) return 1;
  mproc_queue_put(q, msg, sizeof msg, MPROC_FOREVER);
  mproc_queue_free(q);
  return 0;
}
MPROC_TASK(f);

int main(int argc, char **argv) {
  mproc_queue *q;
  mproc_process *p;
  char buf[64];
  size_t len = 0;
  int code = -1;
  mproc_init(argc, argv);
  if (mproc_queue_new(&q, NULL) != 0) return 1;
  mproc_process_new(&p, f, mproc_queue_name(q), strlen(mproc_queue_name(q)) + 1,
                    NULL);
  mproc_process_start(p);
  if (mproc_queue_get(q, buf, sizeof buf, &len, MPROC_FOREVER) != 0) {
    fprintf(stderr, "get: %s\n", mproc_last_error());
    return 1;
  }
  printf("%s\n", buf);
  mproc_process_join(p, MPROC_FOREVER);
  mproc_process_exitcode(p, &code);
  mproc_process_free(p);
  mproc_queue_free(q);
  return code;
}
