/* mproc: a process worker of the worker set (see wset.h for the
 * protocol). It opens the two queues and the slot segment by name, runs
 * the initializer (a failure is reported once and the worker exits), then
 * takes tasks until a stop message, max_tasks tasks, or its parent's end.
 * Tasks are found by registered name (MPROC_TASK), the same under every
 * start method. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wset.h"

MPROC_TASK(mproc__wset_worker_main);

/* A stack buffer serves small messages; larger ones are allocated. */
#define SMALL_MSG 4096

int mproc__wset_put_result(mproc_queue *rq, uint64_t id, int rc, int worker,
                           const char *msg, const void *data, size_t len) {
  unsigned char small[SMALL_MSG], *buf = small;
  wset_res_hdr h;
  size_t mlen = msg ? strlen(msg) + 1 : 0, total = sizeof h + mlen + len;
  int err;
  if (total > sizeof small && (buf = malloc(total)) == NULL)
    return mproc__err(MPROC_ENOMEM, "worker: no memory for a %zu-byte result",
                      total);
  memset(&h, 0, sizeof h);
  h.id = id;
  h.rc = rc;
  h.worker = worker;
  h.msg_len = mlen;
  memcpy(buf, &h, sizeof h);
  if (mlen) memcpy(buf + sizeof h, msg, mlen);
  if (len) memcpy(buf + sizeof h + mlen, data, len);
  err = mproc_queue_put(rq, buf, total, MPROC_FOREVER);
  if (buf != small) free(buf);
  return err;
}

/* Run one task message; 0 to go on, < 0 when the result queue failed. */
static int run_task(const wset_args *a, mproc_queue *rq,
                    _Atomic uint64_t *slot, const unsigned char *m,
                    size_t n) {
  wset_task_hdr h;
  char name[256];
  mproc_task_fn fn;
  mproc_buf b;
  int rc;
  memcpy(&h, m, sizeof h);
  if (h.name_len >= sizeof name || sizeof h + h.name_len > n)
    return mproc__wset_put_result(rq, h.id, MPROC_EINVAL, a->index,
                                  "worker: a malformed task message", NULL, 0);
  memcpy(name, m + sizeof h, h.name_len);
  name[h.name_len] = '\0';
  atomic_store(slot, h.id + 1); /* before the task runs: see wset.h */
  fn = (mproc_task_fn)mproc__task_find(name);
  if (fn == NULL) {
    char why[400];
    snprintf(why, sizeof why, "task \"%s\" is not registered in the worker "
             "(mark it MPROC_TASK)", name);
    rc = mproc__wset_put_result(rq, h.id, MPROC_ENOTREG, a->index, why,
                                NULL, 0);
    atomic_store(slot, 0);
    return rc;
  }
  memset(&b, 0, sizeof b);
  b.ctx.worker = a->index;
  b.ctx.task = h.id;
  b.ctx.item = (size_t)h.item;
  n -= sizeof h + h.name_len;
  rc = fn(n ? m + sizeof h + h.name_len : NULL, n, &b);
  if (rc == 0)
    rc = mproc__wset_put_result(rq, h.id, 0, a->index, NULL, b.data, b.len);
  else
    rc = mproc__wset_put_result(rq, h.id, rc, a->index, b.msg, NULL, 0);
  atomic_store(slot, 0); /* after the result is committed */
  mproc__buf_reset(&b);
  return rc;
}

/* 1 while the process that started this worker runs. */
static int parent_alive(void) {
  mproc_process *pp = mproc_parent_process();
  return pp == NULL || mproc_process_is_alive(pp) == 1;
}

static int serve(const wset_args *a, mproc_queue *tq, mproc_queue *rq,
                 _Atomic uint64_t *slot) {
  int done = 0, rc;
  for (;;) {
    void *m = NULL;
    size_t n = 0;
    wset_task_hdr h;
    if (a->max_tasks > 0 && done >= a->max_tasks) return 0;
    rc = mproc_queue_get_alloc(tq, &m, &n, 1.0);
    if (rc == MPROC_EEMPTY) {
      if (!parent_alive()) return 1; /* orphaned: nobody will stop us */
      continue;
    }
    if (rc < 0) return 1;
    if (n < sizeof h) {
      free(m);
      continue;
    }
    memcpy(&h, m, sizeof h);
    if (h.id == WSET_ID_STOP) {
      atomic_store(slot, WSET_SLOT_STOPPED);
      free(m);
      return 0;
    }
    rc = run_task(a, rq, slot, m, n);
    free(m);
    if (rc < 0) return 1;
    done++;
  }
}

int mproc__wset_worker_main(const void *arg, size_t len) {
  wset_args a;
  mproc_queue *tq = NULL, *rq = NULL;
  mproc_shm *shm = NULL;
  _Atomic uint64_t *slot;
  int rc = 1;
  if (len < sizeof a) return 3;
  memcpy(&a, arg, sizeof a);
  if (mproc_queue_open(&tq, a.tq) < 0 || mproc_queue_open(&rq, a.rq) < 0 ||
      mproc_shm_open(&shm, a.shm) < 0)
    goto cleanup;
  slot = (_Atomic uint64_t *)mproc_shm_buf(shm) + a.index;
  if (a.init[0] != '\0') {
    mproc_init_fn init = (mproc_init_fn)mproc__task_find(a.init);
    int irc = init ? init(a.initargs_len ? (const char *)arg + sizeof a : NULL,
                          (size_t)a.initargs_len)
                   : MPROC_ENOTREG;
    if (irc != 0) {
      char why[400];
      if (init)
        snprintf(why, sizeof why, "executor broken: a worker's initializer "
                 "failed with code %d; no task can run", irc);
      else
        snprintf(why, sizeof why, "executor broken: the initializer \"%s\" "
                 "is not registered in the worker (MPROC_TASK)", a.init);
      (void)mproc__wset_put_result(rq, WSET_ID_INITFAIL, irc, a.index, why,
                                   NULL, 0);
      goto cleanup;
    }
  }
  rc = serve(&a, tq, rq, slot);
cleanup:
  mproc_queue_free(tq);
  mproc_queue_free(rq);
  mproc_shm_free(shm);
  return rc;
}
