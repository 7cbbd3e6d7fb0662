/* The worker pattern of Python's JoinableQueue:
 *
 *   def worker(q):
 *       while True:
 *           item = q.get()
 *           if item is None: q.task_done(); break
 *           print(f'worked on {item}')
 *           q.task_done()
 *   q = JoinableQueue()
 *   for _ in range(2): Process(target=worker, args=(q,)).start()
 *   for item in range(10): q.put(item)
 *   q.join()                       # every item processed
 *   for _ in range(2): q.put(None)
 */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

static int worker(const void *arg, size_t len) {
  mproc_queue *q;
  (void)len;
  if (mproc_queue_open(&q, arg) != 0) return 1;
  for (;;) {
    int item;
    size_t got = 0;
    if (mproc_queue_get(q, &item, sizeof item, &got, MPROC_FOREVER) != 0)
      return 1;
    if (got == 0) { /* None */
      mproc_queue_task_done(q);
      break;
    }
    printf("%s worked on %d\n", mproc_current_name(), item);
    fflush(stdout);
    mproc_queue_task_done(q);
  }
  mproc_queue_free(q);
  return 0;
}
MPROC_TASK(worker);

int main(int argc, char **argv) {
  mproc_queue_opts opts = MPROC_QUEUE_OPTS_INIT;
  mproc_queue *q;
  mproc_process *p[2];
  const char *name;
  int i, failed = 0;
  mproc_init(argc, argv);
  opts.kind = MPROC_JOINABLE_QUEUE;
  if (mproc_queue_new(&q, &opts) != 0) return 1;
  name = mproc_queue_name(q);
  for (i = 0; i < 2; i++) {
    mproc_process_new(&p[i], worker, name, strlen(name) + 1, NULL);
    mproc_process_start(p[i]);
  }
  for (i = 0; i < 10; i++) mproc_queue_put(q, &i, sizeof i, MPROC_FOREVER);
  mproc_queue_join(q, MPROC_FOREVER); /* returns once all 10 are done */
  printf("all work done\n");
  for (i = 0; i < 2; i++) mproc_queue_put(q, NULL, 0, MPROC_FOREVER);
  for (i = 0; i < 2; i++) {
    int code = -1;
    mproc_process_join(p[i], MPROC_FOREVER);
    mproc_process_exitcode(p[i], &code);
    failed |= code != 0;
    mproc_process_free(p[i]);
  }
  mproc_queue_free(q);
  return failed;
}
