/* A remote manager's server program, as Python's docs show it:
 *
 *   from multiprocessing.managers import BaseManager
 *   from queue import Queue
 *   queue = Queue()
 *   class QueueManager(BaseManager): pass
 *   QueueManager.register('get_queue', callable=lambda: queue)
 *   m = QueueManager(address=('', 50000), authkey=b'abracadabra')
 *   s = m.get_server()
 *   s.serve_forever()
 *
 *   manager_server ADDRESS AUTHKEY
 *
 * serves on ADDRESS ("127.0.0.1:50000"; port 0: one the OS picks; "-": a
 * fresh local address) until a
 * client asks it to shut down, and prints the address it listens on as
 * its first line. Every client that asks for a name (mproc_manager_get)
 * gets the same object: manager_client shares its queues of work so.
 */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

static void ready(const char *address, void *arg) {
  (void)arg;
  printf("%s\n", address);
  fflush(stdout);
}

int main(int argc, char **argv) {
  mproc_manager_opts o = MPROC_MANAGER_OPTS_INIT;
  int rc;
  mproc_init(argc, argv);
  if (argc < 3) {
    fprintf(stderr, "usage: manager_server ADDRESS AUTHKEY\n");
    return 1;
  }
  o.address = strcmp(argv[1], "-") == 0 ? NULL : argv[1]; /* -: make one */
  o.authkey = argv[2];
  o.key_len = strlen(argv[2]);
  o.on_ready = ready;
  rc = mproc_manager_serve_forever(&o);
  if (rc < 0) {
    fprintf(stderr, "manager_server: %s\n", mproc_last_error());
    return 2;
  }
  return 0;
}
