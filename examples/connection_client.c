/* connection_client ADDRESS AUTHKEY MESSAGE... — a Client, as in
 * Python's multiprocessing.connection docs:
 *
 *   with Client(address, authkey=b'secret') as conn:
 *       conn.send_bytes(b'hello'); print(conn.recv_bytes())
 *
 * Sends each MESSAGE and prints the reply. "@N" sends N bytes of a
 * pattern and checks that the same N bytes come back ("N bytes ok");
 * "close" is sent without waiting for a reply (connection_echo stops on
 * it). ADDRESS "-" reads the address from the first line of standard
 * input (what connection_echo prints once it listens). Exit code 2 when
 * authentication fails, 1 on another error. Works against a Python
 * Listener(address, authkey=b'AUTHKEY') too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + 3); }

/* Send N pattern bytes, expect them back. */
static int big(mproc_conn *c, size_t n) {
  unsigned char *m = malloc(n ? n : 1);
  void *back = NULL;
  size_t i, len = 0, bad = 0;
  int rc;
  if (m == NULL) return MPROC_ENOMEM;
  for (i = 0; i < n; i++) m[i] = pattern(i);
  rc = mproc_conn_send(c, m, n);
  if (rc == 0) rc = mproc_conn_recv_alloc(c, &back, &len);
  if (rc == 0) {
    for (i = 0; i < n && len == n; i++)
      bad += ((unsigned char *)back)[i] != m[i];
    if (len != n || bad) {
      fprintf(stderr, "connection_client: %zu bytes back, %zu wrong\n", len,
              bad);
      rc = MPROC_ESTATE;
    } else {
      printf("%zu bytes ok\n", n);
    }
  }
  mproc_free(back);
  free(m);
  return rc;
}

static int talk(mproc_conn *c, const char *msg) {
  void *back = NULL;
  size_t len = 0;
  int rc;
  if (msg[0] == '@') return big(c, (size_t)strtoull(msg + 1, NULL, 10));
  rc = mproc_conn_send(c, msg, strlen(msg));
  if (rc < 0 || strcmp(msg, "close") == 0) return rc;
  rc = mproc_conn_recv_alloc(c, &back, &len);
  if (rc == 0) printf("%.*s\n", (int)len, (const char *)back);
  mproc_free(back);
  return rc;
}

int main(int argc, char **argv) {
  char line[MPROC_ADDRESS_MAX];
  const char *address;
  mproc_conn *c = NULL;
  int i = 3, rc = 0;
  if (mproc_init(argc, argv) != 0 || argc < 3) {
    fprintf(stderr, "usage: connection_client ADDRESS AUTHKEY MESSAGE...\n");
    return 1;
  }
  address = argv[1];
  if (strcmp(address, "-") == 0) {
    if (fgets(line, sizeof line, stdin) == NULL) {
      fprintf(stderr, "connection_client: no address on standard input\n");
      return 1;
    }
    line[strcspn(line, "\r\n")] = '\0';
    address = line;
  }
  rc = mproc_client_connect(&c, address, MPROC_FAMILY_DEFAULT, argv[2],
                            strlen(argv[2]), 60);
  for (i = 3; rc == 0 && i < argc; i++) rc = talk(c, argv[i]);
  if (rc < 0)
    fprintf(stderr, "connection_client: %s: %s\n", mproc_err_name(rc),
            mproc_last_error());
  mproc_conn_free(c); /* NULL if the connect failed */
  return rc == MPROC_EAUTH ? 2 : rc < 0 ? 1 : 0;
}
