/* A program that uses an installed mproc, as a user's would: it finds the
 * library with CMake's find_package(mproc) or with pkg-config (see
 * CMakeLists.txt and Makefile beside this file), starts one child, joins it
 * and checks its exit code. ci/consumer.sh builds and runs it. */
#include <mproc.h>

#include <stdio.h>
#include <string.h>

#define CHILD_OK 42

/* Exits CHILD_OK when the argument bytes arrived intact. */
static int child(const void *arg, size_t len) {
  return (len == 5 && memcmp(arg, "hello", 5) == 0) ? CHILD_OK : 1;
}
/* Lets a spawned child find `child` by name. */
MPROC_TASK(child);

static int fail(const char *what, int rc) {
  fprintf(stderr, "consumer: %s: %s (%s)\n", what, mproc_strerror(rc),
          mproc_last_error());
  return 1;
}

/* A Listener and a Client with an authkey: links the handshake's HMAC
 * (libcrypto on Linux), which the installed package must bring along. */
static int authenticated_pair(void) {
  mproc_listener *l = NULL;
  mproc_conn *c = NULL, *s = NULL;
  int rc = mproc_listener_new(&l, "127.0.0.1:0", MPROC_FAMILY_DEFAULT, 0,
                              "key", 3);
  /* No key on the client: connect returns once the OS queued it, and the
   * server's handshake refuses the message it sends instead of an answer. */
  if (rc == 0)
    rc = mproc_client_connect(&c, mproc_listener_address(l),
                              MPROC_FAMILY_DEFAULT, NULL, 0, 10);
  if (rc == 0) rc = mproc_conn_send(c, "no answer", 9);
  if (rc == 0) {
    rc = mproc_listener_accept(l, 10, &s);
    rc = rc == MPROC_EAUTH ? 0 : rc == 0 ? MPROC_ESTATE : rc;
  }
  if (rc < 0) fail("listener and client", rc);
  else printf("consumer: an unauthenticated client was refused\n");
  mproc_conn_free(s);
  mproc_conn_free(c);
  mproc_listener_free(l);
  return rc < 0;
}

int main(int argc, char **argv) {
  /* A spawned child runs `child` inside mproc_init and never returns. */
  int rc = mproc_init(argc, argv);
  if (rc < 0)
    return fail("mproc_init", rc);

  if (mproc_version() != MPROC_VERSION_HEX) {
    fprintf(stderr, "consumer: headers are %d.%d.%d, library is %s\n",
            MPROC_VERSION_MAJOR, MPROC_VERSION_MINOR, MPROC_VERSION_PATCH,
            mproc_version_string());
    return 1;
  }

  mproc_process_opts opts = MPROC_PROCESS_OPTS_INIT;
#ifdef _WIN32
  opts.method = MPROC_START_SPAWN;
#else
  opts.method = MPROC_START_FORK;
#endif

  mproc_process *p = NULL;
  int code = -1000;
  int status = 1;
  if ((rc = mproc_process_new(&p, child, "hello", 5, &opts)) < 0) {
    fail("mproc_process_new", rc);
    goto cleanup;
  }
  if ((rc = mproc_process_start(p)) < 0) {
    fail("mproc_process_start", rc);
    goto cleanup;
  }
  if ((rc = mproc_process_join(p, MPROC_FOREVER)) < 0) {
    fail("mproc_process_join", rc);
    goto cleanup;
  }
  if ((rc = mproc_process_exitcode(p, &code)) < 0) {
    fail("mproc_process_exitcode", rc);
    goto cleanup;
  }
  printf("consumer: mproc %s, %s child %ld exited with %d\n",
         mproc_version_string(), mproc_start_method_name(opts.method),
         mproc_process_pid(p), code);
  status = code == CHILD_OK ? 0 : 1;
  if (status != 0)
    fprintf(stderr, "consumer: expected exit code %d\n", CHILD_OK);
  if (status == 0) status = authenticated_pair();

cleanup:
  mproc_process_free(p);
  return status;
}
