/* A remote manager's clients, as Python's docs show them: one puts work
 * into the server's queue, others take it from there.
 *
 *   m = QueueManager(address=('foo.bar.org', 50000), authkey=b'abracadabra')
 *   m.connect()
 *   queue = m.get_queue()
 *   queue.put('hello')
 *
 *   manager_client ADDRESS AUTHKEY [WORKERS]
 *
 * connects to manager_server (ADDRESS "-": read it from the first line of
 * standard input), puts ten jobs into the server's "jobs" queue and starts
 * WORKERS (2) processes that know only the address and the key: each
 * connects by itself, takes jobs and puts each square into "results".
 * The client prints the results, then tells the server to shut down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>

#define JOBS 10

static int fail(const char *what) {
  fprintf(stderr, "manager_client: %s: %s\n", what, mproc_last_error());
  return 1;
}

/* A worker: the argument is "ADDRESS\0AUTHKEY". */
static int worker(const void *arg, size_t len) {
  const char *address = arg, *key = address + strlen(address) + 1;
  mproc_manager *m;
  mproc_proxy *jobs, *results;
  void *job;
  size_t n;
  (void)len;
  if (mproc_manager_connect(&m, address, key, strlen(key), 60) ||
      mproc_manager_get(m, "jobs", MPROC_PROXY_QUEUE, &jobs) ||
      mproc_manager_get(m, "results", MPROC_PROXY_QUEUE, &results))
    return fail("worker");
  while (mproc_mqueue_get(jobs, MPROC_FOREVER, &job, &n) == 0) {
    char text[32], out[64];
    long x;
    int k;
    snprintf(text, sizeof text, "%.*s", (int)n, (const char *)job);
    mproc_free(job);
    x = strtol(text, NULL, 10);
    if (x < 0) break; /* the sentinel */
    k = snprintf(out, sizeof out, "%ld -> %ld", x, x * x);
    if (mproc_mqueue_put(results, out, (size_t)k, MPROC_FOREVER)) break;
  }
  mproc_proxy_free(jobs);
  mproc_proxy_free(results);
  mproc_manager_free(m); /* a connected manager: the server goes on */
  return 0;
}
MPROC_TASK(worker);

/* Put the jobs, start the workers, print the results. */
static int run(mproc_manager *m, const char *address, const char *key,
               int nw) {
  mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
  mproc_process *w[8];
  mproc_proxy *jobs, *results;
  char arg[2 * MPROC_ADDRESS_MAX];
  int i, code;
  size_t alen;
  if (strlen(address) + strlen(key) + 2 > sizeof arg)
    return fail("the address and key are too long");
  if (mproc_manager_get(m, "jobs", MPROC_PROXY_QUEUE, &jobs) ||
      mproc_manager_get(m, "results", MPROC_PROXY_QUEUE, &results))
    return fail("the queues");
  for (i = 0; i < JOBS; i++) {
    char job[16];
    int k = snprintf(job, sizeof job, "%d", i);
    if (mproc_mqueue_put(jobs, job, (size_t)k, MPROC_FOREVER)) return fail("put");
  }
  for (i = 0; i < nw; i++) /* one sentinel per worker */
    if (mproc_mqueue_put(jobs, "-1", 2, MPROC_FOREVER)) return fail("put");
  alen = strlen(address) + 1;
  memcpy(arg, address, alen);
  memcpy(arg + alen, key, strlen(key) + 1);
  /* Spawned: the workers inherit nothing; they know the address and key. */
  po.method = MPROC_START_SPAWN;
  for (i = 0; i < nw; i++)
    if (mproc_process_new(&w[i], worker, arg, alen + strlen(key) + 1, &po) ||
        mproc_process_start(w[i]))
      return fail("start a worker");
  for (i = 0; i < JOBS; i++) {
    void *r;
    size_t n;
    if (mproc_mqueue_get(results, 60, &r, &n)) return fail("get a result");
    printf("result %.*s\n", (int)n, (const char *)r);
    mproc_free(r);
  }
  printf("all %d results\n", JOBS);
  for (i = 0; i < nw; i++) {
    if (mproc_process_join(w[i], MPROC_FOREVER) ||
        mproc_process_exitcode(w[i], &code) || code != 0)
      return fail("a worker failed");
    mproc_process_free(w[i]);
  }
  mproc_proxy_free(jobs);
  mproc_proxy_free(results);
  return 0;
}

int main(int argc, char **argv) {
  mproc_manager *m;
  char address[MPROC_ADDRESS_MAX];
  int nw = argc > 3 ? atoi(argv[3]) : 2, rc;
  mproc_init(argc, argv);
  if (argc < 3 || nw < 1 || nw > 8) {
    fprintf(stderr, "usage: manager_client ADDRESS AUTHKEY [WORKERS 1-8]\n");
    return 1;
  }
  snprintf(address, sizeof address, "%s", argv[1]);
  if (strcmp(address, "-") == 0 &&
      (fgets(address, sizeof address, stdin) == NULL ||
       (address[strcspn(address, "\r\n")] = '\0', address[0] == '\0')))
    return fail("no address on standard input");
  if (mproc_manager_connect(&m, address, argv[2], strlen(argv[2]), 60))
    return fail("connect");
  rc = run(m, address, argv[2], nw);
  /* Done (or failed): the server stops either way. */
  if (mproc_manager_shutdown(m) && rc == 0) rc = fail("shutdown");
  mproc_manager_free(m);
  return rc;
}
