/* connection_echo ADDRESS AUTHKEY [once] — an echo server on a Listener,
 * as in Python's multiprocessing.connection docs:
 *
 *   with Listener(address, authkey=b'secret') as listener:
 *       with listener.accept() as conn:
 *           while (msg := conn.recv_bytes()) != b'close':
 *               conn.send_bytes(msg)
 *
 * ADDRESS is "/path", "\\.\pipe\name", "host:port" (port 0: any), or "-"
 * for a generated one. The address clients use is printed on the first
 * line, once the listener is ready. Clients are served one after another
 * until one sends "close"; a client that fails authentication is turned
 * away and the next one served. With "once", only the first client is
 * served, and a failed authentication ends the program with exit code 2.
 * Any client works: examples/connection_client.c, or Python's
 * multiprocessing.connection.Client(address, authkey=b'AUTHKEY'). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>

/* Echo one client's messages; 1 if it asked us to stop. */
static int serve(mproc_conn *c) {
  void *msg;
  size_t len;
  int rc;
  while ((rc = mproc_conn_recv_alloc(c, &msg, &len)) == 0) {
    int stop = len == 5 && memcmp(msg, "close", 5) == 0;
    if (!stop) rc = mproc_conn_send(c, msg, len);
    mproc_free(msg);
    if (stop) return 1;
    if (rc < 0) break;
  }
  if (rc != MPROC_EEOF)
    fprintf(stderr, "connection_echo: %s\n", mproc_last_error());
  return 0;
}

int main(int argc, char **argv) {
  mproc_listener *l;
  int rc, once = argc > 3 && strcmp(argv[3], "once") == 0, done = 0;
  if (mproc_init(argc, argv) != 0 || argc < 3) {
    fprintf(stderr, "usage: connection_echo ADDRESS AUTHKEY [once]\n");
    return 1;
  }
  rc = mproc_listener_new(&l, strcmp(argv[1], "-") ? argv[1] : NULL,
                          MPROC_FAMILY_DEFAULT, 0, argv[2], strlen(argv[2]));
  if (rc < 0) {
    fprintf(stderr, "connection_echo: %s\n", mproc_last_error());
    return 1;
  }
  printf("%s\n", mproc_listener_address(l));
  fflush(stdout);
  while (!done) {
    mproc_conn *c;
    /* once: a test's server, which must not outlive a failed client. */
    rc = mproc_listener_accept(l, once ? 120 : MPROC_FOREVER, &c);
    if (rc < 0) {
      fprintf(stderr, "connection_echo: %s: %s\n", mproc_err_name(rc),
              mproc_last_error());
      if (once || (rc != MPROC_EAUTH && rc != MPROC_EEOF)) break;
      continue;
    }
    done = serve(c) || once;
    mproc_conn_free(c);
  }
  mproc_listener_free(l);
  return rc == MPROC_EAUTH ? 2 : rc < 0 ? 1 : 0;
}
