/* Python's guide, "Exchanging objects between processes — Pipes":
 *
 *   from multiprocessing import Process, Pipe
 *   def f(conn):
 *       conn.send([42, None, 'hello'])
 *       conn.close()
 *   if __name__ == '__main__':
 *       parent_conn, child_conn = Pipe()
 *       p = Process(target=f, args=(child_conn,))
 *       p.start()
 *       print(parent_conn.recv())   # prints "[42, None, 'hello']"
 *       p.join()
 *
 * Messages are bytes. The child's end goes in the process's pass list
 * (Python's args) and is taken in the child with mproc_conn_inherited(),
 * under every start method. The process object is dropped at once, as
 * Python's is: the program's exit joins the child. An optional argument
 * picks the start method.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mproc.h>

static int f(const void *arg, size_t len) {
  mproc_conn *conn;
  const char msg[] = "[42, None, 'hello']";
  (void)arg, (void)len;
  if (mproc_conn_inherited(0, &conn) != 0) return 1;
  mproc_conn_send(conn, msg, sizeof msg);
  mproc_conn_free(conn);
  return 0;
}
MPROC_TASK(f);

int main(int argc, char **argv) {
  mproc_conn *parent_conn, *child_conn;
  mproc_process_opts opts = MPROC_PROCESS_OPTS_INIT;
  mproc_pass pass[1];
  mproc_process *p;
  char buf[64];
  size_t len = 0;
  mproc_init(argc, argv);
  if (argc > 1) mproc_set_start_method((mproc_start_method)atoi(argv[1]));
  if (mproc_pipe(MPROC_PIPE_DUPLEX, &parent_conn, &child_conn) != 0) return 1;
  pass[0] = MPROC_PASS(child_conn);
  opts.pass = pass;
  opts.n_pass = 1;
  if (mproc_process_new(&p, f, NULL, 0, &opts) != 0 ||
      mproc_process_start(p) != 0) {
    fprintf(stderr, "start: %s\n", mproc_last_error());
    return 1;
  }
  mproc_process_free(p);       /* joined at exit, as in Python */
  mproc_conn_free(child_conn); /* the child has its own */
  if (mproc_conn_recv(parent_conn, buf, sizeof buf, &len) != 0) {
    fprintf(stderr, "recv: %s\n", mproc_last_error());
    return 1;
  }
  printf("%s\n", buf);
  mproc_conn_free(parent_conn);
  return 0;
}
